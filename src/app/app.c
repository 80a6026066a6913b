/* app.c — process context: config, key, per-thread database connections; see app.h. */
#include <pthread.h>
#include <string.h>
#include <time.h>
#include "app/app.h"
#include "store/migrate.h"
#include "util/log.h"

static pthread_key_t db_key;
static pthread_once_t db_key_once = PTHREAD_ONCE_INIT;

static void close_thread_db(void *p)
{
    db *d = p;
    db_close(&d);
}

static void make_key(void)
{
    pthread_key_create(&db_key, close_thread_db);
}

int app_init(mf_app *app, const char *config_path, const char *db_override,
             const char *listen_override, mf_error *err)
{
    memset(app, 0, sizeof(*app));
    pthread_mutex_init(&app->mail_mu, NULL);
    pthread_cond_init(&app->mail_cv, NULL);
    mf_config_defaults(&app->cfg);
    if (mf_crypto_init() < 0) return mf_fail_internal(err, "libsodium failed to initialise");
    if (mf_config_load(&app->cfg, config_path, err) < 0) return -1;
    if (db_override && mf_config_set(&app->cfg, "db", db_override, err) < 0) return -1;
    if (listen_override && mf_config_set(&app->cfg, "listen", listen_override, err) < 0) return -1;
    enum mf_log_level lvl;
    if (log_parse_level(app->cfg.log_level, &lvl) == 0) log_set_level(lvl);
    return mf_key_load(app->cfg.key_file, &app->key, err);
}

void app_deinit(mf_app *app)
{
    app_db_release();
    mf_config_free(&app->cfg);
    memset(&app->key, 0, sizeof(app->key));
}

db *app_db(mf_app *app, mf_error *err)
{
    pthread_once(&db_key_once, make_key);
    db *d = pthread_getspecific(db_key);
    if (d) return d;
    if (db_open(app->cfg.db, &d, err) < 0) return NULL;
    pthread_setspecific(db_key, d);
    return d;
}

void app_db_release(void)
{
    pthread_once(&db_key_once, make_key);
    db *d = pthread_getspecific(db_key);
    if (d) {
        pthread_setspecific(db_key, NULL);
        db_close(&d);
    }
}

void app_wake_engine(mf_app *app)
{
    if (app->wake) app->wake(app->wake_arg);
}

void app_mail_arrived(mf_app *app)
{
    pthread_mutex_lock(&app->mail_mu);
    app->mail_seq++;
    pthread_cond_broadcast(&app->mail_cv);
    pthread_mutex_unlock(&app->mail_mu);
}

uint64_t app_mail_seq(mf_app *app)
{
    pthread_mutex_lock(&app->mail_mu);
    uint64_t v = app->mail_seq;
    pthread_mutex_unlock(&app->mail_mu);
    return v;
}

uint64_t app_wait_mail(mf_app *app, uint64_t seen, int timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&app->mail_mu);
    while (app->mail_seq == seen) {
        if (pthread_cond_timedwait(&app->mail_cv, &app->mail_mu, &until) != 0) break;
    }
    uint64_t v = app->mail_seq;
    pthread_mutex_unlock(&app->mail_mu);
    return v;
}

int app_migrate(mf_app *app, int *applied, mf_error *err)
{
    db *d = app_db(app, err);
    if (!d) return -1;
    return migrate_up(d, applied, err);
}
