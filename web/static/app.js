/* leafmon dashboard: start-up, the page router (#live, #history, #system,
 * #trips, #charges, #battery, #raw), the unit buttons and logging out. */
'use strict';

(function () {
  const LM = window.LM;
  const PAGES = {
    live: null,
    history: (v) => LM.showHistory(v),
    trips: (v) => LM.showLedger('trips', v),
    charges: (v) => LM.showLedger('charges', v),
    battery: (v) => LM.showLedger('battery', v),
    system: (v) => LM.showSystem(v),
    raw: (v) => LM.showRaw(v),
  };
  let current = null;

  function route() {
    const name = (location.hash || '#live').slice(1);
    const page = PAGES.hasOwnProperty(name) ? name : 'live';
    if (page === current) return;
    if (current && PAGES[current]) PAGES[current](false);
    current = page;
    for (const p of Object.keys(PAGES)) document.getElementById('page-' + p).hidden = p !== page;
    document.querySelectorAll('nav a').forEach((a) => a.classList.toggle('active', a.dataset.page === page));
    if (PAGES[page]) PAGES[page](true);
  }

  function unitButtons() {
    const d = document.getElementById('units-dist');
    const t = document.getElementById('units-temp');
    const show = () => {
      d.textContent = LM.distUnit();
      t.textContent = LM.tempUnit();
    };
    d.addEventListener('click', () => LM.setUnits('dist', LM.distUnit() === 'km' ? 'mi' : 'km'));
    t.addEventListener('click', () => LM.setUnits('temp', LM.units.temp === 'F' ? 'C' : 'F'));
    document.addEventListener('lm-units', show);
    document.addEventListener('lm-units-known', show);
    show();
  }

  async function start() {
    const s = await LM.loadSession().catch(() => LM.session);
    if (s.auth_required && !s.authenticated) return LM.toLogin();
    const out = document.getElementById('logout');
    out.hidden = !s.auth_required;
    out.addEventListener('click', async () => {
      await LM.post('api/logout').catch(() => null);
      LM.toLogin();
    });
    await LM.loadSignals().catch(() => null);
    unitButtons();
    LM.startLive();
    LM.initHistory();
    LM.initRaw();
    LM.initLedger();
    window.addEventListener('hashchange', route);
    route();
  }

  start();
})();
