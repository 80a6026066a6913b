/* test_csv.c — core/csv.c: the incremental RFC 4180 parser behind prospect imports (R18:
 * "prospects (import by JSON array and CSV, with custom fields, tags and validation of
 * addresses)"): quoted fields and "" escapes, line breaks inside quotes, CRLF / LF / CR row
 * ends, the UTF-8 BOM, empty fields and blank lines, the last row without a line break, the
 * same rows and errors whatever the chunking (every split point), limits, errors with their
 * row / column / line / byte, NUL and invalid UTF-8; then the header mapping to prospect
 * fields and custom fields, delimiter detection and tag lists. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "core/csv.h"
#include "util/error.h"
#include "util/strbuf.h"

#define UNUSED_STATE (void)state
/* A string literal and its length (it may hold NUL bytes). */
#define L(s) s, sizeof(s) - 1

/* ---- helpers ------------------------------------------------------------------------------ */

static void render_field(strbuf *out, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        switch (s[i]) {
        case '|':
            strbuf_addstr(out, "\\|");
            break;
        case '\\':
            strbuf_addstr(out, "\\\\");
            break;
        case '\r':
            strbuf_addstr(out, "\\r");
            break;
        case '\n':
            strbuf_addstr(out, "\\n");
            break;
        default:
            strbuf_add(out, s + i, 1);
        }
    }
}

static void render_row(strbuf *out, const csv_row *row)
{
    assert_true(row->nfields >= 1);
    strbuf_addf(out, "%" PRIu64 "@%" PRIu64 "#%zu:", row->number, row->line, row->nfields);
    for (size_t i = 0; i < row->nfields; i++) {
        assert_non_null(row->fields[i]);
        assert_int_equal(row->lens[i], strlen(row->fields[i]));
        if (i) strbuf_addstr(out, "|");
        render_field(out, row->fields[i], row->lens[i]);
    }
    strbuf_addstr(out, "\n");
}

/* Drain p into out; 1 when it has ended (END or ERROR). */
static int drain(csv_parser *p, strbuf *out, mf_error *last_err)
{
    for (;;) {
        const csv_row *row = NULL;
        mf_error err;
        mf_error_clear(&err);
        enum csv_result r = csv_parser_next_row(p, &row, &err);
        if (r == CSV_ROW) {
            render_row(out, row);
            continue;
        }
        if (r == CSV_NEED_MORE) return 0;
        if (r == CSV_END) {
            strbuf_addstr(out, "END");
            return 1;
        }
        assert_int_equal(r, CSV_ERROR);
        const csv_pos *pos = csv_parser_error_pos(p);
        assert_non_null(pos);
        strbuf_addf(out, "ERR %s %" PRIu64 ":%zu:%" PRIu64 ":%" PRIu64, err.code, pos->row,
                    pos->column, pos->line, pos->offset);
        if (last_err) *last_err = err;
        return 1;
    }
}

/* Parse in[0..len) fed in the pieces cut at cuts[0..ncuts) (ascending), draining after every
 * feed. Returns the rendering: one line per row "<number>@<line>#<nfields>:f1|f2..." (| \ CR
 * LF escaped), then "END" or "ERR <code> <row>:<column>:<line>:<byte>". Caller frees. */
static char *run_cuts(const void *in, size_t len, const csv_options *opt, const size_t *cuts,
                      size_t ncuts, mf_error *last_err)
{
    strbuf out;
    strbuf_init(&out, (size_t)64 * 1024 * 1024);
    csv_parser *p = csv_parser_new(opt);
    size_t at = 0;
    int done = 0;
    for (size_t k = 0; k <= ncuts && !done; k++) {
        size_t end = k < ncuts ? cuts[k] : len;
        if (end < at) end = at;
        if (csv_parser_feed(p, (const char *)in + at, end - at) < 0) {
            done = drain(p, &out, last_err);
            assert_true(done); /* feed fails only once the parser has failed */
            break;
        }
        at = end;
        done = drain(p, &out, last_err);
    }
    if (!done) {
        csv_parser_finish(p);
        assert_true(drain(p, &out, last_err));
    }
    csv_parser_free(&p);
    assert_null(p);
    return strbuf_detach(&out, NULL);
}

static char *run(const char *in, const csv_options *opt)
{
    return run_cuts(in, strlen(in), opt, NULL, 0, NULL);
}

static void expect_n(const char *in, size_t len, const csv_options *opt, const char *want)
{
    char *got = run_cuts(in, len, opt, NULL, 0, NULL);
    if (strcmp(got, want) != 0) fail_msg("input [%s]\n got [%s]\nwant [%s]", in, got, want);
    free(got);
}

static void expect(const char *in, const char *want)
{
    expect_n(in, strlen(in), NULL, want);
}

static void expect_opt(const char *in, const csv_options *opt, const char *want)
{
    expect_n(in, strlen(in), opt, want);
}

/* Expect an error rendering and a message that contains part. */
static void expect_error(const char *in, size_t len, const csv_options *opt, const char *want,
                         int status, const char *part)
{
    mf_error err;
    mf_error_clear(&err);
    char *got = run_cuts(in, len, opt, NULL, 0, &err);
    if (strcmp(got, want) != 0) fail_msg("got [%s]\nwant [%s]", got, want);
    free(got);
    assert_int_equal(err.status, status);
    if (part && !strstr(err.message, part))
        fail_msg("error message \"%s\" lacks \"%s\"", err.message, part);
}

/* Every split point: 2 pieces at each byte boundary, 3 pieces at every pair of boundaries for
 * short inputs, and byte by byte: all must render exactly as one-shot feeding. */
static void expect_split_invariant(const char *in, size_t len, const csv_options *opt)
{
    char *whole = run_cuts(in, len, opt, NULL, 0, NULL);
    for (size_t i = 0; i <= len; i++) {
        size_t cut[1] = {i};
        char *got = run_cuts(in, len, opt, cut, 1, NULL);
        if (strcmp(got, whole) != 0)
            fail_msg("split at %zu of [%.*s]:\n got [%s]\nwant [%s]", i, (int)len, in, got, whole);
        free(got);
    }
    if (len <= 80) {
        for (size_t i = 0; i <= len; i++)
            for (size_t j = i; j <= len; j++) {
                size_t cut[2] = {i, j};
                char *got = run_cuts(in, len, opt, cut, 2, NULL);
                if (strcmp(got, whole) != 0)
                    fail_msg("split at %zu,%zu of [%.*s]:\n got [%s]\nwant [%s]", i, j, (int)len,
                             in, got, whole);
                free(got);
            }
    }
    size_t *cuts = malloc((len + 1) * sizeof(*cuts));
    assert_non_null(cuts);
    for (size_t i = 0; i < len; i++)
        cuts[i] = i + 1;
    char *got = run_cuts(in, len, opt, cuts, len, NULL);
    if (strcmp(got, whole) != 0) fail_msg("byte by byte:\n got [%s]\nwant [%s]", got, whole);
    free(got);
    free(cuts);
    free(whole);
}

/* ---- the grammar -------------------------------------------------------------------------- */

static void test_csv_r18_plain_rows_with_crlf(void **state)
{
    UNUSED_STATE;
    expect("email,name\r\nada@example.com,Ada\r\n",
           "1@1#2:email|name\n2@2#2:ada@example.com|Ada\nEND");
    expect("a,b,c\r\n1,2,3\r\n", "1@1#3:a|b|c\n2@2#3:1|2|3\nEND");
}

static void test_csv_r18_quoted_fields_keep_delimiters_and_doubled_quotes(void **state)
{
    UNUSED_STATE;
    expect("\"a \"\"b\"\" c\",\"x,y\",plain\n", "1@1#3:a \"b\" c|x,y|plain\nEND");
    expect("\"\"\"\"\n", "1@1#1:\"\nEND");                         /* just a quote */
    expect("\"\"\"a\"\"\"\n", "1@1#1:\"a\"\nEND");                 /* quoted quotes */
    expect("\"\",\"\"\n", "1@1#2:|\nEND");                         /* two empty quoted */
    expect("\" spaced \", kept \n", "1@1#2: spaced | kept \nEND"); /* never trimmed */
}

static void test_csv_r18_line_breaks_inside_quotes_are_kept_and_counted(void **state)
{
    UNUSED_STATE;
    /* LF, CR and CRLF inside quotes are field content; each starts a new line */
    expect("\"l1\nl2\",\"c\rr\",\"d\r\ne\"\nnext,row\n",
           "1@1#3:l1\\nl2|c\\rr|d\\r\\ne\n2@5#2:next|row\nEND");
}

static void test_csv_r18_crlf_lf_and_cr_row_ends_are_equal(void **state)
{
    UNUSED_STATE;
    const char *want = "1@1#2:a|b\n2@2#2:c|d\nEND";
    expect("a,b\r\nc,d\r\n", want);
    expect("a,b\nc,d\n", want);
    expect("a,b\rc,d\r", want);
    expect("a,b\r\nc,d", want);
    expect("\"a\",\"b\"\r\n\"c\",\"d\"\r\n", want);
    expect("a,b\rc,d\n", want); /* mixed */
    /* CR CR LF: a row, a blank line (CR), and the LF of that CR's CRLF */
    expect("a\r\r\nb", "1@1#1:a\n2@3#1:b\nEND");
}

static void test_csv_r18_utf8_bom_at_start_is_skipped(void **state)
{
    UNUSED_STATE;
    expect("\xEF\xBB\xBF"
           "email,name\n",
           "1@1#2:email|name\nEND");
    expect("\xEF\xBB\xBF", "END");
    expect("\xEF\xBB\xBF\"q\"\n", "1@1#1:q\nEND");
    /* only at the very start: later it is a character of the field */
    expect("a,\xEF\xBB\xBF\n", "1@1#2:a|\xEF\xBB\xBF\nEND");
    /* EF BB 80 is U+FEC0, not a BOM */
    expect("\xEF\xBB\x80x\n", "1@1#1:\xEF\xBB\x80x\nEND");
    /* a cut-off BOM is a cut-off UTF-8 sequence */
    expect_error(L("\xEF\xBB"), NULL, "ERR csv_invalid_utf8 1:1:1:0", 400, "cut off");
    /* the row's offset counts the BOM */
    csv_parser *p = csv_parser_new(NULL);
    assert_int_equal(csv_parser_feed(p, "\xEF\xBB\xBFx\n", 5), 0);
    const csv_row *row;
    assert_int_equal(csv_parser_next_row(p, &row, NULL), CSV_ROW);
    assert_int_equal(row->offset, 3);
    assert_string_equal(row->fields[0], "x");
    csv_parser_free(&p);
}

static void test_csv_r18_empty_fields_and_blank_lines(void **state)
{
    UNUSED_STATE;
    expect(",,\n", "1@1#3:||\nEND");
    expect("a,\n", "1@1#2:a|\nEND");
    expect(",a\n", "1@1#2:|a\nEND");
    expect("\"\"\n", "1@1#1:\nEND");
    expect(" \n", "1@1#1: \nEND"); /* a space is a value, not a blank line */
    /* blank lines are no rows and have no number; their lines still count */
    expect("\n\n\na\n\n\r\n\rb\n", "1@4#1:a\n2@8#1:b\nEND");
    expect("", "END");
    expect("\r\n\r\n", "END");
}

static void test_csv_r18_last_row_needs_no_line_break(void **state)
{
    UNUSED_STATE;
    expect("a,b", "1@1#2:a|b\nEND");
    expect("a,b\n", "1@1#2:a|b\nEND");
    expect("a,b\r\n", "1@1#2:a|b\nEND");
    expect("a,b,", "1@1#3:a|b|\nEND");
    expect("h\n\"x\"", "1@1#1:h\n2@2#1:x\nEND");
    expect("h\n\"x\"\"\"", "1@1#1:h\n2@2#1:x\"\nEND");
    expect("\"\"", "1@1#1:\nEND");
}

static void test_csv_r18_delimiter_option_semicolon_and_tab(void **state)
{
    UNUSED_STATE;
    csv_options semi = {.delimiter = ';'};
    expect_opt("a;b,c;\"d;e\"\n", &semi, "1@1#3:a|b,c|d;e\nEND");
    csv_options tab = {.delimiter = '\t'};
    expect_opt("a\tb c\t\"d\te\"\n", &tab, "1@1#3:a|b c|d\te\nEND");
    assert_true(csv_delimiter_valid(','));
    assert_true(csv_delimiter_valid(';'));
    assert_true(csv_delimiter_valid('\t'));
    assert_true(csv_delimiter_valid('|'));
    assert_false(csv_delimiter_valid('"'));
    assert_false(csv_delimiter_valid('\n'));
    assert_false(csv_delimiter_valid('\r'));
    assert_false(csv_delimiter_valid(0));
    assert_false(csv_delimiter_valid(0xC3));
}

static void test_csv_r18_delimiter_detected_from_header_line(void **state)
{
    UNUSED_STATE;
    const char *semi = "email;first name;company\nx@y.io;A;B, Inc\n";
    assert_int_equal(csv_detect_delimiter(semi, strlen(semi)), ';');
    assert_int_equal(csv_detect_delimiter("a\tb\tc", 5), '\t');
    assert_int_equal(csv_detect_delimiter("email,name", 10), ',');
    assert_int_equal(csv_detect_delimiter("\"x;y;z\",b", 9), ','); /* quoted ones don't count */
    assert_int_equal(csv_detect_delimiter("\"a\"\";;\",b", 9), ',');
    assert_int_equal(csv_detect_delimiter("\xEF\xBB\xBF"
                                          "a;b",
                                          6),
                     ';');
    assert_int_equal(csv_detect_delimiter("a,b;c", 5), ',');         /* tie: ',' */
    assert_int_equal(csv_detect_delimiter("a;b\nc,d,e,f", 11), ';'); /* header line only */
    assert_int_equal(csv_detect_delimiter("", 0), ',');
    assert_int_equal(csv_detect_delimiter(NULL, 0), ',');
    assert_int_equal(csv_detect_delimiter("email", 5), ',');
}

static void test_csv_r18_utf8_text_passes(void **state)
{
    UNUSED_STATE;
    expect("Zoë,日本,😀,\xF4\x8F\xBF\xBF\n", "1@1#4:Zoë|日本|😀|\xF4\x8F\xBF\xBF\nEND");
}

/* ---- chunking ----------------------------------------------------------------------------- */

static const char *split_inputs[] = {
    ("email,first name,tags\r\nada@example.com,Ada,\"vip;lead\"\r\nbob@example.com,\"Bob, Jr.\","
     "\r\n"),
    "\xEF\xBB\xBF\"a \"\"b\"\" c\",\"x\r\ny\",z\nlast",
    "\n\r\n\ra,b\r\r\n,,\n\"\"\n",
    "h1,h2\n\"never closed\n,x",
    "Zoë,日本\n😀,\"é\"\"\"\n",
    "a,b\"c\n",
    "\"a\"b,c\n",
    "ok,\xE2\x82",
    "x,\xED\xA0\x80,y\n",
    "x\ny\0z\n",
    "\xEF\xBB",
    "a;b\tc,d",
};

static void test_csv_r18_every_split_point_gives_the_same_rows(void **state)
{
    UNUSED_STATE;
    for (size_t i = 0; i < sizeof(split_inputs) / sizeof(split_inputs[0]); i++) {
        const char *in = split_inputs[i];
        size_t len = strlen(in);
        if (i == 9) len = 7; /* holds a NUL */
        expect_split_invariant(in, len, NULL);
    }
    /* with small limits the limit errors are split-invariant too */
    csv_options small = {.max_field_bytes = 5,
                         .max_fields = 3,
                         .max_row_bytes = 12,
                         .max_rows = 3,
                         .same_field_count = 1};
    const char *limited[] = {
        "abcde,x\nabcdef\n", "a,b,c\nd,e,f,g\n", "ab,cd\n\"abc\"\"\",e\n",   "abcd,abcd,abcd\n",
        "a\nb\nc\nd\n",      "a,b\nc\n",         "\"a\r\nb\",c\n\"x\ny\"\n",
    };
    for (size_t i = 0; i < sizeof(limited) / sizeof(limited[0]); i++)
        expect_split_invariant(limited[i], strlen(limited[i]), &small);
    csv_options semi = {.delimiter = ';'};
    expect_split_invariant("a;\"b;c\";d\r\ne;f\n", 16, &semi);
}

static void test_csv_r18_long_fields_same_in_one_piece_and_byte_by_byte(void **state)
{
    UNUSED_STATE;
    /* long plain runs take a bulk path: it must agree with the byte path, at the limits too */
    char in[3000];
    size_t n = 0;
    memcpy(in + n, "email,note\n", 11);
    n += 11;
    for (int i = 0; i < 1000; i++)
        in[n++] = (char)('a' + i % 26);
    in[n++] = ',';
    in[n++] = '"';
    for (int i = 0; i < 1000; i++)
        in[n++] = (char)(i % 50 == 0 ? '\n' : 'A' + i % 26);
    in[n++] = '"';
    in[n++] = '\n';
    for (size_t limit = 998; limit <= 1002; limit++) {
        csv_options o = {.max_field_bytes = limit};
        char *whole = run_cuts(in, n, &o, NULL, 0, NULL);
        size_t *cuts = malloc(n * sizeof(*cuts));
        assert_non_null(cuts);
        for (size_t i = 0; i < n; i++)
            cuts[i] = i + 1;
        char *bytes = run_cuts(in, n, &o, cuts, n, NULL);
        assert_string_equal(whole, bytes);
        if (limit < 1000)
            assert_non_null(strstr(whole, "csv_field_too_long"));
        else
            assert_null(strstr(whole, "ERR"));
        free(whole);
        free(bytes);
        free(cuts);
    }
}

static void test_csv_r18_row_stays_valid_while_more_is_fed(void **state)
{
    UNUSED_STATE;
    csv_parser *p = csv_parser_new(NULL);
    const csv_row *row = NULL;
    assert_int_equal(csv_parser_feed(p, "a,b\nc", 5), 0);
    assert_int_equal(csv_parser_next_row(p, &row, NULL), CSV_ROW);
    char **f = row->fields;
    assert_int_equal(csv_parser_feed(p, ",d\ne,f\n", 7), 0); /* does not disturb the row */
    assert_string_equal(f[0], "a");
    assert_string_equal(f[1], "b");
    assert_string_equal(csv_row_field(row, 1), "b");
    assert_string_equal(csv_row_field(row, 2), ""); /* past the end */
    assert_string_equal(csv_row_field(NULL, 0), "");
    csv_parser_finish(p);
    csv_parser_finish(p); /* idempotent */
    assert_int_equal(csv_parser_next_row(p, &row, NULL), CSV_ROW);
    assert_string_equal(row->fields[0], "c");
    assert_int_equal(csv_parser_next_row(p, &row, NULL), CSV_ROW);
    assert_string_equal(row->fields[1], "f");
    assert_int_equal(csv_parser_next_row(p, &row, NULL), CSV_END);
    assert_int_equal(csv_parser_next_row(p, &row, NULL), CSV_END);
    csv_parser_free(&p);
    csv_parser_free(&p); /* NULL-safe */
    csv_parser_free(NULL);
}

/* ---- errors and their positions ----------------------------------------------------------- */

static void test_csv_r18_stray_quotes_refused_with_position(void **state)
{
    UNUSED_STATE;
    expect_error(L("a,b\"c\n"), NULL, "ERR csv_bad_quote 1:2:1:3", 400,
                 "a quote inside an unquoted field at row 1, column 2 (line 1, byte 3)");
    expect_error(L("h\n\"a\"b\n"), NULL, "1@1#1:h\nERR csv_bad_quote 2:1:2:5", 400,
                 "text after the closing quote of a field at row 2, column 1 (line 2, byte 5)");
    expect_error(L("\"a\" ,b\n"), NULL, "ERR csv_bad_quote 1:1:1:3", 400, "closing quote");
    expect_error(L(" \"a\"\n"), NULL, "ERR csv_bad_quote 1:1:1:1", 400, "double the quotes");
    /* after a quoted line break the line number moves on, the row does not */
    expect_error(L("\"a\nb\",c\"d\n"), NULL, "ERR csv_bad_quote 1:2:2:7", 400, "line 2");
}

static void test_csv_r18_unterminated_quote_names_where_it_opened(void **state)
{
    UNUSED_STATE;
    expect_error(L("h1,h2\nv1,\"open\nmore,lines\n"), NULL,
                 "1@1#2:h1|h2\nERR csv_bad_quote 2:2:2:9", 400,
                 "a quoted field never closed, opened at row 2, column 2 (line 2, byte 9)");
    expect_error(L("\""), NULL, "ERR csv_bad_quote 1:1:1:0", 400, "closing quote is missing");
    expect_error(L("\"x\"\""), NULL, "ERR csv_bad_quote 1:1:1:0", 400, NULL);
}

static void test_csv_r18_nul_byte_refused_with_position(void **state)
{
    UNUSED_STATE;
    expect_error(L("ab,c\0d\n"), NULL, "ERR csv_nul_byte 1:2:1:4", 400, "a NUL byte at row 1");
    /* UTF-16 text is full of NULs: the message says what to do */
    expect_error(L("e\0m\0"), NULL, "ERR csv_nul_byte 1:1:1:1", 400, "UTF-16");
    expect_error(L("x\n\n\0"), NULL, "1@1#1:x\nERR csv_nul_byte 2:1:3:3", 400, NULL);
}

static void test_csv_r18_invalid_utf8_refused_where_the_sequence_starts(void **state)
{
    UNUSED_STATE;
    expect_error(L("a,\xC0\x80\n"), NULL, "ERR csv_invalid_utf8 1:2:1:2", 400,
                 "bytes that are not UTF-8 at row 1, column 2 (line 1, byte 2)");
    expect_error(L("\xED\xA0\x80"), NULL, "ERR csv_invalid_utf8 1:1:1:0", 400,
                 NULL); /* surrogate */
    expect_error(L("x\xF4\x90\x80\x80"), NULL, "ERR csv_invalid_utf8 1:1:1:1", 400, NULL);
    expect_error(L("\xE0\x80\x80"), NULL, "ERR csv_invalid_utf8 1:1:1:0", 400, NULL); /* overlong */
    expect_error(L("\xF0\x80\x80\x80"), NULL, "ERR csv_invalid_utf8 1:1:1:0", 400, NULL);
    expect_error(L("ok\n\x80"), NULL, "1@1#1:ok\nERR csv_invalid_utf8 2:1:2:3", 400, NULL);
    expect_error(L("\xF8\x88\x80\x80\x80"), NULL, "ERR csv_invalid_utf8 1:1:1:0", 400, NULL);
    /* a sequence cut by a delimiter, a line end or the end of input */
    expect_error(L("\xE2\x82,x"), NULL, "ERR csv_invalid_utf8 1:1:1:0", 400, NULL);
    expect_error(L("a,b\xC3\n"), NULL, "ERR csv_invalid_utf8 1:2:1:3", 400, NULL);
    expect_error(L("ok,\xE2\x82"), NULL, "ERR csv_invalid_utf8 1:2:1:3", 400, "cut off");
    /* Latin-1 export: tell the user what to do */
    expect_error(L("Zo\xEB\n"), NULL, "ERR csv_invalid_utf8 1:1:1:2", 400, "CSV UTF-8");
    expect_error(L("\xFF\xFE"
                   "e\0"),
                 NULL, "ERR csv_invalid_utf8 1:1:1:0", 400, "UTF-16");
}

static void test_csv_r18_errors_are_final(void **state)
{
    UNUSED_STATE;
    csv_parser *p = csv_parser_new(NULL);
    assert_null(csv_parser_error_pos(p));
    assert_int_equal(csv_parser_feed(p, "a\"b\nc\n", 6), 0);
    mf_error e1, e2;
    const csv_row *row = NULL;
    assert_int_equal(csv_parser_next_row(p, &row, &e1), CSV_ERROR);
    assert_null(row);
    assert_int_equal(csv_parser_next_row(p, &row, &e2), CSV_ERROR);
    assert_string_equal(e1.code, CSV_ERR_QUOTE);
    assert_string_equal(e1.message, e2.message);
    assert_int_equal(csv_parser_feed(p, "x\n", 2), -1);
    assert_int_equal(csv_parser_next_row(p, &row, NULL), CSV_ERROR); /* err may be NULL */
    csv_parser_finish(p);
    assert_int_equal(csv_parser_next_row(p, &row, &e2), CSV_ERROR);
    assert_string_equal(e1.message, e2.message);
    assert_non_null(csv_parser_error_pos(p));
    csv_parser_free(&p);
}

/* ---- limits ------------------------------------------------------------------------------- */

static void test_csv_r18_field_length_limit(void **state)
{
    UNUSED_STATE;
    csv_options o = {.max_field_bytes = 4};
    expect_opt("abcd,x\n", &o, "1@1#2:abcd|x\nEND");
    expect_error(L("abcde\n"), &o, "ERR csv_field_too_long 1:1:1:4", 413,
                 "a field longer than 4 bytes at row 1, column 1");
    expect_opt("\"ab\"\"c\"\n", &o, "1@1#1:ab\"c\nEND"); /* the value counts, not the quoting */
    expect_error(L("x,\"abcd\"\"\"\n"), &o, "ERR csv_field_too_long 1:2:1:8", 413, NULL);
    /* default: 64 KiB */
    size_t n = CSV_DEFAULT_MAX_FIELD_BYTES + 1;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, 'x', n);
    big[n] = '\0';
    char *got = run(big, NULL);
    assert_string_equal(got, "ERR csv_field_too_long 1:1:1:65536");
    free(got);
    big[n - 1] = '\0';
    got = run(big, NULL);
    assert_int_equal(strlen(got), strlen("1@1#1:") + n - 1 + strlen("\nEND"));
    free(got);
    free(big);
}

static void test_csv_r18_column_count_limit(void **state)
{
    UNUSED_STATE;
    csv_options o = {.max_fields = 3};
    expect_opt("a,b,c\n", &o, "1@1#3:a|b|c\nEND");
    expect_opt(",,\n", &o, "1@1#3:||\nEND");
    expect_error(L("a,b,c,d\n"), &o, "ERR csv_too_many_fields 1:4:1:5", 413,
                 "more than 3 columns at row 1, column 4");
    expect_error(L(",,,\n"), &o, "ERR csv_too_many_fields 1:4:1:2", 413, NULL);
    /* default 256 */
    strbuf sb;
    strbuf_init(&sb, 4096);
    for (int i = 0; i < 256; i++)
        strbuf_addstr(&sb, i ? ",x" : "x");
    char *got = run(sb.buf, NULL);
    assert_non_null(strstr(got, "1@1#256:"));
    free(got);
    strbuf_addstr(&sb, ",x");
    got = run(sb.buf, NULL);
    assert_string_equal(got, "ERR csv_too_many_fields 1:257:1:511");
    free(got);
    strbuf_release(&sb);
}

static void test_csv_r18_row_length_limit(void **state)
{
    UNUSED_STATE;
    csv_options o = {.max_row_bytes = 8};
    expect_opt("abc,defg\r\nx\n", &o, "1@1#2:abc|defg\n2@2#1:x\nEND"); /* 8 bytes + EOL */
    expect_error(L("abcd,efgh\n"), &o, "ERR csv_row_too_long 1:2:1:8", 413,
                 "a row longer than 8 bytes at row 1, column 2");
    /* quotes and quoted line breaks count */
    expect_error(L("\"a\r\nb\",\"c\"\n"), &o, "ERR csv_row_too_long 1:2:2:8", 413, NULL);
}

static void test_csv_r18_row_count_limit(void **state)
{
    UNUSED_STATE;
    csv_options o = {.max_rows = 2};
    expect_opt("a\nb\n\n\n", &o, "1@1#1:a\n2@2#1:b\nEND"); /* blank lines are no rows */
    expect_error(L("a\nb\nc\n"), &o, "1@1#1:a\n2@2#1:b\nERR csv_too_many_rows 3:1:3:4", 413,
                 "more than 2 rows at row 3");
}

static void test_csv_r18_same_field_count_option(void **state)
{
    UNUSED_STATE;
    csv_options o = {.same_field_count = 1};
    expect_opt("a,b\n1,2\n,\n", &o, "1@1#2:a|b\n2@2#2:1|2\n3@3#2:|\nEND");
    expect_error(L("a,b\n1,2\n3\n"), &o, "1@1#2:a|b\n2@2#2:1|2\nERR csv_field_count 3:1:3:9", 400,
                 "1 columns where the first row has 2");
    expect_error(L("a,b\nSmith, John,x\n"), &o, "1@1#2:a|b\nERR csv_field_count 2:3:2:17", 400,
                 "quote it");
    expect_error(L("a,b\n1"), &o, "1@1#2:a|b\nERR csv_field_count 2:1:2:5", 400, NULL);
    /* off by default */
    expect("a,b\n1\n", "1@1#2:a|b\n2@2#1:1\nEND");
}

static void test_csv_r18_buffered_input_is_bounded(void **state)
{
    UNUSED_STATE;
    csv_options o = {.max_buffered = 16};
    csv_parser *p = csv_parser_new(&o);
    const csv_row *row;
    mf_error err;
    /* draining between feeds: any amount passes through 16 bytes at a time */
    for (int i = 0; i < 100; i++) {
        assert_int_equal(csv_parser_feed(p, "0123456789abcd,\n", 16), 0);
        assert_int_equal(csv_parser_next_row(p, &row, &err), CSV_ROW);
        assert_int_equal(row->nfields, 2);
        assert_int_equal(csv_parser_next_row(p, &row, &err), CSV_NEED_MORE);
    }
    /* not draining: refused, final */
    assert_int_equal(csv_parser_feed(p, "a\nb\n", 4), 0);
    assert_int_equal(csv_parser_feed(p, "0123456789abcd", 14), -1);
    assert_int_equal(csv_parser_next_row(p, &row, &err), CSV_ERROR);
    assert_string_equal(err.code, CSV_ERR_OVERFLOW);
    assert_int_equal(err.status, 500);
    csv_parser_free(&p);
    /* one feed larger than the bound */
    p = csv_parser_new(&o);
    assert_int_equal(csv_parser_feed(p, "0123456789abcdefg", 17), -1);
    csv_parser_free(&p);
    /* the minimum is 4: a BOM can always be waited for */
    csv_options tiny = {.max_buffered = 1};
    p = csv_parser_new(&tiny);
    assert_int_equal(csv_parser_options(p)->max_buffered, 4);
    assert_int_equal(csv_parser_feed(p, "\xEF", 1), 0);
    assert_int_equal(csv_parser_next_row(p, &row, &err), CSV_NEED_MORE);
    assert_int_equal(csv_parser_feed(p, "\xBB", 1), 0);
    assert_int_equal(csv_parser_next_row(p, &row, &err), CSV_NEED_MORE);
    assert_int_equal(csv_parser_feed(p, "\xBF", 1), 0);
    assert_int_equal(csv_parser_next_row(p, &row, &err), CSV_NEED_MORE); /* BOM skipped */
    assert_int_equal(csv_parser_feed(p, "ab", 2), 0);
    csv_parser_finish(p);
    assert_int_equal(csv_parser_next_row(p, &row, &err), CSV_ROW);
    assert_string_equal(row->fields[0], "ab");
    csv_parser_free(&p);
}

static void test_csv_r18_defaults_filled_in(void **state)
{
    UNUSED_STATE;
    csv_parser *p = csv_parser_new(NULL);
    const csv_options *o = csv_parser_options(p);
    assert_int_equal(o->delimiter, ',');
    assert_int_equal(o->max_field_bytes, CSV_DEFAULT_MAX_FIELD_BYTES);
    assert_int_equal(o->max_fields, CSV_DEFAULT_MAX_FIELDS);
    assert_int_equal(o->max_row_bytes, CSV_DEFAULT_MAX_ROW_BYTES);
    assert_int_equal(o->max_rows, CSV_DEFAULT_MAX_ROWS);
    assert_int_equal(o->max_buffered, CSV_DEFAULT_MAX_BUFFERED);
    assert_int_equal(o->same_field_count, 0);
    csv_parser_free(&p);
}

/* ---- prospects: header mapping, tags ------------------------------------------------------ */

/* Parse one header line and map it. */
static int map_header(const char *line, csv_prospect_map **m, mf_error *err)
{
    csv_parser *p = csv_parser_new(NULL);
    assert_int_equal(csv_parser_feed(p, line, strlen(line)), 0);
    csv_parser_finish(p);
    const csv_row *row = NULL;
    assert_int_equal(csv_parser_next_row(p, &row, NULL), CSV_ROW);
    mf_error_clear(err);
    int rc = csv_prospect_columns(row, m, err);
    csv_parser_free(&p);
    return rc;
}

static csv_prospect_map *map_ok(const char *line)
{
    csv_prospect_map *m = NULL;
    mf_error err;
    if (map_header(line, &m, &err) != 0) fail_msg("header [%s] refused: %s", line, err.message);
    assert_non_null(m);
    return m;
}

static void map_refused(const char *line, const char *part)
{
    csv_prospect_map *m = (csv_prospect_map *)0x1;
    mf_error err;
    if (map_header(line, &m, &err) != -1) fail_msg("header [%s] accepted", line);
    assert_null(m);
    assert_int_equal(err.status, 400);
    assert_string_equal(err.code, CSV_ERR_HEADER);
    assert_string_equal(err.rule, "R18");
    if (!strstr(err.message, part)) fail_msg("message \"%s\" lacks \"%s\"", err.message, part);
    /* header text quoted in the message stays valid UTF-8 (it goes into JSON) */
    char copy[sizeof(err.message)];
    memcpy(copy, err.message, sizeof(copy));
    mf_utf8_sanitize(copy);
    assert_string_equal(copy, err.message);
}

static void test_csv_r18_header_maps_standard_fields(void **state)
{
    UNUSED_STATE;
    csv_prospect_map *m = map_ok("Email,First Name,Last Name,Company,Tags\n");
    assert_int_equal(m->ncolumns, 5);
    assert_int_equal(m->email, 0);
    assert_int_equal(m->first_name, 1);
    assert_int_equal(m->last_name, 2);
    assert_int_equal(m->company, 3);
    assert_int_equal(m->tags, 4);
    assert_int_equal(m->ncustom, 0);
    assert_int_equal(m->columns[1].field, CSV_PROSPECT_FIRST_NAME);
    assert_string_equal(m->columns[1].name, "first_name");
    assert_string_equal(m->columns[4].name, "tags");
    csv_prospect_map_free(&m);
    assert_null(m);
    csv_prospect_map_free(&m);
    csv_prospect_map_free(NULL);

    m = map_ok("company,email\n"); /* any order; absent fields are CSV_NO_COLUMN */
    assert_int_equal(m->email, 1);
    assert_int_equal(m->company, 0);
    assert_int_equal(m->first_name, CSV_NO_COLUMN);
    assert_int_equal(m->last_name, CSV_NO_COLUMN);
    assert_int_equal(m->tags, CSV_NO_COLUMN);
    csv_prospect_map_free(&m);
}

static void test_csv_r18_header_synonyms_any_case_and_punctuation(void **state)
{
    UNUSED_STATE;
    static const struct {
        const char *header;
        csv_prospect_field field;
    } cases[] = {
        {"email", CSV_PROSPECT_EMAIL},           {"E-mail", CSV_PROSPECT_EMAIL},
        {"EMAIL ADDRESS", CSV_PROSPECT_EMAIL},   {"email_address", CSV_PROSPECT_EMAIL},
        {" Email ", CSV_PROSPECT_EMAIL},         {"E-Mail Address", CSV_PROSPECT_EMAIL},
        {"first name", CSV_PROSPECT_FIRST_NAME}, {"FirstName", CSV_PROSPECT_FIRST_NAME},
        {"Given Name", CSV_PROSPECT_FIRST_NAME}, {"first_name", CSV_PROSPECT_FIRST_NAME},
        {"Last Name", CSV_PROSPECT_LAST_NAME},   {"Surname", CSV_PROSPECT_LAST_NAME},
        {"family name", CSV_PROSPECT_LAST_NAME}, {"lastname", CSV_PROSPECT_LAST_NAME},
        {"Company", CSV_PROSPECT_COMPANY},       {"Organisation", CSV_PROSPECT_COMPANY},
        {"organization", CSV_PROSPECT_COMPANY},  {"Account", CSV_PROSPECT_COMPANY},
        {"Company Name", CSV_PROSPECT_COMPANY},  {"TAGS", CSV_PROSPECT_TAGS},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char line[128];
        const char *other = cases[i].field == CSV_PROSPECT_EMAIL ? "x" : "email";
        snprintf(line, sizeof(line), "\"%s\",%s\n", cases[i].header, other);
        csv_prospect_map *m = map_ok(line);
        if (m->columns[0].field != cases[i].field)
            fail_msg("\"%s\" mapped to %d, want %d", cases[i].header, m->columns[0].field,
                     cases[i].field);
        csv_prospect_map_free(&m);
    }
}

static void test_csv_r18_other_columns_become_custom_fields(void **state)
{
    UNUSED_STATE;
    csv_prospect_map *m =
        map_ok("email,Phone #,Job-Title,City / Town,LinkedIn URL,2nd Email,Straße,_x_\n");
    const char *want[] = {"email",        "phone",     "job_title", "city_town",
                          "linkedin_url", "2nd_email", "stra_e",    "x"};
    assert_int_equal(m->ncolumns, 8);
    assert_int_equal(m->ncustom, 7);
    for (size_t i = 0; i < 8; i++) {
        assert_string_equal(m->columns[i].name, want[i]);
        assert_int_equal(m->columns[i].field, i ? CSV_PROSPECT_CUSTOM : CSV_PROSPECT_EMAIL);
    }
    csv_prospect_map_free(&m);

    char name[CSV_FIELD_NAME_MAX + 1];
    assert_int_equal(csv_field_name("  Hello,  World!! ", name), 11);
    assert_string_equal(name, "hello_world");
    assert_int_equal(csv_field_name("", name), 0);
    assert_string_equal(name, "");
    assert_int_equal(csv_field_name(NULL, name), 0);
    /* exactly 64 is fine, 65 is not */
    char h[80];
    memset(h, 'A', 64);
    h[64] = '\0';
    assert_int_equal(csv_field_name(h, name), 64);
    h[64] = 'B';
    h[65] = '\0';
    assert_int_equal(csv_field_name(h, name), -1);
    assert_int_equal(
        csv_field_name("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa b", name),
        -1); /* 63 + '_' + 1 */
}

static void test_csv_r18_header_errors_name_the_column(void **state)
{
    UNUSED_STATE;
    map_refused("first name,company\n", "no email column");
    map_refused("email,,company\n", "column 2 (\"\") has no name");
    map_refused("email,company,\n", "column 3");
    map_refused("email,###\n", "column 2 (\"###\") has no name");
    map_refused("email,名前\n", "column 2 (\"名前\") has no name");
    map_refused("Email,E-mail\n",
                "columns 1 (\"Email\") and 2 (\"E-mail\") both give the prospect field \"email\"");
    map_refused("email,Phone,phone!\n",
                "columns 2 (\"Phone\") and 3 (\"phone!\") both give the custom field \"phone\"");
    map_refused("email,Surname,Last Name\n", "\"last_name\"");
    /* of several duplicates the one found first reading left to right */
    map_refused("email,a,b,b,a\n", "columns 3 (\"b\") and 4 (\"b\")");
    char line[200];
    snprintf(line, sizeof(line), "email,%065d\n", 7);
    map_refused(line, "column 2 (\"0000000000000000000000000000000000000000...\") has a name "
                      "longer than 64");
    /* long non-ASCII text is cut at a character boundary */
    strbuf sb;
    strbuf_init(&sb, 4096);
    strbuf_addstr(&sb, "email,\"");
    for (int i = 0; i < 100; i++)
        strbuf_addstr(&sb, "é");
    strbuf_addstr(&sb, "\"\n");
    map_refused(sb.buf, "...\") has no name");
    strbuf_release(&sb);
    /* control characters and quotes of the header are not copied into the message */
    map_refused("email,\"\t\"\"\x01\"\n", "column 2 (\"???\") has no name");
    /* no header at all */
    csv_prospect_map *m = (csv_prospect_map *)0x1;
    mf_error err;
    assert_int_equal(csv_prospect_columns(NULL, &m, &err), -1);
    assert_null(m);
    assert_string_equal(err.code, CSV_ERR_HEADER);
}

static void test_csv_r18_tags_split_on_semicolon_and_pipe(void **state)
{
    UNUSED_STATE;
    char f1[] = " vip; lead |  2026 Q1 ;;| vip";
    char *tags[8];
    assert_int_equal(csv_split_tags(f1, tags, 8, NULL), 3);
    assert_string_equal(tags[0], "vip");
    assert_string_equal(tags[1], "lead");
    assert_string_equal(tags[2], "2026 Q1"); /* inner spaces kept */
    char f2[] = "";
    assert_int_equal(csv_split_tags(f2, tags, 8, NULL), 0);
    char f3[] = " ; |\t";
    assert_int_equal(csv_split_tags(f3, tags, 8, NULL), 0);
    assert_int_equal(csv_split_tags(NULL, tags, 8, NULL), 0);
    char f4[] = "a;b;a;b;c"; /* repeats do not count against max */
    assert_int_equal(csv_split_tags(f4, tags, 3, NULL), 3);
    assert_string_equal(tags[2], "c");
    char f5[] = "a;b;c";
    mf_error err;
    assert_int_equal(csv_split_tags(f5, tags, 2, &err), -1);
    assert_int_equal(err.status, 400);
    assert_string_equal(err.code, CSV_ERR_TAGS);
    assert_string_equal(err.rule, "R18");
    assert_non_null(strstr(err.message, "more than 2 tags"));
}

static void test_csv_r18_import_file_end_to_end(void **state)
{
    UNUSED_STATE;
    /* what the import handler does: detect, parse, map the header, read each row */
    const char *file = "\xEF\xBB\xBF"
                       "E-mail;First Name;Tags;Lead Source\r\n"
                       "ada@example.com;Ada;\"vip|2026\";Conference\r\n"
                       "\r\n"
                       "bob@example.com;\"Bob; Jr.\"\r\n";
    char delim = csv_detect_delimiter(file, strlen(file));
    assert_int_equal(delim, ';');
    csv_options o = {.delimiter = delim};
    csv_parser *p = csv_parser_new(&o);
    const char *s = file;
    size_t left = strlen(file);
    csv_prospect_map *m = NULL;
    int rows = 0;
    enum csv_result r = CSV_NEED_MORE;
    while (r != CSV_END) {
        if (r == CSV_NEED_MORE) {
            size_t n = left < 7 ? left : 7;
            if (n) {
                assert_int_equal(csv_parser_feed(p, s, n), 0);
                s += n;
                left -= n;
            } else {
                csv_parser_finish(p);
            }
        }
        const csv_row *row;
        mf_error err;
        r = csv_parser_next_row(p, &row, &err);
        assert_int_not_equal(r, CSV_ERROR);
        if (r != CSV_ROW) continue;
        if (!m) {
            assert_int_equal(csv_prospect_columns(row, &m, &err), 0);
            assert_int_equal(m->ncustom, 1);
            assert_string_equal(m->columns[3].name, "lead_source");
            continue;
        }
        rows++;
        if (rows == 1) {
            assert_string_equal(csv_row_field(row, m->email), "ada@example.com");
            assert_string_equal(csv_row_field(row, m->first_name), "Ada");
            assert_string_equal(csv_row_field(row, 3), "Conference");
            char *tags[4];
            assert_int_equal(csv_split_tags(row->fields[m->tags], tags, 4, &err), 2);
            assert_string_equal(tags[1], "2026");
        } else {
            assert_int_equal(row->number, 3); /* the blank line is no row */
            assert_int_equal(row->line, 4);
            assert_string_equal(csv_row_field(row, m->first_name), "Bob; Jr.");
            assert_string_equal(csv_row_field(row, m->tags), ""); /* short row */
        }
    }
    assert_int_equal(rows, 2);
    csv_prospect_map_free(&m);
    csv_parser_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_r18_plain_rows_with_crlf),
        cmocka_unit_test(test_csv_r18_quoted_fields_keep_delimiters_and_doubled_quotes),
        cmocka_unit_test(test_csv_r18_line_breaks_inside_quotes_are_kept_and_counted),
        cmocka_unit_test(test_csv_r18_crlf_lf_and_cr_row_ends_are_equal),
        cmocka_unit_test(test_csv_r18_utf8_bom_at_start_is_skipped),
        cmocka_unit_test(test_csv_r18_empty_fields_and_blank_lines),
        cmocka_unit_test(test_csv_r18_last_row_needs_no_line_break),
        cmocka_unit_test(test_csv_r18_delimiter_option_semicolon_and_tab),
        cmocka_unit_test(test_csv_r18_delimiter_detected_from_header_line),
        cmocka_unit_test(test_csv_r18_utf8_text_passes),
        cmocka_unit_test(test_csv_r18_every_split_point_gives_the_same_rows),
        cmocka_unit_test(test_csv_r18_long_fields_same_in_one_piece_and_byte_by_byte),
        cmocka_unit_test(test_csv_r18_row_stays_valid_while_more_is_fed),
        cmocka_unit_test(test_csv_r18_stray_quotes_refused_with_position),
        cmocka_unit_test(test_csv_r18_unterminated_quote_names_where_it_opened),
        cmocka_unit_test(test_csv_r18_nul_byte_refused_with_position),
        cmocka_unit_test(test_csv_r18_invalid_utf8_refused_where_the_sequence_starts),
        cmocka_unit_test(test_csv_r18_errors_are_final),
        cmocka_unit_test(test_csv_r18_field_length_limit),
        cmocka_unit_test(test_csv_r18_column_count_limit),
        cmocka_unit_test(test_csv_r18_row_length_limit),
        cmocka_unit_test(test_csv_r18_row_count_limit),
        cmocka_unit_test(test_csv_r18_same_field_count_option),
        cmocka_unit_test(test_csv_r18_buffered_input_is_bounded),
        cmocka_unit_test(test_csv_r18_defaults_filled_in),
        cmocka_unit_test(test_csv_r18_header_maps_standard_fields),
        cmocka_unit_test(test_csv_r18_header_synonyms_any_case_and_punctuation),
        cmocka_unit_test(test_csv_r18_other_columns_become_custom_fields),
        cmocka_unit_test(test_csv_r18_header_errors_name_the_column),
        cmocka_unit_test(test_csv_r18_tags_split_on_semicolon_and_pipe),
        cmocka_unit_test(test_csv_r18_import_file_end_to_end),
    };
    return cmocka_run_group_tests_name("csv", tests, NULL, NULL);
}
