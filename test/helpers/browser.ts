// One way to start the system Chromium for browser tests. playwright-core brings no
// browser of its own, and the flags keep Chromium from phoning home, so tests stay on
// loopback and do not stall on a sandboxed CI machine.

import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM_PATH = process.env['GATEWISE_CHROMIUM'] ?? '/usr/bin/chromium';

/** Whether a browser test can run here; callers pass `{ skip: !hasBrowser() && '…' }`. */
export function hasBrowser(): boolean {
  return existsSync(CHROMIUM_PATH);
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-gpu',
      '--no-first-run',
    ],
  });
}
