// The HTTP/1.1 server's sweep of its connections' time limits (src/server/h1/server.ts):
// connections that pass their keep-alive limit together are ended a few per turn of the
// event loop, so that ending hundreds does not hold every request behind them.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import net, { type AddressInfo, type Socket } from 'node:net';
import { test } from 'node:test';
import { ENDS_PER_TURN } from '../src/http1/turn-sweep.ts';
import { createH1Server } from '../src/server/h1/server.ts';
import { growthPerTurn } from './helpers/per-turn.ts';

test('keep-alive connections that expire together are ended a few per event-loop turn, every one of them', async (t) => {
  const limits = { headersTimeoutMs: 5000, requestTimeoutMs: 5000, keepAliveTimeoutMs: 300, maxHeaderBytes: 16 * 1024 };
  const h1 = createH1Server(null, limits, {
    request: (_req, res) => {
      res.writeHead(200, ['content-length', '2']);
      res.end('ok');
    },
    upgrade: (_req, socket) => socket.destroy(),
    clientError: (_err, socket) => socket.destroy(),
  });
  const serverSockets: Socket[] = [];
  h1.server.on('connection', (s: Socket) => serverSockets.push(s));
  h1.server.listen(0, '127.0.0.1');
  await once(h1.server, 'listening');
  const port = (h1.server.address() as AddressInfo).port;
  const clients: net.Socket[] = [];
  t.after(() => {
    for (const c of clients) c.destroy();
    h1.server.close();
  });
  const N = 40;
  // N clients, each one request, answered at once: N connections idle from the same moment.
  await Promise.all(
    Array.from(
      { length: N },
      () =>
        new Promise<void>((resolve, reject) => {
          const c = net.connect(port, '127.0.0.1', () => c.write('GET / HTTP/1.1\r\nHost: t\r\n\r\n'));
          clients.push(c);
          c.once('data', () => resolve());
          c.once('error', reject);
        }),
    ),
  );
  assert.equal(serverSockets.length, N);
  const { perTurn, reached: seen } = await growthPerTurn(() => serverSockets.filter((s) => s.destroyed).length, N, 3000);
  assert.equal(seen, N, 'every connection past its keep-alive is ended');
  assert.ok(Math.max(...perTurn) <= ENDS_PER_TURN, `ended per turn: ${perTurn.join(', ')}`);
  assert.ok(perTurn.length >= N / ENDS_PER_TURN, `ended over several turns: ${perTurn.join(', ')}`);
});
