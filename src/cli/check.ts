/**
 * `gatewise check [--config FILE]`: load the configuration as `serve` would and say what is
 * wrong with it, every problem at once, without starting anything (like `nginx -t`).
 * Exit codes: 0 valid (warnings allowed), 1 invalid, 2 bad command line.
 */
import { parseArgs } from 'node:util';
import { ConfigError, DEFAULT_CONFIG_FILE, formatConfigIssues, loadConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';

export type CommandIo = { out: (text: string) => void; err: (text: string) => void };

const processIo: CommandIo = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

const USAGE = `usage: gatewise check [--config FILE]

Checks a configuration file without starting the gateway.
  -c, --config FILE   configuration to check (default: ${DEFAULT_CONFIG_FILE})
  -h, --help          show this help`;

export async function checkCommand(argv: string[], io: CommandIo = processIo): Promise<number> {
  let file: string;
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
    });
    if (values.help) {
      io.out(USAGE);
      return 0;
    }
    if (positionals.length > (values.config === undefined ? 1 : 0)) {
      throw new Error(`unexpected argument "${positionals.at(-1)}"`);
    }
    file = values.config ?? positionals[0] ?? DEFAULT_CONFIG_FILE;
  } catch (err) {
    io.err(`gatewise check: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }

  try {
    const { config, warnings } = loadConfig(file);
    if (warnings.length > 0) io.err(formatConfigIssues(warnings, 'warning'));
    io.out(`${file}: configuration OK (${summary(config)})`);
    return 0;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.err(formatConfigIssues(err.issues));
    io.err(`${file}: configuration check failed (${count(err.issues.length, 'error')})`);
    return 1;
  }
}

function summary(config: Config): string {
  const upstreams = Object.values(config.upstreams);
  const endpoints = upstreams.reduce((n, u) => n + u.endpoints.length, 0);
  return [count(config.routes.length, 'route'), count(upstreams.length, 'upstream'), count(endpoints, 'endpoint')].join(', ');
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
