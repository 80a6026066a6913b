// sequences.js — sequences (R16, R18, R22–R26): the list, a form to create one (steps, sending
// mailbox, send window), and a sequence's page: its steps, its enrollments with state and
// pause/resume, and enrolling prospects from a CSV file with a preview of its errors.
import { get, post, api, all, q } from '../api.js';
import { h, clear, field, input, select, busy, flash, when, pageHead, table, td } from '../ui.js';

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

export async function render(main, ctx) {
  const { me, arg } = ctx;
  const mailboxes = await all('/mailboxes' + q({ owner_id: me.id }));
  if (arg === 'new') return create(main, mailboxes);
  if (arg) return detail(main, arg, mailboxes);
  const items = await all('/sequences');
  main.append(pageHead('Sequences', h('a', { class: 'button primary', href: '#/sequences/new' }, 'New sequence')));
  if (!items.length) { main.append(h('p', { class: 'empty' }, 'No sequence yet.')); return; }
  const addr = (id) => (mailboxes.find((m) => m.id === id) || {}).address || id;
  main.append(table('!Sequences', ['Name', 'Sends from', 'State', 'Created'], items.reverse().map((s) =>
    h('tr', {}, td('Name', h('a', { href: '#/sequences/' + s.id }, s.name)), td('Sends from', addr(s.mailbox_id)),
      td('State', h('span', { class: 'badge ' + (s.state === 'active' ? 'good' : 'off') }, s.state)), td('Created', when(s.created_at))))));
}

function stepFields(i) {
  const delay = input(`steps[${i}].delay_minutes`, { type: 'number', min: 0, value: i === 0 ? 0 : 2880 });
  const subject = input(`steps[${i}].subject`, { required: true });
  const text = h('textarea', { name: `steps[${i}].text`, id: `step-text-${i}-${Date.now()}`, rows: 5, required: true });
  const el = h('fieldset', { class: 'step' }, h('legend', {}, `Step ${i + 1}`),
    i === 0 ? null : field('Wait (minutes after the previous step)', delay),
    field('Subject', subject, 'Templates: {{first_name|there}}, {{company}} …'), field('Text', text));
  return { el, read: () => ({ delay_minutes: Number(delay.value || 0), subject: subject.value, text: text.value }) };
}

async function create(main, mailboxes) {
  main.append(pageHead('New sequence', h('a', { href: '#/sequences' }, '← All sequences')));
  if (!mailboxes.length) { main.append(h('p', { class: 'empty' }, 'Connect a mailbox first: a sequence sends from one of your mailboxes.')); return; }
  const name = input('name', { required: true });
  const mailbox = select('mailbox_id', mailboxes.map((m) => ({ value: m.id, label: m.address, selected: m.is_default })));
  const dayBoxes = DAYS.map((d) => input('day', { type: 'checkbox', value: d, checked: !['sat', 'sun'].includes(d) }));
  const start = input('window.start', { type: 'time', value: '09:00' });
  const end = input('window.end', { type: 'time', value: '17:00' });
  const tz = input('window.time_zone', { value: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC' });
  const steps = [stepFields(0)];
  const stepsBox = h('div', { class: 'steps' }, steps[0].el);
  const add = h('button', { type: 'button', onclick: () => { const s = stepFields(steps.length); steps.push(s); stepsBox.append(s.el); s.el.querySelector('input').focus(); } }, 'Add a step');
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Create sequence');
  const actions = h('div', { class: 'actions' }, submit);
  const form = h('form', { class: 'card', novalidate: true },
    h('div', { class: 'grid2' }, field('Name', name), field('Sends from', mailbox)),
    h('fieldset', {}, h('legend', {}, 'Send window'),
      h('div', { class: 'days' }, DAYS.map((d, i) => h('span', { class: 'check' }, dayBoxes[i], h('label', { for: dayBoxes[i].id }, d)))),
      h('div', { class: 'grid3' }, field('From', start), field('Until', end), field('Time zone', tz))),
    stepsBox, add, actions);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = {
      name: name.value.trim(), mailbox_id: mailbox.value, steps: steps.map((s) => s.read()),
      window: { days: dayBoxes.filter((b) => b.checked).map((b) => b.value), start: start.value, end: end.value === '00:00' ? '24:00' : end.value, time_zone: tz.value.trim() || 'UTC' },
    };
    const s = await busy(submit, form, () => post('/sequences', body), actions);
    if (s) location.hash = '#/sequences/' + s.id;
  });
  main.append(form);
}

// ---- CSV: parse for the preview (RFC 4180, delimiter , ; or tab as the server detects) ----
export function parseCsv(text) {
  text = text.replace(/^\uFEFF/, '');
  const first = text.split(/\r?\n/, 1)[0] || '';
  const delim = [',', ';', '\t'].map((d) => [d, first.split(d).length]).sort((a, b) => b[1] - a[1])[0][0];
  const rows = [];
  let row = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; } else if (c === '"') quoted = false; else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === delim) { row.push(cell); cell = ''; } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(cell); rows.push(row); row = []; cell = '';
    } else cell += c;
  }
  if (cell !== '' || row.length) { row.push(cell); rows.push(row); }
  return { delim, rows: rows.filter((r) => r.some((x) => x.trim() !== '')) };
}
const norm = (s) => s.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '');
const EMAIL_NAMES = ['email', 'e_mail', 'email_address', 'e_mail_address'];
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function previewCsv(text) {
  const { delim, rows } = parseCsv(text);
  if (!rows.length) return { error: 'The file is empty.' };
  const header = rows[0];
  const col = header.findIndex((x) => EMAIL_NAMES.includes(norm(x)));
  if (col < 0) return { error: 'No email column: the first row must name the columns, one of them “email”.' };
  const seen = new Set();
  const data = rows.slice(1).map((r, i) => {
    const email = (r[col] || '').trim();
    let problem = null;
    if (r.length !== header.length) problem = `${r.length} columns where the header has ${header.length}`;
    else if (!email) problem = 'no email address';
    else if (!EMAIL_RE.test(email)) problem = 'not an email address';
    else if (seen.has(email.toLowerCase())) problem = 'listed twice';
    seen.add(email.toLowerCase());
    return { line: i + 2, cells: r, email, problem };
  });
  return { delim, header, data };
}
const csvCell = (v, d) => (/["\r\n]/.test(v) || v.includes(d) ? '"' + v.replace(/"/g, '""') + '"' : v);

async function detail(main, id, mailboxes) {
  const s = await get('/sequences/' + id);
  const addr = (mid) => (mailboxes.find((m) => m.id === mid) || {}).address || mid;
  const notice = h('div', { class: 'notices' });
  main.append(pageHead(s.name, h('a', { href: '#/sequences' }, '← All sequences')), notice,
    h('p', { class: 'sub' }, `Sends from ${addr(s.mailbox_id)} · ${s.window.days.join(', ')} ${s.window.start}–${s.window.end} ${s.window.time_zone} · ${s.state}`),
    h('ol', { class: 'steps-view' }, s.steps.map((st, i) => h('li', {}, h('strong', {}, st.subject),
      h('span', { class: 'sub' }, i === 0 ? ' · when enrolled' : ` · ${st.delay_minutes} min after the previous step`)))));

  // enrollments
  const enrBox = h('div', { class: 'list-box' });
  const bulk = h('div', { class: 'row-actions' });
  main.append(h('section', { 'aria-labelledby': 'enr-title' }, h('h2', { id: 'enr-title' }, 'Enrollments'), bulk, enrBox));
  let prospects = {};
  async function loadEnrollments() {
    const [enr, prs] = await Promise.all([all('/enrollments' + q({ sequence_id: s.id })), all('/prospects')]);
    prospects = Object.fromEntries(prs.map((p) => [p.id, p]));
    clear(enrBox);
    clear(bulk);
    if (!enr.length) { enrBox.append(h('p', { class: 'empty' }, 'Nobody enrolled yet.')); return; }
    const act = async (e, verb, button, cell) => {
      const r = await busy(button, cell, () => post(`/enrollments/${e.id}/${verb}`));
      if (r) await loadEnrollments();
    };
    const active = enr.filter((e) => e.state === 'active');
    const paused = enr.filter((e) => e.state === 'paused');
    bulk.append(
      h('button', { type: 'button', disabled: !active.length, onclick: async (ev) => { await busy(ev.currentTarget, bulk, async () => { for (const e of active) await post(`/enrollments/${e.id}/pause`); }); await loadEnrollments(); } }, `Pause all active (${active.length})`),
      h('button', { type: 'button', disabled: !paused.length, onclick: async (ev) => { await busy(ev.currentTarget, bulk, async () => { for (const e of paused) await post(`/enrollments/${e.id}/resume`); }); await loadEnrollments(); } }, `Resume all paused (${paused.length})`));
    enrBox.append(table('!Enrollments', ['Prospect', 'State', 'Step', 'Next', 'Actions'], enr.map((e) => {
      const cell = h('div', { class: 'row-actions' });
      const p = prospects[e.prospect_id];
      const who = p ? p.email : e.prospect_id;
      if (e.state === 'active') cell.append(h('button', { type: 'button', 'aria-label': 'Pause ' + who, onclick: (ev) => act(e, 'pause', ev.currentTarget, cell) }, 'Pause'));
      if (e.state === 'paused') cell.append(h('button', { type: 'button', 'aria-label': 'Resume ' + who, onclick: (ev) => act(e, 'resume', ev.currentTarget, cell) }, 'Resume'));
      return h('tr', {}, td('Prospect', p ? p.email : e.prospect_id),
        td('State', h('span', { class: 'badge ' + ({ active: 'good', paused: 'wait', bounced: 'bad', unsubscribed: 'bad' }[e.state] || 'off') }, e.state),
          e.pause_reason ? h('span', { class: 'sub' }, ' ' + e.pause_reason.replace(/_/g, ' ')) : null),
        td('Step', `${e.step} of ${s.steps.length}`), td('Next', e.state === 'active' ? when(e.next_at) : '—'), td('Actions', cell));
    })));
  }

  // enroll from CSV
  const file = input('csv', { type: 'file', accept: '.csv,text/csv,text/plain' });
  const paste = h('textarea', { name: 'csv_text', id: 'csv-text', rows: 5, placeholder: 'email,first_name,company\njane@example.com,Jane,Acme' });
  const preview = h('div', { class: 'preview', 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit', class: 'primary', disabled: true }, 'Import and enroll');
  const actions = h('div', { class: 'actions' }, submit);
  const form = h('form', { class: 'card', 'aria-labelledby': 'enroll-title' }, h('h2', { id: 'enroll-title' }, 'Enroll prospects'),
    field('CSV file', file, 'First row: column names (email, first_name, last_name, company, tags; others become custom fields).'),
    field('…or paste CSV', paste), preview, actions);
  let parsed = null;
  function showPreview(text) {
    clear(preview);
    parsed = text.trim() ? previewCsv(text) : null;
    submit.disabled = true;
    if (!parsed) return;
    if (parsed.error) { preview.append(h('p', { class: 'error', role: 'alert' }, parsed.error)); return; }
    const bad = parsed.data.filter((r) => r.problem);
    const good = parsed.data.length - bad.length;
    preview.append(h('p', { class: bad.length ? 'error' : 'ok' }, `${parsed.data.length} rows: ${good} ready` +
      (bad.length ? `, ${bad.length} with errors (left out).` : '.')));
    preview.append(table('Preview (first 20 rows)', ['Line', ...parsed.header, 'Problem'], parsed.data.slice(0, 20).map((r) =>
      h('tr', { class: r.problem ? 'bad' : '' }, td('Line', String(r.line)), parsed.header.map((x, i) => td(x, r.cells[i] || '')), td('Problem', r.problem || '—')))));
    submit.textContent = `Import and enroll ${good} prospect${good === 1 ? '' : 's'}`;
    submit.disabled = good === 0;
  }
  file.addEventListener('change', async () => { if (file.files[0]) { paste.value = await file.files[0].text(); showPreview(paste.value); } });
  paste.addEventListener('input', () => showPreview(paste.value));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!parsed || parsed.error) return;
    const d = parsed.delim;
    const good = parsed.data.filter((r) => !r.problem);
    const csv = [parsed.header, ...good.map((r) => r.cells)].map((r) => r.map((v) => csvCell(v, d)).join(d)).join('\r\n') + '\r\n';
    const res = await busy(submit, form, async () => {
      const made = [];
      for (let i = 0; i < good.length; i += 1000) { // the API takes 1000 rows a call
        const part = [parsed.header, ...good.slice(i, i + 1000).map((r) => r.cells)].map((r) => r.map((v) => csvCell(v, d)).join(d)).join('\r\n') + '\r\n';
        const p = await api('POST', '/prospects' + q({ mailbox_id: undefined }), undefined, { csv: good.length > 1000 ? part : csv });
        made.push(...p.items.map((x) => x.id));
        const e = await post(`/sequences/${s.id}/enrollments`, { prospect_ids: p.items.map((x) => x.id) });
        if (!e) break;
      }
      return made;
    }, actions);
    if (res) { flash(notice, `${res.length} prospect${res.length === 1 ? '' : 's'} enrolled.`); paste.value = ''; file.value = ''; showPreview(''); await loadEnrollments(); }
  });
  main.append(form);
  await loadEnrollments();
}
