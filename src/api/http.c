/* http.c — libmicrohttpd glue: connection context, bounded body reading, auth, dispatch to the
 * router, JSON responses; see http.h. */
#include <ctype.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <microhttpd.h>
#include "api/auth.h"
#include "api/batch.h"
#include "api/http.h"
#include "api/resp_cache.h"
#include "api/static.h"
#include "api/router.h"
#include "util/log.h"
#include "util/strbuf.h"

#if MHD_VERSION < 0x00097002
typedef int MHD_Result_t;
#else
typedef enum MHD_Result MHD_Result_t;
#endif

struct http_server {
    mf_app *app;
    struct MHD_Daemon *daemon;
    batcher *batch; /* SQLite: the writer thread of ROUTE_AUTH_BATCHED routes */
};

typedef struct conn_ctx {
    strbuf body;
    int too_large;
} conn_ctx;

static MHD_Result_t send_json(struct MHD_Connection *c, int status, json_t *body,
                              const char *cookie)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    struct MHD_Response *resp;
    if (text) {
        size_t n = strlen(text);
        resp = MHD_create_response_from_buffer(n, text, MHD_RESPMEM_MUST_FREE);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    } else {
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    }
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (cookie) MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, cookie);
    MHD_Result_t ret = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static MHD_Result_t send_error(struct MHD_Connection *c, const mf_error *e)
{
    api_req tmp;
    memset(&tmp, 0, sizeof(tmp));
    api_fail_from(&tmp, e);
    MHD_Result_t ret = send_json(c, tmp.status, tmp.resp, NULL);
    json_decref(tmp.resp);
    return ret;
}

static void free_body(void *cls)
{
    resp_body_unref(cls);
}

/* A 200 JSON answer shared with resp_cache: sent without a copy, with its ETag; 304 when the
 * client already has these bytes (If-None-Match). */
static MHD_Result_t send_body(struct MHD_Connection *c, resp_body *b)
{
    const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-None-Match");
    struct MHD_Response *resp;
    unsigned status = MHD_HTTP_OK;
    if (resp_etag_matches(inm, b->etag)) {
        status = MHD_HTTP_NOT_MODIFIED;
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    } else {
        resp_body_ref(b); /* MHD's, dropped by free_body when the response is destroyed */
        resp = MHD_create_response_from_buffer_with_free_callback_cls(b->len, b->text, free_body, b);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, b->etag);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_Result_t ret = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void handle(http_server *s, struct MHD_Connection *c, const char *method, const char *url,
                   conn_ctx *ctx, api_req *out)
{
    mf_app *app = s->app;
    api_req r;
    memset(&r, 0, sizeof(r));
    r.app = app;
    r.conn = c;
    r.method = method;
    r.path = url;
    r.body = ctx->body.buf;
    r.body_len = ctx->body.len;
    r.batch = s->batch;
    const route *rt = NULL;
    int rc = 0;
    switch (router_match(method, url, &r, &rt)) {
    case ROUTE_NO_PATH:
        rc = mf_fail(&r.err, 404, "not_found", NULL, "no route %s %s; see docs/api.md", method,
                     url);
        break;
    case ROUTE_NO_METHOD:
        rc = mf_fail(&r.err, 405, "method_not_allowed", NULL, "%s is not allowed on %s", method,
                     url);
        break;
    case ROUTE_FOUND:
        if (ctx->too_large) {
            rc = mf_fail(&r.err, 413, "payload_too_large", NULL,
                         "the request body is larger than %ld bytes", app->cfg.max_body_bytes);
            break;
        }
        r.d = app_db(app, &r.err);
        if (!r.d) {
            rc = -1;
            break;
        }
        /* GET: the database's version before any read, for the caches (resp_cache.h) */
        if ((rt->auth & ROUTE_AUTH) && app->cfg.api_cache && strcmp(method, "GET") == 0) {
            int v = db_data_version(r.d, &r.version, &r.err);
            if (v < 0) {
                rc = -1;
                break;
            }
            r.version_ok = v == 1;
        }
        if ((rt->auth & ROUTE_AUTH) && auth_request(&r) < 0) {
            rc = -1;
            break;
        }
        if (rt->auth == ROUTE_AUTH_BATCHED && s->batch) rc = batch_run(s->batch, &r, rt->handler);
        else rc = rt->handler(&r);
        if (r.d && r.d->in_tx) db_rollback(r.d); /* a handler must never leave one open */
        break;
    }
    if (rc < 0) {
        json_decref(r.resp);
        r.resp = NULL;
        free(r.resp_text);
        r.resp_text = NULL;
        resp_body_unref(r.cached);
        r.cached = NULL;
        if (r.err.status >= 500) log_errorx("%s %s: %s", method, url, r.err.message);
        api_fail_from(&r, &r.err);
    }
    *out = r;
}

static MHD_Result_t on_request(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload_data,
                               size_t *upload_size, void **con_cls)
{
    (void)version;
    http_server *s = cls;
    conn_ctx *ctx = *con_cls;
    if (!ctx) {
        ctx = xcalloc(1, sizeof(*ctx));
        strbuf_init(&ctx->body, (size_t)s->app->cfg.max_body_bytes);
        *con_cls = ctx;
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoll(cl, NULL, 10) > s->app->cfg.max_body_bytes) {
            mf_error e;
            mf_fail(&e, 413, "payload_too_large", NULL, "the request body is larger than %ld bytes",
                    s->app->cfg.max_body_bytes);
            return send_error(c, &e);
        }
        return MHD_YES;
    }
    if (*upload_size) {
        if (!ctx->too_large && strbuf_add(&ctx->body, upload_data, *upload_size) < 0) {
            ctx->too_large = 1;
            strbuf_release(&ctx->body);
        }
        *upload_size = 0;
        return MHD_YES;
    }
    unsigned static_status;
    struct MHD_Response *file = static_response(c, method, url, &static_status);
    if (file) { /* the web console */
        MHD_Result_t ret = MHD_queue_response(c, static_status, file);
        MHD_destroy_response(file);
        return ret;
    }
    api_req req;
    api_req *r = &req;
    handle(s, c, method, url, ctx, r);
    char *cookie = r->set_cookie;
    int status = r->status;
    json_t *resp = r->resp;
    char *text = r->resp_text;
    const char *type = r->resp_type;
    if (log_enabled(MF_LOG_DEBUG)) {
        char shown[512];
        router_log_path(url, shown, sizeof(shown));
        log_debug("%s %s -> %d", method, shown, status);
    }
    if (r->cached) {
        MHD_Result_t ret = send_body(c, r->cached);
        resp_body_unref(r->cached);
        r->cached = NULL;
        json_decref(resp);
        free(text);
        if (cookie) mf_secret_free(&cookie);
        return ret;
    }
    if (text) { /* JSON written as text, or an HTML page */
        struct MHD_Response *page =
            MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
        MHD_add_response_header(page, MHD_HTTP_HEADER_CONTENT_TYPE, type ? type : "text/html");
        MHD_add_response_header(page, "X-Content-Type-Options", "nosniff");
        MHD_add_response_header(page, "Cache-Control", "no-store");
        if (!type || strcmp(type, "application/json") != 0)
            MHD_add_response_header(page, "Content-Security-Policy", "default-src 'none'; "
                                    "style-src 'unsafe-inline'; form-action 'self'");
        if (cookie) MHD_add_response_header(page, MHD_HTTP_HEADER_SET_COOKIE, cookie);
        if (r->resp_location) MHD_add_response_header(page, MHD_HTTP_HEADER_LOCATION, r->resp_location);
        MHD_Result_t ret = MHD_queue_response(c, (unsigned)status, page);
        MHD_destroy_response(page);
        json_decref(resp);
        if (cookie) mf_secret_free(&cookie);
        return ret;
    }
    MHD_Result_t ret = send_json(c, status, resp, cookie);
    if (cookie) mf_secret_free(&cookie);
    json_decref(resp);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    conn_ctx *ctx = *con_cls;
    if (!ctx) return;
    strbuf_release(&ctx->body);
    free(ctx);
    *con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof(line), fmt, ap);
    size_t n = strlen(line);
    while (n && line[n - 1] == '\n') line[--n] = '\0';
    log_warnx("http: %s", line);
}

/* URL unescaping that refuses to make a NUL: "%00" stays as it is, so a path cannot be cut
 * short ("/mailboxes/%00" is an unknown id, not the list). */
static size_t unescape_no_nul(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    char *w = s;
    for (char *r = s; *r;) {
        if (r[0] == '%' && isxdigit((unsigned char)r[1]) && isxdigit((unsigned char)r[2])) {
            char hex[3] = {r[1], r[2], 0};
            int v = (int)strtol(hex, NULL, 16);
            if (v != 0) {
                *w++ = (char)v;
                r += 3;
                continue;
            }
        }
        *w++ = *r++;
    }
    *w = '\0';
    return (size_t)(w - s);
}

/* "HOST:PORT" or "[V6]:PORT" → a bound address. */
static int resolve(const char *listen, struct sockaddr_storage *ss, mf_error *err)
{
    char host[256];
    const char *colon = strrchr(listen, ':');
    if (!colon || colon == listen || !colon[1])
        return mf_fail(err, 400, "bad_config", NULL, "listen: expected HOST:PORT, got '%s'", listen);
    size_t hl = (size_t)(colon - listen);
    if (listen[0] == '[' && hl > 2 && listen[hl - 1] == ']') {
        memcpy(host, listen + 1, hl - 2);
        host[hl - 2] = '\0';
    } else {
        if (hl >= sizeof(host)) return mf_fail(err, 400, "bad_config", NULL, "listen: host too long");
        memcpy(host, listen, hl);
        host[hl] = '\0';
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, colon + 1, &hints, &res);
    if (rc != 0 || !res)
        return mf_fail(err, 400, "bad_config", NULL, "listen: cannot resolve '%s': %s", listen,
                       gai_strerror(rc));
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

http_server *http_start(mf_app *app, mf_error *err)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    if (resolve(app->cfg.listen, &ss, err) < 0) return NULL;
    http_server *s = xcalloc(1, sizeof(*s));
    s->app = app;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
    /* epoll, not select(): with thousands of IMAP sessions in the same process, sockets are
     * numbered above FD_SETSIZE (found by bench/sync) */
    if (MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES) flags |= MHD_USE_EPOLL;
    if (app->cfg.api_batch) s->batch = batch_start(app);
    s->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_UNESCAPE_CALLBACK,
        unescape_no_nul, NULL,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)app->cfg.http_threads,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)60, MHD_OPTION_LISTEN_BACKLOG_SIZE,
        (unsigned)1024, MHD_OPTION_END);
    if (!s->daemon) {
        batch_stop(&s->batch);
        free(s);
        mf_fail(err, 500, "listen_failed", NULL,
                "cannot listen on %s (address in use or not allowed?)", app->cfg.listen);
        return NULL;
    }
    return s;
}

void http_stop(http_server **s)
{
    if (!s || !*s) return;
    MHD_stop_daemon((*s)->daemon); /* waits for the HTTP threads, so no batch_run is left */
    batch_stop(&(*s)->batch);
    free(*s);
    *s = NULL;
}
