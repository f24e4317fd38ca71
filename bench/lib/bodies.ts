// What the bench's origin answers (origin.ts), in a module of its own: node-http-alone.ts
// answers the same without loading anything else.
export const SMALL_BODY = `${'gatewise bench origin: a small response body of one hundred and fifty bytes, '.padEnd(149, '.')}\n`;
export const MIB = 1024 * 1024;
