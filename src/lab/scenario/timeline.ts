// The scenario's timeline: at each step's time (on the load's clock) an origin stops or
// starts, or the DNS server changes its answers. Each step records when it really fired and
// when it was done, because a stop that takes 40 ms explains errors 40 ms later.
import type { RunningDnsServer } from '../dns-server.ts';
import type { RunningOrigin } from '../origin.ts';
import type { TimelineStep } from './schema.ts';

export type TimelineEvent = {
  atMs: number;
  /** When the step started and finished, in ms since the load started; null if it never ran. */
  firedMs: number | null;
  doneMs: number | null;
  what: string;
  error: string | null;
};

export type TimelineTargets = {
  origins: ReadonlyMap<string, RunningOrigin>;
  dns: RunningDnsServer | null;
};

export type RunningTimeline = {
  readonly events: readonly TimelineEvent[];
  /** Cancels the steps that have not fired and waits for those running. */
  finish(): Promise<void>;
};

export function describeStep(s: TimelineStep): string {
  if (s.kind === 'origin') return `origin ${s.origin} ${s.action}`;
  const parts: string[] = [];
  if (s.mode) parts.push(s.mode);
  for (const [name, ips] of Object.entries(s.records ?? {})) parts.push(`${name} → ${ips.join(',') || '(no address)'}`);
  return `dns ${parts.join(', ')}`;
}

export function startTimeline(steps: readonly TimelineStep[], targets: TimelineTargets, startAt: number): RunningTimeline {
  const since = () => Math.round((performance.now() - startAt) * 10) / 10;
  const events: TimelineEvent[] = steps.map((s) => ({ atMs: s.atMs, firedMs: null, doneMs: null, what: describeStep(s), error: null }));
  const running = new Set<Promise<void>>();
  const timers: NodeJS.Timeout[] = [];
  // Node may run a timer up to a millisecond early; a step must never precede its time, or a
  // request sent at exactly that time would see the world before the change.
  const at = (ms: number, fn: () => void) => {
    const left = ms - (performance.now() - startAt);
    if (left <= 0) fn();
    else timers.push(setTimeout(() => at(ms, fn), Math.ceil(left)));
  };
  for (const [i, step] of steps.entries()) {
    at(step.atMs, () => {
      const ev = events[i]!;
      ev.firedMs = since();
      const p = apply(step, targets)
        .catch((err: unknown) => {
          ev.error = (err as Error).message;
        })
        .finally(() => {
          ev.doneMs = since();
          running.delete(p);
        });
      running.add(p);
    });
  }
  return {
    events,
    finish: async () => {
      for (const t of timers) clearTimeout(t);
      await Promise.all(running);
    },
  };
}

async function apply(step: TimelineStep, t: TimelineTargets): Promise<void> {
  if (step.kind === 'origin') {
    const origin = t.origins.get(step.origin)!;
    await (step.action === 'stop' ? origin.stop() : origin.start());
    return;
  }
  const dns = t.dns!;
  for (const [name, ips] of Object.entries(step.records ?? {})) dns.setRecords(name, ips);
  if (step.mode) dns.setMode(step.mode);
}
