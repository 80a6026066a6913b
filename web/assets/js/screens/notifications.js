// notifications.js — the bell's list (R28): newest first, in words, marked read one by one or
// all at once (POST /notifications/read-all); the email settings are one link away.
import { post, all } from '../api.js';
import { h, clear, busy, flash, when, pageHead, announce } from '../ui.js';

const cap = (t) => t.charAt(0).toUpperCase() + t.slice(1) + (/[.!?]$/.test(t) ? '' : '.');

const TEXT = {
  master_inbox_set: (d) => (d.master_id ? `An admin set the master inbox of ${d.mailbox_ids.length} of your mailboxes.` : `An admin cleared the master inbox of ${d.mailbox_ids.length} of your mailboxes.`),
  mailbox_failing: (d) => `A mailbox stopped working${d.address ? ` (${d.address})` : ''}: it needs new credentials.${d.reason ? ' ' + cap(d.reason) : ''}`,
  mailbox_recovered: (d) => `A mailbox works again${d.address ? ` (${d.address})` : ''}.`,
  request_approved: (d) => `Your mailbox request${d.address ? ` for ${d.address}` : ''} was approved.`,
  request_rejected: (d) => `Your mailbox request${d.address ? ` for ${d.address}` : ''} was rejected${d.reason ? ': ' + d.reason : '.'}`,
  invite_accepted: (d) => `An invite was accepted${d.address ? ` (${d.address})` : ''}.`,
  conversation_unassigned: () => 'A conversation is waiting without an assignee.',
};

export async function render(main, ctx) {
  const box = h('div', { class: 'list-box' });
  const notice = h('div', { class: 'notices' });
  const readAll = h('button', { type: 'button', id: 'read-all' }, 'Mark all as read');
  main.append(pageHead('Notifications', h('div', { class: 'row-actions' }, readAll,
    h('a', { class: 'button', href: '#/settings' }, 'Email settings'))), notice, box);
  readAll.addEventListener('click', async () => {
    const res = await busy(readAll, notice, () => post('/notifications/read-all'));
    if (!res) return;
    const text = res.marked ? `${res.marked} notification${res.marked === 1 ? '' : 's'} marked as read.` : 'Nothing was unread.';
    await load();
    ctx.refreshBell();
    flash(notice, text);
    announce(text);
    (readAll.disabled ? main.querySelector('h1') : readAll).focus();
  });
  async function load() {
    const items = (await all('/notifications')).reverse();
    clear(box);
    readAll.disabled = !items.some((n) => !n.read);
    if (!items.length) { box.append(h('p', { class: 'empty' }, 'No notifications.')); return; }
    box.append(h('ul', { class: 'cards' }, items.map((n) => {
      const li = h('li', { class: 'card notification' + (n.read ? '' : ' unread'), 'data-kind': n.kind },
        h('p', {}, n.read ? null : h('span', { class: 'badge default' }, 'New'), (TEXT[n.kind] || (() => n.kind.replace(/_/g, ' ')))(n.data || {})),
        h('p', { class: 'sub' }, when(n.created_at)));
      if (!n.read) {
        li.append(h('button', { type: 'button', onclick: async (ev) => {
          const ok = await busy(ev.currentTarget, li, () => post(`/notifications/${n.id}/read`).then(() => true));
          if (ok) { await load(); ctx.refreshBell(); main.querySelector('h1').focus(); }
        } }, 'Mark as read'));
      }
      return li;
    })));
  }
  await load();
}
