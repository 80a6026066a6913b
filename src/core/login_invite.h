/* login_invite.h — the pure rules of console login invites ("You've been added to mailfleet —
 * set your password"): the password rule shared with `mailfleet user passwd`, the link
 * "<base>/welcome/<token>", and what a link that no longer works says. States and expiry are
 * those of core/invite.h (pending → accepted | revoked; expired is computed). No I/O. */
#ifndef MF_LOGIN_INVITE_H
#define MF_LOGIN_INVITE_H
#include <stddef.h>
#include "core/invite.h"

#define LOGIN_PASSWORD_MIN 8    /* characters (bytes) of a console password, at least */
#define LOGIN_PASSWORD_MAX 1000 /* bytes, at most (argon2id takes any length; a bound on work) */

/* 0 when password may be a console password; -1 with *why (a phrase such as "needs at least 8
 * characters") otherwise. Same rule for the CLI, the welcome page and the JSON route. */
int login_password_check(const char *password, const char **why);
/* The link "<base>/welcome/<token>" (base as in invite_link: public_url without trailing
 * slashes, or "http://" + listen). 0, or -1 when it does not fit or token is not token-shaped. */
int login_invite_link(const char *public_url, const char *listen, const char *token, char *out,
                      size_t n);
/* The error code of a login link in state (410): "invite_used", "invite_revoked",
 * "invite_expired"; NULL for a pending one. */
const char *login_invite_link_error(int state);
/* A sentence for the invitee about a login link in that state (no secrets). */
const char *login_invite_link_error_text(int state);
#endif
