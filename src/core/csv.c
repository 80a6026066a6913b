/* csv.c — owns the incremental CSV parser (input buffer, the row being built, stream position,
 * UTF-8 state) and the prospect header mapping; see csv.h for the grammar and the contract. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/csv.h"

enum csv_state {
    ST_ROW_START = 0, /* before the first byte of a row (blank lines are skipped here) */
    ST_FIELD_START,   /* right after a delimiter */
    ST_UNQUOTED,      /* inside an unquoted field */
    ST_QUOTED,        /* inside a quoted field */
    ST_QUOTE_END,     /* a quote inside a quoted field: the end, or the first of "" */
};

struct csv_parser {
    csv_options opt;

    /* unparsed input: in[head .. len) */
    unsigned char *in;
    size_t in_len, in_head, in_cap;
    int finished; /* csv_parser_finish() was called */
    int bom_done; /* the BOM question is settled */
    int ended;    /* CSV_END was reached */

    /* stream position of the next byte */
    uint64_t offset;
    uint64_t line;
    int prev_cr; /* the byte before was CR (one line break for CRLF) */

    /* UTF-8: continuation bytes still expected and the range of the next one */
    unsigned u_need;
    unsigned char u_lo, u_hi;
    csv_pos u_start; /* where the open sequence began */

    /* the row being built (and, once delivered, the row handed out) */
    enum csv_state st;
    char *buf; /* field values, each followed by a NUL */
    size_t len, cap;
    size_t *starts; /* starts[i]: offset of field i in buf */
    size_t *lens;
    char **fieldp;
    size_t nfields; /* fields completed in this row */
    size_t fcap;    /* entries of starts, lens, fieldp */
    size_t cur_start, field_len, row_bytes;
    uint64_t delivered; /* rows delivered so far */
    uint64_t row_line, row_offset;
    size_t first_nfields; /* of the first row (same_field_count) */
    csv_pos quote_pos;    /* where the open quoted field began */
    csv_row row;

    /* failure (final) */
    int failed;
    mf_error err;
    csv_pos err_pos;
};

static const unsigned char BOM[3] = {0xEF, 0xBB, 0xBF};

/* ---- options ------------------------------------------------------------------------------ */

int csv_delimiter_valid(int c)
{
    return c > 0 && c < 0x80 && c != '"' && c != '\r' && c != '\n';
}

csv_parser *csv_parser_new(const csv_options *opt)
{
    csv_parser *p = xcalloc(1, sizeof(*p));
    if (opt) p->opt = *opt;
    if (!p->opt.delimiter) p->opt.delimiter = CSV_DEFAULT_DELIMITER;
    if (!csv_delimiter_valid((unsigned char)p->opt.delimiter)) MF_BUG("csv: invalid delimiter");
    p->opt.same_field_count = p->opt.same_field_count ? 1 : 0;
    if (!p->opt.max_field_bytes) p->opt.max_field_bytes = CSV_DEFAULT_MAX_FIELD_BYTES;
    if (!p->opt.max_fields) p->opt.max_fields = CSV_DEFAULT_MAX_FIELDS;
    if (!p->opt.max_row_bytes) p->opt.max_row_bytes = CSV_DEFAULT_MAX_ROW_BYTES;
    if (!p->opt.max_rows) p->opt.max_rows = CSV_DEFAULT_MAX_ROWS;
    if (!p->opt.max_buffered) p->opt.max_buffered = CSV_DEFAULT_MAX_BUFFERED;
    if (p->opt.max_buffered < 4) p->opt.max_buffered = 4;
    /* the row text and its NULs must be addressable: refuse absurd limits up front */
    if (p->opt.max_row_bytes > SIZE_MAX / 4 || p->opt.max_fields > SIZE_MAX / 4 / sizeof(char *))
        MF_BUG("csv: limits too large");
    p->line = 1;
    p->st = ST_ROW_START;
    return p;
}

void csv_parser_free(csv_parser **pp)
{
    if (!pp || !*pp) return;
    csv_parser *p = *pp;
    free(p->in);
    free(p->buf);
    free(p->starts);
    free(p->lens);
    free(p->fieldp);
    free(p);
    *pp = NULL;
}

const csv_options *csv_parser_options(const csv_parser *p)
{
    return &p->opt;
}

const csv_pos *csv_parser_error_pos(const csv_parser *p)
{
    return p->failed ? &p->err_pos : NULL;
}

const char *csv_row_field(const csv_row *row, size_t i)
{
    return row && i < row->nfields ? row->fields[i] : "";
}

/* ---- errors ------------------------------------------------------------------------------- */

/* The position of the byte about to be parsed. */
static csv_pos here(const csv_parser *p)
{
    csv_pos pos;
    pos.row = p->delivered + 1;
    pos.column = p->st == ST_ROW_START ? 1 : p->nfields + 1;
    pos.line = p->line;
    pos.offset = p->offset;
    return pos;
}

/* Fail for good at pos: message is "<what> at row R, column C (line L, byte O)[: hint]". */
static int fail_at(csv_parser *p, csv_pos pos, int status, const char *code, const char *what,
                   const char *hint)
{
    p->failed = 1;
    p->err_pos = pos;
    mf_fail(&p->err, status, code, NULL,
            "%s at row %" PRIu64 ", column %zu (line %" PRIu64 ", byte %" PRIu64 ")%s%s", what,
            pos.row, pos.column, pos.line, pos.offset, hint ? ": " : "", hint ? hint : "");
    return -1;
}

static int fail(csv_parser *p, int status, const char *code, const char *what, const char *hint)
{
    return fail_at(p, here(p), status, code, what, hint);
}

/* ---- the row being built ------------------------------------------------------------------ */

static void buf_reserve(csv_parser *p, size_t extra)
{
    if (p->cap - p->len >= extra) return;
    size_t n = p->cap ? p->cap : 256;
    while (n - p->len < extra)
        n *= 2;
    p->buf = xrealloc(p->buf, n);
    p->cap = n;
}

static void begin_row(csv_parser *p)
{
    p->len = 0;
    p->nfields = 0;
    p->cur_start = 0;
    p->field_len = 0;
    p->row_bytes = 0;
    p->row_line = p->line;
    p->row_offset = p->offset;
}

/* One more byte of the row as written (not its EOL). */
static int count_row_byte(csv_parser *p)
{
    if (p->row_bytes >= p->opt.max_row_bytes) {
        char what[96];
        snprintf(what, sizeof(what), "a row longer than %zu bytes", p->opt.max_row_bytes);
        return fail(p, 413, CSV_ERR_ROW_TOO_LONG, what, "split the file or shorten the row");
    }
    p->row_bytes++;
    return 0;
}

static int add_byte(csv_parser *p, unsigned char c)
{
    if (p->field_len >= p->opt.max_field_bytes) {
        char what[96];
        snprintf(what, sizeof(what), "a field longer than %zu bytes", p->opt.max_field_bytes);
        return fail(p, 413, CSV_ERR_FIELD_TOO_LONG, what, NULL);
    }
    buf_reserve(p, 1);
    p->buf[p->len++] = (char)c;
    p->field_len++;
    return 0;
}

static void end_field(csv_parser *p)
{
    if (p->nfields == p->fcap) {
        size_t n = p->fcap ? p->fcap * 2 : 16;
        if (n > p->opt.max_fields) n = p->opt.max_fields;
        p->starts = xrealloc(p->starts, n * sizeof(*p->starts));
        p->lens = xrealloc(p->lens, n * sizeof(*p->lens));
        p->fieldp = xrealloc(p->fieldp, n * sizeof(*p->fieldp));
        p->fcap = n;
    }
    MF_ASSERT(p->nfields < p->fcap);
    buf_reserve(p, 1);
    p->buf[p->len++] = '\0';
    p->starts[p->nfields] = p->cur_start;
    p->lens[p->nfields] = p->field_len;
    p->nfields++;
    p->cur_start = p->len;
    p->field_len = 0;
}

/* A delimiter: the current field ends and another begins. */
static int next_field(csv_parser *p)
{
    if (p->nfields + 1 >= p->opt.max_fields) {
        char what[96];
        snprintf(what, sizeof(what), "more than %zu columns", p->opt.max_fields);
        end_field(p); /* so the error names column max_fields + 1 */
        return fail(p, 413, CSV_ERR_TOO_MANY_FIELDS, what, NULL);
    }
    end_field(p);
    p->st = ST_FIELD_START;
    return 0;
}

/* The last field of the row has ended: hand the row out. Returns 1, or -1. */
static int end_row(csv_parser *p)
{
    if (p->opt.same_field_count) {
        if (p->delivered == 0) {
            p->first_nfields = p->nfields;
        } else if (p->nfields != p->first_nfields) {
            char what[128];
            snprintf(what, sizeof(what), "%zu columns where the first row has %zu", p->nfields,
                     p->first_nfields);
            csv_pos pos = here(p);
            pos.column = p->nfields;
            return fail_at(p, pos, 400, CSV_ERR_FIELD_COUNT, what,
                           "a delimiter in an unquoted value? quote it");
        }
    }
    for (size_t i = 0; i < p->nfields; i++)
        p->fieldp[i] = p->buf + p->starts[i];
    p->delivered++;
    p->row.fields = p->fieldp;
    p->row.lens = p->lens;
    p->row.nfields = p->nfields;
    p->row.number = p->delivered;
    p->row.line = p->row_line;
    p->row.offset = p->row_offset;
    p->st = ST_ROW_START;
    return 1;
}

#define HINT_QUOTE "quote the whole field and double the quotes in it"

/* Parse one byte (already checked for NUL and UTF-8). 0 go on, 1 a row is ready, -1 failed. */
static int step(csv_parser *p, unsigned char c)
{
    const unsigned char delim = (unsigned char)p->opt.delimiter;
    const int eol = c == '\r' || c == '\n';
    switch (p->st) {
    case ST_ROW_START:
        if (eol) return 0; /* a blank line, or the LF of a CRLF */
        if (p->delivered >= p->opt.max_rows) {
            char what[96];
            snprintf(what, sizeof(what), "more than %" PRIu64 " rows", p->opt.max_rows);
            return fail(p, 413, CSV_ERR_TOO_MANY_ROWS, what, "split the file");
        }
        begin_row(p);
        p->st = ST_FIELD_START;
        /* fall through */
    case ST_FIELD_START:
        if (eol) {
            end_field(p);
            return end_row(p);
        }
        if (count_row_byte(p) < 0) return -1;
        if (c == '"') {
            p->quote_pos = here(p);
            p->st = ST_QUOTED;
            return 0;
        }
        if (c == delim) return next_field(p);
        p->st = ST_UNQUOTED;
        return add_byte(p, c);
    case ST_UNQUOTED:
        if (eol) {
            end_field(p);
            return end_row(p);
        }
        if (count_row_byte(p) < 0) return -1;
        if (c == delim) return next_field(p);
        if (c == '"')
            return fail(p, 400, CSV_ERR_QUOTE, "a quote inside an unquoted field", HINT_QUOTE);
        return add_byte(p, c);
    case ST_QUOTED:
        if (count_row_byte(p) < 0) return -1;
        if (c == '"') {
            p->st = ST_QUOTE_END;
            return 0;
        }
        return add_byte(p, c);
    case ST_QUOTE_END:
        if (eol) {
            end_field(p);
            return end_row(p);
        }
        if (count_row_byte(p) < 0) return -1;
        if (c == '"') {
            p->st = ST_QUOTED;
            return add_byte(p, c);
        }
        if (c == delim) return next_field(p);
        return fail(p, 400, CSV_ERR_QUOTE, "text after the closing quote of a field",
                    "a quoted field ends at a delimiter or the end of the line; " HINT_QUOTE);
    }
    MF_BUG("csv: bad state");
}

/* NUL and UTF-8 checks of one byte. 0 or -1. */
static int check_byte(csv_parser *p, unsigned char c)
{
    if (c == 0)
        return fail(p, 400, CSV_ERR_NUL, "a NUL byte",
                    p->offset < 4 ? "the file looks like UTF-16; save it as CSV UTF-8"
                                  : "a CSV file is text; save it as CSV UTF-8");
    if (p->u_need) {
        if (c < p->u_lo || c > p->u_hi)
            return fail_at(p, p->u_start, 400, CSV_ERR_UTF8, "bytes that are not UTF-8",
                           "save the file as CSV UTF-8");
        p->u_need--;
        p->u_lo = 0x80;
        p->u_hi = 0xBF;
        return 0;
    }
    if (c < 0x80) return 0;
    p->u_lo = 0x80;
    p->u_hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        p->u_need = 1;
    } else if (c == 0xE0) {
        p->u_need = 2;
        p->u_lo = 0xA0; /* no overlong forms */
    } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
        p->u_need = 2;
    } else if (c == 0xED) {
        p->u_need = 2;
        p->u_hi = 0x9F; /* no surrogates */
    } else if (c == 0xF0) {
        p->u_need = 3;
        p->u_lo = 0x90;
    } else if (c >= 0xF1 && c <= 0xF3) {
        p->u_need = 3;
    } else if (c == 0xF4) {
        p->u_need = 3;
        p->u_hi = 0x8F; /* nothing above U+10FFFF */
    } else {
        return fail(p, 400, CSV_ERR_UTF8, "bytes that are not UTF-8",
                    p->offset < 2 && (c == 0xFF || c == 0xFE)
                        ? "the file looks like UTF-16; save it as CSV UTF-8"
                        : "save the file as CSV UTF-8");
    }
    p->u_start = here(p);
    return 0;
}

/* Consume one byte: checks, the state machine, then the position. 0, 1 (row ready) or -1. */
static int consume(csv_parser *p, unsigned char c)
{
    if (check_byte(p, c) < 0) return -1;
    int r = step(p, c);
    if (r < 0) return -1;
    if (c == '\r') {
        p->line++;
        p->prev_cr = 1;
    } else {
        if (c == '\n' && !p->prev_cr) p->line++;
        p->prev_cr = 0;
    }
    p->offset++;
    return r;
}

/* A run of plain bytes at in[head..] inside a field: printable ASCII and TAB but the quote and
 * the delimiter. Their effect is only to be appended, so they may go in one copy. */
static size_t plain_run(const csv_parser *p)
{
    const unsigned char delim = (unsigned char)p->opt.delimiter;
    const unsigned char *s = p->in + p->in_head;
    size_t n = p->in_len - p->in_head, i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if ((c < 0x20 && c != '\t') || c >= 0x7f || c == '"' || c == delim) break;
        i++;
    }
    return i;
}

/* ---- feeding and reading ------------------------------------------------------------------ */

int csv_parser_feed(csv_parser *p, const void *data, size_t len)
{
    if (p->finished) MF_BUG("csv_parser_feed after csv_parser_finish");
    if (p->failed) return -1;
    if (len == 0) return 0;
    size_t pending = p->in_len - p->in_head;
    if (len > p->opt.max_buffered || pending > p->opt.max_buffered - len) {
        char what[128];
        snprintf(what, sizeof(what), "more than %zu bytes fed without reading the rows",
                 p->opt.max_buffered);
        return fail(p, 500, CSV_ERR_OVERFLOW, what,
                    "call csv_parser_next_row until CSV_NEED_MORE between feeds");
    }
    if (p->in_head) {
        memmove(p->in, p->in + p->in_head, pending);
        p->in_len = pending;
        p->in_head = 0;
    }
    if (p->in_cap - p->in_len < len) {
        size_t n = p->in_cap ? p->in_cap : 4096;
        while (n - p->in_len < len)
            n *= 2;
        if (n > p->opt.max_buffered) n = p->opt.max_buffered;
        p->in = xrealloc(p->in, n);
        p->in_cap = n;
    }
    memcpy(p->in + p->in_len, data, len);
    p->in_len += len;
    return 0;
}

void csv_parser_finish(csv_parser *p)
{
    p->finished = 1;
}

static enum csv_result error_out(csv_parser *p, mf_error *err)
{
    if (err) *err = p->err;
    return CSV_ERROR;
}

static enum csv_result row_out(csv_parser *p, const csv_row **row)
{
    if (row) *row = &p->row;
    return CSV_ROW;
}

enum csv_result csv_parser_next_row(csv_parser *p, const csv_row **row, mf_error *err)
{
    if (p->failed) return error_out(p, err);
    if (!p->bom_done) {
        size_t avail = p->in_len - p->in_head;
        size_t k = avail < 3 ? avail : 3;
        int prefix = k == 0 || memcmp(p->in + p->in_head, BOM, k) == 0;
        if (prefix && k == 3) {
            p->bom_done = 1;
            p->in_head += 3;
            p->offset += 3;
        } else if (!prefix || p->finished) {
            p->bom_done = 1; /* no BOM (a cut-off one is then bad UTF-8) */
        } else {
            return CSV_NEED_MORE; /* 0 to 2 bytes that may start a BOM */
        }
    }
    while (p->in_head < p->in_len) {
        if ((p->st == ST_UNQUOTED || p->st == ST_QUOTED) && !p->u_need) {
            size_t n = plain_run(p);
            if (n > 1 && n <= p->opt.max_field_bytes - p->field_len &&
                n <= p->opt.max_row_bytes - p->row_bytes) {
                buf_reserve(p, n);
                memcpy(p->buf + p->len, p->in + p->in_head, n);
                p->len += n;
                p->field_len += n;
                p->row_bytes += n;
                p->in_head += n;
                p->offset += n;
                p->prev_cr = 0;
                continue;
            }
        }
        int r = consume(p, p->in[p->in_head]);
        if (r < 0) return error_out(p, err);
        p->in_head++;
        if (r == 1) return row_out(p, row);
    }
    p->in_head = p->in_len = 0;
    if (!p->finished) return CSV_NEED_MORE;
    if (p->ended) return CSV_END;
    if (p->u_need) {
        fail_at(p, p->u_start, 400, CSV_ERR_UTF8, "a UTF-8 sequence cut off by the end of the file",
                "save the file as CSV UTF-8");
        return error_out(p, err);
    }
    switch (p->st) {
    case ST_ROW_START:
        p->ended = 1;
        return CSV_END;
    case ST_QUOTED:
        fail_at(p, p->quote_pos, 400, CSV_ERR_QUOTE, "a quoted field never closed, opened",
                "a closing quote is missing");
        return error_out(p, err);
    case ST_FIELD_START:
    case ST_UNQUOTED:
    case ST_QUOTE_END:
        end_field(p);
        if (end_row(p) < 0) return error_out(p, err);
        return row_out(p, row);
    }
    MF_BUG("csv: bad state");
}

/* ---- delimiter detection ------------------------------------------------------------------ */

char csv_detect_delimiter(const void *data, size_t len)
{
    static const char cand[3] = {',', ';', '\t'};
    const unsigned char *s = data;
    size_t i = 0, count[3] = {0, 0, 0};
    if (!s) return CSV_DEFAULT_DELIMITER;
    if (len >= 3 && memcmp(s, BOM, 3) == 0) i = 3;
    size_t end = len - i > 65536 ? i + 65536 : len;
    int quoted = 0;
    for (; i < end; i++) {
        unsigned char c = s[i];
        if (c == '"') {
            quoted = !quoted; /* "" toggles twice: still inside */
            continue;
        }
        if (quoted) continue;
        if (c == '\r' || c == '\n') break;
        for (int k = 0; k < 3; k++)
            if (c == (unsigned char)cand[k]) count[k]++;
    }
    int best = 0;
    for (int k = 1; k < 3; k++)
        if (count[k] > count[best]) best = k;
    return cand[best];
}

/* ---- prospects (R18) ---------------------------------------------------------------------- */

int csv_field_name(const char *h, char out[CSV_FIELD_NAME_MAX + 1])
{
    size_t n = 0;
    int sep = 0;
    out[0] = '\0';
    for (const unsigned char *s = (const unsigned char *)h; s && *s; s++) {
        unsigned char c = *s;
        if (c >= 'A' && c <= 'Z') c = (unsigned char)(c - 'A' + 'a');
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
            sep = 1;
            continue;
        }
        if (sep && n > 0) {
            if (n >= CSV_FIELD_NAME_MAX) return -1;
            out[n++] = '_';
        }
        sep = 0;
        if (n >= CSV_FIELD_NAME_MAX) return -1;
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return (int)n;
}

static const struct {
    const char *name;
    csv_prospect_field field;
} standard_names[] = {
    {"email", CSV_PROSPECT_EMAIL},
    {"e_mail", CSV_PROSPECT_EMAIL},
    {"email_address", CSV_PROSPECT_EMAIL},
    {"e_mail_address", CSV_PROSPECT_EMAIL},
    {"first_name", CSV_PROSPECT_FIRST_NAME},
    {"firstname", CSV_PROSPECT_FIRST_NAME},
    {"given_name", CSV_PROSPECT_FIRST_NAME},
    {"last_name", CSV_PROSPECT_LAST_NAME},
    {"lastname", CSV_PROSPECT_LAST_NAME},
    {"surname", CSV_PROSPECT_LAST_NAME},
    {"family_name", CSV_PROSPECT_LAST_NAME},
    {"company", CSV_PROSPECT_COMPANY},
    {"company_name", CSV_PROSPECT_COMPANY},
    {"organisation", CSV_PROSPECT_COMPANY},
    {"organization", CSV_PROSPECT_COMPANY},
    {"account", CSV_PROSPECT_COMPANY},
    {"tags", CSV_PROSPECT_TAGS},
};

static const char *field_canonical(csv_prospect_field f)
{
    switch (f) {
    case CSV_PROSPECT_EMAIL:
        return "email";
    case CSV_PROSPECT_FIRST_NAME:
        return "first_name";
    case CSV_PROSPECT_LAST_NAME:
        return "last_name";
    case CSV_PROSPECT_COMPANY:
        return "company";
    case CSV_PROSPECT_TAGS:
        return "tags";
    case CSV_PROSPECT_CUSTOM:
        break;
    }
    return NULL;
}

/* A header cell for a message: at most ~40 bytes cut at a UTF-8 boundary, controls and quotes
 * as '?', "..." when cut. */
static void excerpt(const char *s, char *out, size_t outlen)
{
    size_t n = 0, i = 0, limit = outlen - 4;
    if (limit > 40) limit = 40;
    while (s[i] && n < limit) {
        unsigned char c = (unsigned char)s[i];
        size_t clen = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
        if (n + clen > limit) break;
        if (c < 0x80) {
            out[n++] = (c < 0x20 || c == 0x7f || c == '"' || c == '\\') ? '?' : (char)c;
            i++;
        } else {
            /* the parser hands out valid UTF-8 only; stay safe with anything else */
            size_t k = 1;
            while (k < clen && ((unsigned char)s[i + k] & 0xC0) == 0x80)
                k++;
            if (k < clen) {
                out[n++] = '?';
                i++;
                continue;
            }
            memcpy(out + n, s + i, clen);
            n += clen;
            i += clen;
        }
    }
    if (s[i]) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

static int header_fail(mf_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int header_fail(mf_error *err, const char *fmt, ...)
{
    char msg[sizeof(err->message)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return mf_fail(err, 400, CSV_ERR_HEADER, "R18", "%s", msg);
}

struct name_ref {
    const char *name;
    size_t col;
};

static int by_name_then_column(const void *a, const void *b)
{
    const struct name_ref *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c) return c;
    return x->col < y->col ? -1 : x->col > y->col;
}

void csv_prospect_map_free(csv_prospect_map **m)
{
    if (!m || !*m) return;
    free((*m)->columns);
    free(*m);
    *m = NULL;
}

int csv_prospect_columns(const csv_row *header, csv_prospect_map **out, mf_error *err)
{
    *out = NULL;
    if (!header || header->nfields == 0) return header_fail(err, "the header row is missing");
    size_t n = header->nfields;
    csv_prospect_map *m = xcalloc(1, sizeof(*m));
    m->columns = xcalloc(n, sizeof(*m->columns));
    m->ncolumns = n;
    m->email = m->first_name = m->last_name = m->company = m->tags = CSV_NO_COLUMN;
    char ex[64];
    for (size_t i = 0; i < n; i++) {
        const char *h = header->fields[i];
        csv_prospect_column *col = &m->columns[i];
        int len = csv_field_name(h, col->name);
        if (len < 0) {
            excerpt(h, ex, sizeof(ex));
            csv_prospect_map_free(&m);
            return header_fail(err,
                               "column %zu (\"%s\") has a name longer than %d characters as a "
                               "field name: shorten it",
                               i + 1, ex, CSV_FIELD_NAME_MAX);
        }
        if (len == 0) {
            excerpt(h, ex, sizeof(ex));
            csv_prospect_map_free(&m);
            return header_fail(err,
                               "column %zu (\"%s\") has no name: name every column with letters "
                               "or digits (a-z, 0-9)",
                               i + 1, ex);
        }
        col->field = CSV_PROSPECT_CUSTOM;
        for (size_t k = 0; k < sizeof(standard_names) / sizeof(standard_names[0]); k++) {
            if (strcmp(col->name, standard_names[k].name) == 0) {
                col->field = standard_names[k].field;
                snprintf(col->name, sizeof(col->name), "%s", field_canonical(col->field));
                break;
            }
        }
        switch (col->field) {
        case CSV_PROSPECT_EMAIL:
            m->email = i;
            break;
        case CSV_PROSPECT_FIRST_NAME:
            m->first_name = i;
            break;
        case CSV_PROSPECT_LAST_NAME:
            m->last_name = i;
            break;
        case CSV_PROSPECT_COMPANY:
            m->company = i;
            break;
        case CSV_PROSPECT_TAGS:
            m->tags = i;
            break;
        case CSV_PROSPECT_CUSTOM:
            m->ncustom++;
            break;
        }
    }
    /* duplicates: sort column indexes by (name, index); of every pair with the same name,
     * report the one whose later column comes first, with the first column of that name */
    struct name_ref *ref = xmalloc(n * sizeof(*ref));
    for (size_t i = 0; i < n; i++) {
        ref[i].name = m->columns[i].name;
        ref[i].col = i;
    }
    qsort(ref, n, sizeof(*ref), by_name_then_column);
    size_t dup_a = CSV_NO_COLUMN, dup_b = CSV_NO_COLUMN, group = 0;
    for (size_t k = 1; k < n; k++) {
        if (strcmp(ref[k].name, ref[group].name) != 0) {
            group = k;
            continue;
        }
        if (k == group + 1 && (dup_b == CSV_NO_COLUMN || ref[k].col < dup_b)) {
            dup_a = ref[group].col;
            dup_b = ref[k].col;
        }
    }
    free(ref);
    if (dup_b != CSV_NO_COLUMN) {
        char ex2[64];
        excerpt(header->fields[dup_a], ex, sizeof(ex));
        excerpt(header->fields[dup_b], ex2, sizeof(ex2));
        int standard = m->columns[dup_a].field != CSV_PROSPECT_CUSTOM;
        char name[CSV_FIELD_NAME_MAX + 1];
        snprintf(name, sizeof(name), "%s", m->columns[dup_a].name);
        csv_prospect_map_free(&m);
        return header_fail(err,
                           "columns %zu (\"%s\") and %zu (\"%s\") both give the %s field \"%s\": "
                           "keep or rename one",
                           dup_a + 1, ex, dup_b + 1, ex2, standard ? "prospect" : "custom", name);
    }
    if (m->email == CSV_NO_COLUMN) {
        csv_prospect_map_free(&m);
        return header_fail(err, "no email column: the first row must name the columns, one of "
                                "them \"email\" (or \"e-mail\", \"email address\")");
    }
    *out = m;
    return 0;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

int csv_split_tags(char *field, char **out, size_t max, mf_error *err)
{
    size_t n = 0;
    char *s = field;
    if (!s) return 0;
    for (;;) {
        char *e = s + strcspn(s, ";|");
        int last = *e == '\0';
        *e = '\0';
        while (is_blank(*s))
            s++;
        char *t = e;
        while (t > s && is_blank(t[-1]))
            t--;
        *t = '\0';
        if (*s) {
            int seen = 0;
            for (size_t k = 0; k < n && !seen; k++)
                seen = strcmp(out[k], s) == 0;
            if (!seen) {
                if (n >= max)
                    return mf_fail(err, 400, CSV_ERR_TAGS, "R18",
                                   "more than %zu tags in one field: keep at most %zu", max, max);
                out[n++] = s;
            }
        }
        if (last) break;
        s = e + 1;
    }
    return (int)n;
}
