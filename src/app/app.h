/* app.h — the process-wide context shared by the API, the CLI (and later the engine): the
 * configuration, the master key, and one database connection per thread (opened lazily,
 * closed at thread exit). */
#ifndef MF_APP_H
#define MF_APP_H
#include "store/db.h"
#include "util/config.h"
#include "util/crypto.h"

#include <pthread.h>
#include <stdint.h>
#include <time.h>

typedef struct mf_app {
    mf_config cfg;
    mf_key key;
    /* the engine running in this process, if any (set by `serve`): woken when the API changes
     * mailboxes; NULL in `mailfleet api`, where workers notice changes on their next tick */
    void (*wake)(void *arg);
    void (*wake_outbox)(void *arg); /* only the outbox runner (a message was queued) */
    void *wake_arg;
    /* new-mail signal from the engine to long-polling API calls in this process */
    pthread_mutex_t mail_mu;
    pthread_cond_t mail_cv;
    uint64_t mail_seq;
    int long_polls; /* API threads now waiting in a long-poll (at most half of them may) */
} mf_app;

/* Load config (path may be NULL), apply db_override/listen_override when not NULL, set the log
 * level, load or create the master key. */
int app_init(mf_app *app, const char *config_path, const char *db_override,
             const char *listen_override, mf_error *err);
void app_deinit(mf_app *app);
/* This thread's connection to cfg.db (opened on first use). NULL with err on failure. */
db *app_db(mf_app *app, mf_error *err);
void app_db_release(void); /* close this thread's connection */
/* The time zone of an IANA name, loaded once from /usr/share/zoneinfo (UTC when unknown);
 * thread-safe, lives as long as the process. */
struct sendday_zone;
const struct sendday_zone *app_zone(const char *name);
/* Is there a zone of that name (UTC, or a file under /usr/share/zoneinfo)? */
int app_zone_known(const char *name);
/* The local day key "YYYY-MM-DD" of t in zone tz (for the store, R15). */
int app_day_key(const char *tz, time_t t, char out[11]);
/* Tell the engine (when one runs in this process) that mailboxes changed. */
void app_wake_engine(mf_app *app);
/* Tell the engine's outbox runner (when one runs in this process) that mail was queued. */
void app_wake_outbox(mf_app *app);
/* Engine side: messages were stored. API side: wait (at most timeout_ms) until the sequence
 * passes seen; returns the current sequence. */
void app_mail_arrived(mf_app *app);
uint64_t app_mail_seq(mf_app *app);
uint64_t app_wait_mail(mf_app *app, uint64_t seen, int timeout_ms);
/* Open the database and apply missing migrations; *applied gets how many ran. */
int app_migrate(mf_app *app, int *applied, mf_error *err);
#endif
