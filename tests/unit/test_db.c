/* test_db.c — the neutral query API of store/db.h, run against both backends: SQLite (a file in
 * a temporary folder) always, PostgreSQL when MAILFLEET_TEST_PG_URL is set (each run works in a
 * schema of its own, dropped at the end). The same test functions run on both. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "store/db.h"
#include "store/messages.h"
#include "store/migrate.h"
#include "util/embedded.h"
#include "util/log.h"
#include "db_fixture.h"

#define NOW "2026-01-01T00:00:00Z"

/* ---- fixtures ---------------------------------------------------------------------------- */

static int setup(void **state, int pg)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    *state = f;
    return fixture_open(f, pg, pg ? "mf_test" : "mf_test_db");
}

static int setup_sqlite(void **state)
{
    return setup(state, 0);
}

static int setup_pg(void **state)
{
    return setup(state, 1);
}

static int teardown_group(void **state)
{
    struct fixture *f = *state;
    if (!f) return 0;
    fixture_close(f);
    free(f);
    return 0;
}

/* ---- helpers ----------------------------------------------------------------------------- */

static db *schema_db(void **state)
{
    struct fixture *f = *state;
    mf_error err = {0};
    if (migrate_up(f->d, NULL, &err) < 0) fail_msg("migrate_up: %s", err.message);
    return f->d;
}

static void insert_org(db *d, const char *id, const char *name)
{
    mf_error err = {0};
    int64_t n = db_exec(d, &err, "INSERT INTO orgs (id, name, created_at) VALUES (?, ?, ?)", id,
                        name, NOW, DB_END);
    if (n != 1) fail_msg("insert org %s: %s", id, err.message);
}

static int64_t count_where(db *d, const char *sql, const char *arg)
{
    mf_error err = {0};
    db_stmt *st = db_prepare(d, sql, &err);
    assert_non_null(st);
    db_bind_text(st, 1, arg);
    assert_int_equal(db_step(st), DB_ROW);
    int64_t n = db_col_int64(st, 0);
    assert_int_equal(db_step(st), DB_DONE);
    db_finalize(&st);
    return n;
}

static int64_t count_orgs_named(db *d, const char *name)
{
    return count_where(d, "SELECT COUNT(*) FROM orgs WHERE name = ?", name);
}

static size_t migration_files(void)
{
    size_t n = 0;
    for (const struct mf_embedded_file *m = mf_migrations; m->name; m++)
        n++;
    return n;
}

/* ---- tests ------------------------------------------------------------------------------- */

static void test_migrate_up_applies_schema_then_is_idempotent(void **state)
{
    struct fixture *f = *state;
    mf_error err = {0};
    int applied = -1;
    assert_int_equal(migrate_up(f->d, &applied, &err), 0);
    assert_int_equal(applied, (int)migration_files());
    assert_true(applied >= 1);

    applied = -1;
    assert_int_equal(migrate_up(f->d, &applied, &err), 0);
    assert_int_equal(applied, 0);

    db_stmt *st = db_prepare(f->d, "SELECT MAX(version), COUNT(*) FROM schema_migrations", &err);
    assert_non_null(st);
    assert_int_equal(db_step(st), DB_ROW);
    assert_int_equal(db_col_int64(st, 0), migrate_latest());
    assert_int_equal(db_col_int64(st, 1), (int64_t)migration_files());
    db_finalize(&st);

    /* the tables of the schema exist and are empty */
    assert_int_equal(count_where(f->d, "SELECT COUNT(*) FROM users WHERE id <> ?", ""), 0);
    assert_int_equal(count_where(f->d, "SELECT COUNT(*) FROM audit_log WHERE id <> ?", ""), 0);
}

/* A migration numbered below one the database already has (branches merged out of order) is
 * still applied: every number is checked on its own. */
static void test_migrate_up_applies_numbers_below_the_highest_applied(void **state)
{
    struct fixture *f = *state;
    mf_error err = {0};
    /* a fresh, empty database of its own: a new SQLite file, or a new PostgreSQL schema */
    db *d = NULL;
    char *gap_schema = NULL;
    if (f->path) {
        char *url = xasprintf("sqlite:%s/gap.db", f->dir);
        assert_int_equal(db_open(url, &d, &err), 0);
        free(url);
    } else {
        d = f->d;
        gap_schema = xasprintf("%s_gap", f->schema);
        char *sql = xasprintf("CREATE SCHEMA %s; SET search_path TO %s", gap_schema, gap_schema);
        assert_int_equal(db_exec_script(d, sql, &err), 0);
        free(sql);
    }
    assert_int_equal(db_exec_script(d,
                                    "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY,"
                                    " name TEXT NOT NULL, applied_at TEXT NOT NULL)",
                                    &err),
                     0);
    assert_int_equal(db_exec(d, &err,
                             "INSERT INTO schema_migrations (version, name, applied_at)"
                             " VALUES (9999, '9999_future.sql', ?)",
                             NOW, DB_END),
                     1);
    int applied = -1;
    assert_int_equal(migrate_up(d, &applied, &err), 0);
    assert_int_equal(applied, (int)migration_files());
    assert_int_equal(count_where(d, "SELECT COUNT(*) FROM users WHERE id <> ?", ""), 0);
    if (gap_schema) {
        char *sql = xasprintf("SET search_path TO %s; DROP SCHEMA %s CASCADE", f->schema,
                              gap_schema);
        assert_int_equal(db_exec_script(d, sql, &err), 0);
        free(sql);
        free(gap_schema);
        return;
    }
    db_close(&d);
    const char *suffixes[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        char *p = xasprintf("%s/gap.db%s", f->dir, suffixes[i]);
        unlink(p);
        free(p);
    }
}

static void test_round_trip_text_int64_null(void **state)
{
    db *d = schema_db(state);
    mf_error err = {0};
    const char *name = "O'Hara \"quoted\" — ünïcode ?";
    db_stmt *st =
        db_prepare(d,
                   "INSERT INTO orgs (id, name, mailbox_limit, max_daily_limit, created_at)"
                   " VALUES (?, ?, ?, ?, ?)",
                   &err);
    assert_non_null(st);
    db_bind_text(st, 1, "org-rt-1");
    db_bind_text(st, 2, name);
    db_bind_null(st, 3);
    db_bind_int64(st, 4, INT64_C(9007199254740993)); /* not exact as a double */
    db_bind_text(st, 5, NOW);
    assert_int_equal(db_step(st), DB_DONE);
    assert_int_equal(db_changes(st), 1);
    db_finalize(&st);
    assert_null(st);

    st = db_prepare(d,
                    "INSERT INTO orgs (id, name, mailbox_limit, max_daily_limit, created_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    &err);
    assert_non_null(st);
    db_bind_text(st, 1, "org-rt-2");
    db_bind_text(st, 2, "");
    db_bind_int64(st, 3, INT64_MIN);
    db_bind_int64(st, 4, INT64_MAX);
    db_bind_text(st, 5, NULL); /* NULL text binds NULL: NOT NULL column refuses it */
    assert_int_equal(db_step(st), DB_ERROR);
    assert_int_equal(err.status, 409);
    assert_string_equal(err.code, "constraint");
    db_finalize(&st);
    insert_org(d, "org-rt-2", "");
    assert_int_equal(db_exec(d, &err, "UPDATE orgs SET mailbox_limit = ? WHERE id = ?", "-42",
                             "org-rt-2", DB_END),
                     1);

    st = db_prepare(d,
                    "SELECT id, name, mailbox_limit, max_daily_limit, created_at FROM orgs"
                    " WHERE id IN (?, ?) ORDER BY id",
                    &err);
    assert_non_null(st);
    db_bind_text(st, 1, "org-rt-1");
    db_bind_text(st, 2, "org-rt-2");
    assert_int_equal(db_step(st), DB_ROW);
    assert_int_equal(db_col_count(st), 5);
    assert_string_equal(db_col_text(st, 0), "org-rt-1");
    assert_string_equal(db_col_text(st, 1), name);
    assert_null(db_col_text(st, 2));
    assert_true(db_col_is_null(st, 2));
    assert_int_equal(db_col_int64(st, 2), 0);
    assert_false(db_col_is_null(st, 3));
    assert_int_equal(db_col_int64(st, 3), INT64_C(9007199254740993));
    assert_string_equal(db_col_text(st, 3), "9007199254740993");
    assert_string_equal(db_col_text(st, 4), NOW);
    assert_int_equal(db_step(st), DB_ROW);
    assert_string_equal(db_col_text(st, 0), "org-rt-2");
    assert_non_null(db_col_text(st, 1)); /* empty text is not NULL */
    assert_string_equal(db_col_text(st, 1), "");
    assert_false(db_col_is_null(st, 1));
    assert_int_equal(db_col_int64(st, 2), -42);
    assert_int_equal(db_col_int64(st, 3), 500); /* the column default */
    assert_int_equal(db_step(st), DB_DONE);
    db_finalize(&st);

    /* int64 extremes, as parameters and back */
    st = db_prepare(d, "UPDATE orgs SET mailbox_limit = ?, max_daily_limit = ? WHERE id = ?", &err);
    assert_non_null(st);
    db_bind_int64(st, 1, INT64_MIN);
    db_bind_int64(st, 2, INT64_MAX);
    db_bind_text(st, 3, "org-rt-2");
    assert_int_equal(db_step(st), DB_DONE);
    db_finalize(&st);
    st = db_prepare(d, "SELECT mailbox_limit, max_daily_limit FROM orgs WHERE max_daily_limit = ?",
                    &err);
    assert_non_null(st);
    db_bind_int64(st, 1, INT64_MAX);
    assert_int_equal(db_step(st), DB_ROW);
    assert_int_equal(db_col_int64(st, 0), INT64_MIN);
    assert_int_equal(db_col_int64(st, 1), INT64_MAX);
    assert_int_equal(db_step(st), DB_DONE);
    db_finalize(&st);
}

/* db_bind_text_ref: the value is read in place until the statement is finalized (SQLite binds
 * it without a copy, PostgreSQL copies); the stored row keeps it after the buffer changes, and a
 * cached statement used again binds afresh. */
static void test_bind_text_ref_stores_the_value(void **state)
{
    db *d = schema_db(state);
    mf_error err = {0};
    for (int i = 0; i < 2; i++) { /* the second round reuses the cached statement */
        char id[16], name[64];
        snprintf(id, sizeof(id), "org-ref-%d", i);
        snprintf(name, sizeof(name), "a body of round %d", i);
        db_stmt *st = db_prepare(d,
                                 "INSERT INTO orgs (id, name, mailbox_limit, max_daily_limit, "
                                 "created_at) VALUES (?, ?, 1, 1, ?)",
                                 &err);
        assert_non_null(st);
        db_bind_text(st, 1, id);
        db_bind_text_ref(st, 2, name);
        db_bind_text(st, 3, NOW);
        assert_int_equal(db_step(st), DB_DONE);
        db_finalize(&st);
        memset(name, 'x', sizeof(name) - 1); /* the caller may reuse its buffer now */
        st = db_prepare(d, "SELECT name FROM orgs WHERE id = ?", &err);
        assert_non_null(st);
        db_bind_text(st, 1, id);
        assert_int_equal(db_step(st), DB_ROW);
        char want[64];
        snprintf(want, sizeof(want), "a body of round %d", i);
        assert_string_equal(db_col_text(st, 0), want);
        db_finalize(&st);
    }
    db_stmt *st = db_prepare(d, "SELECT COUNT(*) FROM orgs WHERE name IS NULL OR id = ?", &err);
    assert_non_null(st);
    db_bind_text_ref(st, 1, NULL); /* NULL binds NULL, as with db_bind_text */
    assert_int_equal(db_step(st), DB_ROW);
    assert_int_equal(db_col_int64(st, 0), 0);
    db_finalize(&st);
}

static void test_question_mark_in_literal_comment_identifier_is_not_a_placeholder(void **state)
{
    db *d = schema_db(state);
    mf_error err = {0};
    insert_org(d, "org-q-1", "q?");
    db_stmt *st = db_prepare(d,
                             "SELECT 'what?' AS a, -- is this a parameter? no\n"
                             " 'it''s ?' AS b, /* nor ? this */ ? AS \"c?\", id, name"
                             " FROM orgs WHERE id = ? AND name = 'q?'",
                             &err);
    assert_non_null(st);
    db_bind_text(st, 1, "first");
    db_bind_text(st, 2, "org-q-1");
    assert_int_equal(db_step(st), DB_ROW);
    assert_int_equal(db_col_count(st), 5);
    assert_string_equal(db_col_text(st, 0), "what?");
    assert_string_equal(db_col_text(st, 1), "it's ?");
    assert_string_equal(db_col_text(st, 2), "first");
    assert_string_equal(db_col_text(st, 3), "org-q-1");
    assert_string_equal(db_col_text(st, 4), "q?");
    assert_int_equal(db_step(st), DB_DONE);
    db_finalize(&st);

    if (db_kind(d) == DB_POSTGRES) {
        /* PostgreSQL-only quoting: E'' with a backslash-escaped quote, dollar quotes, nested
         * block comments, `$` inside identifiers */
        st = db_prepare(d,
                        "SELECT E'a\\'?' AS x, $$b?$$ AS y, $t$c?'$t$ AS z, /* x /* ? */ ? */ "
                        "CAST(? AS TEXT) AS p, 1 AS a$b",
                        &err);
        assert_non_null(st);
        db_bind_text(st, 1, "only");
        assert_int_equal(db_step(st), DB_ROW);
        assert_string_equal(db_col_text(st, 0), "a'?");
        assert_string_equal(db_col_text(st, 1), "b?");
        assert_string_equal(db_col_text(st, 2), "c?'");
        assert_string_equal(db_col_text(st, 3), "only");
        assert_int_equal(db_step(st), DB_DONE);
        db_finalize(&st);
    }
}

static void test_numbered_placeholders(void **state)
{
    db *d = schema_db(state);
    mf_error err = {0};
    db_stmt *st = db_prepare(d, "SELECT CAST(?2 AS TEXT), CAST(?1 AS TEXT), CAST(? AS TEXT)", &err);
    assert_non_null(st);
    db_bind_text(st, 1, "one");
    db_bind_text(st, 2, "two");
    db_bind_text(st, 3, "three");
    assert_int_equal(db_step(st), DB_ROW);
    assert_string_equal(db_col_text(st, 0), "two");
    assert_string_equal(db_col_text(st, 1), "one");
    assert_string_equal(db_col_text(st, 2), "three");
    db_finalize(&st);
}

static void test_insert_returning_id(void **state)
{
    db *d = schema_db(state);
    mf_error err = {0};
    db_stmt *st = db_prepare(d,
                             "INSERT INTO orgs (id, name, created_at) VALUES (?, ?, ?)"
                             " RETURNING id, max_daily_limit",
                             &err);
    assert_non_null(st);
    db_bind_text(st, 1, "org-ret-1");
    db_bind_text(st, 2, "returning");
    db_bind_text(st, 3, NOW);
    assert_int_equal(db_step(st), DB_ROW);
    assert_int_equal(db_col_count(st), 2);
    assert_string_equal(db_col_text(st, 0), "org-ret-1");
    assert_int_equal(db_col_int64(st, 1), 500);
    assert_int_equal(db_step(st), DB_DONE);
    assert_int_equal(db_changes(st), 1);
    db_finalize(&st);
    assert_int_equal(count_orgs_named(d, "returning"), 1);
}

static void test_unique_violation_is_409_conflict(void **state)
{
    db *d = schema_db(state);
    mf_error err = {0};
    insert_org(d, "org-dup-1", "dup");

    /* primary key */
    int64_t n = db_exec(d, &err, "INSERT INTO orgs (id, name, created_at) VALUES (?, ?, ?)",
                        "org-dup-1", "dup again", NOW, DB_END);
    assert_int_equal(n, -1);
    assert_int_equal(err.status, 409);
    assert_string_equal(err.code, "conflict");
    assert_true(err.message[0] != '\0');

    /* UNIQUE column, through prepare/step */
    const char *sql = "INSERT INTO users (id, email, email_norm, name, role, created_at)"
                      " VALUES (?, ?, ?, ?, 'operator', ?)";
    assert_int_equal(db_exec(d, &err, sql, "usr-dup-1", "A@x.test", "a@x.test", "A", NOW, DB_END),
                     1);
    mf_error_clear(&err);
    db_stmt *st = db_prepare(d, sql, &err);
    assert_non_null(st);
    db_bind_text(st, 1, "usr-dup-2");
    db_bind_text(st, 2, "a@X.test");
    db_bind_text(st, 3, "a@x.test");
    db_bind_text(st, 4, "B");
    db_bind_text(st, 5, NOW);
    assert_int_equal(db_step(st), DB_ERROR);
    assert_int_equal(err.status, 409);
    assert_string_equal(err.code, "conflict");
    db_finalize(&st);

    /* the connection is still usable, and nothing was written */
    assert_int_equal(count_orgs_named(d, "dup"), 1);
    assert_int_equal(count_orgs_named(d, "dup again"), 0);
    assert_int_equal(count_where(d, "SELECT COUNT(*) FROM users WHERE email_norm = ?", "a@x.test"),
                     1);
}

static void test_check_not_null_foreign_key_violations_are_409_constraint(void **state)
{
    db *d = schema_db(state);
    mf_error err = {0};
    const char *sql = "INSERT INTO users (id, org_id, email, email_norm, name, role, created_at)"
                      " VALUES (?, ?, ?, ?, ?, ?, ?)";
    /* CHECK (role IN ...) */
    assert_int_equal(
        db_exec(d, &err, sql, "usr-c-1", NULL, "c1@x.test", "c1@x.test", "C", "boss", NOW, DB_END),
        -1);
    assert_int_equal(err.status, 409);
    assert_string_equal(err.code, "constraint");
    /* NOT NULL name */
    mf_error_clear(&err);
    assert_int_equal(
        db_exec(d, &err, sql, "usr-c-2", NULL, "c2@x.test", "c2@x.test", NULL, "user", NOW, DB_END),
        -1);
    assert_int_equal(err.status, 409);
    assert_string_equal(err.code, "constraint");
    /* REFERENCES orgs(id) */
    mf_error_clear(&err);
    assert_int_equal(db_exec(d, &err, sql, "usr-c-3", "no-such-org", "c3@x.test", "c3@x.test", "C",
                             "user", NOW, DB_END),
                     -1);
    assert_int_equal(err.status, 409);
    assert_string_equal(err.code, "constraint");
}

static void test_bad_sql_is_500_internal_and_stmt_err_may_be_null(void **state)
{
    db *d = schema_db(state);
    mf_error err = {0};
    fprintf(stderr, "# the next error lines are expected\n");
    db_stmt *st = db_prepare(d, "SELECT nope FROM no_such_table", &err);
    if (st) { /* PostgreSQL reports at the first step, SQLite at prepare */
        assert_int_equal(db_step(st), DB_ERROR);
        assert_int_equal(db_step(st), DB_ERROR);
        db_finalize(&st);
    }
    assert_int_equal(err.status, 500);
    assert_string_equal(err.code, "internal");

    st = db_prepare(d, "SELECT nope FROM no_such_table", NULL);
    if (st) {
        assert_int_equal(db_step(st), DB_ERROR);
        db_finalize(&st);
    }
    assert_int_equal(db_exec(d, NULL, "INSERT INTO orgs (id) VALUES (?)", "x", DB_END), -1);
    assert_int_equal(db_exec_script(d, "SELEKT 1", NULL), -1);
    /* and the handle still works */
    assert_int_equal(count_orgs_named(d, "nobody by that name"), 0);
}

static void test_rollback_discards_write_and_commit_keeps_it(void **state)
{
    db *d = schema_db(state);
    mf_error err = {0};
    assert_int_equal(db_begin(d, &err), 0);
    insert_org(d, "org-tx-1", "tx");
    assert_int_equal(count_orgs_named(d, "tx"), 1); /* visible inside */
    db_rollback(d);
    assert_int_equal(count_orgs_named(d, "tx"), 0);

    assert_int_equal(db_begin(d, &err), 0);
    insert_org(d, "org-tx-2", "tx");
    assert_int_equal(db_commit(d, &err), 0);
    assert_int_equal(count_orgs_named(d, "tx"), 1);

    db_rollback(d); /* outside a transaction: nothing */
    assert_int_equal(count_orgs_named(d, "tx"), 1);
}

/* Group commit (src/api/batch.h): inside a group transaction each request's transaction is a
 * savepoint: one that rolls back leaves the others; a group rollback drops everything. */
static void test_group_transaction_keeps_requests_apart(void **state)
{
    db *d = schema_db(state);
    mf_error err = {0};
    assert_int_equal(db_group_begin(d, &err), 0);
    assert_int_equal(db_begin(d, &err), 0);
    insert_org(d, "org-grp-1", "grp");
    assert_int_equal(db_commit(d, &err), 0);
    assert_int_equal(db_begin(d, &err), 0);
    insert_org(d, "org-grp-2", "grp");
    db_rollback(d); /* this request failed */
    assert_int_equal(db_begin(d, &err), 0);
    insert_org(d, "org-grp-3", "grp");
    assert_int_equal(db_commit(d, &err), 0);
    assert_int_equal(db_begin(d, &err), 0);
    insert_org(d, "org-grp-4", "grp"); /* left open by its handler: not kept */
    assert_int_equal(count_orgs_named(d, "grp"), 3);
    assert_int_equal(db_group_commit(d, &err), 0);
    assert_int_equal(d->in_tx, 0);
    assert_int_equal(count_orgs_named(d, "grp"), 2);

    assert_int_equal(db_group_begin(d, &err), 0);
    assert_int_equal(db_begin(d, &err), 0);
    insert_org(d, "org-grp-5", "grp");
    assert_int_equal(db_commit(d, &err), 0);
    db_group_rollback(d); /* the whole group fails */
    assert_int_equal(count_orgs_named(d, "grp"), 2);
    /* and plain transactions work again */
    assert_int_equal(db_begin(d, &err), 0);
    insert_org(d, "org-grp-6", "grp");
    assert_int_equal(db_commit(d, &err), 0);
    assert_int_equal(count_orgs_named(d, "grp"), 3);
}

static void test_changes_counts_updated_and_deleted_rows(void **state)
{
    db *d = schema_db(state);
    mf_error err = {0};
    insert_org(d, "org-ch-1", "changes");
    insert_org(d, "org-ch-2", "changes");
    insert_org(d, "org-ch-3", "changes");

    db_stmt *st = db_prepare(d, "UPDATE orgs SET max_daily_limit = ? WHERE name = ?", &err);
    assert_non_null(st);
    db_bind_int64(st, 1, 42);
    db_bind_text(st, 2, "changes");
    assert_int_equal(db_step(st), DB_DONE);
    assert_int_equal(db_changes(st), 3);
    db_finalize(&st);

    st = db_prepare(d, "UPDATE orgs SET max_daily_limit = max_daily_limit + ? WHERE id = ?", &err);
    assert_non_null(st);
    db_bind_int64(st, 1, 1);
    db_bind_text(st, 2, "org-ch-2");
    assert_int_equal(db_step(st), DB_DONE);
    assert_int_equal(db_changes(st), 1);
    db_finalize(&st);

    assert_int_equal(
        db_exec(d, &err, "UPDATE orgs SET name = ? WHERE id = ?", "x", "no-such-org", DB_END), 0);
    assert_int_equal(
        count_where(d, "SELECT SUM(max_daily_limit) FROM orgs WHERE name = ?", "changes"), 127);
    assert_int_equal(db_exec(d, &err, "DELETE FROM orgs WHERE name = ?", "changes", DB_END), 3);
    assert_int_equal(count_orgs_named(d, "changes"), 0);
}

static void test_exec_script_runs_several_statements(void **state)
{
    db *d = schema_db(state);
    mf_error err = {0};
    assert_int_equal(db_exec_script(d,
                                    "CREATE TABLE t_script (a BIGINT, b TEXT);\n"
                                    "INSERT INTO t_script VALUES (1, 'semi;colon');\n"
                                    "-- a comment; with a semicolon\n"
                                    "INSERT INTO t_script VALUES (2, '?');",
                                    &err),
                     0);
    assert_int_equal(count_where(d, "SELECT SUM(a) FROM t_script WHERE b <> ?", ""), 3);
    assert_int_equal(count_where(d, "SELECT COUNT(*) FROM t_script WHERE b = ?", "semi;colon"), 1);
    assert_int_equal(db_exec_script(d, "DROP TABLE t_script", &err), 0);
}

/* PostgreSQL without a server: a failed connection says db_unavailable, never the password. */
static void test_pg_connect_failure_hides_password(void **state)
{
    (void)state;
    const char *urls[] = {
        "postgres://mfuser:Secr3tPw@127.0.0.1:1/nodb?connect_timeout=3",
        "postgresql://mfuser:Secr3t%zzPw@127.0.0.1:1/nodb",        /* bad escape, quoted by libpq */
        "postgres://mfuser@127.0.0.1:1/nodb?password=Secr3t%00Pw", /* forbidden %00 */
        "postgres://mfuser@127.0.0.1:1/nodb?password=Secr3tPw&connect_timeout=3",
        "postgres://mfuser:Secr3tPw@127.0.0.1:1/nodb?no_such_option=1",
    };
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        mf_error err = {0};
        db *d = NULL;
        assert_int_equal(db_open(urls[i], &d, &err), -1);
        assert_null(d);
        assert_int_equal(err.status, 500);
        assert_string_equal(err.code, "db_unavailable");
        assert_true(err.message[0] != '\0');
        if (strstr(err.message, "Secr3t")) fail_msg("password in message: %s", err.message);
        printf("# %s\n", err.message);
    }
}

/* db_prepare_unchecked: SQLite compiles that one statement without CHECK constraints (the
 * caller checks its values), PostgreSQL keeps them; the same SQL through db_prepare, and every
 * statement prepared after it, still checks (the statement cache keeps the two apart). */
static void test_unchecked_prepare_skips_checks_only_where_asked(void **state)
{
    db *d = schema_db(state);
    mf_error err = {0};
    assert_int_equal(db_exec(d, &err, "INSERT INTO orgs (id, name, created_at) VALUES (?, ?, ?)",
                             "org-u", "U", NOW, DB_END),
                     1);
    const char *sql = "INSERT INTO users (id, org_id, email, email_norm, name, role, created_at)"
                      " VALUES (?, 'org-u', ?, ?, 'U', ?, '" NOW "')";
    for (int round = 0; round < 2; round++) { /* the second round: from the statement cache */
        char id[32], mail[32];
        snprintf(id, sizeof(id), "usr-u-%d", round);
        snprintf(mail, sizeof(mail), "u%d@x.test", round);
        db_stmt *st = db_prepare_unchecked(d, sql, &err);
        assert_non_null(st);
        db_bind_text(st, 1, id);
        db_bind_text(st, 2, mail);
        db_bind_text(st, 3, mail);
        db_bind_text(st, 4, "boss"); /* not in CHECK (role IN ...) */
        int rc = db_step(st);
        db_finalize(&st);
        if (db_kind(d) == DB_SQLITE) {
            assert_int_equal(rc, DB_DONE);
        } else {
            assert_int_equal(rc, DB_ERROR);
            assert_string_equal(err.code, "constraint");
        }
        mf_error_clear(&err);
        /* the same SQL, checked */
        snprintf(id, sizeof(id), "usr-c-%d", round);
        snprintf(mail, sizeof(mail), "c%d@x.test", round);
        assert_int_equal(db_exec(d, &err, sql, id, mail, mail, "boss", DB_END), -1);
        assert_int_equal(err.status, 409);
        assert_string_equal(err.code, "constraint");
        mf_error_clear(&err);
        /* a statement compiled after it */
        snprintf(id, sizeof(id), "usr-d-%d", round);
        snprintf(mail, sizeof(mail), "d%d@x.test", round);
        assert_int_equal(db_exec(d, &err,
                                 "INSERT INTO users (id, org_id, email, email_norm, name, role, "
                                 "created_at) VALUES (?, 'org-u', ?, ?, 'D', ?, ?)",
                                 id, mail, mail, "boss", NOW, DB_END),
                         -1);
        assert_string_equal(err.code, "constraint");
        mf_error_clear(&err);
    }
}

static int store_msg(db *d, const char *mailbox, const char *direction, const char *mid,
                     const char *in_reply_to, const char *classification, char id[MF_ID_LEN],
                     mf_error *err)
{
    const char *refs[] = {in_reply_to};
    mf_message_in m = {.mailbox_id = mailbox,
                       .folder = "INBOX",
                       .direction = direction,
                       .uidvalidity = 1,
                       .uid = 1,
                       .message_id = mid,
                       .in_reply_to = in_reply_to,
                       .references = in_reply_to ? refs : NULL,
                       .n_references = in_reply_to ? 1 : 0,
                       .subject = "Re: hello",
                       .date = 1800000000,
                       .classification = classification,
                       .unread = 1};
    int stored = -1;
    int rc = messages_store(d, &m, id, &stored, err);
    return rc < 0 ? -1 : stored;
}

static void conversation_of_row(db *d, const char *msg, char out[MF_ID_LEN])
{
    db_stmt *st = db_prepare(d, "SELECT conversation_id FROM messages WHERE id = ?", NULL);
    assert_non_null(st);
    db_bind_text(st, 1, msg);
    assert_int_equal(db_step(st), DB_ROW);
    snprintf(out, MF_ID_LEN, "%s", db_col_text(st, 0));
    db_finalize(&st);
}

/* messages_store (R13, R22): stored once per mailbox, threaded by In-Reply-To through the
 * dedupe key, CHECK-constrained values refused on both backends; messages_find_outbound finds
 * our sent message in this mailbox first, else in another mailbox of the same owner, never in
 * another owner's. */
static void test_messages_store_dedupes_threads_and_finds_outbound(void **state)
{
    db *d = schema_db(state);
    mf_error err = {0};
    assert_int_equal(db_exec(d, &err, "INSERT INTO orgs (id, name, created_at) VALUES (?, ?, ?)",
                             "org-m", "M", NOW, DB_END),
                     1);
    const char *users[] = {"usr-m-1", "usr-m-2"};
    for (int i = 0; i < 2; i++) {
        char mail[32];
        snprintf(mail, sizeof(mail), "m%d@x.test", i);
        assert_int_equal(db_exec(d, &err,
                                 "INSERT INTO users (id, org_id, email, email_norm, name, role, "
                                 "created_at) VALUES (?, 'org-m', ?, ?, 'M', 'user', ?)",
                                 users[i], mail, mail, NOW, DB_END),
                         1);
    }
    const char *boxes[][2] = {{"mbx-a", "usr-m-1"}, {"mbx-b", "usr-m-1"}, {"mbx-c", "usr-m-2"}};
    for (int i = 0; i < 3; i++) {
        char addr[32];
        snprintf(addr, sizeof(addr), "%s@x.test", boxes[i][0]);
        assert_int_equal(db_exec(d, &err,
                                 "INSERT INTO mailboxes (id, org_id, owner_id, address, "
                                 "address_norm, status_since, created_at) "
                                 "VALUES (?, 'org-m', ?, ?, ?, ?, ?)",
                                 boxes[i][0], boxes[i][1], addr, addr, NOW, NOW, DB_END),
                         1);
    }
    char sent_b[MF_ID_LEN], sent_c[MF_ID_LEN], first[MF_ID_LEN], reply[MF_ID_LEN], dup[MF_ID_LEN];
    char found[MF_ID_LEN], c1[MF_ID_LEN], c2[MF_ID_LEN];
    assert_int_equal(store_msg(d, "mbx-b", "out", "ours@x.test", NULL, "human", sent_b, &err), 1);
    assert_int_equal(store_msg(d, "mbx-c", "out", "theirs@x.test", NULL, "human", sent_c, &err), 1);
    assert_int_equal(messages_find_outbound(d, "mbx-a", "ours@x.test", found, &err), 1);
    assert_string_equal(found, sent_b); /* another mailbox of the same owner (R19) */
    assert_int_equal(messages_find_outbound(d, "mbx-a", "theirs@x.test", found, &err), 0);
    assert_int_equal(messages_find_outbound(d, "mbx-a", "nobody@x.test", found, &err), 0);
    char sent_a[MF_ID_LEN];
    assert_int_equal(store_msg(d, "mbx-a", "out", "ours@x.test", NULL, "human", sent_a, &err), 1);
    assert_int_equal(messages_find_outbound(d, "mbx-a", "ours@x.test", found, &err), 1);
    assert_string_equal(found, sent_a); /* this mailbox's own first */
    assert_int_equal(messages_find_outbound(d, "mbx-b", "ours@x.test", found, &err), 1);
    assert_string_equal(found, sent_b);
    /* threading: In-Reply-To names the first message (looked up by its dedupe key) */
    assert_int_equal(store_msg(d, "mbx-a", "in", "first@x.test", NULL, "human", first, &err), 1);
    assert_int_equal(store_msg(d, "mbx-a", "in", "second@x.test", "first@x.test", "reply", reply,
                               &err),
                     1);
    conversation_of_row(d, first, c1);
    conversation_of_row(d, reply, c2);
    assert_string_equal(c1, c2);
    /* a message of another mailbox with that id does not thread here */
    assert_int_equal(store_msg(d, "mbx-b", "in", "third@x.test", "first@x.test", "human", dup,
                               &err),
                     1);
    conversation_of_row(d, dup, c2);
    assert_string_not_equal(c1, c2);
    /* the same message again: stored once */
    assert_int_equal(store_msg(d, "mbx-a", "in", "second@x.test", "first@x.test", "reply", dup,
                               &err),
                     0);
    /* values the CHECK constraints of messages refuse */
    assert_int_equal(store_msg(d, "mbx-a", "in", "bad1@x.test", NULL, "spam", dup, &err), -1);
    assert_string_equal(err.code, "constraint");
    mf_error_clear(&err);
    assert_int_equal(store_msg(d, "mbx-a", "sideways", "bad2@x.test", NULL, "human", dup, &err),
                     -1);
    assert_string_equal(err.code, "constraint");
    mf_error_clear(&err);
}

/* One cmocka group per run (TAP allows one plan per program): argv[1] names it —
 * "sqlite", "pg_offline" or "postgres" (a TAP skip without MAILFLEET_TEST_PG_URL). */
int main(int argc, char **argv)
{
    log_set_level(MF_LOG_WARN);
    const struct CMUnitTest backend_tests[] = {
        cmocka_unit_test(test_migrate_up_applies_schema_then_is_idempotent),
        cmocka_unit_test(test_migrate_up_applies_numbers_below_the_highest_applied),
        cmocka_unit_test(test_round_trip_text_int64_null),
        cmocka_unit_test(test_bind_text_ref_stores_the_value),
        cmocka_unit_test(test_question_mark_in_literal_comment_identifier_is_not_a_placeholder),
        cmocka_unit_test(test_numbered_placeholders),
        cmocka_unit_test(test_insert_returning_id),
        cmocka_unit_test(test_unique_violation_is_409_conflict),
        cmocka_unit_test(test_check_not_null_foreign_key_violations_are_409_constraint),
        cmocka_unit_test(test_bad_sql_is_500_internal_and_stmt_err_may_be_null),
        cmocka_unit_test(test_rollback_discards_write_and_commit_keeps_it),
        cmocka_unit_test(test_group_transaction_keeps_requests_apart),
        cmocka_unit_test(test_changes_counts_updated_and_deleted_rows),
        cmocka_unit_test(test_exec_script_runs_several_statements),
        cmocka_unit_test(test_unchecked_prepare_skips_checks_only_where_asked),
        cmocka_unit_test(test_messages_store_dedupes_threads_and_finds_outbound),
    };
    const struct CMUnitTest offline_tests[] = {
        cmocka_unit_test(test_pg_connect_failure_hides_password),
    };
    const char *group = argc > 1 ? argv[1] : "sqlite";
    if (strcmp(group, "sqlite") == 0)
        return cmocka_run_group_tests_name("db_sqlite", backend_tests, setup_sqlite,
                                           teardown_group) ? 1 : 0;
    if (strcmp(group, "pg_offline") == 0)
        return cmocka_run_group_tests_name("db_pg_offline", offline_tests, NULL, NULL) ? 1 : 0;
    if (strcmp(group, "postgres") == 0) {
        const char *pg = getenv("MAILFLEET_TEST_PG_URL");
        if (!pg || !*pg) {
            printf("1..0 # SKIP set MAILFLEET_TEST_PG_URL (tests/lab/postgres.sh start)\n");
            return 0;
        }
        return cmocka_run_group_tests_name("db_postgres", backend_tests, setup_pg,
                                           teardown_group) ? 1 : 0;
    }
    fprintf(stderr, "usage: test_db [sqlite|pg_offline|postgres]\n");
    return 2;
}
