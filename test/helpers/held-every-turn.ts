import { type HeldWrites, sendAfterPoll } from '../../src/http1/write-batch.ts';
import { channels } from '../../src/observe/events.ts';

/**
 * Runs fn while every loop turn holds writes (8 of its own a turn), so that every turn holds
 * its writes for the check phase, as under load; returns, for each proxied try that ended
 * meanwhile, how many of those writes were still held when the try's continuation ran.
 */
export async function heldAtEachTryEnd(fn: () => Promise<void>): Promise<number[]> {
  let pending = 0;
  let busy = true;
  const holder: HeldWrites = {
    sendHeldWrites() {
      pending--;
    },
  };
  const keepBusy = (): void => {
    if (!busy) return;
    for (let i = 0; i < 8; i++) {
      pending++;
      sendAfterPoll(holder, 'to-client');
    }
    setImmediate(keepBusy);
  };
  const held: number[] = [];
  const onTryEnd = (): void => {
    held.push(pending);
  };
  channels.attemptEnd.subscribe(onTryEnd);
  keepBusy();
  try {
    await fn();
  } finally {
    busy = false;
    channels.attemptEnd.unsubscribe(onTryEnd);
  }
  return held;
}
