// The fixes for a cause: first the operator advice of its error type from the shared
// table (the same words the error page and the logs use), then the commands that check it
// from where the doctor stands, which only the doctor knows (the resolver, the address).
import { isIP } from 'node:net';
import { PROXY_ERROR_TYPES } from '../../errors/types.ts';
import { hostPort } from '../probe/tcp.ts';
import type { ProbeFailure, Walk } from '../probe/types.ts';

export function fixesFor(failure: ProbeFailure, w: Walk): string[] {
  const fixes: string[] = [];
  if (failure.type !== null) fixes.push(PROXY_ERROR_TYPES[failure.type].operator);
  const check = checkFor(failure, w);
  if (check !== null) fixes.push(check);
  return fixes;
}

function checkFor(failure: ProbeFailure, w: Walk): string | null {
  const name = w.dns.name;
  const server = w.dns.resolver?.split(', ')[0];
  const at = digAt(server);
  const tcp = w.tcp.find((t) => t.failure === failure) ?? w.tcp[0];
  const port = tcp?.port;
  switch (failure.code) {
    case 'NXDOMAIN':
    case 'NODATA':
      return `Check the name for a typo and that its A/AAAA records exist: dig ${at}${name} A`;
    case 'SERVFAIL':
      return `The resolver could not reach the zone's servers, or DNSSEC validation failed: compare dig ${at}${name} A with dig +cd ${at}${name} A`;
    case 'TIMEOUT':
    case 'CONNREFUSED':
      return `Check that the resolver ${server ?? ''} is reachable on port 53 (UDP and TCP) from here`;
    case 'ECONNREFUSED':
      return `On ${tcp?.address ?? 'the host'}: ss -ltnp 'sport = :${port}' shows what listens; a service bound to 127.0.0.1 refuses every other address`;
    case 'CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return `Look for a firewall rule that drops port ${port} (security group, iptables/nftables DROP) between here and ${tcp?.address}, and check that the host is up`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
      return `ip route get ${tcp?.address} shows which route (if any) leads there`;
  }
  if (failure.type === null && failure.code.startsWith('HTTP_5')) {
    return `Read the application's error log for this request on ${tcp ? hostPort(tcp.address, tcp.port) : name}: the network path to it works`;
  }
  if (failure.type === 'tls_certificate_error' || failure.type === 'tls_protocol_error' || failure.type === 'tls_alert_received') {
    const sni = isIP(name) ? '' : ` -servername ${name}`;
    return `openssl s_client -connect ${tcp ? hostPort(tcp.address, tcp.port) : name}${sni} -showcerts shows the handshake and the chain the server sends`;
  }
  return null;
}

/** dig's spelling of a resolver: `@ADDR` and `-p PORT` apart. */
function digAt(server: string | undefined): string {
  if (!server) return '';
  const m = /^\[(.+)\]:(\d+)$/.exec(server) ?? /^([^:]+):(\d+)$/.exec(server);
  if (!m) return `@${server} `;
  return m[2] === '53' ? `@${m[1]} ` : `@${m[1]} -p ${m[2]} `;
}
