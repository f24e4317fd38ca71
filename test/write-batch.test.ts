// When held writes go out (src/http1/write-batch.ts): never while the callback that made them
// runs; without concurrency as soon as it returns; after a busy loop turn, in the check phase
// after the poll phase, once each, requests to origins before answers to clients, in order,
// including what a send itself holds, with the work that waits for them (the log line) after
// them; a corked socket so held reaches its peer without anything else happening; and a
// proxied try's continuation (record, events, log line) after the answers of its turn.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { afterSends, type HeldWrites, sendAfterPoll } from '../src/http1/write-batch.ts';
import { startOrigin } from '../src/lab/origin.ts';
import { send } from './helpers/client.ts';
import { heldAtEachTryEnd } from './helpers/held-every-turn.ts';
import { startTestGateway } from './helpers/start-gateway.ts';

function recorder() {
  const sent: string[] = [];
  const holder = (name: string, then?: () => void): HeldWrites => ({
    sendHeldWrites() {
      sent.push(name);
      then?.();
    },
  });
  return { sent, holder };
}

/** Runs fn in a timer callback of its own loop turn, then waits for that turn's check phase to pass. */
function inTurn(fn: () => void): Promise<void> {
  return new Promise((resolve) =>
    setTimeout(() => {
      fn();
      setImmediate(() => setImmediate(resolve));
    }, 1),
  );
}

test('without concurrency a write goes out when its callback returns, before the promise continuations', async () => {
  const { sent, holder } = recorder();
  let seenByContinuation: string[] = [];
  await inTurn(() => {
    sendAfterPoll(holder('a'), 'to-client');
    assert.deepEqual(sent, [], 'nothing is sent while the callback runs');
    void Promise.resolve().then(() => {
      seenByContinuation = [...sent];
    });
  });
  assert.deepEqual(seenByContinuation, ['a']);
  const order: string[] = [];
  afterSends((x: string) => order.push(x), 'nothing held: at once');
  assert.deepEqual(order, ['nothing held: at once']);
});

test('after a busy loop turn, writes are held for the end of the poll phase, and their after-work follows them', async () => {
  const { sent, holder } = recorder();
  // A turn with many writes (answers to several connections) makes the next turn hold its writes.
  await inTurn(() => {
    for (const n of ['w1', 'w2', 'w3', 'w4', 'w5']) sendAfterPoll(holder(n), 'to-client');
  });
  assert.equal(sent.length, 5);
  const log: string[] = [];
  let seenByContinuation: string[] = [];
  await new Promise<void>((resolve) =>
    setTimeout(() => {
      sendAfterPoll(holder('x'), 'to-client');
      // Held while the first send runs (a pipelined response begun by the one before it).
      sendAfterPoll(holder('y', () => sendAfterPoll(holder('z'), 'to-client')), 'to-client');
      afterSends((line: string) => log.push(`${line} after ${sent.join(',')}`), 'log line');
      void Promise.resolve().then(() => {
        seenByContinuation = sent.slice(5);
      });
      setImmediate(() => {
        assert.deepEqual(sent.slice(5), ['x', 'y', 'z'], 'sent in the check phase, in order, once each');
        resolve();
      });
    }, 1),
  );
  assert.deepEqual(seenByContinuation, [], 'still held when the callback’s continuations ran');
  assert.deepEqual(log, ['log line after w1,w2,w3,w4,w5,x,y,z']);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(sent.slice(5), ['x', 'y', 'z'], 'nothing is sent twice');
  // A quiet turn (a single write) ends the holding: the next write goes out with its callback.
  await inTurn(() => sendAfterPoll(holder('quiet'), 'to-client'));
  let again: string[] = [];
  await inTurn(() => {
    sendAfterPoll(holder('direct'), 'to-client');
    void Promise.resolve().then(() => {
      again = [...sent];
    });
  });
  assert.equal(again.at(-1), 'direct');
});

test('held requests to origins go before held answers to clients, including those a send holds', async () => {
  const { sent, holder } = recorder();
  await inTurn(() => {
    for (const n of ['w1', 'w2', 'w3', 'w4', 'w5']) sendAfterPoll(holder(n), 'to-client');
  });
  sent.length = 0;
  await inTurn(() => {
    sendAfterPoll(holder('answer 1'), 'to-client');
    sendAfterPoll(holder('request 1'), 'to-origin');
    // An answer whose send begins the next pipelined request: its answer, and that request to its origin.
    sendAfterPoll(
      holder('answer 2', () => {
        sendAfterPoll(holder('answer 3'), 'to-client');
        sendAfterPoll(holder('request 3'), 'to-origin');
      }),
      'to-client',
    );
    sendAfterPoll(holder('request 2'), 'to-origin');
  });
  assert.deepEqual(sent, ['request 1', 'request 2', 'answer 1', 'answer 2', 'answer 3', 'request 3']);
});

test('a corked socket held this way reaches its peer with no further event', async (t) => {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const { port } = server.address() as { port: number };
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const { connect } = await import('node:net');
  const client = connect(port, '127.0.0.1');
  await once(client, 'connect');
  const [peer] = await accepted;
  t.after(() => {
    client.destroy();
    peer.destroy();
  });
  let corked = true;
  client.cork();
  client.write('held ');
  client.write('bytes');
  sendAfterPoll(
    {
      sendHeldWrites() {
        corked = false;
        client.uncork();
      },
    },
    'to-origin',
  );
  assert.equal(client.writableLength, 10, 'held in the socket while the callback runs');
  let got = '';
  for await (const chunk of peer) {
    got += String(chunk);
    if (got.length >= 10) break;
  }
  assert.equal(corked, false);
  assert.equal(got, 'held bytes');
});

test('what waits for a proxied try (its record, events and log line) runs after the answers held with it are sent', async (t) => {
  const origin = await startOrigin({ fault: 'healthy' });
  t.after(() => origin.close());
  const gw = await startTestGateway(`
name: gw-after-sends
upstreams:
  app: { endpoints: ["${origin.url}"] }
routes:
  - { name: all, path: /, upstream: app }
`);
  t.after(() => gw.stop(100));
  // Every turn holds its writes, as under load: the proxied answers too, for the check phase.
  const heldAtTryEnd = await heldAtEachTryEnd(async () => {
    for (let i = 0; i < 5; i++) {
      const r = await send(`${gw.url}/n${i}`);
      assert.equal(r.status, 200);
    }
  });
  assert.equal(heldAtTryEnd.length, 5);
  assert.deepEqual(heldAtTryEnd, [0, 0, 0, 0, 0], 'each try ended with nothing of its turn still held');
});
