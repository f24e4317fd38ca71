import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const COOKIE = 'gatewise_admin';

/**
 * Bearer-token check for the admin listener. A browser cannot put a header on a page load
 * or an EventSource, so the dashboard also accepts the token once as ?token= and then as a
 * same-site, HTTP-only cookie. Digests are compared in constant time.
 */
export class AdminAuth {
  private readonly digest: Buffer | null;

  constructor(token: string | null) {
    this.digest = token === null ? null : sha(token);
  }

  get required(): boolean {
    return this.digest !== null;
  }

  check(candidate: string | null): boolean {
    if (this.digest === null) return true;
    return candidate !== null && timingSafeEqual(sha(candidate), this.digest);
  }

  /** The token a request presents, from the Authorization header or the cookie. */
  presented(req: IncomingMessage): string | null {
    const auth = req.headers.authorization;
    const m = auth ? /^Bearer\s+(\S+)\s*$/i.exec(auth) : null;
    if (m) return m[1]!;
    for (const part of (req.headers.cookie ?? '').split(';')) {
      const [k, ...v] = part.trim().split('=');
      if (k === COOKIE) return decodeURIComponent(v.join('='));
    }
    return null;
  }

  cookie(token: string): string {
    return `${COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`;
  }
}

function sha(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
