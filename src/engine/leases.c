/* leases.c (engine) — the lease keeper: this worker's id, its heartbeat and the set of mailboxes
 * it holds; see leases.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <event2/event.h>
#include <sodium.h>
#include "engine/leases.h"
#include "store/leases.h"
#include "util/log.h"

typedef struct id_set {
    char (*ids)[MF_ID_LEN];
    size_t n, cap;
} id_set;

typedef struct takeover {
    char mailbox_id[MF_ID_LEN];
    char prev[MF_WORKER_ID_LEN];
    int unknown; /* messages the previous worker left "sending", now "unknown" */
} takeover;

struct lease_keeper {
    engine *e;
    mf_engine_worker w;
    struct event *timer;
    id_set held;        /* sorted (strcmp) */
    time_t valid_until; /* the held set's leases expire then unless renewed */
    takeover *takes;    /* of the heartbeat in progress, logged after its commit */
    size_t ntakes, captakes;
};

static void set_add(const char *id, void *arg)
{
    id_set *s = arg;
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->ids = xrealloc(s->ids, s->cap * sizeof(*s->ids));
    }
    snprintf(s->ids[s->n++], MF_ID_LEN, "%s", id);
}

static int id_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

static bool set_has(const id_set *s, const char *id)
{
    return s->n && bsearch(id, s->ids, s->n, sizeof(*s->ids), id_cmp) != NULL;
}

static bool set_equal(const id_set *a, const id_set *b)
{
    if (a->n != b->n) return false;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->ids[i], b->ids[i]) != 0) return false;
    return true;
}

static void on_taken(const char *mailbox_id, const char *prev, int unknown, void *arg)
{
    lease_keeper *lk = arg;
    if (lk->ntakes == lk->captakes) {
        lk->captakes = lk->captakes ? 2 * lk->captakes : 16;
        lk->takes = xrealloc(lk->takes, lk->captakes * sizeof(*lk->takes));
    }
    takeover *t = &lk->takes[lk->ntakes++];
    snprintf(t->mailbox_id, sizeof(t->mailbox_id), "%s", mailbox_id);
    snprintf(t->prev, sizeof(t->prev), "%s", prev);
    t->unknown = unknown;
}

/* The new held set is in force: the engine runs exactly those mailboxes. */
static void install(lease_keeper *lk, id_set *next)
{
    if (next->n > 1) qsort(next->ids, next->n, sizeof(*next->ids), id_cmp);
    bool changed = !set_equal(&lk->held, next);
    free(lk->held.ids);
    lk->held = *next;
    memset(next, 0, sizeof(*next));
    if (changed) engine_leases_changed(lk->e);
}

static void heartbeat(lease_keeper *lk)
{
    engine *e = lk->e;
    const mf_config *cfg = &e->app->cfg;
    time_t now = mf_now();
    id_set next = {0};
    mf_error err = {0};
    int renewed = 0, swept = 0, total = 0, live = 0, took = 0, shed = 0;
    lk->ntakes = 0;
    db *d = engine_db(e);
    int rc = d ? db_begin(d, &err) : -1;
    if (rc == 0) rc = (renewed = leases_heartbeat(d, &lk->w, now, cfg->lease_seconds, &err));
    if (rc >= 0) rc = (swept = leases_sweep_dead(d, now, &err));
    if (rc >= 0) rc = leases_counts(d, now, &total, &live, &err);
    if (rc >= 0) {
        if (live < 1) live = 1;
        int share = (total + live - 1) / live; /* fair share; one more is tolerated */
        if (renewed < share) {
            int want = share - renewed;
            if (want > cfg->lease_batch) want = cfg->lease_batch;
            rc = took =
                leases_claim(d, lk->w.id, now, cfg->lease_seconds, want, on_taken, lk, &err);
        } else if (renewed > share + 1) {
            rc = shed = leases_shed(d, lk->w.id, renewed - share, &err);
        }
    }
    if (rc >= 0) rc = leases_held(d, lk->w.id, now, set_add, &next, &err);
    if (rc >= 0) rc = db_commit(d, &err);
    if (rc < 0) {
        if (d) db_rollback(d);
        free(next.ids);
        log_errorx("leases: the heartbeat of worker %s failed (tried again in %d s): %s", lk->w.id,
                   cfg->lease_seconds / 3 > 0 ? cfg->lease_seconds / 3 : 1,
                   d ? err.message : "no database");
        if (now >= lk->valid_until && lk->held.n) { /* our leases ran out: others may run them */
            log_warnx("leases: worker %s could not renew its leases; it stops its %zu "
                      "mailbox(es)",
                      lk->w.id, lk->held.n);
            id_set none = {0};
            install(lk, &none);
        }
        return;
    }
    lk->valid_until = now + cfg->lease_seconds;
    if (swept > 0)
        log_warnx("outbox: %d message(s) were being sent by an engine worker that stopped; they "
                  "are marked unknown and will not be sent again (R26)",
                  swept);
    for (size_t i = 0; i < lk->ntakes; i++) {
        takeover *t = &lk->takes[i];
        if (t->prev[0])
            log_info("leases: worker %s took over mailbox %s from worker %s (its lease expired)",
                     lk->w.id, t->mailbox_id, t->prev);
        if (t->unknown > 0)
            log_warnx("outbox: %d message(s) of mailbox %s were being sent by worker %s, which "
                      "stopped; they are marked unknown and will not be sent again (R26)",
                      t->unknown, t->mailbox_id, t->prev[0] ? t->prev : "(none)");
    }
    if (took > 0 || shed > 0 || next.n != lk->held.n)
        log_info("leases: worker %s holds %zu of %d mailbox(es) (%d live worker(s); took %d, "
                 "gave back %d)",
                 lk->w.id, next.n, total, live, took, shed);
    install(lk, &next);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    heartbeat(arg);
}

lease_keeper *lease_keeper_start(engine *e)
{
    db *d = engine_db(e);
    if (!d || db_kind(d) != DB_POSTGRES) return NULL;
    lease_keeper *lk = xcalloc(1, sizeof(*lk));
    lk->e = e;
    char host[64] = "";
    if (gethostname(host, sizeof(host) - 1) != 0 || !host[0]) snprintf(host, sizeof(host), "host");
    host[sizeof(host) - 1] = '\0';
    unsigned char rnd[4];
    randombytes_buf(rnd, sizeof(rnd));
    snprintf(lk->w.host, sizeof(lk->w.host), "%s", host);
    lk->w.pid = (int64_t)getpid();
    snprintf(lk->w.id, sizeof(lk->w.id), "%s:%ld:%02x%02x%02x%02x", host, (long)lk->w.pid, rnd[0],
             rnd[1], rnd[2], rnd[3]);
    int every = e->app->cfg.lease_seconds / 3;
    struct timeval tv = {.tv_sec = every > 0 ? every : 1, .tv_usec = 0};
    lk->timer = event_new(e->base, -1, EV_PERSIST, on_timer, lk);
    event_add(lk->timer, &tv);
    log_info("leases: engine worker %s (lease %d s, heartbeat every %ld s)", lk->w.id,
             e->app->cfg.lease_seconds, (long)tv.tv_sec);
    e->leases = lk; /* before the first heartbeat: the reconcile it triggers filters by it */
    heartbeat(lk);
    return lk;
}

void lease_keeper_free(lease_keeper **lkp)
{
    if (!lkp || !*lkp) return;
    lease_keeper *lk = *lkp;
    *lkp = NULL;
    event_free(lk->timer);
    db *d = engine_db(lk->e);
    mf_error err = {0};
    if (d && db_begin(d, &err) == 0) {
        if (leases_release(d, lk->w.id, &err) == 0 && db_commit(d, &err) == 0)
            log_info("leases: worker %s gave back its %zu mailbox(es)", lk->w.id, lk->held.n);
        else
            db_rollback(d);
    }
    if (err.message[0])
        log_errorx("leases: worker %s could not give back its leases (they expire in %d s): %s",
                   lk->w.id, lk->e->app->cfg.lease_seconds, err.message);
    free(lk->held.ids);
    free(lk->takes);
    free(lk);
}

bool lease_keeper_holds(const lease_keeper *lk, const char *mailbox_id)
{
    return !lk || set_has(&lk->held, mailbox_id);
}

const char *lease_keeper_worker_id(const lease_keeper *lk)
{
    return lk ? lk->w.id : NULL;
}

int lease_keeper_check(lease_keeper *lk, db *d, const char *mailbox_id, mf_error *err)
{
    if (!lk) return 1;
    if (!set_has(&lk->held, mailbox_id)) return 0;
    return leases_check(d, mailbox_id, lk->w.id, mf_now(), err);
}
