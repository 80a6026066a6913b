// notifications.js — the bell's list (R28): newest first, in words, marked read one by one.
import { post, all } from '../api.js';
import { h, clear, busy, when, pageHead } from '../ui.js';

const TEXT = {
  master_inbox_set: (d) => (d.master_id ? `An admin set the master inbox of ${d.mailbox_ids.length} of your mailboxes.` : `An admin cleared the master inbox of ${d.mailbox_ids.length} of your mailboxes.`),
  mailbox_failing: (d) => `A mailbox stopped working${d.address ? ` (${d.address})` : ''}: it needs new credentials.${d.reason ? ' ' + d.reason : ''}`,
  mailbox_recovered: (d) => `A mailbox works again${d.address ? ` (${d.address})` : ''}.`,
  request_approved: (d) => `Your mailbox request${d.address ? ` for ${d.address}` : ''} was approved.`,
  request_rejected: (d) => `Your mailbox request${d.address ? ` for ${d.address}` : ''} was rejected${d.reason ? ': ' + d.reason : '.'}`,
  invite_accepted: (d) => `An invite was accepted${d.address ? ` (${d.address})` : ''}.`,
  conversation_unassigned: () => 'A conversation is waiting without an assignee.',
};

export async function render(main, ctx) {
  const box = h('div', { class: 'list-box' });
  main.append(pageHead('Notifications'), box);
  async function load() {
    const items = (await all('/notifications')).reverse();
    clear(box);
    if (!items.length) { box.append(h('p', { class: 'empty' }, 'No notifications.')); return; }
    box.append(h('ul', { class: 'cards' }, items.map((n) => {
      const li = h('li', { class: 'card notification' + (n.read ? '' : ' unread') },
        h('p', {}, (TEXT[n.kind] || (() => n.kind.replace(/_/g, ' ')))(n.data || {})),
        h('p', { class: 'sub' }, when(n.created_at)));
      if (!n.read) {
        li.append(h('button', { type: 'button', onclick: async (ev) => {
          const ok = await busy(ev.currentTarget, li, () => post(`/notifications/${n.id}/read`).then(() => true));
          if (ok) { await load(); ctx.refreshBell(); }
        } }, 'Mark as read'));
      }
      return li;
    })));
  }
  await load();
}
