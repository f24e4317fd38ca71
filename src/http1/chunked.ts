import type { Duplex } from 'node:stream';

/**
 * Up to this many bytes, a write's pieces are copied into one buffer: each write through a
 * socket's stream costs more than copying a few KiB (bench/: ~2 µs of a proxied request's
 * ~35 went to writing a response's head and its small body as two pieces of one writev).
 */
const ONE_BUFFER_BYTES = 16 * 1024;
const CRLF = 0x0d0a;

/**
 * Writes `head` (text sent as latin1, as llhttp read it; '' for none), then `chunk`, framed
 * as one chunk of a chunked body (RFC 9112 §7.1: its size in hex, the bytes, CRLF) when
 * `chunked`. Returns what the socket's last write returned: false when it is full (wait
 * for 'drain').
 */
export function writeFramed(socket: Duplex, head: string, chunk: Buffer | string, size: number, chunked: boolean): boolean {
  const sizeLine = chunked ? `${size.toString(16)}\r\n` : '';
  const total = head.length + sizeLine.length + size + (chunked ? 2 : 0);
  if (typeof chunk !== 'string' && total <= ONE_BUFFER_BYTES) {
    const one = Buffer.allocUnsafe(total);
    // latin1: one byte per character, so each write's length is its string's.
    let o = head.length === 0 ? 0 : one.write(head, 0, 'latin1');
    if (chunked) o += one.write(sizeLine, o, 'latin1');
    o += chunk.copy(one, o);
    if (chunked) one.writeUInt16BE(CRLF, o);
    return socket.write(one);
  }
  if (head.length > 0) socket.write(head, 'latin1');
  if (!chunked) return socket.write(chunk);
  socket.write(sizeLine, 'latin1');
  socket.write(chunk);
  return socket.write('\r\n', 'latin1');
}

/** One chunk of a chunked body. */
export function writeChunk(socket: Duplex, chunk: Buffer | string, size: number): boolean {
  return writeFramed(socket, '', chunk, size, true);
}

/** The last chunk, which ends a chunked body (no trailers). */
export const LAST_CHUNK = '0\r\n\r\n';
