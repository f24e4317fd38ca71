// The TLS hop, over the socket the TCP hop opened. The handshake is allowed to complete
// with a certificate that does not verify, the way `curl -k` does, so the report can say
// what is wrong with the certificate (the verify code, the host names it covers, its
// expiry) and still show what answers behind it; the verdict counts it as the failure.
import type { Socket } from 'node:net';
import tls, { type PeerCertificate, type TLSSocket } from 'node:tls';
import { elapsed } from './clock.ts';
import { codedError, probeFailure } from './failure.ts';
import type { Target } from './target.ts';
import { hostPort } from './tcp.ts';
import type { CertInfo, TlsStep } from './types.ts';

export type TlsOptions = { readonly timeoutMs: number; readonly ca: string | Buffer | null };
export type TlsResult = { step: TlsStep; socket: TLSSocket | null };

/** OpenSSL's verify codes in words, for the ones people meet. */
const VERIFY_CODES: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the certificate is self-signed: no trusted CA issued it',
  SELF_SIGNED_CERT_IN_CHAIN: 'the chain ends in a CA this machine does not trust',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'the issuer is unknown: the server may not send its intermediate certificate',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'the issuer is unknown: the server may not send its intermediate certificate',
  CERT_HAS_EXPIRED: 'the certificate has expired',
  CERT_NOT_YET_VALID: 'the certificate is not valid yet (or this machine’s clock is wrong)',
};

const DAY_MS = 86_400_000;

export function probeTls(socket: Socket, target: Target, opts: TlsOptions): Promise<TlsResult> {
  const address = socket.remoteAddress ?? target.host;
  const endpoint = hostPort(address, target.port);
  const ctx = { progress: 'connecting' as const, endpoint, connectMs: opts.timeoutMs, responseMs: 0 };
  const started = performance.now();
  const empty = { address, protocol: null, alpn: null, cipher: null, authorized: false, verifyError: null, hostMatch: null, hostError: null, chain: [], daysLeft: null };
  return new Promise((resolve) => {
    const secure = tls.connect({
      socket,
      ...(target.servername === null ? {} : { servername: target.servername }),
      ALPNProtocols: ['h2', 'http/1.1'],
      rejectUnauthorized: false,
      ...(opts.ca === null ? {} : { ca: opts.ca }),
      // The host name is checked below, apart from the chain, so each gets its own answer.
      checkServerIdentity: () => undefined,
    });
    const signal = AbortSignal.timeout(opts.timeoutMs);
    const onTimeout = () => secure.destroy(codedError('ERR_TLS_HANDSHAKE_TIMEOUT', 'TLS handshake timeout'));
    signal.addEventListener('abort', onTimeout, { once: true });
    secure.once('error', (err) => {
      signal.removeEventListener('abort', onTimeout);
      secure.destroy();
      const message = signal.aborted
        ? `no TLS handshake with ${endpoint} within ${opts.timeoutMs} ms: does this port speak TLS?`
        : `the TLS handshake with ${endpoint} failed: ${handshakeError(err)}`;
      resolve({ step: { ...empty, ms: elapsed(started), failure: probeFailure(err, ctx, message, signal.aborted ? 'TLS_TIMEOUT' : undefined) }, socket: null });
    });
    secure.once('secureConnect', () => {
      signal.removeEventListener('abort', onTimeout);
      secure.removeAllListeners('error');
      secure.on('error', () => {});
      const ms = elapsed(started);
      const peer = secure.getPeerCertificate(true);
      const hasCert = peer !== null && Object.keys(peer).length > 0;
      const identity = hasCert ? tls.checkServerIdentity(target.host, peer) : undefined;
      const verifyError = secure.authorized ? null : String(secure.authorizationError ?? 'UNKNOWN');
      const chain = hasCert ? chainOf(peer) : [];
      const step: TlsStep = {
        address,
        ms,
        protocol: secure.getProtocol() ?? null,
        alpn: secure.alpnProtocol || null,
        cipher: secure.getCipher()?.name ?? null,
        authorized: secure.authorized,
        verifyError,
        hostMatch: hasCert ? identity === undefined : null,
        hostError: identity?.message ?? null,
        chain,
        daysLeft: chain[0]?.daysLeft ?? null,
        failure: null,
      };
      let failure = null;
      if (verifyError !== null) {
        const words = VERIFY_CODES[verifyError] ?? 'the chain does not verify';
        failure = probeFailure(codedError(verifyError, words), ctx, `the certificate of ${endpoint} failed verification: ${verifyError} (${words})`);
      } else if (identity !== undefined) {
        failure = probeFailure(identity, ctx, `the certificate of ${endpoint} is not for ${target.host}: ${identity.message}`);
      }
      resolve({ step: { ...step, failure }, socket: secure });
    });
  });
}

/** OpenSSL's reason without its file and line; the one everybody meets gets its meaning. */
function handshakeError(err: Error): string {
  const { code, reason } = err as Error & { code?: string; reason?: string };
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER') return `${code}: the port answered in plain text: it speaks HTTP, not TLS (use http:// or the TLS port)`;
  return reason ? `${reason}${code ? ` (${code})` : ''}` : err.message;
}

function chainOf(leaf: tls.DetailedPeerCertificate): CertInfo[] {
  const out: CertInfo[] = [];
  const seen = new Set<string>();
  let cert: tls.DetailedPeerCertificate | undefined = leaf;
  while (cert && Object.keys(cert).length > 0 && !seen.has(cert.fingerprint256)) {
    seen.add(cert.fingerprint256);
    out.push(certInfo(cert));
    cert = cert.issuerCertificate;
  }
  return out;
}

function certInfo(c: PeerCertificate): CertInfo {
  return {
    subject: nameOf(c.subject),
    issuer: nameOf(c.issuer),
    validTo: new Date(c.valid_to).toISOString(),
    daysLeft: Math.floor((Date.parse(c.valid_to) - Date.now()) / DAY_MS),
    altNames: c.subjectaltname ?? null,
  };
}

function nameOf(n: tls.Certificate | undefined): string {
  if (!n) return '';
  const cn = n.CN;
  if (cn) return Array.isArray(cn) ? cn.join(', ') : cn;
  return Object.entries(n)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : v}`)
    .join(', ');
}
