/* conn_test.h — a blocking connection test of one mailbox's settings, for the invitee's
 * connect page (R14): IMAP connect + TLS/STARTTLS + login + LOGOUT (through imap_client on a
 * private libevent base), and SMTP connect + TLS/STARTTLS + EHLO + AUTH + QUIT (through libcurl,
 * CONNECT_ONLY: no message is sent). Each test is bounded by its timeout. Certificates are
 * verified (system store + ca_file). A password is never sent in clear text to a host that is
 * not loopback (security "none" is for local servers only). Reasons never contain the
 * password. Callable from any thread; nothing is shared between calls. */
#ifndef MF_CONN_TEST_H
#define MF_CONN_TEST_H
#include <stdbool.h>
#include <stdint.h>

enum conn_test_failure {
    CONN_TEST_OK = 0,
    CONN_TEST_NETWORK,  /* DNS, refused, reset */
    CONN_TEST_TIMEOUT,
    CONN_TEST_TLS,      /* handshake or certificate */
    CONN_TEST_AUTH,     /* credentials refused, or no way to authenticate */
    CONN_TEST_PROTOCOL, /* the server answered something unusable */
    CONN_TEST_SETTINGS, /* refused before connecting (clear-text password to a remote host) */
};

typedef struct conn_test_server {
    const char *host;
    uint16_t port;
    const char *security; /* "tls" | "starttls" | "none" */
    const char *username;
    const char *password;
} conn_test_server;

typedef struct conn_test_result {
    bool ok;
    enum conn_test_failure failure;
    char reason[240]; /* one sentence for people; "" when ok */
} conn_test_result;

/* 0 when the test ran (see out->ok), -1 only when it could not be set up at all (out says
 * why). timeout_s bounds the whole test (0 = 30). */
int conn_test_imap(const conn_test_server *srv, const char *ca_file, unsigned timeout_s,
                   conn_test_result *out);
int conn_test_smtp(const conn_test_server *srv, const char *ca_file, unsigned timeout_s,
                   conn_test_result *out);
const char *conn_test_failure_name(enum conn_test_failure f); /* "ok", "network", ... */
/* Loopback host: "localhost", 127.0.0.0/8, ::1. */
bool conn_test_is_loopback(const char *host);
#endif
