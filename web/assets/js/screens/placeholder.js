// placeholder.js — screens whose API comes with other issues; each keeps its place in the
// navigation and says what it will hold. Replace the entry in main.js's SCREENS with the real
// module when its routes land.
import { h, pageHead } from '../ui.js';

const COMING = {
  connections: ['Inbox Connections', 'Invite teammates or outside contributors to connect an inbox, see pending invites (resend, revoke), the connected inboxes with their status, and your contributors.'],
};

export async function render(main, ctx) {
  const [title, text] = COMING[ctx.name] || ['Coming soon', ''];
  main.append(pageHead(title), h('p', { class: 'note' }, text), h('p', {}, 'This screen arrives with the next mailfleet release.'));
}
