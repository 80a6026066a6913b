/* mailboxes.c — connected mailboxes: owner, address (one seat per address, R7), health status,
 * default flag (R16), sender name and signature (R17), daily limit (R15), master inbox (R19),
 * sealed credentials (R29), and the purge of their history (R9). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "store/store.h"

#define MAILBOX_COLS                                                                               \
    "id, org_id, owner_id, address, address_norm, kind, status, status_reason, status_since, "     \
    "is_default, sender_name, signature, daily_limit, sent_today, master_id, created_at, "          \
    "messages_imported, backfill_done, last_sync_at, time_zone, sent_day, min_gap_seconds, "     \
    "smtp_connections"

#define MAILBOX_INSERT_COLS                                                                        \
    "id, org_id, owner_id, address, address_norm, kind, status, status_reason, status_since, "     \
    "is_default, sender_name, signature, daily_limit, sent_today, master_id, created_at"

static int (*day_key_fn)(const char *tz, time_t t, char out[11]);

void store_set_day_key(int (*fn)(const char *tz, time_t t, char out[11]))
{
    day_key_fn = fn;
}

/* 0 and out set, or -1. */
static int day_key(const char *tz, time_t t, char out[11])
{
    if (day_key_fn) return day_key_fn(tz, t, out);
    struct tm tm;
    gmtime_r(&t, &tm);
    return strftime(out, 11, "%Y-%m-%d", &tm) == 10 ? 0 : -1;
}

void mf_mailbox_clear(mf_mailbox *m)
{
    free(m->signature);
    m->signature = NULL;
}

static void mailbox_from_row(db_stmt *st, void *out)
{
    mf_mailbox *m = out;
    store_copy(m->id, sizeof(m->id), st, 0);
    store_copy(m->org_id, sizeof(m->org_id), st, 1);
    store_copy(m->owner_id, sizeof(m->owner_id), st, 2);
    store_copy(m->address, sizeof(m->address), st, 3);
    store_copy(m->address_norm, sizeof(m->address_norm), st, 4);
    store_copy(m->kind, sizeof(m->kind), st, 5);
    store_copy(m->status, sizeof(m->status), st, 6);
    store_copy(m->status_reason, sizeof(m->status_reason), st, 7);
    store_copy(m->status_since, sizeof(m->status_since), st, 8);
    m->is_default = (int)db_col_int64(st, 9);
    store_copy(m->sender_name, sizeof(m->sender_name), st, 10);
    m->signature = store_dup(st, 11, "");
    m->daily_limit = (int)db_col_int64(st, 12);
    m->sent_today = (int)db_col_int64(st, 13);
    store_copy(m->master_id, sizeof(m->master_id), st, 14);
    store_copy(m->created_at, sizeof(m->created_at), st, 15);
    m->messages_imported = db_col_int64(st, 16);
    m->backfill_done = (int)db_col_int64(st, 17);
    store_copy(m->last_sync_at, sizeof(m->last_sync_at), st, 18);
    store_copy(m->time_zone, sizeof(m->time_zone), st, 19);
    m->min_gap_seconds = (int)db_col_int64(st, 21);
    m->smtp_connections = (int)db_col_int64(st, 22);
    /* R15: a count left from an earlier local day is not today's */
    const char *sent_day = db_col_text(st, 20);
    char today[11];
    if (!day_key(m->time_zone, mf_now(), today) && (!sent_day || strcmp(sent_day, today) != 0))
        m->sent_today = 0;
}

int mailboxes_insert(db *d, mf_mailbox *m, const char *imap_sealed, const char *smtp_sealed,
                     mf_error *err)
{
    mf_id_new("mbx", m->id);
    mf_time_format(mf_now(), m->created_at);
    snprintf(m->status_since, sizeof(m->status_since), "%s", m->created_at);
    db_stmt *st = db_prepare(d,
                             "INSERT INTO mailboxes (" MAILBOX_INSERT_COLS ", imap_sealed, "
                             "smtp_sealed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, "
                             "?, ?, ?)",
                             err);
    if (!st) return -1;
    db_bind_text(st, 1, m->id);
    db_bind_text(st, 2, m->org_id);
    db_bind_text(st, 3, m->owner_id);
    db_bind_text(st, 4, m->address);
    db_bind_text(st, 5, m->address_norm);
    db_bind_text(st, 6, m->kind);
    db_bind_text(st, 7, m->status);
    db_bind_text(st, 8, store_nullable(m->status_reason));
    db_bind_text(st, 9, m->status_since);
    db_bind_int64(st, 10, m->is_default);
    db_bind_text(st, 11, m->sender_name);
    db_bind_text(st, 12, m->signature ? m->signature : "");
    db_bind_int64(st, 13, m->daily_limit);
    db_bind_text(st, 14, store_nullable(m->master_id));
    db_bind_text(st, 15, m->created_at);
    db_bind_text(st, 16, imap_sealed);
    db_bind_text(st, 17, smtp_sealed);
    int rc = db_step(st);
    db_finalize(&st);
    if (rc == DB_DONE) return 0;
    if (err && err->status == 409)
        return mf_fail(err, 409, "address_in_use", "R7", "%s is already on a seat",
                       m->address_norm);
    return -1;
}

static int get_one(db *d, const char *where, const char *arg, mf_mailbox *m, mf_error *err)
{
    char sql[512];
    snprintf(sql, sizeof(sql), "SELECT " MAILBOX_COLS " FROM mailboxes WHERE %s = ?", where);
    return store_get_one(d, sql, arg, mailbox_from_row, m, "mailbox", err);
}

int mailboxes_get(db *d, const char *id, mf_mailbox *m, mf_error *err)
{
    return get_one(d, "id", id, m, err);
}

int mailboxes_get_by_address(db *d, const char *address_norm, mf_mailbox *m, mf_error *err)
{
    return get_one(d, "address_norm", address_norm, m, err);
}

int mailboxes_update_settings(db *d, const mf_mailbox *m, mf_error *err)
{
    db_stmt *st = db_prepare(
        d,
        "UPDATE mailboxes SET sender_name = ?, signature = ?, daily_limit = ?, time_zone = ?, "
        "min_gap_seconds = ?, smtp_connections = ? WHERE id = ?",
        err);
    if (!st) return -1;
    db_bind_text(st, 1, m->sender_name);
    db_bind_text(st, 2, m->signature ? m->signature : "");
    db_bind_int64(st, 3, m->daily_limit);
    db_bind_text(st, 4, m->time_zone[0] ? m->time_zone : "UTC");
    db_bind_int64(st, 5, m->min_gap_seconds);
    db_bind_int64(st, 6, m->smtp_connections > 0 ? m->smtp_connections : 1);
    db_bind_text(st, 7, m->id);
    int rc = db_step(st) == DB_DONE ? 0 : -1;
    db_finalize(&st);
    return rc;
}

int mailboxes_set_credentials(db *d, const char *id, const char *imap_sealed,
                              const char *smtp_sealed, mf_error *err)
{
    char now[MF_TIME_LEN];
    mf_time_format(mf_now(), now);
    return db_exec(d, err,
                   "UPDATE mailboxes SET imap_sealed = COALESCE(?, imap_sealed), "
                   "smtp_sealed = COALESCE(?, smtp_sealed), status_since = ?, "
                   "config_version = config_version + 1 WHERE id = ?",
                   imap_sealed, smtp_sealed, now, id, DB_END) < 0 ||
                   db_exec(d, err,
                           "UPDATE mailboxes SET "
                           "status = CASE WHEN imap_sealed IS NULL OR smtp_sealed IS NULL "
                           "THEN 'disconnected' ELSE 'connecting' END, "
                           "status_reason = CASE WHEN imap_sealed IS NULL THEN "
                           "'awaiting IMAP settings' WHEN smtp_sealed IS NULL THEN "
                           "'awaiting SMTP settings' ELSE NULL END WHERE id = ?",
                           id, DB_END) < 0
               ? -1
               : 0;
}

int mailboxes_set_owner(db *d, const char *id, const char *owner_id, mf_error *err)
{
    return db_exec(d, err,
                   "UPDATE mailboxes SET owner_id = ?, is_default = 0, master_id = NULL "
                   "WHERE id = ?",
                   owner_id, id, DB_END) < 0
               ? -1
               : 0;
}

int mailboxes_set_master(db *d, const char *id, const char *master_id, mf_error *err)
{
    return db_exec(d, err, "UPDATE mailboxes SET master_id = ? WHERE id = ?",
                   store_nullable(master_id), id, DB_END) < 0
               ? -1
               : 0;
}

int mailboxes_clear_master_refs(db *d, const char *master_id, mf_error *err)
{
    return db_exec(d, err, "UPDATE mailboxes SET master_id = NULL WHERE master_id = ?", master_id,
                   DB_END) < 0
               ? -1
               : 0;
}

int mailboxes_count_masters_of(db *d, const char *id, mf_error *err)
{
    return store_count(d, "SELECT COUNT(*) FROM mailboxes WHERE master_id = ?", id, err);
}

int mailboxes_count_owned(db *d, const char *owner_id, mf_error *err)
{
    return store_count(
        d, "SELECT COUNT(*) FROM mailboxes WHERE owner_id = ? AND kind = 'personal'", owner_id,
        err);
}

int mailboxes_set_default(db *d, const char *owner_id, const char *id, mf_error *err)
{
    if (db_exec(d, err, "UPDATE mailboxes SET is_default = 0 WHERE owner_id = ? AND id <> ?",
                owner_id, id, DB_END) < 0)
        return -1;
    return db_exec(d, err, "UPDATE mailboxes SET is_default = 1 WHERE id = ?", id, DB_END) < 0
               ? -1
               : 0;
}

int mailboxes_promote_default(db *d, const char *owner_id, mf_error *err)
{
    int has = store_count(
        d, "SELECT COUNT(*) FROM mailboxes WHERE owner_id = ? AND is_default = 1", owner_id, err);
    if (has != 0) return has < 0 ? -1 : 0;
    return db_exec(d, err,
                   "UPDATE mailboxes SET is_default = 1 WHERE id = (SELECT id FROM mailboxes "
                   "WHERE owner_id = ? ORDER BY created_at, id LIMIT 1)",
                   owner_id, DB_END) < 0
               ? -1
               : 0;
}

int mailboxes_delete(db *d, const char *id, mf_error *err)
{
    /* History first (explicitly, not only by cascade, so every backend purges alike). */
    static const char *purge[] = {
        "DELETE FROM messages WHERE mailbox_id = ?",
        "DELETE FROM conversations WHERE mailbox_id = ?",
        "DELETE FROM send_log WHERE mailbox_id = ?",
        "DELETE FROM outbox WHERE mailbox_id = ?",
        /* R19: leads sending through mailboxes routed to this master wait for new routing */
        ("UPDATE enrollments SET state = 'paused', pause_reason = 'master_inbox_down' WHERE "
         "state = 'active' AND mailbox_id IN (SELECT id FROM mailboxes WHERE master_id = ?)"),
        "UPDATE mailboxes SET master_id = NULL WHERE master_id = ?",
        "UPDATE prospects SET mailbox_id = NULL WHERE mailbox_id = ?",
        "DELETE FROM mailboxes WHERE id = ?",
    };
    for (size_t i = 0; i < sizeof(purge) / sizeof(purge[0]); i++) {
        if (db_exec(d, err, purge[i], id, DB_END) < 0) return -1;
    }
    return 0;
}

int mailboxes_list(db *d, mf_mailbox_filter f, mf_page *pg,
                   void (*each)(const mf_mailbox *, void *), void *ctx, mf_error *err)
{
    qb q;
    qb_init(&q, "SELECT " MAILBOX_COLS " FROM mailboxes WHERE 1=1");
    qb_and(&q, "org_id = ?", f.org_id);
    qb_and(&q, "owner_id = ?", f.owner_id);
    qb_and(&q, "status = ?", f.status);
    qb_page(&q, "id", pg);
    db_stmt *st = qb_prepare(d, &q, err);
    if (!st) return -1;
    int n = 0, rc;
    while ((rc = qb_next(st, pg, &n)) == 1) {
        mf_mailbox m;
        mailbox_from_row(st, &m);
        each(&m, ctx);
        mf_mailbox_clear(&m);
    }
    db_finalize(&st);
    return rc < 0 ? -1 : n;
}
