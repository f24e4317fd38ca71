// A port whose TCP handshake never completes, made without root or firewall rules.
//
// How: a worker thread listens with a backlog of 1 and then blocks its own event loop
// (Atomics.wait), so accept() is never called. The lab connects filler sockets until one
// of them no longer completes: the kernel's accept queue is then full, and Linux drops
// every further SYN to a listener whose accept queue is full (tcp_conn_request →
// LISTENOVERFLOWS), syncookies or not. A client's connect therefore hangs, retrying its
// SYN, until its own timeout: ETIMEDOUT / a connect timeout, never ECONNREFUSED.
// This relies on Linux; other kernels may answer with an RST instead, which listen()
// detects (a filler that fails) and reports.
import net from 'node:net';
import { Worker } from 'node:worker_threads';
import type { FaultContext, FaultHandle } from './context.ts';

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const net = require('node:net');
const server = net.createServer();
server.on('error', (e) => parentPort.postMessage({ error: e.code ?? e.message }));
server.listen({ host: workerData.host, port: workerData.port, backlog: 1 }, () => {
  parentPort.postMessage({ port: server.address().port });
  Atomics.wait(new Int32Array(workerData.release), 0, 0);
});
`;

const PROBE_MS = 100;
const MAX_FILLERS = 16;

export function blackholeFault(_ctx: FaultContext): FaultHandle {
  let worker: Worker | undefined;
  let release: Int32Array | undefined;
  const fillers = new Set<net.Socket>();

  const shutdown = async () => {
    for (const s of fillers) s.destroy();
    fillers.clear();
    if (release) {
      Atomics.store(release, 0, 1);
      Atomics.notify(release, 0);
    }
    await worker?.terminate();
    worker = undefined;
    release = undefined;
  };

  const listen = async (host: string, port: number): Promise<number> => {
    const shared = new SharedArrayBuffer(4);
    release = new Int32Array(shared);
    worker = new Worker(WORKER, { eval: true, workerData: { host, port, release: shared } });
    const bound = await new Promise<number>((resolve, reject) => {
      worker!.once('error', reject);
      worker!.once('message', (m: { port?: number; error?: string }) =>
        m.port ? resolve(m.port) : reject(new Error(`blackhole could not listen on ${host}:${port}: ${m.error}`)),
      );
    });
    try {
      await fill(host, bound, fillers);
    } catch (err) {
      await shutdown();
      throw err;
    }
    return bound;
  };

  return { protocol: 'http', listen, shutdown };
}

async function fill(host: string, port: number, fillers: Set<net.Socket>): Promise<void> {
  for (let i = 0; i < MAX_FILLERS; i++) {
    const socket = net.connect({ host, port });
    socket.on('error', () => {});
    const outcome = await new Promise<'connected' | 'hangs' | 'failed'>((resolve) => {
      const timer = setTimeout(() => resolve('hangs'), PROBE_MS);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve('connected');
      });
      socket.once('error', () => {
        clearTimeout(timer);
        resolve('failed');
      });
    });
    if (outcome === 'connected') {
      fillers.add(socket);
      continue;
    }
    socket.destroy();
    if (outcome === 'hangs') return;
    throw new Error(`blackhole on ${host}:${port}: a connect failed instead of hanging (not Linux?)`);
  }
  throw new Error(`blackhole on ${host}:${port}: ${MAX_FILLERS} connects completed, the accept queue never filled`);
}
