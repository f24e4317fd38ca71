import { parseArgs } from 'node:util';
import { parseConfigText } from '../config/load.ts';
import { startGateway } from '../gateway.ts';
import { startOrigin } from '../lab/origin.ts';
import { runUntilSignal } from './serve.ts';

/**
 * `npm start`: the gateway in front of a built-in origin, with a route that works and
 * routes that fail on purpose, so a newcomer sees an explained 502 and 504 in a minute.
 */
export async function demoCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { listen: { type: 'string', default: '127.0.0.1:8080' }, admin: { type: 'string', default: '127.0.0.1:9090' } },
  });
  const healthy = await startOrigin({ fault: 'healthy' });
  const offline = await startOrigin({ fault: 'offline' });
  const slow = await startOrigin({ fault: 'slow', delayMs: 60_000 });
  const { config } = parseConfigText(
    `listen: "${values.listen}"
admin: { listen: "${values.admin}" }
upstreams:
  demo: { endpoints: ["${healthy.url}"] }
  stopped: { endpoints: ["${offline.url}"] }
  slow:
    endpoints: ["${slow.url}"]
    timeouts: { response_header: 2s }
routes:
  - { path: /broken, upstream: stopped }
  - { path: /slow, upstream: slow }
  - { path: /, upstream: demo }
`,
    'demo.yaml',
  );
  const gw = await startGateway(config);
  process.stdout.write(
    `\ngatewise demo — gateway on ${gw.url}, demo origin on ${healthy.url}\n\n` +
      `  ${gw.url}/         works: proxied to the demo origin\n` +
      `  ${gw.url}/broken   fails: the origin is stopped → 502 connection_refused, explained\n` +
      `  ${gw.url}/slow     fails: the origin is too slow → 504 http_response_timeout after 2 s\n` +
      `  ${gw.observe.admin?.url ?? ''}/        the live dashboard (metrics: /metrics, status: /api/status)\n\n` +
      `Open them in a browser, or: curl -i ${gw.url}/broken\nPress Ctrl+C to stop.\n\n`,
  );
  return runUntilSignal(gw, async () => {
    await Promise.all([healthy.close(), offline.close(), slow.close()]);
  });
}
