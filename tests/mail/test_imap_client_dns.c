/* test_imap_client_dns.c — mail/imap_client.c with an evdns base (the engine's): host names
 * are resolved on the loop without blocking it.
 *
 * 1. A DNS server that never answers (a UDP socket of this test): while the lookup waits for
 *    its timeout the loop keeps running other events (a 20 ms timer keeps ticking), the query
 *    did go to that server, and the client then fails with a network error "cannot resolve"
 *    (the mailbox goes to `error` and is retried, R12). With the blocking getaddrinfo the
 *    engine used before, one dead DNS server froze every session of the loop.
 * 2. A name from a hosts file (what the engine's evdns reads from /etc/hosts) connects: the
 *    test's loopback "server" gets the client's first command. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <cmocka.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <openssl/ssl.h>
#include "mail/imap_client.h"
#include "loopback.h"

typedef struct dns_ctx {
    int errors;
    enum imap_client_error kind;
    char reason[256];
    int ticks;
} dns_ctx;

static void on_error(imap_client *c, enum imap_client_error kind, const char *reason, void *arg)
{
    (void)c;
    dns_ctx *x = arg;
    x->errors++;
    x->kind = kind;
    snprintf(x->reason, sizeof(x->reason), "%s", reason);
}

static void on_untagged(imap_client *c, const imap_response *r, void *arg)
{
    (void)c;
    (void)r;
    (void)arg;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ((dns_ctx *)arg)->ticks++;
}

/* A UDP "DNS server" on 127.0.0.1 that reads queries and never answers. */
static int silent_dns(uint16_t *port)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(s >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    socklen_t len = sizeof(a);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    assert_int_equal(fcntl(s, F_SETFL, O_NONBLOCK), 0);
    return s;
}

static struct evdns_base *dns_with_server(struct event_base *base, uint16_t port)
{
    struct evdns_base *dns = evdns_base_new(base, 0);
    assert_non_null(dns);
    char ns[32];
    snprintf(ns, sizeof(ns), "127.0.0.1:%u", port);
    assert_int_equal(evdns_base_nameserver_ip_add(dns, ns), 0);
    assert_int_equal(evdns_base_set_option(dns, "timeout:", "0.4"), 0);
    assert_int_equal(evdns_base_set_option(dns, "attempts:", "2"), 0);
    return dns;
}

static void test_R12_a_dead_dns_server_does_not_block_the_loop(void **state)
{
    (void)state;
    char why[256];
    SSL_CTX *ctx = imap_client_ssl_ctx(NULL, why, sizeof(why));
    assert_non_null(ctx);
    struct event_base *base = event_base_new();
    uint16_t dport;
    int dsock = silent_dns(&dport);
    struct evdns_base *dns = dns_with_server(base, dport);
    dns_ctx x = {0};
    struct event *tick = event_new(base, -1, EV_PERSIST, on_tick, &x);
    struct timeval every = {.tv_sec = 0, .tv_usec = 20000};
    event_add(tick, &every);

    imap_client_cfg cfg = {.host = "imap.mailbox.invalid", .port = 143,
                           .security = IMAP_SEC_NONE, .username = "u", .password = "p",
                           .connect_timeout = 20, .command_timeout = 20, .dns = dns};
    imap_client_events ev = {.on_untagged = on_untagged, .on_error = on_error};
    imap_client *c = imap_client_new(base, ctx, &cfg, &ev, &x);
    assert_int_equal(imap_client_connect(c), 0);
    assert_int_equal(x.errors, 0); /* nothing decided yet: the lookup is in flight */
    for (int i = 0; i < 500 && x.errors == 0; i++) event_base_loop(base, EVLOOP_ONCE);

    assert_int_equal(x.errors, 1);
    assert_int_equal(x.kind, IMAP_CLIENT_ERR_NETWORK);
    if (!strstr(x.reason, "cannot resolve imap.mailbox.invalid"))
        fail_msg("reason: %s", x.reason);
    /* 2 attempts x 0.4 s: the 20 ms timer ran all along (a blocked loop would show 0-1) */
    if (x.ticks < 20) fail_msg("the loop ran only %d timer ticks during the lookup", x.ticks);
    char q[512];
    int queries = 0;
    while (recv(dsock, q, sizeof(q), 0) > 0) queries++;
    if (queries < 1) fail_msg("no query reached the test's DNS server");
    print_message("# lookup failed after %d ticks of 20 ms, %d queries: %s\n", x.ticks, queries,
                  x.reason);

    imap_client_free(&c);
    imap_client_settle(base);
    event_free(tick);
    evdns_base_free(dns, 0);
    event_base_free(base);
    SSL_CTX_free(ctx);
    close(dsock);
}

static void test_a_name_from_the_hosts_file_connects(void **state)
{
    (void)state;
    char why[256];
    SSL_CTX *ctx = imap_client_ssl_ctx(NULL, why, sizeof(why));
    assert_non_null(ctx);
    struct event_base *base = event_base_new();
    uint16_t dport, port;
    int dsock = silent_dns(&dport); /* a name not in the hosts file would time out here */
    struct evdns_base *dns = dns_with_server(base, dport);
    char hosts[] = "/tmp/mf-test-hosts-XXXXXX";
    int hfd = mkstemp(hosts);
    assert_true(hfd >= 0);
    const char *line = "127.0.0.1 imap.lab.test\n";
    assert_int_equal(write(hfd, line, strlen(line)), (ssize_t)strlen(line));
    close(hfd);
    assert_int_equal(evdns_base_load_hosts(dns, hosts), 0);
    unlink(hosts);
    int ls = listen_loopback(&port);

    dns_ctx x = {0};
    imap_client_cfg cfg = {.host = "imap.lab.test", .port = port, .security = IMAP_SEC_NONE,
                           .username = "u", .password = "p", .connect_timeout = 10,
                           .command_timeout = 10, .dns = dns};
    imap_client_events ev = {.on_untagged = on_untagged, .on_error = on_error};
    imap_client *c = imap_client_new(base, ctx, &cfg, &ev, &x);
    assert_int_equal(imap_client_connect(c), 0);
    int srv = -1;
    for (int i = 0; i < 200 && srv < 0 && x.errors == 0; i++) {
        event_base_loop(base, EVLOOP_NONBLOCK);
        struct pollfd p = {.fd = ls, .events = POLLIN};
        if (poll(&p, 1, 10) == 1) srv = accept(ls, NULL, NULL);
    }
    if (srv < 0) fail_msg("the client did not connect (%s)", x.errors ? x.reason : "no error");
    const char *greeting = "* OK fake server ready\r\n";
    assert_int_equal(send(srv, greeting, strlen(greeting), 0), (ssize_t)strlen(greeting));
    char got[512];
    pump_until_line(base, srv, got, sizeof(got));
    assert_non_null(strstr(got, "CAPABILITY"));
    assert_int_equal(x.errors, 0);

    imap_client_free(&c);
    imap_client_settle(base);
    evdns_base_free(dns, 0);
    event_base_free(base);
    SSL_CTX_free(ctx);
    close(srv);
    close(ls);
    close(dsock);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_R12_a_dead_dns_server_does_not_block_the_loop),
        cmocka_unit_test(test_a_name_from_the_hosts_file_connects),
    };
    return cmocka_run_group_tests_name("imap_client_dns", tests, NULL, NULL);
}
