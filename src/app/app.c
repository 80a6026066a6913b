/* app.c — process context: config, key, per-thread database connections; see app.h. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <string.h>
#include <time.h>
#include "app/app.h"
#include "core/sendday.h"
#include "store/migrate.h"
#include "store/store.h"
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
    store_set_day_key(app_day_key);
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

static pthread_mutex_t zones_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    char name[SENDDAY_ZONE_NAME_MAX];
    sendday_zone *zone;
} zones[128];
static int nzones;

static sendday_zone *load_zone(const char *name)
{
    sendday_zone *z = NULL;
    if (sendday_zone_name_valid(name)) {
        char path[300];
        snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", name);
        int fd = open(path, O_RDONLY);
        if (fd >= 0) {
            struct stat st;
            if (fstat(fd, &st) == 0 && st.st_size > 0 && st.st_size <= SENDDAY_TZIF_MAX) {
                char *buf = xmalloc((size_t)st.st_size);
                if (read(fd, buf, (size_t)st.st_size) == st.st_size)
                    sendday_zone_from_tzif(buf, (size_t)st.st_size, &z, NULL);
                free(buf);
            }
            close(fd);
        }
    }
    if (!z) sendday_zone_from_posix("UTC0", &z, NULL);
    return z;
}

const sendday_zone *app_zone(const char *name)
{
    pthread_mutex_lock(&zones_mu);
    const sendday_zone *found = NULL;
    for (int i = 0; i < nzones && !found; i++)
        if (strcmp(zones[i].name, name) == 0) found = zones[i].zone;
    if (!found) {
        sendday_zone *z = load_zone(name);
        if (nzones < (int)(sizeof(zones) / sizeof(zones[0]))) {
            snprintf(zones[nzones].name, sizeof(zones[0].name), "%s", name);
            zones[nzones++].zone = z;
            found = z;
        } else {
            /* the cache is full: keep the process's zones bounded, fall back to UTC */
            sendday_zone_free(&z);
            found = zones[0].zone;
        }
    }
    pthread_mutex_unlock(&zones_mu);
    return found;
}

int app_zone_known(const char *name)
{
    if (!name || !sendday_zone_name_valid(name)) return 0;
    if (strcmp(name, "UTC") == 0) return 1;
    char path[300];
    snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", name);
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int app_day_key(const char *tz, time_t t, char out[11])
{
    const sendday_zone *z = app_zone(tz && *tz ? tz : "UTC");
    return z ? sendday_day_key(z, t, out) : -1;
}

void app_wake_engine(mf_app *app)
{
    if (app->wake) app->wake(app->wake_arg);
}

void app_wake_outbox(mf_app *app)
{
    if (app->wake_outbox) app->wake_outbox(app->wake_arg);
    else app_wake_engine(app);
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
