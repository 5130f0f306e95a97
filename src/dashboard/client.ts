// The dashboard's browser script, served as assets/dashboard.js. Plain ES2017
// for any current browser; no framework, uPlot for the charts. Kept free of
// backticks so it can live in this template string.
export const clientScript = String.raw`(function () {
  'use strict';
  var config = JSON.parse(document.getElementById('sluice-config').textContent);
  var MAX = config.historySize;
  var cardsEl = document.getElementById('cards');
  var alertsEl = document.getElementById('alerts');
  var logEl = document.getElementById('alert-log');
  var clockEl = document.getElementById('clock');
  var connEl = document.getElementById('conn');
  var comps = new Map();
  var lastSeq = 0;
  var received = 0;
  var logged = 0;

  var STATE_COLORS = {
    normal: '#3ddc97', elevated: '#ffd166', critical: '#ff9f43', blocked: '#ff4d6d', draining: '#4aa3ff', closed: '#5c677d',
    open: '#ff4d6d', 'half-open': '#ff9f43', baseline: '#3ddc97', spike: '#ff4d6d', growing: '#ff9f43', capped: '#ff4d6d',
    stopped: '#5c677d', idle: '#5c677d', active: '#3ddc97'
  };
  var DROP_COLORS = {
    'drop-oldest': '#ff9f43', 'drop-newest': '#ffd166', sample: '#22d3ee', rejected: '#ff4d6d', timeout: '#f472b6',
    aborted: '#94a3b8', closed: '#64748b', 'flush-failed': '#ef4444', 'dead-letter-failed': '#b91c1c', shed: '#ff4d6d'
  };
  var PALETTE = ['#4aa3ff', '#3ddc97', '#ffd166', '#f472b6', '#22d3ee', '#ff9f43', '#a78bfa', '#94a3b8'];
  var LABELS = {
    inflight: 'in flight', inFlight: 'in flight', ratePerSecond: 'rate/s', lastFlushLatencyMs: 'flush latency',
    flushIntervalMs: 'flush interval', averageLatencyMs: 'avg latency', available: 'credits available'
  };
  var LIMITER_KINDS = { 'concurrency-limiter': 1, 'token-bucket': 1, credits: 1, 'adaptive-rate': 1, 'congestion-window': 1 };

  function hashColor(s, list) {
    var h = 0;
    for (var i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0;
    return list[Math.abs(h) % list.length];
  }
  function stateColor(s) { return STATE_COLORS[s] || hashColor(s, PALETTE); }
  function label(key) { return LABELS[key] || key; }

  function fmt(n) {
    if (n === null || n === undefined || !isFinite(n)) return '\u2013';
    var a = Math.abs(n);
    if (a >= 1e9) return (n / 1e9).toFixed(2) + 'G';
    if (a >= 1e6) return (n / 1e6).toFixed(a >= 1e7 ? 1 : 2) + 'M';
    if (a >= 1e5) return (n / 1e3).toFixed(0) + 'k';
    if (a >= 1e4) return (n / 1e3).toFixed(1) + 'k';
    if (a >= 1e3) return (n / 1e3).toFixed(2) + 'k';
    if (a >= 100 || Number.isInteger(n)) return String(Math.round(n));
    return n.toFixed(a >= 10 ? 1 : 2);
  }
  function fmtMs(ms) { return ms >= 1000 ? fmt(ms / 1000) + ' s' : fmt(ms) + ' ms'; }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function setConn(state, text) {
    connEl.className = 'pill conn ' + state;
    connEl.textContent = text;
  }

  // ---- per-component store -------------------------------------------------
  function getComp(view) {
    var c = comps.get(view.name);
    if (c) return c;
    c = { name: view.name, kind: view.kind, t: [], cols: {}, states: [], reasons: [], gauges: [], timings: [], charts: {}, sigs: {}, boxes: {} };
    var card = el('article', 'card');
    card.dataset.component = view.name;
    var head = el('div', 'card-head');
    head.appendChild(el('h2', '', view.name));
    head.appendChild(el('span', 'kind', view.kind));
    c.stateEl = el('span', 'pill');
    head.appendChild(c.stateEl);
    c.breakerEl = el('span', 'pill');
    c.breakerEl.hidden = true;
    head.appendChild(c.breakerEl);
    c.badgesEl = el('div', 'badges');
    head.appendChild(c.badgesEl);
    card.appendChild(head);
    if (view.description) card.appendChild(el('p', 'description', view.description));
    c.kpisEl = el('div', 'kpis');
    card.appendChild(c.kpisEl);
    var band = el('div', 'band-wrap');
    c.bandEl = document.createElement('canvas');
    c.bandEl.setAttribute('aria-label', 'state timeline');
    band.appendChild(c.bandEl);
    c.bandLegendEl = el('div', 'band-legend');
    band.appendChild(c.bandLegendEl);
    band.hidden = true;
    c.bandWrap = band;
    card.appendChild(band);
    c.chartsEl = el('div', 'charts');
    card.appendChild(c.chartsEl);
    c.errorEl = el('div', 'error');
    card.appendChild(c.errorEl);
    c.card = card;
    cardsEl.appendChild(card);
    comps.set(view.name, c);
    return c;
  }

  function ingest(c, view, t) {
    var v = {};
    if (view.utilization !== undefined) {
      v.util = view.utilization * 100;
      if (view.highWatermark !== undefined) v.high = view.highWatermark * 100;
      if (view.lowWatermark !== undefined) v.low = view.lowWatermark * 100;
    } else if (view.size !== undefined) v.size = view.size;
    if (view.inRate !== undefined) v['in'] = view.inRate;
    if (view.outRate !== undefined) v.out = view.outRate;
    if (view.dropRateBy) {
      var total = 0;
      Object.keys(view.dropRateBy).forEach(function (r) {
        total += view.dropRateBy[r];
        v['drop:' + r] = view.dropRateBy[r];
        if (view.droppedBy[r] > 0 && c.reasons.indexOf(r) < 0) c.reasons.push(r);
      });
      v.drops = total;
    }
    if (view.latency) { v['lat:p50'] = view.latency.p50; v['lat:p90'] = view.latency.p90; v['lat:p99'] = view.latency.p99; }
    Object.keys(view.gauges || {}).forEach(function (k) { v['g:' + k] = view.gauges[k]; if (c.gauges.indexOf(k) < 0) c.gauges.push(k); });
    Object.keys(view.timings || {}).forEach(function (k) { v['tm:' + k] = view.timings[k]; if (c.timings.indexOf(k) < 0) c.timings.push(k); });
    var n = c.t.length;
    c.t.push(t);
    Object.keys(v).forEach(function (k) { if (!c.cols[k]) { c.cols[k] = new Array(n).fill(null); } });
    Object.keys(c.cols).forEach(function (k) { c.cols[k].push(v[k] === undefined ? null : v[k]); });
    c.states.push(view.state || null);
    if (c.t.length > MAX) {
      c.t.shift();
      c.states.shift();
      Object.keys(c.cols).forEach(function (k) { c.cols[k].shift(); });
    }
    c.view = view;
  }

  // ---- charts -----------------------------------------------------------------
  function specs(c) {
    var out = [];
    var has = function (k) { return !!c.cols[k]; };
    if (has('util')) {
      var s = [{ key: 'util', label: 'utilization %', color: '#a78bfa', fill: 'rgba(167,139,250,0.16)', width: 2 }];
      if (has('high')) s.push({ key: 'high', label: 'high watermark', color: '#ff9f43', dash: [6, 4], width: 1.3 });
      if (has('low')) s.push({ key: 'low', label: 'low watermark', color: '#2ec4b6', dash: [6, 4], width: 1.3 });
      out.push({ id: 'buffer', title: 'Buffer utilization', unit: '%', range: [0, 105], series: s });
    } else if (has('size')) {
      out.push({ id: 'buffer', title: 'Queue size (items)', unit: '', series: [{ key: 'size', label: 'queued', color: '#a78bfa', fill: 'rgba(167,139,250,0.16)', width: 2 }] });
    }
    var r = [];
    if (has('in')) r.push({ key: 'in', label: 'in /s', color: '#4aa3ff', width: 1.8 });
    if (has('out')) r.push({ key: 'out', label: 'out /s', color: '#3ddc97', width: 1.8 });
    if (has('drops')) r.push({ key: 'drops', label: 'dropped /s', color: '#ff4d6d', width: 1.4 });
    if (r.length) out.push({ id: 'rates', title: 'Throughput', unit: '/s', series: r });
    if (has('drops')) {
      out.push({ id: 'drops', title: 'Drops by reason', unit: '/s', empty: c.reasons.length === 0 ? 'No drops so far' : '',
        series: c.reasons.map(function (reason) { return { key: 'drop:' + reason, label: reason, color: DROP_COLORS[reason] || hashColor(reason, PALETTE), width: 1.6 }; }) });
    }
    var l = [];
    if (has('lat:p50')) {
      l.push({ key: 'lat:p50', label: 'p50', color: '#7dd3fc', width: 1.6 });
      l.push({ key: 'lat:p90', label: 'p90', color: '#fbbf24', width: 1.6 });
      l.push({ key: 'lat:p99', label: 'p99', color: '#f87171', width: 1.6 });
    }
    c.timings.forEach(function (k, i) { l.push({ key: 'tm:' + k, label: label(k), color: PALETTE[(i + 5) % PALETTE.length], width: 1.3, dash: [3, 3] }); });
    if (l.length) out.push({ id: 'latency', title: 'Latency', unit: 'ms', series: l });
    if (c.gauges.length) {
      out.push({ id: 'gauges', title: LIMITER_KINDS[c.kind] ? 'Limits & credits' : 'Levels', unit: '',
        series: c.gauges.map(function (k, i) { return { key: 'g:' + k, label: label(k), color: PALETTE[i % PALETTE.length], width: 1.6 }; }) });
    }
    return out;
  }

  function axisValues(unit) {
    return function (u, vals) { return vals.map(function (v) { return unit === '%' ? v + '%' : unit === 'ms' ? fmtMs(v) : fmt(v); }); };
  }

  function plotWidth(box) { return Math.max(220, box.clientWidth - 16); }

  function makeChart(c, spec, box) {
    var opts = {
      width: plotWidth(box),
      height: 150,
      legend: { live: false },
      cursor: { drag: { x: false, y: false }, points: { size: 5 } },
      scales: {
        x: { time: false },
        y: { range: spec.range ? spec.range : function (u, min, max) { return [0, max > 0 ? max * 1.12 : 1]; } }
      },
      axes: [
        { stroke: '#8b95a8', font: '11px system-ui, sans-serif', size: 26, grid: { stroke: 'rgba(255,255,255,0.05)', width: 1 }, ticks: { show: false },
          values: function (u, vals) { return vals.map(function (v) { return (Number.isInteger(v) ? v : +v.toFixed(1)) + 's'; }); } },
        { stroke: '#8b95a8', font: '11px system-ui, sans-serif', size: 50, grid: { stroke: 'rgba(255,255,255,0.06)', width: 1 }, ticks: { show: false },
          values: axisValues(spec.unit) }
      ],
      series: [{}].concat(spec.series.map(function (s) {
        var o = { label: s.label, stroke: s.color, width: s.width || 1.5, points: { show: false } };
        if (s.dash) o.dash = s.dash;
        if (s.fill) o.fill = s.fill;
        return o;
      }))
    };
    return new uPlot(opts, chartData(c, spec), box.querySelector('.plot'));
  }

  function chartData(c, spec) {
    return [c.t].concat(spec.series.map(function (s) { return c.cols[s.key]; }));
  }

  function drawCharts(c) {
    specs(c).forEach(function (spec) {
      var box = c.boxes[spec.id];
      if (!box) {
        box = el('div', 'chart');
        box.dataset.chart = spec.id;
        box.appendChild(el('h3', '', spec.title));
        box.appendChild(el('div', 'plot'));
        box.appendChild(el('div', 'empty'));
        c.chartsEl.appendChild(box);
        c.boxes[spec.id] = box;
      }
      box.querySelector('.empty').textContent = spec.empty || '';
      var sig = spec.series.map(function (s) { return s.key; }).join('|');
      if (c.charts[spec.id] && c.sigs[spec.id] !== sig) { c.charts[spec.id].destroy(); delete c.charts[spec.id]; }
      if (!c.charts[spec.id]) {
        c.charts[spec.id] = box.uplot = makeChart(c, spec, box);
        c.sigs[spec.id] = sig;
        resizeObserver.observe(box);
      } else {
        c.charts[spec.id].setData(chartData(c, spec));
      }
    });
  }

  function drawBand(c) {
    var states = c.states;
    var any = states.some(function (s) { return s; });
    c.bandWrap.hidden = !any;
    if (!any) return;
    var canvas = c.bandEl;
    var ratio = window.devicePixelRatio || 1;
    var w = canvas.clientWidth, h = canvas.clientHeight;
    if (canvas.width !== Math.round(w * ratio)) canvas.width = Math.round(w * ratio);
    if (canvas.height !== Math.round(h * ratio)) canvas.height = Math.round(h * ratio);
    var ctx = canvas.getContext('2d');
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, w, h);
    var t = c.t, t0 = t[0], span = Math.max(t[t.length - 1] - t0, 1e-9);
    var seen = [];
    for (var i = 0; i < states.length; i++) {
      var s = states[i];
      if (!s) continue;
      if (seen.indexOf(s) < 0) seen.push(s);
      var x0 = ((t[i] - t0) / span) * w;
      var x1 = i + 1 < t.length ? ((t[i + 1] - t0) / span) * w : w;
      ctx.fillStyle = stateColor(s);
      ctx.fillRect(x0, 0, Math.max(1, x1 - x0 + 0.5), h);
    }
    var legend = c.bandLegendEl;
    legend.textContent = '';
    legend.appendChild(el('span', '', 'state over ' + fmt(span) + ' s:'));
    seen.forEach(function (s) {
      var item = el('span');
      var sw = el('i');
      sw.style.background = stateColor(s);
      item.appendChild(sw);
      item.appendChild(document.createTextNode(s));
      legend.appendChild(item);
    });
  }

  function kpi(parent, value, text, bad) {
    var k = el('div', 'kpi' + (bad ? ' bad' : ''));
    k.appendChild(el('div', 'v', value));
    k.appendChild(el('div', 'l', text));
    parent.appendChild(k);
  }

  function drawHead(c, firing) {
    var v = c.view;
    c.stateEl.hidden = !v.state;
    if (v.state) {
      c.stateEl.textContent = v.state;
      c.stateEl.style.background = stateColor(v.state) + '22';
      c.stateEl.style.color = stateColor(v.state);
      c.stateEl.style.borderColor = stateColor(v.state) + '66';
    }
    c.breakerEl.hidden = !v.breakerState;
    if (v.breakerState) {
      c.breakerEl.textContent = 'breaker ' + v.breakerState;
      c.breakerEl.style.color = stateColor(v.breakerState === 'closed' ? 'normal' : v.breakerState);
      c.breakerEl.style.borderColor = '#263043';
    }
    var k = c.kpisEl;
    k.textContent = '';
    if (v.size !== undefined) {
      kpi(k, fmt(v.size) + (v.capacity ? ' / ' + fmt(v.capacity) : ''), v.capacity ? 'buffered (' + Math.round((v.utilization || 0) * 100) + '%)' : 'queued');
    }
    if (v.inRate !== undefined) kpi(k, fmt(v.inRate), 'in /s');
    if (v.outRate !== undefined) kpi(k, fmt(v.outRate), 'out /s');
    if (v.dropped !== undefined) kpi(k, fmt(v.dropped), 'dropped', v.dropped > 0);
    if (v.blockedMsPerSec !== undefined && v.blockedMsPerSec > 0) kpi(k, fmt(v.blockedMsPerSec / 1000), 'producers blocked');
    if (v.latency) kpi(k, fmtMs(v.latency.p99), 'p99 latency');
    Object.keys(v.gauges || {}).slice(0, 4).forEach(function (g) { kpi(k, fmt(v.gauges[g]), label(g)); });
    c.badgesEl.textContent = '';
    firing.forEach(function (a) { c.badgesEl.appendChild(el('span', 'alert', a.rule.replace(/_/g, ' ') + ' ' + fmtValue(a.value, a.unit))); });
    c.card.classList.toggle('firing', firing.length > 0);
    c.errorEl.textContent = v.error ? 'stats() failed: ' + v.error : '';
  }

  function fmtValue(x, unit) {
    if (unit === 'utilization' || unit === 'fraction') return (x * 100).toFixed(x < 0.1 ? 1 : 0) + '%';
    if (unit === 'ms') return fmtMs(x);
    if (unit === 'ms/s') return fmt(x) + ' ms/s';
    return fmt(x);
  }

  function drawAlerts(snap) {
    alertsEl.textContent = '';
    if (!snap.alerts.length) { alertsEl.appendChild(el('span', 'ok', 'No alerts firing')); return; }
    snap.alerts.forEach(function (a) {
      var b = el('span', 'alert');
      b.appendChild(el('b', '', a.component));
      b.appendChild(document.createTextNode(' ' + a.rule.replace(/_/g, ' ') + ' ' + fmtValue(a.value, a.unit) + ' \u2265 ' + fmtValue(a.threshold, a.unit)));
      alertsEl.appendChild(b);
    });
  }

  function logEvents(snap) {
    snap.alertEvents.forEach(function (e) {
      if (logged === 0) logEl.textContent = '';
      logged++;
      var li = el('li', e.state, fmt(snap.t) + ' s  ' + e.component + '  ' + e.rule.replace(/_/g, ' ') + '  ' + e.state + '  ' +
        fmtValue(e.value, e.unit) + ' (threshold ' + fmtValue(e.threshold, e.unit) + ')');
      logEl.insertBefore(li, logEl.firstChild);
      while (logEl.children.length > 50) logEl.removeChild(logEl.lastChild);
    });
  }

  // ---- stream ------------------------------------------------------------------
  var lastSnap = null;
  function accept(snap) {
    if (snap.seq <= lastSeq) return false;
    lastSeq = snap.seq;
    received++;
    snap.components.forEach(function (view) { ingest(getComp(view), view, snap.t); });
    logEvents(snap);
    lastSnap = snap;
    return true;
  }

  function render() {
    if (!lastSnap) return;
    clockEl.textContent = 't = ' + fmt(lastSnap.t) + ' s';
    drawAlerts(lastSnap);
    comps.forEach(function (c) {
      if (!c.view) return;
      drawHead(c, lastSnap.alerts.filter(function (a) { return a.component === c.name; }));
      drawBand(c);
      drawCharts(c);
    });
  }

  function connect() {
    var es = new EventSource('events');
    es.addEventListener('history', function (e) {
      var list = JSON.parse(e.data);
      if (list.length && list[list.length - 1].seq < lastSeq) { lastSeq = 0; } // the server restarted
      list.forEach(accept);
      render();
    });
    es.onmessage = function (e) { if (accept(JSON.parse(e.data))) render(); };
    // The server gave this page's slot to a newer viewer: reconnecting would take it back.
    es.addEventListener('evicted', function () { es.close(); setConn('ended', 'replaced by another viewer: reload to reconnect'); });
    es.onopen = function () { setConn('live', 'live'); };
    es.onerror = function () {
      if (es.readyState === EventSource.CLOSED) setConn('ended', 'stopped');
      else setConn('reconnecting', 'reconnecting');
    };
  }

  // Chart boxes change width when the window does and when a card gains a chart.
  var resized = new Set();
  var resizeObserver = new ResizeObserver(function (entries) {
    entries.forEach(function (e) { resized.add(e.target); });
    requestAnimationFrame(function () {
      resized.forEach(function (box) {
        var chart = box.uplot;
        if (chart && Math.abs(chart.width - plotWidth(box)) > 1) chart.setSize({ width: plotWidth(box), height: 150 });
      });
      resized.clear();
      comps.forEach(drawBand);
    });
  });

  window.sluiceDashboard = {
    snapshots: function () { return received; },
    charts: function () {
      var all = [];
      comps.forEach(function (c) { Object.keys(c.charts).forEach(function (id) { all.push(c.charts[id]); }); });
      return all;
    },
    components: function () { return Array.from(comps.keys()); }
  };
  connect();
})();
`;
