// An origin address with no route to it (EHOSTUNREACH/ENETUNREACH): a gateway inside a network
// namespace of the test's own, where only loopback exists, so nothing can leave the machine.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { AccessLine } from './helpers/start-gateway.ts';

const CHILD = fileURLToPath(new URL('./helpers/unroutable-child.ts', import.meta.url));

type Answer = { status: number; proxyStatus?: string; body?: string; log: AccessLine };

function runInNamespace(): Promise<{ lost: Answer; mixed: Answer[] }> {
  return new Promise((resolve, reject) => {
    // `unshare --net` needs root (CI runs as root); `ip` brings the namespace's loopback up.
    const child = spawn('unshare', ['--net', 'sh', '-c', 'ip link set lo up && exec "$0" "$1"', process.execPath, CHILD], {
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 30_000,
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`the namespace child exited ${code}: ${err}`));
      else resolve(JSON.parse(out));
    });
  });
}

test('an unroutable origin address: 502 destination_ip_unroutable explained; with another endpoint, retried there', { timeout: 40_000 }, async () => {
  const { lost, mixed } = await runInNamespace();
  assert.equal(lost.status, 502, JSON.stringify(lost));
  assert.match(lost.proxyStatus ?? '', /error=destination_ip_unroutable; details="enetunreach"/);
  assert.equal(lost.log.error?.type, 'destination_ip_unroutable');
  assert.equal(lost.log.error?.stage, 'connect');
  assert.match(lost.log.error?.message ?? '', /no route to 198\.51\.100\.7:8080 \(ENETUNREACH\)/);
  assert.match(lost.body ?? '', /cannot be reached over the network/);
  // Nothing left the gateway, so the request is safe to send elsewhere, whatever its method.
  assert.deepEqual(
    mixed.map((a) => a.status),
    [200, 200],
  );
  const retried = mixed.filter((a) => a.log.attempts === 2);
  assert.equal(retried.length, 1, JSON.stringify(mixed.map((a) => a.log)));
  const tries = retried[0]!.log.tries as { error: { type: string } | null }[];
  assert.equal(tries[0]!.error?.type, 'destination_ip_unroutable');
  assert.equal(tries[1]!.error, null);
});
