// inbox.js — the unified inbox of the member's mailboxes (R13, R22, R23): filters, a
// conversation view, reply and compose with a From dropdown limited to the mailboxes the
// member may send from (their own, R18). #/inbox, #/inbox/<conversation id>, #/inbox/compose.
// Assignment (assigned to me / unassigned, taken-by) arrives with the shared-mailbox issue:
// the filters below have their place already.
import { get, post, all, q } from '../api.js';
import { h, clear, field, input, select, busy, when, pageHead, table, td } from '../ui.js';

const CLASSES = [{ value: '', label: 'Any' }, { value: 'human', label: 'New (human)' }, { value: 'reply', label: 'Replies' },
  { value: 'auto_reply', label: 'Auto-replies' }, { value: 'bounce', label: 'Bounces' }];
const CLASS_LABEL = { human: 'New', reply: 'Reply', auto_reply: 'Auto-reply', bounce: 'Bounce' };

// The mailboxes the member may send from: their own (R18); not-connected ones are shown but
// cannot be chosen (R12).
export function fromSelect(mailboxes, preferId) {
  const usable = (m) => !['failing', 'disconnected'].includes(m.status);
  const pick = preferId && mailboxes.find((m) => m.id === preferId && usable(m)) ? preferId
    : (mailboxes.find((m) => m.is_default && usable(m)) || mailboxes.find(usable) || {}).id;
  return select('from_mailbox_id', mailboxes.map((m) => ({
    value: m.id, selected: m.id === pick, disabled: !usable(m),
    label: `${m.sender_name} <${m.address}>${usable(m) ? '' : ' — not connected'}`,
  })));
}

const addresses = (s) => s.split(/[,;\s]+/).map((x) => x.trim()).filter(Boolean);

// Queue the message and follow it until it is sent (or failed) — shown in `box`.
async function sendAndTrack(body, button, form, box, actions) {
  const res = await busy(button, form, () => post('/messages', body), actions);
  if (!res) return null;
  const status = h('p', { class: 'ok', role: 'status' }, 'Queued; sending…');
  clear(box).append(status);
  for (let i = 0; i < 30; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    const m = await get('/messages/' + res.id).catch(() => null);
    if (!m) break;
    if (m.status === 'sent') { status.textContent = 'Sent ✓'; break; }
    if (m.status === 'failed' || m.status === 'unknown') { status.className = 'error'; status.textContent = `Not sent: ${m.error || m.status}`; break; }
    if (m.error) status.textContent = `Waiting to retry: ${m.error}`;
  }
  return res;
}

export async function render(main, ctx) {
  const { me, arg } = ctx;
  const mailboxes = await all('/mailboxes' + q({ owner_id: me.id }));
  if (arg === 'compose') return compose(main, mailboxes);
  if (arg) return conversation(main, arg, mailboxes);
  return list(main, mailboxes);
}

async function list(main, mailboxes) {
  const mbx = select('mailbox_id', [{ value: '', label: 'All my mailboxes' }, ...mailboxes.map((m) => ({ value: m.id, label: m.address }))]);
  const cls = select('classification', CLASSES);
  const unread = input('unread', { type: 'checkbox' });
  const assigned = select('assigned', [{ value: '', label: 'Anyone' }, { value: 'me', label: 'Assigned to me', disabled: true },
    { value: 'none', label: 'Unassigned', disabled: true }], { title: 'Assignment comes with shared mailboxes' });
  const filters = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter conversations' },
    field('Mailbox', mbx), field('Kind', cls), field('Assigned', assigned),
    h('div', { class: 'check' }, unread, h('label', { for: unread.id }, 'Unread only')));
  const box = h('div', { class: 'list-box', 'aria-live': 'polite' });
  main.append(pageHead('Inbox', h('a', { class: 'button primary', href: '#/inbox/compose' }, 'Compose')), filters, box);
  let shown = '';
  async function load() {
    const page = await get('/inbox' + q({ mailbox_id: mbx.value, classification: cls.value, unread: unread.checked ? 'true' : '', limit: 100 }));
    const now = JSON.stringify(page.items);
    if (now === shown) return;
    shown = now;
    clear(box);
    if (!page.items.length) { box.append(h('p', { class: 'empty' }, 'No conversations.')); return; }
    const addr = (id) => (mailboxes.find((m) => m.id === id) || {}).address || '';
    box.append(table('!Conversations', ['Subject', 'Mailbox', 'Kind', 'Last message'], page.items.map((c) =>
      h('tr', { class: c.unread_count ? 'unread' : '', 'data-id': c.id },
        td('Subject', h('a', { href: '#/inbox/' + c.id }, c.subject || '(no subject)'),
          c.unread_count ? h('span', { class: 'badge wait' }, `${c.unread_count} unread`) : null,
          c.taken_by ? h('span', { class: 'badge off' }, 'taken') : null),
        td('Mailbox', addr(c.mailbox_id)),
        td('Kind', h('span', { class: 'badge ' + (c.classification === 'bounce' ? 'bad' : 'off') }, CLASS_LABEL[c.classification] || c.classification)),
        td('Last message', when(c.last_message_at))))));
  }
  filters.addEventListener('change', () => { shown = ''; load(); });
  await load();
  const timer = setInterval(() => load().catch(() => {}), 5000);
  return () => clearInterval(timer);
}

async function conversation(main, id, mailboxes) {
  const c = await get('/conversations/' + id);
  const mine = mailboxes.find((m) => m.id === c.mailbox_id);
  main.append(pageHead(c.subject || '(no subject)', h('a', { href: '#/inbox' }, '← Back to the inbox')),
    h('p', { class: 'sub' }, `${mine ? mine.address : 'mailbox'} · ${c.message_count} message${c.message_count === 1 ? '' : 's'}`));
  const thread = h('ol', { class: 'thread' }, c.messages.map((m) => h('li', { class: 'message ' + m.direction },
    h('div', { class: 'meta' }, h('strong', {}, m.from.name || m.from.address), ` <${m.from.address}> → ${m.to}`,
      h('span', { class: 'sub' }, ' · ' + when(m.date)),
      m.classification !== 'human' ? h('span', { class: 'badge off' }, CLASS_LABEL[m.classification] || m.classification) : null),
    h('pre', { class: 'body' }, m.text || m.snippet || ''))));
  main.append(thread);
  if (!mailboxes.length) return;
  const lastIn = [...c.messages].reverse().find((m) => m.direction === 'in');
  const from = fromSelect(mailboxes, c.mailbox_id);
  const to = input('to', { value: lastIn ? lastIn.from.address : (c.messages[0] ? c.messages[0].to : ''), required: true });
  const subject = input('subject', { value: /^re:/i.test(c.subject) ? c.subject : 'Re: ' + c.subject, required: true });
  const text = h('textarea', { name: 'text', id: 'reply-text', rows: 6, required: true });
  const send = h('button', { type: 'submit', class: 'primary' }, 'Send reply');
  const result = h('div', { class: 'result' });
  const actions = h('div', { class: 'actions' }, send);
  const hint = h('p', { class: 'hint' });
  const form = h('form', { class: 'card reply', 'aria-labelledby': 'reply-title', novalidate: true },
    h('h2', { id: 'reply-title' }, 'Reply'), field('From', from), hint, field('To', to), field('Subject', subject), field('Message', text), actions, result);
  const syncHint = () => { hint.textContent = from.value === c.mailbox_id ? '' : 'Sending from another mailbox starts a new conversation.'; };
  from.addEventListener('change', syncHint);
  syncHint();
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { from_mailbox_id: from.value, to: addresses(to.value), subject: subject.value, text: text.value };
    if (from.value === c.mailbox_id) body.in_reply_to_conversation_id = c.id;
    if (await sendAndTrack(body, send, form, result, actions)) text.value = '';
  });
  main.append(form);
}

async function compose(main, mailboxes) {
  main.append(pageHead('Compose', h('a', { href: '#/inbox' }, '← Back to the inbox')));
  if (!mailboxes.length) { main.append(h('p', { class: 'empty' }, 'Connect a mailbox first (Mailboxes).')); return; }
  const from = fromSelect(mailboxes);
  const to = input('to', { required: true, placeholder: 'name@example.com, …' });
  const cc = input('cc');
  const subject = input('subject', { required: true });
  const text = h('textarea', { name: 'text', id: 'compose-text', rows: 10, required: true });
  const send = h('button', { type: 'submit', class: 'primary' }, 'Send');
  const result = h('div', { class: 'result' });
  const actions = h('div', { class: 'actions' }, send);
  const form = h('form', { class: 'card', novalidate: true }, field('From', from, 'Only your own connected mailboxes can send.'),
    field('To', to, 'Separate addresses with commas.'), field('Cc', cc), field('Subject', subject), field('Message', text), actions, result);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { from_mailbox_id: from.value, to: addresses(to.value), subject: subject.value, text: text.value };
    if (cc.value.trim()) body.cc = addresses(cc.value);
    await sendAndTrack(body, send, form, result, actions);
  });
  main.append(form);
}
