// inbox.js — the unified inbox of the member's mailboxes and of the shared mailboxes they
// belong to (R13, R20, R22, R23): filters (mailbox, kind, assigned to me / unassigned, status,
// unread), a conversation view with its status and assignee (assign to me, unassign, the owner
// or an admin picks a member, R21), the taken-by indicator ("Walt is replying…") refreshed while
// it is open, the typing mark sent while a reply is written, and reply and compose with a From
// dropdown limited to the mailboxes the member may send from (their own, shared ones with reply
// access, R18/R20). #/inbox, #/inbox/<conversation id>, #/inbox/compose.
import { get, post, patch, all, q } from '../api.js';
import { h, clear, field, input, select, busy, when, pageHead, table, td, clearErrors, showError, announce } from '../ui.js';

const CLASSES = [{ value: '', label: 'Any' }, { value: 'human', label: 'New (human)' }, { value: 'reply', label: 'Replies' },
  { value: 'auto_reply', label: 'Auto-replies' }, { value: 'bounce', label: 'Bounces' }];
const CLASS_LABEL = { human: 'New', reply: 'Reply', auto_reply: 'Auto-reply', bounce: 'Bounce' };
const STATUSES = [{ value: 'open', label: 'Open' }, { value: 'pending', label: 'Pending' }, { value: 'closed', label: 'Closed' }];
const TYPING_EVERY_MS = 60000; // the mark lasts 2 minutes (R21); renewed while typing
const REFRESH_MS = 10000;

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

// Queue the message and follow it until it is sent (or failed) — shown in `box`. A reply to a
// conversation another member has taken (409 conversation_taken, R21) says who, with a
// "Send anyway" that sends it again with force: true. onSent(res) runs once it is queued.
async function sendAndTrack(body, button, form, box, actions, team = null, onSent = null) {
  let res;
  button.disabled = true;
  clearErrors(form);
  form.querySelectorAll('.taken-error').forEach((e) => e.remove());
  try {
    res = await post('/messages', body);
  } catch (e) {
    if (e.code === 'conversation_taken' && team) {
      const again = h('button', { type: 'button', onclick: () => { line.remove(); sendAndTrack({ ...body, force: true }, button, form, box, actions, team, onSent); } }, 'Send anyway');
      const line = h('div', { class: 'error taken-error', role: 'alert' },
        h('p', {}, `${team.nameOf(e.detail.taken_by)} is already replying to this conversation.`), again);
      actions.insertAdjacentElement('beforebegin', line);
    } else showError(form, e, actions);
    return null;
  } finally {
    button.disabled = false;
  }
  if (onSent) onSent(res);
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

// What the member may do in each mailbox they see (owner, reply or read, R20), and the names
// of the people involved (members' lists; admins: the whole team).
async function teamOf(me, isAdmin, mailboxes) {
  const access = new Map();
  const members = new Map();
  const names = new Map([[me.id, me.name]]);
  await Promise.all(mailboxes.map(async (m) => {
    if (m.owner_id === me.id) access.set(m.id, 'owner');
    if (m.kind !== 'shared') return;
    const r = await get(`/mailboxes/${m.id}/members`).catch(() => null);
    if (!r) return;
    members.set(m.id, r.members);
    for (const x of r.members) names.set(x.user_id, x.name);
    if (m.owner_id !== me.id) access.set(m.id, (r.members.find((x) => x.user_id === me.id) || { access: 'read' }).access);
  }));
  if (isAdmin) for (const u of await all('/users').catch(() => [])) names.set(u.id, u.name);
  return {
    access, members,
    nameOf: (id) => (id === me.id ? 'You' : names.get(id) || 'Another member'),
    sendable: mailboxes.filter((m) => ['owner', 'reply'].includes(access.get(m.id))),
  };
}

export async function render(main, ctx) {
  const { me, arg, isAdmin } = ctx;
  const mailboxes = await all('/mailboxes' + q({ member: 'me' }));
  const team = await teamOf(me, isAdmin, mailboxes);
  if (arg === 'compose') return compose(main, team.sendable);
  if (arg) return conversation(main, arg, mailboxes, team, ctx);
  return list(main, mailboxes, team, me);
}

const takenNow = (c) => c.taken_by && (!c.taken_until || new Date(c.taken_until) > new Date());

async function list(main, mailboxes, team, me) {
  const mbx = select('mailbox_id', [{ value: '', label: 'All my mailboxes' }, ...mailboxes.map((m) => ({ value: m.id, label: m.address + (m.kind === 'shared' ? ' (shared)' : '') }))]);
  const cls = select('classification', CLASSES);
  const unread = input('unread', { type: 'checkbox' });
  const assigned = select('assigned', [{ value: '', label: 'Anyone' }, { value: 'me', label: 'Assigned to me' }, { value: 'none', label: 'Unassigned' }]);
  const status = select('status', [{ value: '', label: 'Any' }, ...STATUSES]);
  const filters = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter conversations' },
    field('Mailbox', mbx), field('Kind', cls), field('Assigned', assigned), field('Status', status),
    h('div', { class: 'check' }, unread, h('label', { for: unread.id }, 'Unread only')));
  const box = h('div', { class: 'list-box', 'aria-live': 'polite' });
  main.append(pageHead('Inbox', h('a', { class: 'button primary', href: '#/inbox/compose' }, 'Compose')), filters, box);
  let shown = '';
  async function load() {
    const page = await get('/inbox' + q({ mailbox_id: mbx.value, classification: cls.value, unread: unread.checked ? 'true' : '',
      assignee_id: assigned.value === 'me' ? me.id : '', unassigned: assigned.value === 'none' ? 'true' : '', status: status.value, limit: 100 }));
    const now = JSON.stringify(page.items);
    if (now === shown) return;
    shown = now;
    clear(box);
    if (!page.items.length) { box.append(h('p', { class: 'empty' }, 'No conversations.')); return; }
    const byId = (id) => mailboxes.find((m) => m.id === id) || {};
    box.append(table('!Conversations', ['Subject', 'Mailbox', 'Kind', 'Assigned', 'Status', 'Last message'], page.items.map((c) => {
      const shared = byId(c.mailbox_id).kind === 'shared';
      return h('tr', { class: c.unread_count ? 'unread' : '', 'data-id': c.id },
        td('Subject', h('a', { href: '#/inbox/' + c.id }, c.subject || '(no subject)'),
          c.unread_count ? h('span', { class: 'badge wait' }, `${c.unread_count} unread`) : null,
          takenNow(c) && c.taken_by !== me.id ? h('span', { class: 'badge off' }, `${team.nameOf(c.taken_by)} is replying…`) : null),
        td('Mailbox', byId(c.mailbox_id).address || ''),
        td('Kind', h('span', { class: 'badge ' + (c.classification === 'bounce' ? 'bad' : 'off') }, CLASS_LABEL[c.classification] || c.classification)),
        td('Assigned', shared ? (c.assignee_id ? team.nameOf(c.assignee_id) : 'Unassigned') : '—'),
        td('Status', (STATUSES.find((x) => x.value === c.status) || { label: c.status || 'Open' }).label),
        td('Last message', when(c.last_message_at)));
    })));
  }
  filters.addEventListener('change', () => { shown = ''; load(); });
  filters.addEventListener('submit', (ev) => ev.preventDefault());
  await load();
  const timer = setInterval(() => load().catch(() => {}), 5000);
  return () => clearInterval(timer);
}

async function conversation(main, id, mailboxes, team, ctx) {
  const { me, isAdmin } = ctx;
  let c = await get('/conversations/' + id);
  const mbox = mailboxes.find((m) => m.id === c.mailbox_id) || await get('/mailboxes/' + c.mailbox_id).catch(() => ({ id: c.mailbox_id, kind: 'personal' }));
  const shared = mbox.kind === 'shared';
  const myAccess = team.access.get(c.mailbox_id) || (isAdmin ? 'admin' : 'read');
  const canReply = myAccess === 'owner' || myAccess === 'reply';
  const canManage = myAccess === 'owner' || isAdmin; // assign anyone (R21)
  const canStatus = canReply || isAdmin;

  const sub = h('p', { class: 'sub' });
  const thread = h('ol', { class: 'thread' });
  const taken = h('p', { class: 'taken', id: 'taken-by', role: 'status' });
  const panel = h('section', { class: 'card conv-panel', 'aria-labelledby': 'conv-panel-title' });
  main.append(pageHead(c.subject || '(no subject)', h('a', { href: '#/inbox' }, '← Back to the inbox')), sub, panel, taken, thread);

  function drawThread() {
    sub.textContent = `${mbox.address || 'mailbox'}${shared ? ' (shared)' : ''} · ${c.message_count} message${c.message_count === 1 ? '' : 's'}`;
    clear(thread).append(...c.messages.map((m) => h('li', { class: 'message ' + m.direction },
      h('div', { class: 'meta' }, h('strong', {}, m.from.name || m.from.address), ` <${m.from.address}> → ${m.to}`,
        h('span', { class: 'sub' }, ' · ' + when(m.date)),
        m.classification !== 'human' ? h('span', { class: 'badge off' }, CLASS_LABEL[m.classification] || m.classification) : null),
      h('pre', { class: 'body' }, m.text || m.snippet || ''))));
  }

  function drawTaken() {
    taken.textContent = takenNow(c) && c.taken_by !== me.id ? `${team.nameOf(c.taken_by)} is replying…` : '';
    taken.hidden = !taken.textContent;
  }

  // status, assignee and the assignment buttons
  function drawPanel() {
    clear(panel).append(h('h2', { id: 'conv-panel-title', class: 'visually-hidden' }, 'Status and assignment'));
    const row = h('div', { class: 'inline' });
    panel.append(row);
    if (canStatus) {
      const st = select('status', STATUSES.map((x) => ({ ...x, selected: x.value === c.status })));
      st.addEventListener('change', async () => {
        const res = await busy(st, panel, () => patch('/conversations/' + c.id, { status: st.value }));
        if (res) { Object.assign(c, res, { messages: c.messages }); announce(`Status: ${st.value}.`); drawPanel(); }
      });
      row.append(field('Status', st));
    } else row.append(h('p', {}, 'Status: ', h('strong', {}, c.status)));
    if (!shared) return;
    row.append(h('p', { class: 'assignee' }, 'Assigned to: ', h('strong', { id: 'assignee' }, c.assignee_id ? team.nameOf(c.assignee_id) : 'Nobody')));
    const act = (label, assignee) => h('button', { type: 'button', onclick: async (ev) => {
      const res = await busy(ev.currentTarget, panel, () => post(`/conversations/${c.id}/assign`, { assignee_id: assignee }));
      if (res) { Object.assign(c, res, { messages: c.messages }); announce(assignee ? `Assigned to ${team.nameOf(assignee)}.` : 'Unassigned.'); drawPanel(); }
    } }, label);
    const buttons = h('div', { class: 'row-actions' });
    if (canReply && c.assignee_id !== me.id && (canManage || !c.assignee_id)) buttons.append(act('Assign to me', me.id));
    if (c.assignee_id && (c.assignee_id === me.id || canManage)) buttons.append(act('Unassign', null));
    row.append(buttons);
    if (canManage) {
      const list = team.members.get(c.mailbox_id) || [];
      const eligible = [{ id: mbox.owner_id }, ...list.filter((x) => x.access === 'reply').map((x) => ({ id: x.user_id }))]
        .filter((x) => x.id && x.id !== c.assignee_id);
      if (eligible.length) {
        const who = select('assignee_id', eligible.map((x) => ({ value: x.id, label: team.nameOf(x.id) })));
        const go = h('button', { type: 'submit' }, 'Assign');
        const f = h('form', { class: 'inline' }, field('Assign to', who), go);
        f.addEventListener('submit', async (ev) => {
          ev.preventDefault();
          const res = await busy(go, panel, () => post(`/conversations/${c.id}/assign`, { assignee_id: who.value }));
          if (res) { Object.assign(c, res, { messages: c.messages }); announce(`Assigned to ${team.nameOf(who.value)}.`); drawPanel(); }
        });
        row.append(f);
      }
    }
  }

  drawThread();
  drawPanel();
  drawTaken();

  // keep the taken-by indicator, assignee, status and messages fresh while it is open
  let shown = JSON.stringify(c);
  const timer = setInterval(async () => {
    const fresh = await get('/conversations/' + id).catch(() => null);
    if (!fresh) return;
    const now = JSON.stringify(fresh);
    if (now === shown) return;
    shown = now;
    const more = fresh.message_count !== c.message_count;
    const changed = fresh.assignee_id !== c.assignee_id || fresh.status !== c.status;
    c = fresh;
    if (more) drawThread();
    if (changed && !panel.contains(document.activeElement)) drawPanel();
    drawTaken();
  }, REFRESH_MS);

  if (!team.sendable.length) {
    main.append(h('p', { class: 'note' }, shared ? 'You can read this shared mailbox; replying needs reply access (ask its owner).' : 'Connect a mailbox to reply.'));
    return () => clearInterval(timer);
  }
  const lastIn = [...c.messages].reverse().find((m) => m.direction === 'in');
  const from = fromSelect(team.sendable, c.mailbox_id);
  const to = input('to', { value: lastIn ? lastIn.from.address : (c.messages[0] ? c.messages[0].to : ''), required: true });
  const subject = input('subject', { value: /^re:/i.test(c.subject) ? c.subject : 'Re: ' + c.subject, required: true });
  const text = h('textarea', { name: 'text', id: 'reply-text', rows: 6, required: true });
  const send = h('button', { type: 'submit', class: 'primary' }, 'Send reply');
  const result = h('div', { class: 'result' });
  const actions = h('div', { class: 'actions' }, send);
  const hint = h('p', { class: 'hint' });
  const typingNote = h('div', { class: 'typing-note' });
  const form = h('form', { class: 'card reply', 'aria-labelledby': 'reply-title', novalidate: true },
    h('h2', { id: 'reply-title' }, 'Reply'), field('From', from), hint, field('To', to), field('Subject', subject), field('Message', text),
    typingNote, actions, result);
  const syncHint = () => { hint.textContent = from.value === c.mailbox_id ? '' : 'Sending from another mailbox starts a new conversation.'; };
  from.addEventListener('change', syncHint);
  syncHint();

  // R21 collision detection: starting to type marks the conversation taken (renewed every
  // minute while typing); when another member holds it, say so at once.
  let lastTyping = 0;
  text.addEventListener('input', async () => {
    if (!shared || !canReply || from.value !== c.mailbox_id || Date.now() - lastTyping < TYPING_EVERY_MS) return;
    lastTyping = Date.now();
    try {
      const res = await post(`/conversations/${c.id}/typing`);
      clear(typingNote);
      Object.assign(c, { taken_by: res.taken_by, taken_until: res.taken_until });
      drawTaken();
    } catch (e) {
      clear(typingNote);
      if (e.code === 'conversation_taken') {
        typingNote.append(h('p', { class: 'error', role: 'alert' }, `${team.nameOf(e.detail.taken_by)} is already replying to this conversation.`));
        lastTyping = Date.now() - TYPING_EVERY_MS + REFRESH_MS; // ask again soon: the mark may end
      }
    }
  });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { from_mailbox_id: from.value, to: addresses(to.value), subject: subject.value, text: text.value };
    if (from.value === c.mailbox_id) body.in_reply_to_conversation_id = c.id;
    await sendAndTrack(body, send, form, result, actions, team, () => { text.value = ''; clear(typingNote); });
  });
  main.append(form);
  return () => clearInterval(timer);
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
  const form = h('form', { class: 'card', novalidate: true }, field('From', from, 'Your own connected mailboxes, and shared ones where you have reply access.'),
    field('To', to, 'Separate addresses with commas.'), field('Cc', cc), field('Subject', subject), field('Message', text), actions, result);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { from_mailbox_id: from.value, to: addresses(to.value), subject: subject.value, text: text.value };
    if (cc.value.trim()) body.cc = addresses(cc.value);
    await sendAndTrack(body, send, form, result, actions);
  });
  main.append(form);
}
