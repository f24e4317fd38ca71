// Alerts delivered to webhooks: an outage of the only origin behind a route burns its SLO
// (short windows here, the SRE workbook's pairs by default): one firing message that names
// the cause and the hop, then one resolved message when the origin is back, on each webhook.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { publishCertificate } from '../src/observe/cert-events.ts';
import { publishEndpointHealth } from '../src/observe/events.ts';
import { type RunningOrigin, startOrigin } from '../src/lab/origin.ts';
import { startLoad } from './helpers/load.ts';
import { startTestGateway, type TestGateway } from './helpers/start-gateway.ts';
import { type Received, startReceiver } from './helpers/webhook-receiver.ts';

describe('burn-rate alert on an outage', () => {
  let origin: RunningOrigin;
  let gw: TestGateway;
  let hooks: Awaited<ReturnType<typeof startReceiver>>;

  before(async () => {
    origin = await startOrigin({ fault: 'healthy' });
    hooks = await startReceiver();
    // The endpoint may be taken out meanwhile; its own alert waits 30 s and stays quiet
    // while the SLO alert names it: one outage, one message.
    gw = await startTestGateway(`
name: edge-7
upstreams: { app: { endpoints: [${origin.url}], health: { passive: null } } }
routes: [{ name: shop, upstream: app }]
alerts:
  webhooks:
    - { url: ${hooks.url}/json, format: json }
    - { url: ${hooks.url}/slack, format: slack }
  slo: [{ route: shop, availability: 0.9 }]
  windows: [{ long: 10s, short: 2s, burn_rate: 2 }]
`);
  });

  after(async () => {
    await gw.stop(1000);
    await origin.close();
    await hooks.close();
  });

  test('exactly one firing and one resolved message per webhook, naming cause and hop', async () => {
    const load = startLoad(gw.url, ['/cart', '/items/1'], { concurrency: 2, pauseMs: 25, max: 3_000 });
    try {
      await new Promise((r) => setTimeout(r, 2_500));
      assert.equal(hooks.got.length, 0, 'no alert while healthy');
      await origin.stop();
      const on = (path: string, status: string) => (r: Received[]) => r.some((x) => x.path === path && JSON.stringify(x.body).includes(status));
      await hooks.waitFor((r) => on('/json', '"status":"firing"')(r) && r.some((x) => x.path === '/slack'));
      await new Promise((r) => setTimeout(r, 2_000));
      await origin.start();
      await hooks.waitFor((r) => on('/json', '"status":"resolved"')(r) && r.filter((x) => x.path === '/slack').length >= 2);
      // The long window still holds the outage: nothing may fire again meanwhile.
      await new Promise((r) => setTimeout(r, 3_000));
    } finally {
      await load.stop();
    }

    const json = hooks.got.filter((x) => x.path === '/json').map((x) => x.body);
    assert.deepEqual(json.map((b) => [b['status'], b['alert']]), [
      ['firing', 'slo_availability:shop'],
      ['resolved', 'slo_availability:shop'],
    ]);
    const [firing, resolved] = json as [Record<string, unknown>, Record<string, unknown>];
    const ep = `${origin.host}:${origin.port}`;
    assert.equal(firing['gateway'], 'edge-7');
    assert.equal(firing['severity'], 'critical');
    assert.equal(firing['route'], 'shop');
    // Refused connects show as such, or, once the gateway holds the endpoint out, as "no
    // endpoint available" because of them: either way the message names the refusal.
    const refused = {
      type: 'connection_refused',
      title: 'The origin server refused the connection',
      hop: 'origin',
      operator: 'Nothing listens on the origin’s address and port: the service is stopped, crashed or restarting. Check that it runs and listens on the configured port.',
    };
    const cause = firing['cause'] as { type: string };
    if (cause.type === 'connection_refused') assert.deepEqual(cause, refused);
    else {
      assert.equal(cause.type, 'destination_unavailable');
      assert.deepEqual(firing['underlying'], refused);
    }
    assert.equal(firing['hop'], `gateway → origin ${ep} (upstream app)`);
    assert.match(String(firing['summary']), /^Route "shop" is burning its 90% availability SLO \d+× too fast: \d+% of requests failed in the last 2s — .+ \((connection_refused|destination_unavailable)\)$/);
    assert.match(String(firing['text']), /connection_refused/);
    assert.match(String(firing['text']), /what to check: Nothing listens on the origin’s address and port/);
    assert.equal(resolved['startsAt'], firing['startsAt']);
    assert.ok(typeof resolved['endsAt'] === 'string');
    assert.match(String(resolved['summary']), /^Route "shop" is back within its 90% availability SLO/);

    const slack = hooks.got.filter((x) => x.path === '/slack').map((x) => x.body);
    assert.equal(slack.length, 2);
    assert.deepEqual(Object.keys(slack[0]!), ['text']);
    assert.match(String(slack[0]!['text']), /^:rotating_light: \*FIRING\* \[edge-7\] Route "shop"/);
    assert.match(String(slack[0]!['text']), new RegExp(`> hop: gateway → origin ${ep.replaceAll('.', '\\.')}`));
    assert.match(String(slack[1]!['text']), /^:white_check_mark: \*RESOLVED\* \[edge-7\]/);

    // The status API and the metrics tell the same story.
    const status = gw.observe.status();
    assert.deepEqual(status.alerts.firing, []);
    assert.deepEqual(status.alerts.history.map((a) => a.status), ['resolved', 'firing']);
  });
});

describe('endpoint and certificate alerts', () => {
  let gw: TestGateway;
  let hooks: Awaited<ReturnType<typeof startReceiver>>;

  before(async () => {
    hooks = await startReceiver();
    gw = await startTestGateway(`
upstreams: { app: { endpoints: [http://127.0.0.1:1] } }
routes: [{ upstream: app }]
alerts: { webhooks: [{ url: ${hooks.url}/json }], certificate_days: 14, endpoint_down_after: 0s }
`);
  });

  after(async () => {
    await gw.stop(1000);
    await hooks.close();
  });

  test('an endpoint down event fires once (repeats are deduplicated) and resolves when it is up', async () => {
    const down = { pool: 'app', endpoint: '127.0.0.1:1', state: 'down', by: 'passive', reason: '5 consecutive failures (connection_refused)' } as const;
    publishEndpointHealth(down);
    publishEndpointHealth(down);
    // Another gateway's pool in the same process is not ours.
    publishEndpointHealth({ ...down, pool: 'elsewhere' });
    publishEndpointHealth({ ...down, state: 'up', reason: 'ejection over' });
    await hooks.waitFor((r) => r.length >= 2);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(hooks.got.map((x) => [x.body['status'], x.body['alert']]), [
      ['firing', 'endpoint_down:app/127.0.0.1:1'],
      ['resolved', 'endpoint_down:app/127.0.0.1:1'],
    ]);
    const firing = hooks.got[0]!.body;
    assert.equal(firing['summary'], 'Endpoint 127.0.0.1:1 of upstream "app" is down: 5 consecutive failures (connection_refused)');
    assert.equal(firing['hop'], 'gateway → origin 127.0.0.1:1 (upstream app)');
    assert.equal((firing['cause'] as { type: string }).type, 'connection_refused');
  });

  test('a certificate close to expiry fires; a renewed one resolves', async () => {
    hooks.got.length = 0;
    const day = 86_400_000;
    publishCertificate({ pool: 'app', endpoint: '127.0.0.1:1', subject: 'app.internal', validTo: new Date(Date.now() + 5 * day + 3_600_000) });
    publishCertificate({ pool: 'app', endpoint: '127.0.0.1:1', subject: 'app.internal', validTo: new Date(Date.now() + 90 * day) });
    await hooks.waitFor((r) => r.length >= 2);
    assert.deepEqual(hooks.got.map((x) => x.body['status']), ['firing', 'resolved']);
    assert.match(String(hooks.got[0]!.body['summary']), /^The certificate of 127\.0\.0\.1:1 \(app\.internal\), upstream "app", expires in 5 days \(\d{4}-\d{2}-\d{2}\)$/);
  });
});
