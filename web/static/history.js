/* leafmon dashboard: history charts in the manner of Victron's VRM: a range
 * picker, stacked uPlot charts with one shared cursor, drag to zoom (all
 * charts follow), charge sessions shaded. One /api/history request brings
 * every series, downsampled by the server to about one point per pixel. */
'use strict';

(function () {
  const LM = window.LM;
  const el = LM.el;

  const CHARTS = [
    { title: 'State of charge', unit: () => '%', series: [
      { sig: 'battery_soc_pct', label: 'SOC', color: '#2ea043' },
      { sig: 'battery_soc_dash_pct', label: 'Dash SOC', color: '#58a6ff' }] },
    { title: 'Power', unit: () => 'kW', series: [
      { sig: 'battery_power_kw', label: 'Battery (+ out)', color: '#f0883e' },
      { sig: 'charge_obc_power_kw', label: 'Charger', color: '#3fb950' }] },
    { title: 'Speed', unit: () => LM.speedUnit(), conv: 'dist', series: [
      { sig: 'vehicle_speed_kmh', label: 'Speed', color: '#58a6ff' }] },
    { title: 'Temperatures', unit: () => LM.tempUnit(), conv: 'temp', series: [
      { sig: 'battery_temp_max_c', label: 'Pack max', color: '#f85149' },
      { sig: 'battery_temp_avg_c', label: 'Pack avg', color: '#d29922' },
      { sig: 'battery_temp_min_c', label: 'Pack min', color: '#58a6ff' },
      { sig: 'climate_ambient_c', label: 'Outside', color: '#8b98a5' }] },
    { title: 'Voltage and current', unit: () => 'V', series: [
      { sig: 'battery_voltage_v', label: 'Voltage (V)', color: '#a371f7' },
      { sig: 'battery_current_a', label: 'Current (A)', color: '#f0883e', scale: 'A' }] },
  ];
  const SIGNALS = CHARTS.flatMap((c) => c.series.map((s) => s.sig)).concat(['charge_active']);

  const view = { range: 3600, from: 0, to: 0, charts: [], sessions: [], timer: null };
  const hist = (LM.hist = { view, last: null, points: 0, fetches: 0 });
  let syncing = false;

  function css(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  /* charge sessions: charge_active holds its value until the next change */
  function sessions(t, active, to) {
    const out = [];
    let on = null;
    for (let i = 0; i < t.length; i++) {
      if (active[i] == null) continue;
      if (active[i] && on == null) on = t[i];
      if (!active[i] && on != null) { out.push([on, t[i]]); on = null; }
    }
    if (on != null) out.push([on, to]);
    return out;
  }

  function shade(u) {
    const ctx = u.ctx;
    ctx.save();
    ctx.fillStyle = 'rgba(63, 185, 80, 0.14)';
    for (const [a, b] of view.sessions) {
      const x0 = u.valToPos(a, 'x', true), x1 = u.valToPos(b, 'x', true);
      const l = Math.max(x0, u.bbox.left), r = Math.min(x1, u.bbox.left + u.bbox.width);
      if (r > l) ctx.fillRect(l, u.bbox.top, r - l, u.bbox.height);
    }
    ctx.restore();
  }

  function follow(u, key) {
    if (key !== 'x' || syncing) return;
    syncing = true;
    for (const o of view.charts) if (o !== u) o.setScale('x', { min: u.scales.x.min, max: u.scales.x.max });
    syncing = false;
  }

  function size() {
    const w = document.getElementById('charts').clientWidth - 18;
    return { width: Math.max(260, w), height: window.innerWidth < 600 ? 150 : 190 };
  }

  function options(c) {
    const grid = { stroke: css('--line'), width: 1 };
    const axis = { stroke: css('--dim'), grid, ticks: grid };
    const series = [{}].concat(c.series.map((s) => ({
      /* the server carries values forward while they are current: a gap is stale */
      label: s.label, stroke: s.color, width: 1.5, spanGaps: false, scale: s.scale || 'y',
      value: (u, v) => (v == null ? '—' : v.toFixed(1)),
    })));
    const axes = [Object.assign({}, axis), Object.assign({ label: c.unit(), size: 50 }, axis)];
    if (c.series.some((s) => s.scale === 'A'))
      axes.push(Object.assign({ label: 'A', scale: 'A', side: 1, size: 50 }, axis, { grid: { show: false } }));
    return Object.assign(size(), {
      series, axes,
      scales: { x: { time: true } },
      cursor: { sync: { key: 'leafmon-history' }, drag: { x: true, y: false } },
      hooks: { drawClear: [shade], setScale: [follow] },
      legend: { live: true },
    });
  }

  function columns(c, res) {
    const xs = res.t.map((ms) => ms / 1000);
    const cols = [xs];
    for (const s of c.series) {
      const raw = res.series[s.sig] || [];
      cols.push(raw.map((v) => (v == null ? null : c.conv ? LM.conv[c.conv](v) : v)));
    }
    return cols;
  }

  function draw(res) {
    const box = document.getElementById('charts');
    for (const u of view.charts) u.destroy();
    view.charts = [];
    box.textContent = '';
    view.sessions = sessions(res.t.map((ms) => ms / 1000), res.series.charge_active || [], view.to);
    let points = 0;
    for (const c of CHARTS) {
      const holder = el('div', { class: 'chart', 'data-chart': c.title }, el('h3', { text: c.title + ' (' + c.unit() + ')' }));
      box.append(holder);
      const data = columns(c, res);
      for (let i = 1; i < data.length; i++) points += data[i].filter((v) => v != null).length;
      const u = new uPlot(options(c), data, holder);
      u.setScale('x', { min: view.from, max: view.to });
      view.charts.push(u);
    }
    hist.points = points;
  }

  function note(res) {
    const src = document.getElementById('h-source');
    const what = res.source === 'influx' ? 'from InfluxDB' : 'from the dashboard\u2019s memory';
    src.textContent = res.points + ' points ' + what + ', ' + res.step + ' s each' +
      (res.note ? ' \u2014 ' + res.note : '') + (res.points === 0 ? ' \u2014 no data in this range' : '');
  }

  function exportLink() {
    const q = new URLSearchParams({ signals: SIGNALS.join(','), from: view.from, to: view.to, points: 50000 });
    document.getElementById('h-export').href = 'api/export.csv?' + q;
  }

  async function load() {
    if (view.range) {
      view.to = Math.floor(Date.now() / 1000);
      view.from = view.to - view.range;
    }
    const points = Math.min(5000, Math.max(200, size().width));
    const q = new URLSearchParams({ signals: SIGNALS.join(','), from: view.from, to: view.to, points });
    try {
      const res = await LM.api('api/history?' + q);
      hist.last = res;
      hist.fetches++;
      draw(res);
      note(res);
      exportLink();
    } catch (err) {
      document.getElementById('h-source').textContent = 'History unavailable: ' + err.message;
    }
  }

  function toLocalInput(secs) {
    const d = new Date(secs * 1000);
    return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  }

  function pick(range) {
    view.range = range;
    document.querySelectorAll('[data-range]').forEach((b) => b.classList.toggle('active', +b.dataset.range === range));
    load().then(() => {
      document.getElementById('h-from').value = toLocalInput(view.from);
      document.getElementById('h-to').value = toLocalInput(view.to);
    });
  }

  function custom() {
    const f = Date.parse(document.getElementById('h-from').value);
    const t = Date.parse(document.getElementById('h-to').value);
    if (!isFinite(f) || !isFinite(t) || f >= t) {
      document.getElementById('h-source').textContent = 'Pick a start before the end.';
      return;
    }
    view.range = 0;
    view.from = Math.floor(f / 1000);
    view.to = Math.floor(t / 1000);
    document.querySelectorAll('[data-range]').forEach((b) => b.classList.remove('active'));
    load();
  }

  LM.showHistory = function (visible) {
    clearInterval(view.timer);
    view.timer = null;
    if (!visible) return;
    if (!hist.fetches) pick(view.range);
    else load();
    view.timer = setInterval(() => { if (view.range) load(); }, 30000);
  };

  LM.initHistory = function () {
    document.querySelectorAll('[data-range]').forEach((b) => b.addEventListener('click', () => pick(+b.dataset.range)));
    document.getElementById('h-apply').addEventListener('click', custom);
    document.getElementById('h-reset').addEventListener('click', () => {
      for (const u of view.charts) u.setScale('x', { min: view.from, max: view.to });
    });
    window.addEventListener('resize', () => { for (const u of view.charts) u.setSize(size()); });
    document.addEventListener('lm-units', () => { if (hist.last) draw(hist.last); });
  };
})();
