/* invite.h — the pure rules of invites (R14): the state an invite is in (its stored status and
 * its expiry at a given time), the error a link that no longer works answers with, the expiry
 * of a new or resent link, the shape of a link token and the link itself. No I/O.
 *
 *   (created / resent) ──> pending ──accept──> accepted        (the link is used: 410 invite_used)
 *                            │  └──revoke──> revoked           (410 invite_revoked)
 *                            └──expires_at passes──> expired   (410 invite_expired; computed,
 *                                                               never stored; resend renews it)
 */
#ifndef MF_INVITE_H
#define MF_INVITE_H
#include <stddef.h>
#include <time.h>

enum invite_state { INVITE_PENDING = 0, INVITE_ACCEPTED, INVITE_REVOKED, INVITE_EXPIRED };

#define INVITE_TTL_DAYS_DEFAULT 7
#define INVITE_TTL_DAYS_MAX 365
#define INVITE_TOKEN_MAX 127 /* characters of a link token (the router's segment limit) */
#define INVITE_NOTE_MAX 1000 /* bytes of an admin's note */
#define INVITE_LINK_MAX 1200 /* bytes of a whole link */

/* The state of an invite stored with status ("pending" | "accepted" | "revoked") that expires
 * at expires_at, seen at now: a pending invite is expired from expires_at on. -1 for an
 * unknown status. */
int invite_state_of(const char *status, time_t expires_at, time_t now);
/* "pending", "accepted", "revoked", "expired" (the API's names); NULL when out of range. */
const char *invite_state_name(int state);
/* Parse one of those names: 0 with *out set, or -1. */
int invite_state_parse(const char *name, enum invite_state *out);
/* The error code of a link in this state (410): "invite_used", "invite_revoked",
 * "invite_expired"; NULL for a pending invite (the link works). */
const char *invite_link_error(int state);
/* A sentence for the invitee about a link in that state (no secrets). */
const char *invite_link_error_text(int state);
/* When a link made at now expires: ttl_days later (1..INVITE_TTL_DAYS_MAX; others are clamped). */
time_t invite_expiry(time_t now, int ttl_days);
/* 1 for "personal" or "shared". */
int invite_kind_valid(const char *kind);
/* 1 when token could be a link token: 1..INVITE_TOKEN_MAX characters of base64url. */
int invite_token_shape_ok(const char *token);
/* The link "<base>/connect/<token>": base is public_url without its trailing slashes, or
 * "http://" + listen when public_url is NULL or "". 0, or -1 when it does not fit in n (or the
 * token is not token-shaped). */
int invite_link(const char *public_url, const char *listen, const char *token, char *out,
                size_t n);
/* A contributor's default name: the local part of the address ("support" of
 * "support@example.test"), at most n-1 bytes. */
void invite_default_name(const char *address, char *out, size_t n);
#endif
