import type { Duplex } from 'node:stream';

/**
 * One chunk of a chunked body (RFC 9112 §7.1): its size in hex, the bytes, CRLF. Returns
 * what the socket's last write returned: false when it is full (wait for 'drain').
 */
export function writeChunk(socket: Duplex, chunk: Buffer | string, size: number): boolean {
  socket.write(`${size.toString(16)}\r\n`, 'latin1');
  socket.write(chunk);
  return socket.write('\r\n', 'latin1');
}

/** The last chunk, which ends a chunked body (no trailers). */
export const LAST_CHUNK = '0\r\n\r\n';
