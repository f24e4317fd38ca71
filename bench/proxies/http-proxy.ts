// http-proxy (node-http-proxy) behind node:http, with a keep-alive agent to the upstream: the
// way its README recommends for a reverse proxy. A failed upstream exchange answers 502.
//   node bench/proxies/http-proxy.ts --listen 127.0.0.1:PORT --upstream http://127.0.0.1:PORT
import http from 'node:http';
import { parseArgs } from 'node:util';
import httpProxy from 'http-proxy';
import { stopOnSignal } from '../lib/stop-on-signal.ts';

const { values } = parseArgs({ options: { listen: { type: 'string' }, upstream: { type: 'string' } } });
if (!values.listen || !values.upstream) {
  process.stderr.write('usage: http-proxy.ts --listen HOST:PORT --upstream URL\n');
  process.exit(2);
}
const host = values.listen.slice(0, values.listen.lastIndexOf(':'));
const port = Number(values.listen.slice(values.listen.lastIndexOf(':') + 1));

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const proxy = httpProxy.createProxyServer({ target: values.upstream, agent, xfwd: true });
proxy.on('error', (_err, _req, res) => {
  if (res instanceof http.ServerResponse && !res.headersSent) {
    res.writeHead(502, { 'content-type': 'text/plain' });
    res.end('502 Bad Gateway\n');
  } else {
    res.destroy();
  }
});

const server = http.createServer((req, res) => proxy.web(req, res));
server.listen(port, host);

stopOnSignal(server);
