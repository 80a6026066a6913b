// ui.js — small DOM helpers shared by the screens: element building, labelled form fields,
// errors shown next to what caused them, modal dialogs (<dialog>), announcements for screen
// readers, and the mailbox status badge.
import { sentence } from './errors.js';

let uid = 0;
export const nextId = (p = 'f') => `${p}-${++uid}`;

// h('button', {class: 'x', onclick: fn, disabled: true}, 'text', child...)
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export const clear = (el) => { el.replaceChildren(); return el; };

// A labelled control: field('Email', h('input', {name: 'email', type: 'email'}), 'hint')
export function field(labelText, control, hint) {
  const id = control.id || (control.id = nextId());
  const wrap = h('div', { class: 'field' }, h('label', { for: id }, labelText), control);
  if (hint) {
    const hid = id + '-hint';
    control.setAttribute('aria-describedby', hid);
    wrap.append(h('p', { class: 'hint', id: hid }, hint));
  }
  return wrap;
}

export const input = (name, attrs = {}) => h('input', { name, id: nextId(name), ...attrs });
export function select(name, options, attrs = {}) {
  return h('select', { name, id: nextId(name), ...attrs },
    options.map((o) => h('option', { value: o.value, selected: o.selected, disabled: o.disabled }, o.label)));
}

export function clearErrors(scope) {
  scope.querySelectorAll('.error').forEach((e) => e.remove());
  scope.querySelectorAll('[aria-invalid]').forEach((e) => e.removeAttribute('aria-invalid'));
}

// Show an API error in words: beside the field it names (when the form has it) and in the
// scope's error line (placed before `before` or at the end of scope).
export function showError(scope, err, before) {
  clearErrors(scope);
  const text = sentence(err);
  const f = err && err.field;
  const ctl = f && scope.querySelector(`[name="${CSS.escape(f)}"]`);
  if (ctl) {
    ctl.setAttribute('aria-invalid', 'true');
    const p = h('p', { class: 'error field-error', id: nextId('err') }, text);
    ctl.setAttribute('aria-describedby', p.id);
    ctl.insertAdjacentElement('afterend', p);
  }
  const line = h('p', { class: 'error', role: 'alert' }, text);
  if (before) before.insertAdjacentElement('beforebegin', line);
  else scope.append(line);
  return line;
}

// Run fn with the button disabled; errors go to showError(scope, ...). Returns fn's value or
// undefined when it threw.
export async function busy(button, scope, fn, before) {
  if (button) button.disabled = true;
  if (scope) clearErrors(scope);
  try {
    return await fn();
  } catch (e) {
    if (scope) showError(scope, e, before);
    else announce(sentence(e));
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

export function announce(text) {
  const live = document.getElementById('live');
  live.textContent = '';
  setTimeout(() => { live.textContent = text; }, 30);
}

export function flash(scope, text) {
  const p = h('p', { class: 'ok', role: 'status' }, text);
  scope.prepend(p);
  setTimeout(() => p.remove(), 6000);
}

// What Tab can reach inside `scope`, in order (visible and enabled).
const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), ' +
  'select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';
export const focusables = (scope) => [...scope.querySelectorAll(FOCUSABLE)].filter((e) => e.getClientRects().length > 0);

// A modal dialog: body is a node (usually a form); resolves with what close(value) got.
// Keyboard: focus starts on [data-autofocus] or the first control, Tab and Shift+Tab stay
// inside, Escape closes (resolves undefined), and focus goes back to what opened it.
export function dialog(title, build) {
  return new Promise((resolve) => {
    const opener = document.activeElement;
    const titleId = nextId('dlg-title');
    const d = h('dialog', { 'aria-labelledby': titleId, 'aria-modal': 'true' });
    let result;
    const close = (value) => { result = value; d.close(); };
    d.addEventListener('keydown', (ev) => {
      if (ev.key !== 'Tab') return;
      const items = focusables(d);
      if (!items.length) { ev.preventDefault(); return; }
      const first = items[0];
      const last = items[items.length - 1];
      if (ev.shiftKey && (document.activeElement === first || !d.contains(document.activeElement))) { ev.preventDefault(); last.focus(); }
      else if (!ev.shiftKey && (document.activeElement === last || !d.contains(document.activeElement))) { ev.preventDefault(); first.focus(); }
    });
    d.addEventListener('close', () => {
      d.remove();
      const back = opener && opener.isConnected && opener !== document.body ? opener : document.querySelector('main h1');
      if (back) back.focus({ preventScroll: true });
      resolve(result);
    });
    d.append(h('h2', { id: titleId }, title), build(close, d));
    document.body.append(d);
    d.showModal();
    const first = d.querySelector('[data-autofocus]') || focusables(d)[0];
    if (first) first.focus();
  });
}

// Yes/no; a dangerous action starts with the focus on Cancel.
export function confirmDialog(title, text, okLabel, danger = false) {
  return dialog(title, (close) => h('div', {},
    h('p', {}, text),
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: danger ? 'danger' : 'primary', onclick: () => close(true) }, okLabel),
      h('button', { type: 'button', 'data-autofocus': danger ? '' : null, onclick: () => close(false) }, 'Cancel'))));
}

export function when(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
}

// Mailbox health (R12) as the seeds show it: Good (green tick), Failing (red, with the
// reason), Connecting (with backfill progress), and the rest.
export function statusBadge(m) {
  const s = m.status;
  if (s === 'good') return h('span', { class: 'badge good' }, '✓ Good');
  if (s === 'failing') {
    return h('span', { class: 'status' }, h('span', { class: 'badge bad' }, '✗ Failing'),
      h('span', { class: 'reason' }, m.status_reason || ''));
  }
  if (s === 'connecting') {
    const n = m.sync ? m.sync.messages_imported : 0;
    return h('span', { class: 'status' }, h('span', { class: 'badge wait' }, '… Connecting'),
      h('span', { class: 'reason' }, n ? `${n} messages imported so far` : 'first sync starting'));
  }
  if (s === 'error') {
    return h('span', { class: 'status' }, h('span', { class: 'badge warn' }, '! Retrying'),
      h('span', { class: 'reason' }, m.status_reason || ''));
  }
  return h('span', { class: 'status' }, h('span', { class: 'badge off' }, 'Disconnected'),
    h('span', { class: 'reason' }, m.status_reason || ''));
}

// A table whose rows turn into labelled cards on narrow screens (data-label per cell).
export function table(caption, headers, rows) {
  return h('div', { class: 'table-wrap' },
    h('table', { class: 'list' },
      h('caption', { class: caption.startsWith('!') ? 'visually-hidden' : '' }, caption.replace(/^!/, '')),
      h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows)));
}
export const td = (labelText, ...content) => h('td', { 'data-label': labelText }, ...content);

export function pageHead(title, ...extra) {
  return h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, title), ...extra);
}
