/* test_resp_cache.c — what the API's answer caches stand on (docs/benchmarks.md):
 *   - db_data_version() on SQLite: the same number while nothing is committed, a new one after a
 *     commit by this connection, by another connection, or by another process (fork), and
 *     numbers never shared by two connections;
 *   - db_table_mark() (the store's cached R3 count): the same number until this connection
 *     changes that table (a rolled-back change too) or anyone else commits anything;
 *   - the SQLite writer lock: threads of one process writing at once all commit (they queue
 *     instead of failing on SQLite's busy lock);
 *   - resp_cache: hit only for the same key, version and UTC quarter hour (R15: sent_today is of
 *     the local day, and local midnights fall on quarter hours), bounded memory, ETags of the
 *     bytes, If-None-Match matching;
 *   - the JSON text writer of the list answers (json_out.h): its one-copy path for plain
 *     strings and its integers give the same text as the escaping path and printf.
 * Tests name the rule they serve, or DESIGN for habits of DESIGN.md no product rule covers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "api/json_out.h"
#include "api/resp_cache.h"
#include "store/db.h"
#include "util/clock.h"

static char tmpdir[256];
static char dburl[320];

static int group_setup(void **state)
{
    (void)state;
    const char *t = getenv("TMPDIR");
    snprintf(tmpdir, sizeof(tmpdir), "%s/mf_test_cache.XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(tmpdir)) return -1;
    snprintf(dburl, sizeof(dburl), "sqlite:%s/cache.db", tmpdir);
    db *d = NULL;
    mf_error err = {0};
    if (db_open(dburl, &d, &err) < 0) return -1;
    int rc = db_exec_script(d, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL); "
                               "CREATE TABLE other (v TEXT)", &err);
    db_close(&d);
    return rc;
}

static int group_teardown(void **state)
{
    (void)state;
    char path[400];
    const char *suffix[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/cache.db%s", tmpdir, suffix[i]);
        unlink(path);
    }
    rmdir(tmpdir);
    return 0;
}

static db *open_db(void)
{
    db *d = NULL;
    mf_error err = {0};
    assert_int_equal(db_open(dburl, &d, &err), 0);
    return d;
}

static uint64_t version_of(db *d)
{
    uint64_t v = 0;
    mf_error err = {0};
    assert_int_equal(db_data_version(d, &v, &err), 1);
    assert_true(v != 0);
    return v;
}

static void insert(db *d, const char *v)
{
    mf_error err = {0};
    assert_true(db_exec(d, &err, "INSERT INTO t (v) VALUES (?)", v, DB_END) == 1);
}

/* ---- db_data_version ----------------------------------------------------------------------- */

static void test_DESIGN_version_stays_without_commits(void **state)
{
    (void)state;
    db *d = open_db();
    uint64_t v = version_of(d);
    mf_error err = {0};
    db_stmt *st = db_prepare(d, "SELECT COUNT(*) FROM t", &err);
    assert_non_null(st);
    assert_int_equal(db_step(st), DB_ROW);
    db_finalize(&st);
    assert_true(version_of(d) == v); /* reads do not move it */
    assert_true(version_of(d) == v);
    db_close(&d);
}

static void test_DESIGN_version_moves_on_own_commit(void **state)
{
    (void)state;
    db *d = open_db();
    uint64_t v = version_of(d);
    insert(d, "own, autocommit");
    uint64_t v2 = version_of(d);
    assert_true(v2 != v);
    mf_error err = {0};
    assert_int_equal(db_begin(d, &err), 0);
    uint64_t dummy;
    assert_int_equal(db_data_version(d, &dummy, &err), 0); /* inside a transaction: cannot tell */
    insert(d, "own, in a transaction");
    assert_int_equal(db_commit(d, &err), 0);
    assert_true(version_of(d) != v2);
    db_close(&d);
}

static void test_DESIGN_version_moves_on_other_connection_commit(void **state)
{
    (void)state;
    db *a = open_db(), *b = open_db();
    uint64_t va = version_of(a), vb = version_of(b);
    assert_true(va != vb); /* two connections never share a number */
    insert(b, "by b");
    assert_true(version_of(a) != va);
    db_close(&a);
    db_close(&b);
}

static void test_DESIGN_version_moves_on_other_process_commit(void **state)
{
    (void)state;
    db *a = open_db();
    uint64_t va = version_of(a);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) { /* another process: its own connection, one commit */
        db *c = NULL;
        mf_error err = {0};
        if (db_open(dburl, &c, &err) < 0) _exit(2);
        int rc = db_exec(c, &err, "INSERT INTO t (v) VALUES ('by another process')", DB_END) == 1;
        db_close(&c);
        _exit(rc ? 0 : 3);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_true(version_of(a) != va);
    db_close(&a);
}

/* ---- db_table_mark ------------------------------------------------------------------------- */

static uint64_t mark_of(db *d)
{
    uint64_t v = 0;
    mf_error err = {0};
    assert_int_equal(db_table_mark(d, "t", &v, &err), 1);
    return v;
}

static void test_R3_table_mark(void **state)
{
    (void)state;
    db *a = open_db(), *b = open_db();
    mf_error err = {0};
    uint64_t m = mark_of(a);
    assert_true(mark_of(a) == m);
    assert_true(db_exec(a, &err, "INSERT INTO other (v) VALUES ('x')", DB_END) == 1);
    assert_true(mark_of(a) == m); /* own change of another table */
    insert(a, "own");
    uint64_t m2 = mark_of(a);
    assert_true(m2 != m);
    /* inside a transaction: a change, then a rollback to a savepoint that undoes it */
    assert_int_equal(db_group_begin(a, &err), 0);
    uint64_t m3 = mark_of(a);
    assert_true(m3 == m2);
    assert_int_equal(db_begin(a, &err), 0);
    insert(a, "in a savepoint");
    uint64_t m4 = mark_of(a);
    assert_true(m4 != m3);
    db_rollback(a);
    assert_true(mark_of(a) != m4); /* a count cached at m4 held the undone row */
    assert_int_equal(db_group_commit(a, &err), 0);
    /* another connection's commit, of any table */
    uint64_t m5 = mark_of(a);
    assert_true(db_exec(b, &err, "INSERT INTO other (v) VALUES ('y')", DB_END) == 1);
    assert_true(mark_of(a) != m5);
    db_close(&a);
    db_close(&b);
}

/* ---- writer lock ------------------------------------------------------------------------------ */

#define WRITERS 4
#define WRITES 50

static void *writer(void *arg)
{
    (void)arg;
    db *d = NULL;
    mf_error err = {0};
    if (db_open(dburl, &d, &err) < 0) return (void *)1;
    intptr_t failed = 0;
    for (int i = 0; i < WRITES; i++) {
        if (db_begin(d, &err) < 0) {
            failed++;
            continue;
        }
        /* read-then-write inside the transaction, the shape of every request */
        db_stmt *st = db_prepare(d, "SELECT COUNT(*) FROM t", &err);
        if (!st || db_step(st) != DB_ROW) failed++;
        db_finalize(&st);
        if (db_exec(d, &err, "INSERT INTO t (v) VALUES ('thread')", DB_END) != 1) failed++;
        if (db_commit(d, &err) < 0) failed++;
    }
    db_close(&d);
    return (void *)failed;
}

static void test_DESIGN_writers_of_one_process_queue(void **state)
{
    (void)state;
    db *d = open_db();
    mf_error err = {0};
    db_stmt *st = db_prepare(d, "SELECT COUNT(*) FROM t", &err);
    assert_int_equal(db_step(st), DB_ROW);
    int64_t before = db_col_int64(st, 0);
    db_finalize(&st);
    pthread_t th[WRITERS];
    for (int i = 0; i < WRITERS; i++) assert_int_equal(pthread_create(&th[i], NULL, writer, NULL), 0);
    for (int i = 0; i < WRITERS; i++) {
        void *failed = NULL;
        pthread_join(th[i], &failed);
        assert_true(failed == NULL);
    }
    st = db_prepare(d, "SELECT COUNT(*) FROM t", &err);
    assert_int_equal(db_step(st), DB_ROW);
    assert_int_equal(db_col_int64(st, 0), before + WRITERS * WRITES);
    db_finalize(&st);
    db_close(&d);
}

/* ---- resp_cache --------------------------------------------------------------------------------- */

static resp_body *body_of(const char *s)
{
    return resp_body_new(xstrdup(s), strlen(s));
}

static void test_DESIGN_cache_hit_same_key_and_version_only(void **state)
{
    (void)state;
    mf_clock_fix(1795000000 - 1795000000 % 900 + 10); /* 10 s into a quarter hour */
    resp_body *b = body_of("{\"items\":[]}");
    resp_cache_put("k1", 7, b);
    resp_body *got = resp_cache_get("k1", 7);
    assert_ptr_equal(got, b);
    assert_int_equal(got->refs, 3); /* ours, the cache's, the one just given */
    resp_body_unref(got);
    assert_null(resp_cache_get("k2", 7));  /* another caller or query */
    assert_null(resp_cache_get("k1", 8));  /* the database changed */
    assert_null(resp_cache_get("k1", 7));  /* ...and the stale entry is gone for good */
    assert_int_equal(b->refs, 1);
    resp_body_unref(b);
    mf_clock_fix(0);
}

static void test_R15_cache_entries_end_at_the_quarter_hour(void **state)
{
    (void)state;
    time_t q = 1795000000 - 1795000000 % 900;
    mf_clock_fix(q + 1);
    resp_body *b = body_of("{\"sent_today\":3}");
    resp_cache_put("day", 1, b);
    mf_clock_fix(q + 899);
    resp_body *got = resp_cache_get("day", 1);
    assert_ptr_equal(got, b);
    resp_body_unref(got);
    mf_clock_fix(q + 900); /* a local midnight may be here (UTC+5:45, +12:45, ...) */
    assert_null(resp_cache_get("day", 1));
    resp_body_unref(b);
    mf_clock_fix(0);
}

static void test_DESIGN_cache_memory_is_bounded(void **state)
{
    (void)state;
    size_t big = (1u << 20) + 1; /* over the largest body kept */
    char *text = xmalloc(big);
    memset(text, 'x', big);
    resp_body *b = resp_body_new(text, big);
    resp_cache_put("big", 1, b);
    assert_null(resp_cache_get("big", 1));
    assert_int_equal(b->refs, 1);
    resp_body_unref(b);
    /* 40 entries of 512 KiB: at most the budget (8 MiB) stays, the newest among them */
    resp_body *kept[40];
    for (int i = 0; i < 40; i++) {
        char key[16];
        snprintf(key, sizeof(key), "k%d", i);
        char *t = xmalloc(512 * 1024);
        memset(t, 'a' + i % 26, 512 * 1024);
        kept[i] = resp_body_new(t, 512 * 1024);
        resp_cache_put(key, 1, kept[i]);
    }
    int held = 0;
    for (int i = 0; i < 40; i++) held += kept[i]->refs - 1;
    assert_true(held <= 16);
    resp_body *last = resp_cache_get("k39", 1);
    assert_ptr_equal(last, kept[39]);
    resp_body_unref(last);
    assert_null(resp_cache_get("k0", 1));
    for (int i = 0; i < 40; i++) resp_body_unref(kept[i]);
}

static void test_DESIGN_etag_of_the_bytes(void **state)
{
    (void)state;
    resp_body *a = body_of("{\"items\":[{\"sender_name\":\"Ann\"}]}");
    resp_body *a2 = body_of("{\"items\":[{\"sender_name\":\"Ann\"}]}");
    resp_body *b = body_of("{\"items\":[{\"sender_name\":\"Anne\"}]}");
    resp_body *c = body_of("{\"items\":[{\"sender_name\":\"Amn\"}]}");
    assert_int_equal(strlen(a->etag), 34);
    assert_true(a->etag[0] == '"' && a->etag[33] == '"');
    assert_string_equal(a->etag, a2->etag);
    assert_string_not_equal(a->etag, b->etag);
    assert_string_not_equal(a->etag, c->etag);
    resp_body_unref(a);
    resp_body_unref(a2);
    resp_body_unref(b);
    resp_body_unref(c);
}

static void test_DESIGN_if_none_match(void **state)
{
    (void)state;
    const char *e = "\"0123456789abcdef0123456789abcdef\"";
    assert_true(resp_etag_matches(e, e));
    assert_true(resp_etag_matches("W/\"0123456789abcdef0123456789abcdef\"", e));
    assert_true(resp_etag_matches("\"x\", \"0123456789abcdef0123456789abcdef\"", e));
    assert_true(resp_etag_matches("*", e));
    assert_false(resp_etag_matches(NULL, e));
    assert_false(resp_etag_matches("", e));
    assert_false(resp_etag_matches("\"0123456789abcdef0123456789abcdee\"", e));
    assert_false(resp_etag_matches("0123456789abcdef0123456789abcdef", e)); /* unquoted */
    assert_false(resp_etag_matches("\"0123456789abcdef0123456789abcdef\"x", e));
}

/* ---- json_out ------------------------------------------------------------------------------ */

static void test_DESIGN_json_writer_strings(void **state)
{
    (void)state;
    strbuf sb;
    strbuf_init(&sb, 1 << 16);
    jw_string(&sb, "mbx_01a215dafab17290810a45");
    jw_string(&sb, "");
    jw_string(&sb, NULL);
    jw_string(&sb, "a\"b\\c\n\x01/");
    jw_string(&sb, "Zo\xc3\xab \xff end"); /* valid UTF-8 kept, an invalid byte replaced */
    assert_string_equal(sb.buf, "\"mbx_01a215dafab17290810a45\"\"\"\"\""
                                "\"a\\\"b\\\\c\\n\\u0001/\""
                                "\"Zo\xc3\xab \xef\xbf\xbd end\"");
    strbuf_release(&sb);
}

static void test_DESIGN_json_writer_keys_and_numbers(void **state)
{
    (void)state;
    strbuf sb;
    strbuf_init(&sb, 1 << 16);
    int f = 1;
    strbuf_add(&sb, "{", 1);
    jw_kv_int(&sb, &f, "zero", 0);
    jw_kv_int(&sb, &f, "neg", -1);
    jw_kv_int(&sb, &f, "min", INT64_MIN);
    jw_kv_int(&sb, &f, "max", INT64_MAX);
    jw_kv_bool(&sb, &f, "b", 1);
    jw_kv_str_or_null(&sb, &f, "n", "");
    jw_kv_str(&sb, &f, "odd \"key\"", "v");
    strbuf_add(&sb, "}", 1);
    assert_string_equal(sb.buf, "{\"zero\":0,\"neg\":-1,\"min\":-9223372036854775808,"
                                "\"max\":9223372036854775807,\"b\":true,\"n\":null,"
                                "\"odd \\\"key\\\"\":\"v\"}");
    strbuf_release(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_DESIGN_version_stays_without_commits),
        cmocka_unit_test(test_DESIGN_version_moves_on_own_commit),
        cmocka_unit_test(test_DESIGN_version_moves_on_other_connection_commit),
        cmocka_unit_test(test_DESIGN_version_moves_on_other_process_commit),
        cmocka_unit_test(test_R3_table_mark),
        cmocka_unit_test(test_DESIGN_writers_of_one_process_queue),
        cmocka_unit_test(test_DESIGN_cache_hit_same_key_and_version_only),
        cmocka_unit_test(test_R15_cache_entries_end_at_the_quarter_hour),
        cmocka_unit_test(test_DESIGN_cache_memory_is_bounded),
        cmocka_unit_test(test_DESIGN_etag_of_the_bytes),
        cmocka_unit_test(test_DESIGN_if_none_match),
        cmocka_unit_test(test_DESIGN_json_writer_strings),
        cmocka_unit_test(test_DESIGN_json_writer_keys_and_numbers),
    };
    return cmocka_run_group_tests_name("resp_cache", tests, group_setup, group_teardown);
}
