'use strict';
// The kvmesh status dashboard: reads ../api/pools every 2 s and draws every pool from it. No framework and nothing
// loaded from elsewhere; charts are hand-written SVG. Text from the API is only ever set as text, never as markup.
(() => {
  const API = '../api/pools';
  const REFRESH_MS = 2000;
  const SVG_NS = 'http://www.w3.org/2000/svg';
  /** Routing decision reasons (router-service DecisionReason) in a fixed order, each with its colour class. */
  const REASONS = ['prefix', 'short-match', 'no-match', 'load-imbalance', 'load', 'rotation', 'random'];

  /** ?namespace=NS shows that namespace's pools only. */
  const NAMESPACE = new URLSearchParams(location.search).get('namespace');

  let lastUpdated = null;

  function el(tag, attrs, ...children) {
    return build(document.createElement(tag), attrs, children);
  }

  function svg(tag, attrs, ...children) {
    return build(document.createElementNS(SVG_NS, tag), attrs, children);
  }

  function build(node, attrs, children) {
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value !== undefined && value !== null && value !== false) {
        node.setAttribute(name, value === true ? '' : String(value));
      }
    }
    for (const child of children.flat()) {
      if (child !== undefined && child !== null && child !== false) {
        node.append(child instanceof Node ? child : String(child));
      }
    }
    return node;
  }

  const dash = '—';
  const fraction = v => v == null ? dash : v.toFixed(2);
  const percent = v => v == null ? dash : (v * 100).toFixed(v >= 0.995 || v === 0 ? 0 : 1) + '%';
  const perSecond = v => v == null ? dash : v >= 100 ? v.toFixed(0) : v.toFixed(1);

  /** kubectl's AGE: 42s, 5m, 3h, 2d. */
  function age(millis) {
    const s = Math.max(0, Math.floor(millis / 1000));
    if (s < 120) return s + 's';
    if (s < 7200) return Math.floor(s / 60) + 'm';
    if (s < 172800) return Math.floor(s / 3600) + 'h';
    return Math.floor(s / 86400) + 'd';
  }

  const key = pool => pool.namespace + '/' + pool.name;
  const anchor = pool => 'pool-' + key(pool);
  const condition = (pool, type) => pool.status.conditions.find(c => c.type === type);

  /** Ready and Progressing read well when True, Degraded when False (Kubernetes' "abnormal-true" condition). */
  function tone(c) {
    if (c.status === 'Unknown') return 'unknown';
    if (c.type === 'Degraded') return c.status === 'True' ? 'bad' : 'good';
    if (c.type === 'Progressing') return c.status === 'True' ? 'busy' : 'good';
    return c.status === 'True' ? 'good' : 'bad';
  }

  function poolRow(pool, now) {
    const ready = condition(pool, 'Ready');
    const metrics = pool.status.metrics || {};
    return el('tr', {'data-pool': key(pool)},
        el('td', {}, pool.namespace),
        el('th', {scope: 'row'}, el('a', {href: '#' + anchor(pool)}, pool.name)),
        el('td', {'data-column': 'pods'}, pool.status.podsReady || dash),
        el('td', {'data-column': 'ready', class: ready ? 'tone-' + tone(ready) : ''}, ready ? ready.status : dash),
        el('td', {'data-column': 'policy'}, pool.spec ? pool.spec.routingPolicy : dash),
        el('td', {'data-column': 'hit-rate'}, fraction(metrics.prefixHitRate)),
        el('td', {'data-column': 'kv-usage'}, fraction(metrics.kvCacheUsage)),
        el('td', {'data-column': 'age'}, pool.createdAt ? age(now - Date.parse(pool.createdAt)) : dash));
  }

  function specLine(pool) {
    const s = pool.spec;
    if (!s) return 'no spec';
    return [`model ${s.modelId}`, `${s.replicas} replica${s.replicas === 1 ? '' : 's'}`, `backend ${s.backend}`,
      `policy ${s.routingPolicy}`, `${s.routerReplicas} router${s.routerReplicas === 1 ? '' : 's'}`,
      `generation ${pool.generation}` + (pool.status.observedGeneration == null ? ', not observed yet'
          : pool.status.observedGeneration === pool.generation ? '' : `, observed ${pool.status.observedGeneration}`)]
        .join(' · ');
  }

  function conditions(pool) {
    if (!pool.status.conditions.length) {
      return el('p', {class: 'empty', 'data-conditions': 'none'}, 'No conditions yet: the operator has not reconciled this pool.');
    }
    return el('ul', {class: 'conditions', 'aria-label': 'Conditions'}, pool.status.conditions.map(c =>
        el('li', {class: 'condition tone-' + tone(c), 'data-condition': c.type, 'data-status': c.status,
              'data-reason': c.reason, title: 'since ' + c.lastTransitionTime},
            el('span', {class: 'badge'}, el('b', {}, c.type), ' ', c.status),
            el('span', {class: 'reason'}, c.reason),
            el('span', {class: 'message'}, c.message))));
  }

  function stats(pool) {
    const h = pool.history;
    const last = i => h.ts.length ? i[h.ts.length - 1] : null;
    const tile = (name, label, value) => el('div', {class: 'stat', 'data-stat': name}, el('span', {}, label), el('b', {}, value));
    return el('div', {class: 'stats'},
        tile('pods', 'ready / live pods', `${pool.pods.filter(p => p.ready).length} / ${pool.pods.length}`),
        tile('kv-usage', 'KV usage', percent(last(h.kvCacheUsage))),
        tile('hit-rate', 'prefix hit rate', percent(last(h.prefixHitRate))),
        tile('requests', 'requests/s', perSecond(last(h.requestsPerSecond))),
        tile('tokens', 'tokens/s', perSecond(last(h.tokensPerSecond))));
  }

  /** 1, 2 or 5 times a power of ten, at least v: a round top for an axis. */
  function roundUp(v) {
    if (!(v > 0)) return 1;
    const power = Math.pow(10, Math.floor(Math.log10(v)));
    return [1, 2, 5, 10].map(m => m * power).find(m => m >= v);
  }

  /** A line per series over time, with a round y axis (0..max), the last value of each marked. */
  function lineChart(name, title, ts, series, max, format) {
    const W = 560, H = 150, left = 44, right = 12, top = 10, bottom = 22;
    const n = ts.length;
    const yMax = max != null ? max : roundUp(Math.max(0, ...series.flatMap(s => s.values)));
    const first = ts[0], lastTs = ts[n - 1];
    const x = t => n < 2 ? W - right : left + (t - first) / (lastTs - first) * (W - left - right);
    const y = v => top + (1 - Math.min(v, yMax) / yMax) * (H - top - bottom);
    const chart = svg('svg', {viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'data-chart': name, 'data-points': n},
        svg('title', {}, title));
    for (const f of [0, 0.5, 1]) {
      chart.append(svg('line', {class: 'grid', x1: left, x2: W - right, y1: y(yMax * f), y2: y(yMax * f)}),
          svg('text', {class: 'axis', x: left - 6, y: y(yMax * f) + 4, 'text-anchor': 'end'}, format(yMax * f)));
    }
    if (n === 0) {
      chart.append(svg('text', {class: 'axis', x: (W + left) / 2, y: H / 2, 'text-anchor': 'middle'},
          'no samples yet: no pod has reported'));
    } else {
      chart.append(svg('text', {class: 'axis', x: left, y: H - 6}, n < 2 ? 'now' : '−' + age(lastTs - first)),
          svg('text', {class: 'axis', x: W - right, y: H - 6, 'text-anchor': 'end'}, 'now'));
    }
    series.forEach((s, i) => {
      const points = s.values.map((v, j) => `${x(ts[j]).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
      chart.append(svg('polyline', {class: 'line series-' + i, points, 'data-series': s.name, 'data-points': s.values.length}));
      if (s.values.length) {
        chart.append(svg('circle', {class: 'dot series-' + i, cx: x(ts[n - 1]).toFixed(1), cy: y(s.values[n - 1]).toFixed(1), r: 3}));
      }
    });
    const legend = el('ul', {class: 'legend'}, series.map((s, i) =>
        el('li', {}, el('i', {class: 'swatch series-' + i}), s.label + ' ', el('b', {}, n ? format(s.values[n - 1]) : dash))));
    return el('figure', {class: 'chart-box'}, el('figcaption', {}, title), chart, legend);
  }

  function charts(pool) {
    const h = pool.history;
    return el('div', {class: 'charts'},
        lineChart('cache', 'KV cache usage and prefix hit rate', h.ts, [
          {name: 'kvCacheUsage', label: 'KV usage', values: h.kvCacheUsage},
          {name: 'prefixHitRate', label: 'hit rate', values: h.prefixHitRate}], 1, v => Math.round(v * 100) + '%'),
        lineChart('throughput', 'Requests per second', h.ts, [
          {name: 'requestsPerSecond', label: 'requests/s', values: h.requestsPerSecond}], null, perSecond));
  }

  function routingMix(pool) {
    const entries = Object.entries(pool.routingMix).filter(([, count]) => count > 0)
        .sort(([a], [b]) => (REASONS.indexOf(a) + 1 || 99) - (REASONS.indexOf(b) + 1 || 99));
    const total = entries.reduce((sum, [, count]) => sum + count, 0);
    const reasonClass = reason => 'reason-' + (REASONS.includes(reason) ? reason : 'other');
    const box = el('div', {class: 'routing-mix', 'data-routing-mix': key(pool), 'data-total': total},
        el('h3', {}, 'Routing mix ', el('small', {}, total ? `${total} decisions` : '')));
    if (!total) {
      box.append(el('p', {class: 'empty'}, 'No routing decisions reported: the routers have routed nothing yet, '
          + 'or their /router/stats cannot be reached from the operator.'));
      return box;
    }
    const share = count => (count / total * 100).toFixed(1) + '%';
    box.append(
        el('div', {class: 'mix-bar', role: 'img',
              'aria-label': 'routing decisions: ' + entries.map(([r, c]) => `${r} ${share(c)}`).join(', ')},
            entries.map(([reason, count]) => el('span', {class: 'segment ' + reasonClass(reason), 'data-reason': reason,
              'data-count': count, style: `width:${share(count)}`, title: `${reason}: ${count} (${share(count)})`}))),
        el('ul', {class: 'legend'}, entries.map(([reason, count]) =>
            el('li', {}, el('i', {class: 'swatch ' + reasonClass(reason)}), reason + ' ', el('b', {}, count), ` (${share(count)})`))));
    return box;
  }

  function podsTable(pool) {
    const timeout = (pool.telemetry.heartbeatTimeoutMillis / 1000).toFixed(0);
    if (!pool.pods.length) {
      return el('p', {class: 'empty', 'data-pods': key(pool)}, pool.telemetry.followed
          ? `No live pod: none has sent a heartbeat on pod-status in the last ${timeout} s.`
          : 'The operator does not follow this pool\'s pod-status yet (it starts on the first reconcile).');
    }
    const head = ['POD', 'ADDRESS', 'READY', 'RUNNING', 'WAITING', 'KV USAGE', 'KV BLOCKS', 'HIT RATE', 'TOKENS/S',
      'REQ/S', 'HEARTBEAT'];
    return el('table', {class: 'pods', 'data-pods': key(pool)},
        el('caption', {}, 'Live runtime pods (latest heartbeat on pod-status)'),
        el('thead', {}, el('tr', {}, head.map(h => el('th', {scope: 'col'}, h)))),
        el('tbody', {}, pool.pods.map(p => el('tr', {'data-pod': p.id, 'data-ready': String(p.ready)},
            el('th', {scope: 'row'}, p.id),
            el('td', {}, el('code', {}, p.address)),
            el('td', {class: p.ready ? 'tone-good' : 'tone-bad'}, p.ready ? 'yes' : 'no'),
            el('td', {}, p.running),
            el('td', {}, p.waiting),
            el('td', {'data-column': 'kv-usage'}, el('meter', {min: 0, max: 1, value: p.kvUsage}), ' ', percent(p.kvUsage)),
            el('td', {}, `${p.kvBlocksUsed}/${p.kvBlocksTotal}`),
            el('td', {'data-column': 'hit-rate'}, percent(p.prefixHitRate)),
            el('td', {}, perSecond(p.tokensPerSecond)),
            el('td', {}, perSecond(p.requestsPerSecond)),
            el('td', {}, (p.heartbeatAgeMillis / 1000).toFixed(1) + ' s ago')))));
  }

  function poolCard(pool) {
    const id = anchor(pool);
    return el('section', {class: 'card pool', id, 'data-pool-detail': key(pool), 'aria-labelledby': id + '-title'},
        el('header', {class: 'pool-header'},
            el('h2', {id: id + '-title'}, el('span', {class: 'namespace'}, pool.namespace + '/'), pool.name),
            el('p', {class: 'spec'}, specLine(pool)),
            pool.status.endpoint && el('code', {class: 'endpoint'}, pool.status.endpoint)),
        conditions(pool),
        pool.telemetry.problem && el('p', {class: 'problem', role: 'status'}, 'Reading pod-status fails: ' + pool.telemetry.problem),
        stats(pool),
        charts(pool),
        routingMix(pool),
        podsTable(pool));
  }

  function render(data) {
    const now = Date.parse(data.generatedAt);
    const pools = NAMESPACE ? data.pools.filter(p => p.namespace === NAMESPACE) : data.pools;
    document.querySelector('#pool-table tbody').replaceChildren(...pools.map(p => poolRow(p, now)));
    document.getElementById('no-pools').hidden = pools.length > 0;
    document.getElementById('pool-details').replaceChildren(...pools.map(poolCard));
  }

  function showNamespaceFilter() {
    const filter = document.getElementById('namespace-filter');
    filter.hidden = !NAMESPACE;
    if (NAMESPACE) {
      filter.replaceChildren('namespace ', el('code', {}, NAMESPACE), ' · ', el('a', {href: location.pathname}, 'all namespaces'));
    }
  }

  function showConnected() {
    const banner = document.getElementById('connection-banner');
    banner.hidden = true;
    banner.textContent = '';
    document.getElementById('dashboard').dataset.state = 'live';
    const stamp = document.getElementById('last-updated');
    stamp.dateTime = lastUpdated.toISOString();
    stamp.textContent = lastUpdated.toLocaleTimeString();
  }

  function showUnreachable(reason) {
    const banner = document.getElementById('connection-banner');
    banner.hidden = false;
    banner.textContent = `The operator's API (${new URL(API, location.href).pathname}) cannot be reached: ${reason}. `
        + (lastUpdated ? `Showing what it said at ${lastUpdated.toLocaleTimeString()}; ` : '')
        + `retrying every ${REFRESH_MS / 1000} s.`;
    document.getElementById('dashboard').dataset.state = 'unreachable';
  }

  async function refresh() {
    try {
      const response = await fetch(API, {cache: 'no-store', headers: {accept: 'application/json'}});
      const body = await response.json().catch(() => null);
      if (!response.ok) {
        showUnreachable(body && body.error ? body.error.message : `HTTP ${response.status}`);
        return;
      }
      render(body);
      lastUpdated = new Date();
      showConnected();
    } catch (e) {
      showUnreachable(e.message || String(e));
    }
  }

  /** The next read starts when the last one ended, so a slow API never has two reads in flight. */
  async function poll() {
    await refresh();
    setTimeout(poll, REFRESH_MS);
  }

  showNamespaceFilter();
  poll();
})();
