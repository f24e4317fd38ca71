import { setFlagsFromString } from 'node:v8';

/**
 * Turns off V8's mid-tier compiler, Maglev, for the gateway process, unless node was started
 * with an explicit `--maglev`.
 *
 * Maglev compiles hot functions on V8's worker threads, several at a time, each job in its
 * own zone of malloc'd memory; under the first thousands of requests those jobs overlap, and
 * the ~15 MB they free stays resident in glibc's arenas for the life of the process (freed in
 * the middle of an arena, so never trimmed). Without Maglev, functions go from the baseline
 * compiler to TurboFan, whose code is what a long-running gateway runs anyway: measured with
 * 1,000 keep-alive connections, the peak resident set falls from ~107 to ~91 MiB, the CPU per
 * request under load stays the same, and only the first second of load after a start runs
 * slower (docs/benchmarks.md). V8 reads this flag at each tiering decision, so setting it at
 * run time takes effect for everything not yet compiled.
 */
export function skipMaglev(execArgv: readonly string[] = process.execArgv): boolean {
  if (execArgv.includes('--maglev')) return false;
  setFlagsFromString('--no-maglev');
  return true;
}
