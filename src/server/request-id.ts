import { randomFillSync } from 'node:crypto';

const ID_BYTES = 16;
/** Random bytes for this many ids at a time: one call to the system's generator per 256 requests. */
const POOL_IDS = 256;
const pool = Buffer.allocUnsafe(ID_BYTES * POOL_IDS);
let next = POOL_IDS;

/**
 * A new request id, a random (version 4) UUID as before, made from a pool of random bytes
 * and one hexadecimal string: crypto.randomUUID built each id from 20 pieces, the largest
 * allocation of the request's own after the access line.
 */
export function newRequestId(): string {
  if (next === POOL_IDS) {
    randomFillSync(pool);
    next = 0;
  }
  const at = next++ * ID_BYTES;
  // RFC 9562 §5.4: version 4 in the high nibble of byte 6, variant 10 in the top bits of byte 8.
  pool[at + 6] = (pool[at + 6]! & 0x0f) | 0x40;
  pool[at + 8] = (pool[at + 8]! & 0x3f) | 0x80;
  const h = pool.toString('hex', at, at + ID_BYTES);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
