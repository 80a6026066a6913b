/* notifications.c — in-application notifications of a user (R28), each also mailed by the
 * system mailer (engine/sender.c takes rows with email_status 'pending') unless the user
 * turned email off for that kind (notification_prefs: then the row is stored with
 * email_status 'off'). */
#include <stdlib.h>
#include <string.h>
#include "store/store.h"

const char *const notification_kinds[NOTIFICATION_KIND_COUNT] = {
    "master_inbox_set", "mailbox_failing",  "mailbox_recovered",       "request_approved",
    "request_rejected", "invite_accepted",  "conversation_unassigned",
};

int notification_kind_valid(const char *kind)
{
    for (int i = 0; kind && i < NOTIFICATION_KIND_COUNT; i++)
        if (strcmp(kind, notification_kinds[i]) == 0) return 1;
    return 0;
}

int notification_email_wanted(db *d, const char *user_id, const char *kind, mf_error *err)
{
    db_stmt *st = db_prepare(d, "SELECT email FROM notification_prefs WHERE user_id = ? AND "
                                "kind = ?", err);
    if (!st) return -1;
    db_bind_text(st, 1, user_id);
    db_bind_text(st, 2, kind);
    int rc = db_step(st);
    int wanted = rc == DB_ROW ? db_col_int64(st, 0) != 0 : 1; /* no row: on */
    db_finalize(&st);
    return rc == DB_ERROR ? -1 : wanted;
}

/* The one place a notification is made (R28): the row always; the email only when the user
 * wants email for that kind. */
int notifications_add(db *d, const char *user_id, const char *kind, const char *data_json,
                      mf_error *err)
{
    char id[MF_ID_LEN], now[MF_TIME_LEN];
    mf_id_new("ntf", id);
    mf_time_format(mf_now(), now);
    int wanted = notification_email_wanted(d, user_id, kind, err);
    if (wanted < 0) return -1;
    return db_exec(d, err,
                   "INSERT INTO notifications (id, user_id, kind, data, read, created_at, "
                   "email_status) VALUES (?, ?, ?, ?, 0, ?, ?)",
                   id, user_id, kind, data_json ? data_json : "{}", now,
                   wanted ? "pending" : "off", DB_END) < 0
               ? -1
               : 0;
}

int notification_prefs_get(db *d, const char *user_id, int email[NOTIFICATION_KIND_COUNT],
                           mf_error *err)
{
    for (int i = 0; i < NOTIFICATION_KIND_COUNT; i++) email[i] = 1;
    db_stmt *st = db_prepare(d, "SELECT kind, email FROM notification_prefs WHERE user_id = ?",
                             err);
    if (!st) return -1;
    db_bind_text(st, 1, user_id);
    int rc;
    while ((rc = db_step(st)) == DB_ROW) {
        const char *k = db_col_text(st, 0);
        for (int i = 0; k && i < NOTIFICATION_KIND_COUNT; i++)
            if (strcmp(k, notification_kinds[i]) == 0) email[i] = db_col_int64(st, 1) != 0;
    }
    db_finalize(&st);
    return rc == DB_ERROR ? -1 : 0;
}

int notification_prefs_set(db *d, const char *user_id, const char *kind, int email,
                           mf_error *err)
{
    char now[MF_TIME_LEN];
    mf_time_format(mf_now(), now);
    return db_exec(d, err,
                   "INSERT INTO notification_prefs (user_id, kind, email, updated_at) VALUES "
                   "(?, ?, CAST(? AS INTEGER), ?) ON CONFLICT (user_id, kind) DO UPDATE SET "
                   "email = excluded.email, updated_at = excluded.updated_at",
                   user_id, kind, email ? "1" : "0", now, DB_END) < 0
               ? -1
               : 0;
}

int notifications_list(db *d, const char *user_id, mf_page *pg,
                       void (*each)(const mf_notification *, void *), void *ctx, mf_error *err)
{
    return notifications_list_filtered(d, user_id, 0, pg, each, ctx, err);
}

int notifications_list_filtered(db *d, const char *user_id, int unread_only, mf_page *pg,
                                void (*each)(const mf_notification *, void *), void *ctx,
                                mf_error *err)
{
    qb q;
    qb_init(&q, unread_only ? "SELECT id, user_id, kind, data, read, created_at FROM "
                              "notifications WHERE read = 0"
                            : "SELECT id, user_id, kind, data, read, created_at FROM "
                              "notifications WHERE 1=1");
    qb_and(&q, "user_id = ?", user_id);
    qb_page(&q, "id", pg);
    db_stmt *st = qb_prepare(d, &q, err);
    if (!st) return -1;
    int n = 0, rc;
    while ((rc = qb_next(st, pg, &n)) == 1) {
        mf_notification x;
        store_copy(x.id, sizeof(x.id), st, 0);
        store_copy(x.user_id, sizeof(x.user_id), st, 1);
        store_copy(x.kind, sizeof(x.kind), st, 2);
        x.data_json = store_dup(st, 3, "{}");
        x.read = (int)db_col_int64(st, 4);
        store_copy(x.created_at, sizeof(x.created_at), st, 5);
        each(&x, ctx);
        free(x.data_json);
    }
    db_finalize(&st);
    return rc < 0 ? -1 : n;
}

int notifications_mark_read(db *d, const char *user_id, const char *id, mf_error *err)
{
    int64_t n = db_exec(d, err, "UPDATE notifications SET read = 1 WHERE id = ? AND user_id = ?",
                        id, user_id, DB_END);
    if (n < 0) return -1;
    return n == 0 ? store_not_found(err, "notification") : 0;
}

int notifications_mark_all_read(db *d, const char *user_id, mf_error *err)
{
    int64_t n = db_exec(d, err, "UPDATE notifications SET read = 1 WHERE user_id = ? AND read = 0",
                        user_id, DB_END);
    return n < 0 ? -1 : (int)n;
}
