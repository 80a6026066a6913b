/* message_parse.h — one raw RFC 5322 message (bytes from IMAP, untrusted) into a plain C struct:
 * the thread headers R22 needs (Message-ID, In-Reply-To, References), addresses, subject, date,
 * the raw auto-reply markers R23 looks at, the text body and a snippet, and for an RFC 3464
 * delivery status notification its per-recipient fields and the returned message's Message-ID.
 * MIME is GMime 3's job (RFC 2045-2049, RFC 2047 words, charsets); this module only walks the
 * tree GMime builds and copies bounded, valid UTF-8 out of it. Uses src/util only.
 *
 * Contract for every string in message_parsed: never NULL ("" when absent), valid UTF-8, no NUL
 * inside, no control characters except '\n' and '\t' in body, and no longer than the limit
 * below (longer values are cut on a character boundary; over-long ids are dropped, since a cut
 * id could never match). Arrays are NULL exactly when their count is 0.
 *
 * Charset names: GMime keeps every charset name it meets for the life of the process, so only
 * names iconv knows (or GMime's own aliases, e.g. ks_c_5601-1987) reach it; text in any other
 * charset is decoded with the fallback charsets (UTF-8, then windows-1252) — memory stays flat
 * however many made-up names arrive.
 *
 * Threads: GMime is initialised once (message_parse_init, also called by message_parse); after
 * that, message_parse may run on several threads at once (each call has its own GMime objects;
 * the shared parser options are read-only; GMime locks its own caches). */
#ifndef MF_MESSAGE_PARSE_H
#define MF_MESSAGE_PARSE_H
#include <stddef.h>
#include <time.h>
#include "util/error.h"

#define MSG_PARSE_MAX_SIZE (64u * 1024 * 1024) /* larger raw messages are refused */
#define MSG_ID_MAX 998                         /* bytes of one Message-ID (RFC 5322 line limit) */
#define MSG_REFS_MAX 100        /* References kept: the first (thread root) and the last 99 */
#define MSG_ADDRS_MAX 100       /* addresses kept per To / Cc list */
#define MSG_ADDR_MAX 320        /* bytes of one address (64 + @ + 255) */
#define MSG_NAME_MAX 256        /* bytes of one display name */
#define MSG_SUBJECT_MAX 2048    /* bytes of the decoded Subject */
#define MSG_MARKER_MAX 512      /* bytes of each auto-reply marker header value */
#define MSG_BODY_MAX (256 * 1024) /* bytes of the text body */
#define MSG_SNIPPET_CHARS 200   /* characters (code points) of the snippet */
#define MSG_DSN_MAX 50          /* DSN recipients kept */
#define MSG_DSN_FIELD_MAX 1024  /* bytes of each DSN field value */

typedef struct msg_address {
    char *addr; /* "local@domain" as written (IDN domains as given); "" when none */
    char *name; /* display name, RFC 2047 decoded; "" when none */
} msg_address;

/* One per-recipient block of a message/delivery-status part (RFC 3464 section 2.3). */
typedef struct msg_dsn_recipient {
    char *final_recipient;    /* address only: the "rfc822;" type and any <> removed */
    char *original_recipient; /* likewise; "" when the MTA did not give it */
    char *action;             /* lower case: "failed", "delayed", "delivered", "relayed", ... */
    char *status;             /* "5.1.1": the first d.ddd.ddd token of the field, else "" */
    char *diagnostic_code;    /* unfolded field value, e.g. "smtp; 550 5.1.1 <a@b>: unknown" */
} msg_dsn_recipient;

/* Raw values of the header fields that mark automatic mail (R23), unfolded and RFC 2047
 * decoded by GMime, cut to MSG_MARKER_MAX; "" when the field is absent. Classification is
 * core/classify's job, not this module's. */
typedef struct msg_markers {
    char *auto_submitted;                /* RFC 3834 Auto-Submitted */
    char *x_autoreply;                   /* X-Autoreply */
    char *x_autorespond;                 /* X-Autorespond */
    char *precedence;                    /* Precedence */
    char *x_auto_response_suppress;      /* X-Auto-Response-Suppress (Microsoft) */
    char *x_ms_inbox_rules_loop;         /* X-MS-Exchange-Inbox-Rules-Loop */
    char *x_ms_generated_message_source; /* X-MS-Exchange-Generated-Message-Source */
    char *x_failed_recipients;           /* X-Failed-Recipients (Exim and others) */
    char *return_path;                   /* Return-Path as written */
    int return_path_empty;               /* Return-Path is the null path "<>" */
    char *content_type;                  /* top-level Content-Type header value as written */
} msg_markers;

typedef struct message_parsed {
    size_t size;    /* bytes of the raw message */
    int malformed;  /* 1: GMime found no message at all (no header block); every other field
                     * is then empty. The message is still returned, for the caller to keep. */
    char *message_id;  /* without <> */
    char *in_reply_to; /* the first id of In-Reply-To, without <> */
    char **references; /* ids without <>, in header order */
    size_t n_references;
    msg_address from; /* the first mailbox of From */
    msg_address *to;
    size_t n_to;
    msg_address *cc;
    size_t n_cc;
    char *subject; /* RFC 2047 decoded */
    time_t date;   /* Date as UTC seconds; 0 when missing or unparsable */
    msg_markers markers;

    /* The text: the first inline text/plain part (not inside an attached message), else the
     * first text/html part reduced to text; transfer encoding undone and converted to UTF-8
     * from the part's charset (an unknown or wrong charset falls back to windows-1252, then to
     * replacement characters); line ends are "\n". */
    char *body;
    size_t body_len;
    int body_truncated; /* the text was longer than MSG_BODY_MAX */
    int body_from_html; /* the text came from text/html */
    char *snippet;      /* the first MSG_SNIPPET_CHARS characters of body, white space collapsed */

    /* RFC 3464: set when the top-level type is multipart/report; report-type=delivery-status
     * (or RFC 6533 global-delivery-status). */
    int is_dsn;
    char *dsn_reporting_mta; /* Reporting-MTA without its "dns;" type */
    msg_dsn_recipient *dsn;
    size_t n_dsn;
    /* The message that came back: the headers of the first message/rfc822, message/global,
     * text/rfc822-headers or message/global-headers part below the top level (any message, not
     * only DSNs: the classifier decides what it means). */
    char *original_message_id;   /* without <> */
    char **original_references;  /* its References (same limits as references) */
    size_t n_original_references;
} message_parsed;

/* Initialise GMime once for the process (safe to call many times and from many threads).
 * message_parse calls it itself. */
void message_parse_init(void);
/* Release GMime's global state (g_mime_shutdown) at process exit, e.g. at the end of a test
 * program so leak checkers stay quiet. No message_parse call may follow. */
void message_parse_shutdown(void);

/* Parse len bytes at data (need not be NUL-terminated; may contain NULs). On success returns 0
 * and *out owns a new message_parsed (free with message_parsed_free), also for input that is
 * not a message at all (malformed = 1). Returns -1 with err filled ("message_too_large", 413)
 * only when len > MSG_PARSE_MAX_SIZE; *out is then NULL. */
int message_parse(const void *data, size_t len, message_parsed **out, mf_error *err);

/* What message_parse would report for a message whose header values and text are already
 * known — a message mailfleet composed itself (src/mail/compose.c, the stored copy of a sent
 * message), so it need not be parsed again. The values are given as written into the message
 * (ids without <>, names and subject unencoded UTF-8, addresses as written) and the text as the
 * text/plain part holds it once its transfer encoding is undone (UTF-8, any line ends). Every
 * value goes through the same cleaning and limits as in message_parse, so the result is the
 * same as parsing the message — for values that GMime writes and reads back unchanged, which
 * is the caller's promise (compose.c checks it: compose_message.copy). Header fields that are
 * not given (the auto-reply markers, DSN fields) are "". */
typedef struct message_known {
    size_t size; /* bytes of the raw message */
    const char *message_id, *in_reply_to;
    const char *const *references;
    size_t n_references;
    const char *from_addr, *from_name;
    const char *const *to_addrs, *const *to_names; /* n_to each; names may be NULL */
    size_t n_to;
    const char *const *cc_addrs, *const *cc_names;
    size_t n_cc;
    const char *subject;
    time_t date;
    const char *text; /* need not be NUL-terminated */
    size_t text_len;
} message_known;
message_parsed *message_parsed_from_known(const message_known *k);

/* Free *m and everything in it, set *m = NULL; NULL or *m == NULL is fine. */
void message_parsed_free(message_parsed **m);
#endif
