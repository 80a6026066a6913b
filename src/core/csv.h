/* csv.h — incremental RFC 4180 CSV parser for prospect imports (R18: "prospects (import by JSON
 * array and CSV, with custom fields, tags and validation of addresses)"), and the pure helpers
 * on top: delimiter detection, mapping a header row to prospect fields, splitting a tags field.
 * Pure: no I/O, no global state (safe on any thread; one parser per thread at a time).
 *
 *     csv_parser *p = csv_parser_new(NULL);                 // NULL: ',' and default limits
 *     for each chunk read (at most max_buffered bytes, default 1 MiB):
 *         if (csv_parser_feed(p, buf, n) < 0) { ... }       // only fails once the parser failed
 *         while ((res = csv_parser_next_row(p, &row, &err)) == CSV_ROW) use(row);
 *         if (res == CSV_ERROR) { report err.message; break; }   // else CSV_NEED_MORE
 *     at end of input:
 *     csv_parser_finish(p);
 *     while ((res = csv_parser_next_row(p, &row, &err)) == CSV_ROW) use(row);
 *     // res is CSV_END (every row delivered) or CSV_ERROR
 *     csv_parser_free(&p);
 *
 * Grammar (RFC 4180, with what real exports need)
 *   file     = [BOM] *(row / blank-line) [last row without a line break]
 *   row      = field *(DELIM field) EOL
 *   EOL      = CRLF / LF / CR               (any mix in one file)
 *   field    = quoted / unquoted
 *   quoted   = DQUOTE *(any byte but DQUOTE / DQUOTE DQUOTE) DQUOTE
 *              "" is one quote; the delimiter, CR, LF and CRLF are kept as they are
 *   unquoted = *(any byte but DELIM, DQUOTE, CR, LF)   (kept exactly: spaces are not trimmed)
 * - BOM: a UTF-8 byte order mark (EF BB BF) as the very first bytes is skipped.
 * - A blank line (EOL right at the start of a row) is skipped: it is no row and has no number.
 *   A line holding only "" or a space is a row with one field.
 * - "a,b," is a row of three fields, the last empty; ",," is three empty fields.
 * - The last row needs no line break: csv_parser_finish() ends it.
 * - Refused (CSV_ERROR): a DQUOTE inside an unquoted field ('ab"c', ' "a"'), anything but
 *   DELIM / EOL / end of input after a closing DQUOTE ('"a"b', '"a" ,'), a quoted field still
 *   open at the end of input, a NUL byte anywhere, bytes that are not valid UTF-8 (overlong
 *   forms, surrogates, above U+10FFFF, truncated sequences), and every limit below.
 *   Every delivered field is therefore valid UTF-8 without NUL.
 *
 * States (the .c has one case per state; every byte is first checked for NUL and UTF-8)
 *
 *   ROW_START --EOL--> ROW_START (blank line skipped; the LF of a CRLF is skipped too)
 *   ROW_START / FIELD_START --DQUOTE--> QUOTED --DQUOTE--> QUOTE_END --DQUOTE--> QUOTED (adds ")
 *   ROW_START / FIELD_START --DELIM--> FIELD_START (an empty field ends)
 *   ROW_START / FIELD_START --other--> UNQUOTED --DELIM--> FIELD_START
 *   FIELD_START / UNQUOTED / QUOTE_END --EOL--> ROW_START (a row is ready)
 *   UNQUOTED --DQUOTE--> FAILED        QUOTE_END --other--> FAILED
 *   end of input: ROW_START -> CSV_END; FIELD_START / UNQUOTED / QUOTE_END -> last row, then
 *   CSV_END; QUOTED -> FAILED (unterminated quoted field)
 *
 * Contract
 * - Feeding at ANY byte boundary gives the same rows and the same error (same code, message
 *   and position) as feeding everything at once.
 * - Nothing in the input is trusted: memory is bounded by the limits (a row's text by
 *   max_row_bytes, its field table by max_fields, unparsed input by max_buffered), never by
 *   what the input says.
 * - A row (fields and their bytes) lives in the parser: valid until the next call of
 *   csv_parser_next_row() or csv_parser_free(); csv_parser_feed() and csv_parser_finish() do
 *   not disturb it. Field bytes may be changed in place (csv_split_tags does), not freed.
 * - Errors are final: after CSV_ERROR every csv_parser_next_row() returns the same error and
 *   every csv_parser_feed() returns -1. err->code is one of the CSV_ERR_* strings below; the
 *   message says what and where, e.g.
 *     "a quote inside an unquoted field at row 3, column 2 (line 4, byte 57): quote the whole
 *      field and double the quotes in it"
 *   Rows are counted as delivered (the header is row 1; blank lines are not rows), columns
 *   from 1, lines from 1 (a quoted line break starts a new line), bytes from 0 including the
 *   BOM. csv_parser_error_pos() gives the same numbers to programs. */
#ifndef MF_CSV_H
#define MF_CSV_H
#include <stddef.h>
#include <stdint.h>
#include "util/error.h"

/* Options. A field left 0 takes its default, so `csv_options o = {.delimiter = ';'}` works. */
typedef struct csv_options {
    char delimiter;         /* ',' (default), ';', '\t', '|' ... any ASCII byte 0x01-0x7f but
                               '"', CR and LF (else MF_BUG): see csv_delimiter_valid() */
    int same_field_count;   /* 1: every row must have as many fields as the first row
                               (CSV_ERR_FIELD_COUNT); 0: rows may differ */
    size_t max_field_bytes; /* bytes of one field's value; default 64 KiB */
    size_t max_fields;      /* fields in one row; default 256 */
    size_t max_row_bytes;   /* bytes of one row as written (quotes, delimiters, quoted line
                               breaks; not its EOL); default 1 MiB */
    uint64_t max_rows;      /* rows delivered, the header included; default 1000000 */
    size_t max_buffered;    /* fed bytes not yet parsed; default 1 MiB, at least 4. After the
                               caller drains with csv_parser_next_row() until CSV_NEED_MORE at
                               most 2 bytes remain (the start of a possible BOM), so each feed
                               may then bring up to max_buffered - 2. */
} csv_options;

#define CSV_DEFAULT_DELIMITER ','
#define CSV_DEFAULT_MAX_FIELD_BYTES ((size_t)64 * 1024)
#define CSV_DEFAULT_MAX_FIELDS ((size_t)256)
#define CSV_DEFAULT_MAX_ROW_BYTES ((size_t)1024 * 1024)
#define CSV_DEFAULT_MAX_ROWS ((uint64_t)1000000)
#define CSV_DEFAULT_MAX_BUFFERED ((size_t)1024 * 1024)

/* err->code values (status 400 for bad input, 413 for a limit, 500 for the caller's misuse). */
#define CSV_ERR_QUOTE "csv_bad_quote"                 /* 400 stray, unterminated or misplaced " */
#define CSV_ERR_NUL "csv_nul_byte"                    /* 400 */
#define CSV_ERR_UTF8 "csv_invalid_utf8"               /* 400 (UTF-16 files get a hint) */
#define CSV_ERR_FIELD_COUNT "csv_field_count"         /* 400 same_field_count broken */
#define CSV_ERR_FIELD_TOO_LONG "csv_field_too_long"   /* 413 max_field_bytes */
#define CSV_ERR_TOO_MANY_FIELDS "csv_too_many_fields" /* 413 max_fields */
#define CSV_ERR_ROW_TOO_LONG "csv_row_too_long"       /* 413 max_row_bytes */
#define CSV_ERR_TOO_MANY_ROWS "csv_too_many_rows"     /* 413 max_rows */
#define CSV_ERR_OVERFLOW "csv_input_overflow"         /* 500 max_buffered: the caller must drain */
#define CSV_ERR_HEADER "csv_invalid_header"           /* 400, rule R18: csv_prospect_columns() */
#define CSV_ERR_TAGS "csv_too_many_tags"              /* 400, rule R18: csv_split_tags() */

typedef struct csv_row {
    char **fields;      /* nfields NUL-terminated UTF-8 strings without NUL inside */
    const size_t *lens; /* lens[i] == strlen(fields[i]) */
    size_t nfields;     /* >= 1 */
    uint64_t number;    /* 1-based among delivered rows (the header is 1) */
    uint64_t line;      /* 1-based line of the row's first byte */
    uint64_t offset;    /* 0-based byte offset of the row's first byte in the input */
} csv_row;

/* Where an error happened (see the contract for how each number counts): the row and column
 * the offending byte belongs to (a byte where a row would start is in column 1 of the next
 * row), or for an unterminated quoted field where its opening quote is. */
typedef struct csv_pos {
    uint64_t row;
    size_t column;
    uint64_t line;
    uint64_t offset;
} csv_pos;

enum csv_result {
    CSV_ROW = 0,   /* *row is the next row */
    CSV_NEED_MORE, /* every byte fed is consumed: feed more, or csv_parser_finish() */
    CSV_END,       /* after csv_parser_finish(): every row has been delivered */
    CSV_ERROR,     /* final; err says what and where */
};

typedef struct csv_parser csv_parser;

/* opt may be NULL (all defaults); it is copied. Never fails (allocation aborts); an invalid
 * delimiter is a programmer error (MF_BUG). */
csv_parser *csv_parser_new(const csv_options *opt);
/* Frees the parser and the row last returned; sets *p to NULL. NULL-safe. */
void csv_parser_free(csv_parser **p);
/* The options in force (defaults filled in). */
const csv_options *csv_parser_options(const csv_parser *p);

/* Give the parser len bytes of input (copied before it returns). 0, or -1 when the parser has
 * failed (now or before): csv_parser_next_row() says why. Fails with CSV_ERR_OVERFLOW when
 * more than max_buffered unparsed bytes would pile up. Feeding after csv_parser_finish() is a
 * programmer error (MF_BUG). */
int csv_parser_feed(csv_parser *p, const void *data, size_t len);
/* End of input: the last row without a line break becomes deliverable; an open quoted field
 * or a truncated UTF-8 sequence becomes an error. Idempotent. */
void csv_parser_finish(csv_parser *p);
/* Take the next row (*row set only on CSV_ROW). Invalidates the row returned before. err may
 * be NULL; it is filled only on CSV_ERROR. */
enum csv_result csv_parser_next_row(csv_parser *p, const csv_row **row, mf_error *err);
/* After a failure: where it happened; NULL while healthy. */
const csv_pos *csv_parser_error_pos(const csv_parser *p);

/* fields[i], or "" when the row is shorter (i >= nfields). */
const char *csv_row_field(const csv_row *row, size_t i);

/* 1 when c can be a delimiter (see csv_options.delimiter). */
int csv_delimiter_valid(int c);
/* Guess the delimiter from the header line: after an optional BOM, up to the first line break
 * outside quotes (or len, or 64 KiB), count ',' ';' and '\t' outside quotes and return the most
 * frequent; ties go in that order, and ',' when there is none. */
char csv_detect_delimiter(const void *data, size_t len);

/* ---- prospects (R18) ------------------------------------------------------------------------
 * A header row maps each column to a prospect field. The header name of a column is turned
 * into a NAME: ASCII letters lower-cased, every run of other bytes (spaces, '-', '_', '.',
 * punctuation, non-ASCII) becomes one '_', and '_' is trimmed at both ends:
 * "E-Mail Address" -> e_mail_address, " First Name " -> first_name, "Phone #" -> phone.
 * NAMEs of the standard fields (any case and punctuation, as above):
 *   email       email, e_mail, email_address, e_mail_address
 *   first_name  first_name, firstname, given_name
 *   last_name   last_name, lastname, surname, family_name
 *   company     company, company_name, organisation, organization, account
 *   tags        tags  (a list separated by ';' or '|' in one field: csv_split_tags())
 * Every other column is a custom field called by its NAME (at most CSV_FIELD_NAME_MAX bytes).
 * Errors (400 CSV_ERR_HEADER, rule R18, the message names the column): no email column; a
 * column whose NAME is empty ("", "  ", "#", "名前") or longer than CSV_FIELD_NAME_MAX; two
 * columns with the same field ("Email" and "E-mail", or "Phone" and "phone!"). */
#define CSV_FIELD_NAME_MAX 64

typedef enum csv_prospect_field {
    CSV_PROSPECT_EMAIL = 1,
    CSV_PROSPECT_FIRST_NAME,
    CSV_PROSPECT_LAST_NAME,
    CSV_PROSPECT_COMPANY,
    CSV_PROSPECT_TAGS,
    CSV_PROSPECT_CUSTOM,
} csv_prospect_field;

#define CSV_NO_COLUMN SIZE_MAX

typedef struct csv_prospect_column {
    csv_prospect_field field;
    char name[CSV_FIELD_NAME_MAX + 1]; /* "email", "first_name", ..., or the custom NAME */
} csv_prospect_column;

typedef struct csv_prospect_map {
    size_t ncolumns;              /* the header's nfields */
    csv_prospect_column *columns; /* one per header column, in order */
    size_t ncustom;               /* columns with CSV_PROSPECT_CUSTOM */
    /* column index of each standard field, CSV_NO_COLUMN when absent (email never is) */
    size_t email, first_name, last_name, company, tags;
} csv_prospect_map;

/* Map header's columns (see above). 0 and *out (free with csv_prospect_map_free), or -1 with
 * *out NULL and err filled. A data row's value of column i is csv_row_field(row, i). */
int csv_prospect_columns(const csv_row *header, csv_prospect_map **out, mf_error *err);
void csv_prospect_map_free(csv_prospect_map **m);
/* The NAME of one header cell (as above) into out; its length, 0 when empty, or -1 when it
 * would be longer than CSV_FIELD_NAME_MAX. */
int csv_field_name(const char *header, char out[CSV_FIELD_NAME_MAX + 1]);

/* Split a tags field IN PLACE at ';' and '|' (NULs are written into field): each tag is
 * trimmed of spaces and tabs, empty ones and repeats (same bytes) are dropped, order kept.
 * Returns how many tags went to out[0..], or -1 when there are more than max (400
 * CSV_ERR_TAGS, rule R18; field is then partly split). The caller validates each tag
 * (continuity_tag_valid()). */
int csv_split_tags(char *field, char **out, size_t max, mf_error *err);
#endif
