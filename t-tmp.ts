import pino from 'pino';
import { LineBatcher } from './src/observe/access-log.ts';
const line = '{"level":30,"time":"2026-12-03T11:11:53.193Z","reqId":"69876b57-a558-4cec-b00f-0e46c1d2f43c","client":"127.0.0.1","method":"GET","host":"127.0.0.1:19005","path":"/","status":200,"bytes":149,"durationMs":1.57,"route":"default","upstream":"127.0.0.1:18081","upstreamStatus":200,"attempts":1,"timings":{"dnsMs":null,"connectMs":null,"tlsMs":null,"ttfbMs":0.43,"totalMs":0.52}}\n';
const mode = process.argv[2];
const dest = pino.destination({ dest: '/tmp/proto/bench-log.txt', sync: false });
const b = new LineBatcher(dest as never);
const N = 300000;
const c0 = process.cpuUsage(); const t0 = performance.now();
let i = 0;
await new Promise<void>((resolve) => {
  const step = () => { for (let k = 0; k < 1000 && i < N; k++, i++) b.write(mode === 'copy' ? line.slice(0, -1) + '\n' : line); if (i < N) setImmediate(step); else resolve(); };
  step();
});
b.flush(); await new Promise((r) => dest.flush(r as never));
const c = process.cpuUsage(c0);
console.log(mode, 'cpu µs/line', ((c.user + c.system) / N).toFixed(2), 'wall', ((performance.now() - t0) * 1000 / N).toFixed(2));
