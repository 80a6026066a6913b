/* compose.h — one outgoing RFC 5322 message, ready for SMTP DATA, from a plain struct: sender
 * (R17 name and signature), recipients, subject, date, a fresh Message-ID on the sending
 * mailbox's domain, the thread headers of a reply with our tracking id in References (R22),
 * Reply-To to the master inbox (R19), a text body with an optional HTML alternative, and
 * RFC 8058 one-click unsubscribe for sequence mail (R25). MIME is GMime 3's job (RFC 2045-2049,
 * RFC 2047 words, folding); this module validates the input and puts the pieces together.
 * Uses src/util, and core/classify for the tracking id form (the one definition of it).
 *
 * The message (compose_build):
 *   Date: the given instant, in UTC ("+0000")
 *   From: "Name" <addr>   To: / Cc: as given (names optional)   Reply-To: when reply_to.addr
 *   Subject: RFC 2047 UTF-8 words when not ASCII (and to fold over-long words)
 *   Message-Id: <R@domain>: R = 24 characters of base64url from 18 random bytes (libsodium),
 *               domain = the domain of from.addr, lower-cased
 *   In-Reply-To: <in_reply_to>                                  (when given)
 *   References: <mf-T@mailfleet> <references...> <in_reply_to>  (when any of them is given):
 *               the tracking id first (it survives clients that trim References to the first
 *               and the last ids; the parent stays last, as threading expects), then the
 *               parent's References, then the parent itself; duplicates dropped; more than
 *               COMPOSE_REFS_MAX ids keep the tracking id, the thread root and the newest.
 *   List-Unsubscribe: <https://...>  List-Unsubscribe-Post: List-Unsubscribe=One-Click
 *               (when unsubscribe_url is given; RFC 8058 wants the message DKIM-signed over
 *               both fields, which is the submission server's job)
 *   MIME-Version: 1.0
 *   body: text/plain; charset=utf-8, or multipart/alternative of text/plain and text/html
 *         when html is given. Each part is UTF-8 and 7bit when it is ASCII with short lines,
 *         else quoted-printable or base64 as GMime judges best. The signature is appended to
 *         both: text "\n-- \n" + signature; HTML an escaped copy (line breaks as <br>) in
 *         <div class="mf-signature">, before </body> when there is one.
 * The bytes are 7-bit ASCII with CRLF line ends (no bare CR or LF) and no line over 998
 * bytes; compose_build checks this before returning. Dot-stuffing is SMTP's job.
 *
 * Validation: every field is checked and the first problem is returned as 400
 * invalid_request whose message starts with the field, e.g. "to[1].addr: not an email
 * address". Addresses: ASCII local@domain, local part a dot-atom of 1..64 characters, domain
 * of LDH labels with at least one dot, at most COMPOSE_ADDR_MAX bytes (quoted local parts,
 * address literals and non-ASCII addresses are refused: no SMTPUTF8). Header values (names,
 * subject, ids, URL): valid UTF-8 without control characters (CR and LF above all: no header
 * injection; TAB is allowed in names and the subject). Bodies: valid UTF-8 (any line ends; they
 * become CRLF). Sizes: the COMPOSE_*_MAX below.
 *
 * Threads: any number of compose_build calls may run at once (GMime is initialised once
 * through message_parse_init; each call has its own objects). */
#ifndef MF_COMPOSE_H
#define MF_COMPOSE_H
#include <stddef.h>
#include <time.h>
#include "util/error.h"

#define COMPOSE_RCPT_MAX 100                  /* addresses in to + cc */
#define COMPOSE_ADDR_MAX 254                  /* bytes of an address */
#define COMPOSE_NAME_MAX 256                  /* bytes of a display name */
#define COMPOSE_SUBJECT_MAX 998               /* bytes of the subject (UTF-8, unencoded) */
#define COMPOSE_ID_MAX 250                    /* bytes of a message id without <> */
#define COMPOSE_REFS_IN_MAX 1000              /* references accepted */
#define COMPOSE_REFS_MAX 50                   /* References ids written */
#define COMPOSE_URL_MAX 900                   /* bytes of the unsubscribe URL */
#define COMPOSE_TEXT_MAX (2 * 1024 * 1024)    /* bytes of the text body */
#define COMPOSE_HTML_MAX (4 * 1024 * 1024)    /* bytes of the HTML body */
#define COMPOSE_SIGNATURE_MAX (16 * 1024)     /* bytes of the signature */
#define COMPOSE_MESSAGE_MAX (16 * 1024 * 1024) /* bytes of the raw message */
#define COMPOSE_DATE_MAX ((time_t)253402300799LL) /* 9999-12-31T23:59:59Z */

typedef struct compose_address {
    const char *name; /* display name, UTF-8; NULL or "" = none */
    const char *addr; /* local@domain */
} compose_address;

typedef struct compose_input {
    compose_address from;       /* R17: the mailbox's address and sender name (required) */
    const compose_address *to;  /* to[0..n_to) */
    size_t n_to;
    const compose_address *cc;  /* cc[0..n_cc); n_to + n_cc >= 1 */
    size_t n_cc;
    compose_address reply_to;   /* R19: the master inbox; addr NULL or "" = no Reply-To */
    const char *subject;        /* required, may be "" */
    time_t date;                /* 1970-01-01T00:00:01Z .. COMPOSE_DATE_MAX */
    /* thread (replies and follow-ups); ids with or without <> */
    const char *in_reply_to;             /* the parent's Message-ID, or NULL */
    const char *const *references;       /* the parent's References, oldest first */
    size_t n_references;
    const char *tracking_id;    /* R22: bare id for classify_tracking_id_format, or NULL. Give
                                 * one per message (the send's id): messages sharing one are
                                 * threaded together by some clients. */
    const char *text;           /* required, may be "" */
    const char *html;           /* NULL = text only */
    const char *signature;      /* R17: plain text; NULL or "" = none */
    const char *unsubscribe_url; /* R25: https URL for one-click unsubscribe; NULL = none */
} compose_input;

typedef struct compose_message {
    char *data;       /* the raw message (CRLF), NUL-terminated for convenience */
    size_t len;       /* bytes of data, without that NUL */
    char *message_id; /* "R@domain", without <> (what message_parse reports for it) */
    char *copy;       /* what message_parse would report for data, as a small JSON text for
                       * compose_copy_read (kept beside data in the outbox, so the stored copy
                       * of the sent message needs no parse); NULL when a value of this message
                       * might not read back unchanged through GMime (then parse data) */
} compose_message;

/* Build the message. 0 and *out owns a new compose_message (free with compose_message_free);
 * -1 with err filled (400 invalid_request naming the field; 413 message_too_large; 500
 * internal) and *out NULL. */
int compose_build(const compose_input *in, compose_message **out, mf_error *err);

/* Free *m and set it to NULL; NULL or *m == NULL is fine. */
void compose_message_free(compose_message **m);

struct message_parsed;
/* The message_parse result of a composed message from its copy (compose_message.copy) and its
 * bytes (data, len): the same as message_parse(data, len) gives, without GMime. NULL when copy
 * is NULL or not a copy this version wrote (then parse data). */
struct message_parsed *compose_copy_read(const char *copy, const char *data, size_t len);

/* The SMTP envelope recipients: the to and cc addresses in that order, each once (compared
 * ASCII case-insensitively; the first spelling is kept). */
typedef struct compose_rcpts {
    char **addrs;
    size_t n;
} compose_rcpts;

/* Validates to and cc as compose_build does. 0 and *out owns a new list (free with
 * compose_rcpts_free); -1 with err filled and *out NULL. */
int compose_envelope(const compose_input *in, compose_rcpts **out, mf_error *err);
void compose_rcpts_free(compose_rcpts **r);
#endif
