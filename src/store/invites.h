/* invites.h (store) — invites (R14) and contributors: the invite rows of migration 0006, the
 * contributor users (role contributor) and the mailboxes linked to them. Callers own the
 * transactions (src/app/invite_ops.c). Token hashes go in and are never read back out. */
#ifndef MF_STORE_INVITES_H
#define MF_STORE_INVITES_H
#include <stdint.h>
#include <time.h>
#include "core/address.h"
#include "core/invite.h"
#include "store/db.h"
#include "store/model.h"

typedef struct mf_invite {
    char id[MF_ID_LEN];
    char org_id[MF_ID_LEN];
    char address[MF_ADDR_MAX];
    char address_norm[MF_ADDR_MAX];
    char kind[16];
    char note[INVITE_NOTE_MAX + 1];
    char status[16];           /* stored: pending | accepted | revoked */
    char invited_by[MF_ID_LEN];
    char owner_id[MF_ID_LEN];  /* shared: the mailbox's owner; "" for personal */
    char expires_at[MF_TIME_LEN];
    int sent_count;
    char last_sent_at[MF_TIME_LEN];
    char outbox_id[MF_ID_LEN];
    char accepted_at[MF_TIME_LEN];
    char revoked_at[MF_TIME_LEN];
    char contributor_id[MF_ID_LEN];
    char mailbox_id[MF_ID_LEN];
    char created_at[MF_TIME_LEN];
} mf_invite;

/* The invite's state (core/invite.h) at now. */
int mf_invite_state(const mf_invite *i, time_t now);

/* Insert (fills id, created_at, last_sent_at, sent_count 1, status pending). */
int invites_insert(db *d, mf_invite *i, const char *token_hash, mf_error *err);
int invites_get(db *d, const char *id, mf_invite *i, mf_error *err);
/* The invite a link token's hash names; 404 not_found when none. */
int invites_get_by_token_hash(db *d, const char *token_hash, mf_invite *i, mf_error *err);
/* A pending, unexpired invite of org for address_norm: 0 and *i, or 404. */
int invites_find_pending(db *d, const char *org_id, const char *address_norm, time_t now,
                         mf_invite *i, mf_error *err);
/* List an org's invites (org NULL: every org), optionally in one state (NULL = all). */
int invites_list(db *d, const char *org_id, const char *state, time_t now, mf_page *pg,
                 void (*each)(const mf_invite *, void *), void *ctx, mf_error *err);
/* Resend: a new token hash and expiry, sent_count + 1 (stays/becomes pending). */
int invites_renew(db *d, const char *id, const char *token_hash, const char *expires_at,
                  mf_error *err);
int invites_set_outbox(db *d, const char *id, const char *outbox_id, mf_error *err);
/* pending → revoked. Returns rows changed (0 when it was not pending), or -1. */
int invites_revoke(db *d, const char *id, mf_error *err);
/* pending (and unexpired at now) → accepted with the contributor and the mailbox. Returns
 * rows changed: 0 when someone else used, revoked, or it expired meanwhile; -1 on error. */
int invites_accept(db *d, const char *id, const char *contributor_id, const char *mailbox_id,
                   time_t now, mf_error *err);

/* ---- contributors (users with role contributor) ---- */
typedef struct mf_contributor_mailbox {
    char id[MF_ID_LEN];
    char address[MF_ADDR_MAX];
    char kind[16];
    char status[16];
    char owner_id[MF_ID_LEN];
} mf_contributor_mailbox;
/* Contributors of org_id (NULL: all), paged; each is called after the list query is finished,
 * so it may run queries of its own. */
int contributors_list(db *d, const char *org_id, mf_page *pg,
                      void (*each)(const mf_user *, void *), void *ctx, mf_error *err);
/* The mailboxes a contributor connected: the ones they own (personal invites) and the shared
 * ones linked through their accepted invites. Returns how many, or -1. */
int contributor_mailboxes(db *d, const char *contributor_id,
                          void (*each)(const mf_contributor_mailbox *, void *), void *ctx,
                          mf_error *err);
/* Mailboxes owned by the contributor (they go with the contributor, R9). */
int contributor_owned_count(db *d, const char *contributor_id, mf_error *err);
int contributors_set_name(db *d, const char *id, const char *name, mf_error *err);
/* Delete the contributor's user row (tokens, notifications cascade; invites keep a NULL). */
int contributors_delete(db *d, const char *id, mf_error *err);
#endif
