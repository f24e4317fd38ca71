#!/usr/bin/env node
// gatewise launcher: turns on Node's compile cache before the first TypeScript file loads,
// then runs src/main.ts (which also runs on its own: `node src/main.ts …`).
//
// Node keeps the compiled code, and the type-stripped source, of every module it loads, so a
// second start neither strips the types again nor loads the stripper (a WebAssembly module
// of ~20 MB resident). NODE_COMPILE_CACHE picks the directory (default: the OS temp dir);
// NODE_DISABLE_COMPILE_CACHE=1 turns it off. A directory that cannot be written only costs
// that saving.
//
// V8's young generation is left to grow as it does by default: capping it at 1 MiB
// semi-spaces saved ~25 MB with 1,000 idle connections but cost ~30% more CPU per request
// under load (measured with wrk, bench/). What start-up alone grew is given back once the
// gateway listens (src/cli/heap-trim.ts).
import module from 'node:module';

try {
  module.enableCompileCache?.();
} catch {
  // Unwritable or unusable: start without it.
}

await import('../src/main.ts');
