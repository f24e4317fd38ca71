import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkCommand } from '../src/cli/check.ts';
import { formatDuration, formatSize, parseDuration, parseSize } from '../src/config/duration.ts';
import { ConfigError, type ConfigIssue, defaultConfig, formatConfigIssues, loadConfig, parseConfigText } from '../src/config/load.ts';
import { quickConfig } from '../src/config/quick.ts';
import { type Config, DEFAULT_TIMEOUTS } from '../src/config/schema.ts';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/config/${name}`, import.meta.url));
const example = fileURLToPath(new URL('../gatewise.example.yaml', import.meta.url));

const MINIMAL = 'upstreams: { app: { endpoints: [http://127.0.0.1:3000] } }\nroutes: [{ upstream: app }]\n';

function issuesOf(run: () => unknown): ConfigIssue[] {
  try {
    run();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${err}`);
    return err.issues;
  }
  assert.fail('expected a ConfigError');
}

/** The single issue a fixture produces, checked for place and path. */
function onlyIssue(name: string, where: { line: number; column: number; path: string }): ConfigIssue {
  const file = fixture(name);
  const issues = issuesOf(() => loadConfig(file));
  assert.equal(issues.length, 1, formatConfigIssues(issues));
  const issue = issues[0]!;
  assert.deepEqual({ file: issue.file, line: issue.line, column: issue.column, path: issue.path }, { file, ...where });
  return issue;
}

const tmp = mkdtempSync(join(tmpdir(), 'gatewise-config-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('loading a valid configuration', () => {
  test('fills every default', () => {
    const { config, warnings } = parseConfigText(MINIMAL, 'gatewise.yaml');
    assert.deepEqual(warnings, []);
    const timeouts = { connectMs: 5_000, responseHeaderMs: 60_000, idleMs: 60_000, totalMs: 300_000 };
    assert.deepEqual(DEFAULT_TIMEOUTS, timeouts);
    const expected: Config = {
      listen: [{ host: '127.0.0.1', port: 8080, tls: null }],
      name: 'gatewise',
      resolver: null,
      timeouts,
      client: { headerTimeoutMs: 10_000, requestTimeoutMs: 60_000, keepAliveTimeoutMs: 5_000, maxHeaderBytes: 16_384, maxConnections: null },
      limits: { maxResponseHeaderBytes: 16_384, maxRequestBodyBytes: null, maxResponseBodyBytes: null },
      forwarded: { xForwarded: true, forwarded: true, trustedProxies: [] },
      errorPages: { exposeInternals: false, pages: {} },
      cache: { maxSizeBytes: 64 * 1024 * 1024 },
      upstreams: {
        app: {
          name: 'app',
          endpoints: [{ url: 'http://127.0.0.1:3000', protocol: 'http:', host: '127.0.0.1', port: 3000, weight: 1, backup: false }],
          tls: { verify: true, ca: null, servername: null },
          keepAlive: { idleMs: 4_000, maxConnections: 256 },
          timeouts,
          balance: 'round_robin',
          slowStartMs: 0,
          retry: { tries: 3, perTryTimeoutMs: null, backoff: { baseMs: 25, maxMs: 250 }, budget: { ratio: 0.2, minPerSecond: 5 }, bufferBodyBytes: 65_536 },
          health: { active: null, passive: { consecutiveFailures: 5, baseEjectionMs: 10_000, maxEjectionMs: 300_000, maxEjectedPercent: 50 } },
          limits: { maxConcurrent: null, queue: 0, queueTimeoutMs: 1_000, adaptive: false },
          breaker: null,
          waitForEndpointMs: 0,
          maintenance: false,
          dns: { minTtlMs: 1_000, maxTtlMs: 300_000, staleMs: 300_000 },
        },
      },
      routes: [
        { name: '/', host: null, pathPrefix: '/', upstream: 'app', stripPrefix: false, timeouts, retryWithIdempotencyKey: false, maintenance: false, cache: null, httpsRedirect: null },
      ],
      log: { access: 'stdout', level: 'info', format: 'auto', rotate: null },
      shutdown: { graceMs: 10_000 },
      admin: { listen: null, token: null },
      synthetic: [],
      alerts: {
        webhooks: [],
        slo: [],
        windows: [
          { longMs: 3_600_000, shortMs: 300_000, burnRate: 14.4 },
          { longMs: 21_600_000, shortMs: 1_800_000, burnRate: 6 },
        ],
        certificateDays: 14,
        endpointDownAfterMs: 30_000,
        masked: null,
      },
    };
    assert.deepEqual(config, expected);
  });

  test('reads every section of a full file and resolves paths against it', () => {
    const file = join(tmp, 'full.yaml');
    copyFileSync(fixture('full.yaml'), file);
    writeFileSync(join(tmp, '502.html'), '<h1>bad gateway</h1>');
    writeFileSync(join(tmp, 'ca.pem'), '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const { config, warnings } = loadConfig(file);
    assert.deepEqual(warnings, []);
    assert.deepEqual(config.listen, [
      { host: '127.0.0.1', port: 8080, tls: null },
      { host: '::1', port: 8443, tls: null },
    ]);
    assert.equal(config.name, 'edge-1');
    assert.deepEqual(config.resolver, { servers: ['127.0.0.1:5353'], timeoutMs: 2_000, tries: 2 });
    assert.deepEqual(config.timeouts, { connectMs: 2_000, responseHeaderMs: 60_000, idleMs: 60_000, totalMs: 60_000 });
    assert.deepEqual(config.client, {
      headerTimeoutMs: 5_000,
      requestTimeoutMs: 0,
      keepAliveTimeoutMs: 5_000,
      maxHeaderBytes: 32 * 1024,
      maxConnections: 1000,
    });
    assert.deepEqual(config.limits, { maxResponseHeaderBytes: 16_384, maxRequestBodyBytes: 10 * 1024 * 1024, maxResponseBodyBytes: null });
    assert.deepEqual(config.forwarded, { xForwarded: true, forwarded: false, trustedProxies: ['10.0.0.0/8', '::1'] });
    assert.deepEqual(config.errorPages, { exposeInternals: true, pages: { '502': join(tmp, '502.html') } });

    const app = config.upstreams['app']!;
    assert.deepEqual(app.endpoints[1], { url: 'https://[::1]:443', protocol: 'https:', host: '::1', port: 443, weight: 2, backup: true });
    assert.deepEqual(app.tls, { verify: true, ca: join(tmp, 'ca.pem'), servername: 'app.internal' });
    assert.deepEqual(app.keepAlive, { idleMs: 2_500, maxConnections: 256 });
    assert.deepEqual(app.timeouts, { connectMs: 2_000, responseHeaderMs: 30_000, idleMs: 60_000, totalMs: 60_000 });

    const [api, root] = config.routes;
    assert.equal(api!.name, 'api.example.com/v1');
    assert.equal(api!.host, 'api.example.com');
    assert.equal(api!.pathPrefix, '/v1');
    assert.equal(api!.stripPrefix, true);
    // route over upstream over top level
    assert.deepEqual(api!.timeouts, { connectMs: 2_000, responseHeaderMs: 30_000, idleMs: 500, totalMs: 60_000 });
    assert.deepEqual(root!.timeouts, app.timeouts);
    assert.deepEqual(config.log, { access: 'stderr', level: 'debug', format: 'json', rotate: null });
    assert.deepEqual(config.shutdown, { graceMs: 30_000 });
  });

  test('the example in the repository loads without warnings', () => {
    const { config, warnings } = loadConfig(example);
    assert.deepEqual(warnings, []);
    assert.equal(config.routes.length, 2);
  });

  test('an access log path resolves against the config file', () => {
    const { config } = parseConfigText(`${MINIMAL}log: { access: access.log }\n`, join(tmp, 'gatewise.yaml'));
    assert.deepEqual(config.log.access, { file: join(tmp, 'access.log') });
  });

  test('a total deadline alone does not clash with the longer default waits', () => {
    const { config } = parseConfigText(`${MINIMAL}timeouts: { total: 2s }\n`, 'gatewise.yaml');
    assert.equal(config.routes[0]!.timeouts.totalMs, 2_000);
    assert.equal(config.routes[0]!.timeouts.responseHeaderMs, 60_000);
  });

  test('listen accepts one address or a list, IPv6 in brackets', () => {
    const listen = (v: string) => parseConfigText(`${MINIMAL}listen: ${v}\n`, 'g.yaml').config.listen;
    assert.deepEqual(listen('"[::1]:9000"'), [{ host: '::1', port: 9000, tls: null }]);
    assert.deepEqual(listen('[0.0.0.0:80, localhost:0]'), [
      { host: '0.0.0.0', port: 80, tls: null },
      { host: 'localhost', port: 0, tls: null },
    ]);
  });
});

describe('errors point at the file, line and column, with a hint', () => {
  test('unknown key suggests the nearest known key', () => {
    const issue = onlyIssue('unknown-key.yaml', { line: 7, column: 5, path: 'routes[0].strip_prefx' });
    assert.equal(issue.message, 'unknown key "strip_prefx"');
    assert.equal(issue.hint, 'did you mean "strip_prefix"?');
  });

  test('a camelCase key is matched to its snake_case spelling', () => {
    const [issue] = issuesOf(() => parseConfigText(`${MINIMAL}client: { headerTimeout: 5s }\n`, 'g.yaml'));
    assert.equal(issue!.hint, 'did you mean "header_timeout"?');
  });

  test('durations without a unit or with an unknown unit', () => {
    const file = fixture('bad-duration.yaml');
    const [bare, unknown, ...rest] = issuesOf(() => loadConfig(file));
    assert.deepEqual(rest, []);
    assert.deepEqual(bare, {
      file,
      line: 2,
      column: 12,
      path: 'timeouts.connect',
      message: '5 has no unit',
      hint: 'write 5s or 5ms',
    });
    assert.equal(unknown!.line, 6);
    assert.equal(unknown!.path, 'upstreams.app.keep_alive.idle');
    assert.match(unknown!.hint!, /^write 4s/);
  });

  test('a route naming an unknown upstream lists the known ones', () => {
    const issue = onlyIssue('unknown-upstream.yaml', { line: 10, column: 15, path: 'routes[1].upstream' });
    assert.equal(issue.message, 'unknown upstream "ap" — known upstreams: app, api');
    assert.equal(issue.hint, 'did you mean "app"?');
  });

  test('a second route with the same host and path can never match', () => {
    const issue = onlyIssue('duplicate-route.yaml', { line: 9, column: 11, path: 'routes[1].path' });
    assert.match(issue.message, /same host and path as routes\[0\] \(a\.example\/api\)/);
  });

  test('connect longer than total names where each value came from', () => {
    const issue = onlyIssue('connect-over-total.yaml', { line: 7, column: 16, path: 'upstreams.app.timeouts.connect' });
    assert.equal(issue.message, 'connect 10s is longer than total 3s (inherited from timeouts)');
    assert.match(issue.hint!, /raise total or lower connect/);
  });

  test('response_header longer than a route total', () => {
    const text = `${MINIMAL.replace('[{ upstream: app }]', '[{ upstream: app, timeouts: { response_header: 1m, total: 30s } }]')}`;
    const [issue, ...rest] = issuesOf(() => parseConfigText(text, 'g.yaml'));
    assert.deepEqual(rest, []);
    assert.equal(issue!.path, 'routes[0].timeouts.total');
    assert.equal(issue!.message, 'response_header 1m is longer than total 30s');
  });

  test('endpoint URLs with a path or without a scheme', () => {
    const file = fixture('bad-endpoint.yaml');
    const [withPath, noScheme] = issuesOf(() => loadConfig(file));
    assert.deepEqual([withPath!.line, withPath!.column, withPath!.path], [4, 9, 'upstreams.app.endpoints[0]']);
    assert.match(withPath!.hint!, /write http:\/\/127\.0\.0\.1:3000 /);
    assert.deepEqual([noScheme!.line, noScheme!.path], [5, 'upstreams.app.endpoints[1].url']);
    assert.equal(noScheme!.hint, 'write http://127.0.0.1:3001');
  });

  test('endpoint URLs with credentials', () => {
    const text = MINIMAL.replace('http://127.0.0.1:3000', 'http://u:p@127.0.0.1:3000');
    const [issue] = issuesOf(() => parseConfigText(text, 'g.yaml'));
    assert.equal(issue!.message, '"http://u:p@127.0.0.1:3000" contains credentials');
  });

  test('YAML syntax errors become issues with a position', () => {
    const file = fixture('syntax-error.yaml');
    const [issue] = issuesOf(() => loadConfig(file));
    assert.equal(issue!.file, file);
    assert.equal(issue!.line, 4);
    assert.equal(issue!.path, '');
    assert.match(issue!.message, /^YAML: /);
  });

  test('duplicate YAML keys are refused', () => {
    const [issue] = issuesOf(() => parseConfigText(`name: a\nname: b\n${MINIMAL}`, 'g.yaml'));
    assert.equal(issue!.line, 2);
    assert.match(issue!.hint!, /silently win/);
  });

  test('a missing error page names the file it looked for', () => {
    const file = fixture('missing-error-page.yaml');
    const issue = onlyIssue('missing-error-page.yaml', { line: 3, column: 14, path: 'error_pages.pages.default' });
    assert.match(issue.message, /error page "\.\/no-such-page\.html" does not exist/);
    assert.ok(issue.message.includes(join(file, '..', 'no-such-page.html')));
  });

  test('a missing required key points at the map that should hold it', () => {
    const [issue] = issuesOf(() => parseConfigText('upstreams:\n  app: { endpoints: [http://a] }\nroutes:\n  - path: /\n', 'g.yaml'));
    assert.deepEqual([issue!.line, issue!.column, issue!.path], [4, 5, 'routes[0].upstream']);
    assert.equal(issue!.message, 'missing required key "upstream"');
  });

  test('no routes at all', () => {
    const [issue] = issuesOf(() => parseConfigText('upstreams: { app: { endpoints: [http://a] } }\n', 'g.yaml'));
    assert.equal(issue!.path, 'routes');
    assert.match(issue!.hint!, /^add a route/);
  });

  test('several problems are reported together, in file order', () => {
    const text = 'listen: 8080\nname: a b\nupstreams: { app: { endpoints: [http://a], tls: { verify: yes } } }\nroutes: [{ upstream: app }]\n';
    const issues = issuesOf(() => parseConfigText(text, 'g.yaml'));
    assert.deepEqual(
      issues.map((i) => [i.line, i.path, i.hint]),
      [
        [1, 'listen', 'write 127.0.0.1:8080 (this machine only) or 0.0.0.0:8080 (all interfaces)'],
        [2, 'name', issues[1]!.hint],
        [3, 'upstreams.app.tls.verify', 'write true or false'],
      ],
    );
  });

  test('header_timeout longer than request_timeout, which Node.js refuses', () => {
    const [issue] = issuesOf(() => parseConfigText(`${MINIMAL}client: { header_timeout: 2m }\n`, 'g.yaml'));
    assert.equal(issue!.path, 'client.header_timeout');
  });

  test('route hosts: lower-cased, leading wildcard only, no port', () => {
    const route = (host: string) => parseConfigText(`${MINIMAL.replace('{ upstream: app }', `{ upstream: app, host: "${host}" }`)}`, 'g.yaml');
    assert.equal(route('*.Example.COM').config.routes[0]!.host, '*.example.com');
    assert.match(issuesOf(() => route('a.*.example'))[0]!.message, /wildcard/);
    assert.equal(issuesOf(() => route('a.example:8080'))[0]!.hint, 'routes match the host name only: write a.example');
  });

  test('an unused upstream is a warning, not an error', () => {
    const file = fixture('unused-upstream.yaml');
    const { warnings } = loadConfig(file);
    assert.deepEqual(warnings, [
      { file, line: 4, column: 3, path: 'upstreams.old', message: 'upstream "old" is not used by any route', hint: 'route to it or remove it' },
    ]);
  });

  test('an unreadable file is an issue without a line', () => {
    const [issue] = issuesOf(() => loadConfig(join(tmp, 'nope.yaml')));
    assert.equal(issue!.line, 0);
    assert.match(issue!.message, /no such file/);
  });

  test('formatConfigIssues renders like a compiler', () => {
    const issues: ConfigIssue[] = [
      { file: 'gatewise.yaml', line: 12, column: 5, path: 'routes[1].upstream', message: 'unknown upstream "ap"', hint: 'did you mean "app"?' },
      { file: 'gatewise.yaml', line: 0, column: 0, path: '', message: 'cannot read' },
    ];
    assert.equal(
      formatConfigIssues(issues),
      'gatewise.yaml:12:5: routes[1].upstream: unknown upstream "ap" (hint: did you mean "app"?)\ngatewise.yaml: cannot read',
    );
    assert.equal(formatConfigIssues([issues[1]!], 'warning'), 'gatewise.yaml: warning: cannot read');
  });
});

describe('durations and sizes', () => {
  test('parse', () => {
    assert.deepEqual(parseDuration('250ms'), { ok: true, value: 250 });
    assert.deepEqual(parseDuration('1.5s'), { ok: true, value: 1_500 });
    assert.deepEqual(parseDuration('2m'), { ok: true, value: 120_000 });
    assert.deepEqual(parseDuration('1h'), { ok: true, value: 3_600_000 });
    assert.deepEqual(parseDuration('1m30s'), { ok: true, value: 90_000 });
    assert.deepEqual(parseDuration(0), { ok: true, value: 0 });
    for (const bad of [5, '5', '5 s', '-1s', '5S', '1.5ms', '30d', '', '25d', null, true]) {
      assert.equal(parseDuration(bad).ok, false, String(bad));
    }
    assert.deepEqual(parseSize('16kb'), { ok: true, value: 16_384 });
    assert.deepEqual(parseSize('1MB'), { ok: true, value: 1_048_576 });
    assert.deepEqual(parseSize('1gb'), { ok: true, value: 1_073_741_824 });
    assert.deepEqual(parseSize(100), { ok: true, value: 100 });
    for (const bad of ['16 kib', '1.1kb', -1, 'lots']) assert.equal(parseSize(bad).ok, false, String(bad));
  });

  test('format', () => {
    assert.deepEqual([1_500, 90_000, 3_600_000, 250, 0].map(formatDuration), ['1.5s', '90s', '1h', '250ms', '0']);
    assert.deepEqual([16_384, 1_048_576, 1000].map(formatSize), ['16kb', '1mb', '1000']);
  });
});

describe('quickConfig', () => {
  test('one pool "default" and one route "/", with the same defaults as a file', () => {
    const quick = quickConfig({ listen: '127.0.0.1:9000', upstreams: ['http://127.0.0.1:3000', 'http://127.0.0.1:3001'] });
    const file = parseConfigText(
      'listen: 127.0.0.1:9000\nupstreams: { default: { endpoints: [http://127.0.0.1:3000, http://127.0.0.1:3001] } }\nroutes: [{ path: /, upstream: default }]\n',
      'g.yaml',
    ).config;
    assert.deepEqual(quick, file);
    assert.equal(quick.routes[0]!.pathPrefix, '/');
  });

  test('problems name the flag', () => {
    const [issue] = issuesOf(() => quickConfig({ listen: '127.0.0.1:9000', upstreams: ['127.0.0.1:3000'] }));
    assert.deepEqual([issue!.file, issue!.line, issue!.path], ['(command line)', 0, '--upstream']);
    assert.equal(issuesOf(() => quickConfig({ listen: '9000', upstreams: ['http://a'] }))[0]!.path, '--listen');
    assert.equal(issuesOf(() => quickConfig({ listen: '127.0.0.1:1', upstreams: [] }))[0]!.path, '--upstream');
  });

  test('defaultConfig builds a Config from an object', () => {
    const config = defaultConfig({ upstreams: { a: { endpoints: ['http://a'] } }, routes: [{ upstream: 'a' }] });
    assert.equal(config.upstreams['a']!.endpoints[0]!.port, 80);
  });
});

describe('gatewise check', () => {
  function run(argv: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    return checkCommand(argv, { out: (t) => out.push(t), err: (t) => err.push(t) }).then((code) => ({
      code,
      out: out.join('\n'),
      err: err.join('\n'),
    }));
  }

  test('a valid file: summary on stdout, exit 0', async () => {
    const r = await run(['--config', example]);
    assert.equal(r.code, 0);
    assert.equal(r.out, `${example}: configuration OK (2 routes, 2 upstreams, 3 endpoints)`);
    assert.equal(r.err, '');
  });

  test('warnings go to stderr and still exit 0', async () => {
    const r = await run(['-c', fixture('unused-upstream.yaml')]);
    assert.equal(r.code, 0);
    assert.match(r.err, /unused-upstream\.yaml:4:3: warning: upstreams\.old: /);
  });

  test('an invalid file: every issue on stderr, exit 1', async () => {
    const file = fixture('bad-duration.yaml');
    const r = await run([file]);
    assert.equal(r.code, 1);
    assert.equal(r.out, '');
    assert.match(r.err, /bad-duration\.yaml:2:12: timeouts\.connect: 5 has no unit \(hint: write 5s or 5ms\)/);
    assert.match(r.err, /bad-duration\.yaml:6:25: /);
    assert.match(r.err, /configuration check failed \(2 errors\)$/);
  });

  test('a missing file exits 1; a bad flag exits 2', async () => {
    assert.equal((await run(['-c', join(tmp, 'missing.yaml')])).code, 1);
    const r = await run(['--bogus']);
    assert.equal(r.code, 2);
    assert.match(r.err, /usage: gatewise check/);
  });
});
