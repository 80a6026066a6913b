/* login_invite_ops.h — console passwords set through an emailed invite (issue 6): an admin of
 * the member's organisation (or an operator) sends a one-time link "<public_url>/welcome/<token>"
 * by system mail; the member opens it, chooses a password (argon2id, the rule of
 * `mailfleet user passwd`, core/login_invite.h) and signs in. A new invite revokes the older
 * pending ones of the same member; a link works once and expires after invite_ttl_days. Every
 * change is one transaction with its audit entry (R27). Tokens are stored hashed only (R29). */
#ifndef MF_LOGIN_INVITE_OPS_H
#define MF_LOGIN_INVITE_OPS_H
#include "app/ops.h"
#include "store/login_invites.h"

/* Send a login invite to user_id: 404 across organisations (R1), 403 unless the actor is an
 * admin of the member's organisation or an operator, 422 contributor_no_login (R14) for a
 * contributor, 422 invalid_request for an operator's account, 409 seat_locked (R2) for a
 * locked seat. *link_out (may be NULL) gets the link (the secret; only the CLI prints it;
 * free with mf_secret_free). */
int ops_login_invite_create(mf_app *app, db *d, const mf_actor *a, const char *user_id,
                            mf_login_invite *out, char **link_out, mf_error *err);
/* POST /users with "send_login_invite": the member and their invite in ONE transaction. */
int ops_user_create_with_login_invite(mf_app *app, db *d, const mf_actor *a, mf_user *u,
                                      mf_login_invite *out, mf_error *err);

/* ---- the member's link (no session) ---- */
/* The invite of a link token and its member: 0 when it can be used; 404 not_found for an
 * unknown token; 410 invite_used | invite_revoked | invite_expired (with *out filled). */
int ops_login_invite_open(db *d, const char *token, mf_login_invite *out, mf_user *u,
                          mf_error *err);
/* Set the member's password through the link: 400 invalid_request "password: ..." when the
 * password breaks the rule, the errors of ops_login_invite_open, 409 seat_locked for a seat
 * locked meanwhile (nothing changes). On success the invite is used, the member's other
 * console sessions end, u is the member. */
int ops_login_invite_accept(db *d, const char *token, const char *password, mf_user *u,
                            mf_error *err);

/* ---- the password itself (shared with `mailfleet user passwd`) ---- */
/* Check the rule (400 invalid_request "password: ...") and hash with argon2id. */
int ops_password_prepare(const char *password, char hash[128], mf_error *err);
/* Inside the caller's transaction: store hash as u's console password, end u's sessions (a new
 * password signs out), audit "user.passwd" with detail_json (may be NULL). 403 forbidden R14 for
 * contributors. */
int ops_user_password_set_in_tx(db *d, const mf_actor *a, const mf_user *u, const char *hash,
                                const char *detail_json, mf_error *err);
#endif
