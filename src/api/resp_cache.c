/* resp_cache.c — per-thread cache of ready-made GET answers; see resp_cache.h. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api/resp_cache.h"
#include "util/clock.h"
#include "util/error.h"

#define RC_ENTRIES 32          /* per thread */
#define RC_MAX_BODY (1u << 20) /* larger answers are served but not kept */
#define RC_BUDGET (8u << 20)   /* bytes of bodies kept per thread */

typedef struct rc_entry {
    char *key;
    uint64_t version;
    int64_t quarter; /* UTC quarter hour it was made in */
    resp_body *body;
    unsigned long used;
} rc_entry;

typedef struct rc_thread {
    rc_entry e[RC_ENTRIES];
    size_t bytes;
    unsigned long tick;
} rc_thread;

static pthread_key_t rc_key;
static pthread_once_t rc_once = PTHREAD_ONCE_INIT;

static void entry_clear(rc_thread *t, rc_entry *e)
{
    if (e->body) t->bytes -= e->body->len;
    resp_body_unref(e->body);
    free(e->key);
    memset(e, 0, sizeof(*e));
}

static void thread_free(void *p)
{
    rc_thread *t = p;
    for (int i = 0; i < RC_ENTRIES; i++) entry_clear(t, &t->e[i]);
    free(t);
}

static void make_key(void)
{
    pthread_key_create(&rc_key, thread_free);
}

static rc_thread *thread_cache(void)
{
    pthread_once(&rc_once, make_key);
    rc_thread *t = pthread_getspecific(rc_key);
    if (!t) {
        t = xcalloc(1, sizeof(*t));
        pthread_setspecific(rc_key, t);
    }
    return t;
}

static int64_t quarter_now(void)
{
    return (int64_t)mf_now() / 900;
}

/* 128 bits over the bytes, 8 at a time in two lanes (multiply, rotate, xor-shift finish):
 * not cryptographic, but two different answers of one list sharing a value is not a thing
 * that happens by chance. */
static void body_etag(const char *p, size_t n, char out[35])
{
    const uint64_t k1 = 0x9e3779b97f4a7c15ull, k2 = 0xc2b2ae3d27d4eb4full;
    uint64_t a = k1 ^ n, b = k2 + n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        a = ((a ^ w) * k2);
        a = (a << 31) | (a >> 33);
        b = ((b + w) * k1) ^ (b >> 29);
    }
    uint64_t tail = 0;
    if (i < n) memcpy(&tail, p + i, n - i);
    a ^= tail;
    b += tail;
    for (int r = 0; r < 2; r++) {
        a ^= a >> 33;
        a *= 0xff51afd7ed558ccdull;
        a ^= b >> 29;
        b ^= b >> 31;
        b *= 0xc4ceb9fe1a85ec53ull;
        b ^= a >> 27;
    }
    snprintf(out, 35, "\"%016llx%016llx\"", (unsigned long long)a, (unsigned long long)b);
}

resp_body *resp_body_new(char *text, size_t len)
{
    resp_body *b = xcalloc(1, sizeof(*b));
    b->refs = 1;
    b->text = text;
    b->len = len;
    body_etag(text, len, b->etag);
    return b;
}

void resp_body_ref(resp_body *b)
{
    __atomic_add_fetch(&b->refs, 1, __ATOMIC_RELAXED);
}

void resp_body_unref(resp_body *b)
{
    if (!b || __atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL) != 0) return;
    free(b->text);
    free(b);
}

resp_body *resp_cache_get(const char *key, uint64_t version)
{
    rc_thread *t = thread_cache();
    int64_t q = quarter_now();
    for (int i = 0; i < RC_ENTRIES; i++) {
        rc_entry *e = &t->e[i];
        if (!e->key || strcmp(e->key, key) != 0) continue;
        if (e->version != version || e->quarter != q) {
            entry_clear(t, e); /* never valid again: the version only moves forward */
            return NULL;
        }
        e->used = ++t->tick;
        resp_body_ref(e->body);
        return e->body;
    }
    return NULL;
}

void resp_cache_put(const char *key, uint64_t version, resp_body *b)
{
    if (b->len > RC_MAX_BODY) return;
    rc_thread *t = thread_cache();
    rc_entry *slot = NULL;
    for (int i = 0; i < RC_ENTRIES; i++) {
        rc_entry *e = &t->e[i];
        if (e->key && strcmp(e->key, key) == 0) {
            entry_clear(t, e);
            slot = e;
            break;
        }
        if (!slot || (slot->key && (!e->key || e->used < slot->used))) slot = e;
    }
    if (slot->key) entry_clear(t, slot);
    /* keep the thread's bodies within budget: drop the least recently used */
    while (t->bytes + b->len > RC_BUDGET) {
        rc_entry *lru = NULL;
        for (int i = 0; i < RC_ENTRIES; i++)
            if (t->e[i].key && (!lru || t->e[i].used < lru->used)) lru = &t->e[i];
        if (!lru) break;
        entry_clear(t, lru);
    }
    slot->key = xstrdup(key);
    slot->version = version;
    slot->quarter = quarter_now();
    resp_body_ref(b);
    slot->body = b;
    slot->used = ++t->tick;
    t->bytes += b->len;
}

int resp_etag_matches(const char *inm, const char *etag)
{
    if (!inm) return 0;
    size_t n = strlen(etag);
    for (const char *p = inm; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',') p++;
        if (*p == '*') return 1;
        if (p[0] == 'W' && p[1] == '/') p += 2; /* If-None-Match compares weakly */
        if (strncmp(p, etag, n) == 0 && (p[n] == '\0' || p[n] == ',' || p[n] == ' ' || p[n] == '\t'))
            return 1;
        while (*p && *p != ',') p++;
    }
    return 0;
}
