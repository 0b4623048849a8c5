// The ledger's pages in a real browser (Debian's chromium, headless, driven
// by playwright-core). Run by test_ledger_browser.py with LEAFMON_URL,
// LEAFMON_PASSWORD, LEAFMON_SHOTS and LEAFMON_EXPECT (what the ledger and
// the history hold) set; prints one JSON line of results and exits non-zero
// on the first failed check.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const URL = process.env.LEAFMON_URL;
const PASSWORD = process.env.LEAFMON_PASSWORD;
const SHOTS = process.env.LEAFMON_SHOTS;
const EXPECT = JSON.parse(process.env.LEAFMON_EXPECT);
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

const result = { checks: [], console_errors: [], screenshots: [], series: [] };

function check(name, ok, detail) {
  result.checks.push(name);
  if (!ok) throw new Error('check failed: ' + name + (detail ? ': ' + JSON.stringify(detail) : ''));
}

async function shot(page, name) {
  const file = path.join(SHOTS, name);
  await page.screenshot({ path: file, fullPage: true });
  result.screenshots.push(file);
}

/* Each series of each chart of a group, shown alone, has its colour on the
 * canvas in most pixel columns between its first and last value (points:
 * in a column per value). */
async function drawn(page, group, what, min) {
  const rep = await page.evaluate(async (group) => {
    const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
    const measure = (u, i) => {
      const b = u.bbox;
      const top = Math.max(0, b.top - 3), h = Math.min(u.ctx.canvas.height - top, b.height + 6);
      const px = u.ctx.getImageData(b.left, top, b.width, h).data;
      const s = u.series[i];
      const col = typeof s.stroke === 'function' ? s.stroke(u, i) : s.stroke;
      const rgb = [1, 3, 5].map((k) => parseInt(col.slice(k, k + 2), 16));
      const xs = u.data[0], ys = u.data[i];
      const chart = u.root.closest('.chart').dataset.chart;
      const cols = [];
      for (let k = 0; k < xs.length; k++) {
        if (ys[k] == null) continue;
        cols.push(Math.round(u.valToPos(xs[k], 'x', true) - b.left));
      }
      if (cols.length < 2) return { chart, series: s.label, values: cols.length, cover: 0, extent: 0 };
      const hitAt = (x) => {
        for (let dx = -3; dx <= 3; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= b.width) continue;
          for (let y = 0; y < h; y++) {
            const p = (y * b.width + xx) * 4;
            const d = Math.abs(px[p] - rgb[0]) + Math.abs(px[p + 1] - rgb[1]) + Math.abs(px[p + 2] - rgb[2]);
            if (px[p + 3] >= 128 && d <= 40) return true;
          }
        }
        return false;
      };
      const x0 = Math.max(0, Math.min(...cols)), x1 = Math.min(b.width - 1, Math.max(...cols));
      let hit = 0, n = 0;
      if (s.width === 0) { /* points */
        for (const x of new Set(cols)) { n++; if (hitAt(x)) hit++; }
      } else {
        for (let x = x0; x <= x1; x++) { n++; if (hitAt(x)) hit++; }
      }
      return { chart, series: s.label, values: cols.length, extent: x1 - x0, cover: +(hit / n).toFixed(3) };
    };
    const out = [];
    for (const u of LM.ledger.charts[group] || []) {
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
  }, group);
  const bad = rep.filter((r) => r.values >= 2 && (r.cover < 0.8 || r.extent < 40));
  const empty = rep.filter((r) => r.values < 2);
  check(what + ': every series with values is drawn', rep.length >= min && bad.length === 0 && empty.length === 0,
    { bad, empty, rep });
  result.series = result.series.concat(rep.map((r) => Object.assign({ group }, r)));
}

async function login(page) {
  await page.goto(URL + '/#trips');
  check('unauthenticated visit lands on the login page', page.url().split('#')[0].endsWith('/login.html'), page.url());
  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForURL((u) => !u.pathname.endsWith('login.html')), page.click('#login-btn')]);
}

async function page_(page, name) {
  await page.evaluate((n) => { location.hash = '#' + n; }, name);
  await page.waitForFunction((n) => LM.ledgerLoaded && LM.ledgerLoaded(n), name, { timeout: 30000 });
  await page.evaluate((n) => LM.ledgerLoaded(n), name);
}

async function waitCharts(page, group, n) {
  await page.waitForFunction(([g, k]) => (LM.ledger.charts[g] || []).length === k &&
    LM.ledger.charts[g].every((u) => u.data[0].length > 0), [group, n], { timeout: 30000 });
}

async function trips(page) {
  await page_(page, 'trips');
  const rows = await page.$$eval('#t-list tr.pick', (t) => t.map((r) => +r.dataset.start));
  check('every trip listed, newest first', rows.length === EXPECT.trips.length &&
    JSON.stringify(rows) === JSON.stringify(EXPECT.trips.slice().reverse()), { rows, want: EXPECT.trips });
  const months = await page.$$eval('#t-monthly tr[data-month]', (t) => t.map((r) => r.dataset.month));
  check('monthly totals: one row per month', JSON.stringify(months) === JSON.stringify(EXPECT.months.slice().reverse()), months);
  const km = await page.$eval('#t-monthly tr[data-month="' + EXPECT.last_month.month + '"]', (r) => r.children[2].textContent);
  check('monthly km shown', Math.abs(parseFloat(km) - EXPECT.last_month.km) < 0.06, { km, want: EXPECT.last_month.km });
  await waitCharts(page, 'trip', 4);
  const title = await page.textContent('#t-title');
  check('the newest trip is open', title.startsWith('Trip of'), title);
  const figs = await page.$$eval('#t-figures td', (t) => t.map((x) => x.textContent));
  check('its figures are shown', figs.includes('Distance') && figs.includes('Energy out / regen in / net'), figs);
  await drawn(page, 'trip', 'the newest trip', 5);
  await shot(page, 'trips.png');
  /* another trip: its own interval */
  await page.click('#t-list tr.pick:nth-child(4)');
  const want = EXPECT.trips[EXPECT.trips.length - 3];
  await page.waitForFunction((s) => LM.ledger.selected.trip === s && LM.ledger.charts.trip.length === 4 &&
    Math.abs(LM.ledger.charts.trip[0].scales.x.min - Math.floor(s)) < 1, want, { timeout: 30000 });
  await waitCharts(page, 'trip', 4);
  await drawn(page, 'trip', 'a trip picked from the list', 5);
  /* moves on demand */
  await page.check('#t-moves');
  await page.waitForFunction((n) => document.querySelectorAll('#t-list tr.pick').length === n, EXPECT.trips_all, { timeout: 30000 });
  check('short moves listed on demand', true);
}

async function charges(page) {
  await page_(page, 'charges');
  const rows = await page.$$eval('#c-list tr.pick', (t) => t.map((r) => ({ start: +r.dataset.start, text: r.textContent })));
  check('every charge listed', rows.length === EXPECT.charges.length, rows.length);
  check('kWh and cost in the list', rows.every((r) => / EUR/.test(r.text)), rows.map((r) => r.text));
  const qc = EXPECT.qc;
  const hot = await page.$$eval('#c-list tr.pick', (t) => t.filter((r) => r.querySelector('.hot')).map((r) => +r.dataset.start));
  check('quick-charge heat marked in the list', hot.length > 0 && hot.every((s) => qc.includes(s)), { hot, qc });
  await page.click('#c-list tr.pick[data-start="' + qc[qc.length - 1] + '"]');
  /* the charts are the quick charge's, not the previous pick's still drawn */
  await page.waitForFunction((s) => LM.ledger.selected.charge === s && LM.ledger.charts.charge.length === 3 &&
    Math.abs(LM.ledger.charts.charge[0].scales.x.min - Math.floor(s)) < 1, qc[qc.length - 1], { timeout: 30000 });
  await waitCharts(page, 'charge', 3);
  const title = await page.textContent('#c-title');
  check('a quick charge opened', title.startsWith('Quick charge'), title);
  const rise = await page.evaluate(() => {
    const u = LM.ledger.charts.charge[2];
    const v = u.data[1].filter((x) => x != null);
    return Math.max(...v) - Math.min(...v);
  });
  check('its pack temperature rises on the chart', rise >= 8, rise);
  await drawn(page, 'charge', 'a quick charge', 4);
  await shot(page, 'charges.png');
}

async function battery(page) {
  await page_(page, 'battery');
  await page.waitForFunction(() => (LM.ledger.charts.battery || []).length >= 4 && LM.ledger.cells, null, { timeout: 30000 });
  const tiles = await page.$$eval('#b-tiles .tile', (t) => t.map((x) => x.textContent));
  check('SOH, bars, Hx, AHr, capacity tiles', tiles.length >= 6 && tiles[0].includes(EXPECT.soh.toFixed(1)), tiles);
  const bars = await page.$$eval('#b-tiles .bars i.on', (t) => t.length);
  check('capacity bars drawn', bars === EXPECT.bars, bars);
  const proj = await page.textContent('#b-projection');
  check('the projection with its uncertainty', proj.includes(EXPECT.projection) && proj.includes('\u00b1'), proj);
  const trend = await page.$$eval('#b-trend tr', (t) => t.length);
  check('the trend table: three windows', trend === 4, trend);
  await drawn(page, 'battery', 'the battery history', 5);
  const cells = await page.evaluate(() => LM.ledger.cells);
  check('cell voltages: all 96 and the spread', cells.n === 96 && cells.spread === EXPECT.cell_spread, cells);
  const note = await page.textContent('#b-cells-note');
  check('the spread in words', note.includes('spread ' + EXPECT.cell_spread + ' mV'), note);
  const bar = await page.evaluate(() => {
    const c = document.getElementById('b-cells-canvas');
    const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let p = 0; p < px.length; p += 4) if (px[p] === 0x2e && px[p + 1] === 0xa0 && px[p + 2] === 0x43) n++;
    return n;
  });
  check('the cell bar chart is drawn', bar > 2000, bar);
  await shot(page, 'battery.png');
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForFunction(() => LM.ledger.charts.battery.every((u) => u.width <= 390) &&
    document.getElementById('b-cells-canvas').clientWidth <= 390, null, { timeout: 15000 });
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  check('the battery page fits a phone', wide <= 390, wide);
  await shot(page, 'battery-phone.png');
  await page.setViewportSize({ width: 1280, height: 900 });
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
      if (m.type() === 'error') result.console_errors.push(m.text() + ' @ ' + ((m.location() && m.location().url) || ''));
    });
    page.on('pageerror', (e) => result.console_errors.push('pageerror: ' + e.message));
    await login(page);
    await trips(page);
    await charges(page);
    await battery(page);
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
