/* work_pool.c — worker threads with a FIFO of jobs and a list of finished ones handed back to
 * the loop thread through one libevent event (libevent runs with pthread locking on: the
 * engine calls evthread_use_pthreads()); see work_pool.h. */
#include <pthread.h>
#include <stdlib.h>
#include <event2/event.h>
#include "engine/work_pool.h"
#include "util/error.h"

struct work_pool {
    struct event *done_ev;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    work_job *queue, **queue_tail; /* to do, FIFO */
    work_job *finished, **finished_tail; /* done, waiting for the loop thread, FIFO */
    bool stopping;
    int nthreads;
    pthread_t *threads;
};

static void push(work_job ***tail, work_job *j)
{
    j->next = NULL;
    **tail = j;
    *tail = &j->next;
}

static work_job *take_all(work_job **head, work_job ***tail)
{
    work_job *l = *head;
    *head = NULL;
    *tail = head;
    return l;
}

static void deliver(work_job *l)
{
    while (l) {
        work_job *next = l->next;
        l->next = NULL;
        l->done(l);
        l = next;
    }
}

/* Loop thread: hand every finished job to its owner. */
static void on_done(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    work_pool *p = arg;
    pthread_mutex_lock(&p->lock);
    work_job *l = take_all(&p->finished, &p->finished_tail);
    work_job *inline_jobs = p->nthreads == 0 ? take_all(&p->queue, &p->queue_tail) : NULL;
    pthread_mutex_unlock(&p->lock);
    for (work_job *j = inline_jobs; j; j = j->next) j->work(j); /* threads = 0 */
    deliver(l);
    deliver(inline_jobs);
}

static void *worker_main(void *arg)
{
    work_pool *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->queue && !p->stopping) pthread_cond_wait(&p->cond, &p->lock);
        if (p->stopping) break;
        work_job *j = p->queue;
        p->queue = j->next;
        if (!p->queue) p->queue_tail = &p->queue;
        pthread_mutex_unlock(&p->lock);
        j->work(j);
        pthread_mutex_lock(&p->lock);
        bool was_empty = p->finished == NULL;
        push(&p->finished_tail, j);
        if (was_empty) event_active(p->done_ev, 0, 0);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

work_pool *work_pool_new(struct event_base *base, int threads)
{
    work_pool *p = xcalloc(1, sizeof(*p));
    p->done_ev = event_new(base, -1, 0, on_done, p);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    p->queue_tail = &p->queue;
    p->finished_tail = &p->finished;
    p->threads = xcalloc(threads > 0 ? (size_t)threads : 1, sizeof(*p->threads));
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&p->threads[p->nthreads], NULL, worker_main, p) != 0) break;
        p->nthreads++;
    }
    return p;
}

void work_pool_submit(work_pool *p, work_job *j)
{
    j->skipped = false;
    pthread_mutex_lock(&p->lock);
    push(&p->queue_tail, j);
    if (p->nthreads > 0) pthread_cond_signal(&p->cond);
    else event_active(p->done_ev, 0, 0);
    pthread_mutex_unlock(&p->lock);
}

void work_pool_free(work_pool **pp)
{
    if (!pp || !*pp) return;
    work_pool *p = *pp;
    *pp = NULL;
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->nthreads; i++) pthread_join(p->threads[i], NULL);
    work_job *fin = take_all(&p->finished, &p->finished_tail);
    work_job *todo = take_all(&p->queue, &p->queue_tail);
    deliver(fin);
    for (work_job *j = todo; j; j = j->next) j->skipped = true;
    deliver(todo);
    event_free(p->done_ev);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->cond);
    free(p->threads);
    free(p);
}
