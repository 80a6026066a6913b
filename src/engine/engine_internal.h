/* engine_internal.h — what the engine's modules share (engine.c, session.c, ingest.c,
 * health.c). Everything here runs on the engine's loop thread. */
#ifndef MF_ENGINE_INTERNAL_H
#define MF_ENGINE_INTERNAL_H
#include <stdbool.h>
#include <stdint.h>
#include "core/sendday.h"
#include "engine/engine.h"
#include "mail/imap_client.h"
#include "store/messages.h"

struct event_base;
struct event;

struct engine {
    mf_app *app;
    struct event_base *base;
    struct evdns_base *dns; /* host names of IMAP servers resolved on the loop; NULL: blocking */
    struct event *wake_ev, *api_wake_ev, *tick_ev, *stop_ev; /* api_wake: also sequences */
    struct event *outbox_wake_ev;                            /* a message was queued */
    SSL_CTX *ssl_ctx;
    struct session **sessions;
    size_t nsessions, cap;
    pthread_t thread;
    bool running;
    bool stopping; /* on the loop thread: shut down, nothing new may start */
    struct sender_loop *sender; /* the outbox runner (sender.c) */
    struct sequencer *sequencer; /* the sequence scheduler (sequencer.c) */
    struct webhook_worker *webhooks; /* webhook deliveries, its own thread (webhook_worker.c) */
    struct assign_alerts *assign_alerts; /* the unassigned-conversation alert (assign.c, R21) */
    struct work_pool *parse_pool; /* parses fetched messages off the loop (work_pool.c) */
    struct work_pool *store_pool; /* one thread: stores parsed batches in order (session.c) */
    int connecting;               /* sessions holding a connect slot */
    struct event *slot_ev;        /* starts sessions waiting for a slot */
    struct event *trim_ev;        /* malloc_trim once a burst of sessions has settled */
    int settled_since_trim;
    struct lease_keeper *leases; /* PostgreSQL: the mailboxes this worker holds (leases.c) */
};

/* At most ENGINE_MAX_CONNECTING sessions connect (TCP, TLS, login) at once. true: a slot is
 * taken (give it back with engine_connect_done); false: the session waits (state
 * SS_WAIT_SLOT) and is started again by the engine when a slot is free. */
#define ENGINE_MAX_CONNECTING 16
bool engine_connect_slot(engine *e);
void engine_connect_done(engine *e);
/* A session reached its watching state (IDLE or polling): once a burst of them has settled,
 * the engine gives the heap's free pages back to the system (malloc_trim). */
void engine_note_settled(engine *e);

/* The set of mailboxes this worker holds changed (leases.c): reconcile the sessions now and
 * let the outbox runner look for due mail. */
void engine_leases_changed(engine *e);

/* The time zone of that IANA name, loaded once from /usr/share/zoneinfo; UTC when unknown. */
const sendday_zone *engine_zone(engine *e, const char *name);

/* The engine's database connection (this thread's). NULL with a log line on failure. */
db *engine_db(engine *e);

typedef struct session session;
session *session_new(engine *e, const mf_engine_mailbox *m);
void session_free(session **s);
void session_start(session *s); /* connect now */
const char *session_mailbox_id(const session *s);
int64_t session_config_version(const session *s);
bool session_stopped(const session *s); /* gave up until new credentials (failing) */
bool session_waits_for_slot(const session *s);
#endif
