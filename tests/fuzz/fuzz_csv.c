/* fuzz_csv.c — libFuzzer target for src/core/csv.c (prospect CSV imports, R18). Input layout:
 *   byte 0      chunking: 0 = byte by byte, 1 = pieces of 1..4096 bytes, else pieces of
 *               1..97 bytes drawn from a generator seeded with this byte
 *   byte 1      options: bits 0-1 delimiter (',' ';' '\t' '|'), bit 2 same_field_count,
 *               bit 3 small limits (field 16, fields 8, row 64, rows 16 bytes/entries)
 *   bytes 2..   the CSV text
 * Besides ASan/UBSan it checks the contract of csv.h and aborts when it is broken:
 *   - feeding in pieces (draining after each) gives exactly the rows and the error (code,
 *     message, position) of feeding everything at once;
 *   - output is bounded: every row has 1..max_fields fields, each at most max_field_bytes,
 *     NUL-terminated with lens[i] == strlen, valid UTF-8; a row's values fit in max_row_bytes;
 *     rows are numbered 1, 2, ... at growing offsets, at most max_rows and at most one per
 *     input byte; the values of all rows together are no longer than the input;
 *   - an error has a CSV_ERR_* code with its status, a message, and a position inside the
 *     input; errors are final;
 *   - writing the rows back with every field quoted and parsing that gives the same fields;
 *   - the header mapping of the first row either fails with CSV_ERR_HEADER (message valid
 *     UTF-8) or gives an email column and unique names of [a-z0-9_], 1..64 bytes;
 *   - tags split from any field are non-empty, trimmed, unique, without ';' or '|';
 *   - csv_detect_delimiter() answers ',', ';' or '\t'. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/csv.h"
#include "util/strbuf.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_csv: invariant broken at line %d: %s\n", __LINE__, #cond);       \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define RECORD_MAX ((size_t)256 * 1024 * 1024)

static int utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t need;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c == 0xE0) {
            need = 2;
            lo = 0xA0;
        } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
            need = 2;
        } else if (c == 0xED) {
            need = 2;
            hi = 0x9F;
        } else if (c == 0xF0) {
            need = 3;
            lo = 0x90;
        } else if (c >= 0xF1 && c <= 0xF3) {
            need = 3;
        } else if (c == 0xF4) {
            need = 3;
            hi = 0x8F;
        } else {
            return 0;
        }
        if (n - i - 1 < need) return 0;
        for (size_t k = 1; k <= need; k++) {
            unsigned char d = s[i + k];
            if (d < lo || d > hi) return 0;
            lo = 0x80;
            hi = 0xBF;
        }
        i += need + 1;
    }
    return 1;
}

typedef struct run_state {
    strbuf rec;    /* everything observable, for the comparison */
    uint64_t rows; /* delivered */
    uint64_t last_offset;
    size_t value_bytes; /* of all rows */
    int ended;          /* END or ERROR seen */
    int error;          /* ended with ERROR */
    /* the rows, kept for the round trip and the header mapping (one-shot run only) */
    strbuf *keep;
} run_state;

static void rec_u64(strbuf *sb, uint64_t v)
{
    CHECK(strbuf_add(sb, &v, sizeof(v)) == 0);
}

static void check_row(run_state *st, const csv_options *o, const csv_row *row)
{
    CHECK(row->nfields >= 1 && row->nfields <= o->max_fields);
    CHECK(row->number == st->rows + 1);
    CHECK(row->number <= o->max_rows);
    CHECK(row->line >= 1);
    CHECK(st->rows == 0 || row->offset > st->last_offset);
    st->rows++;
    st->last_offset = row->offset;
    size_t total = 0;
    rec_u64(&st->rec, row->number);
    rec_u64(&st->rec, row->line);
    rec_u64(&st->rec, row->offset);
    rec_u64(&st->rec, row->nfields);
    for (size_t i = 0; i < row->nfields; i++) {
        const char *f = row->fields[i];
        size_t n = row->lens[i];
        CHECK(f != NULL);
        CHECK(strlen(f) == n);
        CHECK(n <= o->max_field_bytes);
        CHECK(utf8_valid((const unsigned char *)f, n));
        total += n;
        rec_u64(&st->rec, n);
        CHECK(strbuf_add(&st->rec, f, n) == 0);
        if (st->keep) {
            rec_u64(st->keep, n);
            CHECK(strbuf_add(st->keep, f, n) == 0);
        }
    }
    if (st->keep) rec_u64(st->keep, UINT64_MAX); /* end of row */
    CHECK(total <= o->max_row_bytes);
    st->value_bytes += total;
}

/* Drain; returns 1 once the parser has ended. */
static int drain(csv_parser *p, run_state *st, const csv_options *o, size_t input_len)
{
    for (;;) {
        const csv_row *row = NULL;
        mf_error err;
        mf_error_clear(&err);
        enum csv_result r = csv_parser_next_row(p, &row, &err);
        if (r == CSV_ROW) {
            CHECK(row != NULL);
            check_row(st, o, row);
            continue;
        }
        CHECK(row == NULL);
        if (r == CSV_NEED_MORE) return 0;
        st->ended = 1;
        if (r == CSV_END) {
            CHECK(csv_parser_error_pos(p) == NULL);
            CHECK(strbuf_addstr(&st->rec, "END") == 0);
            return 1;
        }
        CHECK(r == CSV_ERROR);
        st->error = 1;
        static const struct {
            const char *code;
            int status;
        } codes[] = {
            {CSV_ERR_QUOTE, 400},          {CSV_ERR_NUL, 400},
            {CSV_ERR_UTF8, 400},           {CSV_ERR_FIELD_COUNT, 400},
            {CSV_ERR_FIELD_TOO_LONG, 413}, {CSV_ERR_TOO_MANY_FIELDS, 413},
            {CSV_ERR_ROW_TOO_LONG, 413},   {CSV_ERR_TOO_MANY_ROWS, 413},
        };
        int known = 0;
        for (size_t k = 0; k < sizeof(codes) / sizeof(codes[0]); k++)
            if (strcmp(err.code, codes[k].code) == 0) known = err.status == codes[k].status;
        CHECK(known); /* CSV_ERR_OVERFLOW never: we drain and respect max_buffered */
        CHECK(err.message[0] != '\0');
        const csv_pos *pos = csv_parser_error_pos(p);
        CHECK(pos != NULL);
        CHECK(pos->row >= 1 && pos->row <= st->rows + 1);
        CHECK(pos->column >= 1);
        CHECK(pos->line >= 1);
        CHECK(pos->offset <= input_len);
        /* final */
        mf_error again;
        CHECK(csv_parser_next_row(p, &row, &again) == CSV_ERROR);
        CHECK(strcmp(again.message, err.message) == 0);
        CHECK(strbuf_addf(&st->rec, "ERR %s %d %s %" PRIu64 ":%zu:%" PRIu64 ":%" PRIu64, err.code,
                          err.status, err.message, pos->row, pos->column, pos->line,
                          pos->offset) == 0);
        return 1;
    }
}

static uint32_t rng_next(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

/* Parse data[0..n) in pieces chosen by mode (see the top), recording into st. */
static void run(const uint8_t *data, size_t n, const csv_options *o, uint8_t mode, int one_shot,
                run_state *st)
{
    csv_parser *p = csv_parser_new(o);
    const csv_options *eff = csv_parser_options(p);
    CHECK(eff->max_buffered >= 4);
    uint32_t seed = 0x9e3779b9u ^ ((uint32_t)mode * 2654435761u);
    size_t at = 0;
    int done = 0;
    while (at < n && !done) {
        size_t piece;
        if (one_shot)
            piece = n;
        else if (mode == 0)
            piece = 1;
        else if (mode == 1)
            piece = 1 + rng_next(&seed) % 4096;
        else
            piece = 1 + rng_next(&seed) % 97;
        if (piece > n - at) piece = n - at;
        CHECK(csv_parser_feed(p, data + at, piece) == 0);
        at += piece;
        done = drain(p, st, eff, n);
    }
    if (!done) {
        csv_parser_finish(p);
        CHECK(drain(p, st, eff, n) == 1);
    }
    CHECK(st->ended);
    CHECK(st->rows <= n);
    CHECK(st->value_bytes <= n);
    csv_parser_free(&p);
    CHECK(p == NULL);
}

/* Rows kept by the one-shot run, written back with every field quoted, parse to the same
 * fields. */
static void round_trip(const strbuf *keep, char delim)
{
    strbuf out;
    strbuf_init(&out, RECORD_MAX);
    const char *s = keep->buf;
    size_t left = keep->len;
    int first = 1;
    while (left) {
        uint64_t n;
        CHECK(left >= sizeof(n));
        memcpy(&n, s, sizeof(n));
        s += sizeof(n);
        left -= sizeof(n);
        if (n == UINT64_MAX) {
            CHECK(strbuf_add(&out, "\r\n", 2) == 0);
            first = 1;
            continue;
        }
        CHECK(left >= n);
        if (!first) CHECK(strbuf_add(&out, &delim, 1) == 0);
        first = 0;
        CHECK(strbuf_add(&out, "\"", 1) == 0);
        for (size_t i = 0; i < n; i++) {
            if (s[i] == '"') CHECK(strbuf_add(&out, "\"", 1) == 0);
            CHECK(strbuf_add(&out, s + i, 1) == 0);
        }
        CHECK(strbuf_add(&out, "\"", 1) == 0);
        s += n;
        left -= n;
    }
    csv_options big = {.delimiter = delim,
                       .max_field_bytes = (size_t)1 << 24,
                       .max_fields = (size_t)1 << 16,
                       .max_row_bytes = (size_t)1 << 26,
                       .max_rows = UINT64_MAX,
                       .max_buffered = out.len + 16};
    run_state st;
    memset(&st, 0, sizeof(st));
    strbuf_init(&st.rec, RECORD_MAX);
    strbuf again;
    strbuf_init(&again, RECORD_MAX);
    st.keep = &again;
    run((const uint8_t *)out.buf, out.len, &big, 0, 1, &st);
    CHECK(!st.error);
    CHECK(again.len == keep->len && memcmp(again.buf, keep->buf, keep->len) == 0);
    strbuf_release(&again);
    strbuf_release(&st.rec);
    strbuf_release(&out);
}

static int name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > CSV_FIELD_NAME_MAX || s[0] == '_' || s[n - 1] == '_') return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return 0;
    return 1;
}

/* The header mapping and the tag splitter on the first row(s) of a fresh parse. */
static void prospects(const uint8_t *data, size_t n, const csv_options *o)
{
    csv_parser *p = csv_parser_new(o);
    CHECK(csv_parser_feed(p, data, n) == 0);
    csv_parser_finish(p);
    const csv_row *row;
    mf_error err;
    for (int k = 0; k < 3 && csv_parser_next_row(p, &row, &err) == CSV_ROW; k++) {
        if (k == 0) {
            csv_prospect_map *m = (csv_prospect_map *)0x1;
            mf_error_clear(&err);
            if (csv_prospect_columns(row, &m, &err) < 0) {
                CHECK(m == NULL);
                CHECK(strcmp(err.code, CSV_ERR_HEADER) == 0 && err.status == 400);
                CHECK(strcmp(err.rule, "R18") == 0);
                CHECK(utf8_valid((const unsigned char *)err.message, strlen(err.message)));
            } else {
                CHECK(m != NULL && m->ncolumns == row->nfields);
                CHECK(m->email < m->ncolumns);
                CHECK(m->columns[m->email].field == CSV_PROSPECT_EMAIL);
                size_t custom = 0;
                for (size_t i = 0; i < m->ncolumns; i++) {
                    CHECK(name_ok(m->columns[i].name));
                    if (m->columns[i].field == CSV_PROSPECT_CUSTOM) custom++;
                    for (size_t j = 0; j < i; j++)
                        CHECK(strcmp(m->columns[i].name, m->columns[j].name) != 0);
                }
                CHECK(custom == m->ncustom);
                csv_prospect_map_free(&m);
                CHECK(m == NULL);
            }
        }
        for (size_t i = 0; i < row->nfields && i < 8; i++) {
            char *tags[20];
            mf_error terr;
            int t = csv_split_tags(row->fields[i], tags, 20, &terr); /* in place: allowed */
            if (t < 0) {
                CHECK(strcmp(terr.code, CSV_ERR_TAGS) == 0);
                continue;
            }
            CHECK(t <= 20);
            for (int a = 0; a < t; a++) {
                size_t len = strlen(tags[a]);
                CHECK(len > 0);
                CHECK(!strpbrk(tags[a], ";|"));
                CHECK(tags[a][0] != ' ' && tags[a][0] != '\t');
                CHECK(tags[a][len - 1] != ' ' && tags[a][len - 1] != '\t');
                for (int b = 0; b < a; b++)
                    CHECK(strcmp(tags[a], tags[b]) != 0);
            }
        }
    }
    csv_parser_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    uint8_t mode = data[0], flags = data[1];
    const uint8_t *text = data + 2;
    size_t n = size - 2;
    static const char delims[4] = {',', ';', '\t', '|'};
    csv_options o;
    memset(&o, 0, sizeof(o));
    o.delimiter = delims[flags & 3];
    o.same_field_count = (flags >> 2) & 1;
    if (flags & 8) {
        o.max_field_bytes = 16;
        o.max_fields = 8;
        o.max_row_bytes = 64;
        o.max_rows = 16;
    }
    if (n + 4 > CSV_DEFAULT_MAX_BUFFERED) o.max_buffered = n + 4;

    run_state whole, pieces;
    memset(&whole, 0, sizeof(whole));
    memset(&pieces, 0, sizeof(pieces));
    strbuf_init(&whole.rec, RECORD_MAX);
    strbuf_init(&pieces.rec, RECORD_MAX);
    strbuf keep;
    strbuf_init(&keep, RECORD_MAX);
    whole.keep = &keep;
    run(text, n, &o, mode, 1, &whole);
    run(text, n, &o, mode, 0, &pieces);
    if (whole.rec.len != pieces.rec.len || memcmp(whole.rec.buf, pieces.rec.buf, whole.rec.len)) {
        fprintf(stderr, "fuzz_csv: one-shot and chunked (mode %u) differ\n", mode);
        abort();
    }
    if (!whole.error) round_trip(&keep, o.delimiter);
    strbuf_release(&keep);
    strbuf_release(&whole.rec);
    strbuf_release(&pieces.rec);

    prospects(text, n, &o);
    char d = csv_detect_delimiter(text, n);
    CHECK(d == ',' || d == ';' || d == '\t');
    return 0;
}
