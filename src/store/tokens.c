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
    mf_error sub = {0};
    if (users_get_by_token_hash(d, hash, u, &sub) == 0) return 0;
    if (sub.status != 404) {
        if (err) *err = sub;
        return -1;
    }
    return mf_fail(err, 401, "unauthenticated", NULL,
                   "the bearer token is not valid; create one with `mailfleet token create`");
}
