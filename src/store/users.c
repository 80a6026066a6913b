/* users.c — seats: users of an organisation with role, seat state and limit override (R1–R3). */
#include <string.h>
#include "core/limits.h"
#include "store/store.h"

#define USER_COLS "id, org_id, email, name, role, seat, mailbox_limit, created_at"

static void user_from_row(db_stmt *st, void *out)
{
    mf_user *u = out;
    store_copy(u->id, sizeof(u->id), st, 0);
    store_copy(u->org_id, sizeof(u->org_id), st, 1);
    store_copy(u->email, sizeof(u->email), st, 2);
    store_copy(u->name, sizeof(u->name), st, 3);
    const char *role = db_col_text(st, 4);
    if (mf_role_parse(role, &u->role) < 0) u->role = ROLE_CONTRIBUTOR;
    const char *seat = db_col_text(st, 5);
    u->locked = seat && strcmp(seat, "locked") == 0;
    u->mailbox_limit = store_int_or_unset(st, 6);
    store_copy(u->created_at, sizeof(u->created_at), st, 7);
}

int users_insert(db *d, mf_user *u, mf_error *err)
{
    char norm[MF_ADDR_MAX];
    const char *why;
    if (address_normalize(u->email, norm, &why) < 0)
        return mf_fail(err, 400, "invalid_request", NULL, "email: %s", why);
    mf_id_new("usr", u->id);
    mf_time_format(mf_now(), u->created_at);
    db_stmt *st = db_prepare(d,
                             "INSERT INTO users (id, org_id, email, email_norm, name, role, seat, "
                             "mailbox_limit, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             err);
    if (!st) return -1;
    db_bind_text(st, 1, u->id);
    db_bind_text(st, 2, store_nullable(u->org_id));
    db_bind_text(st, 3, u->email);
    db_bind_text(st, 4, norm);
    db_bind_text(st, 5, u->name);
    db_bind_text(st, 6, mf_role_name(u->role));
    db_bind_text(st, 7, u->locked ? "locked" : "active");
    if (u->mailbox_limit == LIMIT_UNSET) db_bind_null(st, 8);
    else db_bind_int64(st, 8, u->mailbox_limit);
    db_bind_text(st, 9, u->created_at);
    int rc = db_step(st);
    db_finalize(&st);
    if (rc == DB_DONE) return 0;
    if (err && err->status == 409)
        return mf_fail(err, 409, "email_in_use", NULL, "a user with email %s already exists",
                       norm);
    return -1;
}

static int get_one(db *d, const char *sql, const char *arg, mf_user *u, mf_error *err)
{
    return store_get_one(d, sql, arg, user_from_row, u, "user", err);
}

int users_get(db *d, const char *id, mf_user *u, mf_error *err)
{
    return get_one(d, "SELECT " USER_COLS " FROM users WHERE id = ?", id, u, err);
}

int users_get_by_token_hash(db *d, const char *hash, mf_user *u, mf_error *err)
{
    /* one statement for both lookups of every authenticated request */
    return get_one(d,
                   "SELECT users.id, users.org_id, users.email, users.name, users.role, users.seat, "
                   "users.mailbox_limit, users.created_at FROM tokens JOIN users ON users.id = "
                   "tokens.user_id WHERE tokens.hash = ?",
                   hash, u, err);
}

int users_get_by_email(db *d, const char *email, mf_user *u, mf_error *err)
{
    char norm[MF_ADDR_MAX];
    if (address_normalize(email, norm, NULL) < 0) return store_not_found(err, "user");
    return get_one(d, "SELECT " USER_COLS " FROM users WHERE email_norm = ?", norm, u, err);
}

int users_update(db *d, const mf_user *u, mf_error *err)
{
    db_stmt *st = db_prepare(
        d, "UPDATE users SET name = ?, seat = ?, mailbox_limit = ? WHERE id = ?", err);
    if (!st) return -1;
    db_bind_text(st, 1, u->name);
    db_bind_text(st, 2, u->locked ? "locked" : "active");
    if (u->mailbox_limit == LIMIT_UNSET) db_bind_null(st, 3);
    else db_bind_int64(st, 3, u->mailbox_limit);
    db_bind_text(st, 4, u->id);
    int rc = db_step(st) == DB_DONE ? 0 : -1;
    db_finalize(&st);
    return rc;
}

int users_set_password(db *d, const char *id, const char *hash, mf_error *err)
{
    return db_exec(d, err, "UPDATE users SET password_hash = ? WHERE id = ?", hash, id, DB_END) < 0
               ? -1
               : 0;
}

int users_list(db *d, const char *org_id, mf_page *pg, void (*each)(const mf_user *, void *),
               void *ctx, mf_error *err)
{
    qb q;
    qb_init(&q, "SELECT " USER_COLS " FROM users WHERE 1=1");
    qb_and(&q, "org_id = ?", org_id);
    qb_page(&q, "id", pg);
    db_stmt *st = qb_prepare(d, &q, err);
    if (!st) return -1;
    int n = 0, rc;
    while ((rc = qb_next(st, pg, &n)) == 1) {
        mf_user u;
        user_from_row(st, &u);
        each(&u, ctx);
    }
    db_finalize(&st);
    return rc < 0 ? -1 : n;
}
