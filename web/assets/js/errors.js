// errors.js — every API error as a sentence a person can act on (docs/api.md "Errors").
// sentence(err) uses the code and the extra fields (limit, used, seat, reason, retry_after);
// unknown codes fall back to the server's own message, never to a blank.

const cap = (s) => (s ? s.charAt(0).toUpperCase() + s.slice(1) : s);
const dot = (s) => (s && !/[.!?]$/.test(s) ? s + '.' : s);

const BY_REASON = {
  master_inbox_invalid: {
    not_same_user: 'The master inbox must be a mailbox of the same person.',
    not_connected: 'The master inbox must be connected (not failing or disconnected). Reconnect it first.',
    chain: 'No chains: a master inbox cannot have a master itself, and a mailbox that is a master cannot get one.',
  },
};

const BY_CODE = {
  mailbox_limit_reached: (e) =>
    `Mailbox limit reached (${e.detail.used ?? '?'} of ${e.detail.limit ?? '?'}). Ask your admin for another slot.`,
  no_free_slots: (e) => 'Not enough free slots in your organisation. Buy more slots first. ' + dot(cap(e.message)),
  slot_in_use: () => 'This slot still holds a mailbox. Remove a mailbox of this member first.',
  address_in_use: (e) => {
    const seat = e.detail.seat || {};
    if (seat.user_id === null && seat.state) {
      return 'This address is connected in another organisation. Only an operator can move it.';
    }
    return `This address is already connected on ${seat.state === 'locked' ? 'a locked' : 'another'} seat. ` +
      'File a request with “remove it from the other seat” to move it.';
  },
  email_in_use: () => 'Someone already has this email address.',
  generic_address_not_allowed: () =>
    'Generic addresses such as info@ or sales@ cannot go on a personal seat. Connect it as a shared mailbox instead.',
  mailbox_not_connected: (e) => 'This mailbox is not connected, so it cannot send. Reconnect it first. ' + dot(cap(e.message)),
  recipient_suppressed: (e) => 'A recipient is on your suppression list (unsubscribed or bounced): ' + dot(e.message),
  seat_locked: (e) => (/cannot sign in; unlock it first/.test(e.message)
    ? 'This seat is locked, and a locked seat cannot sign in. Unlock it first, then send the login invite.'
    : 'This seat is locked. An admin can unlock it.'),
  forbidden: (e) => (e.rule === 'R14'
    ? 'Contributors cannot sign in to the console. They connect their inbox through an invite link.'
    : 'You are not allowed to do this: ' + dot(e.message)),
  not_found: () => 'It no longer exists, or you cannot see it. Reload the page.',
  confirmation_required: (e) => dot(cap(e.message)),
  invalid_state: (e) => 'This cannot be done in its current state: ' + dot(e.message),
  invalid_credentials: () => 'Wrong email or password.',
  too_many_attempts: (e) => {
    const min = Math.max(1, Math.ceil((e.detail.retry_after || 60) / 60));
    return `Too many failed sign-ins for this address. Try again in ${min} minute${min === 1 ? '' : 's'}.`;
  },
  csrf_failed: () => 'Your session’s security token is out of date. Reload the page and try again.',
  unauthenticated: (e) => (e.detail.reason === 'session_expired'
    ? 'Your session ended after a while without use. Please sign in again.'
    : 'You are not signed in. Please sign in.'),
  payload_too_large: () => 'That is too large to send. Split it into smaller parts.',
  conflict: () => 'Someone changed this at the same moment. Reload and try again.',
  constraint: () => 'Someone changed this at the same moment. Reload and try again.',
  network: () => 'Cannot reach mailfleet. Check your connection and try again.',
  db_unavailable: () => 'mailfleet cannot reach its database right now. Try again in a minute.',
  internal: () => 'Something went wrong on the server. Try again; if it persists, tell your operator.',
  // invites and contributors (R14), shared mailboxes and assignment (R20, R21)
  contributor_no_login: () => 'Contributors have no console login: they connect their inbox through an invitation.',
  invite_pending: () => 'An invitation to this address is already pending. Resend it from the list of invitations instead.',
  address_is_member: () => 'This address is the login of a member of your team: they connect their mailbox themselves on the Mailboxes screen.',
  invite_used: () => 'This invitation was already used: the mailbox is connected. Remove the mailbox or the contributor instead.',
  invite_revoked: () => 'This invitation was revoked. Send a new invitation instead.',
  invite_expired: () => 'This invitation has expired. Resend it to make a new link.',
  connection_failed: (e) => 'The connection test failed; nothing was connected. ' + dot(cap(e.message.replace(/^the connection test failed; nothing was connected\.\s*/i, ''))),
  not_shared: () => 'This is a personal mailbox: members and assignment belong to shared mailboxes.',
  reply_access_required: () => 'You can read this shared mailbox but not reply from it. Ask its owner for reply access.',
  invalid_assignee: () => 'Only the owner or a member with reply access can be assigned this conversation.',
  conversation_taken: () => 'Another member is already replying to this conversation.',
  invalid_request: (e) => {
    const f = e.field;
    const what = f ? e.message.slice(f.length + 2) : e.message;
    return f ? `Check “${label(f)}”: ${dot(what)}` : dot(cap(what));
  },
};

// Field paths of the API as the forms call them.
const LABELS = {
  'imap.host': 'IMAP server', 'imap.port': 'IMAP port', 'imap.username': 'IMAP user name',
  'imap.password': 'IMAP password', 'smtp.host': 'SMTP server', 'smtp.port': 'SMTP port',
  'smtp.username': 'SMTP user name', 'smtp.password': 'SMTP password', daily_limit: 'Daily limit',
  sender_name: 'Sender name', address: 'Email address', to: 'To', cc: 'Cc', subject: 'Subject',
  text: 'Message', count: 'Number of slots', reason: 'Reason', name: 'Name',
  url: 'Endpoint URL', events: 'Events to send', secret: 'Signing secret',
  note: 'Note', kind: 'Kind', owner_id: 'Owner', cap: 'Cap', unassigned_alert_minutes: 'Unassigned alert',
  mode: 'Assignment', user_id: 'Member', assignee_id: 'Assignee', status: 'Status',
};
export const label = (f) => LABELS[f] || f.replace(/_/g, ' ');

export function sentence(err) {
  if (!err || !err.code) return 'Something went wrong: ' + String(err && err.message ? err.message : err);
  const byReason = BY_REASON[err.code];
  if (byReason && err.detail && byReason[err.detail.reason]) return byReason[err.detail.reason];
  const f = BY_CODE[err.code];
  return (f ? f(err) : dot(cap(err.message))) || 'The request failed (' + err.code + ').';
}
