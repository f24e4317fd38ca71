/**
 * `gatewise doctor URL [options]`: walk DNS → TCP → TLS → HTTP to a URL and say which hop
 * broke, why, and what to fix. `gatewise doctor logs FILE...` is its own command.
 * Exit codes: 0 healthy, 1 a hop failed, 2 bad command line.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseDuration } from '../config/duration.ts';
import { type DiagnoseOptions, DoctorUsageError, diagnoseUrl } from '../doctor/probe/index.ts';
import { renderHuman } from '../doctor/render/human.ts';
import type { CommandIo } from './check.ts';

const processIo: CommandIo = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

const USAGE = `usage: gatewise doctor URL [options]
       gatewise doctor logs FILE...        explain the 502s in proxy logs (see --help there)

Walks DNS → TCP → TLS → HTTP to URL, says which hop broke, why, and what to fix.

options:
  --resolver IP:PORT         DNS server to ask (default: the system's)
  --connect-timeout DUR      limit for the TCP connect and the TLS handshake (default 3s)
  --dns-timeout DUR          limit of the first DNS try; the second waits twice as long (default 2s)
  --timeout DUR              limit for the response headers and body (default 10s)
  --origin HOST:PORT         also send the request straight to the origin and compare
                             (http(s)://HOST:PORT to pick the scheme; Host stays the URL's)
  --resolve HOST:PORT:ADDR   the same, as curl spells it: the origin is ADDR
  --repeat N                 run N times, for intermittent failures (default 1)
  --interval DUR             pause between runs (default 200ms)
  -X, --method METHOD        request method (default GET)
  -H, --header 'NAME: VALUE' extra request header, repeatable
  --cacert FILE              also trust this CA certificate (PEM)
  --json                     print the whole report as JSON
  -h, --help                 show this help

exit codes: 0 healthy, 1 a hop failed, 2 bad command line`;

export async function doctorCommand(argv: string[], io: CommandIo = processIo): Promise<number> {
  const [first, ...rest] = argv;
  if (first === 'logs') return (await import('./doctor-logs.ts')).doctorLogsCommand(rest);

  let url: string;
  let opts: DiagnoseOptions;
  let json: boolean;
  try {
    const parsed = parseCommandLine(argv);
    if (parsed === 'help') {
      io.out(USAGE);
      return 0;
    }
    ({ url, opts, json } = parsed);
  } catch (err) {
    io.err(usageError((err as Error).message));
    return 2;
  }

  try {
    const report = await diagnoseUrl(url, opts);
    io.out(json ? JSON.stringify(report, null, 2) : renderHuman(report));
    return report.verdict.ok ? 0 : 1;
  } catch (err) {
    if (!(err instanceof DoctorUsageError)) throw err;
    io.err(usageError(err.message));
    return 2;
  }
}

function usageError(message: string): string {
  return `gatewise doctor: ${message}\n(gatewise doctor --help lists the options)`;
}

type Parsed = { url: string; opts: DiagnoseOptions; json: boolean };

function parseCommandLine(argv: string[]): Parsed | 'help' {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      resolver: { type: 'string' },
      'connect-timeout': { type: 'string' },
      'dns-timeout': { type: 'string' },
      timeout: { type: 'string' },
      origin: { type: 'string' },
      resolve: { type: 'string' },
      repeat: { type: 'string' },
      interval: { type: 'string' },
      method: { type: 'string', short: 'X' },
      header: { type: 'string', short: 'H', multiple: true },
      cacert: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  });
  if (values.help) return 'help';
  if (positionals.length === 0) throw new Error('which URL? e.g. gatewise doctor https://example.com/');
  if (positionals.length > 1) throw new Error(`one URL at a time; unexpected "${positionals[1]}"`);
  const url = positionals[0]!;
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) throw new Error(`"${url}" has no scheme; write http://${url} or https://${url}`);
  const duration = (flag: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    const d = parseDuration(v);
    if (!d.ok) throw new Error(`--${flag}: ${d.message}; ${d.hint}`);
    if (d.value === 0 && flag !== 'interval') throw new Error(`--${flag} must be longer than 0`);
    return d.value;
  };
  const repeat = values.repeat === undefined ? undefined : Number(values.repeat);
  if (repeat !== undefined && !/^\d+$/.test(values.repeat!)) throw new Error(`--repeat "${values.repeat}" is not a whole number`);
  const opts: DiagnoseOptions = {
    resolver: values.resolver ?? null,
    connectTimeoutMs: duration('connect-timeout', values['connect-timeout']),
    dnsTimeoutMs: duration('dns-timeout', values['dns-timeout']),
    timeoutMs: duration('timeout', values.timeout),
    origin: values.origin ?? null,
    resolve: values.resolve ?? null,
    repeat,
    intervalMs: duration('interval', values.interval),
    method: values.method,
    headers: headersOf(values.header ?? []),
    ca: values.cacert === undefined ? null : readCa(values.cacert),
  };
  return { url, opts, json: values.json ?? false };
}

function headersOf(specs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const spec of specs) {
    const colon = spec.indexOf(':');
    if (colon <= 0) throw new Error(`--header "${spec}" is not NAME: VALUE`);
    out[spec.slice(0, colon).trim()] = spec.slice(colon + 1).trim();
  }
  return out;
}

function readCa(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new Error(`--cacert ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
