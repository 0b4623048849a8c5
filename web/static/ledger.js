/* leafmon dashboard: the ledger's pages. Trips (monthly totals, the list,
 * a trip's speed/power/SOC/temperature from /api/history over its interval),
 * Charges (the list with kWh and cost, a charge's power/SOC/pack-temperature
 * curve) and Battery (SOH, Hx, AHr, measured capacity and bars over time, the
 * trend and the next bar's projection, cell voltages when they are known).
 * Lists come from /api/trips, /api/charges, /api/monthly, /api/battery. */
'use strict';

(function () {
  const LM = window.LM;
  const el = LM.el;
  const L = (LM.ledger = { charts: {}, trips: null, charges: null, battery: null, selected: {}, cells: null });
  const DAY = 86400;

  function css(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }
  const f = (v, d) => LM.fmt(v, d);
  const localDate = (unix) => new Date(unix * 1000).toLocaleDateString();
  const localTime = (unix) => new Date(unix * 1000).toLocaleString([], {
    year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
  function dur(s) {
    if (s == null) return '—';
    s = Math.round(s);
    return s >= 3600 ? Math.floor(s / 3600) + ' h ' + String(Math.floor(s / 60) % 60).padStart(2, '0') + ' min'
      : Math.floor(s / 60) + ' min';
  }
  const arrow = (a, b, d) => f(a, d) + ' → ' + f(b, d);

  /* ---- charts: one uPlot per box, destroyed with its page's redraw ---- */
  function destroy(group) {
    for (const u of L.charts[group] || []) u.destroy();
    L.charts[group] = [];
  }

  function chart(group, box, title, unit, series, data, extra) {
    const holder = el('div', { class: 'chart', 'data-chart': title }, el('h3', { text: title + (unit ? ' (' + unit + ')' : '') }));
    box.append(holder);
    const grid = { stroke: css('--line'), width: 1 };
    const axis = { stroke: css('--dim'), grid, ticks: grid };
    const axes = [Object.assign({}, axis), Object.assign({ label: unit, size: 52 }, axis)];
    const right = series.find((s) => s.scale);
    if (right) axes.push(Object.assign({ label: right.unit, scale: right.scale, side: 1, size: 52 }, axis, { grid: { show: false } }));
    const opts = Object.assign({
      width: Math.max(260, box.clientWidth - 18), height: window.innerWidth < 600 ? 150 : 190,
      scales: { x: { time: true } }, axes, legend: { live: true },
      series: [{}].concat(series.map((s) => ({
        label: s.label, stroke: s.color, width: s.points ? 0 : 1.5, scale: s.scale || 'y', dash: s.dash,
        spanGaps: s.spanGaps !== false, paths: s.stepped ? uPlot.paths.stepped({ align: 1 }) : undefined,
        points: s.points ? { show: true, size: 6, fill: s.color, stroke: s.color } : { show: false },
        value: (u, v) => (v == null ? '—' : v.toFixed(s.d == null ? 1 : s.d)),
      }))),
    }, extra || {});
    const u = new uPlot(opts, data, holder);
    (L.charts[group] = L.charts[group] || []).push(u);
    return u;
  }

  /* A session's curves from the history API over its own interval. A pick
     made while an earlier one's history is still on its way wins: the
     earlier answer is dropped, not drawn beside (or instead of) it. */
  const picks = {};
  async function sessionCharts(group, box, sess, specs) {
    const pick = (picks[group] = (picks[group] || 0) + 1);
    destroy(group);
    box.textContent = '';
    const from = Math.floor(sess.start), to = Math.max(Math.ceil(sess.end), from + 60);
    const sigs = [...new Set(specs.flatMap((c) => c.series.map((s) => s.sig)))];
    const q = new URLSearchParams({ signals: sigs.join(','), from, to, points: Math.min(2000, Math.max(200, box.clientWidth)) });
    const note = el('p', { class: 'note', text: 'loading…' });
    box.append(note);
    let res;
    try {
      res = await LM.api('api/history?' + q);
    } catch (err) {
      if (pick === picks[group]) note.textContent = 'History unavailable: ' + err.message;
      return;
    }
    if (pick !== picks[group]) return;
    note.textContent = res.points + ' points ' + (res.source === 'influx' ? 'from InfluxDB' : 'from the dashboard\u2019s memory') +
      (res.note ? ' \u2014 ' + res.note : '') + (res.points === 0 ? ' \u2014 no history kept for this interval' : '');
    const xs = res.t.map((ms) => ms / 1000);
    for (const c of specs) {
      const cols = [xs].concat(c.series.map((s) => (res.series[s.sig] || []).map((v) => {
        if (v == null) return null;
        const x = s.neg ? -v : v;
        return c.conv ? LM.conv[c.conv](x) : x;
      })));
      const u = chart(group, box, c.title, typeof c.unit === 'function' ? c.unit() : c.unit, c.series, cols);
      u.setScale('x', { min: from, max: to });
    }
  }

  function kv(rows) {
    const t = el('table', { class: 'kv' });
    for (const [k, v] of rows) if (v != null && v !== '—') t.append(el('tr', {}, el('td', { text: k }), el('td', { text: v })));
    return t;
  }

  function flags(s) {
    const out = [];
    if (s.partial) out.push('partial');
    if (s.recovery) out.push(s.recovery);
    if (s.move) out.push('move');
    return out.join(', ');
  }

  function since(sel) {
    const v = document.getElementById(sel).value;
    return v ? '?since=' + encodeURIComponent(v) : '';
  }

  function table(id, head, rows, onPick, selected) {
    const t = document.getElementById(id);
    t.textContent = '';
    t.append(el('tr', {}, ...head.map((h) => el('th', { text: h }))));
    for (const r of rows) {
      const tr = el('tr', { class: 'pick' + (r.key === selected ? ' sel' : ''), 'data-start': String(r.key) },
        ...r.cells.map((c) => (c instanceof Node ? el('td', {}, c) : el('td', { text: c }))));
      tr.addEventListener('click', () => onPick(r.key));
      t.append(tr);
    }
  }

  /* ---- trips ---- */
  const TRIP_CHARTS = [
    { title: 'Speed', unit: () => LM.speedUnit(), conv: 'dist', series: [{ sig: 'vehicle_speed_kmh', label: 'Speed', color: '#58a6ff' }] },
    { title: 'Power', unit: 'kW', series: [{ sig: 'battery_power_kw', label: 'Battery (+ out)', color: '#f0883e' }] },
    { title: 'State of charge', unit: '%', series: [{ sig: 'battery_soc_pct', label: 'SOC', color: '#2ea043' }] },
    { title: 'Temperatures', unit: () => LM.tempUnit(), conv: 'temp', series: [
      { sig: 'battery_temp_avg_c', label: 'Pack avg', color: '#d29922' },
      { sig: 'climate_ambient_c', label: 'Outside', color: '#8b98a5' }] },
  ];

  function monthly(list) {
    const t = document.getElementById('t-monthly');
    t.textContent = '';
    t.append(el('tr', {}, ...['Month', 'Trips', LM.distUnit(), 'Net kWh', 'Wh/' + LM.distUnit(), 'Charges', 'Pack kWh', 'Grid kWh', 'Cost', 'Parked loss kWh']
      .map((h) => el('th', { text: h }))));
    for (const m of list.slice().reverse()) {
      const km = m.distance_km, whkm = m.wh_per_km;
      const cost = Object.entries(m.cost).map(([c, v]) => v.toFixed(2) + ' ' + c).join(', ') +
        (m.charges_uncosted ? ' (' + m.charges_uncosted + ' without a price)' : '');
      t.append(el('tr', { 'data-month': m.month }, ...[m.month, m.trips, f(LM.conv.dist(km), 1), f(m.net_kwh, 2),
        whkm == null ? '—' : f(LM.units.dist === 'mi' ? whkm * 1.609344 : whkm, 0), m.charges,
        f(m.charge_pack_kwh, 2), f(m.charge_grid_kwh, 2), cost || '—', f(m.park_kwh_lost, 2)]
        .map((v) => el('td', { text: String(v) }))));
    }
    if (!list.length) t.append(el('tr', {}, el('td', { colspan: '10', text: 'No sessions yet.' })));
  }

  function tripDetail(start) {
    const s = (L.trips || []).find((x) => x.start === start);
    const box = document.getElementById('t-detail');
    box.hidden = !s;
    if (!s) return;
    L.selected.trip = start;
    document.querySelectorAll('#t-list tr.pick').forEach((tr) => tr.classList.toggle('sel', +tr.dataset.start === start));
    const d = LM.distUnit();
    document.getElementById('t-title').textContent = 'Trip of ' + localTime(s.start) + (flags(s) ? ' (' + flags(s) + ')' : '');
    const fig = document.getElementById('t-figures');
    fig.textContent = '';
    fig.append(kv([
      ['Start / end', localTime(s.start) + ' → ' + localTime(s.end)],
      ['Duration (driving)', dur(s.duration_s) + (s.driving_s != null ? ' (' + dur(s.driving_s) + ')' : '')],
      ['Distance', f(LM.conv.dist(s.distance_km), 2) + ' ' + d],
      ['Odometer', arrow(LM.conv.dist(s.odo_start_km), LM.conv.dist(s.odo_end_km), 1) + ' ' + d],
      ['Energy out / regen in / net', f(s.energy_out_kwh, 3) + ' / ' + f(s.energy_in_kwh, 3) + ' / ' + f(s.net_kwh, 3) + ' kWh'],
      ['Consumption', f(s.wh_per_km, 0) + ' Wh/km'],
      ['Regen share', s.regen_share == null ? '—' : f(s.regen_share * 100, 1) + ' %'],
      ['SOC', arrow(s.soc_start_pct, s.soc_end_pct, 1) + ' %'],
      ['GIDs', arrow(s.gids_start, s.gids_end, 0)],
      ['Speed mean / max', f(LM.conv.dist(s.speed_mean_kmh), 0) + ' / ' + f(LM.conv.dist(s.speed_max_kmh), 0) + ' ' + LM.speedUnit()],
      ['Power max', f(s.power_max_kw, 1) + ' kW'],
      ['Climate', s.climate_kwh == null ? null : f(s.climate_kwh, 2) + ' kWh'],
      ['Pack temperature', arrow(LM.conv.temp(s.pack_temp_start_c), LM.conv.temp(s.pack_temp_end_c), 1) + ' ' + LM.tempUnit()],
      ['Outside (mean)', s.ambient_mean_c == null ? null : f(LM.conv.temp(s.ambient_mean_c), 1) + ' ' + LM.tempUnit()],
      ['12 V minimum', f(s.aux_min_v, 1) + ' V'],
      ['Measured capacity', s.capacity_kwh == null ? null : f(s.capacity_kwh, 2) + ' kWh, ' + f(s.capacity_ah, 1) + ' Ah'],
    ]));
    sessionCharts('trip', document.getElementById('t-charts'), s, TRIP_CHARTS);
  }

  async function loadTrips() {
    const all = document.getElementById('t-moves').checked ? (since('t-since') ? '&' : '?') + 'all=1' : '';
    try {
      const [trips, months] = await Promise.all([LM.api('api/trips' + since('t-since') + all), LM.api('api/monthly' + since('t-since'))]);
      L.trips = trips;
      monthly(months);
      const d = LM.distUnit();
      const rows = trips.slice().reverse().map((s) => ({ key: s.start, cells: [
        localTime(s.start), dur(s.duration_s), f(LM.conv.dist(s.distance_km), 1) + ' ' + d, f(s.net_kwh, 2),
        f(s.wh_per_km, 0), s.regen_share == null ? '—' : f(s.regen_share * 100, 0) + ' %',
        arrow(s.soc_start_pct, s.soc_end_pct, 0), f(LM.conv.dist(s.speed_mean_kmh), 0) + ' / ' + f(LM.conv.dist(s.speed_max_kmh), 0),
        f(s.power_max_kw, 0), arrow(LM.conv.temp(s.pack_temp_start_c), LM.conv.temp(s.pack_temp_end_c), 0), flags(s)] }));
      table('t-list', ['Start', 'Duration', 'Distance', 'kWh', 'Wh/km', 'Regen', 'SOC %', LM.speedUnit() + ' mean / max', 'kW max', 'Pack ' + LM.tempUnit(), ''],
        rows, tripDetail, L.selected.trip);
      document.getElementById('t-note').textContent = trips.length ? trips.length + ' trips' : 'No trips in the ledger yet.';
      const keep = trips.find((s) => s.start === L.selected.trip);
      tripDetail(keep ? keep.start : trips.length ? trips[trips.length - 1].start : null);
    } catch (err) {
      document.getElementById('t-note').textContent = 'Trips unavailable: ' + err.message;
    }
  }

  /* ---- charges ---- */
  const CHARGE_CHARTS = [
    { title: 'Power into the pack', unit: 'kW', series: [
      { sig: 'battery_power_kw', label: 'Pack (+ in)', color: '#3fb950', neg: true },
      { sig: 'charge_obc_power_kw', label: 'On-board charger', color: '#58a6ff', only: 'ac' }] },
    { title: 'State of charge', unit: '%', series: [{ sig: 'battery_soc_pct', label: 'SOC', color: '#2ea043' }] },
    { title: 'Pack temperature', unit: () => LM.tempUnit(), conv: 'temp', series: [
      { sig: 'battery_temp_max_c', label: 'Pack max', color: '#f85149' },
      { sig: 'battery_temp_avg_c', label: 'Pack avg', color: '#d29922' },
      { sig: 'battery_temp_min_c', label: 'Pack min', color: '#58a6ff' }] },
  ];

  function heat(s) {
    const rise = s.pack_temp_max_c != null && s.pack_temp_start_c != null ? s.pack_temp_max_c - s.pack_temp_start_c : null;
    const span = el('span', { class: rise != null && (rise >= 5 || s.pack_temp_max_c >= 40) ? 'hot' : '',
      text: arrow(LM.conv.temp(s.pack_temp_start_c), LM.conv.temp(s.pack_temp_max_c), 0) });
    return span;
  }
  const cost = (s) => (s.cost == null ? '—' : s.cost.toFixed(2) + ' ' + (s.currency || ''));

  function chargeDetail(start) {
    const s = (L.charges || []).find((x) => x.start === start);
    const box = document.getElementById('c-detail');
    box.hidden = !s;
    if (!s) return;
    L.selected.charge = start;
    document.querySelectorAll('#c-list tr.pick').forEach((tr) => tr.classList.toggle('sel', +tr.dataset.start === start));
    document.getElementById('c-title').textContent = (s.charge_type === 'qc' ? 'Quick charge' : 'AC charge') + ' of ' + localTime(s.start) +
      (flags(s) ? ' (' + flags(s) + ')' : '');
    const fig = document.getElementById('c-figures');
    fig.textContent = '';
    fig.append(kv([
      ['Start / end', localTime(s.start) + ' → ' + localTime(s.end)],
      ['Duration (charging)', dur(s.duration_s) + (s.charging_s != null ? ' (' + dur(s.charging_s) + ')' : '')],
      ['SOC', arrow(s.soc_start_pct, s.soc_end_pct, 1) + ' %'],
      ['GIDs', arrow(s.gids_start, s.gids_end, 0)],
      ['Into the pack', f(s.pack_kwh, 3) + ' kWh'],
      ['From the grid', f(s.grid_kwh, 3) + ' kWh' + (s.grid_source ? ' (' + s.grid_source + ')' : '')],
      ['Power max / mean', f(s.power_max_kw, 1) + ' / ' + f(s.power_mean_kw, 1) + ' kW'],
      ['Pack temperature start / max / end', [s.pack_temp_start_c, s.pack_temp_max_c, s.pack_temp_end_c]
        .map((c) => f(LM.conv.temp(c), 1)).join(' / ') + ' ' + LM.tempUnit()],
      ['Ended', s.end_reason || '—'],
      ['Cost', cost(s)],
      ['Measured capacity', s.capacity_kwh == null ? null : f(s.capacity_kwh, 2) + ' kWh, ' + f(s.capacity_ah, 1) + ' Ah'],
    ]));
    const specs = CHARGE_CHARTS.map((c) => Object.assign({}, c, { series: c.series.filter((x) => !x.only || x.only === s.charge_type) }));
    sessionCharts('charge', document.getElementById('c-charts'), s, specs);
  }

  async function loadCharges() {
    try {
      const charges = await LM.api('api/charges' + since('c-since'));
      L.charges = charges;
      const rows = charges.slice().reverse().map((s) => ({ key: s.start, cells: [
        localTime(s.start), el('span', { class: 'kind-' + s.charge_type, text: (s.charge_type || '?').toUpperCase() }),
        dur(s.duration_s), arrow(s.soc_start_pct, s.soc_end_pct, 0), f(s.pack_kwh, 2), f(s.grid_kwh, 2),
        f(s.power_max_kw, 1), heat(s), s.end_reason || '—', cost(s), flags(s)] }));
      table('c-list', ['Start', 'Type', 'Duration', 'SOC %', 'Pack kWh', 'Grid kWh', 'kW max', 'Pack ' + LM.tempUnit() + ' start → max', 'Ended', 'Cost', ''],
        rows, chargeDetail, L.selected.charge);
      document.getElementById('c-note').textContent = charges.length ? charges.length + ' charges' : 'No charges in the ledger yet.';
      const keep = charges.find((s) => s.start === L.selected.charge);
      chargeDetail(keep ? keep.start : charges.length ? charges[charges.length - 1].start : null);
    } catch (err) {
      document.getElementById('c-note').textContent = 'Charges unavailable: ' + err.message;
    }
  }

  /* ---- battery ---- */
  function tile(label, main, unit, sub) {
    return el('div', { class: 'tile' }, el('div', { class: 't-label', text: label }),
      el('div', { class: 't-main' }, main, el('span', { class: 'u', text: unit })), sub ? el('div', { class: 't-sub', text: sub }) : null);
  }

  function barsTile(n) {
    const t = tile('Capacity bars', n == null ? '—' : String(n), '/ 12');
    const bars = el('div', { class: 'bars' });
    for (let i = 0; i < 12; i++) bars.append(el('i', { class: n != null && i < n ? 'on' : '' }));
    t.append(bars);
    return t;
  }

  function lastOf(daily, key) {
    for (let i = daily.length - 1; i >= 0; i--) if (daily[i][key] != null) return daily[i];
    return null;
  }

  function projectionText(p) {
    if (!p.date) return 'No projection: ' + p.reason + '.';
    return 'The next capacity bar (' + p.bars + ' → ' + (p.bars - 1) + ', at ' + p.threshold_soh_pct.toFixed(2) +
      ' % SOH) is projected for ' + p.date + ', \u00b1 ' + p.stderr_days + ' days (one standard error: ' +
      p.earliest + ' to ' + p.latest + '), from ' + p.n + ' days of SOH in the last year.';
  }

  function trendTable(tr) {
    const t = document.getElementById('b-trend');
    t.textContent = '';
    t.append(el('tr', {}, ...['Window', 'SOH %/year', 'Full GIDs/year', 'Capacity kWh/year'].map((h) => el('th', { text: h }))));
    for (const w of tr.windows) {
      t.append(el('tr', {}, el('td', { text: w.days + ' days' }), ...['soh_pct', 'gids_full', 'capacity_kwh'].map((k) => {
        const s = w[k];
        return el('td', { text: s.slope_per_year == null ? '— (' + s.n + ' days)'
          : (s.slope_per_year >= 0 ? '+' : '') + s.slope_per_year.toFixed(2) + ' \u00b1 ' + s.stderr_per_year.toFixed(2) + ' (' + s.n + ' days)' });
      })));
    }
  }

  /* The 365-day SOH line from the newest day's fitted value to the next bar's
   * threshold on the projected date: a column over xs, and the date's x. */
  function trendLine(xs, trend) {
    const p = trend.projection, w = trend.windows.find((x) => x.days === 365);
    if (!p.date || !w || w.soh_pct.slope_per_year == null) return null;
    const last = xs[xs.length - 1], perSec = w.soh_pct.slope_per_year / 365.25 / DAY;
    const ys = xs.map((x) => (x > last - 365 * DAY ? p.fitted_soh_pct + perSec * (x - last) : null));
    return { ys, x: last + p.days_from_last * DAY, y: p.threshold_soh_pct };
  }

  function batteryCharts(daily, trend) {
    const box = document.getElementById('b-charts');
    destroy('battery');
    box.textContent = '';
    if (!daily.length) return;
    const xs = daily.map((d) => d.start);
    const col = (k) => daily.map((d) => (d[k] == null ? null : d[k]));
    const range = { min: xs[0] - DAY, max: xs[xs.length - 1] + 2 * DAY };
    const line = trendLine(xs, trend);
    if (line) {
      const hx = [xs.concat([line.x])], soh = col('soh_pct').concat([null]), h = col('hx_pct').concat([null]);
      const u = chart('battery', box, 'Health', '%', [{ label: 'SOH', color: '#2ea043' }, { label: 'Hx', color: '#a371f7' },
        { label: 'Trend to the next bar', color: '#d29922', dash: [8, 4], d: 2 }], hx.concat([soh, h, line.ys.concat([line.y])]));
      u.setScale('x', { min: range.min, max: line.x + 10 * DAY });
    }
    const specs = [
      ['Health', '%', [{ label: 'SOH', color: '#2ea043' }, { label: 'Hx', color: '#a371f7' }], [col('soh_pct'), col('hx_pct')]],
      ['Capacity', 'kWh', [{ label: 'Measured capacity', color: '#f0883e', points: true, d: 2 },
        { label: 'Full GIDs', color: '#58a6ff', scale: 'gids', unit: 'GIDs', d: 0 }], [col('capacity_kwh'), col('gids_full')]],
      ['AHr', 'Ah', [{ label: 'AHr', color: '#d29922' }], [col('ah')]],
      ['Capacity bars', 'bars', [{ label: 'Bars', color: '#3fb950', stepped: true, d: 0 }], [col('capacity_bars')],
        { scales: { x: { time: true }, y: { range: [0, 12] } } }],
    ];
    for (const [title, unit, series, cols, extra] of specs) {
      if ((line && title === 'Health') || cols.every((c) => c.every((v) => v == null))) continue;
      const u = chart('battery', box, title, unit, series, [xs].concat(cols), extra);
      u.setScale('x', range);
    }
  }

  /* Cell voltages from the live snapshot, when the car's cells are known. */
  async function cells() {
    const card = document.getElementById('b-cells');
    const note = document.getElementById('b-cells-note');
    const cv = document.getElementById('b-cells-canvas');
    L.cells = null;
    let latest;
    try {
      latest = await LM.api('api/latest');
    } catch (err) {
      note.textContent = 'Cell voltages unavailable: ' + err.message;
      cv.hidden = true;
      return;
    }
    const v = [];
    for (let i = 1; i <= 96; i++) {
      const s = latest.signals['cell_' + String(i).padStart(3, '0') + '_mv'];
      v.push(s && !s.stale && typeof s.v === 'number' ? s.v : null);
    }
    const known = v.filter((x) => x != null);
    cv.hidden = known.length === 0;
    if (!known.length) {
      note.textContent = 'Cell voltages are not known: they come from polling the battery controller ([can] poll_cells = true) or from LeafSpy\u2019s replies.';
      return;
    }
    const lo = Math.min(...known), hi = Math.max(...known);
    const mean = known.reduce((a, b) => a + b, 0) / known.length;
    note.textContent = known.length + ' cells: min ' + lo.toFixed(0) + ' mV (cell ' + (v.indexOf(lo) + 1) + '), max ' + hi.toFixed(0) +
      ' mV (cell ' + (v.indexOf(hi) + 1) + '), mean ' + mean.toFixed(1) + ' mV, spread ' + (hi - lo).toFixed(0) + ' mV';
    const w = Math.max(300, card.clientWidth - 30), h = 200, dpr = window.devicePixelRatio || 1;
    cv.width = w * dpr;
    cv.height = h * dpr;
    cv.style.width = w + 'px';
    cv.style.height = h + 'px';
    const ctx = cv.getContext('2d');
    ctx.scale(dpr, dpr);
    ctx.clearRect(0, 0, w, h);
    const left = 46, top = 8, bottom = h - 18, pw = w - left - 6;
    const y0 = Math.floor((lo - 5) / 10) * 10, y1 = Math.ceil((hi + 5) / 10) * 10;
    const y = (mv) => bottom - (mv - y0) / (y1 - y0) * (bottom - top);
    ctx.font = '11px sans-serif';
    ctx.fillStyle = css('--dim');
    ctx.strokeStyle = css('--line');
    for (const t of [y0, (y0 + y1) / 2, y1]) {
      ctx.fillText(t.toFixed(0), 2, y(t) + 4);
      ctx.beginPath();
      ctx.moveTo(left, y(t));
      ctx.lineTo(left + pw, y(t));
      ctx.stroke();
    }
    const bw = pw / 96;
    for (let i = 0; i < 96; i++) {
      if (v[i] == null) continue;
      ctx.fillStyle = v[i] === lo ? '#f85149' : v[i] === hi ? '#58a6ff' : '#2ea043';
      ctx.fillRect(left + i * bw + 0.5, y(v[i]), Math.max(1, bw - 1), bottom - y(v[i]));
    }
    for (let i = 0; i < 96; i += 12) ctx.fillStyle = css('--dim'), ctx.fillText(String(i + 1), left + i * bw, h - 4);
    L.cells = { n: known.length, min: lo, max: hi, spread: hi - lo };
  }

  async function loadBattery() {
    try {
      const doc = await LM.api('api/battery' + since('b-since'));
      L.battery = doc;
      const d = doc.daily;
      const tiles = document.getElementById('b-tiles');
      tiles.textContent = '';
      const soh = lastOf(d, 'soh_pct'), hx = lastOf(d, 'hx_pct'), ah = lastOf(d, 'ah'), cap = lastOf(d, 'capacity_kwh');
      const bars = lastOf(d, 'capacity_bars'), gids = lastOf(d, 'gids_full'), cells_ = lastOf(d, 'cells_delta_mv');
      tiles.append(
        tile('State of health', soh ? f(soh.soh_pct, 1) : '—', '% SOH', soh ? soh.date : null),
        barsTile(bars ? bars.capacity_bars : null),
        tile('Hx', hx ? f(hx.hx_pct, 1) : '—', '%', hx ? hx.date : null),
        tile('AHr', ah ? f(ah.ah, 1) : '—', 'Ah', ah ? ah.date : null),
        tile('Measured capacity', cap ? f(cap.capacity_kwh, 2) : '—', 'kWh',
          cap ? cap.date + (cap.capacity_temp_c != null ? ' at ' + f(LM.conv.temp(cap.capacity_temp_c), 0) + ' ' + LM.tempUnit() : '') : null),
        tile('Full-capacity GIDs', gids ? f(gids.gids_full, 0) : '—', 'GIDs', gids ? gids.date : null),
        tile('Cell spread at rest', cells_ ? f(cells_.cells_delta_mv, 0) : '—', 'mV', cells_ ? cells_.date : null));
      document.getElementById('b-projection').textContent = projectionText(doc.trend.projection);
      trendTable(doc.trend);
      batteryCharts(d, doc.trend);
      document.getElementById('b-note').textContent = d.length ? d.length + ' daily records, ' + d[0].date + ' to ' + d[d.length - 1].date
        : 'No daily battery records in the ledger yet.';
    } catch (err) {
      document.getElementById('b-note').textContent = 'Battery records unavailable: ' + err.message;
    }
    await cells();
  }

  /* ---- pages ---- */
  const LOADERS = { trips: loadTrips, charges: loadCharges, battery: loadBattery };
  const loaded = {};
  LM.showLedger = function (page, visible) {
    if (visible) loaded[page] = LOADERS[page]();
  };
  LM.ledgerLoaded = (page) => loaded[page];

  LM.initLedger = function () {
    for (const [id, page] of [['t-since', 'trips'], ['t-moves', 'trips'], ['c-since', 'charges'], ['b-since', 'battery']])
      document.getElementById(id).addEventListener('change', () => { loaded[page] = LOADERS[page](); });
    let resizing = null;
    window.addEventListener('resize', () => {
      clearTimeout(resizing);
      resizing = setTimeout(() => {
        for (const list of Object.values(L.charts)) {
          for (const u of list) {
            const box = u.root.parentElement.parentElement;
            u.setSize({ width: Math.max(260, box.clientWidth - 18), height: window.innerWidth < 600 ? 150 : 190 });
          }
        }
        if (!document.getElementById('page-battery').hidden) cells();
      }, 100);
    });
    document.addEventListener('lm-units', () => {
      for (const page of Object.keys(loaded)) if (!document.getElementById('page-' + page).hidden) loaded[page] = LOADERS[page]();
    });
  };
})();
