// console.test.mjs — the web console driven in Debian's Chromium (playwright-core, headless,
// --no-sandbox) against the real `mailfleet serve` and mail lab that run_e2e.py started; the
// configuration comes in $MAILFLEET_E2E (JSON). Prints TAP; saves a screenshot per screen and
// one of the page at any failure.
import { chromium } from 'playwright-core';
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
  const page = await ctx.newPage();
  page.setDefaultTimeout(T);
  page.on('pageerror', (e) => pageErrors.push(`${page.url()}: ${e.message}`));
  return page;
}

async function signIn(page, email) {
  await page.goto(cfg.base + '/');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(cfg.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#top').waitFor({ state: 'visible' });
}

const TITLES = { mailboxes: 'Mailboxes', inbox: 'Inbox', 'inbox/compose': 'Compose', sequences: 'Sequences',
  'sequences/new': 'New sequence', requests: 'Requests', notifications: 'Notifications', team: 'My Team',
  audit: 'Audit log', connections: 'Inbox Connections' };
// Open a screen and wait until it (not the previous one) is drawn.
async function go(page, name) {
  await page.goto(cfg.base + '/#/' + name);
  await page.locator('main h1', { hasText: new RegExp('^' + TITLES[name] + '$') }).waitFor();
  await page.waitForLoadState('networkidle');
}

const api = (page, p) => page.evaluate(async (u) => { const r = await fetch('/api/v1' + u); return r.json(); }, p);

// Fill the "Connect a mailbox" form with a lab account and submit it.
async function connect(page, local) {
  const f = page.locator('#connect-form');
  const address = `${local}@${cfg.lab.domain}`;
  await f.locator('[name="address"]').fill(address);
  await f.locator('[name="imap.host"]').fill('127.0.0.1');
  await f.locator('[name="imap.port"]').fill(String(cfg.lab.imap_port));
  await f.locator('[name="imap.security"]').selectOption('starttls');
  await f.locator('[name="imap.username"]').fill(address);
  await f.locator('[name="imap.password"]').fill(cfg.lab.passwords[local]);
  await f.locator('[name="smtp.host"]').fill('127.0.0.1');
  await f.locator('[name="smtp.port"]').fill(String(cfg.lab.smtp_port));
  await f.locator('[name="smtp.security"]').selectOption('starttls');
  await f.getByRole('button', { name: 'Connect and test' }).click();
  return address;
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
  await page.locator('#team-display', { hasText: '0/4' }).waitFor();
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

step('every screen renders (screenshots), without a script error', async () => {
  const screens = [[S.user, ['sequences', 'sequences/new', 'requests', 'notifications']],
    [S.admin, ['requests', 'audit', 'connections', 'mailboxes']]];
  for (const [page, names] of screens) {
    for (const n of names) {
      await go(page, n);
      const errs = await page.locator('main p.error').allInnerTexts();
      check(!errs.length, `#/${n} shows an error: ${errs.join(' | ')}`);
      await shot(page, (page === S.admin ? 'admin-' : 'user-') + n.replace('/', '-'));
    }
  }
  check(!pageErrors.length, 'script errors: ' + pageErrors.join(' | '));
});

step('at 390 px (a phone) the screens render without horizontal scrolling', async () => {
  const bad = [];
  for (const [page, names] of [[S.user, ['mailboxes', 'inbox', 'sequences/new', 'requests']], [S.admin, ['team', 'audit']]]) {
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
    for (const p of [S.user, S.admin].filter(Boolean)) {
      const name = `failed-${i + 1}-${p === S.admin ? 'admin' : 'user'}`;
      await shot(p, name).catch(() => {});
      console.log(`#   screenshot: ${path.join(cfg.artifacts, name)}.png (${p.url()})`);
    }
  }
}
await S.browser.close();
process.exit(failed ? 1 : 0);
