import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { SecureContext } from 'node:tls';
import type { ListenTls } from '../config/schema.ts';

/** The host names a certificate is for: its DNS subjectAltNames, else its CN; lower-cased. */
export function certificateNames(pem: Buffer | string): string[] {
  const x = new X509Certificate(pem);
  const dns = (x.subjectAltName ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.startsWith('DNS:'))
    .map((s) => s.slice(4).toLowerCase());
  if (dns.length > 0) return dns;
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(x.subject)?.[1];
  return cn ? [cn.toLowerCase()] : [];
}

/**
 * Picks the certificate for the name a client asks for in its TLS handshake (SNI), among
 * those listed under `tls.sni`, by the names each certificate carries: an exact name first,
 * then a wildcard one level up (`*.example.com`); any other name gets the listener's own
 * certificate. `reload` reads the files again (a reload after a renewal).
 */
export class SniCertificates {
  private byName: Map<string, SecureContext>;

  constructor(tls: ListenTls) {
    this.byName = build(tls);
  }

  reload(tls: ListenTls): void {
    this.byName = build(tls);
  }

  readonly callback = (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void): void => {
    const name = servername.toLowerCase();
    const dot = name.indexOf('.');
    const ctx = this.byName.get(name) ?? (dot > 0 ? this.byName.get(`*${name.slice(dot)}`) : undefined);
    // No context of its own: the handshake goes on with the listener's default certificate.
    cb(null, ctx);
  };
}

function build(tls: ListenTls): Map<string, SecureContext> {
  const out = new Map<string, SecureContext>();
  for (const pair of tls.sni) {
    const cert = readFileSync(pair.cert);
    const ctx = process.getBuiltinModule('node:tls').createSecureContext({ cert, key: readFileSync(pair.key) });
    for (const name of certificateNames(cert)) if (!out.has(name)) out.set(name, ctx);
  }
  return out;
}
