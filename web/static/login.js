/* leafmon login page: posts the password, the worker answers with an
 * HttpOnly session cookie, and the dashboard opens. */
'use strict';

(function () {
  const form = document.getElementById('login');
  const msg = document.getElementById('login-msg');
  const btn = document.getElementById('login-btn');

  fetch('api/session', { credentials: 'same-origin' }).then((r) => r.json()).then((s) => {
    if (!s.auth_required || s.authenticated) location.href = './';
  }).catch(() => null);

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    msg.textContent = '';
    btn.disabled = true;
    try {
      const r = await fetch('api/login', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ password: document.getElementById('password').value }),
      });
      if (r.ok) {
        location.href = './';
        return;
      }
      msg.textContent = r.status === 401 ? 'Wrong password.'
        : r.status === 429 ? 'Too many attempts: wait a minute and try again.'
          : ((await r.json().catch(() => ({}))).error || 'Login failed (HTTP ' + r.status + ').');
    } catch (err) {
      msg.textContent = 'Cannot reach leafmon: ' + err.message;
    }
    btn.disabled = false;
  });
})();
