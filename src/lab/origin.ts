// The lab's fault origins: real servers on loopback that each misbehave in one way, at
// the socket level, so the gateway's tests and `gatewise lab origin` meet the failures
// of production (refused, blackholed, reset, cut, malformed, slow) rather than mocks.
// This file is the public API and the dispatch; each fault lives in faults/.
import { blackholeFault } from './faults/blackhole.ts';
import { closeIdleFault } from './faults/close-idle.ts';
import { type FaultContext, type FaultHandle, newStats, type OriginStats } from './faults/context.ts';
import { acceptCloseFault, resetBodyFault, resetHeadersFault, terminateFault } from './faults/cut.ts';
import { healthyFault } from './faults/healthy.ts';
import { badChunkingFault, garbageFault, hugeHeadersFault } from './faults/malformed.ts';
import { DEFAULTS, type FaultKind, type FaultOptions } from './faults/options.ts';
import { overloadFault } from './faults/overload.ts';
import { dripFault, slowFault } from './faults/timing.ts';
import { Timers } from './faults/timers.ts';
import { listenOnSparePort } from './faults/spare-port.ts';

export type { EchoBody } from './faults/healthy.ts';
export { DEFAULTS, describeFault, FAULT_HELP, FAULT_KINDS, isFaultKind } from './faults/options.ts';
export type { FaultKind, FaultOptions, OriginStats };

export type RunningOrigin = {
  readonly fault: FaultKind;
  readonly host: string;
  readonly port: number;
  /** `http://127.0.0.1:PORT`, `http://[::1]:PORT`, or https:// for tls-bad-cert. */
  readonly url: string;
  /** Live counters of what the origin saw. */
  readonly stats: OriginStats;
  /** Whether it listens right now (false while stopped, offline, or a flap is down). */
  readonly up: boolean;
  /**
   * Go offline as a crash would: stop listening and destroy open connections. Unless a port
   * was given, the origin's is below the kernel's ephemeral range, so no other program is
   * handed it meanwhile and start() finds it free (spare-port.ts).
   */
  stop(): Promise<void>;
  /** Listen again on the same port. */
  start(): Promise<void>;
  /** Stop for good and free everything (timers, workers, sockets). */
  close(): Promise<void>;
};

const BUILDERS: Record<FaultKind, (ctx: FaultContext) => FaultHandle> = {
  healthy: (ctx) => healthyFault(ctx),
  // Offline is a healthy origin that starts stopped, so start() can bring it back.
  offline: (ctx) => healthyFault(ctx),
  flap: (ctx) => healthyFault(ctx),
  'tls-bad-cert': (ctx) => healthyFault(ctx, { tls: true }),
  overload: overloadFault,
  blackhole: blackholeFault,
  slow: slowFault,
  drip: dripFault,
  terminate: terminateFault,
  'reset-headers': resetHeadersFault,
  'reset-body': resetBodyFault,
  'accept-close': acceptCloseFault,
  'close-idle': closeIdleFault,
  garbage: garbageFault,
  'huge-headers': hugeHeadersFault,
  'bad-chunking': badChunkingFault,
};

export async function startOrigin(opts: FaultOptions): Promise<RunningOrigin> {
  const host = opts.host ?? DEFAULTS.host;
  const ctx: FaultContext = { opts, stats: newStats(), timers: new Timers() };
  const handle = BUILDERS[opts.fault](ctx);
  const asked = opts.port ?? DEFAULTS.port;
  // A blackhole's worker reports a taken port without its code, and is not reused: it keeps
  // the kernel's choice (it is never brought back by a flap).
  const port =
    asked === 0 && opts.fault !== 'blackhole' ? await listenOnSparePort((p) => handle.listen(host, p)) : await handle.listen(host, asked);
  const url = `${handle.protocol}://${host.includes(':') ? `[${host}]` : host}:${port}`;

  let up = true;
  let closed = false;
  // stop/start from a flap schedule and from the caller must not interleave.
  let chain: Promise<void> = Promise.resolve();
  const serially = (step: () => Promise<void>) => {
    const next = chain.then(step);
    chain = next.catch(() => {});
    return next;
  };
  const stop = () =>
    serially(async () => {
      if (!up) return;
      up = false;
      await handle.shutdown();
    });
  const start = () =>
    serially(async () => {
      if (up || closed) return;
      await handle.listen(host, port);
      up = true;
    });

  if (opts.fault === 'offline') await stop();
  const flapTimers = new Timers();
  if (opts.fault === 'flap') flap(flapTimers, opts, () => closed, stop, start);

  return {
    fault: opts.fault,
    host,
    port,
    url,
    stats: ctx.stats,
    get up() {
      return up;
    },
    stop,
    start,
    close: async () => {
      closed = true;
      flapTimers.clear();
      await stop();
      ctx.timers.clear();
    },
  };
}

/** Down for downMs after every upMs, until closed. stop()/start() by the caller do not end the cycle. */
function flap(
  timers: Timers,
  o: FaultOptions,
  closed: () => boolean,
  stop: () => Promise<void>,
  start: () => Promise<void>,
): void {
  const upMs = o.upMs ?? DEFAULTS.upMs;
  const downMs = o.downMs ?? DEFAULTS.downMs;
  const then = (ms: number, step: () => void) => () => {
    if (!closed()) timers.after(ms, step);
  };
  // A start() that fails (the port was taken meanwhile) stays down one more period.
  const goDown = () => void stop().then(then(downMs, goUp), then(downMs, goUp));
  const goUp = () => void start().then(then(upMs, goDown), then(downMs, goUp));
  timers.after(upMs, goDown);
}
