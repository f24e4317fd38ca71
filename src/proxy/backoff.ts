/**
 * The pause before retry number `attempt` (1 for the first retry): exponential backoff
 * with full jitter, uniform in [0, min(maxMs, baseMs × 2^(attempt−1))). Full jitter
 * spreads the retries of many clients that failed together, which fixed or "equal"
 * jitter does less well (AWS Architecture Blog, "Exponential Backoff and Jitter").
 * Whole milliseconds.
 */
export function delayMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const n = attempt < 1 ? 0 : attempt - 1;
  // 2 ** n overflows to Infinity for huge n, which min() then caps.
  const cap = Math.min(maxMs, baseMs * 2 ** n);
  return Math.floor(random() * cap);
}
