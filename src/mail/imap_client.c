/* imap_client.c — one IMAP connection on libevent + OpenSSL; see imap_client.h for the states.
 * Commands carrying credentials are never logged. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sodium.h>
#include "mail/imap_client.h"
#include "util/error.h"
#include "util/strbuf.h"

enum client_state {
    ST_NEW,
    ST_CONNECTING,
    ST_GREETING,
    ST_STARTTLS,
    ST_TLS_HANDSHAKE,
    ST_CAPABILITY,
    ST_AUTH,
    ST_READY,
    ST_CLOSED,
};

struct imap_client {
    struct event_base *base;
    SSL_CTX *ssl_ctx;
    struct bufferevent *bev;
    struct evdns_base *dns; /* NULL: blocking getaddrinfo */
    imap_parser *parser;
    char *host, *username, *password;
    uint16_t port;
    enum imap_security security;
    bool xoauth2;
    unsigned connect_timeout, command_timeout;
    imap_client_events ev;
    void *arg;
    enum client_state state;
    /* the command in flight (done != NULL), and one more sent behind it
     * (imap_client_command_next; next_done != NULL only while done is set) */
    unsigned tag_seq;
    char tag[16];
    imap_done_cb done;
    void *done_arg;
    char next_tag[16];
    imap_done_cb next_done;
    void *next_arg;
    bool idling;      /* IDLE sent and the server said "+" */
    bool idle_sent;   /* IDLE command outstanding */
    char *auth_continuation; /* base64 to send on "+" (AUTHENTICATE without SASL-IR) */
    char *caps;       /* " CAP1 CAP2 ... " upper-case, for has_capability; NULL: none yet */
    int depth;        /* callbacks running; free is deferred while > 0 */
    bool free_pending;
};

static void fail(imap_client *c, enum imap_client_error kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void client_destroy(imap_client *c);

SSL_CTX *imap_client_ssl_ctx(const char *ca_file, char *why, size_t why_len)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        snprintf(why, why_len, "cannot create a TLS context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_default_verify_paths(ctx);
    /* Release read/write buffers while a connection is idle (thousands of IDLE sessions). */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    /* No session resumption: each connection lives long and none is resumed, so neither keep
     * sessions nor ask servers for tickets (each one parsed and kept per connection). */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    if (ca_file && *ca_file && SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
        snprintf(why, why_len, "cannot load CA file %s", ca_file);
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

imap_client *imap_client_new(struct event_base *base, SSL_CTX *ssl_ctx,
                             const imap_client_cfg *cfg, const imap_client_events *ev, void *arg)
{
    imap_client *c = xcalloc(1, sizeof(*c));
    c->base = base;
    c->ssl_ctx = ssl_ctx;
    c->host = xstrdup(cfg->host ? cfg->host : "");
    c->username = xstrdup(cfg->username ? cfg->username : "");
    c->password = xstrdup(cfg->password ? cfg->password : "");
    c->port = cfg->port;
    c->security = cfg->security;
    c->xoauth2 = cfg->xoauth2;
    c->dns = cfg->dns;
    c->connect_timeout = cfg->connect_timeout ? cfg->connect_timeout : 30;
    c->command_timeout = cfg->command_timeout ? cfg->command_timeout : 60;
    c->ev = *ev;
    c->arg = arg;
    c->state = ST_NEW;
    /* A UID SEARCH of a big mailbox is one long line (about 7 bytes per UID): allow 8 MiB.
     * Memory grows only with bytes that actually arrive. */
    imap_parser_limits lim = {.max_line = 8u << 20, .max_buffered = 16u << 20,
                              /* a SEARCH of a 100,000-message mailbox is one list of UIDs
                               * (bench/sync); the line limit still bounds it */
                              .max_list_args = 4u << 20};
    c->parser = imap_parser_new(&lim);
    return c;
}

static void client_destroy(imap_client *c)
{
    if (c->bev) bufferevent_free(c->bev);
    imap_parser_free(&c->parser);
    free(c->caps);
    free(c->host);
    free(c->username);
    if (c->password) {
        sodium_memzero(c->password, strlen(c->password));
        free(c->password);
    }
    if (c->auth_continuation) {
        sodium_memzero(c->auth_continuation, strlen(c->auth_continuation));
        free(c->auth_continuation);
    }
    free(c);
}

void imap_client_free(imap_client **cp)
{
    if (!cp || !*cp) return;
    imap_client *c = *cp;
    *cp = NULL;
    if (c->depth > 0) {
        c->free_pending = true;
        c->state = ST_CLOSED;
        if (c->bev) bufferevent_disable(c->bev, EV_READ | EV_WRITE);
        return;
    }
    client_destroy(c);
}

void imap_client_settle(struct event_base *base)
{
    /* A finalizer may queue another (a TLS filter releases its socket bufferevent last), so
     * a few rounds; each one runs everything active, and no new work is queued once the
     * clients are gone. */
    for (int round = 0; round < 8; round++) {
        if (event_base_get_num_events(base, EVENT_BASE_COUNT_ACTIVE) == 0) return;
        event_base_loop(base, EVLOOP_NONBLOCK);
    }
}

/* Callback bracket: a callback may free the client; free happens after it returns. */
#define ENTER(c) ((c)->depth++)
static bool leave(imap_client *c)
{
    c->depth--;
    if (c->depth == 0 && c->free_pending) {
        client_destroy(c);
        return false;
    }
    return !c->free_pending && c->state != ST_CLOSED;
}

static void fail(imap_client *c, enum imap_client_error kind, const char *fmt, ...)
{
    if (c->state == ST_CLOSED) return;
    char reason[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    c->state = ST_CLOSED;
    if (c->bev) bufferevent_disable(c->bev, EV_READ | EV_WRITE);
    ENTER(c);
    if (c->ev.on_error) c->ev.on_error(c, kind, reason, c->arg);
    leave(c);
}

static void set_read_timeout(imap_client *c, unsigned seconds)
{
    struct timeval tv = {.tv_sec = seconds, .tv_usec = 0};
    struct timeval wtv = {.tv_sec = c->command_timeout, .tv_usec = 0};
    bufferevent_set_timeouts(c->bev, seconds ? &tv : NULL, &wtv);
}

static int send_line(imap_client *c, const char *line)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (evbuffer_add(out, line, strlen(line)) < 0 || evbuffer_add(out, "\r\n", 2) < 0) return -1;
    return 0;
}

/* Write "<new tag> <command>\r\n" and put the tag in tag. */
static int write_command(imap_client *c, const char *command, char tag[16])
{
    if (c->state == ST_CLOSED || !c->bev) return -1;
    if (strpbrk(command, "\r\n")) return -1;
    snprintf(tag, 16, "m%u", ++c->tag_seq);
    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (evbuffer_add_printf(out, "%s %s\r\n", tag, command) < 0) return -1;
    set_read_timeout(c, c->command_timeout);
    return 0;
}

static int send_command(imap_client *c, const char *command, imap_done_cb done, void *arg)
{
    if (c->done || write_command(c, command, c->tag) < 0) return -1;
    c->done = done;
    c->done_arg = arg;
    return 0;
}

int imap_client_command(imap_client *c, const char *command, imap_done_cb done, void *arg)
{
    if (c->state != ST_READY || c->idle_sent) return -1;
    return send_command(c, command, done, arg);
}

int imap_client_command_next(imap_client *c, const char *command, imap_done_cb done, void *arg)
{
    if (c->state != ST_READY || c->idle_sent) return -1;
    if (!c->done) return send_command(c, command, done, arg);
    if (c->next_done || write_command(c, command, c->next_tag) < 0) return -1;
    c->next_done = done;
    c->next_arg = arg;
    return 0;
}

bool imap_client_has_capability(const imap_client *c, const char *cap)
{
    char needle[128];
    size_t n = strlen(cap);
    if (n + 3 > sizeof(needle) || !c->caps) return false;
    needle[0] = ' ';
    for (size_t i = 0; i < n; i++) needle[i + 1] = (char)toupper((unsigned char)cap[i]);
    needle[n + 1] = ' ';
    needle[n + 2] = '\0';
    return strstr(c->caps, needle) != NULL;
}

/* Replace the capability list from args (skipping a leading "CAPABILITY" atom). */
static void store_caps(imap_client *c, const imap_arg *args, size_t n)
{
    strbuf sb;
    strbuf_init(&sb, 16 * 1024);
    strbuf_addstr(&sb, " ");
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *s = imap_arg_str(&args[i], &len);
        if (!s || args[i].type != IMAP_ARG_ATOM) continue;
        if (i == 0 && imap_arg_is_atom(&args[i], "CAPABILITY")) continue;
        for (size_t k = 0; k < len; k++) {
            char u = (char)toupper((unsigned char)s[k]);
            if (strbuf_add(&sb, &u, 1) < 0) break;
        }
        if (strbuf_addstr(&sb, " ") < 0) break;
    }
    free(c->caps); /* kept at its length: thousands of idle connections hold one */
    c->caps = xstrndup(sb.buf, sb.len);
    strbuf_release(&sb);
}

/* ---- authentication ---------------------------------------------------------------------- */

static char *b64(const unsigned char *data, size_t len)
{
    size_t n = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    char *out = xmalloc(n);
    sodium_bin2base64(out, n, data, len, sodium_base64_VARIANT_ORIGINAL);
    return out;
}

int imap_quote(const char *s, char *out, size_t outlen)
{
    size_t o = 0;
    if (outlen < 3) return -1;
    out[o++] = '"';
    for (; *s; s++) {
        if (*s == '\r' || *s == '\n') return -1;
        if (*s == '"' || *s == '\\') {
            if (o + 2 >= outlen) return -1;
            out[o++] = '\\';
        }
        if (o + 2 >= outlen) return -1;
        out[o++] = *s;
    }
    out[o++] = '"';
    out[o] = '\0';
    return 0;
}

static void auth_done(imap_client *c, imap_status st, const imap_response *r, void *arg)
{
    (void)arg;
    if (st != IMAP_STATUS_OK) {
        fail(c, IMAP_CLIENT_ERR_AUTH, "the server refused the credentials: %s",
             r && r->text && *r->text ? r->text : imap_status_name(st));
        return;
    }
    if (r && imap_response_code_is(r, "CAPABILITY")) store_caps(c, r->code, r->ncode);
    c->state = ST_READY;
    set_read_timeout(c, 0);
    if (c->ev.on_ready) c->ev.on_ready(c, c->arg);
}

static void start_auth(imap_client *c)
{
    c->state = ST_AUTH;
    char *cmd = NULL;
    if (c->xoauth2) {
        char *raw = xasprintf("user=%s\001auth=Bearer %s\001\001", c->username, c->password);
        char *enc = b64((const unsigned char *)raw, strlen(raw));
        sodium_memzero(raw, strlen(raw));
        free(raw);
        cmd = xasprintf("AUTHENTICATE XOAUTH2 %s", enc);
        sodium_memzero(enc, strlen(enc));
        free(enc);
    } else if (imap_client_has_capability(c, "AUTH=PLAIN")) {
        size_t ul = strlen(c->username), pl = strlen(c->password);
        unsigned char *raw = xmalloc(ul + pl + 2);
        raw[0] = '\0';
        memcpy(raw + 1, c->username, ul);
        raw[ul + 1] = '\0';
        memcpy(raw + ul + 2, c->password, pl);
        char *enc = b64(raw, ul + pl + 2);
        sodium_memzero(raw, ul + pl + 2);
        free(raw);
        if (imap_client_has_capability(c, "SASL-IR")) {
            cmd = xasprintf("AUTHENTICATE PLAIN %s", enc);
            sodium_memzero(enc, strlen(enc));
            free(enc);
        } else {
            cmd = xstrdup("AUTHENTICATE PLAIN");
            c->auth_continuation = enc;
        }
    } else if (imap_client_has_capability(c, "LOGINDISABLED")) {
        fail(c, IMAP_CLIENT_ERR_AUTH,
             "the server refuses LOGIN on this connection and offers no AUTH=PLAIN; use TLS");
        return;
    } else {
        char u[1024], p[1024];
        if (imap_quote(c->username, u, sizeof(u)) < 0 || imap_quote(c->password, p, sizeof(p)) < 0) {
            fail(c, IMAP_CLIENT_ERR_AUTH, "the user name or password cannot be sent with LOGIN");
            return;
        }
        cmd = xasprintf("LOGIN %s %s", u, p);
        sodium_memzero(p, sizeof(p));
    }
    int rc = send_command(c, cmd, auth_done, NULL);
    sodium_memzero(cmd, strlen(cmd));
    free(cmd);
    if (rc < 0) fail(c, IMAP_CLIENT_ERR_PROTOCOL, "cannot send the authentication command");
}

/* ---- TLS --------------------------------------------------------------------------------- */

static SSL *new_ssl(imap_client *c)
{
    SSL *ssl = SSL_new(c->ssl_ctx);
    if (!ssl) return NULL;
    struct in6_addr a6;
    struct in_addr a4;
    int is_ip = inet_pton(AF_INET, c->host, &a4) == 1 || inet_pton(AF_INET6, c->host, &a6) == 1;
    X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
    if (is_ip) {
        X509_VERIFY_PARAM_set1_ip_asc(param, c->host);
    } else {
        SSL_set_tlsext_host_name(ssl, c->host);
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        X509_VERIFY_PARAM_set1_host(param, c->host, 0);
    }
    return ssl;
}

static const char *tls_reason(imap_client *c, char *buf, size_t len)
{
    SSL *ssl = c->bev ? bufferevent_openssl_get_ssl(c->bev) : NULL;
    long v = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
    if (v != X509_V_OK) {
        snprintf(buf, len, "TLS certificate of %s not trusted: %s", c->host,
                 X509_verify_cert_error_string(v));
        return buf;
    }
    unsigned long e = c->bev ? bufferevent_get_openssl_error(c->bev) : 0;
    if (e) {
        char es[256];
        ERR_error_string_n(e, es, sizeof(es));
        snprintf(buf, len, "TLS error with %s: %s", c->host, es);
        return buf;
    }
    return NULL;
}

static void on_read(struct bufferevent *bev, void *arg);
static void on_event(struct bufferevent *bev, short what, void *arg);

static void starttls_done(imap_client *c, imap_status st, const imap_response *r, void *arg)
{
    (void)arg;
    (void)r;
    if (st != IMAP_STATUS_OK) {
        fail(c, IMAP_CLIENT_ERR_TLS, "the server refused STARTTLS");
        return;
    }
    /* Nothing may follow the tagged OK in plain text (STARTTLS command injection). */
    if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0) {
        fail(c, IMAP_CLIENT_ERR_PROTOCOL, "the server sent data after STARTTLS");
        return;
    }
    /* The socket's own timeouts would keep firing under the TLS filter: the filter carries
     * them from now on. */
    bufferevent_set_timeouts(c->bev, NULL, NULL);
    SSL *ssl = new_ssl(c);
    struct bufferevent *tls =
        ssl ? bufferevent_openssl_filter_new(c->base, c->bev, ssl, BUFFEREVENT_SSL_CONNECTING,
                                             BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS)
            : NULL;
    if (!tls) {
        /* With BEV_OPT_CLOSE_ON_FREE libevent (2.1.9 on) frees the SSL itself when it cannot
         * make the bufferevent: freeing it here too would be a double free. */
        fail(c, IMAP_CLIENT_ERR_TLS, "cannot start TLS");
        return;
    }
    c->bev = tls;
    c->state = ST_TLS_HANDSHAKE;
    bufferevent_setcb(tls, on_read, NULL, on_event, c);
    set_read_timeout(c, c->connect_timeout);
    bufferevent_enable(tls, EV_READ | EV_WRITE);
}

static void capability_done(imap_client *c, imap_status st, const imap_response *r, void *arg)
{
    (void)arg;
    (void)r;
    if (st != IMAP_STATUS_OK) {
        fail(c, IMAP_CLIENT_ERR_PROTOCOL, "CAPABILITY failed");
        return;
    }
    start_auth(c);
}

/* After the greeting or the TLS handshake of STARTTLS: capabilities, then authenticate. */
static void after_greeting(imap_client *c)
{
    if (c->security == IMAP_SEC_STARTTLS && c->state == ST_GREETING) {
        c->state = ST_STARTTLS;
        if (send_command(c, "STARTTLS", starttls_done, NULL) < 0)
            fail(c, IMAP_CLIENT_ERR_PROTOCOL, "cannot send STARTTLS");
        return;
    }
    c->state = ST_CAPABILITY;
    if (c->caps) {
        start_auth(c);
        return;
    }
    if (send_command(c, "CAPABILITY", capability_done, NULL) < 0)
        fail(c, IMAP_CLIENT_ERR_PROTOCOL, "cannot send CAPABILITY");
}

/* ---- reading ----------------------------------------------------------------------------- */

static void handle_response(imap_client *c, const imap_response *r)
{
    switch (r->kind) {
    case IMAP_RESP_CONTINUATION:
        if (c->idle_sent) {
            c->idling = true;
            set_read_timeout(c, 0); /* the session re-issues IDLE itself before 29 minutes */
        } else if (c->auth_continuation) {
            send_line(c, c->auth_continuation);
            sodium_memzero(c->auth_continuation, strlen(c->auth_continuation));
            free(c->auth_continuation);
            c->auth_continuation = NULL;
        } else if (c->state == ST_AUTH) {
            send_line(c, ""); /* SASL error challenge (XOAUTH2): finish the exchange */
        }
        return;
    case IMAP_RESP_TAGGED:
        if (!c->done || strcmp(r->tag, c->tag) != 0) {
            fail(c, IMAP_CLIENT_ERR_PROTOCOL, "unexpected tagged response %s", r->tag);
            return;
        }
        {
            imap_done_cb done = c->done;
            void *arg = c->done_arg;
            /* the command sent behind it is now the one in flight (answers come in order) */
            c->done = c->next_done;
            c->done_arg = c->next_arg;
            memcpy(c->tag, c->next_tag, sizeof(c->tag));
            c->next_done = NULL;
            c->next_arg = NULL;
            c->idle_sent = c->idling = false;
            if (c->state == ST_READY && !c->done) set_read_timeout(c, 0);
            done(c, r->status, r, arg);
        }
        return;
    case IMAP_RESP_UNTAGGED:
        if (r->status == IMAP_STATUS_BYE) {
            fail(c, IMAP_CLIENT_ERR_PROTOCOL, "the server closed the session: %s", r->text);
            return;
        }
        if (c->state == ST_GREETING || c->state == ST_CONNECTING) {
            if (r->status != IMAP_STATUS_OK && r->status != IMAP_STATUS_PREAUTH) {
                fail(c, IMAP_CLIENT_ERR_PROTOCOL, "unexpected greeting: %s", r->text ? r->text : "");
                return;
            }
            if (imap_response_code_is(r, "CAPABILITY")) store_caps(c, r->code, r->ncode);
            after_greeting(c);
            return;
        }
        if (r->status != IMAP_STATUS_NONE && imap_response_code_is(r, "CAPABILITY"))
            store_caps(c, r->code, r->ncode);
        if (imap_response_is_data(r, "CAPABILITY")) {
            store_caps(c, r->args, r->nargs);
            return;
        }
        if (c->ev.on_untagged) c->ev.on_untagged(c, r, c->arg);
        return;
    }
}

/* Take every complete response out of the parser. false when the client closed, is being
 * freed or switched to TLS (the caller then stops reading from bev). */
static bool drain_responses(imap_client *c, struct bufferevent *bev)
{
    for (;;) {
        imap_response *r = NULL;
        mf_error err;
        enum imap_parse_result res = imap_parser_next(c->parser, &r, &err);
        if (res == IMAP_PARSE_NEED_MORE) break;
        if (res == IMAP_PARSE_ERROR) {
            fail(c, IMAP_CLIENT_ERR_PROTOCOL, "unreadable answer from %s: %s", c->host,
                 err.message);
            break;
        }
        handle_response(c, r);
        if (c->state == ST_CLOSED || c->free_pending || c->bev != bev) break;
    }
    return c->state != ST_CLOSED && !c->free_pending && c->bev == bev;
}

#define DIRECT_READ_BYTES (64 * 1024)
#define DIRECT_READ_ROUNDS 16 /* then back to the loop: other connections get their turn */

/* Plain connections only: libevent 2.1 reads at most 4,096 bytes per read(), so a backfill of a
 * gigabyte cost a quarter of a million read() and epoll_wait() calls. Once the bufferevent's
 * own read has woken us and its bytes are parsed, read what else the socket holds straight into
 * the parser, 64 KB at a time. End of stream and errors are left for the bufferevent to see on
 * its next read. */
static void read_direct(imap_client *c, struct bufferevent *bev)
{
    evutil_socket_t fd = bufferevent_getfd(bev);
    if (fd < 0) return;
    char *buf = xmalloc(DIRECT_READ_BYTES);
    for (int i = 0; i < DIRECT_READ_ROUNDS; i++) {
        ssize_t n = recv(fd, buf, DIRECT_READ_BYTES, MSG_DONTWAIT);
        if (n <= 0) break;
        imap_parser_feed(c->parser, buf, (size_t)n); /* a failure shows in imap_parser_next */
        if (!drain_responses(c, bev) || n < DIRECT_READ_BYTES) break;
    }
    free(buf);
}

static void on_read(struct bufferevent *bev, void *arg)
{
    imap_client *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    ENTER(c);
    bool open = true;
    while (open && c->state != ST_CLOSED && !c->free_pending && evbuffer_get_length(in) > 0) {
        /* STARTTLS: stop at the tagged answer so no plaintext byte behind it is consumed. */
        size_t n = evbuffer_get_contiguous_space(in);
        if (c->state == ST_STARTTLS) {
            struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
            if (eol.pos < 0) break;
            n = (size_t)eol.pos + 1;
        }
        unsigned char *p = evbuffer_pullup(in, (ev_ssize_t)n);
        imap_parser_feed(c->parser, p, n); /* a failure shows in imap_parser_next */
        evbuffer_drain(in, n);
        open = drain_responses(c, bev);
    }
    /* Mid-command on a plain connection (a FETCH streaming messages): read the rest directly. */
    if (open && c->security == IMAP_SEC_NONE && c->state == ST_READY && c->done && !c->idle_sent &&
        evbuffer_get_length(in) == 0)
        read_direct(c, bev);
    /* Quiet now (IDLE, or ready with no command): the parser's scratch memory goes back. */
    if (c->state == ST_READY && !c->free_pending && (c->idling || !c->done))
        imap_parser_shrink(c->parser);
    leave(c);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    imap_client *c = arg;
    char buf[512];
    ENTER(c);
    if (what & BEV_EVENT_CONNECTED) {
        if (c->state == ST_CONNECTING) {
            c->state = ST_GREETING;
            set_read_timeout(c, c->connect_timeout);
        } else if (c->state == ST_TLS_HANDSHAKE) {
            free(c->caps); /* forget what was said before TLS */
            c->caps = NULL;
            c->state = ST_CAPABILITY;
            after_greeting(c);
        }
    } else if (what & BEV_EVENT_TIMEOUT) {
        fail(c, IMAP_CLIENT_ERR_TIMEOUT, "%s:%u did not answer in time", c->host, c->port);
    } else if (what & BEV_EVENT_ERROR) {
        int sock_err = EVUTIL_SOCKET_ERROR();
        int dns = bufferevent_socket_get_dns_error(c->bev);
        /* A refused or reset connection is a network error even under TLS (OpenSSL then only
         * reports a bare system-call failure). */
        const char *tls = (c->state == ST_CONNECTING && sock_err) ? NULL : tls_reason(c, buf, sizeof(buf));
        if (tls)
            fail(c, IMAP_CLIENT_ERR_TLS, "%s", tls);
        else if (dns)
            fail(c, IMAP_CLIENT_ERR_NETWORK, "cannot resolve %s: %s", c->host,
                 evutil_gai_strerror(dns));
        else
            fail(c, IMAP_CLIENT_ERR_NETWORK, "connection to %s:%u failed: %s", c->host, c->port,
                 evutil_socket_error_to_string(sock_err));
    } else if (what & BEV_EVENT_EOF) {
        fail(c, IMAP_CLIENT_ERR_NETWORK, "%s:%u closed the connection", c->host, c->port);
    }
    leave(c);
}

int imap_client_connect(imap_client *c)
{
    if (c->state != ST_NEW) return -1;
    if (c->security == IMAP_SEC_TLS) {
        SSL *ssl = new_ssl(c);
        if (!ssl) return -1;
        /* The bufferevent owns the SSL from here (BEV_OPT_CLOSE_ON_FREE), also when it cannot
         * be made: libevent frees it then. */
        c->bev = bufferevent_openssl_socket_new(c->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
                                                BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    } else {
        c->bev = bufferevent_socket_new(c->base, -1, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    }
    if (!c->bev) return -1;
    c->state = ST_CONNECTING;
    bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
    set_read_timeout(c, c->connect_timeout);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    /* With a dns base the name is resolved on the loop, asynchronously; without, by a blocking
     * getaddrinfo. IP addresses need no lookup either way. */
    if (bufferevent_socket_connect_hostname(c->bev, c->dns, AF_UNSPEC, c->host, c->port) < 0) {
        fail(c, IMAP_CLIENT_ERR_NETWORK, "cannot connect to %s:%u", c->host, c->port);
        return 0;
    }
    return 0;
}

int imap_client_idle(imap_client *c, imap_done_cb done, void *arg)
{
    if (c->state != ST_READY || c->done) return -1;
    if (send_command(c, "IDLE", done, arg) < 0) return -1;
    c->idle_sent = true;
    c->idling = false;
    return 0;
}

int imap_client_idle_done(imap_client *c)
{
    if (!c->idle_sent || c->state == ST_CLOSED) return -1;
    set_read_timeout(c, c->command_timeout);
    return send_line(c, "DONE");
}

bool imap_client_is_idling(const imap_client *c)
{
    return c->idle_sent;
}
