/**
 * `gatewise serve --listen … --upstream …` without a file. The flags become the same
 * YAML-shaped object a file would hold and go through the same schema, so a default can
 * never differ between the two ways of starting the gateway.
 */
import { type ConfigIssue, ConfigError } from './issues.ts';
import { type Config, type ConfigInput, displayPath, parseConfigObject, type SchemaIssue } from './schema.ts';

export type QuickOptions = {
  /** Omitted: the schema's default listen address. */
  listen?: string | undefined;
  upstreams: string[];
};

const SOURCE = '(command line)';

export function quickConfig(opts: QuickOptions): Config {
  if (opts.upstreams.length === 0) {
    throw new ConfigError([
      { file: SOURCE, line: 0, column: 0, path: '--upstream', message: 'no upstream to proxy to', hint: 'gatewise serve --upstream http://127.0.0.1:3000' },
    ]);
  }
  const input: ConfigInput = {
    ...(opts.listen === undefined ? {} : { listen: opts.listen }),
    upstreams: { default: { endpoints: opts.upstreams } },
    routes: [{ path: '/', upstream: 'default' }],
  };
  const parsed = parseConfigObject(input);
  if (!parsed.ok) throw new ConfigError(parsed.issues.map(asFlagIssue));
  return parsed.config;
}

/** Names the flag the operator typed rather than a YAML path they never wrote. */
function asFlagIssue(issue: SchemaIssue): ConfigIssue {
  const [first, , third] = issue.path;
  const path = first === 'listen' ? '--listen' : first === 'upstreams' && third === 'endpoints' ? '--upstream' : displayPath(issue.path);
  return { file: SOURCE, line: 0, column: 0, path, message: issue.message, ...(issue.hint ? { hint: issue.hint } : {}) };
}
