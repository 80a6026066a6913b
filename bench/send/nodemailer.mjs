// nodemailer.mjs — the Node.js reference client of bench/send/run.sh (not part of mailfleet).
//
//   node nodemailer.mjs PORT COUNT CONNECTIONS TEXT_FILE [WINDOW]
//
// Sends COUNT messages through ONE pooled nodemailer transport (pool: true, maxConnections =
// CONNECTIONS, unlimited messages per connection) to 127.0.0.1:PORT without TLS or AUTH (the
// smtp-sink). Each message is composed by nodemailer from {from, to, subject, text}, the same
// input mailfleet gets from POST /api/v1/messages; TEXT_FILE is the body text. At most WINDOW
// sendMail() calls are outstanding at once (default 1000; 0 = all COUNT at once). Prints one
// JSON line on stdout: {"count", "ok", "failed", "seconds", "rate", "raw_bytes"} where seconds is
// from the first sendMail() to the last answer (the transport's start-up included).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import nodemailer from 'nodemailer';

// NODELAY=1: turn Nagle's algorithm off on nodemailer's sockets (it leaves it on; see README).
if (process.env.NODELAY === '1') {
    const net = createRequire(import.meta.url)('net'); // the object nodemailer's require('net') gets
    const connect = net.connect;
    net.connect = (opts, cb) => connect.call(net, { ...opts, noDelay: true }, cb);
}

const [port, count, conns, textFile, windowArg] = process.argv.slice(2);
if (!port || !count || !conns || !textFile) {
    console.error('usage: node nodemailer.mjs PORT COUNT CONNECTIONS TEXT_FILE [WINDOW]');
    process.exit(2);
}
const N = Number(count);
const WINDOW = windowArg === undefined ? 1000 : Number(windowArg) || N;
const text = readFileSync(textFile, 'utf8');

const transport = nodemailer.createTransport({
    pool: true,
    maxConnections: Number(conns),
    maxMessages: Infinity,
    host: '127.0.0.1',
    port: Number(port),
    secure: false,
    ignoreTLS: true,
    connectionTimeout: 30000,
    socketTimeout: 60000,
});

let next = 0;
let ok = 0;
let failed = 0;
let firstError = null;
let rawBytes = 0;
const t0 = process.hrtime.bigint();

await new Promise((resolve) => {
    let active = 0;
    const pump = () => {
        while (active < WINDOW && next < N) {
            const i = next++;
            active++;
            transport
                .sendMail({
                    from: `m${String((i % 20) + 1).padStart(2, '0')}@bench.test`,
                    to: 'sink@bench.test',
                    subject: `bench message ${i}`,
                    text,
                })
                .then((info) => {
                    ok++;
                    if (i === 0) rawBytes = info.messageSize || 0;
                })
                .catch((e) => {
                    failed++;
                    firstError ??= String(e && e.message ? e.message : e);
                })
                .finally(() => {
                    active--;
                    if (ok + failed === N) resolve();
                    else pump();
                });
        }
    };
    pump();
});

const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
transport.close();
console.log(JSON.stringify({ count: N, ok, failed, seconds, rate: ok / seconds, raw_bytes: rawBytes,
                             error: firstError }));
process.exit(failed ? 1 : 0);
