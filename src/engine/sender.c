/* sender.c — the engine's outbox runner (R15, R26): every second (and when woken) it takes
 * the queued messages that are due, checks each mailbox's daily limit in its own time zone and
 * its minimum gap, claims the message (queued → sending, and the send counted, committed
 * BEFORE any network step), hands it to the SMTP sender, and records the outcome:
 *
 *   accepted           → sent; the message is stored in its conversation (direction out)
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
#include <unistd.h>
#include <event2/event.h>
#include <jansson.h>
#include "core/outbox.h"
#include "core/sendday.h"
#include "engine/engine_internal.h"
#include "engine/health.h"
#include "engine/ingest.h"
#include "engine/sender.h"
#include "mail/compose.h"
#include "mail/smtp_sender.h"
#include "store/outbox.h"
#include "store/store.h"
#include "util/crypto.h"
#include "util/log.h"

#define MAX_ATTEMPTS 8

struct inflight;

#define MAX_INFLIGHT 512 /* messages handed to the SMTP sender and not yet answered */

struct sender_loop {
    engine *e;
    struct inflight *inflight;
    int ninflight;
    smtp_sender *smtp;
    struct event *tick;
};

typedef struct inflight {
    struct inflight *next; /* the loop's list, so nothing leaks when it stops mid-send */
    sender_loop *s;
    char id[MF_ID_LEN];
    char mailbox_id[MF_ID_LEN];
    char org_id[MF_ID_LEN];
    char owner_id[MF_ID_LEN];
    char address[MF_ADDR_MAX];
    char day[SENDDAY_KEY_LEN];
    int attempts;
} inflight;

/* The SMTP settings of a mailbox as an account; strings owned by *json (free both). */
static int smtp_account_of(sender_loop *s, const char *mailbox_id, smtp_account *a, json_t **json,
                           mf_error *err)
{
    db *d = engine_db(s->e);
    if (!d) return mf_fail_internal(err, "no database");
    db_stmt *st = db_prepare(d, "SELECT smtp_sealed FROM mailboxes WHERE id = ?", err);
    if (!st) return -1;
    db_bind_text(st, 1, mailbox_id);
    char *sealed = NULL;
    if (db_step(st) == DB_ROW) sealed = store_dup(st, 0, "");
    db_finalize(&st);
    char *plain = sealed && *sealed ? mf_unseal(&s->e->app->key, sealed) : NULL;
    free(sealed);
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
    a->max_connections = 1;
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

static void on_sent(const smtp_result *r, void *arg)
{
    inflight *f = arg;
    sender_loop *s = f->s;
    db *d = engine_db(s->e);
    /* Refused credentials or a certificate that does not verify say the mailbox's settings
     * are wrong, not the message: it waits (deferred) while the mailbox is failing (R12). */
    int account_broken = r->outcome == SMTP_PERMFAIL &&
                         (r->failure == SMTP_FAIL_AUTH || r->failure == SMTP_FAIL_TLS);
    enum outbox_outcome o = r->outcome == SMTP_SENT                   ? OUTBOX_ACCEPTED
                            : account_broken                          ? OUTBOX_DEFERRED
                            : r->outcome == SMTP_PERMFAIL             ? OUTBOX_REFUSED
                            : r->maybe_sent                           ? OUTBOX_LOST_AFTER_DATA
                                                                      : OUTBOX_DEFERRED;
    time_t retry = 0;
    enum outbox_state next = outbox_after_attempt(o, f->attempts, MAX_ATTEMPTS, mf_now(), &retry);
    json_t *rj = recipients_json(r);
    char *rtext = json_dumps(rj, JSON_COMPACT);
    json_decref(rj);
    mf_error err;
    mf_outbox_row row;
    memset(&row, 0, sizeof(row));
    if (d && db_begin(d, &err) == 0) {
        int rc = outbox_finish(d, f->id, outbox_state_name(next),
                               next == OUTBOX_SENT ? NULL : (*r->reason ? r->reason : r->text),
                               rtext, retry, &err);
        if (rc == 0 && next == OUTBOX_QUEUED && f->mailbox_id[0]) /* the day's count back */
            rc = mailbox_count_send(d, f->mailbox_id, f->day, -1, &err);
        if (rc == 0 && next == OUTBOX_SENT && f->mailbox_id[0] &&
            outbox_get(d, f->id, &row, &err) == 0) {
            /* what we sent joins its conversation (R18 compose replies, R22 matching) */
            ingest_source src = {.mailbox_id = f->mailbox_id,
                                 .mailbox_address = f->address,
                                 .folder = "Sent",
                                 .role = "sent",
                                 .internaldate = mf_now(),
                                 .seen = 1};
            ingest_message(d, &src, row.raw, strlen(row.raw));
        }
        mf_outbox_row_clear(&row);
        if (rc < 0 || db_commit(d, &err) < 0) {
            db_rollback(d);
            log_errorx("outbox: cannot record the outcome of %s: %s", f->id, err.message);
        }
    }
    log_info("outbox: %s from %s: %s%s%s", f->id, f->address, outbox_state_name(next),
             next == OUTBOX_SENT ? "" : " — ", next == OUTBOX_SENT ? "" : r->reason);
    if (d && account_broken && f->mailbox_id[0]) {
        health_target t = {f->mailbox_id, f->org_id, f->owner_id, f->address};
        char reason[400];
        snprintf(reason, sizeof(reason), "SMTP: %s", *r->reason ? r->reason : r->text);
        health_set(d, &t, "failing", reason);
    }
    free(rtext);
    for (inflight **pp = &s->inflight; *pp; pp = &(*pp)->next) {
        if (*pp == f) {
            *pp = f->next;
            s->ninflight--;
            break;
        }
    }
    free(f);
    event_active(s->tick, 0, 0); /* that mailbox may send its next message now */
    if (next == OUTBOX_SENT) app_mail_arrived(s->e->app);
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

static void send_system(sender_loop *s, db *d, const mf_outbox_row *row)
{
    const mf_config *cfg = &s->e->app->cfg;
    smtp_account acct;
    char buf[1024];
    if (!cfg->system_smtp[0] || system_account(cfg->system_smtp, &acct, buf, sizeof(buf)) < 0)
        return; /* stays queued until the system mailer is configured */
    acct.ca_file = cfg->ca_file;
    mf_error err;
    int claimed = 0;
    if (db_begin(d, &err) == 0) {
        claimed = outbox_claim(d, row->id, &err) == 1;
        if (!claimed || db_commit(d, &err) < 0) {
            db_rollback(d);
            claimed = 0;
        }
    }
    if (!claimed) return;
    inflight *f = xcalloc(1, sizeof(*f));
    f->s = s;
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

/* One due message: limits, claim, submit. */
static void send_one(const mf_outbox_row *row, void *arg)
{
    sender_loop *s = arg;
    db *d = engine_db(s->e);
    if (!d || s->ninflight >= MAX_INFLIGHT) return; /* the next tick takes it */
    /* One message of a mailbox at a time: it is claimed ("sending") only when it can go at
     * once, so a crash leaves at most one message per mailbox "unknown" (R26). */
    for (inflight *f = s->inflight; f; f = f->next)
        if (strcmp(f->mailbox_id, row->mailbox_id) == 0) return;
    if (!row->mailbox_id[0]) {
        send_system(s, d, row);
        return;
    }
    mf_mailbox m;
    memset(&m, 0, sizeof(m));
    mf_error err;
    if (mailboxes_get(d, row->mailbox_id, &m, &err) < 0) return;
    char tz[SENDDAY_ZONE_NAME_MAX] = "UTC";
    db_stmt *st = db_prepare(d, "SELECT time_zone, min_gap_seconds, last_send_at FROM mailboxes "
                                "WHERE id = ?", NULL);
    int64_t gap = 0;
    time_t last = 0;
    if (st) {
        db_bind_text(st, 1, m.id);
        if (db_step(st) == DB_ROW) {
            store_copy(tz, sizeof(tz), st, 0);
            gap = db_col_int64(st, 1);
            const char *l = db_col_text(st, 2);
            if (l) mf_time_parse(l, &last);
        }
        db_finalize(&st);
    }
    time_t now = mf_now();
    int usable = strcmp(m.status, "failing") != 0 && strcmp(m.status, "disconnected") != 0;
    mf_user owner;
    if (usable && users_get(d, m.owner_id, &owner, NULL) == 0 && owner.locked)
        usable = 0; /* R2: a locked seat does not send; its mail waits */
    char day[SENDDAY_KEY_LEN];
    sendday_day_key(engine_zone(s->e, tz), now, day);
    int sent = mailbox_sent_on(d, m.id, day, NULL);
    /* R15: over the limit waits for the next local day (moved there, so a full mailbox's
     * backlog never holds up other mailboxes); the gap spaces sends out */
    if (usable && sent >= 0 && sent >= m.daily_limit) {
        char next[MF_TIME_LEN];
        mf_time_format(now + sendday_seconds_to_midnight(engine_zone(s->e, tz), now), next);
        db_exec(d, NULL,
                "UPDATE outbox SET next_attempt_at = ? WHERE mailbox_id = ? AND status = 'queued' "
                "AND next_attempt_at < ?",
                next, m.id, next, DB_END);
    }
    if (!usable || sent < 0 || sent >= m.daily_limit || (gap > 0 && last && now < last + gap)) {
        mf_mailbox_clear(&m);
        return;
    }
    /* R25: the suppression list is checked at send time, not only when queued */
    json_t *rc_list = json_loads(row->rcpts_json, 0, NULL);
    size_t i;
    json_t *v;
    int blocked = 0;
    json_array_foreach(rc_list, i, v)
    {
        char norm[MF_ADDR_MAX];
        const char *a = json_string_value(v);
        if (!a || address_normalize(a, norm, NULL) < 0) continue;
        db_stmt *q = db_prepare(d, "SELECT 1 FROM suppressions WHERE org_id = ? AND "
                                   "address_norm = ?", NULL);
        if (!q) continue;
        db_bind_text(q, 1, m.org_id);
        db_bind_text(q, 2, norm);
        blocked |= db_step(q) == DB_ROW;
        db_finalize(&q);
    }
    json_decref(rc_list);
    if (blocked) {
        if (db_begin(d, &err) == 0) {
            int ok = outbox_claim(d, row->id, &err) == 1 &&
                     outbox_finish(d, row->id, "failed",
                                   "a recipient is on the organisation's suppression list (R25)",
                                   NULL, 0, &err) == 0;
            if (ok) db_commit(d, &err);
            else db_rollback(d);
        }
        mf_mailbox_clear(&m);
        return;
    }
    int claimed = 0;
    if (db_begin(d, &err) == 0) {
        claimed = outbox_claim(d, row->id, &err);
        if (claimed == 1 && mailbox_count_send(d, m.id, day, +1, &err) < 0) claimed = -1;
        if (claimed == 1) {
            if (db_commit(d, &err) < 0) claimed = -1;
        } else {
            db_rollback(d);
        }
    }
    if (claimed != 1) {
        mf_mailbox_clear(&m);
        return;
    }
    /* Committed as "sending": from here on a crash makes it "unknown", never a second send. */
    inflight *f = xcalloc(1, sizeof(*f));
    f->s = s;
    snprintf(f->id, sizeof(f->id), "%s", row->id);
    snprintf(f->mailbox_id, sizeof(f->mailbox_id), "%s", m.id);
    snprintf(f->org_id, sizeof(f->org_id), "%s", m.org_id);
    snprintf(f->owner_id, sizeof(f->owner_id), "%s", m.owner_id);
    snprintf(f->address, sizeof(f->address), "%s", m.address);
    snprintf(f->day, sizeof(f->day), "%s", day);
    f->attempts = row->attempts + 1;
    f->next = s->inflight;
    s->inflight = f;
    s->ninflight++;
    mf_mailbox_clear(&m);

    smtp_account acct;
    json_t *settings = NULL;
    json_t *rcpts = json_loads(row->rcpts_json, 0, NULL);
    size_t n = json_is_array(rcpts) ? json_array_size(rcpts) : 0;
    const char **list = xcalloc(n ? n : 1, sizeof(*list));
    for (size_t i = 0; i < n; i++) list[i] = json_string_value(json_array_get(rcpts, i));
    int rc = smtp_account_of(s, f->mailbox_id, &acct, &settings, &err);
    if (rc == 0)
        rc = smtp_sender_submit(s->smtp, &acct, row->mail_from, list, n, row->raw,
                                strlen(row->raw), on_sent, f, &err);
    free(list);
    json_decref(rcpts);
    json_decref(settings);
    if (rc < 0) { /* never reached the network: put it back */
        smtp_result r = {.outcome = SMTP_TEMPFAIL, .failure = SMTP_FAIL_LOCAL, .text = "",
                         .reason = err.message};
        on_sent(&r, f);
    }
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sender_loop *s = arg;
    db *d = engine_db(s->e);
    mf_error err;
    if (!d || s->ninflight >= MAX_INFLIGHT) return;
    mail_notifications(s, d);
    if (outbox_due(d, mf_now(), MAX_INFLIGHT, send_one, s, &err) < 0)
        log_errorx("outbox: cannot read due messages: %s", err.message);
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
}

sender_loop *sender_start(engine *e, mf_error *err)
{
    sender_loop *s = xcalloc(1, sizeof(*s));
    s->e = e;
    smtp_sender_limits lim = {.max_connections = 32};
    s->smtp = smtp_sender_new(e->base, &lim, err);
    if (!s->smtp) {
        free(s);
        return NULL;
    }
    s->tick = event_new(e->base, -1, EV_PERSIST, on_tick, s);
    struct timeval tv = {.tv_sec = 1, .tv_usec = 0};
    event_add(s->tick, &tv);
    return s;
}

void sender_wake(sender_loop *s)
{
    if (s) event_active(s->tick, 0, 0);
}

void sender_free(sender_loop **sp)
{
    if (!sp || !*sp) return;
    sender_loop *s = *sp;
    *sp = NULL;
    smtp_sender_free(&s->smtp); /* in-flight messages stay "sending" → unknown at next start */
    while (s->inflight) {
        inflight *f = s->inflight;
        s->inflight = f->next;
        free(f);
    }
    if (s->tick) event_free(s->tick);
    free(s);
}
