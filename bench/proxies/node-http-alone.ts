// Node's HTTP server answering by itself: no proxying, no undici, nothing else. It answers
// what the bench's origin answers (GET / 150 bytes, GET /1m 1 MiB, POST /upload after reading
// the body), so every test runs against it. What it costs, in CPU and above all in memory
// with many connections, is what any Node server pays before it proxies anything: the floor
// under the floor (bench/proxies/undici-floor.ts adds undici to it).
//   node bench/proxies/node-http-alone.ts --listen 127.0.0.1:PORT
import http from 'node:http';
import { parseArgs } from 'node:util';
import { MIB, SMALL_BODY } from '../lib/bodies.ts';
import { stopOnSignal } from '../lib/stop-on-signal.ts';

const { values } = parseArgs({ options: { listen: { type: 'string' } } });
if (!values.listen) {
  process.stderr.write('usage: node-http-alone.ts --listen HOST:PORT\n');
  process.exit(2);
}
const host = values.listen.slice(0, values.listen.lastIndexOf(':'));
const port = Number(values.listen.slice(values.listen.lastIndexOf(':') + 1));
const small = Buffer.from(SMALL_BODY);
const big = Buffer.alloc(MIB, 'x');

const server = http.createServer((req, res) => {
  const body = req.url === '/1m' ? big : small;
  const answer = () => {
    res.writeHead(200, { 'content-type': req.url === '/1m' ? 'application/octet-stream' : 'text/plain', 'content-length': body.length });
    res.end(body);
  };
  if (req.method === 'POST') {
    req.resume();
    req.on('end', answer);
  } else answer();
});
server.keepAliveTimeout = 65_000;
server.listen(port, host);

stopOnSignal(server);
