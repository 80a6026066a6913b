// audit.js — the audit log for admins and operators (R27), oldest first, page by page.
import { get, q } from '../api.js';
import { h, when, pageHead, table, td } from '../ui.js';

export async function render(main) {
  const body = h('tbody');
  const more = h('button', { type: 'button' }, 'Load more');
  main.append(pageHead('Audit log'),
    h('div', { class: 'table-wrap' }, h('table', { class: 'list' }, h('caption', { class: 'visually-hidden' }, 'Audit entries'),
      h('thead', {}, h('tr', {}, ['When', 'Who', 'Action', 'Target', 'Details'].map((t) => h('th', { scope: 'col' }, t)))), body)),
    more);
  let cursor = null;
  async function page() {
    const p = await get('/audit-log' + q({ limit: 100, cursor }));
    for (const e of p.items) {
      body.append(h('tr', {}, td('When', when(e.created_at)), td('Who', `${e.actor_role}${e.actor_id ? ' ' + e.actor_id : ' (command line)'}`),
        td('Action', h('code', {}, e.action)), td('Target', `${e.target_type} ${e.target_id || ''}`),
        td('Details', h('code', { class: 'detail' }, JSON.stringify(e.detail || {})))));
    }
    cursor = p.next_cursor;
    more.hidden = !cursor;
  }
  more.addEventListener('click', () => page());
  await page();
}
