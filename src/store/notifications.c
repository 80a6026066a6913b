/* notifications.c — in-application notifications of a user (R28); email delivery of them
 * comes with the system mailer. */
#include <stdlib.h>
#include <string.h>
#include "store/store.h"

int notifications_add(db *d, const char *user_id, const char *kind, const char *data_json,
                      mf_error *err)
{
    char id[MF_ID_LEN], now[MF_TIME_LEN];
    mf_id_new("ntf", id);
    mf_time_format(mf_now(), now);
    return db_exec(d, err,
                   "INSERT INTO notifications (id, user_id, kind, data, read, created_at) "
                   "VALUES (?, ?, ?, ?, 0, ?)",
                   id, user_id, kind, data_json ? data_json : "{}", now, DB_END) < 0
               ? -1
               : 0;
}

int notifications_list(db *d, const char *user_id, mf_page *pg,
                       void (*each)(const mf_notification *, void *), void *ctx, mf_error *err)
{
    qb q;
    qb_init(&q, "SELECT id, user_id, kind, data, read, created_at FROM notifications WHERE 1=1");
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
