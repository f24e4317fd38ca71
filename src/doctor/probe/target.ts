// Where each walk goes. The request to the origin keeps the URL's Host and SNI and only
// changes the address, as `curl --resolve` does: an origin behind a CDN or a gateway often
// serves several sites and picks one by Host, so asking it by IP would test another site.
import { isIP } from 'node:net';

/** A bad URL or flag: the CLI turns it into exit code 2. */
export class DoctorUsageError extends Error {
  override readonly name = 'DoctorUsageError';
}

export type Target = {
  readonly scheme: 'http' | 'https';
  /** Host name or IP to look up, without IPv6 brackets. */
  readonly host: string;
  readonly port: number;
  /** Path and query as sent. */
  readonly path: string;
  /** The URL's host[:port], sent as Host. */
  readonly hostHeader: string;
  /** The name for SNI and the certificate check; null for an IP (SNI forbids IPs). */
  readonly servername: string | null;
  /** When set, the address to connect to instead of looking `host` up. */
  readonly pinnedAddress: string | null;
  readonly url: string;
};

export function parseTarget(input: string): Target {
  let u: URL;
  try {
    u = new URL(input);
  } catch {
    throw new DoctorUsageError(`"${input}" is not a URL; write e.g. https://example.com/health`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new DoctorUsageError(`"${input}": only http:// and https:// URLs can be diagnosed`);
  }
  const scheme = u.protocol === 'https:' ? 'https' : 'http';
  const host = stripBrackets(u.hostname);
  return {
    scheme,
    host,
    port: u.port ? Number(u.port) : scheme === 'https' ? 443 : 80,
    path: `${u.pathname}${u.search}`,
    hostHeader: u.host,
    servername: isIP(host) ? null : host,
    pinnedAddress: null,
    url: u.href,
  };
}

/**
 * `--origin HOST:PORT` or `--origin http(s)://HOST:PORT`: the same request, straight to the
 * origin. A bare HOST:PORT keeps the URL's scheme.
 */
export function originTarget(url: Target, origin: string): Target {
  const withScheme = /^https?:\/\//i.test(origin) ? origin : `${url.scheme}://${origin}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    throw new DoctorUsageError(`--origin "${origin}" is not HOST:PORT; write e.g. --origin 10.0.0.7:8080`);
  }
  if (u.pathname !== '/' || u.search) throw new DoctorUsageError(`--origin "${origin}" must not have a path: the URL's path is used`);
  const scheme = u.protocol === 'https:' ? 'https' : 'http';
  const host = stripBrackets(u.hostname);
  return {
    ...url,
    scheme,
    host,
    port: u.port ? Number(u.port) : scheme === 'https' ? 443 : 80,
    url: `${scheme}://${u.host}${url.path}`,
  };
}

/** `--resolve HOST:PORT:ADDR`, as curl spells it: the URL's host, answered by ADDR. */
export function resolveTarget(url: Target, spec: string): Target {
  const m = /^(\[[^\]]+\]|[^:]+):(\d+):(.+)$/.exec(spec);
  if (!m) throw new DoctorUsageError(`--resolve "${spec}" is not HOST:PORT:ADDR; write e.g. --resolve example.com:443:203.0.113.7`);
  const host = stripBrackets(m[1]!);
  const port = Number(m[2]);
  const address = stripBrackets(m[3]!);
  if (host.toLowerCase() !== url.host.toLowerCase()) {
    throw new DoctorUsageError(`--resolve "${spec}" is for ${host}, but the URL's host is ${url.host}`);
  }
  if (!isIP(address)) throw new DoctorUsageError(`--resolve "${spec}": ${address} is not an IP address`);
  checkPort(port, `--resolve "${spec}"`);
  const bracketed = address.includes(':') ? `[${address}]` : address;
  return { ...url, port, pinnedAddress: address, url: `${url.scheme}://${bracketed}:${port}${url.path}` };
}

/** `HOST:PORT` or `[v6]:PORT` for --resolver; a bare host gets port 53. */
export function parseResolver(spec: string): string {
  const m = /^(\[[^\]]+\]|[^:[\]]+)(?::(\d+))?$/.exec(spec);
  if (!m || !isIP(stripBrackets(m[1]!))) {
    throw new DoctorUsageError(`--resolver "${spec}" is not IP:PORT; write e.g. --resolver 1.1.1.1:53`);
  }
  const port = m[2] === undefined ? 53 : Number(m[2]);
  checkPort(port, `--resolver "${spec}"`);
  const ip = stripBrackets(m[1]!);
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function checkPort(port: number, what: string): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new DoctorUsageError(`${what}: the port must be 1-65535`);
}

function stripBrackets(h: string): string {
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
}
