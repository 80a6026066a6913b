/* ingest.h — one fetched message into the store: parse (src/mail/message_parse, GMime),
 * classify (src/core/classify: reply R22, auto-reply/bounce R23), thread and store once. */
#ifndef MF_INGEST_H
#define MF_INGEST_H
#include <stdint.h>
#include <time.h>
#include "store/db.h"

typedef struct ingest_source {
    const char *mailbox_id;
    const char *mailbox_address;
    const char *folder;
    const char *role; /* "inbox" | "sent" */
    int64_t uidvalidity, uid;
    time_t internaldate; /* 0 = unknown */
    int seen;            /* \Seen at fetch time */
    int backfill;        /* imported by the first sync (R13): no webhook events for it */
    int64_t size;        /* the server's RFC822.SIZE when raw is only the start; 0: raw's length */
} ingest_source;

struct message_parsed;

/* 1 stored, 0 already there, -1 error (logged). A new inbound message seen live (not
 * backfill) also emits the webhook events message.received, and message.reply or
 * message.bounce by its classification (in the caller's transaction). */
int ingest_message(db *d, const ingest_source *src, const void *raw, size_t len);
/* The second half of ingest_message, for a message already parsed (message_parse() may run on
 * another thread: the engine's work pool): classify, thread and store. Does not count it in
 * messages_imported (a batch counts its messages once: mailboxes_add_imported). */
int ingest_parsed(db *d, const ingest_source *src, const void *raw, size_t len,
                  const struct message_parsed *p);
/* The stored copy of a message this mailbox sent (role "sent"): from copy (the
 * compose_message.copy kept in the outbox, compose_copy_read) when there is one, so our own
 * message is not parsed again; else parsed like ingest_message. Does not count it in
 * messages_imported (the caller counts a round's messages once). 1 stored, 0 already there,
 * -1 error (logged). */
int ingest_sent(db *d, const ingest_source *src, const char *raw, size_t len, const char *copy);
#endif
