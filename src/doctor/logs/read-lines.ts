// Line sources that never hold a whole file: readline over a stream, and a
// follower that keeps reading what is appended (tail -f), until aborted.

import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';

export async function* streamLines(input: Readable, signal?: AbortSignal): AsyncGenerator<string> {
  const rl = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  const stop = (): void => rl.close();
  signal?.addEventListener('abort', stop, { once: true });
  try {
    for await (const line of rl) yield line;
  } finally {
    signal?.removeEventListener('abort', stop);
    rl.close();
  }
}

export function fileLines(path: string, signal?: AbortSignal): AsyncGenerator<string> {
  return streamLines(createReadStream(path, { highWaterMark: 1 << 20 }), signal);
}

const POLL_MS = 250;
const CHUNK = 1 << 20;

/** Reads the file, then what is appended to it, until the signal aborts. */
export async function* followLines(path: string, signal: AbortSignal): AsyncGenerator<string> {
  const fh = await open(path, 'r');
  const buf = Buffer.allocUnsafe(CHUNK);
  let position = 0;
  let partial = '';
  try {
    while (!signal.aborted) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, position);
      if (bytesRead === 0) {
        // A truncated (rotated in place) file starts over.
        const { size } = await fh.stat();
        if (size < position) position = 0;
        await sleep(POLL_MS, undefined, { signal }).catch(() => undefined);
        continue;
      }
      position += bytesRead;
      const text = partial + buf.toString('utf8', 0, bytesRead);
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) yield line;
    }
    if (partial !== '') yield partial;
  } finally {
    await fh.close();
  }
}
