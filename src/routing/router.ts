import type { Route } from '../config/schema.ts';

/**
 * Host + path prefix → route. Exact hosts win over wildcards, wildcards over host-less
 * routes; within a host, the longest prefix wins. Prefixes match whole path segments:
 * `/api` serves `/api`, `/api/x` and `/api?q`, not `/apix`.
 */
export class Router {
  private readonly exact = new Map<string, Route[]>();
  private readonly wildcard: { suffix: string; routes: Route[] }[] = [];
  private readonly any: Route[] = [];
  /** The last Host field seen and its host: most requests name the host the one before did. */
  private lastField = '';
  private lastHost = '';

  constructor(routes: readonly Route[]) {
    for (const r of routes) {
      if (r.host === null) this.any.push(r);
      else if (r.host.startsWith('*.')) {
        const suffix = r.host.slice(1);
        let group = this.wildcard.find((w) => w.suffix === suffix);
        if (!group) {
          group = { suffix, routes: [] };
          this.wildcard.push(group);
        }
        group.routes.push(r);
      } else {
        const list = this.exact.get(r.host) ?? [];
        list.push(r);
        this.exact.set(r.host, list);
      }
    }
    const byLength = (a: Route, b: Route): number => b.pathPrefix.length - a.pathPrefix.length;
    for (const list of this.exact.values()) list.sort(byLength);
    for (const w of this.wildcard) w.routes.sort(byLength);
    // Longer suffixes are more specific: *.api.example.com before *.example.com.
    this.wildcard.sort((a, b) => b.suffix.length - a.suffix.length);
    this.any.sort(byLength);
  }

  match(hostHeader: string, url: string): Route | null {
    if (hostHeader !== this.lastField) {
      this.lastHost = hostOnly(hostHeader);
      this.lastField = hostHeader;
    }
    const host = this.lastHost;
    const exact = this.exact.get(host);
    if (exact) {
      const r = firstPrefix(exact, url);
      if (r) return r;
    }
    for (const w of this.wildcard) {
      if (host.length > w.suffix.length && host.endsWith(w.suffix)) {
        const r = firstPrefix(w.routes, url);
        if (r) return r;
      }
    }
    return firstPrefix(this.any, url);
  }
}

function hostOnly(h: string): string {
  let end = h.length;
  if (h.startsWith('[')) end = h.indexOf(']') + 1 || end;
  else {
    const colon = h.lastIndexOf(':');
    if (colon !== -1) end = colon;
  }
  let host = h.slice(0, end).toLowerCase();
  if (host.endsWith('.')) host = host.slice(0, -1);
  return host;
}

function firstPrefix(routes: readonly Route[], url: string): Route | null {
  for (const r of routes) {
    const p = r.pathPrefix;
    if (p === '/') return r;
    if (!url.startsWith(p)) continue;
    const next = url.charCodeAt(p.length);
    // end of path, '/', '?' or '#': a segment boundary
    if (Number.isNaN(next) || next === 47 || next === 63 || next === 35 || p.endsWith('/')) return r;
  }
  return null;
}

/** The path sent upstream: the route's prefix removed when it asks for it. */
export function upstreamPath(route: Route, url: string): string {
  if (!route.stripPrefix || route.pathPrefix === '/') return url;
  const rest = url.slice(route.pathPrefix.length);
  return rest.startsWith('/') ? rest : `/${rest}`;
}
