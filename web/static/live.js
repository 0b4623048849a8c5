/* leafmon dashboard: live tiles fed by Server-Sent Events (/api/stream).
 * The stream opens with a snapshot event (every value), then sends one
 * sample event per published sample with the values that changed. */
'use strict';

(function () {
  const LM = window.LM;
  const el = LM.el;
  const dist = { conv: 'dist', unit: () => LM.distUnit() };
  const temp = { conv: 'temp', unit: () => LM.tempUnit() };

  const TILES = [
    { key: 'speed', label: 'Speed', main: { sig: 'vehicle_speed_kmh', conv: 'dist', unit: () => LM.speedUnit(), d: 0 } },
    { key: 'soc', label: 'State of charge', main: { sig: 'battery_soc_pct', unit: '%', d: 1 },
      sub: [{ sig: 'battery_soc_dash_pct', pre: 'dash ', unit: '%', d: 0 }], meter: 'battery_soc_pct' },
    { key: 'energy', label: 'Energy left', main: { sig: 'battery_energy_remaining_kwh', unit: 'kWh', d: 1 },
      sub: [{ sig: 'battery_gids', unit: 'GIDs', d: 0 }, { sig: 'battery_gids_full', pre: '/ ', d: 0 }] },
    { key: 'power', label: 'Battery power', main: { sig: 'battery_power_kw', unit: 'kW', d: 1 }, flow: true },
    { key: 'pack', label: 'Pack', main: { sig: 'battery_voltage_v', unit: 'V', d: 1 },
      sub: [{ sig: 'battery_current_a', unit: 'A', d: 1 }] },
    { key: 'temps', label: 'Pack temperature', main: Object.assign({ sig: 'battery_temp_avg_c', d: 1 }, temp),
      sub: [Object.assign({ sig: 'battery_temp_min_c', pre: 'min ', d: 0 }, temp),
        Object.assign({ sig: 'battery_temp_max_c', pre: ' max ', d: 0 }, temp)] },
    { key: 'motor', label: 'Motor', main: { sig: 'motor_rpm', unit: 'rpm', d: 0 },
      sub: [{ sig: 'motor_torque_nm', unit: 'Nm', d: 0 }] },
    { key: 'gear', label: 'Gear', main: { sig: 'vehicle_gear', kind: 'enum' },
      sub: [{ sig: 'vehicle_ready', kind: 'bool', words: ['not ready', 'ready'] }] },
    { key: 'aux', label: '12 V battery', main: { sig: 'vehicle_aux_battery_v', unit: 'V', d: 2 } },
    { key: 'ambient', label: 'Outside', main: Object.assign({ sig: 'climate_ambient_c', d: 1 }, temp) },
    { key: 'charge', label: 'Charging', main: { sig: 'charge_status', kind: 'enum' },
      sub: [{ sig: 'charge_obc_power_kw', unit: 'kW', d: 1 },
        { sig: 'charge_minutes_remaining', pre: ' ', unit: 'min', d: 0 }] },
    { key: 'range', label: 'Range', main: Object.assign({ sig: 'vehicle_range_km', d: 0 }, dist),
      sub: [Object.assign({ sig: 'vehicle_odometer_km', pre: 'odo ', d: 0 }, dist)] },
    { key: 'health', label: 'Battery health', main: { sig: 'battery_soh_pct', unit: '% SOH', d: 1 },
      sub: [{ sig: 'battery_capacity_full_kwh', unit: 'kWh', d: 1 }], bars: 'battery_capacity_bars' },
    { key: 'can', label: 'CAN bus', main: { sig: 'can_frames_per_s', unit: 'frames/s', d: 0 },
      sub: [{ sig: 'can_frames_total', unit: 'frames', d: 0 }] },
  ];

  const state = {};        /* name -> {v, t, stale} */
  const spans = {};        /* name -> [{span, spec}] */
  const tiles = {};        /* key -> {node, spec} */
  const live = (LM.live = { state, lat: [], events: 0, lastEventAt: 0, es: null });

  function unitOf(spec) {
    return typeof spec.unit === 'function' ? spec.unit() : (spec.unit || '');
  }

  function valueSpan(spec, cls) {
    const span = el('span', { class: 'v', 'data-sig': spec.sig, text: '—' });
    const unit = el('span', { class: 'u', text: unitOf(spec) });
    const wrap = el('span', { class: cls }, spec.pre || '', span, unit);
    (spans[spec.sig] = spans[spec.sig] || []).push({ span, unit, spec, wrap, sub: cls === 'sv' });
    return wrap;
  }

  function buildTiles() {
    const root = document.getElementById('tiles');
    for (const t of TILES) {
      const sub = el('div', { class: 't-sub' });
      for (const s of t.sub || []) sub.append(valueSpan(s, 'sv'), ' ');
      const node = el('div', { class: 'tile', id: 'tile-' + t.key },
        el('div', { class: 't-label', text: t.label }),
        el('div', { class: 't-main' }, valueSpan(t.main, 'mv')), sub);
      if (t.flow) sub.append(el('span', { class: 'flow', 'data-flow': '1', text: '' }));
      if (t.meter) node.append(el('div', { class: 'meter' }, el('b')));
      if (t.bars) {
        const bars = el('div', { class: 'bars', 'data-bars': t.bars });
        for (let i = 0; i < 12; i++) bars.append(el('i'));
        node.append(bars);
      }
      root.append(node);
      tiles[t.key] = { node, spec: t };
    }
  }

  function text(spec, v) {
    if (v == null) return '—';
    if (spec.kind === 'enum') return LM.enumLabel(spec.sig, v);
    if (spec.kind === 'bool') return spec.words[v ? 1 : 0];
    const x = spec.conv ? LM.conv[spec.conv](v) : v;
    return LM.fmt(x, spec.d);
  }

  function tileExtras(t, name) {
    const s = state[t.spec.main.sig];
    t.node.classList.toggle('stale', !!(s && s.stale));
    if (t.spec.flow && name === 'battery_power_kw' && s) {
      t.node.classList.toggle('discharge', s.v > 0.05);
      t.node.classList.toggle('charge', s.v < -0.05);
      t.node.querySelector('[data-flow]').textContent =
        s.v > 0.05 ? 'discharging' : s.v < -0.05 ? 'charging' : 'idle';
    }
    if (t.spec.meter && s) t.node.querySelector('.meter b').style.width = Math.max(0, Math.min(100, s.v)) + '%';
    if (t.spec.bars && state[t.spec.bars]) {
      const n = state[t.spec.bars].v;
      t.node.querySelectorAll('.bars i').forEach((b, i) => b.classList.toggle('on', i < n));
    }
  }

  function render(name) {
    const s = state[name];
    for (const { span, unit, spec, wrap, sub } of spans[name] || []) {
      wrap.hidden = sub && !s; /* a detail the car does not report: not shown at all */
      span.textContent = text(spec, s ? s.v : null);
      span.dataset.raw = s ? JSON.stringify(s.v) : '';
      unit.textContent = unitOf(spec);
    }
    for (const t of Object.values(tiles)) {
      const sigs = [t.spec.main.sig, t.spec.bars, t.spec.meter].concat((t.spec.sub || []).map((x) => x.sig));
      if (sigs.includes(name)) tileExtras(t, name);
    }
  }

  /* The GPS's position ([gps] source): one line and a link to a map with
   * the coordinates (no tiles: no tile server is reachable offline). */
  const MAP_URL = 'https://www.openstreetmap.org/';
  function renderPosition() {
    const p = document.getElementById('position');
    const lat = state.position_lat_deg, lon = state.position_lon_deg, fix = state.position_fix;
    p.hidden = !(lat && lon);
    if (p.hidden) return;
    const la = lat.v.toFixed(5), lo = lon.v.toFixed(5);
    const gone = !fix || fix.v === 0 || lat.stale;
    const parts = [la + ', ' + lo];
    if (state.position_alt_m && !gone) parts.push(LM.fmt(state.position_alt_m.v, 0) + ' m');
    if (fix) parts.push(gone ? 'last known position' : LM.enumLabel('position_fix', fix.v) + ' fix');
    const link = el('a', { href: MAP_URL + '?mlat=' + la + '&mlon=' + lo + '#map=16/' + la + '/' + lo,
      target: '_blank', rel: 'noopener noreferrer', text: 'map' });
    p.replaceChildren('Position ', el('span', { id: 'position-text', text: parts.join(' · ') }), ' · ', link);
    p.classList.toggle('stale', gone);
  }

  function renderAll() {
    for (const name of Object.keys(spans)) render(name);
    renderPosition();
  }
  LM.live.renderAll = renderAll;

  function onSnapshot(e) {
    const d = JSON.parse(e.data);
    for (const k of Object.keys(state)) delete state[k];
    for (const [k, x] of Object.entries(d.signals || {})) state[k] = { v: x.v, t: x.t, stale: x.stale };
    if (state.vehicle_units_miles) LM.unitsFromCar(state.vehicle_units_miles.v);
    document.dispatchEvent(new Event('lm-units-known'));
    live.events++;
    live.lastEventAt = Date.now();
    renderAll();
  }

  function onSample(e) {
    const d = JSON.parse(e.data);
    const now = Date.now();
    live.lat.push(now - d.t * 1000);
    if (live.lat.length > 2000) live.lat.splice(0, 1000);
    live.events++;
    live.lastEventAt = now;
    let moved = false;
    for (const [k, v] of Object.entries(d.v)) {
      state[k] = { v, t: d.t, stale: false };
      render(k);
      moved = moved || k.startsWith('position_');
    }
    if (moved) renderPosition();
  }

  function connState() {
    const c = document.getElementById('conn');
    const txt = document.getElementById('conn-text');
    const es = live.es;
    const age = (Date.now() - live.lastEventAt) / 1000;
    const asleep = state.can_bus_asleep && state.can_bus_asleep.v;
    let cls = 'conn-off', label = 'offline';
    if (es && es.readyState === EventSource.OPEN) {
      if (asleep) { cls = 'conn-stale'; label = 'car asleep'; }
      else if (age <= 3) { cls = 'conn-live'; label = 'live'; }
      else { cls = 'conn-stale'; label = 'no data for ' + LM.ago(age); }
    } else if (es && es.readyState === EventSource.CONNECTING) {
      label = 'reconnecting';
    }
    c.className = 'conn ' + cls;
    txt.textContent = label;
  }

  function connect() {
    const es = new EventSource('api/stream');
    live.es = es;
    es.addEventListener('snapshot', onSnapshot);
    es.addEventListener('sample', onSample);
    es.onerror = async function () {
      connState();
      try {
        const s = await LM.loadSession();
        if (s.auth_required && !s.authenticated) LM.toLogin();
      } catch (err) { /* offline: EventSource retries by itself */ }
    };
  }

  LM.startLive = function () {
    buildTiles();
    connect();
    document.addEventListener('lm-units', renderAll);
    setInterval(connState, 1000);
  };
})();
