/* sequencer.c — the sequence scheduler on the engine loop (R18, R19, R23, R25, R26). Every
 * two seconds:
 *   1. R19: enrollments sending from a mailbox whose master inbox is failing or disconnected
 *      pause with reason master_inbox_down; they resume when the master is connected again
 *      (a change of routing resumes them in ops_master_inbox_set).
 *   2. R23: enrollments paused for an out-of-office resume at their return date.
 *   3. Due enrollments: inside the sequence's send window, the next step is rendered
 *      (templates with the prospect's fields), composed (Reply-To the master, one-click
 *      unsubscribe, our tracking id) and queued in the outbox under the unique key
 *      "enrollment:<id>:step:<n>" in the same transaction that advances the enrollment — so a
 *      step is queued once, whatever crashes, pauses or restarts happen (R26). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>
#include <jansson.h>
#include "core/sendday.h"
#include "core/template.h"
#include "engine/engine_internal.h"
#include "engine/sequencer.h"
#include "mail/compose.h"
#include "store/outbox.h"
#include "store/sequences.h"
#include "store/store.h"
#include "store/webhooks.h"
#include "util/log.h"

struct sequencer {
    engine *e;
    struct event *tick;
};

static void pause_for_masters(db *d)
{
    char now[MF_TIME_LEN];
    mf_time_format(mf_now(), now);
    /* the pause and its webhook events (enrollment.paused) in one transaction */
    static const char *down = "state = 'active' AND mailbox_id IN (SELECT m.id FROM mailboxes m "
                              "JOIN mailboxes master ON master.id = m.master_id WHERE "
                              "master.status IN ('failing','disconnected'))";
    mf_error err;
    if (db_begin(d, &err) == 0) {
        char *sql = xasprintf("UPDATE enrollments SET state = 'paused', pause_reason = "
                              "'master_inbox_down', updated_at = ? WHERE %s",
                              down);
        int ok = webhook_emit_enrollments_paused(d, down, NULL, "master_inbox_down") >= 0 &&
                 db_exec(d, &err, sql, now, DB_END) >= 0;
        free(sql);
        if (!ok || db_commit(d, &err) < 0) db_rollback(d);
    }
    db_exec(d, NULL,
            "UPDATE enrollments SET state = 'active', pause_reason = NULL, updated_at = ? "
            "WHERE state = 'paused' AND pause_reason = 'master_inbox_down' AND mailbox_id IN "
            "(SELECT m.id FROM mailboxes m JOIN mailboxes master ON master.id = m.master_id "
            "WHERE master.status NOT IN ('failing','disconnected'))",
            now, DB_END);
    db_exec(d, NULL,
            "UPDATE enrollments SET state = 'active', pause_reason = NULL, resume_at = NULL, "
            "next_at = ?, updated_at = ? WHERE state = 'paused' AND pause_reason = "
            "'out_of_office' AND resume_at <= ?",
            now, now, now, DB_END);
}

/* The prospect's fields for the templates; strings point into p and custom (a JSON object). */
static size_t prospect_fields(const mf_prospect *p, json_t *custom, template_field *f,
                              size_t max)
{
    size_t n = 0;
    f[n++] = (template_field){"first_name", p->first_name};
    f[n++] = (template_field){"last_name", p->last_name};
    f[n++] = (template_field){"company", p->company};
    f[n++] = (template_field){"email", p->email};
    const char *k;
    json_t *v;
    json_object_foreach(custom, k, v)
    {
        if (n == max) break;
        if (json_is_string(v) && template_name_valid(k))
            f[n++] = (template_field){k, json_string_value(v)};
    }
    return n;
}

/* The Message-ID of the last step queued for this enrollment, to thread follow-ups. */
static char *previous_message_id(db *d, const char *enrollment_id)
{
    db_stmt *st = db_prepare(d, "SELECT message_id FROM outbox WHERE enrollment_id = ? ORDER BY "
                                "id DESC LIMIT 1", NULL);
    if (!st) return NULL;
    db_bind_text(st, 1, enrollment_id);
    char *id = db_step(st) == DB_ROW ? store_dup(st, 0, "") : NULL;
    db_finalize(&st);
    return id;
}

static int suppressed(db *d, const char *org_id, const char *email)
{
    db_stmt *st = db_prepare(d, "SELECT 1 FROM suppressions WHERE org_id = ? AND address_norm = ?",
                             NULL);
    if (!st) return 0;
    db_bind_text(st, 1, org_id);
    db_bind_text(st, 2, email);
    int rc = db_step(st) == DB_ROW;
    db_finalize(&st);
    return rc;
}

typedef struct step_ctx {
    sequencer *q;
    int queued;
} step_ctx;

/* Everything for one due enrollment, in one transaction. */
static int run_step(step_ctx *c, db *d, const mf_enrollment *e, mf_error *err)
{
    engine *eng = c->q->e;
    mf_sequence seq;
    mf_prospect p;
    mf_mailbox m, master;
    memset(&p, 0, sizeof(p));
    memset(&m, 0, sizeof(m));
    memset(&master, 0, sizeof(master));
    mf_step *steps = NULL;
    int nsteps = 0, rc = 0;
    json_t *custom = NULL;
    char *prev = NULL, *prev_refs = NULL;
    template_result *subj = NULL, *text = NULL, *html = NULL;
    compose_message *msg = NULL;
    compose_rcpts *rcpts = NULL;

    if (sequences_get(d, e->sequence_id, &seq, err) < 0 ||
        sequence_steps(d, seq.id, &steps, &nsteps, err) < 0 ||
        prospects_get(d, e->prospect_id, &p, err) < 0) {
        rc = -1;
        goto out;
    }
    time_t now = mf_now();
    if (e->step >= nsteps) {
        rc = enrollments_advance(d, e->id, e->step, now, 1, err);
        goto out;
    }
    if (suppressed(d, e->org_id, p.email)) { /* R25 at send time */
        rc = enrollments_set_state(d, e->id, "unsubscribed", NULL, NULL, err);
        goto out;
    }
    db_stmt *st = db_prepare(d, "SELECT bounced FROM prospects WHERE id = ?", err);
    if (st) {
        db_bind_text(st, 1, p.id);
        int bounced = db_step(st) == DB_ROW && db_col_int64(st, 0);
        db_finalize(&st);
        if (bounced) {
            rc = enrollments_set_state(d, e->id, "bounced", NULL, NULL, err);
            goto out;
        }
    }
    const char *mailbox_id = e->mailbox_id[0] ? e->mailbox_id : seq.mailbox_id;
    if (!mailbox_id[0] || mailboxes_get(d, mailbox_id, &m, err) < 0) {
        rc = enrollments_set_state(d, e->id, "paused", "no_mailbox", NULL, err);
        goto out;
    }
    if (strcmp(m.status, "failing") == 0 || strcmp(m.status, "disconnected") == 0)
        goto out; /* waits for the mailbox to be fixed (R12) */
    mf_user owner;
    if (users_get(d, m.owner_id, &owner, NULL) == 0 && owner.locked)
        goto out; /* R2: a locked seat does not send; the sequence waits */
    if (m.master_id[0] && mailboxes_get(d, m.master_id, &master, err) == 0 &&
        (strcmp(master.status, "failing") == 0 || strcmp(master.status, "disconnected") == 0)) {
        rc = enrollments_set_state(d, e->id, "paused", "master_inbox_down", NULL, err); /* R19 */
        goto out;
    }
    sendday_window w = {.days = (unsigned)seq.window_days,
                        .start_minute = seq.window_start,
                        .end_minute = seq.window_end};
    const sendday_zone *z = engine_zone(eng, seq.time_zone);
    if (!sendday_in_window(&w, z, now)) { /* wait for the window to open */
        time_t open = now + 3600;
        sendday_next_window_open(&w, z, now, &open);
        rc = enrollments_advance(d, e->id, e->step, open, 0, err);
        goto out;
    }
    const mf_step *s = &steps[e->step];
    custom = json_loads(p.fields_json ? p.fields_json : "{}", 0, NULL);
    if (!json_is_object(custom)) {
        json_decref(custom);
        custom = json_object();
    }
    template_field fields[64];
    size_t nf = prospect_fields(&p, custom, fields, 64);
    if (template_render(s->subject, strlen(s->subject), TEMPLATE_LINE, fields, nf, 0, &subj, err) <
            0 ||
        template_render(s->text, strlen(s->text), TEMPLATE_TEXT, fields, nf, 0, &text, err) < 0 ||
        (s->html &&
         template_render(s->html, strlen(s->html), TEMPLATE_HTML, fields, nf, 0, &html, err) < 0)) {
        rc = enrollments_set_state(d, e->id, "paused", "template_error", NULL, err);
        goto out;
    }
    char unsub[1024], tracking[MF_ID_LEN + 16], key[MF_ID_LEN + 32];
    const char *base = eng->app->cfg.public_url[0] ? eng->app->cfg.public_url : NULL;
    if (base)
        snprintf(unsub, sizeof(unsub), "%s/u/%s", base, e->token);
    else
        snprintf(unsub, sizeof(unsub), "http://%s/u/%s", eng->app->cfg.listen, e->token);
    snprintf(tracking, sizeof(tracking), "%s-%d", e->id, e->step);
    snprintf(key, sizeof(key), "enrollment:%s:step:%d", e->id, e->step);
    prev = previous_message_id(d, e->id);
    /* the thread: the previous step's References, then the previous step (RFC 5322 3.6.4) */
    const char *refs[COMPOSE_REFS_IN_MAX];
    size_t nrefs = 0;
    if (prev) {
        db_stmt *rs = db_prepare(d, "SELECT references_ids FROM messages WHERE message_id = ? "
                                    "AND direction = 'out' LIMIT 1", NULL);
        if (rs) {
            db_bind_text(rs, 1, prev);
            if (db_step(rs) == DB_ROW) prev_refs = store_dup(rs, 0, "");
            db_finalize(&rs);
        }
        for (char *save = NULL, *tok = prev_refs ? strtok_r(prev_refs, " ", &save) : NULL;
             tok && nrefs < COMPOSE_REFS_IN_MAX - 1; tok = strtok_r(NULL, " ", &save))
            refs[nrefs++] = tok;
        refs[nrefs++] = prev;
    }
    compose_address to = {.name = NULL, .addr = p.email};
    compose_input ci = {
        .from = {.name = m.sender_name, .addr = m.address},
        .to = &to,
        .n_to = 1,
        .reply_to = {.name = NULL, .addr = master.address[0] ? master.address : NULL},
        .subject = subj->text,
        .date = now,
        .in_reply_to = prev,
        .references = nrefs ? refs : NULL,
        .n_references = nrefs,
        .tracking_id = tracking,
        .text = text->text,
        .html = html ? html->text : NULL,
        .signature = m.signature,
        .unsubscribe_url = unsub,
    };
    if (compose_build(&ci, &msg, err) < 0 || compose_envelope(&ci, &rcpts, err) < 0) {
        rc = enrollments_set_state(d, e->id, "paused", "compose_error", NULL, err);
        goto out;
    }
    char rj[600];
    snprintf(rj, sizeof(rj), "[\"%s\"]", p.email); /* a normalised address needs no escaping */
    mf_outbox_new o = {.org_id = e->org_id,
                       .mailbox_id = m.id,
                       .kind = "sequence",
                       .unique_key = key,
                       .mail_from = m.address,
                       .rcpts_json = rj,
                       .raw = msg->data,
                       .copy_json = msg->copy,
                       .message_id = msg->message_id};
    char out_id[MF_ID_LEN];
    int created = 0;
    rc = outbox_enqueue(d, &o, out_id, &created, err);
    if (rc == 0 && created)
        rc = db_exec(d, err, "UPDATE outbox SET enrollment_id = ? WHERE id = ?", e->id, out_id,
                     DB_END) < 0
                 ? -1
                 : 0;
    if (rc == 0) {
        int next = e->step + 1;
        time_t next_at = next < nsteps ? now + (time_t)steps[next].delay_minutes * 60 : now;
        rc = enrollments_advance(d, e->id, next, next_at, next >= nsteps, err);
    }
    if (rc == 0 && created) c->queued++;
out:
    template_result_free(&subj);
    template_result_free(&text);
    template_result_free(&html);
    compose_message_free(&msg);
    compose_rcpts_free(&rcpts);
    json_decref(custom);
    free(prev);
    free(prev_refs);
    steps_free(&steps, nsteps);
    mf_prospect_clear(&p);
    mf_mailbox_clear(&m);
    mf_mailbox_clear(&master);
    return rc;
}

static void on_due(const mf_enrollment *e, void *arg)
{
    step_ctx *c = arg;
    db *d = engine_db(c->q->e);
    mf_error err;
    if (!d || db_begin(d, &err) < 0) return;
    if (run_step(c, d, e, &err) < 0) {
        db_rollback(d);
        log_warnx("sequence: enrollment %s: %s", e->id, err.message);
        return;
    }
    if (db_commit(d, &err) < 0) log_warnx("sequence: enrollment %s: %s", e->id, err.message);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sequencer *q = arg;
    db *d = engine_db(q->e);
    if (!d) return;
    pause_for_masters(d);
    step_ctx c = {.q = q};
    mf_error err;
    if (enrollments_due(d, mf_now(), 200, on_due, &c, &err) < 0)
        log_errorx("sequence: cannot read due enrollments: %s", err.message);
    if (c.queued) {
        log_info("sequence: %d step(s) queued", c.queued);
        event_active(q->e->wake_ev, 0, 0); /* the outbox sends them now */
    }
}

sequencer *sequencer_start(engine *e)
{
    sequencer *q = xcalloc(1, sizeof(*q));
    q->e = e;
    q->tick = event_new(e->base, -1, EV_PERSIST, on_tick, q);
    struct timeval tv = {.tv_sec = 2, .tv_usec = 0};
    event_add(q->tick, &tv);
    return q;
}

void sequencer_wake(sequencer *q)
{
    if (q) event_active(q->tick, 0, 0);
}

void sequencer_free(sequencer **qp)
{
    if (!qp || !*qp) return;
    if ((*qp)->tick) event_free((*qp)->tick);
    free(*qp);
    *qp = NULL;
}
