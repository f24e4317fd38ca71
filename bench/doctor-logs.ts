// Benchmark (not a test): streams a 1 GiB mixed log (nginx access and error,
// PHP-FPM, HAProxy, Caddy JSON) into os.tmpdir(), runs analyzeLogs over it, and
// reports throughput and peak RSS. Memory must stay flat whatever the file size.
//   node bench/doctor-logs.ts [size in MiB, default 1024]

import { createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { analyzeLogs } from '../src/doctor/logs/index.ts';
import { fileLines } from '../src/doctor/logs/read-lines.ts';

const MiB = 1024 * 1024;
const target = (process.argv[2] === '--analyze' ? 0 : Number(process.argv[2] ?? 1024)) * MiB;
const path = join(tmpdir(), `gatewise-doctor-logs-bench-${process.pid}.log`);

const pad = (n: number) => String(n).padStart(2, '0');
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** One minute of traffic: mostly access lines, a few errors of every kind. */
function block(minute: number, seq: number): string {
  const t = new Date(Date.UTC(2024, 4, 2, 0, 0, 0) + minute * 60_000);
  const d = `${pad(t.getUTCDate())}`;
  const hm = `${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}`;
  const clf = `${d}/${MONTHS[t.getUTCMonth()]}/2024:${hm}`;
  const ngx = `2024/05/${d} ${hm}`;
  const fpm = `${d}-May-2024 ${hm}`;
  const out: string[] = [];
  for (let i = 0; i < 4000; i++) {
    const s = pad(i % 60);
    const ip = `203.0.113.${(seq + i) % 250}`;
    const k = i % 100;
    if (k < 80) {
      const status = k === 7 ? 502 : k === 13 ? 504 : k === 21 ? 499 : 200;
      const ut = status === 504 ? '60.001' : status === 502 ? '0.000' : '0.012';
      out.push(
        `${ip} - - [${clf}:${s} +0000] "GET /api/items/${seq + i}?page=${k} HTTP/1.1" ${status} ${status === 200 ? 5120 + k : 157} "https://app.example.com/" "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36" 412 ${ut} [default-app-80] [] 10.0.3.${k % 8}:8080 ${status === 200 ? 5120 : 0} ${ut} ${status} ${(seq * 7919 + i).toString(16).padStart(32, '0')}`,
      );
    } else if (k < 88) {
      out.push(
        `${ngx}:${s} [error] 31#31: *${seq + i} upstream timed out (110: Connection timed out) while reading response header from upstream, client: ${ip}, server: app.example.com, request: "GET /api/items/${seq + i} HTTP/1.1", upstream: "fastcgi://unix:/run/php/php8.2-fpm.sock:", host: "app.example.com"`,
      );
    } else if (k < 91) {
      out.push(`[${fpm}:${s}] WARNING: [pool www] server reached pm.max_children setting (20), consider raising it`);
    } else if (k < 96) {
      out.push(
        `${ip}:${40000 + k} [${clf}:${s}.${String(i % 1000).padStart(3, '0')}] fe_https~ be_app/app${k % 3} 0/0/1/${k === 93 ? -1 : 35}/${k === 93 ? 30001 : 36} ${k === 93 ? 504 : 200} ${k === 93 ? 198 : 2048} - - ${k === 93 ? 'sH--' : '----'} 120/118/12/4/0 0/0 "GET /api/items/${seq + i} HTTP/1.1"`,
      );
    } else {
      out.push(
        `{"level":"error","ts":${t.getTime() / 1000 + (i % 60)}.123,"logger":"http.log.error","msg":"dial tcp 10.0.4.${k % 4}:8080: connect: connection refused","request":{"remote_ip":"${ip}","proto":"HTTP/1.1","method":"GET","host":"app.example.com","uri":"/api/items/${seq + i}"},"duration":0.0012,"status":502}`,
      );
    }
  }
  return `${out.join('\n')}\n`;
}

async function generate(): Promise<number> {
  const ws = createWriteStream(path, { highWaterMark: 4 * MiB });
  let written = 0;
  let minute = 0;
  while (written < target) {
    const chunk = block(minute, minute * 4000);
    written += Buffer.byteLength(chunk);
    minute++;
    if (!ws.write(chunk)) await once(ws, 'drain');
  }
  ws.end();
  await once(ws, 'finish');
  return (await stat(path)).size;
}

async function analyze(file: string): Promise<void> {
  const t0 = performance.now();
  const report = await analyzeLogs([{ name: file, lines: fileLines(file) }]);
  const sec = (performance.now() - t0) / 1000;
  const size = (await stat(file)).size;
  const lines = report.totals.lines;
  console.log(
    JSON.stringify({
      bytes: size,
      lines,
      errors: report.totals.errors,
      seconds: Number(sec.toFixed(2)),
      mbPerSec: Number((size / MiB / sec).toFixed(1)),
      linesPerSec: Math.round(lines / sec),
      peakRssMiB: Number((process.resourceUsage().maxRSS / 1024).toFixed(1)),
      findings: report.findings.map((f) => `${f.id}: ${f.lines}`),
    }),
  );
}

if (process.argv[2] === '--analyze') {
  await analyze(process.argv[3] as string);
} else {
  try {
    const g0 = performance.now();
    const size = await generate();
    console.log(`generated ${(size / MiB).toFixed(0)} MiB in ${((performance.now() - g0) / 1000).toFixed(1)} s at ${path}`);
    // A fresh process, so that peak RSS is the analysis's own, not the generator's.
    const child = spawnSync(process.execPath, [import.meta.filename, '--analyze', path], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    if (child.status !== 0) throw new Error(`analysis failed with status ${child.status}`);
    console.log(JSON.stringify(JSON.parse(child.stdout), null, 2));
  } finally {
    if (process.env.KEEP !== '1') await rm(path, { force: true });
  }
}
