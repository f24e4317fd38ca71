import { PROXY_ERROR_TYPES, type ProxyErrorType } from './types.ts';

/** Where in the life of one upstream attempt the failure happened. */
export type Stage = 'dns' | 'connect' | 'tls' | 'send' | 'headers' | 'body' | 'route' | 'request';

/** Who caused it (Pingora's ErrorSource). */
export type ErrorSource = 'upstream' | 'downstream' | 'internal';

/**
 * Whether sending the request again is safe, as far as this failure tells:
 * - `yes`: no request byte reached the origin (DNS, refused, connect timeout, TLS): any method;
 * - `if-reused`: the request was written to a pooled connection that the origin had already
 *   closed, and not one response byte came back: the keep-alive race, where the origin never
 *   read it. Any method when the connection was reused; otherwise as `idempotent`;
 * - `idempotent`: the origin may have acted on it: only idempotent methods (RFC 9110 §9.2.2);
 * - `no`: never (the answer already reached the client, or retrying cannot help).
 * The layer that knows sets it; the attempt loop resolves it against the method.
 */
export type RetrySafety = 'yes' | 'if-reused' | 'idempotent' | 'no';

/** The attempt that failed: which pool, which endpoint, which try. */
export type AttemptHop = {
  readonly pool: string;
  /** host:port of the endpoint; shown to visitors only when the operator allows it. */
  readonly endpoint: string;
  readonly attempt: number;
  readonly reused: boolean;
};

export type ProxyErrorInit = {
  readonly type: ProxyErrorType;
  /** Stable snake_case sub-reason, in the style of Envoy's response-code details. */
  readonly detail: string;
  readonly message: string;
  readonly source: ErrorSource;
  /** `local`: the gateway saw it happen (timeout, reset); `remote`: the origin said so. */
  readonly origin: 'local' | 'remote';
  readonly stage: Stage;
  readonly retry: RetrySafety;
  readonly hop?: AttemptHop | undefined;
  readonly cause?: unknown;
  /** Overrides the status the RFC recommends for the type (e.g. 408 for a slow client). */
  readonly status?: number;
  /** Parameters for the Proxy-Status member beyond error and details (rcode, info, …). */
  readonly params?: Readonly<Record<string, string | number>>;
  /** When the client may try again, if the gateway knows (a shed, maintenance). */
  readonly retryAfterSeconds?: number;
};

export class ProxyError extends Error {
  override readonly name = 'ProxyError';
  readonly type: ProxyErrorType;
  readonly detail: string;
  readonly source: ErrorSource;
  readonly origin: 'local' | 'remote';
  readonly stage: Stage;
  readonly retry: RetrySafety;
  readonly hop: AttemptHop | undefined;
  readonly status: number;
  readonly params: Readonly<Record<string, string | number>>;
  readonly retryAfterSeconds: number | null;
  /** Context added while the error travelled up, outermost last. */
  readonly context: string[] = [];

  constructor(init: ProxyErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.type = init.type;
    this.detail = init.detail;
    this.source = init.source;
    this.origin = init.origin;
    this.stage = init.stage;
    this.retry = init.retry;
    this.hop = init.hop;
    this.status = init.status ?? PROXY_ERROR_TYPES[init.type].status;
    this.params = init.params ?? {};
    this.retryAfterSeconds = init.retryAfterSeconds ?? null;
  }

  /** A copy that knows which attempt it happened on. */
  withHop(hop: AttemptHop): ProxyError {
    const e = new ProxyError({ ...this.init(), hop });
    e.context.push(...this.context);
    return e;
  }

  /** Adds context without repeating what is already said (Pingora's `more_context`). */
  because(what: string): this {
    if (!this.message.includes(what) && !this.context.includes(what)) this.context.push(what);
    return this;
  }

  /** The message with its context, for operators. */
  explain(): string {
    return this.context.length === 0 ? this.message : `${this.message} (${this.context.join('; ')})`;
  }

  private init(): ProxyErrorInit {
    return {
      type: this.type,
      detail: this.detail,
      message: this.message,
      source: this.source,
      origin: this.origin,
      stage: this.stage,
      retry: this.retry,
      hop: this.hop,
      cause: this.cause,
      status: this.status,
      params: this.params,
      ...(this.retryAfterSeconds === null ? {} : { retryAfterSeconds: this.retryAfterSeconds }),
    };
  }
}
