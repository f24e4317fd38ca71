// Logs rarely arrive as the server wrote them: docker compose, kubectl and syslog
// put their own prefix in front. Removing it lets one parser per server suffice.

// "nginx.1    | ", "php74_1        | ", "caddy      | "
const COMPOSE = /^[A-Za-z0-9_.-]+\s*\| /;
// "Aug 20 13:57:17 host caddy[808]: ", "<134>Dec  4 22:31:11 ingress[8]: ", "Jun 11 09:22:42 host php-fpm:  "
const SYSLOG = /^(?:<\d+>)?[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d (?:\S+ )?[\w./-]+(?:\[\d+\])?: +/;
// "2017-06-13T19:03:59.801023069Z " from `kubectl logs --timestamps` / `docker logs -t`
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d) /;

export function stripPrefix(line: string): string {
  const c = line.charCodeAt(0);
  // Fast path: the first characters of every supported format ('{', '[', digits of
  // an address or a date) are never the start of a wrapper, except a date with 'T'.
  if (c === 123 || c === 91) return line;
  let s = line;
  if (c >= 48 && c <= 57) {
    if (s.charCodeAt(10) !== 84 || s.charCodeAt(4) !== 45) return s;
    const m = RFC3339.exec(s);
    if (m === null) return s;
    s = s.slice(m[0].length);
  }
  const first = s.charCodeAt(0);
  if (first === 123 || first === 91) return s;
  let m = SYSLOG.exec(s);
  if (m !== null) s = s.slice(m[0].length);
  m = COMPOSE.exec(s);
  if (m !== null) {
    s = s.slice(m[0].length);
    // `docker compose logs -t` puts the timestamp after the service name.
    const t = RFC3339.exec(s);
    if (t !== null) s = s.slice(t[0].length);
  }
  return s;
}
