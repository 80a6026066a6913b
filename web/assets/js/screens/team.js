// team.js — My Team (admins, R1–R4, R19): members with seat state and used/available
// connections, the team's totals and free slots; buy slots, assign one to a member, remove one
// (R4), lock/unlock a seat (R2), set a member's master inbox (the member is notified, R28);
// add a member, and send a member a login invite (an emailed link to set their console
// password, POST /users/{id}/login-invite; also a checkbox of the add-member form).
import { get, post, patch, put, del, all, q } from '../api.js';
import { h, clear, field, input, select, busy, dialog, confirmDialog, flash, table, td, pageHead } from '../ui.js';

export async function render(main, ctx) {
  const { me } = ctx;
  let orgId = me.org_id;
  const head = pageHead('My Team');
  const notice = h('div', { class: 'notices' });
  const totals = h('section', { class: 'card totals', 'aria-label': 'Team connections' });
  const members = h('div', { class: 'list-box' });
  const addBox = h('section', { class: 'card', 'aria-labelledby': 'add-member-title' });
  main.append(head, notice, totals, members, addBox);

  if (me.role === 'operator') {
    const orgs = await all('/orgs');
    if (!orgs.length) { main.append(h('p', { class: 'empty' }, 'No organisation yet.')); return; }
    const pick = select('org', orgs.map((o) => ({ value: o.id, label: o.name })));
    pick.addEventListener('change', () => { orgId = pick.value; load(); });
    orgId = orgs[0].id;
    head.append(field('Organisation', pick));
  }

  async function load() {
    const team = await get('/connections' + q({ org_id: me.role === 'operator' ? orgId : undefined }));
    drawTotals(team);
    drawMembers(team);
    drawAdd();
  }

  function drawTotals(team) {
    const count = input('count', { type: 'number', min: 1, max: 100, value: 1 });
    const buy = h('button', { type: 'submit', class: 'primary' }, 'Buy slots');
    const form = h('form', { class: 'inline' }, field('Slots to buy', count), buy);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const res = await busy(buy, form, () => post('/slots', { count: Number(count.value), org_id: me.role === 'operator' ? orgId : undefined }));
      if (res) { flash(notice, `Bought ${res.slots.length} slot${res.slots.length === 1 ? '' : 's'}; each renews monthly.`); await load(); }
    });
    clear(totals).append(
      h('dl', { class: 'stats' },
        h('div', {}, h('dt', {}, 'Connections used'), h('dd', { id: 'team-display' }, team.display)),
        h('div', {}, h('dt', {}, 'Unassigned slots'), h('dd', { id: 'team-free' }, String(team.unassigned_slots))),
        h('div', {}, h('dt', {}, 'Daily sending capacity'), h('dd', {}, String(team.daily_capacity)))),
      form);
  }

  function drawMembers(team) {
    const rows = team.members.map((m) => {
      const cell = h('div', { class: 'row-actions' });
      const locked = m.seat === 'locked';
      cell.append(
        h('button', { type: 'button', 'aria-label': `Assign a slot to ${m.name}`, onclick: (ev) => assign(m, ev.currentTarget, cell) }, 'Assign a slot'),
        h('button', { type: 'button', 'aria-label': `Remove a slot from ${m.name}`, disabled: m.assigned_slots === 0, onclick: (ev) => removeSlot(m, ev.currentTarget, cell) }, 'Remove a slot'),
        h('button', { type: 'button', 'aria-label': `${locked ? 'Unlock seat' : 'Lock seat'} of ${m.name}`, onclick: (ev) => setSeat(m, !locked, ev.currentTarget, cell) }, locked ? 'Unlock seat' : 'Lock seat'),
        h('button', { type: 'button', 'aria-label': `Set master inbox of ${m.name}`, onclick: () => setMaster(m) }, 'Set master inbox'),
        h('button', { type: 'button', 'aria-label': `Send login invite to ${m.name}`, onclick: (ev) => sendLoginInvite(m, ev.currentTarget, cell) }, 'Send login invite'));
      return h('tr', { 'data-email': m.email },
        td('Member', h('strong', {}, m.name), h('div', { class: 'sub' }, m.email)),
        td('Seat', h('span', { class: 'badge ' + (locked ? 'bad' : 'good') }, locked ? 'Locked' : 'Active')),
        td('Connections', h('span', { class: 'display' }, m.display), h('div', { class: 'sub' }, `${m.assigned_slots} extra slot${m.assigned_slots === 1 ? '' : 's'}`)),
        td('Actions', cell));
    });
    clear(members).append(table('Members', ['Member', 'Seat', 'Used / available', 'Actions'], rows));
  }

  // The add-member form: name, email, role, and "email a link to set a password".
  function drawAdd() {
    const name = input('name', { autocomplete: 'off', required: true });
    const email = input('email', { type: 'email', autocomplete: 'off', required: true });
    const role = select('role', [{ value: 'user', label: 'User' }, { value: 'admin', label: 'Admin' }]);
    const invite = input('send_login_invite', { type: 'checkbox', checked: true });
    const add = h('button', { type: 'submit', class: 'primary' }, 'Add member');
    const actions = h('div', { class: 'actions' }, add);
    const form = h('form', { id: 'team-add-form', novalidate: true },
      h('div', { class: 'grid3' }, field('Name', name), field('Email', email), field('Role', role)),
      h('div', { class: 'check' }, invite, h('label', { for: invite.id }, 'Email a link to set a password')),
      actions);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const body = { name: name.value.trim(), email: email.value.trim(), role: role.value,
        send_login_invite: invite.checked, org_id: me.role === 'operator' ? orgId : undefined };
      const u = await busy(add, form, () => post('/users', body), actions);
      if (!u) return;
      await load();
      flash(notice, u.login_invite
        ? `${u.name} was added; a link to set a password was emailed to ${u.email}.`
        : `${u.name} was added. Send a login invite when they need to sign in.`);
    });
    clear(addBox).append(h('h2', { id: 'add-member-title' }, 'Add a member'), form);
  }

  // A one-time link to set the console password, by email (a newer one replaces the older).
  async function sendLoginInvite(m, button, cell) {
    const res = await busy(button, cell, () => post(`/users/${m.user_id}/login-invite`));
    if (res) flash(notice, `A link to set a password was emailed to ${m.email}; it works once, until ${res.expires_at.slice(0, 10)}.`);
  }

  async function assign(m, button, cell) {
    const res = await busy(button, cell, () => post(`/users/${m.user_id}/slots`, { count: 1 }));
    if (res) { flash(notice, `${m.name} now has ${res.display} connections.`); await load(); }
  }

  async function removeSlot(m, button, cell) {
    const c = await busy(button, cell, () => get(`/users/${m.user_id}/connections`));
    if (!c) return;
    const slot = c.slots.filter((s) => s.state === 'active').pop();
    if (!slot) return;
    if (!await confirmDialog(`Remove a slot from ${m.name}?`, 'The slot is cancelled and ends at its next renewal. Allowed only while their mailboxes still fit.', 'Remove slot')) return;
    const ok = await busy(button, cell, () => del(`/users/${m.user_id}/slots/${slot.id}`).then(() => true));
    if (ok) { flash(notice, `A slot of ${m.name} was removed.`); await load(); }
  }

  async function setSeat(m, lock, button, cell) {
    if (lock && !await confirmDialog(`Lock ${m.name}'s seat?`, 'A locked seat cannot sign in or send; its mailboxes keep their addresses and their sequences wait.', 'Lock seat', true)) return;
    const ok = await busy(button, cell, () => patch(`/users/${m.user_id}`, { seat: lock ? 'locked' : 'active' }));
    if (ok) { flash(notice, `${m.name}'s seat is ${lock ? 'locked' : 'active'}.`); await load(); }
  }

  async function setMaster(m) {
    const boxes = await all('/mailboxes' + q({ owner_id: m.user_id }));
    await dialog(`Master inbox of ${m.name}`, (close) => {
      if (!boxes.length) return h('div', {}, h('p', {}, `${m.name} has no mailbox yet.`), h('button', { type: 'button', onclick: () => close() }, 'Close'));
      const checks = boxes.map((b) => input('mailbox', { type: 'checkbox', value: b.id, checked: !b.master_id ? false : true }));
      const master = select('master_id', [{ value: '', label: 'No master inbox' }, ...boxes.map((b) => ({ value: b.id, label: b.address }))]);
      const ok = h('button', { type: 'submit', class: 'primary' }, 'Save and notify');
      const form = h('form', {},
        h('fieldset', {}, h('legend', {}, 'Mailboxes whose replies go to the master inbox'),
          boxes.map((b, i) => h('div', { class: 'check' }, checks[i], h('label', { for: checks[i].id }, b.address)))),
        field('Master inbox', master, `${m.name} is notified of the change.`),
        h('div', { class: 'actions' }, ok, h('button', { type: 'button', onclick: () => close() }, 'Cancel')));
      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        const ids = checks.filter((c) => c.checked).map((c) => c.value);
        if (!ids.length) { form.querySelector('.actions').insertAdjacentElement('beforebegin', h('p', { class: 'error', role: 'alert' }, 'Select at least one mailbox.')); return; }
        const res = await busy(ok, form, () => put('/master-inbox', { mailbox_ids: ids, master_id: master.value || null }), form.querySelector('.actions'));
        if (res) { close(true); flash(notice, `Master inbox of ${m.name} saved; they were notified.`); }
      });
      return form;
    });
  }

  await load();
}
