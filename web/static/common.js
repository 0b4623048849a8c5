/* leafmon dashboard: shared helpers (fetch with the login gate, units,
 * formatting, the signal catalogue). Plain JS, no framework; everything
 * hangs off window.LM. */
'use strict';

(function () {
  const LM = (window.LM = window.LM || {});

  LM.el = function (tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const k of kids) if (k != null) e.append(k);
    return e;
  };

  LM.toLogin = function () {
    if (!location.pathname.endsWith('login.html')) location.href = 'login.html';
  };

  /* GET or POST JSON; a 401 sends the browser to the login page. */
  LM.api = async function (path, opts) {
    const r = await fetch(path, Object.assign({ credentials: 'same-origin' }, opts || {}));
    if (r.status === 401) {
      LM.toLogin();
      throw new Error('login required');
    }
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(body.error || ('HTTP ' + r.status));
    return body;
  };

  LM.session = { auth_required: false, authenticated: true, control: false };
  LM.loadSession = async function () {
    LM.session = await LM.api('api/session');
    return LM.session;
  };

  LM.post = function (path, form) {
    const headers = { 'Content-Type': 'application/x-www-form-urlencoded' };
    if (LM.session.csrf) headers['X-CSRF-Token'] = LM.session.csrf;
    return LM.api(path, { method: 'POST', headers, body: new URLSearchParams(form || {}) });
  };

  /* ---- the catalogue ---- */
  LM.signals = {};
  LM.loadSignals = async function () {
    const list = await LM.api('api/signals');
    for (const s of list) LM.signals[s.name] = s;
  };
  LM.enumLabel = function (name, v) {
    const s = LM.signals[name];
    if (typeof v === 'string') return v;
    if (s && s.labels && v != null && s.labels[v] !== undefined) return s.labels[v];
    return v == null ? '—' : String(v);
  };

  /* ---- units: remembered per browser, the car's own setting by default ---- */
  const KM_PER_MI = 1.609344;
  LM.units = {
    dist: localStorage.getItem('leafmon.units.dist'),
    temp: localStorage.getItem('leafmon.units.temp') || 'C',
  };
  LM.unitsFromCar = function (miles) {
    if (!LM.units.dist) LM.units.dist = miles ? 'mi' : 'km';
  };
  LM.setUnits = function (kind, value) {
    LM.units[kind] = value;
    localStorage.setItem('leafmon.units.' + kind, value);
    document.dispatchEvent(new Event('lm-units'));
  };
  LM.distUnit = () => (LM.units.dist === 'mi' ? 'mi' : 'km');
  LM.speedUnit = () => (LM.units.dist === 'mi' ? 'mph' : 'km/h');
  LM.tempUnit = () => (LM.units.temp === 'F' ? '°F' : '°C');
  LM.conv = {
    dist: (km) => (km == null ? null : LM.units.dist === 'mi' ? km / KM_PER_MI : km),
    temp: (c) => (c == null ? null : LM.units.temp === 'F' ? c * 9 / 5 + 32 : c),
  };

  LM.fmt = function (v, digits) {
    if (v == null || typeof v !== 'number' || !isFinite(v)) return '—';
    return v.toFixed(digits == null ? 1 : digits);
  };
  LM.ago = function (secs) {
    if (secs == null || !isFinite(secs)) return '—';
    if (secs < 90) return Math.round(secs) + ' s';
    if (secs < 5400) return Math.round(secs / 60) + ' min';
    if (secs < 172800) return (secs / 3600).toFixed(1) + ' h';
    return (secs / 86400).toFixed(1) + ' d';
  };
  LM.bytes = function (n) {
    if (n == null) return '—';
    if (n < 1024) return n + ' B';
    if (n < 1048576) return (n / 1024).toFixed(1) + ' KiB';
    return (n / 1048576).toFixed(1) + ' MiB';
  };
  LM.when = function (unix) {
    if (!unix) return 'never';
    return new Date(unix * 1000).toLocaleString() + ' (' + LM.ago(Date.now() / 1000 - unix) + ' ago)';
  };
})();
