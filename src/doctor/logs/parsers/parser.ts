import type { KnownLogFormat, LineResult } from '../types.ts';

export type LogParser = {
  readonly format: KnownLogFormat;
  /** Cheap test that a line has this format's shape; no full parse. */
  readonly sniff: (line: string) => boolean;
  /** null when the line does not have this format. */
  readonly classify: (line: string) => LineResult | null;
};
