/** Milliseconds since `started` (a performance.now()), to 0.1 ms: loopback hops take less than one. */
export function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 10) / 10;
}
