// Preloaded into a gatewise process (NODE_OPTIONS=--import): on SIGUSR2 it writes to stderr
// the size of V8's young generation (`NEW_SPACE <bytes>`) and the built-in modules loaded
// (`MODULES net,tls,…`).
import { getHeapSpaceStatistics } from 'node:v8';

process.on('SIGUSR2', () => {
  const size = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? -1;
  const list = (process as unknown as { moduleLoadList: string[] }).moduleLoadList;
  const builtins = list.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice('NativeModule '.length));
  process.stderr.write(`NEW_SPACE ${size}\nMODULES ${builtins.join(',')}\n`);
});
