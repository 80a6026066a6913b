/* engine.c — the engine's loop thread: reconciles sessions with the mailboxes in the store;
 * see engine.h. */
#include <stdlib.h>
#include <fcntl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <openssl/ssl.h>
#include "engine/assign.h"
#include "engine/engine_internal.h"
#include "engine/leases.h"
#include "engine/sender.h"
#include "engine/sequencer.h"
#include "engine/webhook_worker.h"
#include "engine/work_pool.h"
#include "mail/message_parse.h"
#include "util/log.h"

const sendday_zone *engine_zone(engine *e, const char *name)
{
    (void)e;
    return app_zone(name);
}

db *engine_db(engine *e)
{
    mf_error err;
    db *d = app_db(e->app, &err);
    if (!d) log_errorx("engine: no database: %s", err.message);
    return d;
}

static session *find_session(engine *e, const char *id, size_t *idx)
{
    for (size_t i = 0; i < e->nsessions; i++) {
        if (strcmp(session_mailbox_id(e->sessions[i]), id) == 0) {
            if (idx) *idx = i;
            return e->sessions[i];
        }
    }
    return NULL;
}

typedef struct reconcile_ctx {
    engine *e;
    char (*seen)[MF_ID_LEN];
    size_t nseen, cap;
} reconcile_ctx;

static void reconcile_one(const mf_engine_mailbox *m, void *arg)
{
    reconcile_ctx *rc = arg;
    engine *e = rc->e;
    if (!lease_keeper_holds(e->leases, m->id)) return; /* another worker runs it: not seen */
    if (rc->nseen == rc->cap) {
        rc->cap = rc->cap ? rc->cap * 2 : 64;
        rc->seen = xrealloc(rc->seen, rc->cap * sizeof(*rc->seen));
    }
    snprintf(rc->seen[rc->nseen++], MF_ID_LEN, "%s", m->id);
    size_t idx;
    session *s = find_session(e, m->id, &idx);
    if (s && session_config_version(s) == m->config_version) return;
    if (s) { /* new credentials (R12): start again */
        session_free(&e->sessions[idx]);
        e->sessions[idx] = e->sessions[--e->nsessions];
    }
    /* A failing mailbox waits for new credentials; a disconnected one is not run. */
    if (!s && (strcmp(m->status, "failing") == 0 || strcmp(m->status, "disconnected") == 0))
        return;
    if (e->nsessions == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 64;
        e->sessions = xrealloc(e->sessions, e->cap * sizeof(*e->sessions));
    }
    s = session_new(e, m);
    e->sessions[e->nsessions++] = s;
    session_start(s);
}

static void reconcile(engine *e)
{
    db *d = engine_db(e);
    if (!d) return;
    reconcile_ctx rc = {.e = e};
    mf_error err;
    if (mailboxes_for_engine(d, reconcile_one, &rc, &err) < 0) {
        log_errorx("engine: cannot read the mailboxes: %s", err.message);
        free(rc.seen);
        return;
    }
    /* Sessions of mailboxes that are gone (deleted, R9) end. */
    for (size_t i = 0; i < e->nsessions;) {
        const char *id = session_mailbox_id(e->sessions[i]);
        int keep = 0;
        for (size_t k = 0; k < rc.nseen && !keep; k++) keep = strcmp(rc.seen[k], id) == 0;
        if (keep) {
            i++;
            continue;
        }
        session_free(&e->sessions[i]);
        e->sessions[i] = e->sessions[--e->nsessions];
    }
    free(rc.seen);
}

void engine_leases_changed(engine *e)
{
    if (e->stopping) return;
    reconcile(e);
    sender_wake(e->sender);
}

/* ---- connect slots and heap trimming ----------------------------------------------------- */

#define TRIM_AFTER_SETTLED 64 /* sessions settled since the last trim: a burst worth trimming */
#define TRIM_QUIET_SECONDS 2  /* no session settled for this long: the burst is over */

bool engine_connect_slot(engine *e)
{
    if (e->connecting >= ENGINE_MAX_CONNECTING) return false;
    e->connecting++;
    return true;
}

void engine_connect_done(engine *e)
{
    if (e->connecting > 0) e->connecting--;
    event_active(e->slot_ev, 0, 0); /* deferred: never re-enters the session giving it back */
}

/* Start waiting sessions, oldest first (sessions[] keeps the order they were added in), while
 * slots are free. */
static void on_slot(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    engine *e = arg;
    for (size_t i = 0; i < e->nsessions && e->connecting < ENGINE_MAX_CONNECTING; i++)
        if (session_waits_for_slot(e->sessions[i])) session_start(e->sessions[i]);
}

void engine_note_settled(engine *e)
{
    e->settled_since_trim++;
    struct timeval tv = {.tv_sec = TRIM_QUIET_SECONDS, .tv_usec = 0};
    evtimer_add(e->trim_ev, &tv); /* re-armed by each one: fires when they stop coming */
}

/* The connects' transient memory (TLS handshake buffers above all) leaves free holes between
 * the sessions' long-lived objects; glibc keeps them. Measured in bench/sync: ~10 KB per idle
 * TLS session given back. */
static void on_trim(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    engine *e = arg;
    if (e->settled_since_trim < TRIM_AFTER_SETTLED || e->connecting > 0) return;
    e->settled_since_trim = 0;
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    engine *e = arg;
    if (e->stopping) return;
    reconcile(e);
    sender_wake(e->sender);
}

static void on_api_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    engine *e = arg;
    if (e->stopping) return;
    reconcile(e);
    sequencer_wake(e->sequencer);
    sender_wake(e->sender);
}

/* Everything that runs on the loop ends; safe to call twice. */
static void shut_down(engine *e)
{
    e->stopping = true;
    event_del(e->tick_ev); /* no reconcile may start sessions again */
    sequencer_free(&e->sequencer);
    assign_alerts_free(&e->assign_alerts);
    sender_free(&e->sender);
    for (size_t i = 0; i < e->nsessions; i++) session_free(&e->sessions[i]);
    e->nsessions = 0;
    work_pool_free(&e->parse_pool);
    work_pool_free(&e->store_pool); /* after the sessions: their batches are only freed */
    lease_keeper_free(&e->leases); /* nothing of ours runs any more: others may take over */
}

static void on_outbox_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    engine *e = arg;
    sender_wake(e->sender);
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    engine *e = arg;
    shut_down(e);
    event_base_loopbreak(e->base);
}

static void *loop_main(void *arg)
{
    engine *e = arg;
    mf_error err;
    e->sender = sender_start(e, &err);
    if (!e->sender) log_errorx("engine: the outbox cannot send: %s", err.message);
    e->sequencer = sequencer_start(e);
    e->assign_alerts = assign_alerts_start(e);
    e->leases = lease_keeper_start(e); /* PostgreSQL: first heartbeat, mailboxes leased */
    reconcile(e);
    event_base_dispatch(e->base);
    shut_down(e);
    /* The IMAP connections just freed are released by callbacks still queued on this loop
     * (a session stopped while data was arriving, e.g. in its TLS handshake): run them here,
     * on the loop's thread, before engine_stop frees the base. */
    imap_client_settle(e->base);
    app_db_release();
    return NULL;
}

static void engine_wake_cb(void *arg)
{
    engine_wake(arg);
}

static void engine_wake_outbox_cb(void *arg)
{
    engine *e = arg;
    if (e && e->running) event_active(e->outbox_wake_ev, 0, 0);
}

engine *engine_start(mf_app *app, mf_error *err)
{
    static int threads_ready;
    if (!threads_ready) {
        evthread_use_pthreads();
        message_parse_init();
        threads_ready = 1;
    }
    engine *e = xcalloc(1, sizeof(*e));
    e->app = app;
    char why[256];
    e->ssl_ctx = imap_client_ssl_ctx(app->cfg.ca_file, why, sizeof(why));
    if (!e->ssl_ctx) {
        free(e);
        mf_fail(err, 500, "tls", NULL, "%s", why);
        return NULL;
    }
    e->base = event_base_new();
    /* /etc/resolv.conf and /etc/hosts, as getaddrinfo would read them; the lookups run on the
     * loop, so a slow or dead DNS server holds one session, not all of them */
    e->dns = evdns_base_new(e->base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
                                         EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    if (!e->dns) log_warnx("engine: no asynchronous DNS (evdns); host names are resolved by "
                           "blocking lookups on the engine's thread");
    e->parse_pool = work_pool_new(e->base, app->cfg.parse_threads);
    /* one store thread, so batches are stored in fetch order; none (on the loop) when parsing
     * runs on the loop too */
    e->store_pool = work_pool_new(e->base, app->cfg.parse_threads > 0 ? 1 : 0);
    e->wake_ev = event_new(e->base, -1, 0, on_wake, e);
    e->api_wake_ev = event_new(e->base, -1, 0, on_api_wake, e);
    e->outbox_wake_ev = event_new(e->base, -1, 0, on_outbox_wake, e);
    e->stop_ev = event_new(e->base, -1, 0, on_stop, e);
    e->tick_ev = event_new(e->base, -1, EV_PERSIST, on_wake, e);
    e->slot_ev = event_new(e->base, -1, 0, on_slot, e);
    e->trim_ev = evtimer_new(e->base, on_trim, e);
    struct timeval tick = {.tv_sec = app->cfg.engine_tick_seconds, .tv_usec = 0};
    event_add(e->tick_ev, &tick);
    /* R26: messages a crash left "sending" become "unknown" before the loop can send anything
     * and before the API (started after the engine) can report them. On PostgreSQL other
     * workers may be sending right now: there the lease keeper does it for dead workers only. */
    db *d0 = engine_db(e);
    if (d0 && db_kind(d0) != DB_POSTGRES) sender_recover(e);
    if (pthread_create(&e->thread, NULL, loop_main, e) != 0) {
        work_pool_free(&e->parse_pool);
        work_pool_free(&e->store_pool);
        event_free(e->slot_ev);
        event_free(e->trim_ev);
        event_free(e->api_wake_ev);
        event_free(e->outbox_wake_ev);
        event_free(e->wake_ev);
        event_free(e->stop_ev);
        event_free(e->tick_ev);
        if (e->dns) evdns_base_free(e->dns, 0);
        event_base_free(e->base);
        SSL_CTX_free(e->ssl_ctx);
        free(e);
        mf_fail(err, 500, "engine", NULL, "cannot start the engine thread");
        return NULL;
    }
    e->running = true;
    mf_error werr;
    e->webhooks = webhook_worker_start(app, &werr);
    if (!e->webhooks) log_errorx("engine: webhooks will not be delivered: %s", werr.message);
    app->wake = engine_wake_cb;
    app->wake_outbox = engine_wake_outbox_cb;
    app->wake_arg = e;
    return e;
}

void engine_wake(engine *e)
{
    if (e && e->running) event_active(e->api_wake_ev, 0, 0);
}

void engine_stop(engine **ep)
{
    if (!ep || !*ep) return;
    engine *e = *ep;
    *ep = NULL;
    e->app->wake = NULL;
    e->app->wake_outbox = NULL;
    e->app->wake_arg = NULL;
    webhook_worker_stop(&e->webhooks);
    if (e->running) {
        event_active(e->stop_ev, 0, 0);
        pthread_join(e->thread, NULL);
    }
    work_pool_free(&e->parse_pool);
    work_pool_free(&e->store_pool);
    event_free(e->wake_ev);
    event_free(e->api_wake_ev);
    event_free(e->outbox_wake_ev);
    event_free(e->stop_ev);
    event_free(e->tick_ev);
    event_free(e->slot_ev);
    event_free(e->trim_ev);
    if (e->dns) evdns_base_free(e->dns, 0); /* the sessions and their lookups are gone */
    event_base_free(e->base);
    SSL_CTX_free(e->ssl_ctx);
    free(e->sessions);
    free(e);
}
