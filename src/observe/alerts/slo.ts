/**
 * Per-second counts of one route's requests over the longest burn-rate window, in fixed
 * arrays: each slot remembers which second it holds, so a slot from a previous lap of the
 * ring is ignored instead of having to be cleared on a timer.
 */
export class SloCounts {
  private readonly n: number;
  private readonly second: Float64Array;
  private readonly total: Uint32Array;
  private readonly bad: Uint32Array;
  private readonly slow: Uint32Array;

  constructor(longestWindowMs: number) {
    this.n = Math.ceil(longestWindowMs / 1000) + 1;
    this.second = new Float64Array(this.n).fill(-1);
    this.total = new Uint32Array(this.n);
    this.bad = new Uint32Array(this.n);
    this.slow = new Uint32Array(this.n);
  }

  add(nowMs: number, bad: boolean, slow: boolean): void {
    const s = Math.floor(nowMs / 1000);
    const i = s % this.n;
    if (this.second[i] !== s) {
      this.second[i] = s;
      this.total[i] = 0;
      this.bad[i] = 0;
      this.slow[i] = 0;
    }
    this.total[i]!++;
    if (bad) this.bad[i]!++;
    if (slow) this.slow[i]!++;
  }

  /** Counts over the last windowMs (whole seconds, the current one included). */
  sum(windowMs: number, nowMs: number): { total: number; bad: number; slow: number } {
    const now = Math.floor(nowMs / 1000);
    const span = Math.min(this.n, Math.max(1, Math.ceil(windowMs / 1000)));
    let total = 0;
    let bad = 0;
    let slow = 0;
    for (let s = now - span + 1; s <= now; s++) {
      const i = s % this.n;
      if (this.second[i] !== s) continue;
      total += this.total[i]!;
      bad += this.bad[i]!;
      slow += this.slow[i]!;
    }
    return { total, bad, slow };
  }
}

/**
 * How many times faster than allowed the error budget is spent: 1 spends exactly the budget
 * over the SLO period; the SRE workbook pages at 14.4 over 1 h (2% of a 30-day budget).
 */
export function burnRate(bad: number, total: number, target: number): number {
  if (total === 0) return 0;
  return bad / total / (1 - target);
}
