/* outbox.c (store) — durable outbox rows and daily send counts; see outbox.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "store/outbox.h"
#include "store/store.h"

/* The message comes from outbox_raw (0012), or outbox.raw for a row written before it. */
#define OUTBOX_COLS                                                                                \
    "o.id, o.org_id, o.mailbox_id, o.kind, o.status, o.mail_from, o.rcpts, "                       \
    "COALESCE(r.raw, o.raw), o.message_id, o.error, o.recipients, o.conversation_id, "             \
    "o.created_by, o.attempts, o.next_attempt_at, o.created_at, o.updated_at, o.sent_at, "         \
    "r.copy_json"
#define OUTBOX_FROM " FROM outbox o LEFT JOIN outbox_raw r ON r.outbox_id = o.id "

void mf_outbox_row_clear(mf_outbox_row *r)
{
    char **owned[] = {&r->mail_from, &r->rcpts_json, &r->raw, &r->message_id, &r->error,
                      &r->recipients_json, &r->copy_json};
    for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++) {
        free(*owned[i]);
        *owned[i] = NULL;
    }
}

static void row_fill(db_stmt *st, void *out)
{
    mf_outbox_row *r = out;
    store_copy(r->id, sizeof(r->id), st, 0);
    store_copy(r->org_id, sizeof(r->org_id), st, 1);
    store_copy(r->mailbox_id, sizeof(r->mailbox_id), st, 2);
    store_copy(r->kind, sizeof(r->kind), st, 3);
    store_copy(r->status, sizeof(r->status), st, 4);
    r->mail_from = store_dup(st, 5, "");
    r->rcpts_json = store_dup(st, 6, "[]");
    r->raw = store_dup(st, 7, "");
    r->message_id = store_dup(st, 8, "");
    r->error = store_dup(st, 9, "");
    r->recipients_json = store_dup(st, 10, "");
    store_copy(r->conversation_id, sizeof(r->conversation_id), st, 11);
    store_copy(r->created_by, sizeof(r->created_by), st, 12);
    r->attempts = (int)db_col_int64(st, 13);
    store_copy(r->next_attempt_at, sizeof(r->next_attempt_at), st, 14);
    store_copy(r->created_at, sizeof(r->created_at), st, 15);
    store_copy(r->updated_at, sizeof(r->updated_at), st, 16);
    store_copy(r->sent_at, sizeof(r->sent_at), st, 17);
    r->copy_json = db_col_is_null(st, 18) ? NULL : store_dup(st, 18, "");
}

int outbox_enqueue(db *d, const mf_outbox_new *m, char out_id[MF_ID_LEN], int *created,
                   mf_error *err)
{
    *created = 0;
    if (m->unique_key) {
        db_stmt *st = db_prepare(d, "SELECT id FROM outbox WHERE unique_key = ?", err);
        if (!st) return -1;
        db_bind_text(st, 1, m->unique_key);
        int rc = db_step(st);
        if (rc == DB_ROW) store_copy(out_id, MF_ID_LEN, st, 0);
        db_finalize(&st);
        if (rc != DB_DONE) return rc == DB_ROW ? 0 : -1;
    }
    char now[MF_TIME_LEN], due[MF_TIME_LEN];
    mf_time_format(mf_now(), now);
    mf_time_format(m->not_before ? m->not_before : mf_now(), due);
    if (m->id) snprintf(out_id, MF_ID_LEN, "%s", m->id);
    else mf_id_new("out", out_id);
    if (db_exec(d, err,
                "INSERT INTO outbox (id, org_id, mailbox_id, kind, unique_key, status, mail_from, "
                "rcpts, raw, message_id, conversation_id, created_by, attempts, next_attempt_at, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'queued', ?, ?, '', ?, ?, ?, 0, ?, "
                "?, ?)",
                out_id, m->org_id, m->mailbox_id, m->kind, m->unique_key, m->mail_from,
                m->rcpts_json, m->message_id, m->conversation_id, m->created_by, due, now,
                now, DB_END) < 0 ||
        db_exec(d, err, "INSERT INTO outbox_raw (outbox_id, raw, copy_json) VALUES (?, ?, ?)",
                out_id, m->raw, m->copy_json, DB_END) < 0)
        return -1;
    *created = 1;
    return 0;
}

int outbox_get(db *d, const char *id, mf_outbox_row *r, mf_error *err)
{
    memset(r, 0, sizeof(*r));
    return store_get_one(d, "SELECT " OUTBOX_COLS OUTBOX_FROM "WHERE o.id = ?", id, row_fill, r,
                         "message", err);
}

int outbox_recover_sending(db *d, mf_error *err)
{
    char now[MF_TIME_LEN];
    mf_time_format(mf_now(), now);
    int64_t n = db_exec(d, err,
                        "UPDATE outbox SET status = 'unknown', updated_at = ?, error = "
                        "'mailfleet stopped while this message was being sent; it may or may not "
                        "have been delivered, so it is not sent again' WHERE status = 'sending'",
                        now, DB_END);
    return n < 0 ? -1 : (int)n;
}

int outbox_due(db *d, time_t now, int limit, void (*each)(const mf_outbox_row *, void *),
               void *ctx, mf_error *err)
{
    char t[MF_TIME_LEN];
    mf_time_format(now, t);
    char *sql = xasprintf("SELECT MIN(id) FROM outbox WHERE status = 'queued' AND "
                          "next_attempt_at <= ? GROUP BY COALESCE(mailbox_id, '') LIMIT %d",
                          limit);
    db_stmt *st = db_prepare(d, sql, err);
    free(sql);
    if (!st) return -1;
    db_bind_text(st, 1, t);
    char (*ids)[MF_ID_LEN] = NULL;
    int n = 0, rc;
    while ((rc = db_step(st)) == DB_ROW) {
        ids = xrealloc(ids, (size_t)(n + 1) * sizeof(*ids));
        store_copy(ids[n++], MF_ID_LEN, st, 0);
    }
    db_finalize(&st);
    /* MIN(id) is the oldest queued of each mailbox (ids sort by time); callbacks write through
     * the same connection, so rows are read one by one after the list is closed */
    for (int i = 0; rc != DB_ERROR && i < n; i++) {
        mf_outbox_row row;
        if (outbox_get(d, ids[i], &row, NULL) == 0) each(&row, ctx);
        mf_outbox_row_clear(&row);
    }
    free(ids);
    return rc == DB_ERROR ? -1 : n;
}

int outbox_due_mailboxes(db *d, time_t now, void (*each)(const char *mailbox_id, void *),
                         void *ctx, mf_error *err)
{
    char t[MF_TIME_LEN];
    mf_time_format(now, t);
    db_stmt *st = db_prepare(d, "SELECT DISTINCT COALESCE(mailbox_id, '') FROM outbox WHERE "
                                "status = 'queued' AND next_attempt_at <= ?", err);
    if (!st) return -1;
    db_bind_text(st, 1, t);
    char (*ids)[MF_ID_LEN] = NULL;
    int n = 0, cap = 0, rc;
    while ((rc = db_step(st)) == DB_ROW) {
        if (n == cap) {
            cap = cap ? 2 * cap : 32;
            ids = xrealloc(ids, (size_t)cap * sizeof(*ids));
        }
        store_copy(ids[n++], MF_ID_LEN, st, 0);
    }
    db_finalize(&st);
    for (int i = 0; rc != DB_ERROR && i < n; i++) each(ids[i], ctx);
    free(ids);
    if (rc == DB_ERROR) return mf_fail_internal(err, "cannot read the due mailboxes");
    return n;
}

int outbox_due_rows(db *d, const char *mailbox_id, time_t now, int limit, mf_outbox_row **rows,
                    int *n, mf_error *err)
{
    *rows = NULL;
    *n = 0;
    if (limit <= 0) return 0;
    char t[MF_TIME_LEN];
    mf_time_format(now, t);
    /* COALESCE keeps the planners off the (status, next_attempt_at) indexes: the mailbox's
     * queue is read in id order from outbox_mailbox_queue and stops after `limit` due rows */
    char *sql = xasprintf("SELECT " OUTBOX_COLS OUTBOX_FROM "WHERE %s AND o.status = 'queued' "
                          "AND COALESCE(o.next_attempt_at, '') <= ? ORDER BY o.id LIMIT %d",
                          mailbox_id ? "o.mailbox_id = ?" : "o.mailbox_id IS NULL", limit);
    db_stmt *st = db_prepare(d, sql, err);
    free(sql);
    if (!st) return -1;
    int k = 1;
    if (mailbox_id) db_bind_text(st, k++, mailbox_id);
    db_bind_text(st, k, t);
    int rc = DB_DONE;
    mf_outbox_row *out = xcalloc((size_t)limit, sizeof(*out));
    while (*n < limit && (rc = db_step(st)) == DB_ROW)
        row_fill(st, &out[(*n)++]);
    db_finalize(&st);
    if (rc == DB_ERROR) {
        outbox_rows_free(&out, *n);
        *n = 0;
        return mf_fail_internal(err, "cannot read the outbox");
    }
    *rows = out;
    return 0;
}

void outbox_rows_free(mf_outbox_row **rows, int n)
{
    if (!rows || !*rows) return;
    for (int i = 0; i < n; i++) mf_outbox_row_clear(&(*rows)[i]);
    free(*rows);
    *rows = NULL;
}

int outbox_claim(db *d, const char *id, mf_error *err)
{
    return outbox_claim_by(d, id, NULL, err);
}

int outbox_claim_by(db *d, const char *id, const char *worker_id, mf_error *err)
{
    char now[MF_TIME_LEN];
    mf_time_format(mf_now(), now);
    int64_t n = db_exec(d, err,
                        "UPDATE outbox SET status = 'sending', attempts = attempts + 1, "
                        "updated_at = ?, claimed_by = ? WHERE id = ? AND status = 'queued'",
                        now, worker_id, id, DB_END);
    return n < 0 ? -1 : (int)n;
}

int outbox_finish(db *d, const char *id, const char *state, const char *error,
                  const char *recipients_json, time_t retry_at, mf_error *err)
{
    char now[MF_TIME_LEN], retry[MF_TIME_LEN];
    mf_time_format(mf_now(), now);
    mf_time_format(retry_at ? retry_at : mf_now(), retry);
    int sent = strcmp(state, "sent") == 0;
    int64_t n = db_exec(d, err,
                        "UPDATE outbox SET status = ?, error = ?, recipients = ?, updated_at = ?, "
                        "next_attempt_at = ?, sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at "
                        "END WHERE id = ? AND status = 'sending'",
                        state, error, recipients_json, now, retry, sent ? "sent" : "", now, id,
                        DB_END);
    return n < 0 ? -1 : 0;
}

int outbox_copy_pending_add(db *d, const char *id, mf_error *err)
{
    return db_exec(d, err, "INSERT INTO sent_copies_pending (outbox_id) VALUES (?)", id,
                   DB_END) < 0
               ? -1
               : 0;
}

int outbox_copy_pending_done(db *d, const char *id, mf_error *err)
{
    return db_exec(d, err, "DELETE FROM sent_copies_pending WHERE outbox_id = ?", id, DB_END) < 0
               ? -1
               : 0;
}

int outbox_copies_pending(db *d, void (*each)(const mf_outbox_row *, void *), void *ctx,
                          mf_error *err)
{
    db_stmt *st = db_prepare(d, "SELECT " OUTBOX_COLS OUTBOX_FROM "JOIN sent_copies_pending p ON "
                                "p.outbox_id = o.id ORDER BY o.id", err);
    if (!st) return -1;
    mf_outbox_row *rows = NULL;
    int n = 0, cap = 0, rc;
    while ((rc = db_step(st)) == DB_ROW) {
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            rows = xrealloc(rows, (size_t)cap * sizeof(*rows));
        }
        memset(&rows[n], 0, sizeof(rows[n]));
        row_fill(st, &rows[n++]);
    }
    db_finalize(&st);
    /* the callbacks write through the same connection: the list is closed first */
    for (int i = 0; rc != DB_ERROR && i < n; i++) each(&rows[i], ctx);
    outbox_rows_free(&rows, n);
    if (rc == DB_ERROR) return mf_fail_internal(err, "cannot read the pending sent copies");
    return n;
}

int mailbox_sent_on(db *d, const char *mailbox_id, const char *day, mf_error *err)
{
    db_stmt *st = db_prepare(d, "SELECT sent_today, sent_day FROM mailboxes WHERE id = ?", err);
    if (!st) return -1;
    db_bind_text(st, 1, mailbox_id);
    int rc = db_step(st);
    int n = 0;
    if (rc == DB_ROW) {
        const char *sd = db_col_text(st, 1);
        n = sd && strcmp(sd, day) == 0 ? (int)db_col_int64(st, 0) : 0;
    }
    db_finalize(&st);
    return rc == DB_ERROR ? -1 : n;
}

int mailbox_count_send(db *d, const char *mailbox_id, const char *day, int delta, mf_error *err)
{
    char now[MF_TIME_LEN], dl[8];
    mf_time_format(mf_now(), now);
    snprintf(dl, sizeof(dl), "%d", delta);
    return db_exec(d, err,
                   /* neutral SQL: no MAX()/GREATEST(), which differ between the engines */
                   "UPDATE mailboxes SET sent_today = CASE "
                   "WHEN sent_day = ? AND sent_today + CAST(? AS BIGINT) >= 0 "
                   "THEN sent_today + CAST(? AS BIGINT) "
                   "WHEN sent_day = ? THEN 0 "
                   "WHEN CAST(? AS BIGINT) > 0 THEN CAST(? AS BIGINT) ELSE 0 END, "
                   "sent_day = ?, last_send_at = CASE WHEN CAST(? AS BIGINT) > 0 THEN ? ELSE "
                   "last_send_at END WHERE id = ?",
                   day, dl, dl, day, dl, dl, day, dl, now, mailbox_id, DB_END) < 0
               ? -1
               : 0;
}
