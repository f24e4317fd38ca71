// The fix for each cause, with the directive to change on the server that logged it.
// Values are starting points with the reasoning that sizes them, not magic numbers.

import type { ConfigChange, ErrorCause, KnownLogFormat } from './types.ts';

type Server = 'nginx' | 'apache' | 'haproxy' | 'caddy' | 'traefik' | 'gatewise' | 'php-fpm';

export function serverOf(format: KnownLogFormat): Server {
  if (format === 'nginx-error' || format === 'nginx-access') return 'nginx';
  if (format === 'apache-error') return 'apache';
  return format;
}

type Fix = { readonly text: string; readonly changes: Partial<Record<Server, readonly ConfigChange[]>> };

const NGINX = '/etc/nginx/nginx.conf (or the site file in /etc/nginx/conf.d/)';
const APACHE = 'the VirtualHost file (/etc/apache2/sites-enabled/*.conf or /etc/httpd/conf.d/*.conf)';
const HAPROXY = '/etc/haproxy/haproxy.cfg';
const CADDY = 'Caddyfile';
const TRAEFIK = 'traefik.yml (static) / dynamic configuration';
const GATEWISE = 'gatewise.yaml';
const POOL = '/etc/php/<version>/fpm/pool.d/www.conf (the pool file)';

const KEEPALIVE_RULE =
  "the upstream's keep-alive (idle) timeout must be longer than the proxy's idle timeout for pooled connections, " +
  'so that the proxy, not the upstream, closes an idle connection';

export const FIXES: Readonly<Record<ErrorCause, Fix>> = {
  upstream_refused: {
    text: 'Nothing was listening on the upstream address: the service was stopped, crashed, restarting, or listens on another address/port (in containers, 127.0.0.1 is the proxy itself). Start it, and make the proxy point where it listens (ss -ltnp on the upstream host).',
    changes: {
      nginx: [{ file: NGINX, directive: 'proxy_pass / upstream { server … }', value: 'the address the service really listens on (service name in Docker/Kubernetes, not 127.0.0.1)' }],
      apache: [{ file: APACHE, directive: 'ProxyPass', value: 'the address the service really listens on; add retry=0 so a restart does not disable the worker for 60 s' }],
      haproxy: [{ file: HAPROXY, directive: 'server … check', value: 'the listening address; keep health checks on so traffic avoids a dead server' }],
      caddy: [{ file: CADDY, directive: 'reverse_proxy <upstream>', value: 'the listening address (dial 127.0.0.1 explicitly if the app binds IPv4 only: "localhost" may dial [::1])' }],
      traefik: [{ file: TRAEFIK, directive: 'services.<name>.loadBalancer.servers[].url', value: 'the listening address and port of the container' }],
      gatewise: [{ file: GATEWISE, directive: 'upstreams.<pool>.endpoints', value: 'the address the service really listens on' }],
    },
  },
  upstream_timeout_connect: {
    text: 'The TCP handshake never completed: a firewall drops the SYN, the host is down or unreachable, or its accept queue is full. Raising the connect timeout only delays the error; check the network path and the upstream host.',
    changes: {
      nginx: [{ file: NGINX, directive: 'proxy_connect_timeout', value: 'keep it short (1-5 s) so retries move on quickly; fix reachability (security groups, iptables, pod network)' }],
      apache: [{ file: APACHE, directive: 'ProxyPass … connectiontimeout=', value: '2-5 s; fix reachability' }],
      haproxy: [{ file: HAPROXY, directive: 'timeout connect', value: '2-5 s with "retries 3" and "option redispatch"' }],
      caddy: [{ file: CADDY, directive: 'transport http { dial_timeout }', value: '2-5 s; fix reachability' }],
      traefik: [{ file: TRAEFIK, directive: 'serversTransport.forwardingTimeouts.dialTimeout', value: '2-5 s; check that Traefik and the container share a network' }],
      gatewise: [{ file: GATEWISE, directive: 'timeouts.connect', value: '1-3 s; fix reachability' }],
    },
  },
  upstream_timeout_read: {
    text: 'The upstream accepted the request but did not answer within the read timeout: slow queries, a saturated worker pool or a hung process. Find the slow requests first; raise the timeout only for endpoints that legitimately take long.',
    changes: {
      nginx: [
        { file: NGINX, directive: 'proxy_read_timeout (HTTP) / fastcgi_read_timeout (PHP-FPM)', value: 'default 60s; set it just above the slowest legitimate request, in that location only' },
      ],
      apache: [{ file: APACHE, directive: 'ProxyTimeout or ProxyPass … timeout=', value: 'above the slowest legitimate request (default: Timeout, 60 s)' }],
      haproxy: [{ file: HAPROXY, directive: 'timeout server', value: 'above the slowest legitimate request' }],
      caddy: [{ file: CADDY, directive: 'transport http { response_header_timeout }', value: 'above the slowest legitimate request' }],
      traefik: [{ file: TRAEFIK, directive: 'serversTransport.forwardingTimeouts.responseHeaderTimeout', value: 'above the slowest legitimate request (0 = no limit)' }],
      gatewise: [{ file: GATEWISE, directive: 'timeouts.response_header', value: 'above the slowest legitimate request' }],
      'php-fpm': [{ file: POOL, directive: 'request_slowlog_timeout + slowlog', value: '5s, to see which scripts are slow' }],
    },
  },
  upstream_reset: {
    text: `The upstream reset the connection: it crashed, was killed, or closed a pooled keep-alive connection that the proxy then reused. For the keep-alive race, ${KEEPALIVE_RULE}.`,
    changes: {
      nginx: [{ file: NGINX, directive: 'upstream { keepalive_timeout }', value: "shorter than the upstream server's keep-alive timeout (Node.js: server.keepAliveTimeout, 5 s by default; gunicorn --keep-alive, 2 s)" }],
      apache: [{ file: APACHE, directive: 'ProxyPass … ttl=', value: "shorter than the backend's KeepAliveTimeout" }],
      haproxy: [{ file: HAPROXY, directive: 'timeout http-keep-alive (backend) / http-reuse safe', value: "shorter than the server's keep-alive timeout" }],
      caddy: [{ file: CADDY, directive: 'transport http { keepalive }', value: "shorter than the upstream's idle timeout" }],
      traefik: [{ file: TRAEFIK, directive: 'serversTransport.forwardingTimeouts.idleConnTimeout', value: "shorter than the upstream's keep-alive timeout (default 90 s is longer than most app servers')" }],
      gatewise: [{ file: GATEWISE, directive: 'upstreams.<pool>.keepalive_idle', value: "shorter than the upstream's keep-alive timeout" }],
    },
  },
  upstream_closed_prematurely: {
    text: `The upstream closed the connection before sending a complete response: the process died or was killed mid-request (PHP-FPM request_terminate_timeout, OOM killer, worker timeout), or it closed an idle keep-alive connection just as the proxy reused it — ${KEEPALIVE_RULE}. Check the upstream's own log at the same minute.`,
    changes: {
      nginx: [
        { file: NGINX, directive: 'upstream { keepalive_timeout } with proxy_http_version 1.1 and proxy_set_header Connection ""', value: "shorter than the upstream server's keep-alive timeout" },
      ],
      apache: [{ file: APACHE, directive: 'ProxyPass … ttl= / SetEnv proxy-initial-not-pooled 1', value: "ttl shorter than the backend's KeepAliveTimeout" }],
      haproxy: [{ file: HAPROXY, directive: 'timeout http-keep-alive / http-reuse safe', value: "shorter than the server's keep-alive timeout" }],
      caddy: [{ file: CADDY, directive: 'transport http { keepalive }', value: "shorter than the upstream's idle timeout" }],
      traefik: [{ file: TRAEFIK, directive: 'serversTransport.forwardingTimeouts.idleConnTimeout', value: "shorter than the upstream's keep-alive timeout" }],
      gatewise: [{ file: GATEWISE, directive: 'upstreams.<pool>.keepalive_idle', value: "shorter than the upstream's keep-alive timeout" }],
    },
  },
  no_live_upstreams: {
    text: 'Every server of the upstream group was marked failed (or had no endpoints), so the proxy did not even try. This follows other failures: fix those first, then make failure marking less trigger-happy for small pools.',
    changes: {
      nginx: [{ file: NGINX, directive: 'upstream { server … max_fails= fail_timeout= }', value: 'max_fails=3 fail_timeout=10s; with a single server, max_fails=0 so nginx keeps trying it' }],
      apache: [{ file: APACHE, directive: 'ProxyPass … retry=', value: 'retry=0 (or a few seconds) instead of the 60 s default' }],
      haproxy: [{ file: HAPROXY, directive: 'server … check inter / fall / rise, timeout queue', value: 'inter 2s fall 3 rise 2; add a backup server or raise maxconn if the queue expires (sQ)' }],
      caddy: [{ file: CADDY, directive: 'reverse_proxy { fail_duration / health_uri / lb_try_duration }', value: 'lb_try_duration 5s so a request waits for a healthy upstream' }],
      traefik: [{ file: TRAEFIK, directive: 'services.<name>.loadBalancer.healthCheck', value: 'interval 10s with a path that reflects readiness; check the service has running containers' }],
      gatewise: [{ file: GATEWISE, directive: 'upstreams.<pool>.health / breaker', value: 'eject fewer endpoints at once; add endpoints' }],
    },
  },
  dns_failure: {
    text: "The upstream's host name did not resolve (NXDOMAIN, SERVFAIL or resolver timeout). Check the name and its DNS records; in Docker the service name resolves only on a shared network.",
    changes: {
      nginx: [{ file: NGINX, directive: 'resolver + a variable in proxy_pass', value: 'resolver 127.0.0.11 valid=30s (Docker) or your DNS server; nginx resolves literal proxy_pass names only at startup' }],
      apache: [{ file: APACHE, directive: 'ProxyPass', value: 'a name that resolves from the Apache host (check /etc/hosts and resolv.conf)' }],
      haproxy: [{ file: HAPROXY, directive: 'resolvers + server … resolvers <name> init-addr last,libc,none', value: 'so HAProxy starts and re-resolves when the name comes back' }],
      caddy: [{ file: CADDY, directive: 'reverse_proxy <name:port>', value: 'a name that resolves inside the Caddy container/network' }],
      traefik: [{ file: TRAEFIK, directive: 'services.<name>.loadBalancer.servers[].url', value: 'a resolvable name; put Traefik on the service network' }],
      gatewise: [{ file: GATEWISE, directive: 'upstreams.<pool>.endpoints / dns', value: 'a resolvable name; check the resolver gatewise uses' }],
    },
  },
  header_too_big: {
    text: "The upstream's response headers (often large Set-Cookie or CSP headers) did not fit the proxy's header buffer. Raise the buffer, and trim the headers at the application.",
    changes: {
      nginx: [
        { file: NGINX, directive: 'proxy_buffer_size / proxy_buffers / proxy_busy_buffers_size', value: '16k / 8 16k / 32k (default 4k or 8k, one memory page)' },
        { file: NGINX, directive: 'fastcgi_buffer_size / fastcgi_buffers (PHP-FPM)', value: '32k / 16 16k' },
      ],
      apache: [{ file: APACHE, directive: 'ProxyIOBufferSize', value: '65536 (and LimitRequestFieldSize if the header goes back to the client)' }],
      haproxy: [{ file: HAPROXY, directive: 'tune.bufsize (global)', value: '32768 (default 16384); headers must fit in bufsize - tune.maxrewrite' }],
      caddy: [{ file: CADDY, directive: 'transport http { max_response_header }', value: '64KB or more' }],
      gatewise: [{ file: GATEWISE, directive: 'limits.max_response_header_bytes', value: 'above the largest legitimate header section (e.g. 65536)' }],
    },
  },
  invalid_upstream_response: {
    text: 'The upstream answered something that is not valid HTTP (or FastCGI): wrong protocol on the port (HTTPS or FastCGI where HTTP is expected), control characters in header names, broken chunked encoding. Check the scheme and protocol the proxy uses against what the upstream serves.',
    changes: {
      nginx: [{ file: NGINX, directive: 'proxy_pass http:// vs https:// vs fastcgi_pass', value: 'the protocol the upstream port really speaks' }],
      apache: [{ file: APACHE, directive: 'ProxyPass http:// vs fcgi:// vs https://', value: 'the protocol the backend port speaks' }],
      haproxy: [{ file: HAPROXY, directive: 'server … ssl / proto', value: 'match the server; inspect with "show errors" on the stats socket' }],
      caddy: [{ file: CADDY, directive: 'reverse_proxy / php_fastcgi / transport http { tls }', value: 'the protocol the upstream speaks' }],
      traefik: [{ file: TRAEFIK, directive: 'servers[].url scheme (http, https, h2c)', value: 'the protocol the upstream speaks' }],
      gatewise: [{ file: GATEWISE, directive: 'upstreams.<pool>.protocol', value: 'the protocol the upstream speaks' }],
    },
  },
  tls_upstream_failure: {
    text: 'The TLS handshake with the upstream failed: wrong SNI, untrusted or expired certificate, protocol or cipher mismatch, or plain HTTP on a TLS port.',
    changes: {
      nginx: [{ file: NGINX, directive: 'proxy_ssl_server_name on; proxy_ssl_name; proxy_ssl_trusted_certificate; proxy_ssl_protocols', value: 'send the SNI the upstream expects and trust its CA' }],
      apache: [{ file: APACHE, directive: 'SSLProxyEngine on; SSLProxyCACertificateFile; SSLProxyCheckPeerName', value: 'trust the backend CA; LoadModule ssl_module' }],
      haproxy: [{ file: HAPROXY, directive: 'server … ssl verify required ca-file <file> sni req.hdr(host)', value: 'trust the server CA and send SNI' }],
      caddy: [{ file: CADDY, directive: 'transport http { tls_server_name / tls_trust_pool }', value: 'the upstream certificate name and CA' }],
      traefik: [{ file: TRAEFIK, directive: 'serversTransport.rootCAs / serverName', value: 'the upstream CA and certificate name' }],
      gatewise: [{ file: GATEWISE, directive: 'upstreams.<pool>.tls.servername / ca', value: 'the upstream certificate name and CA' }],
    },
  },
  socket_missing: {
    text: 'The unix socket the gateway connects to does not exist: PHP-FPM (or the app) is not running, or listens on another path (a different PHP version, a different container). The two paths must be identical.',
    changes: {
      'php-fpm': [{ file: POOL, directive: 'listen', value: 'the same path as the gateway uses, e.g. /run/php/php8.2-fpm.sock; then start php-fpm' }],
      nginx: [{ file: NGINX, directive: 'fastcgi_pass unix:…', value: 'the path in the pool\'s "listen"' }],
      apache: [{ file: APACHE, directive: 'SetHandler "proxy:unix:…|fcgi://localhost"', value: 'the path in the pool\'s "listen"' }],
      caddy: [{ file: CADDY, directive: 'php_fastcgi unix//…', value: 'the path in the pool\'s "listen"' }],
    },
  },
  socket_permission_denied: {
    text: "The gateway's user may not open the unix socket: the socket's owner/group/mode exclude it, or SELinux denies it.",
    changes: {
      'php-fpm': [{ file: POOL, directive: 'listen.owner / listen.group / listen.mode', value: 'the web server user (www-data or nginx) / same group / 0660' }],
      nginx: [{ file: NGINX, directive: 'user', value: 'the user named in listen.owner/listen.group; with SELinux: setsebool -P httpd_can_network_connect 1' }],
    },
  },
  socket_backlog_full: {
    text: "The unix socket's accept queue was full (EAGAIN): PHP-FPM could not accept connections as fast as they came, usually because every child was busy.",
    changes: {
      'php-fpm': [
        { file: POOL, directive: 'listen.backlog', value: '511 or more, and net.core.somaxconn at least as high (sysctl)' },
        { file: POOL, directive: 'pm.max_children', value: '(RAM for PHP) / (average PHP process size, ~40-60 MB)' },
      ],
    },
  },
  fpm_pool_exhausted: {
    text: 'Every PHP-FPM child was busy, so new requests queued until the gateway gave up. Size the pool from memory, not by guess, and find what keeps children busy (slow log).',
    changes: {
      'php-fpm': [
        { file: POOL, directive: 'pm.max_children', value: '(RAM for PHP) / (average PHP process size, ~40-60 MB); e.g. 2 GB / 50 MB ≈ 40. Measure: ps -ylC php-fpm --sort:rss' },
        { file: POOL, directive: 'pm = dynamic, pm.max_spare_servers, request_slowlog_timeout = 5s, slowlog', value: 'to see which scripts hold children' },
      ],
      nginx: [{ file: NGINX, directive: 'fastcgi_read_timeout', value: 'leave as is: raising it only lengthens the queue' }],
    },
  },
  fpm_request_terminated: {
    text: 'PHP-FPM killed requests that ran past request_terminate_timeout, so the gateway saw the connection close without a response. Either make the script faster, or raise the limit; keep the limits in order: max_execution_time < request_terminate_timeout < fastcgi_read_timeout / proxy_read_timeout, so PHP stops the script cleanly and the gateway never gives up first.',
    changes: {
      'php-fpm': [{ file: POOL, directive: 'request_terminate_timeout', value: 'the longest legitimate request plus a margin (and above php.ini max_execution_time)' }],
      nginx: [{ file: NGINX, directive: 'fastcgi_read_timeout / proxy_read_timeout', value: 'a little longer than request_terminate_timeout' }],
      apache: [{ file: APACHE, directive: 'ProxyTimeout', value: 'a little longer than request_terminate_timeout' }],
    },
  },
  app_crash: {
    text: 'Application processes died: a segmentation fault (a PHP extension such as opcache JIT, xdebug, or a buggy module), SIGKILL from the OOM killer (dmesg | grep -i oom), or a non-zero exit. The requests they served were lost.',
    changes: {
      'php-fpm': [
        { file: POOL, directive: 'pm.max_requests', value: '500, so leaking children are recycled' },
        { file: POOL, directive: 'pm.max_children', value: 'lower if the OOM killer is involved: (RAM for PHP) / (average PHP process size)' },
      ],
    },
  },
  app_fatal_error: {
    text: 'The application itself failed (PHP Fatal error, uncaught exception, memory_limit exhausted) and answered 500 or nothing. Fix the code path in the message; raise memory_limit only if the allocation is legitimate.',
    changes: {
      'php-fpm': [{ file: '/etc/php/<version>/fpm/php.ini or the pool file (php_admin_value[memory_limit])', directive: 'memory_limit', value: 'only if "Allowed memory size … exhausted" and the data set is legitimately large' }],
    },
  },
  script_not_found: {
    text: 'PHP-FPM could not find the script path the gateway sent (SCRIPT_FILENAME): the document root differs between the gateway and PHP-FPM (different container, different path), or the file really does not exist.',
    changes: {
      nginx: [
        { file: NGINX, directive: 'root and fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name', value: 'a path that exists inside the PHP-FPM container/host' },
        { file: NGINX, directive: 'try_files $uri =404;', value: 'in the PHP location, so missing scripts are a clean 404' },
      ],
      apache: [{ file: APACHE, directive: 'ProxyPassMatch / SetHandler fcgi path, DocumentRoot', value: 'the document root as PHP-FPM sees it' }],
      caddy: [{ file: CADDY, directive: 'root * <path> (with php_fastcgi)', value: 'the document root as PHP-FPM sees it' }],
    },
  },
  client_closed: {
    text: 'Clients disconnected before the answer (nginx 499, HAProxy C-/c-). Usually a symptom: the upstream was slow and the client or a load balancer in front timed out first. Compare with the timeouts in front of the gateway.',
    changes: {
      nginx: [{ file: NGINX, directive: 'proxy_ignore_client_abort', value: 'on, only if requests must complete even when the client leaves (e.g. payments)' }],
      haproxy: [{ file: HAPROXY, directive: 'timeout client', value: 'at least as long as timeout server' }],
    },
  },
  firewall_blocked: {
    text: 'The network refused the path to the upstream (No route to host / Network unreachable, usually an ICMP reject from a firewall rule, security group or a container on another network).',
    changes: {
      nginx: [{ file: 'the firewall (iptables/nftables, security group, NetworkPolicy)', directive: 'allow gateway → upstream:port', value: 'the upstream port from the gateway host' }],
      haproxy: [{ file: 'the firewall (iptables/nftables, security group)', directive: 'allow gateway → upstream:port', value: 'the server port from the HAProxy host' }],
      gatewise: [{ file: GATEWISE, directive: 'upstreams.<pool>.endpoints / allowed destinations', value: 'an address the gateway may reach' }],
    },
  },
  gateway_misconfig: {
    text: "The gateway's own configuration failed the request (or kept the gateway from starting): an upstream host that does not resolve at start, a rewrite loop, a missing proxy module, exhausted worker connections.",
    changes: {
      nginx: [{ file: NGINX, directive: 'nginx -t; resolver for names that appear later; worker_connections', value: 'fix what nginx -t reports' }],
      apache: [{ file: '/etc/apache2/mods-enabled or httpd.conf', directive: 'LoadModule proxy_http_module / proxy_fcgi_module', value: 'enable the scheme-specific proxy module' }],
      haproxy: [{ file: HAPROXY, directive: 'maxconn / ulimit-n', value: 'raise when the state is PC/RC (local resources exhausted)' }],
      gatewise: [{ file: GATEWISE, directive: 'routes / upstreams', value: 'run `gatewise check` on the configuration' }],
    },
  },
};
