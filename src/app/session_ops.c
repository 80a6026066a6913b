/* session_ops.c — console sign-in (API.md "POST /session"): email + password checked against
 * the argon2id hash, failed tries counted per address (login_max_failures per 15 minutes,
 * then 429), a random session token whose hash is stored (R29), the idle expiry
 * (session_idle_seconds) and the CSRF token derived from the session token. Contributors never
 * sign in (R14); locked seats neither (R2). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "app/ops.h"
#include "util/log.h"

#define LOGIN_WINDOW_SECONDS (15 * 60)

/* A hash to verify against when the address has none, so an unknown address costs the same
 * argon2id work as a known one (no timing oracle for which addresses exist). */
static char dummy_hash[128];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static void make_dummy(void)
{
    if (mf_password_hash("mailfleet-no-such-user", dummy_hash) != 0) dummy_hash[0] = '\0';
}

void ops_session_csrf(const char *token, char out[65])
{
    char *seed = xasprintf("csrf:%s", token);
    mf_token_hash(seed, out);
    sodium_memzero(seed, strlen(seed));
    free(seed);
}

static int refuse_credentials(mf_error *err)
{
    return mf_fail(err, 401, "invalid_credentials", NULL,
                   "the email or the password is wrong");
}

static int record_failure(db *d, const char *norm, mf_error *err)
{
    time_t now = mf_now();
    char now_s[MF_TIME_LEN], window[MF_TIME_LEN];
    mf_time_format(now, now_s);
    mf_time_format(now - LOGIN_WINDOW_SECONDS, window);
    mf_error ignored;
    if (login_failures_add(d, norm, now_s, window, &ignored) < 0)
        log_warnx("sign-in: cannot count a failed try: %s", ignored.message);
    return refuse_credentials(err);
}

int ops_session_login(mf_app *app, db *d, const char *email, const char *password, mf_user *u,
                      char **token_out, mf_error *err)
{
    *token_out = NULL;
    char norm[MF_ADDR_MAX];
    if (address_normalize(email, norm, NULL) < 0) return refuse_credentials(err);

    /* slow guessing down: too many failures of this address in the window → 429 */
    int failures;
    char first_at[MF_TIME_LEN];
    if (login_failures_get(d, norm, &failures, first_at, err) < 0) return -1;
    time_t first = 0, now = mf_now();
    if (failures >= app->cfg.login_max_failures && first_at[0] &&
        mf_time_parse(first_at, &first) == 0 && first + LOGIN_WINDOW_SECONDS > now) {
        long wait = (long)(first + LOGIN_WINDOW_SECONDS - now);
        mf_fail(err, 429, "too_many_attempts", NULL,
                "too many failed sign-ins for this address; try again in %ld minute(s)",
                (wait + 59) / 60);
        snprintf(err->extra, sizeof(err->extra), "{\"retry_after\":%ld}", wait);
        return -1;
    }

    char hash[128] = "";
    mf_error lookup;
    int found = users_get_by_email(d, norm, u, &lookup) == 0;
    if (!found && lookup.status >= 500) {
        *err = lookup;
        return -1;
    }
    if (found && users_password_hash(d, u->id, hash, err) < 0) return -1;
    if (!hash[0]) {
        pthread_once(&dummy_once, make_dummy);
        if (dummy_hash[0]) (void)mf_password_verify(dummy_hash, password);
        return record_failure(d, norm, err);
    }
    if (mf_password_verify(hash, password) != 0) return record_failure(d, norm, err);

    mf_actor a;
    ops_actor_from_user(u, &a);
    if (!roles_has_app_access(&a))
        return mf_fail(err, 403, "forbidden", "R14",
                       "contributors do not sign in to the console; they connect their inbox "
                       "through an invite link");
    if (u->locked)
        return mf_fail(err, 403, "seat_locked", "R2", "this seat is locked; an admin can unlock it");

    char *token = mf_token_new("mfs_");
    char token_hash[65], idle_before[MF_TIME_LEN];
    mf_token_hash(token, token_hash);
    mf_time_format(now - app->cfg.session_idle_seconds, idle_before);
    mf_session s;
    int rc = db_begin(d, err);
    if (rc == 0) rc = login_failures_clear(d, norm, err);
    if (rc == 0) rc = sessions_delete_idle(d, idle_before, err); /* tidy up the ended ones */
    if (rc == 0) rc = sessions_insert(d, u->id, token_hash, &s, err);
    if (ops_finish(d, rc, err) < 0) {
        mf_secret_free(&token);
        return -1;
    }
    *token_out = token;
    return 0;
}

int ops_session_lookup(mf_app *app, db *d, const char *token, mf_user *u, mf_session *s,
                       mf_error *err)
{
    char token_hash[65];
    mf_token_hash(token, token_hash);
    int rc = sessions_lookup(d, token_hash, s, err);
    if (rc < 0) return -1;
    if (rc == 1)
        return mf_fail(err, 401, "unauthenticated", NULL,
                       "you are not signed in (or were signed out); sign in again");
    time_t now = mf_now(), seen = 0;
    int idle = app->cfg.session_idle_seconds;
    if (mf_time_parse(s->last_seen_at, &seen) < 0 || now - seen > idle) {
        mf_error ignored;
        (void)sessions_delete(d, s->id, &ignored);
        mf_fail(err, 401, "unauthenticated", NULL,
                "the session ended after %d minute(s) without use; sign in again",
                (idle + 59) / 60);
        snprintf(err->extra, sizeof(err->extra), "{\"reason\":\"session_expired\"}");
        return -1;
    }
    /* record activity, at most every minute (every second for short test timeouts) */
    int step = idle / 10 < 60 ? idle / 10 : 60;
    if (now - seen >= (step > 0 ? step : 1)) {
        char now_s[MF_TIME_LEN];
        mf_time_format(now, now_s);
        if (sessions_touch(d, s->id, now_s, err) < 0) return -1;
    }
    if (users_get(d, s->user_id, u, err) < 0)
        return mf_fail(err, 401, "unauthenticated", NULL, "the session's user no longer exists");
    return 0;
}

int ops_session_logout(db *d, const char *session_id, mf_error *err)
{
    return sessions_delete(d, session_id, err);
}
