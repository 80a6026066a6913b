/* smtp_sender.c — SMTP submission with libcurl's multi interface on a private libevent base in
 * one worker thread; results go back to the caller's base. See smtp_sender.h for the states,
 * the threading, connection reuse and how per-recipient replies are read. Nothing here logs:
 * credentials and the AUTH exchange never leave the easy handle. */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <curl/curl.h>
#include <event2/event.h>
#include <sodium.h>
#include "mail/smtp_sender.h"
#include "util/error.h"
#include "util/strbuf.h"

#if LIBCURL_VERSION_NUM < 0x074500
#error "libcurl >= 7.69 is needed (CURLOPT_MAIL_RCPT_ALLOWFAILS)"
#endif
#if LIBCURL_VERSION_NUM < 0x080200
/* Spelled with three L before curl 8.2. */
#define MF_CURLOPT_RCPT_ALLOWFAILS CURLOPT_MAIL_RCPT_ALLLOWFAILS
#else
#define MF_CURLOPT_RCPT_ALLOWFAILS CURLOPT_MAIL_RCPT_ALLOWFAILS
#endif

#define MAX_RCPTS 1000
#define MAX_ADDR 256
#define REPLY_TEXT_MAX 1024 /* kept of one reply (continuation lines joined) */
#define LINE_MAX_BYTES 2048 /* one reply line from the server */
#define REUSE_MAX_IDLE 60   /* seconds an idle connection may wait for its next message */
#define STOP_GRACE_MS 2000  /* smtp_sender_free waits this long for polite QUITs */

/* The SMTP command the next server reply answers (from what curl sends). */
enum cmd {
    CMD_GREETING = 0,
    CMD_EHLO,
    CMD_STARTTLS,
    CMD_AUTH,
    CMD_MAIL,
    CMD_RCPT,
    CMD_DATA,
    CMD_EOD, /* the message and "." were (being) sent: the next reply is the verdict */
    CMD_QUIT,
    CMD_OTHER,
};

typedef struct account account;

/* What libcurl matches a cached connection on (scheme, host, port, user; and the secret) is
 * less than what tells our accounts apart: libcurl 7.88 reuses a plaintext connection for a
 * transfer that demands STARTTLS, and a connection verified against one CA file for a transfer
 * configured with another (both seen in the tests). So each such route has one owning account
 * key whose transfers may reuse connections; a transfer of any other account on the same route
 * gets a fresh connection that is closed after it (CURLOPT_FRESH_CONNECT + FORBID_REUSE).
 * Ownership passes on once the owner has had nothing running for longer than a connection may
 * stay idle (CURLOPT_MAXAGE_CONN), i.e. when none of its connections can be reused any more. */
typedef struct route {
    struct route *next;
    char *tuple, *owner;
    unsigned running; /* the owner's transfers */
    double idle_since;
} route;

typedef struct job {
    struct job *next;          /* incoming / account queue / finished list */
    struct job *rprev, *rnext; /* running list (worker) */
    smtp_sender *s;
    account *acct;
    route *route; /* set while an owner's transfer runs */
    /* copied settings */
    char *host, *user, *pass, *token, *ca_file, *key;
    uint16_t port;
    enum smtp_security sec;
    unsigned acct_max;
    char *mail_from; /* "<addr>" */
    size_t n;
    char **rcpts; /* as submitted */
    struct curl_slist *rcpt_list;
    unsigned char *data;
    size_t len, off;
    smtp_done_cb cb;
    void *arg;
    /* the transfer (worker) */
    CURL *easy;
    char errbuf[CURL_ERROR_SIZE];
    enum cmd cmd;
    bool auth_open;  /* AUTH sent, no final non-334 reply yet */
    long rcpt_idx;   /* index of the last RCPT sent, -1 before */
    strbuf line;     /* partial reply line */
    strbuf cur_text; /* text of the reply being read (continuation lines) */
    int last_code;
    enum cmd last_cmd;
    strbuf last_text;
    bool got_354, eod_replied;
    unsigned nreplies;
    int *rcpt_code;
    char **rcpt_text;
    /* the result */
    smtp_result res;
    smtp_rcpt_result *rres;
    char *reason;
} job;

struct account {
    account *prev, *next;
    char *key;
    unsigned max, running;
    job *qhead, *qtail;
};

typedef struct sockctx {
    struct sockctx *prev, *next;
    curl_socket_t fd;
    struct event *ev;
} sockctx;

struct smtp_sender {
    /* caller side */
    struct event_base *base;
    struct event *done_ev;
    int done_fd;
    int depth;
    bool free_pending;
    /* shared, under mu */
    pthread_mutex_t mu;
    job *in_head, *in_tail;
    job *out_head, *out_tail;
    bool stopping;
    unsigned queued; /* incoming + account queues */
    smtp_sender_stats stats;
    /* settings (read-only after new) */
    unsigned max_conn, max_queued, connect_timeout, reply_timeout, transfer_timeout;
    char *ehlo_name;
    /* worker only */
    pthread_t thread;
    struct event_base *wbase;
    struct event *wake_ev, *timer_ev;
    int wake_fd;
    CURLM *multi;
    CURLSH *share;
    account *acc_head, *acc_tail;
    route *routes;
    job *run_head;
    sockctx *socks;
    unsigned running;
    /* every socket libcurl has open (CURLOPT_OPENSOCKETFUNCTION / CLOSESOCKETFUNCTION), so
     * that smtp_sender_free can cut connections whose server does not answer (libcurl waits
     * for the replies to "." and QUIT with a blocking poll); under sock_mu */
    pthread_mutex_t sock_mu;
    int *open_fds;
    size_t n_open, cap_open;
    bool socks_cut;
};

/* ---- small helpers ------------------------------------------------------------------------ */

static char *dup_or_null(const char *s)
{
    return s && *s ? xstrdup(s) : NULL;
}

static void zfree(char *p)
{
    if (!p) return;
    sodium_memzero(p, strlen(p));
    free(p);
}

static void fd_signal(int fd)
{
    uint64_t one = 1;
    ssize_t r;
    do {
        r = write(fd, &one, sizeof(one));
    } while (r < 0 && errno == EINTR);
    /* EAGAIN: the counter is already non-zero, the reader will wake anyway. */
}

static void fd_drain(int fd)
{
    uint64_t v;
    ssize_t r;
    do {
        r = read(fd, &v, sizeof(v));
    } while (r < 0 && errno == EINTR);
}

static bool valid_addr(const char *a)
{
    size_t n = strlen(a);
    if (n > MAX_ADDR) return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)a[i];
        if (c < 0x20 || c == 0x7f || c == '<' || c == '>') return false;
    }
    return true;
}

static bool valid_host(const char *h)
{
    size_t n = strlen(h);
    if (n == 0 || n > 253) return false;
    if (strchr(h, ':')) { /* only as an IPv6 address */
        struct in6_addr a6;
        return inet_pton(AF_INET6, h, &a6) == 1;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];
        if (!isalnum(c) && c != '.' && c != '-' && c != ':' && c != '_') return false;
    }
    return true;
}

static bool is_loopback(const char *host)
{
    if (strcasecmp(host, "localhost") == 0) return true;
    struct in_addr a4;
    if (inet_pton(AF_INET, host, &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
    struct in6_addr a6;
    if (inet_pton(AF_INET6, host, &a6) == 1) return IN6_IS_ADDR_LOOPBACK(&a6);
    return false;
}

/* Add as much of p[0..n) as fits under sb's maximum. */
static void add_capped(strbuf *sb, const char *p, size_t n)
{
    if (sb->len >= sb->max) return;
    size_t room = sb->max - sb->len;
    (void)strbuf_add(sb, p, n < room ? n : room);
}

const char *smtp_outcome_name(enum smtp_outcome o)
{
    switch (o) {
    case SMTP_SENT:
        return "sent";
    case SMTP_TEMPFAIL:
        return "tempfail";
    case SMTP_PERMFAIL:
        return "permfail";
    }
    return "?";
}

const char *smtp_failure_name(enum smtp_failure f)
{
    static const char *const names[] = {"none", "network",  "timeout", "tls",
                                        "auth", "greeting", "sender",  "recipients",
                                        "data", "protocol", "local"};
    return (size_t)f < sizeof(names) / sizeof(names[0]) ? names[f] : "?";
}

/* ---- jobs ---------------------------------------------------------------------------------- */

static void job_free(job *j)
{
    if (!j) return;
    if (j->easy) curl_easy_cleanup(j->easy);
    curl_slist_free_all(j->rcpt_list);
    free(j->host);
    zfree(j->user);
    zfree(j->pass);
    zfree(j->token);
    free(j->ca_file);
    free(j->key);
    free(j->mail_from);
    for (size_t i = 0; i < j->n; i++) {
        free(j->rcpts[i]);
        if (j->rcpt_text) free(j->rcpt_text[i]);
    }
    free(j->rcpts);
    free(j->rcpt_text);
    free(j->rcpt_code);
    if (j->data) sodium_memzero(j->data, j->len); /* message bodies are private too */
    free(j->data);
    strbuf_release(&j->line);
    strbuf_release(&j->cur_text);
    strbuf_release(&j->last_text);
    free(j->rres);
    free(j->reason);
    free(j);
}

/* ---- reading the dialogue (CURLOPT_DEBUGFUNCTION) ------------------------------------------- */

static bool verb_is(const char *p, size_t n, const char *verb)
{
    size_t v = strlen(verb);
    if (n < v || strncasecmp(p, verb, v) != 0) return false;
    return n == v || p[v] == ' ' || p[v] == '\r' || p[v] == '\n';
}

/* A command line curl sent. During AUTH nothing of it is looked at (it is a credential). */
static void on_client_line(job *j, const char *p, size_t n)
{
    if (j->auth_open) return;
    strbuf_reset(&j->cur_text);
    if (verb_is(p, n, "EHLO") || verb_is(p, n, "HELO"))
        j->cmd = CMD_EHLO;
    else if (verb_is(p, n, "STARTTLS"))
        j->cmd = CMD_STARTTLS;
    else if (verb_is(p, n, "AUTH")) {
        j->cmd = CMD_AUTH;
        j->auth_open = true;
    } else if (verb_is(p, n, "MAIL"))
        j->cmd = CMD_MAIL;
    else if (verb_is(p, n, "RCPT")) {
        j->cmd = CMD_RCPT;
        j->rcpt_idx++;
    } else if (verb_is(p, n, "DATA"))
        j->cmd = CMD_DATA;
    else if (verb_is(p, n, "QUIT"))
        j->cmd = CMD_QUIT;
    else
        j->cmd = CMD_OTHER;
}

/* A complete (final) reply to j->cmd. */
static void on_reply(job *j, int code, const char *text, size_t tlen)
{
    j->nreplies++;
    if (j->cmd == CMD_AUTH && code == 334) return; /* a challenge: AUTH goes on */
    /* curl closes a connection after a failed transaction, or an idle one before opening a
     * new one: "221 Bye" is not the verdict, and a reply after it is a new greeting */
    if (j->cmd == CMD_QUIT) {
        j->cmd = CMD_GREETING;
        return;
    }
    j->last_code = code;
    j->last_cmd = j->cmd;
    strbuf_reset(&j->last_text);
    add_capped(&j->last_text, text, tlen);
    switch (j->cmd) {
    case CMD_AUTH:
        j->auth_open = false;
        break;
    case CMD_RCPT:
        if (j->rcpt_idx >= 0 && (size_t)j->rcpt_idx < j->n) {
            j->rcpt_code[j->rcpt_idx] = code;
            free(j->rcpt_text[j->rcpt_idx]);
            j->rcpt_text[j->rcpt_idx] = xstrndup(text, tlen);
        }
        break;
    case CMD_DATA:
        if (code == 354) {
            j->got_354 = true;
            j->cmd = CMD_EOD;
        }
        break;
    case CMD_EOD:
        j->eod_replied = true;
        break;
    default:
        break;
    }
}

static void on_server_line(job *j, const char *p, size_t n)
{
    while (n && (p[n - 1] == '\r' || p[n - 1] == '\n'))
        n--;
    if (n < 3 || !isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]) ||
        !isdigit((unsigned char)p[2]))
        return; /* not a reply line */
    int code = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
    char sep = n > 3 ? p[3] : ' ';
    if (n > 4) {
        if (j->cur_text.len) add_capped(&j->cur_text, " ", 1);
        add_capped(&j->cur_text, p + 4, n - 4);
    }
    if (sep == '-') return; /* continuation */
    on_reply(j, code, j->cur_text.buf, j->cur_text.len);
    strbuf_reset(&j->cur_text);
}

static void on_server_bytes(job *j, const char *p, size_t n)
{
    while (n) {
        const char *nl = memchr(p, '\n', n);
        size_t chunk = nl ? (size_t)(nl - p) + 1 : n;
        add_capped(&j->line, p, chunk);
        if (nl) {
            on_server_line(j, j->line.buf, j->line.len);
            strbuf_reset(&j->line);
        }
        p += chunk;
        n -= chunk;
    }
}

static int debug_cb(CURL *h, curl_infotype type, char *data, size_t size, void *userp)
{
    (void)h;
    job *j = userp;
    if (type == CURLINFO_HEADER_OUT)
        on_client_line(j, data, size);
    else if (type == CURLINFO_HEADER_IN)
        on_server_bytes(j, data, size);
    /* CURLINFO_TEXT, DATA_*, SSL_DATA_*: ignored, never printed */
    return 0;
}

static curl_socket_t open_socket_cb(void *clientp, curlsocktype purpose, struct curl_sockaddr *addr)
{
    (void)purpose;
    smtp_sender *s = clientp;
    pthread_mutex_lock(&s->sock_mu);
    curl_socket_t fd = CURL_SOCKET_BAD;
    if (!s->socks_cut) {
        fd = socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
        if (fd >= 0) {
            if (s->n_open == s->cap_open) {
                s->cap_open = s->cap_open ? 2 * s->cap_open : 16;
                s->open_fds = xrealloc(s->open_fds, s->cap_open * sizeof(int));
            }
            s->open_fds[s->n_open++] = fd;
        }
    }
    pthread_mutex_unlock(&s->sock_mu);
    return fd;
}

static int close_socket_cb(void *clientp, curl_socket_t fd)
{
    smtp_sender *s = clientp;
    pthread_mutex_lock(&s->sock_mu);
    for (size_t i = 0; i < s->n_open; i++)
        if (s->open_fds[i] == fd) {
            s->open_fds[i] = s->open_fds[--s->n_open];
            break;
        }
    int rc = close(fd);
    pthread_mutex_unlock(&s->sock_mu);
    return rc;
}

/* From the caller's thread: make every libcurl wait on a socket end now. */
static void cut_sockets(smtp_sender *s)
{
    pthread_mutex_lock(&s->sock_mu);
    s->socks_cut = true;
    for (size_t i = 0; i < s->n_open; i++)
        shutdown(s->open_fds[i], SHUT_RDWR);
    pthread_mutex_unlock(&s->sock_mu);
}

static size_t read_cb(char *buf, size_t size, size_t nitems, void *userp)
{
    job *j = userp;
    size_t want = size * nitems, left = j->len - j->off;
    if (want > left) want = left;
    memcpy(buf, j->data + j->off, want);
    j->off += want;
    return want;
}

/* ---- the result ----------------------------------------------------------------------------- */

static enum smtp_outcome outcome_of_code(int code)
{
    if (code >= 500) return SMTP_PERMFAIL;
    if (code >= 400) return SMTP_TEMPFAIL;
    return SMTP_SENT;
}

static enum smtp_failure failure_of_cmd(enum cmd c)
{
    switch (c) {
    case CMD_GREETING:
    case CMD_EHLO:
        return SMTP_FAIL_GREETING;
    case CMD_STARTTLS:
        return SMTP_FAIL_TLS;
    case CMD_AUTH:
        return SMTP_FAIL_AUTH;
    case CMD_MAIL:
        return SMTP_FAIL_SENDER;
    case CMD_RCPT:
        return SMTP_FAIL_RECIPIENTS;
    case CMD_DATA:
    case CMD_EOD:
        return SMTP_FAIL_DATA;
    default:
        return SMTP_FAIL_PROTOCOL;
    }
}

static const char *failure_sentence(enum smtp_failure f)
{
    switch (f) {
    case SMTP_FAIL_NETWORK:
        return "the connection to the SMTP server failed";
    case SMTP_FAIL_TIMEOUT:
        return "the SMTP server did not answer in time";
    case SMTP_FAIL_TLS:
        return "TLS with the SMTP server failed";
    case SMTP_FAIL_AUTH:
        return "the SMTP server refused the login";
    case SMTP_FAIL_GREETING:
        return "the SMTP server refused the session";
    case SMTP_FAIL_SENDER:
        return "the SMTP server refused the sender";
    case SMTP_FAIL_RECIPIENTS:
        return "the SMTP server refused every recipient";
    case SMTP_FAIL_DATA:
        return "the SMTP server refused the message";
    case SMTP_FAIL_PROTOCOL:
        return "the SMTP server answered something unexpected";
    case SMTP_FAIL_LOCAL:
        return "the message could not be handed to libcurl";
    case SMTP_FAIL_NONE:
        break;
    }
    return "";
}

static void classify_curl_error(CURLcode rc, enum smtp_outcome *o, enum smtp_failure *f)
{
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        *o = SMTP_TEMPFAIL;
        *f = SMTP_FAIL_TIMEOUT;
        break;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_USE_SSL_FAILED: /* STARTTLS not offered or refused */
        *o = SMTP_PERMFAIL;
        *f = SMTP_FAIL_TLS;
        break;
    case CURLE_SSL_CONNECT_ERROR:
        *o = SMTP_TEMPFAIL;
        *f = SMTP_FAIL_TLS;
        break;
    case CURLE_LOGIN_DENIED: /* e.g. no mechanism in common */
        *o = SMTP_PERMFAIL;
        *f = SMTP_FAIL_AUTH;
        break;
    case CURLE_OUT_OF_MEMORY:
    case CURLE_FAILED_INIT:
        *o = SMTP_TEMPFAIL;
        *f = SMTP_FAIL_LOCAL;
        break;
    case CURLE_WEIRD_SERVER_REPLY:
        *o = SMTP_TEMPFAIL;
        *f = SMTP_FAIL_PROTOCOL;
        break;
    default: /* resolve, connect, send, recv, got nothing, ... */
        *o = SMTP_TEMPFAIL;
        *f = SMTP_FAIL_NETWORK;
        break;
    }
}

static void build_result(job *j, CURLcode rc, long nconnects)
{
    smtp_result *r = &j->res;
    r->code = j->last_code;
    r->text = j->last_text.buf;
    r->n_rcpts = j->n;
    r->connection_reused = nconnects == 0 && j->nreplies > 0;
    r->maybe_sent = false;
    if (rc == CURLE_OK) {
        r->outcome = SMTP_SENT;
        r->failure = SMTP_FAIL_NONE;
    } else if (j->last_code >= 400) {
        r->outcome = outcome_of_code(j->last_code);
        r->failure = failure_of_cmd(j->last_cmd);
        if (r->failure == SMTP_FAIL_RECIPIENTS) {
            r->outcome = SMTP_PERMFAIL;
            for (size_t i = 0; i < j->n; i++)
                if (outcome_of_code(j->rcpt_code[i]) == SMTP_TEMPFAIL) r->outcome = SMTP_TEMPFAIL;
        }
    } else {
        classify_curl_error(rc, &r->outcome, &r->failure);
        /* Everything up to "." went out and no verdict came back. */
        r->maybe_sent = j->got_354 && !j->eod_replied && j->off == j->len;
    }

    j->rres = xcalloc(j->n ? j->n : 1, sizeof(*j->rres));
    for (size_t i = 0; i < j->n; i++) {
        smtp_rcpt_result *x = &j->rres[i];
        x->rcpt = j->rcpts[i];
        x->code = j->rcpt_code[i];
        x->text = j->rcpt_text[i] ? j->rcpt_text[i] : "";
        enum smtp_outcome own = outcome_of_code(x->code);
        /* A refused recipient keeps its own verdict; an accepted (or never asked) one shares
         * the message's fate. */
        x->outcome = x->code >= 400 ? own : r->outcome;
    }
    r->rcpts = j->rres;

    if (r->outcome == SMTP_SENT) {
        j->reason = xstrdup("");
    } else if (j->last_code >= 400) {
        j->reason =
            xasprintf("%s: %d %s", failure_sentence(r->failure), j->last_code, j->last_text.buf);
    } else {
        j->reason = xasprintf("%s: %s", failure_sentence(r->failure),
                              j->errbuf[0] ? j->errbuf : curl_easy_strerror(rc));
    }
    r->reason = j->reason;
}

/* ---- worker: accounts and scheduling -------------------------------------------------------- */

static account *account_get(smtp_sender *s, job *j)
{
    for (account *a = s->acc_head; a; a = a->next)
        if (strcmp(a->key, j->key) == 0) return a;
    account *a = xcalloc(1, sizeof(*a));
    a->key = xstrdup(j->key);
    a->max = j->acct_max;
    a->prev = s->acc_tail;
    if (s->acc_tail)
        s->acc_tail->next = a;
    else
        s->acc_head = a;
    s->acc_tail = a;
    return a;
}

static void account_unlink(smtp_sender *s, account *a)
{
    if (a->prev)
        a->prev->next = a->next;
    else
        s->acc_head = a->next;
    if (a->next)
        a->next->prev = a->prev;
    else
        s->acc_tail = a->prev;
    a->prev = a->next = NULL;
}

static void account_append(smtp_sender *s, account *a)
{
    a->prev = s->acc_tail;
    a->next = NULL;
    if (s->acc_tail)
        s->acc_tail->next = a;
    else
        s->acc_head = a;
    s->acc_tail = a;
}

static void account_free(account *a)
{
    while (a->qhead) {
        job *j = a->qhead;
        a->qhead = j->next;
        job_free(j);
    }
    free(a->key);
    free(a);
}

static double mono_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* May j reuse (and leave behind) connections? Takes the route's ownership when it is free. */
static bool route_claim(smtp_sender *s, job *j)
{
    char *tuple = xasprintf("%s|%s|%u|%s", j->sec == SMTP_SEC_TLS ? "smtps" : "smtp", j->host,
                            (unsigned)j->port, j->user ? j->user : "");
    route *r = s->routes;
    while (r && strcmp(r->tuple, tuple) != 0)
        r = r->next;
    if (!r) {
        r = xcalloc(1, sizeof(*r));
        r->tuple = tuple;
        r->next = s->routes;
        s->routes = r;
    } else {
        free(tuple);
    }
    bool expired = r->running == 0 && mono_now() - r->idle_since > REUSE_MAX_IDLE + 5;
    if (!r->owner || (strcmp(r->owner, j->key) != 0 && expired)) {
        free(r->owner);
        r->owner = xstrdup(j->key);
    }
    if (strcmp(r->owner, j->key) != 0) return false;
    r->running++;
    j->route = r;
    return true;
}

static void route_release(job *j)
{
    if (!j->route) return;
    j->route->running--;
    j->route->idle_since = mono_now();
    j->route = NULL;
}

static void routes_sweep(smtp_sender *s, bool all)
{
    double now = mono_now();
    for (route **rp = &s->routes; *rp;) {
        route *r = *rp;
        if (all || (r->running == 0 && now - r->idle_since > REUSE_MAX_IDLE + 5)) {
            *rp = r->next;
            free(r->tuple);
            free(r->owner);
            free(r);
        } else {
            rp = &r->next;
        }
    }
}

/* Hand a finished job to the caller's base. */
static void deliver(smtp_sender *s, job *j)
{
    j->next = NULL;
    pthread_mutex_lock(&s->mu);
    bool first = !s->out_head; /* else the signal that made the list non-empty is pending */
    if (s->out_tail)
        s->out_tail->next = j;
    else
        s->out_head = j;
    s->out_tail = j;
    pthread_mutex_unlock(&s->mu);
    if (first) fd_signal(s->done_fd);
}

static void finish(smtp_sender *s, job *j, CURLcode rc)
{
    long nconnects = 0;
    if (j->easy) {
        curl_easy_getinfo(j->easy, CURLINFO_NUM_CONNECTS, &nconnects);
        curl_multi_remove_handle(s->multi, j->easy);
        curl_easy_cleanup(j->easy);
        j->easy = NULL;
    }
    if (j->rprev)
        j->rprev->rnext = j->rnext;
    else if (s->run_head == j)
        s->run_head = j->rnext;
    if (j->rnext) j->rnext->rprev = j->rprev;
    j->rprev = j->rnext = NULL;
    route_release(j);
    j->acct->running--;
    s->running--;
    build_result(j, rc, nconnects);
    /* the secrets are not needed any more */
    zfree(j->pass);
    zfree(j->token);
    j->pass = j->token = NULL;
    pthread_mutex_lock(&s->mu);
    s->stats.running = s->running;
    s->stats.connections += (unsigned long)nconnects;
    pthread_mutex_unlock(&s->mu);
    deliver(s, j);
}

static int start(smtp_sender *s, job *j)
{
    j->rcpt_idx = -1;
    j->cmd = CMD_GREETING;
    j->rcpt_code = xcalloc(j->n, sizeof(int));
    j->rcpt_text = xcalloc(j->n, sizeof(char *));
    CURL *e = curl_easy_init();
    if (!e) return -1;
    j->easy = e;
    for (size_t i = 0; i < j->n; i++) {
        char *a = xasprintf("<%s>", j->rcpts[i]);
        struct curl_slist *l = curl_slist_append(j->rcpt_list, a);
        free(a);
        if (!l) return -1;
        j->rcpt_list = l;
    }

    CURLU *u = curl_url();
    if (!u) return -1;
    char *host = strchr(j->host, ':') ? xasprintf("[%s]", j->host) : xstrdup(j->host);
    char port[8];
    snprintf(port, sizeof(port), "%u", (unsigned)j->port);
    char *path = xasprintf("/%s", s->ehlo_name ? s->ehlo_name : "");
    char *url = NULL;
    int bad = curl_url_set(u, CURLUPART_SCHEME, j->sec == SMTP_SEC_TLS ? "smtps" : "smtp", 0) ||
              curl_url_set(u, CURLUPART_HOST, host, 0) ||
              curl_url_set(u, CURLUPART_PORT, port, 0) ||
              curl_url_set(u, CURLUPART_PATH, path, CURLU_URLENCODE) ||
              curl_url_get(u, CURLUPART_URL, &url, 0);
    free(host);
    free(path);
    curl_url_cleanup(u);
    if (bad) {
        curl_free(url);
        snprintf(j->errbuf, sizeof(j->errbuf), "cannot make an SMTP URL for host %s", j->host);
        return -1;
    }

    CURLcode c = CURLE_OK;
#define SET(opt, val)                                                                              \
    do {                                                                                           \
        if (c == CURLE_OK) c = curl_easy_setopt(e, opt, val);                                      \
    } while (0)
    SET(CURLOPT_URL, url);
    SET(CURLOPT_PRIVATE, j);
    SET(CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
    SET(CURLOPT_PROTOCOLS_STR, "smtp,smtps");
#else
    SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_SMTP | CURLPROTO_SMTPS));
#endif
    SET(CURLOPT_USE_SSL, (long)(j->sec == SMTP_SEC_NONE ? CURLUSESSL_NONE : CURLUSESSL_ALL));
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (j->ca_file) SET(CURLOPT_CAINFO, j->ca_file);
    SET(CURLOPT_SHARE, s->share);
    if (j->user) {
        SET(CURLOPT_USERNAME, j->user);
        if (j->token) {
            SET(CURLOPT_XOAUTH2_BEARER, j->token);
            SET(CURLOPT_LOGIN_OPTIONS, "AUTH=XOAUTH2");
        } else {
            SET(CURLOPT_PASSWORD, j->pass);
        }
        SET(CURLOPT_SASL_IR, 1L);
    }
    SET(CURLOPT_MAIL_FROM, j->mail_from);
    SET(CURLOPT_MAIL_RCPT, j->rcpt_list);
    SET(MF_CURLOPT_RCPT_ALLOWFAILS, 1L);
    SET(CURLOPT_UPLOAD, 1L);
    SET(CURLOPT_READFUNCTION, read_cb);
    SET(CURLOPT_READDATA, j);
    SET(CURLOPT_INFILESIZE_LARGE, (curl_off_t)j->len);
    SET(CURLOPT_VERBOSE, 1L); /* needed for the debug callback; it prints nothing */
    SET(CURLOPT_DEBUGFUNCTION, debug_cb);
    SET(CURLOPT_DEBUGDATA, j);
    SET(CURLOPT_ERRORBUFFER, j->errbuf);
    SET(CURLOPT_CONNECTTIMEOUT, (long)s->connect_timeout);
    SET(CURLOPT_SERVER_RESPONSE_TIMEOUT, (long)s->reply_timeout);
    SET(CURLOPT_TIMEOUT, (long)s->transfer_timeout);
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    SET(CURLOPT_OPENSOCKETFUNCTION, open_socket_cb);
    SET(CURLOPT_OPENSOCKETDATA, s);
    SET(CURLOPT_CLOSESOCKETFUNCTION, close_socket_cb);
    SET(CURLOPT_CLOSESOCKETDATA, s);
    SET(CURLOPT_MAXAGE_CONN, (long)REUSE_MAX_IDLE);
    if (!route_claim(s, j)) {
        SET(CURLOPT_FRESH_CONNECT, 1L);
        SET(CURLOPT_FORBID_REUSE, 1L);
    }
#undef SET
    curl_free(url);
    if (c != CURLE_OK) {
        snprintf(j->errbuf, sizeof(j->errbuf), "libcurl refused an option: %s",
                 curl_easy_strerror(c));
        return -1;
    }
    if (curl_multi_add_handle(s->multi, e) != CURLM_OK) return -1;
    return 0;
}

/* Start queued jobs while there are free slots, one per account per round (round robin). */
static void schedule(smtp_sender *s)
{
    bool progress = true;
    while (progress && s->running < s->max_conn) {
        progress = false;
        size_t naccts = 0;
        for (account *a = s->acc_head; a; a = a->next)
            naccts++;
        for (size_t k = 0; k < naccts && s->running < s->max_conn; k++) {
            account *a = s->acc_head;
            account_unlink(s, a);
            account_append(s, a);
            if (!a->qhead || a->running >= a->max) continue;
            job *j = a->qhead;
            a->qhead = j->next;
            if (!a->qhead) a->qtail = NULL;
            j->next = NULL;
            a->running++;
            s->running++;
            j->rnext = s->run_head;
            if (s->run_head) s->run_head->rprev = j;
            s->run_head = j;
            pthread_mutex_lock(&s->mu);
            s->queued--;
            s->stats.queued = s->queued;
            s->stats.running = s->running;
            if (s->running > s->stats.peak_running) s->stats.peak_running = s->running;
            pthread_mutex_unlock(&s->mu);
            progress = true;
            if (start(s, j) != 0) finish(s, j, CURLE_FAILED_INIT);
        }
    }
    routes_sweep(s, false);
    /* drop accounts with nothing to do */
    for (account *a = s->acc_head, *next; a; a = next) {
        next = a->next;
        if (!a->qhead && a->running == 0) {
            account_unlink(s, a);
            account_free(a);
        }
    }
}

static void check_done(smtp_sender *s)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(s->multi, &left))) {
        if (m->msg != CURLMSG_DONE) continue;
        CURL *e = m->easy_handle;
        CURLcode rc = m->data.result;
        job *j = NULL;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&j);
        if (j) finish(s, j, rc);
    }
    schedule(s);
}

/* ---- worker: libcurl on libevent (after curl's docs/examples/multi-event.c) ----------------- */

static void on_socket_event(evutil_socket_t fd, short what, void *arg)
{
    smtp_sender *s = arg;
    int action =
        ((what & EV_READ) ? CURL_CSELECT_IN : 0) | ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0);
    int still;
    curl_multi_socket_action(s->multi, fd, action, &still);
    /* (no evtimer_del when nothing runs, unlike multi-event.c: check_done may just have added
     * the next transfer, whose timer libcurl set through timer_cb) */
    check_done(s);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    smtp_sender *s = arg;
    int still;
    curl_multi_socket_action(s->multi, CURL_SOCKET_TIMEOUT, 0, &still);
    check_done(s);
}

static int socket_cb(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)e;
    smtp_sender *s = userp;
    sockctx *c = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (c) {
            event_free(c->ev);
            if (c->prev)
                c->prev->next = c->next;
            else
                s->socks = c->next;
            if (c->next) c->next->prev = c->prev;
            free(c);
            curl_multi_assign(s->multi, fd, NULL);
        }
        return 0;
    }
    short kind = (short)(((what & CURL_POLL_IN) ? EV_READ : 0) |
                         ((what & CURL_POLL_OUT) ? EV_WRITE : 0) | EV_PERSIST);
    if (!c) {
        c = xcalloc(1, sizeof(*c));
        c->fd = fd;
        c->ev = event_new(s->wbase, fd, kind, on_socket_event, s);
        c->next = s->socks;
        if (s->socks) s->socks->prev = c;
        s->socks = c;
        curl_multi_assign(s->multi, fd, c);
    } else {
        event_del(c->ev);
        event_assign(c->ev, s->wbase, fd, kind, on_socket_event, s);
    }
    event_add(c->ev, NULL);
    return 0;
}

static int timer_cb(CURLM *m, long timeout_ms, void *userp)
{
    (void)m;
    smtp_sender *s = userp;
    if (timeout_ms < 0) {
        evtimer_del(s->timer_ev);
        return 0;
    }
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    evtimer_add(s->timer_ev, &tv);
    return 0;
}

/* Drop everything on the worker side; after this the base loop ends. */
static void worker_shutdown(smtp_sender *s)
{
    while (s->run_head) {
        job *j = s->run_head;
        s->run_head = j->rnext;
        if (j->easy) curl_multi_remove_handle(s->multi, j->easy);
        job_free(j);
    }
    while (s->acc_head) {
        account *a = s->acc_head;
        account_unlink(s, a);
        account_free(a);
    }
    s->running = 0;
    routes_sweep(s, true);
    curl_multi_cleanup(s->multi); /* closes the cached connections (QUIT) */
    s->multi = NULL;
    while (s->socks) {
        sockctx *c = s->socks;
        s->socks = c->next;
        event_free(c->ev);
        free(c);
    }
    curl_share_cleanup(s->share);
    s->share = NULL;
    event_base_loopbreak(s->wbase);
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    smtp_sender *s = arg;
    fd_drain(fd);
    pthread_mutex_lock(&s->mu);
    bool stopping = s->stopping;
    job *list = s->in_head;
    s->in_head = s->in_tail = NULL;
    pthread_mutex_unlock(&s->mu);
    if (stopping) {
        while (list) {
            job *j = list;
            list = j->next;
            job_free(j);
        }
        worker_shutdown(s);
        return;
    }
    while (list) {
        job *j = list;
        list = j->next;
        j->next = NULL;
        account *a = account_get(s, j);
        j->acct = a;
        if (a->qtail)
            a->qtail->next = j;
        else
            a->qhead = j;
        a->qtail = j;
    }
    schedule(s);
}

static void *worker_main(void *arg)
{
    smtp_sender *s = arg;
    event_base_dispatch(s->wbase);
    return NULL;
}

/* ---- caller side ---------------------------------------------------------------------------- */

static void destroy(smtp_sender *s);

static void on_done(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    smtp_sender *s = arg;
    fd_drain(fd);
    pthread_mutex_lock(&s->mu);
    job *list = s->out_head;
    s->out_head = s->out_tail = NULL;
    for (job *j = list; j; j = j->next)
        s->stats.finished++;
    pthread_mutex_unlock(&s->mu);
    s->depth++;
    while (list) {
        job *j = list;
        list = j->next;
        if (!s->free_pending && j->cb) j->cb(&j->res, j->arg);
        job_free(j);
    }
    s->depth--;
    if (s->free_pending && s->depth == 0) destroy(s);
}

smtp_sender *smtp_sender_new(struct event_base *base, const smtp_sender_limits *lim, mf_error *err)
{
    static const smtp_sender_limits defaults = {0};
    if (!lim) lim = &defaults;
    if (!base) MF_BUG("smtp_sender_new without a base");
    if (lim->ehlo_name) {
        for (const char *p = lim->ehlo_name; *p; p++)
            if (!isalnum((unsigned char)*p) && !strchr(".-[]:", *p)) {
                mf_fail(err, 500, "smtp_bad_ehlo_name", NULL,
                        "the EHLO name may have only letters, digits, '.', '-' (or be an "
                        "address literal)");
                return NULL;
            }
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        mf_fail(err, 500, "smtp_init", NULL, "libcurl cannot be initialised");
        return NULL;
    }
    curl_version_info_data *vi = curl_version_info(CURLVERSION_NOW);
    if (vi->version_num < 0x074500 || !(vi->features & CURL_VERSION_SSL)) {
        curl_global_cleanup();
        mf_fail(err, 500, "smtp_init", NULL,
                "libcurl %s is too old or has no TLS (7.69 with TLS is needed)", vi->version);
        return NULL;
    }
    smtp_sender *s = xcalloc(1, sizeof(*s));
    s->base = base;
    s->max_conn = lim->max_connections ? lim->max_connections : 16;
    s->max_queued = lim->max_queued ? lim->max_queued : 100000;
    s->connect_timeout = lim->connect_timeout ? lim->connect_timeout : 30;
    s->reply_timeout = lim->reply_timeout ? lim->reply_timeout : 60;
    s->transfer_timeout = lim->transfer_timeout ? lim->transfer_timeout : 300;
    s->ehlo_name = lim->ehlo_name && *lim->ehlo_name ? xstrdup(lim->ehlo_name) : NULL;
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->sock_mu, NULL);
    s->done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    s->wbase = event_base_new();
    s->multi = curl_multi_init();
    s->share = curl_share_init();
    if (s->done_fd < 0 || s->wake_fd < 0 || !s->wbase || !s->multi || !s->share) {
        mf_fail(err, 500, "smtp_init", NULL, "cannot set up the SMTP sender (%s)",
                s->done_fd < 0 || s->wake_fd < 0 ? strerror(errno) : "libevent or libcurl");
        goto fail;
    }
    curl_share_setopt(s->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    curl_multi_setopt(s->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(s->multi, CURLMOPT_SOCKETDATA, s);
    curl_multi_setopt(s->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(s->multi, CURLMOPT_TIMERDATA, s);
    curl_multi_setopt(s->multi, CURLMOPT_MAXCONNECTS, (long)s->max_conn);
    curl_multi_setopt(s->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)s->max_conn);
    s->timer_ev = evtimer_new(s->wbase, on_timer, s);
    s->wake_ev = event_new(s->wbase, s->wake_fd, EV_READ | EV_PERSIST, on_wake, s);
    s->done_ev = event_new(base, s->done_fd, EV_READ | EV_PERSIST, on_done, s);
    if (!s->timer_ev || !s->wake_ev || !s->done_ev || event_add(s->wake_ev, NULL) != 0 ||
        event_add(s->done_ev, NULL) != 0) {
        mf_fail(err, 500, "smtp_init", NULL, "cannot set up the SMTP sender's events");
        goto fail;
    }
    if (pthread_create(&s->thread, NULL, worker_main, s) != 0) {
        mf_fail(err, 500, "smtp_init", NULL, "cannot start the SMTP sender thread");
        goto fail;
    }
    return s;
fail:
    if (s->done_ev) event_free(s->done_ev);
    if (s->wake_ev) event_free(s->wake_ev);
    if (s->timer_ev) event_free(s->timer_ev);
    if (s->multi) curl_multi_cleanup(s->multi);
    if (s->share) curl_share_cleanup(s->share);
    if (s->wbase) event_base_free(s->wbase);
    if (s->done_fd >= 0) close(s->done_fd);
    if (s->wake_fd >= 0) close(s->wake_fd);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->sock_mu);
    free(s->ehlo_name);
    free(s);
    curl_global_cleanup();
    return NULL;
}

static void destroy(smtp_sender *s)
{
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_mutex_unlock(&s->mu);
    fd_signal(s->wake_fd);
    /* The worker QUITs every connection; libcurl waits for each reply with a blocking poll
     * (and may be waiting for a reply to "." right now). After the grace time, cut the
     * sockets under it so that a silent server cannot hold the shutdown. */
    for (;;) {
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        dl.tv_sec += STOP_GRACE_MS / 1000;
        dl.tv_nsec += (long)(STOP_GRACE_MS % 1000) * 1000000L;
        if (dl.tv_nsec >= 1000000000L) {
            dl.tv_sec++;
            dl.tv_nsec -= 1000000000L;
        }
        if (pthread_timedjoin_np(s->thread, NULL, &dl) == 0) break;
        cut_sockets(s);
    }
    /* the worker is gone: what is left belongs to this thread */
    job *lists[2] = {s->in_head, s->out_head};
    for (int i = 0; i < 2; i++)
        while (lists[i]) {
            job *j = lists[i];
            lists[i] = j->next;
            job_free(j);
        }
    event_free(s->done_ev);
    event_free(s->wake_ev);
    event_free(s->timer_ev);
    event_base_free(s->wbase);
    close(s->done_fd);
    close(s->wake_fd);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->sock_mu);
    free(s->open_fds);
    free(s->ehlo_name);
    free(s);
    curl_global_cleanup();
}

void smtp_sender_free(smtp_sender **sp)
{
    if (!sp || !*sp) return;
    smtp_sender *s = *sp;
    *sp = NULL;
    if (s->depth > 0) {
        s->free_pending = true; /* on_done finishes it */
        return;
    }
    destroy(s);
}

int smtp_sender_submit(smtp_sender *s, const smtp_account *acct, const char *mail_from,
                       const char *const *rcpts, size_t n, const void *data, size_t len,
                       smtp_done_cb cb, void *arg, mf_error *err)
{
    if (!s || !acct) MF_BUG("smtp_sender_submit without a sender or an account");
    if (s->free_pending)
        return mf_fail(err, 503, "smtp_stopping", NULL, "the SMTP sender is shutting down");
    if (!acct->host || !valid_host(acct->host))
        return mf_fail(err, 422, "smtp_bad_host", NULL,
                       "the SMTP host must be a host name or an IP address");
    if (acct->security != SMTP_SEC_TLS && acct->security != SMTP_SEC_STARTTLS &&
        acct->security != SMTP_SEC_NONE)
        return mf_fail(err, 422, "smtp_bad_security", NULL, "unknown SMTP security mode");
    bool has_user = acct->username && *acct->username;
    bool has_pass = acct->password && *acct->password;
    bool has_token = acct->xoauth2_token && *acct->xoauth2_token;
    if (has_user && !has_pass && !has_token)
        return mf_fail(err, 422, "smtp_bad_credentials", NULL,
                       "an SMTP user name needs a password or an OAuth2 token");
    if (!has_user && (has_pass || has_token))
        return mf_fail(err, 422, "smtp_bad_credentials", NULL,
                       "an SMTP password or token needs a user name");
    if (has_pass && has_token)
        return mf_fail(err, 422, "smtp_bad_credentials", NULL,
                       "give either an SMTP password or an OAuth2 token, not both");
    if (has_user && acct->security == SMTP_SEC_NONE && !is_loopback(acct->host))
        return mf_fail(err, 422, "smtp_plaintext_auth", NULL,
                       "refusing to send SMTP credentials to %s without TLS: use TLS or STARTTLS",
                       acct->host);
    if (!mail_from || !valid_addr(mail_from))
        return mf_fail(err, 422, "smtp_bad_address", NULL,
                       "the sender address is too long or has CR, LF, '<' or '>'");
    if (n == 0 || n > MAX_RCPTS || !rcpts)
        return mf_fail(err, 422, "smtp_bad_recipients", NULL, "a message needs 1 to %d recipients",
                       MAX_RCPTS);
    for (size_t i = 0; i < n; i++)
        if (!rcpts[i] || !*rcpts[i] || !valid_addr(rcpts[i]))
            return mf_fail(err, 422, "smtp_bad_address", NULL,
                           "recipient %zu is empty, too long or has CR, LF, '<' or '>'", i + 1);
    if (len && !data) MF_BUG("smtp_sender_submit: data is NULL");

    job *j = xcalloc(1, sizeof(*j));
    j->s = s;
    j->host = xstrdup(acct->host);
    j->sec = acct->security;
    j->port = acct->port ? acct->port
                         : (acct->security == SMTP_SEC_TLS        ? 465
                            : acct->security == SMTP_SEC_STARTTLS ? 587
                                                                  : 25);
    j->user = has_user ? xstrdup(acct->username) : NULL;
    j->pass = has_pass ? xstrdup(acct->password) : NULL;
    j->token = has_token ? xstrdup(acct->xoauth2_token) : NULL;
    j->ca_file = dup_or_null(acct->ca_file);
    j->acct_max = acct->max_connections ? acct->max_connections : 1;
    j->key = xasprintf("%d|%s|%u|%s|%s", (int)j->sec, j->host, (unsigned)j->port,
                       j->user ? j->user : "", j->ca_file ? j->ca_file : "");
    j->mail_from = xasprintf("<%s>", mail_from);
    j->n = n;
    j->rcpts = xcalloc(n, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        j->rcpts[i] = xstrdup(rcpts[i]);
    j->data = xmalloc(len ? len : 1);
    if (len) memcpy(j->data, data, len);
    j->len = len;
    j->cb = cb;
    j->arg = arg;
    strbuf_init(&j->line, LINE_MAX_BYTES);
    strbuf_init(&j->cur_text, REPLY_TEXT_MAX);
    strbuf_init(&j->last_text, REPLY_TEXT_MAX);

    pthread_mutex_lock(&s->mu);
    if (s->queued >= s->max_queued) {
        pthread_mutex_unlock(&s->mu);
        job_free(j);
        return mf_fail(err, 503, "smtp_queue_full", NULL,
                       "%u messages are already waiting to be sent: try again later",
                       s->max_queued);
    }
    bool first = !s->in_head; /* the worker drains its fd before it takes the whole list, so
                               * one signal per non-empty list wakes it for all of them */
    if (s->in_tail)
        s->in_tail->next = j;
    else
        s->in_head = j;
    s->in_tail = j;
    s->queued++;
    s->stats.queued = s->queued;
    s->stats.submitted++;
    pthread_mutex_unlock(&s->mu);
    if (first) fd_signal(s->wake_fd);
    return 0;
}

void smtp_sender_get_stats(smtp_sender *s, smtp_sender_stats *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->stats;
    pthread_mutex_unlock(&s->mu);
}
