import type { Route } from '../config/schema.ts';
import type { ProxyError } from '../errors/proxy-error.ts';
import { DeadlineEntry } from './deadlines.ts';
import { totalTimeout } from './gateway-errors.ts';
import type { Permit } from '../upstream/limit/concurrency.ts';
import type { Attempt } from './attempt.ts';

/**
 * One request's control: why it stopped early (client gone, total deadline, of which it is
 * the entry in the deadline list), an AbortSignal
 * for the waits that take one, the try running now (aborted with the request), and the
 * concurrency permit it holds until the origin's response headers arrive. One object,
 * rather than closures made for every request: this is on every request's path.
 * Most requests never wait, so the AbortController (an EventTarget, costly to make) is
 * made only when a wait asks for the signal.
 */
export class Cancel extends DeadlineEntry {
  reason: ProxyError | null = null;
  private readonly route: Route;
  /** The try running now, if any. */
  current: Attempt | null = null;
  /** The pool's concurrency permit, until the origin answers (or the request ends). */
  permit: Permit | null = null;
  private controller: AbortController | null = null;

  constructor(route: Route) {
    super();
    this.route = route;
  }

  /** The route's total timeout passed (deadlines.ts). */
  expire(): void {
    this.stop(totalTimeout(this.route));
  }

  get signal(): AbortSignal {
    if (this.controller === null) {
      this.controller = new AbortController();
      if (this.reason) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  /** Ends the request with this error: cancels the waits and aborts the running try. */
  stop(reason: ProxyError): void {
    if (this.reason) return;
    this.reason = reason;
    this.controller?.abort(reason);
    this.current?.abort(reason);
  }

  /** The origin's response headers arrived after ttfbMs: the permit goes back now. */
  answeredAfter(ttfbMs: number): void {
    this.permit?.release(false, ttfbMs);
    this.permit = null;
  }
}
