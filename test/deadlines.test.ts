// The requests' total deadlines (src/proxy/deadlines.ts): each entry expires once, in order,
// never before its deadline; an entry removed in time never expires; an expiry may end other
// requests; the list's one timer stays while entries come and go, and goes when it fires on an
// empty list; lists of different limits are independent.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DeadlineEntry, DeadlineList, Deadlines } from '../src/proxy/deadlines.ts';

class Entry extends DeadlineEntry {
  expiredAt: number | null = null;
  times = 0;
  readonly name: string;
  readonly log: string[];
  readonly onExpire: (() => void) | undefined;
  constructor(name: string, log: string[], onExpire?: () => void) {
    super();
    this.name = name;
    this.log = log;
    this.onExpire = onExpire;
  }
  expire(): void {
    this.times++;
    this.expiredAt = performance.now();
    this.log.push(this.name);
    this.onExpire?.();
  }
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits (at most 5 s, however loaded the machine) until the log has n names. */
async function expired(log: string[], n: number): Promise<void> {
  for (let i = 0; i < 500 && log.length < n; i++) await wait(10);
  assert.equal(log.length, n, `expected ${n} expiries, got ${log.join(', ')}`);
}

test('entries expire once each, in order, never before their deadline; removed ones never', async () => {
  const log: string[] = [];
  const list = new DeadlineList(40);
  const a = new Entry('a', log);
  const b = new Entry('b', log);
  const c = new Entry('c', log);
  const t0 = performance.now();
  list.add(a, t0);
  await wait(15);
  const tb = performance.now();
  list.add(b, tb);
  list.add(c, tb);
  list.remove(b);
  await expired(log, 2);
  // b's deadline was c's: had it still been in the list it would have gone with c.
  assert.deepEqual(log, ['a', 'c']);
  assert.ok(a.expiredAt! >= t0 + 40, `a expired ${(a.expiredAt! - t0).toFixed(2)} ms after its start, limit 40`);
  assert.ok(c.expiredAt! >= tb + 40, `c expired ${(c.expiredAt! - tb).toFixed(2)} ms after its start, limit 40`);
  assert.equal(a.times + c.times, 2);
  assert.equal(b.times, 0);
  assert.equal(list.nextFireAt, null, 'no timer once the list is empty');
});

test('an expiry that ends other requests, and removal of the head, keep the rest on time', async () => {
  const log: string[] = [];
  const list = new DeadlineList(30);
  const t0 = performance.now();
  const second = new Entry('second', log);
  const third = new Entry('third', log);
  // The first's expiry ends the second (as a request's cancel can end a request waiting on it).
  const first = new Entry('first', log, () => list.remove(second));
  list.add(first, t0);
  list.add(second, t0);
  await wait(10);
  list.add(third, performance.now());
  await expired(log, 2);
  assert.deepEqual(log, ['first', 'third']);

  const head = new Entry('head', log);
  const tail = new Entry('tail', log);
  const t1 = performance.now();
  list.add(head, t1);
  await wait(10);
  list.add(tail, performance.now());
  list.remove(head);
  assert.ok(list.nextFireAt !== null, 'the timer stays for the new head');
  await expired(log, 3);
  assert.deepEqual(log, ['first', 'third', 'tail']);
  assert.equal(head.times, 0);
  assert.ok(tail.expiredAt! - t1 >= 40, 'the new head waits for its own deadline');
});

test('requests that end before the next begins share the one timer (none made or cleared for each), and a later one still expires on time', async () => {
  const log: string[] = [];
  const list = new DeadlineList(40);
  const first = new Entry('first', log);
  list.add(first, performance.now());
  const due = list.nextFireAt;
  list.remove(first);
  assert.equal(list.nextFireAt, due, 'the timer stays with the list empty');
  for (let i = 0; i < 100; i++) {
    const e = new Entry(`e${i}`, log);
    list.add(e, performance.now());
    list.remove(e);
  }
  assert.equal(list.nextFireAt, due, 'no timer made for any of them');
  await wait(5);
  const late = new Entry('late', log);
  const t = performance.now();
  list.add(late, t);
  await expired(log, 1);
  assert.deepEqual(log, ['late']);
  assert.ok(late.expiredAt! - t >= 40, `late expired ${(late.expiredAt! - t).toFixed(2)} ms after its start, limit 40`);
  assert.equal(list.nextFireAt, null, 'gone once it fired on an empty list');
});

test('limits of their own: a short limit is not held behind a long one', async () => {
  const log: string[] = [];
  const d = new Deadlines();
  const t0 = performance.now();
  const long = new Entry('long', log);
  const short = new Entry('short', log);
  d.add(long, t0, 5_000);
  d.add(short, t0, 20);
  await expired(log, 1);
  assert.deepEqual(log, ['short']);
  d.remove(long);
  d.remove(short);
  assert.equal(long.deadlineList, null);
});
