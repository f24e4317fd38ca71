import { PARSERS } from './parsers/index.ts';
import { stripPrefix } from './prefix.ts';
import type { LogFormat } from './types.ts';

/** The format most of the sample lines have; 'unknown' when none matches. */
export function detectFormat(sampleLines: readonly string[]): LogFormat {
  const votes = new Map<LogFormat, number>();
  for (const raw of sampleLines) {
    if (raw.length === 0) continue;
    const line = stripPrefix(raw);
    for (const p of PARSERS) {
      if (p.sniff(line) && p.classify(line) !== null) {
        votes.set(p.format, (votes.get(p.format) ?? 0) + 1);
        break;
      }
    }
  }
  let best: LogFormat = 'unknown';
  let most = 0;
  for (const [format, n] of votes) {
    if (n > most) {
      best = format;
      most = n;
    }
  }
  return best;
}
