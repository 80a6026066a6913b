/* store.h — the aggregates' queries (one .c per aggregate: orgs, users, tokens, slots,
 * mailboxes, requests, prospects, audit, notifications). Every function takes the db handle
 * and an mf_error; reads of one thing return 0, or -1 with 404 not_found when it does not
 * exist. List functions call `each` per row and return the number of rows, or -1. Callers own
 * transactions: multi-step changes are wrapped in db_begin/db_commit by the app layer. */
#ifndef MF_STORE_H
#define MF_STORE_H
#include "store/db.h"
#include "store/model.h"

/* helpers shared by the aggregate files */
void store_copy(char *dst, size_t n, db_stmt *st, int col);
char *store_dup(db_stmt *st, int col, const char *dflt); /* heap copy, dflt for NULL */
int store_int_or_unset(db_stmt *st, int col);
int store_not_found(mf_error *err, const char *what);
const char *store_nullable(const char *s); /* "" -> NULL for binding */
/* The number a one-parameter "SELECT COUNT(*) ..." gives, or -1. */
int store_count(db *d, const char *sql, const char *arg, mf_error *err);
/* Run a one-parameter query expected to give at most one row: fill(st, out) on it; 0 when
 * found, -1 with 404 not_found ("no such <what>") when not, -1 on error. */
int store_get_one(db *d, const char *sql, const char *arg, void (*fill)(db_stmt *, void *),
                  void *out, const char *what, mf_error *err);

/* A small query builder for list queries with optional filters and id-cursor paging. */
#include "util/strbuf.h"
#define QB_MAX_ARGS 16
typedef struct qb {
    strbuf sql;
    const char *args[QB_MAX_ARGS];
    int n;
} qb;
void qb_init(qb *q, const char *select_where); /* must end in a WHERE clause, e.g. "WHERE 1=1" */
void qb_and(qb *q, const char *cond, const char *arg); /* skipped when arg is NULL */
void qb_page(qb *q, const char *id_col, const mf_page *pg);
db_stmt *qb_prepare(db *d, qb *q, mf_error *err); /* releases the builder */
/* Step through a paged list: returns 1 for a row to deliver, 0 at the end (setting pg->more),
 * -1 on error. */
int qb_next(db_stmt *st, mf_page *pg, int *delivered);

/* orgs.c */
int orgs_insert(db *d, mf_org *o, mf_error *err); /* fills id, created_at */
int orgs_get(db *d, const char *id, mf_org *o, mf_error *err);
int orgs_update(db *d, const mf_org *o, mf_error *err); /* also caps its mailboxes' daily limits (R15) */
int orgs_list(db *d, mf_page *pg, void (*each)(const mf_org *, void *), void *ctx, mf_error *err);

/* users.c */
int users_insert(db *d, mf_user *u, mf_error *err); /* 409 email_in_use when taken */
int users_get(db *d, const char *id, mf_user *u, mf_error *err);
int users_get_by_token_hash(db *d, const char *hash, mf_user *u, mf_error *err); /* 404: none */
int users_get_by_email(db *d, const char *email, mf_user *u, mf_error *err);
int users_update(db *d, const mf_user *u, mf_error *err); /* name, seat, mailbox_limit */
int users_set_password(db *d, const char *id, const char *hash, mf_error *err);
int users_list(db *d, const char *org_id, mf_page *pg, void (*each)(const mf_user *, void *),
               void *ctx, mf_error *err);

/* tokens.c */
int tokens_insert(db *d, const char *user_id, const char *hash, mf_error *err);
/* Who holds this token hash: 0 and *u filled, or -1 (401 unauthenticated). */
int tokens_lookup(db *d, const char *hash, mf_user *u, mf_error *err);

/* slots.c */
int slots_buy(db *d, const char *org_id, int count, void (*each)(const mf_slot *, void *),
              void *ctx, mf_error *err);
int slots_assigned_count(db *d, const char *user_id, mf_error *err);
/* Assign `count` free active slots of the org to the user; 422 no_free_slots when short. */
int slots_assign(db *d, const char *org_id, const char *user_id, int count, mf_error *err);
int slots_get(db *d, const char *id, mf_slot *s, mf_error *err);
int slots_cancel(db *d, const char *id, mf_error *err); /* R4: ends_at = renews_at */
int slots_list(db *d, const char *org_id, const char *user_id, mf_page *pg,
               void (*each)(const mf_slot *, void *), void *ctx, mf_error *err);
int slots_free_count(db *d, const char *org_id, mf_error *err);

/* mailboxes.c */
/* R15: how the store tells which local day it is in a time zone ("YYYY-MM-DD"), set by the
 * application (zone files are its business); when unset, days are UTC. A mailbox read from the
 * store shows sent_today only when its count is of the current local day. */
void store_set_day_key(int (*fn)(const char *tz, time_t t, char out[11]));
int mailboxes_insert(db *d, mf_mailbox *m, const char *imap_sealed, const char *smtp_sealed,
                     mf_error *err);
int mailboxes_get(db *d, const char *id, mf_mailbox *m, mf_error *err);
int mailboxes_get_by_address(db *d, const char *address_norm, mf_mailbox *m, mf_error *err);
int mailboxes_update_settings(db *d, const mf_mailbox *m, mf_error *err); /* name, signature, limit */
int mailboxes_set_credentials(db *d, const char *id, const char *imap_sealed,
                              const char *smtp_sealed, mf_error *err); /* -> connecting */
int mailboxes_set_owner(db *d, const char *id, const char *owner_id, mf_error *err);
int mailboxes_set_master(db *d, const char *id, const char *master_id, mf_error *err);
int mailboxes_clear_master_refs(db *d, const char *master_id, mf_error *err);
int mailboxes_count_masters_of(db *d, const char *id, mf_error *err);
/* R3 "used": personal mailboxes owned by the user. */
int mailboxes_count_owned(db *d, const char *owner_id, mf_error *err);
int mailboxes_set_default(db *d, const char *owner_id, const char *id, mf_error *err);
/* R16: make the owner's oldest mailbox default when none is. */
int mailboxes_promote_default(db *d, const char *owner_id, mf_error *err);
/* R9: delete the mailbox and its history (conversations, messages, send log). */
int mailboxes_delete(db *d, const char *id, mf_error *err);
typedef struct mf_mailbox_filter {
    const char *org_id;   /* NULL = all (operators) */
    const char *owner_id; /* NULL = any */
    const char *status;   /* NULL = any */
    const char *member_id; /* owned by this user or shared with them (R20); NULL = any */
} mf_mailbox_filter;
int mailboxes_list(db *d, mf_mailbox_filter f, mf_page *pg,
                   void (*each)(const mf_mailbox *, void *), void *ctx, mf_error *err);

/* requests.c */
int requests_insert(db *d, mf_request *r, mf_error *err);
int requests_get(db *d, const char *id, mf_request *r, mf_error *err);
int requests_decide(db *d, const mf_request *r, mf_error *err); /* status, reason, decided_*, mailbox_id, tag, checks */
int requests_list(db *d, const char *org_id, const char *requester_id, const char *status,
                  mf_page *pg, void (*each)(const mf_request *, void *), void *ctx, mf_error *err);

/* prospects.c */
int prospects_insert(db *d, mf_prospect *p, char *const *tags, int ntags, mf_error *err);
int prospects_get(db *d, const char *id, mf_prospect *p, mf_error *err);
/* R8: pause active prospects sending from mailbox_id with reason and tag; returns how many. */
int prospects_pause_for_mailbox(db *d, const char *mailbox_id, const char *reason,
                                const char *tag, mf_error *err);
/* R8: give every prospect of org with tag the mailbox and its owner, resume; returns count.
 * only_for (may be NULL) limits it to prospects owned by that user or sending from one of
 * their mailboxes. */
int prospects_reassign(db *d, const char *org_id, const char *tag, const char *mailbox_id,
                       const char *owner_id, const char *only_for, mf_error *err);
typedef struct mf_prospect_filter {
    const char *org_id;
    const char *owner_id; /* NULL = any in the org */
    const char *tag;
    const char *mailbox_id;
} mf_prospect_filter;
int prospects_list(db *d, mf_prospect_filter f, mf_page *pg,
                   void (*each)(const mf_prospect *, void *), void *ctx, mf_error *err);

/* audit.c (R27) */
typedef struct mf_audit_entry {
    char id[MF_ID_LEN];
    char org_id[MF_ID_LEN];
    char actor_id[MF_ID_LEN];
    char actor_role[16];
    char action[64];
    char target_type[32];
    char target_id[MF_ID_LEN];
    char *detail_json; /* owned */
    char created_at[MF_TIME_LEN];
} mf_audit_entry;
int audit_record(db *d, const char *org_id, const mf_actor *actor, const char *action,
                 const char *target_type, const char *target_id, const char *detail_json,
                 mf_error *err);
int audit_list(db *d, const char *org_id, mf_page *pg,
               void (*each)(const mf_audit_entry *, void *), void *ctx, mf_error *err);

/* notifications.c (R28) */
typedef struct mf_notification {
    char id[MF_ID_LEN];
    char user_id[MF_ID_LEN];
    char kind[48];
    char *data_json; /* owned */
    int read;
    char created_at[MF_TIME_LEN];
} mf_notification;
/* THE function that makes a notification (R28), whoever calls it: the row is always stored;
 * its email is queued (email_status 'pending', mailed by the engine's system mailer) only when
 * the user has not turned email off for that kind (notification_prefs), else 'off'. */
int notifications_add(db *d, const char *user_id, const char *kind, const char *data_json,
                      mf_error *err);
int notifications_list(db *d, const char *user_id, mf_page *pg,
                       void (*each)(const mf_notification *, void *), void *ctx, mf_error *err);
int notifications_mark_read(db *d, const char *user_id, const char *id, mf_error *err);

/* sessions.c (console sign-in; tokens only as hashes, R29) */
typedef struct mf_session {
    char id[MF_ID_LEN];
    char user_id[MF_ID_LEN];
    char created_at[MF_TIME_LEN];
    char last_seen_at[MF_TIME_LEN];
} mf_session;
/* The user's argon2id hash, "" when none is set. */
int users_password_hash(db *d, const char *user_id, char out[128], mf_error *err);
int sessions_insert(db *d, const char *user_id, const char *token_hash, mf_session *s,
                    mf_error *err);
/* 0 found, 1 no such session, -1 error */
int sessions_lookup(db *d, const char *token_hash, mf_session *s, mf_error *err);
int sessions_touch(db *d, const char *id, const char *now, mf_error *err);
int sessions_delete(db *d, const char *id, mf_error *err);
int sessions_delete_user(db *d, const char *user_id, mf_error *err);
int sessions_delete_idle(db *d, const char *seen_before, mf_error *err);
/* Failed sign-ins of an address since first_at ("" and 0 when none). */
int login_failures_get(db *d, const char *email_norm, int *failures, char first_at[MF_TIME_LEN],
                       mf_error *err);
/* Count one more failure; a count whose first_at is before window_start starts again at 1. */
int login_failures_add(db *d, const char *email_norm, const char *now, const char *window_start,
                       mf_error *err);
int login_failures_clear(db *d, const char *email_norm, mf_error *err);
int notifications_list_filtered(db *d, const char *user_id, int unread_only, mf_page *pg,
                                void (*each)(const mf_notification *, void *), void *ctx,
                                mf_error *err);
int notifications_mark_all_read(db *d, const char *user_id, mf_error *err); /* how many */
/* The kinds a user has an email preference for (R28), in this order. */
#define NOTIFICATION_KIND_COUNT 7
extern const char *const notification_kinds[NOTIFICATION_KIND_COUNT];
int notification_kind_valid(const char *kind);
/* 1 when the user wants email for kind (the default), 0 when turned off, -1 on error. */
int notification_email_wanted(db *d, const char *user_id, const char *kind, mf_error *err);
int notification_prefs_get(db *d, const char *user_id, int email[NOTIFICATION_KIND_COUNT],
                           mf_error *err);
int notification_prefs_set(db *d, const char *user_id, const char *kind, int email,
                           mf_error *err);
#endif
