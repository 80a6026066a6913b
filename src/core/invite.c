/* invite.c — states, expiry, tokens and links of invites (R14); see invite.h. */
#include <stdio.h>
#include <string.h>
#include "core/invite.h"

static const char *state_names[] = {
    [INVITE_PENDING] = "pending",
    [INVITE_ACCEPTED] = "accepted",
    [INVITE_REVOKED] = "revoked",
    [INVITE_EXPIRED] = "expired",
};

int invite_state_of(const char *status, time_t expires_at, time_t now)
{
    if (!status) return -1;
    if (strcmp(status, "accepted") == 0) return INVITE_ACCEPTED;
    if (strcmp(status, "revoked") == 0) return INVITE_REVOKED;
    if (strcmp(status, "pending") != 0) return -1;
    return now >= expires_at ? INVITE_EXPIRED : INVITE_PENDING;
}

const char *invite_state_name(int state)
{
    if (state < INVITE_PENDING || state > INVITE_EXPIRED) return NULL;
    return state_names[state];
}

int invite_state_parse(const char *name, enum invite_state *out)
{
    for (int i = INVITE_PENDING; i <= INVITE_EXPIRED; i++) {
        if (name && strcmp(name, state_names[i]) == 0) {
            *out = (enum invite_state)i;
            return 0;
        }
    }
    return -1;
}

const char *invite_link_error(int state)
{
    switch (state) {
    case INVITE_ACCEPTED: return "invite_used";
    case INVITE_REVOKED: return "invite_revoked";
    case INVITE_EXPIRED: return "invite_expired";
    default: return NULL;
    }
}

const char *invite_link_error_text(int state)
{
    switch (state) {
    case INVITE_ACCEPTED:
        return "This invitation link has already been used: the mailbox is connected. A link "
               "works once; ask the person who invited you for a new invitation if you need to "
               "connect again.";
    case INVITE_REVOKED:
        return "This invitation was withdrawn by the person who sent it. Nothing was connected.";
    case INVITE_EXPIRED:
        return "This invitation link has expired. Ask the person who invited you to send it "
               "again.";
    default: return "This invitation link works.";
    }
}

time_t invite_expiry(time_t now, int ttl_days)
{
    if (ttl_days < 1) ttl_days = 1;
    if (ttl_days > INVITE_TTL_DAYS_MAX) ttl_days = INVITE_TTL_DAYS_MAX;
    return now + (time_t)ttl_days * 86400;
}

int invite_kind_valid(const char *kind)
{
    return kind && (strcmp(kind, "personal") == 0 || strcmp(kind, "shared") == 0);
}

int invite_token_shape_ok(const char *token)
{
    if (!token) return 0;
    size_t n = strnlen(token, INVITE_TOKEN_MAX + 1);
    if (n == 0 || n > INVITE_TOKEN_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = token[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_';
        if (!ok) return 0;
    }
    return 1;
}

int invite_link(const char *public_url, const char *listen, const char *token, char *out,
                size_t n)
{
    if (!invite_token_shape_ok(token) || n == 0) return -1;
    int w;
    if (public_url && *public_url) {
        size_t bl = strlen(public_url);
        while (bl > 0 && public_url[bl - 1] == '/') bl--;
        if (bl > (size_t)1 << 20) return -1;
        w = snprintf(out, n, "%.*s/connect/%s", (int)bl, public_url, token);
    } else {
        w = snprintf(out, n, "http://%s/connect/%s", listen ? listen : "127.0.0.1:8025", token);
    }
    if (w < 0 || (size_t)w >= n) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}

void invite_default_name(const char *address, char *out, size_t n)
{
    if (n == 0) return;
    const char *at = address ? strchr(address, '@') : NULL;
    size_t len = at ? (size_t)(at - address) : (address ? strlen(address) : 0);
    if (len >= n) len = n - 1;
    if (len) memcpy(out, address, len);
    out[len] = '\0';
}
