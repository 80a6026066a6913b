/* smtp_sender.h — SMTP submission through libcurl's multi interface: many accounts (host, port,
 * security, credentials), a queue per account with a connection limit per account and overall,
 * connection reuse, certificate verification always on, and one result per submission with the
 * outcome of every recipient. The caller (the engine's outbox) owns retry policy and state;
 * this module only carries one message to one submission server once.
 *
 * Threads. libcurl 7.88 (Debian 12) waits for the reply to the end of DATA ("." -> "250 ...")
 * and for the reply to QUIT with a *blocking* poll inside curl_multi_socket_action (its "done"
 * and "disconnect" phases for SMTP are not non-blocking: curl issue #8555, "More non-blocking"
 * in curl's TODO; measured here: one curl_multi_perform call lasts as long as the server takes
 * to answer the final dot). Driving curl on the engine loop would stall every IMAP session for
 * that long on every message. So the sender runs libcurl on a private libevent base in one
 * worker thread (curl_multi_socket_action with CURLMOPT_SOCKETFUNCTION / TIMERFUNCTION, as in
 * curl's docs/examples/multi-event.c), and hands every result back to the caller's event_base:
 * the done callback always runs on the thread that runs `base`, never on the worker. A slow
 * final reply delays the other transfers of the worker (never the caller's loop) by at most
 * reply_timeout; one worker is enough for submission rates (each wait is one round trip plus
 * the server's queueing), not for bulk relaying.
 *
 * One submission:
 *
 *   submit() --> INCOMING (handed to the worker) --> QUEUED (per account, FIFO)
 *     --slot free: account running < account max_connections and all running < max_connections-->
 *   RUNNING: [connect, greeting, EHLO, STARTTLS + EHLO, AUTH]  (skipped on a reused connection)
 *            MAIL FROM --> RCPT TO x n (a refused recipient does not stop the others)
 *            --> DATA --> 354 --> message --> "." --> final reply
 *     --> DONE: result built on the worker --> done callback on the caller's base (once)
 *   smtp_sender_free(): every submission not yet called back is dropped without a callback.
 *
 * Connections. libcurl's multi handle keeps a connection cache shared by all its transfers
 * (CURLMOPT_MAXCONNECTS = CURLMOPT_MAX_TOTAL_CONNECTIONS = max_connections, so idle and busy
 * connections together never pass it): after a transfer its connection stays open and
 * authenticated, and the next submission of the same account reuses it, starting at MAIL FROM.
 * Each submission gets its own easy handle (freed when it is done): easy handles are not
 * pooled, connections are. An idle connection is reused for 60 s after its last message
 * (CURLOPT_MAXAGE_CONN), then closed; one the server has closed meanwhile is noticed by libcurl
 * and replaced. TLS sessions are shared between transfers (a CURLSH with
 * CURL_LOCK_DATA_SSL_SESSION), so a new connection to a known server resumes TLS.
 * libcurl 7.88 matches a cached connection on scheme, host, port, user name and secret only:
 * it reuses a plaintext connection for a transfer that demands STARTTLS, and a connection
 * verified with one CA file for a transfer given another (both shown by the tests). So for
 * each (scheme, host, port, user) the first account (security, CA file) to use it owns the
 * cached connections; a transfer of another account on the same route gets a fresh connection
 * closed after it (CURLOPT_FRESH_CONNECT + FORBID_REUSE), until the owner has been idle past
 * the 60 s above.
 *
 * Limits. An account (security, host, port, user name, CA file) runs at most max_connections
 * submissions at once (the value of the submission that made the account's queue; the queue
 * is dropped when it is empty and nothing runs); all accounts together at most
 * lim.max_connections. The others wait in the account's FIFO; accounts with waiting work get
 * free slots in turn (round robin). Message bytes are copied at submit, so waiting submissions
 * cost their size in memory: max_queued bounds their number.
 *
 * Stopping. smtp_sender_free sends QUIT on every open connection and waits for the worker;
 * after 2 s it shuts down the sockets under libcurl (CURLOPT_OPENSOCKETFUNCTION keeps a list),
 * so a server that does not answer cannot hold the caller's thread longer than that (a
 * transfer still running is abandoned: its message may or may not have been accepted).
 *
 * Per-recipient outcomes. libcurl says only "some RCPT failed" (CURLOPT_MAIL_RCPT_ALLOWFAILS
 * keeps it going past refused recipients) and reports one response code. The sender therefore
 * follows the SMTP dialogue through CURLOPT_DEBUGFUNCTION: every command line curl sends
 * (CURLINFO_HEADER_OUT) sets the command being answered, and every reply line the server sends
 * (CURLINFO_HEADER_IN, "ddd-" continuation / "ddd " final) completes it. curl sends RCPT TO
 * commands one at a time, in the order of the list, each after the previous reply (it does not
 * pipeline SMTP), so the n-th final reply after the n-th RCPT is that recipient's answer.
 * During AUTH (from "AUTH ..." until the first final reply that is not 334) nothing the client
 * sends is looked at beyond the command word, nothing of the exchange is stored, and nothing
 * is ever logged: the debug callback never writes anywhere.
 *
 * Security. TLS = implicit TLS (smtps://, port 465); STARTTLS = smtp:// with CURLUSESSL_ALL
 * (fails if the server does not offer STARTTLS); NONE = smtp:// with no TLS at all. Peer and
 * host name verification are always on (CURLOPT_SSL_VERIFYPEER / VERIFYHOST, TLS 1.2 or
 * newer), against the system store plus ca_file when given: ca_file becomes CURLOPT_CAINFO in
 * place of libcurl's bundle, while the system CA directory (libcurl's built-in CAPATH,
 * /etc/ssl/certs on Debian) stays trusted. Credentials are refused on NONE unless the host
 * is a loopback address ("localhost", 127.0.0.0/8, ::1): a password never crosses a network
 * in clear text.
 * Passwords and tokens are copied and zeroed (sodium_memzero) when the submission is done.
 */
#ifndef MF_SMTP_SENDER_H
#define MF_SMTP_SENDER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util/error.h"

struct event_base;
typedef struct smtp_sender smtp_sender;

enum smtp_security { SMTP_SEC_TLS = 0, SMTP_SEC_STARTTLS, SMTP_SEC_NONE };

/* One sending account. The strings are copied by smtp_sender_submit. */
typedef struct smtp_account {
    const char *host; /* name or address literal (IPv6 without brackets) */
    uint16_t port;    /* 0: 465 for TLS, 587 for STARTTLS, 25 for NONE */
    enum smtp_security security;
    const char *username;      /* NULL or "": no AUTH */
    const char *password;      /* AUTH with what the server offers (PLAIN, LOGIN, ...) */
    const char *xoauth2_token; /* instead of password: OAuth2 bearer, AUTH XOAUTH2 only (R11) */
    const char *ca_file;       /* PEM trusted in addition to the system store; NULL or "" */
    unsigned max_connections;  /* simultaneous submissions (connections) of this account; 0 = 1 */
} smtp_account;

typedef struct smtp_sender_limits {
    unsigned max_connections;  /* simultaneous SMTP connections overall; 0 = 16 */
    unsigned max_queued;       /* submissions waiting (not yet running); 0 = 100000 */
    unsigned connect_timeout;  /* seconds for TCP + TLS + greeting/EHLO/AUTH; 0 = 30 */
    unsigned reply_timeout;    /* seconds to wait for any one server reply; 0 = 60 */
    unsigned transfer_timeout; /* seconds for a whole submission, connect included; 0 = 300 */
    const char *ehlo_name;     /* name sent in EHLO; NULL = this machine's host name */
} smtp_sender_limits;

enum smtp_outcome {
    SMTP_SENT = 0, /* DATA accepted for at least one recipient */
    SMTP_TEMPFAIL, /* 4xx, network, timeout: the same submission may succeed later */
    SMTP_PERMFAIL, /* 5xx, or a TLS certificate that does not verify: retrying will not help */
};

/* What failed when the outcome is not SMTP_SENT. The account-level ones (TLS, AUTH) mean the
 * mailbox's settings are wrong (R12 health), not that the message is bad. */
enum smtp_failure {
    SMTP_FAIL_NONE = 0,
    SMTP_FAIL_NETWORK,    /* DNS, connect refused, connection lost (TEMPFAIL) */
    SMTP_FAIL_TIMEOUT,    /* connect, reply or transfer timeout (TEMPFAIL) */
    SMTP_FAIL_TLS,        /* certificate not verified, STARTTLS not offered: PERMFAIL;
                             STARTTLS refused with 4xx, handshake broken off: TEMPFAIL */
    SMTP_FAIL_AUTH,       /* AUTH refused: 5xx PERMFAIL, 4xx TEMPFAIL */
    SMTP_FAIL_GREETING,   /* greeting or EHLO refused */
    SMTP_FAIL_SENDER,     /* MAIL FROM refused */
    SMTP_FAIL_RECIPIENTS, /* every RCPT TO refused: TEMPFAIL if any was 4xx, else PERMFAIL */
    SMTP_FAIL_DATA,       /* DATA or the message (the reply to ".") refused */
    SMTP_FAIL_PROTOCOL,   /* a reply libcurl could not use */
    SMTP_FAIL_LOCAL,      /* out of resources on this side (TEMPFAIL) */
};

typedef struct smtp_rcpt_result {
    const char *rcpt;          /* the address as submitted */
    enum smtp_outcome outcome; /* SENT only if RCPT was accepted and the message too */
    int code;                  /* the reply to this RCPT TO; 0 when it was never sent */
    const char *text;          /* that reply's text ("" when none), e.g. "5.7.1 <x>: ..." */
} smtp_rcpt_result;

typedef struct smtp_result {
    enum smtp_outcome outcome;
    enum smtp_failure failure; /* SMTP_FAIL_NONE when SENT */
    int code;                  /* the server's last reply code (to "." when SENT); 0 if none */
    const char *text;          /* its text, continuation lines joined by " "; "" if none */
    const char *reason;        /* one sentence for people (no credentials), "" when SENT */
    /* The message was sent up to its final "." but no reply came (connection lost, timeout):
     * the server may have accepted it. Do not retry blindly (at-most-once, R26). */
    bool maybe_sent;
    bool connection_reused; /* no new connection was made for this submission */
    size_t n_rcpts;
    const smtp_rcpt_result *rcpts; /* in submission order */
} smtp_result;

/* Runs on the caller's base thread. r and everything in it live until the callback returns. */
typedef void (*smtp_done_cb)(const smtp_result *r, void *arg);

/* Counters, for metrics and tests. */
typedef struct smtp_sender_stats {
    unsigned long submitted;   /* accepted by smtp_sender_submit */
    unsigned long finished;    /* results handed to the caller's base */
    unsigned long connections; /* new connections made (libcurl's NUM_CONNECTS) */
    unsigned queued, running;  /* now */
    unsigned peak_running;     /* most submissions running at once so far */
} smtp_sender_stats;

/* A sender whose callbacks run on base (which must outlive it: free the sender first). lim may
 * be NULL (all defaults). Starts the worker thread. NULL with err filled when libcurl, the
 * thread or an eventfd cannot be had. */
smtp_sender *smtp_sender_new(struct event_base *base, const smtp_sender_limits *lim, mf_error *err);
/* Stop the worker, close every connection (QUIT), drop every submission not yet called back
 * (no callback). Blocks the caller for the QUITs, at most about 2 s (then the sockets are cut).
 * Safe inside a done callback (the rest of the current batch is dropped). Sets *s to NULL. */
void smtp_sender_free(smtp_sender **s);

/* (From base's thread, like smtp_sender_free.) Queue one message for mail_from ("" = null sender
 * "<>") to n recipients (1..1000), data = the whole message with CRLF line ends (libcurl dot-stuffs
 * it; it is copied). Addresses must not contain CR, LF, NUL, '<' or '>' and be at most 256 bytes.
 * cb is called exactly once, later, on base's thread, unless the sender is freed first. -1 with err
 * (nothing queued, no callback) when the input is invalid, credentials would go in clear text to a
 * non-loopback host, or the queue is full (err->code "smtp_queue_full"). */
int smtp_sender_submit(smtp_sender *s, const smtp_account *acct, const char *mail_from,
                       const char *const *rcpts, size_t n, const void *data, size_t len,
                       smtp_done_cb cb, void *arg, mf_error *err);

void smtp_sender_get_stats(smtp_sender *s, smtp_sender_stats *out);

const char *smtp_outcome_name(enum smtp_outcome o); /* "sent", "tempfail", "permfail" */
const char *smtp_failure_name(enum smtp_failure f); /* "none", "network", ... */
#endif
