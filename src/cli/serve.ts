import { parseArgs } from 'node:util';
import type { Config } from '../config/schema.ts';
import { ConfigError, formatConfigIssues } from '../config/issues.ts';
import { quickConfig } from '../config/quick.ts';
import { type RunningGateway, startGateway } from '../gateway.ts';
import { scavengeAlone } from './gc-threads.ts';
import { trimHeap } from './heap-trim.ts';
import { settleTimerShapes, skipMaglev } from './jit-tiers.ts';

const HELP = `usage: gatewise serve --config FILE
       gatewise serve --listen HOST:PORT --upstream URL [--upstream URL ...]
`;

/** Runs until SIGTERM or SIGINT, then stops gracefully and exits 0. */
export async function serveCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c' },
      listen: { type: 'string' },
      upstream: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  // Before any request makes a function hot.
  skipMaglev();
  scavengeAlone();
  await settleTimerShapes();
  let config: Config;
  // The YAML reader loads only when there is a file to read (`--upstream` alone does without it).
  const loadConfig = values.config ? (await import('../config/load.ts')).loadConfig : null;
  try {
    if (values.config && loadConfig) {
      const loaded = loadConfig(values.config);
      for (const w of loaded.warnings) process.stderr.write(`warning: ${formatConfigIssues([w])}\n`);
      config = loaded.config;
    } else if (values.upstream && values.upstream.length > 0) {
      config = quickConfig({ listen: values.listen ?? '127.0.0.1:8080', upstreams: values.upstream });
    } else {
      process.stderr.write(`gatewise serve: give --config FILE, or --upstream URL\n${HELP}`);
      return 2;
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${formatConfigIssues(err.issues)}\n`);
      return 1;
    }
    throw err;
  }
  const gw = await startGateway(config);
  try {
    trimHeap();
  } catch (err) {
    gw.loggers.events.warn({ err }, 'the heap start-up grew could not be given back; the gateway runs as it is');
  }
  const file = values.config;
  if (file && loadConfig) {
    // SIGHUP re-reads the file, like nginx -s reload: a bad file changes nothing.
    process.on('SIGHUP', () => {
      try {
        const loaded = loadConfig(file);
        gw.reload(loaded.config).then(
          (warnings) => {
            for (const w of warnings) gw.loggers.events.warn(w);
          },
          (err: unknown) => gw.loggers.events.error({ err }, 'reload failed: the running configuration stays'),
        );
      } catch (err) {
        const detail = err instanceof ConfigError ? formatConfigIssues(err.issues) : String(err);
        gw.loggers.events.error(`reload refused, the running configuration stays:\n${detail}`);
      }
    });
  }
  return runUntilSignal(gw);
}

export function runUntilSignal(gw: RunningGateway, onStop?: () => Promise<void>): Promise<number> {
  return new Promise((resolve) => {
    const stop = (): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      gw.stop()
        .then(() => onStop?.())
        .then(() => resolve(0), () => resolve(1));
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}
