/* sender.c — the engine's outbox runner (R15, R26). It works in rounds, run every second, when
 * woken (a message was queued) and when SMTP results come in:
 *
 *   1. record the results that came in, all in one transaction;
 *   2. find the mailboxes with due mail (one query; when woken, at most every DISCOVER_MIN_MS);
 *   3. claim, in ONE transaction: for every mailbox that may have due mail and has a free
 *      connection, read its settings and take as many of its oldest due messages as
 *      core/outbox.c outbox_claimable() allows — its smtp_connections minus those in flight,
 *      what is left of its daily limit in its own time zone (sends are counted at claim, so
 *      in-flight ones count), its minimum gap (then one at a time), the overall
 *      smtp_max_connections — and claim each one (queued → sending, the send counted); commit;
 *   4. only after that commit, hand the claimed messages to the SMTP sender (the network step).
 *
 * A message is claimed only when a connection can take it at once, so a crash leaves at most
 * smtp_connections messages of a mailbox "unknown". The claim is an UPDATE conditional on
 * "queued", so no message goes to two connections (nor to two engines). Different messages'
 * transitions share commits; each message's transition is committed before its next network
 * step. What an attempt comes to:
 *
 *   accepted           → sent; the message is stored in its conversation (direction out)
 *                        a moment later, with other sent messages (see COPY_DELAY_MS)
 *   5xx                → failed (per-recipient outcomes kept)
 *   4xx / network      → queued again after backoff; the day's count is given back
 *   lost after DATA    → unknown: reported, never sent again (at most once)
 *   SMTP AUTH refused or TLS certificate not trusted → the mailbox becomes failing (R12)
 *                        and the message waits (queued) until the settings are fixed
 *
 * On start, messages left "sending" by a crash become "unknown" (store/outbox.c). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <event2/event.h>
#include <jansson.h>
#include "core/outbox.h"
#include "core/sendday.h"
#include "engine/engine_internal.h"
#include "engine/health.h"
#include "engine/ingest.h"
#include "engine/leases.h"
#include "engine/sender.h"
#include "mail/compose.h"
#include "mail/smtp_sender.h"
#include "store/outbox.h"
#include "store/store.h"
#include "util/crypto.h"
#include "util/log.h"

#define MAX_ATTEMPTS 8
#define DISCOVER_MIN_MS 50 /* woken more often than this: the due query waits */
/* An answer that comes in while most connections are still busy waits up to this long for
 * others, so one round (one commit) records several: each commit rewrites the hot index pages
 * in the WAL, so fewer, larger rounds write far less per message. */
#define GATHER_US 3000
/* The stored copies of sent messages are written together, in a later round's transaction:
 * when COPY_BATCH wait, when the oldest has waited COPY_DELAY_MS, or when nothing is in
 * flight. "sent" and a row in sent_copies_pending are committed together, so a crash in
 * between loses no copy (sender_recover stores them). Many copies in one transaction touch
 * each index page of the conversations and messages once, where one copy per round touched
 * one page per index and message (bench/send). */
#define COPY_BATCH 256
#define COPY_DELAY_MS 200

typedef struct inflight {
    struct inflight *next; /* in flight, or done and waiting to be recorded */
    struct sender_loop *s;
    int box; /* index in s->boxes; -1 for system mail */
    char id[MF_ID_LEN];
    char mailbox_id[MF_ID_LEN];
    char org_id[MF_ID_LEN];
    char owner_id[MF_ID_LEN];
    char address[MF_ADDR_MAX];
    char day[SENDDAY_KEY_LEN];
    int attempts;
    char *raw; /* what was sent: stored in its conversation once accepted */
    char *copy; /* compose_message.copy of raw, or NULL: the stored copy without a parse */
    /* the outcome, once in */
    enum outbox_state state;
    time_t retry;
    int account_broken;
    char *error, *recipients, *reason;
} inflight;

typedef struct mbox {
    char id[MF_ID_LEN];
    int inflight; /* claimed and not yet recorded */
    int due;      /* may have due messages: look at its queue in the next round */
    int connections; /* its smtp_connections when last read (0: not read yet) */
    int stored; /* sent copies stored in this round (counted in messages_imported once) */
} mbox;

struct sender_loop {
    engine *e;
    inflight *inflight;               /* handed to the SMTP sender */
    inflight *done, **done_tail;      /* answered, to be recorded */
    int ninflight, max_inflight;      /* claimed and not yet recorded; smtp_max_connections */
    smtp_sender *smtp;
    struct event *tick, *round, *later, *gather, *copy_timer;
    int ndone; /* answers waiting in done */
    inflight *copies, **copies_tail; /* sent, their stored copy still to be written */
    int ncopies;
    double copies_since; /* monotonic seconds: when the oldest of them was sent */
    mbox *boxes;
    int nboxes, capboxes;
    int want_discovery, want_system;
    double last_discovery; /* monotonic seconds */
};

static double mono_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int box_index(sender_loop *s, const char *id)
{
    for (int i = 0; i < s->nboxes; i++)
        if (strcmp(s->boxes[i].id, id) == 0) return i;
    if (s->nboxes == s->capboxes) {
        s->capboxes = s->capboxes ? 2 * s->capboxes : 32;
        s->boxes = xrealloc(s->boxes, (size_t)s->capboxes * sizeof(*s->boxes));
    }
    mbox *b = &s->boxes[s->nboxes];
    memset(b, 0, sizeof(*b));
    snprintf(b->id, sizeof(b->id), "%s", id);
    return s->nboxes++;
}

static void inflight_free(inflight *f)
{
    free(f->raw);
    free(f->copy);
    free(f->error);
    free(f->recipients);
    free(f->reason);
    free(f);
}

static void run_soon(sender_loop *s)
{
    event_active(s->round, 0, 0);
}

/* The SMTP settings of a mailbox (its sealed JSON) as an account; strings owned by *json. */
static int smtp_account_of(sender_loop *s, const char *sealed, int connections, smtp_account *a,
                           json_t **json, mf_error *err)
{
    *json = NULL;
    char *plain = sealed && *sealed ? mf_unseal(&s->e->app->key, sealed) : NULL;
    if (!plain) return mf_fail(err, 500, "bad_settings", NULL, "the SMTP settings cannot be read");
    *json = json_loads(plain, 0, NULL);
    mf_secret_free(&plain);
    const char *host, *sec, *user, *pass;
    int port;
    if (!*json || json_unpack(*json, "{s:s,s:i,s:s,s:s,s:s}", "host", &host, "port", &port,
                              "security", &sec, "username", &user, "password", &pass) != 0) {
        json_decref(*json);
        *json = NULL;
        return mf_fail(err, 500, "bad_settings", NULL, "the SMTP settings are incomplete");
    }
    memset(a, 0, sizeof(*a));
    a->host = host;
    a->port = (uint16_t)port;
    a->security = strcmp(sec, "tls") == 0        ? SMTP_SEC_TLS
                  : strcmp(sec, "starttls") == 0 ? SMTP_SEC_STARTTLS
                                                 : SMTP_SEC_NONE;
    a->username = user;
    a->password = pass;
    a->ca_file = s->e->app->cfg.ca_file;
    a->max_connections = (unsigned)(connections > 0 ? connections : 1);
    return 0;
}

static json_t *recipients_json(const smtp_result *r)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < r->n_rcpts; i++) {
        json_array_append_new(arr, json_pack("{s:s,s:s,s:i,s:s}", "address", r->rcpts[i].rcpt,
                                             "outcome", smtp_outcome_name(r->rcpts[i].outcome),
                                             "code", r->rcpts[i].code, "text",
                                             r->rcpts[i].text ? r->rcpts[i].text : ""));
    }
    return arr;
}

/* The SMTP sender's answer (engine thread): kept until the next round records it. */
static void on_sent(const smtp_result *r, void *arg)
{
    inflight *f = arg;
    sender_loop *s = f->s;
    /* Refused credentials or a certificate that does not verify say the mailbox's settings
     * are wrong, not the message: it waits (deferred) while the mailbox is failing (R12). */
    f->account_broken = r->outcome == SMTP_PERMFAIL &&
                        (r->failure == SMTP_FAIL_AUTH || r->failure == SMTP_FAIL_TLS);
    enum outbox_outcome o = r->outcome == SMTP_SENT       ? OUTBOX_ACCEPTED
                            : f->account_broken           ? OUTBOX_DEFERRED
                            : r->outcome == SMTP_PERMFAIL ? OUTBOX_REFUSED
                            : r->maybe_sent               ? OUTBOX_LOST_AFTER_DATA
                                                          : OUTBOX_DEFERRED;
    f->state = outbox_after_attempt(o, f->attempts, MAX_ATTEMPTS, mf_now(), &f->retry);
    json_t *rj = recipients_json(r);
    f->recipients = json_dumps(rj, JSON_COMPACT);
    json_decref(rj);
    f->reason = xstrdup(*r->reason ? r->reason : r->text ? r->text : "");
    for (inflight **pp = &s->inflight; *pp; pp = &(*pp)->next) {
        if (*pp == f) {
            *pp = f->next;
            break;
        }
    }
    f->next = NULL;
    *s->done_tail = f;
    s->done_tail = &f->next;
    s->ndone++;
    /* a round now when at least half of what is in flight has answered (or nothing else is
     * coming), else shortly, with the answers that came in meanwhile */
    int waiting = s->ninflight - s->ndone;
    if (s->ndone >= waiting || r->outcome != SMTP_SENT) {
        if (evtimer_pending(s->gather, NULL)) evtimer_del(s->gather);
        run_soon(s);
    } else if (!evtimer_pending(s->gather, NULL)) {
        struct timeval tv = {.tv_sec = 0, .tv_usec = GATHER_US};
        evtimer_add(s->gather, &tv);
    }
}

/* Round step 1, inside the round's transaction: the outcome of every answer that came in. */
static int record_in_tx(db *d, inflight *list, mf_error *err)
{
    for (inflight *f = list; f; f = f->next) {
        if (outbox_finish(d, f->id, outbox_state_name(f->state),
                          f->state == OUTBOX_SENT ? NULL : f->reason, f->recipients, f->retry,
                          err) < 0)
            return -1;
        if (f->state == OUTBOX_QUEUED && f->mailbox_id[0] && /* the day's count back */
            mailbox_count_send(d, f->mailbox_id, f->day, -1, err) < 0)
            return -1;
        /* what we sent joins its conversation (R18 compose replies, R22 matching): soon,
         * with others (store_copies_in_tx); until then it is pending */
        if (f->state == OUTBOX_SENT && f->mailbox_id[0] && f->raw &&
            outbox_copy_pending_add(d, f->id, err) < 0)
            return -1;
    }
    return 0;
}

/* The stored copies of the sent messages in list, in the round's transaction. */
static int store_copies_in_tx(sender_loop *s, db *d, inflight *list, mf_error *err)
{
    for (int i = 0; i < s->nboxes; i++) s->boxes[i].stored = 0; /* a rolled-back round's */
    time_t now = mf_now();
    for (inflight *f = list; f; f = f->next) {
        ingest_source src = {.mailbox_id = f->mailbox_id,
                             .mailbox_address = f->address,
                             .folder = "Sent",
                             .role = "sent",
                             .internaldate = now,
                             .seen = 1};
        if (ingest_sent(d, &src, f->raw, strlen(f->raw), f->copy) == 1 && f->box >= 0)
            s->boxes[f->box].stored++;
        if (outbox_copy_pending_done(d, f->id, err) < 0) return -1;
    }
    /* R13 progress: the stored copies counted once per mailbox */
    for (int i = 0; i < s->nboxes; i++) {
        if (!s->boxes[i].stored) continue;
        int n = s->boxes[i].stored;
        s->boxes[i].stored = 0;
        if (mailboxes_add_imported(d, s->boxes[i].id, n, err) < 0) return -1;
    }
    return 0;
}

/* After the commit: log, mark failing accounts (R12). */
static void recorded(sender_loop *s, db *d, inflight *list)
{
    while (list) {
        inflight *f = list;
        list = f->next;
        int sent = f->state == OUTBOX_SENT;
        log_info("outbox: %s from %s: %s%s%s", f->id, f->address, outbox_state_name(f->state),
                 sent ? "" : " — ", sent ? "" : f->reason);
        if (f->account_broken && f->mailbox_id[0]) {
            health_target t = {f->mailbox_id, f->org_id, f->owner_id, f->address};
            char reason[400];
            snprintf(reason, sizeof(reason), "SMTP: %s", f->reason);
            health_set(d, &t, "failing", reason);
        }
        if (sent && f->mailbox_id[0] && f->raw) { /* its copy is pending: kept for it */
            f->next = NULL;
            if (!s->copies) {
                s->copies_since = mono_now();
                struct timeval tv = {.tv_sec = 0, .tv_usec = COPY_DELAY_MS * 1000};
                evtimer_add(s->copy_timer, &tv);
            }
            *s->copies_tail = f;
            s->copies_tail = &f->next;
            s->ncopies++;
        } else {
            inflight_free(f);
        }
    }
}

static void mark_due(const char *mailbox_id, void *arg)
{
    sender_loop *s = arg;
    if (!*mailbox_id) s->want_system = 1;
    else if (!lease_keeper_holds(s->e->leases, mailbox_id)) return; /* another worker's */
    else {
        int i = box_index(s, mailbox_id); /* may move s->boxes */
        s->boxes[i].due = 1;
    }
}

/* The system mailer's account from "smtp[s]://[user:pass@]host[:port]" (R28); the strings point
 * into buf. -1 when the URL is not usable. */
static int system_account(const char *url, smtp_account *a, char *buf, size_t len)
{
    memset(a, 0, sizeof(*a));
    const char *rest;
    if (strncmp(url, "smtps://", 8) == 0) {
        a->security = SMTP_SEC_TLS;
        rest = url + 8;
    } else if (strncmp(url, "smtp://", 7) == 0) {
        a->security = SMTP_SEC_STARTTLS;
        rest = url + 7;
    } else {
        return -1;
    }
    if (snprintf(buf, len, "%s", rest) >= (int)len) return -1;
    char *p = buf, *slash = strchr(p, '/');
    if (slash) *slash = '\0';
    char *at = strrchr(p, '@');
    if (at) {
        *at = '\0';
        char *colon = strchr(p, ':');
        if (colon) {
            *colon = '\0';
            a->password = colon + 1;
        }
        a->username = p;
        p = at + 1;
    }
    char *port = strrchr(p, ':');
    if (port && !strchr(port, ']')) {
        *port = '\0';
        a->port = (uint16_t)atoi(port + 1);
    }
    if (*p == '[') { /* [v6] */
        p++;
        char *end = strchr(p, ']');
        if (end) *end = '\0';
    }
    a->host = p;
    if (!*a->host) return -1;
    /* "STARTTLS when offered": a loopback relay may speak plain SMTP */
    if (a->security == SMTP_SEC_STARTTLS &&
        (strncmp(a->host, "127.", 4) == 0 || strcmp(a->host, "localhost") == 0 ||
         strcmp(a->host, "::1") == 0))
        a->security = SMTP_SEC_NONE;
    a->max_connections = 2;
    return 0;
}

/* System mail (R28): one message at a time, claimed and committed alone. */
static void send_system(sender_loop *s, db *d)
{
    s->want_system = 0;
    const mf_config *cfg = &s->e->app->cfg;
    smtp_account acct;
    char buf[1024];
    if (s->ninflight >= s->max_inflight) return;
    for (inflight *f = s->inflight; f; f = f->next)
        if (f->box < 0) return; /* the one in flight comes back first */
    if (!cfg->system_smtp[0] || system_account(cfg->system_smtp, &acct, buf, sizeof(buf)) < 0)
        return; /* stays queued until the system mailer is configured */
    acct.ca_file = cfg->ca_file;
    mf_error err;
    mf_outbox_row *rows = NULL;
    int n = 0;
    if (outbox_due_rows(d, NULL, mf_now(), 1, &rows, &n, &err) < 0 || n == 0) {
        outbox_rows_free(&rows, n);
        return;
    }
    const mf_outbox_row *row = &rows[0];
    int claimed = 0;
    if (db_begin(d, &err) == 0) {
        claimed = outbox_claim_by(d, row->id, lease_keeper_worker_id(s->e->leases), &err) == 1;
        if (!claimed || db_commit(d, &err) < 0) {
            db_rollback(d);
            claimed = 0;
        }
    }
    if (!claimed) {
        outbox_rows_free(&rows, n);
        return;
    }
    inflight *f = xcalloc(1, sizeof(*f));
    f->s = s;
    f->box = -1;
    snprintf(f->id, sizeof(f->id), "%s", row->id);
    snprintf(f->address, sizeof(f->address), "system mailer");
    f->attempts = row->attempts + 1;
    f->next = s->inflight;
    s->inflight = f;
    s->ninflight++;
    json_t *rcpts = json_loads(row->rcpts_json, 0, NULL);
    const char *to = json_string_value(json_array_get(rcpts, 0));
    int rc = to ? smtp_sender_submit(s->smtp, &acct, row->mail_from, &to, 1, row->raw,
                                     strlen(row->raw), on_sent, f, &err)
                : mf_fail(&err, 400, "invalid_request", NULL, "no recipient");
    json_decref(rcpts);
    outbox_rows_free(&rows, n);
    if (rc < 0) {
        smtp_result r = {.outcome = SMTP_TEMPFAIL, .failure = SMTP_FAIL_LOCAL, .text = "",
                         .reason = err.message};
        on_sent(&r, f);
    }
}

static const char *notification_subject(const char *kind)
{
    static const struct {
        const char *kind, *subject;
    } subjects[] = {
        {"master_inbox_set", "An admin set the master inbox of your mailboxes"},
        {"mailbox_failing", "A mailbox stopped working: it needs new credentials"},
        {"mailbox_recovered", "A mailbox works again"},
        {"request_approved", "Your mailbox request was approved"},
        {"request_rejected", "Your mailbox request was rejected"},
        {"invite_accepted", "An invited mailbox was connected"},
        {"conversation_unassigned", "A conversation is waiting for an assignee"},
    };
    for (size_t i = 0; i < sizeof(subjects) / sizeof(subjects[0]); i++)
        if (strcmp(kind, subjects[i].kind) == 0) return subjects[i].subject;
    return "A notification from mailfleet";
}

/* R28: pending notifications become system mail (queued once each: unique key). */
static void mail_notifications(sender_loop *s, db *d)
{
    const mf_config *cfg = &s->e->app->cfg;
    static int warned;
    if (!cfg->system_smtp[0]) {
        if (!warned) {
            log_warnx("system mail is not configured (system_smtp / MAILFLEET_SYSTEM_SMTP): "
                      "notification emails stay queued");
            warned = 1;
        }
        return;
    }
    db_stmt *st = db_prepare(d,
                             "SELECT n.id, n.kind, n.data, u.email, u.org_id, u.name FROM "
                             "notifications n JOIN users u ON u.id = n.user_id WHERE "
                             "n.email_status = 'pending' AND u.org_id IS NOT NULL ORDER BY n.id "
                             "LIMIT 50",
                             NULL);
    if (!st) return;
    struct pending {
        char id[MF_ID_LEN], org[MF_ID_LEN], kind[48], email[MF_ADDR_MAX], name[MF_NAME_MAX];
        char *data;
    } *p = NULL;
    int n = 0;
    while (db_step(st) == DB_ROW) {
        p = xrealloc(p, (size_t)(n + 1) * sizeof(*p));
        store_copy(p[n].id, sizeof(p[n].id), st, 0);
        store_copy(p[n].kind, sizeof(p[n].kind), st, 1);
        p[n].data = store_dup(st, 2, "{}");
        store_copy(p[n].email, sizeof(p[n].email), st, 3);
        store_copy(p[n].org, sizeof(p[n].org), st, 4);
        store_copy(p[n].name, sizeof(p[n].name), st, 5);
        n++;
    }
    db_finalize(&st);
    const char *from = cfg->system_from[0] ? cfg->system_from : "mailfleet@localhost.localdomain";
    for (int i = 0; i < n; i++) {
        char *text = xasprintf("Hello %s,\n\n%s.\n\nDetails: %s\n\nThis message was sent by "
                               "mailfleet; see your notifications in the console or with GET "
                               "/api/v1/notifications.\n",
                               p[i].name, notification_subject(p[i].kind), p[i].data);
        compose_address to = {.name = p[i].name, .addr = p[i].email};
        compose_input ci = {.from = {.name = "mailfleet", .addr = from},
                            .to = &to,
                            .n_to = 1,
                            .subject = notification_subject(p[i].kind),
                            .date = mf_now(),
                            .text = text};
        compose_message *msg = NULL;
        mf_error err;
        char key[MF_ID_LEN + 16], out_id[MF_ID_LEN], rj[MF_ADDR_MAX + 8];
        snprintf(key, sizeof(key), "notification:%s", p[i].id);
        snprintf(rj, sizeof(rj), "[\"%s\"]", p[i].email);
        int created = 0;
        const char *status = "failed";
        if (compose_build(&ci, &msg, &err) == 0 && db_begin(d, &err) == 0) {
            mf_outbox_new o = {.org_id = p[i].org, .mailbox_id = NULL, .kind = "system",
                               .unique_key = key, .mail_from = from, .rcpts_json = rj,
                               .raw = msg->data, .message_id = msg->message_id};
            int rc = outbox_enqueue(d, &o, out_id, &created, &err);
            if (rc == 0)
                rc = db_exec(d, &err, "UPDATE notifications SET email_status = 'queued' WHERE id "
                                      "= ?", p[i].id, DB_END) < 0 ? -1 : 0;
            if (rc == 0 && db_commit(d, &err) == 0) status = NULL;
            else db_rollback(d);
        }
        if (status) /* cannot be composed (a bad address): do not try again and again */
            db_exec(d, NULL, "UPDATE notifications SET email_status = 'failed' WHERE id = ?",
                    p[i].id, DB_END);
        compose_message_free(&msg);
        free(text);
        free(p[i].data);
    }
    free(p);
}

/* R25: is any recipient on the organisation's suppression list? (checked at send time) */
static int suppressed(db *d, const char *org_id, const char *rcpts_json)
{
    json_t *list = json_loads(rcpts_json, 0, NULL);
    size_t i;
    json_t *v;
    int blocked = 0;
    json_array_foreach(list, i, v)
    {
        char norm[MF_ADDR_MAX];
        const char *a = json_string_value(v);
        if (!a || address_normalize(a, norm, NULL) < 0) continue;
        db_stmt *q = db_prepare(d, "SELECT 1 FROM suppressions WHERE org_id = ? AND "
                                   "address_norm = ?", NULL);
        if (!q) continue;
        db_bind_text(q, 1, org_id);
        db_bind_text(q, 2, norm);
        blocked |= db_step(q) == DB_ROW;
        db_finalize(&q);
    }
    json_decref(list);
    return blocked;
}

/* What the claim step reads of a mailbox (inside its transaction). */
typedef struct box_facts {
    char org_id[MF_ID_LEN], owner_id[MF_ID_LEN], address[MF_ADDR_MAX], status[16];
    char tz[SENDDAY_ZONE_NAME_MAX], sent_day[SENDDAY_KEY_LEN];
    int daily_limit, sent_today, min_gap, connections, locked;
    time_t last_send;
    char *smtp_sealed;
} box_facts;

static int read_facts(db *d, const char *id, box_facts *b)
{
    memset(b, 0, sizeof(*b));
    db_stmt *st = db_prepare(d,
                             "SELECT m.org_id, m.owner_id, m.address, m.status, m.time_zone, "
                             "m.sent_day, m.daily_limit, m.sent_today, m.min_gap_seconds, "
                             "m.smtp_connections, u.seat, m.last_send_at, m.smtp_sealed FROM "
                             "mailboxes m JOIN users u ON u.id = m.owner_id WHERE m.id = ?",
                             NULL);
    if (!st) return -1;
    db_bind_text(st, 1, id);
    int rc = db_step(st);
    if (rc == DB_ROW) {
        store_copy(b->org_id, sizeof(b->org_id), st, 0);
        store_copy(b->owner_id, sizeof(b->owner_id), st, 1);
        store_copy(b->address, sizeof(b->address), st, 2);
        store_copy(b->status, sizeof(b->status), st, 3);
        store_copy(b->tz, sizeof(b->tz), st, 4);
        store_copy(b->sent_day, sizeof(b->sent_day), st, 5);
        b->daily_limit = (int)db_col_int64(st, 6);
        b->sent_today = (int)db_col_int64(st, 7);
        b->min_gap = (int)db_col_int64(st, 8);
        b->connections = (int)db_col_int64(st, 9);
        const char *seat = db_col_text(st, 10);
        b->locked = seat && strcmp(seat, "locked") == 0;
        const char *l = db_col_text(st, 11);
        if (l) mf_time_parse(l, &b->last_send);
        b->smtp_sealed = store_dup(st, 12, "");
    }
    db_finalize(&st);
    if (!b->tz[0]) snprintf(b->tz, sizeof(b->tz), "UTC");
    return rc == DB_ROW ? 1 : rc == DB_DONE ? 0 : -1;
}

/* A message claimed in this round, handed to the SMTP sender after the commit. */
typedef struct claim {
    inflight *f;
    char *mail_from, *rcpts_json;
    int acct; /* index in the round's accounts */
} claim;

typedef struct round_acct {
    smtp_account a;
    json_t *settings;
    int ok;
    char why[sizeof(((mf_error *)0)->message)];
} round_acct;

typedef struct round {
    claim *claims;
    int nclaims, capclaims;
    round_acct *accts;
    int naccts;
} round;

static void round_clear(round *r)
{
    for (int c = 0; c < r->nclaims; c++) {
        free(r->claims[c].mail_from);
        free(r->claims[c].rcpts_json);
    }
    free(r->claims);
    for (int a = 0; a < r->naccts; a++) json_decref(r->accts[a].settings);
    free(r->accts);
    memset(r, 0, sizeof(*r));
}

/* Round step 3, inside the round's transaction: claim what may go now (see the top). */
static int claim_in_tx(sender_loop *s, db *d, round *rd, mf_error *err)
{
    int free_slots = s->max_inflight - s->ninflight;
    time_t now = mf_now();
    for (int i = 0; i < s->nboxes && free_slots > 0; i++) {
        mbox *b = &s->boxes[i];
        if (!b->due) continue;
        if (b->connections && b->inflight >= b->connections) continue; /* busy: not read */
        /* only mailboxes whose lease this worker holds (and keeps until the commit) send */
        int held = lease_keeper_check(s->e->leases, d, b->id, err);
        if (held < 0) return -1;
        if (!held) {
            b->due = 0;
            continue;
        }
        box_facts m;
        int found = read_facts(d, b->id, &m);
        int rc = 0;
        if (found < 0) {
            free(m.smtp_sealed);
            return mf_fail_internal(err, "cannot read mailbox %s", b->id);
        }
        /* R12: a failing or disconnected mailbox does not send; R2: nor a locked seat. Its
         * mail waits; the next discovery looks again. */
        if (!found || strcmp(m.status, "failing") == 0 || strcmp(m.status, "disconnected") == 0 ||
            m.locked) {
            b->due = 0;
            free(m.smtp_sealed);
            continue;
        }
        b->connections = m.min_gap > 0 ? 1 : m.connections > 0 ? m.connections : 1;
        const sendday_zone *zone = engine_zone(s->e, m.tz);
        char day[SENDDAY_KEY_LEN];
        sendday_day_key(zone, now, day);
        int sent = strcmp(m.sent_day, day) == 0 ? m.sent_today : 0;
        if (sent >= m.daily_limit) {
            /* R15: over the limit waits for the next local day (moved there, so a full
             * mailbox's backlog never holds up other mailboxes) */
            char next[MF_TIME_LEN];
            mf_time_format(now + sendday_seconds_to_midnight(zone, now), next);
            rc = db_exec(d, err,
                         "UPDATE outbox SET next_attempt_at = ? WHERE mailbox_id = ? AND status = "
                         "'queued' AND next_attempt_at < ?",
                         next, b->id, next, DB_END) < 0
                     ? -1
                     : 0;
            b->due = 0;
            free(m.smtp_sealed);
            if (rc < 0) return -1;
            continue;
        }
        int k = outbox_claimable(m.connections, b->inflight, m.daily_limit, sent, m.min_gap,
                                 m.last_send, now, free_slots);
        if (k <= 0) { /* busy, or inside its gap: stays due, looked at again next round */
            free(m.smtp_sealed);
            continue;
        }
        mf_outbox_row *rows = NULL;
        int n = 0;
        if (outbox_due_rows(d, b->id, now, k, &rows, &n, err) < 0) {
            free(m.smtp_sealed);
            return -1;
        }
        if (n < k) b->due = 0; /* its due queue is empty after these */
        int acct = -1, claimed = 0;
        for (int r = 0; rc == 0 && r < n; r++) {
            const mf_outbox_row *row = &rows[r];
            if (suppressed(d, m.org_id, row->rcpts_json)) { /* R25, at send time */
                if (outbox_claim_by(d, row->id, lease_keeper_worker_id(s->e->leases), err) != 1 ||
                    outbox_finish(d, row->id, "failed",
                                  "a recipient is on the organisation's suppression list (R25)",
                                  NULL, 0, err) < 0)
                    rc = -1;
                continue;
            }
            int c = outbox_claim_by(d, row->id, lease_keeper_worker_id(s->e->leases), err);
            if (c < 0) rc = -1;
            if (c != 1) continue; /* someone else took it */
            claimed++;
            if (acct < 0) {
                rd->accts = xrealloc(rd->accts, (size_t)(rd->naccts + 1) * sizeof(*rd->accts));
                round_acct *ra = &rd->accts[rd->naccts];
                memset(ra, 0, sizeof(*ra));
                mf_error aerr;
                ra->ok = smtp_account_of(s, m.smtp_sealed, m.connections, &ra->a, &ra->settings,
                                         &aerr) == 0;
                if (!ra->ok) snprintf(ra->why, sizeof(ra->why), "%s", aerr.message);
                acct = rd->naccts++;
            }
            inflight *f = xcalloc(1, sizeof(*f));
            f->s = s;
            f->box = i;
            snprintf(f->id, sizeof(f->id), "%s", row->id);
            snprintf(f->mailbox_id, sizeof(f->mailbox_id), "%s", b->id);
            snprintf(f->org_id, sizeof(f->org_id), "%s", m.org_id);
            snprintf(f->owner_id, sizeof(f->owner_id), "%s", m.owner_id);
            snprintf(f->address, sizeof(f->address), "%s", m.address);
            snprintf(f->day, sizeof(f->day), "%s", day);
            f->attempts = row->attempts + 1;
            f->raw = row->raw; /* taken over */
            rows[r].raw = NULL;
            f->copy = row->copy_json;
            rows[r].copy_json = NULL;
            if (rd->nclaims == rd->capclaims) {
                rd->capclaims = rd->capclaims ? 2 * rd->capclaims : 32;
                rd->claims = xrealloc(rd->claims, (size_t)rd->capclaims * sizeof(*rd->claims));
            }
            rd->claims[rd->nclaims++] =
                (claim){.f = f, .mail_from = xstrdup(row->mail_from),
                        .rcpts_json = xstrdup(row->rcpts_json), .acct = acct};
            b->inflight++;
            free_slots--;
        }
        outbox_rows_free(&rows, n);
        free(m.smtp_sealed);
        /* R15: the sends counted at claim, once for the mailbox's claims of this round */
        if (rc == 0 && claimed && mailbox_count_send(d, b->id, day, claimed, err) < 0) rc = -1;
        if (rc < 0) return -1;
    }
    return 0;
}

/* The round's transaction did not commit: nothing claimed may go out. */
static void claims_dropped(sender_loop *s, round *rd)
{
    for (int c = 0; c < rd->nclaims; c++) {
        inflight *f = rd->claims[c].f;
        s->boxes[f->box].inflight--;
        s->boxes[f->box].due = 1;
        inflight_free(f);
    }
    round_clear(rd);
}

/* Round step 4, after the commit: the claimed messages go to the SMTP sender. From here on a
 * crash makes them "unknown", never a second send. */
static void submit_claims(sender_loop *s, round *rd)
{
    for (int c = 0; c < rd->nclaims; c++) {
        claim *cl = &rd->claims[c];
        inflight *f = cl->f;
        f->next = s->inflight;
        s->inflight = f;
        s->ninflight++;
        round_acct *ra = &rd->accts[cl->acct];
        json_t *rcpts = json_loads(cl->rcpts_json, 0, NULL);
        size_t n = json_is_array(rcpts) ? json_array_size(rcpts) : 0;
        const char **list = xcalloc(n ? n : 1, sizeof(*list));
        for (size_t r = 0; r < n; r++) list[r] = json_string_value(json_array_get(rcpts, r));
        mf_error err;
        int src = ra->ok ? smtp_sender_submit(s->smtp, &ra->a, cl->mail_from, list, n, f->raw,
                                              strlen(f->raw), on_sent, f, &err)
                         : mf_fail(&err, 500, "bad_settings", NULL, "%s", ra->why);
        free(list);
        json_decref(rcpts);
        if (src < 0) { /* never reached the network: put it back */
            smtp_result r = {.outcome = SMTP_TEMPFAIL, .failure = SMTP_FAIL_LOCAL, .text = "",
                             .reason = err.message};
            on_sent(&r, f);
        }
    }
    round_clear(rd);
}

/* Steps 1, 3 and 4 of a round: the answers recorded and the next messages claimed in ONE
 * transaction (one commit for the whole round), then the claimed ones submitted. */
static void record_and_claim(sender_loop *s, db *d)
{
    inflight *done = s->done;
    s->done = NULL;
    s->done_tail = &s->done;
    s->ndone = 0;
    if (evtimer_pending(s->gather, NULL)) evtimer_del(s->gather);
    /* an answered message no longer holds its connection: its place is free for this round */
    for (inflight *f = done; f; f = f->next) {
        if (f->box >= 0) {
            s->boxes[f->box].inflight--;
            s->boxes[f->box].due = 1; /* it may send its next message now */
        } else {
            s->want_system = 1;
        }
        s->ninflight--;
    }
    int want_claims = 0;
    if (s->ninflight < s->max_inflight)
        for (int i = 0; i < s->nboxes && !want_claims; i++) want_claims = s->boxes[i].due;
    inflight *copies = NULL;
    if (s->copies && (s->ncopies >= COPY_BATCH || s->ninflight == 0 ||
                      mono_now() - s->copies_since >= COPY_DELAY_MS / 1000.0)) {
        copies = s->copies;
        s->copies = NULL;
        s->copies_tail = &s->copies;
        s->ncopies = 0;
        if (evtimer_pending(s->copy_timer, NULL)) evtimer_del(s->copy_timer);
    }
    if (!done && !want_claims && !copies) return;
    mf_error err;
    round rd = {0};
    int rc = db_begin(d, &err);
    if (rc == 0 && done) rc = record_in_tx(d, done, &err);
    if (rc == 0 && copies) rc = store_copies_in_tx(s, d, copies, &err);
    if (rc == 0 && want_claims) rc = claim_in_tx(s, d, &rd, &err);
    if (rc == 0 && db_commit(d, &err) == 0) {
        if (copies) app_mail_arrived(s->e->app);
        while (copies) {
            inflight *f = copies;
            copies = f->next;
            inflight_free(f);
        }
        recorded(s, d, done);
        submit_claims(s, &rd);
        return;
    }
    db_rollback(d);
    if (copies) { /* not stored: they wait for the next round, first in line */
        inflight *last = copies;
        int n = 1;
        while (last->next) {
            last = last->next;
            n++;
        }
        last->next = s->copies;
        if (!s->copies) s->copies_tail = &last->next;
        s->copies = copies;
        s->ncopies += n;
        s->copies_since = mono_now();
        if (!evtimer_pending(s->copy_timer, NULL)) {
            struct timeval tv = {.tv_sec = 0, .tv_usec = COPY_DELAY_MS * 1000};
            evtimer_add(s->copy_timer, &tv);
        }
    }
    log_errorx("outbox: a round could not be committed (tried again next round): %s",
               err.message);
    claims_dropped(s, &rd);
    /* the answers were not recorded: they count again and wait for the next round */
    if (done) {
        inflight *last = NULL;
        for (inflight *f = done; f; f = f->next) {
            if (f->box >= 0) s->boxes[f->box].inflight++;
            s->ninflight++;
            last = f;
        }
        last->next = s->done;
        if (!s->done) s->done_tail = &last->next;
        s->done = done;
        for (inflight *f = done; f != last->next; f = f->next) s->ndone++;
    }
}

static void on_round(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sender_loop *s = arg;
    db *d = engine_db(s->e);
    if (!d) return;
    if (s->want_discovery) {
        double now = mono_now(), wait = s->last_discovery + DISCOVER_MIN_MS / 1000.0 - now;
        if (wait > 0) {
            if (!evtimer_pending(s->later, NULL)) {
                struct timeval tv = {.tv_sec = 0, .tv_usec = (long)(wait * 1e6) + 1};
                evtimer_add(s->later, &tv);
            }
        } else {
            mf_error err;
            s->want_discovery = 0;
            s->last_discovery = now;
            if (outbox_due_mailboxes(d, mf_now(), mark_due, s, &err) < 0)
                log_errorx("outbox: cannot read due messages: %s", err.message);
        }
    }
    record_and_claim(s, d);
    if (s->want_system) send_system(s, d);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sender_loop *s = arg;
    db *d = engine_db(s->e);
    if (!d) return;
    mail_notifications(s, d);
    s->want_discovery = 1;
    s->last_discovery = 0;
    on_round(-1, 0, s);
}

typedef struct copy_recovery {
    db *d;
    int rc, stored;
    mf_error err;
} copy_recovery;

static void recover_copy(const mf_outbox_row *r, void *arg)
{
    copy_recovery *c = arg;
    if (c->rc < 0) return;
    ingest_source src = {.mailbox_id = r->mailbox_id,
                         .mailbox_address = r->mail_from, /* the mailbox's address */
                         .folder = "Sent",
                         .role = "sent",
                         .internaldate = mf_now(),
                         .seen = 1};
    if (r->mailbox_id[0] && r->raw && *r->raw &&
        ingest_sent(c->d, &src, r->raw, strlen(r->raw), r->copy_json) == 1) {
        c->stored++;
        if (mailboxes_add_imported(c->d, r->mailbox_id, 1, &c->err) < 0) c->rc = -1;
    }
    if (c->rc == 0 && outbox_copy_pending_done(c->d, r->id, &c->err) < 0) c->rc = -1;
}

void sender_recover(engine *e)
{
    db *d = engine_db(e);
    mf_error rerr;
    int n = d ? outbox_recover_sending(d, &rerr) : 0;
    if (n > 0)
        log_warnx("outbox: %d message(s) were being sent when mailfleet stopped; they are marked "
                  "unknown and will not be sent again (R26)",
                  n);
    /* sent messages whose stored copy a stop or crash left unwritten */
    copy_recovery c = {.d = d};
    if (!d || db_begin(d, &c.err) < 0) return;
    int pending = outbox_copies_pending(d, recover_copy, &c, &c.err);
    if (pending < 0 || c.rc < 0 || db_commit(d, &c.err) < 0) {
        db_rollback(d);
        log_errorx("outbox: cannot store the copies of sent messages (tried again at the next "
                   "start): %s",
                   c.err.message);
    } else if (pending > 0) {
        log_info("outbox: stored the copies of %d sent message(s) left from the last run",
                 c.stored);
    }
}

sender_loop *sender_start(engine *e, mf_error *err)
{
    sender_loop *s = xcalloc(1, sizeof(*s));
    s->e = e;
    s->done_tail = &s->done;
    s->max_inflight = e->app->cfg.smtp_max_connections > 0 ? e->app->cfg.smtp_max_connections : 32;
    smtp_sender_limits lim = {.max_connections = (unsigned)s->max_inflight};
    s->smtp = smtp_sender_new(e->base, &lim, err);
    if (!s->smtp) {
        free(s);
        return NULL;
    }
    s->tick = event_new(e->base, -1, EV_PERSIST, on_tick, s);
    s->round = event_new(e->base, -1, 0, on_round, s);
    s->later = evtimer_new(e->base, on_round, s);
    s->gather = evtimer_new(e->base, on_round, s);
    s->copy_timer = evtimer_new(e->base, on_round, s);
    s->copies_tail = &s->copies;
    struct timeval tv = {.tv_sec = 1, .tv_usec = 0};
    event_add(s->tick, &tv);
    s->want_discovery = 1;
    run_soon(s);
    return s;
}

void sender_wake(sender_loop *s)
{
    if (!s) return;
    s->want_discovery = 1;
    run_soon(s);
}

void sender_free(sender_loop **sp)
{
    if (!sp || !*sp) return;
    sender_loop *s = *sp;
    *sp = NULL;
    smtp_sender_free(&s->smtp); /* in-flight messages stay "sending" → unknown at next start */
    db *d = s->copies ? engine_db(s->e) : NULL;
    if (d) { /* the pending copies now (else at the next start) */
        mf_error err;
        if (db_begin(d, &err) < 0 || store_copies_in_tx(s, d, s->copies, &err) < 0 ||
            db_commit(d, &err) < 0)
            db_rollback(d);
    }
    inflight *lists[3] = {s->inflight, s->done, s->copies};
    for (int i = 0; i < 3; i++)
        while (lists[i]) {
            inflight *f = lists[i];
            lists[i] = f->next;
            inflight_free(f);
        }
    if (s->tick) event_free(s->tick);
    if (s->round) event_free(s->round);
    if (s->later) event_free(s->later);
    if (s->gather) event_free(s->gather);
    if (s->copy_timer) event_free(s->copy_timer);
    free(s->boxes);
    free(s);
}
