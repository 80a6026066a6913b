/* leases.c (store) — mailbox leases of engine workers; see leases.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "store/leases.h"
#include "store/store.h"

#define UNKNOWN_ERROR                                                                              \
    "the engine worker sending this message stopped; it may or may not have been delivered, "      \
    "so it is not sent again"

/* messages "sending" under no live worker (the WHERE clause's tail; binds: now) */
#define DEAD_CLAIMER                                                                               \
    "status = 'sending' AND (claimed_by IS NULL OR NOT EXISTS (SELECT 1 FROM engine_workers w "    \
    "WHERE w.id = outbox.claimed_by AND w.expires_at > ?))"

static const char *lock_clause(db *d, const char *pg)
{
    return db_kind(d) == DB_POSTGRES ? pg : "";
}

int leases_heartbeat(db *d, const mf_engine_worker *w, time_t now, int lease_seconds, mf_error *err)
{
    char t[MF_TIME_LEN], exp[MF_TIME_LEN];
    mf_time_format(now, t);
    mf_time_format(now + lease_seconds, exp);
    db_stmt *st = db_prepare(d,
                             "INSERT INTO engine_workers (id, host, pid, started_at, heartbeat_at, "
                             "expires_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                             "heartbeat_at = excluded.heartbeat_at, expires_at = "
                             "excluded.expires_at",
                             err);
    if (!st) return -1;
    db_bind_text(st, 1, w->id);
    db_bind_text(st, 2, w->host);
    db_bind_int64(st, 3, w->pid);
    db_bind_text(st, 4, t);
    db_bind_text(st, 5, t);
    db_bind_text(st, 6, exp);
    int rc = db_step(st);
    db_finalize(&st);
    if (rc == DB_ERROR) return -1;
    int64_t n = db_exec(d, err,
                        "UPDATE mailbox_leases SET expires_at = ?, heartbeat_at = ? WHERE "
                        "worker_id = ?",
                        exp, t, w->id, DB_END);
    return n < 0 ? -1 : (int)n;
}

int leases_sweep_dead(db *d, time_t now, mf_error *err)
{
    char t[MF_TIME_LEN];
    mf_time_format(now, t);
    int64_t n =
        db_exec(d, err,
                "UPDATE outbox SET status = 'unknown', updated_at = ?, error = '" UNKNOWN_ERROR
                "' WHERE " DEAD_CLAIMER,
                t, t, DB_END);
    if (n < 0) return -1;
    if (db_exec(d, err, "DELETE FROM engine_workers WHERE expires_at <= ?", t, DB_END) < 0)
        return -1;
    return (int)n;
}

int leases_counts(db *d, time_t now, int *mailboxes, int *live, mf_error *err)
{
    /* new mailboxes get a free lease row (id order: concurrent workers insert in one order) */
    if (db_exec(d, err,
                "INSERT INTO mailbox_leases (mailbox_id) SELECT m.id FROM mailboxes m WHERE NOT "
                "EXISTS (SELECT 1 FROM mailbox_leases l WHERE l.mailbox_id = m.id) ORDER BY m.id "
                "ON CONFLICT (mailbox_id) DO NOTHING",
                DB_END) < 0)
        return -1;
    char t[MF_TIME_LEN];
    mf_time_format(now, t);
    db_stmt *st = db_prepare(d,
                             "SELECT (SELECT COUNT(*) FROM mailbox_leases), (SELECT COUNT(*) FROM "
                             "engine_workers WHERE expires_at > ?)",
                             err);
    if (!st) return -1;
    db_bind_text(st, 1, t);
    int rc = db_step(st);
    if (rc == DB_ROW) {
        *mailboxes = (int)db_col_int64(st, 0);
        *live = (int)db_col_int64(st, 1);
    }
    db_finalize(&st);
    return rc == DB_ROW ? 0 : mf_fail_internal(err, "cannot count the leases");
}

int leases_claim(db *d, const char *worker_id, time_t now, int lease_seconds, int n,
                 void (*taken)(const char *, const char *, int, void *), void *ctx, mf_error *err)
{
    if (n <= 0) return 0;
    char t[MF_TIME_LEN], exp[MF_TIME_LEN];
    mf_time_format(now, t);
    mf_time_format(now + lease_seconds, exp);
    /* PostgreSQL: rows another worker is claiming right now are skipped, not waited for */
    char *sql = xasprintf("SELECT mailbox_id, worker_id FROM mailbox_leases WHERE worker_id <> ? "
                          "AND (worker_id = '' OR expires_at <= ?) ORDER BY mailbox_id LIMIT %d%s",
                          n, lock_clause(d, " FOR UPDATE SKIP LOCKED"));
    db_stmt *st = db_prepare(d, sql, err);
    free(sql);
    if (!st) return -1;
    db_bind_text(st, 1, worker_id);
    db_bind_text(st, 2, t);
    struct row {
        char id[MF_ID_LEN];
        char prev[MF_WORKER_ID_LEN];
    } *rows = xcalloc((size_t)n, sizeof(*rows));
    int k = 0, rc;
    while (k < n && (rc = db_step(st)) == DB_ROW) {
        store_copy(rows[k].id, sizeof(rows[k].id), st, 0);
        store_copy(rows[k].prev, sizeof(rows[k].prev), st, 1);
        k++;
    }
    if (k < n && rc == DB_ERROR) {
        db_finalize(&st);
        free(rows);
        return -1;
    }
    db_finalize(&st);
    for (int i = 0; i < k; i++) {
        int64_t c = db_exec(d, err,
                            "UPDATE mailbox_leases SET worker_id = ?, expires_at = ?, "
                            "heartbeat_at = ?, acquired_at = ? WHERE mailbox_id = ?",
                            worker_id, exp, t, t, rows[i].id, DB_END);
        /* R26: what a dead worker was sending from this mailbox is never sent again */
        int64_t lost =
            c < 0 ? -1
                  : db_exec(d, err,
                            "UPDATE outbox SET status = 'unknown', updated_at = ?, "
                            "error = '" UNKNOWN_ERROR "' WHERE mailbox_id = ? AND " DEAD_CLAIMER,
                            t, rows[i].id, t, DB_END);
        if (lost < 0) {
            free(rows);
            return -1;
        }
        if (taken) taken(rows[i].id, rows[i].prev, (int)lost, ctx);
    }
    free(rows);
    return k;
}

int leases_shed(db *d, const char *worker_id, int n, mf_error *err)
{
    if (n <= 0) return 0;
    char *sql = xasprintf("UPDATE mailbox_leases SET worker_id = '', expires_at = '', "
                          "heartbeat_at = '' WHERE mailbox_id IN (SELECT mailbox_id FROM "
                          "mailbox_leases WHERE worker_id = ? ORDER BY mailbox_id DESC LIMIT %d)",
                          n);
    int64_t c = db_exec(d, err, sql, worker_id, DB_END);
    free(sql);
    return c < 0 ? -1 : (int)c;
}

int leases_held(db *d, const char *worker_id, time_t now, void (*each)(const char *, void *),
                void *ctx, mf_error *err)
{
    char t[MF_TIME_LEN];
    mf_time_format(now, t);
    db_stmt *st = db_prepare(d,
                             "SELECT mailbox_id FROM mailbox_leases WHERE worker_id = ? AND "
                             "expires_at > ?",
                             err);
    if (!st) return -1;
    db_bind_text(st, 1, worker_id);
    db_bind_text(st, 2, t);
    int rc, n = 0;
    while ((rc = db_step(st)) == DB_ROW) {
        const char *id = db_col_text(st, 0);
        if (id && each) each(id, ctx);
        n++;
    }
    db_finalize(&st);
    return rc == DB_ERROR ? -1 : n;
}

int leases_check(db *d, const char *mailbox_id, const char *worker_id, time_t now, mf_error *err)
{
    char t[MF_TIME_LEN];
    mf_time_format(now, t);
    char *sql = xasprintf("SELECT 1 FROM mailbox_leases WHERE mailbox_id = ? AND worker_id = ? "
                          "AND expires_at > ?%s",
                          lock_clause(d, " FOR SHARE"));
    db_stmt *st = db_prepare(d, sql, err);
    free(sql);
    if (!st) return -1;
    db_bind_text(st, 1, mailbox_id);
    db_bind_text(st, 2, worker_id);
    db_bind_text(st, 3, t);
    int rc = db_step(st);
    db_finalize(&st);
    return rc == DB_ROW ? 1 : rc == DB_DONE ? 0 : -1;
}

int leases_release(db *d, const char *worker_id, mf_error *err)
{
    if (db_exec(d, err,
                "UPDATE mailbox_leases SET worker_id = '', expires_at = '', heartbeat_at = '' "
                "WHERE worker_id = ?",
                worker_id, DB_END) < 0)
        return -1;
    return db_exec(d, err, "DELETE FROM engine_workers WHERE id = ?", worker_id, DB_END) < 0 ? -1
                                                                                             : 0;
}

int leases_workers(db *d, time_t now, void (*each)(const mf_engine_worker *, void *), void *ctx,
                   mf_error *err)
{
    char t[MF_TIME_LEN];
    mf_time_format(now, t);
    db_stmt *st = db_prepare(d,
                             "SELECT id, host, pid, started_at, heartbeat_at, expires_at FROM "
                             "engine_workers WHERE expires_at > ? ORDER BY id",
                             err);
    if (!st) return -1;
    db_bind_text(st, 1, t);
    int rc, n = 0;
    while ((rc = db_step(st)) == DB_ROW) {
        mf_engine_worker w;
        store_copy(w.id, sizeof(w.id), st, 0);
        store_copy(w.host, sizeof(w.host), st, 1);
        w.pid = db_col_int64(st, 2);
        store_copy(w.started_at, sizeof(w.started_at), st, 3);
        store_copy(w.heartbeat_at, sizeof(w.heartbeat_at), st, 4);
        store_copy(w.expires_at, sizeof(w.expires_at), st, 5);
        each(&w, ctx);
        n++;
    }
    db_finalize(&st);
    return rc == DB_ERROR ? -1 : n;
}

int leases_list(db *d, time_t now,
                void (*each)(const char *worker_id, const char *mailbox_id, void *), void *ctx,
                mf_error *err)
{
    char t[MF_TIME_LEN];
    mf_time_format(now, t);
    db_stmt *st = db_prepare(d,
                             "SELECT worker_id, mailbox_id FROM mailbox_leases WHERE worker_id <> "
                             "'' AND expires_at > ? ORDER BY mailbox_id",
                             err);
    if (!st) return -1;
    db_bind_text(st, 1, t);
    int rc, n = 0;
    while ((rc = db_step(st)) == DB_ROW) {
        const char *w = db_col_text(st, 0), *m = db_col_text(st, 1);
        if (w && m) each(w, m, ctx);
        n++;
    }
    db_finalize(&st);
    return rc == DB_ERROR ? -1 : n;
}
