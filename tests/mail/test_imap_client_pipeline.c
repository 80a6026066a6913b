/* test_imap_client_pipeline.c — mail/imap_client.c: imap_client_command_next sends a second
 * command behind the one in flight (the sync's UID FETCHes: the server never waits for the
 * client between two batches, one round trip less per batch on a distant server).
 *
 * A loopback "server" driven by the test: it receives both commands before it answers either
 * (so they really were pipelined), answers them in order, and each done callback runs once, in
 * sending order. A third command, IDLE, or a plain imap_client_command are refused while two
 * (or one) are in flight; an answer out of order is a protocol error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <event2/event.h>
#include <openssl/ssl.h>
#include "mail/imap_client.h"
#include "loopback.h"

typedef struct pipe_ctx {
    bool ready;
    int errors;
    char order[8]; /* done callbacks by name, in the order they ran */
    size_t n;
} pipe_ctx;

static void on_ready(imap_client *c, void *arg)
{
    (void)c;
    ((pipe_ctx *)arg)->ready = true;
}

static void on_error(imap_client *c, enum imap_client_error kind, const char *reason, void *arg)
{
    (void)c;
    (void)kind;
    print_message("# client error: %s\n", reason);
    ((pipe_ctx *)arg)->errors++;
}

static pipe_ctx *done_ctx;

static void done_a(imap_client *c, imap_status st, const imap_response *r, void *arg)
{
    (void)c;
    (void)r;
    (void)arg;
    assert_int_equal(st, IMAP_STATUS_OK);
    done_ctx->order[done_ctx->n++] = 'A';
}

static void done_b(imap_client *c, imap_status st, const imap_response *r, void *arg)
{
    (void)c;
    (void)r;
    (void)arg;
    assert_int_equal(st, IMAP_STATUS_OK);
    done_ctx->order[done_ctx->n++] = 'B';
}

static void send_str(int fd, const char *s)
{
    assert_int_equal(send(fd, s, strlen(s), 0), (ssize_t)strlen(s));
}

/* The tag of a command line ("m3 NOOP\r\n" -> "m3"). */
static void tag_of(const char *line, char *tag, size_t cap)
{
    size_t n = strcspn(line, " ");
    assert_true(n > 0 && n < cap);
    memcpy(tag, line, n);
    tag[n] = '\0';
}

static void pump(struct event_base *base)
{
    for (int i = 0; i < 20; i++) {
        event_base_loop(base, EVLOOP_NONBLOCK);
        usleep(2000);
    }
}

/* One test's client, loop and server sockets. */
typedef struct fixture {
    SSL_CTX *ctx;
    struct event_base *base;
    int ls, srv;
    imap_client *c;
} fixture;

static void fixture_free(fixture *f)
{
    imap_client_free(&f->c);
    imap_client_settle(f->base);
    event_base_free(f->base);
    SSL_CTX_free(f->ctx);
    close(f->srv);
    close(f->ls);
}

/* A client logged in to the test's server: greeting, CAPABILITY, LOGIN. */
static imap_client *logged_in(struct event_base *base, SSL_CTX *ctx, int ls, int *srv,
                              pipe_ctx *x)
{
    uint16_t port;
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    assert_int_equal(getsockname(ls, (struct sockaddr *)&a, &len), 0);
    port = ntohs(a.sin_port);
    imap_client_cfg cfg = {.host = "127.0.0.1", .port = port, .security = IMAP_SEC_NONE,
                           .username = "stan@example.test", .password = "secret",
                           .connect_timeout = 10, .command_timeout = 10};
    imap_client_events ev = {.on_ready = on_ready, .on_error = on_error};
    imap_client *c = imap_client_new(base, ctx, &cfg, &ev, x);
    assert_non_null(c);
    assert_int_equal(imap_client_connect(c), 0);
    event_base_loop(base, EVLOOP_NONBLOCK);
    *srv = accept(ls, NULL, NULL);
    assert_true(*srv >= 0);
    send_str(*srv, "* OK fake server ready\r\n");
    char line[512], tag[16], reply[128];
    pump_until_line(base, *srv, line, sizeof(line));
    assert_non_null(strstr(line, "CAPABILITY"));
    tag_of(line, tag, sizeof(tag));
    snprintf(reply, sizeof(reply), "* CAPABILITY IMAP4rev1 IDLE\r\n%s OK done\r\n", tag);
    send_str(*srv, reply);
    pump_until_line(base, *srv, line, sizeof(line)); /* LOGIN (no AUTH=PLAIN offered) */
    tag_of(line, tag, sizeof(tag));
    snprintf(reply, sizeof(reply), "%s OK logged in\r\n", tag);
    send_str(*srv, reply);
    pump(base);
    assert_true(x->ready);
    assert_int_equal(x->errors, 0);
    return c;
}

static void fixture_start(fixture *f, pipe_ctx *x)
{
    char why[256];
    f->ctx = imap_client_ssl_ctx(NULL, why, sizeof(why));
    assert_non_null(f->ctx);
    f->base = event_base_new();
    uint16_t port;
    f->ls = listen_loopback(&port);
    done_ctx = x;
    f->c = logged_in(f->base, f->ctx, f->ls, &f->srv, x);
}

/* A logged-in client with NOOP (done_a) and CHECK (done_b) pipelined: both reach the server
 * before it answers anything, and nothing more may be sent meanwhile. Their tags out. */
static void two_in_flight(fixture *f, pipe_ctx *x, char tag1[16], char tag2[16])
{
    fixture_start(f, x);
    assert_int_equal(imap_client_command_next(f->c, "NOOP", done_a, NULL), 0);
    assert_int_equal(imap_client_command_next(f->c, "CHECK", done_b, NULL), 0);
    /* two in flight: nothing more until an answer */
    assert_int_equal(imap_client_command_next(f->c, "NOOP", done_a, NULL), -1);
    assert_int_equal(imap_client_command(f->c, "NOOP", done_a, NULL), -1);
    assert_int_equal(imap_client_idle(f->c, done_a, NULL), -1);
    char lines[1024];
    pump_until_lines(f->base, f->srv, lines, sizeof(lines), 2);
    tag_of(lines, tag1, 16);
    tag_of(strchr(lines, '\n') + 1, tag2, 16);
    assert_non_null(strstr(lines, " NOOP\r\n"));
    assert_non_null(strstr(lines, " CHECK\r\n"));
    assert_string_not_equal(tag1, tag2);
}

static void answer(fixture *f, const char *tag)
{
    char reply[128];
    snprintf(reply, sizeof(reply), "%s OK done\r\n", tag);
    send_str(f->srv, reply);
    pump(f->base);
}

static void test_R13_two_commands_in_flight_answered_in_order(void **state)
{
    (void)state;
    pipe_ctx x = {0};
    fixture f;
    char tag1[16], tag2[16];
    two_in_flight(&f, &x, tag1, tag2);
    answer(&f, tag1);
    assert_int_equal(x.n, 1);
    assert_int_equal(x.order[0], 'A');
    /* one still in flight: one more may go behind it, a plain command may not */
    assert_int_equal(imap_client_command(f.c, "NOOP", done_a, NULL), -1);
    answer(&f, tag2);
    assert_int_equal(x.n, 2);
    assert_memory_equal(x.order, "AB", 2);
    assert_int_equal(x.errors, 0);
    /* nothing in flight: an ordinary command is accepted again */
    assert_int_equal(imap_client_command(f.c, "NOOP", done_a, NULL), 0);
    fixture_free(&f);
}

static void test_R13_answer_out_of_order_is_a_protocol_error(void **state)
{
    (void)state;
    pipe_ctx x = {0};
    fixture f;
    char tag1[16], tag2[16];
    two_in_flight(&f, &x, tag1, tag2);
    answer(&f, tag2); /* the second's answer first */
    assert_int_equal(x.errors, 1);
    assert_int_equal(x.n, 0); /* no done ran for a mismatched answer */
    fixture_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_R13_two_commands_in_flight_answered_in_order),
        cmocka_unit_test(test_R13_answer_out_of_order_is_a_protocol_error),
    };
    return cmocka_run_group_tests_name("imap_client_pipeline", tests, NULL, NULL);
}
