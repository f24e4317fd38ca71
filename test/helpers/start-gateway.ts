import { Writable } from 'node:stream';
import { parseConfigText } from '../../src/config/load.ts';
import { type RunningGateway, startGateway } from '../../src/gateway.ts';

export type AccessLine = Record<string, unknown> & {
  reqId: string;
  status: number;
  attempts: number;
  error?: { type: string; detail: string; stage: string; message: string; endpoint?: string };
};

export type TestGateway = RunningGateway & {
  /** Access-log lines written so far, parsed. */
  readonly lines: AccessLine[];
  /** The access-log line of one request, waiting for it to be written. */
  logFor(reqId: string, timeoutMs?: number): Promise<AccessLine>;
  /** Gateway events (start, stop, internal errors), parsed. */
  readonly events: Record<string, unknown>[];
};

function collector(into: Record<string, unknown>[], onLine: () => void): Writable {
  let partial = '';
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      partial += chunk.toString();
      let nl = partial.indexOf('\n');
      while (nl !== -1) {
        const line = partial.slice(0, nl);
        partial = partial.slice(nl + 1);
        if (line.trim()) into.push(JSON.parse(line) as Record<string, unknown>);
        nl = partial.indexOf('\n');
      }
      onLine();
      cb();
    },
  });
}

/**
 * A real gateway on 127.0.0.1:0 from a YAML text (the same schema as production), whose
 * access log is collected in memory so tests can assert the line each request produced.
 */
export async function startTestGateway(yamlText: string): Promise<TestGateway> {
  const withListen = /^listen:/m.test(yamlText) ? yamlText : `listen: "127.0.0.1:0"\n${yamlText}`;
  const { config } = parseConfigText(withListen, 'test.yaml');
  const lines: AccessLine[] = [];
  const events: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  const notify = (): void => {
    for (const w of [...waiters]) w();
  };
  const gw = await startGateway(
    { ...config, log: { ...config.log, format: 'json' } },
    { accessStream: collector(lines as Record<string, unknown>[], notify), eventStream: collector(events, () => {}) },
  );
  const logFor = (reqId: string, timeoutMs = 5000): Promise<AccessLine> =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        const l = lines.find((x) => x.reqId === reqId);
        if (l) {
          waiters.delete(w);
          clearTimeout(t);
          resolve(l);
          return true;
        }
        return false;
      };
      const w = (): void => {
        check();
      };
      const t = setTimeout(() => {
        waiters.delete(w);
        reject(new Error(`no access-log line for ${reqId} within ${timeoutMs} ms; have: ${JSON.stringify(lines.map((l) => l.reqId))}`));
      }, timeoutMs);
      waiters.add(w);
      check();
    });
  return Object.assign(gw, { lines, logFor, events });
}
