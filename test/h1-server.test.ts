// The gateway's own HTTP/1.1 server (src/server/h1/), seen from raw sockets: what node:http
// did for the gateway before, it must still do — answer pipelined requests in order, frame
// bodies for each kind of client, answer Expect: 100-continue, refuse what it cannot parse
// with an explained 4xx, apply backpressure to uploads, and keep its connection limits.

import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { rawExchange, splitHead } from './helpers/raw-http.ts';
import { startTestGateway, type TestGateway } from './helpers/start-gateway.ts';

let origin: Server;
let gw: TestGateway;
let port: number;
/** Requests the origin received, by path. */
const reached: string[] = [];

before(async () => {
  // /slow answers after 150 ms; /stream without Content-Length (chunked); POST echoes the
  // body's length, reading it slowly when asked (?slow), so the client's upload backs up.
  origin = createServer((req, res) => {
    reached.push(req.url ?? '');
    let n = 0;
    const answer = (): void => {
      if (req.url === '/stream') {
        res.write('part one, ');
        setTimeout(() => res.end('part two'), 20);
        return;
      }
      const body = req.method === 'POST' ? `got=${n}` : `path=${req.url}`;
      const send = (): void => {
        res.writeHead(200, { 'content-length': Buffer.byteLength(body), 'content-type': 'text/plain' });
        res.end(body);
      };
      if (req.url === '/slow') setTimeout(send, 150);
      else send();
    };
    if (req.url?.includes('slow')) req.pause();
    req.on('data', (c: Buffer) => {
      n += c.length;
    });
    req.on('end', answer);
    if (req.url?.includes('slow')) setTimeout(() => req.resume(), 300);
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  gw = await startTestGateway(`
client: { keep_alive_timeout: 1s, max_header_bytes: 2kb }
upstreams: { app: { endpoints: ["http://127.0.0.1:${(origin.address() as AddressInfo).port}"] } }
routes: [{ path: /, upstream: app }]
`);
  port = Number(new URL(gw.url).port);
});

after(async () => {
  await gw.stop();
  origin.close();
});

/** Every response in `text`, in order: status, head, and the body its framing says. */
function responses(text: string): { status: number; head: string; body: string }[] {
  const out: { status: number; head: string; body: string }[] = [];
  let rest = text;
  while (rest.startsWith('HTTP/1.1 ')) {
    const { head, body } = splitHead(rest);
    const status = Number(head.slice(9, 12));
    const length = /^content-length: (\d+)$/im.exec(head);
    if (length) {
      out.push({ status, head, body: body.slice(0, Number(length[1])) });
      rest = body.slice(Number(length[1]));
    } else if (/^transfer-encoding: chunked$/im.test(head)) {
      let decoded = '';
      let at = body;
      for (;;) {
        const nl = at.indexOf('\r\n');
        const size = Number.parseInt(at.slice(0, nl), 16);
        at = at.slice(nl + 2);
        if (size === 0) {
          at = at.slice(2);
          break;
        }
        decoded += at.slice(0, size);
        at = at.slice(size + 2);
      }
      out.push({ status, head, body: decoded });
      rest = at;
    } else {
      out.push({ status, head, body });
      rest = '';
    }
  }
  return out;
}

const req = (path: string, extra = ''): string => `GET ${path} HTTP/1.1\r\nHost: lab.test\r\n${extra}\r\n`;

describe('the gateway’s HTTP/1.1 server', () => {
  test('pipelined requests are answered in the order they came, a slow first one holding the others back', async () => {
    const r = await rawExchange({
      port,
      send: req('/slow') + req('/b') + req('/c'),
      until: (d) => (d.toString().match(/HTTP\/1\.1 /g) ?? []).length === 3 && d.toString().endsWith('path=/c'),
    });
    assert.equal(r.ending, 'until', r.text);
    assert.deepEqual(
      responses(r.text).map((x) => [x.status, x.body]),
      [
        [200, 'path=/slow'],
        [200, 'path=/b'],
        [200, 'path=/c'],
      ],
    );
  });

  test('a body of unknown length goes chunked to an HTTP/1.1 client, and close-delimited to an HTTP/1.0 one', async () => {
    const eleven = await rawExchange({ port, send: req('/stream'), until: (d) => d.toString().endsWith('0\r\n\r\n') });
    const [one] = responses(eleven.text);
    assert.match(one!.head, /^transfer-encoding: chunked$/im);
    assert.equal(one!.body, 'part one, part two');
    assert.match(one!.head, /^keep-alive: timeout=1$/im);

    const ten = await rawExchange({ port, send: 'GET /stream HTTP/1.0\r\nHost: lab.test\r\n\r\n', timeoutMs: 3000 });
    assert.equal(ten.ending, 'fin', 'the end of the body is the end of the connection');
    const { head, body } = splitHead(ten.text);
    assert.doesNotMatch(head, /transfer-encoding/i);
    assert.match(head, /^connection: close$/im);
    assert.equal(body, 'part one, part two');
  });

  test('a HEAD answer has the length of the body it does not carry, and the connection goes on', async () => {
    const r = await rawExchange({
      port,
      send: `HEAD /h HTTP/1.1\r\nHost: lab.test\r\n\r\n${req('/after')}`,
      until: (d) => d.toString().endsWith('path=/after'),
    });
    assert.equal(r.ending, 'until', r.text);
    const [head, next] = r.text.split(/(?=HTTP\/1\.1 )/);
    assert.match(head!, /^content-length: 7\r\n/im);
    assert.ok(head!.endsWith('\r\n\r\n'), 'no body after the HEAD answer');
    assert.match(next!, /path=\/after$/);
  });

  test('Expect: 100-continue gets its 100 before the body is sent', async () => {
    const got = await new Promise<string>((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => s.write('POST /up HTTP/1.1\r\nHost: lab.test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n'));
      let text = '';
      s.on('data', (d: Buffer) => {
        text += d.toString();
        if (text === 'HTTP/1.1 100 Continue\r\n\r\n') s.write('hello');
        if (text.endsWith('got=5')) {
          s.destroy();
          resolve(text);
        }
      });
      s.on('error', reject);
      setTimeout(() => reject(new Error(`no answer: ${JSON.stringify(text)}`)), 3000).unref();
    });
    assert.match(got, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
  });

  test('an upload larger than the socket buffers streams through whole while the origin reads slowly, and the connection goes on', async () => {
    const size = 6 * 1024 * 1024;
    const r = await rawExchange({
      port,
      send: Buffer.concat([
        Buffer.from(`POST /up?slow HTTP/1.1\r\nHost: lab.test\r\nContent-Length: ${size}\r\n\r\n`),
        Buffer.alloc(size, 97),
        Buffer.from(req('/next1') + req('/next2')),
      ]),
      timeoutMs: 10_000,
      until: (d) => d.toString().endsWith('path=/next2'),
    });
    assert.equal(r.ending, 'until', r.text.slice(0, 300));
    assert.deepEqual(
      responses(r.text).map((x) => x.body),
      [`got=${size}`, 'path=/next1', 'path=/next2'],
    );
  });

  test('a client that sends its request and shuts its side still gets the whole answer', async () => {
    const text = await new Promise<string>((resolve) => {
      const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => s.end(req('/halfclosed')));
      let t = '';
      s.on('data', (d: Buffer) => {
        t += d.toString();
      });
      s.on('end', () => resolve(t));
    });
    assert.match(text, /^HTTP\/1\.1 200 OK/);
    assert.match(text, /path=\/halfclosed$/);
  });

  test('an idle connection is closed after keep_alive_timeout, not before', async () => {
    const r = await rawExchange({ port, send: req('/idle'), timeoutMs: 5000 });
    assert.equal(r.ending, 'fin');
    assert.match(r.text, /path=\/idle$/);
    const idleMs = r.endMs - r.firstByteMs!;
    assert.ok(idleMs >= 950 && idleMs < 2500, `closed ${idleMs} ms after the answer, for a 1 s keep_alive_timeout`);
  });

  test('a request pipelined behind a refused one is not served: nothing reaches the origin, the refusal is the only answer', async () => {
    const before = reached.length;
    const r = await rawExchange({ port, send: `GET /nohost HTTP/1.1\r\n\r\n${req('/behind')}`, timeoutMs: 3000 });
    assert.equal(r.ending, 'fin');
    assert.deepEqual(
      responses(r.text).map((x) => x.status),
      [400],
    );
    assert.deepEqual(reached.slice(before), [], 'the origin saw neither');
  });

  test('a chunked upload that breaks mid-way gets a prompt 400, not a wait for a timeout', async () => {
    const r = await rawExchange({
      port,
      send: 'POST /up HTTP/1.1\r\nHost: lab.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n',
      timeoutMs: 5000,
    });
    assert.equal(r.ending, 'fin', r.text);
    assert.ok(r.endMs < 2000, `answered after ${r.endMs} ms`);
    assert.match(r.text, /^HTTP\/1\.1 400 /);
    assert.match(r.text, /details="malformed_request"/);
  });

  test('what cannot be parsed gets an explained 4xx, and never reaches the origin', async () => {
    const before = reached.length;
    const cases: [string, number, RegExp][] = [
      ['GET /nohost HTTP/1.1\r\n\r\n', 400, /details="malformed_request"/],
      ['G@T / HTTP/1.1\r\nHost: lab.test\r\n\r\n', 400, /details="malformed_request"/],
      [`GET / HTTP/1.1\r\nHost: lab.test\r\nX-Big: ${'a'.repeat(4096)}\r\n\r\n`, 431, /details="request_headers_too_large"/],
      ['GET / HTTP/1.1\r\nHost: lab.test\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400, /details="malformed_request"/],
    ];
    for (const [send, status, detail] of cases) {
      const r = await rawExchange({ port, send, timeoutMs: 3000 });
      const { head, body } = splitHead(r.text);
      assert.equal(Number(head.slice(9, 12)), status, `${JSON.stringify(send.slice(0, 40))}: ${head}`);
      assert.match(head, detail);
      assert.match(head, /^connection: close$/im);
      assert.ok(body.length > 0, 'a page that says why');
      assert.equal(r.ending, 'fin');
      // Each refusal has its access-log line, found by the id the client was given.
      const id = /^x-request-id: (\S+)$/im.exec(head)?.[1];
      assert.ok(id, head);
      const line = await gw.logFor(id);
      assert.equal(line.status, status);
    }
    assert.equal(reached.length, before, 'the origin saw none of them');
  });
});
