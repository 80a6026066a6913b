/* test_leases.c — the mailbox leases of engine workers (store/leases.h, DESIGN.md scale-out) on
 * both backends: SQLite always, PostgreSQL when MAILFLEET_TEST_PG_URL is set (each test in a
 * schema of its own, dropped at the end). Claim, renew, expire and take over, the fair-share
 * helpers, release on a clean stop, and R26: messages a dead worker left "sending" become
 * "unknown" (on takeover and by the sweep), never queued again. On PostgreSQL also: two
 * connections claiming at once never get the same mailbox (FOR UPDATE SKIP LOCKED). */
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
#include "store/leases.h"
#include "store/migrate.h"
#include "store/outbox.h"
#include "util/log.h"
#include "db_fixture.h"

#define LEASE 30
static const time_t T0 = 1800000000; /* 2027-01-15 */

static int use_pg;

static void die(const char *what, const mf_error *err)
{
    fail_msg("%s: %s", what, err->message);
}

static int setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    mf_error err = {0};
    if (fixture_open(f, use_pg, "mf_leases") < 0) fail_msg("cannot open the test database");
    if (migrate_up(f->d, NULL, &err) < 0) die("migrate", &err);
    const char *now = "2027-01-15T00:00:00Z";
    if (db_exec(f->d, &err, "INSERT INTO orgs (id, name, created_at) VALUES ('org1', 'Org', ?)",
                now, DB_END) != 1 ||
        db_exec(f->d, &err,
                "INSERT INTO users (id, org_id, email, email_norm, name, role, created_at) "
                "VALUES ('u1', 'org1', 'a@x.test', 'a@x.test', 'A', 'user', ?)",
                now, DB_END) != 1)
        die("insert org/user", &err);
    for (int i = 1; i <= 6; i++) {
        char id[16], addr[32];
        snprintf(id, sizeof(id), "mb%d", i);
        snprintf(addr, sizeof(addr), "box%d@x.test", i);
        if (db_exec(f->d, &err,
                    "INSERT INTO mailboxes (id, org_id, owner_id, address, address_norm, "
                    "status_since, created_at) VALUES (?, 'org1', 'u1', ?, ?, ?, ?)",
                    id, addr, addr, now, now, DB_END) != 1)
            die("insert mailbox", &err);
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (!f) return 0;
    fixture_close(f);
    free(f);
    return 0;
}

/* ---- helpers ----------------------------------------------------------------------------- */

static mf_engine_worker worker(const char *id)
{
    mf_engine_worker w;
    memset(&w, 0, sizeof(w));
    snprintf(w.id, sizeof(w.id), "%s", id);
    snprintf(w.host, sizeof(w.host), "testhost");
    w.pid = 42;
    return w;
}

typedef struct takes {
    char ids[16][MF_ID_LEN];
    char prev[16][MF_WORKER_ID_LEN];
    int unknown[16];
    int n;
} takes;

static void on_taken(const char *id, const char *prev, int unknown, void *arg)
{
    takes *t = arg;
    snprintf(t->ids[t->n], MF_ID_LEN, "%s", id);
    snprintf(t->prev[t->n], MF_WORKER_ID_LEN, "%s", prev);
    t->unknown[t->n] = unknown;
    t->n++;
}

/* One heartbeat of worker w at time now, as the engine does it (one transaction): renew,
 * sweep, count, then claim up to `want` (taken into *t). Returns how many were claimed. */
static int beat(db *d, const char *id, time_t now, int want, takes *t)
{
    mf_error err = {0};
    mf_engine_worker w = worker(id);
    int total = 0, live = 0;
    if (db_begin(d, &err) < 0) die("begin", &err);
    if (leases_heartbeat(d, &w, now, LEASE, &err) < 0) die("heartbeat", &err);
    if (leases_sweep_dead(d, now, &err) < 0) die("sweep", &err);
    if (leases_counts(d, now, &total, &live, &err) < 0) die("counts", &err);
    int n = leases_claim(d, id, now, LEASE, want, on_taken, t, &err);
    if (n < 0) die("claim", &err);
    if (db_commit(d, &err) < 0) die("commit", &err);
    return n;
}

static int held(db *d, const char *id, time_t now)
{
    mf_error err = {0};
    int n = leases_held(d, id, now, NULL, NULL, &err);
    if (n < 0) die("held", &err);
    return n;
}

static void add_outbox(db *d, const char *id, const char *mailbox_id)
{
    mf_error err = {0};
    int64_t n = db_exec(d, &err,
                        "INSERT INTO outbox (id, org_id, mailbox_id, kind, status, mail_from, "
                        "rcpts, raw, message_id, next_attempt_at, created_at, updated_at) VALUES "
                        "(?, 'org1', ?, ?, 'queued', 'a@x.test', '[\"b@y.test\"]', 'raw', ?, "
                        "'2027-01-01T00:00:00Z', '2027-01-01T00:00:00Z', '2027-01-01T00:00:00Z')",
                        id, mailbox_id, mailbox_id ? "one_off" : "system", id, DB_END);
    if (n != 1) die("insert outbox", &err);
}

static void claim_as(db *d, const char *out_id, const char *worker_id)
{
    mf_error err = {0};
    assert_int_equal(outbox_claim_by(d, out_id, worker_id, &err), 1);
}

static char *status_of(db *d, const char *out_id)
{
    mf_error err = {0};
    db_stmt *st = db_prepare(d, "SELECT status FROM outbox WHERE id = ?", &err);
    if (!st) die("prepare", &err);
    db_bind_text(st, 1, out_id);
    assert_int_equal(db_step(st), DB_ROW);
    char *s = xstrdup(db_col_text(st, 0));
    db_finalize(&st);
    return s;
}

static void assert_status(db *d, const char *out_id, const char *want)
{
    char *s = status_of(d, out_id);
    if (strcmp(s, want) != 0) fail_msg("outbox %s: status %s, expected %s", out_id, s, want);
    free(s);
}

/* ---- tests ------------------------------------------------------------------------------- */

static void test_first_worker_claims_free_leases_second_gets_only_the_rest(void **state)
{
    db *d = ((struct fixture *)*state)->d;
    takes t = {0};
    assert_int_equal(beat(d, "A", T0, 4, &t), 4);
    assert_int_equal(t.n, 4);
    assert_string_equal(t.ids[0], "mb1");
    assert_string_equal(t.prev[0], ""); /* they were free */
    assert_int_equal(held(d, "A", T0), 4);
    memset(&t, 0, sizeof(t));
    assert_int_equal(beat(d, "B", T0 + 1, 6, &t), 2); /* only mb5, mb6 are free */
    assert_string_equal(t.ids[0], "mb5");
    assert_string_equal(t.ids[1], "mb6");
    assert_int_equal(held(d, "A", T0 + 1), 4);
    assert_int_equal(held(d, "B", T0 + 1), 2);
    mf_error err = {0};
    int total = 0, live = 0;
    assert_int_equal(leases_counts(d, T0 + 1, &total, &live, &err), 0);
    assert_int_equal(total, 6);
    assert_int_equal(live, 2);
}

static void test_renewed_leases_stay_expired_ones_are_taken_over(void **state)
{
    db *d = ((struct fixture *)*state)->d;
    takes t = {0};
    assert_int_equal(beat(d, "A", T0, 3, &t), 3);
    assert_int_equal(beat(d, "B", T0, 3, &t), 3);
    /* A keeps beating; B stops (killed) */
    assert_int_equal(beat(d, "A", T0 + 20, 0, &t), 0);
    memset(&t, 0, sizeof(t));
    assert_int_equal(beat(d, "A", T0 + LEASE - 1, 6, &t), 0); /* B's not expired yet */
    assert_int_equal(held(d, "B", T0 + LEASE - 1), 3);
    assert_int_equal(beat(d, "A", T0 + LEASE, 6, &t), 3); /* expired at T0 + LEASE: taken */
    assert_int_equal(t.n, 3);
    for (int i = 0; i < 3; i++)
        assert_string_equal(t.prev[i], "B");
    assert_int_equal(held(d, "A", T0 + LEASE), 6);
    assert_int_equal(held(d, "B", T0 + LEASE), 0);
    /* B's row is gone from the live workers (swept) */
    mf_error err = {0};
    int total = 0, live = 0;
    assert_int_equal(leases_counts(d, T0 + LEASE, &total, &live, &err), 0);
    assert_int_equal(live, 1);
    /* B comes back: its old leases are A's now, its renew renews nothing */
    mf_engine_worker b = worker("B");
    assert_int_equal(leases_heartbeat(d, &b, T0 + LEASE + 1, LEASE, &err), 0);
}

static void test_R26_takeover_makes_the_dead_workers_sending_unknown_not_the_live_ones(void **state)
{
    db *d = ((struct fixture *)*state)->d;
    takes t = {0};
    assert_int_equal(beat(d, "A", T0, 3, &t), 3); /* mb1..mb3 */
    assert_int_equal(beat(d, "B", T0, 3, &t), 3); /* mb4..mb6 */
    add_outbox(d, "out1", "mb1");                 /* A was sending it when it died */
    add_outbox(d, "out2", "mb1");                 /* still queued */
    add_outbox(d, "out3", "mb4");                 /* B (alive) is sending it */
    add_outbox(d, "sys1", NULL);                  /* system mail A was sending */
    claim_as(d, "out1", "A");
    claim_as(d, "out3", "B");
    claim_as(d, "sys1", "A");
    /* A dies: B beats on; at A's expiry B takes mb1..mb3 */
    assert_int_equal(beat(d, "B", T0 + 15, 0, &t), 0);
    assert_status(d, "out1", "sending"); /* A is not dead yet */
    memset(&t, 0, sizeof(t));
    assert_int_equal(beat(d, "B", T0 + LEASE + 1, 6, &t), 3);
    assert_string_equal(t.ids[0], "mb1");
    assert_string_equal(t.prev[0], "A");
    assert_status(d, "out1", "unknown"); /* never sent again (R26) */
    assert_status(d, "out2", "queued");  /* B sends it */
    assert_status(d, "out3", "sending"); /* B's own, in flight */
    assert_status(d, "sys1", "unknown"); /* the sweep: system mail of the dead worker */
    /* unknown is final: another claim finds nothing */
    mf_error err = {0};
    assert_int_equal(outbox_claim_by(d, "out1", "B", &err), 0);
    /* finishing what the dead worker sent changes nothing either */
    assert_int_equal(outbox_finish(d, "out1", "sent", NULL, "[]", 0, &err), 0);
    assert_status(d, "out1", "unknown");
}

static void test_check_is_true_only_for_the_holder_before_expiry(void **state)
{
    db *d = ((struct fixture *)*state)->d;
    takes t = {0};
    assert_int_equal(beat(d, "A", T0, 1, &t), 1); /* mb1 */
    mf_error err = {0};
    if (db_begin(d, &err) < 0) die("begin", &err);
    assert_int_equal(leases_check(d, "mb1", "A", T0 + 1, &err), 1);
    assert_int_equal(leases_check(d, "mb1", "B", T0 + 1, &err), 0);
    assert_int_equal(leases_check(d, "mb2", "A", T0 + 1, &err), 0);     /* free, not A's */
    assert_int_equal(leases_check(d, "mb1", "A", T0 + LEASE, &err), 0); /* expired */
    if (db_commit(d, &err) < 0) die("commit", &err);
}

static void test_shed_and_release_free_leases_for_others(void **state)
{
    db *d = ((struct fixture *)*state)->d;
    takes t = {0};
    assert_int_equal(beat(d, "A", T0, 6, &t), 6);
    mf_error err = {0};
    assert_int_equal(leases_shed(d, "A", 2, &err), 2); /* the highest ids: mb5, mb6 */
    assert_int_equal(held(d, "A", T0), 4);
    memset(&t, 0, sizeof(t));
    assert_int_equal(beat(d, "B", T0 + 1, 6, &t), 2); /* at once, no expiry to wait for */
    assert_string_equal(t.ids[0], "mb5");
    assert_string_equal(t.prev[0], "");
    add_outbox(d, "out1", "mb2");
    claim_as(d, "out1", "A");
    assert_int_equal(leases_release(d, "A", &err), 0); /* clean stop */
    assert_int_equal(held(d, "A", T0 + 2), 0);
    memset(&t, 0, sizeof(t));
    assert_int_equal(beat(d, "B", T0 + 2, 6, &t), 4); /* A's four, before their expiry */
    assert_status(d, "out1", "unknown");              /* A stopped while sending it (R26) */
    int total = 0, live = 0;
    assert_int_equal(leases_counts(d, T0 + 2, &total, &live, &err), 0);
    assert_int_equal(live, 1);
}

static void test_deleted_mailbox_loses_its_lease_and_new_ones_get_one(void **state)
{
    db *d = ((struct fixture *)*state)->d;
    takes t = {0};
    assert_int_equal(beat(d, "A", T0, 6, &t), 6);
    mf_error err = {0};
    assert_int_equal(db_exec(d, &err, "DELETE FROM mailboxes WHERE id = 'mb3'", DB_END), 1);
    assert_int_equal(held(d, "A", T0), 5);
    const char *now = "2027-01-15T00:00:00Z";
    assert_int_equal(db_exec(d, &err,
                             "INSERT INTO mailboxes (id, org_id, owner_id, address, address_norm, "
                             "status_since, created_at) VALUES ('mb7', 'org1', 'u1', 'b7@x.test', "
                             "'b7@x.test', ?, ?)",
                             now, now, DB_END),
                     1);
    memset(&t, 0, sizeof(t));
    assert_int_equal(beat(d, "A", T0 + 1, 6, &t), 1);
    assert_string_equal(t.ids[0], "mb7");
    assert_int_equal(held(d, "A", T0 + 1), 6);
}

/* PostgreSQL only: while one transaction holds claimed rows, a second connection's claim
 * skips them instead of waiting or taking them too. */
static void test_pg_concurrent_claims_never_share_a_mailbox(void **state)
{
    struct fixture *f = *state;
    db *d = f->d, *d2 = NULL;
    mf_error err = {0};
    if (db_open(getenv("MAILFLEET_TEST_PG_URL"), &d2, &err) < 0) die("open second", &err);
    char *sql = xasprintf("SET search_path TO %s", f->schema);
    if (db_exec_script(d2, sql, &err) < 0) die("search_path", &err);
    free(sql);
    takes ta = {0}, tb = {0};
    mf_engine_worker a = worker("A"), b = worker("B");
    int total, live;
    if (leases_counts(d, T0, &total, &live, &err) < 0) die("counts", &err); /* rows committed */
    if (db_begin(d, &err) < 0 || leases_heartbeat(d, &a, T0, LEASE, &err) < 0) die("A", &err);
    assert_int_equal(leases_claim(d, "A", T0, LEASE, 4, on_taken, &ta, &err), 4);
    /* A has not committed: B's claim must skip A's four rows at once */
    if (db_begin(d2, &err) < 0 || leases_heartbeat(d2, &b, T0, LEASE, &err) < 0) die("B", &err);
    int nb = leases_claim(d2, "B", T0, LEASE, 6, on_taken, &tb, &err);
    if (nb != 2 || strcmp(tb.ids[0], "mb5") != 0 || strcmp(tb.ids[1], "mb6") != 0) {
        db_rollback(d2);
        db_close(&d2);
        db_rollback(d);
        fail_msg("B claimed %d (first %s), expected mb5 and mb6 (%s)", nb, tb.ids[0], err.message);
    }
    if (db_commit(d2, &err) < 0 || db_commit(d, &err) < 0) die("commit", &err);
    assert_int_equal(held(d, "A", T0), 4);
    assert_int_equal(held(d, "B", T0), 2);
    db_close(&d2);
}

int main(int argc, char **argv)
{
    log_set_level(MF_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_first_worker_claims_free_leases_second_gets_only_the_rest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_renewed_leases_stay_expired_ones_are_taken_over, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_R26_takeover_makes_the_dead_workers_sending_unknown_not_the_live_ones, setup,
            teardown),
        cmocka_unit_test_setup_teardown(test_check_is_true_only_for_the_holder_before_expiry, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_shed_and_release_free_leases_for_others, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_deleted_mailbox_loses_its_lease_and_new_ones_get_one,
                                        setup, teardown),
    };
    /* the same, and on PostgreSQL also two connections at once (SQLite has one writer at a
     * time: nothing to skip over) */
    const struct CMUnitTest pg_tests[] = {
        tests[0],
        tests[1],
        tests[2],
        tests[3],
        tests[4],
        tests[5],
        cmocka_unit_test_setup_teardown(test_pg_concurrent_claims_never_share_a_mailbox, setup,
                                        teardown),
    };
    const char *group = argc > 1 ? argv[1] : "sqlite";
    if (strcmp(group, "sqlite") == 0)
        return cmocka_run_group_tests_name("leases_sqlite", tests, NULL, NULL) ? 1 : 0;
    if (strcmp(group, "postgres") == 0) {
        const char *pg = getenv("MAILFLEET_TEST_PG_URL");
        if (!pg || !*pg) {
            printf("1..0 # SKIP set MAILFLEET_TEST_PG_URL (tests/lab/postgres.sh start)\n");
            return 0;
        }
        use_pg = 1;
        return cmocka_run_group_tests_name("leases_postgres", pg_tests, NULL, NULL) ? 1 : 0;
    }
    fprintf(stderr, "usage: test_leases [sqlite|postgres]\n");
    return 2;
}
