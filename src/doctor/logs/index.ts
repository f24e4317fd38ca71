// `gatewise doctor logs`: why users got 5xx, read from the servers' own logs.

export { type AnalyzeOptions, analyzeLogs, type LineRecord } from './analyze.ts';
export { classifyLine, LineClassifier } from './classify.ts';
export { detectFormat } from './detect.ts';
export { renderReport } from './render.ts';
export type {
  Cause,
  CauseCount,
  ConfigChange,
  ErrorCause,
  FileSummary,
  Finding,
  KnownLogFormat,
  LineResult,
  LogFormat,
  LogHop,
  LogInput,
  LogReport,
  MinuteCount,
} from './types.ts';
export { CAUSES, LOG_FORMATS } from './types.ts';
