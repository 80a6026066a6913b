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
    int backfill;        /* part of the first import of the mailbox's history (R13, R21) */
} ingest_source;

/* 1 stored, 0 already there, -1 error (logged). */
int ingest_message(db *d, const ingest_source *src, const void *raw, size_t len);
#endif
