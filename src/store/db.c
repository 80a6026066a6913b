/* db.c — backend selection and the thin dispatch of the neutral query API; see db.h. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "store/db.h"

int db_open(const char *url, db **out, mf_error *err)
{
    *out = NULL;
    if (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0)
        return db_pg_vfuncs.open(url, out, err);
    const char *path = strncmp(url, "sqlite:", 7) == 0 ? url + 7 : url;
    if (!*path) return mf_fail(err, 400, "bad_config", NULL, "database URL names no file");
    return db_sqlite_vfuncs.open(path, out, err);
}

void db_close(db **d)
{
    if (!d || !*d) return;
    (*d)->v->close(*d);
    *d = NULL;
}

enum db_kind db_kind(const db *d)
{
    return d->kind;
}

db_stmt *db_prepare(db *d, const char *sql, mf_error *err)
{
    db_stmt *st = d->v->prepare(d, sql, err);
    if (st) st->err = err;
    return st;
}

db_stmt *db_prepare_unchecked(db *d, const char *sql, mf_error *err)
{
    if (!d->v->prepare_unchecked) return db_prepare(d, sql, err);
    db_stmt *st = d->v->prepare_unchecked(d, sql, err);
    if (st) st->err = err;
    return st;
}

void db_bind_text(db_stmt *st, int idx, const char *v)
{
    if (!v) st->d->v->bind_null(st, idx);
    else st->d->v->bind_text(st, idx, v);
}

void db_bind_text_ref(db_stmt *st, int idx, const char *v)
{
    if (!v) st->d->v->bind_null(st, idx);
    else if (st->d->v->bind_text_ref) st->d->v->bind_text_ref(st, idx, v);
    else st->d->v->bind_text(st, idx, v);
}

void db_bind_int64(db_stmt *st, int idx, int64_t v)
{
    st->d->v->bind_int64(st, idx, v);
}

void db_bind_null(db_stmt *st, int idx)
{
    st->d->v->bind_null(st, idx);
}

int db_step(db_stmt *st)
{
    return st->d->v->step(st);
}

int db_col_count(db_stmt *st)
{
    return st->d->v->col_count(st);
}

const char *db_col_text(db_stmt *st, int col)
{
    return st->d->v->col_text(st, col);
}

int64_t db_col_int64(db_stmt *st, int col)
{
    if (st->d->v->col_int64) return st->d->v->col_int64(st, col);
    const char *t = st->d->v->col_text(st, col);
    return t ? strtoll(t, NULL, 10) : 0;
}

int db_col_is_null(db_stmt *st, int col)
{
    return st->d->v->col_is_null(st, col);
}

int64_t db_changes(db_stmt *st)
{
    return st->d->v->changes(st);
}

void db_finalize(db_stmt **st)
{
    if (!st || !*st) return;
    (*st)->d->v->finalize(*st);
    *st = NULL;
}

int64_t db_exec(db *d, mf_error *err, const char *sql, ...)
{
    db_stmt *st = db_prepare(d, sql, err);
    if (!st) return -1;
    va_list ap;
    va_start(ap, sql);
    int idx = 1;
    for (;;) {
        const char *a = va_arg(ap, const char *);
        if (a == DB_END) break;
        db_bind_text(st, idx++, a);
    }
    va_end(ap);
    int rc;
    while ((rc = db_step(st)) == DB_ROW) {
    }
    int64_t changes = rc == DB_DONE ? db_changes(st) : -1;
    db_finalize(&st);
    return changes;
}

int db_exec_script(db *d, const char *sql, mf_error *err)
{
    return d->v->exec_script(d, sql, err);
}

int db_data_version(db *d, uint64_t *out, mf_error *err)
{
    if (!d->v->data_version || d->in_tx || d->in_group) return 0;
    return d->v->data_version(d, out, err);
}

int db_table_mark(db *d, const char *table, uint64_t *out, mf_error *err)
{
    if (!d->v->table_mark) return 0;
    return d->v->table_mark(d, table, out, err);
}

int db_begin(db *d, mf_error *err)
{
    if (d->in_tx) MF_BUG("nested transaction");
    if (d->in_group) {
        if (db_exec_script(d, "SAVEPOINT mf_tx", err) < 0) return -1;
        d->in_tx = 1;
        return 0;
    }
    if (d->v->tx_enter) d->v->tx_enter(d);
    if (db_exec_script(d, d->v->begin_sql, err) < 0) {
        if (d->v->tx_leave) d->v->tx_leave(d);
        return -1;
    }
    d->in_tx = 1;
    return 0;
}

int db_commit(db *d, mf_error *err)
{
    if (!d->in_tx) MF_BUG("commit outside a transaction");
    if (d->in_group) {
        int rc = db_exec_script(d, "RELEASE mf_tx", err);
        if (rc < 0) {
            db_exec_script(d, "ROLLBACK TO mf_tx", NULL);
            db_exec_script(d, "RELEASE mf_tx", NULL);
        }
        d->in_tx = 0;
        return rc;
    }
    int rc = db_exec_script(d, "COMMIT", err);
    if (rc < 0) {
        db_exec_script(d, "ROLLBACK", NULL);
    }
    d->in_tx = 0;
    if (d->v->tx_leave) d->v->tx_leave(d);
    return rc;
}

void db_rollback(db *d)
{
    if (!d->in_tx) return;
    if (d->in_group) {
        db_exec_script(d, "ROLLBACK TO mf_tx", NULL);
        db_exec_script(d, "RELEASE mf_tx", NULL);
        d->in_tx = 0;
        return;
    }
    db_exec_script(d, "ROLLBACK", NULL);
    d->in_tx = 0;
    if (d->v->tx_leave) d->v->tx_leave(d);
}

int db_group_begin(db *d, mf_error *err)
{
    if (d->in_tx || d->in_group) MF_BUG("group transaction inside a transaction");
    if (d->v->tx_enter) d->v->tx_enter(d);
    if (db_exec_script(d, d->v->begin_sql, err) < 0) {
        if (d->v->tx_leave) d->v->tx_leave(d);
        return -1;
    }
    d->in_group = 1;
    return 0;
}

int db_group_commit(db *d, mf_error *err)
{
    if (!d->in_group) MF_BUG("group commit outside a group transaction");
    if (d->in_tx) db_rollback(d); /* a request's transaction left open: not committed */
    int rc = db_exec_script(d, "COMMIT", err);
    if (rc < 0) db_exec_script(d, "ROLLBACK", NULL);
    d->in_group = 0;
    if (d->v->tx_leave) d->v->tx_leave(d);
    return rc;
}

void db_group_rollback(db *d)
{
    if (!d->in_group) return;
    if (d->in_tx) db_rollback(d);
    db_exec_script(d, "ROLLBACK", NULL);
    d->in_group = 0;
    if (d->v->tx_leave) d->v->tx_leave(d);
}
