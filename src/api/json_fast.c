/* json_fast.c — the plain JSON of request bodies, read without jansson's per-character
 * reader; see json_fast.h. Every value it builds is a jansson value; every doubt is NULL. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "api/json_fast.h"
#include "util/error.h"

#define FAST_DEPTH 32    /* deeper: jansson's job */
#define FAST_DIGITS 18   /* integers with more digits: jansson's job (its overflow rules) */

typedef struct reader {
    const char *p, *end;
} reader;

static void skip_ws(reader *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        r->p++;
}

/* Length of the well-formed UTF-8 sequence of 2 to 4 bytes at p (RFC 3629: no overlongs, no
 * surrogates, at most U+10FFFF); 0 otherwise. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    if (c >= 0xC2 && c <= 0xDF) return n >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (n < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return 0;
        if ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] > 0x9F)) return 0;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (n < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] > 0x8F)) return 0;
        return 4;
    }
    return 0;
}

static int hex4(const char *p, const char *end, unsigned *out)
{
    if (end - p < 4) return -1;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return -1;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* The string whose opening quote r->p has passed: *out (malloc'd, NUL-terminated), *len; -1 to
 * give up. */
static int read_string(reader *r, char **out, size_t *len)
{
    const char *s = r->p, *q = s;
    while (q < r->end && *q != '"') q += *q == '\\' ? 2 : 1;
    if (q >= r->end) return -1;
    char *buf = xmalloc((size_t)(q - s) + 1), *o = buf;
    const char *p = s;
    while (p < q) {
        unsigned char c = (unsigned char)*p;
        if (c >= 0x20 && c < 0x80 && c != '\\') {
            *o++ = (char)c;
            p++;
        } else if (c >= 0x80) {
            size_t n = utf8_len((const unsigned char *)p, (size_t)(q - p));
            if (!n) goto fail;
            memcpy(o, p, n);
            o += n;
            p += n;
        } else if (c == '\\') {
            char e = p[1];
            p += 2;
            switch (e) {
            case '"': *o++ = '"'; break;
            case '\\': *o++ = '\\'; break;
            case '/': *o++ = '/'; break;
            case 'b': *o++ = '\b'; break;
            case 'f': *o++ = '\f'; break;
            case 'n': *o++ = '\n'; break;
            case 'r': *o++ = '\r'; break;
            case 't': *o++ = '\t'; break;
            case 'u': {
                unsigned cp, lo;
                if (hex4(p, q, &cp) < 0 || cp == 0) goto fail;
                p += 4;
                if (cp >= 0xDC00 && cp <= 0xDFFF) goto fail;
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    if (q - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, q, &lo) < 0 ||
                        lo < 0xDC00 || lo > 0xDFFF)
                        goto fail;
                    p += 6;
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                }
                o += put_utf8(o, cp); /* never longer than its escape */
                break;
            }
            default: goto fail;
            }
        } else {
            goto fail; /* a raw control character */
        }
    }
    *o = '\0';
    *out = buf;
    *len = (size_t)(o - buf);
    r->p = q + 1;
    return 0;
fail:
    free(buf);
    return -1;
}

static json_t *read_value(reader *r, int depth);

static json_t *read_object(reader *r, int depth)
{
    json_t *obj = json_object();
    skip_ws(r);
    if (r->p < r->end && *r->p == '}') {
        r->p++;
        return obj;
    }
    for (;;) {
        skip_ws(r);
        if (r->p >= r->end || *r->p != '"') break;
        r->p++;
        char *key;
        size_t klen;
        if (read_string(r, &key, &klen) < 0) break;
        skip_ws(r);
        json_t *v = NULL;
        if (r->p < r->end && *r->p == ':' && !json_object_get(obj, key)) {
            r->p++;
            v = read_value(r, depth + 1);
        }
        if (!v || json_object_set_new_nocheck(obj, key, v) < 0) {
            free(key);
            break;
        }
        free(key);
        skip_ws(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }
        if (r->p < r->end && *r->p == '}') {
            r->p++;
            return obj;
        }
        break;
    }
    json_decref(obj);
    return NULL;
}

static json_t *read_array(reader *r, int depth)
{
    json_t *arr = json_array();
    skip_ws(r);
    if (r->p < r->end && *r->p == ']') {
        r->p++;
        return arr;
    }
    for (;;) {
        json_t *v = read_value(r, depth + 1);
        if (!v || json_array_append_new(arr, v) < 0) break;
        skip_ws(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }
        if (r->p < r->end && *r->p == ']') {
            r->p++;
            return arr;
        }
        break;
    }
    json_decref(arr);
    return NULL;
}

static json_t *read_integer(reader *r)
{
    const char *p = r->p;
    int neg = p < r->end && *p == '-';
    if (neg) p++;
    const char *d = p;
    while (p < r->end && *p >= '0' && *p <= '9') p++;
    size_t n = (size_t)(p - d);
    if (n == 0 || n > FAST_DIGITS || (n > 1 && *d == '0')) return NULL;
    if (p < r->end && (*p == '.' || *p == 'e' || *p == 'E')) return NULL; /* a real */
    int64_t v = 0;
    for (const char *c = d; c < p; c++) v = v * 10 + (*c - '0');
    r->p = p;
    return json_integer(neg ? -v : v);
}

static json_t *read_literal(reader *r, const char *word, json_t *v)
{
    size_t n = strlen(word);
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0) return NULL;
    r->p += n;
    return v;
}

static json_t *read_value(reader *r, int depth)
{
    if (depth > FAST_DEPTH) return NULL;
    skip_ws(r);
    if (r->p >= r->end) return NULL;
    switch (*r->p) {
    case '{':
        r->p++;
        return read_object(r, depth);
    case '[':
        r->p++;
        return read_array(r, depth);
    case '"': {
        r->p++;
        char *s;
        size_t n;
        if (read_string(r, &s, &n) < 0) return NULL;
        json_t *v = json_stringn_nocheck(s, n);
        free(s);
        return v;
    }
    case 't': return read_literal(r, "true", json_true());
    case 'f': return read_literal(r, "false", json_false());
    case 'n': return read_literal(r, "null", json_null());
    default: return read_integer(r);
    }
}

json_t *json_fast_loadb(const char *buf, size_t len)
{
    if (!buf) return NULL;
    reader r = {buf, buf + len};
    skip_ws(&r);
    if (r.p >= r.end || (*r.p != '{' && *r.p != '[')) return NULL; /* jansson: object or array */
    json_t *v = read_value(&r, 0);
    if (!v) return NULL;
    skip_ws(&r);
    if (r.p != r.end) { /* something after the value: jansson says what */
        json_decref(v);
        return NULL;
    }
    return v;
}
