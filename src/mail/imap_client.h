/* imap_client.h — one IMAP connection on a libevent loop: TCP, implicit TLS or STARTTLS with
 * certificate verification, the greeting and CAPABILITY, authentication (AUTHENTICATE PLAIN or
 * LOGIN; an XOAUTH2 hook for the OAuth issue), and one command at a time (two pipelined, for the
 * sync's fetches) with a timeout. The
 * bytes from the server go through imap_parser (never trusted); the caller (an engine session)
 * drives the protocol with imap_client_command() and IDLE.
 *
 * States:
 *
 *   NEW --connect()--> CONNECTING --tcp/tls up--> GREETING --"* OK"--> [STARTTLS --> TLS up -->]
 *        CAPABILITY --> AUTH --tagged OK--> READY <--> BUSY (one command; two with
 *                                                          imap_client_command_next) <--> IDLING
 *   any state --network error, timeout, BYE, parser error--> CLOSED (on_error called once)
 *   AUTH --tagged NO--> CLOSED with IMAP_CLIENT_ERR_AUTH (the server's text as the reason)
 *
 * Callbacks run on the loop thread. After on_error the client does nothing more; free it
 * (imap_client_free is safe inside callbacks: the free is deferred to after the callback). */
#ifndef MF_IMAP_CLIENT_H
#define MF_IMAP_CLIENT_H
#include <stdbool.h>
#include <stdint.h>
#include "mail/imap_parser.h"

struct evdns_base;

struct event_base;
typedef struct ssl_ctx_st SSL_CTX;
typedef struct imap_client imap_client;

enum imap_security { IMAP_SEC_TLS = 0, IMAP_SEC_STARTTLS, IMAP_SEC_NONE };

typedef struct imap_client_cfg {
    const char *host;
    uint16_t port;
    enum imap_security security;
    const char *username;
    const char *password;      /* or the OAuth access token when xoauth2 */
    bool xoauth2;              /* AUTHENTICATE XOAUTH2 (R11; token supplied by the caller) */
    unsigned connect_timeout;  /* seconds; default 30 */
    unsigned command_timeout;  /* seconds; default 60 */
    /* Resolves host names without blocking the loop (libevent's evdns). NULL: getaddrinfo on
     * the calling thread, which blocks it for the lookup (fine for a one-off test on its own
     * thread, not for an engine loop running thousands of sessions). */
    struct evdns_base *dns;
} imap_client_cfg;

enum imap_client_error {
    IMAP_CLIENT_ERR_NETWORK = 1, /* connect refused, reset, DNS */
    IMAP_CLIENT_ERR_TIMEOUT,
    IMAP_CLIENT_ERR_TLS,      /* handshake or certificate verification */
    IMAP_CLIENT_ERR_PROTOCOL, /* parser error, unexpected response, BYE */
    IMAP_CLIENT_ERR_AUTH,     /* credentials refused: the mailbox is failing (R12) */
};

typedef struct imap_client_events {
    /* Authenticated and ready for commands. */
    void (*on_ready)(imap_client *c, void *arg);
    /* Untagged responses not consumed by the client itself (EXISTS, FETCH, SEARCH, LIST...). */
    void (*on_untagged)(imap_client *c, const imap_response *r, void *arg);
    /* The connection is over; reason is a sentence without credentials. */
    void (*on_error)(imap_client *c, enum imap_client_error kind, const char *reason, void *arg);
} imap_client_events;

/* The tagged completion of a command: status OK/NO/BAD and the server's text. */
typedef void (*imap_done_cb)(imap_client *c, imap_status status, const imap_response *tagged,
                             void *arg);

/* ssl_ctx is shared by all clients (made by imap_client_ssl_ctx). cfg strings are copied;
 * the password is zeroed when freed. */
imap_client *imap_client_new(struct event_base *base, SSL_CTX *ssl_ctx,
                             const imap_client_cfg *cfg, const imap_client_events *ev, void *arg);
void imap_client_free(imap_client **c);
/* Before event_base_free() of a loop that will not run again: run the callbacks the loop
 * still owes freed clients. libevent 2.1 releases a bufferevent (its socket, buffers and SSL,
 * which holds a reference to the SSL_CTX) only from the loop: a deferred callback queued for
 * it keeps it alive until that callback runs, and the finalizers free the memory; a base freed
 * with such a callback still queued drops it and leaks the lot. Runs only what is already
 * active (EVLOOP_NONBLOCK): nothing waits. Call it on the loop's thread. */
void imap_client_settle(struct event_base *base);
/* Start connecting; the outcome comes through on_ready or on_error. */
int imap_client_connect(imap_client *c);

/* A client TLS context verifying peers against the system store plus ca_file (may be NULL or
 * ""). NULL with a reason in why on failure. */
SSL_CTX *imap_client_ssl_ctx(const char *ca_file, char *why, size_t why_len);

/* Send "<tag> <command>\r\n" (command must not contain CR or LF) and call done on the tagged
 * answer. One command at a time: -1 when busy or closed. */
int imap_client_command(imap_client *c, const char *command, imap_done_cb done, void *arg);
/* Like imap_client_command, but when a command is in flight this one is sent at once behind it
 * (pipelined, RFC 3501 section 5.5) and its done is called after the first's; at most two in
 * flight: -1 when both are taken. Only for commands whose answers may follow each other (the
 * sync's UID FETCHes: the server is never idle between two batches). */
int imap_client_command_next(imap_client *c, const char *command, imap_done_cb done, void *arg);
/* IDLE: sends IDLE; untagged responses keep arriving through on_untagged; done is called when
 * the server ends it (after imap_client_idle_done or on its own). */
int imap_client_idle(imap_client *c, imap_done_cb done, void *arg);
int imap_client_idle_done(imap_client *c);
bool imap_client_is_idling(const imap_client *c);
bool imap_client_has_capability(const imap_client *c, const char *cap);
/* Quote s as an IMAP quoted string into out (for mailbox names); -1 when it cannot be quoted
 * (CR, LF, NUL) or out is too small. */
int imap_quote(const char *s, char *out, size_t outlen);
#endif
