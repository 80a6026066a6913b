/* error.c — struct mf_error helpers, MF_BUG and the x* allocators. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util/error.h"

void mf_error_clear(mf_error *e)
{
    if (e) memset(e, 0, sizeof(*e));
}

static int vfail(mf_error *e, int status, const char *code, const char *rule, const char *fmt,
                 va_list ap)
{
    if (!e) return -1;
    mf_error_clear(e);
    e->status = status;
    snprintf(e->code, sizeof(e->code), "%s", code);
    snprintf(e->rule, sizeof(e->rule), "%s", rule ? rule : "");
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    return -1;
}

int mf_fail(mf_error *e, int status, const char *code, const char *rule, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(e, status, code, rule, fmt, ap);
    va_end(ap);
    return -1;
}

int mf_fail_internal(mf_error *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(e, 500, "internal", NULL, fmt, ap);
    va_end(ap);
    return -1;
}

void mf_error_prefix(mf_error *e, const char *fmt, ...)
{
    if (!e) return;
    char prefix[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    char *joined = xasprintf("%s%s", prefix, e->message);
    size_t n = strlen(joined);
    if (n >= sizeof(e->message)) n = sizeof(e->message) - 1;
    memcpy(e->message, joined, n);
    e->message[n] = '\0';
    free(joined);
}

void mf_bug(const char *file, int line, const char *what)
{
    fprintf(stderr, "mailfleet: BUG at %s:%d: %s\n", file, line, what);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) MF_BUG("out of memory");
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) MF_BUG("out of memory");
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) MF_BUG("out of memory");
    return q;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *out = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&out, fmt, ap);
    va_end(ap);
    if (n < 0) MF_BUG("out of memory");
    return out;
}
