// Overload protection: the concurrency limiter and its queue (shedding, timeout, a
// Retry-After measured from the drain rate), the AIMD limit, and the circuit breaker.
// Clocks are injected wherever timing is the point; the queue timeout runs on real timers.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { AimdLimit } from '../src/upstream/limit/adaptive.ts';
import { CircuitBreaker } from '../src/upstream/limit/breaker.ts';
import { ConcurrencyLimiter, type Limit, type Permit, Shed } from '../src/upstream/limit/concurrency.ts';

/** A Limit the test sets by hand, to fill a queue at will. */
class ManualLimit implements Limit {
  value: number;
  samples: [number, boolean, number][] = [];
  constructor(value: number) {
    this.value = value;
  }
  current(): number {
    return this.value;
  }
  onSample(latencyMs: number, dropped: boolean, inflight: number): void {
    this.samples.push([latencyMs, dropped, inflight]);
  }
}

async function shedOf(p: Promise<unknown>): Promise<Shed> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof Shed, `expected a Shed, got ${err}`);
    return err;
  }
  assert.fail('was admitted');
}

describe('ConcurrencyLimiter', () => {
  test('admits at once under the limit, then queues first come first served', async () => {
    const l = new ConcurrencyLimiter({ limit: 2, queue: 5 });
    const a = await l.acquire();
    const b = l.tryAcquire();
    assert.ok(b);
    assert.equal(l.tryAcquire(), null);
    const order: string[] = [];
    const inOrder = (name: string) => (p: Permit) => {
      order.push(name);
      return p;
    };
    const c = l.acquire().then(inOrder('c'));
    const d = l.acquire().then(inOrder('d'));
    assert.equal(l.queued, 2);
    assert.equal(l.tryAcquire(), null, 'a newcomer does not overtake the queue');
    a.release();
    a.release(); // twice is once
    (await c).release();
    b.release();
    (await d).release();
    assert.deepEqual(order, ['c', 'd']);
    assert.equal(l.inflight, 0);
    assert.equal(l.queued, 0);
  });

  test('sheds at once when the queue is full, with a Retry-After and an event', async () => {
    const l = new ConcurrencyLimiter({ limit: 1, queue: 2, name: 'upstream "api"' });
    const shed: [string, number][] = [];
    l.onShed((reason, s) => shed.push([reason, s]));
    const first = await l.acquire();
    const waiting = [l.acquire(), l.acquire()];
    const s = await shedOf(l.acquire());
    assert.equal(s.reason, 'queue_full');
    assert.ok(s.retryAfterSeconds >= 1 && s.retryAfterSeconds <= 60);
    assert.match(s.message, /upstream "api" is at its limit of 1 requests in flight and its queue of 2 is full/);
    assert.deepEqual(shed, [['queue_full', s.retryAfterSeconds]]);
    first.release();
    for (const w of waiting) (await w).release();
  });

  test('with no queue, sheds as soon as the limit is reached', async () => {
    const l = new ConcurrencyLimiter({ limit: 1 });
    const p = await l.acquire();
    assert.equal((await shedOf(l.acquire())).reason, 'queue_full');
    p.release();
  });

  test('sheds a request that waited queueTimeoutMs', async () => {
    const l = new ConcurrencyLimiter({ limit: 1, queue: 10, queueTimeoutMs: 40 });
    const held = await l.acquire();
    const t = performance.now();
    const early = l.acquire();
    await sleep(15);
    const late = l.acquire();
    const s1 = await shedOf(early);
    const waited = performance.now() - t;
    assert.equal(s1.reason, 'queue_timeout');
    assert.ok(waited >= 38 && waited < 500, `waited ${waited} ms`);
    assert.equal(l.queued, 1, 'the later one still waits');
    assert.equal((await shedOf(late)).reason, 'queue_timeout');
    assert.equal(l.queued, 0);
    held.release();
    assert.ok(l.tryAcquire(), 'the slot is free again');
  });

  test('sheds at once a request that the queue ahead of it would keep waiting longer than queueTimeoutMs', async () => {
    let now = 0;
    const l = new ConcurrencyLimiter({ limit: 2, queue: 100, queueTimeoutMs: 1000, name: 'upstream "php"' }, { now: () => now });
    // Slots are held 100 ms each: two slots drain the queue at one request per 50 ms.
    for (let i = 0; i < 5; i++) {
      const p = l.tryAcquire()!;
      now += 100;
      p.release();
    }
    const held = [l.tryAcquire()!, l.tryAcquire()!];
    const queued: Promise<Permit>[] = [];
    for (let i = 0; i < 20; i++) queued.push(l.acquire());
    assert.equal(l.queued, 20, 'the 20th is admitted: its slot comes after 10 holds of 100 ms, 1000 ms from now');
    const late = l.acquire();
    late.catch(() => {});
    const s = await Promise.race([shedOf(late), sleep(100).then(() => assert.fail('not shed at once: it waits in the queue'))]);
    assert.equal(s.reason, 'queue_full');
    assert.match(s.message, /upstream "php" is at its limit of 2 requests in flight and a request queued behind the 20 waiting would get its slot only after about 1100 ms, longer than the 1000 ms a wait may last/);
    assert.equal(l.queued, 20, 'the queue is untouched');
    // As the queue drains, newcomers are admitted to it again.
    for (const p of held) p.release();
    (await queued[0]!).release();
    assert.equal(l.queued, 17);
    const again = l.acquire();
    assert.equal(l.queued, 18);
    l.close();
    for (const p of [...queued, again]) p.catch(() => {});
  });

  test('the time the requests in flight have already held their slots counts: the queue admits what comes in time', async () => {
    let now = 0;
    const l = new ConcurrencyLimiter({ limit: 2, queue: 100, queueTimeoutMs: 1020 }, { now: () => now });
    for (let i = 0; i < 5; i++) {
      const p = l.tryAcquire()!;
      now += 100;
      p.release();
    }
    const held = [l.tryAcquire()!, l.tryAcquire()!];
    // Both have held their slots 95 ms of their 100: the slots free in 5 ms, then every 100 ms.
    now += 95;
    const queued: Promise<Permit>[] = [];
    for (let i = 0; i < 30; i++) {
      const w = l.acquire();
      w.catch(() => {});
      queued.push(w);
    }
    // The 22nd waits 5 + 10 × 100 = 1005 ms, the 23rd 1105; taken as just begun, only 20 would be.
    assert.equal(l.queued, 22);
    assert.equal(Math.round(l.expectedWaitMs()), 1105);
    l.close();
    for (const p of held) p.release();
  });

  test('uneven hold times make the queue admit fewer: the estimate counts how far holds stray', async () => {
    const admitted = async (holds: number[]) => {
      let now = 0;
      const l = new ConcurrencyLimiter({ limit: 2, queue: 100, queueTimeoutMs: 1000 }, { now: () => now });
      for (const h of holds) {
        const p = l.tryAcquire()!;
        now += h;
        p.release();
      }
      const held = [l.tryAcquire()!, l.tryAcquire()!];
      const waits: Promise<Permit>[] = [];
      for (let i = 0; i < 40; i++) {
        const w = l.acquire();
        w.catch(() => {});
        waits.push(w);
      }
      const n = l.queued;
      l.close();
      for (const p of held) p.release();
      return n;
    };
    // Both average 100 ms a hold; the second strays ±40 ms.
    const steady = await admitted(Array.from({ length: 60 }, () => 100));
    const uneven = await admitted(Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? 60 : 140)));
    assert.equal(steady, 20);
    assert.ok(uneven < 17 && uneven > 10, `uneven holds admitted ${uneven}`);
  });

  test('a caller that gives up leaves the queue; the next in line still gets the slot', async () => {
    const l = new ConcurrencyLimiter({ limit: 1, queue: 10, queueTimeoutMs: 5000 });
    const held = await l.acquire();
    const ac = new AbortController();
    const gone = l.acquire(ac.signal);
    const next = l.acquire();
    ac.abort(new Error('client went away'));
    await assert.rejects(gone, /client went away/);
    assert.equal(l.queued, 1);
    held.release();
    (await next).release();
    await assert.rejects(l.acquire(AbortSignal.abort(new Error('already gone'))), /already gone/);
    assert.equal(l.inflight, 0);
  });

  test('Retry-After grows with the queue and shrinks with a faster drain', async () => {
    let now = 0;
    const limit = new ManualLimit(1000);
    const l = new ConcurrencyLimiter({ limit, queue: 1000, queueTimeoutMs: 3_600_000 }, { now: () => now });
    const drainAt = (perSecond: number) => {
      limit.value = 1000;
      // Long enough for the decayed estimate to settle (several time constants).
      for (let i = 0; i < perSecond * 10; i++) {
        now += 1000 / perSecond;
        l.tryAcquire()!.release();
      }
      limit.value = 0;
    };
    const queue = (n: number) => {
      const ps: Promise<Permit>[] = [];
      for (let i = 0; i < n; i++) ps.push(l.acquire());
      for (const p of ps) p.catch(() => {});
      return ps;
    };

    drainAt(10);
    assert.ok(Math.abs(l.drainRate() - 10) < 0.5, `drain rate ${l.drainRate()}/s`);
    assert.equal(l.retryAfterSeconds(), 1, 'empty queue: the minimum');
    queue(19);
    assert.equal(l.retryAfterSeconds(), 2, '20 ahead at 10/s');
    queue(80);
    assert.equal(l.retryAfterSeconds(), 10, '100 ahead at 10/s');
    const s = await shedOf(new ConcurrencyLimiter({ limit, queue: 0 }).acquire());
    assert.equal(s.retryAfterSeconds, 60, 'a limiter that never saw a departure: the maximum');
    l.close();

    drainAt(100);
    queue(98);
    assert.equal(l.retryAfterSeconds(), 1, '99 ahead at 100/s');
    queue(51);
    assert.equal(l.retryAfterSeconds(), 2, '150 ahead at 100/s');
    l.close();

    drainAt(10);
    queue(99);
    now += 5000; // nothing left the queue for 5 s: the estimate decays, the wait grows
    assert.ok(l.retryAfterSeconds() > 10, `after a stall: ${l.retryAfterSeconds()}`);
    now += 600_000;
    assert.equal(l.retryAfterSeconds(), 60, 'capped');
    l.close();
  });

  test('reports each finished request to the limit, with its latency and whether it was dropped', async () => {
    let now = 0;
    const limit = new ManualLimit(4);
    const l = new ConcurrencyLimiter({ limit }, { now: () => now });
    const a = l.tryAcquire()!;
    const b = l.tryAcquire()!;
    now = 30;
    a.release();
    b.release(true, 12);
    assert.deepEqual(limit.samples, [
      [30, false, 2],
      [12, true, 1],
    ]);
  });

  test('close() rejects the waiters and leaves no timer', async () => {
    const l = new ConcurrencyLimiter({ limit: 1, queue: 3, queueTimeoutMs: 60_000 });
    await l.acquire();
    const w = l.acquire();
    l.close(new Error('shutting down'));
    await assert.rejects(w, /shutting down/);
    assert.equal(l.queued, 0);
  });
});

describe('AimdLimit', () => {
  function driven(opts: ConstructorParameters<typeof AimdLimit>[0] = {}) {
    let now = 0;
    const limit = new AimdLimit({ initial: 20, min: 2, max: 100, ...opts }, { now: () => now });
    /** n samples, `stepMs` apart, each as slow as `latencyMs`, with the limit in use. */
    const run = (n: number, latencyMs: number, stepMs = latencyMs, dropped = false) => {
      for (let i = 0; i < n; i++) {
        now += stepMs;
        limit.onSample(latencyMs, dropped, limit.current());
      }
      return limit.current();
    };
    return { limit, run };
  }

  test('grows additively while latency stays near the baseline', () => {
    const { limit, run } = driven();
    run(1, 10);
    assert.equal(limit.baselineMs, 10);
    const grown = run(200, 10);
    assert.ok(grown >= 27 && grown <= 30, `after 200 good samples: ${grown}`);
  });

  test('backs off when latency rises above baseline × tolerance, and recovers', () => {
    const { limit, run } = driven();
    run(200, 10);
    const before = limit.current();
    const changes: number[] = [];
    limit.onChange((now) => changes.push(now));
    const after = run(10, 50, 60);
    assert.ok(after <= Math.ceil(before * 0.9 ** 9), `from ${before} to ${after}`);
    assert.ok(changes.length > 0 && changes.at(-1) === after);
    const recovered = run(2000, 10);
    assert.ok(recovered > after + 20, `recovered to ${recovered}`);
  });

  test('backs off once for the requests that were in flight together', () => {
    const { limit, run } = driven();
    run(1, 10);
    // 20 slow answers that all left before the first of them came back: one congestion event.
    const after = run(20, 50, 1);
    assert.equal(after, 18, '20 × 0.9');
    assert.equal(limit.current(), 18);
  });

  test('a dropped request backs off whatever its latency', () => {
    const { run } = driven();
    run(1, 10);
    assert.equal(run(1, 1, 1000, true), 18);
  });

  test('stays within [min, max], and does not grow when the limit is not used', () => {
    const { limit, run } = driven({ max: 25 });
    run(1, 10);
    assert.equal(run(1000, 10), 25);
    assert.equal(run(100, 200, 300), 2);
    for (let i = 0; i < 500; i++) limit.onSample(10, false, 0);
    assert.equal(limit.current(), 2, 'idle: no growth');
  });

  test('drives the concurrency limiter: a drop lowers the limit, so the freed slot is not handed out', () => {
    let now = 0;
    const aimd = new AimdLimit({ initial: 4, min: 1 }, { now: () => now });
    const l = new ConcurrencyLimiter({ limit: aimd, queue: 0 }, { now: () => now });
    const permits = [l.tryAcquire(), l.tryAcquire(), l.tryAcquire(), l.tryAcquire()];
    assert.equal(l.tryAcquire(), null);
    now = 1000;
    permits[0]!.release(true);
    assert.equal(l.limit, 3);
    assert.equal(l.inflight, 3);
    assert.equal(l.tryAcquire(), null);
    permits[1]!.release(false, 10);
    assert.ok(l.tryAcquire());
  });
});

describe('CircuitBreaker', () => {
  test('opens after consecutive failures, half-opens after openMs, closes on a good probe', () => {
    const b = new CircuitBreaker({ consecutiveFailures: 3, openMs: 1000 });
    const events: string[] = [];
    b.onOpen((reason, until) => events.push(`open: ${reason} until ${until}`));
    b.onHalfOpen(() => events.push('half-open'));
    b.onClose(() => events.push('closed'));
    assert.equal(b.state, 'closed');
    b.failure(0);
    b.failure(1);
    b.success(2);
    b.failure(3);
    b.failure(4);
    assert.equal(b.allow(5), true);
    b.failure(6);
    assert.equal(b.state, 'open');
    assert.equal(b.allow(500), false);
    assert.equal(b.allow(1005), false);
    assert.equal(b.allow(1006), true, 'the probe');
    assert.equal(b.state, 'half-open');
    assert.equal(b.allow(1007), false, 'one probe at a time');
    b.success(1010);
    assert.equal(b.state, 'closed');
    assert.equal(b.allow(1011), true);
    assert.deepEqual(events, ['open: 3 consecutive failures until 1006', 'half-open', 'closed']);
  });

  test('a failed probe opens it again', () => {
    const b = new CircuitBreaker({ consecutiveFailures: 1, openMs: 100 });
    const opened: number[] = [];
    b.onOpen((_r, until) => opened.push(until));
    b.failure(0);
    assert.equal(b.allow(100), true);
    b.failure(110);
    assert.equal(b.state, 'open');
    assert.equal(b.allow(150), false);
    assert.deepEqual(opened, [100, 210]);
  });

  test('lets `halfOpenProbes` through and closes when all of them succeed', () => {
    const b = new CircuitBreaker({ consecutiveFailures: 1, openMs: 100, halfOpenProbes: 2 });
    b.failure(0);
    assert.equal(b.allow(100), true);
    assert.equal(b.allow(100), true);
    assert.equal(b.allow(100), false);
    b.success(101);
    assert.equal(b.state, 'half-open');
    b.success(102);
    assert.equal(b.state, 'closed');
  });

  test('a probe that never reports back does not hold half-open forever', () => {
    const b = new CircuitBreaker({ consecutiveFailures: 1, openMs: 100 });
    b.failure(0);
    assert.equal(b.allow(100), true);
    assert.equal(b.allow(150), false);
    assert.equal(b.allow(200), true, 'after another openMs the slot is handed out again');
  });

  test('opens on the failure ratio over the window, once enough requests were seen', () => {
    const b = new CircuitBreaker({ consecutiveFailures: 100, failureRatio: 0.5, minRequests: 10, windowMs: 1000 });
    for (let t = 10; t <= 80; t += 20) {
      b.success(t);
      b.failure(t + 10);
    }
    assert.equal(b.state, 'closed', 'only 8 requests');
    let reason = '';
    b.onOpen((r) => {
      reason = r;
    });
    b.success(90);
    b.failure(100);
    assert.equal(b.state, 'open');
    assert.equal(reason, '50% of 10 requests failed in the last 1 s');
  });

  test('forgets failures that slid out of the window', () => {
    const b = new CircuitBreaker({ consecutiveFailures: 100, failureRatio: 0.5, minRequests: 10, windowMs: 1000 });
    for (let i = 0; i < 9; i++) b.failure(i);
    for (let i = 0; i < 9; i++) b.success(5000 + i);
    b.failure(5010);
    assert.equal(b.state, 'closed', '1 failure in 10 within the window');
  });

  test('ignores results while open', () => {
    const b = new CircuitBreaker({ consecutiveFailures: 1, openMs: 100 });
    b.failure(0);
    b.success(10);
    b.failure(20);
    assert.equal(b.state, 'open');
    assert.equal(b.openUntil, 100);
  });
});
