// The configurations measured: the origin itself, and each proxy in front of it, started
// fresh on the proxy CPU with its own temporary directory and stopped by its PID.
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/lab/scenario/proxy-process.ts';
import type { Tools } from './env.ts';
import { nginxArgv, nginxPreamble } from './origin.ts';
import { type Proc, startProcess, waitForPort } from './proc.ts';

export const TARGETS = ['direct', 'gatewise', 'nginx', 'haproxy', 'fastify', 'http-proxy', 'llhttp', 'floor', 'node-http'] as const;
export type TargetName = (typeof TARGETS)[number];
export const PROXIES = TARGETS.filter((t) => t !== 'direct');

export const LABEL: Record<TargetName, string> = {
  direct: 'direct (no proxy)',
  gatewise: 'gatewise',
  nginx: 'nginx',
  haproxy: 'HAProxy',
  fastify: '@fastify/http-proxy',
  'http-proxy': 'http-proxy',
  llhttp: 'net + llhttp (floor)',
  floor: 'node:http + undici, bare',
  'node-http': 'node:http alone (no proxying)',
};

export type Running = { name: TargetName; url: string; pid: number | null; dir: string; stop(graceMs?: number): Promise<void> };

export type StartTargetOptions = {
  tools: Tools;
  originUrl: string;
  /** A fresh directory for this run: config, logs, temp files. */
  dir: string;
  core: number | null;
  /** Extra node flags for gatewise (--cpu-prof …). */
  nodeFlags?: string[];
};

/** How each proxy was configured, for the report. */
export const SETUP: Record<TargetName, string> = {
  direct: 'the load generator talks to the origin itself',
  gatewise: '`node bin/gatewise.js serve --listen 127.0.0.1:PORT --upstream ORIGIN` (the launcher: compile cache on): every default (JSON access log on stdout, redirected to a file in its temp dir; Proxy-Status, Via, X-Request-Id, X-Forwarded-*; passive health, retries)',
  nginx: '1 worker (`worker_processes 1`), `upstream { keepalive 64; }`, `proxy_http_version 1.1`, `Connection ""`, access log (default combined format) to a file, `client_max_body_size 2m`, other settings default (buffering on)',
  haproxy: '`nbthread 1`, `mode http`, `option http-keep-alive` (default `http-reuse safe`), no logging (HAProxy logs to syslog only, none configured)',
  fastify: 'bench/proxies/fastify-proxy.ts: Fastify 5 without logger + @fastify/http-proxy defaults (undici keep-alive pool), bodyLimit 2 MiB',
  'http-proxy': 'bench/proxies/http-proxy.ts: node:http server + http-proxy with `new http.Agent({ keepAlive: true, maxSockets: 256 })`',
  llhttp: 'bench/proxies/llhttp-floor.ts: net sockets and llhttp both ways (the binding gatewise uses), one keep-alive pool, nothing else (no log, metrics, headers, timeouts, retries, pipelining): the floor of the stack gatewise is built on, not a usable proxy',
  floor: 'bench/proxies/undici-floor.ts: node:http server + undici `Pool.dispatch`, nothing else (no log, metrics, headers, retries): the usual Node stack with nothing on it (gatewise used it until it had its own HTTP/1.1 server and pool on llhttp), not a usable proxy',
  'node-http': 'bench/proxies/node-http-alone.ts: a `node:http` server that answers by itself what the origin answers (no proxying, no undici): what Node\'s HTTP server costs before anything is proxied',
};

// The launcher users run (compile cache on), not src/main.ts directly.
const MAIN = fileURLToPath(new URL('../../bin/gatewise.js', import.meta.url));
const FASTIFY = fileURLToPath(new URL('../proxies/fastify-proxy.ts', import.meta.url));
const HTTP_PROXY = fileURLToPath(new URL('../proxies/http-proxy.ts', import.meta.url));
const FLOOR = fileURLToPath(new URL('../proxies/undici-floor.ts', import.meta.url));
const LLHTTP = fileURLToPath(new URL('../proxies/llhttp-floor.ts', import.meta.url));
/**
 * The Node proxies run as gatewise's launcher runs it, with Node's compile cache on: from the
 * second start on, no TypeScript is stripped and the stripper (~20 MB resident) is not loaded.
 */
const COMPILE_CACHE = { ...process.env, NODE_COMPILE_CACHE: join(tmpdir(), 'node-compile-cache') };
const NODE_HTTP = fileURLToPath(new URL('../proxies/node-http-alone.ts', import.meta.url));

export async function startTarget(name: TargetName, o: StartTargetOptions): Promise<Running> {
  mkdirSync(o.dir, { recursive: true });
  if (name === 'direct') return { name, url: o.originUrl, pid: null, dir: o.dir, stop: async () => {} };
  const port = await freePort();
  const listen = `127.0.0.1:${port}`;
  const node = process.execPath;
  let proc: Proc;
  switch (name) {
    case 'gatewise':
      proc = startProcess(name, [node, ...(o.nodeFlags ?? []), MAIN, 'serve', '--listen', listen, '--upstream', o.originUrl], {
        core: o.core,
        stdoutFile: join(o.dir, 'access.log'),
        stderrFile: join(o.dir, 'stderr.log'),
      });
      break;
    case 'nginx': {
      const conf = join(o.dir, 'nginx.conf');
      writeFileSync(conf, nginxProxyConf(o.dir, port, o.originUrl));
      proc = startProcess(name, nginxArgv(o.tools.nginx, o.dir, conf), { core: o.core });
      break;
    }
    case 'haproxy': {
      const conf = join(o.dir, 'haproxy.cfg');
      writeFileSync(conf, haproxyConf(port, o.originUrl));
      proc = startProcess(name, [o.tools.haproxy, '-db', '-f', conf], { core: o.core });
      break;
    }
    case 'fastify':
      proc = startProcess(name, [node, FASTIFY, '--listen', listen, '--upstream', o.originUrl], { core: o.core, env: COMPILE_CACHE });
      break;
    case 'http-proxy':
      proc = startProcess(name, [node, HTTP_PROXY, '--listen', listen, '--upstream', o.originUrl], { core: o.core, env: COMPILE_CACHE });
      break;
    case 'llhttp':
      proc = startProcess(name, [node, LLHTTP, '--listen', listen, '--upstream', o.originUrl], { core: o.core, env: COMPILE_CACHE });
      break;
    case 'floor':
      proc = startProcess(name, [node, FLOOR, '--listen', listen, '--upstream', o.originUrl], { core: o.core, env: COMPILE_CACHE });
      break;
    case 'node-http':
      proc = startProcess(name, [node, NODE_HTTP, '--listen', listen], { core: o.core, env: COMPILE_CACHE });
      break;
  }
  try {
    await waitForPort(port, 10_000, proc.exited);
  } catch (e) {
    await proc.stop();
    throw new Error(`${name}: ${(e as Error).message}\n${proc.output()}`);
  }
  return { name, url: `http://${listen}`, pid: proc.pid, dir: o.dir, stop: (graceMs?: number) => proc.stop(graceMs) };
}

function nginxProxyConf(dir: string, port: number, origin: string): string {
  const user = process.getuid?.() === 0 ? 'user root;\n' : '';
  return `${user}worker_processes 1;
worker_rlimit_nofile 16384;
error_log ${dir}/error.log warn;
events { worker_connections 8192; }
http {
  ${nginxPreamble(dir)}
  access_log ${dir}/access.log combined;
  client_max_body_size 2m;
  upstream origin {
    server ${new URL(origin).host};
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
}

function haproxyConf(port: number, origin: string): string {
  return `global
  nbthread 1
  maxconn 8192
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  timeout http-keep-alive 30s
  option http-keep-alive
frontend bench
  bind 127.0.0.1:${port} backlog 4096
  default_backend origin
backend origin
  server o ${new URL(origin).host}
`;
}
