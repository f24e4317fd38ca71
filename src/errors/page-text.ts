// The page curl and scripts get: a few lines a person reads in a terminal.

import type { PageView } from './error-page.ts';
import type { Hop } from './types.ts';

const HOP_PATH: Record<Hop, string> = {
  client: 'browser → gateway',
  gateway: 'gateway',
  origin: 'gateway → origin',
};

/**
 * One line, and nothing a terminal would act on: a detail or request id taken from the
 * request could otherwise carry escape sequences or newlines that forge extra lines.
 */
function line(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]+/g, ' ').trim();
}

export function renderText(v: PageView): string {
  const lines = [
    `${v.status} ${v.reason} — ${v.title}`,
    `hop: ${HOP_PATH[v.hop]}`,
    `proxy-status: ${v.type}${v.detail === '' ? '' : ` (${line(v.detail)})`}`,
    `request id: ${line(v.requestId)}`,
    `time: ${v.time}`,
  ];
  if (v.route !== null) lines.push(`route: ${line(v.route)}`);
  if (v.retryAfter !== null) lines.push(`retry: in ${v.retryAfter} s`);
  lines.push(`what to check: ${v.operator}`);
  if (v.internals !== null) {
    if (v.internals.endpoint !== null) lines.push(`endpoint: ${line(v.internals.endpoint)}`);
    lines.push(`message: ${line(v.internals.message)}`);
  }
  return `${lines.join('\n')}\n`;
}
