/* orgs.c — organisations and their contract settings (R1, R3, R6, R10, R15). */
#include <string.h>
#include "core/limits.h"
#include "store/store.h"

#define ORG_COLS "id, name, mailbox_limit, allow_generic, admin_self_approve, max_daily_limit, created_at"

static void org_from_row(db_stmt *st, void *out)
{
    mf_org *o = out;
    store_copy(o->id, sizeof(o->id), st, 0);
    store_copy(o->name, sizeof(o->name), st, 1);
    o->mailbox_limit = store_int_or_unset(st, 2);
    o->allow_generic = (int)db_col_int64(st, 3);
    o->admin_self_approve = (int)db_col_int64(st, 4);
    o->max_daily_limit = (int)db_col_int64(st, 5);
    store_copy(o->created_at, sizeof(o->created_at), st, 6);
}

static void bind_limit(db_stmt *st, int idx, int v)
{
    if (v == LIMIT_UNSET) db_bind_null(st, idx);
    else db_bind_int64(st, idx, v);
}

int orgs_insert(db *d, mf_org *o, mf_error *err)
{
    mf_id_new("org", o->id);
    mf_time_format(mf_now(), o->created_at);
    db_stmt *st = db_prepare(d, "INSERT INTO orgs (" ORG_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?)", err);
    if (!st) return -1;
    db_bind_text(st, 1, o->id);
    db_bind_text(st, 2, o->name);
    bind_limit(st, 3, o->mailbox_limit);
    db_bind_int64(st, 4, o->allow_generic);
    db_bind_int64(st, 5, o->admin_self_approve);
    db_bind_int64(st, 6, o->max_daily_limit);
    db_bind_text(st, 7, o->created_at);
    int rc = db_step(st) == DB_DONE ? 0 : -1;
    db_finalize(&st);
    return rc;
}

int orgs_get(db *d, const char *id, mf_org *o, mf_error *err)
{
    return store_get_one(d, "SELECT " ORG_COLS " FROM orgs WHERE id = ?", id, org_from_row, o,
                         "organisation", err);
}

int orgs_update(db *d, const mf_org *o, mf_error *err)
{
    db_stmt *st = db_prepare(d,
                             "UPDATE orgs SET name = ?, mailbox_limit = ?, allow_generic = ?, "
                             "admin_self_approve = ?, max_daily_limit = ? WHERE id = ?",
                             err);
    if (!st) return -1;
    db_bind_text(st, 1, o->name);
    bind_limit(st, 2, o->mailbox_limit);
    db_bind_int64(st, 3, o->allow_generic);
    db_bind_int64(st, 4, o->admin_self_approve);
    db_bind_int64(st, 5, o->max_daily_limit);
    db_bind_text(st, 6, o->id);
    int rc = db_step(st) == DB_DONE ? 0 : -1;
    db_finalize(&st);
    if (rc < 0) return -1;
    /* R15: no mailbox of the organisation stays above its maximum */
    st = db_prepare(d, "UPDATE mailboxes SET daily_limit = ? WHERE org_id = ? AND daily_limit > ?",
                    err);
    if (!st) return -1;
    db_bind_int64(st, 1, o->max_daily_limit);
    db_bind_text(st, 2, o->id);
    db_bind_int64(st, 3, o->max_daily_limit);
    rc = db_step(st) == DB_DONE ? 0 : -1;
    db_finalize(&st);
    return rc;
}

int orgs_list(db *d, mf_page *pg, void (*each)(const mf_org *, void *), void *ctx, mf_error *err)
{
    qb q;
    qb_init(&q, "SELECT " ORG_COLS " FROM orgs WHERE 1=1");
    qb_page(&q, "id", pg);
    db_stmt *st = qb_prepare(d, &q, err);
    if (!st) return -1;
    int n = 0, rc;
    while ((rc = qb_next(st, pg, &n)) == 1) {
        mf_org o;
        org_from_row(st, &o);
        each(&o, ctx);
    }
    db_finalize(&st);
    return rc < 0 ? -1 : n;
}
