/**
 * A configuration problem and how it is printed. Apart from load.ts so that
 * `gatewise serve --upstream …` (no file) does not load the YAML parser.
 */

export type ConfigIssue = {
  file: string;
  /** 1-based; 0 when the problem has no place in a file (unreadable file, command line). */
  line: number;
  column: number;
  /** Where in the YAML, e.g. `routes[1].upstream`; empty for syntax errors. */
  path: string;
  message: string;
  hint?: string;
};

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly issues: ConfigIssue[];

  constructor(issues: ConfigIssue[]) {
    super(formatConfigIssues(issues));
    this.issues = issues;
  }
}

/** Compiler style: `gatewise.yaml:12:5: routes[1].upstream: unknown upstream "ap" (hint: …)`. */
export function formatConfigIssues(issues: readonly ConfigIssue[], severity: 'error' | 'warning' = 'error'): string {
  return issues
    .map((i) => {
      const where = i.line > 0 ? `${i.file}:${i.line}:${i.column}` : i.file;
      const label = severity === 'warning' ? 'warning: ' : '';
      const path = i.path ? `${i.path}: ` : '';
      return `${where}: ${label}${path}${i.message}${i.hint ? ` (hint: ${i.hint})` : ''}`;
    })
    .join('\n');
}
