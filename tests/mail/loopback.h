/* loopback.h — test helpers shared by the IMAP client tests: a listening TCP socket on
 * 127.0.0.1 (a "server" driven by the test itself) and a loop pump that runs the client until
 * the server side has a whole line. Include after cmocka.h and event2/event.h. */
#ifndef MF_TEST_LOOPBACK_H
#define MF_TEST_LOOPBACK_H
#include <poll.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

static int listen_loopback(uint16_t *port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s, 4), 0);
    socklen_t len = sizeof(a);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return s;
}

/* Run the loop until the server side has received `lines` whole lines from the client (into
 * buf, NUL-terminated). */
static void pump_until_lines(struct event_base *base, int fd, char *buf, size_t cap, int lines)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < 500; i++) {
        int seen = 0;
        for (const char *p = buf; (p = strchr(p, '\n')); p++) seen++;
        if (seen >= lines) return;
        event_base_loop(base, EVLOOP_NONBLOCK);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 10) == 1) {
            ssize_t r = recv(fd, buf + n, cap - 1 - n, 0);
            assert_true(r > 0);
            n += (size_t)r;
            buf[n] = '\0';
        }
    }
    fail_msg("the client sent fewer than %d line(s) (got %zu bytes)", lines, n);
}

/* Run the loop until the server side has received a whole line from the client. */
static inline void pump_until_line(struct event_base *base, int fd, char *buf, size_t cap)
{
    pump_until_lines(base, fd, buf, cap, 1);
}

#endif
