// The one origin every configuration talks to: nginx, one worker, on 127.0.0.1 with its own
// temporary prefix, pinned to the load generator's CPU.
//   GET /         a 150-byte text body, keep-alive
//   GET /1m       a 1 MiB static file
//   POST /upload  reads the whole body (up to 2 MiB) before it answers a 150-byte body: the
//                 body is buffered by a proxy_pass to its own /ok that does not forward it.
//                 (A plain `return 200` answers before the body is read, and some proxies then
//                 stall the client's upload: not what this test measures.)
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../src/lab/scenario/proxy-process.ts';
import { type Proc, startProcess, waitForPort } from './proc.ts';

import { MIB, SMALL_BODY } from './bodies.ts';

export type Origin = { url: string; port: number; proc: Proc; stop(): Promise<void> };

export function nginxPreamble(dir: string): string {
  for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi', 'logs']) mkdirSync(join(dir, d), { recursive: true });
  return [
    `client_body_temp_path ${dir}/body;`,
    `proxy_temp_path ${dir}/proxy;`,
    `fastcgi_temp_path ${dir}/fastcgi;`,
    `uwsgi_temp_path ${dir}/uwsgi;`,
    `scgi_temp_path ${dir}/scgi;`,
  ].join('\n  ');
}

/** argv for nginx with everything in `dir` (runs as any user; as root the workers stay root). */
export function nginxArgv(nginx: string, dir: string, conf: string): string[] {
  return [nginx, '-p', dir, '-e', join(dir, 'error.log'), '-c', conf, '-g', `daemon off; pid ${join(dir, 'nginx.pid')};`];
}

export async function startOrigin(nginx: string, dir: string, core: number | null): Promise<Origin> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  writeFileSync(join(dir, '1m.bin'), Buffer.alloc(MIB, 'x'));
  const user = process.getuid?.() === 0 ? 'user root;\n' : '';
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `${user}worker_processes 1;
worker_rlimit_nofile 16384;
error_log ${dir}/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  ${nginxPreamble(dir)}
  keepalive_timeout 75s;
  keepalive_requests 10000000;
  sendfile on;
  tcp_nopush on;
  client_max_body_size 2m;
  client_body_buffer_size 2m;
  default_type text/plain;
  upstream self {
    server 127.0.0.1:${port};
    keepalive 16;
  }
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location = / { return 200 ${JSON.stringify(SMALL_BODY)}; }
    location = /1m { alias ${dir}/1m.bin; }
    location = /upload {
      proxy_pass http://self/ok;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
    location = /ok { return 200 ${JSON.stringify(SMALL_BODY)}; }
  }
}
`,
  );
  const proc = startProcess('origin nginx', nginxArgv(nginx, dir, conf), { core });
  try {
    await waitForPort(port, 5000, proc.exited);
  } catch (e) {
    await proc.stop();
    throw new Error(`origin nginx: ${(e as Error).message}\n${proc.output()}`);
  }
  return { url: `http://127.0.0.1:${port}`, port, proc, stop: () => proc.stop() };
}
