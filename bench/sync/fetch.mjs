// fetch.mjs — the imapflow peer of bench/sync/run.sh: fetch the backfill window of INBOX once.
//
//   node bench/sync/fetch.mjs HOST PORT USER PASSWORD [EXPECT]
//
// One connection (plain IMAP, no STARTTLS), LOGIN, EXAMINE INBOX (mailboxOpen readOnly), then
// through imapflow's streaming fetch() (one message in flight in JS, backpressure to the socket):
//   UID SEARCH SINCE <30 days ago>
//   UID FETCH <the uids> (UID FLAGS INTERNALDATE RFC822.SIZE
//       BODY.PEEK[HEADER.FIELDS (MESSAGE-ID IN-REPLY-TO REFERENCES FROM TO SUBJECT DATE)]
//       BODY.PEEK[])
// i.e. the items mailfleet asks for (UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[]) plus the 7
// header fields. Each message's source and header block are counted and dropped: no MIME
// parsing, nothing stored. Prints one JSON line on stdout:
//   {"messages":N,"bytes":B,"header_bytes":H,"seconds":S,"fetch_seconds":F,"max_rss_kb":K}
// and exits 1 when EXPECT is given and a different number of messages came back.
import { ImapFlow } from 'imapflow';

const [host, port, user, pass, expectArg] = process.argv.slice(2);
if (!pass) {
    console.error('usage: node fetch.mjs HOST PORT USER PASSWORD [EXPECT]');
    process.exit(2);
}
const t0 = process.hrtime.bigint();
const secs = (a, b) => Number(b - a) / 1e9;

const client = new ImapFlow({
    host,
    port: Number(port),
    secure: false,
    doSTARTTLS: false,
    auth: { user, pass },
    logger: false,
    disableAutoIdle: true,
    socketTimeout: 10 * 60 * 1000
});

let n = 0;
let bytes = 0;
let headerBytes = 0;
try {
    await client.connect();
    await client.mailboxOpen('INBOX', { readOnly: true });
    const since = new Date(Date.now() - 30 * 86400 * 1000);
    const tf = process.hrtime.bigint();
    const query = {
        uid: true,
        flags: true,
        internalDate: true,
        size: true,
        headers: ['message-id', 'in-reply-to', 'references', 'from', 'to', 'subject', 'date'],
        source: true
    };
    for await (const msg of client.fetch({ since }, query, { uid: true })) {
        n++;
        bytes += msg.source ? msg.source.length : 0;
        headerBytes += msg.headers ? msg.headers.length : 0;
    }
    const te = process.hrtime.bigint();
    await client.logout();
    const out = {
        messages: n,
        bytes,
        header_bytes: headerBytes,
        seconds: +secs(t0, te).toFixed(3),
        fetch_seconds: +secs(tf, te).toFixed(3),
        max_rss_kb: process.resourceUsage().maxRSS
    };
    console.log(JSON.stringify(out));
    if (expectArg && Number(expectArg) !== n) {
        console.error(`fetch.mjs: expected ${expectArg} messages, got ${n}`);
        process.exit(1);
    }
} catch (err) {
    console.error('fetch.mjs:', err && (err.responseText || err.message || err));
    try {
        client.close();
    } catch {
        /* already closed */
    }
    process.exit(1);
}
