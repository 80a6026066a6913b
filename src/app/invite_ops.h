/* invite_ops.h — invites (R14) and contributors: what admins do (invite, list, resend,
 * revoke; list, rename, remove contributors) and what the invitee's link does (open it,
 * connect). Each operation checks the actor (R1: admins of the organisation, operators),
 * applies src/core (invite states, the mailbox policy R5/R2/R6/R7), writes in ONE transaction
 * and records the audit entry (R27). The invite email is system mail in the durable outbox
 * (the engine's sender delivers it through system_smtp). */
#ifndef MF_INVITE_OPS_H
#define MF_INVITE_OPS_H
#include "app/ops.h"
#include "mail/conn_test.h"
#include "store/invites.h"

typedef struct mf_invite_input {
    const char *address;
    const char *kind;     /* "personal" | "shared" */
    const char *note;     /* NULL = "" */
    const char *org_id;   /* operators: required; admins: NULL or their own */
    const char *owner_id; /* shared only: the mailbox's owner (default: the inviting admin) */
} mf_invite_input;

int ops_invite_create(mf_app *app, db *d, const mf_actor *a, const mf_invite_input *in,
                      mf_invite *out, mf_error *err);
/* An invite the actor administers: 404 across organisations, 403 for users (R1). */
int ops_invite_visible(db *d, const mf_actor *a, const char *id, mf_invite *out, mf_error *err);
/* Admins: their org (org_id NULL or theirs); operators: org_id or every org. state NULL = all. */
int ops_invites_list(db *d, const mf_actor *a, const char *org_id, const char *state,
                     mf_page *pg, void (*each)(const mf_invite *, void *), void *ctx,
                     mf_error *err);
/* A new link (the old one stops working) and a new email; pending or expired invites only
 * (409 invite_used / invite_revoked otherwise). */
int ops_invite_resend(mf_app *app, db *d, const mf_actor *a, const char *id, mf_invite *out,
                      mf_error *err);
/* pending/expired → revoked (the link stops working); revoking a revoked one is a no-op;
 * 409 invite_used for an accepted one. */
int ops_invite_revoke(db *d, const mf_actor *a, const char *id, mf_invite *out, mf_error *err);

/* ---- the invitee's link (no account) ---- */
/* The invite of a link token: 0 when it can be used; 404 not_found for an unknown token;
 * 410 invite_used | invite_revoked | invite_expired (with *out filled) otherwise. */
int ops_invite_open(db *d, const char *token, mf_invite *out, mf_error *err);

typedef struct mf_connect_input {
    const char *imap_json;   /* validated {host, port, security, username, password} */
    const char *smtp_json;
    const char *sender_name; /* NULL = the contributor's name */
} mf_connect_input;
typedef struct mf_connect_report {
    int tested;              /* the connection test ran */
    conn_test_result imap, smtp;
} mf_connect_report;
/* Test the settings for real (IMAP login + SMTP AUTH; 422 connection_failed, nothing stored,
 * when either fails: see *rep), then in one transaction: the invite becomes accepted, the
 * contributor user is made (or the org's existing contributor of that address reused), the
 * mailbox is created (status connecting; owner: the contributor for a personal invite, the
 * invite's owner for a shared one; credentials sealed, R29), the inviter is notified
 * (invite_accepted, R28), audit. *out is the new mailbox. Wake the engine afterwards. */
int ops_invite_accept(mf_app *app, db *d, const char *token, const mf_connect_input *in,
                      mf_connect_report *rep, mf_mailbox *out, char contributor_id[MF_ID_LEN],
                      mf_error *err);

/* ---- contributors ---- */
int ops_contributor_visible(db *d, const mf_actor *a, const char *id, mf_user *out,
                            mf_error *err);
int ops_contributors_list(db *d, const mf_actor *a, const char *org_id, mf_page *pg,
                          void (*each)(const mf_user *, void *), void *ctx, mf_error *err);
int ops_contributor_rename(db *d, const mf_actor *a, const char *id, const char *name,
                           mf_user *out, mf_error *err);
/* Remove a contributor. The mailboxes they own (personal invites) go with them (R9: needs
 * confirm, else 428 confirmation_required); shared mailboxes they connected stay with their
 * owner. */
int ops_contributor_delete(db *d, const mf_actor *a, const char *id, int confirm,
                           mf_error *err);
#endif
