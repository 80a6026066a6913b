/* auth.c — who is calling: a bearer token (API clients) or the console's session cookie (with
 * its CSRF token on every state-changing call); locked seats and contributors are refused.
 *
 * GET requests carry the database's version (db_data_version, read before anything else), and
 * each HTTP thread remembers which user a token hash gave at that version: while nothing was
 * committed to the database since, the answer cannot have changed (a token deleted, a seat
 * locked, a role changed), so the two queries are skipped. Any commit by anyone makes the next
 * request look again. Only hashes are kept, never tokens (R29). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <microhttpd.h>
#include <sodium.h>
#include "api/auth.h"

#define TOKEN_CACHE 16 /* per thread */

typedef struct token_entry {
    char hash[65];
    uint64_t version;
    mf_user user;
} token_entry;

typedef struct token_cache {
    token_entry e[TOKEN_CACHE];
    unsigned next; /* round robin */
} token_cache;

static pthread_key_t tc_key;
static pthread_once_t tc_once = PTHREAD_ONCE_INIT;

static void make_key(void)
{
    pthread_key_create(&tc_key, free);
}

static token_cache *thread_tokens(void)
{
    pthread_once(&tc_once, make_key);
    token_cache *t = pthread_getspecific(tc_key);
    if (!t) {
        t = xcalloc(1, sizeof(*t));
        pthread_setspecific(tc_key, t);
    }
    return t;
}

/* r->user for the token hash: from this thread's cache when r's version matches, else from the
 * database (and remembered when r has a version). */
static int lookup(api_req *r, const char *hash)
{
    token_cache *t = r->version_ok ? thread_tokens() : NULL;
    for (int i = 0; t && i < TOKEN_CACHE; i++) {
        if (t->e[i].version == r->version && strcmp(t->e[i].hash, hash) == 0) {
            r->user = t->e[i].user;
            return 0;
        }
    }
    if (tokens_lookup(r->d, hash, &r->user, &r->err) < 0) return -1;
    if (t) {
        token_entry *e = NULL;
        for (int i = 0; i < TOKEN_CACHE && !e; i++)
            if (strcmp(t->e[i].hash, hash) == 0) e = &t->e[i];
        if (!e) e = &t->e[t->next++ % TOKEN_CACHE];
        memcpy(e->hash, hash, sizeof(e->hash));
        e->version = r->version;
        e->user = r->user;
    }
    return 0;
}

/* The checks every caller passes, whichever way they authenticated. */
static int admit(api_req *r)
{
    ops_actor_from_user(&r->user, &r->actor);
    if (r->user.locked)
        return mf_fail(&r->err, 403, "seat_locked", "R2",
                       "this seat is locked; an admin can unlock it");
    if (!roles_has_app_access(&r->actor))
        return mf_fail(&r->err, 403, "forbidden", "R14", "contributors have no API access");
    return 0;
}

int auth_bearer(api_req *r)
{
    const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0 || !h[7] || strlen(h) > 512)
        return mf_fail(&r->err, 401, "unauthenticated", NULL,
                       "send Authorization: Bearer <token>; create one with `mailfleet token "
                       "create --user EMAIL`");
    char hash[65];
    mf_token_hash(h + 7, hash);
    if (lookup(r, hash) < 0) return -1;
    return admit(r);
}

static int method_is_safe(const char *m)
{
    return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 || strcmp(m, "OPTIONS") == 0;
}

int auth_session(api_req *r, const char *token)
{
    if (strlen(token) > 128)
        return mf_fail(&r->err, 401, "unauthenticated", NULL, "sign in again");
    mf_session s;
    if (ops_session_lookup(r->app, r->d, token, &r->user, &s, &r->err) < 0) return -1;
    snprintf(r->session_id, sizeof(r->session_id), "%s", s.id);
    ops_session_csrf(token, r->session_csrf);
    if (!method_is_safe(r->method)) {
        /* the cookie comes with any request the browser makes; the CSRF token only with the
         * console's own (another site cannot read it) */
        const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-CSRF-Token");
        if (!h || strlen(h) != 64 || sodium_memcmp(h, r->session_csrf, 64) != 0)
            return mf_fail(&r->err, 403, "csrf_failed", NULL,
                           "the X-CSRF-Token header is missing or wrong; reload the console");
    }
    return admit(r);
}

int auth_request(api_req *r)
{
    if (MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization"))
        return auth_bearer(r);
    const char *cookie = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, AUTH_COOKIE);
    if (cookie && *cookie) return auth_session(r, cookie);
    return auth_bearer(r); /* the usual 401 */
}
