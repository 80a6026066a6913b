/* strbuf.c — bounded growable buffer; see strbuf.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util/error.h"
#include "util/strbuf.h"

static char empty_buf[1];

void strbuf_init(strbuf *sb, size_t max)
{
    sb->buf = empty_buf;
    sb->len = 0;
    sb->alloc = 0;
    sb->max = max;
}

void strbuf_release(strbuf *sb)
{
    if (sb->alloc) free(sb->buf);
    strbuf_init(sb, sb->max);
}

void strbuf_reset(strbuf *sb)
{
    sb->len = 0;
    if (sb->alloc) sb->buf[0] = '\0';
}

static int grow(strbuf *sb, size_t extra)
{
    if (extra > sb->max || sb->len > sb->max - extra) return -1;
    size_t need = sb->len + extra + 1;
    if (need <= sb->alloc) return 0;
    size_t n = sb->alloc ? sb->alloc : 64;
    while (n < need) n *= 2;
    if (sb->alloc) {
        sb->buf = xrealloc(sb->buf, n);
    } else {
        sb->buf = xmalloc(n);
        sb->buf[0] = '\0';
    }
    sb->alloc = n;
    return 0;
}

int strbuf_add(strbuf *sb, const void *data, size_t len)
{
    if (grow(sb, len) < 0) return -1;
    if (len) memcpy(sb->buf + sb->len, data, len);
    sb->len += len;
    sb->buf[sb->len] = '\0';
    return 0;
}

char *strbuf_reserve(strbuf *sb, size_t n)
{
    if (grow(sb, n) < 0) return NULL;
    return sb->buf + sb->len;
}

void strbuf_commit(strbuf *sb, size_t n)
{
    sb->len += n;
    sb->buf[sb->len] = '\0';
}

int strbuf_addstr(strbuf *sb, const char *s)
{
    return strbuf_add(sb, s, strlen(s));
}

int strbuf_addf(strbuf *sb, const char *fmt, ...)
{
    char small[256]; /* most formatted pieces are short: no allocation for them */
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) MF_BUG("bad format");
    if ((size_t)n < sizeof(small)) return strbuf_add(sb, small, (size_t)n);
    char *tmp = NULL;
    va_start(ap, fmt);
    n = vasprintf(&tmp, fmt, ap);
    va_end(ap);
    if (n < 0) MF_BUG("out of memory");
    int rc = strbuf_add(sb, tmp, (size_t)n);
    free(tmp);
    return rc;
}

char *strbuf_detach(strbuf *sb, size_t *len)
{
    char *out;
    if (sb->alloc) {
        out = sb->buf;
    } else {
        out = xstrdup("");
    }
    if (len) *len = sb->len;
    strbuf_init(sb, sb->max);
    return out;
}

void mf_utf8_sanitize(char *s)
{
    unsigned char *p = (unsigned char *)s;
    while (*p) {
        size_t n = 0;
        unsigned cp = 0;
        if (*p < 0x80) {
            p++;
            continue;
        } else if ((*p & 0xe0) == 0xc0) {
            n = 1, cp = *p & 0x1f;
        } else if ((*p & 0xf0) == 0xe0) {
            n = 2, cp = *p & 0x0f;
        } else if ((*p & 0xf8) == 0xf0) {
            n = 3, cp = *p & 0x07;
        }
        size_t i = 1;
        for (; n && i <= n && (p[i] & 0xc0) == 0x80; i++) cp = (cp << 6) | (p[i] & 0x3f);
        int ok = n && i == n + 1 && !(n == 1 && cp < 0x80) && !(n == 2 && cp < 0x800) &&
                 !(n == 3 && (cp < 0x10000 || cp > 0x10ffff)) && !(cp >= 0xd800 && cp <= 0xdfff);
        if (ok) {
            p += n + 1;
        } else {
            *p++ = '?';
        }
    }
}

int strbuf_add_html(strbuf *sb, const char *s)
{
    for (; s && *s; s++) {
        const char *rep = NULL;
        switch (*s) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        default: break;
        }
        if ((rep ? strbuf_addstr(sb, rep) : strbuf_add(sb, s, 1)) < 0) return -1;
    }
    return 0;
}
