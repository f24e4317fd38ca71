// The page a visitor's browser shows. It has to work when nothing else does: one
// document, no fonts, images or scripts from anywhere (the origin is down, and a CDN
// may be what failed), readable without JavaScript, and safe to show whatever the
// failing request carried, since every dynamic value may come from the request.

import { createHash } from 'node:crypto';
import type { PageView } from './error-page.ts';
import type { Hop } from './types.ts';

type State = 'ok' | 'failed' | 'unknown';
type Chain = {
  browser: State;
  'browser-gateway': State;
  gateway: State;
  'gateway-origin': State;
  origin: State;
};

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Which parts of Browser → gateway → origin to paint red, green or grey. */
export function chainStates(hop: Hop): Chain {
  switch (hop) {
    case 'client':
      // The request never got past the gateway, so the origin was not asked.
      return { browser: 'failed', 'browser-gateway': 'failed', gateway: 'ok', 'gateway-origin': 'unknown', origin: 'unknown' };
    case 'gateway':
      return { browser: 'ok', 'browser-gateway': 'ok', gateway: 'failed', 'gateway-origin': 'unknown', origin: 'unknown' };
    case 'origin':
      return { browser: 'ok', 'browser-gateway': 'ok', gateway: 'ok', 'gateway-origin': 'failed', origin: 'failed' };
  }
}

const WHERE: Record<Hop, string> = {
  client: 'The request your browser sent could not be used by the gateway.',
  gateway: 'The gateway could not pass your request on to the site’s server.',
  origin: 'The gateway could not get an answer from the site’s server (the origin).',
};

const STATE_WORD: Record<State, string> = { ok: 'Working', failed: 'Error', unknown: 'Not reached' };
const MARK: Record<State, string> = { ok: '✓', failed: '✕', unknown: '?' };

const ICONS = {
  browser:
    '<svg viewBox="0 0 32 32" aria-hidden="true" focusable="false"><rect x="4" y="6" width="24" height="20" rx="3"/><path d="M4 12h24"/><path d="M8 9h.01M11 9h.01M14 9h.01"/></svg>',
  gateway:
    '<svg viewBox="0 0 32 32" aria-hidden="true" focusable="false"><path d="M16 4l10 4v7c0 6.2-4.2 11-10 13C10.2 26 6 21.2 6 15V8z"/><path d="M11 16h10M17 12l4 4-4 4"/></svg>',
  origin:
    '<svg viewBox="0 0 32 32" aria-hidden="true" focusable="false"><rect x="5" y="5" width="22" height="9" rx="2"/><rect x="5" y="18" width="22" height="9" rx="2"/><path d="M9 9.5h.01M9 22.5h.01M14 9.5h9M14 22.5h9"/></svg>',
};

const NODES = {
  browser: { name: 'You', role: 'Browser' },
  gateway: { name: 'gatewise', role: 'Gateway' },
  origin: { name: 'Origin', role: 'Web server' },
} as const;

function node(hop: keyof typeof NODES, state: State): string {
  const { name, role } = NODES[hop];
  return `<div class="node" data-hop="${hop}" data-state="${state}">
<span class="badge" aria-hidden="true">${MARK[state]}</span>
<span class="icon">${ICONS[hop]}</span>
<span class="name">${name}</span>
<span class="role">${role}</span>
<span class="state">${STATE_WORD[state]}</span>
</div>`;
}

function link(which: 'browser-gateway' | 'gateway-origin', state: State): string {
  const [from, to] = which === 'browser-gateway' ? ['your browser', 'the gateway'] : ['the gateway', 'the origin'];
  return `<div class="link" data-link="${which}" data-state="${state}">
<span class="wire" aria-hidden="true"></span><span class="dot" aria-hidden="true">${MARK[state]}</span>${state === 'failed' ? '<span class="label" aria-hidden="true">failed here</span>' : ''}
<span class="sr">Connection from ${from} to ${to}: ${STATE_WORD[state].toLowerCase()}</span>
</div>`;
}

// Static, so that the page's CSP can allow exactly this script and this stylesheet by
// hash. The delay comes from a data attribute; the script backs off across reloads so
// a tab left open on a dead site does not poll it every few seconds for hours.
const SCRIPT = `(function(){
var el=document.getElementById('retry'),n=document.getElementById('count');
if(!el||!n)return;
var k='gatewise-retry:'+location.pathname+location.search,tries=0;
try{var r=JSON.parse(sessionStorage.getItem(k)||'{}');if(Date.now()-r.t<600000)tries=r.n|0}catch(e){}
if(tries>=5){document.getElementById('retry-stopped').hidden=false;return}
var left=Math.min(Number(el.getAttribute('data-seconds'))*Math.pow(2,tries),300)||10;
n.textContent=left;el.hidden=false;
var t=setInterval(function(){
if(--left>0){n.textContent=left;return}
clearInterval(t);
try{sessionStorage.setItem(k,JSON.stringify({n:tries+1,t:Date.now()}))}catch(e){}
location.replace(location.href)},1000)})();`;

const STYLE = `
:root{--bg:#f4f5f7;--card:#fff;--fg:#1d2127;--muted:#57606a;--line:#d8dee4;
--ok:#1a7f37;--ok-bg:#eaf7ee;--bad:#c9252d;--bad-bg:#fff0f0;--unk:#6e7781;--code-bg:#eff1f3;
color-scheme:light dark}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--card:#161b22;--fg:#e6edf3;--muted:#9da7b3;
--line:#30363d;--ok:#3fb950;--ok-bg:#12261a;--bad:#ff7b72;--bad-bg:#2d1517;--unk:#8b949e;--code-bg:#22272e}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--fg);
font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:46rem;margin:0 auto;padding:3rem 1.25rem 2rem}
header{margin-bottom:1.75rem}
.eyebrow{margin:0 0 .25rem;color:var(--muted);font-size:.875rem;font-weight:600;letter-spacing:.06em;text-transform:uppercase}
h1{margin:0;font-size:clamp(1.75rem,5vw,2.5rem);line-height:1.15;letter-spacing:-.01em}
h1 .code{color:var(--bad)}
.cause{margin:.6rem 0 0;font-size:1.2rem;color:var(--fg)}
.card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:1.25rem 1.5rem;margin:0 0 1rem}
h2{margin:0 0 .5rem;font-size:1.05rem}
p{margin:.4rem 0}
a{color:inherit;text-decoration-thickness:.08em;text-underline-offset:.15em}
a:focus-visible{outline:3px solid var(--fg);outline-offset:2px;border-radius:2px}
figure{margin:0}
.chain{display:flex;align-items:center;padding:.5rem 0 .25rem}
.node{position:relative;flex:0 0 8.5rem;display:flex;flex-direction:column;align-items:center;text-align:center;
padding:1rem .5rem .8rem;border:2px solid var(--line);border-radius:12px;background:var(--card)}
.node .icon svg{width:2.5rem;height:2.5rem;fill:none;stroke:currentColor;stroke-width:1.8;stroke-linecap:round;stroke-linejoin:round}
.node .name{font-weight:650;margin-top:.35rem}
.node .role{font-size:.8rem;color:var(--muted)}
.node .state{margin-top:.4rem;font-size:.85rem;font-weight:650}
.badge{position:absolute;top:-.7rem;right:-.7rem;width:1.5rem;height:1.5rem;border-radius:50%;
display:grid;place-items:center;font-size:.8rem;font-weight:700;color:var(--card);background:var(--unk);border:2px solid var(--card)}
.link{position:relative;flex:1 1 auto;min-width:2rem;height:2rem;display:flex;align-items:center;justify-content:center}
.wire{position:absolute;left:0;right:0;top:50%;border-top:3px solid var(--line);transform:translateY(-50%)}
.dot{position:relative;width:1.5rem;height:1.5rem;border-radius:50%;display:grid;place-items:center;
font-size:.8rem;font-weight:700;color:var(--card);background:var(--unk);border:2px solid var(--card)}
[data-state=ok] .state{color:var(--ok)}
[data-state=ok] .badge,[data-state=ok] .dot{background:var(--ok)}
.link[data-state=ok] .wire{border-top-color:var(--ok)}
.node[data-state=failed]{color:var(--bad);border-color:var(--bad);background:var(--bad-bg)}
[data-state=failed] .role{color:var(--bad)}
[data-state=failed] .badge,[data-state=failed] .dot{background:var(--bad)}
.link[data-state=failed]{color:var(--bad)}
.link[data-state=failed] .wire{border-top:3px dashed var(--bad)}
.label{position:absolute;top:calc(50% + 1rem);font-size:.75rem;font-weight:650;white-space:nowrap}
.node[data-state=unknown]{color:var(--unk);border-style:dashed}
.link[data-state=unknown] .wire{border-top-style:dotted}
figcaption{margin-top:1rem;padding:.6rem .8rem;border-left:4px solid var(--bad);background:var(--bad-bg);border-radius:0 8px 8px 0}
figcaption strong{color:var(--bad)}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.muted{color:var(--muted)}
.operator{font-size:.95rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.35rem 1rem;margin:.9rem 0 0;font-size:.9rem}
dt{color:var(--muted)}
dd{margin:0;min-width:0;overflow-wrap:anywhere}
code{font:.85em/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--code-bg);padding:.1em .35em;border-radius:4px}
footer{margin-top:1.5rem;font-size:.8rem;color:var(--muted);text-align:center}
@media (max-width:34rem){
main{padding-top:1.75rem}
.card{padding:1rem 1.1rem}
.chain{flex-direction:column;align-items:stretch}
.node{flex:none;flex-direction:row;flex-wrap:wrap;text-align:left;gap:0 .75rem;padding:.7rem .9rem}
main .node .icon svg{width:2rem;height:2rem}
.node .name{margin:0}
.node .role{flex:1}
.node .state{margin:0 0 0 auto}
.link{height:2.5rem;min-width:0}
.wire{left:50%;right:auto;top:0;bottom:0;border-top:0;border-left:3px solid var(--line);transform:translateX(-50%)}
.link[data-state=ok] .wire{border-left-color:var(--ok)}
.link[data-state=failed] .wire{border-top:0;border-left:3px dashed var(--bad)}
.link[data-state=unknown] .wire{border-left-style:dotted}
.label{top:50%;left:calc(50% + 1.1rem);transform:translateY(-50%)}
dl{gap:.35rem .75rem}
}
@media (prefers-reduced-motion:no-preference){a{transition:color .15s}}
`;

function sha256(s: string): string {
  return `'sha256-${createHash('sha256').update(s).digest('base64')}'`;
}

/** Allows this page's own style and script and nothing else. */
export const ERROR_PAGE_CSP = [
  "default-src 'none'",
  `style-src ${sha256(STYLE)}`,
  `script-src ${sha256(SCRIPT)}`,
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

function whatYouCanDo(v: PageView): string {
  if (v.transient && v.retryAfter !== null) {
    return `<p>This is usually temporary.</p>
<p id="retry" data-seconds="${v.retryAfter}" hidden>This page will retry by itself in <strong><span id="count">${v.retryAfter}</span> s</strong>. <a href="">Retry now</a></p>
<p id="retry-stopped" hidden>It has failed several times in a row, so this page stopped retrying. Please <a href="">try again</a> in a few minutes.</p>
<noscript><p><a href="">Try again</a> in ${v.retryAfter} seconds.</p></noscript>`;
  }
  const later =
    v.retryAfter !== null ? `Please try again in about ${v.retryAfter} seconds.` : 'Please try again later.';
  const client =
    v.hop === 'client'
      ? '<p>If it keeps happening, check the address, or clear this site’s cookies and try again.</p>'
      : '';
  return `<p>The site’s operators have been told. ${later}</p>${client}`;
}

function forOperator(v: PageView): string {
  const rows: [string, string][] = [
    ['Proxy-Status', `<code>${escapeHtml(v.type)}</code>`],
    ['Details', v.detail === '' ? '<span class="muted">none</span>' : `<code>${escapeHtml(v.detail)}</code>`],
    ['Route', v.route === null ? '<span class="muted">no route matched</span>' : `<code>${escapeHtml(v.route)}</code>`],
    ['Request ID', `<code>${escapeHtml(v.requestId)}</code>`],
    ['Time (UTC)', `<time datetime="${escapeHtml(v.time)}">${escapeHtml(v.time.replace('T', ' ').replace(/\.\d+Z$/, 'Z'))}</time>`],
  ];
  if (v.internals !== null) {
    if (v.internals.endpoint !== null) rows.push(['Endpoint', `<code>${escapeHtml(v.internals.endpoint)}</code>`]);
    rows.push(['Message', escapeHtml(v.internals.message)]);
  }
  const dl = rows.map(([k, val]) => `<dt>${k}</dt><dd>${val}</dd>`).join('\n');
  return `<p class="operator">${escapeHtml(v.operator)}</p>
<dl>
${dl}
</dl>`;
}

export function renderHtml(v: PageView): { body: string; csp: string } {
  const s = chainStates(v.hop);
  const statusLine = `${v.status} ${v.reason}`;
  const body = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(statusLine)} · ${escapeHtml(v.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<header>
<p class="eyebrow">This page could not be loaded</p>
<h1><span class="code">${v.status}</span> ${escapeHtml(v.reason)}</h1>
<p class="cause">${escapeHtml(v.title)}.</p>
</header>
<section class="card" aria-labelledby="where">
<h2 id="where">Where it failed</h2>
<figure>
<div class="chain">
${node('browser', s.browser)}
${link('browser-gateway', s['browser-gateway'])}
${node('gateway', s.gateway)}
${link('gateway-origin', s['gateway-origin'])}
${node('origin', s.origin)}
</div>
<figcaption><strong>✕</strong> ${WHERE[v.hop]}</figcaption>
</figure>
</section>
<section class="card" aria-labelledby="you">
<h2 id="you">What you can do</h2>
${whatYouCanDo(v)}
</section>
<section class="card" aria-labelledby="ops">
<h2 id="ops">For the site’s operator</h2>
${forOperator(v)}
</section>
<footer>gatewise · ${escapeHtml(statusLine)}</footer>
</main>
${v.transient ? `<script>${SCRIPT}</script>` : ''}
</body>
</html>
`;
  return { body, csp: ERROR_PAGE_CSP };
}

/**
 * Fills an operator's template. Every value is escaped, because the detail and request
 * id can echo what the client sent; unknown placeholders stay as they are, so a typo
 * shows up when the operator tries the page instead of vanishing silently.
 */
export function renderTemplate(template: string, v: PageView): string {
  const values: Record<string, string> = {
    status: String(v.status),
    reason: v.reason,
    type: v.type,
    detail: v.detail,
    title: v.title,
    requestId: v.requestId,
    time: v.time,
    hop: v.hop,
    operator: v.operator,
    route: v.route ?? '',
    retryAfter: v.retryAfter === null ? '' : String(v.retryAfter),
  };
  return template.replace(/\{\{\s*([A-Za-z]+)\s*\}\}/g, (whole, name: string) =>
    Object.hasOwn(values, name) ? escapeHtml(values[name]!) : whole,
  );
}
