/* mailboxes.c — connected mailboxes: owner, address (one seat per address, R7), health status,
 * default flag (R16), sender name and signature (R17), daily limit (R15), master inbox (R19),
 * sealed credentials (R29), and the purge of their history (R9). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "store/store.h"
#include "store/webhooks.h"

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

/* 0 and out set, or -1. The last answer of this thread is remembered: a list asks it for
 * every row, with the same zone and second most of the time. */
static int day_key(const char *tz, time_t t, char out[11])
{
    static __thread struct {
        int (*fn)(const char *, time_t, char[11]);
        time_t t;
        char tz[64];
        char day[11];
    } memo;
    if (day_key_fn && memo.fn == day_key_fn && memo.t == t && strcmp(memo.tz, tz) == 0) {
        memcpy(out, memo.day, 11);
        return 0;
    }
    if (day_key_fn) {
        int rc = day_key_fn(tz, t, out);
        if (rc == 0 && strlen(tz) < sizeof(memo.tz)) {
            memo.fn = day_key_fn;
            memo.t = t;
            memcpy(memo.tz, tz, strlen(tz) + 1);
            memcpy(memo.day, out, 11);
        }
        return rc;
    }
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
    /* R3 counts the seat's personal mailboxes for every request that would add one: 1,000
     * index entries for a seat with 1,000 (a fifth of a mailbox request's CPU, bench/api).
     * The count is kept per thread while db_table_mark says the table is unchanged. */
    static __thread struct {
        uint64_t mark;
        char owner[MF_ID_LEN];
        int n;
    } memo[8];
    static __thread unsigned next;
    uint64_t mark = 0;
    int known = db_table_mark(d, "mailboxes", &mark, err);
    if (known < 0) return -1;
    size_t ol = strlen(owner_id);
    for (int i = 0; known == 1 && i < 8; i++)
        if (memo[i].mark == mark && strcmp(memo[i].owner, owner_id) == 0) return memo[i].n;
    int n = store_count(
        d, "SELECT COUNT(*) FROM mailboxes WHERE owner_id = ? AND kind = 'personal'", owner_id,
        err);
    if (n >= 0 && known == 1 && ol < MF_ID_LEN) {
        unsigned i = next++ % 8;
        memo[i].mark = mark;
        memcpy(memo[i].owner, owner_id, ol + 1);
        memo[i].n = n;
    }
    return n;
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
    /* the leads about to be paused below, as webhook events (same transaction) */
    if (webhook_emit_enrollments_paused(d,
                                        "state = 'active' AND mailbox_id IN (SELECT id FROM "
                                        "mailboxes WHERE master_id = ?)",
                                        id, "master_inbox_down") < 0)
        return mf_fail_internal(err, "cannot record the enrollment.paused events");
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
    if (f.member_id) { /* R20: owned, or shared with the user */
        qb_and(&q, "(owner_id = ? OR id IN (SELECT mailbox_id FROM mailbox_members WHERE user_id = ?))",
               f.member_id);
        q.args[q.n++] = f.member_id;
    }
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
