/* test_batch.c — the group commit of write requests (src/api/batch.h) with handlers made for
 * the test on a real SQLite file: requests queued together share one commit and each is
 * answered after it; a request that fails alone is undone alone; a database error (5xx) in one
 * handler fails the whole group, so no request is told "failed" for work that was committed,
 * or "done" for work that was not. Groups are formed by holding the writer thread in a slow
 * first request while the others queue. DESIGN: no product rule covers this. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>
#include <cmocka.h>
#include "api/batch.h"

static char tmpdir[256];
static char dburl[320];
static mf_app app;

static int group_setup(void **state)
{
    (void)state;
    const char *t = getenv("TMPDIR");
    snprintf(tmpdir, sizeof(tmpdir), "%s/mf_test_batch.XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(tmpdir)) return -1;
    snprintf(dburl, sizeof(dburl), "sqlite:%s/batch.db", tmpdir);
    db *d = NULL;
    mf_error err = {0};
    if (db_open(dburl, &d, &err) < 0) return -1;
    int rc = db_exec_script(d, "CREATE TABLE t (v TEXT NOT NULL)", &err);
    db_close(&d);
    app.cfg.db = dburl;
    return rc;
}

static int group_teardown(void **state)
{
    (void)state;
    char path[400];
    const char *suffix[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/batch.db%s", tmpdir, suffix[i]);
        unlink(path);
    }
    rmdir(tmpdir);
    return 0;
}

static int64_t count(const char *v)
{
    db *d = NULL;
    mf_error err = {0};
    assert_int_equal(db_open(dburl, &d, &err), 0);
    db_stmt *st = db_prepare(d, "SELECT COUNT(*) FROM t WHERE v = ?", &err);
    db_bind_text(st, 1, v);
    assert_int_equal(db_step(st), DB_ROW);
    int64_t n = db_col_int64(st, 0);
    db_finalize(&st);
    db_close(&d);
    return n;
}

/* Handlers: r->path carries the value to write. */
static int h_write(api_req *r)
{
    if (db_begin(r->d, &r->err) < 0) return -1;
    if (db_exec(r->d, &r->err, "INSERT INTO t (v) VALUES (?)", r->path, DB_END) < 0) {
        db_rollback(r->d);
        return -1;
    }
    if (db_commit(r->d, &r->err) < 0) return -1;
    r->status = 201;
    return 0;
}

static int h_slow_write(api_req *r)
{
    usleep(300 * 1000); /* the others queue meanwhile */
    return h_write(r);
}

static int h_refused(api_req *r) /* writes, then refuses: its own work only is undone */
{
    if (db_begin(r->d, &r->err) < 0) return -1;
    db_exec(r->d, &r->err, "INSERT INTO t (v) VALUES (?)", r->path, DB_END);
    db_rollback(r->d);
    return mf_fail(&r->err, 409, "conflict", NULL, "refused");
}

static int h_db_error(api_req *r)
{
    return mf_fail_internal(&r->err, "database error (test)");
}

typedef struct call {
    batcher *b;
    api_handler h;
    const char *value;
    int delay_ms;
    api_req r;
    int rc;
} call;

static void *caller(void *arg)
{
    call *c = arg;
    usleep((useconds_t)c->delay_ms * 1000);
    memset(&c->r, 0, sizeof(c->r));
    c->r.path = c->value;
    c->rc = batch_run(c->b, &c->r, c->h);
    return NULL;
}

/* Run the calls from one thread each, the first at once and the others 100 ms later. */
static void run_calls(call *calls, int n)
{
    pthread_t th[8];
    for (int i = 0; i < n; i++) {
        calls[i].delay_ms = i == 0 ? 0 : 100;
        assert_int_equal(pthread_create(&th[i], NULL, caller, &calls[i]), 0);
    }
    for (int i = 0; i < n; i++) pthread_join(th[i], NULL);
}

static void test_DESIGN_group_keeps_requests_apart(void **state)
{
    (void)state;
    batcher *b = batch_start(&app);
    assert_non_null(b);
    call calls[] = {
        {.b = b, .h = h_slow_write, .value = "first"},
        {.b = b, .h = h_write, .value = "kept-1"},
        {.b = b, .h = h_refused, .value = "refused"},
        {.b = b, .h = h_write, .value = "kept-2"},
    };
    run_calls(calls, 4);
    assert_int_equal(calls[0].rc, 0);
    assert_int_equal(calls[1].rc, 0);
    assert_int_equal(calls[2].rc, -1);
    assert_int_equal(calls[2].r.err.status, 409);
    assert_int_equal(calls[3].rc, 0);
    assert_int_equal(count("first"), 1);
    assert_int_equal(count("kept-1"), 1);
    assert_int_equal(count("kept-2"), 1);
    assert_int_equal(count("refused"), 0);
    batch_stop(&b);
    assert_null(b);
}

static void test_DESIGN_database_error_fails_the_whole_group(void **state)
{
    (void)state;
    batcher *b = batch_start(&app);
    call calls[] = {
        {.b = b, .h = h_slow_write, .value = "alone"},
        {.b = b, .h = h_write, .value = "lost-1"},
        {.b = b, .h = h_db_error, .value = "x"},
        {.b = b, .h = h_write, .value = "lost-2"},
    };
    run_calls(calls, 4);
    assert_int_equal(calls[0].rc, 0); /* its own group, committed */
    assert_int_equal(count("alone"), 1);
    for (int i = 1; i < 4; i++) { /* one group: nobody is told "done" */
        assert_int_equal(calls[i].rc, -1);
        assert_int_equal(calls[i].r.err.status, 500);
    }
    assert_int_equal(count("lost-1"), 0);
    assert_int_equal(count("lost-2"), 0);
    /* and the writer goes on */
    call after = {.b = b, .h = h_write, .value = "after"};
    run_calls(&after, 1);
    assert_int_equal(after.rc, 0);
    assert_int_equal(count("after"), 1);
    batch_stop(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_DESIGN_group_keeps_requests_apart),
        cmocka_unit_test(test_DESIGN_database_error_fails_the_whole_group),
    };
    return cmocka_run_group_tests_name("batch", tests, group_setup, group_teardown);
}
