// A gigabyte each way through a real gateway process, whose resident memory must stay
// flat: the body streams with backpressure, it is never buffered.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { type RunningOrigin, startOrigin } from '../src/lab/origin.ts';
import { type GatewayProcess, spawnGatewise } from './helpers/gateway-process.ts';

const GIB = 1024 ** 3;
/**
 * Growth allowed between a tenth of the way in and the end. A gateway that buffered would
 * grow by the gigabyte; heap expansion and GC timing under a parallel test run account for
 * a few tens of MB (44 MB seen once), so the bound is a tenth of what crossed.
 */
const FLAT_MB = 100;

let origin: RunningOrigin;
let gw: GatewayProcess;

before(async () => {
  origin = await startOrigin({ fault: 'healthy' });
  gw = await spawnGatewise(['serve', '--listen', '127.0.0.1:0', '--upstream', origin.url]);
});

after(async () => {
  await gw?.signal('SIGTERM');
  await origin?.close();
});

/** Samples the gateway's RSS while `work` runs: the value a tenth of the way in, and the peak. */
async function watchMemory<T>(work: (progress: (fraction: number) => void) => Promise<T>): Promise<{ result: T; early: number; peak: number }> {
  let early = 0;
  let peak = 0;
  let fraction = 0;
  const timer = setInterval(() => {
    const rss = gw.rssBytes();
    peak = Math.max(peak, rss);
    if (early === 0 && fraction >= 0.1) early = rss;
  }, 100);
  try {
    const result = await work((f) => {
      fraction = f;
    });
    return { result, early, peak };
  } finally {
    clearInterval(timer);
  }
}

test('a 1 GiB download streams through with flat memory', async () => {
  const { result, early, peak } = await watchMemory(
    (progress) =>
      new Promise<number>((resolve, reject) => {
        request(`${gw.url}/bytes/${GIB}`, { agent: false }, (res) => {
          assert.equal(res.statusCode, 200);
          let n = 0;
          res.on('data', (c: Buffer) => {
            n += c.length;
            progress(n / GIB);
          });
          res.on('end', () => resolve(n));
          res.on('error', reject);
        })
          .on('error', reject)
          .end();
      }),
  );
  assert.equal(result, GIB);
  assert.ok(early > 0, 'memory was sampled during the transfer');
  const growthMb = (peak - early) / 1024 ** 2;
  assert.ok(growthMb < FLAT_MB, `gateway RSS grew ${growthMb.toFixed(1)} MB during a 1 GiB download (early ${early >> 20} MB, peak ${peak >> 20} MB)`);
});

test('a 1 GiB upload streams through with flat memory', async () => {
  const chunk = Buffer.alloc(256 * 1024, 0x61);
  const { result, early, peak } = await watchMemory(
    (progress) =>
      new Promise<{ bodyBytes: number }>((resolve, reject) => {
        let sent = 0;
        const body = new Readable({
          read() {
            if (sent >= GIB) {
              this.push(null);
              return;
            }
            sent += chunk.length;
            progress(sent / GIB);
            this.push(chunk);
          },
        });
        const req = request(
          `${gw.url}/echo`,
          { method: 'POST', agent: false, headers: { 'content-length': String(GIB), 'content-type': 'application/octet-stream' } },
          (res) => {
            let text = '';
            res.on('data', (c: Buffer) => {
              text += c.toString();
            });
            res.on('end', () => resolve(JSON.parse(text) as { bodyBytes: number }));
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        body.pipe(req);
      }),
  );
  assert.equal(result.bodyBytes, GIB, 'the origin received every byte');
  const growthMb = (peak - early) / 1024 ** 2;
  assert.ok(growthMb < FLAT_MB, `gateway RSS grew ${growthMb.toFixed(1)} MB during a 1 GiB upload (early ${early >> 20} MB, peak ${peak >> 20} MB)`);
});
