// The verdict over every run: the hop that failed most often, explained by the first run
// that failed there. One run failing in ten is a different problem from ten in ten, so the
// share is part of the cause.
import type { DoctorHop, Verdict, Walk } from '../probe/types.ts';
import { type Assessment, assess } from './assess.ts';

const INTERMITTENT_FIX =
  'The failure comes and goes: look for restarts at the same times (crash loops, OOM kills, deploys, container restarts) and for one bad endpoint among several behind a load balancer';

const ORDER: readonly DoctorHop[] = ['dns', 'tcp', 'tls', 'http-gateway', 'http-origin'];

export function verdictOf(runs: readonly Walk[], originRuns: readonly Walk[], originLabel: string | null): Verdict {
  const assessed = runs.map((w, i) => assess(w, originRuns[i] ?? null, originLabel));
  const failed = assessed.filter((a) => a.hop !== 'none');
  if (failed.length === 0) {
    const first = assessed[0]!;
    return { ok: true, hop: 'none', cause: first.cause, type: null, code: null, fixes: [], intermittent: false };
  }
  const count = (hop: DoctorHop) => failed.filter((a) => a.hop === hop).length;
  const hop = [...ORDER].sort((a, b) => count(b) - count(a) || ORDER.indexOf(a) - ORDER.indexOf(b))[0]!;
  const pick = failed.find((a) => a.hop === hop) as Assessment;
  const n = runs.length;
  const intermittent = failed.length < n;
  const share = n > 1 ? ` (failed at ${hop} in ${count(hop)} of ${n} runs${intermittent ? ': intermittent' : ''})` : '';
  const fixes = intermittent ? [...pick.fixes, INTERMITTENT_FIX] : pick.fixes;
  return { ok: false, hop, cause: `${pick.cause}${share}`, type: pick.type, code: pick.code, fixes, intermittent };
}
