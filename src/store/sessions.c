/* sessions.c — console sign-in: the password hash of a user, session rows (token hash, last
 * activity for the idle expiry) and failed sign-ins per address (slowing guessing). Tokens are
 * never stored, only their BLAKE2b hash (R29). */
#include <stdio.h>
#include <string.h>
#include "store/store.h"

int users_password_hash(db *d, const char *user_id, char out[128], mf_error *err)
{
    out[0] = '\0';
    db_stmt *st = db_prepare(d, "SELECT password_hash FROM users WHERE id = ?", err);
    if (!st) return -1;
    db_bind_text(st, 1, user_id);
    int rc = db_step(st);
    if (rc == DB_ROW) store_copy(out, 128, st, 0);
    db_finalize(&st);
    return rc == DB_ERROR ? -1 : 0;
}

int sessions_insert(db *d, const char *user_id, const char *token_hash, mf_session *s,
                    mf_error *err)
{
    memset(s, 0, sizeof(*s));
    mf_id_new("ses", s->id);
    snprintf(s->user_id, sizeof(s->user_id), "%s", user_id);
    mf_time_format(mf_now(), s->created_at);
    memcpy(s->last_seen_at, s->created_at, sizeof(s->last_seen_at));
    return db_exec(d, err,
                   "INSERT INTO sessions (id, user_id, token_hash, created_at, last_seen_at) "
                   "VALUES (?, ?, ?, ?, ?)",
                   s->id, user_id, token_hash, s->created_at, s->last_seen_at, DB_END) < 0
               ? -1
               : 0;
}

int sessions_lookup(db *d, const char *token_hash, mf_session *s, mf_error *err)
{
    memset(s, 0, sizeof(*s));
    db_stmt *st = db_prepare(
        d, "SELECT id, user_id, created_at, last_seen_at FROM sessions WHERE token_hash = ?", err);
    if (!st) return -1;
    db_bind_text(st, 1, token_hash);
    int rc = db_step(st);
    if (rc == DB_ROW) {
        store_copy(s->id, sizeof(s->id), st, 0);
        store_copy(s->user_id, sizeof(s->user_id), st, 1);
        store_copy(s->created_at, sizeof(s->created_at), st, 2);
        store_copy(s->last_seen_at, sizeof(s->last_seen_at), st, 3);
    }
    db_finalize(&st);
    if (rc == DB_ERROR) return -1;
    return rc == DB_ROW ? 0 : 1;
}

int sessions_touch(db *d, const char *id, const char *now, mf_error *err)
{
    return db_exec(d, err, "UPDATE sessions SET last_seen_at = ? WHERE id = ?", now, id,
                   DB_END) < 0
               ? -1
               : 0;
}

int sessions_delete(db *d, const char *id, mf_error *err)
{
    return db_exec(d, err, "DELETE FROM sessions WHERE id = ?", id, DB_END) < 0 ? -1 : 0;
}

int sessions_delete_user(db *d, const char *user_id, mf_error *err)
{
    return db_exec(d, err, "DELETE FROM sessions WHERE user_id = ?", user_id, DB_END) < 0 ? -1
                                                                                         : 0;
}

int sessions_delete_idle(db *d, const char *seen_before, mf_error *err)
{
    return db_exec(d, err, "DELETE FROM sessions WHERE last_seen_at < ?", seen_before, DB_END) < 0
               ? -1
               : 0;
}

int login_failures_get(db *d, const char *email_norm, int *failures,
                       char first_at[MF_TIME_LEN], mf_error *err)
{
    *failures = 0;
    first_at[0] = '\0';
    db_stmt *st = db_prepare(d, "SELECT failures, first_at FROM login_failures WHERE email_norm = ?",
                             err);
    if (!st) return -1;
    db_bind_text(st, 1, email_norm);
    int rc = db_step(st);
    if (rc == DB_ROW) {
        *failures = (int)db_col_int64(st, 0);
        store_copy(first_at, MF_TIME_LEN, st, 1);
    }
    db_finalize(&st);
    return rc == DB_ERROR ? -1 : 0;
}

int login_failures_add(db *d, const char *email_norm, const char *now, const char *window_start,
                       mf_error *err)
{
    /* a failure after the window restarts the count */
    return db_exec(d, err,
                   "INSERT INTO login_failures (email_norm, failures, first_at, last_at) "
                   "VALUES (?, 1, ?, ?) ON CONFLICT (email_norm) DO UPDATE SET "
                   "failures = CASE WHEN login_failures.first_at < ? THEN 1 "
                   "ELSE login_failures.failures + 1 END, "
                   "first_at = CASE WHEN login_failures.first_at < ? THEN excluded.first_at "
                   "ELSE login_failures.first_at END, last_at = excluded.last_at",
                   email_norm, now, now, window_start, window_start, DB_END) < 0
               ? -1
               : 0;
}

int login_failures_clear(db *d, const char *email_norm, mf_error *err)
{
    return db_exec(d, err, "DELETE FROM login_failures WHERE email_norm = ?", email_norm,
                   DB_END) < 0
               ? -1
               : 0;
}
