/* work_pool.h — CPU work off the engine's loop thread (bench/sync: parsing messages with GMime
 * was most of an import's CPU, all on the one loop thread). A job's work() runs on one of the
 * pool's threads; its done() then runs on the loop thread, so the caller keeps every other
 * piece of state (sessions, the database connection) on the loop thread as before. Jobs are
 * started in the order they are submitted; with more than one thread they may finish in any
 * order. work() must touch only the job's own memory. */
#ifndef MF_WORK_POOL_H
#define MF_WORK_POOL_H
#include <stdbool.h>

struct event_base;
typedef struct work_pool work_pool;

typedef struct work_job {
    struct work_job *next; /* the pool's */
    void (*work)(struct work_job *j);   /* on a pool thread */
    void (*done)(struct work_job *j);   /* on the loop thread, once, after work() */
    bool skipped; /* done() without work(): the pool is being freed */
} work_job;

/* threads = 0: work() runs on the loop thread too (still deferred, never inside submit). */
work_pool *work_pool_new(struct event_base *base, int threads);
void work_pool_submit(work_pool *p, work_job *j);
/* Stops the threads; done() runs (on the caller's thread, which must be the loop thread) for
 * every job not yet delivered, with skipped set for those whose work() never ran. */
void work_pool_free(work_pool **p);
#endif
