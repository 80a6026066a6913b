/* sequences.c — sequences, steps, enrollments; see sequences.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "store/sequences.h"
#include "store/webhooks.h"
#include "store/store.h"
#include "util/crypto.h"

#define SEQ_COLS                                                                                   \
    "id, org_id, owner_id, mailbox_id, name, state, window_days, window_start, window_end, "       \
    "time_zone, created_at"
#define ENR_COLS                                                                                   \
    "e.id, e.org_id, e.sequence_id, e.prospect_id, e.mailbox_id, e.state, e.pause_reason, "        \
    "e.step, e.next_at, e.resume_at, e.unsubscribe_token, e.created_at, e.updated_at"

static void seq_fill(db_stmt *st, void *out)
{
    mf_sequence *s = out;
    store_copy(s->id, sizeof(s->id), st, 0);
    store_copy(s->org_id, sizeof(s->org_id), st, 1);
    store_copy(s->owner_id, sizeof(s->owner_id), st, 2);
    store_copy(s->mailbox_id, sizeof(s->mailbox_id), st, 3);
    store_copy(s->name, sizeof(s->name), st, 4);
    store_copy(s->state, sizeof(s->state), st, 5);
    s->window_days = (int)db_col_int64(st, 6);
    s->window_start = (int)db_col_int64(st, 7);
    s->window_end = (int)db_col_int64(st, 8);
    store_copy(s->time_zone, sizeof(s->time_zone), st, 9);
    store_copy(s->created_at, sizeof(s->created_at), st, 10);
}

static void enr_fill(db_stmt *st, void *out)
{
    mf_enrollment *e = out;
    store_copy(e->id, sizeof(e->id), st, 0);
    store_copy(e->org_id, sizeof(e->org_id), st, 1);
    store_copy(e->sequence_id, sizeof(e->sequence_id), st, 2);
    store_copy(e->prospect_id, sizeof(e->prospect_id), st, 3);
    store_copy(e->mailbox_id, sizeof(e->mailbox_id), st, 4);
    store_copy(e->state, sizeof(e->state), st, 5);
    store_copy(e->pause_reason, sizeof(e->pause_reason), st, 6);
    e->step = (int)db_col_int64(st, 7);
    store_copy(e->next_at, sizeof(e->next_at), st, 8);
    store_copy(e->resume_at, sizeof(e->resume_at), st, 9);
    store_copy(e->token, sizeof(e->token), st, 10);
    store_copy(e->created_at, sizeof(e->created_at), st, 11);
    store_copy(e->updated_at, sizeof(e->updated_at), st, 12);
}

int sequences_insert(db *d, mf_sequence *s, const mf_step *steps, int n, mf_error *err)
{
    mf_id_new("seq", s->id);
    mf_time_format(mf_now(), s->created_at);
    snprintf(s->state, sizeof(s->state), "active");
    db_stmt *st = db_prepare(d, "INSERT INTO sequences (" SEQ_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?, "
                                "?, ?, ?, ?)", err);
    if (!st) return -1;
    db_bind_text(st, 1, s->id);
    db_bind_text(st, 2, s->org_id);
    db_bind_text(st, 3, s->owner_id);
    db_bind_text(st, 4, store_nullable(s->mailbox_id));
    db_bind_text(st, 5, s->name);
    db_bind_text(st, 6, s->state);
    db_bind_int64(st, 7, s->window_days);
    db_bind_int64(st, 8, s->window_start);
    db_bind_int64(st, 9, s->window_end);
    db_bind_text(st, 10, s->time_zone);
    db_bind_text(st, 11, s->created_at);
    int rc = db_step(st) == DB_DONE ? 0 : -1;
    db_finalize(&st);
    for (int i = 0; rc == 0 && i < n; i++) {
        st = db_prepare(d, "INSERT INTO sequence_steps (sequence_id, idx, delay_minutes, subject, "
                           "text, html) VALUES (?, ?, ?, ?, ?, ?)", err);
        if (!st) return -1;
        db_bind_text(st, 1, s->id);
        db_bind_int64(st, 2, i);
        db_bind_int64(st, 3, steps[i].delay_minutes);
        db_bind_text(st, 4, steps[i].subject);
        db_bind_text(st, 5, steps[i].text);
        db_bind_text(st, 6, steps[i].html);
        rc = db_step(st) == DB_DONE ? 0 : -1;
        db_finalize(&st);
    }
    return rc;
}

int sequences_get(db *d, const char *id, mf_sequence *s, mf_error *err)
{
    return store_get_one(d, "SELECT " SEQ_COLS " FROM sequences WHERE id = ?", id, seq_fill, s,
                         "sequence", err);
}

int sequences_list(db *d, const char *org_id, const char *owner_id, mf_page *pg,
                   void (*each)(const mf_sequence *, void *), void *ctx, mf_error *err)
{
    qb q;
    qb_init(&q, "SELECT " SEQ_COLS " FROM sequences WHERE 1=1");
    qb_and(&q, "org_id = ?", org_id);
    qb_and(&q, "owner_id = ?", owner_id);
    qb_page(&q, "id", pg);
    db_stmt *st = qb_prepare(d, &q, err);
    if (!st) return -1;
    int n = 0, rc;
    while ((rc = qb_next(st, pg, &n)) == 1) {
        mf_sequence s;
        seq_fill(st, &s);
        each(&s, ctx);
    }
    db_finalize(&st);
    return rc < 0 ? -1 : n;
}

int sequence_steps(db *d, const char *sequence_id, mf_step **out, int *n, mf_error *err)
{
    *out = NULL;
    *n = 0;
    db_stmt *st = db_prepare(d, "SELECT idx, delay_minutes, subject, text, html FROM "
                                "sequence_steps WHERE sequence_id = ? ORDER BY idx", err);
    if (!st) return -1;
    db_bind_text(st, 1, sequence_id);
    int rc;
    while ((rc = db_step(st)) == DB_ROW) {
        *out = xrealloc(*out, (size_t)(*n + 1) * sizeof(**out));
        mf_step *s = &(*out)[(*n)++];
        s->idx = (int)db_col_int64(st, 0);
        s->delay_minutes = (int)db_col_int64(st, 1);
        s->subject = store_dup(st, 2, "");
        s->text = store_dup(st, 3, "");
        s->html = db_col_is_null(st, 4) ? NULL : store_dup(st, 4, "");
    }
    db_finalize(&st);
    return rc == DB_ERROR ? -1 : 0;
}

void steps_free(mf_step **steps, int n)
{
    if (!steps || !*steps) return;
    for (int i = 0; i < n; i++) {
        free((*steps)[i].subject);
        free((*steps)[i].text);
        free((*steps)[i].html);
    }
    free(*steps);
    *steps = NULL;
}

int enrollments_insert(db *d, mf_enrollment *e, int *created, mf_error *err)
{
    *created = 0;
    db_stmt *st = db_prepare(d, "SELECT " ENR_COLS " FROM enrollments e WHERE e.sequence_id = ? "
                                "AND e.prospect_id = ?", err);
    if (!st) return -1;
    db_bind_text(st, 1, e->sequence_id);
    db_bind_text(st, 2, e->prospect_id);
    int rc = db_step(st);
    if (rc == DB_ROW) enr_fill(st, e);
    db_finalize(&st);
    if (rc != DB_DONE) return rc == DB_ROW ? 0 : -1;
    mf_id_new("enr", e->id);
    mf_time_format(mf_now(), e->created_at);
    snprintf(e->updated_at, sizeof(e->updated_at), "%s", e->created_at);
    if (!e->next_at[0]) snprintf(e->next_at, sizeof(e->next_at), "%s", e->created_at);
    char *tok = mf_token_new("u");
    snprintf(e->token, sizeof(e->token), "%s", tok);
    free(tok);
    if (!e->state[0]) snprintf(e->state, sizeof(e->state), "active");
    if (db_exec(d, err,
                "INSERT INTO enrollments (id, org_id, sequence_id, prospect_id, mailbox_id, state, "
                "pause_reason, step, next_at, unsubscribe_token, created_at, updated_at) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?)",
                e->id, e->org_id, e->sequence_id, e->prospect_id, store_nullable(e->mailbox_id),
                e->state, store_nullable(e->pause_reason), e->next_at, e->token, e->created_at,
                e->updated_at, DB_END) < 0)
        return -1;
    *created = 1;
    return 0;
}

int enrollments_get(db *d, const char *id, mf_enrollment *e, mf_error *err)
{
    return store_get_one(d, "SELECT " ENR_COLS " FROM enrollments e WHERE e.id = ?", id, enr_fill,
                         e, "enrollment", err);
}

int enrollments_get_by_token(db *d, const char *token, mf_enrollment *e, mf_error *err)
{
    return store_get_one(d, "SELECT " ENR_COLS " FROM enrollments e WHERE e.unsubscribe_token = ?",
                         token, enr_fill, e, "enrollment", err);
}

int enrollments_list(db *d, mf_enrollment_filter f, mf_page *pg,
                     void (*each)(const mf_enrollment *, void *), void *ctx, mf_error *err)
{
    qb q;
    qb_init(&q, "SELECT " ENR_COLS " FROM enrollments e JOIN sequences s ON s.id = e.sequence_id "
                "WHERE 1=1");
    qb_and(&q, "e.org_id = ?", f.org_id);
    qb_and(&q, "e.sequence_id = ?", f.sequence_id);
    qb_and(&q, "e.state = ?", f.state);
    qb_and(&q, "s.owner_id = ?", f.owner_id);
    qb_page(&q, "e.id", pg);
    db_stmt *st = qb_prepare(d, &q, err);
    if (!st) return -1;
    int n = 0, rc;
    while ((rc = qb_next(st, pg, &n)) == 1) {
        mf_enrollment e;
        enr_fill(st, &e);
        each(&e, ctx);
    }
    db_finalize(&st);
    return rc < 0 ? -1 : n;
}

int enrollments_due(db *d, time_t now, int limit, void (*each)(const mf_enrollment *, void *),
                    void *ctx, mf_error *err)
{
    char t[MF_TIME_LEN];
    mf_time_format(now, t);
    char *sql = xasprintf("SELECT " ENR_COLS " FROM enrollments e JOIN sequences s ON s.id = "
                          "e.sequence_id WHERE e.state = 'active' AND s.state = 'active' AND "
                          "e.next_at <= ? ORDER BY e.next_at, e.id LIMIT %d",
                          limit);
    db_stmt *st = db_prepare(d, sql, err);
    free(sql);
    if (!st) return -1;
    db_bind_text(st, 1, t);
    mf_enrollment *rows = NULL;
    int n = 0, rc;
    while ((rc = db_step(st)) == DB_ROW) {
        rows = xrealloc(rows, (size_t)(n + 1) * sizeof(*rows));
        enr_fill(st, &rows[n++]);
    }
    db_finalize(&st);
    for (int i = 0; rc != DB_ERROR && i < n; i++) each(&rows[i], ctx);
    free(rows);
    return rc == DB_ERROR ? -1 : n;
}

int enrollments_set_state(db *d, const char *id, const char *state, const char *reason,
                          const char *resume_at, mf_error *err)
{
    char now[MF_TIME_LEN];
    mf_time_format(mf_now(), now);
    /* the webhook event enrollment.paused, in the caller's transaction */
    if (strcmp(state, "paused") == 0 &&
        webhook_emit_enrollments_paused(d, "id = ? AND state <> 'paused'", id, reason) < 0)
        return mf_fail_internal(err, "cannot record the enrollment.paused event");
    return db_exec(d, err,
                   "UPDATE enrollments SET state = ?, pause_reason = ?, resume_at = ?, "
                   "updated_at = ? WHERE id = ?",
                   state, reason, resume_at, now, id, DB_END) < 0
               ? -1
               : 0;
}

int enrollments_advance(db *d, const char *id, int step, time_t next_at, int finished,
                        mf_error *err)
{
    char now[MF_TIME_LEN], next[MF_TIME_LEN], stp[16];
    mf_time_format(mf_now(), now);
    mf_time_format(next_at, next);
    snprintf(stp, sizeof(stp), "%d", step);
    return db_exec(d, err,
                   "UPDATE enrollments SET step = CAST(? AS BIGINT), next_at = ?, state = "
                   "CASE WHEN ? = '1' THEN 'finished' ELSE state END, updated_at = ? WHERE id = ?",
                   stp, next, finished ? "1" : "0", now, id, DB_END) < 0
               ? -1
               : 0;
}
