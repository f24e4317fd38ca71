// The floor of gatewise's own stack: a node:http server handing every request to an undici
// Pool through dispatch(), with nothing else (no logging, metrics, forwarding headers,
// retries, health, timeouts, error pages). What it costs per request is what Node's HTTP
// server, undici and the kernel's loopback cost together; no proxy built on them goes below.
//   node bench/proxies/undici-floor.ts --listen 127.0.0.1:PORT --upstream http://127.0.0.1:PORT
import http from 'node:http';
import { parseArgs } from 'node:util';
import { type Dispatcher, Pool } from 'undici';
import { stopOnSignal } from '../lib/stop-on-signal.ts';

const { values } = parseArgs({ options: { listen: { type: 'string' }, upstream: { type: 'string' } } });
if (!values.listen || !values.upstream) {
  process.stderr.write('usage: undici-floor.ts --listen HOST:PORT --upstream URL\n');
  process.exit(2);
}
const host = values.listen.slice(0, values.listen.lastIndexOf(':'));
const port = Number(values.listen.slice(values.listen.lastIndexOf(':') + 1));
const pool = new Pool(values.upstream);

const server = http.createServer((req, res) => {
  const raw = req.rawHeaders;
  const headers: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i]!;
    // Connection is hop-by-hop, and undici refuses to be handed one.
    if (k.length === 10 && k.toLowerCase() === 'connection') continue;
    headers.push(k, raw[i + 1]!);
  }
  const body = req.headers['content-length'] || req.headers['transfer-encoding'] ? req : null;
  pool.dispatch(
    { method: req.method as Dispatcher.HttpMethod, path: req.url ?? '/', headers, body },
    {
      onRequestStart() {},
      onResponseStart(_c, status, h) {
        const out: Record<string, string | string[]> = {};
        for (const k in h) if (k !== 'connection' && k !== 'keep-alive' && k !== 'transfer-encoding') out[k] = h[k] as string | string[];
        res.writeHead(status, out);
      },
      onResponseData(c, chunk) {
        if (!res.write(chunk)) {
          c.pause();
          res.once('drain', () => c.resume());
        }
      },
      onResponseEnd() {
        res.end();
      },
      onResponseError(_c, err) {
        if (res.headersSent) res.destroy();
        else {
          res.writeHead(502, { 'content-type': 'text/plain' });
          res.end(`502 Bad Gateway: ${err.message}\n`);
        }
      },
    },
  );
});
server.listen(port, host);

stopOnSignal(server, () => pool.close());
