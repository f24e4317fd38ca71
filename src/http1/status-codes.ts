/**
 * node:http's reason phrases. Not imported: an `import` of node:http builds its ES module
 * facade by reading every export, the `WebSocket` getter included, and that loads Node's
 * own bundled undici with tls, http2 and zlib (13 MiB more resident in a bare node, for a
 * table of phrases). process.getBuiltinModule hands over the CommonJS object as it is.
 * test/startup-modules.test.ts fails if a started gateway loads them again.
 */
export const STATUS_CODES: Readonly<Record<number, string | undefined>> = process.getBuiltinModule('node:http').STATUS_CODES;
