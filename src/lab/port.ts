import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Whether something accepts a TCP connection on 127.0.0.1:port right now (within 500 ms). */
export function accepts(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.setTimeout(500);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
    s.once('timeout', () => {
      s.destroy();
      resolve(false);
    });
  });
}

/** Polls until 127.0.0.1:port accepts connections; false when `timeoutMs` passed first, or `gone()` says the process died. */
export async function waitForPort(port: number, timeoutMs: number, gone: () => boolean = () => false): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !gone()) {
    if (await accepts(port)) return true;
    await sleep(50);
  }
  return false;
}
