/* imap_parser.c — incremental IMAP response parser: a byte-driven state machine that owns the
 * bytes of one connection from feed to complete response; see imap_parser.h for the contract
 * and the drawing of the states. Memory: a per-response arena (strings, lists, literals), a
 * token buffer and a stack of list frames reused across responses, and an input buffer for
 * bytes fed but not yet parsed. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "mail/imap_parser.h"

/* ---- arena: bump allocator, one per response ---------------------------------------------- */

#define ARENA_ALIGN 16u
#define ARENA_CHUNK 4096u           /* kept across responses: what an idle session costs */
#define ARENA_BIG (ARENA_CHUNK / 4) /* larger blocks get their own malloc */

struct arena_chunk {
    struct arena_chunk *next;
    size_t size; /* bytes of data */
    size_t used;
    _Alignas(16) unsigned char data[];
};

struct arena_owned {
    struct arena_owned *next;
    void *ptr;
};

typedef struct arena {
    struct arena_chunk *chunks; /* newest first; the last one is kept by arena_reset */
    struct arena_owned *owned;  /* malloc'd blocks freed by arena_reset */
} arena;

static void *arena_alloc(arena *a, size_t n);

static void arena_adopt(arena *a, void *ptr)
{
    struct arena_owned *o = arena_alloc(a, sizeof(*o));
    o->ptr = ptr;
    o->next = a->owned;
    a->owned = o;
}

static void *arena_alloc(arena *a, size_t n)
{
    if (n == 0) n = 1;
    if (n > ARENA_BIG) {
        void *ptr = xmalloc(n);
        arena_adopt(a, ptr);
        return ptr;
    }
    n = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    struct arena_chunk *c = a->chunks;
    if (!c || c->size - c->used < n) {
        c = xmalloc(sizeof(*c) + ARENA_CHUNK);
        c->size = ARENA_CHUNK;
        c->used = 0;
        c->next = a->chunks;
        a->chunks = c;
    }
    void *ptr = c->data + c->used;
    c->used += n;
    return ptr;
}

static char *arena_strndup(arena *a, const char *s, size_t n)
{
    char *d = arena_alloc(a, n + 1);
    if (n) memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static void arena_reset(arena *a)
{
    for (struct arena_owned *o = a->owned; o; o = o->next)
        free(o->ptr);
    a->owned = NULL;
    struct arena_chunk *c = a->chunks;
    while (c && c->next) {
        struct arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    if (c) c->used = 0;
    a->chunks = c;
}

static void arena_free(arena *a)
{
    arena_reset(a);
    free(a->chunks);
    a->chunks = NULL;
}

/* ---- the parser --------------------------------------------------------------------------- */

enum state {
    ST_START,           /* first byte of a response */
    ST_TAG,             /* in the tag */
    ST_STAR,            /* after "*": SP */
    ST_PLUS,            /* after "+": SP, CR, LF (anything else starts the text) */
    ST_RESP_TEXT_START, /* after "OK " or "+ ": "[" opens a code, else text */
    ST_ARG,             /* between arguments */
    ST_ATOM,
    ST_SECTION,        /* inside "[...]" of an atom */
    ST_SECTION_QUOTED, /* inside a quoted string of a section */
    ST_SECTION_ESC,    /* after "\" there */
    ST_QUOTED,
    ST_QUOTED_ESC,
    ST_TILDE,        /* after "~": "{" for literal8, else an atom */
    ST_LIT_SIZE,     /* digits of "{n}" */
    ST_LIT_PLUS,     /* after "{n+" */
    ST_LIT_CR,       /* after "}" */
    ST_LIT_LF,       /* after "}\r" */
    ST_LIT_DATA,     /* the literal's bytes */
    ST_STATUS_AFTER, /* after the status word: SP or end of line */
    ST_CODE_END,     /* after the code's "]": SP or end of line */
    ST_TEXT,         /* the rest of the line */
    ST_EOL_LF,       /* after CR: LF */
    ST_FAILED,
};

enum frame_kind { FRAME_ROOT, FRAME_CODE, FRAME_LIST };

struct frame {
    enum frame_kind kind;
    imap_arg *items; /* scratch, reused; copied into the arena when the frame closes */
    size_t count, alloc;
};

#define FRAME_KEEP_ITEMS 256u        /* larger scratch arrays are freed after each response */
#define BUF_KEEP ((size_t)16 * 1024) /* larger token/input buffers likewise */
#define LIT_FIRST_ALLOC ((size_t)64 * 1024)

struct imap_parser {
    imap_parser_limits lim;
    enum state st;

    /* bytes fed but not yet parsed: in.buf[in_pos .. in.len) */
    strbuf in;
    size_t in_pos;

    /* the response being built, or ready, or held by the caller */
    arena ar;
    imap_response resp;
    bool ready;   /* resp is complete and not yet returned */
    bool holding; /* resp was returned; its arena is the caller's until the next next() */

    strbuf tok; /* the token (tag, atom, quoted, text) in progress */
    /* A "[" opening the text starts a response code; its raw bytes are kept until the code
     * proves well-formed, so that a text that merely starts with "[" can be taken as text. */
    strbuf code_raw;
    bool code_active;   /* from the "[" until the byte after its "]" is accepted */
    bool code_fallback; /* a syntax error inside the code: it is text after all */
    struct frame *frames;
    unsigned nframes, frames_alloc;
    size_t line_len;    /* bytes of this response outside literal data */
    uint64_t lit_total; /* literal bytes of this response */

    uint64_t lit_size; /* literal in progress */
    unsigned lit_digits;
    unsigned lit_flags;
    char *lit_buf;
    size_t lit_len, lit_alloc;

    uint64_t base;       /* stream offset of the first byte of the span being parsed */
    uint64_t resp_start; /* stream offset of this response's first byte */
    uint64_t nresp;      /* responses completed so far */

    /* failure (final) */
    const char *err_code;
    int err_status;
    char *err_msg; /* allocated on failure: 400 bytes less per idle connection */
};

static const imap_parser_limits default_limits = {
    .max_line = IMAP_PARSER_DEFAULT_MAX_LINE,
    .max_literal = IMAP_PARSER_DEFAULT_MAX_LITERAL,
    .max_literals = IMAP_PARSER_DEFAULT_MAX_LITERALS,
    .max_depth = IMAP_PARSER_DEFAULT_MAX_DEPTH,
    .max_list_args = IMAP_PARSER_DEFAULT_MAX_LIST_ARGS,
    .max_buffered = IMAP_PARSER_DEFAULT_MAX_BUFFERED,
};

imap_parser *imap_parser_new(const imap_parser_limits *lim)
{
    imap_parser *p = xcalloc(1, sizeof(*p));
    p->lim = default_limits;
    if (lim) {
        if (lim->max_line) p->lim.max_line = lim->max_line;
        if (lim->max_literal) p->lim.max_literal = lim->max_literal;
        if (lim->max_literals) p->lim.max_literals = lim->max_literals;
        if (lim->max_depth) p->lim.max_depth = lim->max_depth;
        if (lim->max_list_args) p->lim.max_list_args = lim->max_list_args;
        if (lim->max_buffered) p->lim.max_buffered = lim->max_buffered;
    }
    /* A literal must fit a size_t and its terminating NUL. */
    if (p->lim.max_literal > SIZE_MAX / 2) p->lim.max_literal = SIZE_MAX / 2;
    if (p->lim.max_literals > SIZE_MAX / 2) p->lim.max_literals = SIZE_MAX / 2;
    if (p->lim.max_line > SIZE_MAX / 2) p->lim.max_line = SIZE_MAX / 2;
    strbuf_init(&p->in, p->lim.max_buffered);
    strbuf_init(&p->tok, p->lim.max_line);
    strbuf_init(&p->code_raw, p->lim.max_line);
    p->frames_alloc = 4;
    p->frames = xcalloc(p->frames_alloc, sizeof(*p->frames));
    p->nframes = 1;
    p->frames[0].kind = FRAME_ROOT;
    p->st = ST_START;
    return p;
}

void imap_parser_free(imap_parser **pp)
{
    if (!pp || !*pp) return;
    imap_parser *p = *pp;
    arena_free(&p->ar);
    strbuf_release(&p->in);
    strbuf_release(&p->tok);
    strbuf_release(&p->code_raw);
    for (unsigned i = 0; i < p->frames_alloc; i++)
        free(p->frames[i].items);
    free(p->frames);
    free(p->lit_buf);
    free(p->err_msg);
    free(p);
    *pp = NULL;
}

void imap_parser_shrink(imap_parser *p)
{
    /* only between responses, with nothing held by the caller and nothing unparsed */
    if (!p || p->st != ST_START || p->ready || p->holding || p->in_pos != p->in.len) return;
    arena_free(&p->ar);
    strbuf_release(&p->in);
    p->in_pos = 0;
    strbuf_release(&p->tok);
    strbuf_release(&p->code_raw);
    for (unsigned i = 0; i < p->frames_alloc; i++) {
        free(p->frames[i].items);
        p->frames[i].items = NULL;
        p->frames[i].count = p->frames[i].alloc = 0;
    }
    free(p->lit_buf);
    p->lit_buf = NULL;
    p->lit_len = p->lit_alloc = 0;
}

const imap_parser_limits *imap_parser_get_limits(const imap_parser *p)
{
    return &p->lim;
}

const char *imap_parser_error_code(const imap_parser *p)
{
    return p->st == ST_FAILED ? p->err_code : NULL;
}

const char *imap_parser_error(const imap_parser *p)
{
    return p->st == ST_FAILED ? p->err_msg : NULL;
}

/* Enter the final failed state. at: stream offset of the offending byte. Returns -1. */
static int fail(imap_parser *p, uint64_t at, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(imap_parser *p, uint64_t at, const char *code, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    if (p->code_active && strcmp(code, IMAP_ERR_SYNTAX) == 0) {
        p->code_fallback = true; /* not a code but text; see code_to_text() */
        return -1;
    }
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    p->st = ST_FAILED;
    p->err_code = code;
    p->err_status = strcmp(code, IMAP_ERR_OVERFLOW) == 0 ? 500 : 502;
    uint64_t in_resp = at >= p->resp_start ? at - p->resp_start : 0;
    if (!p->err_msg) p->err_msg = xmalloc(sizeof(((mf_error *)0)->message));
    snprintf(p->err_msg, sizeof(((mf_error *)0)->message),
             "IMAP server response: %s at byte %llu of the stream (response %llu, byte %llu of "
             "it)",
             what, (unsigned long long)at, (unsigned long long)p->nresp + 1,
             (unsigned long long)in_resp);
    free(p->lit_buf);
    p->lit_buf = NULL;
    p->lit_len = p->lit_alloc = 0;
    return -1;
}

static const char *byte_name(unsigned char c, char buf[16])
{
    if (c >= 0x21 && c < 0x7f)
        snprintf(buf, 16, "'%c'", c);
    else if (c == ' ')
        snprintf(buf, 16, "SP");
    else if (c == '\r')
        snprintf(buf, 16, "CR");
    else if (c == '\n')
        snprintf(buf, 16, "LF");
    else
        snprintf(buf, 16, "byte 0x%02x", c);
    return buf;
}

static int fail_byte(imap_parser *p, uint64_t at, unsigned char c, const char *where)
{
    char b[16];
    if (c == 0) return fail(p, at, IMAP_ERR_NUL, "NUL byte outside a literal (%s)", where);
    return fail(p, at, IMAP_ERR_SYNTAX, "unexpected %s %s", byte_name(c, b), where);
}

/* Count n bytes of the response line against max_line. at: offset of the first of them. */
static int eat_line(imap_parser *p, uint64_t at, size_t n)
{
    if (n > p->lim.max_line - p->line_len) {
        uint64_t over = at + (p->lim.max_line - p->line_len);
        return fail(p, over, IMAP_ERR_LINE_TOO_LONG,
                    "response longer than %zu bytes outside literals", p->lim.max_line);
    }
    p->line_len += n;
    return 0;
}

static int tok_add(imap_parser *p, uint64_t at, const void *data, size_t n)
{
    /* tok.max is max_line and every byte added was counted by eat_line first */
    if (strbuf_add(&p->tok, data, n) < 0)
        return fail(p, at, IMAP_ERR_LINE_TOO_LONG,
                    "response longer than %zu bytes outside literals", p->lim.max_line);
    return 0;
}

static inline struct frame *top(imap_parser *p)
{
    return &p->frames[p->nframes - 1];
}

static int frame_push_arg(imap_parser *p, uint64_t at, const imap_arg *a)
{
    struct frame *f = top(p);
    if (f->count >= p->lim.max_list_args)
        return fail(p, at, IMAP_ERR_TOO_MANY_ARGS, "more than %u arguments in one %s",
                    p->lim.max_list_args,
                    f->kind == FRAME_LIST   ? "list"
                    : f->kind == FRAME_CODE ? "response code"
                                            : "response");
    if (f->count == f->alloc) {
        size_t n = f->alloc ? f->alloc * 2 : 8;
        f->items = xrealloc(f->items, n * sizeof(*f->items));
        f->alloc = n;
    }
    f->items[f->count++] = *a;
    return 0;
}

static int frame_open(imap_parser *p, uint64_t at, enum frame_kind kind)
{
    if (p->nframes - 1 >= p->lim.max_depth)
        return fail(p, at, IMAP_ERR_TOO_DEEP, "lists nested deeper than %u", p->lim.max_depth);
    if (p->nframes == p->frames_alloc) {
        unsigned n = p->frames_alloc * 2;
        p->frames = xrealloc(p->frames, n * sizeof(*p->frames));
        memset(p->frames + p->frames_alloc, 0, (n - p->frames_alloc) * sizeof(*p->frames));
        p->frames_alloc = n;
    }
    struct frame *f = &p->frames[p->nframes++];
    f->kind = kind;
    f->count = 0;
    return 0;
}

/* Copy the top frame's items into the arena and pop it. */
static imap_arg *frame_close(imap_parser *p, size_t *count)
{
    struct frame *f = top(p);
    imap_arg *items = NULL;
    if (f->count) {
        items = arena_alloc(&p->ar, f->count * sizeof(*items));
        memcpy(items, f->items, f->count * sizeof(*items));
    }
    *count = f->count;
    f->count = 0;
    if (p->nframes > 1) p->nframes--;
    return items;
}

static int status_word(const char *s, size_t n)
{
    static const char *const words[] = {"OK", "NO", "BAD", "PREAUTH", "BYE"};
    static const imap_status st[] = {IMAP_STATUS_OK, IMAP_STATUS_NO, IMAP_STATUS_BAD,
                                     IMAP_STATUS_PREAUTH, IMAP_STATUS_BYE};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strlen(words[i]) == n && strncasecmp(words[i], s, n) == 0) return (int)st[i];
    return IMAP_STATUS_NONE;
}

/* Add a finished argument to the top frame and choose the next state: ARG, or STATUS_AFTER
 * when it is the status word opening a tagged or untagged status response. */
static int add_arg(imap_parser *p, uint64_t at, const imap_arg *a)
{
    if (frame_push_arg(p, at, a) < 0) return -1;
    p->st = ST_ARG;
    struct frame *f = top(p);
    if (f->kind != FRAME_ROOT || f->count != 1) return 0;
    int s = a->type == IMAP_ARG_ATOM ? status_word(a->str, a->len) : IMAP_STATUS_NONE;
    if (p->resp.kind == IMAP_RESP_TAGGED && s != IMAP_STATUS_OK && s != IMAP_STATUS_NO &&
        s != IMAP_STATUS_BAD)
        return fail(p, at, IMAP_ERR_SYNTAX, "tagged response is not OK, NO or BAD");
    if (s != IMAP_STATUS_NONE) {
        p->resp.status = (imap_status)s;
        p->resp.text = "";
        p->resp.text_len = 0;
        p->st = ST_STATUS_AFTER;
    }
    return 0;
}

static int finish_atom(imap_parser *p, uint64_t at)
{
    imap_arg a = {0};
    a.len = p->tok.len;
    a.str = arena_strndup(&p->ar, p->tok.buf, p->tok.len);
    a.type = (a.len == 3 && strncasecmp(a.str, "NIL", 3) == 0) ? IMAP_ARG_NIL : IMAP_ARG_ATOM;
    return add_arg(p, at, &a);
}

static int finish_quoted(imap_parser *p, uint64_t at)
{
    imap_arg a = {0};
    a.type = IMAP_ARG_STRING;
    a.len = p->tok.len;
    a.str = arena_strndup(&p->ar, p->tok.buf, p->tok.len);
    return add_arg(p, at, &a);
}

static int finish_literal(imap_parser *p, uint64_t at)
{
    imap_arg a = {0};
    a.type = IMAP_ARG_LITERAL;
    a.flags = p->lit_flags;
    a.len = p->lit_len;
    if (p->lit_buf) {
        p->lit_buf[p->lit_len] = '\0';
        arena_adopt(&p->ar, p->lit_buf);
        a.str = p->lit_buf;
        p->lit_buf = NULL;
        p->lit_len = p->lit_alloc = 0;
    } else {
        a.str = arena_strndup(&p->ar, "", 0);
    }
    return add_arg(p, at, &a);
}

static void finish_text(imap_parser *p)
{
    p->resp.text = arena_strndup(&p->ar, p->tok.buf, p->tok.len);
    p->resp.text_len = p->tok.len;
}

static void begin_token(imap_parser *p)
{
    strbuf_reset(&p->tok);
}

/* The response is complete: publish it and get ready for the next one. */
static void finish_response(imap_parser *p)
{
    size_t n;
    p->nframes = 1; /* only the root can be open here */
    imap_arg *args = frame_close(p, &n);
    p->resp.args = args;
    p->resp.nargs = n;
    p->ready = true;
    p->nresp++;
    p->st = ST_START;
    p->line_len = 0;
    p->lit_total = 0;
    p->code_active = false;
    if (p->tok.alloc > BUF_KEEP) strbuf_release(&p->tok);
    if (p->code_raw.alloc > BUF_KEEP) strbuf_release(&p->code_raw);
    for (unsigned i = 0; i < p->frames_alloc; i++) {
        p->frames[i].count = 0;
        if (p->frames[i].alloc > FRAME_KEEP_ITEMS) {
            free(p->frames[i].items);
            p->frames[i].items = NULL;
            p->frames[i].alloc = 0;
        }
    }
}

/* End of line seen (at the LF). Only valid with no list or code open. */
static int end_of_line(imap_parser *p, uint64_t at, unsigned char c)
{
    if (p->resp.kind == IMAP_RESP_TAGGED && p->resp.status == IMAP_STATUS_NONE)
        return fail(p, at, IMAP_ERR_SYNTAX, "tagged response is not OK, NO or BAD");
    if (p->resp.kind == IMAP_RESP_UNTAGGED && p->resp.status == IMAP_STATUS_NONE &&
        p->nframes == 1 && p->frames[0].count == 0)
        return fail(p, at, IMAP_ERR_SYNTAX, "untagged response with nothing after '*'");
    if (top(p)->kind == FRAME_LIST)
        return fail(p, at, IMAP_ERR_SYNTAX, "missing ')' at end of line");
    if (top(p)->kind == FRAME_CODE)
        return fail(p, at, IMAP_ERR_SYNTAX, "missing ']' of the response code at end of line");
    if (c == '\r') {
        p->st = ST_EOL_LF;
    } else {
        finish_response(p);
    }
    return 0;
}

static int begin_literal_data(imap_parser *p, uint64_t at)
{
    if (p->lit_size > p->lim.max_literals - p->lit_total)
        return fail(p, at, IMAP_ERR_LITERAL_TOO_LARGE,
                    "literals of one response larger than %llu bytes together",
                    (unsigned long long)p->lim.max_literals);
    p->lit_total += p->lit_size;
    p->lit_len = 0;
    if (p->lit_size == 0) return finish_literal(p, at);
    /* Memory follows the bytes that arrive: start small, double up to the announced size. */
    size_t first = p->lit_size < LIT_FIRST_ALLOC ? (size_t)p->lit_size : LIT_FIRST_ALLOC;
    p->lit_buf = xmalloc(first + 1);
    p->lit_alloc = first + 1;
    p->st = ST_LIT_DATA;
    return 0;
}

static bool is_atom_char(unsigned char c)
{
    return c > 0x20 && c != 0x7f && c != '(' && c != ')' && c != '{' && c != '"';
}

static bool is_tag_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f && !strchr("(){\"%*\\+", c);
}

/* What looked like a response code ("[" at the start of the text) broke the code grammar: it
 * was text. Everything since the "[" becomes the start of the text; the byte at hand is the
 * text's next. Only syntax errors take this way back: NUL and limits stay errors. */
static void code_to_text(imap_parser *p)
{
    for (unsigned f = 1; f < p->nframes; f++)
        p->frames[f].count = 0;
    p->nframes = 1;
    p->resp.code = NULL;
    p->resp.ncode = 0;
    strbuf_reset(&p->tok);
    /* code_raw and tok have the same max and code_raw holds counted line bytes only */
    (void)strbuf_add(&p->tok, p->code_raw.buf, p->code_raw.len);
    strbuf_reset(&p->code_raw);
    p->code_active = false;
    p->code_fallback = false;
    p->st = ST_TEXT;
}

/* Parse d[0 .. len): returns the bytes consumed. Stops early when a response becomes ready or
 * the parser fails. */
static size_t run(imap_parser *p, const unsigned char *d, size_t len)
{
    size_t i = 0;
    while (i < len && !p->ready && p->st != ST_FAILED) {
        unsigned char c = d[i];
        uint64_t at = p->base + i;
        size_t i0 = i;
        switch (p->st) {
        case ST_START:
            memset(&p->resp, 0, sizeof(p->resp));
            p->resp_start = at;
            if (c == '*') {
                p->resp.kind = IMAP_RESP_UNTAGGED;
                p->st = ST_STAR;
            } else if (c == '+') {
                p->resp.kind = IMAP_RESP_CONTINUATION;
                p->resp.text = "";
                p->st = ST_PLUS;
            } else if (is_tag_char(c)) {
                p->resp.kind = IMAP_RESP_TAGGED;
                begin_token(p);
                p->st = ST_TAG;
                break; /* the tag state takes the byte */
            } else if (c == '\r' || c == '\n') {
                fail(p, at, IMAP_ERR_SYNTAX, "empty line where a response should start");
                break;
            } else {
                fail_byte(p, at, c, "where a response should start ('*', '+' or a tag)");
                break;
            }
            if (eat_line(p, at, 1) == 0) i++;
            break;

        case ST_TAG: {
            size_t j = i;
            while (j < len && is_tag_char(d[j]))
                j++;
            if (j > i) {
                if (eat_line(p, at, j - i) < 0 || tok_add(p, at, d + i, j - i) < 0) break;
                i = j;
                break;
            }
            if (c != ' ') {
                fail_byte(p, at, c, "in or after the tag (expected SP)");
                break;
            }
            if (eat_line(p, at, 1) < 0) break;
            i++;
            p->resp.tag = arena_strndup(&p->ar, p->tok.buf, p->tok.len);
            p->st = ST_ARG;
            break;
        }

        case ST_STAR:
            if (c != ' ') {
                fail_byte(p, at, c, "after '*' (expected SP)");
                break;
            }
            if (eat_line(p, at, 1) < 0) break;
            i++;
            p->st = ST_ARG;
            break;

        case ST_PLUS:
            if (c == ' ') {
                if (eat_line(p, at, 1) < 0) break;
                i++;
                p->st = ST_RESP_TEXT_START;
            } else if (c == '\r' || c == '\n') {
                if (eat_line(p, at, 1) < 0) break;
                i++;
                end_of_line(p, at, c);
            } else {
                begin_token(p);
                p->st = ST_TEXT; /* "+text": lenient, the byte is text */
            }
            break;

        case ST_STATUS_AFTER:
            if (c == ' ') {
                if (eat_line(p, at, 1) < 0) break;
                i++;
                p->st = ST_RESP_TEXT_START;
            } else if (c == '\r' || c == '\n') {
                if (eat_line(p, at, 1) < 0) break;
                i++;
                end_of_line(p, at, c);
            } else {
                fail_byte(p, at, c, "after the status word");
            }
            break;

        case ST_RESP_TEXT_START:
            if (c == '[') {
                if (eat_line(p, at, 1) < 0) break;
                i++;
                if (frame_open(p, at, FRAME_CODE) < 0) break;
                strbuf_reset(&p->code_raw);
                p->code_active = true;
                p->st = ST_ARG;
            } else {
                begin_token(p);
                p->st = ST_TEXT;
            }
            break;

        case ST_CODE_END:
            if (c == ' ') {
                if (eat_line(p, at, 1) < 0) break;
                i++;
                p->code_active = false;
                begin_token(p);
                p->st = ST_TEXT;
            } else if (c == '\r' || c == '\n') {
                if (eat_line(p, at, 1) < 0) break;
                i++;
                p->code_active = false;
                end_of_line(p, at, c);
            } else {
                fail_byte(p, at, c, "after the response code's ']' (expected SP)");
            }
            break;

        case ST_TEXT: {
            size_t j = i;
            while (j < len && d[j] != '\r' && d[j] != '\n' && d[j] != '\0')
                j++;
            if (j > i) {
                if (eat_line(p, at, j - i) < 0 || tok_add(p, at, d + i, j - i) < 0) break;
                i = j;
                break;
            }
            if (c == '\0') {
                fail_byte(p, at, c, "in the response text");
                break;
            }
            if (eat_line(p, at, 1) < 0) break;
            i++;
            finish_text(p);
            end_of_line(p, at, c);
            break;
        }

        case ST_EOL_LF:
            if (c != '\n') {
                fail_byte(p, at, c, "after CR (expected LF)");
                break;
            }
            if (eat_line(p, at, 1) < 0) break;
            i++;
            finish_response(p);
            break;

        case ST_ARG:
            switch (c) {
            case ' ':
                if (eat_line(p, at, 1) == 0) i++;
                break;
            case '\r':
            case '\n':
                if (top(p)->kind == FRAME_ROOT && eat_line(p, at, 1) < 0) break;
                if (end_of_line(p, at, c) == 0) i++;
                break;
            case '(':
                if (eat_line(p, at, 1) < 0 || frame_open(p, at, FRAME_LIST) < 0) break;
                i++;
                break;
            case ')': {
                if (top(p)->kind != FRAME_LIST) {
                    fail(p, at, IMAP_ERR_SYNTAX, "unexpected ')' with no list open");
                    break;
                }
                if (eat_line(p, at, 1) < 0) break;
                i++;
                imap_arg a = {0};
                a.type = IMAP_ARG_LIST;
                a.list = frame_close(p, &a.len);
                add_arg(p, at, &a);
                break;
            }
            case ']':
                if (top(p)->kind == FRAME_CODE) {
                    if (eat_line(p, at, 1) < 0) break;
                    i++;
                    if (top(p)->count == 0) {
                        fail(p, at, IMAP_ERR_SYNTAX, "empty response code");
                        break;
                    }
                    p->resp.code = frame_close(p, &p->resp.ncode);
                    p->st = ST_CODE_END;
                    break;
                }
                begin_token(p);
                p->st = ST_ATOM;
                break;
            case '"':
                if (eat_line(p, at, 1) < 0) break;
                i++;
                begin_token(p);
                p->st = ST_QUOTED;
                break;
            case '{':
                if (p->code_active) {
                    fail(p, at, IMAP_ERR_SYNTAX, "literal inside a response code");
                    break;
                }
                if (eat_line(p, at, 1) < 0) break;
                i++;
                p->lit_flags = 0;
                p->lit_size = 0;
                p->lit_digits = 0;
                p->st = ST_LIT_SIZE;
                break;
            case '~':
                if (eat_line(p, at, 1) < 0) break;
                i++;
                p->st = ST_TILDE;
                break;
            default:
                if (!is_atom_char(c)) {
                    fail_byte(p, at, c, "where an argument should start");
                    break;
                }
                begin_token(p);
                p->st = ST_ATOM;
                break;
            }
            break;

        case ST_ATOM: {
            bool in_code = top(p)->kind == FRAME_CODE;
            size_t j = i;
            while (j < len && is_atom_char(d[j]) && d[j] != '[' && !(in_code && d[j] == ']'))
                j++;
            if (j > i) {
                if (eat_line(p, at, j - i) < 0 || tok_add(p, at, d + i, j - i) < 0) break;
                i = j;
                break;
            }
            if (c == '[') {
                if (eat_line(p, at, 1) < 0 || tok_add(p, at, "[", 1) < 0) break;
                i++;
                p->st = ST_SECTION;
                break;
            }
            if (c == ' ' || c == '\r' || c == '\n' || c == ')' || c == ']') {
                finish_atom(p, at); /* the byte is the next state's */
                break;
            }
            fail_byte(p, at, c, "in an atom");
            break;
        }

        case ST_SECTION: {
            size_t j = i;
            while (j < len && d[j] >= 0x20 && d[j] != 0x7f && d[j] != ']' && d[j] != '[' &&
                   d[j] != '"' && d[j] != '{')
                j++;
            if (j > i) {
                if (eat_line(p, at, j - i) < 0 || tok_add(p, at, d + i, j - i) < 0) break;
                i = j;
                break;
            }
            if (c == ']') {
                p->st = ST_ATOM;
            } else if (c == '"') {
                p->st = ST_SECTION_QUOTED;
            } else if (c == '{') {
                fail(p, at, IMAP_ERR_SYNTAX, "literal inside an atom's [section] is not supported");
                break;
            } else if (c == '[') {
                fail(p, at, IMAP_ERR_SYNTAX, "'[' inside an atom's [section]");
                break;
            } else if (c == '\r' || c == '\n') {
                fail(p, at, IMAP_ERR_SYNTAX, "missing ']' of an atom's [section] at end of line");
                break;
            } else {
                fail_byte(p, at, c, "in an atom's [section]");
                break;
            }
            if (eat_line(p, at, 1) < 0 || tok_add(p, at, d + i, 1) < 0) break;
            i++;
            break;
        }

        case ST_SECTION_QUOTED:
        case ST_SECTION_ESC:
            if (c == '\r' || c == '\n') {
                fail(p, at, IMAP_ERR_SYNTAX, "unterminated quoted string at end of line");
                break;
            }
            if (c == '\0') {
                fail_byte(p, at, c, "in a quoted string");
                break;
            }
            if (p->st == ST_SECTION_ESC)
                p->st = ST_SECTION_QUOTED;
            else if (c == '\\')
                p->st = ST_SECTION_ESC;
            else if (c == '"')
                p->st = ST_SECTION;
            if (eat_line(p, at, 1) < 0 || tok_add(p, at, d + i, 1) < 0) break;
            i++;
            break;

        case ST_QUOTED: {
            size_t j = i;
            while (j < len && d[j] != '"' && d[j] != '\\' && d[j] != '\r' && d[j] != '\n' &&
                   d[j] != '\0')
                j++;
            if (j > i) {
                if (eat_line(p, at, j - i) < 0 || tok_add(p, at, d + i, j - i) < 0) break;
                i = j;
                break;
            }
            if (c == '\r' || c == '\n') {
                fail(p, at, IMAP_ERR_SYNTAX, "unterminated quoted string at end of line");
                break;
            }
            if (c == '\0') {
                fail_byte(p, at, c, "in a quoted string");
                break;
            }
            if (eat_line(p, at, 1) < 0) break;
            i++;
            if (c == '\\')
                p->st = ST_QUOTED_ESC;
            else
                finish_quoted(p, at);
            break;
        }

        case ST_QUOTED_ESC:
            if (c == '\r' || c == '\n') {
                fail(p, at, IMAP_ERR_SYNTAX, "unterminated quoted string at end of line");
                break;
            }
            if (c == '\0') {
                fail_byte(p, at, c, "in a quoted string");
                break;
            }
            if (eat_line(p, at, 1) < 0 || tok_add(p, at, d + i, 1) < 0) break;
            i++;
            p->st = ST_QUOTED;
            break;

        case ST_TILDE:
            if (c == '{') {
                if (p->code_active) {
                    fail(p, at, IMAP_ERR_SYNTAX, "literal inside a response code");
                    break;
                }
                if (eat_line(p, at, 1) < 0) break;
                i++;
                p->lit_flags = IMAP_ARG_FLAG_LITERAL8;
                p->lit_size = 0;
                p->lit_digits = 0;
                p->st = ST_LIT_SIZE;
            } else {
                begin_token(p);
                if (tok_add(p, at, "~", 1) < 0) break;
                p->st = ST_ATOM; /* an atom that starts with '~'; the byte is the atom's */
            }
            break;

        case ST_LIT_SIZE:
            if (c >= '0' && c <= '9') {
                unsigned dgt = (unsigned)(c - '0');
                if (dgt > p->lim.max_literal || p->lit_size > (p->lim.max_literal - dgt) / 10) {
                    fail(p, at, IMAP_ERR_LITERAL_TOO_LARGE,
                         "literal larger than the limit of %llu bytes",
                         (unsigned long long)p->lim.max_literal);
                    break;
                }
                p->lit_size = p->lit_size * 10 + dgt;
                p->lit_digits++;
            } else if ((c == '}' || c == '+') && p->lit_digits > 0) {
                p->st = c == '}' ? ST_LIT_CR : ST_LIT_PLUS;
                if (c == '+') p->lit_flags |= IMAP_ARG_FLAG_NONSYNC;
            } else {
                fail_byte(p, at, c, "in a literal's size (expected digits then '}')");
                break;
            }
            if (eat_line(p, at, 1) == 0) i++;
            break;

        case ST_LIT_PLUS:
            if (c != '}') {
                fail_byte(p, at, c, "after a literal's '+' (expected '}')");
                break;
            }
            if (eat_line(p, at, 1) < 0) break;
            i++;
            p->st = ST_LIT_CR;
            break;

        case ST_LIT_CR:
        case ST_LIT_LF:
            if (c == '\r' && p->st == ST_LIT_CR) {
                if (eat_line(p, at, 1) < 0) break;
                i++;
                p->st = ST_LIT_LF;
            } else if (c == '\n') {
                if (eat_line(p, at, 1) < 0) break;
                i++;
                begin_literal_data(p, at);
            } else {
                fail_byte(p, at, c, "after a literal's '}' (expected CRLF)");
            }
            break;

        case ST_LIT_DATA: {
            size_t want = (size_t)p->lit_size - p->lit_len;
            size_t take = len - i < want ? len - i : want;
            if (p->lit_len + take + 1 > p->lit_alloc) {
                size_t n = p->lit_alloc;
                while (n < p->lit_len + take + 1)
                    n = n > SIZE_MAX / 2 ? SIZE_MAX : n * 2;
                if (n > (size_t)p->lit_size + 1) n = (size_t)p->lit_size + 1;
                p->lit_buf = xrealloc(p->lit_buf, n);
                p->lit_alloc = n;
            }
            memcpy(p->lit_buf + p->lit_len, d + i, take);
            p->lit_len += take;
            i += take;
            if (p->lit_len == p->lit_size) finish_literal(p, p->base + i - 1);
            break;
        }

        case ST_FAILED:
            break;
        }
        if (p->code_active && i > i0) (void)strbuf_add(&p->code_raw, d + i0, i - i0);
        if (p->code_fallback) code_to_text(p);
    }
    return i;
}

/* Parse data at stream offset p->base; returns bytes consumed and moves p->base. */
static size_t run_span(imap_parser *p, const unsigned char *d, size_t len)
{
    size_t n = run(p, d, len);
    p->base += n;
    return n;
}

int imap_parser_feed(imap_parser *p, const void *data, size_t len)
{
    if (p->st == ST_FAILED) return -1;
    const unsigned char *d = data;
    size_t pending = p->in.len - p->in_pos;
    if (!p->holding && !p->ready && pending == 0 && len) {
        size_t n = run_span(p, d, len); /* no copy first: literal bytes go straight home */
        d += n;
        len -= n;
        if (p->st == ST_FAILED) return -1;
    }
    if (len == 0) return 0;
    if (p->in_pos) { /* compact */
        memmove(p->in.buf, p->in.buf + p->in_pos, pending);
        p->in.len = pending;
        p->in.buf[pending] = '\0';
        p->in_pos = 0;
    }
    if (strbuf_add(&p->in, d, len) < 0) {
        fail(p, p->base + pending, IMAP_ERR_OVERFLOW,
             "more than %zu bytes fed without being parsed (call imap_parser_next between feeds)",
             p->lim.max_buffered);
        return -1;
    }
    return 0;
}

static enum imap_parse_result report_error(imap_parser *p, imap_response **out, mf_error *err)
{
    if (out) *out = NULL;
    mf_fail(err, p->err_status, p->err_code, NULL, "%s", p->err_msg);
    return IMAP_PARSE_ERROR;
}

enum imap_parse_result imap_parser_next(imap_parser *p, imap_response **out, mf_error *err)
{
    if (p->holding) {
        arena_reset(&p->ar);
        p->holding = false;
    }
    if (p->st == ST_FAILED) return report_error(p, out, err);
    if (!p->ready && p->in_pos < p->in.len) {
        size_t n = run_span(p, (const unsigned char *)p->in.buf + p->in_pos, p->in.len - p->in_pos);
        p->in_pos += n;
        if (p->in_pos == p->in.len) {
            p->in_pos = 0;
            if (p->in.alloc > BUF_KEEP)
                strbuf_release(&p->in);
            else
                strbuf_reset(&p->in);
        }
    }
    if (p->st == ST_FAILED) return report_error(p, out, err);
    if (p->ready) {
        p->ready = false;
        p->holding = true;
        if (out) *out = &p->resp;
        return IMAP_PARSE_OK;
    }
    if (out) *out = NULL;
    return IMAP_PARSE_NEED_MORE;
}

/* ---- accessors ---------------------------------------------------------------------------- */

bool imap_arg_is_atom(const imap_arg *arg, const char *name)
{
    return arg && arg->type == IMAP_ARG_ATOM && name && strlen(name) == arg->len &&
           strncasecmp(arg->str, name, arg->len) == 0;
}

bool imap_arg_is_nil(const imap_arg *arg)
{
    return arg && arg->type == IMAP_ARG_NIL;
}

bool imap_arg_is_string(const imap_arg *arg)
{
    return arg && (arg->type == IMAP_ARG_STRING || arg->type == IMAP_ARG_LITERAL);
}

const char *imap_arg_str(const imap_arg *arg, size_t *len)
{
    if (!arg || (arg->type != IMAP_ARG_ATOM && arg->type != IMAP_ARG_STRING &&
                 arg->type != IMAP_ARG_LITERAL)) {
        if (len) *len = 0;
        return NULL;
    }
    if (len) *len = arg->len;
    return arg->str;
}

static int as_number(const imap_arg *arg, uint64_t max, uint64_t *out)
{
    if (!arg || arg->type != IMAP_ARG_ATOM || arg->len == 0) return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < arg->len; i++) {
        unsigned char c = (unsigned char)arg->str[i];
        if (c < '0' || c > '9') return -1;
        unsigned dgt = (unsigned)(c - '0');
        if (dgt > max || v > (max - dgt) / 10) return -1;
        v = v * 10 + dgt;
    }
    *out = v;
    return 0;
}

int imap_arg_as_u32(const imap_arg *arg, uint32_t *out)
{
    uint64_t v;
    if (as_number(arg, UINT32_MAX, &v) < 0) return -1;
    *out = (uint32_t)v;
    return 0;
}

int imap_arg_as_u64(const imap_arg *arg, uint64_t *out)
{
    uint64_t v;
    if (as_number(arg, UINT64_MAX, &v) < 0) return -1;
    *out = v;
    return 0;
}

const imap_arg *imap_arg_list(const imap_arg *arg, size_t *count)
{
    if (!arg || arg->type != IMAP_ARG_LIST) {
        if (count) *count = 0;
        return NULL;
    }
    if (count) *count = arg->len;
    return arg->list;
}

const imap_arg *imap_fetch_item(const imap_arg *fetch_list, const char *name)
{
    size_t n;
    const imap_arg *items = imap_arg_list(fetch_list, &n);
    for (size_t i = 0; i + 1 < n; i += 2)
        if (imap_arg_is_atom(&items[i], name)) return &items[i + 1];
    return NULL;
}

bool imap_response_is_numbered(const imap_response *r, const char *name, uint32_t *num)
{
    uint32_t v;
    if (!r || r->kind != IMAP_RESP_UNTAGGED || r->status != IMAP_STATUS_NONE || r->nargs < 2 ||
        !imap_arg_is_atom(&r->args[1], name) || imap_arg_as_u32(&r->args[0], &v) < 0)
        return false;
    if (num) *num = v;
    return true;
}

bool imap_response_is_data(const imap_response *r, const char *name)
{
    return r && r->kind == IMAP_RESP_UNTAGGED && r->status == IMAP_STATUS_NONE && r->nargs >= 1 &&
           imap_arg_is_atom(&r->args[0], name);
}

bool imap_response_code_is(const imap_response *r, const char *name)
{
    return r && r->ncode >= 1 && imap_arg_is_atom(&r->code[0], name);
}

const char *imap_status_name(imap_status s)
{
    switch (s) {
    case IMAP_STATUS_OK:
        return "OK";
    case IMAP_STATUS_NO:
        return "NO";
    case IMAP_STATUS_BAD:
        return "BAD";
    case IMAP_STATUS_PREAUTH:
        return "PREAUTH";
    case IMAP_STATUS_BYE:
        return "BYE";
    case IMAP_STATUS_NONE:
        break;
    }
    return "";
}

/* ---- canonical rendering ------------------------------------------------------------------ */

static int fmt_quoted(strbuf *out, const char *s, size_t n)
{
    if (strbuf_add(out, "\"", 1) < 0) return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int rc;
        if (c == '\\')
            rc = strbuf_add(out, "\\\\", 2);
        else if (c == '"')
            rc = strbuf_add(out, "\\\"", 2);
        else if (c == '\r')
            rc = strbuf_add(out, "\\r", 2);
        else if (c == '\n')
            rc = strbuf_add(out, "\\n", 2);
        else if (c == '\t')
            rc = strbuf_add(out, "\\t", 2);
        else if (c < 0x20 || c >= 0x7f)
            rc = strbuf_addf(out, "\\x%02x", c);
        else
            rc = strbuf_add(out, &s[i], 1);
        if (rc < 0) return -1;
    }
    return strbuf_add(out, "\"", 1);
}

static int fmt_args(strbuf *out, const imap_arg *args, size_t n);

static int fmt_arg(strbuf *out, const imap_arg *a)
{
    switch (a->type) {
    case IMAP_ARG_NIL:
        return strbuf_add(out, "NIL", 3);
    case IMAP_ARG_ATOM:
        return strbuf_add(out, a->str, a->len);
    case IMAP_ARG_STRING:
        return fmt_quoted(out, a->str, a->len);
    case IMAP_ARG_LITERAL:
        if (strbuf_addf(out, "%s{%zu%s}", (a->flags & IMAP_ARG_FLAG_LITERAL8) ? "~" : "", a->len,
                        (a->flags & IMAP_ARG_FLAG_NONSYNC) ? "+" : "") < 0)
            return -1;
        return fmt_quoted(out, a->str, a->len);
    case IMAP_ARG_LIST:
        if (strbuf_add(out, "(", 1) < 0 || fmt_args(out, a->list, a->len) < 0) return -1;
        return strbuf_add(out, ")", 1);
    }
    return strbuf_add(out, "?", 1);
}

static int fmt_args(strbuf *out, const imap_arg *args, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i && strbuf_add(out, " ", 1) < 0) return -1;
        if (fmt_arg(out, &args[i]) < 0) return -1;
    }
    return 0;
}

int imap_response_format(const imap_response *r, strbuf *out)
{
    int rc;
    switch (r->kind) {
    case IMAP_RESP_TAGGED:
        rc = strbuf_addf(out, "tagged %s", r->tag ? r->tag : "");
        break;
    case IMAP_RESP_UNTAGGED:
        rc = strbuf_addstr(out, "untagged");
        break;
    default:
        rc = strbuf_addstr(out, "continuation");
        break;
    }
    if (rc < 0) return -1;
    if (r->status != IMAP_STATUS_NONE || r->kind == IMAP_RESP_CONTINUATION) {
        if (r->status != IMAP_STATUS_NONE &&
            strbuf_addf(out, " %s", imap_status_name(r->status)) < 0)
            return -1;
        if (r->code) {
            if (strbuf_add(out, " [", 2) < 0 || fmt_args(out, r->code, r->ncode) < 0 ||
                strbuf_add(out, "]", 1) < 0)
                return -1;
        }
        if (strbuf_add(out, " ", 1) < 0) return -1;
        return fmt_quoted(out, r->text ? r->text : "", r->text_len);
    }
    if (r->nargs && strbuf_add(out, " ", 1) < 0) return -1;
    return fmt_args(out, r->args, r->nargs);
}
