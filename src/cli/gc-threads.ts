import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';

/**
 * Has V8's young-generation collections (scavenges) run on the main thread alone when the
 * process may use only one CPU (a `taskset` or cpuset of one, as the bench pins each proxy),
 * unless node was started with an explicit `--parallel-scavenge`.
 *
 * A scavenge is split into tasks for V8's worker threads, and the main thread waits for them;
 * with one CPU those threads can only take turns with it, and the hand-offs are added to the
 * pause. Measured at 5,000 requests/s on one pinned core (bench/, --trace-gc-nvp): the mean
 * scavenge pause fell from 0.50 to 0.42 ms (3 runs each, ~57 scavenges a run), at the same
 * number of scavenges. With more CPUs the tasks do run side by side, and are left alone.
 * V8 reads this flag at each scavenge, so setting it at run time takes effect.
 */
export function scavengeAlone(cpus: number = availableParallelism(), execArgv: readonly string[] = process.execArgv): boolean {
  if (cpus > 1 || execArgv.includes('--parallel-scavenge')) return false;
  setFlagsFromString('--no-parallel-scavenge');
  return true;
}
