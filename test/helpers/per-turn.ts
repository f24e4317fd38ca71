/**
 * How a count grows turn by turn of the event loop: polled once a turn (setImmediate) until
 * it reaches `total` or `timeoutMs` passes. Returns the increase of each turn in which it
 * grew, and where it ended.
 */
export async function growthPerTurn(count: () => number, total: number, timeoutMs: number): Promise<{ perTurn: number[]; reached: number }> {
  const perTurn: number[] = [];
  let seen = count();
  const deadline = performance.now() + timeoutMs;
  while (seen < total && performance.now() < deadline) {
    await new Promise((r) => setImmediate(r));
    const now = count();
    if (now > seen) perTurn.push(now - seen);
    seen = now;
  }
  return { perTurn, reached: seen };
}
