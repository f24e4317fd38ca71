// What one request/response over an open connection produced, whatever the HTTP version;
// http.ts judges it. Both clients share the limits below.

export type ExchangeRequest = {
  readonly method: string;
  readonly path: string;
  /** Sent as Host (HTTP/1.1) or :authority (h2). */
  readonly authority: string;
  /** Extra request headers, names lower-case. */
  readonly headers: Readonly<Record<string, string>>;
  /** For the response headers and the whole body together. */
  readonly timeoutMs: number;
};

export type Exchange = {
  readonly httpVersion: string | null;
  readonly status: number | null;
  readonly statusText: string | null;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly ttfbMs: number | null;
  readonly totalMs: number;
  readonly bytes: number;
  readonly truncated: boolean;
  /** What ended the exchange early; null when the body was read to its end. */
  readonly error: unknown;
  readonly timedOut: boolean;
};

export const USER_AGENT = 'gatewise-doctor/0.1';

/** The doctor needs the headers and to know the body arrives, not a whole download. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;
