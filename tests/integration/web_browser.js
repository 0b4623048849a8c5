// The dashboard in a real browser: Debian's chromium, headless, driven by
// playwright-core (from the build's npm install). Run by test_web_browser.py
// with LEAFMON_URL, LEAFMON_PASSWORD and LEAFMON_SHOTS set (LEAFMON_MODE=open:
// a dashboard without a password, history from the worker's ring); prints one
// JSON line of results and exits non-zero on the first failed check.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const URL = process.env.LEAFMON_URL;
const PASSWORD = process.env.LEAFMON_PASSWORD;
const SHOTS = process.env.LEAFMON_SHOTS;
const MODE = process.env.LEAFMON_MODE || 'login';
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

const result = { checks: [], console_errors: [], expected_errors: 0, screenshots: [] };

function check(name, ok, detail) {
  result.checks.push(name);
  if (!ok) throw new Error('check failed: ' + name + (detail ? ': ' + JSON.stringify(detail) : ''));
}

function pct(xs, p) {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
}

async function shot(page, name) {
  const file = path.join(SHOTS, name);
  await page.screenshot({ path: file, fullPage: true });
  result.screenshots.push(file);
}

async function login(page) {
  await page.goto(URL + '/');
  check('unauthenticated visit lands on the login page', page.url().endsWith('/login.html'), page.url());
  result.expected_errors_from = '/api/login';
  await page.fill('#password', 'not-the-password');
  await page.click('#login-btn');
  await page.waitForFunction(() => document.getElementById('login-msg').textContent !== '');
  check('wrong password is refused', (await page.textContent('#login-msg')) === 'Wrong password.');
  result.expected_errors_from = null;
  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForURL(URL + '/'), page.click('#login-btn')]);
  await page.waitForFunction(() => window.LM && LM.live && LM.live.events > 0, null, { timeout: 10000 });
  check('logged in, the dashboard streams', true);
  check('"Log out" shown with a password', await page.isVisible('#logout'));
}

/* Every series of every history chart is a drawn line, not dots: shown
 * alone on its chart's canvas (so that no other series covers it), its
 * stroke colour (opaque) is found in most pixel columns between its first
 * and its last value in view (rows a few pixels beyond the plot box count:
 * a line at the axis is drawn on the edge), and those lie more than a few
 * buckets apart. Fails for a series drawn as isolated points (keyframes
 * without fill(previous)) or as one dot (a value sent once). */
async function linesDrawn(page, what) {
  const rep = await page.evaluate(async () => {
    const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
    const measure = (u, i) => {
      const b = u.bbox;
      const top = Math.max(0, b.top - 3), h = Math.min(u.ctx.canvas.height - top, b.height + 6);
      const px = u.ctx.getImageData(b.left, top, b.width, h).data;
      const s = u.series[i];
      const col = typeof s.stroke === 'function' ? s.stroke(u, i) : s.stroke;
      const rgb = [1, 3, 5].map((k) => parseInt(col.slice(k, k + 2), 16));
      const xs = u.data[0], ys = u.data[i];
      let lo = -1, hi = -1;
      for (let k = 0; k < xs.length; k++) {
        if (ys[k] == null || xs[k] < u.scales.x.min || xs[k] > u.scales.x.max) continue;
        if (lo < 0) lo = k;
        hi = k;
      }
      const chart = u.root.closest('.chart').dataset.chart;
      if (lo < 0) return { chart, series: s.label, extent: 0, cover: 0 };
      const x0 = Math.max(0, Math.round(u.valToPos(xs[lo], 'x', true) - b.left));
      const x1 = Math.min(b.width - 1, Math.round(u.valToPos(xs[hi], 'x', true) - b.left));
      let hit = 0;
      for (let x = x0; x <= x1; x++) {
        for (let y = 0; y < h; y++) {
          const p = (y * b.width + x) * 4;
          const d = Math.abs(px[p] - rgb[0]) + Math.abs(px[p + 1] - rgb[1]) + Math.abs(px[p + 2] - rgb[2]);
          if (px[p + 3] >= 128 && d <= 40) { hit++; break; }
        }
      }
      return { chart, series: s.label, extent: x1 - x0, cover: +(hit / (x1 - x0 + 1)).toFixed(3) };
    };
    const out = [];
    for (const u of LM.hist.view.charts) {
      const n = u.series.length;
      for (let i = 1; i < n; i++) {
        for (let j = 1; j < n; j++) u.setSeries(j, { show: j === i });
        await frame();
        out.push(measure(u, i));
      }
      for (let j = 1; j < n; j++) u.setSeries(j, { show: true });
    }
    await frame();
    return out;
  });
  const bad = rep.filter((r) => r.extent < 50 || r.cover < 0.8);
  check(what + ': every series of every chart is a drawn line', rep.length >= 11 && bad.length === 0, { bad, rep });
  result.lines = (result.lines || []).concat(rep);
}

/* every tile value equals /api/latest's at some moment within a few tries */
async function tilesMatchLatest(page) {
  const report = await page.evaluate(async () => {
    const seen = {};
    const shown = {};
    for (let i = 0; i < 30; i++) {
      const latest = await (await fetch('api/latest')).json();
      document.querySelectorAll('[data-sig]').forEach((span) => {
        const sig = span.dataset.sig;
        const l = latest.signals[sig];
        if (!l) return;
        shown[sig] = span.textContent;
        if (span.dataset.raw === JSON.stringify(l.v)) seen[sig] = true;
        else if (!(sig in seen)) seen[sig] = false;
      });
      await new Promise((r) => setTimeout(r, 50));
    }
    return { seen, shown };
  });
  const sigs = Object.keys(report.seen);
  const bad = sigs.filter((s) => !report.seen[s]);
  check('tiles show every value of /api/latest', sigs.length >= 20 && bad.length === 0, { bad, n: sigs.length });
  const blank = Object.entries(report.shown).filter(([, t]) => t === '—' || t === '');
  check('no tile is left blank', blank.length === 0, blank);
  result.tile_signals = sigs.length;
}

async function liveChanges(page) {
  const before = await page.$$eval('[data-sig]', (xs) => xs.map((x) => x.dataset.raw));
  const t0 = Date.now();
  await page.waitForFunction((b) => Array.from(document.querySelectorAll('[data-sig]')).some((x, i) => x.dataset.raw !== b[i]),
    before, { timeout: 1000, polling: 10 });
  result.live_change_ms = Date.now() - t0;
  check('a live value changes within a second', result.live_change_ms <= 1000);
}

async function units(page) {
  const kmh = Number(await page.getAttribute('#tile-speed [data-sig]', 'data-raw'));
  await page.click('#units-dist');
  await page.click('#units-temp');
  check('speed unit switches to mph', (await page.textContent('#tile-speed .u')) === 'mph');
  check('temperatures switch to °F', (await page.textContent('#tile-ambient .u')) === '°F');
  const ambient = await page.$eval('#tile-ambient [data-sig]', (x) => [Number(x.dataset.raw), x.textContent]);
  check('°C shown as °F', ambient[1] === (ambient[0] * 9 / 5 + 32).toFixed(1), ambient);
  await page.reload();
  await page.waitForFunction(() => LM.live && LM.live.events > 0);
  check('units are remembered', (await page.textContent('#units-dist')) === 'mi');
  await page.click('#units-dist');
  await page.click('#units-temp');
  check('and switched back', (await page.textContent('#tile-speed .u')) === 'km/h' && kmh >= 0);
}

async function history(page) {
  await page.click('nav a[data-page="history"]');
  await page.waitForFunction(() => LM.hist && LM.hist.fetches > 0 && document.querySelectorAll('.chart canvas').length >= 5,
    null, { timeout: 10000 });
  const h = await page.evaluate(() => ({ points: LM.hist.points, source: LM.hist.last.source,
    charts: LM.hist.view.charts.length, sessions: LM.hist.view.sessions.length,
    note: document.getElementById('h-source').textContent }));
  check('five stacked charts', h.charts === 5, h);
  check('history charts draw points', h.points > 100, h);
  check('history from InfluxDB', h.source === 'influx', h);
  check('charge sessions found for shading', h.sessions > 0, h);
  result.history = h;
  await linesDrawn(page, 'history from InfluxDB');
  // drag across the first chart: every chart follows the zoom
  const over = await page.$('.chart .u-over');
  const box = await over.boundingBox();
  const before = await page.evaluate(() => LM.hist.view.charts.map((u) => u.scales.x.min));
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.8, box.y + box.height / 2, { steps: 8 });
  await page.mouse.up();
  const after = await page.evaluate(() => LM.hist.view.charts.map((u) => [u.scales.x.min, u.scales.x.max]));
  check('drag zooms', after[0][0] > before[0] + 1, { before, after });
  check('all charts follow the zoom', after.every((x) => Math.abs(x[0] - after[0][0]) < 1e-6 && Math.abs(x[1] - after[0][1]) < 1e-6), after);
  await page.click('#h-reset');
  const reset = await page.evaluate(() => LM.hist.view.charts.map((u) => u.scales.x.min));
  check('reset zoom', Math.abs(reset[0] - before[0]) < 1, { reset, before });
  await page.click('[data-range="86400"]');
  await page.waitForFunction(() => LM.hist.view.range === 86400 && LM.hist.fetches >= 2);
  await page.click('[data-range="3600"]');
  await page.waitForFunction(() => LM.hist.view.range === 3600 && LM.hist.fetches >= 3);
  const href = await page.getAttribute('#h-export', 'href');
  check('CSV export link', href.startsWith('api/export.csv?signals='), href);
}

async function system(page) {
  await page.click('nav a[data-page="system"]');
  await page.waitForFunction(() => document.querySelectorAll('#sys-workers tr').length >= 5, null, { timeout: 5000 });
  const rows = await page.$$eval('#sys-workers tr', (trs) => trs.slice(1).map((tr) => [tr.cells[0].textContent, tr.cells[1].textContent]));
  check('system page lists the workers', ['can', 'influx', 'cloud', 'web', 'mqtt', 'abrp', 'ledger'].every((n) => rows.some((r) => r[0] === n)) &&
    rows.length === 7 && rows.some((r) => r[0] === 'web' && r[1] === 'ready'), rows);
  check('clock shown', (await page.textContent('#sys-clock')).includes('Boot id'));
  page.once('dialog', (d) => d.accept());
  const btn = await page.$('#sys-workers tr:nth-child(2) button'); /* can */
  check('restart buttons behind the login', btn !== null);
  await btn.click();
  await page.waitForFunction((b) => b.textContent !== 'Restart', btn, { timeout: 5000 });
  check('restart from the browser passes the CSRF check', (await btn.textContent()) === 'requested', await btn.textContent());
}

async function raw(page) {
  await page.click('nav a[data-page="raw"]');
  await page.waitForFunction(() => document.getElementById('raw-out').textContent.includes('"generation"'));
  await page.click('[data-raw="status"]');
  await page.waitForFunction(() => document.getElementById('raw-out').textContent.includes('"workers"'));
  check('raw JSON views', true);
}

/* no password: no login page, no "Log out"; the history charts of a fresh
 * start (the worker's ring, values that never changed) draw lines */
async function openDashboard(page) {
  await page.goto(URL + '/');
  await page.waitForFunction(() => window.LM && LM.live && LM.live.events > 0, null, { timeout: 10000 });
  check('no password: the dashboard opens at once', page.url() === URL + '/', page.url());
  check('no password: no "Log out" in the header', !(await page.isVisible('#logout')));
  await page.click('nav a[data-page="history"]');
  await page.waitForFunction(() => LM.hist && LM.hist.fetches > 0, null, { timeout: 10000 });
  /* the last few minutes (the inputs take whole minutes), so the ring's
   * minute or so of history spans the charts' width */
  const local = (ms) => new Date(ms - new Date(ms).getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  const now = Date.now();
  await page.fill('#h-from', local(now - 120000));
  await page.fill('#h-to', local(now + 120000));
  const before = await page.evaluate(() => LM.hist.fetches);
  await page.click('#h-apply');
  await page.waitForFunction((n) => LM.hist.fetches > n && document.querySelectorAll('.chart canvas').length >= 5,
    before, { timeout: 10000 });
  const src = await page.evaluate(() => LM.hist.last.source);
  check('history from the ring', src === 'ring', src);
  await shot(page, 'history-ring.png');
  await linesDrawn(page, 'history from the ring');
}

async function main() {
  fs.mkdirSync(SHOTS, { recursive: true });
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'leafmon-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium', headless: true, args: FLAGS,
    viewport: { width: 1280, height: 900 },
  });
  try {
    const page = ctx.pages()[0] || await ctx.newPage();
    page.on('console', (m) => {
      if (m.type() !== 'error') return;
      const where = (m.location() && m.location().url) || '';
      /* the deliberate wrong password: Chromium logs the 401 of that fetch */
      if (result.expected_errors_from && m.text().includes('401')) result.expected_errors++;
      else result.console_errors.push(m.text() + ' @ ' + where);
    });
    page.on('pageerror', (e) => result.console_errors.push('pageerror: ' + e.message));
    if (MODE === 'open') {
      await openDashboard(page);
      check('no console errors', result.console_errors.length === 0, result.console_errors);
      result.ok = true;
      return;
    }
    await login(page);
    await tilesMatchLatest(page);
    await units(page);
    await page.waitForTimeout(10000); /* let latencies accumulate */
    /* the simulator starts parked (only the CAN counters move, once a second): wait for
     * the car to drive, then a value must change within a second */
    await page.waitForFunction(() => LM.live.state.vehicle_speed_kmh && LM.live.state.vehicle_speed_kmh.v > 0,
      null, { timeout: 40000 });
    await liveChanges(page);
    const lat = await page.evaluate(() => LM.live.lat.slice());
    result.latency = { n: lat.length, p50: pct(lat, 0.5), p99: pct(lat, 0.99), max: Math.max(...lat) };
    await shot(page, 'dashboard.png');
    await page.setViewportSize({ width: 390, height: 844 });
    await shot(page, 'dashboard-phone.png');
    await page.setViewportSize({ width: 1280, height: 900 });
    await history(page);
    await shot(page, 'history.png');
    await system(page);
    await shot(page, 'system.png');
    await raw(page);
    await page.click('#logout');
    await page.waitForURL(URL + '/login.html');
    await page.goto(URL + '/');
    check('logged out: back to the login page', page.url().endsWith('/login.html'), page.url());
    check('no console errors', result.console_errors.length === 0, result.console_errors);
    result.ok = true;
  } finally {
    await ctx.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

main().then(() => console.log(JSON.stringify(result))).catch((e) => {
  result.ok = false;
  result.error = e.message;
  console.log(JSON.stringify(result));
  process.exit(1);
});
