/* test_imap_client_stop.c — mail/imap_client.c: a client freed while data is arriving is
 * really released once imap_client_settle() has run, before event_base_free().
 *
 * libevent 2.1 releases a bufferevent (socket, buffers, SSL) only from callbacks run by the
 * loop: a deferred callback queued for it keeps a reference. The engine stops from an event
 * callback (frees the sessions, breaks the loop); when the loop had just read data for a
 * connection, the deferred read callback of that connection is still queued and a base freed
 * then leaked the connection (the LeakSanitizer report on SIGTERM of `mailfleet serve`, R12).
 *
 * Here the order is made certain: a loopback IMAP "server" in this thread sends a line and
 * then wakes a stop event through a pipe, so one epoll round reports the client's socket
 * first and the stop second; the socket's read callback queues the deferred read callback
 * behind the stop event, and the stop frees the client and breaks the loop as the engine
 * does. The test checks that work is indeed still queued, settles, frees the base, and then
 * sees the client's socket closed from the server side (EOF): the bufferevent was released.
 * Without the settle the socket stays open (and ASan reports the leak at exit). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <poll.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <event2/event.h>
#include <openssl/ssl.h>
#include "mail/imap_client.h"
#include "loopback.h"

typedef struct stop_ctx {
    struct event_base *base;
    imap_client *client;
    int untagged;  /* untagged lines the client passed on */
    int errors;
    bool stopped;
} stop_ctx;

static void on_untagged(imap_client *c, const imap_response *r, void *arg)
{
    (void)c;
    (void)r;
    ((stop_ctx *)arg)->untagged++;
}

static void on_error(imap_client *c, enum imap_client_error kind, const char *reason, void *arg)
{
    (void)c;
    (void)kind;
    print_message("# client error: %s\n", reason);
    ((stop_ctx *)arg)->errors++;
}

/* What the engine's on_stop does: free the connection, break the loop. */
static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    stop_ctx *x = arg;
    char b;
    if (read(fd, &b, 1) < 0) fail_msg("read from the stop pipe: %s", strerror(errno));
    imap_client_free(&x->client);
    x->stopped = true;
    event_base_loopbreak(x->base);
}

/* 1 when the peer closed the connection within ms, 0 when it is still open. */
static int peer_closed(int fd, int ms)
{
    char buf[256];
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, ms) != 1) return 0;
        ssize_t r = recv(fd, buf, sizeof(buf), 0);
        if (r == 0) return 1;
        if (r < 0) return errno == ECONNRESET;
    }
}

static void test_R12_client_freed_with_a_read_pending_is_released_after_settle(void **state)
{
    (void)state;
    char why[256];
    SSL_CTX *ctx = imap_client_ssl_ctx(NULL, why, sizeof(why));
    assert_non_null(ctx);
    struct event_base *base = event_base_new();
    assert_non_null(base);
    uint16_t port;
    int ls = listen_loopback(&port);

    stop_ctx x = {.base = base};
    imap_client_cfg cfg = {.host = "127.0.0.1", .port = port, .security = IMAP_SEC_NONE,
                           .username = "stan@example.test", .password = "secret",
                           .connect_timeout = 10, .command_timeout = 10};
    imap_client_events ev = {.on_untagged = on_untagged, .on_error = on_error};
    x.client = imap_client_new(base, ctx, &cfg, &ev, &x);
    assert_non_null(x.client);
    assert_int_equal(imap_client_connect(x.client), 0);
    event_base_loop(base, EVLOOP_NONBLOCK);
    int srv = accept(ls, NULL, NULL);
    assert_true(srv >= 0);

    /* Greeting; the client asks for the capabilities and waits for the answer. */
    const char *greeting = "* OK fake server ready\r\n";
    assert_int_equal(send(srv, greeting, strlen(greeting), 0), (ssize_t)strlen(greeting));
    char line[512];
    pump_until_line(base, srv, line, sizeof(line));
    assert_non_null(strstr(line, "CAPABILITY"));
    assert_int_equal(x.errors, 0);

    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);
    struct event *stop_ev = event_new(base, pipefd[0], EV_READ, on_stop, &x);
    assert_non_null(stop_ev);
    event_add(stop_ev, NULL);

    /* Data for the client first, then the stop: both ready in the same epoll round. */
    const char *more = "* OK still here\r\n";
    assert_int_equal(send(srv, more, strlen(more), 0), (ssize_t)strlen(more));
    assert_int_equal(write(pipefd[1], "s", 1), 1);
    event_base_loop(base, EVLOOP_ONCE);
    assert_true(x.stopped);
    /* The client's deferred read callback never ran: work is still queued for the freed
     * bufferevent (otherwise this test proves nothing). */
    assert_int_equal(x.untagged, 0);
    assert_true(event_base_get_num_events(base, EVENT_BASE_COUNT_ACTIVE) > 0);

    imap_client_settle(base);
    assert_int_equal(event_base_get_num_events(base, EVENT_BASE_COUNT_ACTIVE), 0);
    event_free(stop_ev);
    event_base_free(base);
    SSL_CTX_free(ctx);

    /* The bufferevent was released: its socket (BEV_OPT_CLOSE_ON_FREE) is closed. */
    assert_int_equal(peer_closed(srv, 2000), 1);
    close(srv);
    close(ls);
    close(pipefd[0]);
    close(pipefd[1]);
}

/* Nothing queued: settling is a no-op and returns at once. */
static void test_settle_on_an_idle_base_returns(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    assert_non_null(base);
    imap_client_settle(base);
    assert_int_equal(event_base_get_num_events(base, EVENT_BASE_COUNT_ACTIVE), 0);
    event_base_free(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_R12_client_freed_with_a_read_pending_is_released_after_settle),
        cmocka_unit_test(test_settle_on_an_idle_base_returns),
    };
    return cmocka_run_group_tests_name("imap_client_stop", tests, NULL, NULL);
}
