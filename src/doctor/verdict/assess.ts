// One run judged: which hop broke, why in plain words, and what to do. With --origin the
// run is judged as a pair, because the same failure means opposite things depending on
// whether the origin answers when asked directly.
import { PROXY_ERROR_TYPES, type ProxyErrorType } from '../../errors/types.ts';
import type { DoctorHop, ExplainedProxyStatus, ProbeFailure, Walk } from '../probe/types.ts';
import { answeredByGateway, failureOf, statusLine } from './failure-of.ts';
import { fixesFor } from './fixes.ts';

export type Assessment = {
  readonly hop: DoctorHop;
  readonly cause: string;
  readonly type: ProxyErrorType | null;
  readonly code: string | null;
  readonly fixes: string[];
};

function healthy(url: Walk): Assessment {
  const h = url.http;
  const answer = h?.status == null ? '' : `: ${statusLine(url)} in ${h.totalMs} ms`;
  return { hop: 'none', cause: `every hop answered${answer}`, type: null, code: null, fixes: [] };
}

export function assess(url: Walk, origin: Walk | null, originLabel: string | null): Assessment {
  const uf = failureOf(url);
  const of = origin === null ? null : failureOf(origin);
  const direct = originLabel ?? 'the origin';
  if (uf === null) {
    if (origin === null || of === null) return healthy(url);
    return {
      hop: 'http-origin',
      cause: `the URL answers ${statusLine(url)}, but ${direct} fails when asked directly (${of.message}): the gateway serves from a cache or another endpoint, or this is not the origin it uses`,
      type: of.type,
      code: of.code,
      fixes: fixesFor(of, origin),
    };
  }
  if (url.failedAt !== 'http') {
    const tail = origin !== null && of === null ? `; ${direct} answers ${statusLine(origin)} directly, so only the way to the URL's server is broken` : '';
    return { hop: url.failedAt!, cause: `${uf.message}${tail}`, type: uf.type, code: uf.code, fixes: fixesFor(uf, url) };
  }
  if (origin !== null && of !== null) {
    return {
      hop: 'http-origin',
      cause: `${direct} fails when asked directly too (${of.message}): the gateway only passes the failure on`,
      type: of.type,
      code: of.code,
      fixes: fixesFor(of, origin),
    };
  }
  if (!answeredByGateway(url, origin !== null)) return originFailure(url, uf);
  return gatewayFailure(url, uf, origin, originLabel);
}

function gatewayFailure(url: Walk, uf: ProbeFailure, origin: Walk | null, originLabel: string | null): Assessment {
  const member = url.http?.proxyStatus.find((m) => m.error !== null);
  const said = member ? saidBy(member) : null;
  const line = statusLine(url);
  const fixes: string[] = uf.type === null ? [] : [PROXY_ERROR_TYPES[uf.type].operator];
  let cause: string;
  if (origin !== null) {
    cause = `the origin answers ${statusLine(origin)} directly, the gateway returns ${line}: look at the link between them${said ? ` (the Proxy-Status says ${said})` : ''}`;
    // The origin is known to answer, so where the gateway sends its requests comes first.
    fixes.unshift(
      `${originLabel ?? 'The origin'} answers from here: check that the gateway's upstream${member?.nextHop ? ` "${member.nextHop}"` : ''} points at it, and that the gateway's host can reach it (firewall, container network, DNS as the gateway resolves it)`,
    );
  } else if (member) {
    cause = causeFromMember(member, line);
    fixes.push(`Ask the origin directly to tell the link from the origin: gatewise doctor ${url.url} --origin HOST:PORT`);
  } else if (url.http?.status != null) {
    cause = `a gateway answered ${line} without saying why (no Proxy-Status): the trouble is between it and its origin, or in it`;
    fixes.push(`Ask the origin directly: gatewise doctor ${url.url} --origin HOST:PORT`, "Read the gateway's error log around this time: gatewise doctor logs FILE");
  } else {
    cause = uf.message;
    fixes.push(`Ask the origin directly: gatewise doctor ${url.url} --origin HOST:PORT`);
  }
  return { hop: 'http-gateway', cause, type: uf.type, code: uf.code, fixes };
}

function originFailure(url: Walk, uf: ProbeFailure): Assessment {
  if (uf.type === null && url.http?.status != null) {
    return {
      hop: 'http-origin',
      cause: `the server answered ${statusLine(url)}: the application failed on this request`,
      type: null,
      code: uf.code,
      fixes: fixesFor(uf, url),
    };
  }
  return { hop: 'http-origin', cause: uf.message, type: uf.type, code: uf.code, fixes: fixesFor(uf, url) };
}

function saidBy(m: ExplainedProxyStatus): string {
  return `${m.error}${m.title ? `: ${lowerFirst(m.title)}` : ''}`;
}

function causeFromMember(m: ExplainedProxyStatus, line: string): string {
  const hop = m.error !== null && m.error in PROXY_ERROR_TYPES ? PROXY_ERROR_TYPES[m.error as ProxyErrorType].hop : 'origin';
  const why = `${m.title ? lowerFirst(m.title) : m.error} (${[m.error, m.details, m.nextHop ? `next hop "${m.nextHop}"` : null].filter(Boolean).join(', ')})`;
  if (hop === 'gateway') return `the gateway ${m.proxy} answered ${line} on its own account: ${why}`;
  if (hop === 'client') return `the gateway ${m.proxy} rejected the request with ${line}: ${why}`;
  return `the link gateway → origin broke: ${m.proxy} answered ${line} because ${why}`;
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}
