/* test_imap_parser.c — the IMAP response parser of src/mail/imap_parser.h: real and reference
 * transcripts (tests/mail/transcripts: NAME.imap holds the server's bytes exactly, NAME.expect
 * the canonical rendering of each response) fed at once, at every split point, byte by byte and
 * in random chunks; the semantics the session relies on; every error and limit; lifetimes; and
 * large literals (10 MB in random chunks, KBs byte by byte). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "mail/imap_parser.h"

#ifndef IMAP_TRANSCRIPTS_DIR
#error "IMAP_TRANSCRIPTS_DIR must name tests/mail/transcripts"
#endif

/* ---- harness -------------------------------------------------------------------------------- */

static char *read_file(const char *name, size_t *len)
{
    char *path = xasprintf("%s/%s", IMAP_TRANSCRIPTS_DIR, name);
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    strbuf sb;
    strbuf_init(&sb, (size_t)16 << 20);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        assert_int_equal(strbuf_add(&sb, buf, n), 0);
    fclose(f);
    free(path);
    return strbuf_detach(&sb, len);
}

/* Take every ready response out of p, rendering each on its own line; on error append
 * "ERROR <code>: <message>" and set *failed. */
static void drain(imap_parser *p, strbuf *out, bool *failed)
{
    for (;;) {
        imap_response *r = NULL;
        mf_error err;
        enum imap_parse_result res = imap_parser_next(p, &r, &err);
        if (res == IMAP_PARSE_NEED_MORE) {
            assert_null(r);
            return;
        }
        if (res == IMAP_PARSE_ERROR) {
            assert_null(r);
            assert_int_equal(strbuf_addf(out, "ERROR %s: %s\n", err.code, err.message), 0);
            *failed = true;
            return;
        }
        assert_int_equal(res, IMAP_PARSE_OK);
        assert_non_null(r);
        assert_int_equal(imap_response_format(r, out), 0);
        assert_int_equal(strbuf_add(out, "\n", 1), 0);
    }
}

/* Render what the parser makes of data fed in the given chunk sizes (cycled when cycle, else
 * the rest in one feed after the last size), draining after every feed or only at the end.
 * Ends with "END\n" when no error. Caller frees. */
static char *render_chunks(const imap_parser_limits *lim, const char *data, size_t len,
                           const size_t *sizes, size_t nsizes, bool cycle, bool drain_each)
{
    imap_parser *p = imap_parser_new(lim);
    strbuf out;
    strbuf_init(&out, (size_t)256 << 20);
    bool failed = false;
    size_t off = 0, k = 0;
    while (off < len && !failed) {
        size_t n;
        if (k < nsizes)
            n = sizes[k++];
        else if (cycle && nsizes)
            n = sizes[k++ % nsizes];
        else
            n = len - off;
        if (n == 0) n = 1;
        if (n > len - off) n = len - off;
        if (imap_parser_feed(p, data + off, n) < 0) failed = true;
        off += n;
        if (drain_each || failed || off == len) drain(p, &out, &failed);
    }
    if (!failed) assert_int_equal(strbuf_add(&out, "END\n", 4), 0);
    imap_parser_free(&p);
    assert_null(p);
    return strbuf_detach(&out, NULL);
}

static char *render_once(const imap_parser_limits *lim, const char *data, size_t len)
{
    return render_chunks(lim, data, len, NULL, 0, false, true);
}

static char *render_bytewise(const imap_parser_limits *lim, const char *data, size_t len)
{
    static const size_t one = 1;
    return render_chunks(lim, data, len, &one, 1, true, true);
}

static uint64_t rng_state = 88172645463325252ull;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Every way to cut data in two gives the same rendering as one feed, draining or not. */
static void check_every_split(const imap_parser_limits *lim, const char *data, size_t len,
                              const char *want)
{
    for (size_t cut = 1; cut < len; cut++) {
        for (int drain_each = 0; drain_each < 2; drain_each++) {
            char *got = render_chunks(lim, data, len, &cut, 1, false, drain_each);
            if (strcmp(got, want) != 0) {
                fprintf(stderr, "split at %zu (drain %d) differs:\n%s\nwant:\n%s\n", cut,
                        drain_each, got, want);
                fail();
            }
            free(got);
        }
    }
}

/* Every pair of cuts (for short inputs). */
static void check_every_split_pair(const imap_parser_limits *lim, const char *data, size_t len,
                                   const char *want)
{
    for (size_t a = 1; a < len; a++)
        for (size_t b = 1; a + b < len; b++) {
            size_t sizes[2] = {a, b};
            char *got = render_chunks(lim, data, len, sizes, 2, false, true);
            if (strcmp(got, want) != 0) {
                fprintf(stderr, "cuts %zu+%zu differ:\n%s\nwant:\n%s\n", a, b, got, want);
                fail();
            }
            free(got);
        }
}

/* ---- transcripts ---------------------------------------------------------------------------- */

static void check_transcript_expected(const char *name)
{
    char *fname = xasprintf("%s.imap", name), *ename = xasprintf("%s.expect", name);
    size_t len, elen;
    char *data = read_file(fname, &len), *want = read_file(ename, &elen);
    char *got = render_once(NULL, data, len);
    assert_string_equal(got, want);
    free(got);
    free(data);
    free(want);
    free(fname);
    free(ename);
}

static void check_transcript_splits(const char *name)
{
    char *fname = xasprintf("%s.imap", name);
    size_t len;
    char *data = read_file(fname, &len);
    char *want = render_once(NULL, data, len);
    check_every_split(NULL, data, len, want);
    free(want);
    free(data);
    free(fname);
}

static void check_transcript_bytewise(const char *name)
{
    char *fname = xasprintf("%s.imap", name);
    size_t len;
    char *data = read_file(fname, &len);
    char *want = render_once(NULL, data, len);
    char *got = render_bytewise(NULL, data, len);
    assert_string_equal(got, want);
    /* and byte by byte without draining until the end: everything goes through the buffer */
    static const size_t one = 1;
    char *got2 = render_chunks(NULL, data, len, &one, 1, true, false);
    assert_string_equal(got2, want);
    free(got);
    free(got2);
    free(want);
    free(data);
    free(fname);
}

static void check_transcript_random_chunks(const char *name)
{
    char *fname = xasprintf("%s.imap", name);
    size_t len;
    char *data = read_file(fname, &len);
    char *want = render_once(NULL, data, len);
    for (int round = 0; round < 200; round++) {
        size_t sizes[64];
        for (int i = 0; i < 64; i++)
            sizes[i] = 1 + rng() % (round % 2 ? 7 : 300);
        char *got = render_chunks(NULL, data, len, sizes, 64, true, round % 3 != 0);
        assert_string_equal(got, want);
        free(got);
    }
    free(want);
    free(data);
    free(fname);
}

#define TRANSCRIPT_TESTS(name)                                                                     \
    static void test_##name##_renders_as_expected(void **state)                                    \
    {                                                                                              \
        (void)state;                                                                               \
        check_transcript_expected(#name);                                                          \
    }                                                                                              \
    static void test_##name##_same_at_every_split_point(void **state)                              \
    {                                                                                              \
        (void)state;                                                                               \
        check_transcript_splits(#name);                                                            \
    }                                                                                              \
    static void test_##name##_same_byte_by_byte(void **state)                                      \
    {                                                                                              \
        (void)state;                                                                               \
        check_transcript_bytewise(#name);                                                          \
    }                                                                                              \
    static void test_##name##_same_in_random_chunks(void **state)                                  \
    {                                                                                              \
        (void)state;                                                                               \
        check_transcript_random_chunks(#name);                                                     \
    }

TRANSCRIPT_TESTS(dovecot23_session)
TRANSCRIPT_TESTS(dovecot23_more)
TRANSCRIPT_TESTS(rfc3501_section8)
TRANSCRIPT_TESTS(rfc9051_section8)
TRANSCRIPT_TESTS(gmail_style)
TRANSCRIPT_TESTS(outlook_style)
TRANSCRIPT_TESTS(grammar_edges)

#define TRANSCRIPT_ENTRIES(name)                                                                   \
    cmocka_unit_test(test_##name##_renders_as_expected),                                           \
        cmocka_unit_test(test_##name##_same_at_every_split_point),                                 \
        cmocka_unit_test(test_##name##_same_byte_by_byte),                                         \
        cmocka_unit_test(test_##name##_same_in_random_chunks)

/* ---- semantics the session relies on ----------------------------------------------------------
 */

/* A parser fed a whole transcript; next() walks it. */
struct walk {
    imap_parser *p;
    char *data;
};

static struct walk walk_open(const char *file)
{
    struct walk w;
    size_t len;
    w.data = read_file(file, &len);
    w.p = imap_parser_new(NULL);
    assert_int_equal(imap_parser_feed(w.p, w.data, len), 0);
    return w;
}

static imap_response *walk_next(struct walk *w)
{
    imap_response *r = NULL;
    mf_error err;
    enum imap_parse_result res = imap_parser_next(w->p, &r, &err);
    if (res == IMAP_PARSE_ERROR) fail_msg("parse error: %s", err.message);
    assert_int_equal(res, IMAP_PARSE_OK);
    return r;
}

static void walk_close(struct walk *w)
{
    imap_response *r;
    mf_error err;
    assert_int_equal(imap_parser_next(w->p, &r, &err), IMAP_PARSE_NEED_MORE);
    imap_parser_free(&w->p);
    free(w->data);
}

static bool code_has_atom(const imap_response *r, const char *atom)
{
    for (size_t i = 1; i < r->ncode; i++)
        if (imap_arg_is_atom(&r->code[i], atom)) return true;
    return false;
}

static void walk_skip(struct walk *w, int n)
{
    while (n-- > 0)
        (void)walk_next(w);
}

static void test_dovecot_greeting_exposes_capability_code_and_text(void **state)
{
    (void)state;
    struct walk w = walk_open("dovecot23_session.imap");
    imap_response *r = walk_next(&w);
    assert_int_equal(r->kind, IMAP_RESP_UNTAGGED);
    assert_int_equal(r->status, IMAP_STATUS_OK);
    assert_null(r->tag);
    assert_int_equal(r->nargs, 1);
    assert_true(imap_arg_is_atom(&r->args[0], "OK"));
    assert_true(imap_response_code_is(r, "CAPABILITY"));
    assert_int_equal(r->ncode, 9);
    assert_true(code_has_atom(r, "IMAP4rev1"));
    assert_true(code_has_atom(r, "IDLE"));
    assert_true(code_has_atom(r, "LITERAL+"));
    assert_true(code_has_atom(r, "AUTH=PLAIN"));
    assert_false(code_has_atom(r, "STARTTLS"));
    assert_string_equal(r->text, "Dovecot (Debian) ready.");
    assert_int_equal(r->text_len, strlen("Dovecot (Debian) ready."));

    r = walk_next(&w); /* a1 OK [CAPABILITY ...] Logged in */
    assert_int_equal(r->kind, IMAP_RESP_TAGGED);
    assert_string_equal(r->tag, "a1");
    assert_int_equal(r->status, IMAP_STATUS_OK);
    assert_true(imap_response_code_is(r, "CAPABILITY"));
    assert_true(code_has_atom(r, "CONDSTORE"));
    assert_string_equal(r->text, "Logged in");
    walk_skip(&w, 22);
    walk_close(&w);
}

static void test_dovecot_select_codes_read_as_numbers(void **state)
{
    (void)state;
    struct walk w = walk_open("dovecot23_session.imap");
    walk_skip(&w, 2);
    imap_response *r = walk_next(&w); /* * FLAGS (...) */
    assert_true(imap_response_is_data(r, "FLAGS"));
    size_t n;
    const imap_arg *flags = imap_arg_list(&r->args[1], &n);
    assert_int_equal(n, 5);
    assert_true(imap_arg_is_atom(&flags[0], "\\Answered"));
    assert_true(imap_arg_is_atom(&flags[4], "\\draft"));

    r = walk_next(&w); /* * OK [PERMANENTFLAGS (... \*)] */
    assert_true(imap_response_code_is(r, "PERMANENTFLAGS"));
    assert_int_equal(r->ncode, 2);
    flags = imap_arg_list(&r->code[1], &n);
    assert_int_equal(n, 6);
    assert_true(imap_arg_is_atom(&flags[5], "\\*"));
    assert_string_equal(r->text, "Flags permitted.");

    uint32_t num = 0;
    r = walk_next(&w);
    assert_true(imap_response_is_numbered(r, "EXISTS", &num));
    assert_int_equal(num, 4);
    r = walk_next(&w);
    assert_true(imap_response_is_numbered(r, "RECENT", &num));
    assert_int_equal(num, 4);
    assert_false(imap_response_is_numbered(r, "EXISTS", NULL));

    r = walk_next(&w);
    assert_true(imap_response_code_is(r, "UNSEEN"));
    assert_int_equal(imap_arg_as_u32(&r->code[1], &num), 0);
    assert_int_equal(num, 2);
    r = walk_next(&w);
    assert_true(imap_response_code_is(r, "uidvalidity"));
    assert_int_equal(imap_arg_as_u32(&r->code[1], &num), 0);
    assert_int_equal(num, 1795653405u);
    r = walk_next(&w);
    assert_true(imap_response_code_is(r, "UIDNEXT"));
    assert_int_equal(imap_arg_as_u32(&r->code[1], &num), 0);
    assert_int_equal(num, 5);
    r = walk_next(&w);
    assert_true(imap_response_code_is(r, "HIGHESTMODSEQ"));
    uint64_t modseq = 0;
    assert_int_equal(imap_arg_as_u64(&r->code[1], &modseq), 0);
    assert_int_equal(modseq, 2);
    r = walk_next(&w); /* a2 OK [READ-WRITE] */
    assert_string_equal(r->tag, "a2");
    assert_true(imap_response_code_is(r, "READ-WRITE"));
    assert_int_equal(r->ncode, 1);

    r = walk_next(&w); /* * SEARCH 1 2 3 4 */
    assert_true(imap_response_is_data(r, "SEARCH"));
    assert_int_equal(r->nargs, 5);
    for (uint32_t i = 1; i <= 4; i++) {
        assert_int_equal(imap_arg_as_u32(&r->args[i], &num), 0);
        assert_int_equal(num, i);
    }
    walk_skip(&w, 12);
    walk_close(&w);
}

static void test_dovecot_uid_fetch_header_literal_found_by_item_name(void **state)
{
    (void)state;
    struct walk w = walk_open("dovecot23_session.imap");
    walk_skip(&w, 14);
    imap_response *r =
        walk_next(&w); /* * 2 FETCH (UID 2 ... BODY[HEADER.FIELDS (FROM SUBJECT)] {79}) */
    uint32_t seq = 0, uid = 0, size = 0;
    assert_true(imap_response_is_numbered(r, "FETCH", &seq));
    assert_int_equal(seq, 2);
    assert_int_equal(r->nargs, 3);
    const imap_arg *items = &r->args[2];
    assert_int_equal(items->type, IMAP_ARG_LIST);
    assert_int_equal(imap_arg_as_u32(imap_fetch_item(items, "UID"), &uid), 0);
    assert_int_equal(uid, 2);
    assert_int_equal(imap_arg_as_u32(imap_fetch_item(items, "rfc822.size"), &size), 0);
    assert_int_equal(size, 252);
    size_t n;
    const imap_arg *flags = imap_arg_list(imap_fetch_item(items, "FLAGS"), &n);
    assert_int_equal(n, 1);
    assert_true(imap_arg_is_atom(&flags[0], "\\Recent"));
    const imap_arg *date = imap_fetch_item(items, "INTERNALDATE");
    assert_int_equal(date->type, IMAP_ARG_STRING);
    assert_string_equal(date->str, "14-Nov-2023 22:30:00 +0000");
    const imap_arg *hdr = imap_fetch_item(items, "BODY[HEADER.FIELDS (FROM SUBJECT)]");
    assert_non_null(hdr);
    assert_int_equal(hdr->type, IMAP_ARG_LITERAL);
    assert_int_equal(hdr->flags, 0);
    const char *want = "From: \"Carol \\\"CJ\\\" Jones\" <carol@example.net>\r\n"
                       "Subject: Re: lunch (today)?\r\n\r\n";
    assert_int_equal(hdr->len, strlen(want));
    assert_memory_equal(hdr->str, want, hdr->len);
    assert_true(imap_arg_is_string(hdr));
    assert_null(imap_fetch_item(items, "BODY.PEEK[HEADER.FIELDS (FROM SUBJECT)]"));
    assert_null(imap_fetch_item(items, "BODY[HEADER]"));
    walk_skip(&w, 9);
    walk_close(&w);
}

static void test_dovecot_idle_continuation_then_exists_then_bye(void **state)
{
    (void)state;
    struct walk w = walk_open("dovecot23_session.imap");
    walk_skip(&w, 18);
    imap_response *r = walk_next(&w);
    assert_int_equal(r->kind, IMAP_RESP_CONTINUATION);
    assert_int_equal(r->status, IMAP_STATUS_NONE);
    assert_int_equal(r->nargs, 0);
    assert_null(r->code);
    assert_string_equal(r->text, "idling");
    uint32_t num = 0;
    r = walk_next(&w);
    assert_true(imap_response_is_numbered(r, "EXISTS", &num));
    assert_int_equal(num, 5);
    walk_skip(&w, 1);
    r = walk_next(&w);
    assert_string_equal(r->tag, "a5");
    assert_int_equal(r->status, IMAP_STATUS_OK);
    r = walk_next(&w);
    assert_int_equal(r->kind, IMAP_RESP_UNTAGGED);
    assert_int_equal(r->status, IMAP_STATUS_BYE);
    assert_string_equal(r->text, "Logging out");
    r = walk_next(&w);
    assert_string_equal(r->tag, "a6");
    assert_string_equal(imap_status_name(r->status), "OK");
    walk_close(&w);
}

static void test_dovecot_literal8_binary_keeps_nul_and_crlf(void **state)
{
    (void)state;
    struct walk w = walk_open("dovecot23_more.imap");
    imap_response *r;
    uint32_t seq = 0;
    const imap_arg *bin = NULL, *items = NULL;
    do {
        r = walk_next(&w);
        if (imap_response_is_numbered(r, "FETCH", &seq) && seq == 4) {
            items = &r->args[2];
            bin = imap_fetch_item(items, "BINARY[2]");
        }
    } while (!bin);
    assert_int_equal(bin->type, IMAP_ARG_LITERAL);
    assert_int_equal(bin->flags, IMAP_ARG_FLAG_LITERAL8);
    assert_int_equal(bin->len, 7);
    assert_memory_equal(bin->str, "\x00\x01\x02\x03\xff\r\n", 7);
    const imap_arg *mime = imap_fetch_item(items, "BODY[1.MIME]");
    assert_int_equal(mime->type, IMAP_ARG_LITERAL);
    assert_string_equal(mime->str, "Content-Type: text/plain\r\n\r\n");
    const imap_arg *part = imap_fetch_item(items, "BODY[]<0>");
    assert_int_equal(part->len, 40);
    r = walk_next(&w);
    assert_string_equal(r->tag, "b10");
    while (!(r->kind == IMAP_RESP_TAGGED && strcmp(r->tag, "b15") == 0))
        r = walk_next(&w);
    walk_close(&w);
}

static void test_dovecot_envelope_literals_inside_nested_lists(void **state)
{
    (void)state;
    struct walk w = walk_open("dovecot23_more.imap");
    imap_response *r;
    uint32_t seq = 0;
    do
        r = walk_next(&w);
    while (!(imap_response_is_numbered(r, "FETCH", &seq) && seq == 2));
    const imap_arg *env = imap_fetch_item(&r->args[2], "ENVELOPE");
    size_t n, nfrom, naddr;
    const imap_arg *e = imap_arg_list(env, &n);
    assert_int_equal(n, 10);
    assert_string_equal(e[1].str, "Re: lunch (today)?");
    const imap_arg *from = imap_arg_list(&e[2], &nfrom);
    assert_int_equal(nfrom, 1);
    const imap_arg *addr = imap_arg_list(&from[0], &naddr);
    assert_int_equal(naddr, 4);
    assert_int_equal(addr[0].type, IMAP_ARG_LITERAL);
    assert_string_equal(addr[0].str, "Carol \"CJ\" Jones");
    assert_true(imap_arg_is_nil(&addr[1]));
    assert_null(imap_arg_str(&addr[1], NULL));
    assert_string_equal(imap_arg_str(&addr[2], NULL), "carol");
    const imap_arg *bs = imap_fetch_item(&r->args[2], "BODYSTRUCTURE");
    assert_int_equal(bs->type, IMAP_ARG_LIST);
    while (!(r->kind == IMAP_RESP_TAGGED && strcmp(r->tag, "b15") == 0))
        r = walk_next(&w);
    walk_close(&w);
}

static void test_rfc3501_body_header_literal_is_342_bytes(void **state)
{
    (void)state;
    struct walk w = walk_open("rfc3501_section8.imap");
    walk_skip(&w, 10);
    imap_response *r = walk_next(&w);
    uint32_t seq;
    assert_true(imap_response_is_numbered(r, "FETCH", &seq));
    assert_int_equal(seq, 12);
    const imap_arg *hdr = imap_fetch_item(&r->args[2], "BODY[HEADER]");
    assert_int_equal(hdr->len, 342);
    assert_true(strncmp(hdr->str, "Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\n", 45) == 0);
    assert_memory_equal(hdr->str + 338, &"II\r\n\r\n"[2], 4);
    walk_skip(&w, 5);
    walk_close(&w);
}

static void test_gmail_list_sent_mail_and_x_gm_items(void **state)
{
    (void)state;
    struct walk w = walk_open("gmail_style.imap");
    imap_response *r = walk_next(&w);
    assert_int_equal(r->status, IMAP_STATUS_OK);
    assert_null(r->code);
    assert_int_equal(r->ncode, 0);
    walk_skip(&w, 2);
    r = walk_next(&w); /* + base64 */
    assert_int_equal(r->kind, IMAP_RESP_CONTINUATION);
    const char *b64 = "eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwu"
                      "Z29vZ2xlLmNvbS8ifQ==";
    assert_string_equal(r->text, b64);
    assert_int_equal(r->text_len, strlen(b64));
    r = walk_next(&w); /* g2 NO [AUTHENTICATIONFAILED] */
    assert_int_equal(r->status, IMAP_STATUS_NO);
    assert_true(imap_response_code_is(r, "AUTHENTICATIONFAILED"));
    assert_string_equal(r->text, "Invalid credentials (Failure)");
    walk_skip(&w, 7);
    r = walk_next(&w); /* * LIST (\HasNoChildren \Sent) "/" "[Gmail]/Sent Mail" */
    assert_true(imap_response_is_data(r, "LIST"));
    assert_int_equal(r->nargs, 4);
    size_t n;
    const imap_arg *attrs = imap_arg_list(&r->args[1], &n);
    assert_int_equal(n, 2);
    assert_true(imap_arg_is_atom(&attrs[1], "\\Sent"));
    assert_int_equal(r->args[2].type, IMAP_ARG_STRING);
    assert_string_equal(r->args[2].str, "/");
    assert_int_equal(r->args[3].type, IMAP_ARG_STRING);
    assert_string_equal(r->args[3].str, "[Gmail]/Sent Mail");
    walk_skip(&w, 10);
    r = walk_next(&w); /* * OK [HIGHESTMODSEQ 4117] with no text */
    assert_true(imap_response_code_is(r, "HIGHESTMODSEQ"));
    assert_string_equal(r->text, "");
    assert_int_equal(r->text_len, 0);
    r = walk_next(&w); /* g5 OK [READ-WRITE] [Gmail]/Sent Mail selected. */
    assert_true(imap_response_code_is(r, "READ-WRITE"));
    assert_string_equal(r->text, "[Gmail]/Sent Mail selected. (Success)");
    r = walk_next(&w); /* * 1 FETCH (X-GM-THRID ... X-GM-LABELS (...)) */
    uint64_t id = 0;
    assert_int_equal(imap_arg_as_u64(imap_fetch_item(&r->args[2], "X-GM-MSGID"), &id), 0);
    assert_true(id == 1278455344230334865ull);
    uint32_t small;
    assert_int_equal(imap_arg_as_u32(imap_fetch_item(&r->args[2], "X-GM-MSGID"), &small), -1);
    const imap_arg *labels = imap_arg_list(imap_fetch_item(&r->args[2], "x-gm-labels"), &n);
    assert_int_equal(n, 3);
    assert_true(imap_arg_is_atom(&labels[0], "\\Important"));
    assert_int_equal(labels[2].type, IMAP_ARG_STRING);
    assert_string_equal(labels[2].str, "Project X");
    r = walk_next(&w); /* X-GM-LABELS () */
    assert_null(imap_arg_list(imap_fetch_item(&r->args[2], "X-GM-LABELS"), &n));
    assert_int_equal(n, 0);
    assert_int_equal(imap_fetch_item(&r->args[2], "X-GM-LABELS")->type, IMAP_ARG_LIST);
    walk_skip(&w, 6);
    walk_close(&w);
}

static void test_outlook_header_fields_item_then_flags(void **state)
{
    (void)state;
    struct walk w = walk_open("outlook_style.imap");
    imap_response *r = walk_next(&w);
    assert_null(r->code); /* a "[...]" after the text's start is text, not a code */
    assert_non_null(strstr(r->text, "[TQBOADIA"));
    walk_skip(&w, 2);
    r = walk_next(&w); /* "+ " */
    assert_int_equal(r->kind, IMAP_RESP_CONTINUATION);
    assert_string_equal(r->text, "");
    walk_skip(&w, 18);
    r = walk_next(&w);
    const imap_arg *h = imap_fetch_item(&r->args[2], "BODY[HEADER.FIELDS (FROM SUBJECT DATE)]");
    assert_non_null(h);
    assert_int_equal(h->len, 126);
    assert_non_null(imap_fetch_item(&r->args[2], "FLAGS"));
    walk_skip(&w, 6);
    walk_close(&w);
}

/* ---- one response from a string ----------------------------------------------------------- */

static imap_response *parse1_lim(imap_parser **pp, const imap_parser_limits *lim, const char *s,
                                 size_t len)
{
    *pp = imap_parser_new(lim);
    assert_int_equal(imap_parser_feed(*pp, s, len), 0);
    imap_response *r = NULL;
    mf_error err;
    enum imap_parse_result res = imap_parser_next(*pp, &r, &err);
    if (res != IMAP_PARSE_OK)
        fail_msg("no response (%d): %s", res, res == IMAP_PARSE_ERROR ? err.message : "need more");
    return r;
}
#define PARSE1(pp, s) parse1_lim(pp, NULL, s, sizeof(s) - 1)
#define PARSE1_LIM(pp, lim, s) parse1_lim(pp, lim, s, sizeof(s) - 1)

static void test_continuation_forms(void **state)
{
    (void)state;
    imap_parser *p;
    imap_response *r = PARSE1(&p, "+ idling\r\n+ \r\n+\r\n+ [ALERT] x y\r\n+ SGVsbG8=\n+ready\r\n");
    assert_int_equal(r->kind, IMAP_RESP_CONTINUATION);
    assert_string_equal(r->text, "idling");
    const char *texts[] = {"", "", "x y", "SGVsbG8=", "ready"};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(imap_parser_next(p, &r, NULL), IMAP_PARSE_OK);
        assert_int_equal(r->kind, IMAP_RESP_CONTINUATION);
        assert_string_equal(r->text, texts[i]);
        assert_int_equal(r->nargs, 0);
        assert_null(r->tag);
        if (i == 2)
            assert_true(imap_response_code_is(r, "ALERT"));
        else
            assert_null(r->code);
    }
    assert_int_equal(imap_parser_next(p, &r, NULL), IMAP_PARSE_NEED_MORE);
    assert_null(r);
    imap_parser_free(&p);
}

static void test_quoted_string_unescapes_quote_and_backslash(void **state)
{
    (void)state;
    imap_parser *p;
    imap_response *r = PARSE1(&p, "* X \"a\\\"b\\\\c\" \"\" \"\\x(\" \"\xc3\xa9 [x] {3}\"\r\n");
    assert_int_equal(r->nargs, 5);
    assert_int_equal(r->args[1].type, IMAP_ARG_STRING);
    assert_string_equal(r->args[1].str, "a\"b\\c");
    assert_int_equal(r->args[1].len, 5);
    assert_int_equal(r->args[2].type, IMAP_ARG_STRING);
    assert_int_equal(r->args[2].len, 0);
    assert_string_equal(r->args[2].str, "");
    assert_string_equal(r->args[3].str, "x(");
    assert_string_equal(r->args[4].str, "\xc3\xa9 [x] {3}");
    imap_parser_free(&p);
}

static void test_nil_in_any_case_is_nil_but_quoted_nil_is_a_string(void **state)
{
    (void)state;
    imap_parser *p;
    imap_response *r = PARSE1(&p, "* X NIL nil Nil \"NIL\" NILS {3}\r\nNIL\r\n");
    assert_int_equal(r->nargs, 7);
    for (int i = 1; i <= 3; i++) {
        assert_int_equal(r->args[i].type, IMAP_ARG_NIL);
        assert_true(imap_arg_is_nil(&r->args[i]));
        assert_false(imap_arg_is_atom(&r->args[i], "NIL"));
        assert_null(imap_arg_str(&r->args[i], NULL));
    }
    assert_int_equal(r->args[4].type, IMAP_ARG_STRING);
    assert_false(imap_arg_is_nil(&r->args[4]));
    assert_true(imap_arg_is_atom(&r->args[5], "NILS"));
    assert_int_equal(r->args[6].type, IMAP_ARG_LITERAL);
    assert_false(imap_arg_is_nil(&r->args[6]));
    imap_parser_free(&p);
}

static void test_literal_forms_set_their_flags(void **state)
{
    (void)state;
    imap_parser *p;
    imap_response *r =
        PARSE1(&p, "* X {3}\r\nabc {3+}\r\ndef ~{3}\r\n\x00\x01\x02 {0}\r\n {0003}\r\n)\r\n\r\n");
    assert_int_equal(r->nargs, 6);
    assert_int_equal(r->args[1].type, IMAP_ARG_LITERAL);
    assert_int_equal(r->args[1].flags, 0);
    assert_string_equal(r->args[1].str, "abc");
    assert_int_equal(r->args[2].flags, IMAP_ARG_FLAG_NONSYNC);
    assert_string_equal(r->args[2].str, "def");
    assert_int_equal(r->args[3].flags, IMAP_ARG_FLAG_LITERAL8);
    assert_int_equal(r->args[3].len, 3);
    assert_memory_equal(r->args[3].str, "\x00\x01\x02", 3);
    assert_int_equal(r->args[4].len, 0);
    assert_string_equal(r->args[4].str, "");
    assert_int_equal(r->args[5].len, 3);
    assert_string_equal(r->args[5].str, ")\r\n");
    imap_parser_free(&p);
}

static void test_section_atoms_come_out_whole(void **state)
{
    (void)state;
    imap_parser *p;
    imap_response *r = PARSE1(&p, "* 1 FETCH (BODY[HEADER.FIELDS (FROM TO)] {5}\r\nab\r\n\r "
                                  "BODY[]<0> NIL BODY[1.2.MIME] \"x\" "
                                  "BODY[HEADER.FIELDS (\"X]Y\" \"a\\\"b\")] NIL BINARY[1]<5> "
                                  "~{1}\r\nz [Gmail]/Sent x[1]y[2])\r\n");
    const imap_arg *items = &r->args[2];
    size_t n;
    const imap_arg *it = imap_arg_list(items, &n);
    assert_int_equal(n, 12);
    assert_true(imap_arg_is_atom(&it[0], "BODY[HEADER.FIELDS (FROM TO)]"));
    assert_string_equal(imap_fetch_item(items, "BODY[HEADER.FIELDS (FROM TO)]")->str, "ab\r\n\r");
    assert_true(imap_arg_is_nil(imap_fetch_item(items, "body[]<0>")));
    assert_string_equal(imap_fetch_item(items, "BODY[1.2.MIME]")->str, "x");
    assert_true(imap_arg_is_atom(&it[6], "BODY[HEADER.FIELDS (\"X]Y\" \"a\\\"b\")]"));
    assert_true(imap_arg_is_nil(&it[7]));
    assert_true(imap_arg_is_atom(&it[8], "BINARY[1]<5>"));
    assert_int_equal(it[9].flags, IMAP_ARG_FLAG_LITERAL8);
    assert_true(imap_arg_is_atom(&it[10], "[Gmail]/Sent"));
    assert_true(imap_arg_is_atom(&it[11], "x[1]y[2]"));
    imap_parser_free(&p);
}

static void test_tilde_not_before_brace_is_an_atom(void **state)
{
    (void)state;
    imap_parser *p;
    imap_response *r = PARSE1(&p, "* X ~foo ~ a~b (~) ]x] (])\r\n");
    assert_int_equal(r->nargs, 7);
    assert_true(imap_arg_is_atom(&r->args[5], "]x]")); /* "]" is an atom byte outside codes */
    assert_true(imap_arg_is_atom(&r->args[6].list[0], "]"));
    assert_true(imap_arg_is_atom(&r->args[1], "~foo"));
    assert_true(imap_arg_is_atom(&r->args[2], "~"));
    assert_true(imap_arg_is_atom(&r->args[3], "a~b"));
    assert_true(imap_arg_is_atom(&r->args[4].list[0], "~"));
    imap_parser_free(&p);
}

static void test_nested_and_empty_lists(void **state)
{
    (void)state;
    imap_parser *p;
    imap_response *r = PARSE1(&p, "* X () (()) ((a) (b c)) (\"\" NIL)\r\n");
    assert_int_equal(r->nargs, 5);
    size_t n;
    assert_null(imap_arg_list(&r->args[1], &n));
    assert_int_equal(n, 0);
    assert_int_equal(r->args[1].type, IMAP_ARG_LIST);
    const imap_arg *l = imap_arg_list(&r->args[2], &n);
    assert_int_equal(n, 1);
    assert_int_equal(l[0].type, IMAP_ARG_LIST);
    assert_int_equal(l[0].len, 0);
    l = imap_arg_list(&r->args[3], &n);
    assert_int_equal(n, 2);
    assert_int_equal(l[1].len, 2);
    assert_true(imap_arg_is_atom(&l[1].list[1], "c"));
    l = imap_arg_list(&r->args[4], &n);
    assert_int_equal(n, 2);
    assert_int_equal(l[0].type, IMAP_ARG_STRING);
    assert_int_equal(l[1].type, IMAP_ARG_NIL);
    imap_parser_free(&p);
}

static void test_lf_only_line_endings_are_accepted(void **state)
{
    (void)state;
    imap_parser *p;
    imap_response *r = PARSE1(&p, "* 1 EXISTS\na1 OK done\n+ go\n* X {2}\nab\n");
    assert_true(imap_response_is_numbered(r, "EXISTS", NULL));
    assert_int_equal(imap_parser_next(p, &r, NULL), IMAP_PARSE_OK);
    assert_string_equal(r->text, "done");
    assert_int_equal(imap_parser_next(p, &r, NULL), IMAP_PARSE_OK);
    assert_string_equal(r->text, "go");
    assert_int_equal(imap_parser_next(p, &r, NULL), IMAP_PARSE_OK);
    assert_string_equal(r->args[1].str, "ab");
    imap_parser_free(&p);
}

static void test_response_code_forms(void **state)
{
    (void)state;
    imap_parser *p;
    imap_response *r = PARSE1(&p, "* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n"
                                  "* OK [REFERRAL imap://[::1]/]\r\n"
                                  "* NO [ALERT] [not a code] (text) \"x\r\n"
                                  "a7 BAD [BADCHARSET (UTF-8 \"X Y\")] no\r\n");
    size_t n;
    const imap_arg *fl = imap_arg_list(&r->code[1], &n);
    assert_int_equal(n, 3);
    assert_true(imap_arg_is_atom(&fl[2], "\\*"));
    assert_string_equal(r->text, "Limited");
    assert_int_equal(imap_parser_next(p, &r, NULL), IMAP_PARSE_OK);
    assert_true(imap_response_code_is(r, "REFERRAL"));
    assert_true(imap_arg_is_atom(&r->code[1], "imap://[::1]/"));
    assert_string_equal(r->text, "");
    assert_int_equal(imap_parser_next(p, &r, NULL), IMAP_PARSE_OK);
    assert_int_equal(r->status, IMAP_STATUS_NO);
    assert_int_equal(r->ncode, 1);
    assert_string_equal(r->text, "[not a code] (text) \"x");
    assert_int_equal(imap_parser_next(p, &r, NULL), IMAP_PARSE_OK);
    assert_int_equal(r->status, IMAP_STATUS_BAD);
    assert_string_equal(r->tag, "a7");
    assert_int_equal(r->code[1].len, 2);
    assert_string_equal(r->code[1].list[1].str, "X Y");
    imap_parser_free(&p);
}

static void test_status_words_in_any_case(void **state)
{
    (void)state;
    imap_parser *p;
    imap_response *r = PARSE1(&p, "a1 ok fine\r\na2 No\r\na3 bad x\r\n* preauth hi\r\n* Bye\r\n"
                                  "* OKAY x\r\n");
    assert_int_equal(r->status, IMAP_STATUS_OK);
    imap_status want[] = {IMAP_STATUS_NO, IMAP_STATUS_BAD, IMAP_STATUS_PREAUTH, IMAP_STATUS_BYE,
                          IMAP_STATUS_NONE};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(imap_parser_next(p, &r, NULL), IMAP_PARSE_OK);
        assert_int_equal(r->status, want[i]);
    }
    assert_true(imap_response_is_data(r, "OKAY")); /* not a status word: a data response */
    assert_null(r->text);
    imap_parser_free(&p);
}

static void test_format_renders_canonically(void **state)
{
    (void)state;
    imap_parser *p;
    imap_response *r = PARSE1(&p, "* 1 FETCH (X \"a\\\"b\\\\c\\\t\x01\" ~{3}\r\n\x00\xff\n "
                                  "{1+}\r\n\" NIL ())\r\n");
    strbuf sb;
    strbuf_init(&sb, 4096);
    assert_int_equal(imap_response_format(r, &sb), 0);
    assert_string_equal(sb.buf, "untagged 1 FETCH (X \"a\\\"b\\\\c\\t\\x01\" ~{3}\"\\x00\\xff\\n\" "
                                "{1+}\"\\\"\" NIL ())");
    strbuf_release(&sb);
    strbuf_init(&sb, 10);
    assert_int_equal(imap_response_format(r, &sb), -1);
    assert_true(sb.len <= 10);
    strbuf_release(&sb);
    imap_parser_free(&p);
}

/* ---- helpers -------------------------------------------------------------------------------- */

static imap_arg atom(const char *s)
{
    imap_arg a = {.type = IMAP_ARG_ATOM, .str = s, .len = strlen(s)};
    return a;
}

static void test_as_u32_reads_only_plain_numbers_that_fit(void **state)
{
    (void)state;
    uint32_t v = 7;
    imap_arg a = atom("0");
    assert_int_equal(imap_arg_as_u32(&a, &v), 0);
    assert_int_equal(v, 0);
    a = atom("4294967295");
    assert_int_equal(imap_arg_as_u32(&a, &v), 0);
    assert_int_equal(v, UINT32_MAX);
    a = atom("00012");
    assert_int_equal(imap_arg_as_u32(&a, &v), 0);
    assert_int_equal(v, 12);
    const char *bad[] = {"4294967296", "99999999999", "12a", "-1", "+1", " 1", "", "1.5", "0x10"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        v = 7;
        a = atom(bad[i]);
        assert_int_equal(imap_arg_as_u32(&a, &v), -1);
        assert_int_equal(v, 7);
    }
    imap_arg q = {.type = IMAP_ARG_STRING, .str = "12", .len = 2};
    assert_int_equal(imap_arg_as_u32(&q, &v), -1);
    imap_arg nil = {.type = IMAP_ARG_NIL, .str = "NIL", .len = 3};
    assert_int_equal(imap_arg_as_u32(&nil, &v), -1);
    imap_arg list = {.type = IMAP_ARG_LIST};
    assert_int_equal(imap_arg_as_u32(&list, &v), -1);
    assert_int_equal(imap_arg_as_u32(NULL, &v), -1);
    assert_int_equal(v, 7);
}

static void test_as_u64_reads_up_to_the_maximum(void **state)
{
    (void)state;
    uint64_t v = 7;
    imap_arg a = atom("18446744073709551615");
    assert_int_equal(imap_arg_as_u64(&a, &v), 0);
    assert_true(v == UINT64_MAX);
    a = atom("18446744073709551616");
    assert_int_equal(imap_arg_as_u64(&a, &v), -1);
    a = atom("99999999999999999999");
    assert_int_equal(imap_arg_as_u64(&a, &v), -1);
    a = atom("4294967296");
    assert_int_equal(imap_arg_as_u64(&a, &v), 0);
    assert_true(v == 4294967296ull);
}

static void test_arg_is_atom_matches_atoms_only_case_insensitively(void **state)
{
    (void)state;
    imap_arg a = atom("ok");
    assert_true(imap_arg_is_atom(&a, "OK"));
    assert_true(imap_arg_is_atom(&a, "ok"));
    assert_false(imap_arg_is_atom(&a, "OKAY"));
    assert_false(imap_arg_is_atom(&a, "O"));
    assert_false(imap_arg_is_atom(&a, NULL));
    assert_false(imap_arg_is_atom(NULL, "OK"));
    imap_arg q = {.type = IMAP_ARG_STRING, .str = "OK", .len = 2};
    assert_false(imap_arg_is_atom(&q, "OK"));
    imap_arg nul = {.type = IMAP_ARG_ATOM, .str = "OK\0X", .len = 4};
    assert_false(imap_arg_is_atom(&nul, "OK"));
}

static void test_accessors_return_null_for_wrong_types(void **state)
{
    (void)state;
    size_t n = 99;
    imap_arg a = atom("X");
    assert_null(imap_arg_list(&a, &n));
    assert_int_equal(n, 0);
    assert_null(imap_arg_list(NULL, NULL));
    imap_arg list = {.type = IMAP_ARG_LIST};
    n = 99;
    assert_null(imap_arg_str(&list, &n));
    assert_int_equal(n, 0);
    assert_null(imap_arg_str(NULL, NULL));
    assert_false(imap_arg_is_nil(NULL));
    assert_false(imap_arg_is_string(&a));
    assert_false(imap_arg_is_string(NULL));
    assert_null(imap_fetch_item(&a, "X"));
    assert_null(imap_fetch_item(NULL, "X"));
    assert_false(imap_response_is_numbered(NULL, "EXISTS", NULL));
    assert_false(imap_response_is_data(NULL, "X"));
    assert_false(imap_response_code_is(NULL, "X"));
    assert_string_equal(imap_status_name(IMAP_STATUS_NONE), "");
    assert_string_equal(imap_status_name(IMAP_STATUS_PREAUTH), "PREAUTH");
}

static void test_fetch_item_matches_names_not_values(void **state)
{
    (void)state;
    imap_parser *p;
    imap_response *r = PARSE1(&p, "* 1 FETCH (A UID B 5 FLAGS)\r\n");
    const imap_arg *items = &r->args[2];
    assert_null(imap_fetch_item(items, "UID")); /* a value, not a name */
    assert_string_equal(imap_fetch_item(items, "b")->str, "5");
    assert_string_equal(imap_fetch_item(items, "A")->str, "UID");
    assert_null(imap_fetch_item(items, "FLAGS")); /* odd list: no value */
    assert_null(imap_fetch_item(items, "5"));
    imap_parser_free(&p);
}

static void test_numbered_and_data_helpers_tell_response_shapes_apart(void **state)
{
    (void)state;
    imap_parser *p;
    imap_response *r = PARSE1(&p, "* 23 EXISTS\r\n");
    uint32_t n = 0;
    assert_true(imap_response_is_numbered(r, "exists", &n));
    assert_int_equal(n, 23);
    assert_false(imap_response_is_numbered(r, "EXPUNGE", &n));
    assert_false(imap_response_is_data(r, "EXISTS"));
    imap_parser_free(&p);
    r = PARSE1(&p, "* SEARCH 1\r\n");
    assert_true(imap_response_is_data(r, "search"));
    assert_false(imap_response_is_numbered(r, "SEARCH", NULL));
    imap_parser_free(&p);
    r = PARSE1(&p, "* OK [ALERT] x\r\n");
    assert_false(imap_response_is_data(r, "OK"));
    imap_parser_free(&p);
    r = PARSE1(&p, "* 99999999999 EXISTS\r\n");
    assert_false(imap_response_is_numbered(r, "EXISTS", &n));
    imap_parser_free(&p);
    r = PARSE1(&p, "t OK [UIDVALIDITY 9] x\r\n");
    assert_false(imap_response_is_data(r, "OK"));
    assert_false(imap_response_is_numbered(r, "OK", NULL));
    assert_true(imap_response_code_is(r, "UIDVALIDITY"));
    imap_parser_free(&p);
}

/* ---- errors --------------------------------------------------------------------------------- */

static void expect_error_lim(const imap_parser_limits *lim, const char *s, size_t len,
                             const char *code, const char *part)
{
    char *once = render_once(lim, s, len);
    const char *e = strstr(once, "ERROR ");
    if (!e) fail_msg("no error; got:\n%s", once);
    char *head = xasprintf("ERROR %s: IMAP server response: ", code);
    if (strncmp(e, head, strlen(head)) != 0 || !strstr(e, part))
        fail_msg("want %s...%s, got %s", head, part, e);
    free(head);
    /* the same error, same place, however the bytes arrive */
    char *bw = render_bytewise(lim, s, len);
    assert_string_equal(bw, once);
    free(bw);
    check_every_split(lim, s, len, once);
    /* final: more good input changes nothing */
    imap_parser *p = imap_parser_new(lim);
    (void)imap_parser_feed(p, s, len);
    imap_response *r;
    mf_error err;
    while (imap_parser_next(p, &r, &err) == IMAP_PARSE_OK) {
    }
    assert_string_equal(err.code, code);
    assert_int_equal(err.status, 502);
    assert_string_equal(imap_parser_error_code(p), code);
    assert_non_null(strstr(imap_parser_error(p), part));
    assert_int_equal(imap_parser_feed(p, "* OK fine\r\n", 11), -1);
    mf_error err2;
    assert_int_equal(imap_parser_next(p, &r, &err2), IMAP_PARSE_ERROR);
    assert_null(r);
    assert_string_equal(err2.message, err.message);
    assert_int_equal(imap_parser_next(p, &r, NULL), IMAP_PARSE_ERROR);
    imap_parser_free(&p);
    free(once);
}
#define EXPECT_ERROR(s, code, part) expect_error_lim(NULL, s, sizeof(s) - 1, code, part)
#define EXPECT_ERROR_LIM(lim, s, code, part) expect_error_lim(lim, s, sizeof(s) - 1, code, part)

static void test_error_garbage_where_a_response_should_start(void **state)
{
    (void)state;
    EXPECT_ERROR("\x01\x02garbage\r\n", IMAP_ERR_SYNTAX, "unexpected byte 0x01 where a response");
    EXPECT_ERROR("(foo)\r\n", IMAP_ERR_SYNTAX, "unexpected '(' where a response should start");
    EXPECT_ERROR("HTTP/1.1 400 Bad Request\r\n", IMAP_ERR_SYNTAX,
                 "tagged response is not OK, NO or BAD");
    EXPECT_ERROR("* OK hi\r\n\xff\xfe\r\n", IMAP_ERR_SYNTAX, "byte 0xff where a response");
    EXPECT_ERROR("\r\n", IMAP_ERR_SYNTAX, "empty line where a response should start");
    EXPECT_ERROR("*OK\r\n", IMAP_ERR_SYNTAX, "unexpected 'O' after '*' (expected SP)");
    EXPECT_ERROR("* \r\n", IMAP_ERR_SYNTAX, "untagged response with nothing after '*'");
}

static void test_error_tagged_response_must_be_ok_no_or_bad(void **state)
{
    (void)state;
    EXPECT_ERROR("a1 FETCH 1\r\n", IMAP_ERR_SYNTAX, "tagged response is not OK, NO or BAD");
    EXPECT_ERROR("a1 PREAUTH x\r\n", IMAP_ERR_SYNTAX, "tagged response is not OK, NO or BAD");
    EXPECT_ERROR("a1 BYE x\r\n", IMAP_ERR_SYNTAX, "tagged response is not OK, NO or BAD");
    EXPECT_ERROR("a1 \"OK\" x\r\n", IMAP_ERR_SYNTAX, "tagged response is not OK, NO or BAD");
    EXPECT_ERROR("a1 \r\n", IMAP_ERR_SYNTAX, "tagged response is not OK, NO or BAD");
    EXPECT_ERROR("a1\r\n", IMAP_ERR_SYNTAX, "unexpected CR in or after the tag");
    EXPECT_ERROR("a*1 OK\r\n", IMAP_ERR_SYNTAX, "unexpected '*' in or after the tag");
}

static void test_error_control_bytes_in_atoms(void **state)
{
    (void)state;
    EXPECT_ERROR("* X a\x01"
                 "b\r\n",
                 IMAP_ERR_SYNTAX, "unexpected byte 0x01 in an atom");
    EXPECT_ERROR("* X a\tb\r\n", IMAP_ERR_SYNTAX, "unexpected byte 0x09 in an atom");
    EXPECT_ERROR("* X a\x7f"
                 "b\r\n",
                 IMAP_ERR_SYNTAX, "unexpected byte 0x7f in an atom");
    EXPECT_ERROR("* X \x7f\r\n", IMAP_ERR_SYNTAX, "where an argument should start");
    EXPECT_ERROR("* X a{5}\r\n", IMAP_ERR_SYNTAX, "unexpected '{' in an atom");
    EXPECT_ERROR("* X a\"b\"\r\n", IMAP_ERR_SYNTAX, "unexpected '\"' in an atom");
    EXPECT_ERROR("* X a(b)\r\n", IMAP_ERR_SYNTAX, "unexpected '(' in an atom");
}

static void test_error_unterminated_quoted_string_at_line_end(void **state)
{
    (void)state;
    EXPECT_ERROR("* X \"abc\r\n", IMAP_ERR_SYNTAX, "unterminated quoted string at end of line");
    EXPECT_ERROR("* X \"abc\\\r\n", IMAP_ERR_SYNTAX, "unterminated quoted string at end of line");
    EXPECT_ERROR("* X (\"a\nb\")\r\n", IMAP_ERR_SYNTAX, "unterminated quoted string");
    EXPECT_ERROR("* 1 FETCH (BODY[HEADER.FIELDS (\"FROM)]\r\n", IMAP_ERR_SYNTAX,
                 "unterminated quoted string at end of line");
}

static void test_error_bad_literal_syntax(void **state)
{
    (void)state;
    EXPECT_ERROR("* X {abc}\r\nabc\r\n", IMAP_ERR_SYNTAX, "unexpected 'a' in a literal's size");
    EXPECT_ERROR("* X {}\r\n\r\n", IMAP_ERR_SYNTAX, "unexpected '}' in a literal's size");
    EXPECT_ERROR("* X {-1}\r\n\r\n", IMAP_ERR_SYNTAX, "unexpected '-' in a literal's size");
    EXPECT_ERROR("* X {+}\r\n\r\n", IMAP_ERR_SYNTAX, "unexpected '+' in a literal's size");
    EXPECT_ERROR("* X { 5}\r\n12345\r\n", IMAP_ERR_SYNTAX, "unexpected SP in a literal's size");
    EXPECT_ERROR("* X {5+x}\r\n12345\r\n", IMAP_ERR_SYNTAX, "after a literal's '+'");
    EXPECT_ERROR("* X {5}x12345\r\n", IMAP_ERR_SYNTAX, "after a literal's '}' (expected CRLF)");
    EXPECT_ERROR("* X {5}\rx2345\r\n", IMAP_ERR_SYNTAX, "after a literal's '}' (expected CRLF)");
    EXPECT_ERROR("* X {5}\r\r\n12345\r\n", IMAP_ERR_SYNTAX, "unexpected CR after a literal's");
    EXPECT_ERROR("* X ~{5\r\n", IMAP_ERR_SYNTAX, "unexpected CR in a literal's size");
    EXPECT_ERROR("* 1 FETCH (BODY[{3}\r\nabc])\r\n", IMAP_ERR_SYNTAX,
                 "literal inside an atom's [section] is not supported");
}

static void test_error_literal_size_overflow(void **state)
{
    (void)state;
    EXPECT_ERROR("* X {99999999999999999999}\r\n", IMAP_ERR_LITERAL_TOO_LARGE,
                 "literal larger than the limit of 67108864 bytes at byte 12 ");
    EXPECT_ERROR("* X ~{18446744073709551616}\r\n", IMAP_ERR_LITERAL_TOO_LARGE,
                 "literal larger than the limit");
    /* many digits are fine while the value is small */
    imap_parser *p;
    imap_response *r = PARSE1(&p, "* X {000000000000000000000000000002}\r\nab\r\n");
    assert_string_equal(r->args[1].str, "ab");
    imap_parser_free(&p);
}

static void test_error_literal_over_the_limit_before_any_data(void **state)
{
    (void)state;
    imap_parser_limits lim = {.max_literal = 1000};
    /* exactly the limit: fine */
    char *ok = xasprintf("* 1 FETCH (BODY[] {1000}\r\n%01000d)\r\n", 7);
    imap_parser *p;
    imap_response *r = parse1_lim(&p, &lim, ok, strlen(ok));
    assert_int_equal(imap_fetch_item(&r->args[2], "BODY[]")->len, 1000);
    imap_parser_free(&p);
    free(ok);
    /* one more: refused at its last digit, before a single byte of it is awaited */
    p = imap_parser_new(&lim);
    assert_int_equal(imap_parser_feed(p, "* 1 FETCH (BODY[] {1001", 23), -1);
    mf_error err;
    assert_int_equal(imap_parser_next(p, &r, &err), IMAP_PARSE_ERROR);
    assert_string_equal(err.code, IMAP_ERR_LITERAL_TOO_LARGE);
    assert_non_null(strstr(err.message, "literal larger than the limit of 1000 bytes at byte 22"));
    imap_parser_free(&p);
    EXPECT_ERROR_LIM(&lim, "* 1 FETCH (BODY[] {1001}\r\n", IMAP_ERR_LITERAL_TOO_LARGE,
                     "limit of 1000 bytes");
    imap_parser_limits tiny = {.max_literal = 1};
    EXPECT_ERROR_LIM(&tiny, "* X {5}\r\n", IMAP_ERR_LITERAL_TOO_LARGE, "limit of 1 bytes");
}

static void test_error_literals_of_one_response_over_their_total(void **state)
{
    (void)state;
    imap_parser_limits lim = {.max_literals = 10};
    imap_parser *p;
    imap_response *r = PARSE1_LIM(&p, &lim, "* X {5}\r\nabcde {5}\r\nfghij\r\n* Y {10}\r\n");
    assert_int_equal(r->nargs, 3);
    imap_parser_free(&p);
    EXPECT_ERROR_LIM(&lim, "* X {6}\r\nabcdef {5}\r\nfghij\r\n", IMAP_ERR_LITERAL_TOO_LARGE,
                     "literals of one response larger than 10 bytes together");
}

static void test_error_nesting_deeper_than_the_limit(void **state)
{
    (void)state;
    imap_parser_limits lim = {.max_depth = 3};
    imap_parser *p;
    imap_response *r = PARSE1_LIM(&p, &lim, "* X (((a)))\r\n* OK [X ((a))] t\r\n");
    assert_string_equal(r->args[1].list[0].list[0].list[0].str, "a");
    assert_int_equal(imap_parser_next(p, &r, NULL), IMAP_PARSE_OK);
    imap_parser_free(&p);
    EXPECT_ERROR_LIM(&lim, "* X ((((a))))\r\n", IMAP_ERR_TOO_DEEP, "lists nested deeper than 3");
    EXPECT_ERROR_LIM(&lim, "* OK [X (((a)))] t\r\n", IMAP_ERR_TOO_DEEP, "deeper than 3");
    /* the default: 32 */
    char deep[200];
    size_t n = 0;
    n += (size_t)snprintf(deep, sizeof(deep), "* X ");
    for (int i = 0; i < 33; i++)
        deep[n++] = '(';
    deep[n] = '\0';
    char *once = render_once(NULL, deep, n);
    assert_non_null(strstr(once, "ERROR imap_too_deep"));
    free(once);
}

static void test_error_line_longer_than_the_limit(void **state)
{
    (void)state;
    imap_parser_limits lim = {.max_line = 64};
    char line[80];
    /* exactly 64 bytes, CRLF included: fine */
    memset(line, 'x', sizeof(line));
    memcpy(line, "* OK ", 5);
    memcpy(line + 62, "\r\n", 2);
    imap_parser *p;
    imap_response *r = parse1_lim(&p, &lim, line, 64);
    assert_int_equal(r->text_len, 57);
    imap_parser_free(&p);
    /* 65: refused at byte 64, the first one past the limit */
    memcpy(line + 62, "x\r\n", 3);
    char *once = render_once(&lim, line, 65);
    assert_non_null(strstr(once, "ERROR imap_line_too_long: IMAP server response: response longer "
                                 "than 64 bytes outside literals at byte 64 of the stream"));
    free(once);
    expect_error_lim(&lim, line, 65, IMAP_ERR_LINE_TOO_LONG, "at byte 64 of the stream");
    /* literal bytes do not count */
    char *big = xasprintf("* 1 FETCH (BODY[] {200}\r\n%0200d)\r\n", 1);
    r = parse1_lim(&p, &lim, big, strlen(big));
    assert_int_equal(imap_fetch_item(&r->args[2], "BODY[]")->len, 200);
    imap_parser_free(&p);
    free(big);
    /* the limit counts the whole response across literals */
    EXPECT_ERROR_LIM(&lim,
                     "* 1 FETCH (A {1}\r\na B {1}\r\nb C {1}\r\nc D {1}\r\nd E {1}\r\ne F {1}\r\nf "
                     "G {1}\r\ng H {1}\r\nh I)\r\n",
                     IMAP_ERR_LINE_TOO_LONG, "longer than 64 bytes");
    /* each kind of token is stopped */
    EXPECT_ERROR_LIM(&lim, "* X \"0123456789012345678901234567890123456789012345678901234567\"\r\n",
                     IMAP_ERR_LINE_TOO_LONG, "at byte 64 ");
    EXPECT_ERROR_LIM(&lim, "* X 012345678901234567890123456789012345678901234567890123456789\r\n",
                     IMAP_ERR_LINE_TOO_LONG, "at byte 64 ");
    EXPECT_ERROR_LIM(&lim,
                     "tag0123456789012345678901234567890123456789012345678901234567890 OK\r\n",
                     IMAP_ERR_LINE_TOO_LONG, "at byte 64 ");
    EXPECT_ERROR_LIM(&lim,
                     "* 1 FETCH (BODY[HEADER.FIELDS (A B C D E F G H I J K L M N O P Q)])\r\n",
                     IMAP_ERR_LINE_TOO_LONG, "at byte 64 ");
    EXPECT_ERROR_LIM(&lim,
                     "* X {00000000000000000000000000000000000000000000000000000000000001}\r\n",
                     IMAP_ERR_LINE_TOO_LONG, "at byte 64 ");
}

static void test_error_too_many_arguments(void **state)
{
    (void)state;
    imap_parser_limits lim = {.max_list_args = 4};
    imap_parser *p;
    imap_response *r = PARSE1_LIM(&p, &lim, "* X (a b c d)\r\n* A B C D\r\n* OK [A B C D] t\r\n");
    assert_int_equal(r->args[1].len, 4);
    assert_int_equal(imap_parser_next(p, &r, NULL), IMAP_PARSE_OK);
    assert_int_equal(r->nargs, 4);
    assert_int_equal(imap_parser_next(p, &r, NULL), IMAP_PARSE_OK);
    assert_int_equal(r->ncode, 4);
    imap_parser_free(&p);
    EXPECT_ERROR_LIM(&lim, "* X (a b c d e)\r\n", IMAP_ERR_TOO_MANY_ARGS,
                     "more than 4 arguments in one list");
    EXPECT_ERROR_LIM(&lim, "* A B C D E\r\n", IMAP_ERR_TOO_MANY_ARGS,
                     "more than 4 arguments in one response");
    EXPECT_ERROR_LIM(&lim, "* OK [A B C D E] t\r\n", IMAP_ERR_TOO_MANY_ARGS,
                     "more than 4 arguments in one response code");
    EXPECT_ERROR_LIM(&lim, "* X ({0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n)\r\n",
                     IMAP_ERR_TOO_MANY_ARGS, "in one list");
}

static void test_error_nul_outside_literals(void **state)
{
    (void)state;
    EXPECT_ERROR("* OK te\0xt\r\n", IMAP_ERR_NUL,
                 "NUL byte outside a literal (in the response text)");
    EXPECT_ERROR("* X a\0b\r\n", IMAP_ERR_NUL, "(in an atom)");
    EXPECT_ERROR("* X \"a\0\"\r\n", IMAP_ERR_NUL, "(in a quoted string)");
    EXPECT_ERROR("* X \"a\\\0\"\r\n", IMAP_ERR_NUL, "(in a quoted string)");
    EXPECT_ERROR("a\0 OK\r\n", IMAP_ERR_NUL, "(in or after the tag");
    EXPECT_ERROR("\0", IMAP_ERR_NUL, "where a response should start");
    EXPECT_ERROR("* X \0\r\n", IMAP_ERR_NUL, "where an argument should start");
    EXPECT_ERROR("* 1 FETCH (BODY[\0])\r\n", IMAP_ERR_NUL, "[section]");
    EXPECT_ERROR("* 1 FETCH (BODY[HEADER.FIELDS (\"A\0\")])\r\n", IMAP_ERR_NUL,
                 "(in a quoted string)");
    EXPECT_ERROR("* X {1}\r\n\0\0\r\n", IMAP_ERR_NUL, "where an argument should start");
    /* inside a literal, NUL is data */
    imap_parser *p;
    imap_response *r = PARSE1(&p, "* X {3}\r\n\0\0\0\r\n");
    assert_int_equal(r->args[1].len, 3);
    assert_memory_equal(r->args[1].str, "\0\0\0", 3);
    imap_parser_free(&p);
}

static void test_error_unbalanced_parentheses_and_brackets(void **state)
{
    (void)state;
    EXPECT_ERROR("* X a)\r\n", IMAP_ERR_SYNTAX, "unexpected ')' with no list open");
    EXPECT_ERROR("* X (a))\r\n", IMAP_ERR_SYNTAX, "unexpected ')' with no list open");
    EXPECT_ERROR("* X (a b\r\n", IMAP_ERR_SYNTAX, "missing ')' at end of line");
    EXPECT_ERROR("* X ((a) b\r\n", IMAP_ERR_SYNTAX, "missing ')' at end of line");
    EXPECT_ERROR("* 1 FETCH (BODY[HEADER\r\n", IMAP_ERR_SYNTAX,
                 "missing ']' of an atom's [section] at end of line");
    EXPECT_ERROR("* 1 FETCH (BODY[a[b]])\r\n", IMAP_ERR_SYNTAX, "'[' inside an atom's [section]");
    EXPECT_ERROR("* OK a\rb\r\n", IMAP_ERR_SYNTAX, "unexpected 'b' after CR (expected LF)");
    EXPECT_ERROR("* OK)\r\n", IMAP_ERR_SYNTAX, "unexpected ')' after the status word");
}

static void test_error_message_says_what_and_where(void **state)
{
    (void)state;
    const char *s = "* OK fine\r\n* X (a b\r\n";
    imap_parser *p = imap_parser_new(NULL);
    assert_null(imap_parser_error(p));
    assert_null(imap_parser_error_code(p));
    assert_int_equal(imap_parser_feed(p, s, strlen(s)), 0);
    imap_response *r;
    mf_error err;
    assert_int_equal(imap_parser_next(p, &r, &err), IMAP_PARSE_OK);
    assert_int_equal(imap_parser_next(p, &r, &err), IMAP_PARSE_ERROR);
    assert_string_equal(err.message, "IMAP server response: missing ')' at end of line at byte 19 "
                                     "of the stream (response 2, byte 8 of it)");
    assert_string_equal(err.code, "imap_syntax");
    assert_int_equal(err.status, 502);
    assert_string_equal(imap_parser_error(p), err.message);
    imap_parser_free(&p);
}

/* Every short error input above, cut at every pair of points: always the same error. */
static void test_errors_identical_at_every_pair_of_split_points(void **state)
{
    (void)state;
    static const char *const inputs[] = {"* OK fine\r\n* X (a b\r\n",
                                         "* X {abc}\r\n",
                                         "* X {5}x12345\r\n",
                                         "* X \"abc\r\n",
                                         "* OK [A\0]\r\n",
                                         "a1 FETCH 1\r\n",
                                         "* X a\0b\r\n",
                                         "* 1 FETCH (BODY[{3}\r\nabc])\r\n",
                                         "* X {2}\r\nab)\r\n",
                                         "* OK a\rb\r\n",
                                         "* X ((((a))))\r\n"};
    static const size_t lens[] = {21, 11, 15, 10, 11, 12, 9, 27, 15, 10, 15};
    imap_parser_limits lim = {.max_depth = 3};
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        char *want = render_once(&lim, inputs[i], lens[i]);
        assert_non_null(strstr(want, "ERROR "));
        check_every_split_pair(&lim, inputs[i], lens[i], want);
        free(want);
    }
}

static void test_error_overflow_when_the_caller_does_not_drain(void **state)
{
    (void)state;
    imap_parser_limits lim = {.max_buffered = 64};
    imap_parser *p = imap_parser_new(&lim);
    /* a response becomes ready and is not taken: what follows is buffered */
    assert_int_equal(imap_parser_feed(p, "* 1 EXISTS\r\n", 12), 0);
    char chunk[60];
    memset(chunk, 'x', sizeof(chunk));
    memcpy(chunk, "* OK ", 5);
    assert_int_equal(imap_parser_feed(p, chunk, 60), 0);
    assert_int_equal(imap_parser_feed(p, chunk, 5), -1);
    imap_response *r;
    mf_error err;
    assert_int_equal(imap_parser_next(p, &r, &err), IMAP_PARSE_ERROR);
    assert_string_equal(err.code, IMAP_ERR_OVERFLOW);
    assert_int_equal(err.status, 500);
    assert_non_null(strstr(err.message, "more than 64 bytes fed without being parsed"));
    imap_parser_free(&p);

    /* a caller that drains after every feed never overflows, whatever the response size */
    p = imap_parser_new(&lim);
    char *big = xasprintf("* 1 FETCH (BODY[] {5000}\r\n%05000d)\r\na1 OK x\r\n", 3);
    size_t len = strlen(big);
    int seen = 0;
    for (size_t off = 0; off < len; off += 60) {
        size_t n = len - off < 60 ? len - off : 60;
        assert_int_equal(imap_parser_feed(p, big + off, n), 0);
        while (imap_parser_next(p, &r, &err) == IMAP_PARSE_OK)
            seen++;
    }
    assert_int_equal(seen, 2);
    imap_parser_free(&p);
    free(big);
}

static void test_text_that_only_looks_like_a_code_is_text(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        imap_response_kind kind;
        imap_status status;
        const char *text;
    } cases[] = {
        {"* OK [ALERT\r\n", IMAP_RESP_UNTAGGED, IMAP_STATUS_OK, "[ALERT"},
        {"* NO [Gmail]/Foo is gone\r\n", IMAP_RESP_UNTAGGED, IMAP_STATUS_NO, "[Gmail]/Foo is gone"},
        {"* OK [A)] x\r\n", IMAP_RESP_UNTAGGED, IMAP_STATUS_OK, "[A)] x"},
        {"* OK [] x\r\n", IMAP_RESP_UNTAGGED, IMAP_STATUS_OK, "[] x"},
        {"* OK [ALERT (a]\r\n", IMAP_RESP_UNTAGGED, IMAP_STATUS_OK, "[ALERT (a]"},
        {"a1 NO [x {5}\r\n", IMAP_RESP_TAGGED, IMAP_STATUS_NO, "[x {5}"},
        {"+ [x ~{3}\r\n", IMAP_RESP_CONTINUATION, IMAP_STATUS_NONE, "[x ~{3}"},
        {"* OK [X \"unterminated\r\n", IMAP_RESP_UNTAGGED, IMAP_STATUS_OK, "[X \"unterminated"},
        {"* OK [X \"a\\\"b\" (c\r\n", IMAP_RESP_UNTAGGED, IMAP_STATUS_OK, "[X \"a\\\"b\" (c"},
        {"* OK [BODY[x]\r\n", IMAP_RESP_UNTAGGED, IMAP_STATUS_OK, "[BODY[x]"},
        {"* BYE [ALERT]x y\n", IMAP_RESP_UNTAGGED, IMAP_STATUS_BYE, "[ALERT]x y"},
        {"* OK [A\x01B] c\r\n", IMAP_RESP_UNTAGGED, IMAP_STATUS_OK, "[A\x01B] c"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        imap_parser *p;
        imap_response *r = parse1_lim(&p, NULL, cases[i].in, strlen(cases[i].in));
        assert_int_equal(r->kind, cases[i].kind);
        assert_int_equal(r->status, cases[i].status);
        assert_null(r->code);
        assert_int_equal(r->ncode, 0);
        assert_string_equal(r->text, cases[i].text);
        imap_parser_free(&p);
        char *want = render_once(NULL, cases[i].in, strlen(cases[i].in));
        check_every_split(NULL, cases[i].in, strlen(cases[i].in), want);
        free(want);
    }
    /* a well-formed code after all that still works on the next response */
    imap_parser *p;
    imap_response *r = PARSE1(&p, "* OK [ALERT\r\n* OK [ALERT] real\r\n");
    assert_null(r->code);
    assert_int_equal(imap_parser_next(p, &r, NULL), IMAP_PARSE_OK);
    assert_true(imap_response_code_is(r, "ALERT"));
    assert_string_equal(r->text, "real");
    imap_parser_free(&p);
    /* NUL and limits inside a code stay errors */
    EXPECT_ERROR("* OK [A\0] x\r\n", IMAP_ERR_NUL, "NUL byte outside a literal");
    imap_parser_limits lim = {.max_depth = 2, .max_list_args = 3};
    EXPECT_ERROR_LIM(&lim, "* OK [A ((b))] x\r\n", IMAP_ERR_TOO_DEEP, "deeper than 2");
    EXPECT_ERROR_LIM(&lim, "* OK [A B C D] x\r\n", IMAP_ERR_TOO_MANY_ARGS, "response code");
}

/* ---- limits, lifetimes, buffering ------------------------------------------------------------ */

static void test_limits_default_when_null_or_zero(void **state)
{
    (void)state;
    imap_parser *p = imap_parser_new(NULL);
    const imap_parser_limits *l = imap_parser_get_limits(p);
    assert_int_equal(l->max_line, 64 * 1024);
    assert_true(l->max_literal == 64ull * 1024 * 1024);
    assert_true(l->max_literals == 128ull * 1024 * 1024);
    assert_int_equal(l->max_depth, 32);
    assert_int_equal(l->max_list_args, 65536);
    assert_int_equal(l->max_buffered, 1024 * 1024);
    imap_parser_free(&p);
    imap_parser_limits mine = {.max_depth = 3, .max_line = 100};
    p = imap_parser_new(&mine);
    l = imap_parser_get_limits(p);
    assert_int_equal(l->max_depth, 3);
    assert_int_equal(l->max_line, 100);
    assert_true(l->max_literal == IMAP_PARSER_DEFAULT_MAX_LITERAL);
    assert_int_equal(l->max_list_args, IMAP_PARSER_DEFAULT_MAX_LIST_ARGS);
    imap_parser_free(&p);
}

static void test_free_accepts_null_and_clears_the_pointer(void **state)
{
    (void)state;
    imap_parser_free(NULL);
    imap_parser *p = NULL;
    imap_parser_free(&p);
    p = imap_parser_new(NULL);
    /* freed mid-literal and mid-list: nothing leaks (ASan run) */
    assert_int_equal(imap_parser_feed(p, "* 1 FETCH (A (B {100}\r\nabc", 26), 0);
    imap_parser_free(&p);
    assert_null(p);
    /* freed while holding a response with literals */
    imap_response *r = PARSE1(&p, "* X {3}\r\nabc\r\n* Y");
    assert_string_equal(r->args[1].str, "abc");
    imap_parser_free(&p);
}

static void test_response_stays_valid_while_more_is_fed(void **state)
{
    (void)state;
    imap_parser *p;
    imap_response *r = PARSE1(&p, "* 1 FETCH (BODY[] {3}\r\nabc)\r\n");
    const imap_arg *body = imap_fetch_item(&r->args[2], "BODY[]");
    /* feeding (even a lot, even literals) before the next call leaves r alone */
    for (int i = 0; i < 50; i++)
        assert_int_equal(imap_parser_feed(p, "* 2 FETCH (BODY[] {5}\r\nvwxyz)\r\n", 31), 0);
    assert_string_equal(body->str, "abc");
    assert_true(imap_response_is_numbered(r, "FETCH", NULL));
    int n = 0;
    while (imap_parser_next(p, &r, NULL) == IMAP_PARSE_OK) {
        assert_string_equal(imap_fetch_item(&r->args[2], "BODY[]")->str, "vwxyz");
        n++;
    }
    assert_int_equal(n, 50);
    imap_parser_free(&p);
}

static void test_need_more_until_the_response_is_complete(void **state)
{
    (void)state;
    imap_parser *p = imap_parser_new(NULL);
    imap_response *r = (imap_response *)1;
    assert_int_equal(imap_parser_next(p, &r, NULL), IMAP_PARSE_NEED_MORE);
    assert_null(r);
    const char *parts[] = {"* 1 FETCH (UID 1", " BODY[] {4}\r", "\nab", "cd", ")", "\r", "\n"};
    for (int i = 0; i < 7; i++) {
        assert_int_equal(imap_parser_next(p, &r, NULL), IMAP_PARSE_NEED_MORE);
        assert_int_equal(imap_parser_feed(p, parts[i], strlen(parts[i])), 0);
    }
    assert_int_equal(imap_parser_next(p, &r, NULL), IMAP_PARSE_OK);
    assert_string_equal(imap_fetch_item(&r->args[2], "BODY[]")->str, "abcd");
    assert_int_equal(imap_parser_next(p, &r, NULL), IMAP_PARSE_NEED_MORE);
    assert_int_equal(imap_parser_feed(p, NULL, 0), 0);
    assert_int_equal(imap_parser_next(p, &r, NULL), IMAP_PARSE_NEED_MORE);
    imap_parser_free(&p);
}

static void test_feeding_between_responses_keeps_order(void **state)
{
    (void)state;
    imap_parser *p;
    imap_response *r = PARSE1(&p, "* 1 EXISTS\r\n* 2 EXISTS\r\n* 3 EX");
    uint32_t n;
    assert_true(imap_response_is_numbered(r, "EXISTS", &n) && n == 1);
    assert_int_equal(imap_parser_next(p, &r, NULL), IMAP_PARSE_OK); /* from the buffer */
    assert_true(imap_response_is_numbered(r, "EXISTS", &n) && n == 2);
    /* fed while "* 3 EX" waits half-parsed in the buffer and response 2 is held */
    assert_int_equal(imap_parser_feed(p, "ISTS\r\n* 4 EXISTS\r\n", 18), 0);
    assert_true(imap_response_is_numbered(r, "EXISTS", &n) && n == 2);
    for (uint32_t want = 3; want <= 4; want++) {
        assert_int_equal(imap_parser_next(p, &r, NULL), IMAP_PARSE_OK);
        assert_true(imap_response_is_numbered(r, "EXISTS", &n));
        assert_int_equal(n, want);
    }
    assert_int_equal(imap_parser_next(p, &r, NULL), IMAP_PARSE_NEED_MORE);
    imap_parser_free(&p);
}

static void test_large_responses_then_small_ones(void **state)
{
    (void)state;
    /* a SEARCH of 20000 UIDs (arena chunks and scratch lists grow), then small responses
     * (they shrink back) */
    strbuf sb;
    strbuf_init(&sb, 1 << 20);
    assert_int_equal(strbuf_addstr(&sb, "* SEARCH"), 0);
    for (int i = 1; i <= 20000; i++)
        assert_int_equal(strbuf_addf(&sb, " %d", i), 0);
    assert_int_equal(strbuf_addstr(&sb, "\r\n* X (a (b) \"c\")\r\n* SEARCH 7\r\n"), 0);
    imap_parser_limits lim = {.max_line = 1 << 20};
    imap_parser *p;
    imap_response *r = parse1_lim(&p, &lim, sb.buf, sb.len);
    assert_int_equal(r->nargs, 20001);
    uint32_t v;
    assert_int_equal(imap_arg_as_u32(&r->args[20000], &v), 0);
    assert_int_equal(v, 20000);
    assert_int_equal(imap_parser_next(p, &r, NULL), IMAP_PARSE_OK);
    assert_string_equal(r->args[1].list[2].str, "c");
    assert_int_equal(imap_parser_next(p, &r, NULL), IMAP_PARSE_OK);
    assert_int_equal(r->nargs, 2);
    imap_parser_free(&p);
    strbuf_release(&sb);
}

static void test_many_responses_in_one_feed_come_out_in_order(void **state)
{
    (void)state;
    strbuf sb;
    strbuf_init(&sb, 1 << 20);
    for (int i = 1; i <= 5000; i++)
        assert_int_equal(strbuf_addf(&sb, "* %d EXISTS\r\n", i), 0);
    imap_parser *p = imap_parser_new(NULL);
    assert_int_equal(imap_parser_feed(p, sb.buf, sb.len), 0);
    imap_response *r;
    uint32_t n, want = 1;
    while (imap_parser_next(p, &r, NULL) == IMAP_PARSE_OK) {
        assert_true(imap_response_is_numbered(r, "EXISTS", &n));
        assert_int_equal(n, want++);
    }
    assert_int_equal(want, 5001);
    imap_parser_free(&p);
    strbuf_release(&sb);
}

/* ---- large literals ------------------------------------------------------------------------- */

static char *make_literal_response(size_t size, size_t *len, char **body)
{
    char *head = xasprintf("* 7 FETCH (UID 9 BODY[] {%zu}\r\n", size);
    const char *tail = " FLAGS (\\Seen))\r\na1 OK done\r\n";
    size_t hl = strlen(head), tl = strlen(tail);
    char *s = xmalloc(hl + size + tl);
    memcpy(s, head, hl);
    for (size_t i = 0; i < size; i++)
        s[hl + i] = (char)(rng() & 0xff); /* NUL, CR, LF, ( ... */
    memcpy(s + hl + size, tail, tl);
    *len = hl + size + tl;
    *body = s + hl;
    free(head);
    return s;
}

static void check_literal_stream(const char *s, size_t len, const char *body, size_t size,
                                 size_t max_chunk, bool drain_each)
{
    imap_parser *p = imap_parser_new(NULL);
    int got = 0;
    size_t off = 0;
    for (;;) {
        if (drain_each || off == len) {
            imap_response *r;
            mf_error err;
            enum imap_parse_result res;
            while ((res = imap_parser_next(p, &r, &err)) == IMAP_PARSE_OK) {
                if (got == 0) {
                    const imap_arg *b = imap_fetch_item(&r->args[2], "BODY[]");
                    assert_non_null(b);
                    assert_int_equal(b->len, size);
                    assert_true(memcmp(b->str, body, size) == 0);
                    assert_int_equal(b->str[size], '\0');
                    assert_non_null(imap_fetch_item(&r->args[2], "FLAGS"));
                } else {
                    assert_string_equal(r->tag, "a1");
                }
                got++;
            }
            if (res == IMAP_PARSE_ERROR) fail_msg("%s", err.message);
        }
        if (off == len) break;
        size_t n = max_chunk == 1 ? 1 : 1 + rng() % max_chunk;
        if (n > len - off) n = len - off;
        assert_int_equal(imap_parser_feed(p, s + off, n), 0);
        off += n;
    }
    assert_int_equal(got, 2);
    imap_parser_free(&p);
}

static void test_stress_10mb_literal_in_random_chunks(void **state)
{
    (void)state;
    size_t len;
    char *body;
    const size_t size = (size_t)10 * 1024 * 1024;
    char *s = make_literal_response(size, &len, &body);
    check_literal_stream(s, len, body, size, 65536, true);  /* socket-sized reads */
    check_literal_stream(s, len, body, size, 997, true);    /* small reads */
    check_literal_stream(s, len, body, size, 65536, false); /* drained only at the end */
    check_literal_stream(s, len, body, size, len, true);    /* one or two big feeds */
    free(s);
}

static void test_stress_8kb_literal_byte_by_byte(void **state)
{
    (void)state;
    size_t len;
    char *body;
    char *s = make_literal_response(8192, &len, &body);
    check_literal_stream(s, len, body, 8192, 1, true);
    check_literal_stream(s, len, body, 8192, 1, false);
    free(s);
}

static void test_stress_literal_at_the_64mb_default_limit(void **state)
{
    (void)state;
    size_t len;
    char *body;
    const size_t size = (size_t)64 * 1024 * 1024;
    char *s = make_literal_response(size, &len, &body);
    check_literal_stream(s, len, body, size, 1 << 20, true);
    free(s);
    /* one byte more is refused from its header alone */
    EXPECT_ERROR("* 1 FETCH (BODY[] {67108865}\r\n", IMAP_ERR_LITERAL_TOO_LARGE,
                 "limit of 67108864 bytes");
}

/* imap_parser_shrink (bench/sync: idle sessions give back the parser's scratch memory) may be
 * called at any point: between responses it frees, while a response is held or half-read it
 * does nothing. Shrinking after every feed and after every response, at every split point of
 * real transcripts, renders exactly what a parser never shrunk renders (and ASan sees no use
 * of freed memory in the held responses). */
static char *render_shrinking(const char *data, size_t len, size_t chunk)
{
    imap_parser *p = imap_parser_new(NULL);
    strbuf out;
    strbuf_init(&out, (size_t)256 << 20);
    bool failed = false;
    for (size_t off = 0; off < len && !failed;) {
        size_t n = chunk < len - off ? chunk : len - off;
        if (imap_parser_feed(p, data + off, n) < 0) failed = true;
        off += n;
        imap_parser_shrink(p); /* maybe mid-response: must not lose anything */
        for (;;) {
            imap_response *r = NULL;
            mf_error err;
            enum imap_parse_result res = imap_parser_next(p, &r, &err);
            if (res != IMAP_PARSE_OK) {
                if (res == IMAP_PARSE_ERROR) failed = true;
                break;
            }
            imap_parser_shrink(p); /* holding r: must leave it alone */
            assert_int_equal(imap_response_format(r, &out), 0);
            assert_int_equal(strbuf_add(&out, "\n", 1), 0);
        }
        imap_parser_shrink(p); /* between responses (or mid-response) */
    }
    if (!failed) assert_int_equal(strbuf_add(&out, "END\n", 4), 0);
    imap_parser_free(&p);
    return strbuf_detach(&out, NULL);
}

static void test_shrink_anywhere_changes_nothing(void **state)
{
    (void)state;
    static const char *const names[] = {"dovecot23_session", "dovecot23_more", "gmail_style",
                                        "outlook_style", "rfc3501_section8"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char *fname = xasprintf("%s.imap", names[i]);
        size_t len;
        char *data = read_file(fname, &len);
        char *want = render_once(NULL, data, len);
        static const size_t chunks[] = {1, 2, 3, 7, 64, 1000, 1 << 20};
        for (size_t k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++) {
            char *got = render_shrinking(data, len, chunks[k]);
            if (strcmp(got, want) != 0) {
                fprintf(stderr, "%s in chunks of %zu differs with shrinking:\n%s\n", names[i],
                        chunks[k], got);
                fail();
            }
            free(got);
        }
        free(want);
        free(data);
        free(fname);
    }
}

/* A shrunk parser holds no scratch memory, and works as before after it. */
static void test_shrink_between_responses_then_parse_again(void **state)
{
    (void)state;
    imap_parser *p = imap_parser_new(NULL);
    static const char big[] = "* 1 FETCH (UID 7 FLAGS (\\Seen a b c d e f g h i j k l m n o p q "
                              "r s t u v w x y z) BODY[] {5}\r\nhello)\r\n";
    assert_int_equal(imap_parser_feed(p, big, strlen(big)), 0);
    imap_response *r = NULL;
    assert_int_equal(imap_parser_next(p, &r, NULL), IMAP_PARSE_OK);
    assert_int_equal(imap_parser_next(p, &r, NULL), IMAP_PARSE_NEED_MORE);
    imap_parser_shrink(p);
    imap_parser_shrink(p); /* twice: nothing left to free */
    static const char idle[] = "+ idling\r\n* 3 EXISTS\r\n";
    assert_int_equal(imap_parser_feed(p, idle, strlen(idle)), 0);
    assert_int_equal(imap_parser_next(p, &r, NULL), IMAP_PARSE_OK);
    assert_int_equal(r->kind, IMAP_RESP_CONTINUATION);
    assert_string_equal(r->text, "idling");
    assert_int_equal(imap_parser_next(p, &r, NULL), IMAP_PARSE_OK);
    uint32_t n = 0;
    assert_true(imap_response_is_numbered(r, "EXISTS", &n));
    assert_int_equal(n, 3);
    assert_int_equal(imap_parser_next(p, &r, NULL), IMAP_PARSE_NEED_MORE);
    imap_parser_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TRANSCRIPT_ENTRIES(dovecot23_session),
        TRANSCRIPT_ENTRIES(dovecot23_more),
        TRANSCRIPT_ENTRIES(rfc3501_section8),
        TRANSCRIPT_ENTRIES(rfc9051_section8),
        TRANSCRIPT_ENTRIES(gmail_style),
        TRANSCRIPT_ENTRIES(outlook_style),
        TRANSCRIPT_ENTRIES(grammar_edges),
        cmocka_unit_test(test_shrink_anywhere_changes_nothing),
        cmocka_unit_test(test_shrink_between_responses_then_parse_again),
        cmocka_unit_test(test_dovecot_greeting_exposes_capability_code_and_text),
        cmocka_unit_test(test_dovecot_select_codes_read_as_numbers),
        cmocka_unit_test(test_dovecot_uid_fetch_header_literal_found_by_item_name),
        cmocka_unit_test(test_dovecot_idle_continuation_then_exists_then_bye),
        cmocka_unit_test(test_dovecot_literal8_binary_keeps_nul_and_crlf),
        cmocka_unit_test(test_dovecot_envelope_literals_inside_nested_lists),
        cmocka_unit_test(test_rfc3501_body_header_literal_is_342_bytes),
        cmocka_unit_test(test_gmail_list_sent_mail_and_x_gm_items),
        cmocka_unit_test(test_outlook_header_fields_item_then_flags),
        cmocka_unit_test(test_continuation_forms),
        cmocka_unit_test(test_quoted_string_unescapes_quote_and_backslash),
        cmocka_unit_test(test_nil_in_any_case_is_nil_but_quoted_nil_is_a_string),
        cmocka_unit_test(test_literal_forms_set_their_flags),
        cmocka_unit_test(test_section_atoms_come_out_whole),
        cmocka_unit_test(test_tilde_not_before_brace_is_an_atom),
        cmocka_unit_test(test_nested_and_empty_lists),
        cmocka_unit_test(test_lf_only_line_endings_are_accepted),
        cmocka_unit_test(test_response_code_forms),
        cmocka_unit_test(test_text_that_only_looks_like_a_code_is_text),
        cmocka_unit_test(test_status_words_in_any_case),
        cmocka_unit_test(test_format_renders_canonically),
        cmocka_unit_test(test_as_u32_reads_only_plain_numbers_that_fit),
        cmocka_unit_test(test_as_u64_reads_up_to_the_maximum),
        cmocka_unit_test(test_arg_is_atom_matches_atoms_only_case_insensitively),
        cmocka_unit_test(test_accessors_return_null_for_wrong_types),
        cmocka_unit_test(test_fetch_item_matches_names_not_values),
        cmocka_unit_test(test_numbered_and_data_helpers_tell_response_shapes_apart),
        cmocka_unit_test(test_error_garbage_where_a_response_should_start),
        cmocka_unit_test(test_error_tagged_response_must_be_ok_no_or_bad),
        cmocka_unit_test(test_error_control_bytes_in_atoms),
        cmocka_unit_test(test_error_unterminated_quoted_string_at_line_end),
        cmocka_unit_test(test_error_bad_literal_syntax),
        cmocka_unit_test(test_error_literal_size_overflow),
        cmocka_unit_test(test_error_literal_over_the_limit_before_any_data),
        cmocka_unit_test(test_error_literals_of_one_response_over_their_total),
        cmocka_unit_test(test_error_nesting_deeper_than_the_limit),
        cmocka_unit_test(test_error_line_longer_than_the_limit),
        cmocka_unit_test(test_error_too_many_arguments),
        cmocka_unit_test(test_error_nul_outside_literals),
        cmocka_unit_test(test_error_unbalanced_parentheses_and_brackets),
        cmocka_unit_test(test_error_message_says_what_and_where),
        cmocka_unit_test(test_errors_identical_at_every_pair_of_split_points),
        cmocka_unit_test(test_error_overflow_when_the_caller_does_not_drain),
        cmocka_unit_test(test_limits_default_when_null_or_zero),
        cmocka_unit_test(test_free_accepts_null_and_clears_the_pointer),
        cmocka_unit_test(test_response_stays_valid_while_more_is_fed),
        cmocka_unit_test(test_need_more_until_the_response_is_complete),
        cmocka_unit_test(test_feeding_between_responses_keeps_order),
        cmocka_unit_test(test_large_responses_then_small_ones),
        cmocka_unit_test(test_many_responses_in_one_feed_come_out_in_order),
        cmocka_unit_test(test_stress_10mb_literal_in_random_chunks),
        cmocka_unit_test(test_stress_8kb_literal_byte_by_byte),
        cmocka_unit_test(test_stress_literal_at_the_64mb_default_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
