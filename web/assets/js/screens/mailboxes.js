// mailboxes.js — the signed-in member's mailboxes (R12 status, R16 default, R15 sent today /
// daily limit, R19 master inbox): select several for the bulk actions (Manage Master Inbox,
// Make default, Edit sender name / signature / limit), connect a new one with its connection
// test, reconnect a failing one, delete with the R9 confirmation.
import { get, post, patch, put, del, all, q } from '../api.js';
import { h, clear, field, input, select, busy, showError, dialog, confirmDialog, flash, statusBadge,
  table, td, pageHead, announce } from '../ui.js';

const SECURITY = [
  { value: 'tls', label: 'TLS (implicit, usually port 993 / 465)' },
  { value: 'starttls', label: 'STARTTLS (usually port 143 / 587)' },
  { value: 'none', label: 'None (test servers only)' },
];

// IMAP/SMTP settings fieldset; read() gives {host, port, security, username, password}.
export function serverFields(kind, legend, defaults = {}) {
  const host = input(kind + '.host', { autocomplete: 'off', required: true, value: defaults.host });
  const port = input(kind + '.port', { type: 'number', min: 1, max: 65535, required: true, value: defaults.port });
  const security = select(kind + '.security', SECURITY.map((s) => ({ ...s, selected: s.value === (defaults.security || 'tls') })));
  const username = input(kind + '.username', { autocomplete: 'off', required: true });
  const password = input(kind + '.password', { type: 'password', autocomplete: 'new-password', required: true });
  const fs = h('fieldset', { class: 'server' }, h('legend', {}, legend),
    field('Server', host), field('Port', port), field('Security', security),
    field('User name', username), field('Password', password, 'An app password works too.'));
  return {
    el: fs, username, password,
    read: () => ({ host: host.value.trim(), port: Number(port.value), security: security.value,
      username: username.value.trim(), password: password.value }),
  };
}

// IMAP and SMTP, with "SMTP uses the same user name and password".
function credentialFields() {
  const imap = serverFields('imap', 'Incoming mail (IMAP)', { port: 993 });
  const smtp = serverFields('smtp', 'Outgoing mail (SMTP)', { port: 465 });
  const same = input('same', { type: 'checkbox', checked: true });
  const sync = () => {
    smtp.username.disabled = same.checked;
    smtp.password.disabled = same.checked;
    smtp.username.parentElement.hidden = same.checked;
    smtp.password.parentElement.hidden = same.checked;
  };
  same.addEventListener('change', sync);
  sync();
  const el = h('div', { class: 'servers' }, imap.el,
    h('div', {}, h('div', { class: 'check' }, same, h('label', { for: same.id }, 'SMTP uses the same user name and password')), smtp.el));
  return {
    el,
    read: () => {
      const i = imap.read();
      const s = smtp.read();
      if (same.checked) { s.username = i.username; s.password = i.password; }
      return { imap: i, smtp: s };
    },
  };
}

// Wait for the engine's first connection (the connection test): resolves with the mailbox
// once it is good, failing or error, or after `ms`.
async function watchConnection(id, onUpdate, ms = 60000) {
  const end = Date.now() + ms;
  for (;;) {
    const m = await get('/mailboxes/' + id);
    onUpdate(m);
    if (m.status !== 'connecting' || Date.now() > end) return m;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

function connectionResult(box, m) {
  clear(box);
  box.append(h('p', {}, 'Connection test: ', statusBadge(m)));
  if (m.status === 'good') box.append(h('p', { class: 'ok' }, `${m.address} is connected.`));
  if (m.status === 'failing') box.append(h('p', { class: 'error' }, 'The server refused the login. Check the user name and password, then reconnect.'));
  if (m.status === 'error') box.append(h('p', { class: 'error' }, 'The server could not be reached; mailfleet keeps retrying. Check the server name, port and security.'));
}

export async function render(main, ctx) {
  const { me } = ctx;
  let mailboxes = [];
  let conn = null;
  const selected = new Set();
  let timer = null;

  const usage = h('p', { class: 'usage' });
  const bulk = h('div', { class: 'bulk', role: 'toolbar', 'aria-label': 'Actions on the selected mailboxes' });
  const listBox = h('div', { class: 'list-box' });
  const notice = h('div', { class: 'notices' });
  const formBox = h('section', { class: 'card', 'aria-labelledby': 'connect-title' });
  const sharedBox = h('section', { 'aria-labelledby': 'shared-title' });
  main.append(pageHead('Mailboxes', usage), notice, bulk, listBox, sharedBox, formBox);
  let sharedWithMe = [];

  const byId = (id) => mailboxes.find((m) => m.id === id);

  let shown = '';
  async function load() {
    let mine;
    [mine, conn] = await Promise.all([
      all('/mailboxes' + q({ member: 'me' })),
      get(`/users/${me.id}/connections`).catch(() => null),
    ]);
    mailboxes = mine.filter((m) => m.owner_id === me.id);
    sharedWithMe = mine.filter((m) => m.owner_id !== me.id);
    for (const id of [...selected]) if (!byId(id)) selected.delete(id);
    const now = JSON.stringify([mailboxes, conn, sharedWithMe]);
    if (now !== shown) { shown = now; draw(); } // redraw only on change: keeps keyboard focus
  }

  function drawUsage() {
    usage.textContent = conn ? `${conn.used}/${conn.available} mailboxes connected (personal mailboxes count toward your limit; shared ones do not).` : '';
  }

  function drawBulk() {
    clear(bulk);
    const n = selected.size;
    bulk.hidden = n === 0;
    if (!n) return;
    const bar = h('div', { class: 'bulk-actions' },
      h('span', { class: 'count' }, `${n} selected`),
      h('button', { type: 'button', onclick: manageMaster }, 'Manage Master Inbox'),
      h('button', { type: 'button', onclick: makeDefault, disabled: n !== 1, title: n !== 1 ? 'Select exactly one mailbox' : null }, 'Make default'),
      h('button', { type: 'button', onclick: editSelected }, 'Edit'),
      h('button', { type: 'button', class: 'link', onclick: () => { selected.clear(); draw(); } }, 'Clear selection'));
    bulk.append(bar);
  }

  // Shared mailboxes someone else owns and the member belongs to (R20).
  function drawShared() {
    clear(sharedBox);
    if (!sharedWithMe.length) return;
    sharedBox.append(h('h2', { id: 'shared-title' }, 'Shared with you'),
      table('!Shared mailboxes you are a member of', ['Mailbox', 'Status', 'Actions'], sharedWithMe.map((m) =>
        h('tr', { 'data-id': m.id, 'data-address': m.address },
          td('Mailbox', h('strong', {}, m.address), ' ', h('span', { class: 'badge off' }, 'Shared'), h('div', { class: 'sub' }, m.sender_name)),
          td('Status', statusBadge(m)),
          td('Actions', h('div', { class: 'row-actions' },
            h('a', { class: 'button', href: '#/shared/' + m.id, 'aria-label': 'Members of ' + m.address }, 'Members and assignment')))))));
  }

  function draw() {
    drawUsage();
    drawBulk();
    drawShared();
    clear(listBox);
    if (!mailboxes.length) {
      listBox.append(h('p', { class: 'empty' }, 'No mailbox connected yet. Connect your first one below.'));
      return;
    }
    const allBox = input('select-all', { type: 'checkbox', 'aria-label': 'Select all mailboxes',
      checked: selected.size === mailboxes.length });
    allBox.addEventListener('change', () => {
      selected.clear();
      if (allBox.checked) mailboxes.forEach((m) => selected.add(m.id));
      draw();
    });
    const rows = mailboxes.map((m) => {
      const box = input('select', { type: 'checkbox', checked: selected.has(m.id), 'aria-label': 'Select ' + m.address });
      box.addEventListener('change', () => { box.checked ? selected.add(m.id) : selected.delete(m.id); drawBulk(); });
      const master = m.master_id ? (byId(m.master_id) ? byId(m.master_id).address : 'another mailbox') : '—';
      const actions = h('div', { class: 'row-actions' },
        ['failing', 'error', 'disconnected'].includes(m.status)
          ? h('button', { type: 'button', 'aria-label': 'Reconnect ' + m.address, onclick: () => reconnect(m) }, 'Reconnect') : null,
        m.kind === 'shared' ? h('a', { class: 'button', href: '#/shared/' + m.id, 'aria-label': 'Members of ' + m.address }, 'Members') : null,
        h('button', { type: 'button', 'aria-label': 'Edit ' + m.address, onclick: () => editMailboxes([m]) }, 'Edit'),
        h('button', { type: 'button', class: 'danger', 'aria-label': 'Delete ' + m.address, onclick: (ev) => remove(m, ev.currentTarget) }, 'Delete'));
      return h('tr', { 'data-id': m.id, 'data-address': m.address },
        td('Select', box),
        td('Mailbox', h('strong', {}, m.address), ' ',
          m.is_default ? h('span', { class: 'badge default' }, 'Default') : null,
          m.kind === 'shared' ? h('span', { class: 'badge off' }, 'Shared') : null,
          h('div', { class: 'sub' }, m.sender_name)),
        td('Status', statusBadge(m)),
        td('Sent today', `${m.sent_today} / ${m.daily_limit}`),
        td('Master inbox', master),
        td('Actions', actions));
    });
    listBox.append(h('div', { class: 'select-all' }, allBox, h('label', { for: allBox.id }, 'Select all')),
      table('Your mailboxes', [h('span', { class: 'visually-hidden' }, 'Select'), 'Mailbox', 'Status', 'Sent today / limit', 'Master inbox', 'Actions'], rows));
  }

  // ---- bulk actions -----------------------------------------------------------------------
  async function manageMaster() {
    const ids = [...selected];
    const candidates = mailboxes.filter((m) => !selected.has(m.id));
    await dialog('Manage Master Inbox', (close) => {
      const master = select('master_id', [{ value: '', label: 'No master inbox (replies stay in each mailbox)' },
        ...candidates.map((m) => ({ value: m.id, label: `${m.address}${['failing', 'disconnected'].includes(m.status) ? ' (not connected)' : ''}` }))]);
      const ok = h('button', { type: 'submit', class: 'primary' }, 'Save');
      const form = h('form', {},
        h('p', {}, `Replies to ${ids.length} mailbox${ids.length === 1 ? '' : 'es'} go to the master inbox: `,
          ids.map((id) => byId(id).address).join(', '), '.'),
        field('Master inbox', master),
        h('div', { class: 'actions' }, ok, h('button', { type: 'button', onclick: () => close() }, 'Cancel')));
      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        const res = await busy(ok, form, () => put('/master-inbox', { mailbox_ids: ids, master_id: master.value || null }), form.querySelector('.actions'));
        if (res) { close(true); announce('Master inbox saved.'); flash(notice, 'Master inbox saved.'); await load(); }
      });
      return form;
    });
  }

  async function makeDefault(ev) {
    const [id] = [...selected];
    const res = await busy(ev.currentTarget, bulk, () => post(`/mailboxes/${id}/default`));
    if (res) { flash(notice, `${res.address} is now your default mailbox.`); await load(); }
  }

  function editSelected() { return editMailboxes([...selected].map(byId)); }

  async function editMailboxes(list) {
    const one = list.length === 1 ? list[0] : null;
    await dialog(one ? `Edit ${one.address}` : `Edit ${list.length} mailboxes`, (close) => {
      const name = input('sender_name', { value: one ? one.sender_name : '', placeholder: one ? '' : 'unchanged' });
      const sig = h('textarea', { name: 'signature', id: 'sig-' + Date.now(), rows: 4, placeholder: one ? '' : 'unchanged' });
      if (one) sig.value = one.signature;
      const limit = input('daily_limit', { type: 'number', min: 1, value: one ? one.daily_limit : '', placeholder: one ? '' : 'unchanged' });
      const ok = h('button', { type: 'submit', class: 'primary' }, 'Save');
      const form = h('form', {},
        one ? null : h('p', { class: 'note' }, 'Fields left empty keep each mailbox\'s own value.'),
        field('Sender name', name), field('Signature', sig), field('Daily sending limit', limit, 'Messages per day; capped by your organisation\'s maximum.'),
        h('div', { class: 'actions' }, ok, h('button', { type: 'button', onclick: () => close() }, 'Cancel')));
      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        const body = {};
        if (one || name.value.trim()) body.sender_name = name.value.trim();
        if (one || sig.value) body.signature = sig.value;
        if (limit.value !== '') body.daily_limit = Number(limit.value);
        const done = await busy(ok, form, async () => {
          for (const m of list) await patch('/mailboxes/' + m.id, body);
          return true;
        }, form.querySelector('.actions'));
        if (done) { close(true); flash(notice, 'Saved.'); await load(); }
      });
      return form;
    });
  }

  async function reconnect(m) {
    await dialog(`Reconnect ${m.address}`, (close) => {
      const creds = credentialFields();
      const ok = h('button', { type: 'submit', class: 'primary' }, 'Reconnect');
      const result = h('div', { class: 'result', 'aria-live': 'polite' });
      const form = h('form', {}, m.status_reason ? h('p', { class: 'note' }, 'Last error: ' + m.status_reason) : null,
        creds.el, result, h('div', { class: 'actions' }, ok, h('button', { type: 'button', onclick: () => close() }, 'Close')));
      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        const res = await busy(ok, form, () => patch('/mailboxes/' + m.id, creds.read()), form.querySelector('.actions'));
        if (res) { await watchConnection(m.id, (x) => connectionResult(result, x)); await load(); }
      });
      return form;
    });
  }

  async function remove(m, button) {
    const yes = await confirmDialog(`Delete ${m.address}?`,
      `Deleting ${m.address} removes its history for good: synced messages, conversations and the send log. ` +
      'Prospects sending from it are paused so they can be moved to another mailbox. This cannot be undone.',
      'Delete mailbox and history', true);
    if (!yes) return;
    const row = button.closest('tr');
    const ok = await busy(button, row.querySelector('td:last-child'), () => del(`/mailboxes/${m.id}?confirm=true`).then(() => true));
    if (ok) { flash(notice, `${m.address} was deleted.`); await load(); }
  }

  // ---- connect a new mailbox -------------------------------------------------------------
  function drawConnectForm() {
    const address = input('address', { type: 'email', required: true, autocomplete: 'off' });
    const kind = select('kind', [{ value: 'personal', label: 'Personal (counts toward your limit)' }, { value: 'shared', label: 'Shared (e.g. sales@, does not count)' }]);
    const sender = input('sender_name', { value: me.name });
    const limit = input('daily_limit', { type: 'number', min: 1, placeholder: 'default' });
    const creds = credentialFields();
    const submit = h('button', { type: 'submit', class: 'primary' }, 'Connect and test');
    const result = h('div', { class: 'result', 'aria-live': 'polite' });
    const actions = h('div', { class: 'actions' }, submit);
    const form = h('form', { id: 'connect-form', novalidate: true },
      h('div', { class: 'grid2' }, field('Email address', address), field('Kind', kind),
        field('Sender name', sender), field('Daily sending limit', limit)),
      creds.el, actions, result);
    address.addEventListener('change', () => {
      for (const n of ['imap.username']) { const el = form.querySelector(`[name="${n}"]`); if (!el.value) el.value = address.value.trim(); }
    });
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clear(result);
      const body = { owner_id: me.id, address: address.value.trim(), kind: kind.value, sender_name: sender.value.trim() || undefined, ...creds.read() };
      if (limit.value) body.daily_limit = Number(limit.value);
      const m = await busy(submit, form, () => post('/mailboxes', body), actions);
      if (!m) return;
      form.querySelectorAll('input[type=password]').forEach((p) => { p.value = ''; }); // sent; not kept in the page
      await load();
      result.append(h('p', {}, 'Testing the connection…'));
      submit.disabled = true;
      try {
        await watchConnection(m.id, (x) => { connectionResult(result, x); const i = mailboxes.findIndex((y) => y.id === x.id); if (i >= 0) { mailboxes[i] = x; shown = ''; draw(); } });
      } catch (e) { showError(result, e); }
      submit.disabled = false;
      await load();
    });
    clear(formBox).append(h('h2', { id: 'connect-title' }, 'Connect a mailbox'), form);
  }

  await load();
  drawConnectForm();
  // keep statuses fresh (connecting → good, sent today)
  timer = setInterval(() => { if (!document.querySelector('dialog[open]')) load().catch(() => {}); }, 5000);
  return () => clearInterval(timer);
}
