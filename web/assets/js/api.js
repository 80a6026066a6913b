// api.js — calls to /api/v1 with the session cookie and the CSRF token. Every failure becomes
// an ApiError carrying the API's error object (code, message, rule, extra fields).

let csrfToken = null;
let onSignedOut = null;

export class ApiError extends Error {
  constructor(status, error) {
    super(error.message || 'request failed');
    this.status = status;
    this.code = error.code || 'internal';
    this.rule = error.rule || null;
    this.detail = error; // limit, used, seat, reason, retry_after ...
  }
  // "imap.port" from "imap.port: must be from 1 to 65535" (400 invalid_request)
  get field() {
    if (this.code !== 'invalid_request') return null;
    const m = /^([\w.\[\]]+): /.exec(this.message);
    return m ? m[1] : null;
  }
}

export function setCsrf(token) { csrfToken = token; }
export function whenSignedOut(fn) { onSignedOut = fn; }

export async function api(method, path, body, opts = {}) {
  const headers = {};
  let payload;
  if (opts.csv !== undefined) {
    headers['Content-Type'] = 'text/csv';
    payload = opts.csv;
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  if (method !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let resp;
  try {
    resp = await fetch('/api/v1' + path, { method, headers, body: payload, credentials: 'same-origin' });
  } catch (e) {
    throw new ApiError(0, { code: 'network', message: String(e) });
  }
  if (resp.status === 204) return null;
  let data = null;
  const text = await resp.text();
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!resp.ok) {
    const err = new ApiError(resp.status, (data && data.error) || { code: 'internal', message: 'HTTP ' + resp.status });
    if (resp.status === 401 && path !== '/session' && onSignedOut) onSignedOut(err);
    throw err;
  }
  return data;
}

export const get = (p) => api('GET', p);
export const post = (p, b) => api('POST', p, b);
export const patch = (p, b) => api('PATCH', p, b);
export const put = (p, b) => api('PUT', p, b);
export const del = (p) => api('DELETE', p);

// Every item of a paged list (follows next_cursor, at most `max` items).
export async function all(path, max = 2000) {
  const items = [];
  let cursor = null;
  const sep = path.includes('?') ? '&' : '?';
  do {
    const page = await get(path + sep + 'limit=500' + (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''));
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && items.length < max);
  return items;
}

export const q = (params) => {
  const parts = Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => encodeURIComponent(k) + '=' + encodeURIComponent(v));
  return parts.length ? '?' + parts.join('&') : '';
};
