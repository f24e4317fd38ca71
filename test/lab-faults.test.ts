// Each lab fault, seen from the client side over real loopback sockets: the raw TCP view
// (FIN or RST, which bytes, when) and what undici reports, since the gateway's error
// classifier is written from the latter.
import assert from 'node:assert/strict';
import { Resolver } from 'node:dns/promises';
import https from 'node:https';
import net from 'node:net';
import { Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { labOriginCommand } from '../src/cli/lab-origin.ts';
import { type DnsMode, startDnsServer } from '../src/lab/dns-server.ts';
import { type EchoBody, type FaultOptions, FAULT_KINDS, type RunningOrigin, startOrigin } from '../src/lab/origin.ts';
import { loadTlsFixture, TLS_CERT_PATH } from '../src/lab/tls-fixture.ts';
import { ephemeralLow, listenOnSparePort } from '../src/lab/faults/spare-port.ts';
import { httpRequest, rawExchange, splitHead, tryConnect } from './helpers/raw-http.ts';

const toClose: { close(): Promise<void> }[] = [];
after(async () => {
  await Promise.all(toClose.map((c) => c.close()));
});

async function origin(opts: FaultOptions): Promise<RunningOrigin> {
  const o = await startOrigin(opts);
  toClose.push(o);
  return o;
}

function agent(opts: Agent.Options = {}): Agent {
  const a = new Agent(opts);
  toClose.push(a);
  return a;
}

type Seen = { status?: number; body?: string; error?: { name: string; code?: string; message: string }; during?: 'headers' | 'body' };

/** One undici request; an error is reported with the stage it broke in. */
async function viaUndici(url: string, opts: { dispatcher?: Agent; path?: string } = {}): Promise<Seen> {
  let status: number | undefined;
  try {
    const res = await request(url + (opts.path ?? '/'), { dispatcher: opts.dispatcher ?? agent() });
    status = res.statusCode;
    return { status, body: await res.body.text() };
  } catch (e) {
    const err = e as Error & { code?: string };
    const error = { name: err.name, message: err.message, ...(err.code ? { code: err.code } : {}) };
    return status === undefined ? { error, during: 'headers' } : { status, error, during: 'body' };
  }
}

describe('healthy', () => {
  test('answers its fixed body over keep-alive, with the port that served it', async () => {
    const o = await origin({ fault: 'healthy', bodyBytes: 150 });
    const a = agent();
    for (let i = 0; i < 2; i++) {
      const res = await request(o.url, { dispatcher: a });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['x-lab-port'], String(o.port));
      assert.equal((await res.body.text()).length, 150);
      // undici frees the connection a tick after the body ends; without this pause it opens a second one.
      await sleep(5);
    }
    assert.equal(o.stats.requests, 2);
    assert.equal(o.stats.connections, 1, 'the second request reused the connection');
  });

  test('/echo reports the method, raw headers and a streamed body size', async () => {
    const o = await origin({ fault: 'healthy' });
    const size = 3 * 1024 * 1024 + 7;
    const body = Readable.from(
      (function* () {
        for (let left = size; left > 0; left -= 65536) yield Buffer.alloc(Math.min(65536, left), 1);
      })(),
    );
    const res = await request(`${o.url}/echo?q=1`, { method: 'PUT', body, headers: { 'X-Mixed-Case': 'a', 'content-length': String(size) }, dispatcher: agent() });
    const echo = (await res.body.json()) as EchoBody;
    assert.equal(echo.method, 'PUT');
    assert.equal(echo.url, '/echo?q=1');
    assert.equal(echo.bodyBytes, size);
    assert.deepEqual(echo.headers.find(([n]) => n === 'X-Mixed-Case'), ['X-Mixed-Case', 'a']);
    assert.equal(o.stats.bodyBytes, size);
  });

  test('/bytes/N streams N bytes; /status/N answers N; latency ranges apply', async () => {
    const o = await origin({ fault: 'healthy', latencyMs: [60, 80] });
    const a = agent();
    const t0 = performance.now();
    const big = await request(`${o.url}/bytes/5000001`, { dispatcher: a });
    let n = 0;
    for await (const chunk of big.body) n += (chunk as Buffer).length;
    assert.equal(n, 5_000_001);
    assert.ok(performance.now() - t0 >= 55, 'latency applied');
    const err = await request(`${o.url}/status/503`, { dispatcher: a });
    await err.body.dump();
    assert.equal(err.statusCode, 503);
  });

  test('accepts an Upgrade with the right Sec-WebSocket-Accept and echoes raw bytes', async () => {
    const o = await origin({ fault: 'healthy' });
    const socket = net.connect(o.port, '127.0.0.1');
    const got: Buffer[] = [];
    socket.on('data', (c: Buffer) => got.push(c));
    socket.write(httpRequest('/ws', { Upgrade: 'websocket', Connection: 'Upgrade', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' }));
    const text = () => Buffer.concat(got).toString();
    while (!text().includes('\r\n\r\n')) await sleep(5);
    socket.write('ping-1');
    while (!text().endsWith('ping-1')) await sleep(5);
    socket.destroy();
    assert.match(text(), /^HTTP\/1\.1 101 Switching Protocols\r\n/);
    // The RFC 6455 §1.3 example key and its accept value.
    assert.match(text(), /Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=\r\n/);
    assert.equal(o.stats.upgrades, 1);
  });

  test('stop() cuts open connections and refuses; start() listens on the same port', async () => {
    const o = await origin({ fault: 'healthy' });
    const open = rawExchange({ port: o.port, send: httpRequest(), timeoutMs: 2000 });
    while (o.stats.requests === 0) await sleep(5);
    await o.stop();
    const cut = await open;
    assert.ok(cut.ending === 'fin' || cut.ending === 'reset', `open keep-alive connection was cut (${cut.ending})`);
    assert.equal(o.up, false);
    assert.equal(await tryConnect(o.port, 300), 'refused');
    await o.start();
    assert.equal((await viaUndici(o.url)).status, 200);
  });
});

describe('connect failures', () => {
  test('offline refuses connections until started', async () => {
    const o = await origin({ fault: 'offline' });
    assert.equal(await tryConnect(o.port, 300), 'refused');
    assert.equal((await viaUndici(o.url)).error?.code, 'ECONNREFUSED');
    await o.start();
    assert.equal((await viaUndici(o.url)).status, 200);
  });

  test('blackhole: a connect neither completes nor fails; close() releases the port', async () => {
    const o = await startOrigin({ fault: 'blackhole' });
    try {
      assert.equal(await tryConnect(o.port, 300), 'hangs');
      const seen = await viaUndici(o.url, { dispatcher: agent({ connectTimeout: 200 }) });
      assert.equal(seen.error?.code, 'UND_ERR_CONNECT_TIMEOUT');
    } finally {
      await o.close();
    }
    assert.equal(await tryConnect(o.port, 300), 'refused', 'the listener is gone');
  });

  test('flap goes down and comes back on its schedule', async () => {
    const o = await origin({ fault: 'flap', upMs: 120, downMs: 120 });
    const seen = new Set<string>();
    const deadline = performance.now() + 700;
    while (performance.now() < deadline && seen.size < 3) {
      const outcome = await tryConnect(o.port, 200);
      if (outcome === 'refused') seen.add('down');
      if (outcome === 'connected') seen.add(seen.has('down') ? 'up again' : 'up');
      await sleep(15);
    }
    assert.deepEqual([...seen].sort(), ['down', 'up', 'up again']);
  });

  test('accept-close: FIN at once, nothing read, undici sees "other side closed"', async () => {
    const o = await origin({ fault: 'accept-close' });
    const raw = await rawExchange({ port: o.port, send: httpRequest() });
    assert.equal(raw.ending, 'fin');
    assert.equal(raw.data.length, 0);
    const seen = await viaUndici(o.url);
    assert.equal(seen.during, 'headers');
    assert.equal(seen.error?.code, 'UND_ERR_SOCKET');
    assert.match(seen.error?.message ?? '', /other side closed/);
    assert.equal(o.stats.requests, 0);
    assert.equal(o.stats.connections, 2);
  });
});

describe('resets and cuts', () => {
  test('reset-headers: reads the request, then RST before any byte', async () => {
    const o = await origin({ fault: 'reset-headers' });
    const raw = await rawExchange({ port: o.port, send: httpRequest('/', {}, 'hello') });
    assert.equal(raw.ending, 'reset');
    assert.equal(raw.data.length, 0);
    assert.equal(o.stats.requests, 1);
    assert.equal(o.stats.bodyBytes, 5, 'the request was read before the reset');
    assert.equal((await viaUndici(o.url)).error?.code, 'ECONNRESET');
  });

  test('reset-body: headers and part of the body, then RST', async () => {
    const o = await origin({ fault: 'reset-body', bodyBytes: 100, afterMs: 30 });
    const raw = await rawExchange({ port: o.port, send: httpRequest() });
    assert.equal(raw.ending, 'reset');
    const { head, body } = splitHead(raw.text);
    assert.match(head, /^HTTP\/1\.1 200 OK/);
    assert.match(head, /content-length: 400/i);
    assert.equal(body.length, 100);
    const seen = await viaUndici(o.url);
    assert.equal(seen.during, 'body');
    assert.equal(seen.error?.code, 'ECONNRESET');
  });

  test('terminate: a too-long Content-Length cut by a FIN after afterMs', async () => {
    const o = await origin({ fault: 'terminate', bodyBytes: 100, afterMs: 80 });
    const raw = await rawExchange({ port: o.port, send: httpRequest() });
    assert.equal(raw.ending, 'fin');
    assert.ok(raw.endMs >= 75, `cut after ${raw.endMs} ms`);
    const { head, body } = splitHead(raw.text);
    assert.match(head, /content-length: 400/i);
    assert.equal(body.length, 100);
    const seen = await viaUndici(o.url);
    assert.equal(seen.during, 'body');
    assert.equal(seen.error?.code, 'UND_ERR_SOCKET');
  });

  test('terminate chunked: no last chunk before the FIN', async () => {
    const o = await origin({ fault: 'terminate', chunked: true, afterMs: 30 });
    const raw = await rawExchange({ port: o.port, send: httpRequest() });
    assert.equal(raw.ending, 'fin');
    assert.match(raw.text, /transfer-encoding: chunked/i);
    assert.doesNotMatch(raw.text, /\r\n0\r\n\r\n$/);
    const seen = await viaUndici(o.url);
    assert.equal(seen.during, 'body');
    assert.equal(seen.error?.code, 'UND_ERR_SOCKET');
  });

  test('close-idle: a FIN when idleMs of idleness runs out, unannounced', async () => {
    const o = await origin({ fault: 'close-idle', idleMs: 200 });
    const raw = await rawExchange({ port: o.port, send: httpRequest() });
    assert.equal(raw.ending, 'fin');
    assert.match(raw.text, /^HTTP\/1\.1 200 OK/);
    assert.doesNotMatch(raw.text, /keep-alive: timeout/i);
    const idle = raw.endMs - (raw.firstByteMs ?? 0);
    assert.ok(idle >= 180 && idle < 600, `closed after ${idle} ms idle`);
  });

  test('close-idle: a connection kept alive for many requests leaves no listener behind per request', async () => {
    const o = await origin({ fault: 'close-idle', idleMs: 1000 });
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const a = agent({ connections: 1 });
      for (let i = 0; i < 30; i++) {
        const seen = await viaUndici(o.url, { dispatcher: a });
        assert.equal(seen.status, 200);
      }
      assert.equal(o.stats.connections, 1, 'all 30 on one connection');
      // Warnings are emitted on the next tick.
      await sleep(10);
    } finally {
      process.off('warning', onWarning);
    }
    assert.deepEqual(warnings.filter((w) => w === 'MaxListenersExceededWarning'), []);
  });

  test('close-idle announce: Keep-Alive: timeout=N in seconds, rounded up', async () => {
    const o = await origin({ fault: 'close-idle', idleMs: 200, announce: true });
    const raw = await rawExchange({ port: o.port, send: httpRequest() });
    assert.equal(raw.ending, 'fin');
    assert.match(raw.text, /keep-alive: timeout=1\r\n/i);
  });
});

describe('malformed answers', () => {
  test('garbage: an invalid status line', async () => {
    const o = await origin({ fault: 'garbage' });
    const raw = await rawExchange({ port: o.port, send: httpRequest() });
    assert.match(raw.text, /^HTTP\/1\.1 abc\r\n/);
    const seen = await viaUndici(o.url);
    assert.equal(seen.error?.name, 'HTTPParserError');
    // undici 7 leaves HTTPParserError#code undefined: the reason is only in the message.
    assert.match(seen.error?.message ?? '', /\(Invalid status code\)/);
  });

  test('garbage binary: a TLS alert where HTTP was expected', async () => {
    const o = await origin({ fault: 'garbage', junk: 'binary' });
    const raw = await rawExchange({ port: o.port, send: httpRequest() });
    assert.equal(raw.data[0], 0x15);
    const seen = await viaUndici(o.url);
    assert.equal(seen.error?.name, 'HTTPParserError');
    assert.match(seen.error?.message ?? '', /Expected HTTP\//);
  });

  test('huge-headers: a header section larger than headerBytes', async () => {
    const o = await origin({ fault: 'huge-headers' });
    const raw = await rawExchange({ port: o.port, send: httpRequest() });
    assert.ok(splitHead(raw.text).head.length > 65_536);
    assert.equal((await viaUndici(o.url)).error?.code, 'UND_ERR_HEADERS_OVERFLOW');
  });

  test('bad-chunking: an invalid chunk-size line after valid headers', async () => {
    const o = await origin({ fault: 'bad-chunking' });
    const seen = await viaUndici(o.url);
    assert.equal(seen.status, 200);
    assert.equal(seen.during, 'body');
    assert.equal(seen.error?.name, 'HTTPParserError');
    assert.match(seen.error?.message ?? '', /Invalid character in chunk size/);
  });

  test('tls-bad-cert: rejected by a verifying client, accepted with the fixture as CA', async () => {
    const o = await origin({ fault: 'tls-bad-cert' });
    assert.match(o.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.equal((await viaUndici(o.url)).error?.code, 'DEPTH_ZERO_SELF_SIGNED_CERT');
    const trusting = agent({ connect: { ca: loadTlsFixture().cert } });
    assert.equal((await viaUndici(o.url, { dispatcher: trusting })).status, 200);
    const code = await new Promise<string>((resolve) => {
      https.get(o.url, { agent: false }, () => resolve('accepted')).on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? ''));
    });
    assert.equal(code, 'DEPTH_ZERO_SELF_SIGNED_CERT');
    assert.match(TLS_CERT_PATH, /test\/fixtures\/tls\/localhost-cert\.pem$/);
  });
});

describe('too slow', () => {
  test('slow: answers only after delayMs, and close() frees a waiting request', async () => {
    const o = await startOrigin({ fault: 'slow', delayMs: 300 });
    const raw = await rawExchange({ port: o.port, send: httpRequest(), until: (d) => d.includes('\r\n\r\n') });
    assert.ok((raw.firstByteMs ?? 0) >= 290, `answered after ${raw.firstByteMs} ms`);
    const pending = rawExchange({ port: o.port, send: httpRequest() });
    while (o.stats.requests < 2) await sleep(5);
    await o.close();
    const cut = await pending;
    assert.notEqual(cut.ending, 'timeout');
    assert.equal(cut.data.length, 0);
  });

  test('drip: headers at once, then one body byte per intervalMs', async () => {
    const o = await origin({ fault: 'drip', intervalMs: 40, bodyBytes: 5 });
    const raw = await rawExchange({ port: o.port, send: httpRequest(), until: (d) => splitHead(d.toString()).body.length === 5 });
    assert.equal(raw.ending, 'until');
    assert.ok((raw.firstByteMs ?? 999) < 35, `headers after ${raw.firstByteMs} ms`);
    assert.ok(raw.endMs >= 190, `body took ${raw.endMs} ms`);
    assert.ok(raw.chunkMs.length >= 5, 'bytes arrived separately');
  });

  test('overload: latency climbs as the queue fills, then requests are reset', async () => {
    const o = await origin({ fault: 'overload', workers: 2, serviceMs: 100, queue: 2 });
    const a = agent({ connections: 10 });
    const results = await Promise.all(
      Array.from({ length: 6 }, async () => {
        const t0 = performance.now();
        const seen = await viaUndici(o.url, { dispatcher: a });
        return { ...seen, ms: performance.now() - t0 };
      }),
    );
    const ok = results.filter((r) => r.status === 200).map((r) => r.ms);
    const reset = results.filter((r) => r.error?.code === 'ECONNRESET');
    assert.equal(ok.length, 4);
    assert.equal(reset.length, 2);
    assert.ok(Math.min(...ok) < 180 && Math.max(...ok) >= 190, `latencies ${ok.map(Math.round)}`);
    assert.equal(o.stats.rejected, 2);
    assert.equal(o.stats.peakQueue, 2);
  });
});

describe('lab DNS server', () => {
  const resolver = (address: string) => {
    const r = new Resolver({ timeout: 100, tries: 1 });
    r.setServers([address]);
    return r;
  };
  const codeOf = (p: Promise<unknown>) => p.then(() => 'answered', (e: NodeJS.ErrnoException) => e.code);

  test('answers A and AAAA from its records, NODATA and NXDOMAIN otherwise', async () => {
    const dns = await startDnsServer({ records: { 'app.test': ['127.0.0.1', '::1'], 'v4.test': ['10.0.0.1'] } });
    toClose.push(dns);
    const r = resolver(dns.address);
    assert.deepEqual(await r.resolve4('APP.test'), ['127.0.0.1']);
    assert.deepEqual(await r.resolve6('app.test'), ['::1']);
    assert.equal(await codeOf(r.resolve6('v4.test')), 'ENODATA');
    assert.equal(await codeOf(r.resolve4('unknown.test')), 'ENOTFOUND');
    dns.setRecords('v4.test', ['10.0.0.2']);
    assert.deepEqual(await r.resolve4('v4.test'), ['10.0.0.2']);
    assert.equal(dns.queries, 5);
  });

  test('each failure mode gives the resolver error the classifier expects', async () => {
    const dns = await startDnsServer({ records: { 'app.test': ['127.0.0.1'] } });
    toClose.push(dns);
    const r = resolver(dns.address);
    const expected: [DnsMode, string][] = [
      ['nxdomain', 'ENOTFOUND'],
      ['servfail', 'ESERVFAIL'],
      ['refused', 'EREFUSED'],
      ['timeout', 'ETIMEOUT'],
    ];
    for (const [mode, code] of expected) {
      dns.setMode(mode);
      assert.equal(await codeOf(r.resolve4('app.test')), code, mode);
    }
  });

  test('a schedule changes the mode while running', async () => {
    const dns = await startDnsServer({ records: { 'app.test': ['127.0.0.1'] }, schedule: [{ atMs: 100, mode: 'servfail' }] });
    toClose.push(dns);
    const r = resolver(dns.address);
    assert.equal(await codeOf(r.resolve4('app.test')), 'answered');
    await sleep(130);
    assert.equal(await codeOf(r.resolve4('app.test')), 'ESERVFAIL');
  });
});

describe('gatewise lab CLI', () => {
  test('lab origin runs until stopped and prints where it listens', async () => {
    const lines: string[] = [];
    const stop = new AbortController();
    const done = labOriginCommand(['origin', '--fault', 'slow', '--delay-ms', '300'], { signal: stop.signal, out: (l) => lines.push(l) });
    while (lines.length === 0) await sleep(5);
    const m = /^lab origin "slow" listening on (http:\/\/127\.0\.0\.1:(\d+)) \(answers after 300 ms\)$/.exec(lines[0] ?? '');
    assert.ok(m, lines[0]);
    assert.equal(await tryConnect(Number(m[2]), 300), 'connected');
    stop.abort();
    assert.equal(await done, 0);
  });

  test('--help lists every fault; a bad fault is a usage error', async () => {
    const out: string[] = [];
    assert.equal(await labOriginCommand(['--help'], { out: (l) => out.push(l) }), 0);
    for (const k of FAULT_KINDS) assert.match(out.join('\n'), new RegExp(`^  ${k} `, 'm'));
    const err: string[] = [];
    assert.equal(await labOriginCommand(['--fault', 'nope'], { err: (l) => err.push(l) }), 2);
    assert.match(err.join('\n'), /unknown fault "nope"/);
  });

  test('lab dns serves the records given on the command line', async () => {
    const lines: string[] = [];
    const stop = new AbortController();
    const done = labOriginCommand(['dns', '--record', 'app.test=127.0.0.2,::1'], { signal: stop.signal, out: (l) => lines.push(l) });
    while (lines.length === 0) await sleep(5);
    const address = /listening on (\S+)/.exec(lines[0] ?? '')?.[1] ?? '';
    assert.deepEqual(await resolverFor(address).resolve4('app.test'), ['127.0.0.2']);
    stop.abort();
    assert.equal(await done, 0);
  });
});

function resolverFor(address: string): Resolver {
  const r = new Resolver({ timeout: 200, tries: 1 });
  r.setServers([address]);
  return r;
}

describe('ports of origins that go down and come back', () => {
  test('an offline origin listens below the ephemeral range, so nothing else is handed its port while it is down', async () => {
    const low = ephemeralLow();
    const o = await origin({ fault: 'offline' });
    assert.ok(o.port < low, `port ${o.port} should be below the ephemeral range (${low})`);
    assert.ok(o.port >= 10_000, `port ${o.port} should be clear of well-known ports`);
    // Ports asked of the kernel (as every other program's listeners get them) never fall there.
    const others = await Promise.all(Array.from({ length: 20 }, () => listenAny()));
    try {
      for (const p of others) assert.ok(p >= low, `the kernel handed out ${p}, inside its range`);
    } finally {
      await Promise.all(others.map((p) => closeAny(p)));
    }
    await o.start();
    assert.equal((await viaUndici(o.url)).status, 200);
  });

  test('a port taken by someone else is skipped', async () => {
    const tried: number[] = [];
    const port = await listenOnSparePort(async (p) => {
      tried.push(p);
      if (tried.length < 3) throw Object.assign(new Error('taken'), { code: 'EADDRINUSE' });
      return p;
    });
    assert.equal(tried.length, 3);
    assert.equal(port, tried[2]);
    assert.ok(new Set(tried).size >= 2, 'another port is tried after a taken one');
  });

  test('an asked-for port is used as it is', async () => {
    const free = await listenAny();
    await closeAny(free);
    const o = await origin({ fault: 'healthy', port: free });
    assert.equal(o.port, free);
  });
});

const anyServers = new Map<number, net.Server>();

/** A listener on a port of the kernel's choosing, as any other program gets one. */
function listenAny(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const port = (server.address() as net.AddressInfo).port;
      anyServers.set(port, server);
      resolve(port);
    });
  });
}

function closeAny(port: number): Promise<void> {
  const server = anyServers.get(port);
  anyServers.delete(port);
  return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
}
