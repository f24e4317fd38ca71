// The vocabulary the log doctor speaks. Every parser answers in these words, so
// that an nginx line and a Caddy line about the same failure count together.

export const CAUSES = [
  'upstream_refused',
  'upstream_timeout_connect',
  'upstream_timeout_read',
  'upstream_reset',
  'upstream_closed_prematurely',
  'no_live_upstreams',
  'dns_failure',
  'header_too_big',
  'invalid_upstream_response',
  'tls_upstream_failure',
  'socket_missing',
  'socket_permission_denied',
  'socket_backlog_full',
  'fpm_pool_exhausted',
  'fpm_request_terminated',
  'app_crash',
  'app_fatal_error',
  'script_not_found',
  'client_closed',
  'firewall_blocked',
  'gateway_misconfig',
] as const;

export type ErrorCause = (typeof CAUSES)[number];
export type Cause = ErrorCause | 'not_an_error';

/** Which link of client → gateway → upstream → app broke. */
export type LogHop = 'client' | 'gateway' | 'upstream' | 'app';

export const LOG_FORMATS = [
  'nginx-error',
  'nginx-access',
  'apache-error',
  'php-fpm',
  'haproxy',
  'caddy',
  'traefik',
  'gatewise',
] as const;

export type KnownLogFormat = (typeof LOG_FORMATS)[number];
export type LogFormat = KnownLogFormat | 'unknown';

export type LineResult = {
  readonly format: KnownLogFormat;
  readonly cause: Cause;
  /** null for lines that are not errors. */
  readonly hop: LogHop | null;
  /** The status the user saw, when the line tells it (null: not known or no response). */
  readonly status: number | null;
  /** Epoch milliseconds; naive local timestamps are read as UTC. */
  readonly time: number | null;
  readonly upstream: string | null;
  /** Cause guessed from status and timings rather than read from an error message. */
  readonly inferred?: boolean;
  /** An error-level line that no rule understood (still `not_an_error`). */
  readonly unrecognized?: boolean;
  /**
   * A line that repeats the previous line's failure for the same request (Apache's
   * AH01114 after AH00957): it takes the detailed line's cause and is not counted twice.
   */
  readonly summary?: boolean;
  /** Key tying a summary line to its detailed line (Apache's pid:tid). */
  readonly requestKey?: string;
  /** PHP-FPM pool name and the limit it reported (pm.max_children). */
  readonly pool?: string;
  readonly limit?: number;
  /** Seconds a request ran before PHP-FPM terminated it. */
  readonly elapsedSec?: number;
};

export type LogInput = {
  readonly name: string;
  readonly lines: AsyncIterable<string> | Iterable<string>;
};

export type ConfigChange = {
  /** Where the setting lives, e.g. "/etc/php/8.2/fpm/pool.d/www.conf". */
  readonly file: string;
  readonly directive: string;
  /** The value to consider, with the reasoning that sizes it. */
  readonly value: string;
};

export type Finding = {
  readonly id: string;
  readonly title: string;
  readonly causes: readonly ErrorCause[];
  readonly hop: LogHop;
  /** Lines that this finding explains. */
  readonly lines: number;
  /** What users saw, status → lines. */
  readonly statuses: Readonly<Record<string, number>>;
  readonly upstreams: readonly string[];
  readonly firstSeen: string | null;
  readonly lastSeen: string | null;
  /** What happened, with the numbers. */
  readonly summary: string;
  readonly fix: string;
  readonly changes: readonly ConfigChange[];
  /** A few of the lines, as "file:line: text". */
  readonly evidence: readonly string[];
};

export type CauseCount = {
  readonly cause: ErrorCause;
  readonly hop: LogHop;
  readonly count: number;
  readonly statuses: Readonly<Record<string, number>>;
  readonly formats: readonly KnownLogFormat[];
  readonly firstSeen: string | null;
  readonly lastSeen: string | null;
};

export type FileSummary = {
  readonly name: string;
  readonly format: LogFormat;
  readonly lines: number;
  /** Lines some parser understood (errors and not). */
  readonly classified: number;
  readonly errors: number;
  /** Error-level lines no rule understood. */
  readonly unrecognized: number;
};

export type MinuteCount = {
  /** ISO time of the bucket's start. */
  readonly minute: string;
  readonly count: number;
  readonly causes: Readonly<Partial<Record<ErrorCause, number>>>;
};

export type LogReport = {
  readonly files: readonly FileSummary[];
  readonly totals: {
    readonly lines: number;
    readonly classified: number;
    readonly errors: number;
    /** Repeated lines about a failure already counted (Apache summary lines). */
    readonly repeats: number;
    readonly unrecognized: number;
  };
  /** First and last error seen. */
  readonly firstSeen: string | null;
  readonly lastSeen: string | null;
  readonly byCause: readonly CauseCount[];
  readonly byUpstream: readonly { readonly upstream: string; readonly count: number }[];
  readonly byStatus: Readonly<Record<string, number>>;
  readonly byMinute: readonly MinuteCount[];
  readonly findings: readonly Finding[];
};
