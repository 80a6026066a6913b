// connections.js — Inbox Connections (admins, R14, R20): invite an address to connect its
// mailbox (shared or personal, with a note), the invitations with their state (pending,
// accepted, revoked, expired, with the expiry date) and resend / revoke, the inboxes connected
// (shared mailboxes and contributors' mailboxes) with their health, and the contributors
// (rename, remove — removing one who owns a mailbox removes its history, R9).
import { get, post, patch, del, all, q } from '../api.js';
import { h, clear, field, input, select, busy, confirmDialog, dialog, flash, when, pageHead, table, td,
  statusBadge, announce } from '../ui.js';

const STATE = {
  pending: ['wait', 'Pending'], accepted: ['good', 'Accepted'], revoked: ['off', 'Revoked'], expired: ['bad', 'Expired'],
};

export async function render(main, ctx) {
  const { me } = ctx;
  const notice = h('div', { class: 'notices' });
  const formBox = h('section', { class: 'card', 'aria-labelledby': 'invite-title' });
  const invitesBox = h('section', { 'aria-labelledby': 'invites-title' });
  const inboxesBox = h('section', { 'aria-labelledby': 'inboxes-title' });
  const contribBox = h('section', { 'aria-labelledby': 'contrib-title' });
  main.append(pageHead('Inbox Connections'),
    h('p', { class: 'sub' }, 'Invite a teammate or an outside contributor to connect an inbox: they get a one-time link by email and enter the mailbox\'s settings themselves.'),
    notice, formBox, invitesBox, inboxesBox, contribBox);

  let users = [];
  let invites = [];
  let contributors = [];
  let mailboxes = [];
  let shown = '';
  const orgQuery = q({ org_id: me.role === 'operator' ? me.org_id : undefined });
  const userName = (id) => { const u = users.find((x) => x.id === id) || contributors.find((x) => x.id === id); return u ? u.name : '—'; };

  async function load() {
    [users, invites, contributors, mailboxes] = await Promise.all([
      all('/users' + orgQuery).catch(() => []),
      all('/invites' + orgQuery),
      all('/contributors' + orgQuery),
      all('/mailboxes' + orgQuery),
    ]);
    const now = JSON.stringify([invites, contributors, mailboxes]);
    if (now === shown) return; // redraw only on change: keeps keyboard focus
    shown = now;
    drawInvites();
    drawInboxes();
    drawContributors();
  }

  function drawForm() {
    const address = input('address', { type: 'email', required: true, autocomplete: 'off', spellcheck: 'false' });
    const kind = select('kind', [{ value: 'shared', label: 'Shared team mailbox (e.g. support@)' },
      { value: 'personal', label: 'Personal mailbox of the contributor' }]);
    const owners = users.filter((u) => (u.role === 'admin' || u.role === 'user') && u.seat !== 'locked');
    const owner = select('owner_id', owners.map((u) => ({ value: u.id, label: `${u.name} <${u.email}>`, selected: u.id === me.id })));
    const ownerField = field('Owner of the shared mailbox', owner, 'Changes its members and assignment rule.');
    const note = h('textarea', { name: 'note', id: 'invite-note', rows: 3, maxlength: 1000 });
    const submit = h('button', { type: 'submit', class: 'primary' }, 'Send invitation');
    const actions = h('div', { class: 'actions' }, submit);
    const form = h('form', { id: 'invite-form', novalidate: true },
      h('div', { class: 'grid2' }, field('Email address', address), field('Kind', kind)),
      owners.length ? ownerField : null,
      field('Note', note, 'Optional; shown in the invitation email.'), actions);
    const sync = () => { ownerField.hidden = kind.value !== 'shared'; };
    kind.addEventListener('change', sync);
    sync();
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const body = { address: address.value.trim(), kind: kind.value };
      if (note.value.trim()) body.note = note.value.trim();
      if (kind.value === 'shared' && owners.length && owner.value && owner.value !== me.id) body.owner_id = owner.value;
      const inv = await busy(submit, form, () => post('/invites', body), actions);
      if (!inv) return;
      address.value = '';
      note.value = '';
      shown = '';
      flash(notice, `Invitation sent to ${inv.address}. The link works once and expires on ${when(inv.expires_at)}.`);
      announce(`Invitation sent to ${inv.address}.`);
      await load();
    });
    clear(formBox).append(h('h2', { id: 'invite-title' }, 'Invite to connect an inbox'), form);
  }

  function stateCell(inv) {
    const [cls, text] = STATE[inv.status] || ['off', inv.status];
    let detail = '';
    if (inv.status === 'pending') detail = 'Expires ' + when(inv.expires_at);
    else if (inv.status === 'expired') detail = 'Expired ' + when(inv.expires_at);
    else if (inv.status === 'accepted') detail = 'Connected ' + when(inv.accepted_at);
    else if (inv.status === 'revoked') detail = 'Revoked ' + when(inv.revoked_at);
    return [h('span', { class: 'badge ' + cls }, text), h('div', { class: 'sub' }, detail)];
  }

  function drawInvites() {
    clear(invitesBox).append(h('h2', { id: 'invites-title' }, 'Invitations'));
    if (!invites.length) { invitesBox.append(h('p', { class: 'empty' }, 'No invitation yet.')); return; }
    const sorted = [...invites].sort((a, b) => (a.status === 'pending' ? 0 : 1) - (b.status === 'pending' ? 0 : 1) || (b.created_at || '').localeCompare(a.created_at || ''));
    invitesBox.append(table('!Invitations', ['Address', 'Kind', 'State', 'Sent', 'Actions'], sorted.map((inv) => {
      const open = inv.status === 'pending' || inv.status === 'expired';
      const cell = h('div', { class: 'row-actions' },
        open ? h('button', { type: 'button', 'aria-label': 'Resend the invitation to ' + inv.address, onclick: (ev) => resend(inv, ev.currentTarget, cell) }, 'Resend') : null,
        open ? h('button', { type: 'button', class: 'danger', 'aria-label': 'Revoke the invitation to ' + inv.address, onclick: (ev) => revoke(inv, ev.currentTarget, cell) }, 'Revoke') : null);
      return h('tr', { 'data-address': inv.address, 'data-status': inv.status },
        td('Address', h('strong', {}, inv.address), inv.note ? h('div', { class: 'sub' }, inv.note) : null),
        td('Kind', inv.kind === 'shared' ? 'Shared' : 'Personal'),
        td('State', ...stateCell(inv)),
        td('Sent', `${inv.sent_count || 1}×, last ${when(inv.last_sent_at)}`),
        td('Actions', cell));
    })));
  }

  async function resend(inv, button, cell) {
    const res = await busy(button, cell, () => post(`/invites/${inv.id}/resend`));
    if (res) { flash(notice, `A new link was sent to ${inv.address}; the old one no longer works.`); await load(); }
  }

  async function revoke(inv, button, cell) {
    if (!await confirmDialog(`Revoke the invitation to ${inv.address}?`,
      'Its link stops working at once and says it was withdrawn. You can invite the address again later.', 'Revoke invitation', true)) return;
    const ok = await busy(button, cell, () => del('/invites/' + inv.id).then(() => true));
    if (ok) { flash(notice, `The invitation to ${inv.address} was revoked.`); await load(); }
  }

  // Shared mailboxes of the organisation and every mailbox a contributor connected.
  function drawInboxes() {
    clear(inboxesBox).append(h('h2', { id: 'inboxes-title' }, 'Connected inboxes'));
    const byContributor = new Map();
    for (const c of contributors) for (const m of c.mailboxes || []) byContributor.set(m.id, c);
    const list = mailboxes.filter((m) => m.kind === 'shared' || byContributor.has(m.id));
    if (!list.length) { inboxesBox.append(h('p', { class: 'empty' }, 'No shared or invited inbox connected yet.')); return; }
    inboxesBox.append(table('!Connected inboxes', ['Mailbox', 'Kind', 'Owner', 'Connected by', 'Status', 'Actions'], list.map((m) => {
      const c = byContributor.get(m.id);
      return h('tr', { 'data-address': m.address },
        td('Mailbox', h('strong', {}, m.address), h('div', { class: 'sub' }, m.sender_name)),
        td('Kind', m.kind === 'shared' ? 'Shared' : 'Personal'),
        td('Owner', m.owner_id === me.id ? 'You' : userName(m.owner_id)),
        td('Connected by', c ? `${c.name} (contributor)` : '—'),
        td('Status', statusBadge(m)),
        td('Actions', m.kind === 'shared'
          ? h('a', { class: 'button', href: '#/shared/' + m.id, 'aria-label': 'Members and assignment of ' + m.address }, 'Members and assignment') : '—'));
    })));
  }

  function drawContributors() {
    clear(contribBox).append(h('h2', { id: 'contrib-title' }, 'Contributors'),
      h('p', { class: 'sub' }, 'People outside your team who connected an inbox through an invitation. They cannot sign in.'));
    if (!contributors.length) { contribBox.append(h('p', { class: 'empty' }, 'No contributor yet.')); return; }
    contribBox.append(table('!Contributors', ['Name', 'Mailboxes', 'Actions'], contributors.map((c) => {
      const cell = h('div', { class: 'row-actions' },
        h('button', { type: 'button', 'aria-label': 'Edit name of ' + c.email, onclick: () => rename(c) }, 'Edit name'),
        h('button', { type: 'button', class: 'danger', 'aria-label': 'Remove ' + c.email, onclick: (ev) => removeContributor(c, ev.currentTarget, cell) }, 'Remove'));
      return h('tr', { 'data-email': c.email },
        td('Name', h('strong', {}, c.name), h('div', { class: 'sub' }, c.email)),
        td('Mailboxes', (c.mailboxes || []).length ? h('ul', { class: 'checks' }, c.mailboxes.map((m) =>
          h('li', {}, m.address, ' ', h('span', { class: 'sub' }, m.kind === 'shared' ? '(shared)' : '(personal)'), ' ', statusBadge(m)))) : '—'),
        td('Actions', cell));
    })));
  }

  async function rename(c) {
    await dialog(`Edit ${c.email}`, (close) => {
      const name = input('name', { value: c.name, required: true, maxlength: 255 });
      const ok = h('button', { type: 'submit', class: 'primary' }, 'Save');
      const actions = h('div', { class: 'actions' }, ok, h('button', { type: 'button', onclick: () => close() }, 'Cancel'));
      const form = h('form', { novalidate: true }, field('Name', name), actions);
      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        const res = await busy(ok, form, () => patch('/contributors/' + c.id, { name: name.value.trim() }), actions);
        if (res) { close(true); flash(notice, `Saved: ${res.name}.`); await load(); }
      });
      return form;
    });
  }

  async function removeContributor(c, button, cell) {
    const owned = (c.mailboxes || []).filter((m) => m.owner_id === c.id);
    const text = owned.length
      ? `${c.name} owns ${owned.map((m) => m.address).join(', ')}. Removing them deletes ${owned.length === 1 ? 'this mailbox' : 'these mailboxes'} ` +
        'and removes ' + (owned.length === 1 ? 'its' : 'their') + ' history for good: synced messages, conversations and the send log. This cannot be undone.'
      : `${c.name} is removed from your organisation. Shared mailboxes they connected stay with their owner.`;
    if (!await confirmDialog(`Remove ${c.email}?`, text, owned.length ? 'Remove contributor and history' : 'Remove contributor', true)) return;
    const ok = await busy(button, cell, () => del(`/contributors/${c.id}${owned.length ? '?confirm=true' : ''}`).then(() => true));
    if (ok) { flash(notice, `${c.email} was removed.`); await load(); }
  }

  // the owner picker needs the users first
  users = await all('/users' + orgQuery).catch(() => []);
  drawForm();
  await load();
  const timer = setInterval(() => { if (!document.querySelector('dialog[open]')) load().catch(() => {}); }, 10000);
  return () => clearInterval(timer);
}
