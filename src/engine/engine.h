/* engine.h — the runtime that keeps connected mailboxes alive (R11–R13): one libevent loop
 * thread running a session per mailbox (session.c), woken by the API when mailboxes change and
 * re-reading its mailbox list on a tick. Started by `mailfleet serve` and `mailfleet worker`.
 *
 *   engine_start ──> loop thread: reconcile() on start, on engine_wake(), every tick
 *                     reconcile: new mailbox with IMAP settings → session_start
 *                                credentials changed (config_version) → session restart
 *                                mailbox gone → session_free
 *   engine_stop ───> close every session, leave the loop, join the thread */
#ifndef MF_ENGINE_H
#define MF_ENGINE_H
#include "app/app.h"

typedef struct engine engine;

engine *engine_start(mf_app *app, mf_error *err);
/* Thread-safe: reconcile as soon as possible. */
void engine_wake(engine *e);
void engine_stop(engine **e);
#endif
