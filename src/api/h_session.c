/* h_session.c — /session: the console signs in (POST: email + password → an HttpOnly session
 * cookie and the CSRF token), asks who it is after a reload (GET) and signs out (DELETE). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <microhttpd.h>
#include "api/api.h"
#include "api/auth.h"

/* Secure when the console is reached over TLS: a public_url of https, or a proxy that says so. */
static int over_tls(api_req *r)
{
    if (strncasecmp(r->app->cfg.public_url, "https://", 8) == 0) return 1;
    const char *p = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Forwarded-Proto");
    return p && strcasecmp(p, "https") == 0;
}

static void set_cookie(api_req *r, const char *value, int clear)
{
    free(r->set_cookie);
    r->set_cookie = xasprintf("%s=%s; Path=/; HttpOnly; SameSite=Lax%s%s", AUTH_COOKIE, value,
                              clear ? "; Max-Age=0" : "", over_tls(r) ? "; Secure" : "");
}

static json_t *session_body(api_req *r, const mf_user *u, const char *csrf)
{
    return json_pack("{s:o,s:o,s:i}", "user", render_user(u), "csrf_token",
                     csrf && *csrf ? json_string(csrf) : json_null(), "idle_seconds",
                     r->app->cfg.session_idle_seconds);
}

int h_session_create(api_req *r)
{
    /* A cross-site form cannot send application/json without the browser asking first, so
     * nobody can sign a visitor in to an account of theirs (login CSRF). */
    const char *type = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Type");
    if (!type || strncasecmp(type, "application/json", 16) != 0)
        return mf_fail(&r->err, 415, "unsupported_media_type", NULL,
                       "send the sign-in as Content-Type: application/json");
    json_t *b;
    if (jin_body(r, &b) < 0) return -1;
    const char *email, *password;
    int rc = jin_str(r, b, "email", 1, MF_ADDR_MAX - 1, &email);
    if (rc == 0) rc = jin_str(r, b, "password", 1, 1024, &password);
    mf_user u;
    char *token = NULL;
    if (rc == 0) rc = ops_session_login(r->app, r->d, email, password, &u, &token, &r->err);
    json_decref(b);
    if (rc < 0) return -1;
    char csrf[65];
    ops_session_csrf(token, csrf);
    set_cookie(r, token, 0);
    mf_secret_free(&token);
    return api_ok(r, 200, session_body(r, &u, csrf));
}

int h_session_get(api_req *r)
{
    return api_ok(r, 200, session_body(r, &r->user, r->session_csrf));
}

int h_session_delete(api_req *r)
{
    if (r->session_id[0] && ops_session_logout(r->d, r->session_id, &r->err) < 0) return -1;
    set_cookie(r, "", 1);
    return api_no_content(r);
}
