// Preloaded into a gatewise process (NODE_OPTIONS=--import): on SIGUSR2 it writes the size of
// V8's young generation (new_space) to stderr, as `NEW_SPACE <bytes>`.
import { getHeapSpaceStatistics } from 'node:v8';

process.on('SIGUSR2', () => {
  const size = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? -1;
  process.stderr.write(`NEW_SPACE ${size}\n`);
});
