// Run inside a network namespace of its own (test/unroutable.test.ts): only loopback exists
// there, so a connect to any other address fails at once with ENETUNREACH and no packet can
// leave. Starts a lab origin and a gateway, sends the requests, prints what came back as JSON.
import { startOrigin } from '../../src/lab/origin.ts';
import { header, send } from './client.ts';
import { startTestGateway } from './start-gateway.ts';

// TEST-NET-2 (RFC 5737): never assigned, and unroutable anyway in this namespace.
const UNROUTABLE = 'http://198.51.100.7:8080';

const origin = await startOrigin({ fault: 'healthy' });
const gw = await startTestGateway(`
upstreams:
  lost: { endpoints: ["${UNROUTABLE}"] }
  mixed: { endpoints: ["${UNROUTABLE}", "${origin.url}"], balance: round_robin }
routes:
  - { path: /lost, upstream: lost }
  - { path: /mixed, upstream: mixed, strip_prefix: true }
`);
const results: Record<string, unknown> = {};
try {
  const lost = await send(`${gw.url}/lost`, { headers: { 'x-request-id': 'lost', accept: 'text/html' } });
  results.lost = lost.ok ? { status: lost.status, proxyStatus: header(lost, 'proxy-status'), body: lost.body, log: await gw.logFor('lost') } : lost;
  const mixed = [];
  for (const id of ['mixed-1', 'mixed-2']) {
    const r = await send(`${gw.url}/mixed/`, { headers: { 'x-request-id': id } });
    mixed.push(r.ok ? { status: r.status, log: await gw.logFor(id) } : r);
  }
  results.mixed = mixed;
} finally {
  await gw.stop(100);
  await origin.close();
}
process.stdout.write(`${JSON.stringify(results)}\n`);
