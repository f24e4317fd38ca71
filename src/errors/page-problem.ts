// RFC 9457 problem details for API clients. The standard members come first; the
// extension members use snake_case like the rest of gatewise's machine-readable output.

import type { PageView } from './error-page.ts';

export const PROBLEM_TYPE_BASE = 'https://gatewise.dev/errors/';

export function renderProblem(v: PageView): string {
  const retry =
    v.retryAfter !== null
      ? ` Retrying in ${v.retryAfter} s may succeed.`
      : ' Retrying will not help until the site’s operators fix it.';
  const doc: Record<string, unknown> = {
    type: `${PROBLEM_TYPE_BASE}${v.type}`,
    // The title stays the same for every occurrence of a type (RFC 9457 §3.1.3).
    title: v.title,
    status: v.status,
    detail: `${v.title}.${retry}`,
    instance: `urn:request:${v.requestId}`,
    proxy_status: v.type,
    details: v.detail,
    hop: v.hop,
    route: v.route,
    request_id: v.requestId,
    time: v.time,
    retryable: v.transient,
    retry_after: v.retryAfter,
    operator_hint: v.operator,
  };
  if (v.internals !== null) {
    doc['endpoint'] = v.internals.endpoint;
    doc['message'] = v.internals.message;
  }
  return `${JSON.stringify(doc, null, 2)}\n`;
}
