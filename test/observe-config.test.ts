// The admin, synthetic and alerts sections of the configuration: defaults and mistakes.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, parseConfigText } from '../src/config/load.ts';

const BASE = 'upstreams: { app: { endpoints: [http://127.0.0.1:3000] } }\nroutes: [{ name: shop, upstream: app }]\n';

function issues(yaml: string): string[] {
  try {
    parseConfigText(`${BASE}${yaml}\n`, 'gw.yaml');
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.issues.map((i) => `${i.line}:${i.path}: ${i.message}${i.hint ? ` (hint: ${i.hint})` : ''}`);
  }
  return [];
}

test('synthetic checks: a path or an absolute URL, an optional origin, durations in milliseconds', () => {
  const { config } = parseConfigText(
    `${BASE}synthetic:\n  - { name: home, url: /health }\n  - { name: api, url: "http://api.example.com/v1/ping?x=1", origin: "http://10.0.0.7:8080/ping", interval: 30s, timeout: 1500ms }\n`,
    'gw.yaml',
  );
  assert.deepEqual(config.synthetic, [
    { name: 'home', url: '/health', path: '/health', host: null, origin: null, intervalMs: 10_000, timeoutMs: 2_000 },
    {
      name: 'api',
      url: 'http://api.example.com/v1/ping?x=1',
      path: '/v1/ping?x=1',
      host: 'api.example.com',
      origin: 'http://10.0.0.7:8080/ping',
      intervalMs: 30_000,
      timeoutMs: 1_500,
    },
  ]);
});

test('synthetic mistakes are reported where they are', () => {
  assert.deepEqual(issues('synthetic: [{ name: a, url: health }]'), [
    '3:synthetic[0].url: "health" is neither a path nor an http URL (hint: write a path on a route (/health), or http://host/path to probe with that Host)',
  ]);
  assert.deepEqual(issues('synthetic: [{ name: a, url: /, interval: 1s, timeout: 2s }]'), [
    '3:synthetic[0].timeout: timeout 2s is longer than interval 1s (hint: probes would overlap: lower timeout)',
  ]);
  assert.deepEqual(issues('synthetic: [{ name: a, url: /, origin: "ftp://x" }]'), ['3:synthetic[0].origin: "ftp://x" is not an http or https URL (hint: write http://host:port/path)']);
  assert.deepEqual(issues('synthetic: [{ name: a, url: / }, { name: a, url: /x }]'), [
    '3:synthetic[1].name: synthetic check name "a" is used twice (hint: names appear in metrics: make them unique)',
  ]);
});

test('alerts: defaults are the SRE workbook paging windows; SLOs name routes', () => {
  const { config } = parseConfigText(
    `${BASE}alerts:\n  webhooks: [{ url: "https://hooks.slack.com/services/T/B/X", format: slack }, { url: "http://127.0.0.1:9000/alerts" }]\n  slo: [{ route: shop, availability: 0.999, latency: { threshold: 500ms, target: 0.99 } }]\n`,
    'gw.yaml',
  );
  assert.deepEqual(config.alerts, {
    webhooks: [
      { url: 'https://hooks.slack.com/services/T/B/X', format: 'slack' },
      { url: 'http://127.0.0.1:9000/alerts', format: 'json' },
    ],
    slo: [{ route: 'shop', availability: 0.999, latency: { thresholdMs: 500, target: 0.99 } }],
    windows: [
      { longMs: 3_600_000, shortMs: 300_000, burnRate: 14.4 },
      { longMs: 21_600_000, shortMs: 1_800_000, burnRate: 6 },
    ],
    certificateDays: 14,
    endpointDownAfterMs: 30_000,
    masked: null,
  });
});

test('alert mistakes are reported where they are', () => {
  assert.deepEqual(issues('alerts: { slo: [{ route: shp, availability: 0.99 }] }'), [
    '3:alerts.slo[0].route: unknown route "shp" — known routes: shop (hint: did you mean "shop"?)',
  ]);
  assert.deepEqual(issues('alerts: { slo: [{ route: shop }] }'), [
    '3:alerts.slo[0]: an SLO needs availability, latency or both (hint: write availability: 0.999 or latency: { threshold: 500ms, target: 0.99 })',
  ]);
  assert.deepEqual(issues('alerts: { slo: [{ route: shop, availability: 99.9 }] }'), ['3:alerts.slo[0].availability: 99.9 is not a fraction between 0 and 1 (hint: write 0.999 for 99.9%)']);
  assert.deepEqual(issues('alerts: { windows: [{ long: 5m, short: 1h, burn_rate: 2 }] }'), [
    '3:alerts.windows[0].short: short must be shorter than long (hint: the workbook uses short = long / 12)',
  ]);
  assert.deepEqual(issues('alerts: { webhooks: [{ url: "hooks.example.com/x" }] }'), [
    '3:alerts.webhooks[0].url: "hooks.example.com/x" is not an http or https URL (hint: write http://host:port/path)',
  ]);
  assert.deepEqual(issues('alerts: { masked: { threshold: 100, window: 5m } }'), []);
});
