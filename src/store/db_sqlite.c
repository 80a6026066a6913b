/* db_sqlite.c — the SQLite backend of db.h: WAL journal, foreign keys on, busy timeout. */
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "store/db.h"
#include "util/log.h"

/* Prepared statements are kept per connection and reused by their SQL text: parsing SQL was
 * the largest single cost of a write request (measured with perf). */
#define SQ_CACHE 96
_Static_assert(SQ_CACHE < 256, "sq_db.hint holds a slot number + 1 in an unsigned char");
typedef struct sq_cached {
    char *sql;
    sqlite3_stmt *s;
    int in_use;
    int unchecked; /* compiled without CHECK constraints (db_prepare_unchecked) */
    unsigned long last_used;
} sq_cached;

/* Write transactions of this process on one database file take a mutex before BEGIN IMMEDIATE:
 * threads then queue for the write lock instead of polling it in SQLite's busy handler, which
 * sleeps 1–100 ms between tries (bench/api: p99 of POST /mailbox-requests with 4 HTTP threads
 * went from ~300 ms to ~40 ms). Other processes still meet at SQLite's lock, with the busy
 * timeout. One lock per file, so a thread may hold transactions on two different files. */
#define SQ_WRITERS 16
static struct {
    char path[PATH_MAX];
    pthread_mutex_t mu;
} sq_writers[SQ_WRITERS];
static int sq_nwriters;
static pthread_mutex_t sq_writers_mu = PTHREAD_MUTEX_INITIALIZER;

/* The writer lock of this file (by its real path), or NULL when the table is full. */
static pthread_mutex_t *writer_lock_of(const char *path)
{
    char real[PATH_MAX];
    if (!realpath(path, real)) return NULL; /* e.g. ":memory:": one connection, no lock needed */
    pthread_mutex_t *found = NULL;
    pthread_mutex_lock(&sq_writers_mu);
    for (int i = 0; i < sq_nwriters && !found; i++)
        if (strcmp(sq_writers[i].path, real) == 0) found = &sq_writers[i].mu;
    if (!found && sq_nwriters < SQ_WRITERS) {
        memcpy(sq_writers[sq_nwriters].path, real, strlen(real) + 1);
        pthread_mutex_init(&sq_writers[sq_nwriters].mu, NULL);
        found = &sq_writers[sq_nwriters++].mu;
    }
    pthread_mutex_unlock(&sq_writers_mu);
    return found;
}

typedef struct sq_db {
    struct db base;
    sqlite3 *h;
    pthread_mutex_t *writer; /* may be NULL */
    int writer_held;
    /* db_table_mark: watched tables (changes seen by the update hook), what was seen last */
    struct {
        char name[32];
        uint64_t changes;
        int64_t seen_pragma;
        uint64_t seen_changes;
        uint64_t mark;
    } watched[4];
    int nwatched;
    /* db_data_version: what the connection saw last time, and the number it gave for it */
    int64_t seen_pragma, seen_changes;
    unsigned seen_fcntl;
    uint64_t version;
    sq_cached cache[SQ_CACHE];
    unsigned long tick;
    /* the cache slot (+1) last used for an SQL text at this address, by a hash of the address:
     * most SQL is a string literal, so a lookup usually ends at one strcmp instead of a pass
     * over the whole cache (bench/sync: ~10 lookups per stored message) */
    unsigned char hint[256];
} sq_db;

static unsigned sq_hint_of(const char *sql)
{
    uintptr_t p = (uintptr_t)sql;
    return (unsigned)((p >> 3) ^ (p >> 11)) & 255;
}

typedef struct sq_stmt {
    struct db_stmt base;
    sqlite3_stmt *s;
    sq_cached *cached; /* NULL when not from the cache */
    int64_t changes;
} sq_stmt;

static int sq_fail(sqlite3 *h, mf_error *err, const char *what)
{
    int code = sqlite3_extended_errcode(h);
    if (code == SQLITE_CONSTRAINT_UNIQUE || code == SQLITE_CONSTRAINT_PRIMARYKEY)
        return mf_fail(err, 409, "conflict", NULL, "%s: %s", what, sqlite3_errmsg(h));
    if ((code & 0xff) == SQLITE_CONSTRAINT)
        return mf_fail(err, 409, "constraint", NULL, "%s: %s", what, sqlite3_errmsg(h));
    log_errorx("sqlite: %s: %s", what, sqlite3_errmsg(h));
    return mf_fail_internal(err, "database error (%s)", what);
}

/* WAL pages before a commit copies them into the database file (SQLite's default is 1,000):
 * a page written by many commits in between (index leaves, the mailboxes' rows) is copied once
 * per checkpoint, so fewer checkpoints write less (bench/send: -17 % bytes written, -5 % CPU
 * at 8,000). The WAL file grows to about 32 MB between checkpoints. A larger page cache
 * (cache_size) was measured too and cost more CPU than it saved (docs/benchmarks.md). */
#define WAL_CHECKPOINT_PAGES "8000"

/* SQLite's memory statistics (sqlite3_memory_used, never read here) take a global mutex on
 * every allocation, about 70 of them per stored message (bench/sync: 5 % of the instructions
 * of storing it). Off before SQLite initialises, i.e. before the first connection opens; a
 * no-op (SQLITE_MISUSE) should something have initialised it already. */
static pthread_once_t sq_config_once = PTHREAD_ONCE_INIT;
static void sq_config(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static int sq_open(const char *path, db **out, mf_error *err)
{
    pthread_once(&sq_config_once, sq_config);
    sqlite3 *h = NULL;
    int rc = sqlite3_open_v2(path, &h,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             NULL);
    if (rc != SQLITE_OK) {
        mf_fail(err, 500, "db_unavailable", NULL, "cannot open SQLite database %s: %s", path,
                h ? sqlite3_errmsg(h) : "out of memory");
        sqlite3_close(h);
        return -1;
    }
    sqlite3_busy_timeout(h, 10000);
    char *msg = NULL;
    rc = sqlite3_exec(h,
                      "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL; "
                      "PRAGMA wal_autocheckpoint=" WAL_CHECKPOINT_PAGES ";",
                      NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        mf_fail(err, 500, "db_unavailable", NULL, "cannot set up SQLite database %s: %s", path,
                msg ? msg : "?");
        sqlite3_free(msg);
        sqlite3_close(h);
        return -1;
    }
    sq_db *d = xcalloc(1, sizeof(*d));
    d->base.v = &db_sqlite_vfuncs;
    d->base.kind = DB_SQLITE;
    d->h = h;
    d->writer = writer_lock_of(path);
    *out = &d->base;
    return 0;
}

static void sq_tx_enter(db *base)
{
    sq_db *d = (sq_db *)base;
    if (d->writer && !d->writer_held) {
        pthread_mutex_lock(d->writer);
        d->writer_held = 1;
    }
}

static void sq_tx_leave(db *base)
{
    sq_db *d = (sq_db *)base;
    if (d->writer_held) {
        d->writer_held = 0;
        pthread_mutex_unlock(d->writer);
    }
}

/* db_data_version. "PRAGMA data_version" starts a read transaction, so SQLite compares the WAL
 * index with what this connection saw before; its value changes when another connection or
 * process committed. This connection's own commits show in SQLITE_FCNTL_DATA_VERSION and in
 * sqlite3_total_changes64() (which also counts rolled-back changes: a needless miss, never a
 * stale hit). When any of the three moved, the connection takes a new process-wide number. */
static uint64_t sq_version_counter;

static int sq_data_version(db *base, uint64_t *out, mf_error *err)
{
    sq_db *d = (sq_db *)base;
    db_stmt *st = db_prepare(base, "PRAGMA data_version", err);
    if (!st) return -1;
    int rc = db_step(st);
    int64_t pragma = rc == DB_ROW ? db_col_int64(st, 0) : 0;
    db_finalize(&st);
    if (rc != DB_ROW) return rc == DB_ERROR ? -1 : mf_fail_internal(err, "PRAGMA data_version: no row");
    unsigned fcntl_version = 0;
    if (sqlite3_file_control(d->h, "main", SQLITE_FCNTL_DATA_VERSION, &fcntl_version) != SQLITE_OK)
        return 0;
    int64_t changes = sqlite3_total_changes64(d->h);
    if (!d->version || pragma != d->seen_pragma || fcntl_version != d->seen_fcntl ||
        changes != d->seen_changes) {
        d->seen_pragma = pragma;
        d->seen_fcntl = fcntl_version;
        d->seen_changes = changes;
        d->version = __atomic_add_fetch(&sq_version_counter, 1, __ATOMIC_RELAXED);
    }
    *out = d->version;
    return 1;
}

/* Every row this connection inserts, updates or deletes (triggers and foreign key actions
 * included): count it for the watched table it belongs to. */
static void on_row_change(void *arg, int op, const char *dbname, const char *table,
                          sqlite3_int64 rowid)
{
    (void)op;
    (void)dbname;
    (void)rowid;
    sq_db *d = arg;
    for (int i = 0; i < d->nwatched; i++)
        if (strcmp(d->watched[i].name, table) == 0) d->watched[i].changes++;
}

static int sq_table_mark(db *base, const char *table, uint64_t *out, mf_error *err)
{
    sq_db *d = (sq_db *)base;
    int w = -1;
    for (int i = 0; i < d->nwatched && w < 0; i++)
        if (strcmp(d->watched[i].name, table) == 0) w = i;
    if (w < 0) {
        if (d->nwatched == (int)(sizeof(d->watched) / sizeof(d->watched[0])) ||
            strlen(table) >= sizeof(d->watched[0].name))
            return 0;
        w = d->nwatched++;
        memcpy(d->watched[w].name, table, strlen(table) + 1);
        sqlite3_update_hook(d->h, on_row_change, d);
    }
    /* other connections' commits; inside a transaction, as of its start (and nobody else can
     * commit while this connection holds the write lock) */
    db_stmt *st = db_prepare(base, "PRAGMA data_version", err);
    if (!st) return -1;
    int rc = db_step(st);
    int64_t pragma = rc == DB_ROW ? db_col_int64(st, 0) : 0;
    db_finalize(&st);
    if (rc != DB_ROW) return rc == DB_ERROR ? -1 : mf_fail_internal(err, "PRAGMA data_version: no row");
    if (!d->watched[w].mark || pragma != d->watched[w].seen_pragma ||
        d->watched[w].changes != d->watched[w].seen_changes) {
        d->watched[w].seen_pragma = pragma;
        d->watched[w].seen_changes = d->watched[w].changes;
        d->watched[w].mark = __atomic_add_fetch(&sq_version_counter, 1, __ATOMIC_RELAXED);
    }
    *out = d->watched[w].mark;
    return 1;
}

static void sq_close(db *base)
{
    sq_db *d = (sq_db *)base;
    if (d->base.in_tx || d->base.in_group) sqlite3_exec(d->h, "ROLLBACK", NULL, NULL, NULL);
    sq_tx_leave(base);
    for (int i = 0; i < SQ_CACHE; i++) {
        if (d->cache[i].s) sqlite3_finalize(d->cache[i].s);
        free(d->cache[i].sql);
    }
    sqlite3_close(d->h);
    free(d);
}

/* Compile sql without the CHECK constraints of the tables it writes (db_prepare_unchecked).
 * SQLite reads its ignore_check_constraints flag while it compiles a statement, and a flag
 * PRAGMA sets the flag while it is compiled itself; running one would also expire every
 * prepared statement of the connection (this one included, which would then be compiled
 * again with the checks). So the two PRAGMAs are only prepared, never run. Should SQLite ever
 * set the flag at run time instead, the statement keeps its checks: slower, never wrong. The
 * same holds when SQLite compiles it again after a schema change. */
static int sq_prepare_unchecked_stmt(sqlite3 *h, const char *sql, sqlite3_stmt **out)
{
    sqlite3_stmt *flag = NULL;
    sqlite3_prepare_v2(h, "PRAGMA ignore_check_constraints = 1", -1, &flag, NULL);
    sqlite3_finalize(flag);
    int rc = sqlite3_prepare_v3(h, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL);
    flag = NULL;
    sqlite3_prepare_v2(h, "PRAGMA ignore_check_constraints = 0", -1, &flag, NULL);
    sqlite3_finalize(flag);
    return rc;
}

static db_stmt *sq_prepare_mode(db *base, const char *sql, int unchecked, mf_error *err)
{
    sq_db *d = (sq_db *)base;
    sq_stmt *st = xcalloc(1, sizeof(*st));
    st->base.d = base;
    d->tick++;
    unsigned h = sq_hint_of(sql);
    sq_cached *victim = NULL;
    for (int i = d->hint[h] ? -1 : 0; i < SQ_CACHE; i++) {
        sq_cached *c = &d->cache[i < 0 ? d->hint[h] - 1 : i]; /* -1: the hinted slot first */
        if (c->sql && !c->in_use && c->unchecked == unchecked && strcmp(c->sql, sql) == 0) {
            c->in_use = 1;
            c->last_used = d->tick;
            st->s = c->s;
            st->cached = c;
            d->hint[h] = (unsigned char)(c - d->cache + 1);
            return &st->base;
        }
        if (i < 0) continue;
        if (!c->in_use && (!victim || !c->sql || (victim->sql && c->last_used < victim->last_used)))
            victim = c;
    }
    sqlite3_stmt *s = NULL;
    int rc = unchecked ? sq_prepare_unchecked_stmt(d->h, sql, &s)
                       : sqlite3_prepare_v3(d->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL);
    if (rc != SQLITE_OK) {
        sq_fail(d->h, err, "prepare");
        free(st);
        return NULL;
    }
    st->s = s;
    if (victim) { /* keep it for the next time (least recently used one out) */
        if (victim->s) sqlite3_finalize(victim->s);
        free(victim->sql);
        victim->sql = xstrdup(sql);
        victim->s = s;
        victim->in_use = 1;
        victim->unchecked = unchecked;
        victim->last_used = d->tick;
        st->cached = victim;
        d->hint[h] = (unsigned char)(victim - d->cache + 1);
    }
    return &st->base;
}

static db_stmt *sq_prepare(db *base, const char *sql, mf_error *err)
{
    return sq_prepare_mode(base, sql, 0, err);
}

static db_stmt *sq_prepare_unchecked(db *base, const char *sql, mf_error *err)
{
    return sq_prepare_mode(base, sql, 1, err);
}

static void sq_bind_text(db_stmt *b, int idx, const char *v)
{
    sqlite3_bind_text(((sq_stmt *)b)->s, idx, v, -1, SQLITE_TRANSIENT);
}

/* SQLITE_STATIC: SQLite reads v in place (db_bind_text_ref's caller keeps it until the
 * statement is finalized; sq_finalize clears the bindings of a cached statement). */
static void sq_bind_text_ref(db_stmt *b, int idx, const char *v)
{
    sqlite3_bind_text(((sq_stmt *)b)->s, idx, v, -1, SQLITE_STATIC);
}

static void sq_bind_int64(db_stmt *b, int idx, int64_t v)
{
    sqlite3_bind_int64(((sq_stmt *)b)->s, idx, v);
}

static void sq_bind_null(db_stmt *b, int idx)
{
    sqlite3_bind_null(((sq_stmt *)b)->s, idx);
}

static int sq_step(db_stmt *b)
{
    sq_stmt *st = (sq_stmt *)b;
    sq_db *d = (sq_db *)b->d;
    int rc = sqlite3_step(st->s);
    if (rc == SQLITE_ROW) return DB_ROW;
    if (rc == SQLITE_DONE) {
        st->changes = sqlite3_changes(d->h);
        return DB_DONE;
    }
    sq_fail(d->h, b->err, "query");
    return DB_ERROR;
}

static int sq_col_count(db_stmt *b)
{
    return sqlite3_column_count(((sq_stmt *)b)->s);
}

static const char *sq_col_text(db_stmt *b, int col)
{
    return (const char *)sqlite3_column_text(((sq_stmt *)b)->s, col);
}

/* Integer columns are read as integers (no text round trip); text holding a number, as
 * db_col_int64 promises for every backend, is parsed like the text path does. */
static int64_t sq_col_int64(db_stmt *b, int col)
{
    sqlite3_stmt *s = ((sq_stmt *)b)->s;
    switch (sqlite3_column_type(s, col)) {
    case SQLITE_INTEGER: return sqlite3_column_int64(s, col);
    case SQLITE_NULL: return 0;
    default: {
        const char *t = (const char *)sqlite3_column_text(s, col);
        return t ? strtoll(t, NULL, 10) : 0;
    }
    }
}

static int sq_col_is_null(db_stmt *b, int col)
{
    return sqlite3_column_type(((sq_stmt *)b)->s, col) == SQLITE_NULL;
}

static int64_t sq_changes(db_stmt *b)
{
    return ((sq_stmt *)b)->changes;
}

static void sq_finalize(db_stmt *b)
{
    sq_stmt *st = (sq_stmt *)b;
    if (st->cached) {
        sqlite3_reset(st->s);
        sqlite3_clear_bindings(st->s);
        st->cached->in_use = 0;
    } else {
        sqlite3_finalize(st->s);
    }
    free(st);
}

static int sq_exec_script(db *base, const char *sql, mf_error *err)
{
    sq_db *d = (sq_db *)base;
    /* a rollback undoes changes the update hook has counted, without a hook of its own: a
     * value cached after them (db_table_mark) must not survive it */
    if (strncmp(sql, "ROLLBACK", 8) == 0)
        for (int i = 0; i < d->nwatched; i++) d->watched[i].changes++;
    /* the transaction statements of every write request: from the statement cache */
    if (strcmp(sql, "BEGIN IMMEDIATE") == 0 || strcmp(sql, "COMMIT") == 0 ||
        strcmp(sql, "ROLLBACK") == 0 || strncmp(sql, "SAVEPOINT ", 10) == 0 ||
        strncmp(sql, "RELEASE ", 8) == 0 || strncmp(sql, "ROLLBACK TO ", 12) == 0) {
        db_stmt *st = sq_prepare(base, sql, err);
        if (!st) return -1;
        st->err = err;
        int rc = sq_step(st);
        sq_finalize(st);
        return rc == DB_ERROR ? -1 : 0;
    }
    char *msg = NULL;
    if (sqlite3_exec(d->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int rc = sq_fail(d->h, err, "script");
        sqlite3_free(msg);
        return rc;
    }
    return 0;
}

const struct db_vfuncs db_sqlite_vfuncs = {
    .open = sq_open,
    .close = sq_close,
    .prepare = sq_prepare,
    .bind_text = sq_bind_text,
    .bind_text_ref = sq_bind_text_ref,
    .bind_int64 = sq_bind_int64,
    .bind_null = sq_bind_null,
    .step = sq_step,
    .col_count = sq_col_count,
    .col_text = sq_col_text,
    .col_is_null = sq_col_is_null,
    .changes = sq_changes,
    .finalize = sq_finalize,
    .exec_script = sq_exec_script,
    .begin_sql = "BEGIN IMMEDIATE",
    .tx_enter = sq_tx_enter,
    .tx_leave = sq_tx_leave,
    .data_version = sq_data_version,
    .table_mark = sq_table_mark,
    .col_int64 = sq_col_int64,
    .prepare_unchecked = sq_prepare_unchecked,
};
