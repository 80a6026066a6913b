/* login_invites.h (store) — the login invite rows of migration 0011: one-time links that let a
 * member set their console password. Callers own the transactions
 * (src/app/login_invite_ops.c). Token hashes go in and are never read back out. */
#ifndef MF_STORE_LOGIN_INVITES_H
#define MF_STORE_LOGIN_INVITES_H
#include <time.h>
#include "store/db.h"
#include "store/model.h"

typedef struct mf_login_invite {
    char id[MF_ID_LEN];
    char org_id[MF_ID_LEN];
    char user_id[MF_ID_LEN];
    char status[16]; /* stored: pending | accepted | revoked */
    char invited_by[MF_ID_LEN];
    char expires_at[MF_TIME_LEN];
    char outbox_id[MF_ID_LEN];
    char accepted_at[MF_TIME_LEN];
    char revoked_at[MF_TIME_LEN];
    char created_at[MF_TIME_LEN];
} mf_login_invite;

/* The invite's state (core/invite.h: pending, accepted, revoked, expired) at now. */
int mf_login_invite_state(const mf_login_invite *i, time_t now);
/* Insert (fills id, created_at, status pending). */
int login_invites_insert(db *d, mf_login_invite *i, const char *token_hash, mf_error *err);
int login_invites_get(db *d, const char *id, mf_login_invite *i, mf_error *err);
/* The invite a link token's hash names; 404 not_found when none. */
int login_invites_get_by_token_hash(db *d, const char *token_hash, mf_login_invite *i,
                                    mf_error *err);
/* Every pending invite of user_id → revoked. Returns how many, or -1. */
int login_invites_revoke_user(db *d, const char *user_id, mf_error *err);
int login_invites_set_outbox(db *d, const char *id, const char *outbox_id, mf_error *err);
/* pending (and unexpired at now) → accepted. Returns rows changed: 0 when it was used,
 * revoked or expired meanwhile; -1 on error. */
int login_invites_accept(db *d, const char *id, time_t now, mf_error *err);
#endif
