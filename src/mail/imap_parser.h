/* imap_parser.h — incremental parser of IMAP server responses (RFC 3501, RFC 9051), after
 * Dovecot's lib-imap/imap-parser.c. It owns the bytes read from one IMAP connection between the
 * socket and the session: feed bytes as they arrive, take complete responses out.
 *
 *     imap_parser *p = imap_parser_new(NULL);          // NULL: default limits
 *     ... on every read from the socket:
 *     if (imap_parser_feed(p, buf, n) < 0) { ... }      // only fails once the parser failed
 *     for (;;) {
 *         imap_response *r;
 *         enum imap_parse_result res = imap_parser_next(p, &r, &err);
 *         if (res == IMAP_PARSE_NEED_MORE) break;       // wait for the next read
 *         if (res == IMAP_PARSE_ERROR) { drop the connection, log err.message; break; }
 *         handle(r);                                    // r valid until the next imap_parser_next
 *     }
 *     imap_parser_free(&p);
 *
 * Contract
 * - Nothing the server says is trusted: every length is checked against imap_parser_limits
 *   before it is used; a literal's memory grows with the bytes that actually arrive (doubling,
 *   capped at its announced size), never with the announced size alone.
 * - Feeding at ANY byte boundary gives the same responses and the same error (same message,
 *   same offset) as feeding everything at once.
 * - Literal bytes are copied once when they arrive while the parser waits for them (the usual
 *   case when the caller drains with imap_parser_next after every feed): straight from the
 *   caller's buffer into the literal's own block. Bytes that arrive while a response is still
 *   held, or behind a complete response in the same feed, are kept in an internal buffer of at
 *   most limits.max_buffered bytes first.
 * - A response and everything reachable from it (args, strings, literals, lists) live in a
 *   per-response arena owned by the parser: valid until the next call of imap_parser_next() or
 *   imap_parser_free(); imap_parser_feed() does not disturb it. Copy what must live longer.
 * - Errors are final: after IMAP_PARSE_ERROR every imap_parser_next() returns the same error and
 *   every imap_parser_feed() returns -1. IMAP has no way to resynchronise a broken stream; the
 *   session drops the connection. err->code is one of the IMAP_ERR_* strings below, err->status
 *   502 (the upstream server broke the protocol) or 500 (the caller broke max_buffered), and
 *   err->message says what and where: "... at byte N of the stream (response K, byte M of it)".
 *
 * Grammar accepted (a client parser: liberal where servers differ, strict where it matters)
 *   response      = tagged / untagged / continuation, ended by CRLF (a bare LF is accepted)
 *   tagged        = tag SP ("OK" / "NO" / "BAD") resp-text       -> IMAP_RESP_TAGGED
 *   untagged      = "*" SP status-word resp-text                   -> IMAP_RESP_UNTAGGED, status
 *                 / "*" SP arg *(SP arg)                           -> IMAP_RESP_UNTAGGED, args
 *   continuation  = "+" [SP resp-text]                             -> IMAP_RESP_CONTINUATION
 *   resp-text     = ["[" arg *(SP arg) "]" (SP / end of line)] text   the code is parsed as
 *                   arguments ("[UIDVALIDITY 3857529045]" -> atom UIDVALIDITY, atom
 *                   3857529045); text is the raw rest of the line (any bytes but CR, LF, NUL),
 *                   never tokenised. A "[" that does not open a well-formed code (no "]" on
 *                   the line, "]" not followed by SP or end of line, "[]", a literal or a
 *                   stray ")" inside) is taken as the first byte of the text, code NULL:
 *                   "* NO [Gmail]/Foo is gone" has the text "[Gmail]/Foo is gone". NUL bytes
 *                   and the limits stay errors there too.
 *   status-word   = OK / NO / BAD / PREAUTH / BYE, any case
 *   tag           = 1*(printable ASCII but SP ( ) { " % * \ +)
 *   arg           = atom / NIL / quoted / literal / "(" [arg *(SP arg)] ")"
 *   Spaces between arguments may be repeated or, next to a parenthesis, quote or literal,
 *   missing; a trailing space before CRLF is accepted (servers send "* SEARCH \r\n").
 *
 * Arguments (imap_arg)
 * - IMAP_ARG_ATOM: bytes > 0x20 but DEL ( ) { " (8-bit accepted), plus "]" except inside a
 *   response code, where "]" ends it. Flags ("\Seen", "\*") and numbers are atoms: read numbers
 *   with imap_arg_as_u32() / imap_arg_as_u64(). A "[" inside an atom opens a section that runs
 *   to its "]" and may hold spaces, parentheses and quoted strings, so the FETCH item names
 *   come out as ONE atom, byte for byte as the server sent them:
 *       BODY[HEADER.FIELDS (FROM TO)]   BODY[]<0>   BODY[1.2.MIME]   BINARY[1]
 *   (a literal inside a section is refused). The value follows as the next argument.
 * - IMAP_ARG_NIL: the atom NIL in any case (str is "NIL" all the same).
 * - IMAP_ARG_STRING: a quoted string, unescaped ("\"" -> ", "\\" -> \, "\x" -> x); CR, LF and
 *   NUL end it with an error.
 * - IMAP_ARG_LITERAL: {n} CRLF n bytes; flags say IMAP_ARG_FLAG_LITERAL8 for ~{n} (RFC 3516)
 *   and IMAP_ARG_FLAG_NONSYNC for {n+} (RFC 7888). The bytes may hold NUL: use len.
 * - IMAP_ARG_LIST: "(" ... ")", items in list[0 .. len-1].
 * Every str is NUL-terminated (an extra byte not counted in len).
 *
 * States of the tokenizer (drawn for the header reader; the .c has one case per state)
 *
 *   START --'*'--> STAR --SP--> ARG ...............(first arg is a status word)--> STATUS_AFTER
 *     |   --'+'--> PLUS --SP--> RESP_TEXT_START                                         | SP
 *     |   --tag--> TAG  --SP--> ARG (first arg must be OK/NO/BAD) --> STATUS_AFTER      v
 *     |                                             RESP_TEXT_START <------------------'
 *     |                         RESP_TEXT_START --'['--> ARG in code frame --']'--> CODE_END
 *     |                         RESP_TEXT_START --other--> TEXT     CODE_END --SP--> TEXT
 *     |                         code frame or CODE_END --syntax error--> TEXT ("[..." is text)
 *   ARG --atom char--> ATOM --'['--> SECTION --']'--> ATOM --SP ) ] CR LF--> ARG
 *                      SECTION --'"'--> SECTION_QUOTED <--> SECTION_ESC; --'"'--> SECTION
 *   ARG --'"'--> QUOTED <--> QUOTED_ESC;  QUOTED --'"'--> ARG
 *   ARG --'~'--> TILDE --'{'--> LIT_SIZE (TILDE --other--> ATOM "~...")
 *   ARG --'{'--> LIT_SIZE --'+'--> LIT_PLUS --'}'--> LIT_CR --CR--> LIT_LF --LF--> LIT_DATA
 *                LIT_SIZE --'}'--> LIT_CR                       LIT_DATA --n bytes--> ARG
 *   ARG --'(' / ')'--> ARG (push / pop a list frame)
 *   ARG / TEXT / STATUS_AFTER / CODE_END / PLUS --CR--> EOL_LF --LF--> START (response ready)
 *   any state --bad byte or limit--> FAILED (final)
 */
#ifndef MF_IMAP_PARSER_H
#define MF_IMAP_PARSER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util/error.h"
#include "util/strbuf.h"

/* Limits. A field left 0 takes its default, so `imap_parser_limits lim = {.max_depth = 8}`
 * works. Every one is checked before memory is taken for it. */
typedef struct imap_parser_limits {
    size_t max_line;        /* bytes of one response outside literal data: text, arguments,
                               literal headers and every CRLF; default 64 KiB */
    uint64_t max_literal;   /* one literal's size; default 64 MiB ("{n}" with n larger: error) */
    uint64_t max_literals;  /* all literals of one response together; default 128 MiB */
    unsigned max_depth;     /* open "(" plus an open response code "["; default 32 */
    unsigned max_list_args; /* items in one list, in the response code, or top-level; default
                               65536 */
    size_t max_buffered;    /* fed bytes not yet parsed (see the contract); default 1 MiB */
} imap_parser_limits;

#define IMAP_PARSER_DEFAULT_MAX_LINE ((size_t)64 * 1024)
#define IMAP_PARSER_DEFAULT_MAX_LITERAL ((uint64_t)64 * 1024 * 1024)
#define IMAP_PARSER_DEFAULT_MAX_LITERALS ((uint64_t)128 * 1024 * 1024)
#define IMAP_PARSER_DEFAULT_MAX_DEPTH 32u
#define IMAP_PARSER_DEFAULT_MAX_LIST_ARGS 65536u
#define IMAP_PARSER_DEFAULT_MAX_BUFFERED ((size_t)1024 * 1024)

/* err->code values of the failures (err->status 502 but IMAP_ERR_OVERFLOW: 500). */
#define IMAP_ERR_SYNTAX "imap_syntax"                       /* bytes that break the grammar */
#define IMAP_ERR_NUL "imap_nul_byte"                        /* NUL outside a literal */
#define IMAP_ERR_LINE_TOO_LONG "imap_line_too_long"         /* max_line */
#define IMAP_ERR_LITERAL_TOO_LARGE "imap_literal_too_large" /* max_literal or max_literals */
#define IMAP_ERR_TOO_DEEP "imap_too_deep"                   /* max_depth */
#define IMAP_ERR_TOO_MANY_ARGS "imap_too_many_args"         /* max_list_args */
#define IMAP_ERR_OVERFLOW "imap_input_overflow" /* max_buffered: the caller must drain */

typedef enum imap_arg_type {
    IMAP_ARG_NIL = 1,
    IMAP_ARG_ATOM,
    IMAP_ARG_STRING,
    IMAP_ARG_LITERAL,
    IMAP_ARG_LIST,
} imap_arg_type;

#define IMAP_ARG_FLAG_LITERAL8 0x1u /* ~{n} */
#define IMAP_ARG_FLAG_NONSYNC 0x2u  /* {n+} */

typedef struct imap_arg {
    imap_arg_type type;
    unsigned flags;              /* IMAP_ARG_FLAG_* (literals only) */
    size_t len;                  /* bytes of str, or items of list */
    const char *str;             /* NIL, ATOM, STRING, LITERAL: NUL-terminated; else NULL */
    const struct imap_arg *list; /* LIST: its items (NULL when empty); else NULL */
} imap_arg;

typedef enum imap_response_kind {
    IMAP_RESP_TAGGED = 1,   /* "a1 OK ..." */
    IMAP_RESP_UNTAGGED,     /* "* ..." */
    IMAP_RESP_CONTINUATION, /* "+ ..." */
} imap_response_kind;

typedef enum imap_status {
    IMAP_STATUS_NONE = 0, /* data response ("* 23 EXISTS") or continuation */
    IMAP_STATUS_OK,
    IMAP_STATUS_NO,
    IMAP_STATUS_BAD,
    IMAP_STATUS_PREAUTH,
    IMAP_STATUS_BYE,
} imap_status;

typedef struct imap_response {
    imap_response_kind kind;
    const char *tag;    /* TAGGED: the tag; else NULL */
    imap_status status; /* TAGGED: OK/NO/BAD; UNTAGGED: one of them, PREAUTH, BYE, or NONE */
    /* The arguments after the tag or "*": for a data response all of them ("23" "EXISTS",
     * "CAPABILITY" "IMAP4rev1" ..., "12" "FETCH" (list)); for a status response only the
     * status word itself ("OK"); none for a continuation. */
    const imap_arg *args;
    size_t nargs;
    /* Status responses and continuations: the response code, when the text opened with one
     * ("[UIDVALIDITY 3857529045]" -> code[0] atom UIDVALIDITY, code[1] atom 3857529045),
     * else code NULL and ncode 0. */
    const imap_arg *code;
    size_t ncode;
    /* Status responses and continuations: the human text after the code (for "+ <base64>"
     * the base64), "" when there is none; NULL for data responses. NUL-terminated. */
    const char *text;
    size_t text_len;
} imap_response;

enum imap_parse_result {
    IMAP_PARSE_OK = 0,    /* *out is a complete response */
    IMAP_PARSE_NEED_MORE, /* every byte fed so far is consumed; feed more */
    IMAP_PARSE_ERROR,     /* final; err says what and where */
};

typedef struct imap_parser imap_parser;

/* lim may be NULL (all defaults); it is copied. Never fails (allocation aborts). */
imap_parser *imap_parser_new(const imap_parser_limits *lim);
/* Frees the parser, its buffers and the response last returned; sets *p to NULL. NULL-safe. */
void imap_parser_free(imap_parser **p);
/* The limits in force (defaults filled in). */
const imap_parser_limits *imap_parser_get_limits(const imap_parser *p);

/* Give the parser len bytes read from the server (copied or consumed before it returns).
 * Returns 0, or -1 when the parser has failed (now or before): imap_parser_next() says why.
 * Fails with IMAP_ERR_OVERFLOW when more than max_buffered unparsed bytes would pile up
 * because the caller does not drain with imap_parser_next(). */
int imap_parser_feed(imap_parser *p, const void *data, size_t len);

/* Give back the memory kept for the next response (the arena's chunk, the argument scratch
 * arrays, the token and input buffers) when the parser is between responses with nothing held
 * or unparsed; otherwise nothing happens. For a connection that goes quiet (IDLE): thousands of
 * them each keep ~7 KB otherwise. Parsing afterwards allocates again as needed. */
void imap_parser_shrink(imap_parser *p);

/* Take the next complete response. Frees the response returned by the previous call. err may
 * be NULL; it is filled only on IMAP_PARSE_ERROR. */
enum imap_parse_result imap_parser_next(imap_parser *p, imap_response **out, mf_error *err);

/* After a failure: its err->code (an IMAP_ERR_* string) and message; NULL while healthy. */
const char *imap_parser_error_code(const imap_parser *p);
const char *imap_parser_error(const imap_parser *p);

/* ---- reading responses and arguments (all NULL-safe: a NULL arg matches nothing) ---------- */

/* arg is an atom equal to name, ASCII case-insensitively ("ok" matches "OK"); never a quoted
 * string, a literal or NIL. */
bool imap_arg_is_atom(const imap_arg *arg, const char *name);
bool imap_arg_is_nil(const imap_arg *arg);
/* STRING or LITERAL (what RFC 3501 calls "string"). */
bool imap_arg_is_string(const imap_arg *arg);
/* ATOM, STRING or LITERAL ("astring"): its bytes and length; NULL for NIL and lists. */
const char *imap_arg_str(const imap_arg *arg, size_t *len);
/* A number: an atom of 1 or more ASCII digits whose value fits. 0 and *out set, or -1 and *out
 * untouched (sign, space, letters, empty, overflow). */
int imap_arg_as_u32(const imap_arg *arg, uint32_t *out);
int imap_arg_as_u64(const imap_arg *arg, uint64_t *out);
/* A list: its items and count (*count 0 and the result NULL for "()"); NULL and *count 0 when
 * arg is not a list. count may be NULL. */
const imap_arg *imap_arg_list(const imap_arg *arg, size_t *count);
/* In a FETCH list (name value name value ...), the value of the item whose name atom equals
 * name case-insensitively: "UID", "FLAGS", "BODY[HEADER.FIELDS (FROM SUBJECT)]" (as the server
 * writes it: no ".PEEK", its own spacing). NULL when absent or fetch_list is not a list. */
const imap_arg *imap_fetch_item(const imap_arg *fetch_list, const char *name);

/* "* <number> <name> ..." (EXISTS, EXPUNGE, RECENT, FETCH): true and *num set (num may be
 * NULL) when r is that untagged response. */
bool imap_response_is_numbered(const imap_response *r, const char *name, uint32_t *num);
/* "* <name> ..." data response (CAPABILITY, FLAGS, LIST, SEARCH, ...). */
bool imap_response_is_data(const imap_response *r, const char *name);
/* The response code's name is name ("UIDVALIDITY", "ALERT", ...), case-insensitively. */
bool imap_response_code_is(const imap_response *r, const char *name);
/* "OK", "NO", "BAD", "PREAUTH", "BYE" or "" for IMAP_STATUS_NONE. */
const char *imap_status_name(imap_status s);

/* Append a canonical one-line rendering of r to out (for traces and tests), e.g.
 *   untagged OK [UIDVALIDITY 3857529045] "UIDs valid"
 *   untagged 12 FETCH (UID 3 BODY[HEADER] {5}"ab\r\n\x00")
 *   tagged a1 OK [READ-WRITE] "SELECT completed"
 *   continuation "idling"
 * strings and literal bytes are quoted C-style (\\ \" \r \n \t \xNN). Never log what may hold
 * credentials or message content without the caller's say-so. 0, or -1 when out's max would
 * be passed (out then holds a prefix). */
int imap_response_format(const imap_response *r, strbuf *out);
#endif
