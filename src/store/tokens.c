/* tokens.c — API bearer tokens, stored only as hashes (R29). */
#include <string.h>
#include "store/store.h"

int tokens_insert(db *d, const char *user_id, const char *hash, mf_error *err)
{
    char id[MF_ID_LEN], now[MF_TIME_LEN];
    mf_id_new("tok", id);
    mf_time_format(mf_now(), now);
    return db_exec(d, err, "INSERT INTO tokens (id, user_id, hash, created_at) VALUES (?, ?, ?, ?)",
                   id, user_id, hash, now, DB_END) < 0
               ? -1
               : 0;
}

int tokens_lookup(db *d, const char *hash, mf_user *u, mf_error *err)
{
    db_stmt *st = db_prepare(d, "SELECT user_id FROM tokens WHERE hash = ?", err);
    if (!st) return -1;
    db_bind_text(st, 1, hash);
    int rc = db_step(st);
    char user_id[MF_ID_LEN] = "";
    if (rc == DB_ROW) store_copy(user_id, sizeof(user_id), st, 0);
    db_finalize(&st);
    if (rc == DB_ERROR) return -1;
    if (rc == DB_DONE || users_get(d, user_id, u, err) < 0)
        return mf_fail(err, 401, "unauthenticated", NULL,
                       "the bearer token is not valid; create one with `mailfleet token create`");
    return 0;
}
