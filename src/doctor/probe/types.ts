// The shape of what `gatewise doctor URL` found, hop by hop. It is also the --json output,
// so fields are plain data (no Errors, no Buffers) and absent facts are null rather than
// missing, which keeps scripts from guessing whether a field was forgotten or unknown.
import type { ProxyErrorType } from '../../errors/types.ts';

/** A failure as the doctor reports it; `type` keys the shared explanation table. */
export type ProbeFailure = {
  /** What the system said: ECONNREFUSED, NXDOMAIN, DEPTH_ZERO_SELF_SIGNED_CERT, HTTP_502, … */
  readonly code: string;
  readonly type: ProxyErrorType | null;
  /** One line naming the address and the limit. */
  readonly message: string;
};

export type DnsAnswer = { readonly address: string; readonly family: 4 | 6; readonly ttl: number | null };

export type DnsStep = {
  readonly name: string;
  /** How the addresses were found: DNS queries, the system (getaddrinfo), or none needed. */
  readonly source: 'dns' | 'system' | 'ip-literal' | 'pinned';
  /** The DNS servers asked, e.g. `127.0.0.1:5353`; null when no server was asked. */
  readonly resolver: string | null;
  readonly ms: number;
  readonly answers: DnsAnswer[];
  /** The query of one family that failed while the other may have answered. */
  readonly queryErrors: { family: 4 | 6; code: string }[];
  readonly failure: ProbeFailure | null;
  readonly note: string | null;
};

export type TcpOutcome = 'connected' | 'refused' | 'timeout' | 'unreachable' | 'error';

export type TcpStep = {
  readonly address: string;
  readonly family: 4 | 6;
  readonly port: number;
  readonly outcome: TcpOutcome;
  readonly ms: number;
  readonly failure: ProbeFailure | null;
};

export type CertInfo = {
  readonly subject: string;
  readonly issuer: string;
  readonly validTo: string;
  readonly daysLeft: number;
  readonly altNames: string | null;
};

export type TlsStep = {
  readonly address: string;
  readonly ms: number;
  readonly protocol: string | null;
  readonly alpn: string | null;
  readonly cipher: string | null;
  /** The chain verified against the trusted CAs. */
  readonly authorized: boolean;
  /** OpenSSL's verify code when it did not: DEPTH_ZERO_SELF_SIGNED_CERT, CERT_HAS_EXPIRED, … */
  readonly verifyError: string | null;
  /** tls.checkServerIdentity for the URL's host; null when no certificate came. */
  readonly hostMatch: boolean | null;
  readonly hostError: string | null;
  /** Leaf first. */
  readonly chain: CertInfo[];
  readonly daysLeft: number | null;
  readonly failure: ProbeFailure | null;
};

export type RevealingHeader = { readonly name: string; readonly value: string };

/** One Proxy-Status member with the shared explanation of its error type. */
export type ExplainedProxyStatus = {
  readonly proxy: string;
  readonly error: string | null;
  readonly title: string | null;
  readonly check: string | null;
  readonly details: string | null;
  readonly nextHop: string | null;
  readonly receivedStatus: number | null;
};

export type HttpStep = {
  readonly address: string;
  readonly httpVersion: string | null;
  readonly status: number | null;
  readonly statusText: string | null;
  /** From the request leaving to the response headers. */
  readonly ttfbMs: number | null;
  /** From the request leaving to the end of the body (or the failure). */
  readonly totalMs: number;
  readonly bytes: number;
  /** True when the doctor stopped reading a large body: not a failure. */
  readonly truncated: boolean;
  /** The headers that tell who answered: Server, Via, Proxy-Status, CF-Ray, X-Cache, … */
  readonly headers: RevealingHeader[];
  readonly proxyStatus: ExplainedProxyStatus[];
  /** A transport failure, a 5xx, or an error member in Proxy-Status. */
  readonly failure: ProbeFailure | null;
};

export type WalkHop = 'dns' | 'tcp' | 'tls' | 'http';

/** One pass DNS → TCP → TLS → HTTP, to the URL or straight to the origin. */
export type Walk = {
  readonly target: 'url' | 'origin';
  /** Where the request went: the URL, or the origin's scheme://host:port with the URL's path. */
  readonly url: string;
  /** Sent as Host (and SNI when a name): the URL's, also when asking the origin directly. */
  readonly hostHeader: string;
  readonly startedAt: string;
  readonly ms: number;
  readonly dns: DnsStep;
  readonly tcp: TcpStep[];
  readonly tls: TlsStep | null;
  readonly http: HttpStep | null;
  readonly failedAt: WalkHop | null;
};

export type DoctorHop = 'dns' | 'tcp' | 'tls' | 'http-gateway' | 'http-origin' | 'none';

export type HopShare = {
  /** Runs that got as far as this hop. */
  readonly reached: number;
  readonly failed: number;
  /** failed / all runs. */
  readonly share: number;
};

export type Comparison = {
  readonly origin: string;
  readonly urlStatus: number | null;
  readonly originStatus: number | null;
  readonly urlFailedAt: WalkHop | null;
  readonly originFailedAt: WalkHop | null;
  readonly sentence: string;
};

export type Verdict = {
  readonly ok: boolean;
  readonly hop: DoctorHop;
  /** The cause in plain words. */
  readonly cause: string;
  readonly type: ProxyErrorType | null;
  readonly code: string | null;
  readonly fixes: string[];
  /** Some runs failed and others did not. */
  readonly intermittent: boolean;
};

export type DoctorReport = {
  readonly url: string;
  readonly generatedAt: string;
  readonly settings: {
    readonly resolver: string | null;
    readonly connectTimeoutMs: number;
    readonly dnsTimeoutMs: number;
    readonly timeoutMs: number;
    readonly repeat: number;
    readonly intervalMs: number;
    readonly origin: string | null;
  };
  readonly runs: Walk[];
  readonly originRuns: Walk[];
  readonly shares: Record<WalkHop, HopShare>;
  readonly originShares: Record<WalkHop, HopShare> | null;
  readonly comparison: Comparison | null;
  readonly warnings: string[];
  readonly verdict: Verdict;
};
