// The lab's self-signed certificate (CN=localhost, SAN localhost, 127.0.0.1, ::1, valid
// until 2126), committed under test/fixtures/tls/ so every run sees the same one. A
// verifying client rejects it (DEPTH_ZERO_SELF_SIGNED_CERT); a client given
// TLS_CERT_PATH as its CA trusts it. Regenerate with:
//   openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
//     -keyout localhost-key.pem -out localhost-cert.pem -days 36500 -subj /CN=localhost \
//     -addext subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = new URL('../../test/fixtures/tls/', import.meta.url);

export const TLS_CERT_PATH = fileURLToPath(new URL('localhost-cert.pem', dir));
export const TLS_KEY_PATH = fileURLToPath(new URL('localhost-key.pem', dir));

export type TlsFixture = { key: Buffer; cert: Buffer };

let cached: TlsFixture | undefined;

/** The key and certificate; `cert` doubles as the CA of a client that should trust the origin. */
export function loadTlsFixture(): TlsFixture {
  cached ??= { key: readFileSync(TLS_KEY_PATH), cert: readFileSync(TLS_CERT_PATH) };
  return cached;
}
