import { PARSERS, type LogParser } from './parsers/index.ts';
import { stripPrefix } from './prefix.ts';
import type { LineResult, LogFormat } from './types.ts';

const BY_FORMAT: ReadonlyMap<LogFormat, LogParser> = new Map(PARSERS.map((p) => [p.format, p]));

export function parserFor(format: LogFormat): LogParser | undefined {
  return BY_FORMAT.get(format);
}

/**
 * Classifies one line. With a format, only that parser is tried; without, the
 * first parser whose shape matches. null: no known format, or an empty line.
 */
export function classifyLine(line: string, format?: LogFormat): LineResult | null {
  if (line.length === 0) return null;
  const s = stripPrefix(line);
  if (format !== undefined && format !== 'unknown') {
    const p = BY_FORMAT.get(format);
    return p === undefined ? null : p.classify(s);
  }
  for (const p of PARSERS) {
    if (p.sniff(s)) {
      const r = p.classify(s);
      if (r !== null) return r;
    }
  }
  return null;
}

/**
 * A per-input classifier: tries the input's own format first and remembers which
 * other format matched last, since container logs interleave (nginx writes its
 * error and access logs to one stream).
 */
export class LineClassifier {
  private primary: LogParser | undefined;
  private lastOther: LogParser | undefined;

  constructor(format: LogFormat) {
    this.primary = BY_FORMAT.get(format);
  }

  classify(line: string): LineResult | null {
    if (line.length === 0) return null;
    const s = stripPrefix(line);
    const primary = this.primary;
    if (primary !== undefined) {
      const r = primary.classify(s);
      if (r !== null) return r;
    }
    const last = this.lastOther;
    if (last?.sniff(s)) {
      const r = last.classify(s);
      if (r !== null) return r;
    }
    for (const p of PARSERS) {
      if (p === primary || p === last || !p.sniff(s)) continue;
      const r = p.classify(s);
      if (r !== null) {
        this.lastOther = p;
        return r;
      }
    }
    return null;
  }
}
