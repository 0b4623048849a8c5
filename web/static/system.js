/* leafmon dashboard: the system page (the status document: workers,
 * restarts, alerts, CAN health, sync ledgers, clock) and the raw JSON
 * views of /api/latest and /api/status. */
'use strict';

(function () {
  const LM = window.LM;
  const el = LM.el;
  const sys = (LM.sys = { timer: null, last: null });

  function row(table, cells, head) {
    table.append(el('tr', {}, ...cells.map((c) => el(head ? 'th' : 'td', {}, c))));
  }

  function kv(table, pairs) {
    table.textContent = '';
    for (const [k, v] of pairs) row(table, [k, v == null ? '—' : String(v)]);
  }

  async function restart(name, btn) {
    if (!confirm('Restart the ' + name + ' worker?')) return;
    btn.disabled = true;
    try {
      await LM.post('api/control/restart', { worker: name });
      btn.textContent = 'requested';
    } catch (err) {
      btn.textContent = err.message;
    }
    setTimeout(() => { if (sys.timer) refresh(); }, 800);
  }

  function workers(st) {
    const t = document.getElementById('sys-workers');
    t.textContent = '';
    row(t, ['Worker', 'State', 'Up', 'Restarts', 'Heartbeat', 'Last exit', ''], true);
    for (const w of st.workers) {
      const btn = LM.session.control && w.state !== 'disabled'
        ? el('button', { class: 'small', text: 'Restart', onclick: (e) => restart(w.name, e.target) })
        : '';
      row(t, [w.name, el('span', { class: 'state-' + w.state, text: w.state }),
        LM.ago(w.uptime_s), String(w.restarts), w.heartbeat_age_s == null ? '—' : w.heartbeat_age_s.toFixed(1) + ' s',
        w.last_exit || '—', btn]);
    }
  }

  function alerts(st) {
    const box = document.getElementById('sys-alerts');
    box.textContent = '';
    const all = (st.alerts || []).map((a) => ['leafmond', a]);
    for (const w of st.workers) for (const a of w.alerts || []) all.push([w.name, a]);
    for (const [who, a] of all)
      box.append(el('div', { class: 'alert' }, el('b', { text: who + ': ' }), a.text,
        a.since ? el('span', { class: 'note', text: ' (since ' + LM.when(a.since) + ')' }) : ''));
  }

  function can(st) {
    const c = st.can || {};
    const live = (LM.live && LM.live.state) || {};
    const v = (k) => (live[k] ? live[k].v : null);
    kv(document.getElementById('sys-can'), [
      ['Frames per second', v('can_frames_per_s') != null ? LM.fmt(v('can_frames_per_s'), 0) : null],
      ['Frames', c.frames], ['CRC errors', c.crc_errors], ['Counter gaps', c.counter_gaps],
      ['Unknown ids', c.unknown_ids], ['Implausible values', c.implausible],
      ['Kernel overflows', c.rx_overflows], ['Bus asleep', c.bus_asleep ? 'yes' : c.bus_asleep === 0 ? 'no' : null],
      ['Bus off', c.bus_off ? 'yes' : c.bus_off === 0 ? 'no' : null], ['Samples published', c.samples],
    ]);
  }

  function sync(st) {
    const box = document.getElementById('sys-sync');
    box.textContent = '';
    for (const w of st.workers) {
      const l = w.ledger;
      if (!l) continue;
      const t = el('table', { class: 'kv' });
      kv(t, [['Queued', (l.queued_records || 0) + ' records, ' + LM.bytes(l.queued_bytes)],
        ['Oldest waiting', LM.ago(l.oldest_age_s)], ['Last success', LM.when(l.last_success)],
        ['Last error', l.last_error ? l.last_error.code + ' ' + l.last_error.text + ' (' + LM.when(l.last_error.at) + ')' : 'none'],
        ['Dropped', l.dropped], ['Dead-lettered', l.dead_lettered], ['Sent today', LM.bytes(l.sent_bytes_today)]]);
      box.append(el('div', { class: 'ledger' }, el('h3', { text: w.name + ' (' + w.state + ')' }), t));
    }
    if (!box.childNodes.length) box.append(el('p', { class: 'note', text: 'No writer reports a ledger yet.' }));
  }

  function clock(st) {
    const c = st.clock || {};
    kv(document.getElementById('sys-clock'), [
      ['Clock', c.synced ? 'synchronised' : 'not synchronised (data re-based later)'],
      ['Time', c.realtime], ['Boot id', c.boot_id], ['leafmond', 'pid ' + st.supervisor.pid + ', up ' + LM.ago(st.supervisor.uptime_s)],
      ['Version', st.version], ['Config', st.supervisor.config],
    ]);
  }

  async function refresh() {
    try {
      const st = await LM.api('api/status');
      sys.last = st;
      document.getElementById('sys-error').textContent = '';
      workers(st); alerts(st); can(st); sync(st); clock(st);
    } catch (err) {
      document.getElementById('sys-error').textContent = 'Status unavailable: ' + err.message;
    }
  }

  LM.showSystem = function (visible) {
    clearInterval(sys.timer);
    sys.timer = null;
    if (!visible) return;
    refresh();
    sys.timer = setInterval(refresh, 2000);
  };

  /* ---- raw JSON ---- */
  let rawWhich = 'latest';
  async function raw() {
    const out = document.getElementById('raw-out');
    document.querySelectorAll('[data-raw]').forEach((b) => b.classList.toggle('active', b.dataset.raw === rawWhich));
    try {
      out.textContent = JSON.stringify(await LM.api('api/' + rawWhich), null, 2);
    } catch (err) {
      out.textContent = err.message;
    }
  }
  LM.showRaw = function (visible) { if (visible) raw(); };
  LM.initRaw = function () {
    document.querySelectorAll('[data-raw]').forEach((b) => b.addEventListener('click', () => { rawWhich = b.dataset.raw; raw(); }));
    document.getElementById('raw-refresh').addEventListener('click', raw);
  };
})();
