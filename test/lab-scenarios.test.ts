// Every scenario in lab/scenarios/ run to completion through `gatewise lab run`, one after
// the other: the printed table is parsed back and checked against the JSON report (columns,
// totals that add up to `sent`), then the failure each scenario is about is looked for where
// it should appear. The assertions describe what gatewise does today, not what it should do
// once retries across endpoints and health checks land: a change there shows up here.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { labRunCommand } from '../src/cli/lab-run.ts';
import type { Report, RequestRecord } from '../src/lab/scenario/runner.ts';

const DIR = 'lab/scenarios';
const TMP = mkdtempSync(join(tmpdir(), 'gatewise-lab-test-'));
after(() => rmSync(TMP, { recursive: true, force: true }));

type Row = { t: string; sent: number; '2xx': number; '502': number; '503': number; '504': number; other: number; connErr: number; text: string };
type Run = { code: number; text: string; report: Report; rows: Row[]; total: Row; stderr: string };

const COLUMNS = ['t', 'sent', '2xx', '502', '503', '504', 'other', 'conn err', 'p50 ms', 'p99 ms'];

async function run(name: string, ...extra: string[]): Promise<Run> {
  const jsonFile = join(TMP, `${name}-${extra.join('_').replace(/\W/g, '')}.json`);
  let text = '';
  let stderr = '';
  const code = await labRunCommand([join(DIR, `${name}.yaml`), '--json-out', jsonFile, '--requests', ...extra], {
    out: (t) => {
      text += t;
    },
    err: (l) => {
      stderr += `${l}\n`;
    },
  });
  assert.notEqual(code, 2, `lab run ${name} failed:\n${stderr}`);
  const report = JSON.parse(readFileSync(jsonFile, 'utf8')) as Report;
  const { rows, total } = parseTable(text, report.chained);
  return { code, text, report, rows, total, stderr };
}

/** The table as printed: the header names the columns, each row starts with its numbers. */
function parseTable(text: string, chained: boolean): { rows: Row[]; total: Row } {
  const lines = text.split('\n');
  const h = lines.findIndex((l) => /^\s*t\s+sent\s/.test(l));
  assert.ok(h >= 0, `no table header in:\n${text}`);
  const header = lines[h]!.trim().split(/\s{2,}/);
  assert.deepEqual(header, [...COLUMNS, ...(chained ? ['broke at'] : []), 'errors seen']);
  const rows: Row[] = [];
  for (const line of lines.slice(h + 1)) {
    const m = /^\s*(\d+s|total)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+([\d.]+|-)\s+([\d.]+|-)\s*(.*)$/.exec(line);
    if (!m) break;
    const n = (i: number) => Number(m[i]);
    rows.push({ t: m[1]!, sent: n(2), '2xx': n(3), '502': n(4), '503': n(5), '504': n(6), other: n(7), connErr: n(8), text: m[11]! });
  }
  const total = rows.pop();
  assert.equal(total?.t, 'total', `no total row in:\n${text}`);
  return { rows, total: total! };
}

const OUTCOMES = ['2xx', '502', '503', '504', 'other', 'connErr'] as const;

/** What every run must satisfy, whatever the scenario. */
function checkTable(r: Run): void {
  const ctx = `\n${r.text}`;
  assert.equal(r.rows.length, Math.ceil(r.report.load.durationMs / 1000), ctx);
  for (const row of [...r.rows, r.total]) {
    assert.equal(OUTCOMES.reduce((s, k) => s + row[k], 0), row.sent, `row ${row.t} does not add up to sent${ctx}`);
  }
  for (const k of ['sent', ...OUTCOMES] as const) {
    assert.equal(
      r.rows.reduce((s, row) => s + row[k], 0),
      r.total[k],
      `column ${k}: the rows do not add up to the total${ctx}`,
    );
  }
  // The table and the JSON are the same data.
  r.report.rows.forEach((jr, i) => {
    const tr = r.rows[i]!;
    assert.equal(tr.t, `${jr.t}s`);
    for (const k of ['sent', ...OUTCOMES] as const) assert.equal(tr[k], jr[k], `row ${tr.t} column ${k}: table vs JSON`);
  });
  for (const k of ['sent', ...OUTCOMES] as const) assert.equal(r.total[k], r.report.total[k], `total ${k}: table vs JSON`);
  assert.equal(r.report.requests.length, r.total.sent);
  assert.equal(r.total.sent + r.report.total.skipped, Math.floor((r.report.load.rate * r.report.load.durationMs) / 1000));
  if (r.report.target.kind === 'gatewise') {
    const failed = r.report.expectations!.filter((e) => !e.ok);
    assert.deepEqual(failed, [], `the scenario's expect: does not hold${ctx}`);
    assert.equal(r.code, 0);
  }
}

const failures = (r: Run): RequestRecord[] => r.report.requests.filter((q) => q.code !== null || q.status! < 200 || q.status! >= 300);
const errorOf = (q: RequestRecord): string | null => q.chain.find((m) => m.error !== null)?.error ?? null;

/** Scenario-specific checks, named for what gatewise does today. */
const CHECKS: Record<string, { title: string; check: (r: Run) => void }> = {
  deploy: {
    title: 'deploy: while the only origin is down (3s–5s) every request is a 502 connection_refused, none before or after',
    check: (r) => {
      // Sent once the stop was done and well before the start began: every one a 502. (A
      // request sent in the millisecond before the stop fired is answered, and so is one sent
      // just before the start whose connect comes after it: seconds 3 and 5 may hold one.)
      const [stop, start] = r.report.timeline;
      const down = r.report.requests.filter((q) => q.sentMs >= stop!.doneMs! && q.sentMs < start!.firedMs! - 50);
      assert.ok(down.length >= 90, `${down.length} requests sent while the origin was down\n${r.text}`);
      for (const q of down) assert.equal(q.status, 502, `sent at ${q.sentMs} ms\n${r.text}`);
      for (const t of [0, 1, 6, 7]) assert.equal(r.rows[t]!['2xx'], r.rows[t]!.sent, `second ${t}\n${r.text}`);
      assert.ok(failures(r).every((q) => q.status === 502 && errorOf(q) === 'connection_refused'));
      assert.match(r.rows[3]!.text, /connection_refused×\d+/);
    },
  },
  offline: {
    title: 'offline: gatewise retries a refused connect on the other endpoint, so users see no 502 while b is down',
    check: (r) => {
      assert.equal(r.report.total.causes['connection_refused'] ?? 0, 0, r.text);
      // At most a POST in flight on b at the instant it crashes (its body cannot be replayed).
      assert.ok(failures(r).length <= 3, r.text);
      assert.ok(failures(r).every((q) => q.sentMs >= 2900 && q.sentMs < 3200), r.text);
    },
  },
  firewall: {
    title: 'firewall: every request ends in a 504 connection_timeout, none succeeds',
    check: (r) => {
      assert.equal(r.total['2xx'], 0);
      assert.equal(r.total['504'], r.total.sent, r.text);
      assert.ok(failures(r).every((q) => errorOf(q) === 'connection_timeout'));
      // Each try waits for the connect timeout: no 504 comes back fast.
      assert.ok(failures(r).every((q) => q.latencyMs >= 1000), r.text);
    },
  },
  'php-timeout': {
    title: 'php-timeout: /report (2 s) gets 504 http_response_timeout behind a 1 s header timeout, every other page 200',
    check: (r) => {
      for (const q of r.report.requests) {
        const report = q.seq % 4 === 3;
        assert.equal(q.status, report ? 504 : 200, `request ${q.seq}\n${r.text}`);
        if (report) assert.equal(errorOf(q), 'http_response_timeout');
      }
    },
  },
  dns: {
    title: 'dns: 502 dns_error while the resolver says SERVFAIL, 504 dns_timeout while it is silent, 200 from the new address after',
    check: (r) => {
      // Every request sent once SERVFAIL is in force. One sent in the first moments of 2s may
      // beat the switch: the timeline's timer can fire late on a busy machine, and a lookup
      // joins the gateway's re-resolution already in flight (it re-resolves every 1 ms here).
      // On a busy machine the lab's DNS server (in the load generator's process) can answer
      // after the gateway's 300 ms query timeout: that lookup is then rightly a dns_timeout.
      const queryTimedOut = (q: RequestRecord) => q.status === 504 && errorOf(q) === 'dns_timeout' && q.latencyMs >= 300;
      for (const q of r.report.requests.filter((x) => x.sentMs >= 2200 && x.sentMs < 4000)) {
        assert.ok(q.status === 502 || queryTimedOut(q), `request at ${q.sentMs} ms\n${r.text}`);
      }
      for (const t of [2, 3]) assert.match(r.rows[t]!.text, /^dns_error×\d+/);
      assert.ok(r.rows[4]!['504'] > 0, r.text);
      assert.match(r.rows[4]!.text, /dns_timeout×\d+/);
      for (const t of [0, 1, 7]) assert.equal(r.rows[t]!['2xx'], r.rows[t]!.sent, `second ${t}\n${r.text}`);
      // A request sent just as the resolver goes silent may share a query begun under SERVFAIL,
      // and one sent just after it answers again may share a query begun while it was silent
      // (which gives up 300 ms later): past 6.3 s every request gets through.
      const expected = (q: RequestRecord): string[] => (q.sentMs < 4000 ? ['dns_error'] : q.sentMs < 4300 ? ['dns_error', 'dns_timeout'] : ['dns_timeout']);
      assert.ok(failures(r).every((q) => expected(q).includes(errorOf(q) ?? '') || queryTimedOut(q)), r.text);
      assert.ok(failures(r).every((q) => q.sentMs >= 2000 && q.sentMs < 6300), r.text);
    },
  },
  'cdn-origin': {
    title: 'cdn-origin: after the origin dies, Proxy-Status shows the inner gateway gw refused (connection_refused) and the edge after it',
    check: (r) => {
      assert.ok(r.report.chained);
      for (const q of failures(r)) {
        assert.equal(q.status, 502);
        assert.deepEqual(
          q.chain.map((m) => [m.name, m.error, m.receivedStatus]),
          [
            ['gw', 'connection_refused', null],
            ['edge', null, 502],
          ],
        );
      }
      for (const t of [4, 5, 6, 7]) assert.match(r.rows[t]!.text, /^gw×\d+\s+connection_refused×\d+/, r.text);
      assert.match(r.text, /\d+×\s+edge: ok → gw: connection_refused/);
      for (const t of [0, 1, 2]) assert.equal(r.rows[t]!['2xx'], r.rows[t]!.sent);
    },
  },
  overload: {
    title: 'overload: the requests the origin resets beyond its queue are 502 connection_terminated, every second',
    check: (r) => {
      assert.ok(failures(r).every((q) => q.status === 502 && errorOf(q) === 'connection_terminated'), r.text);
      for (const row of r.rows) assert.ok(row['502'] > 0 && row['2xx'] > 0, `second ${row.t}\n${r.text}`);
    },
  },
  'keepalive-race': {
    title: 'keepalive-race (unannounced): GETs caught by the race are retried; only POSTs can fail, as 502 connection_terminated',
    check: (r) => {
      for (const q of failures(r)) {
        assert.equal(q.method, 'POST', r.text);
        assert.equal(q.status, 502);
        assert.equal(errorOf(q), 'connection_terminated');
      }
    },
  },
  'keepalive-race-announced': {
    title: 'keepalive-race-announced: with Keep-Alive: timeout=1 announced, gatewise never reuses a closing connection: no error',
    check: (r) => {
      assert.equal(failures(r).length, 0, r.text);
    },
  },
};

describe('gatewise lab run: every scenario in lab/scenarios', { concurrency: false }, () => {
  const files = readdirSync(DIR)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -'.yaml'.length))
    .sort();

  test('every scenario file has checks of its own here', () => {
    assert.deepEqual(files, Object.keys(CHECKS).sort());
  });

  for (const name of files) {
    const c = CHECKS[name];
    test(c?.title ?? name, { timeout: 30_000 }, async () => {
      const r = await run(name);
      checkTable(r);
      c?.check(r);
    });
  }
});

describe('the same scenario against another proxy', { concurrency: false }, () => {
  test(
    'offline against nginx: same columns; nginx retries the refused server on the healthy one (proxy_next_upstream), so no 502',
    { timeout: 30_000, skip: existsSync('/usr/sbin/nginx') ? false : 'nginx is not installed' },
    async () => {
      const r = await run('offline', '--proxy', 'nginx');
      checkTable(r);
      assert.equal(r.report.target.kind, 'proxy');
      assert.equal(r.report.expectations, null);
      assert.match(r.text, /target: proxy nginx at http:\/\/127\.0\.0\.1:\d+/);
      assert.equal(r.total['502'], 0, r.text);
      assert.equal(r.total['2xx'], r.total.sent, r.text);
      // nginx writes no Proxy-Status: the chain column says so rather than inventing one.
      assert.match(r.text, /\d+×\s+\(no Proxy-Status\) 200/);
    },
  );

  test(
    'offline against HAProxy (default retries, no redispatch): requests sent to the dead server wait out its retries; some users time out',
    { timeout: 30_000, skip: existsSync('/usr/sbin/haproxy') ? false : 'haproxy is not installed' },
    async () => {
      const r = await run('offline', '--proxy', 'haproxy');
      checkTable(r);
      assert.equal(r.total['502'], 0, r.text);
      assert.ok(failures(r).length > 0, r.text);
      // Only requests sent while b was down (3s–8s) suffer.
      assert.ok(failures(r).every((q) => q.sentMs >= 2900 && q.sentMs < 8100), r.text);
    },
  );
});
