import diagnosticsChannel from 'node:diagnostics_channel';

// The hook the TLS code calls after a handshake with an origin: the alerter warns before
// the certificate expires. A channel rather than a callback, so the upstream code needs
// no reference to the alerter, and publishing costs nothing when nobody listens.

export type CertificateEvent = {
  readonly pool: string;
  /** host:port of the endpoint. */
  readonly endpoint: string;
  readonly subject: string | null;
  readonly validTo: Date;
};

export const certificateChannel = diagnosticsChannel.channel('gatewise:tls:certificate');

export function publishCertificate(e: CertificateEvent): void {
  if (certificateChannel.hasSubscribers) certificateChannel.publish(e);
}

/** From what tls.TLSSocket#getPeerCertificate() returns; ignores a certificate without a date. */
export function publishPeerCertificate(pool: string, endpoint: string, cert: { valid_to?: string; subject?: { CN?: string | string[] } } | null): void {
  if (!certificateChannel.hasSubscribers || !cert?.valid_to) return;
  const validTo = new Date(cert.valid_to);
  if (Number.isNaN(validTo.getTime())) return;
  const cn = cert.subject?.CN;
  publishCertificate({ pool, endpoint, subject: Array.isArray(cn) ? (cn[0] ?? null) : (cn ?? null), validTo });
}
