// writeFramed (src/http1/chunked.ts) copies a head and a small chunk into one buffer and
// writes larger or string pieces one by one: both ways must put the same bytes on the wire.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { test } from 'node:test';
import { writeFramed } from '../src/http1/chunked.ts';

/** The bytes a real socket carries for each call of write(socket), in order. */
async function onTheWire(write: (s: net.Socket) => void): Promise<Buffer> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const got: Buffer[] = [];
  const received = new Promise<void>((resolve) => {
    server.once('connection', (c) => {
      c.on('data', (d: Buffer) => got.push(d));
      c.on('end', () => resolve());
    });
  });
  const s = net.connect(port, '127.0.0.1');
  await once(s, 'connect');
  write(s);
  s.end();
  await received;
  server.close();
  return Buffer.concat(got);
}

const HEAD = 'HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=caf\xe9\r\n\r\n';

for (const size of [1, 150, 16 * 1024 - HEAD.length - 10, 16 * 1024, 100_000]) {
  const body = Buffer.alloc(size, 0x61);
  body[0] = 0xff; // a byte no string round trip may change
  test(`a head and a ${size}-byte chunk, plain and chunked`, async () => {
    const wire = await onTheWire((s) => {
      assert.equal(writeFramed(s, HEAD, body, size, false), true);
      writeFramed(s, '', body, size, true);
      writeFramed(s, HEAD, body, size, true);
    });
    const hex = `${size.toString(16)}\r\n`;
    const head = Buffer.from(HEAD, 'latin1');
    const expected = Buffer.concat([head, body, Buffer.from(hex), body, Buffer.from('\r\n'), head, Buffer.from(hex), body, Buffer.from('\r\n')]);
    assert.equal(wire.length, expected.length);
    assert.ok(wire.equals(expected), 'the bytes differ');
  });
}

test('a string chunk is written as UTF-8 and framed by its byte length', async () => {
  const text = 'déjà vu';
  const size = Buffer.byteLength(text);
  const wire = await onTheWire((s) => writeFramed(s, HEAD, text, size, true));
  assert.equal(wire.toString('latin1'), `${HEAD}${size.toString(16)}\r\n${Buffer.from(text).toString('latin1')}\r\n`);
});
