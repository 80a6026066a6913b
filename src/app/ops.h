/* ops.h — the domain operations shared by the HTTP API and the command line. Each one checks
 * the actor's rights (R1), gathers facts from the store, applies the pure rules of src/core,
 * writes in ONE transaction, and records the audit entry (R27). Errors come back in mf_error
 * with the API's status, code and rule. */
#ifndef MF_OPS_H
#define MF_OPS_H
#include "app/app.h"
#include "store/store.h"

/* ---- seats, limits, slots (seat_ops.c) ---- */
typedef struct mf_connections {
    int used;      /* personal mailboxes on the seat */
    int available; /* the limit (R3) */
    int base;      /* limit without slots */
    int slots;     /* assigned active slots */
} mf_connections;

/* Actor "operator from the command line": no id, every right. */
extern const mf_actor ops_cli_actor;

int ops_actor_from_user(const mf_user *u, mf_actor *a);
/* A user visible to the actor: 404 across organisations (R1). */
int ops_user_visible(db *d, const mf_actor *a, const char *user_id, mf_user *u, mf_error *err);
int ops_org_create(db *d, const mf_actor *a, mf_org *o, mf_error *err);
int ops_user_create(db *d, const mf_actor *a, mf_user *u, mf_error *err);
/* ops_user_create in two parts, for callers that add to its transaction: the rights and
 * defaults (R1, before any write), then inside the caller's transaction the insert + audit. */
int ops_user_create_check(const mf_actor *a, mf_user *u, mf_error *err);
int ops_user_create_in_tx(db *d, const mf_actor *a, mf_user *u, mf_error *err);
typedef struct mf_user_patch {
    const char *name;      /* NULL = unchanged */
    int seat;              /* -1 unchanged, 0 active, 1 locked */
    int set_limit;         /* 1 when mailbox_limit is given */
    int mailbox_limit;     /* LIMIT_UNSET clears the override */
} mf_user_patch;
int ops_user_update(db *d, const mf_actor *a, const char *user_id, const mf_user_patch *p,
                    mf_user *out, mf_error *err);
int ops_connections(mf_app *app, db *d, const mf_user *u, mf_connections *c, mf_error *err);
int ops_slots_buy(db *d, const mf_actor *a, const char *org_id, int count,
                  void (*each)(const mf_slot *, void *), void *ctx, mf_error *err);
int ops_slots_assign(db *d, const mf_actor *a, const char *user_id, int count, mf_error *err);
/* R4: refuse (409 slot_in_use) unless the slot is empty; cancel at the next renewal. */
int ops_slot_remove(mf_app *app, db *d, const mf_actor *a, const char *user_id,
                    const char *slot_id, mf_error *err);
/* Make a token for user; returns it (caller frees with mf_secret_free). */
char *ops_token_create(db *d, const mf_actor *a, const mf_user *u, mf_error *err);

/* ---- mailboxes, master inbox, prospects (mailbox_ops.c) ---- */
typedef struct mf_mailbox_input {
    const char *owner_id;
    const char *address;
    const char *kind;        /* "personal" | "shared" */
    const char *sender_name; /* NULL = the owner's name (R17) */
    const char *signature;   /* NULL = "" */
    int daily_limit;         /* LIMIT_UNSET = default (R15) */
    const char *imap_json;   /* validated settings incl. password; sealed before storing */
    const char *smtp_json;
} mf_mailbox_input;
int ops_mailbox_add(mf_app *app, db *d, const mf_actor *a, const mf_mailbox_input *in,
                    mf_mailbox *out, mf_error *err);
/* A mailbox the actor may see: owner, admins of its org, operators; 404 otherwise (R1). */
int ops_mailbox_visible(db *d, const mf_actor *a, const char *id, mf_mailbox *m, mf_error *err);
typedef struct mf_mailbox_patch {
    const char *sender_name, *signature; /* NULL = unchanged */
    int daily_limit;                     /* LIMIT_UNSET = unchanged */
    const char *time_zone;               /* NULL = unchanged (R15: the local day) */
    int min_gap_seconds;                 /* -1 = unchanged (R15) */
    int smtp_connections;                /* 0 = unchanged; 1-10 parallel SMTP connections */
    const char *imap_json, *smtp_json;   /* NULL = unchanged; either set = reconnect */
} mf_mailbox_patch;
int ops_mailbox_update(mf_app *app, db *d, const mf_actor *a, const char *id,
                       const mf_mailbox_patch *p, mf_mailbox *out, mf_error *err);
/* R9: needs confirm; purges history; R16 promotes the next default; R8 tags its prospects. */
int ops_mailbox_delete(db *d, const mf_actor *a, const char *id, int confirm, mf_error *err);
/* Inside the caller's transaction: insert a mailbox on owner's seat (checks already done);
 * without credentials it is "disconnected", awaiting settings. */
int ops_mailbox_insert_in_tx(mf_app *app, db *d, const mf_actor *a, const mf_user *owner,
                             const mf_org *org, const char *norm, const char *kind,
                             const char *sender_name, const char *signature, int daily_limit,
                             const char *imap_json, const char *smtp_json, mf_mailbox *out,
                             mf_error *err);
/* Inside the caller's transaction: R8 tag+pause its prospects (pause_reason), R9 purge, R16
 * promote, audit. tag_out (may be NULL) receives the continuity tag. */
int ops_mailbox_remove_in_tx(db *d, const mf_actor *a, const mf_mailbox *m,
                             const char *pause_reason, char *tag_out, size_t tag_len,
                             mf_error *err);
int ops_mailbox_make_default(db *d, const mf_actor *a, const char *id, mf_mailbox *out,
                             mf_error *err);
/* R19: set (master_id) or clear (NULL) the master of every mailbox in ids. */
int ops_master_inbox_set(db *d, const mf_actor *a, char *const *ids, int n, const char *master_id,
                         mf_error *err);
/* R8: reassign every prospect with tag to mailbox_id (and its owner); *count gets how many. */
int ops_prospects_reassign(db *d, const mf_actor *a, const char *tag, const char *mailbox_id,
                           int *count, mf_error *err);

/* ---- mailbox requests (request_ops.c) ---- */
typedef struct mf_request_input {
    const char *kind; /* "add" | "change_owner" */
    const char *address;
    const char *target_user_id;
    int remove_from_other_seat;
} mf_request_input;
/* R10: creates the request with its checks: "pending", or "rejected" when a check fails. */
int ops_request_create(mf_app *app, db *d, const mf_actor *a, const mf_request_input *in,
                       mf_request *out, mf_error *err);
int ops_request_visible(db *d, const mf_actor *a, const char *id, mf_request *r, mf_error *err);
int ops_request_approve(mf_app *app, db *d, const mf_actor *a, const char *id, mf_request *out,
                        mf_error *err);
int ops_request_reject(db *d, const mf_actor *a, const char *id, const char *reason,
                       mf_request *out, mf_error *err);

/* ---- one-off compose (message_ops.c) ---- */
typedef struct mf_message_input {
    const char *from_mailbox_id;
    const char *const *to;
    size_t n_to;
    const char *const *cc;
    size_t n_cc;
    const char *subject, *text, *html; /* html may be NULL */
    const char *in_reply_to_conversation_id; /* NULL */
    int force; /* R21: send even when another member has the conversation taken */
} mf_message_input;
/* R18/R19/R25/R26: compose and queue; out_id is the outbox id. */
int ops_message_send(mf_app *app, db *d, const mf_actor *a, const mf_message_input *in,
                     char out_id[MF_ID_LEN], mf_error *err);
/* ops_message_send in its two halves, so the write can join a group commit (api/batch.c):
 * prepare checks and composes (reads only, no transaction; *out owns the result), queue writes
 * the outbox row, the message and the audit entry in one transaction (on any connection of
 * the same database). ops_message_prepared_free frees *p and sets it to NULL. */
typedef struct mf_message_prepared mf_message_prepared;
int ops_message_prepare(mf_app *app, db *d, const mf_actor *a, const mf_message_input *in,
                        mf_message_prepared **out, mf_error *err);
int ops_message_queue(db *d, const mf_actor *a, const mf_message_prepared *p,
                      char out_id[MF_ID_LEN], mf_error *err);
void ops_message_prepared_free(mf_message_prepared **p);

/* ---- sequences (sequence_ops.c) ---- */
#include "store/sequences.h"
/* R18: steps validated as templates; no mailbox_id → the owner's default (R16). */
int ops_sequence_create(db *d, const mf_actor *a, mf_sequence *s, const mf_step *steps, int n,
                        mf_error *err);
int ops_sequence_visible(db *d, const mf_actor *a, const char *id, mf_sequence *s, mf_error *err);
int ops_enroll(db *d, const mf_actor *a, const char *sequence_id, char *const *prospect_ids,
               int n, void (*each)(const mf_enrollment *, void *), void *ctx, mf_error *err);
int ops_enrollment_set(db *d, const mf_actor *a, const char *id, int pause, mf_enrollment *out,
                       mf_error *err);
/* R25: one-click unsubscribe by the link's token (no account). */
int ops_unsubscribe(db *d, const char *token, mf_enrollment *out, mf_error *err);

/* ---- shared mailboxes and assignment (team_ops.c, R20, R21) ---- */
#include "core/team.h"
#include "store/conversations.h"
#include "store/team.h"
/* Load mailbox id with the actor's facts about it (f->actor = a; its strings point into m):
 * 404 across organisations (R1). Clear m when done. */
int ops_team_facts(db *d, const mf_actor *a, const char *id, mf_mailbox *m, team_facts *f,
                   mf_error *err);
/* The API error of a refusal by a src/core/team rule (always -1). */
int ops_team_denied(enum team_verdict v, const char *action, mf_error *err);
/* A mailbox the actor may read (owner, admins, members of a shared one); 404 across orgs,
 * 403 otherwise. */
int ops_mailbox_readable(db *d, const mf_actor *a, const char *id, mf_mailbox *m, mf_error *err);
/* A conversation the actor may read; 404 for anyone else. */
int ops_conversation_readable(db *d, const mf_actor *a, const char *id, mf_conversation *c,
                              mf_error *err);
/* R20: replace the members of a shared mailbox (its owner only). Members who leave or lose
 * `reply` give back the conversations they held. */
int ops_members_set(db *d, const mf_actor *a, const char *mailbox_id, const mf_member *list,
                    int n, mf_error *err);
/* R21: set the assignment rule of a shared mailbox (its owner only). */
int ops_assignment_set(db *d, const mf_actor *a, const mf_assignment *in, mf_assignment *out,
                       mf_error *err);
/* R20: an admin gives a shared mailbox another owner (admin or user of its organisation);
 * the previous owner stays as a member with previous_access ("read" | "reply"), or leaves
 * (NULL). */
int ops_mailbox_transfer(db *d, const mf_actor *a, const char *mailbox_id, const char *user_id,
                         const char *previous_access, mf_mailbox *out, mf_error *err);
/* R21: assign (user_id) or unassign (NULL) a conversation of a shared mailbox. */
int ops_conversation_assign(db *d, const mf_actor *a, const char *id, const char *user_id,
                            mf_conversation *out, mf_error *err);
/* R21: open | pending | closed. */
int ops_conversation_status(db *d, const mf_actor *a, const char *id, const char *status,
                            mf_conversation *out, mf_error *err);
/* R21 collision detection: mark it taken by the actor for TEAM_TAKEN_SECONDS; 409
 * conversation_taken when another member holds it, unless force. */
int ops_conversation_typing(db *d, const mf_actor *a, const char *id, int force,
                            mf_conversation *out, mf_error *err);
/* 409 conversation_taken with error.taken_by / taken_until (always -1). */
int ops_conversation_taken(const mf_conversation *c, mf_error *err);
/* ---- prospects from a CSV file (prospect_ops.c) ---- */
/* R18: every row of the file becomes a prospect of the actor, in one transaction (an error
 * names its row); each (may be NULL) sees every stored one. Returns how many, or -1. */
int ops_prospects_import_csv(db *d, const mf_actor *a, const char *data, size_t len,
                             void (*each)(const mf_prospect *, void *), void *ctx, mf_error *err);

/* shared by the ops files */
/* End the transaction: commit when rc is 0, else roll back; returns 0 or -1. */
int ops_finish(db *d, int rc, mf_error *err);
#include "core/mailbox_policy.h"
/* R7 facts: where norm lives now; existing/holder are filled when in use (clear existing). */
int ops_address_facts(db *d, const char *norm, mf_address_facts *f, mf_mailbox *existing,
                      mf_user *holder, mf_error *err);
/* The API error of a failed check, with error.limit/used (R3) or error.seat (R7). */
int ops_check_error(const mf_check *c, const mf_seat_facts *seat, const mf_address_facts *e,
                    mf_error *err);
int ops_seat_facts(mf_app *app, db *d, const mf_user *u, int *used, int *limit, mf_error *err);
int ops_audit(db *d, const mf_actor *a, const char *org_id, const char *action,
               const char *target_type, const char *target_id, const char *detail_json);
/* The same with the detail as a JSON value (NULL: none), which it takes (decrefs). */
struct json_t;
int ops_audit_json(db *d, const mf_actor *a, const char *org_id, const char *action,
                   const char *target_type, const char *target_id, struct json_t *detail);

/* ---- console sessions (session_ops.c) ---- */
/* Sign in with email + password: 401 invalid_credentials, 429 too_many_attempts, 403 forbidden
 * R14 (contributors), 403 seat_locked R2. On success *token_out is the new session token
 * (caller frees with mf_secret_free) and u the user. */
int ops_session_login(mf_app *app, db *d, const char *email, const char *password, mf_user *u,
                      char **token_out, mf_error *err);
/* The session of a token, with the idle expiry applied (401 unauthenticated). */
int ops_session_lookup(mf_app *app, db *d, const char *token, mf_user *u, mf_session *s,
                       mf_error *err);
int ops_session_logout(db *d, const char *session_id, mf_error *err);
/* The CSRF token that goes with a session token (64 hex characters). */
void ops_session_csrf(const char *token, char out[65]);
#endif
