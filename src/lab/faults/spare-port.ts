// A port for an origin that goes down and comes back (offline, flap, or stopped by its
// caller). Ports the kernel hands out for port 0 come from its ephemeral range, where any
// other program's next listener or outgoing connection may be given the port while the
// origin is down: its start() then fails, and a client meant to be refused reaches that
// listener instead (a test of connection_refused read connection_terminated so). Below
// that range nothing is handed out unasked, so a port chosen there stays the origin's.
import { readFileSync } from 'node:fs';

/** The bottom of the kernel's ephemeral range (Linux's default when it cannot be read). */
export function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'latin1').trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > 1024 && low <= 65535) return low;
  } catch {
    // Not Linux, or no /proc: the usual default.
  }
  return 32768;
}

/** Spare ports start here: clear of the well-known ports and of most services' fixed ones. */
const FROM = 10_000;
const TRIES = 20;

/**
 * Listens on a free port below the ephemeral range, tried at random (a port some service
 * already holds fails with EADDRINUSE and another is tried); on the kernel's choice when
 * the range leaves no room or every try failed.
 */
export async function listenOnSparePort(listen: (port: number) => Promise<number>): Promise<number> {
  const low = ephemeralLow();
  if (low - FROM >= 1000) {
    for (let i = 0; i < TRIES; i++) {
      const port = FROM + Math.floor(Math.random() * (low - FROM));
      try {
        return await listen(port);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EADDRINUSE' && code !== 'EACCES') throw err;
      }
    }
  }
  return listen(0);
}
