/* store_util.c — helpers shared by the store's aggregate files: row copies, the list query
 * builder and paging; see store.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/limits.h"
#include "store/store.h"

void store_copy(char *dst, size_t n, db_stmt *st, int col)
{
    const char *t = db_col_text(st, col);
    size_t len = t ? strnlen(t, n - 1) : 0; /* truncated to the field, like snprintf */
    if (len) memcpy(dst, t, len);
    dst[len] = '\0';
}

char *store_dup(db_stmt *st, int col, const char *dflt)
{
    const char *t = db_col_text(st, col);
    return xstrdup(t ? t : dflt);
}

int store_int_or_unset(db_stmt *st, int col)
{
    return db_col_is_null(st, col) ? LIMIT_UNSET : (int)db_col_int64(st, col);
}

int store_not_found(mf_error *err, const char *what)
{
    return mf_fail(err, 404, "not_found", NULL, "no such %s", what);
}

const char *store_nullable(const char *s)
{
    return s && *s ? s : NULL;
}

int store_count(db *d, const char *sql, const char *arg, mf_error *err)
{
    db_stmt *st = db_prepare(d, sql, err);
    if (!st) return -1;
    db_bind_text(st, 1, arg);
    int rc = db_step(st);
    int n = rc == DB_ROW ? (int)db_col_int64(st, 0) : -1;
    db_finalize(&st);
    return n;
}

int store_get_one(db *d, const char *sql, const char *arg, void (*fill)(db_stmt *, void *),
                  void *out, const char *what, mf_error *err)
{
    db_stmt *st = db_prepare(d, sql, err);
    if (!st) return -1;
    db_bind_text(st, 1, arg);
    int rc = db_step(st);
    if (rc == DB_ROW) fill(st, out);
    db_finalize(&st);
    if (rc == DB_ROW) return 0;
    return rc == DB_DONE ? store_not_found(err, what) : -1;
}

void qb_init(qb *q, const char *select_where)
{
    strbuf_init(&q->sql, 16 * 1024);
    strbuf_addstr(&q->sql, select_where);
    q->n = 0;
}

void qb_and(qb *q, const char *cond, const char *arg)
{
    if (!arg) return;
    if (q->n == QB_MAX_ARGS) MF_BUG("too many query arguments");
    strbuf_addf(&q->sql, " AND %s", cond);
    q->args[q->n++] = arg;
}

void qb_page(qb *q, const char *id_col, const mf_page *pg)
{
    if (pg->cursor && *pg->cursor) {
        char cond[64];
        snprintf(cond, sizeof(cond), "%s > ?", id_col);
        qb_and(q, cond, pg->cursor);
    }
    strbuf_addf(&q->sql, " ORDER BY %s LIMIT %d", id_col, pg->limit + 1);
}

db_stmt *qb_prepare(db *d, qb *q, mf_error *err)
{
    db_stmt *st = db_prepare(d, q->sql.buf, err);
    if (st) {
        for (int i = 0; i < q->n; i++) db_bind_text(st, i + 1, q->args[i]);
    }
    strbuf_release(&q->sql);
    return st;
}

int qb_next(db_stmt *st, mf_page *pg, int *delivered)
{
    int rc = db_step(st);
    if (rc == DB_ERROR) return -1;
    if (rc == DB_DONE) return 0;
    if (*delivered == pg->limit) {
        pg->more = 1;
        return 0;
    }
    (*delivered)++;
    store_copy(pg->last_id, sizeof(pg->last_id), st, 0); /* lists select id first */
    return 1;
}
