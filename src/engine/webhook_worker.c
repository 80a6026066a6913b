/* webhook_worker.c — the webhook delivery thread; see webhook_worker.h. */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <sodium.h>
#include "core/webhook.h"
#include "engine/webhook_worker.h"
#include "store/webhooks.h"
#include "util/crypto.h"
#include "util/log.h"
#include "util/netaddr.h"

#define MAX_IN_FLIGHT 16
#define LEASE_EXTRA_SECONDS 60

typedef struct job {
    struct job *next;
    CURL *easy;
    struct curl_slist *headers;
    char *body;
    char id[MF_ID_LEN];
    char webhook_id[MF_ID_LEN];
    char event[40];
    int attempts; /* this one included */
    bool allow_private;
    char errbuf[CURL_ERROR_SIZE];
    char blocked[160]; /* why the connection was refused by us (internal address) */
} job;

struct webhook_worker {
    mf_app *app;
    pthread_t thread;
    CURLM *multi;
    atomic_int stop;
    job *jobs;
    int njobs;
    int64_t next_scan_ms;
};

static size_t discard(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    (void)ptr;
    (void)userdata;
    return size * nmemb;
}

static void job_free(webhook_worker *w, job *j)
{
    if (j->easy) {
        curl_multi_remove_handle(w->multi, j->easy);
        curl_easy_cleanup(j->easy);
    }
    curl_slist_free_all(j->headers);
    free(j->body);
    free(j);
}

static struct curl_slist *add_header(struct curl_slist *l, const char *name, const char *value)
{
    char line[256];
    snprintf(line, sizeof(line), "%s: %s", name, value);
    return curl_slist_append(l, line);
}

/* libcurl asks for each socket it connects with the resolved address: webhooks do not reach
 * loopback/private addresses unless the operator allows it (the URL's name may resolve to one,
 * or be changed to resolve to one after the webhook was registered). */
static curl_socket_t open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
    job *j = arg;
    if (purpose == CURLSOCKTYPE_IPCXN && !j->allow_private &&
        netaddr_is_internal(&a->addr, a->addrlen)) {
        char ip[INET6_ADDRSTRLEN] = "?";
        if (a->family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)&a->addr)->sin_addr, ip, sizeof(ip));
        else if (a->family == AF_INET6)
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&a->addr)->sin6_addr, ip, sizeof(ip));
        snprintf(j->blocked, sizeof(j->blocked),
                 "not sent: the URL resolves to %s, a loopback or private address "
                 "(webhook_allow_private is off)", ip);
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype, a->protocol);
}

/* A claimed delivery: sign it and hand it to libcurl. */
static void start_job(mf_webhook_job *dj, void *arg)
{
    webhook_worker *w = arg;
    const mf_config *cfg = &w->app->cfg;
    mf_error err;
    db *d = app_db(w->app, &err);
    if (!d || w->njobs >= MAX_IN_FLIGHT) return;
    time_t now = mf_now();
    int claimed = webhook_delivery_claim(
        d, dj, now, now + cfg->webhook_timeout_seconds + LEASE_EXTRA_SECONDS, &err);
    if (claimed != 1) {
        if (claimed < 0) log_warnx("webhooks: cannot claim %s: %s", dj->id, err.message);
        return;
    }
    job *j = xcalloc(1, sizeof(*j));
    snprintf(j->id, sizeof(j->id), "%s", dj->id);
    snprintf(j->webhook_id, sizeof(j->webhook_id), "%s", dj->webhook_id);
    snprintf(j->event, sizeof(j->event), "%s", dj->event);
    j->attempts = dj->attempts + 1;
    j->body = dj->payload; /* taken */
    dj->payload = NULL;
    char *secret = mf_unseal(&w->app->key, dj->secret_sealed);
    if (!secret) { /* a key that does not open it: nothing can sign it, ever */
        webhook_delivery_finish(d, j->id, "failed", 0, 0,
                                "the webhook's secret cannot be read with this master key", NULL);
        log_errorx("webhooks: the secret of %s cannot be unsealed", j->webhook_id);
        job_free(w, j);
        return;
    }
    char ts[24], sig[WEBHOOK_SIGNATURE_LEN];
    snprintf(ts, sizeof(ts), "%lld", (long long)now);
    webhook_sign(secret, j->body, strlen(j->body), sig);
    mf_secret_free(&secret);
    j->headers = add_header(j->headers, "Content-Type", "application/json");
    j->headers = add_header(j->headers, "X-Mailfleet-Event", j->event);
    j->headers = add_header(j->headers, "X-Mailfleet-Delivery", j->id);
    j->headers = add_header(j->headers, "X-Mailfleet-Timestamp", ts);
    j->headers = add_header(j->headers, "X-Mailfleet-Signature", sig);
    j->headers = curl_slist_append(j->headers, "Expect:"); /* no 100-continue round trip */
    CURL *e = curl_easy_init();
    if (!e || !j->headers) {
        if (e) curl_easy_cleanup(e);
        webhook_delivery_finish(d, j->id, "pending", now + cfg->webhook_retry_base_seconds, 0,
                                "out of memory", NULL);
        job_free(w, j);
        return;
    }
    j->easy = e;
    long timeout = cfg->webhook_timeout_seconds;
    curl_easy_setopt(e, CURLOPT_URL, dj->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, j->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(j->body));
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->headers);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "mailfleet-webhooks/1");
    curl_easy_setopt(e, CURLOPT_TIMEOUT, timeout);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, timeout < 10 ? timeout : 10L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (cfg->ca_file && *cfg->ca_file) curl_easy_setopt(e, CURLOPT_CAINFO, cfg->ca_file);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, j->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, j);
    j->allow_private = cfg->webhook_allow_private != 0;
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, j);
    if (curl_multi_add_handle(w->multi, e) != CURLM_OK) {
        webhook_delivery_finish(d, j->id, "pending", now + cfg->webhook_retry_base_seconds, 0,
                                "cannot start the request", NULL);
        curl_easy_cleanup(e);
        j->easy = NULL;
        job_free(w, j);
        return;
    }
    j->next = w->jobs;
    w->jobs = j;
    w->njobs++;
}

/* One finished transfer: record what it came to. */
static void finish_job(webhook_worker *w, job *j, CURLcode rc)
{
    const mf_config *cfg = &w->app->cfg;
    long code = 0;
    if (rc == CURLE_OK) curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &code);
    enum webhook_outcome o =
        webhook_after_attempt(rc == CURLE_OK ? code : 0, j->attempts, cfg->webhook_max_attempts);
    char why[CURL_ERROR_SIZE + 32] = "";
    if (rc != CURLE_OK && j->blocked[0])
        snprintf(why, sizeof(why), "%s", j->blocked);
    else if (rc != CURLE_OK)
        snprintf(why, sizeof(why), "%s", j->errbuf[0] ? j->errbuf : curl_easy_strerror(rc));
    else if (o != WEBHOOK_DELIVERED)
        snprintf(why, sizeof(why), "the endpoint answered HTTP %ld", code);
    time_t next = 0;
    if (o == WEBHOOK_RETRY)
        next = mf_now() + webhook_backoff_seconds(j->attempts, cfg->webhook_retry_base_seconds,
                                                  cfg->webhook_retry_max_seconds,
                                                  randombytes_random());
    const char *status = o == WEBHOOK_DELIVERED ? "delivered" : o == WEBHOOK_RETRY ? "pending"
                                                                                   : "failed";
    mf_error err;
    db *d = app_db(w->app, &err);
    if (!d || webhook_delivery_finish(d, j->id, status, next, code, why[0] ? why : NULL, &err) < 0)
        log_errorx("webhooks: cannot record the outcome of %s: %s", j->id, err.message);
    if (o == WEBHOOK_DELIVERED)
        log_debug("webhooks: %s %s to %s: HTTP %ld", j->event, j->id, j->webhook_id, code);
    else
        log_info("webhooks: %s %s to %s, attempt %d: %s; %s", j->event, j->id, j->webhook_id,
                 j->attempts, why, o == WEBHOOK_RETRY ? "will retry" : "failed");
    for (job **pp = &w->jobs; *pp; pp = &(*pp)->next) {
        if (*pp == j) {
            *pp = j->next;
            w->njobs--;
            break;
        }
    }
    job_free(w, j);
}

static void scan(webhook_worker *w)
{
    mf_error err;
    db *d = app_db(w->app, &err);
    if (!d) {
        log_errorx("webhooks: no database: %s", err.message);
        return;
    }
    if (webhook_deliveries_due(d, mf_now(), MAX_IN_FLIGHT - w->njobs, start_job, w, &err) < 0)
        log_errorx("webhooks: cannot read due deliveries: %s", err.message);
}

static void *worker_main(void *arg)
{
    webhook_worker *w = arg;
    while (!atomic_load(&w->stop)) {
        int64_t now = mf_now_ms();
        if (w->njobs < MAX_IN_FLIGHT && now >= w->next_scan_ms) {
            scan(w);
            w->next_scan_ms = now + 1000;
        }
        int running = 0;
        curl_multi_perform(w->multi, &running);
        CURLMsg *m;
        int left, finished = 0;
        while ((m = curl_multi_info_read(w->multi, &left))) {
            if (m->msg != CURLMSG_DONE) continue;
            job *j = NULL;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&j);
            CURLcode rc = m->data.result;
            if (j) finish_job(w, j, rc);
            finished++;
        }
        if (finished) w->next_scan_ms = 0; /* more may be due: look again at once */
        int64_t wait = w->njobs < MAX_IN_FLIGHT ? w->next_scan_ms - mf_now_ms() : 1000;
        if (wait < 0) wait = 0;
        if (wait > 1000) wait = 1000;
        if (!finished) curl_multi_poll(w->multi, NULL, 0, (int)wait, NULL);
    }
    while (w->jobs) { /* abandoned: leased, tried again later */
        job *j = w->jobs;
        w->jobs = j->next;
        job_free(w, j);
    }
    app_db_release();
    return NULL;
}

webhook_worker *webhook_worker_start(mf_app *app, mf_error *err)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        mf_fail(err, 500, "curl", NULL, "libcurl cannot start");
        return NULL;
    }
    webhook_worker *w = xcalloc(1, sizeof(*w));
    w->app = app;
    w->multi = curl_multi_init();
    if (!w->multi || pthread_create(&w->thread, NULL, worker_main, w) != 0) {
        if (w->multi) curl_multi_cleanup(w->multi);
        free(w);
        curl_global_cleanup();
        mf_fail(err, 500, "webhooks", NULL, "cannot start the webhook thread");
        return NULL;
    }
    return w;
}

void webhook_worker_stop(webhook_worker **wp)
{
    if (!wp || !*wp) return;
    webhook_worker *w = *wp;
    *wp = NULL;
    atomic_store(&w->stop, 1);
    curl_multi_wakeup(w->multi);
    pthread_join(w->thread, NULL);
    curl_multi_cleanup(w->multi);
    free(w);
    curl_global_cleanup();
}
