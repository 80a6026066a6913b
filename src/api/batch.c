/* batch.c — group commit of write requests on SQLite; see batch.h. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "api/batch.h"
#include "util/log.h"

#define BATCH_MAX 64 /* requests per group */

typedef struct batch_job {
    api_req *r;
    api_handler h;
    int (*fn)(api_req *r, void *arg); /* instead of h, with arg (batch_call) */
    void *arg;
    int rc;
    int done;
    pthread_cond_t cv; /* its own: the writer wakes exactly the requests of a finished group */
    struct batch_job *next;
} batch_job;

struct batcher {
    mf_app *app;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t work; /* jobs queued, or stop */
    batch_job *head, *tail;
    int stop;
};

/* Every job of the group that had succeeded fails with err: its work is not committed. */
static void fail_group(batch_job *jobs, const mf_error *err)
{
    for (batch_job *j = jobs; j; j = j->next) {
        if (j->rc < 0 && j->r->err.status) continue; /* keeps its own error */
        j->r->err = *err;
        j->rc = -1;
    }
}

/* Run one group: every job gets rc and, when it failed, r->err. */
static void run_group(batcher *b, batch_job *jobs)
{
    mf_error err = {0};
    db *d = app_db(b->app, &err);
    if (!d || db_group_begin(d, &err) < 0) {
        for (batch_job *j = jobs; j; j = j->next) j->rc = 0;
        fail_group(jobs, &err);
        return;
    }
    int n = 0;
    for (batch_job *j = jobs; j; j = j->next, n++) {
        j->r->d = d;
        j->rc = j->fn ? j->fn(j->r, j->arg) : j->h(j->r);
        if (d->in_tx) db_rollback(d); /* a handler must never leave one open */
        if (j->rc < 0 && j->r->err.status >= 500) {
            /* A database error may have ended the group's transaction inside SQLite; what the
             * next handlers wrote would then commit on its own. Give up the whole group. */
            err = j->r->err;
            db_group_rollback(d);
            for (batch_job *k = j->next; k; k = k->next) k->rc = 0;
            fail_group(jobs, &err);
            log_errorx("batch: group of %d given up: %s", n + 1, err.message);
            return;
        }
    }
    log_debug("batch: %d request%s in one commit", n, n == 1 ? "" : "s");
    if (db_group_commit(d, &err) < 0) {
        log_errorx("batch: group commit failed: %s", err.message);
        fail_group(jobs, &err); /* their answers were never made durable */
    }
}

static void *writer_main(void *arg)
{
    batcher *b = arg;
    pthread_mutex_lock(&b->mu);
    for (;;) {
        while (!b->head && !b->stop) pthread_cond_wait(&b->work, &b->mu);
        if (!b->head) break; /* stop, nothing left */
        batch_job *jobs = b->head, *last = jobs;
        for (int n = 1; n < BATCH_MAX && last->next; n++) last = last->next;
        b->head = last->next;
        if (!b->head) b->tail = NULL;
        last->next = NULL;
        pthread_mutex_unlock(&b->mu);
        run_group(b, jobs);
        pthread_mutex_lock(&b->mu);
        for (batch_job *j = jobs, *next; j; j = next) {
            next = j->next; /* j belongs to its request once done */
            j->done = 1;
            pthread_cond_signal(&j->cv);
        }
    }
    pthread_mutex_unlock(&b->mu);
    app_db_release();
    return NULL;
}

batcher *batch_start(mf_app *app)
{
    const char *url = app->cfg.db;
    if (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0)
        return NULL;
    batcher *b = xcalloc(1, sizeof(*b));
    b->app = app;
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->work, NULL);
    if (pthread_create(&b->thread, NULL, writer_main, b) != 0) {
        log_warnx("batch: cannot start the writer thread; write requests run on their own");
        free(b);
        return NULL;
    }
    return b;
}

static int run_job(batcher *b, batch_job *j);

int batch_run(batcher *b, api_req *r, api_handler h)
{
    batch_job j = {.r = r, .h = h};
    return run_job(b, &j);
}

int batch_call(batcher *b, api_req *r, int (*fn)(api_req *r, void *arg), void *arg)
{
    batch_job j = {.r = r, .fn = fn, .arg = arg};
    return run_job(b, &j);
}

static int run_job(batcher *b, batch_job *j)
{
    api_req *r = j->r;
    db *own = r->d;
    pthread_cond_init(&j->cv, NULL);
    pthread_mutex_lock(&b->mu);
    if (b->tail) b->tail->next = j;
    else b->head = j;
    b->tail = j;
    pthread_cond_signal(&b->work);
    while (!j->done) pthread_cond_wait(&j->cv, &b->mu);
    pthread_mutex_unlock(&b->mu);
    pthread_cond_destroy(&j->cv);
    r->d = own; /* the writer's connection is the writer thread's again */
    return j->rc;
}

void batch_stop(batcher **bp)
{
    batcher *b = bp ? *bp : NULL;
    if (!b) return;
    pthread_mutex_lock(&b->mu);
    b->stop = 1;
    pthread_cond_signal(&b->work);
    pthread_mutex_unlock(&b->mu);
    pthread_join(b->thread, NULL);
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->work);
    free(b);
    *bp = NULL;
}
