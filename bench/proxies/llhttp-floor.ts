// The floor of gatewise's own stack: net sockets and llhttp (through the binding gatewise's
// HTTP/1.1 server and pool use, src/http1/llhttp.ts) both ways, one keep-alive pool, and
// nothing else: no log, metrics, forwarding headers, timeouts, retries or error pages, no
// pipelining. What parsing, the loopback and two sockets per request cost in Node; no proxy
// built on them goes below. Not a usable proxy.
//   node bench/proxies/llhttp-floor.ts --listen 127.0.0.1:PORT --upstream http://127.0.0.1:PORT
import net, { type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import {
  HTTPParser,
  METHODS,
  attachParser,
  kOnBody,
  kOnExecute,
  kOnHeaders,
  kOnHeadersComplete,
  kOnMessageComplete,
} from '../../src/http1/llhttp.ts';
import { LAST_CHUNK, writeChunk } from '../../src/http1/chunked.ts';

const { values } = parseArgs({ options: { listen: { type: 'string' }, upstream: { type: 'string' } } });
if (!values.listen || !values.upstream) {
  process.stderr.write('usage: llhttp-floor.ts --listen HOST:PORT --upstream URL\n');
  process.exit(2);
}
const origin = new URL(values.upstream);
const idle: Upstream[] = [];

/** One client connection; `upstream` carries its current request. */
type Client = { socket: Socket; upstream: Upstream | null; busy: boolean; queue: Buffer[] };

class Upstream {
  readonly socket: Socket;
  client: Client | null = null;
  private chunked = false;
  private keepAlive = true;
  constructor() {
    this.socket = net.connect(Number(origin.port), origin.hostname);
    this.socket.setNoDelay(true);
    const p = new HTTPParser();
    p.initialize(HTTPParser.RESPONSE, {}, 0, 0);
    p[kOnHeaders] = () => {};
    p[kOnHeadersComplete] = (_M: number, _m: number, raw: string[], _x: number, _u: string, status: number, message: string, _up: boolean, ka: boolean) => {
      this.keepAlive = ka;
      let head = `HTTP/1.1 ${status} ${message}\r\n`;
      let length = false;
      for (let i = 0; i < raw.length; i += 2) {
        const k = raw[i]!.toLowerCase();
        if (k === 'connection' || k === 'keep-alive' || k === 'transfer-encoding') continue;
        if (k === 'content-length') length = true;
        head += `${raw[i]}: ${raw[i + 1]}\r\n`;
      }
      this.chunked = !length;
      const s = this.client!.socket;
      s.cork();
      s.write(`${head}${length ? '' : 'transfer-encoding: chunked\r\n'}\r\n`, 'latin1');
      return 0;
    };
    p[kOnBody] = (b: Buffer) => {
      const s = this.client!.socket;
      const ok = this.chunked ? writeChunk(s, b, b.length) : s.write(b);
      if (!ok) {
        this.socket.pause();
        s.once('drain', () => this.socket.resume());
      }
    };
    p[kOnMessageComplete] = () => {
      const c = this.client!;
      if (this.chunked) c.socket.write(LAST_CHUNK, 'latin1');
      c.socket.uncork();
      this.client = null;
      c.upstream = null;
      c.busy = false;
      if (this.keepAlive) idle.push(this);
      else this.socket.destroy();
      next(c);
    };
    p[kOnExecute] = () => {};
    this.socket.once('connect', () => attachParser(p, this.socket, (d) => p.execute(d)));
    this.socket.on('error', () => this.client?.socket.destroy());
    this.socket.on('close', () => {
      const i = idle.indexOf(this);
      if (i >= 0) idle.splice(i, 1);
    });
  }
}

/** Sends the client's next request head (and any body bytes that came with it) upstream. */
function next(c: Client): void {
  const head = c.queue.shift();
  if (head === undefined) return;
  c.busy = true;
  const u = idle.pop() ?? new Upstream();
  u.client = c;
  c.upstream = u;
  u.socket.write(head);
}

const server = net.createServer({ noDelay: true }, (socket) => {
  const c: Client = { socket, upstream: null, busy: false, queue: [] };
  const p = new HTTPParser();
  p.initialize(HTTPParser.REQUEST, {}, 0, 0);
  p[kOnHeaders] = () => {};
  p[kOnHeadersComplete] = (_M: number, _m: number, raw: string[], method: number, url: string) => {
    let head = `${METHODS[method]} ${url} HTTP/1.1\r\n`;
    for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() !== 'connection') head += `${raw[i]}: ${raw[i + 1]}\r\n`;
    c.queue.push(Buffer.from(`${head}connection: keep-alive\r\n\r\n`, 'latin1'));
    if (!c.busy) next(c);
    return 0;
  };
  // Bodies with a Content-Length pass as they are, to the upstream of the request they belong to.
  p[kOnBody] = (b: Buffer) => {
    if (c.upstream && !c.upstream.socket.write(b)) {
      socket.pause();
      c.upstream.socket.once('drain', () => socket.resume());
    }
  };
  p[kOnMessageComplete] = () => {};
  p[kOnExecute] = (r: unknown) => {
    if (r instanceof Error) socket.destroy();
  };
  attachParser(p, socket, (d) => p.execute(d));
  socket.on('error', () => {});
});
server.listen(Number(values.listen.slice(values.listen.lastIndexOf(':') + 1)), values.listen.slice(0, values.listen.lastIndexOf(':')));

const clients = new Set<Socket>();
server.on('connection', (s: Socket) => {
  clients.add(s);
  s.once('close', () => clients.delete(s));
});
const stop = (): void => {
  server.close(() => process.exit(0));
  for (const s of clients) s.destroy();
  for (const u of idle) u.socket.destroy();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
