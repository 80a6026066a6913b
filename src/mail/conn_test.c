/* conn_test.c — blocking IMAP and SMTP connection tests; see conn_test.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <event2/event.h>
#include <openssl/ssl.h>
#include "mail/conn_test.h"
#include "mail/imap_client.h"

const char *conn_test_failure_name(enum conn_test_failure f)
{
    static const char *names[] = {"ok", "network", "timeout", "tls", "auth", "protocol",
                                  "settings"};
    return (unsigned)f < sizeof(names) / sizeof(names[0]) ? names[f] : "unknown";
}

bool conn_test_is_loopback(const char *host)
{
    return host && (strcmp(host, "localhost") == 0 || strncmp(host, "127.", 4) == 0 ||
                    strcmp(host, "::1") == 0);
}

static void set_result(conn_test_result *out, enum conn_test_failure f, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_result(conn_test_result *out, enum conn_test_failure f, const char *fmt, ...)
{
    out->ok = f == CONN_TEST_OK;
    out->failure = f;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
    va_end(ap);
}

static int clear_text_refused(const conn_test_server *srv, conn_test_result *out)
{
    if (strcmp(srv->security, "none") == 0 && srv->password && *srv->password &&
        !conn_test_is_loopback(srv->host)) {
        set_result(out, CONN_TEST_SETTINGS,
                   "security \"none\" would send the password unencrypted to %s; choose TLS or "
                   "STARTTLS",
                   srv->host);
        return 1;
    }
    return 0;
}

/* ---- IMAP -------------------------------------------------------------------------------- */

typedef struct imap_probe {
    struct event_base *base;
    conn_test_result *out;
    bool logged_in, finished;
} imap_probe;

static void imap_finish(imap_probe *p)
{
    p->finished = true;
    event_base_loopbreak(p->base);
}

static void on_logout(imap_client *c, imap_status status, const imap_response *tagged, void *arg)
{
    (void)c;
    (void)status;
    (void)tagged;
    imap_finish(arg);
}

static void on_imap_ready(imap_client *c, void *arg)
{
    imap_probe *p = arg;
    p->logged_in = true;
    set_result(p->out, CONN_TEST_OK, "%s", "");
    if (imap_client_command(c, "LOGOUT", on_logout, p) < 0) imap_finish(p);
}

static void on_imap_untagged(imap_client *c, const imap_response *r, void *arg)
{
    (void)c;
    (void)r;
    (void)arg;
}

static void on_imap_error(imap_client *c, enum imap_client_error kind, const char *reason,
                          void *arg)
{
    (void)c;
    imap_probe *p = arg;
    if (!p->logged_in) { /* after login, the server's BYE to LOGOUT is no failure */
        enum conn_test_failure f = kind == IMAP_CLIENT_ERR_AUTH      ? CONN_TEST_AUTH
                                   : kind == IMAP_CLIENT_ERR_TIMEOUT ? CONN_TEST_TIMEOUT
                                   : kind == IMAP_CLIENT_ERR_TLS     ? CONN_TEST_TLS
                                   : kind == IMAP_CLIENT_ERR_NETWORK ? CONN_TEST_NETWORK
                                                                     : CONN_TEST_PROTOCOL;
        set_result(p->out, f, "%s", reason && *reason ? reason : "the connection failed");
    }
    imap_finish(p);
}

static void on_imap_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    imap_probe *p = arg;
    if (!p->logged_in)
        set_result(p->out, CONN_TEST_TIMEOUT, "the IMAP server did not complete the login in time");
    imap_finish(p);
}

int conn_test_imap(const conn_test_server *srv, const char *ca_file, unsigned timeout_s,
                   conn_test_result *out)
{
    memset(out, 0, sizeof(*out));
    if (!timeout_s) timeout_s = 30;
    if (clear_text_refused(srv, out)) return 0;
    char why[256] = "";
    SSL_CTX *ctx = imap_client_ssl_ctx(ca_file, why, sizeof(why));
    if (!ctx) {
        set_result(out, CONN_TEST_TLS, "TLS cannot be set up here: %s", why);
        return -1;
    }
    struct event_base *base = event_base_new();
    if (!base) {
        SSL_CTX_free(ctx);
        set_result(out, CONN_TEST_NETWORK, "%s", "no event loop for the test");
        return -1;
    }
    imap_probe p = {.base = base, .out = out};
    imap_client_cfg cfg = {
        .host = srv->host,
        .port = srv->port,
        .security = strcmp(srv->security, "tls") == 0        ? IMAP_SEC_TLS
                    : strcmp(srv->security, "starttls") == 0 ? IMAP_SEC_STARTTLS
                                                             : IMAP_SEC_NONE,
        .username = srv->username,
        .password = srv->password,
        .connect_timeout = timeout_s,
        .command_timeout = timeout_s,
    };
    imap_client_events ev = {.on_ready = on_imap_ready, .on_untagged = on_imap_untagged,
                             .on_error = on_imap_error};
    imap_client *c = imap_client_new(base, ctx, &cfg, &ev, &p);
    struct event *deadline = evtimer_new(base, on_imap_deadline, &p);
    struct timeval tv = {.tv_sec = (time_t)timeout_s + 1, .tv_usec = 0};
    set_result(out, CONN_TEST_PROTOCOL, "%s", "the IMAP test did not finish");
    if (!c || !deadline || imap_client_connect(c) < 0) {
        set_result(out, CONN_TEST_NETWORK, "cannot start a connection to %s:%u", srv->host,
                   (unsigned)srv->port);
    } else {
        evtimer_add(deadline, &tv);
        while (!p.finished && event_base_dispatch(base) == 0) {
        }
        if (p.logged_in) set_result(out, CONN_TEST_OK, "%s", "");
    }
    if (deadline) event_free(deadline);
    imap_client_free(&c);
    imap_client_settle(base); /* the connection's memory is released by the loop */
    event_base_free(base);
    SSL_CTX_free(ctx);
    return 0;
}

/* ---- SMTP -------------------------------------------------------------------------------- */

typedef struct smtp_probe {
    bool auth_sent;   /* an AUTH command went out */
    bool auth_ok;     /* 235 came back */
    bool in_auth;     /* between AUTH and its final reply: nothing is looked at */
    char last_reply[160];
} smtp_probe;

/* Follows the dialogue only to learn whether AUTH happened; never stores or logs what is sent
 * during AUTH (credentials). */
static int smtp_debug(CURL *h, curl_infotype type, char *data, size_t size, void *arg)
{
    (void)h;
    smtp_probe *p = arg;
    if (type == CURLINFO_HEADER_OUT) {
        if (size >= 5 && strncasecmp(data, "AUTH ", 5) == 0) {
            p->auth_sent = true;
            p->in_auth = true;
        }
    } else if (type == CURLINFO_HEADER_IN && size >= 4) {
        bool final = data[3] == ' ' || data[3] == '\r' || data[3] == '\n';
        if (final && p->in_auth && strncmp(data, "334", 3) != 0) {
            p->in_auth = false;
            if (strncmp(data, "235", 3) == 0) p->auth_ok = true;
        }
        if (final && strncmp(data, "334", 3) != 0) { /* 334 challenges may echo secrets */
            size_t n = size < sizeof(p->last_reply) - 1 ? size : sizeof(p->last_reply) - 1;
            memcpy(p->last_reply, data, n);
            while (n && (p->last_reply[n - 1] == '\r' || p->last_reply[n - 1] == '\n')) n--;
            p->last_reply[n] = '\0';
        }
    }
    return 0;
}

int conn_test_smtp(const conn_test_server *srv, const char *ca_file, unsigned timeout_s,
                   conn_test_result *out)
{
    memset(out, 0, sizeof(*out));
    if (!timeout_s) timeout_s = 30;
    if (clear_text_refused(srv, out)) return 0;
    bool tls = strcmp(srv->security, "tls") == 0;
    bool starttls = strcmp(srv->security, "starttls") == 0;
    char url[400];
    bool v6 = strchr(srv->host, ':') != NULL;
    int w = snprintf(url, sizeof(url), "%s://%s%s%s:%u", tls ? "smtps" : "smtp", v6 ? "[" : "",
                     srv->host, v6 ? "]" : "", (unsigned)srv->port);
    if (w < 0 || (size_t)w >= sizeof(url)) {
        set_result(out, CONN_TEST_SETTINGS, "%s", "the SMTP host name is too long");
        return 0;
    }
    CURL *h = curl_easy_init();
    if (!h) {
        set_result(out, CONN_TEST_NETWORK, "%s", "libcurl cannot be used here");
        return -1;
    }
    smtp_probe p = {0};
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)timeout_s);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)timeout_s);
    curl_easy_setopt(h, CURLOPT_SERVER_RESPONSE_TIMEOUT, (long)timeout_s);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (ca_file && *ca_file) curl_easy_setopt(h, CURLOPT_CAINFO, ca_file);
    curl_easy_setopt(h, CURLOPT_USE_SSL, starttls ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_NONE);
    if (srv->username && *srv->username) {
        curl_easy_setopt(h, CURLOPT_USERNAME, srv->username);
        curl_easy_setopt(h, CURLOPT_PASSWORD, srv->password ? srv->password : "");
    }
    curl_easy_setopt(h, CURLOPT_VERBOSE, 1L); /* for the debug function only: nothing printed */
    curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, smtp_debug);
    curl_easy_setopt(h, CURLOPT_DEBUGDATA, &p);
    CURLcode rc = curl_easy_perform(h);
    switch (rc) {
    case CURLE_OK:
        if (srv->username && *srv->username && !p.auth_ok)
            set_result(out, CONN_TEST_AUTH,
                       "the SMTP server offered no authentication (AUTH)%s; check the port and "
                       "security settings",
                       starttls || tls ? "" : " without TLS");
        else
            set_result(out, CONN_TEST_OK, "%s", "");
        break;
    case CURLE_LOGIN_DENIED:
        set_result(out, CONN_TEST_AUTH, "the SMTP server refused the credentials%s%s",
                   p.last_reply[0] ? ": " : "", p.last_reply);
        break;
    case CURLE_OPERATION_TIMEDOUT:
        set_result(out, CONN_TEST_TIMEOUT, "the SMTP server did not answer within %u s",
                   timeout_s);
        break;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
        set_result(out, CONN_TEST_NETWORK, "cannot talk to the SMTP server %s:%u: %s", srv->host,
                   (unsigned)srv->port, errbuf[0] ? errbuf : curl_easy_strerror(rc));
        break;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_USE_SSL_FAILED:
        set_result(out, CONN_TEST_TLS, "SMTP TLS failed: %s",
                   errbuf[0] ? errbuf : curl_easy_strerror(rc));
        break;
    default:
        set_result(out, CONN_TEST_PROTOCOL, "SMTP: %s%s%s",
                   errbuf[0] ? errbuf : curl_easy_strerror(rc), p.last_reply[0] ? " — " : "",
                   p.last_reply);
        break;
    }
    curl_easy_cleanup(h); /* QUIT */
    return 0;
}
