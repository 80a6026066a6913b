// webhooks.js — Webhooks (admins and operators, R28): the organisation's endpoints, a form to
// add one (URL, events), its secret shown once with a copy button, edit (URL, events, active),
// rotate the secret, delete with a confirmation; #/webhooks/<id> lists its deliveries with
// status, attempts and the last HTTP status code.
import { get, post, patch, del, all, q } from '../api.js';
import { h, clear, field, input, select, busy, dialog, confirmDialog, flash, when, pageHead, table, td,
  announce } from '../ui.js';

// The events of docs/api.md "Webhooks", in its order, with what they mean in words.
export const EVENTS = [
  ['message.received', 'A message arrives in a mailbox'],
  ['message.reply', 'A reply to our mail arrives'],
  ['message.bounce', 'A bounce arrives'],
  ['mailbox.status', 'A mailbox changes health (Good, Failing, …)'],
  ['conversation.assigned', 'A conversation of a shared mailbox is assigned'],
  ['enrollment.paused', 'An enrollment in a sequence is paused'],
];

const STATUS_BADGE = { delivered: 'good', failed: 'bad', pending: 'wait' };

// URL + events (+ active when editing); read() → the body's fields.
function webhookFields(w = null) {
  const url = input('url', { type: 'url', required: true, autocomplete: 'off', value: w ? w.url : '',
    placeholder: 'https://example.com/hooks/mailfleet', spellcheck: 'false' });
  const boxes = EVENTS.map(([name]) => input('events', { type: 'checkbox', value: name,
    checked: w ? w.events.includes(name) : ['message.received', 'mailbox.status'].includes(name) }));
  const active = w ? input('active', { type: 'checkbox', checked: w.active }) : null;
  const events = h('fieldset', { class: 'events' }, h('legend', {}, 'Events to send'),
    EVENTS.map(([name, text], i) => h('div', { class: 'check' }, boxes[i],
      h('label', { for: boxes[i].id }, h('code', {}, name), ' — ', text))));
  const el = h('div', {},
    field('Endpoint URL', url, 'https:// (or http:// on a private network). mailfleet POSTs signed JSON to it.'),
    events,
    active ? h('div', { class: 'check' }, active, h('label', { for: active.id }, 'Active (an inactive webhook gets no new deliveries)')) : null);
  return {
    el, url,
    read: () => {
      const body = { url: url.value.trim(), events: boxes.filter((b) => b.checked).map((b) => b.value) };
      if (active) body.active = active.checked;
      return body;
    },
  };
}

// The secret, once: a read-only field, a copy button, and the sentence that it is not shown again.
function showSecret(title, w) {
  return dialog(title, (close) => {
    const secret = input('secret', { readonly: true, value: w.secret, class: 'secret', spellcheck: 'false' });
    const status = h('p', { class: 'hint', role: 'status' });
    const copy = h('button', { type: 'button', class: 'primary', onclick: async () => {
      let ok = false;
      try { await navigator.clipboard.writeText(w.secret); ok = true; } catch { /* below */ }
      if (!ok) { secret.select(); try { ok = document.execCommand('copy'); } catch { ok = false; } }
      status.textContent = ok ? 'Copied to the clipboard.' : 'Could not copy: select the secret and copy it by hand.';
    } }, 'Copy secret');
    return h('div', {},
      h('p', { class: 'note', id: 'secret-warning' }, 'Copy this secret now: it will not be shown again. ',
        'Your endpoint uses it to check the X-Mailfleet-Signature header (HMAC-SHA256 of the body).'),
      field('Signing secret', secret), status,
      h('div', { class: 'actions' }, copy, h('button', { type: 'button', onclick: () => close(true) }, 'Done')));
  });
}

export async function render(main, ctx) {
  if (ctx.arg) return deliveries(main, ctx.arg);
  const { me } = ctx;
  const head = pageHead('Webhooks');
  const notice = h('div', { class: 'notices' });
  const listBox = h('div', { class: 'list-box' });
  const formBox = h('section', { class: 'card', 'aria-labelledby': 'new-webhook-title' });
  main.append(head, h('p', { class: 'sub' }, 'Send mailfleet events to your own systems as signed HTTP POSTs, retried until they are accepted.'),
    notice, listBox, formBox);

  let orgId = me.org_id;
  if (me.role === 'operator') {
    const orgs = await all('/orgs');
    if (!orgs.length) { main.append(h('p', { class: 'empty' }, 'No organisation yet.')); return; }
    const pick = select('org', orgs.map((o) => ({ value: o.id, label: o.name })));
    orgId = orgs[0].id;
    pick.addEventListener('change', () => { orgId = pick.value; load(); });
    head.append(field('Organisation', pick));
  }
  const orgQuery = () => q({ org_id: me.role === 'operator' ? orgId : undefined });

  async function load() {
    const items = await all('/webhooks' + orgQuery());
    clear(listBox);
    if (!items.length) { listBox.append(h('p', { class: 'empty' }, 'No webhook yet. Add one below.')); return; }
    listBox.append(table('Your webhooks', ['Endpoint', 'Events', 'State', 'Actions'], items.map((w) => {
      const cell = h('div', { class: 'row-actions' },
        h('a', { class: 'button', href: '#/webhooks/' + w.id, 'aria-label': 'Deliveries of ' + w.url }, 'Deliveries'),
        h('button', { type: 'button', 'aria-label': 'Edit ' + w.url, onclick: () => edit(w) }, 'Edit'),
        h('button', { type: 'button', 'aria-label': 'Rotate secret of ' + w.url, onclick: (ev) => rotate(w, ev.currentTarget, cell) }, 'Rotate secret'),
        h('button', { type: 'button', class: 'danger', 'aria-label': 'Delete ' + w.url, onclick: (ev) => remove(w, ev.currentTarget, cell) }, 'Delete'));
      return h('tr', { 'data-id': w.id, 'data-url': w.url },
        td('Endpoint', h('code', { class: 'url' }, w.url), h('div', { class: 'sub' }, 'Added ' + when(w.created_at))),
        td('Events', h('ul', { class: 'events-list' }, w.events.map((e) => h('li', {}, h('code', {}, e))))),
        td('State', h('span', { class: 'badge ' + (w.active ? 'good' : 'off') }, w.active ? 'Active' : 'Inactive')),
        td('Actions', cell));
    })));
  }

  function drawForm() {
    const f = webhookFields();
    const submit = h('button', { type: 'submit', class: 'primary' }, 'Add webhook');
    const actions = h('div', { class: 'actions' }, submit);
    const form = h('form', { id: 'webhook-form', novalidate: true }, f.el, actions);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const body = f.read();
      if (me.role === 'operator') body.org_id = orgId;
      const w = await busy(submit, form, () => post('/webhooks', body), actions);
      if (!w) return;
      await load();
      await showSecret('Webhook added', w);
      f.url.value = '';
      flash(notice, `Webhook added: ${w.url}.`);
    });
    clear(formBox).append(h('h2', { id: 'new-webhook-title' }, 'Add a webhook'), form);
  }

  async function edit(w) {
    await dialog('Edit webhook', (close) => {
      const f = webhookFields(w);
      const ok = h('button', { type: 'submit', class: 'primary' }, 'Save');
      const actions = h('div', { class: 'actions' }, ok, h('button', { type: 'button', onclick: () => close() }, 'Cancel'));
      const form = h('form', { novalidate: true }, f.el, actions);
      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        const res = await busy(ok, form, () => patch('/webhooks/' + w.id, f.read()), actions);
        if (res) { close(true); flash(notice, 'Webhook saved.'); announce('Webhook saved.'); await load(); }
      });
      return form;
    });
  }

  async function rotate(w, button, cell) {
    if (!await confirmDialog('Rotate the signing secret?', `A new secret replaces the current one of ${w.url} at once: ` +
      'deliveries from now on (retries included) are signed with the new one. Update your endpoint right after.', 'Rotate secret', true)) return;
    const res = await busy(button, cell, () => patch('/webhooks/' + w.id, { rotate_secret: true }));
    if (res) { await showSecret('New signing secret', res); flash(notice, 'Secret rotated.'); }
  }

  async function remove(w, button, cell) {
    if (!await confirmDialog('Delete this webhook?', `${w.url} gets no more events. Its delivery history is deleted and ` +
      'pending deliveries are not sent. This cannot be undone.', 'Delete webhook', true)) return;
    const ok = await busy(button, cell, () => del('/webhooks/' + w.id).then(() => true));
    if (ok) { flash(notice, `Webhook ${w.url} deleted.`); await load(); }
  }

  await load();
  drawForm();
}

// #/webhooks/<id>: the deliveries, newest first, refreshed every few seconds.
async function deliveries(main, id) {
  const w = await get('/webhooks/' + id);
  const filter = select('status', [{ value: '', label: 'All' }, { value: 'pending', label: 'Pending' },
    { value: 'delivered', label: 'Delivered' }, { value: 'failed', label: 'Failed' }]);
  const refresh = h('button', { type: 'button' }, 'Refresh');
  const box = h('div', { class: 'list-box', 'aria-live': 'polite' });
  main.append(pageHead('Deliveries', h('a', { href: '#/webhooks' }, '← All webhooks')),
    h('p', { class: 'sub' }, h('code', { class: 'url' }, w.url), ` · ${w.active ? 'active' : 'inactive'} · `, w.events.join(', ')),
    h('div', { class: 'filters' }, field('Show', filter), refresh), box);
  let shown = '';
  async function load(force) {
    const items = (await all(`/webhooks/${id}/deliveries` + q({ status: filter.value }), 500)).reverse();
    const now = JSON.stringify(items);
    if (now === shown && !force) return;
    shown = now;
    clear(box);
    if (!items.length) { box.append(h('p', { class: 'empty' }, 'No deliveries yet. They appear when a chosen event happens.')); return; }
    box.append(table('!Deliveries', ['Event', 'Status', 'Attempts', 'Last status code', 'Last attempt', 'Details'], items.map((d) =>
      h('tr', { 'data-id': d.id, 'data-status': d.status },
        td('Event', h('code', {}, d.event)),
        td('Status', h('span', { class: 'badge ' + (STATUS_BADGE[d.status] || 'off') }, d.status)),
        td('Attempts', String(d.attempts)),
        td('Last status code', d.status_code === null || d.status_code === undefined ? '—' : String(d.status_code)),
        td('Last attempt', when(d.last_attempt_at)),
        td('Details', d.status === 'delivered' ? `Delivered ${when(d.delivered_at)}`
          : [d.last_error || '', d.next_attempt_at ? h('div', { class: 'sub' }, 'Next attempt ' + when(d.next_attempt_at)) : null])))));
  }
  filter.addEventListener('change', () => load(true));
  refresh.addEventListener('click', async () => { await busy(refresh, box, () => load(true)); announce('Deliveries refreshed.'); });
  await load(true);
  const timer = setInterval(() => load().catch(() => {}), 3000); // redraws only on a change
  return () => clearInterval(timer);
}
