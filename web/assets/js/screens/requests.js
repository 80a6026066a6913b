// requests.js — mailbox requests (R10): file an add / change-owner request and see every rule
// check (R5, R2, R7, R6, R3); operators, and admins when the contract allows self-approval,
// approve or reject pending ones.
import { get, post, all, q } from '../api.js';
import { h, clear, field, input, select, busy, dialog, flash, when, pageHead } from '../ui.js';

export async function render(main, ctx) {
  const { me } = ctx;
  const notice = h('div', { class: 'notices' });
  const formBox = h('section', { class: 'card', 'aria-labelledby': 'file-title' });
  const filter = select('status', [{ value: '', label: 'All' }, { value: 'pending', label: 'Pending' },
    { value: 'completed', label: 'Completed' }, { value: 'rejected', label: 'Rejected' }]);
  const listBox = h('div', { class: 'list-box' });
  main.append(pageHead('Requests'), notice, formBox,
    h('section', { 'aria-labelledby': 'req-list' }, h('h2', { id: 'req-list' }, 'Requests'), field('Show', filter), listBox));

  let canDecide = me.role === 'operator';
  let users = [];
  if (me.role === 'admin') {
    const [org, members] = await Promise.all([get('/orgs/' + me.org_id), all('/users')]);
    canDecide = !!org.admin_self_approve;
    users = members.filter((u) => u.role === 'admin' || u.role === 'user');
  } else if (me.role === 'operator') {
    users = (await all('/users')).filter((u) => u.role === 'admin' || u.role === 'user');
  }
  const nameOf = (id) => (id === me.id ? 'you' : (users.find((u) => u.id === id) || {}).email || id);

  // ---- file a request ----------------------------------------------------------------------
  if (me.role !== 'operator' || users.length) {
    const kind = select('kind', [{ value: 'add', label: 'Add a mailbox to a seat' }, { value: 'change_owner', label: 'Move a mailbox to another seat (change owner)' }]);
    const address = input('address', { type: 'email', required: true });
    const target = users.length
      ? select('target_user_id', users.map((u) => ({ value: u.id, label: `${u.name} <${u.email}>`, selected: u.id === me.id })))
      : null;
    const remove = input('remove_from_other_seat', { type: 'checkbox' });
    const submit = h('button', { type: 'submit', class: 'primary' }, 'File request');
    const result = h('div', { class: 'result' });
    const actions = h('div', { class: 'actions' }, submit);
    const form = h('form', { novalidate: true },
      h('div', { class: 'grid2' }, field('Kind', kind), field('Email address', address),
        target ? field('For the seat of', target) : null),
      h('div', { class: 'check' }, remove, h('label', { for: remove.id }, 'If the address is on another seat, remove it from there (its history there is deleted)')),
      actions, result);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clear(result);
      const r = await busy(submit, form, () => post('/mailbox-requests', {
        kind: kind.value, address: address.value.trim(), target_user_id: target ? target.value : me.id,
        remove_from_other_seat: remove.checked,
      }), actions);
      if (!r) return;
      result.append(h('p', { class: r.status === 'rejected' ? 'error' : 'ok', role: 'status' },
        r.status === 'rejected' ? 'The automatic checks refused this request:' : 'Request filed; it waits for approval. Checks:'), checks(r));
      await load();
    });
    formBox.append(h('h2', { id: 'file-title' }, 'File a request'), form);
  } else {
    formBox.remove();
  }

  function checks(r) {
    return h('ul', { class: 'checks' }, (r.checks || []).map((c) =>
      h('li', { class: c.ok ? 'pass' : 'fail' }, h('span', { class: 'badge ' + (c.ok ? 'good' : 'bad') }, (c.ok ? '✓ ' : '✗ ') + c.rule), ' ', c.message)));
  }

  async function load() {
    const items = await all('/mailbox-requests' + q({ status: filter.value }));
    clear(listBox);
    if (!items.length) { listBox.append(h('p', { class: 'empty' }, 'No requests.')); return; }
    listBox.append(h('ul', { class: 'cards' }, items.reverse().map((r) => {
      const actions = h('div', { class: 'row-actions' });
      const li = h('li', { class: 'card request', 'data-id': r.id },
        h('h3', {}, `${r.kind === 'add' ? 'Add' : 'Change owner of'} ${r.address}`),
        h('p', {}, h('span', { class: 'badge ' + ({ pending: 'wait', completed: 'good', rejected: 'bad' }[r.status]) }, r.status),
          ` for ${nameOf(r.target_user_id)} · filed by ${nameOf(r.requester_id)} · ${when(r.created_at)}`),
        r.reason ? h('p', { class: 'note' }, 'Reason: ' + r.reason) : null,
        checks(r), actions);
      if (canDecide && r.status === 'pending') {
        actions.append(
          h('button', { type: 'button', class: 'primary', 'aria-label': 'Approve the request for ' + r.address, onclick: async (ev) => {
            const res = await busy(ev.currentTarget, actions, () => post(`/mailbox-requests/${r.id}/approve`));
            if (res) { flash(notice, `Approved: ${r.address}.`); await load(); }
          } }, 'Approve'),
          h('button', { type: 'button', 'aria-label': 'Reject the request for ' + r.address, onclick: () => reject(r) }, 'Reject'));
      }
      return li;
    })));
  }

  async function reject(r) {
    await dialog(`Reject the request for ${r.address}`, (close) => {
      const reason = h('textarea', { name: 'reason', id: 'reject-reason', rows: 3, required: true, maxlength: 500 });
      const ok = h('button', { type: 'submit', class: 'danger' }, 'Reject');
      const form = h('form', {}, field('Reason (the requester sees it)', reason),
        h('div', { class: 'actions' }, ok, h('button', { type: 'button', onclick: () => close() }, 'Cancel')));
      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        const res = await busy(ok, form, () => post(`/mailbox-requests/${r.id}/reject`, { reason: reason.value.trim() }), form.querySelector('.actions'));
        if (res) { close(true); flash(notice, `Rejected: ${r.address}.`); await load(); }
      });
      return form;
    });
  }

  filter.addEventListener('change', load);
  await load();
}
