/**
 * When the writes of a corked socket go out. Every write to a loopback or LAN peer that is
 * waiting in epoll wakes it, and on a virtual machine a wakeup is the dearest part of a
 * send (an inter-processor interrupt): a proxy that writes each answer as soon as it has it,
 * while it still has other events of the same poll phase to handle, pays one wakeup per
 * write. Under load the writes are therefore held until every callback of the poll phase
 * has run, and sent together in the check phase after it: the first wakes the peer, the
 * others find it awake (~20% less CPU per proxied request in the bench). Without
 * concurrency nothing would be gained and the answer would wait for the work after it
 * (promise continuations, its log line), so when the last loop turn saw only a few writes,
 * writes go out as soon as the callback that made them returns (process.nextTick), as before.
 *
 * Held requests to origins go before held answers to clients: an answer's latency is spent
 * once it is written, while a request starts the longest leg of another one (the origin's
 * work, in parallel with the answers' sends). At 5,000 requests/s, side by side, this lowered
 * p99 by 7–9% in two sets of interleaved rounds, less than full bench runs vary from one to
 * the next (docs/benchmarks.md); requests sent unheld cost more CPU.
 */
export interface HeldWrites {
  sendHeldWrites(): void;
}

/**
 * Writes made in one loop turn from which the next turn holds its writes. At 2, a moderate
 * load (5,000 requests/s over 50 connections) held most writes and its median latency rose
 * by ~40 µs; at 4 it did not move, and the closed loop kept its whole saving (bench/).
 */
const BATCH_FROM = 4;

/** Which way a held socket writes: its writes go out in this order (see above). */
export type Leg = 'to-origin' | 'to-client';

const heldToOrigin: HeldWrites[] = [];
const heldToClient: HeldWrites[] = [];
const after: [(arg: never) => void, unknown][] = [];
/** Writes made in this loop turn, sent or held. */
let writesThisTurn = 0;
let batching = false;
let turnEndArmed = false;
let tickArmed = false;

export function sendAfterPoll(w: HeldWrites, leg: Leg): void {
  if (leg === 'to-origin') heldToOrigin.push(w);
  else heldToClient.push(w);
  writesThisTurn++;
  armTurnEnd();
  if (!batching && !tickArmed) {
    tickArmed = true;
    process.nextTick(sendHeld);
  }
}

/**
 * Runs fn(arg) once the writes held so far are sent: at once when none are held, else right
 * after them, so that what waits for a finished try (its record and events, the log line)
 * does not delay the answers held for the end of the poll phase.
 */
export function afterSends<T>(fn: (arg: T) => void, arg: T): void {
  if (heldToOrigin.length === 0 && heldToClient.length === 0) {
    fn(arg);
    return;
  }
  after.push([fn as (arg: never) => void, arg]);
  armTurnEnd();
}

function armTurnEnd(): void {
  if (turnEndArmed) return;
  turnEndArmed = true;
  setImmediate(turnEnd);
}

function turnEnd(): void {
  turnEndArmed = false;
  batching = writesThisTurn >= BATCH_FROM;
  writesThisTurn = 0;
  sendHeld();
}

function sendHeld(): void {
  tickArmed = false;
  // A send can hold more (a pipelined response begun by the one before, and its request to
  // the origin): they go too.
  while (heldToOrigin.length > 0 || heldToClient.length > 0) {
    sendAll(heldToOrigin);
    sendAll(heldToClient);
  }
  if (after.length === 0) return;
  const tasks = after.splice(0);
  let failure: { err: unknown } | null = null;
  for (const [fn, arg] of tasks) {
    try {
      fn(arg as never);
    } catch (err) {
      // The others still run; the first failure is then thrown as it would have been.
      failure ??= { err };
    }
  }
  if (failure) throw failure.err;
}

function sendAll(held: HeldWrites[]): void {
  for (let i = 0; i < held.length; i++) held[i]!.sendHeldWrites();
  held.length = 0;
}
