/* fuzz_imap_parser.c — libFuzzer target for src/mail/imap_parser.c, the incremental parser of
 * IMAP server responses. Input: byte 0 chooses the mode, bytes 1-4 a table of chunk sizes, the
 * rest is what the server sends. The stream is fed in chunks whose sizes cycle through the
 * table, draining responses after each feed (or, in one mode, only at the end). Besides
 * ASan/UBSan and leak checks it aborts when the contract of imap_parser.h is broken:
 *   - every response has the documented shape: tagged = tag + OK/NO/BAD with text, untagged
 *     status = one argument (the status word) with text, data response = 1+ arguments and no
 *     text, continuation = no argument, a text; text without CR, LF or NUL;
 *   - every argument: strings NUL-terminated at len, atoms/quoted/text never hold NUL, atoms
 *     are not empty, literal flags only on literals, lists nested within max_depth, list
 *     sizes within max_list_args; the accessors agree with the types;
 *   - chunking does not matter: the canonical rendering of all responses and the final error
 *     (code and message, which carries the stream offset) equal those of a single feed;
 *   - failure is final: once next() has said ERROR, feed() returns -1 and next() says ERROR. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "mail/imap_parser.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_imap_parser: invariant broken at line %d: %s\n", __LINE__,       \
                    #cond);                                                                        \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define MODE_TINY_LIMITS 0x01u  /* small limits: the limit paths get exercised */
#define MODE_DRAIN_AT_END 0x02u /* feed everything, then drain: the buffering path */
#define MODE_SMALL_BUFFER 0x04u /* max_buffered small: overflow path (no differential check) */
#define MODE_BIG_CHUNKS 0x08u   /* chunk sizes * 64 */

static const imap_parser_limits tiny_limits = {
    .max_line = 200,
    .max_literal = 100,
    .max_literals = 150,
    .max_depth = 4,
    .max_list_args = 8,
};

static void check_arg(const imap_parser_limits *lim, const imap_arg *a, unsigned depth)
{
    CHECK(depth <= lim->max_depth);
    switch (a->type) {
    case IMAP_ARG_NIL:
        CHECK(a->str && a->len == 3 && strncasecmp(a->str, "NIL", 3) == 0);
        CHECK(imap_arg_is_nil(a) && !imap_arg_is_atom(a, "NIL") && !imap_arg_str(a, NULL));
        break;
    case IMAP_ARG_ATOM:
    case IMAP_ARG_STRING:
    case IMAP_ARG_LITERAL: {
        CHECK(a->str != NULL && a->list == NULL);
        CHECK(a->str[a->len] == '\0');
        if (a->type != IMAP_ARG_LITERAL) {
            CHECK(a->flags == 0);
            CHECK(memchr(a->str, '\0', a->len) == NULL);
            CHECK(a->len <= lim->max_line);
        } else {
            CHECK((a->flags & ~(IMAP_ARG_FLAG_LITERAL8 | IMAP_ARG_FLAG_NONSYNC)) == 0);
            CHECK(a->len <= lim->max_literal);
        }
        if (a->type == IMAP_ARG_ATOM) {
            CHECK(a->len > 0);
            CHECK(imap_arg_is_atom(a, a->str));
            CHECK(!imap_arg_is_string(a));
        } else {
            CHECK(imap_arg_is_string(a));
            CHECK(!imap_arg_is_atom(a, a->str));
        }
        size_t len = 0;
        CHECK(imap_arg_str(a, &len) == a->str && len == a->len);
        uint32_t v32;
        uint64_t v64;
        int r32 = imap_arg_as_u32(a, &v32), r64 = imap_arg_as_u64(a, &v64);
        if (r32 == 0) CHECK(r64 == 0 && v64 == v32);
        if (r64 == 0) {
            CHECK(a->type == IMAP_ARG_ATOM);
            char buf[32];
            snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v64);
            /* the digits, minus leading zeros, print back the same */
            size_t z = 0;
            while (z + 1 < a->len && a->str[z] == '0')
                z++;
            CHECK(strcmp(buf, a->str + z) == 0);
        }
        break;
    }
    case IMAP_ARG_LIST: {
        size_t n = 99;
        const imap_arg *items = imap_arg_list(a, &n);
        CHECK(n == a->len && items == a->list);
        CHECK(n <= lim->max_list_args);
        CHECK((n == 0) == (items == NULL));
        CHECK(a->str == NULL && a->flags == 0);
        for (size_t i = 0; i < n; i++)
            check_arg(lim, &items[i], depth + 1);
        /* FETCH-style lookup by each name must find that name's value (or an earlier twin) */
        for (size_t i = 0; i + 1 < n; i += 2)
            if (items[i].type == IMAP_ARG_ATOM) CHECK(imap_fetch_item(a, items[i].str) != NULL);
        break;
    }
    default:
        CHECK(!"unknown argument type");
    }
}

static void check_response(const imap_parser_limits *lim, const imap_response *r)
{
    CHECK(r != NULL);
    switch (r->kind) {
    case IMAP_RESP_TAGGED:
        CHECK(r->tag && *r->tag);
        CHECK(r->status == IMAP_STATUS_OK || r->status == IMAP_STATUS_NO ||
              r->status == IMAP_STATUS_BAD);
        break;
    case IMAP_RESP_UNTAGGED:
        CHECK(r->tag == NULL);
        break;
    case IMAP_RESP_CONTINUATION:
        CHECK(r->tag == NULL && r->status == IMAP_STATUS_NONE && r->nargs == 0);
        CHECK(r->text != NULL);
        break;
    default:
        CHECK(!"unknown response kind");
    }
    if (r->kind != IMAP_RESP_CONTINUATION) {
        if (r->status == IMAP_STATUS_NONE) {
            CHECK(r->nargs >= 1 && r->text == NULL && r->code == NULL && r->ncode == 0);
        } else {
            CHECK(r->nargs == 1 && imap_arg_is_atom(&r->args[0], imap_status_name(r->status)));
            CHECK(r->text != NULL);
        }
    }
    CHECK(r->nargs <= lim->max_list_args);
    for (size_t i = 0; i < r->nargs; i++)
        check_arg(lim, &r->args[i], 0);
    CHECK((r->code == NULL) == (r->ncode == 0));
    CHECK(r->ncode <= lim->max_list_args);
    for (size_t i = 0; i < r->ncode; i++)
        check_arg(lim, &r->code[i], 1);
    if (r->text) {
        CHECK(strlen(r->text) == r->text_len);
        CHECK(!memchr(r->text, '\r', r->text_len) && !memchr(r->text, '\n', r->text_len));
    }
    uint32_t num;
    if (imap_response_is_numbered(r, "FETCH", &num)) CHECK(r->nargs >= 2);
    (void)imap_response_is_data(r, "CAPABILITY");
    (void)imap_response_code_is(r, "UIDVALIDITY");
}

/* Drain p into out (renderings, then "ERROR code message" if it failed). Returns 1 on error. */
static int drain(imap_parser *p, const imap_parser_limits *lim, strbuf *out)
{
    for (;;) {
        imap_response *r = (imap_response *)1;
        mf_error err;
        enum imap_parse_result res = imap_parser_next(p, &r, &err);
        if (res == IMAP_PARSE_NEED_MORE) {
            CHECK(r == NULL);
            CHECK(imap_parser_error(p) == NULL);
            return 0;
        }
        if (res == IMAP_PARSE_ERROR) {
            CHECK(r == NULL);
            CHECK(err.code[0] && err.message[0]);
            CHECK(imap_parser_error_code(p) && strcmp(imap_parser_error_code(p), err.code) == 0);
            (void)strbuf_addf(out, "ERROR %s %s\n", err.code, err.message);
            /* final */
            CHECK(imap_parser_feed(p, "* OK x\r\n", 8) == -1);
            mf_error again;
            CHECK(imap_parser_next(p, &r, &again) == IMAP_PARSE_ERROR);
            CHECK(strcmp(again.message, err.message) == 0);
            return 1;
        }
        CHECK(res == IMAP_PARSE_OK);
        check_response(lim, r);
        (void)imap_response_format(r, out);
        (void)strbuf_add(out, "\n", 1);
    }
}

/* Parse stream in chunks (sizes cycling through table; ntable 0: one feed). */
static char *run(const imap_parser_limits *lim, const uint8_t *s, size_t n, const size_t *table,
                 size_t ntable, int drain_each)
{
    imap_parser *p = imap_parser_new(lim);
    const imap_parser_limits *eff = imap_parser_get_limits(p);
    strbuf out;
    strbuf_init(&out, (size_t)64 << 20);
    size_t off = 0, k = 0;
    int failed = 0;
    while (off < n && !failed) {
        size_t c = ntable ? table[k++ % ntable] : n - off;
        if (c > n - off) c = n - off;
        int rc = imap_parser_feed(p, s + off, c);
        off += c;
        if (rc < 0 || drain_each || off == n) failed = drain(p, eff, &out);
        if (rc < 0) CHECK(failed);
    }
    if (n == 0) failed = drain(p, eff, &out);
    imap_parser_free(&p);
    CHECK(p == NULL);
    return strbuf_detach(&out, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 5) return 0;
    unsigned mode = data[0];
    size_t table[4];
    for (int i = 0; i < 4; i++)
        table[i] = ((size_t)data[1 + i] + 1) * ((mode & MODE_BIG_CHUNKS) ? 64 : 1);
    const uint8_t *s = data + 5;
    size_t n = size - 5;

    imap_parser_limits lim = {0};
    if (mode & MODE_TINY_LIMITS) lim = tiny_limits;
    if (mode & MODE_SMALL_BUFFER) {
        lim.max_buffered = 64;
        char *out = run(&lim, s, n, table, 4, !(mode & MODE_DRAIN_AT_END));
        free(out);
        return 0;
    }
    char *chunked = run(&lim, s, n, table, 4, !(mode & MODE_DRAIN_AT_END));
    char *whole = run(&lim, s, n, NULL, 0, 1);
    if (strcmp(chunked, whole) != 0) {
        fprintf(stderr, "chunked:\n%s\nwhole:\n%s\n", chunked, whole);
        CHECK(!"chunking changed the result");
    }
    free(chunked);
    free(whole);
    return 0;
}
