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

/**
 * Takes Node's timer objects through the re-arm of a fired timer once, before anything is
 * optimized. V8 compiles code that reads an object field written only once as if the field
 * were a constant; the first store after that throws away every function compiled on that
 * assumption. Node writes a timer's async ids again only when a timer that has fired is
 * re-armed with refresh(), which the gateway's connections do with their own timers, but
 * rarely: under a steady load it first happened seconds to minutes in, and the
 * deoptimization and recompiles that followed (Timeout, Immediate, the timer lists, the
 * connections' arm()) took the event loop's core in the middle of serving
 * (docs/benchmarks.md). Takes about a millisecond, once.
 */
export function settleTimerShapes(): Promise<void> {
  return new Promise((resolve) => {
    let fired = 0;
    const t = setTimeout(() => {
      // Re-armed once Node has finished with its firing (and marked it done), not from
      // inside its callback, where refresh() only moves a timer still counted as live.
      if (++fired === 1) setImmediate(() => t.refresh());
      else resolve();
    }, 1);
  });
}
