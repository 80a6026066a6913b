/* db.h — one neutral query API over SQLite and PostgreSQL (after Dovecot's sql_db_vfuncs).
 *
 * SQL given here is written once for both backends: `?` placeholders (the PostgreSQL backend
 * rewrites them to $1..$n outside quoted strings), TEXT ids, TEXT RFC 3339 times, BIGINT numbers
 * and 0/1 INTEGER booleans, `INSERT ... RETURNING` and `ON CONFLICT` (both engines have them).
 *
 * Use:
 *     db_stmt *st = db_prepare(db, "SELECT id, name FROM users WHERE org_id = ?", err);
 *     db_bind_text(st, 1, org_id);
 *     while ((rc = db_step(st)) == DB_ROW) { db_col_text(st, 0) ... }
 *     db_finalize(&st);           // rc == DB_DONE at the end, DB_ERROR with err filled
 *
 * Column texts stay valid until the next db_step or db_finalize. One db handle is used by one
 * thread at a time. Transactions: db_begin / db_commit / db_rollback (db_begin takes the write
 * lock at once on SQLite: BEGIN IMMEDIATE). */
#ifndef MF_DB_H
#define MF_DB_H
#include <stdint.h>
#include "util/error.h"

typedef struct db db;
typedef struct db_stmt db_stmt;

enum { DB_ERROR = -1, DB_DONE = 0, DB_ROW = 1 };
enum db_kind { DB_SQLITE, DB_POSTGRES };

/* url: "sqlite:PATH", a bare PATH (SQLite), "postgres://..." or "postgresql://...". */
int db_open(const char *url, db **out, mf_error *err);
void db_close(db **d);
enum db_kind db_kind(const db *d);

db_stmt *db_prepare(db *d, const char *sql, mf_error *err);
/* Like db_prepare, for a hot INSERT whose values the caller has checked against the table's
 * CHECK constraints itself: SQLite compiles it without them (a CHECK with an IN list of three
 * or more values builds a temporary b-tree for every row inserted: a quarter of the CPU of
 * storing a message, bench/sync). PostgreSQL checks them as always. */
db_stmt *db_prepare_unchecked(db *d, const char *sql, mf_error *err);
void db_bind_text(db_stmt *st, int idx, const char *v); /* v NULL binds NULL; 1-based idx */
/* Like db_bind_text, without a copy where the backend can (SQLite): v must stay valid and
 * unchanged until the statement is finalized. For large values (message bodies). */
void db_bind_text_ref(db_stmt *st, int idx, const char *v);
void db_bind_int64(db_stmt *st, int idx, int64_t v);
void db_bind_null(db_stmt *st, int idx);
int db_step(db_stmt *st);
int db_col_count(db_stmt *st);
const char *db_col_text(db_stmt *st, int col); /* NULL for SQL NULL */
int64_t db_col_int64(db_stmt *st, int col);    /* 0 for NULL */
int db_col_is_null(db_stmt *st, int col);
int64_t db_changes(db_stmt *st); /* rows changed by a finished INSERT/UPDATE/DELETE */
void db_finalize(db_stmt **st);

/* Run SQL with no result rows; args: a list of `const char *` ending with DB_END (NULL texts
 * bind NULL; use db_exec_params for numbers). Returns rows changed, or -1. */
#define DB_END ((const char *)-1)
int64_t db_exec(db *d, mf_error *err, const char *sql, ...);
/* Run a script of several statements without parameters (migrations). */
int db_exec_script(db *d, const char *sql, mf_error *err);

/* A number that stays the same while no change is committed to the database by anyone (this
 * connection, other connections, other processes), for caches of answers made from it: read it
 * BEFORE reading the data, tag what was read with it, and trust the copy only while a new call
 * gives the same number. Numbers are unique within the process (two connections never share
 * one). 1 with *out set; 0 when the backend cannot tell (PostgreSQL) or inside a transaction;
 * -1 with err on failure. */
int db_data_version(db *d, uint64_t *out, mf_error *err);
/* Like db_data_version for what one table holds, and usable inside a transaction: the number
 * stays the same while no other connection or process has committed anything and this
 * connection has not changed `table` (a change rolled back still counts). For values derived
 * from that table and cached by the store. 1 with *out set; 0 when the backend cannot tell;
 * -1 with err. */
int db_table_mark(db *d, const char *table, uint64_t *out, mf_error *err);

int db_begin(db *d, mf_error *err);
int db_commit(db *d, mf_error *err);
void db_rollback(db *d);

/* Group transactions (write batching, src/api/batch.c): one outer transaction holds the
 * transactions of several requests. Inside it db_begin / db_commit / db_rollback become
 * SAVEPOINT / RELEASE / ROLLBACK TO, so each request's work still succeeds or fails on its
 * own, and the one COMMIT of db_group_commit makes all of them durable at once (-1 with err:
 * none of them is). */
int db_group_begin(db *d, mf_error *err);
int db_group_commit(db *d, mf_error *err);
void db_group_rollback(db *d);

/* Backend table, filled by db_sqlite.c and db_pg.c. */
struct db_vfuncs {
    int (*open)(const char *conninfo, db **out, mf_error *err);
    void (*close)(db *d);
    db_stmt *(*prepare)(db *d, const char *sql, mf_error *err);
    void (*bind_text)(db_stmt *st, int idx, const char *v);
    void (*bind_int64)(db_stmt *st, int idx, int64_t v);
    void (*bind_null)(db_stmt *st, int idx);
    void (*bind_text_ref)(db_stmt *st, int idx, const char *v); /* optional: else bind_text */
    int (*step)(db_stmt *st);
    int (*col_count)(db_stmt *st);
    const char *(*col_text)(db_stmt *st, int col);
    int (*col_is_null)(db_stmt *st, int col);
    int64_t (*changes)(db_stmt *st);
    void (*finalize)(db_stmt *st);
    int (*exec_script)(db *d, const char *sql, mf_error *err);
    const char *begin_sql;
    /* optional: called before begin_sql and after the transaction ends (SQLite: the process's
     * writer lock of that database file, see db_sqlite.c) */
    void (*tx_enter)(db *d);
    void (*tx_leave)(db *d);
    int (*data_version)(db *d, uint64_t *out, mf_error *err); /* optional, see db_data_version */
    int (*table_mark)(db *d, const char *table, uint64_t *out, mf_error *err); /* optional */
    int64_t (*col_int64)(db_stmt *st, int col); /* optional: without it, the text is parsed */
    db_stmt *(*prepare_unchecked)(db *d, const char *sql, mf_error *err); /* optional: else prepare */
};

/* Every backend's db and db_stmt begin with these. */
struct db {
    const struct db_vfuncs *v;
    enum db_kind kind;
    int in_tx;
    int in_group; /* a group transaction is open (db_group_begin) */
};
struct db_stmt {
    db *d;
    mf_error *err; /* where step errors go (may be NULL) */
};

extern const struct db_vfuncs db_sqlite_vfuncs;
extern const struct db_vfuncs db_pg_vfuncs;
#endif
