/* db_pg.c — the PostgreSQL backend of db.h (libpq). Owns the PGconn of each db handle and, per
 * statement, its SQL rewritten from `?` to `$n`, the parameters as text and the PGresult.
 *
 * A statement runs on its first db_step (PQexecParams, text results); later steps walk the rows
 * of that one result, so column texts stay valid until db_finalize. Parameters are untyped text
 * (the server infers their types from the SQL), so a parameter whose type nothing fixes, such as
 * `? IS NULL`, needs a CAST. Unlike SQLite, a failed statement inside a transaction aborts it
 * on PostgreSQL: write `ON CONFLICT` instead of catching a 409 inside db_begin/db_commit.
 *
 * Errors: unique_violation (23505) -> 409 "conflict", other integrity errors (23xxx) -> 409
 * "constraint", anything else -> 500 "internal" and a log line. Connection errors never carry
 * the password. A connection found broken outside a transaction is reset before the next
 * statement. One handle is used by one thread at a time; the module has no global state. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>
#include "store/db.h"
#include "util/log.h"

#define PG_MAX_PARAMS 65535 /* the protocol's limit */

typedef struct pg_db {
    struct db base;
    PGconn *conn;
} pg_db;

typedef struct pg_stmt {
    struct db_stmt base;
    char *sql;      /* with $1..$n */
    int nparams;    /* highest placeholder number */
    char **params;  /* nparams texts, NULL = SQL NULL */
    int bad_index;  /* a bind outside 1..nparams (reported by db_step), or 0 */
    int state;      /* 0 = not run, 1 = has run, -1 = failed */
    PGresult *res;  /* the result, once run */
    int nrows, cur; /* row count; current row (-1 before the first) */
    int64_t changes;
} pg_stmt;

/* ---- messages ---------------------------------------------------------------------------- */

/* A one-line copy of a libpq message: a line break before a capital ends a sentence (". "),
 * other runs of white space become one space. */
static char *one_line(const char *msg)
{
    if (!msg) msg = "";
    char *out = xmalloc(2 * strlen(msg) + 1);
    size_t o = 0;
    for (const char *p = msg; *p; p++) {
        const char *next = p + 1;
        while (*next == ' ' || *next == '\t')
            next++;
        if (*p == '\n' && o > 0 && !strchr(".:;!?", out[o - 1]) && isupper((unsigned char)*next)) {
            out[o++] = '.';
            out[o++] = ' ';
            continue;
        }
        char c = isspace((unsigned char)*p) ? ' ' : *p;
        if (c == ' ' && (o == 0 || out[o - 1] == ' ')) continue;
        out[o++] = c;
    }
    while (o > 0 && (out[o - 1] == ' ' || out[o - 1] == '.'))
        o--;
    out[o] = '\0';
    return out;
}

/* Replace every occurrence of secret (if not empty) in *msg by "***". */
static void scrub(char **msg, const char *secret, size_t slen)
{
    if (!secret || slen == 0) return;
    size_t n = 0;
    for (const char *p = *msg; (p = memmem(p, strlen(p), secret, slen)) != NULL; p += slen)
        n++;
    if (n == 0) return;
    char *out = xmalloc(strlen(*msg) + n * 3 + 1);
    size_t o = 0;
    const char *p = *msg, *hit;
    while ((hit = memmem(p, strlen(p), secret, slen)) != NULL) {
        memcpy(out + o, p, (size_t)(hit - p));
        o += (size_t)(hit - p);
        memcpy(out + o, "***", 3);
        o += 3;
        p = hit + slen;
    }
    size_t rest = strlen(p);
    memcpy(out + o, p, rest + 1);
    free(*msg);
    *msg = out;
}

/* Remove from msg every form of the password that url (or the environment) may carry: the raw
 * userinfo password and `password=` query value, as written (libpq quotes them verbatim in URL
 * syntax errors), and the decoded one. */
static void scrub_password(char **msg, const char *url, PGconn *conn)
{
    const char *p = strstr(url, "://");
    if (p) {
        p += 3;
        const char *q = p;
        while (*q && *q != '@' && *q != '/')
            q++;
        if (*q == '@') {
            const char *colon = memchr(p, ':', (size_t)(q - p));
            if (colon) scrub(msg, colon + 1, (size_t)(q - colon - 1));
        }
    }
    const char *query = strchr(url, '?');
    for (const char *k = query; k && (k = strstr(k, "password=")) != NULL; k += 9) {
        if (k[-1] != '?' && k[-1] != '&') continue;
        const char *v = k + 9;
        scrub(msg, v, strcspn(v, "&"));
    }
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &perr);
    for (PQconninfoOption *o = opts; o && o->keyword; o++)
        if (strcmp(o->keyword, "password") == 0 && o->val) scrub(msg, o->val, strlen(o->val));
    PQconninfoFree(opts);
    PQfreemem(perr);
    const char *pass = conn ? PQpass(conn) : NULL;
    if (pass) scrub(msg, pass, strlen(pass));
}

/* Fill err from a failed result (res may be NULL: then the connection's message) and return -1. */
static int pg_fail(pg_db *d, const PGresult *res, mf_error *err, const char *what)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (!primary) primary = res ? PQresultErrorMessage(res) : NULL;
    if (!primary || !*primary) primary = PQerrorMessage(d->conn);
    char *msg = one_line(primary);
    int rc;
    if (state && strcmp(state, "23505") == 0) {
        rc = mf_fail(err, 409, "conflict", NULL, "%s: %s", what, msg);
    } else if (state && strncmp(state, "23", 2) == 0) {
        rc = mf_fail(err, 409, "constraint", NULL, "%s: %s", what, msg);
    } else {
        log_errorx("postgres: %s: %s (SQLSTATE %s)", what, msg, state ? state : "none");
        rc = mf_fail_internal(err, "database error (%s)", what);
    }
    free(msg);
    return rc;
}

/* libpq hands server warnings here instead of printing them to stderr itself. */
static void pg_notice(void *arg, const char *message)
{
    (void)arg;
    char *msg = one_line(message);
    log_warnx("postgres: %s", msg);
    free(msg);
}

/* ---- connection -------------------------------------------------------------------------- */

static int pg_session_setup(PGconn *conn)
{
    PQsetNoticeProcessor(conn, pg_notice, NULL);
    PGresult *res = PQexec(conn, "SET client_min_messages = warning; SET TimeZone = 'UTC'");
    int ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    return ok ? 0 : -1;
}

/* A connection that broke (server restart, network) is reset before the next statement, but
 * never inside a transaction: that transaction is gone and its COMMIT must fail. */
static void pg_ensure_connected(pg_db *d)
{
    if (PQstatus(d->conn) != CONNECTION_BAD || d->base.in_tx) return;
    log_warnx("postgres: connection lost, reconnecting");
    PQreset(d->conn);
    if (PQstatus(d->conn) != CONNECTION_OK || pg_session_setup(d->conn) < 0)
        log_warnx("postgres: reconnect failed");
}

static int pg_open(const char *url, db **out, mf_error *err)
{
    *out = NULL;
    /* The URL is expanded by libpq (expand_dbname); a connect_timeout in it wins over ours. */
    const char *const keys[] = {"connect_timeout", "dbname", "fallback_application_name", NULL};
    const char *const vals[] = {"10", url, "mailfleet", NULL};
    PGconn *conn = PQconnectdbParams(keys, vals, 1);
    if (!conn)
        return mf_fail(err, 500, "db_unavailable", NULL,
                       "cannot connect to PostgreSQL: out of memory");
    if (PQstatus(conn) != CONNECTION_OK || pg_session_setup(conn) < 0) {
        char *raw = xstrdup(PQerrorMessage(conn));
        scrub_password(&raw, url, conn); /* before one_line may change white space in it */
        char *msg = one_line(raw);
        free(raw);
        mf_fail(err, 500, "db_unavailable", NULL, "cannot connect to PostgreSQL: %s", msg);
        free(msg);
        PQfinish(conn);
        return -1;
    }
    pg_db *d = xcalloc(1, sizeof(*d));
    d->base.v = &db_pg_vfuncs;
    d->base.kind = DB_POSTGRES;
    d->conn = conn;
    *out = &d->base;
    return 0;
}

static void pg_close(db *base)
{
    pg_db *d = (pg_db *)base;
    PQfinish(d->conn);
    free(d);
}

/* ---- statements -------------------------------------------------------------------------- */

static int ident_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '$' || (unsigned char)c >= 0x80;
}

/* Length of a dollar-quote tag ("$$" or "$tag$") starting at s, or 0 if s starts none. */
static size_t dollar_tag(const char *s)
{
    size_t n = 1;
    if (isdigit((unsigned char)s[1])) return 0; /* $1 is a parameter */
    while (s[n] && s[n] != '$' && ident_char(s[n]))
        n++;
    return s[n] == '$' ? n + 1 : 0;
}

/* Copy sql, rewriting `?` (next number, as SQLite numbers them) and `?NNN` to `$n` outside
 * string literals (with '' and, in E'', backslash escapes), quoted identifiers, dollar-quoted
 * strings and comments. *nparams gets the highest number; returns NULL if it is too high. */
static char *rewrite_placeholders(const char *sql, int *nparams)
{
    size_t len = strlen(sql), nq = 0;
    for (size_t i = 0; i < len; i++)
        nq += sql[i] == '?';
    char *out = xmalloc(len + nq * 8 + 1);
    size_t i = 0, o = 0;
    long max = 0;
#define COPY() (out[o++] = sql[i++])
    while (i < len) {
        char c = sql[i];
        if (c == '\'') {
            int esc = i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') &&
                      (i < 2 || !ident_char(sql[i - 2]));
            COPY();
            while (i < len) {
                if (esc && sql[i] == '\\' && i + 1 < len) {
                    COPY();
                    COPY();
                } else if (sql[i] == '\'' && sql[i + 1] == '\'') {
                    COPY();
                    COPY();
                } else if (sql[i] == '\'') {
                    COPY();
                    break;
                } else {
                    COPY();
                }
            }
        } else if (c == '"') {
            COPY();
            while (i < len && sql[i] != '"')
                COPY();
            if (i < len) COPY(); /* a doubled "" reopens at the next turn */
        } else if (c == '-' && sql[i + 1] == '-') {
            while (i < len && sql[i] != '\n')
                COPY();
        } else if (c == '/' && sql[i + 1] == '*') {
            int depth = 0; /* PostgreSQL nests block comments */
            while (i < len) {
                if (sql[i] == '/' && sql[i + 1] == '*') {
                    depth++;
                    COPY();
                    COPY();
                } else if (sql[i] == '*' && sql[i + 1] == '/') {
                    COPY();
                    COPY();
                    if (--depth == 0) break;
                } else {
                    COPY();
                }
            }
        } else if (c == '$' && (i == 0 || !ident_char(sql[i - 1])) && dollar_tag(sql + i) > 0) {
            size_t tl = dollar_tag(sql + i);
            const char *end = memmem(sql + i + tl, len - i - tl, sql + i, tl);
            size_t stop = end ? (size_t)(end - sql) + tl : len;
            while (i < stop)
                COPY();
        } else if (c == '?') {
            i++;
            long n = 0;
            int digits = 0;
            while (isdigit((unsigned char)sql[i])) {
                if (n <= PG_MAX_PARAMS) n = n * 10 + (sql[i] - '0');
                i++;
                digits++;
            }
            if (!digits) n = max + 1;
            if (n < 1 || n > PG_MAX_PARAMS) {
                free(out);
                return NULL;
            }
            if (n > max) max = n;
            o += (size_t)snprintf(out + o, 8, "$%ld", n);
        } else {
            COPY();
        }
    }
#undef COPY
    out[o] = '\0';
    *nparams = (int)max;
    return out;
}

static db_stmt *pg_prepare(db *base, const char *sql, mf_error *err)
{
    int nparams = 0;
    char *text = rewrite_placeholders(sql, &nparams);
    if (!text) {
        log_errorx("postgres: prepare: placeholder number out of range 1..%d", PG_MAX_PARAMS);
        mf_fail_internal(err, "database error (prepare)");
        return NULL;
    }
    pg_stmt *st = xcalloc(1, sizeof(*st));
    st->base.d = base;
    st->sql = text;
    st->nparams = nparams;
    st->params = nparams ? xcalloc((size_t)nparams, sizeof(char *)) : NULL;
    st->cur = -1;
    return &st->base;
}

/* Store v (owned now, NULL = SQL NULL) as parameter idx. */
static void pg_bind(db_stmt *b, int idx, char *v)
{
    pg_stmt *st = (pg_stmt *)b;
    if (idx < 1 || idx > st->nparams) {
        if (!st->bad_index) st->bad_index = idx;
        free(v);
        return;
    }
    free(st->params[idx - 1]);
    st->params[idx - 1] = v;
}

static void pg_bind_text(db_stmt *b, int idx, const char *v)
{
    pg_bind(b, idx, v ? xstrdup(v) : NULL);
}

static void pg_bind_int64(db_stmt *b, int idx, int64_t v)
{
    pg_bind(b, idx, xasprintf("%lld", (long long)v));
}

static void pg_bind_null(db_stmt *b, int idx)
{
    pg_bind(b, idx, NULL);
}

static int pg_step(db_stmt *b)
{
    pg_stmt *st = (pg_stmt *)b;
    pg_db *d = (pg_db *)b->d;
    if (st->state < 0) return DB_ERROR;
    if (st->state == 0) {
        if (st->bad_index) {
            log_errorx("postgres: query: bind index %d outside 1..%d", st->bad_index, st->nparams);
            mf_fail_internal(b->err, "database error (query)");
            st->state = -1;
            return DB_ERROR;
        }
        pg_ensure_connected(d);
        st->res = PQexecParams(d->conn, st->sql, st->nparams, NULL, (const char *const *)st->params,
                               NULL, NULL, 0);
        ExecStatusType s = st->res ? PQresultStatus(st->res) : PGRES_FATAL_ERROR;
        if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK && s != PGRES_EMPTY_QUERY) {
            pg_fail(d, st->res, b->err, "query");
            st->state = -1;
            return DB_ERROR;
        }
        st->state = 1;
        st->nrows = s == PGRES_TUPLES_OK ? PQntuples(st->res) : 0;
        st->changes = strtoll(PQcmdTuples(st->res), NULL, 10);
    }
    if (st->cur < st->nrows) st->cur++;
    return st->cur < st->nrows ? DB_ROW : DB_DONE;
}

static int pg_col_count(db_stmt *b)
{
    pg_stmt *st = (pg_stmt *)b;
    return st->res ? PQnfields(st->res) : 0;
}

static int has_cell(pg_stmt *st, int col)
{
    return st->res && st->cur >= 0 && st->cur < st->nrows && col >= 0 && col < PQnfields(st->res);
}

static const char *pg_col_text(db_stmt *b, int col)
{
    pg_stmt *st = (pg_stmt *)b;
    if (!has_cell(st, col) || PQgetisnull(st->res, st->cur, col)) return NULL;
    return PQgetvalue(st->res, st->cur, col);
}

static int pg_col_is_null(db_stmt *b, int col)
{
    pg_stmt *st = (pg_stmt *)b;
    return !has_cell(st, col) || PQgetisnull(st->res, st->cur, col);
}

static int64_t pg_changes(db_stmt *b)
{
    return ((pg_stmt *)b)->changes;
}

static void pg_finalize(db_stmt *b)
{
    pg_stmt *st = (pg_stmt *)b;
    PQclear(st->res);
    for (int i = 0; i < st->nparams; i++)
        free(st->params[i]);
    free(st->params);
    free(st->sql);
    free(st);
}

/* Several statements in one simple-protocol round trip; outside a transaction they run as one
 * implicit transaction, and the first failure stops the script. */
static int pg_exec_script(db *base, const char *sql, mf_error *err)
{
    pg_db *d = (pg_db *)base;
    pg_ensure_connected(d);
    PGresult *res = PQexec(d->conn, sql);
    ExecStatusType s = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    int rc = 0;
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK && s != PGRES_EMPTY_QUERY)
        rc = pg_fail(d, res, err, "script");
    PQclear(res);
    return rc;
}

const struct db_vfuncs db_pg_vfuncs = {
    .open = pg_open,
    .close = pg_close,
    .prepare = pg_prepare,
    .bind_text = pg_bind_text,
    .bind_int64 = pg_bind_int64,
    .bind_null = pg_bind_null,
    .step = pg_step,
    .col_count = pg_col_count,
    .col_text = pg_col_text,
    .col_is_null = pg_col_is_null,
    .changes = pg_changes,
    .finalize = pg_finalize,
    .exec_script = pg_exec_script,
    .begin_sql = "BEGIN",
};
