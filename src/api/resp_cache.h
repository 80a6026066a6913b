/* resp_cache.h — ready-made answers of hot GET routes (the mailbox list), kept per HTTP thread
 * and reused while the database has not changed since they were made.
 *
 * Validity: an entry is tagged with the db_data_version() read before its data was read, and
 * is served only while the thread's connection gives the same number — any commit by anyone
 * (this process, another process on the same SQLite file) makes every entry of every thread a
 * miss. Entries also end at the next quarter hour of UTC: answers may hold values of the local
 * day (sent_today, R15), and every time zone's offset is a multiple of 15 minutes, so no local
 * midnight passes within the life of an entry. Without a version (PostgreSQL) nothing is cached.
 *
 * Each body carries a strong ETag (a 128-bit hash of its bytes), so a client that sends
 * If-None-Match gets 304 Not Modified while the bytes are the same, from any thread or process.
 * Bodies are reference counted: the HTTP layer sends them without a copy. */
#ifndef MF_RESP_CACHE_H
#define MF_RESP_CACHE_H
#include <stddef.h>
#include <stdint.h>

typedef struct resp_body {
    int refs; /* atomic */
    char *text;
    size_t len;
    char etag[35]; /* "\"" + 32 hex + "\"" */
} resp_body;

/* A body for text (taken over, malloc'd), with one reference for the caller. */
resp_body *resp_body_new(char *text, size_t len);
void resp_body_ref(resp_body *b);
void resp_body_unref(resp_body *b); /* frees at zero; NULL is fine */

/* This thread's answer for key made at version (and within this quarter hour), with a new
 * reference for the caller, or NULL. */
resp_body *resp_cache_get(const char *key, uint64_t version);
/* Remember b (the cache takes its own reference) as the answer for key at version, replacing
 * an older one; large bodies and the least recently used entries beyond the thread's budget
 * are not kept. */
void resp_cache_put(const char *key, uint64_t version, resp_body *b);
/* Does an If-None-Match header value name this ETag (or "*")? */
int resp_etag_matches(const char *if_none_match, const char *etag);
#endif
