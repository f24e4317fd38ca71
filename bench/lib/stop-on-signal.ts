import type { Server } from 'node:http';

/** The bench stops a proxy with SIGTERM (or Ctrl-C): it closes its connections and exits. */
export function stopOnSignal(server: Server, alsoClose?: () => unknown): void {
  const stop = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
    void alsoClose?.();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
