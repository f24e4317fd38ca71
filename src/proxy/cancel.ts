import type { ProxyError } from '../errors/proxy-error.ts';

/**
 * Why a request stopped early (client gone, total deadline), and an AbortSignal for the
 * waits that take one. Most requests never wait, so the AbortController (an EventTarget,
 * costly to make) is made only when a wait asks for the signal.
 */
export class Cancel {
  reason: ProxyError | null = null;
  private controller: AbortController | null = null;

  get signal(): AbortSignal {
    if (this.controller === null) {
      this.controller = new AbortController();
      if (this.reason) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  abort(reason: ProxyError): void {
    if (this.reason) return;
    this.reason = reason;
    this.controller?.abort(reason);
  }
}
