import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = (options: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

/**
 * Gives back the heap that start-up grew. Loading the modules and reading the configuration
 * grow V8's young generation to its largest (16 MiB semi-spaces) and leave old-space pages
 * pooled; one collection of V8's "last resort" flavour (the one a low-memory notification
 * runs) shrinks the young generation to its smallest and releases those pages. Under load
 * the heap grows back only as far as the traffic needs: 10-13 MiB less resident at start,
 * 14 MiB less at the peak with 1,000 keep-alive connections when a configuration file was
 * read (2 MiB with `--upstream` alone), the same CPU per request under load
 * (docs/benchmarks.md); 20-30 ms, once. Node has no call for such a collection, so the
 * `gc` function of --expose-gc is taken at run time when the process was started without
 * the flag, as the expose-gc package does: the flag only gives contexts made after it that
 * function (Node warns that flags set at run time may do nothing; then this throws, and the
 * caller goes on untrimmed).
 */
export function trimHeap(): void {
  const gc = (globalThis as { gc?: Gc }).gc ?? exposedGc();
  gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
}

function exposedGc(): Gc {
  setFlagsFromString('--expose-gc');
  const gc: unknown = runInNewContext('typeof gc === "function" ? gc : undefined');
  if (typeof gc !== 'function') throw new Error('V8 did not expose gc');
  return gc as Gc;
}
