/* login_invite.c — password rule, links and link errors of login invites; see login_invite.h. */
#include <stdio.h>
#include <string.h>
#include "core/login_invite.h"

int login_password_check(const char *password, const char **why)
{
    const char *w = NULL;
    size_t n = password ? strnlen(password, LOGIN_PASSWORD_MAX + 1) : 0;
    if (!password || n == 0) w = "is required";
    else if (n < LOGIN_PASSWORD_MIN) w = "needs at least 8 characters";
    else if (n > LOGIN_PASSWORD_MAX) w = "is longer than 1000 bytes";
    else if (strchr(password, '\n') || strchr(password, '\r'))
        w = "must be one line"; /* the CLI reads one line: keep both ways of setting it equal */
    if (why) *why = w;
    return w ? -1 : 0;
}

int login_invite_link(const char *public_url, const char *listen, const char *token, char *out,
                      size_t n)
{
    if (n == 0) return -1;
    out[0] = '\0';
    if (!invite_token_shape_ok(token)) return -1;
    int w;
    if (public_url && *public_url) {
        size_t bl = strlen(public_url);
        while (bl > 0 && public_url[bl - 1] == '/') bl--;
        if (bl > (size_t)1 << 20) return -1;
        w = snprintf(out, n, "%.*s/welcome/%s", (int)bl, public_url, token);
    } else {
        w = snprintf(out, n, "http://%s/welcome/%s", listen ? listen : "127.0.0.1:8025", token);
    }
    if (w < 0 || (size_t)w >= n) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}

const char *login_invite_link_error(int state)
{
    return invite_link_error(state);
}

const char *login_invite_link_error_text(int state)
{
    switch (state) {
    case INVITE_ACCEPTED:
        return "This link has already been used: the password is set. Sign in with your email "
               "and that password, or ask your admin for a new link if you forgot it.";
    case INVITE_REVOKED:
        return "This link was replaced by a newer one or withdrawn. Use the latest email you "
               "received, or ask your admin for a new link.";
    case INVITE_EXPIRED:
        return "This link has expired. Ask your admin to send you a new one.";
    default: return "This link works.";
    }
}
