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
    struct event *wake_ev, *api_wake_ev, *tick_ev, *stop_ev; /* api_wake: also sequences */
    struct event *outbox_wake_ev;                            /* a message was queued */
    SSL_CTX *ssl_ctx;
    struct session **sessions;
    size_t nsessions, cap;
    pthread_t thread;
    bool running;
    struct sender_loop *sender; /* the outbox runner (sender.c) */
    struct sequencer *sequencer; /* the sequence scheduler (sequencer.c) */
};

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
#endif
