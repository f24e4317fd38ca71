// Many mostly idle keep-alive connections: N sockets, each sending one GET a second (each at
// its own phase within the second) for D seconds, as N slow clients would. Raw sockets, so
// that every client really keeps its own connection. Prints one JSON object.
//   node bench/idle-conns.ts --url http://127.0.0.1:8080/ --connections 1000 --duration 10
import net from 'node:net';
import { createHistogram } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { url: { type: 'string' }, connections: { type: 'string', default: '1000' }, duration: { type: 'string', default: '10' } },
});
if (!values.url) {
  process.stderr.write('usage: idle-conns.ts --url URL [--connections N] [--duration S]\n');
  process.exit(2);
}
const url = new URL(values.url);
const n = Number(values.connections);
const durationMs = Number(values.duration) * 1000;
if (!(n >= 1 && n <= 5000 && durationMs > 0 && durationMs <= 60_000)) {
  process.stderr.write('idle-conns: connections 1..5000, duration 1..60 s\n');
  process.exit(2);
}
const request = Buffer.from(`GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nUser-Agent: gatewise-bench-idle\r\n\r\n`);
const latency = createHistogram({ lowest: 1, highest: 60e9, figures: 3 });
const stats = { connected: 0, sent: 0, ok: 0, non2xx: 0, errors: 0, closed: 0 };

/** The end of one response in `buf`, or -1: Content-Length or chunked bodies only. */
function responseEnd(buf: Buffer): { end: number; status: number } | null {
  const head = buf.indexOf('\r\n\r\n');
  if (head < 0) return null;
  const text = buf.subarray(0, head).toString('latin1');
  const status = Number(text.slice(9, 12));
  const cl = /\r\ncontent-length:\s*(\d+)/i.exec(text);
  if (cl) {
    const end = head + 4 + Number(cl[1]);
    return buf.length >= end ? { end, status } : null;
  }
  if (/\r\ntransfer-encoding:\s*chunked/i.test(text)) {
    const last = buf.indexOf('\r\n0\r\n\r\n', head);
    return last >= 0 ? { end: last + 7, status } : null;
  }
  return { end: head + 4, status };
}

function client(phaseMs: number, until: number): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect({ host: url.hostname, port: Number(url.port) });
    let buf: Buffer = Buffer.alloc(0);
    let sentAt = 0;
    let timer: NodeJS.Timeout | undefined;
    let waiting = false;
    const done = () => {
      clearTimeout(timer);
      s.destroy();
      resolve();
    };
    const send = () => {
      if (performance.now() >= until) return done();
      if (waiting) {
        // The previous answer is more than a second late: count it and go on.
        stats.errors++;
        return done();
      }
      waiting = true;
      sentAt = performance.now();
      stats.sent++;
      s.write(request);
      timer = setTimeout(send, 1000);
    };
    s.once('connect', () => {
      stats.connected++;
      timer = setTimeout(send, phaseMs);
    });
    s.on('data', (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      const r = responseEnd(buf);
      if (!r) return;
      buf = buf.subarray(r.end);
      waiting = false;
      latency.record(Math.max(1, Math.round((performance.now() - sentAt) * 1e6)));
      if (r.status >= 200 && r.status < 300) stats.ok++;
      else stats.non2xx++;
    });
    s.on('error', () => {
      stats.errors++;
      done();
    });
    s.on('close', () => {
      if (performance.now() < until) stats.closed++;
      done();
    });
  });
}

// Connect in batches of 100 every 20 ms, so no listen backlog overflows.
const t0 = performance.now();
const until = t0 + durationMs + 1000;
const clients: Promise<void>[] = [];
for (let i = 0; i < n; i++) {
  clients.push(client((i * 1000) / n, until));
  if (i % 100 === 99) await sleep(20);
}
// Report connected sockets once all should be up, for the parent's memory reading.
await sleep(1500);
process.stderr.write(`connected ${stats.connected}\n`);
await Promise.all(clients);
const pct = (p: number) => (latency.count > 0 ? latency.percentile(p) / 1e6 : null);
process.stdout.write(`${JSON.stringify({ connections: n, durationS: durationMs / 1000, ...stats, p50Ms: pct(50), p99Ms: pct(99), maxMs: latency.count > 0 ? latency.max / 1e6 : null })}\n`);
