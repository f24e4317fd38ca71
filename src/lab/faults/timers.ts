// Every timer a fault arms goes through here: unref'd so that a lab origin never keeps
// a process alive on its own, tied to a socket when it serves one (a timer for a dead
// connection is a leak), and all cleared when the origin stops.
import type { Socket } from 'node:net';

export class Timers {
  #live = new Set<NodeJS.Timeout>();
  /** For a timer tied to a socket: takes its 'close' listener off again (a kept-alive socket re-arms many times). */
  #untie = new Map<NodeJS.Timeout, () => void>();

  after(ms: number, fn: () => void, socket?: Socket): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.#live.delete(t);
      this.#untie.get(t)?.();
      this.#untie.delete(t);
      fn();
    }, ms);
    const stop = () => this.cancel(t);
    return this.#track(t, socket, stop);
  }

  every(ms: number, fn: () => void, socket?: Socket): NodeJS.Timeout {
    const t = setInterval(fn, ms);
    return this.#track(t, socket, () => this.cancel(t));
  }

  cancel(t: NodeJS.Timeout | undefined): void {
    if (t === undefined) return;
    clearTimeout(t);
    this.#live.delete(t);
    this.#untie.get(t)?.();
    this.#untie.delete(t);
  }

  clear(): void {
    for (const t of this.#live) clearTimeout(t);
    this.#live.clear();
    for (const untie of this.#untie.values()) untie();
    this.#untie.clear();
  }

  #track(t: NodeJS.Timeout, socket: Socket | undefined, stop: () => void): NodeJS.Timeout {
    t.unref();
    this.#live.add(t);
    if (socket) {
      socket.once('close', stop);
      this.#untie.set(t, () => socket.off('close', stop));
    }
    return t;
  }
}
