/* error.h — the one error convention: functions return 0 / -1 and fill a struct mf_error with
 * an HTTP-ready code, a message a user can act on, and the product rule that refused (if any).
 * Programmer mistakes abort through MF_BUG(). */
#ifndef MF_ERROR_H
#define MF_ERROR_H
#include <stdarg.h>
#include <stddef.h>

typedef struct mf_error {
    int status;        /* HTTP status that fits (400, 403, 404, 409, 422, 428, 500 ...) */
    char code[48];     /* snake_case code from API.md, e.g. "mailbox_limit_reached" */
    char rule[8];      /* "R7" or "" */
    char message[400]; /* what happened and what to do */
    char extra[400];   /* optional JSON object text merged into the error object, or "" */
} mf_error;

void mf_error_clear(mf_error *e);
/* Fill e (may be NULL) and return -1, so callers can `return mf_fail(...)`. */
int mf_fail(mf_error *e, int status, const char *code, const char *rule, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
int mf_fail_internal(mf_error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Put a prefix before e->message (e.g. the field path "imap."), truncating if needed. */
void mf_error_prefix(mf_error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

_Noreturn void mf_bug(const char *file, int line, const char *what);
#define MF_BUG(what) mf_bug(__FILE__, __LINE__, (what))
#define MF_ASSERT(cond)                                                                            \
    do {                                                                                           \
        if (!(cond)) MF_BUG("assertion failed: " #cond);                                           \
    } while (0)

/* xmalloc family: abort on out-of-memory (no partial states to unwind). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#endif
