// A raw TCP client for tests that must see what an HTTP client library hides: whether the
// connection ended with a FIN or an RST, the exact bytes, and when each of them arrived.
import net from 'node:net';

export type RawEnding = 'fin' | 'reset' | 'error' | 'timeout' | 'until';

export type RawExchange = {
  /** Every byte received, in order. */
  data: Buffer;
  text: string;
  /** fin: the peer closed cleanly; reset: ECONNRESET; error: another error (see code); timeout: still open at timeoutMs; until: `until` was satisfied. */
  ending: RawEnding;
  code?: string;
  connected: boolean;
  /** Milliseconds from the start to the first byte, to each chunk, and to the ending. */
  firstByteMs?: number;
  chunkMs: number[];
  endMs: number;
};

export type RawOptions = {
  port: number;
  host?: string;
  /** Written as soon as the connection is up. */
  send?: string | Buffer;
  /** Gives up (ending `timeout`) after this long. Default 2000. */
  timeoutMs?: number;
  /** Stops early, ending `until`, once the data received so far satisfies it. */
  until?: (data: Buffer) => boolean;
};

export function rawExchange(o: RawOptions): Promise<RawExchange> {
  const t0 = performance.now();
  const since = () => Math.round(performance.now() - t0);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const chunkMs: number[] = [];
    let connected = false;
    // allowHalfOpen: the peer's FIN is seen as 'end' rather than folded into 'close'.
    const socket = net.connect({ port: o.port, host: o.host ?? '127.0.0.1', allowHalfOpen: true });
    const finish = (ending: RawEnding, code?: string) => {
      clearTimeout(timer);
      socket.destroy();
      const data = Buffer.concat(chunks);
      resolve({
        data,
        text: data.toString('latin1'),
        ending,
        ...(code ? { code } : {}),
        connected,
        ...(chunkMs.length > 0 ? { firstByteMs: chunkMs[0] } : {}),
        chunkMs,
        endMs: since(),
      });
    };
    const timer = setTimeout(() => finish('timeout'), o.timeoutMs ?? 2000);
    socket.on('connect', () => {
      connected = true;
      if (o.send !== undefined) socket.write(o.send);
    });
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      chunkMs.push(since());
      if (o.until?.(Buffer.concat(chunks))) finish('until');
    });
    socket.on('end', () => finish('fin'));
    socket.on('error', (e: NodeJS.ErrnoException) => finish(e.code === 'ECONNRESET' ? 'reset' : 'error', e.code));
  });
}

export type ConnectOutcome = 'connected' | 'refused' | 'hangs' | 'error';

/** Whether a TCP connect completes, is refused, or is still pending after `ms`. */
export function tryConnect(port: number, ms: number, host = '127.0.0.1'): Promise<ConnectOutcome> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (o: ConnectOutcome) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(o);
    };
    const timer = setTimeout(() => done('hangs'), ms);
    socket.once('connect', () => done('connected'));
    socket.once('error', (e: NodeJS.ErrnoException) => done(e.code === 'ECONNREFUSED' ? 'refused' : 'error'));
  });
}

/** A minimal HTTP/1.1 request. */
export function httpRequest(path = '/', headers: Record<string, string> = {}, body = '', method = body ? 'POST' : 'GET'): string {
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: lab.test'];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  if (body) lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

/** The header section (up to the blank line) and whatever follows it. */
export function splitHead(text: string): { head: string; body: string } {
  const i = text.indexOf('\r\n\r\n');
  return i < 0 ? { head: text, body: '' } : { head: text.slice(0, i), body: text.slice(i + 4) };
}
