// The URL against the origin asked directly, in one sentence: the quickest way to tell a
// broken origin from a broken link between the gateway and the origin.
import type { Comparison, Walk } from '../probe/types.ts';
import { failureOf, statusLine } from './failure-of.ts';

export function compare(url: Walk, origin: Walk, originLabel: string): Comparison {
  const uf = failureOf(url);
  const of = failureOf(origin);
  const u = statusLine(url);
  const o = statusLine(origin);
  let sentence: string;
  if (uf === null && of === null) sentence = `both answer: the URL ${u}, ${originLabel} ${o} directly`;
  else if (uf !== null && of === null) {
    sentence =
      url.failedAt === 'http'
        ? `the origin answers ${o} directly, the gateway returns ${u}: look at the link between them`
        : `the origin answers ${o} directly, but the URL fails at ${url.failedAt}: the way to the gateway is broken, not the origin`;
  } else if (uf === null) sentence = `the URL answers ${u}, but ${originLabel} fails directly at ${origin.failedAt}`;
  else sentence = `both fail: the URL at ${url.failedAt} (${u}), ${originLabel} at ${origin.failedAt} (${o})`;
  return { origin: originLabel, urlStatus: url.http?.status ?? null, originStatus: origin.http?.status ?? null, urlFailedAt: url.failedAt, originFailedAt: origin.failedAt, sentence };
}
