/* login_invites.c — login invite rows (migration 0011); see login_invites.h. */
#include <stdio.h>
#include <string.h>
#include "core/invite.h"
#include "store/login_invites.h"
#include "store/store.h"

#define LOGIN_INVITE_COLS                                                                          \
    "id, org_id, user_id, status, invited_by, expires_at, outbox_id, accepted_at, revoked_at, "    \
    "created_at"

static void login_invite_from_row(db_stmt *st, void *out)
{
    mf_login_invite *i = out;
    store_copy(i->id, sizeof(i->id), st, 0);
    store_copy(i->org_id, sizeof(i->org_id), st, 1);
    store_copy(i->user_id, sizeof(i->user_id), st, 2);
    store_copy(i->status, sizeof(i->status), st, 3);
    store_copy(i->invited_by, sizeof(i->invited_by), st, 4);
    store_copy(i->expires_at, sizeof(i->expires_at), st, 5);
    store_copy(i->outbox_id, sizeof(i->outbox_id), st, 6);
    store_copy(i->accepted_at, sizeof(i->accepted_at), st, 7);
    store_copy(i->revoked_at, sizeof(i->revoked_at), st, 8);
    store_copy(i->created_at, sizeof(i->created_at), st, 9);
}

int mf_login_invite_state(const mf_login_invite *i, time_t now)
{
    time_t exp = 0;
    if (mf_time_parse(i->expires_at, &exp) < 0) exp = 0; /* unreadable: treat as expired */
    return invite_state_of(i->status, exp, now);
}

int login_invites_insert(db *d, mf_login_invite *i, const char *token_hash, mf_error *err)
{
    mf_id_new("lin", i->id);
    mf_time_format(mf_now(), i->created_at);
    snprintf(i->status, sizeof(i->status), "pending");
    return db_exec(d, err,
                   "INSERT INTO login_invites (id, org_id, user_id, status, token_hash, "
                   "invited_by, expires_at, created_at) VALUES (?, ?, ?, 'pending', ?, ?, ?, ?)",
                   i->id, i->org_id, i->user_id, token_hash, store_nullable(i->invited_by),
                   i->expires_at, i->created_at, DB_END) < 0
               ? -1
               : 0;
}

int login_invites_get(db *d, const char *id, mf_login_invite *i, mf_error *err)
{
    return store_get_one(d, "SELECT " LOGIN_INVITE_COLS " FROM login_invites WHERE id = ?", id,
                         login_invite_from_row, i, "login invite", err);
}

int login_invites_get_by_token_hash(db *d, const char *token_hash, mf_login_invite *i,
                                    mf_error *err)
{
    return store_get_one(d,
                         "SELECT " LOGIN_INVITE_COLS " FROM login_invites WHERE token_hash = ?",
                         token_hash, login_invite_from_row, i, "link", err);
}

int login_invites_revoke_user(db *d, const char *user_id, mf_error *err)
{
    char now[MF_TIME_LEN];
    mf_time_format(mf_now(), now);
    int64_t n = db_exec(d, err,
                        "UPDATE login_invites SET status = 'revoked', revoked_at = ? WHERE "
                        "user_id = ? AND status = 'pending'",
                        now, user_id, DB_END);
    return n < 0 ? -1 : (int)n;
}

int login_invites_set_outbox(db *d, const char *id, const char *outbox_id, mf_error *err)
{
    return db_exec(d, err, "UPDATE login_invites SET outbox_id = ? WHERE id = ?", outbox_id, id,
                   DB_END) < 0
               ? -1
               : 0;
}

int login_invites_accept(db *d, const char *id, time_t now, mf_error *err)
{
    char ts[MF_TIME_LEN];
    mf_time_format(now, ts);
    int64_t n = db_exec(d, err,
                        "UPDATE login_invites SET status = 'accepted', accepted_at = ? WHERE "
                        "id = ? AND status = 'pending' AND expires_at > ?",
                        ts, id, ts, DB_END);
    return n < 0 ? -1 : (int)n;
}
