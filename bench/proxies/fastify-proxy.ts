// @fastify/http-proxy as users run it: Fastify without its logger, the plugin with its
// defaults (undici to the upstream, keep-alive). Only the body limit is raised, to 2 MiB, so
// the 1 MiB upload passes.
//   node bench/proxies/fastify-proxy.ts --listen 127.0.0.1:PORT --upstream http://127.0.0.1:PORT
import httpProxy from '@fastify/http-proxy';
import Fastify from 'fastify';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { listen: { type: 'string' }, upstream: { type: 'string' } } });
if (!values.listen || !values.upstream) {
  process.stderr.write('usage: fastify-proxy.ts --listen HOST:PORT --upstream URL\n');
  process.exit(2);
}
const [host, port] = [values.listen.slice(0, values.listen.lastIndexOf(':')), Number(values.listen.slice(values.listen.lastIndexOf(':') + 1))];

const app = Fastify({ logger: false, bodyLimit: 2 * 1024 * 1024 });
await app.register(httpProxy, { upstream: values.upstream, http2: false });
await app.listen({ host, port });

const stop = () => {
  app.close().then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
