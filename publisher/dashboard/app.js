// app.js - the HotPatch dashboard: routing (#/...), the page shell, sign-in
// and sign-out. The pages themselves are in pages.js. Everything talks to the
// publisher's /v1 API through api.js; nothing is loaded from another origin.
import { api, ApiError, setCsrf } from './api.js';
import { h, clear } from './dom.js';
import * as pages from './pages.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const who = document.getElementById('who');
let me = null;

export function toast(msg, kind = 'ok') {
  const t = document.getElementById('toast');
  clear(t, h('p', { class: `toast ${kind}` }, msg));
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => clear(t), 6000);
}

export function go(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

// A failure as a sentence a person can act on.
export function errorBox(e, what) {
  let msg = e instanceof ApiError ? e.message : String(e);
  if (e instanceof ApiError && e.status === 403) msg = `You don't have permission for this. ${msg}`;
  if (e instanceof ApiError && e.status >= 500) msg = `The publisher could not do this right now (${msg}). Try again in a moment.`;
  return h('div', { class: 'error', role: 'alert' }, h('strong', null, `${what} failed. `), msg);
}

function signinPage(reason) {
  clear(nav);
  clear(who);
  const err = h('div', { 'aria-live': 'assertive' });
  const email = h('input', { id: 'email', name: 'email', type: 'email', autocomplete: 'username', required: true });
  const pw = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const btn = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const form = h('form', { class: 'signin card', novalidate: true, onsubmit: async (ev) => {
    ev.preventDefault();
    clear(err);
    if (!email.value || !pw.value) {
      clear(err, h('div', { class: 'error', role: 'alert' }, 'Enter your email address and your password.'));
      return;
    }
    btn.disabled = true;
    try {
      const r = await api('POST', '/v1/session', { email: email.value, password: pw.value });
      setCsrf(r.csrf_token);
      pw.value = '';
      await start();
    } catch (e) {
      const msg = e.status === 401 ? 'That email and password do not match an account. Check them and try again.' : e.message;
      clear(err, h('div', { class: 'error', role: 'alert' }, msg));
      btn.disabled = false;
      pw.focus();
    }
  } },
  h('h1', { tabindex: '-1' }, 'Sign in to HotPatch'),
  reason ? h('p', { class: 'muted' }, reason) : null,
  h('label', { for: 'email' }, 'Email'), email,
  h('label', { for: 'password' }, 'Password'), pw,
  err, btn);
  clear(main, form);
  email.focus();
}

async function signOut() {
  try {
    await api('DELETE', '/v1/session');
  } catch (e) {
    // the session may already be gone: signing out locally is what matters
  }
  setCsrf(null);
  me = null;
  location.hash = '#/';
  signinPage('You are signed out.');
}

function shell() {
  clear(who, h('span', { class: 'muted' }, me.user.email), ' ',
    h('button', { type: 'button', class: 'link', onclick: signOut }, 'Sign out'));
}

const routes = [
  [/^#?\/?$/, () => pages.appsPage()],
  [/^#\/apps\/([^/]+)$/, (m) => pages.appPage(m[1])],
  [/^#\/apps\/([^/]+)\/releases\/([^/]+)$/, (m) => pages.releasePage(m[1], m[2])],
  [/^#\/apps\/([^/]+)\/devices(?:\?id=(.*))?$/, (m) => pages.devicePage(m[1], m[2] === undefined ? '' : m[2])],
  [/^#\/apps\/([^/]+)\/audit$/, (m) => pages.auditPage(m[1])],
  [/^#\/apps\/([^/]+)\/keys$/, (m) => pages.keysPage(m[1])],
];

export async function render() {
  if (!me) return;
  const hash = location.hash || '#/';
  for (const [re, fn] of routes) {
    const m = hash.match(re);
    if (!m) continue;
    const args = m.map((x, i) => (i && x !== undefined ? decodeURIComponent(x) : x));
    clear(main, h('p', { class: 'muted' }, 'Loading…'));
    try {
      const node = await fn(args);
      clear(main, node);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        me = null;
        signinPage('Your session has ended. Sign in again to continue.');
        return;
      }
      clear(main, h('h1', { tabindex: '-1' }, 'Something went wrong'), errorBox(e, 'Loading this page'),
        h('p', null, h('a', { href: '#/' }, 'Back to your apps')));
    }
    const h1 = main.querySelector('h1');
    if (h1) h1.focus();
    return;
  }
  clear(main, h('h1', { tabindex: '-1' }, 'Page not found'),
    h('p', null, 'There is no dashboard page at this address. ', h('a', { href: '#/' }, 'Go to your apps.')));
}

export function setNav(app, current) {
  if (!app) {
    clear(nav);
    return;
  }
  const enc = encodeURIComponent(app);
  const link = (href, label, key) => h('a', { href, 'aria-current': current === key ? 'page' : null }, label);
  clear(nav,
    link(`#/apps/${enc}`, 'Releases', 'app'),
    link(`#/apps/${enc}/devices`, 'Devices', 'devices'),
    link(`#/apps/${enc}/audit`, 'Audit log', 'audit'),
    link(`#/apps/${enc}/keys`, 'Keys', 'keys'));
}

async function start() {
  try {
    me = await api('GET', '/v1/session');
    setCsrf(me.csrf_token);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      signinPage();
      return;
    }
    clear(main, h('h1', { tabindex: '-1' }, 'The dashboard cannot start'), errorBox(e, 'Reading your session'));
    return;
  }
  shell();
  await render();
}

window.addEventListener('hashchange', render);
start();
