// idle.mjs — the imapflow peer of bench/sync/idle.sh: hold N mailboxes in IDLE in one process.
//
//   node --expose-gc bench/sync/idle.mjs HOST PORT USERS_FILE N plain|tls CA_FILE HOLD_SECONDS
//
// Reads the first N lines EMAIL:PASSWORD of USERS_FILE. Measures its own resident memory
// (VmRSS from /proc/self/status, after a forced GC) with imapflow loaded and no connection,
// then opens N ImapFlow clients, at most 100 connecting at a time: connect (plain: no STARTTLS;
// tls: implicit TLS, the lab CA trusted), AUTHENTICATE, EXAMINE INBOX (mailboxOpen readOnly),
// IDLE (client.idle(), not awaited). Once every client is idling it samples VmRSS once a second
// for HOLD_SECONDS (GC before each sample) and prints one JSON line:
//   {"sessions":N,"mode":...,"connect_seconds":S,"base_rss_kb":B,"rss_kb":R (median of the
//    samples),"per_session_kb":(R-B)/N,"samples":[...]}
// then logs every client out. Bounded: gives up (exit 1) when the clients are not all idling
// 600 s after the start.
import { readFileSync } from 'node:fs';
import { ImapFlow } from 'imapflow';

const [host, port, usersFile, nArg, mode, caFile, holdArg] = process.argv.slice(2);
if (!holdArg || !['plain', 'tls'].includes(mode)) {
    console.error('usage: node --expose-gc idle.mjs HOST PORT USERS_FILE N plain|tls CA_FILE HOLD_SECONDS');
    process.exit(2);
}
const N = Number(nArg);
const HOLD = Number(holdArg);
const sleep = ms => new Promise(r => setTimeout(r, ms));
const gc = () => {
    if (global.gc) {
        global.gc();
        global.gc();
    }
};
const rssKb = () => {
    const m = readFileSync('/proc/self/status', 'utf8').match(/^VmRSS:\s+(\d+)/m);
    return Number(m[1]);
};

const users = readFileSync(usersFile, 'utf8')
    .split('\n')
    .map(l => l.trim())
    .filter(l => l && !l.startsWith('#'))
    .slice(0, N)
    .map(l => {
        const i = l.indexOf(':');
        return { user: l.slice(0, i), pass: l.slice(i + 1) };
    });
if (users.length < N) {
    console.error(`idle.mjs: only ${users.length} users in ${usersFile}`);
    process.exit(2);
}
const ca = mode === 'tls' ? readFileSync(caFile) : undefined;

gc();
await sleep(1000);
gc();
const base = rssKb();

const t0 = Date.now();
const deadline = t0 + 600 * 1000;
const clients = [];
let failed = 0;
let next = 0;
async function worker() {
    while (next < users.length && Date.now() < deadline) {
        const u = users[next++];
        const c = new ImapFlow({
            host,
            port: Number(port),
            secure: mode === 'tls',
            doSTARTTLS: false,
            tls: mode === 'tls' ? { ca, servername: 'localhost' } : undefined,
            auth: { user: u.user, pass: u.pass },
            logger: false,
            disableAutoIdle: true,
            maxIdleTime: false
        });
        c.on('error', () => {});
        try {
            await c.connect();
            await c.mailboxOpen('INBOX', { readOnly: true });
            c.idle().catch(() => {});
            clients.push(c);
        } catch (err) {
            failed++;
            if (failed <= 5) console.error('idle.mjs:', u.user, err && (err.responseText || err.message));
        }
    }
}
await Promise.all(Array.from({ length: 100 }, worker));
while (clients.some(c => !c.idling) && Date.now() < deadline) await sleep(200);
const idling = clients.filter(c => c.idling).length;
const connectSeconds = (Date.now() - t0) / 1000;
if (idling !== N) {
    console.error(`idle.mjs: ${idling} of ${N} clients idling (${failed} failed)`);
    for (const c of clients) c.close();
    process.exit(1);
}

const samples = [];
for (let i = 0; i < HOLD; i++) {
    await sleep(1000);
    gc();
    samples.push(rssKb());
}
const sorted = [...samples].sort((a, b) => a - b);
const rss = sorted[Math.floor(sorted.length / 2)];
const still = clients.filter(c => c.idling).length;
console.log(
    JSON.stringify({
        sessions: N,
        mode,
        connect_seconds: +connectSeconds.toFixed(1),
        base_rss_kb: base,
        rss_kb: rss,
        per_session_kb: +((rss - base) / N).toFixed(1),
        still_idling: still,
        samples
    })
);
await Promise.allSettled(clients.map(c => c.logout().catch(() => c.close())));
process.exit(still === N ? 0 : 1);
