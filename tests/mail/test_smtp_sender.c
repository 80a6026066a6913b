/* test_smtp_sender.c — src/mail/smtp_sender against real servers: the lab's Postfix (SMTP AUTH
 * against Dovecot's users, STARTTLS with the lab certificate, delivery into Dovecot's Maildirs by
 * LMTP) and smtp-sink instances told to refuse or stall particular commands. Implicit TLS
 * (smtps://) goes through a small TLS front in this program (the lab's certificate, forwarding
 * to Postfix), because the lab's Postfix has no implicit-TLS port.
 *
 * The program starts its own lab in a new temp folder on free loopback ports (tests/lab scripts),
 * and stops it at the end; if the lab cannot start it fails (one "not ok" line), it never
 * skips. A watchdog child stops the lab if this program dies (the folder is then kept). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <pthread.h>
#include <openssl/ssl.h>
#include <cmocka.h>
#include "mail/smtp_sender.h"
#include "util/error.h"
#include "util/strbuf.h"

#ifndef LAB_SCRIPTS_DIR
#error "LAB_SCRIPTS_DIR must name tests/lab"
#endif

/* ---- the lab ----------------------------------------------------------------------------------
 */

enum sink_kind {
    SINK_RCPT_4XX,  /* -r RCPT: every RCPT gets 450 */
    SINK_EOD_4XX,   /* -r .   : the message gets 450 */
    SINK_MAIL_5XX,  /* -f MAIL: MAIL FROM gets 500 */
    SINK_RCPT_421,  /* -Q RCPT: 421 and disconnect at RCPT */
    SINK_DOT_DROP,  /* -q .   : disconnect without a reply after "." */
    SINK_SLOW_DOT,  /* -W .:1 : the reply to "." comes after 1 s */
    SINK_SLOW_RCPT, /* -W RCPT:3 */
    SINK_SLOW_QUIT, /* -W QUIT:10 */
    SINK_IDLE_1S,   /* -t 1   : hangs up on a client idle for 1 s */
    SINK_COUNT,
};
static const struct {
    const char *name, *opts;
} sink_defs[SINK_COUNT] = {
    {"rcpt4xx", "-r RCPT"},    {"eod4xx", "-r ."},         {"mail5xx", "-f MAIL"},
    {"rcpt421", "-Q RCPT"},    {"dotdrop", "-q ."},        {"slowdot", "-W .:1"},
    {"slowrcpt", "-W RCPT:3"}, {"slowquit", "-W QUIT:10"}, {"idle1s", "-t 1"},
};

static struct {
    char dir[256];    /* temp folder */
    char labdir[300]; /* dir/lab: Dovecot + Postfix + plain sink */
    char ca_file[400];
    int base;
    int smtp_port, sink_port;
    int sinks[SINK_COUNT];
    int front_port; /* TLS front to Postfix */
    int watchdog_fd;
} L = {.watchdog_fd = -1};

static struct event_base *base;

static int run(const char *cmd, char *out, size_t outlen)
{
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = 0;
    if (out && outlen) out[0] = '\0';
    char buf[512];
    size_t got;
    while ((got = fread(buf, 1, sizeof(buf), p)) > 0) {
        if (out && n + 1 < outlen) {
            size_t take = got < outlen - 1 - n ? got : outlen - 1 - n;
            memcpy(out + n, buf, take);
            n += take;
            out[n] = '\0';
        }
    }
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static bool port_free(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    bool ok = bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
    close(fd);
    return ok;
}

static void stop_lab(void)
{
    char cmd[1024];
    for (int i = 0; i < SINK_COUNT; i++) {
        snprintf(cmd, sizeof(cmd), "%s/postfix.sh sink-stop %s/%s >&2", LAB_SCRIPTS_DIR, L.dir,
                 sink_defs[i].name);
        (void)run(cmd, NULL, 0);
    }
    snprintf(cmd, sizeof(cmd), "%s/mail-lab.sh stop %s >&2", LAB_SCRIPTS_DIR, L.labdir);
    (void)run(cmd, NULL, 0);
}

/* A child that waits for this process to end: 'd' on the pipe means the lab was stopped;
 * end-of-file without it (crash, kill, timeout) means: stop the lab now, keep the folder. */
static void start_watchdog(void)
{
    int p[2];
    /* close-on-exec: the lab's daemons must not hold the write end (EOF = this process ended) */
    if (pipe2(p, O_CLOEXEC) != 0) return;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) return;
    if (pid == 0) {
        close(p[1]);
        setsid();
        dup2(2, 1); /* never write into the TAP stream */
        char c, verdict = 0;
        ssize_t r;
        while ((r = read(p[0], &c, 1)) > 0 || (r < 0 && errno == EINTR))
            if (r > 0) verdict = c;
        if (verdict != 'd') {
            stop_lab();
            fprintf(stderr, "test_smtp_sender: stopped the lab after a crash; kept %s\n", L.dir);
        }
        _exit(0);
    }
    close(p[0]);
    L.watchdog_fd = p[1];
}

static int start_lab(char *why, size_t whylen)
{
    char tmpl[] = "/tmp/mf-smtp-XXXXXX";
    if (!mkdtemp(tmpl)) {
        snprintf(why, whylen, "mkdtemp: %s", strerror(errno));
        return -1;
    }
    chmod(tmpl, 0755); /* Dovecot and Postfix run mail as nobody */
    snprintf(L.dir, sizeof(L.dir), "%s", tmpl);
    snprintf(L.labdir, sizeof(L.labdir), "%s/lab", L.dir);
    /* 6 ports for the lab, one per extra sink */
    srand((unsigned)(time(NULL) ^ getpid()));
    int need = 6 + SINK_COUNT;
    for (int tries = 0; tries < 50 && !L.base; tries++) {
        int b = 20000 + (rand() % 9000);
        bool ok = true;
        for (int i = 0; i < need && ok; i++)
            ok = port_free(b + i);
        if (ok) L.base = b;
    }
    if (!L.base) {
        snprintf(why, whylen, "no %d free consecutive ports in 20000-29000", need);
        return -1;
    }
    start_watchdog();
    char users[400];
    snprintf(users, sizeof(users), "%s/users", L.dir);
    FILE *f = fopen(users, "w");
    if (!f) {
        snprintf(why, whylen, "cannot write %s", users);
        return -1;
    }
    fputs("alice@example.test:secret\nbob@example.test:secret\ncarol@example.test:secret\n", f);
    fclose(f);
    setenv("LAB_AUTH_FAILURE_DELAY", "0 secs", 1);
    char cmd[1024], out[2048];
    snprintf(cmd, sizeof(cmd), "%s/mail-lab.sh start %s %d %s", LAB_SCRIPTS_DIR, L.labdir, L.base,
             users);
    if (run(cmd, out, sizeof(out)) != 0) {
        snprintf(why, whylen, "tests/lab/mail-lab.sh start failed (see stderr)");
        return -1;
    }
    const char *p = strstr(out, "SMTP_PORT=");
    const char *q = strstr(out, "SINK_PORT=");
    const char *c = strstr(out, "CA_FILE=");
    if (!p || !q || !c) {
        snprintf(why, whylen, "mail-lab.sh printed no SMTP_PORT/SINK_PORT/CA_FILE: %.300s", out);
        return -1;
    }
    L.smtp_port = atoi(p + 10);
    L.sink_port = atoi(q + 10);
    sscanf(c + 8, "%399s", L.ca_file);
    for (int i = 0; i < SINK_COUNT; i++) {
        L.sinks[i] = L.base + 6 + i;
        snprintf(cmd, sizeof(cmd), "LAB_SINK_OPTS='%s' %s/postfix.sh sink-start %s/%s %d",
                 sink_defs[i].opts, LAB_SCRIPTS_DIR, L.dir, sink_defs[i].name, L.sinks[i]);
        if (run(cmd, out, sizeof(out)) != 0) {
            snprintf(why, whylen, "smtp-sink %s (%s) did not start", sink_defs[i].name,
                     sink_defs[i].opts);
            return -1;
        }
    }
    return 0;
}

/* ---- a TLS front to Postfix (implicit TLS, the lab's certificate) -----------------------------
 */
/* It runs on its own thread and base: smtp_sender_free blocks the test's thread while the
 * sender QUITs its connections, and the front must go on relaying meanwhile. */

static SSL_CTX *front_ctx;
static struct evconnlistener *front_listener;
static struct event_base *front_base;
static pthread_t front_thread;
static bool front_running;

static void *front_main(void *arg)
{
    (void)arg;
    event_base_dispatch(front_base);
    return NULL;
}

typedef struct pipe_pair {
    struct bufferevent *tls, *plain;
} pipe_pair;

static void pair_free(pipe_pair *pp)
{
    if (pp->tls) bufferevent_free(pp->tls);
    if (pp->plain) bufferevent_free(pp->plain);
    free(pp);
}

static void pair_drained(struct bufferevent *bev, void *arg)
{
    (void)bev;
    pair_free(arg);
}

static void pair_read(struct bufferevent *bev, void *arg)
{
    pipe_pair *pp = arg;
    struct bufferevent *other = bev == pp->tls ? pp->plain : pp->tls;
    bufferevent_write_buffer(other, bufferevent_get_input(bev));
}

static void pair_event(struct bufferevent *bev, short what, void *arg)
{
    pipe_pair *pp = arg;
    if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))) return;
    struct bufferevent *other = bev == pp->tls ? pp->plain : pp->tls;
    pair_read(bev, arg); /* what is left */
    bufferevent_disable(bev, EV_READ | EV_WRITE);
    if (evbuffer_get_length(bufferevent_get_output(other)) == 0) {
        pair_free(pp);
        return;
    }
    /* let the last reply (e.g. "221 Bye") reach the other side first */
    bufferevent_setcb(other, NULL, pair_drained, pair_event, pp);
    bufferevent_setwatermark(other, EV_WRITE, 0, 0);
    bufferevent_disable(other, EV_READ);
}

static void front_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                         int salen, void *arg)
{
    (void)l;
    (void)sa;
    (void)salen;
    SSL_CTX *ctx = arg;
    pipe_pair *pp = calloc(1, sizeof(*pp));
    pp->tls = bufferevent_openssl_socket_new(front_base, fd, SSL_new(ctx),
                                             BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_openssl_set_allow_dirty_shutdown(pp->tls, 1);
    pp->plain = bufferevent_socket_new(front_base, -1, BEV_OPT_CLOSE_ON_FREE);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)L.smtp_port)};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bufferevent_setcb(pp->tls, pair_read, NULL, pair_event, pp);
    bufferevent_setcb(pp->plain, pair_read, NULL, pair_event, pp);
    bufferevent_enable(pp->tls, EV_READ | EV_WRITE);
    bufferevent_enable(pp->plain, EV_READ | EV_WRITE);
    if (bufferevent_socket_connect(pp->plain, (struct sockaddr *)&sin, sizeof(sin)) != 0)
        pair_free(pp);
}

static int start_front(char *why, size_t whylen)
{
    char cert[400], key[400];
    snprintf(cert, sizeof(cert), "%s/tls/cert.pem", L.labdir);
    snprintf(key, sizeof(key), "%s/tls/key.pem", L.labdir);
    front_ctx = SSL_CTX_new(TLS_server_method());
    if (!front_ctx || SSL_CTX_use_certificate_chain_file(front_ctx, cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(front_ctx, key, SSL_FILETYPE_PEM) != 1) {
        snprintf(why, whylen, "cannot load the lab certificate %s", cert);
        return -1;
    }
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = 0};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    front_base = event_base_new();
    front_listener = evconnlistener_new_bind(front_base, front_accept, front_ctx,
                                             LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 16,
                                             (struct sockaddr *)&sin, sizeof(sin));
    if (!front_listener) {
        snprintf(why, whylen, "cannot listen for the TLS front");
        return -1;
    }
    struct sockaddr_in got;
    socklen_t gl = sizeof(got);
    getsockname(evconnlistener_get_fd(front_listener), (struct sockaddr *)&got, &gl);
    L.front_port = ntohs(got.sin_port);
    if (pthread_create(&front_thread, NULL, front_main, NULL) != 0) {
        snprintf(why, whylen, "cannot start the TLS front's thread");
        return -1;
    }
    front_running = true;
    return 0;
}

static void stop_front(void)
{
    if (front_running) {
        event_base_loopbreak(front_base);
        pthread_join(front_thread, NULL);
    }
    if (front_listener) evconnlistener_free(front_listener);
    if (front_base) event_base_free(front_base);
    if (front_ctx) SSL_CTX_free(front_ctx);
}

/* ---- harness ----------------------------------------------------------------------------------
 */

#define MAX_R 8
typedef struct got {
    bool done;
    int calls;
    enum smtp_outcome outcome;
    enum smtp_failure failure;
    int code;
    char text[1100], reason[1200];
    bool maybe_sent, reused;
    size_t n;
    struct {
        enum smtp_outcome outcome;
        int code;
        char text[600], rcpt[300];
    } r[MAX_R];
    double at;
} got;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void on_done(const smtp_result *r, void *arg)
{
    got *g = arg;
    g->calls++;
    g->done = true;
    g->at = now();
    g->outcome = r->outcome;
    g->failure = r->failure;
    g->code = r->code;
    snprintf(g->text, sizeof(g->text), "%s", r->text);
    snprintf(g->reason, sizeof(g->reason), "%s", r->reason);
    g->maybe_sent = r->maybe_sent;
    g->reused = r->connection_reused;
    g->n = r->n_rcpts;
    for (size_t i = 0; i < r->n_rcpts && i < MAX_R; i++) {
        g->r[i].outcome = r->rcpts[i].outcome;
        g->r[i].code = r->rcpts[i].code;
        snprintf(g->r[i].text, sizeof(g->r[i].text), "%s", r->rcpts[i].text);
        snprintf(g->r[i].rcpt, sizeof(g->r[i].rcpt), "%s", r->rcpts[i].rcpt);
    }
}

static void loop_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    *(bool *)arg = true;
}

/* Run the loop until every g[i] is done (or seconds pass). */
static bool wait_all(got *g, size_t n, double seconds)
{
    bool expired = false;
    struct event *t = evtimer_new(base, loop_timeout, &expired);
    struct timeval tv = {.tv_sec = (time_t)seconds,
                         .tv_usec = (suseconds_t)((seconds - (double)(time_t)seconds) * 1e6)};
    evtimer_add(t, &tv);
    for (;;) {
        bool all = true;
        for (size_t i = 0; i < n; i++)
            all = all && g[i].done;
        if (all || expired) break;
        event_base_loop(base, EVLOOP_ONCE);
    }
    event_free(t);
    for (size_t i = 0; i < n; i++)
        if (!g[i].done) return false;
    return true;
}

/* Run the loop for a while (callbacks may come or not). */
static void spin(double seconds)
{
    bool expired = false;
    struct event *t = evtimer_new(base, loop_timeout, &expired);
    struct timeval tv = {.tv_sec = (time_t)seconds,
                         .tv_usec = (suseconds_t)((seconds - (double)(time_t)seconds) * 1e6)};
    evtimer_add(t, &tv);
    while (!expired)
        event_base_loop(base, EVLOOP_ONCE);
    event_free(t);
}

static smtp_sender *new_sender(const smtp_sender_limits *lim)
{
    smtp_sender_limits d = {.ehlo_name = "client.mailfleet.test"};
    if (!lim) lim = &d;
    mf_error err;
    smtp_sender *s = smtp_sender_new(base, lim, &err);
    if (!s) fail_msg("smtp_sender_new: %s", err.message);
    return s;
}

static smtp_account postfix_account(const char *user, const char *password)
{
    smtp_account a = {.host = "127.0.0.1",
                      .port = (uint16_t)L.smtp_port,
                      .security = SMTP_SEC_STARTTLS,
                      .username = user,
                      .password = password,
                      .ca_file = L.ca_file};
    return a;
}

static smtp_account sink_account(int port)
{
    smtp_account a = {.host = "127.0.0.1", .port = (uint16_t)port, .security = SMTP_SEC_NONE};
    return a;
}

static unsigned token_seq;

/* A message with a unique token in Subject and body; a line starting with "." checks that
 * the dot-stuffing survives the round trip. */
static char *make_message(char *token, size_t toklen, const char *to)
{
    snprintf(token, toklen, "tok%d-%u-%ld", (int)getpid(), ++token_seq, (long)time(NULL));
    return xasprintf("From: bob@example.test\r\nTo: %s\r\nSubject: smtp_sender %s\r\n"
                     "Message-ID: <%s@client.mailfleet.test>\r\n\r\nHello %s\r\n"
                     ".a line that starts with a dot\r\n..two dots\r\n",
                     to, token, token, token);
}

static void submit_ok(smtp_sender *s, const smtp_account *a, const char *from,
                      const char *const *rcpts, size_t n, const char *msg, got *g)
{
    mf_error err;
    memset(g, 0, sizeof(*g));
    int rc = smtp_sender_submit(s, a, from, rcpts, n, msg, strlen(msg), on_done, g, &err);
    if (rc != 0) fail_msg("submit: %s", err.message);
}

/* The Maildir file of user that holds token (waits up to 10 s); NULL when none. */
static char *find_delivered(const char *user, const char *token)
{
    double until = now() + 10;
    while (now() < until) {
        const char *sub[] = {"new", "cur"};
        for (int k = 0; k < 2; k++) {
            char dirpath[600];
            snprintf(dirpath, sizeof(dirpath), "%s/mail/example.test/%s/Maildir/%s", L.labdir, user,
                     sub[k]);
            DIR *d = opendir(dirpath);
            if (!d) continue;
            struct dirent *de;
            while ((de = readdir(d))) {
                if (de->d_name[0] == '.') continue;
                char *path = xasprintf("%s/%s", dirpath, de->d_name);
                FILE *f = fopen(path, "rb");
                free(path);
                if (!f) continue;
                strbuf sb;
                strbuf_init(&sb, 1 << 20);
                char buf[4096];
                size_t r;
                while ((r = fread(buf, 1, sizeof(buf), f)) > 0)
                    (void)strbuf_add(&sb, buf, r);
                fclose(f);
                if (strstr(sb.buf, token)) {
                    closedir(d);
                    return strbuf_detach(&sb, NULL);
                }
                strbuf_release(&sb);
            }
            closedir(d);
        }
        usleep(50 * 1000);
    }
    return NULL;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : 0;
}

/* Postfix's log from offset on. */
static char *maillog_since(long offset)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/postfix/maillog", L.labdir);
    FILE *f = fopen(path, "rb");
    if (!f) return xstrdup("");
    fseek(f, offset, SEEK_SET);
    strbuf sb;
    strbuf_init(&sb, 4 << 20);
    char buf[4096];
    size_t r;
    while ((r = fread(buf, 1, sizeof(buf), f)) > 0)
        (void)strbuf_add(&sb, buf, r);
    fclose(f);
    return strbuf_detach(&sb, NULL);
}

static long maillog_offset(void)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/postfix/maillog", L.labdir);
    return file_size(path);
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static void expect(const got *g, enum smtp_outcome o, enum smtp_failure f, int code)
{
    if (g->outcome != o || g->failure != f || (code >= 0 && g->code != code))
        fail_msg("expected %s/%s/%d, got %s/%s/%d: %s", smtp_outcome_name(o), smtp_failure_name(f),
                 code, smtp_outcome_name(g->outcome), smtp_failure_name(g->failure), g->code,
                 g->reason);
}

/* ---- tests ------------------------------------------------------------------------------------
 */

static void test_submit_delivers_to_dovecot_via_postfix(void **state)
{
    (void)state;
    smtp_sender *s = new_sender(NULL);
    smtp_account a = postfix_account("bob@example.test", "secret");
    char tok[64];
    char *msg = make_message(tok, sizeof(tok), "alice@example.test");
    const char *rcpts[] = {"alice@example.test"};
    got g;
    submit_ok(s, &a, "bob@example.test", rcpts, 1, msg, &g);
    assert_true(wait_all(&g, 1, 20));
    expect(&g, SMTP_SENT, SMTP_FAIL_NONE, 250);
    assert_non_null(strstr(g.text, "queued as"));
    assert_string_equal(g.reason, "");
    assert_false(g.maybe_sent);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.r[0].outcome, SMTP_SENT);
    assert_int_equal(g.r[0].code, 250);
    assert_string_equal(g.r[0].rcpt, "alice@example.test");
    char *file = find_delivered("alice", tok);
    if (!file) fail_msg("%s never reached alice's Maildir", tok);
    /* dot-stuffing undone by the server: the lines are as submitted */
    assert_non_null(strstr(file, "\n.a line that starts with a dot"));
    assert_non_null(strstr(file, "\n..two dots"));
    assert_null(strstr(file, "\n...two dots"));
    assert_int_equal(g.calls, 1);
    free(file);
    free(msg);
    smtp_sender_free(&s);
    assert_null(s);
}

static void test_plain_auth_allowed_on_loopback_only(void **state)
{
    (void)state;
    smtp_sender *s = new_sender(NULL);
    /* NONE + credentials to 127.0.0.1: allowed, Postfix records ESMTPA (auth, no TLS) */
    smtp_account a = postfix_account("bob@example.test", "secret");
    a.security = SMTP_SEC_NONE;
    a.ca_file = NULL;
    char tok[64];
    char *msg = make_message(tok, sizeof(tok), "alice@example.test");
    const char *rcpts[] = {"alice@example.test"};
    got g;
    submit_ok(s, &a, "bob@example.test", rcpts, 1, msg, &g);
    assert_true(wait_all(&g, 1, 20));
    expect(&g, SMTP_SENT, SMTP_FAIL_NONE, 250);
    char *file = find_delivered("alice", tok);
    assert_non_null(file);
    assert_non_null(strstr(file, "with ESMTPA id"));
    free(file);

    /* ... but never to a host that is not loopback */
    smtp_account remote = a;
    remote.host = "smtp.example.com";
    mf_error err;
    assert_int_equal(smtp_sender_submit(s, &remote, "bob@example.test", rcpts, 1, msg, strlen(msg),
                                        on_done, &g, &err),
                     -1);
    assert_string_equal(err.code, "smtp_plaintext_auth");
    assert_null(strstr(err.message, "secret"));
    remote.host = "::1";
    remote.port = 1; /* accepted at submit; nothing listens there */
    got g2;
    submit_ok(s, &remote, "bob@example.test", rcpts, 1, msg, &g2);
    assert_true(wait_all(&g2, 1, 20));
    assert_int_equal(g2.outcome, SMTP_TEMPFAIL);
    free(msg);
    smtp_sender_free(&s);
}

static void test_submit_rejects_bad_input(void **state)
{
    (void)state;
    smtp_sender *s = new_sender(NULL);
    smtp_account a = sink_account(L.sink_port);
    const char *ok[] = {"a@example.test"};
    const char *crlf[] = {"a@example.test\r\nRSET"};
    const char *angle[] = {"a@example.test> NOTIFY=NEVER"};
    const char *empty[] = {""};
    got g = {0};
    mf_error err;
    assert_int_equal(smtp_sender_submit(s, &a, "b@example.test", ok, 0, "x", 1, on_done, &g, &err),
                     -1);
    assert_string_equal(err.code, "smtp_bad_recipients");
    assert_int_equal(
        smtp_sender_submit(s, &a, "b@example.test", crlf, 1, "x", 1, on_done, &g, &err), -1);
    assert_string_equal(err.code, "smtp_bad_address");
    assert_int_equal(
        smtp_sender_submit(s, &a, "b@example.test", angle, 1, "x", 1, on_done, &g, &err), -1);
    assert_int_equal(
        smtp_sender_submit(s, &a, "b@example.test", empty, 1, "x", 1, on_done, &g, &err), -1);
    assert_int_equal(
        smtp_sender_submit(s, &a, "b\n@example.test", ok, 1, "x", 1, on_done, &g, &err), -1);
    smtp_account bad = a;
    bad.host = "127.0.0.1/evil";
    assert_int_equal(
        smtp_sender_submit(s, &bad, "b@example.test", ok, 1, "x", 1, on_done, &g, &err), -1);
    assert_string_equal(err.code, "smtp_bad_host");
    bad = a;
    bad.username = "bob";
    assert_int_equal(
        smtp_sender_submit(s, &bad, "b@example.test", ok, 1, "x", 1, on_done, &g, &err), -1);
    assert_string_equal(err.code, "smtp_bad_credentials");
    spin(0.1);
    assert_int_equal(g.calls, 0); /* refused submissions are never called back */
    smtp_sender_stats st;
    smtp_sender_get_stats(s, &st);
    assert_int_equal(st.submitted, 0);
    /* the null sender "<>" is allowed (bounces) */
    char tok[64];
    char *msg = make_message(tok, sizeof(tok), "a@example.test");
    submit_ok(s, &a, "", ok, 1, msg, &g);
    assert_true(wait_all(&g, 1, 20));
    expect(&g, SMTP_SENT, SMTP_FAIL_NONE, 250);
    free(msg);
    smtp_sender_free(&s);
}

static void test_rcpt_5xx_fails_only_that_recipient(void **state)
{
    (void)state;
    smtp_sender *s = new_sender(NULL);
    smtp_account a = postfix_account("bob@example.test", "secret");
    char tok[64];
    char *msg = make_message(tok, sizeof(tok), "alice@example.test");
    const char *rcpts[] = {"alice@example.test", "x@other.test", "carol@example.test",
                           "bad address@"};
    got g;
    submit_ok(s, &a, "bob@example.test", rcpts, 4, msg, &g);
    assert_true(wait_all(&g, 1, 20));
    expect(&g, SMTP_SENT, SMTP_FAIL_NONE, 250);
    assert_int_equal(g.n, 4);
    assert_int_equal(g.r[0].outcome, SMTP_SENT);
    assert_int_equal(g.r[0].code, 250);
    assert_int_equal(g.r[1].outcome, SMTP_PERMFAIL);
    assert_int_equal(g.r[1].code, 550);
    assert_non_null(strstr(g.r[1].text, "5.7.1 <x@other.test>: Recipient address rejected"));
    assert_string_equal(g.r[1].rcpt, "x@other.test");
    assert_int_equal(g.r[2].outcome, SMTP_SENT);
    assert_int_equal(g.r[2].code, 250);
    assert_int_equal(g.r[3].outcome, SMTP_PERMFAIL);
    assert_int_equal(g.r[3].code, 501);
    assert_non_null(strstr(g.r[3].text, "5.1.3"));
    char *f1 = find_delivered("alice", tok);
    char *f2 = find_delivered("carol", tok);
    assert_non_null(f1);
    assert_non_null(f2);
    free(f1);
    free(f2);
    free(msg);
    smtp_sender_free(&s);
}

static void test_every_recipient_refused_is_permfail(void **state)
{
    (void)state;
    smtp_sender *s = new_sender(NULL);
    smtp_account a = postfix_account("bob@example.test", "secret");
    char tok[64];
    char *msg = make_message(tok, sizeof(tok), "x@other.test");
    const char *rcpts[] = {"x@other.test", "y@other.test"};
    got g;
    submit_ok(s, &a, "bob@example.test", rcpts, 2, msg, &g);
    assert_true(wait_all(&g, 1, 20));
    expect(&g, SMTP_PERMFAIL, SMTP_FAIL_RECIPIENTS, 550);
    assert_int_equal(g.r[0].code, 550);
    assert_int_equal(g.r[1].code, 550);
    assert_int_equal(g.r[0].outcome, SMTP_PERMFAIL);
    assert_non_null(strstr(g.reason, "refused every recipient: 550 5.7.1 <y@other.test>"));
    free(msg);
    smtp_sender_free(&s);
}

static void test_4xx_is_tempfail(void **state)
{
    (void)state;
    smtp_sender *s = new_sender(NULL);
    char tok[64];
    char *msg = make_message(tok, sizeof(tok), "a@example.test");
    const char *rcpts[] = {"a@example.test", "b@example.test"};

    /* every RCPT 450 */
    smtp_account a = sink_account(L.sinks[SINK_RCPT_4XX]);
    got g;
    submit_ok(s, &a, "bob@example.test", rcpts, 2, msg, &g);
    assert_true(wait_all(&g, 1, 20));
    expect(&g, SMTP_TEMPFAIL, SMTP_FAIL_RECIPIENTS, 450);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(g.r[i].outcome, SMTP_TEMPFAIL);
        assert_int_equal(g.r[i].code, 450);
        assert_string_equal(g.r[i].text, "4.3.0 Error: command failed");
    }
    assert_false(g.maybe_sent);

    /* recipients accepted, the message refused with 450 */
    a = sink_account(L.sinks[SINK_EOD_4XX]);
    submit_ok(s, &a, "bob@example.test", rcpts, 2, msg, &g);
    assert_true(wait_all(&g, 1, 20));
    expect(&g, SMTP_TEMPFAIL, SMTP_FAIL_DATA, 450);
    assert_int_equal(g.r[0].code, 250);
    assert_int_equal(g.r[0].outcome, SMTP_TEMPFAIL); /* accepted, but the message was not */
    assert_false(g.maybe_sent);

    /* 421 and the server hangs up at RCPT */
    a = sink_account(L.sinks[SINK_RCPT_421]);
    submit_ok(s, &a, "bob@example.test", rcpts, 2, msg, &g);
    assert_true(wait_all(&g, 1, 20));
    expect(&g, SMTP_TEMPFAIL, SMTP_FAIL_RECIPIENTS, 421);
    assert_int_equal(g.r[0].outcome, SMTP_TEMPFAIL);
    assert_int_equal(g.r[1].code, 0); /* never asked */
    assert_int_equal(g.r[1].outcome, SMTP_TEMPFAIL);
    free(msg);
    smtp_sender_free(&s);
}

static void test_mail_from_5xx_is_permfail(void **state)
{
    (void)state;
    smtp_sender *s = new_sender(NULL);
    char tok[64];
    char *msg = make_message(tok, sizeof(tok), "a@example.test");
    const char *rcpts[] = {"a@example.test"};
    smtp_account a = sink_account(L.sinks[SINK_MAIL_5XX]);
    got g;
    submit_ok(s, &a, "bob@example.test", rcpts, 1, msg, &g);
    assert_true(wait_all(&g, 1, 20));
    expect(&g, SMTP_PERMFAIL, SMTP_FAIL_SENDER, 500);
    assert_string_equal(g.text, "5.3.0 Error: command failed");
    assert_int_equal(g.r[0].code, 0);
    assert_int_equal(g.r[0].outcome, SMTP_PERMFAIL);
    assert_non_null(strstr(g.reason, "refused the sender"));
    free(msg);
    smtp_sender_free(&s);
}

static void test_lost_connection_after_final_dot_is_maybe_sent(void **state)
{
    (void)state;
    smtp_sender *s = new_sender(NULL);
    char tok[64];
    char *msg = make_message(tok, sizeof(tok), "a@example.test");
    const char *rcpts[] = {"a@example.test"};
    smtp_account a = sink_account(L.sinks[SINK_DOT_DROP]);
    got g;
    submit_ok(s, &a, "bob@example.test", rcpts, 1, msg, &g);
    assert_true(wait_all(&g, 1, 20));
    assert_int_equal(g.outcome, SMTP_TEMPFAIL);
    assert_true(g.maybe_sent);
    assert_int_equal(g.r[0].code, 250);

    /* a refused connection is a plain TEMPFAIL, certainly not sent */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = 0};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, (struct sockaddr *)&sin, sizeof(sin));
    socklen_t sl = sizeof(sin);
    getsockname(fd, (struct sockaddr *)&sin, &sl);
    close(fd); /* nothing listens on that port now */
    a = sink_account(ntohs(sin.sin_port));
    submit_ok(s, &a, "bob@example.test", rcpts, 1, msg, &g);
    assert_true(wait_all(&g, 1, 20));
    expect(&g, SMTP_TEMPFAIL, SMTP_FAIL_NETWORK, 0);
    assert_false(g.maybe_sent);
    assert_false(g.reused);
    assert_int_equal(g.r[0].outcome, SMTP_TEMPFAIL);
    free(msg);
    smtp_sender_free(&s);
}

static void test_transfer_timeout_is_tempfail(void **state)
{
    (void)state;
    smtp_sender_limits lim = {.transfer_timeout = 1, .ehlo_name = "client.mailfleet.test"};
    smtp_sender *s = new_sender(&lim);
    char tok[64];
    char *msg = make_message(tok, sizeof(tok), "a@example.test");
    const char *rcpts[] = {"a@example.test"};
    smtp_account a = sink_account(L.sinks[SINK_SLOW_RCPT]);
    got g;
    double t0 = now();
    submit_ok(s, &a, "bob@example.test", rcpts, 1, msg, &g);
    assert_true(wait_all(&g, 1, 20));
    expect(&g, SMTP_TEMPFAIL, SMTP_FAIL_TIMEOUT, 250); /* last reply: MAIL FROM's 250 */
    assert_true(g.at - t0 < 2.5);
    assert_int_equal(g.r[0].code, 0);
    free(msg);
    smtp_sender_free(&s);
}

static void test_connection_reused(void **state)
{
    (void)state;
    smtp_sender *s = new_sender(NULL);
    smtp_account a = postfix_account("bob@example.test", "secret");
    a.max_connections = 1;
    long off = maillog_offset();
    char tok[4][64];
    char *msg[4];
    got g[4];
    const char *rcpts[] = {"alice@example.test"};
    /* three at once (queued behind the one connection), then one more later */
    for (int i = 0; i < 3; i++) {
        msg[i] = make_message(tok[i], sizeof(tok[i]), "alice@example.test");
        submit_ok(s, &a, "bob@example.test", rcpts, 1, msg[i], &g[i]);
    }
    assert_true(wait_all(g, 3, 30));
    spin(0.3);
    msg[3] = make_message(tok[3], sizeof(tok[3]), "alice@example.test");
    submit_ok(s, &a, "bob@example.test", rcpts, 1, msg[3], &g[3]);
    assert_true(wait_all(&g[3], 1, 20));
    int reused = 0;
    for (int i = 0; i < 4; i++) {
        expect(&g[i], SMTP_SENT, SMTP_FAIL_NONE, 250);
        reused += g[i].reused;
    }
    assert_int_equal(reused, 3);
    smtp_sender_stats st;
    smtp_sender_get_stats(s, &st);
    assert_int_equal(st.connections, 1);
    assert_int_equal(st.peak_running, 1);
    assert_int_equal(st.submitted, 4);
    assert_int_equal(st.finished, 4);
    smtp_sender_free(&s); /* QUIT */
    /* Postfix saw one connection carrying four messages */
    char *log = NULL;
    for (int i = 0; i < 100; i++) {
        free(log);
        log = maillog_since(off);
        if (strstr(log, "disconnect from")) break;
        usleep(50 * 1000);
    }
    assert_int_equal(count(log, "]: connect from"), 1);
    assert_non_null(strstr(log, " mail=4 rcpt=4 data=4 quit=1"));
    free(log);
    for (int i = 0; i < 4; i++) {
        char *f = find_delivered("alice", tok[i]);
        assert_non_null(f);
        free(f);
        free(msg[i]);
    }
}

static void test_connection_closed_by_server_is_replaced(void **state)
{
    (void)state;
    smtp_sender *s = new_sender(NULL);
    char tok[64];
    char *msg = make_message(tok, sizeof(tok), "a@example.test");
    const char *rcpts[] = {"a@example.test"};
    smtp_account a = sink_account(L.sinks[SINK_IDLE_1S]);
    got g;
    submit_ok(s, &a, "bob@example.test", rcpts, 1, msg, &g);
    assert_true(wait_all(&g, 1, 20));
    expect(&g, SMTP_SENT, SMTP_FAIL_NONE, 250);
    spin(1.5); /* the server drops the idle connection */
    submit_ok(s, &a, "bob@example.test", rcpts, 1, msg, &g);
    assert_true(wait_all(&g, 1, 20));
    expect(&g, SMTP_SENT, SMTP_FAIL_NONE, 250);
    assert_false(g.reused);
    smtp_sender_stats st;
    smtp_sender_get_stats(s, &st);
    assert_int_equal(st.connections, 2);
    free(msg);
    smtp_sender_free(&s);
}

static void test_limits_queue_submissions(void **state)
{
    (void)state;
    smtp_sender_limits lim = {.max_connections = 2, .ehlo_name = "client.mailfleet.test"};
    smtp_sender *s = new_sender(&lim);
    smtp_account a = postfix_account("alice@example.test", "secret");
    smtp_account b = postfix_account("bob@example.test", "secret");
    smtp_account c = sink_account(L.sink_port);
    a.max_connections = b.max_connections = 3;
    c.max_connections = 3;
    got g[9];
    char tok[9][64];
    char *msg[9];
    const char *rcpts[] = {"carol@example.test"};
    for (int i = 0; i < 9; i++) {
        msg[i] = make_message(tok[i], sizeof(tok[i]), "carol@example.test");
        const smtp_account *acct = i % 3 == 0 ? &a : i % 3 == 1 ? &b : &c;
        submit_ok(s, acct, acct == &a ? "alice@example.test" : "bob@example.test", rcpts, 1, msg[i],
                  &g[i]);
    }
    assert_true(wait_all(g, 9, 40));
    for (int i = 0; i < 9; i++)
        expect(&g[i], SMTP_SENT, SMTP_FAIL_NONE, 250);
    smtp_sender_stats st;
    smtp_sender_get_stats(s, &st);
    assert_int_equal(st.peak_running, 2);
    assert_int_equal(st.running, 0);
    assert_int_equal(st.queued, 0);
    assert_true(st.connections <= 9);
    for (int i = 0; i < 9; i++)
        free(msg[i]);
    smtp_sender_free(&s);
}

static void test_starttls_with_lab_ca(void **state)
{
    (void)state;
    smtp_sender *s = new_sender(NULL);
    smtp_account a = postfix_account("bob@example.test", "secret");
    char tok[64];
    char *msg = make_message(tok, sizeof(tok), "alice@example.test");
    const char *rcpts[] = {"alice@example.test"};
    got g;
    submit_ok(s, &a, "bob@example.test", rcpts, 1, msg, &g);
    assert_true(wait_all(&g, 1, 20));
    expect(&g, SMTP_SENT, SMTP_FAIL_NONE, 250);
    char *file = find_delivered("alice", tok);
    assert_non_null(file);
    assert_non_null(strstr(file, "with ESMTPSA id")); /* TLS and AUTH (RFC 3848) */
    free(file);

    /* without the lab CA the certificate does not verify: nothing is sent, no credentials */
    long off = maillog_offset();
    a.ca_file = NULL;
    submit_ok(s, &a, "bob@example.test", rcpts, 1, msg, &g);
    assert_true(wait_all(&g, 1, 20));
    expect(&g, SMTP_PERMFAIL, SMTP_FAIL_TLS, 220); /* last reply: "220 Ready to start TLS" */
    assert_int_equal(g.r[0].outcome, SMTP_PERMFAIL);
    assert_non_null(strstr(g.reason, "TLS"));
    spin(0.3);
    char *log = maillog_since(off);
    assert_null(strstr(log, "sasl_username"));
    free(log);

    /* STARTTLS required but not offered (smtp-sink has no STARTTLS) */
    smtp_account nt = sink_account(L.sink_port);
    nt.security = SMTP_SEC_STARTTLS;
    submit_ok(s, &nt, "bob@example.test", rcpts, 1, msg, &g);
    assert_true(wait_all(&g, 1, 20));
    expect(&g, SMTP_PERMFAIL, SMTP_FAIL_TLS, -1);
    free(msg);
    smtp_sender_free(&s);
}

/* libcurl matches a cached connection on host, port and credentials, not on the TLS demands
 * of the new transfer: the sender must keep accounts that differ only in security or CA apart. */
static void test_starttls_never_reuses_a_plaintext_connection(void **state)
{
    (void)state;
    smtp_sender *s = new_sender(NULL);
    smtp_account plain = postfix_account("bob@example.test", "secret");
    plain.security = SMTP_SEC_NONE; /* loopback: allowed */
    plain.ca_file = NULL;
    smtp_account tls = postfix_account("bob@example.test", "secret");
    const char *rcpts[] = {"alice@example.test"};
    char tok[2][64];
    char *msg[2];
    got g[2];
    msg[0] = make_message(tok[0], sizeof(tok[0]), "alice@example.test");
    submit_ok(s, &plain, "bob@example.test", rcpts, 1, msg[0], &g[0]);
    assert_true(wait_all(&g[0], 1, 20));
    expect(&g[0], SMTP_SENT, SMTP_FAIL_NONE, 250);
    msg[1] = make_message(tok[1], sizeof(tok[1]), "alice@example.test");
    submit_ok(s, &tls, "bob@example.test", rcpts, 1, msg[1], &g[1]);
    assert_true(wait_all(&g[1], 1, 20));
    expect(&g[1], SMTP_SENT, SMTP_FAIL_NONE, 250);
    assert_false(g[1].reused);
    char *f0 = find_delivered("alice", tok[0]);
    char *f1 = find_delivered("alice", tok[1]);
    assert_non_null(f0);
    assert_non_null(f1);
    assert_non_null(strstr(f0, "with ESMTPA id"));
    if (!strstr(f1, "with ESMTPSA id")) fail_msg("the STARTTLS message went without TLS");
    free(f0);
    free(f1);
    /* and back: the plaintext account gets its own connection again, the TLS one its own */
    submit_ok(s, &plain, "bob@example.test", rcpts, 1, msg[0], &g[0]);
    submit_ok(s, &tls, "bob@example.test", rcpts, 1, msg[1], &g[1]);
    assert_true(wait_all(g, 2, 20));
    expect(&g[0], SMTP_SENT, SMTP_FAIL_NONE, 250);
    expect(&g[1], SMTP_SENT, SMTP_FAIL_NONE, 250);
    free(msg[0]);
    free(msg[1]);
    smtp_sender_free(&s);
}

static void test_smtps_with_lab_ca_delivers(void **state)
{
    (void)state;
    smtp_sender *s = new_sender(NULL);
    smtp_account a = postfix_account("bob@example.test", "secret");
    a.security = SMTP_SEC_TLS;
    a.port = (uint16_t)L.front_port;
    char tok[64];
    char *msg = make_message(tok, sizeof(tok), "alice@example.test");
    const char *rcpts[] = {"alice@example.test"};
    got g;
    submit_ok(s, &a, "bob@example.test", rcpts, 1, msg, &g);
    assert_true(wait_all(&g, 1, 20));
    expect(&g, SMTP_SENT, SMTP_FAIL_NONE, 250);
    char *file = find_delivered("alice", tok);
    assert_non_null(file);
    free(file);
    free(msg);
    smtp_sender_free(&s);
}

static void test_smtps_refuses_unknown_ca(void **state)
{
    (void)state;
    smtp_sender *s = new_sender(NULL);
    smtp_account a = postfix_account("bob@example.test", "secret");
    a.security = SMTP_SEC_TLS;
    a.port = (uint16_t)L.front_port;
    a.ca_file = NULL; /* the system store does not know the lab's CA */
    char tok[64];
    char *msg = make_message(tok, sizeof(tok), "alice@example.test");
    const char *rcpts[] = {"alice@example.test"};
    got g;
    submit_ok(s, &a, "bob@example.test", rcpts, 1, msg, &g);
    assert_true(wait_all(&g, 1, 20));
    expect(&g, SMTP_PERMFAIL, SMTP_FAIL_TLS, 0); /* no SMTP reply at all */
    assert_non_null(strstr(g.reason, "certificate"));
    free(msg);
    smtp_sender_free(&s);
}

static void test_auth_plain_wrong_password_permfail(void **state)
{
    (void)state;
    smtp_sender *s = new_sender(NULL);
    smtp_account a = postfix_account("bob@example.test", "not-the-password");
    char tok[64];
    char *msg = make_message(tok, sizeof(tok), "alice@example.test");
    const char *rcpts[] = {"alice@example.test"};
    got g;
    submit_ok(s, &a, "bob@example.test", rcpts, 1, msg, &g);
    assert_true(wait_all(&g, 1, 20));
    expect(&g, SMTP_PERMFAIL, SMTP_FAIL_AUTH, 535);
    assert_non_null(strstr(g.text, "5.7.8"));
    assert_null(strstr(g.reason, "not-the-password"));
    assert_null(strstr(g.text, "not-the-password"));
    assert_int_equal(g.r[0].code, 0);
    assert_int_equal(g.r[0].outcome, SMTP_PERMFAIL);
    free(msg);
    smtp_sender_free(&s);
}

static void test_xoauth2_never_falls_back_to_password_mechanisms(void **state)
{
    (void)state;
    smtp_sender *s = new_sender(NULL);
    /* smtp-sink offers AUTH PLAIN LOGIN only */
    smtp_account a = sink_account(L.sink_port);
    a.username = "bob@example.test";
    a.xoauth2_token = "ya29.token";
    char tok[64];
    char *msg = make_message(tok, sizeof(tok), "alice@example.test");
    const char *rcpts[] = {"alice@example.test"};
    got g;
    submit_ok(s, &a, "bob@example.test", rcpts, 1, msg, &g);
    assert_true(wait_all(&g, 1, 20));
    expect(&g, SMTP_PERMFAIL, SMTP_FAIL_AUTH, 250); /* last reply: EHLO */
    assert_null(strstr(g.reason, "ya29"));
    free(msg);
    smtp_sender_free(&s);
}

static double max_gap, last_tick;
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    double t = now();
    if (last_tick > 0 && t - last_tick > max_gap) max_gap = t - last_tick;
    last_tick = t;
}

static void test_slow_server_does_not_block_the_loop(void **state)
{
    (void)state;
    smtp_sender *s = new_sender(NULL);
    char tok[64];
    char *msg = make_message(tok, sizeof(tok), "a@example.test");
    const char *rcpts[] = {"a@example.test"};
    smtp_account a = sink_account(L.sinks[SINK_SLOW_DOT]); /* answers "." after 1 s */
    struct event *tick = event_new(base, -1, EV_PERSIST, on_tick, NULL);
    struct timeval tv = {0, 10 * 1000};
    max_gap = last_tick = 0;
    event_add(tick, &tv);
    got g;
    double t0 = now();
    submit_ok(s, &a, "bob@example.test", rcpts, 1, msg, &g);
    assert_true(wait_all(&g, 1, 20));
    event_free(tick);
    expect(&g, SMTP_SENT, SMTP_FAIL_NONE, 250);
    assert_true(g.at - t0 >= 0.9);
    if (max_gap > 0.5) fail_msg("the caller's loop stalled %.3f s", max_gap);
    free(msg);
    smtp_sender_free(&s);
}

static void test_free_with_submissions_in_flight_calls_nothing(void **state)
{
    (void)state;
    smtp_sender *s = new_sender(NULL);
    char tok[64];
    char *msg = make_message(tok, sizeof(tok), "a@example.test");
    const char *rcpts[] = {"a@example.test"};
    smtp_account slow = sink_account(L.sinks[SINK_SLOW_DOT]);
    slow.max_connections = 1;
    got g[3];
    for (int i = 0; i < 3; i++)
        submit_ok(s, &slow, "bob@example.test", rcpts, 1, msg, &g[i]);
    spin(0.2);
    double t0 = now();
    smtp_sender_free(&s); /* one running (waiting for "."), two queued */
    spin(0.2);
    assert_true(now() - t0 < 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(g[i].calls, 0);
    free(msg);
}

static void test_free_does_not_wait_for_a_silent_server(void **state)
{
    (void)state;
    smtp_sender *s = new_sender(NULL);
    char tok[64];
    char *msg = make_message(tok, sizeof(tok), "a@example.test");
    const char *rcpts[] = {"a@example.test"};
    smtp_account a = sink_account(L.sinks[SINK_SLOW_QUIT]); /* answers QUIT after 10 s */
    got g;
    submit_ok(s, &a, "bob@example.test", rcpts, 1, msg, &g);
    assert_true(wait_all(&g, 1, 20));
    expect(&g, SMTP_SENT, SMTP_FAIL_NONE, 250);
    double t0 = now();
    smtp_sender_free(&s); /* QUIT on the cached connection: no answer for 10 s */
    double took = now() - t0;
    if (took > 3.5) fail_msg("smtp_sender_free took %.2f s", took);
    free(msg);
}

static smtp_sender *freed_in_cb;
static int cb_calls;
static void on_done_free(const smtp_result *r, void *arg)
{
    (void)r;
    (void)arg;
    cb_calls++;
    smtp_sender_free(&freed_in_cb);
}

static void test_free_inside_callback(void **state)
{
    (void)state;
    freed_in_cb = new_sender(NULL);
    smtp_account a = sink_account(L.sinks[SINK_MAIL_5XX]);
    a.max_connections = 4;
    const char *rcpts[] = {"a@example.test"};
    mf_error err;
    cb_calls = 0;
    for (int i = 0; i < 4; i++)
        assert_int_equal(smtp_sender_submit(freed_in_cb, &a, "b@example.test", rcpts, 1, "x\r\n", 3,
                                            on_done_free, NULL, &err),
                         0);
    double until = now() + 10;
    while (freed_in_cb && now() < until)
        event_base_loop(base, EVLOOP_ONCE);
    assert_null(freed_in_cb);
    spin(0.3);
    assert_int_equal(cb_calls, 1);
}

static double test_t0;
static int timing_setup(void **state)
{
    (void)state;
    test_t0 = now();
    return 0;
}
static int timing_teardown(void **state)
{
    (void)state;
    fprintf(stderr, "# %.2f s\n", now() - test_t0);
    return 0;
}
#define T(f) cmocka_unit_test_setup_teardown(f, timing_setup, timing_teardown)

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    evthread_use_pthreads();
    base = event_base_new();
    char why[600] = "";
    int rc;
    if (start_lab(why, sizeof(why)) != 0 || start_front(why, sizeof(why)) != 0) {
        printf("1..1\nnot ok 1 - the mail lab starts: %s\n", why);
        fflush(stdout);
        fprintf(stderr, "test_smtp_sender: the lab did not start: %s\n", why);
        if (L.dir[0]) stop_lab();
        rc = 1;
    } else {
        const struct CMUnitTest tests[] = {
            T(test_submit_delivers_to_dovecot_via_postfix),
            T(test_plain_auth_allowed_on_loopback_only),
            T(test_submit_rejects_bad_input),
            T(test_rcpt_5xx_fails_only_that_recipient),
            T(test_every_recipient_refused_is_permfail),
            T(test_4xx_is_tempfail),
            T(test_mail_from_5xx_is_permfail),
            T(test_lost_connection_after_final_dot_is_maybe_sent),
            T(test_transfer_timeout_is_tempfail),
            T(test_connection_reused),
            T(test_connection_closed_by_server_is_replaced),
            T(test_limits_queue_submissions),
            T(test_starttls_with_lab_ca),
            T(test_starttls_never_reuses_a_plaintext_connection),
            T(test_smtps_with_lab_ca_delivers),
            T(test_smtps_refuses_unknown_ca),
            T(test_auth_plain_wrong_password_permfail),
            T(test_xoauth2_never_falls_back_to_password_mechanisms),
            T(test_slow_server_does_not_block_the_loop),
            T(test_free_with_submissions_in_flight_calls_nothing),
            T(test_free_does_not_wait_for_a_silent_server),
            T(test_free_inside_callback),
        };
        /* SMTP_TEST_FILTER=pattern runs only the matching tests (while working on one) */
        if (getenv("SMTP_TEST_FILTER")) cmocka_set_test_filter(getenv("SMTP_TEST_FILTER"));
        rc = cmocka_run_group_tests_name("smtp_sender", tests, NULL, NULL);
        stop_lab();
    }
    stop_front();
    event_base_free(base);
    if (L.watchdog_fd >= 0) {
        ssize_t w = write(L.watchdog_fd, "d", 1);
        (void)w;
        close(L.watchdog_fd);
        wait(NULL);
    }
    if (rc == 0 && L.dir[0]) {
        char cmd[400];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", L.dir);
        (void)run(cmd, NULL, 0);
    } else if (L.dir[0]) {
        fprintf(stderr, "test_smtp_sender: kept %s for inspection\n", L.dir);
    }
    return rc;
}
