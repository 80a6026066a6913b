// main.js — the console's shell: asks who is signed in (GET /session), shows the sign-in form
// or the navigation, routes #/screen/arg to one lazily loaded module per screen, keeps the
// notification bell's count, and signs out.
import { get, del, setCsrf, whenSignedOut } from './api.js';
import { h, clear, announce } from './ui.js';
import { sentence } from './errors.js';

const main = document.getElementById('main');
let me = null;
let cleanup = null;
let bellTimer = null;

// The screens: hash name → module, who sees it in the navigation. Helpers building the team
// issues add theirs here.
const SCREENS = [
  { name: 'mailboxes', title: 'Mailboxes', load: () => import('./screens/mailboxes.js'), who: 'member' },
  { name: 'inbox', title: 'Inbox', load: () => import('./screens/inbox.js'), who: 'member' },
  { name: 'sequences', title: 'Sequences', load: () => import('./screens/sequences.js'), who: 'member' },
  { name: 'requests', title: 'Requests', load: () => import('./screens/requests.js'), who: 'any' },
  { name: 'team', title: 'My Team', load: () => import('./screens/team.js'), who: 'admin' },
  { name: 'connections', title: 'Inbox Connections', load: () => import('./screens/connections.js'), who: 'admin' },
  { name: 'shared', title: 'Shared mailbox', load: () => import('./screens/shared.js'), who: 'member', hidden: true },
  { name: 'audit', title: 'Audit log', load: () => import('./screens/audit.js'), who: 'admin' },
  { name: 'webhooks', title: 'Webhooks', load: () => import('./screens/webhooks.js'), who: 'admin' },
  { name: 'notifications', title: 'Notifications', load: () => import('./screens/notifications.js'), who: 'any', hidden: true },
  { name: 'settings', title: 'Settings', load: () => import('./screens/settings.js'), who: 'any', hidden: true },
];

const isAdmin = () => me && (me.role === 'admin' || me.role === 'operator');
const isMember = () => me && me.role !== 'operator';
const allowed = (s) => s.who === 'any' || (s.who === 'admin' ? isAdmin() : isMember());

function buildNav() {
  const nav = clear(document.getElementById('nav'));
  nav.append(h('ul', {}, SCREENS.filter((s) => allowed(s) && !s.hidden).map((s) =>
    h('li', {}, h('a', { href: '#/' + s.name, 'data-screen': s.name }, s.title)))));
  document.getElementById('me').textContent = `${me.name} (${me.role})`;
  document.getElementById('top').hidden = false;
}

export async function refreshBell() {
  try {
    let unread = 0;
    let cursor = null;
    let pages = 0;
    do {
      const page = await get('/notifications?limit=500' + (cursor ? '&cursor=' + cursor : ''));
      unread += page.items.filter((n) => !n.read).length;
      cursor = page.next_cursor;
    } while (cursor && ++pages < 10);
    const c = document.getElementById('bell-count');
    c.hidden = unread === 0;
    c.textContent = unread > 99 ? '99+' : String(unread);
    document.getElementById('bell').setAttribute('aria-label', `Notifications, ${unread} unread`);
  } catch { /* the bell stays as it was */ }
}

async function route() {
  if (!me) return;
  if (cleanup) { try { cleanup(); } catch { /* ignore */ } cleanup = null; }
  const [name, ...rest] = (location.hash.replace(/^#\/?/, '') || '').split('/');
  let screen = SCREENS.find((s) => s.name === name && allowed(s));
  if (!screen) {
    screen = SCREENS.find((s) => s.name === (isMember() ? 'mailboxes' : 'requests'));
    history.replaceState(null, '', '#/' + screen.name);
  }
  document.querySelectorAll('#nav a').forEach((a) => {
    if (a.dataset.screen === screen.name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  });
  document.title = `${screen.title} · mailfleet`;
  delete main.dataset.ready;
  clear(main);
  try {
    const mod = await screen.load();
    const out = await mod.render(main, { me, arg: rest.join('/'), name: screen.name, refreshBell, isAdmin: isAdmin() });
    if (typeof out === 'function') cleanup = out;
  } catch (e) {
    main.append(h('p', { class: 'error', role: 'alert' }, sentence(e)));
  }
  const h1 = main.querySelector('h1');
  if (h1) { h1.setAttribute('tabindex', '-1'); h1.focus({ preventScroll: true }); }
  main.dataset.ready = screen.name; // drawn and focused (the e2e tests wait for it)
}

async function showLogin(message) {
  me = null;
  if (cleanup) { cleanup(); cleanup = null; }
  clearInterval(bellTimer);
  document.getElementById('top').hidden = true;
  clear(main);
  const mod = await import('./screens/login.js');
  mod.render(main, { message, onSignedIn: start });
}

async function start(session) {
  me = session.user;
  setCsrf(session.csrf_token);
  buildNav();
  refreshBell();
  clearInterval(bellTimer);
  bellTimer = setInterval(refreshBell, 30000);
  await route();
}

whenSignedOut((err) => { if (me) showLogin(sentence(err)); });
window.addEventListener('hashchange', route);
document.getElementById('logout').addEventListener('click', async () => {
  try { await del('/session'); } catch { /* signed out anyway */ }
  setCsrf(null);
  announce('You are signed out.');
  showLogin('You are signed out.');
});

(async () => {
  try {
    start(await get('/session'));
  } catch (e) {
    showLogin(e.status === 401 ? (e.detail.reason ? sentence(e) : '') : sentence(e));
  }
})();
