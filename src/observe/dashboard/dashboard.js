// The live dashboard: one EventSource (/api/events) feeds a snapshot, then one tick a second.
// Plain browser JavaScript served by the admin listener; the DOM is built with textContent
// only, because failure messages carry text that origins and clients control.
'use strict';
(() => {
  const MAX_SECONDS = 3600;
  const MASKED_KINDS = ['retry', 'ejection', 'dns_stale', 'stale_cache', 'waited', 'shed'];
  const CAUSE_COLOURS = ['#f87171', '#fb923c', '#facc15', '#c084fc', '#f472b6', '#38bdf8', '#2dd4bf', '#e879f9', '#a3e635', '#94a3b8'];
  const MASKED_COLOURS = { retry: '#60a5fa', ejection: '#f472b6', dns_stale: '#a78bfa', stale_cache: '#facc15', waited: '#2dd4bf', shed: '#fb923c' };

  const data = { t: [], requests: [], failures: [], p50: [], p95: [], p99: [], causes: new Map(), masked: new Map() };
  let status = null;
  const charts = {};
  let causeKeys = '';

  // ------------------------------------------------------------ helpers

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') el.className = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  const $ = (id) => document.getElementById(id);
  const clock = (ms) => new Date(ms).toLocaleTimeString([], { hour12: false });
  const fmtMs = (v) => (v === null || v === undefined ? '—' : v < 10 ? `${v.toFixed(1)} ms` : `${Math.round(v)} ms`);
  const fmtPct = (x) => (x === 0 ? '0%' : x < 0.001 ? '<0.1%' : `${(x * 100).toFixed(x < 0.1 ? 1 : 0)}%`);
  const sum = (arr, n) => arr.slice(-n).reduce((a, b) => a + (b || 0), 0);
  const colourOf = (key, i) => CAUSE_COLOURS[i % CAUSE_COLOURS.length];

  function duration(s) {
    if (s < 60) return `${s}s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m}m ${s % 60}s`;
    return `${Math.floor(m / 60)}h ${m % 60}m`;
  }

  function hopText(f) {
    if (f.hop === 'client') return 'client → gateway';
    if (f.hop === 'gateway') return 'gateway';
    return `gateway → ${f.upstream || (f.pool ? `upstream ${f.pool}` : 'origin')}`;
  }

  // ------------------------------------------------------------ time series

  function reset() {
    for (const k of ['t', 'requests', 'failures', 'p50', 'p95', 'p99']) data[k] = [];
    data.causes = new Map();
    data.masked = new Map(MASKED_KINDS.map((k) => [k, []]));
  }

  function addSeconds(seconds) {
    for (const s of seconds) {
      // A snapshot taken between two ticks already holds the seconds the next tick brings.
      if (data.t.length && s.t <= data.t[data.t.length - 1]) continue;
      const i = data.t.length;
      data.t.push(s.t);
      data.requests.push(s.requests);
      data.failures.push(s.failures);
      data.p50.push(s.p50);
      data.p95.push(s.p95);
      data.p99.push(s.p99);
      for (const [k, arr] of data.causes) arr.push(s.causes[k] || 0);
      for (const [k, n] of Object.entries(s.causes)) {
        if (!data.causes.has(k)) data.causes.set(k, [...new Array(i).fill(0), n]);
      }
      for (const [k, arr] of data.masked) arr.push(s.masked[k] || 0);
      for (const [k, n] of Object.entries(s.masked)) {
        if (!data.masked.has(k)) data.masked.set(k, [...new Array(i).fill(0), n]);
      }
    }
    const extra = data.t.length - MAX_SECONDS;
    if (extra > 0) {
      for (const k of ['t', 'requests', 'failures', 'p50', 'p95', 'p99']) data[k].splice(0, extra);
      for (const arr of data.causes.values()) arr.splice(0, extra);
      for (const arr of data.masked.values()) arr.splice(0, extra);
    }
  }

  // ------------------------------------------------------------ charts

  const axis = () => ({
    stroke: '#8b97b3',
    grid: { stroke: 'rgba(139,151,179,0.10)', width: 1 },
    ticks: { stroke: 'rgba(139,151,179,0.18)', width: 1 },
    font: '11px system-ui, sans-serif',
  });

  function chart(id, series, values, opts) {
    const el = $(id);
    if (charts[id]) charts[id].destroy();
    el.textContent = '';
    const u = new uPlot(
      {
        width: Math.max(300, el.clientWidth),
        height: 200,
        cursor: { drag: { x: true, y: false } },
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(opts?.floor ?? 1, (max || 0) * 1.15)] } },
        axes: [axis(), { ...axis(), size: 48 }],
        legend: { live: true },
        series: [{}, ...series],
      },
      [data.t, ...values()],
      el,
    );
    u.values = values;
    charts[id] = u;
  }

  function line(label, stroke, extra) {
    return { label, stroke, width: 1.6, points: { show: false }, ...extra };
  }

  function fillOf(hex, alpha) {
    const n = Number.parseInt(hex.slice(1), 16);
    return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${alpha})`;
  }

  function buildCharts() {
    chart(
      'chart-rate',
      [line('requests/s', '#60a5fa', { fill: fillOf('#60a5fa', 0.15) }), line('failures/s', '#f87171', { fill: fillOf('#f87171', 0.2) })],
      () => [data.requests, data.failures],
    );
    buildCauses();
    chart(
      'chart-latency',
      [line('p50', '#34d399'), line('p95', '#fbbf24'), line('p99', '#f87171')],
      () => [data.p50, data.p95, data.p99],
      { floor: 5 },
    );
    const kinds = [...data.masked.keys()];
    chart(
      'chart-masked',
      kinds.map((k) => line(k, MASKED_COLOURS[k] || '#94a3b8', { paths: uPlot.paths.stepped({ align: 1 }) })),
      () => kinds.map((k) => data.masked.get(k)),
    );
  }

  function buildCauses() {
    const keys = [...data.causes.keys()];
    causeKeys = keys.join(',');
    if (keys.length === 0) {
      chart('chart-causes', [line('no failures', '#22c55e')], () => [data.t.map(() => 0)]);
      return;
    }
    chart(
      'chart-causes',
      keys.map((k, i) => line(k, colourOf(k, i), { paths: uPlot.paths.stepped({ align: 1 }), fill: fillOf(colourOf(k, i), 0.12) })),
      () => keys.map((k) => data.causes.get(k)),
    );
  }

  function updateCharts() {
    if ([...data.causes.keys()].join(',') !== causeKeys) buildCauses();
    for (const u of Object.values(charts)) u.setData([data.t, ...u.values()]);
  }

  // ------------------------------------------------------------ panels

  function renderHeader() {
    const g = status.gateway;
    $('gw-name').textContent = g.name;
    $('gw-meta').textContent = `listening on ${g.listen.join(', ')} · up ${duration(g.uptimeSeconds)} · node ${g.node}`;
    const firing = status.alerts.firing.length;
    const pill = $('alert-count');
    pill.className = `pill ${firing ? 'firing' : 'quiet'}`;
    pill.textContent = firing ? `${firing} alert${firing > 1 ? 's' : ''} firing` : 'no alerts';
  }

  function renderChain() {
    const eps = status.pools.flatMap((p) => p.endpoints);
    const bad = eps.filter((e) => e.health === 'down' || e.health === 'failing').length;
    const unreachable = status.synthetic.some((c) => c.gateway.at(-1)?.cause === 'gateway_unreachable');
    const rps = sum(data.requests, 10) / Math.min(10, Math.max(1, data.t.length));
    const pools = status.pools.map((p) =>
      h(
        'div',
        { class: 'pool', 'data-pool': p.name },
        h('div', { class: 'pool-name' }, 'upstream ', h('b', {}, p.name)),
        h(
          'div',
          { class: 'endpoints' },
          p.endpoints.map((e) =>
            h(
              'div',
              { class: `endpoint h-${e.health}`, 'data-endpoint': e.address, 'data-health': e.health, title: e.reason || '' },
              h('span', { class: 'dot' }),
              h(
                'div',
                {},
                h('div', { class: 'addr' }, e.address, e.backup ? ' (backup)' : ''),
                h('div', { class: 'why' }, endpointLine(e)),
              ),
            ),
          ),
        ),
      ),
    );
    $('chain').replaceChildren(
      h('div', { class: 'node client' }, h('div', { class: 'name' }, 'Browser'), h('small', {}, 'clients')),
      h('div', { class: `arrow${unreachable ? ' bad' : ''}` }),
      h(
        'div',
        { class: 'node gateway' },
        h('div', { class: 'name' }, status.gateway.name),
        h('small', {}, 'gateway'),
        h('small', {}, `${rps.toFixed(rps < 10 ? 1 : 0)} req/s`),
      ),
      h('div', { class: `arrow${bad === eps.length && bad > 0 ? ' bad' : bad > 0 ? ' warn' : ''}` }),
      h('div', { class: 'pools' }, pools),
    );
  }

  function endpointLine(e) {
    const since = `since ${clock(e.since)}`;
    if (e.health === 'idle') return 'no traffic yet';
    if (e.health === 'up') return `up ${since}${e.ewmaMs !== null ? ` · ~${fmtMs(e.ewmaMs)}` : ''} · ${e.inflight} in flight`;
    return `${e.health === 'down' ? 'DOWN' : 'FAILING'} — ${e.reason || 'no reason given'} (${since})`;
  }

  function tile(label, value, sub, cls) {
    return h('div', { class: `tile ${cls || ''}` }, h('div', { class: 'label' }, label), h('div', { class: 'value' }, value), h('div', { class: 'sub' }, sub));
  }

  function renderTiles() {
    const n = Math.min(60, data.t.length);
    const req = sum(data.requests, n);
    const fail = sum(data.failures, n);
    const rps = sum(data.requests, 10) / Math.min(10, Math.max(1, data.t.length));
    const masked5 = [...data.masked.entries()].map(([k, a]) => [k, sum(a, 300)]).filter(([, v]) => v > 0);
    const maskedTotal = masked5.reduce((a, [, v]) => a + v, 0);
    const l = status.latency;
    const firing = status.alerts.firing.length;
    $('tiles').replaceChildren(
      tile('requests / s', rps.toFixed(rps < 10 ? 1 : 0), `${status.totals.requests} in the last ${duration(status.totals.seconds)}`),
      tile('failure rate', req ? fmtPct(fail / req) : '—', `${fail} of ${req} in the last minute`, fail > 0 ? 'bad' : ''),
      tile('p50', fmtMs(l.p50), 'last minute'),
      tile('p95', fmtMs(l.p95), 'last minute'),
      tile('p99', fmtMs(l.p99), 'last minute'),
      tile('masked', String(maskedTotal), maskedTotal ? masked5.map(([k, v]) => `${v} ${k}`).join(' · ') : 'last 5 minutes', maskedTotal ? 'warn' : ''),
      tile('alerts', String(firing), firing ? status.alerts.firing.map((a) => a.key).join(' · ') : 'none firing', firing ? 'bad' : ''),
    );
  }

  function renderFailures() {
    const rows = status.failures.map((f) =>
      h(
        'tr',
        { 'data-cause': f.cause, 'data-request-id': f.requestId },
        h('td', { class: 'mono' }, clock(Date.parse(f.time))),
        h('td', {}, f.route ?? '—'),
        h('td', {}, h('span', { class: `badge s${String(f.status)[0]}` }, f.status)),
        h('td', {}, h('span', { class: 'badge' }, f.cause), h('span', { class: 'cause-title' }, f.title), f.message ? h('span', { class: 'cause-msg' }, f.message) : null),
        h('td', { class: 'mono' }, hopText(f)),
        h('td', {}, f.attempts),
        h('td', { class: 'mono' }, f.requestId),
      ),
    );
    const body = $('failures').tBodies[0];
    if (rows.length === 0) body.replaceChildren(h('tr', {}, h('td', { colspan: 7, class: 'empty' }, 'No failed request yet.')));
    else body.replaceChildren(...rows);
  }

  function ticks(results) {
    return h(
      'span',
      { class: 'ticks' },
      results.slice(-30).map((r) => h('i', { class: r.ok ? '' : 'bad', title: `${clock(Date.parse(r.at))} ${r.ok ? r.status : r.cause} ${fmtMs(r.durationMs)}` })),
    );
  }

  function lastText(r) {
    if (!r) return 'no probe yet';
    return r.ok ? `${r.status} · ${fmtMs(r.durationMs)}` : `${r.cause} · ${fmtMs(r.durationMs)}`;
  }

  function renderSynthetic() {
    if (status.synthetic.length === 0) {
      $('synthetic').replaceChildren(h('div', { class: 'empty' }, 'No synthetic check configured (synthetic: in the configuration).'));
      return;
    }
    $('synthetic').replaceChildren(
      ...status.synthetic.map((c) =>
        h(
          'div',
          { class: 'probe-row', 'data-check': c.name, 'data-verdict': c.verdict.code },
          h('div', { class: 'check' }, c.name, h('small', {}, c.url)),
          h(
            'div',
            {},
            h('div', { class: 'probes' }, h('span', { class: 'via' }, 'gateway'), ticks(c.gateway), lastText(c.gateway.at(-1))),
            c.direct ? h('div', { class: 'probes' }, h('span', { class: 'via' }, 'origin'), ticks(c.direct), lastText(c.direct.at(-1))) : null,
          ),
          h('div', { class: `verdict v-${c.verdict.code}` }, c.verdict.text),
        ),
      ),
    );
  }

  function renderAlerts() {
    const a = status.alerts;
    const card = (x) =>
      h(
        'div',
        { class: `alert ${x.status === 'resolved' ? 'resolved' : x.severity}`, 'data-alert': x.key },
        h('span', { class: 'when' }, `${x.status} ${clock(Date.parse(x.endsAt || x.startsAt))}`),
        h('div', { class: 'what' }, x.summary),
        h('div', { class: 'lines' }, x.details.join('\n')),
      );
    const items = [...a.firing.map(card)];
    const past = a.history.filter((x) => x.status === 'resolved').slice(0, 5);
    if (past.length) items.push(h('h2', {}, h('span', { class: 'muted' }, 'recently resolved')), ...past.map(card));
    $('alerts').replaceChildren(...(items.length ? items : [h('div', { class: 'empty' }, 'Nothing firing. Burn-rate alerts on the SLOs, endpoint health and certificates show here.')]));
  }

  function renderHistory() {
    const now = Date.now();
    const from = Math.max(now - MAX_SECONDS * 1000, Date.parse(status.gateway.startedAt));
    const span = Math.max(1, now - from);
    const rows = status.pools.flatMap((p) =>
      p.endpoints.map((e) => {
        const segs = [];
        let up = 0;
        let seen = 0;
        e.history.forEach((c, i) => {
          const a = Math.max(c.t, from);
          const b = i + 1 < e.history.length ? e.history[i + 1].t : now;
          if (b <= from) return;
          const seg = h('span', { class: `s-${c.health}`, title: `${clock(a)} ${c.health}${c.reason ? ` — ${c.reason}` : ''}` });
          seg.style.left = `${((a - from) / span) * 100}%`;
          seg.style.width = `${Math.max(0.2, ((b - a) / span) * 100)}%`;
          segs.push(seg);
          if (c.health !== 'idle') seen += b - a;
          if (c.health === 'up') up += b - a;
        });
        return h(
          'div',
          { class: 'hist-row', 'data-endpoint': e.address },
          h('div', { class: 'addr' }, `${p.name} · ${e.address}`),
          h('div', { class: 'strip' }, segs),
          h('div', { class: 'uptime' }, seen ? `${fmtPct(up / seen)} up` : 'no data'),
        );
      }),
    );
    $('history').replaceChildren(
      ...rows,
      h('div', { class: 'hist-axis' }, h('span', {}), h('div', { class: 'ends' }, h('span', {}, clock(from)), h('span', {}, 'now')), h('span', {})),
    );
  }

  function renderAll() {
    renderHeader();
    renderChain();
    renderTiles();
    renderFailures();
    renderSynthetic();
    renderAlerts();
    renderHistory();
  }

  // ------------------------------------------------------------ live feed

  function setLive(ok) {
    $('live').className = `pill ${ok ? 'live' : 'connecting'}`;
    $('live-text').textContent = ok ? 'live' : 'reconnecting';
  }

  const es = new EventSource('/api/events');
  es.addEventListener('snapshot', (ev) => {
    const msg = JSON.parse(ev.data);
    reset();
    addSeconds(msg.series);
    status = msg.status;
    buildCharts();
    renderAll();
    setLive(true);
  });
  es.addEventListener('tick', (ev) => {
    if (!status) return;
    const msg = JSON.parse(ev.data);
    addSeconds(msg.seconds);
    updateCharts();
    if (msg.status) {
      status = msg.status;
      renderAll();
    } else {
      renderTiles();
      renderChain();
      if (data.t.length % 5 === 0) renderHistory();
    }
    setLive(true);
  });
  es.addEventListener('error', () => setLive(false));

  new ResizeObserver(() => {
    for (const [id, u] of Object.entries(charts)) u.setSize({ width: Math.max(300, $(id).clientWidth), height: 200 });
  }).observe(document.querySelector('main'));
})();
