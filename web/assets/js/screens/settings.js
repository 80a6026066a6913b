// settings.js — the signed-in person's settings, reached from the user menu and the bell's
// list: one switch per notification kind for its email (R28, GET/PUT
// /me/notification-preferences). Notifications in the console are always kept.
import { get, put } from '../api.js';
import { h, clear, busy, flash, pageHead, nextId } from '../ui.js';

// The kinds of docs/api.md, in words.
const KINDS = [
  ['master_inbox_set', 'An admin sets or clears the master inbox of my mailboxes'],
  ['mailbox_failing', 'A mailbox stops working and needs new credentials'],
  ['mailbox_recovered', 'A mailbox works again'],
  ['request_approved', 'My mailbox request is approved'],
  ['request_rejected', 'My mailbox request is rejected'],
  ['invite_accepted', 'An invite to connect an inbox is accepted'],
  ['conversation_unassigned', 'A conversation waits without an assignee'],
];

export async function render(main, ctx) {
  const notice = h('div', { class: 'notices' });
  const box = h('section', { class: 'card', 'aria-labelledby': 'email-prefs-title' });
  main.append(pageHead('Settings', h('a', { href: '#/notifications' }, '← Notifications')), notice, box);
  const prefs = await get('/me/notification-preferences');
  const list = h('ul', { class: 'switches' });
  clear(box).append(h('h2', { id: 'email-prefs-title' }, 'Email notifications'),
    h('p', { class: 'sub' }, 'Choose which notifications are also sent to you by email. ' +
      'They always appear under the bell, whatever you choose here.'));
  if (ctx.me.role === 'operator') box.append(h('p', { class: 'note' }, 'Operators have no organisation, so mailfleet sends them no email.'));
  box.append(list);
  for (const [kind, text] of KINDS) {
    const id = nextId('pref');
    const sw = h('input', { type: 'checkbox', role: 'switch', id, name: kind, class: 'switch', checked: prefs[kind] !== false,
      'aria-describedby': id + '-state' });
    const state = h('span', { class: 'state', id: id + '-state' });
    const li = h('li', { class: 'switch-row' }, sw, h('label', { for: id }, text), state);
    const show = () => { state.textContent = sw.checked ? 'Email on' : 'Email off'; };
    show();
    sw.addEventListener('change', async () => {
      const want = sw.checked;
      show();
      const res = await busy(sw, li, () => put('/me/notification-preferences', { [kind]: want }));
      sw.focus(); // busy() disabled it while saving
      if (!res) { sw.checked = !want; show(); return; }
      sw.checked = res[kind] !== false;
      show();
      flash(notice, `Saved: email ${sw.checked ? 'on' : 'off'} for “${text}”.`);
    });
    list.append(li);
  }
}
