// shared.js — one shared mailbox (R20, R21), #/shared/<mailbox id>: its members with read or
// reply access and "available" for round-robin, its assignment rule (manual or round-robin,
// cap, unassigned alert minutes) — both edited by the owner only, read-only for the others —
// and, for admins, the transfer of its ownership. The members picker lists the organisation's
// directory (GET /directory), so an owner who is not an admin can pick colleagues too.
import { get, put, post, all, q } from '../api.js';
import { h, clear, field, input, select, busy, confirmDialog, flash, pageHead, table, td, statusBadge,
  announce } from '../ui.js';

export async function render(main, ctx) {
  const { me, arg, isAdmin } = ctx;
  if (!arg) { location.hash = '#/mailboxes'; return; }
  let m = await get('/mailboxes/' + arg);
  const notice = h('div', { class: 'notices' });
  const membersBox = h('section', { class: 'card', 'aria-labelledby': 'members-title' });
  const ruleBox = h('section', { class: 'card', 'aria-labelledby': 'rule-title' });
  const ownerBox = h('section', { class: 'card', 'aria-labelledby': 'owner-title' });
  const summary = h('p', { class: 'sub' });
  main.append(pageHead(m.address, h('a', { href: '#/mailboxes' }, '← Back to the mailboxes')), summary, notice, membersBox, ruleBox);
  if (m.kind !== 'shared') { clear(membersBox).append(h('p', {}, 'This is a personal mailbox: members and assignment belong to shared mailboxes.')); return; }
  if (isAdmin) main.append(ownerBox);

  const users = isAdmin ? await all('/users').catch(() => []) : [];
  const directory = await get('/directory' + q({ org_id: me.role === 'operator' ? m.org_id : undefined }))
    .then((d) => d.items).catch(() => []);
  let members = [];
  let rule = null;
  const isOwner = () => m.owner_id === me.id;
  const nameOf = (id) => {
    if (id === me.id) return me.name;
    const u = users.find((x) => x.id === id) || directory.find((x) => x.id === id) || members.find((x) => x.user_id === id);
    return u ? u.name : 'another member';
  };

  async function load() {
    [m, { members }, rule] = await Promise.all([get('/mailboxes/' + arg), get(`/mailboxes/${arg}/members`), get(`/mailboxes/${arg}/assignment`)]);
    clear(summary).append('Shared mailbox · owner: ', h('strong', {}, isOwner() ? `${me.name} (you)` : nameOf(m.owner_id)), ' · ', statusBadge(m));
    drawMembers();
    drawRule();
    if (isAdmin) drawOwner();
  }

  // PUT the whole list (the API replaces it).
  async function saveMembers(list, scope, what) {
    const body = { members: list.map((x) => ({ user_id: x.user_id, access: x.access, available: x.available })) };
    const res = await busy(null, scope, () => put(`/mailboxes/${arg}/members`, body));
    if (res) { announce(what); flash(notice, what); }
    await load();
  }

  function drawMembers() {
    clear(membersBox).append(h('h2', { id: 'members-title' }, 'Members'),
      h('p', { class: 'sub' }, isOwner()
        ? 'Read: sees the conversations. Reply: also answers from this mailbox and takes conversations. Available members get new conversations by round-robin.'
        : 'Only the owner changes the members.'));
    if (!members.length) membersBox.append(h('p', { class: 'empty' }, 'No member yet.'));
    else {
      membersBox.append(table('!Members', ['Member', 'Access', 'Available for round-robin', 'Actions'], members.map((x) => {
        const row = h('tr', { 'data-email': x.email });
        const others = () => members.filter((y) => y.user_id !== x.user_id);
        let access;
        let avail;
        if (isOwner()) {
          access = select('access', [{ value: 'read', label: 'Read', selected: x.access === 'read' }, { value: 'reply', label: 'Read and reply', selected: x.access === 'reply' }],
            { 'aria-label': 'Access of ' + x.name });
          access.addEventListener('change', () => saveMembers([...others(), { ...x, access: access.value }], membersBox, `${x.name} now has ${access.value} access.`));
          avail = input('available', { type: 'checkbox', role: 'switch', class: 'switch', checked: x.available, 'aria-label': 'Available: ' + x.name });
          avail.addEventListener('change', () => saveMembers([...others(), { ...x, available: avail.checked }], membersBox,
            `${x.name} is ${avail.checked ? 'available' : 'away'} for round-robin.`));
        } else {
          access = x.access === 'reply' ? 'Read and reply' : 'Read';
          avail = x.available ? 'Available' : 'Away';
        }
        row.append(td('Member', h('strong', {}, x.name), h('div', { class: 'sub' }, x.email)),
          td('Access', access), td('Available for round-robin', avail),
          td('Actions', isOwner() ? h('button', { type: 'button', class: 'danger', 'aria-label': 'Remove ' + x.name,
            onclick: async () => {
              if (!await confirmDialog(`Remove ${x.name}?`, `${x.name} no longer sees ${m.address}; conversations assigned to them become unassigned.`, 'Remove member', true)) return;
              await saveMembers(others(), membersBox, `${x.name} was removed.`);
            } }, 'Remove') : '—'));
        return row;
      })));
    }
    if (isOwner()) drawAdd();
  }

  function drawAdd() {
    // the directory holds the active users and admins of the organisation
    const candidates = directory.filter((u) => u.id !== m.owner_id && !members.some((x) => x.user_id === u.id));
    if (!candidates.length) return;
    const who = select('user_id', candidates.map((u) => ({ value: u.id, label: `${u.name} <${u.email}>` })));
    const access = select('access', [{ value: 'reply', label: 'Read and reply' }, { value: 'read', label: 'Read' }]);
    const avail = input('available', { type: 'checkbox', checked: true });
    const add = h('button', { type: 'submit', class: 'primary' }, 'Add member');
    const form = h('form', { class: 'inline', id: 'add-member-form' }, field('Member to add', who), field('Access', access),
      h('div', { class: 'check' }, avail, h('label', { for: avail.id }, 'Available for round-robin')), add);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const u = candidates.find((x) => x.id === who.value);
      add.disabled = true;
      await saveMembers([...members, { user_id: who.value, access: access.value, available: avail.checked }], form, `${u.name} was added.`);
    });
    membersBox.append(h('h3', {}, 'Add a member'), form);
  }

  function drawRule() {
    clear(ruleBox).append(h('h2', { id: 'rule-title' }, 'Assignment'));
    const modeText = rule.mode === 'round_robin' ? 'Round-robin among available members with reply access' : 'Manual: members take conversations themselves';
    if (!isOwner()) {
      ruleBox.append(h('dl', { class: 'stats' },
        h('div', {}, h('dt', {}, 'Rule'), h('dd', { class: 'small' }, modeText)),
        h('div', {}, h('dt', {}, 'Cap per member'), h('dd', { class: 'small' }, rule.cap ? `${rule.cap} open` : 'No cap')),
        h('div', {}, h('dt', {}, 'Unassigned alert'), h('dd', { class: 'small' }, rule.unassigned_alert_minutes === null ? 'Off' : `after ${rule.unassigned_alert_minutes} min`))),
      h('p', { class: 'hint' }, 'Only the owner changes the assignment rule.'));
      return;
    }
    const mode = select('mode', [{ value: 'manual', label: 'Manual', selected: rule.mode !== 'round_robin' }, { value: 'round_robin', label: 'Round-robin', selected: rule.mode === 'round_robin' }]);
    const cap = input('cap', { type: 'number', min: 1, max: 10000, value: rule.cap ?? '', placeholder: 'no cap' });
    const alert = input('unassigned_alert_minutes', { type: 'number', min: 0, max: 10080, value: rule.unassigned_alert_minutes ?? '', placeholder: 'off' });
    const save = h('button', { type: 'submit', class: 'primary' }, 'Save assignment');
    const actions = h('div', { class: 'actions' }, save);
    const form = h('form', { id: 'assignment-form', novalidate: true },
      h('div', { class: 'grid3' }, field('Mode', mode, 'Round-robin gives each new conversation to the next available member.'),
        field('Cap per member', cap, 'Open conversations a member holds at most; empty: no cap.'),
        field('Unassigned alert (minutes)', alert, 'You are notified when a conversation waits unassigned this long; empty: off.')),
      actions);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const body = { mode: mode.value, cap: cap.value === '' ? null : Number(cap.value),
        unassigned_alert_minutes: alert.value === '' ? null : Number(alert.value) };
      const res = await busy(save, form, () => put(`/mailboxes/${arg}/assignment`, body), actions);
      if (res) { flash(notice, 'Assignment saved.'); announce('Assignment saved.'); await load(); }
    });
    ruleBox.append(form);
  }

  function drawOwner() {
    const candidates = users.filter((u) => (u.role === 'admin' || u.role === 'user') && u.seat !== 'locked' && u.id !== m.owner_id);
    clear(ownerBox).append(h('h2', { id: 'owner-title' }, 'Transfer ownership'));
    if (!candidates.length) { ownerBox.append(h('p', { class: 'empty' }, 'Nobody else can own it.')); return; }
    const who = select('user_id', candidates.map((u) => ({ value: u.id, label: `${u.name} <${u.email}>` })));
    const prev = select('previous_owner_access', [{ value: 'reply', label: 'Stays a member with reply access' },
      { value: 'read', label: 'Stays a member with read access' }, { value: 'none', label: 'Leaves the mailbox' }]);
    const go = h('button', { type: 'submit' }, 'Transfer ownership');
    const actions = h('div', { class: 'actions' }, go);
    const form = h('form', { id: 'owner-form', novalidate: true }, h('div', { class: 'grid2' }, field('New owner', who), field('The previous owner', prev)), actions);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const u = candidates.find((x) => x.id === who.value);
      if (!await confirmDialog(`Make ${u.name} the owner of ${m.address}?`, `${u.name} alone will change its members and assignment rule.`, 'Transfer ownership')) return;
      const res = await busy(go, form, () => post(`/mailboxes/${arg}/owner`, { user_id: who.value, previous_owner_access: prev.value }), actions);
      if (res) { flash(notice, `${u.name} now owns ${m.address}.`); await load(); }
    });
    ownerBox.append(form);
  }

  await load();
}
