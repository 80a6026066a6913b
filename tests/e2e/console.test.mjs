// console.test.mjs — the web console driven in Debian's Chromium (playwright-core, headless,
// --no-sandbox) against the real `mailfleet serve` and mail lab that run_e2e.py started; the
// configuration comes in $MAILFLEET_E2E (JSON). Prints TAP; saves a screenshot per screen and
// one of the page at any failure. A webhook receiver (node:http) runs in this process.
import { chromium } from 'playwright-core';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';

const cfg = JSON.parse(process.env.MAILFLEET_E2E);
const T = 30000;
const steps = [];
const step = (name, fn) => steps.push({ name, fn });
const S = {}; // state shared by the steps
const pageErrors = [];

function check(cond, msg) { if (!cond) throw new Error(msg); }
const shot = (page, name) => page.screenshot({ path: path.join(cfg.artifacts, name + '.png'), fullPage: true });

async function newPage(width = 1280, height = 900) {
  const ctx = await S.browser.newContext({ viewport: { width, height } });
  await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: cfg.base });
  const page = await ctx.newPage();
  page.setDefaultTimeout(T);
  page.on('pageerror', (e) => pageErrors.push(`${page.url()}: ${e.message}`));
  return page;
}

async function signIn(page, email, expectRefusal = false) {
  await page.goto(cfg.base + '/');
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(cfg.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  if (expectRefusal) return page.locator('form.login p.error[role="alert"]').innerText();
  await page.locator('#top').waitFor({ state: 'visible' });
  return null;
}

const TITLES = { mailboxes: 'Mailboxes', inbox: 'Inbox', 'inbox/compose': 'Compose', sequences: 'Sequences',
  'sequences/new': 'New sequence', requests: 'Requests', notifications: 'Notifications', team: 'My Team',
  audit: 'Audit log', connections: 'Inbox Connections', webhooks: 'Webhooks', settings: 'Settings' };
// Open a screen and wait until it (not the previous one) is drawn.
async function go(page, name) {
  const url = cfg.base + '/#/' + name;
  if (page.url() === url) await page.reload(); // the same hash would not draw the screen again
  else await page.goto(url);
  await page.locator('main h1', { hasText: new RegExp('^' + TITLES[name] + '$') }).waitFor();
  await page.locator('main[data-ready]').waitFor({ state: 'attached' }); // rendered and focused
  await page.waitForLoadState('networkidle');
}

const api = (page, p) => page.evaluate(async (u) => { const r = await fetch('/api/v1' + u); return r.json(); }, p);

// Fill IMAP/SMTP settings of a lab account in `f` (the connect form or the reconnect dialog).
async function fillServers(f, address, password) {
  await f.locator('[name="imap.host"]').fill('127.0.0.1');
  await f.locator('[name="imap.port"]').fill(String(cfg.lab.imap_port));
  await f.locator('[name="imap.security"]').selectOption('starttls');
  await f.locator('[name="imap.username"]').fill(address);
  await f.locator('[name="imap.password"]').fill(password);
  await f.locator('[name="smtp.host"]').fill('127.0.0.1');
  await f.locator('[name="smtp.port"]').fill(String(cfg.lab.smtp_port));
  await f.locator('[name="smtp.security"]').selectOption('starttls');
}

// Fill the "Connect a mailbox" form with a lab account and submit it.
async function connect(page, local, password = cfg.lab.passwords[local]) {
  const f = page.locator('#connect-form');
  const address = `${local}@${cfg.lab.domain}`;
  await f.locator('[name="address"]').fill(address);
  await fillServers(f, address, password);
  await f.getByRole('button', { name: 'Connect and test' }).click();
  return address;
}

// ---- the webhook receiver: records every POST, answers 200 -----------------------------------
const hooks = [];
const receiver = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    hooks.push({ path: req.url, headers: req.headers, body: Buffer.concat(chunks) });
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('ok');
  });
});
async function waitFor(what, fn, ms = 30000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out waiting for ' + what);
    await new Promise((r) => setTimeout(r, 250));
  }
}
const hmacOk = (secret, hook) => hook.headers['x-mailfleet-signature'] ===
  'sha256=' + crypto.createHmac('sha256', secret).update(hook.body).digest('hex');

// ---- accessibility checks run on every screen --------------------------------------------------
// Every visible control (input, select, textarea, button, link) has an accessible name:
// aria-labelledby, aria-label, a <label>, its text, or a title.
function unnamedControls(page) {
  return page.evaluate(() => {
    const text = (e) => (e.textContent || '').replace(/\s+/g, ' ').trim();
    const name = (e) => {
      const by = e.getAttribute('aria-labelledby');
      if (by) { const t = by.split(/\s+/).map((id) => document.getElementById(id)).filter(Boolean).map(text).join(' ').trim(); if (t) return t; }
      const al = (e.getAttribute('aria-label') || '').trim();
      if (al) return al;
      if (e.labels && e.labels.length) { const t = [...e.labels].map(text).join(' ').trim(); if (t) return t; }
      if (e.tagName === 'BUTTON' || e.tagName === 'A') { const t = text(e); if (t) return t; }
      return (e.getAttribute('title') || '').trim();
    };
    return [...document.querySelectorAll('input:not([type="hidden"]), select, textarea, button, a[href]')]
      .filter((e) => e.getClientRects().length > 0 && !name(e))
      .map((e) => `<${e.tagName.toLowerCase()} name="${e.getAttribute('name') || ''}" class="${e.className}">`);
  });
}

// Text against its background: at least 4.5:1 (3:1 for large text), WCAG 1.4.3. The background
// is the nearest ancestor's opaque background colour; disabled controls are exempt.
function lowContrast(page) {
  return page.evaluate(() => {
    const rgb = (c) => { const m = c.match(/[\d.]+/g) || ['0', '0', '0', '0']; return { r: +m[0], g: +m[1], b: +m[2], a: m[3] === undefined ? 1 : +m[3] }; };
    const lum = ({ r, g, b }) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }; return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
    const over = (fg, bg) => ({ r: fg.r * fg.a + bg.r * (1 - fg.a), g: fg.g * fg.a + bg.g * (1 - fg.a), b: fg.b * fg.a + bg.b * (1 - fg.a), a: 1 });
    const bgOf = (e) => {
      for (let x = e; x; x = x.parentElement) { const c = rgb(getComputedStyle(x).backgroundColor); if (c.a > 0.5) return c; }
      return { r: 255, g: 255, b: 255, a: 1 };
    };
    const bad = [];
    for (const e of document.querySelectorAll('body *')) {
      if (!e.getClientRects().length || e.closest('[disabled], [aria-disabled="true"], .visually-hidden, .skip, option')) continue;
      if (![...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
      const cs = getComputedStyle(e);
      if (cs.visibility === 'hidden') continue;
      const bg = bgOf(e);
      const fg = over(rgb(cs.color), bg);
      const [l1, l2] = [lum(fg), lum(bg)].sort((a, b) => b - a);
      const ratio = (l1 + 0.05) / (l2 + 0.05);
      const size = parseFloat(cs.fontSize);
      const large = size >= 24 || (size >= 18.66 && +cs.fontWeight >= 700);
      if (ratio < (large ? 3 : 4.5)) bad.push(`${e.tagName.toLowerCase()}.${e.className} “${e.textContent.trim().slice(0, 30)}” ${ratio.toFixed(2)}:1`);
    }
    return bad.slice(0, 8);
  });
}

// Tab through the first `n` stops: each focused element shows a focus ring (outline ≥ 2 px).
async function focusProblems(page, n = 8) {
  const bad = [];
  await page.locator('main h1').focus();
  for (let i = 0; i < n; i++) {
    await page.keyboard.press('Tab');
    const r = await page.evaluate(() => {
      const e = document.activeElement;
      if (!e || e === document.body) return null;
      const cs = getComputedStyle(e);
      return { what: `${e.tagName.toLowerCase()} “${(e.textContent || e.getAttribute('name') || '').trim().slice(0, 25)}”`,
        ok: cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 2 };
    });
    if (r && !r.ok) bad.push(r.what);
  }
  return bad;
}

async function a11y(page, where) {
  const problems = [];
  const unnamed = await unnamedControls(page);
  if (unnamed.length) problems.push(`${where}: controls without a name: ${unnamed.join(' ')}`);
  const low = await lowContrast(page);
  if (low.length) problems.push(`${where}: contrast below 4.5:1: ${low.join(' | ')}`);
  return problems;
}

// A reply from outside, straight into the lab's Postfix (loopback needs no AUTH).
function smtpSend(from, to, text) {
  return new Promise((resolve, reject) => {
    const s = net.connect(cfg.lab.smtp_port, '127.0.0.1');
    const cmds = [`EHLO e2e.test`, `MAIL FROM:<${from}>`, `RCPT TO:<${to}>`, 'DATA', text.replace(/\n/g, '\r\n') + '\r\n.', 'QUIT'];
    let buf = '';
    s.setTimeout(20000, () => { s.destroy(); reject(new Error('SMTP timeout')); });
    s.on('data', (d) => {
      buf += d.toString();
      const lines = buf.split('\r\n');
      buf = lines.pop();
      for (const l of lines) {
        if (/^\d{3}-/.test(l)) continue; // multi-line answer goes on
        if (!/^[23]/.test(l)) { s.destroy(); reject(new Error('SMTP: ' + l)); return; }
        const next = cmds.shift();
        if (next) s.write(next + '\r\n'); else { s.end(); resolve(); }
      }
    });
    s.on('error', reject);
  });
}


// The connect link of the invitation to `address` in a lab Maildir (the system mailer sent it
// through Postfix into Dovecot): the raw files, quoted-printable soft breaks and base64 parts
// decoded enough to find /connect/inv_….
function inviteLink(maildir, address) {
  const files = [];
  for (const sub of ['new', 'cur']) {
    const dir = path.join(maildir, sub);
    if (fs.existsSync(dir)) for (const f of fs.readdirSync(dir)) files.push(path.join(dir, f));
  }
  for (const f of files) {
    const raw = fs.readFileSync(f, 'latin1');
    if (!new RegExp('^Subject: .*invites you to connect ' + address.replace('.', '\\.'), 'mi').test(raw.replace(/\r?\n[ \t]+/g, ' '))) continue;
    const texts = [raw.replace(/=\r?\n/g, '').replace(/=3D/gi, '=')];
    for (const b of raw.match(/(?:^[A-Za-z0-9+/=]{20,}\r?\n)+/gm) || []) texts.push(Buffer.from(b.replace(/\s+/g, ''), 'base64').toString('utf8'));
    for (const t of texts) {
      const m = t.match(/(http:\/\/127\.0\.0\.1:\d+\/connect\/inv_[A-Za-z0-9_-]{43})/);
      if (m) return m[1];
    }
  }
  return null;
}
// The welcome link of the login invite in a lab Maildir ("You've been added to ... set your
// password"), decoded as inviteLink does.
function welcomeLink(maildir) {
  const files = [];
  for (const sub of ['new', 'cur']) {
    const dir = path.join(maildir, sub);
    if (fs.existsSync(dir)) for (const f of fs.readdirSync(dir)) files.push(path.join(dir, f));
  }
  for (const f of files) {
    const raw = fs.readFileSync(f, 'latin1');
    if (!/^Subject: .*set your password/mi.test(raw.replace(/\r?\n[ \t]+/g, ' '))) continue;
    const texts = [raw.replace(/=\r?\n/g, '').replace(/=3D/gi, '=')];
    for (const b of raw.match(/(?:^[A-Za-z0-9+/=]{20,}\r?\n)+/gm) || []) texts.push(Buffer.from(b.replace(/\s+/g, ''), 'base64').toString('utf8'));
    for (const t of texts) {
      const m = t.match(/(http:\/\/127\.0\.0\.1:\d+\/welcome\/wel_[A-Za-z0-9_-]{43})/);
      if (m) return m[1];
    }
  }
  return null;
}
// ---------------------------------------------------------------------------------------------
step('the first screen (sign-in, then Mailboxes) transfers under 100 KB', async () => {
  const page = S.admin = await newPage();
  const sizes = [];
  page.on('requestfinished', (req) => sizes.push(req.sizes().then((s) => s.responseBodySize + s.responseHeadersSize).catch(() => 0)));
  await signIn(page, cfg.admin);
  await page.getByRole('heading', { name: 'Mailboxes', level: 1 }).waitFor();
  await page.waitForLoadState('networkidle');
  const total = (await Promise.all(sizes)).reduce((a, b) => a + b, 0);
  console.log(`# first screen: ${total} bytes transferred in ${sizes.length} responses`);
  check(total > 0 && total < 100 * 1024, `the first screen transferred ${total} bytes`);
});

step('an admin signs in and sees the team: members with seat state and used/available', async () => {
  const page = S.admin;
  await page.locator('#nav').getByRole('link', { name: 'My Team' }).click();
  await page.getByRole('heading', { name: 'My Team', level: 1 }).waitFor();
  const alice = page.locator(`tr[data-email="${cfg.user}"]`);
  await alice.waitFor();
  check((await alice.innerText()).includes('Active'), 'Alice\'s seat state is not shown');
  await page.locator('#team-display', { hasText: '0/6' }).waitFor();
  await shot(page, 'team');
});

step('the admin buys a slot and assigns it to Alice (2 → 3 connections)', async () => {
  const page = S.admin;
  await page.getByLabel('Slots to buy').fill('1');
  await page.getByRole('button', { name: 'Buy slots' }).click();
  await page.locator('#team-free', { hasText: /^1$/ }).waitFor();
  const alice = page.locator(`tr[data-email="${cfg.user}"]`);
  await alice.getByRole('button', { name: 'Assign a slot' }).click();
  await alice.locator('.display', { hasText: '0/3' }).waitFor();
  await page.locator('#team-free', { hasText: /^0$/ }).waitFor();
});

step('a user connects a mailbox against the mail lab and sees it turn Good (the connection test)', async () => {
  const page = S.user = await newPage();
  await signIn(page, cfg.user);
  await page.getByRole('heading', { name: 'Mailboxes', level: 1 }).waitFor();
  const address = await connect(page, 'alice');
  await page.locator('#connect-form .result', { hasText: `${address} is connected.` }).waitFor({ timeout: 45000 });
  const row = page.locator(`tr[data-address="${address}"]`);
  await row.locator('.badge', { hasText: 'Good' }).waitFor();
  check((await row.innerText()).includes('Default'), 'the first mailbox is not marked Default (R16)');
  await shot(page, 'mailboxes-connected');
});

step('a second and a third mailbox connect (the slot made room for the third)', async () => {
  const page = S.user;
  for (const local of ['alice2', 'alice3']) {
    const address = await connect(page, local);
    await page.locator('#connect-form .result', { hasText: `${address} is connected.` }).waitFor({ timeout: 45000 });
    await page.locator(`tr[data-address="${address}"] .badge`, { hasText: 'Good' }).waitFor();
  }
});

step('a refused action shows the error in words next to the form: the mailbox limit (R3)', async () => {
  const page = S.user;
  await connect(page, 'alice4');
  const want = 'Mailbox limit reached (3 of 3). Ask your admin for another slot.';
  const err = page.locator('#connect-form p.error[role="alert"]');
  await err.waitFor();
  const text = await err.innerText();
  check(text === want, `expected “${want}”, got “${text}”`);
  await shot(page, 'mailbox-limit-error');
});

step('bulk: select two mailboxes → Manage Master Inbox sets the master of both (R19)', async () => {
  const page = S.user;
  await page.getByLabel('Select alice2@example.test').check();
  await page.getByLabel('Select alice3@example.test').check();
  await page.locator('.bulk-actions', { hasText: '2 selected' }).waitFor();
  await page.getByRole('button', { name: 'Manage Master Inbox' }).click();
  const dlg = page.getByRole('dialog', { name: 'Manage Master Inbox' });
  await dlg.getByLabel('Master inbox').selectOption({ label: 'alice@example.test' });
  await dlg.getByRole('button', { name: 'Save' }).click();
  await dlg.waitFor({ state: 'detached' });
  for (const a of ['alice2@example.test', 'alice3@example.test']) {
    await page.locator(`tr[data-address="${a}"] td[data-label="Master inbox"]`, { hasText: 'alice@example.test' }).waitFor();
  }
  const list = await api(page, '/mailboxes');
  const master = list.items.find((m) => m.address === 'alice@example.test').id;
  check(list.items.filter((m) => m.master_id === master).length === 2, 'the API does not show two mailboxes with the master');
  await shot(page, 'master-inbox-set');
});

step('compose from the non-default mailbox; it is sent, and the reply arrives in the unified inbox', async () => {
  const page = S.user;
  await go(page, 'inbox/compose');
  const from = page.getByLabel('From');
  const options = await from.locator('option').allInnerTexts();
  check(options.length === 3 && options.every((o) => o.includes('@example.test')), 'From lists: ' + options.join(' | '));
  check((await from.inputValue()) === (await api(page, '/mailboxes')).items.find((m) => m.is_default).id, 'From does not start at the default mailbox');
  await from.selectOption({ label: 'Alice Martin <alice2@example.test>' });
  const subject = 'Console hello ' + Date.now();
  await page.getByLabel('To').fill('bob@example.test');
  await page.getByLabel('Subject').fill(subject);
  await page.getByLabel('Message').fill('Hi Bob,\n\nsent from the console.');
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/v1/messages') && r.request().method() === 'POST'),
    page.getByRole('button', { name: 'Send' }).click(),
  ]);
  const queued = await resp.json();
  check(resp.status() === 202, 'POST /messages answered ' + resp.status());
  await page.getByText('Sent ✓').waitFor({ timeout: 45000 });
  const out = await api(page, '/messages/' + queued.id);
  const from2 = (await api(page, '/mailboxes')).items.find((m) => m.address === 'alice2@example.test').id;
  check(out.from_mailbox_id === from2, 'sent from ' + out.from_mailbox_id);
  // Bob answers; R19: replies go to the master inbox (alice@), threaded by In-Reply-To
  await smtpSend('bob@example.test', 'alice@example.test',
    `From: Bob <bob@example.test>\nTo: alice@example.test\nSubject: Re: ${subject}\n` +
    `Message-ID: <e2e-${Date.now()}@example.test>\nIn-Reply-To: <${out.message_id}>\nDate: ${new Date().toUTCString()}\n\nThanks Alice, Thursday works.\n`);
  await page.locator('#nav').getByRole('link', { name: 'Inbox', exact: true }).click();
  // the answer lands in the master inbox's conversation, classified as a reply (R22)
  const row = page.locator('tr', { hasText: subject }).filter({ has: page.locator('td[data-label="Kind"]', { hasText: 'Reply' }) });
  await row.waitFor({ timeout: 45000 });
  await shot(page, 'inbox');
  await row.getByRole('link').click();
  await page.locator('.thread', { hasText: 'Thursday works' }).waitFor();
  check(await page.getByRole('heading', { name: 'Reply' }).isVisible(), 'the conversation has no reply form');
  await shot(page, 'conversation');
});

step('an admin adds a webhook in the console: the secret is shown once, with a copy button', async () => {
  const page = S.admin;
  await go(page, 'webhooks');
  S.hookUrl = `http://127.0.0.1:${receiver.address().port}/hooks/e2e`;
  const form = page.locator('#webhook-form');
  await form.getByLabel('Endpoint URL').fill(S.hookUrl);
  await form.getByLabel(/enrollment\.paused/).check();
  await form.getByLabel(/message\.received/).uncheck();
  await form.getByRole('button', { name: 'Add webhook' }).click();
  const dlg = page.getByRole('dialog', { name: 'Webhook added' });
  await dlg.waitFor();
  check((await dlg.innerText()).includes('it will not be shown again'), 'the dialog does not say the secret is shown once');
  S.hookSecret = await dlg.getByLabel('Signing secret').inputValue();
  check(/^whsec_/.test(S.hookSecret), 'secret: ' + S.hookSecret);
  await dlg.getByRole('button', { name: 'Copy secret' }).click();
  await dlg.getByText('Copied to the clipboard.').waitFor();
  const dlgProblems = await a11y(page, 'the secret dialog');
  check(!dlgProblems.length, dlgProblems.join('\n'));
  const clip = await page.evaluate(() => navigator.clipboard.readText());
  check(clip === S.hookSecret, 'the clipboard holds ' + clip);
  await shot(page, 'webhook-secret');
  await dlg.getByRole('button', { name: 'Done' }).click();
  await dlg.waitFor({ state: 'detached' });
  const row = page.locator(`tr[data-url="${S.hookUrl}"]`);
  await row.waitFor();
  const list = await api(page, '/webhooks');
  const w = list.items.find((x) => x.url === S.hookUrl);
  check(w && !('secret' in w) && w.events.join() === 'mailbox.status,enrollment.paused', 'GET /webhooks: ' + JSON.stringify(list.items));
  S.hookId = w.id;
  await shot(page, 'webhooks');
});

step('a user creates a 2-step sequence in the console and enrolls prospects from a CSV whose preview shows the bad rows', async () => {
  const page = S.user;
  await go(page, 'sequences/new');
  S.seqName = 'E2E follow-up ' + Date.now();
  await page.getByLabel('Name', { exact: true }).fill(S.seqName);
  const steps = page.locator('fieldset.step');
  await steps.nth(0).getByLabel('Subject').fill('Hello {{first_name|there}}');
  await steps.nth(0).getByLabel('Text').fill('First step from the e2e test.');
  await page.getByRole('button', { name: 'Add a step' }).click();
  await steps.nth(1).getByLabel('Wait (minutes after the previous step)').fill('1440');
  await steps.nth(1).getByLabel('Subject').fill('Following up');
  await steps.nth(1).getByLabel('Text').fill('Second step.');
  await page.getByRole('button', { name: 'Create sequence' }).click();
  await page.locator('main h1', { hasText: S.seqName }).waitFor();
  check((await page.locator('ol.steps-view li').count()) === 2, 'the sequence does not show 2 steps');
  S.seqUrl = page.url();
  const csv = 'email,first_name,company\nbob@example.test,Bob,Example\nnot-an-email,Xavier,Nowhere\n' +
    'admin@example.test,Ada,Example\nbob@example.test,Bob again,Twice\n,Nobody,Empty\n';
  await page.getByLabel('CSV file').setInputFiles({ name: 'prospects.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  const preview = page.locator('.preview');
  await preview.getByText('5 rows: 2 ready, 3 with errors (left out).').waitFor();
  const bad = await preview.locator('tr.bad td[data-label="Problem"]').allInnerTexts();
  check(bad.join('|') === 'not an email address|listed twice|no email address', 'bad rows: ' + bad.join('|'));
  await shot(page, 'sequence-csv-preview');
  await page.getByRole('button', { name: 'Import and enroll 2 prospects' }).click();
  await page.getByText('2 prospects enrolled.').waitFor();
  const rows = page.locator('section[aria-labelledby="enr-title"] tbody tr');
  await waitFor('2 enrollments', async () => (await rows.count()) === 2);
  check((await rows.locator('td[data-label="State"]', { hasText: 'active' }).count()) === 2, 'the enrollments are not active');
});

step('pause and resume an enrollment; the webhook gets enrollment.paused, signed with the secret', async () => {
  const page = S.user;
  const row = () => page.locator('section[aria-labelledby="enr-title"] tr', { hasText: 'bob@example.test' });
  await row().getByRole('button', { name: 'Pause' }).click();
  await row().locator('td[data-label="State"]', { hasText: 'paused' }).waitFor();
  check((await row().innerText()).includes('manual'), 'no pause reason shown: ' + await row().innerText());
  await shot(page, 'sequence-enrollment-paused');
  await row().getByRole('button', { name: 'Resume' }).click();
  await row().locator('td[data-label="State"]', { hasText: 'active' }).waitFor();
  const enr = await api(page, '/enrollments');
  check(enr.items.every((e) => e.state === 'active'), 'after resume: ' + JSON.stringify(enr.items.map((e) => e.state)));
  const hook = await waitFor('the enrollment.paused delivery', () => hooks.find((x) => x.headers['x-mailfleet-event'] === 'enrollment.paused'));
  check(hook.path === '/hooks/e2e' && hmacOk(S.hookSecret, hook), 'bad signature: ' + hook.headers['x-mailfleet-signature']);
  check(JSON.parse(hook.body).data.reason === 'manual', 'delivery body: ' + hook.body);
});

step('the deliveries list shows it delivered (status, attempts, last status code); edit, rotate, Escape, delete', async () => {
  const page = S.admin;
  await go(page, 'webhooks');
  await page.locator(`tr[data-url="${S.hookUrl}"]`).getByRole('link', { name: 'Deliveries' }).click();
  await page.getByRole('heading', { name: 'Deliveries', level: 1 }).waitFor();
  const row = page.locator('tr[data-status="delivered"]', { hasText: 'enrollment.paused' });
  await row.waitFor({ timeout: 20000 });
  check(await row.locator('td[data-label="Attempts"]').innerText() === '1', 'attempts: ' + await row.innerText());
  check(await row.locator('td[data-label="Last status code"]').innerText() === '200', 'status code: ' + await row.innerText());
  await shot(page, 'webhook-deliveries');
  const listProblems = await a11y(page, 'the deliveries');
  check(!listProblems.length, listProblems.join('\n'));
  await page.getByRole('link', { name: '← All webhooks' }).click();
  const w = () => page.locator(`tr[data-url="${S.hookUrl}"]`);
  // edit: events and active
  await w().getByRole('button', { name: 'Edit' }).click();
  let dlg = page.getByRole('dialog', { name: 'Edit webhook' });
  await dlg.getByLabel(/mailbox\.status/).uncheck();
  await dlg.getByLabel(/^Active/).uncheck();
  await dlg.getByRole('button', { name: 'Save' }).click();
  await dlg.waitFor({ state: 'detached' });
  await w().locator('.badge', { hasText: 'Inactive' }).waitFor();
  const got = await api(page, '/webhooks/' + S.hookId);
  check(got.active === false && got.events.join() === 'enrollment.paused', 'after edit: ' + JSON.stringify(got));
  // rotate: a new secret, shown once
  await w().getByRole('button', { name: 'Rotate secret' }).click();
  await page.getByRole('dialog', { name: 'Rotate the signing secret?' }).getByRole('button', { name: 'Rotate secret' }).click();
  dlg = page.getByRole('dialog', { name: 'New signing secret' });
  const secret2 = await dlg.getByLabel('Signing secret').inputValue();
  check(/^whsec_/.test(secret2) && secret2 !== S.hookSecret, 'rotated secret: ' + secret2);
  await dlg.getByRole('button', { name: 'Done' }).click();
  await dlg.waitFor({ state: 'detached' });
  // delete: the confirmation traps Tab, starts on Cancel, closes on Escape; then confirm
  const del = w().getByRole('button', { name: 'Delete' });
  await del.click();
  dlg = page.getByRole('dialog', { name: 'Delete this webhook?' });
  check((await dlg.innerText()).includes('delivery history is deleted'), 'the confirmation does not say what is lost');
  check(await page.evaluate(() => document.activeElement.textContent) === 'Cancel', 'a dangerous confirmation must start on Cancel');
  for (let i = 0; i < 5; i++) {
    await page.keyboard.press(i % 2 ? 'Shift+Tab' : 'Tab');
    check(await page.evaluate(() => !!document.activeElement.closest('dialog')), 'Tab left the dialog');
  }
  await page.keyboard.press('Escape');
  await dlg.waitFor({ state: 'detached' });
  check(await page.evaluate(() => document.activeElement.textContent) === 'Delete', 'focus did not return to the Delete button');
  await del.click();
  await dlg.getByRole('button', { name: 'Delete webhook' }).click();
  await w().waitFor({ state: 'detached' });
  const after = await page.evaluate(async (id) => (await fetch('/api/v1/webhooks/' + id)).status, S.hookId);
  check(after === 404, 'the deleted webhook answers ' + after);
});

step('a user files a mailbox request and sees each rule check; an admin approves it (the organisation allows it, R10)', async () => {
  const page = S.carol = await newPage();
  await signIn(page, cfg.user2);
  await go(page, 'requests');
  await page.getByLabel('Email address').fill('carol.work@example.test');
  await page.getByRole('button', { name: 'File request' }).click();
  const result = page.locator('.result');
  await result.getByText('Request filed; it waits for approval.').waitFor();
  const checks = await result.locator('.checks li').allInnerTexts();
  for (const rule of ['R5', 'R2', 'R7', 'R6', 'R3']) {
    check(checks.some((c) => c.includes('✓ ' + rule)), `rule check ${rule} missing or failed: ${checks.join(' | ')}`);
  }
  await shot(page, 'request-filed');
  const admin = S.admin;
  await go(admin, 'requests');
  const card = admin.locator('li.request', { hasText: 'carol.work@example.test' });
  await card.getByRole('button', { name: 'Approve' }).click();
  await admin.getByText('Approved: carol.work@example.test.').waitFor();
  await card.locator('.badge', { hasText: 'completed' }).waitFor();
  await shot(admin, 'request-approved');
  await go(page, 'requests');
  await page.locator('li.request', { hasText: 'carol.work@example.test' }).locator('.badge', { hasText: 'completed' }).waitFor();
  const boxes = await api(page, '/mailboxes');
  check(boxes.items.some((m) => m.address === 'carol.work@example.test'), 'no mailbox made by the approval');
});

step('lock a seat in My Team: the locked user cannot sign in (R2); unlock, and they can', async () => {
  const admin = S.admin;
  await go(admin, 'team');
  const row = admin.locator(`tr[data-email="${cfg.user2}"]`);
  await row.getByRole('button', { name: 'Lock seat' }).click();
  await admin.getByRole('dialog', { name: /Lock Carol Lee/ }).getByRole('button', { name: 'Lock seat' }).click();
  await row.locator('.badge', { hasText: 'Locked' }).waitFor();
  await shot(admin, 'team-seat-locked');
  const carol = S.carol;
  await carol.getByRole('button', { name: 'Sign out' }).click().catch(() => {});
  const refused = await signIn(carol, cfg.user2, true);
  check(refused === 'This seat is locked. An admin can unlock it.', 'sign-in of a locked seat: ' + refused);
  await shot(carol, 'sign-in-seat-locked');
  await row.getByRole('button', { name: 'Unlock seat' }).click();
  await row.locator('.badge', { hasText: 'Active' }).waitFor();
  await signIn(carol, cfg.user2);
});

step('My Team: the admin adds Dave with "email a link to set a password"; Dave opens the emailed link, sets a password, signs in and sees the console', async () => {
  const admin = S.admin;
  await go(admin, 'team');
  const form = admin.locator('#team-add-form');
  await form.getByLabel('Name').fill('Dave New');
  await form.getByLabel('Email', { exact: true }).fill(cfg.user); // taken: the error in words, next to the form
  await form.getByRole('button', { name: 'Add member' }).click();
  await form.locator('p.error[role="alert"]', { hasText: 'Someone already has this email address.' }).waitFor();
  await form.getByLabel('Email', { exact: true }).fill('dave@example.test');
  check(await form.getByLabel('Email a link to set a password').isChecked(), 'the login invite box starts unchecked');
  await form.getByRole('button', { name: 'Add member' }).click();
  await admin.getByText('Dave New was added; a link to set a password was emailed to dave@example.test.').waitFor();
  await admin.locator('tr[data-email="dave@example.test"]').getByRole('button', { name: 'Send login invite' }).waitFor();
  await shot(admin, 'team-member-invited');
  const link = await waitFor('the login invite email in dave@\'s Maildir', () => welcomeLink(cfg.lab.maildir_dave));
  check(link.startsWith(cfg.base + '/welcome/wel_'), 'link: ' + link);
  const page = await newPage();
  await page.goto(link);
  await page.getByText('dave@example.test').first().waitFor();
  const pw = 'dave-' + crypto.randomBytes(6).toString('hex');
  await page.getByLabel('New password').fill(pw);
  await page.getByLabel('Confirm the password').fill(pw + 'x');
  await page.getByRole('button', { name: 'Set password' }).click();
  await page.getByText('The two passwords differ.').waitFor();
  await page.getByLabel('New password').fill(pw);
  await page.getByLabel('Confirm the password').fill(pw);
  await shot(page, 'welcome-page');
  await page.getByRole('button', { name: 'Set password' }).click();
  await page.getByRole('heading', { name: 'Sign in to mailfleet' }).waitFor(); // 303 → the console's sign-in
  check(page.url() === cfg.base + '/', 'after the welcome page: ' + page.url());
  await page.getByLabel('Email', { exact: true }).fill('dave@example.test');
  await page.getByLabel('Password', { exact: true }).fill(pw);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#top').waitFor({ state: 'visible' });
  await page.getByRole('heading', { name: 'Mailboxes', level: 1 }).waitFor();
  check((await page.locator('#me').innerText()).includes('Dave New'), 'signed in as: ' + await page.locator('#me').innerText());
  await shot(page, 'welcome-signed-in');
  await page.goto(link); // the link works once
  await page.getByText('This link has already been used').waitFor();
  await page.context().close();
});

step('a mailbox is deleted through the confirmation that says its history is removed (R9)', async () => {
  const page = S.user;
  await go(page, 'mailboxes');
  const row = page.locator('tr[data-address="alice3@example.test"]');
  await row.getByRole('button', { name: 'Delete' }).click();
  const dlg = page.getByRole('dialog', { name: 'Delete alice3@example.test?' });
  const text = await dlg.innerText();
  check(/removes its history/.test(text) && /cannot be undone/.test(text), 'the confirmation says: ' + text);
  await shot(page, 'mailbox-delete-confirm');
  await dlg.getByRole('button', { name: 'Delete mailbox and history' }).click();
  await row.waitFor({ state: 'detached' });
  await page.getByText('alice3@example.test was deleted.').waitFor();
  check(!(await api(page, '/mailboxes')).items.some((m) => m.address === 'alice3@example.test'), 'the API still lists it');
});

step('a mailbox with a wrong password shows red Failing with the reason; Reconnect with the right one turns it Good', async () => {
  const page = S.user;
  const address = await connect(page, 'alice4', 'not-the-password');
  await page.locator('#connect-form .result', { hasText: 'The server refused the login.' }).waitFor({ timeout: 45000 });
  const row = page.locator(`tr[data-address="${address}"]`);
  const badge = row.locator('.badge.bad', { hasText: 'Failing' });
  await badge.waitFor();
  const color = await badge.evaluate((e) => getComputedStyle(e).color);
  check(color === 'rgb(153, 27, 27)', 'the Failing badge is not red: ' + color);
  const reason = (await row.locator('.reason').innerText()).trim();
  check(reason.length > 3, 'no reason shown beside Failing');
  await shot(page, 'mailbox-failing');
  await row.getByRole('button', { name: 'Reconnect' }).click();
  const dlg = page.getByRole('dialog', { name: `Reconnect ${address}` });
  check((await dlg.innerText()).includes('Last error: ' + reason), 'the dialog does not show the last error');
  await fillServers(dlg, address, cfg.lab.passwords.alice4);
  await dlg.getByRole('button', { name: 'Reconnect' }).click();
  await dlg.getByText(`${address} is connected.`).waitFor({ timeout: 45000 });
  await shot(page, 'mailbox-reconnected');
  await dlg.getByRole('button', { name: 'Close' }).click();
  await row.locator('.badge.good', { hasText: 'Good' }).waitFor({ timeout: 15000 });
});

step('notifications: mark all read; a notification email switched off in Settings stays off after a reload', async () => {
  const page = S.user;
  await page.locator('#bell').click();
  await page.getByRole('heading', { name: 'Notifications', level: 1 }).waitFor();
  await page.locator('li.notification.unread').first().waitFor();
  await page.getByRole('button', { name: 'Mark all as read' }).click();
  await page.locator('main').getByText(/notifications? marked as read\./).waitFor();
  check(!(await page.locator('li.notification.unread').count()), 'unread notifications remain');
  check((await api(page, '/notifications?unread=true')).items.length === 0, 'the API still has unread notifications');
  await page.locator('#bell-count').waitFor({ state: 'hidden' });
  await page.getByRole('link', { name: 'Email settings' }).click();
  await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
  const sw = page.getByRole('switch', { name: 'A mailbox stops working and needs new credentials' });
  check(await sw.isChecked(), 'the email of mailbox_failing starts on');
  await sw.uncheck();
  await page.getByText(/^Saved: email off/).waitFor();
  await shot(page, 'settings');
  await page.reload();
  await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
  check(!(await page.getByRole('switch', { name: 'A mailbox stops working and needs new credentials' }).isChecked()), 'the switch is on again after a reload');
  const prefs = await api(page, '/me/notification-preferences');
  check(prefs.mailbox_failing === false && prefs.mailbox_recovered === true, 'preferences: ' + JSON.stringify(prefs));
  // reachable from the user menu too
  await go(page, 'mailboxes');
  await page.locator('#top').getByRole('link', { name: 'Settings' }).click();
  await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
});


// ---- team inboxes: invite a shared inbox, members, round-robin, collision (R14, R20, R21) ----
step('Inbox Connections: errors in words (member login, generic personal, pending); an admin invites support@ as shared and the email arrives in Dovecot', async () => {
  const page = S.admin;
  await go(page, 'connections');
  const form = page.locator('#invite-form');
  const invite = async (address, kind) => {
    await form.getByLabel('Email address').fill(address);
    await form.getByLabel('Kind').selectOption(kind);
    await form.getByRole('button', { name: 'Send invitation' }).click();
  };
  const err = form.locator('p.error[role="alert"]');
  const want = async (text) => { await err.filter({ hasText: text }).waitFor(); };
  await invite(cfg.user2, 'personal');
  await want('This address is the login of a member of your team: they connect their mailbox themselves on the Mailboxes screen.');
  await invite('info@example.test', 'personal');
  await want('Generic addresses such as info@ or sales@ cannot go on a personal seat. Connect it as a shared mailbox instead.');
  await form.getByLabel('Note').fill('Please connect the support inbox.');
  await invite('support@example.test', 'shared');
  await page.locator('main').getByText('Invitation sent to support@example.test.').waitFor();
  const row = page.locator('tr[data-address="support@example.test"][data-status="pending"]');
  await row.waitFor();
  check(/Expires/.test(await row.innerText()), 'the pending invitation shows no expiry: ' + await row.innerText());
  await invite('support@example.test', 'shared');
  await want('An invitation to this address is already pending. Resend it from the list of invitations instead.');
  await shot(page, 'connections-invited');
  S.link = await waitFor('the invitation email in support@\'s Maildir', () => inviteLink(cfg.lab.maildir_support, 'support@example.test'));
  check(S.link.startsWith(cfg.base + '/connect/inv_'), 'link: ' + S.link);
});

step('the invitee opens the connect link, enters the lab\'s IMAP/SMTP settings and the page says connected; Inbox Connections shows it', async () => {
  const page = await newPage();
  await page.goto(S.link);
  const pw = cfg.lab.passwords.support;
  for (const [k, v] of Object.entries({ imap_host: '127.0.0.1', imap_port: String(cfg.lab.imap_port), imap_username: 'support@example.test',
    imap_password: pw, smtp_host: '127.0.0.1', smtp_port: String(cfg.lab.smtp_port), smtp_username: 'support@example.test',
    smtp_password: pw, sender_name: 'Support Team' })) await page.locator(`[name="${k}"]`).fill(v);
  await page.locator('[name="imap_security"]').selectOption('starttls');
  await page.locator('[name="smtp_security"]').selectOption('starttls');
  await page.getByRole('button', { name: 'Test and connect' }).click();
  await page.getByText('is connected').waitFor({ timeout: 45000 });
  await shot(page, 'connect-page-connected');
  await page.context().close();
  const admin = S.admin;
  await go(admin, 'connections');
  await admin.locator('tr[data-address="support@example.test"][data-status="accepted"]').waitFor();
  const contributor = admin.locator('tr[data-email="support@example.test"]');
  await contributor.waitFor();
  check((await contributor.innerText()).includes('Support Team'), 'contributor row: ' + await contributor.innerText());
  await admin.locator('section[aria-labelledby="inboxes-title"] tr[data-address="support@example.test"]').waitFor();
  await shot(admin, 'connections-accepted');
});

step('the shared mailbox shows up for the admin (its owner), who adds Alice (available) and Carol (away) with reply access and sets round-robin', async () => {
  const page = S.admin;
  await go(page, 'mailboxes');
  const row = page.locator('tr[data-address="support@example.test"]');
  await row.locator('.badge', { hasText: 'Shared' }).waitFor();
  await row.getByRole('link', { name: 'Members' }).click();
  await page.locator('main h1', { hasText: 'support@example.test' }).waitFor();
  S.supportId = page.url().split('/').pop();
  const add = page.locator('#add-member-form');
  await add.getByLabel('Member to add').selectOption({ label: `Alice Martin <${cfg.user}>` });
  await add.getByLabel('Access').selectOption('reply');
  await add.getByRole('button', { name: 'Add member' }).click();
  await page.locator(`tr[data-email="${cfg.user}"]`).waitFor();
  await add.getByLabel('Member to add').selectOption({ label: `Carol Lee <${cfg.user2}>` });
  await add.getByLabel('Access').selectOption('reply');
  await add.getByLabel('Available for round-robin').uncheck();
  await add.getByRole('button', { name: 'Add member' }).click();
  await page.locator(`tr[data-email="${cfg.user2}"]`).waitFor();
  const rule = page.locator('#assignment-form');
  await rule.getByLabel('Mode').selectOption('round_robin');
  await rule.getByLabel('Cap per member').fill('5');
  await rule.getByRole('button', { name: 'Save assignment' }).click();
  await page.locator('main').getByText('Assignment saved.').waitFor();
  const members = await api(page, `/mailboxes/${S.supportId}/members`);
  const got = Object.fromEntries(members.members.map((x) => [x.email, `${x.access}/${x.available}`]));
  check(got[cfg.user] === 'reply/true' && got[cfg.user2] === 'reply/false', 'members: ' + JSON.stringify(got));
  const a = await api(page, `/mailboxes/${S.supportId}/assignment`);
  check(a.mode === 'round_robin' && a.cap === 5, 'assignment: ' + JSON.stringify(a));
  const problems = await a11y(page, 'the shared mailbox');
  check(!problems.length, problems.join('\n'));
  await shot(page, 'shared-mailbox-owner');
  // a member sees it read-only
  await S.carol.goto(cfg.base + '/#/shared/' + S.supportId);
  await S.carol.locator('main h1', { hasText: 'support@example.test' }).waitFor();
  await S.carol.getByText('Only the owner changes the members.').waitFor();
  check(!(await S.carol.locator('#assignment-form').count()), 'a member gets the assignment form');
  await shot(S.carol, 'shared-mailbox-member');
  await waitFor('support@ good and backfilled', async () => {
    const m = await api(page, '/mailboxes/' + S.supportId);
    return m.status === 'good' && m.sync && m.sync.backfill_done;
  }, 60000);
});

step('a customer\'s mail delivered into support@ is assigned to Alice by round-robin: it is in her inbox under "Assigned to me"', async () => {
  S.ticket = 'Order 4711 has not arrived ' + Date.now();
  await smtpSend('bob@example.test', 'support@example.test',
    `From: Bob Customer <bob@example.test>\nTo: support@example.test\nSubject: ${S.ticket}\n` +
    `Message-ID: <ticket-${Date.now()}@example.test>\nDate: ${new Date().toUTCString()}\n\nHello, my order has not arrived.\n`);
  const page = S.user;
  await go(page, 'inbox');
  await page.getByLabel('Assigned').selectOption('me');
  const row = page.locator('tr', { hasText: S.ticket });
  await row.waitFor({ timeout: 60000 });
  check((await row.locator('td[data-label="Assigned"]').innerText()) === 'You', 'assigned: ' + await row.innerText());
  check((await row.locator('td[data-label="Mailbox"]').innerText()) === 'support@example.test', 'mailbox: ' + await row.innerText());
  await shot(page, 'inbox-assigned-to-me');
  await row.getByRole('link').click();
  await page.locator('main h1', { hasText: S.ticket }).waitFor();
  S.ticketUrl = page.url();
  S.ticketId = S.ticketUrl.split('/').pop();
  check((await page.locator('#assignee').innerText()) === 'You', 'the conversation does not show Alice as assignee');
});

step('Alice starts replying from the shared mailbox (typing); Carol sees "Alice Martin is replying…" and is told when she starts typing; "Send anyway" sends hers', async () => {
  const page = S.user;
  const from = page.getByLabel('From');
  check((await from.inputValue()) === S.supportId, 'the reply does not start from support@');
  const [typing] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith(`/conversations/${S.ticketId}/typing`)),
    page.getByLabel('Message').fill('Hello Bob,\n\nwe are looking into it.\n\nAlice, Support'),
  ]);
  check(typing.status() === 200, 'typing answered ' + typing.status());
  const carol = S.carol;
  await carol.goto(S.ticketUrl);
  await carol.locator('main h1', { hasText: S.ticket }).waitFor();
  await carol.locator('#taken-by', { hasText: 'Alice Martin is replying…' }).waitFor();
  await carol.getByLabel('Message').fill('Hi Bob, Carol here.');
  await carol.getByText('Alice Martin is already replying to this conversation.').first().waitFor();
  await shot(carol, 'conversation-taken');
  await carol.getByRole('button', { name: 'Send reply' }).click();
  const taken = carol.locator('.taken-error');
  await taken.getByText('Alice Martin is already replying to this conversation.').waitFor();
  await taken.getByRole('button', { name: 'Send anyway' }).click();
  await carol.getByText('Sent ✓').waitFor({ timeout: 45000 });
});

step('Alice\'s reply is sent from support@ and shows in the conversation for the owner, who sets its status', async () => {
  const page = S.user;
  await page.getByRole('button', { name: 'Send reply' }).click();
  await page.getByText('Sent ✓').waitFor({ timeout: 45000 });
  const admin = S.admin;
  await admin.goto(S.ticketUrl);
  await admin.locator('main h1', { hasText: S.ticket }).waitFor();
  await admin.locator('.thread .message.out', { hasText: 'we are looking into it' }).waitFor({ timeout: 30000 });
  check((await admin.locator('#assignee').innerText()) === 'Alice Martin', 'the owner sees assignee ' + await admin.locator('#assignee').innerText());
  await admin.locator('.conv-panel').getByLabel('Status').selectOption('pending');
  await waitFor('status pending', async () => (await api(admin, '/conversations/' + S.ticketId)).status === 'pending');
  const problems = await a11y(admin, 'the shared conversation');
  check(!problems.length, problems.join('\n'));
  await shot(admin, 'conversation-shared-owner');
});

step('every screen renders (screenshots), without a script error; every control has a name, text has 4.5:1 contrast', async () => {
  const screens = [[S.user, ['sequences', 'sequences/new', 'requests', 'notifications', 'settings', 'mailboxes', 'inbox', 'inbox/compose']],
    [S.admin, ['requests', 'audit', 'connections', 'mailboxes', 'team', 'webhooks', 'settings', 'notifications']]];
  const problems = [];
  for (const [page, names] of screens) {
    for (const n of names) {
      await go(page, n);
      const errs = await page.locator('main p.error').allInnerTexts();
      check(!errs.length, `#/${n} shows an error: ${errs.join(' | ')}`);
      problems.push(...await a11y(page, '#/' + n));
      await shot(page, (page === S.admin ? 'admin-' : 'user-') + n.replace('/', '-'));
    }
  }
  // the sequence page (enrollments, CSV form) and the sign-in form
  await S.user.goto(S.seqUrl);
  await S.user.locator('main h1', { hasText: S.seqName }).waitFor();
  problems.push(...await a11y(S.user, 'sequence page'));
  const fresh = await newPage();
  await fresh.goto(cfg.base + '/');
  await fresh.getByRole('heading', { name: 'Sign in to mailfleet' }).waitFor();
  problems.push(...await a11y(fresh, 'sign-in'));
  await shot(fresh, 'sign-in');
  await fresh.context().close();
  check(!problems.length, problems.join('\n'));
  check(!pageErrors.length, 'script errors: ' + pageErrors.join(' | '));
});

step('keyboard: the focus is visible on every Tab stop; a dialog opens with the focus inside and closes on Escape', async () => {
  const bad = [];
  for (const [page, n] of [[S.user, 'mailboxes'], [S.admin, 'webhooks'], [S.user, 'settings'], [S.admin, 'team']]) {
    await go(page, n);
    bad.push(...(await focusProblems(page)).map((x) => `#/${n}: ${x}`));
  }
  check(!bad.length, 'no visible focus on: ' + bad.join(', '));
  const page = S.user;
  await go(page, 'mailboxes');
  const edit = page.locator('tr[data-address="alice@example.test"]').getByRole('button', { name: 'Edit' });
  await edit.focus();
  await page.keyboard.press('Enter');
  const dlg = page.getByRole('dialog', { name: 'Edit alice@example.test' });
  await dlg.waitFor();
  check(await page.evaluate(() => document.activeElement.closest('dialog') !== null), 'the focus is not in the dialog');
  await page.keyboard.press('Escape');
  await dlg.waitFor({ state: 'detached' });
  check(await page.evaluate(() => document.activeElement.textContent) === 'Edit', 'the focus did not go back to Edit');
});

step('at 390 px (a phone) the screens render without horizontal scrolling', async () => {
  const bad = [];
  for (const [page, names] of [[S.user, ['mailboxes', 'inbox', 'sequences/new', 'requests', 'notifications', 'settings']],
    [S.admin, ['team', 'audit', 'webhooks', 'connections']]]) {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const n of names) {
      await go(page, n);
      const r = await page.evaluate(() => ({
        sw: document.documentElement.scrollWidth, cw: document.documentElement.clientWidth,
        wide: [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1 && e.closest('dialog') === null)
          .slice(0, 3).map((e) => e.tagName + '.' + e.className),
      }));
      if (r.sw > r.cw || r.wide.length) bad.push(`#/${n}: scrollWidth ${r.sw} > ${r.cw} ${r.wide.join(',')}`);
      await shot(page, 'phone-' + n.replace('/', '-'));
    }
    await page.setViewportSize({ width: 1280, height: 900 });
  }
  check(!bad.length, bad.join('\n'));
});

step('sign out: back to the sign-in form, and the session is gone', async () => {
  const page = S.user;
  await go(page, 'mailboxes');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in to mailfleet' }).waitFor();
  const st = await page.evaluate(async () => (await fetch('/api/v1/session')).status);
  check(st === 401, 'GET /session after sign-out: ' + st);
  await page.reload();
  await page.getByRole('heading', { name: 'Sign in to mailfleet' }).waitFor();
  await shot(page, 'signed-out');
});

// ---------------------------------------------------------------------------------------------
console.log(`1..${steps.length}`);
let failed = 0;
await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
try {
  S.browser = await chromium.launch({ executablePath: cfg.chromium, headless: true, args: ['--no-sandbox'] });
} catch (e) {
  console.log(`Bail out! cannot start Chromium: ${e.message.split('\n')[0]}`);
  process.exit(1);
}
for (const [i, s] of steps.entries()) {
  const t0 = Date.now();
  try {
    await s.fn();
    console.log(`ok ${i + 1} - ${s.name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (e) {
    failed++;
    console.log(`not ok ${i + 1} - ${s.name}`);
    for (const line of String(e.stack || e).split('\n').slice(0, 8)) console.log('#   ' + line);
    for (const p of [S.user, S.admin, S.carol].filter(Boolean)) {
      const name = `failed-${i + 1}-${p === S.admin ? 'admin' : p === S.carol ? 'user2' : 'user'}`;
      await shot(p, name).catch(() => {});
      console.log(`#   screenshot: ${path.join(cfg.artifacts, name)}.png (${p.url()})`);
    }
  }
}
await S.browser.close();
receiver.closeAllConnections();
receiver.close();
process.exit(failed ? 1 : 0);
