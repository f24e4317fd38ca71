import { availableParallelism, setPriority } from 'node:os';
import { readdirSync, readFileSync } from 'node:fs';
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

/** The nice value V8's helper threads get when they share the gateway's one CPU (the event loop keeps 0). */
export const HELPER_NICE = 10;

/**
 * When the process may use one CPU, lowers the priority of V8's helper threads (V8Worker:
 * concurrent marking and sweeping, compile jobs) to nice HELPER_NICE, and returns how many
 * it lowered; 0 elsewhere, or where /proc cannot be read.
 *
 * At the same priority as the event loop, a helper woken for a major collection's marking
 * is given its full share of the one CPU while requests wait: the main thread was held up to
 * 7-17 ms in an incremental-marking step, and 3-4 ms starting the sweeper's jobs, in the
 * middle of serving (--trace-gc-nvp at 5,000 requests/s on one pinned core). At nice 10 a
 * helper yields to the event loop when both want the CPU and does its work while the loop
 * waits for the network; at 5,000 requests/s, 3 interleaved runs each: p99 0.81-0.88 ms
 * against 0.97-1.53, p99.9 2.46-2.75 against 2.76-4.84, the same requests/s in the closed
 * loop. (At nice 19, the helpers' compile jobs starved under a full load: one closed loop of
 * three ran at 19k requests/s instead of 30k.) With the CPU saturated a major collection's
 * marking is then left to the collection's final pause, which grows (10-30 ms in the closed
 * loop against 5-7): the event loop's time, which it would have lost to the helpers anyway.
 */
export function helpersYield(cpus: number = availableParallelism(), tasks = '/proc/self/task'): number {
  if (cpus > 1) return 0;
  let lowered = 0;
  let ids: string[];
  try {
    ids = readdirSync(tasks);
  } catch {
    return 0;
  }
  for (const id of ids) {
    try {
      if (readFileSync(`${tasks}/${id}/comm`, 'latin1').trim() !== 'V8Worker') continue;
      // On Linux a thread id given to setpriority names that thread alone.
      setPriority(Number(id), HELPER_NICE);
      lowered++;
    } catch {
      // Gone meanwhile, or not ours to change: it keeps its priority.
    }
  }
  return lowered;
}
