// The live page's position line in a real browser (Debian's chromium,
// headless, playwright-core from the build's npm install). Run by
// test_gps.py with LEAFMON_URL (an open dashboard of a can worker with a
// GPS); prints one JSON line: the line's text and its map link.
'use strict';

const os = require('os');
const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

(async () => {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'leafmon-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  });
  const out = {};
  try {
    const page = await ctx.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(process.env.LEAFMON_URL + '/');
    await page.waitForSelector('#position:not([hidden]) a', { timeout: 20000 });
    out.text = await page.textContent('#position');
    out.href = await page.getAttribute('#position a', 'href');
    out.rel = await page.getAttribute('#position a', 'rel');
    out.errors = errors;
    out.ok = true;
  } catch (e) {
    out.error = String(e);
  } finally {
    await ctx.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  console.log(JSON.stringify(out));
  process.exit(out.ok ? 0 : 1);
})();
