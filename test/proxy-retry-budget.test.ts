// The retry budget (retries stay a share of live requests, plus a small allowance per
// second) and the full-jitter backoff.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { delayMs } from '../src/proxy/backoff.ts';
import { RetryBudget } from '../src/proxy/retry-budget.ts';

describe('RetryBudget', () => {
  test('allows retries up to ratio × requests in flight, then denies', () => {
    const b = new RetryBudget({ ratio: 0.2, minRetriesPerSecond: 0 }, { now: () => 0 });
    for (let i = 0; i < 50; i++) b.requestStarted();
    let granted = 0;
    while (b.canRetry()) {
      b.retryStarted();
      granted++;
      assert.ok(granted <= 100, 'never denied');
    }
    assert.equal(granted, 10, '20% of 50');
    b.retryFinished();
    assert.equal(b.canRetry(), true, 'a retry that finished frees its share');
  });

  test('the allowance per second lets a quiet gateway retry, and refills with time', () => {
    let now = 0;
    const b = new RetryBudget({ ratio: 0.2, minRetriesPerSecond: 5 }, { now: () => now });
    const denied: [number, number][] = [];
    b.onExhausted((req, ret) => denied.push([req, ret]));
    b.requestStarted(); // one request: 20% of it is no whole retry
    let granted = 0;
    while (b.canRetry()) {
      b.retryStarted();
      b.retryFinished();
      granted++;
    }
    assert.equal(granted, 5);
    assert.deepEqual(denied, [[1, 0]]);
    now += 200; // a fifth of a second: one more
    assert.equal(b.canRetry(), true);
    b.retryStarted();
    assert.equal(b.canRetry(), false);
    now += 10_000; // the bucket holds one second's worth, no more
    let later = 0;
    while (b.canRetry()) {
      b.retryStarted();
      later++;
    }
    assert.equal(later, 5);
  });

  test('retries within the ratio do not use the allowance', () => {
    const b = new RetryBudget({ ratio: 0.5, minRetriesPerSecond: 1 }, { now: () => 0 });
    for (let i = 0; i < 4; i++) b.requestStarted();
    b.retryStarted();
    b.retryStarted();
    assert.equal(b.retriesInFlight, 2);
    assert.equal(b.canRetry(), true, 'the allowance is still there');
    b.retryStarted();
    assert.equal(b.canRetry(), false);
  });

  test('counts never go below zero', () => {
    const b = new RetryBudget({ minRetriesPerSecond: 0 });
    b.requestFinished();
    b.retryFinished();
    assert.equal(b.requestsInFlight, 0);
    assert.equal(b.retriesInFlight, 0);
    assert.equal(b.canRetry(), false);
  });
});

describe('backoff delayMs', () => {
  test('full jitter between 0 and min(max, base × 2^(attempt − 1))', () => {
    assert.equal(delayMs(1, 25, 250, () => 0), 0);
    assert.equal(delayMs(1, 25, 250, () => 0.999999), 24);
    assert.equal(delayMs(2, 25, 250, () => 0.999999), 49);
    assert.equal(delayMs(3, 25, 250, () => 0.5), 50);
    assert.equal(delayMs(5, 25, 250, () => 0.999999), 249, 'capped by max');
    assert.equal(delayMs(5000, 25, 250, () => 0.999999), 249, 'no overflow');
    assert.equal(delayMs(0, 25, 250, () => 0.999999), 24, 'attempt 0 is taken as the first');
  });

  test('stays within its bounds with the real random', () => {
    for (let attempt = 1; attempt <= 8; attempt++) {
      const cap = Math.min(1000, 10 * 2 ** (attempt - 1));
      for (let i = 0; i < 200; i++) {
        const d = delayMs(attempt, 10, 1000);
        assert.ok(Number.isInteger(d) && d >= 0 && d < cap, `attempt ${attempt}: ${d}`);
      }
    }
  });
});
