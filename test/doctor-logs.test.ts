import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { doctorLogsCommand } from '../src/cli/doctor-logs.ts';
import { analyzeLogs, classifyLine, detectFormat, type LineRecord } from '../src/doctor/logs/index.ts';

// The labelled corpus: one TSV per format in test/fixtures/logs/corpus, columns
// cause, hop, status, source, line ("-" for none).
type CorpusRow = {
  readonly file: string;
  readonly lineNo: number;
  readonly cause: string;
  readonly hop: string | null;
  readonly status: number | null;
  readonly source: string;
  readonly line: string;
};

const CORPUS_DIR = join(import.meta.dirname, 'fixtures', 'logs', 'corpus');

function loadCorpus(): Map<string, CorpusRow[]> {
  const out = new Map<string, CorpusRow[]>();
  for (const name of readdirSync(CORPUS_DIR).filter((n) => n.endsWith('.tsv')).sort()) {
    const rows: CorpusRow[] = [];
    readFileSync(join(CORPUS_DIR, name), 'utf8')
      .split('\n')
      .forEach((text, i) => {
        if (text === '' || text.startsWith('#')) return;
        const parts = text.split('\t');
        if (parts.length < 5) throw new Error(`${name}:${i + 1}: expected 5 columns`);
        const [cause, hop, status, source] = parts as [string, string, string, string];
        rows.push({
          file: name,
          lineNo: i + 1,
          cause,
          hop: hop === '-' ? null : hop,
          status: status === '-' ? null : Number(status),
          source,
          line: parts.slice(4).join('\t'),
        });
      });
    out.set(name.replace(/\.tsv$/, ''), rows);
  }
  return out;
}

const dir = mkdtempSync(join(tmpdir(), 'gatewise-doctor-logs-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, lines: string[]): string {
  const path = join(dir, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

function sink(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

const pad = (n: number) => String(n).padStart(2, '0');

/** nginx error log time for minute m of 2024-05-02 10:00 UTC. */
const ngxTime = (m: number, s = 0) => `2024/05/02 ${pad(10 + Math.floor(m / 60))}:${pad(m % 60)}:${pad(s)}`;
const fpmTime = (m: number, s = 0) => `02-May-2024 ${pad(10 + Math.floor(m / 60))}:${pad(m % 60)}:${pad(s)}`;

function ngxTimeout(m: number, i: number): string {
  return `${ngxTime(m, i % 60)} [error] 31#31: *${1000 + i} upstream timed out (110: Connection timed out) while reading response header from upstream, client: 203.0.113.${i % 250}, server: shop.example.com, request: "GET /cart HTTP/1.1", upstream: "fastcgi://unix:/run/php/php8.2-fpm.sock:", host: "shop.example.com"`;
}

describe('corpus of real log lines', () => {
  const corpus = loadCorpus();

  test('has enough lines of every format', () => {
    const minimum: Record<string, number> = {
      'nginx-error': 40,
      'nginx-access': 15,
      'apache-error': 20,
      'php-fpm': 20,
      haproxy: 25,
      caddy: 10,
      traefik: 10,
      gatewise: 10,
    };
    let total = 0;
    for (const [format, min] of Object.entries(minimum)) {
      const n = corpus.get(format)?.length ?? 0;
      assert.ok(n >= min, `${format}: ${n} lines, want at least ${min}`);
      total += n;
    }
    assert.ok(total >= 150);
    for (const rows of corpus.values()) for (const r of rows) assert.ok(r.source.length > 0, `${r.file}:${r.lineNo} has no source`);
  });

  test('classifies at least 95% of the lines right (cause and hop)', async () => {
    let right = 0;
    let total = 0;
    let statusRight = 0;
    const wrong: string[] = [];
    for (const [format, rows] of corpus) {
      // Read each file as the tool does (in order, so that Apache summary lines
      // can join the line before them), and check its format was detected.
      const records: LineRecord[] = [];
      const report = await analyzeLogs([{ name: format, lines: rows.map((r) => r.line) }], {
        onLine: (r) => {
          records.push(r);
        },
      });
      assert.equal(report.files[0]?.format, format, `${format} detected as ${report.files[0]?.format}`);
      rows.forEach((row, i) => {
        const got = records[i] as LineRecord;
        total++;
        if (got.cause === row.cause && got.hop === row.hop) right++;
        else {
          wrong.push(`  ${row.file}:${row.lineNo} want ${row.cause}/${row.hop ?? '-'} got ${got.cause}/${got.hop ?? '-'}: ${row.line.slice(0, 140)}`);
        }
        if (got.status === row.status) statusRight++;
      });
    }
    const pct = (100 * right) / total;
    console.log(`corpus accuracy: ${right}/${total} = ${pct.toFixed(1)}% (status: ${statusRight}/${total})`);
    if (wrong.length > 0) console.log(`misclassified:\n${wrong.join('\n')}`);
    assert.ok(pct >= 95, `accuracy ${pct.toFixed(1)}% < 95%`);
  });
});

describe('detectFormat', () => {
  const corpus = loadCorpus();
  for (const [format, rows] of corpus) {
    test(format, () => {
      assert.equal(detectFormat(rows.slice(0, 20).map((r) => r.line)), format);
    });
  }
  test('unknown text', () => {
    assert.equal(detectFormat(['hello world', 'just some text', '']), 'unknown');
  });
  test('lines wrapped by docker compose and kubectl keep their format', () => {
    const line =
      '2020/02/20 16:45:08 [crit] 551#551: *1 connect() to unix:/var/run/php-fpm.sock failed (2: No such file or directory) while connecting to upstream, client: 172.17.0.1, server: , request: "GET / HTTP/1.1", upstream: "fastcgi://unix:/var/run/php-fpm.sock:", host: "localhost"';
    for (const wrapped of [`web_1  | ${line}`, `2024-05-02T10:00:00.123456789Z ${line}`]) {
      const r = classifyLine(wrapped);
      assert.equal(r?.format, 'nginx-error');
      assert.equal(r?.cause, 'socket_missing');
    }
  });
});

describe('classifyLine', () => {
  test('returns null for lines of no known format and honours a forced format', () => {
    assert.equal(classifyLine('nothing to see'), null);
    const fpm = '[02-May-2024 10:02:13] WARNING: [pool www] server reached pm.max_children setting (5), consider raising it';
    assert.equal(classifyLine(fpm, 'nginx-error'), null);
    const r = classifyLine(fpm, 'php-fpm');
    assert.equal(r?.cause, 'fpm_pool_exhausted');
    assert.equal(r?.hop, 'app');
    assert.equal(r?.limit, 5);
    assert.equal(r?.pool, 'www');
  });
});

describe('aggregation', () => {
  test('counts by cause, upstream, status and minute, with first and last seen', async () => {
    const lines = [
      ngxTimeout(1, 1),
      ngxTimeout(1, 2),
      ngxTimeout(3, 3),
      `${ngxTime(2)} [error] 31#31: *9 connect() failed (111: Connection refused) while connecting to upstream, client: 203.0.113.9, server: api.example.com, request: "GET / HTTP/1.1", upstream: "http://10.0.0.7:8080/", host: "api.example.com"`,
      `${ngxTime(2)} [notice] 1#1: start worker process 29`,
    ];
    const report = await analyzeLogs([{ name: 'error.log', lines }]);
    assert.deepEqual(report.totals, { lines: 5, classified: 5, errors: 4, repeats: 0, unrecognized: 0 });
    assert.deepEqual(
      report.byCause.map((c) => [c.cause, c.count]),
      [
        ['upstream_timeout_read', 3],
        ['upstream_refused', 1],
      ],
    );
    assert.deepEqual(report.byUpstream, [
      { upstream: 'fastcgi://unix:/run/php/php8.2-fpm.sock', count: 3 },
      { upstream: 'http://10.0.0.7:8080', count: 1 },
    ]);
    assert.deepEqual(report.byStatus, { '502': 1, '504': 3 });
    assert.deepEqual(
      report.byMinute.map((m) => [m.minute, m.count]),
      [
        ['2024-05-02T10:01:00.000Z', 2],
        ['2024-05-02T10:02:00.000Z', 1],
        ['2024-05-02T10:03:00.000Z', 1],
      ],
    );
    assert.equal(report.firstSeen, '2024-05-02T10:01:01.000Z');
    assert.equal(report.lastSeen, '2024-05-02T10:03:03.000Z');
    assert.deepEqual(
      report.findings.map((f) => [f.id, f.lines]),
      [
        ['upstream_timeout_read', 3],
        ['upstream_refused', 1],
      ],
    );
  });

  test('reads async iterables and counts an Apache summary line once', async () => {
    async function* lines() {
      yield '[Sat Jul 08 17:40:54.742169 2017] [proxy:error] [pid 1081] (111)Connection refused: AH00957: HTTP: attempt to connect to 127.0.0.1:8000 (127.0.0.1) failed';
      yield '[Sat Jul 08 17:40:54.742228 2017] [proxy_http:error] [pid 1081] [client 10.0.2.2:53768] AH01114: HTTP: failed to make connection to backend: 127.0.0.1';
    }
    const report = await analyzeLogs([{ name: 'apache.log', lines: lines() }]);
    assert.equal(report.totals.errors, 1);
    assert.equal(report.totals.repeats, 1);
    assert.equal(report.findings[0]?.id, 'upstream_refused');
    assert.deepEqual(report.findings[0]?.statuses, { '503': 1 });
  });
});

describe('correlation across files', () => {
  test('max_children warnings near nginx timeouts become one "PHP pool is exhausted" finding', async () => {
    const nginx: string[] = [];
    let i = 0;
    // 40 timeouts during the incident (10:05-10:09), 3 long before it (09:00... i.e. minute -60 → 09:00).
    for (let m = 5; m < 10; m++) for (let k = 0; k < 8; k++) nginx.push(ngxTimeout(m, i++));
    const early = [0, 1, 2].map((k) => ngxTimeout(0, 100 + k).replace('2024/05/02 10:', '2024/05/02 08:'));
    const fpm: string[] = [`[${fpmTime(0)}] NOTICE: fpm is running, pid 1`];
    for (let m = 4; m < 9; m++) {
      fpm.push(`[${fpmTime(m, 30)}] WARNING: [pool www] server reached pm.max_children setting (5), consider raising it`);
    }
    const e = file('error.log', [...early, ...nginx]);
    const f = file('php-fpm.log', fpm);
    const out = sink();
    const code = await doctorLogsCommand([e, f, '--json'], { stdout: out.stream });
    assert.equal(code, 1);
    const report = JSON.parse(out.text());
    const pool = report.findings.filter((x: { id: string }) => x.id === 'php_pool_exhausted');
    assert.equal(pool.length, 1);
    assert.equal(report.findings[0].id, 'php_pool_exhausted', 'the biggest finding comes first');
    assert.equal(pool[0].lines, 45, '5 warnings + 40 correlated timeouts');
    assert.deepEqual(pool[0].causes, ['fpm_pool_exhausted', 'upstream_timeout_read']);
    assert.equal(pool[0].statuses['504'], 40);
    assert.match(pool[0].summary, /"www" \(pm\.max_children = 5\) reached max_children 5 times/);
    assert.match(pool[0].summary, /40 requests timed out at the gateway within 2 minutes of it \(of 43 timeouts in all\)/);
    assert.ok(pool[0].changes.some((c: { directive: string; value: string }) => c.directive === 'pm.max_children' && /40-60 MB/.test(c.value)));
    // The 3 early timeouts are another story, and stay a finding of their own.
    const rest = report.findings.find((x: { id: string }) => x.id === 'upstream_timeout_read');
    assert.equal(rest.lines, 3);
  });

  test('execution timed out + upstream prematurely closed become one request_terminate_timeout finding', async () => {
    const nginx = [0, 1, 2].map(
      (k) =>
        `${ngxTime(20, k)} [error] 31#31: *${k} upstream prematurely closed connection while reading response header from upstream, client: 203.0.113.1, server: a.example, request: "POST /export.php HTTP/1.1", upstream: "fastcgi://127.0.0.1:9000", host: "a.example"`,
    );
    const fpm = [0, 1, 2].map(
      (k) =>
        `[${fpmTime(20, k)}] WARNING: [pool www] child ${400 + k}, script '/var/www/export.php' (request: "POST /export.php") execution timed out (30.0${k}1000 sec), terminating`,
    );
    const report = await analyzeLogs([
      { name: 'error.log', lines: nginx },
      { name: 'fpm.log', lines: fpm },
    ]);
    assert.equal(report.findings.length, 1);
    const f = report.findings[0];
    assert.equal(f?.id, 'fpm_request_terminate_timeout');
    assert.equal(f?.lines, 6);
    assert.match(f?.summary ?? '', /terminated 3 requests after 30\.0 s \(so request_terminate_timeout ≈ 30 s\)/);
    assert.ok(f?.changes.some((c) => c.directive === 'request_terminate_timeout'));
    assert.ok(f?.changes.some((c) => c.directive.startsWith('fastcgi_read_timeout')));
  });
});

describe('gatewise doctor logs (CLI)', () => {
  const access = [
    '172.21.0.224 - - [30/Apr/2024:19:38:48 +0000] "GET / HTTP/1.1" 200 615 "-" "curl/8.4.0" 81 0.001 [test-80] [] 172.21.47.222:80 615 0.001 200 23475003b3b98b4d6c7e8457b8064172',
    '203.0.113.109 - - [30/Apr/2024:19:39:02 +0000] "GET /health HTTP/1.1" 502 157 "-" "curl/8.4.0" 240 0.002 [test-80] [] 10.36.0.1:8888, 10.36.0.1:8888 0, 0 0.000, 0.001 502, 502 d22a768555620d053d72cfc24178e3b4',
  ];

  test('--lines --json prints one JSON object per input line', async () => {
    const path = file('access.log', [...access, 'not a log line']);
    const out = sink();
    const code = await doctorLogsCommand([path, '--lines', '--json'], { stdout: out.stream });
    assert.equal(code, 1);
    const rows = out
      .text()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(rows.length, 3);
    assert.deepEqual(rows[0], {
      file: path,
      line: 1,
      format: 'nginx-access',
      time: '2024-04-30T19:38:48.000Z',
      cause: 'not_an_error',
      hop: null,
      status: 200,
    });
    assert.equal(rows[1].cause, 'upstream_refused');
    assert.equal(rows[1].hop, 'upstream');
    assert.equal(rows[1].status, 502);
    assert.equal(rows[1].upstream, '10.36.0.1:8888');
    assert.equal(rows[1].inferred, true);
    assert.deepEqual(rows[2], { file: path, line: 3, format: 'unknown', cause: 'not_an_error', hop: null, status: null });
  });

  test('reads standard input with -', async () => {
    const out = sink();
    const code = await doctorLogsCommand(['-'], { stdin: Readable.from([`${access.join('\n')}\n`]), stdout: out.stream });
    assert.equal(code, 1);
    const text = out.text();
    assert.match(text, /\(stdin\) \(nginx-access, 2 lines\)/);
    assert.match(text, /The upstream refused connections/);
    assert.match(text, /Errors over time/);
  });

  test('exit code 0 when there is nothing wrong', async () => {
    const path = file('ok.log', [access[0] as string]);
    const out = sink();
    assert.equal(await doctorLogsCommand([path], { stdout: out.stream }), 0);
    assert.match(out.text(), /No errors found/);
  });

  test('exit code 2 on usage errors', async () => {
    for (const argv of [[], ['--nope', 'x'], [join(dir, 'missing.log')], ['--format', 'iis', 'x'], ['-', '-']]) {
      const err = sink();
      assert.equal(await doctorLogsCommand(argv, { stdout: sink().stream, stderr: err.stream }), 2, argv.join(' '));
      assert.match(err.text(), /Usage: gatewise doctor logs/);
    }
  });

  test('--follow reads lines appended later, and reports when stopped', async () => {
    const path = file('follow.log', [access[0] as string]);
    const out = sink();
    const stop = new AbortController();
    const run = doctorLogsCommand([path, '--follow'], { stdout: out.stream, signal: stop.signal });
    await new Promise((r) => setTimeout(r, 300));
    writeFileSync(path, `${access.join('\n')}\n`);
    for (let i = 0; i < 40 && !out.text().includes('upstream_refused'); i++) await new Promise((r) => setTimeout(r, 100));
    stop.abort();
    assert.equal(await run, 1);
    assert.match(out.text(), /follow\.log:2 .* upstream_refused/);
    assert.match(out.text(), /Findings, by lines affected/);
  });
});
