import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Received = { path: string; body: Record<string, unknown> };

/** A webhook receiver on 127.0.0.1:0 that keeps every JSON body posted to it. */
export async function startReceiver(): Promise<{ url: string; got: Received[]; waitFor(pred: (r: Received[]) => boolean, timeoutMs?: number): Promise<void>; close(): Promise<void> }> {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ path: req.url ?? '', body: JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown> });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    got,
    async waitFor(pred, timeoutMs = 15_000) {
      const end = Date.now() + timeoutMs;
      while (!pred(got)) {
        if (Date.now() > end) throw new Error(`webhook receiver: condition not met within ${timeoutMs} ms; got ${JSON.stringify(got, null, 1)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
