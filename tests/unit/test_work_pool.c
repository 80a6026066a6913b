/* test_work_pool.c — the engine's work pool (src/engine/work_pool.c): work() runs off the loop
 * thread, done() on it, once per job, in submission order with one thread; freeing the pool
 * hands back every job (skipped when its work never ran). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <pthread.h>
#include <stdlib.h>
#include <cmocka.h>
#include <event2/event.h>
#include <event2/thread.h>
#include "engine/work_pool.h"
#include "util/error.h"

typedef struct job {
    work_job j; /* first */
    int n;
    long result;
    pthread_t worked_on;
    struct ctx *ctx;
} job;

typedef struct ctx {
    struct event_base *base;
    pthread_t loop;
    int done, skipped, expect;
    int order[64];
    bool wrong_thread;
} ctx;

static void work(work_job *wj)
{
    job *j = (job *)wj;
    j->worked_on = pthread_self();
    long r = 0;
    for (int i = 1; i <= j->n * 1000; i++) r += i % 7;
    j->result = r;
}

static void done(work_job *wj)
{
    job *j = (job *)wj;
    ctx *c = j->ctx;
    if (!pthread_equal(pthread_self(), c->loop)) c->wrong_thread = true;
    if (j->j.skipped) c->skipped++;
    else if (c->done < 64) c->order[c->done] = j->n;
    if (!j->j.skipped) c->done++;
    if (c->done + c->skipped == c->expect) event_base_loopbreak(c->base);
}

static void keep_alive(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

static long expected(int n)
{
    long r = 0;
    for (int i = 1; i <= n * 1000; i++) r += i % 7;
    return r;
}

static void run_jobs(int threads, int njobs)
{
    ctx c = {.base = event_base_new(), .loop = pthread_self(), .expect = njobs};
    work_pool *p = work_pool_new(c.base, threads);
    job *jobs = calloc((size_t)njobs, sizeof(*jobs));
    for (int i = 0; i < njobs; i++) {
        jobs[i] = (job){.j = {.work = work, .done = done}, .n = i, .ctx = &c};
        work_pool_submit(p, &jobs[i].j);
    }
    assert_int_equal(c.done, 0); /* never inside submit */
    /* the engine's loop always has events (its tick); so does this one, until the last done */
    struct event *keep = event_new(c.base, -1, EV_PERSIST, keep_alive, NULL);
    struct timeval tv = {.tv_sec = 60, .tv_usec = 0};
    event_add(keep, &tv);
    event_base_dispatch(c.base);
    event_free(keep);
    assert_int_equal(c.done, njobs);
    assert_int_equal(c.skipped, 0);
    assert_false(c.wrong_thread);
    for (int i = 0; i < njobs; i++) {
        assert_int_equal(jobs[i].result, expected(i));
        /* with threads, work ran off the loop thread; without, on it */
        assert_int_equal(pthread_equal(jobs[i].worked_on, c.loop) != 0, threads == 0);
    }
    if (threads <= 1) /* one thread (or none): FIFO */
        for (int i = 0; i < njobs && i < 64; i++) assert_int_equal(c.order[i], i);
    work_pool_free(&p);
    assert_null(p);
    free(jobs);
    event_base_free(c.base);
}

static void test_one_thread_runs_in_order(void **state)
{
    (void)state;
    run_jobs(1, 50);
}

static void test_two_threads_run_everything_once(void **state)
{
    (void)state;
    run_jobs(2, 64);
}

static void test_no_thread_runs_on_the_loop_later(void **state)
{
    (void)state;
    run_jobs(0, 10);
}

/* Freed with jobs queued and never dispatched: each job comes back once, on the freeing
 * thread; those whose work never ran say so. */
static void test_free_hands_back_every_job(void **state)
{
    (void)state;
    ctx c = {.base = event_base_new(), .loop = pthread_self(), .expect = -1};
    work_pool *p = work_pool_new(c.base, 1);
    job jobs[20];
    for (int i = 0; i < 20; i++) {
        jobs[i] = (job){.j = {.work = work, .done = done}, .n = 50, .ctx = &c};
        work_pool_submit(p, &jobs[i].j);
    }
    work_pool_free(&p);
    assert_int_equal(c.done + c.skipped, 20);
    assert_true(c.skipped > 0); /* 20 slow jobs: the thread cannot have run them all */
    assert_false(c.wrong_thread);
    event_base_free(c.base);
}

int main(void)
{
    evthread_use_pthreads();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_thread_runs_in_order),
        cmocka_unit_test(test_two_threads_run_everything_once),
        cmocka_unit_test(test_no_thread_runs_on_the_loop_later),
        cmocka_unit_test(test_free_hands_back_every_job),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
