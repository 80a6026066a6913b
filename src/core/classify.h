/* classify.h — R22 and R23: what an inbound message is — a human message, a reply to our mail,
 * an auto-reply / out-of-office, or a bounce — which of our outbound messages it concerns, and
 * the return date an auto-reply states. Pure: no I/O and no MIME. The engine fills
 * classify_input from the parsed message (mail/message_parse.h; the field names match) and
 * answers "did we send this Message-ID?" through a callback backed by the store.
 *
 * Decision, in this order (the first that applies wins; bounce > auto_reply > reply > human):
 *   bounce      R23: a DSN (is_dsn) with a recipient whose Status class is 5 (hard) or 4
 *               (soft); without a usable Status, Action "failed" is hard and "delayed" soft.
 *               A DSN whose recipients all succeeded (2.x.x, delivered/relayed/expanded) is not
 *               a bounce. Heuristic: From mailer-daemon@ / postmaster@ (any domain, or no
 *               domain) with an X-Failed-Recipients field: hard.
 *   auto_reply  R23: Auto-Submitted other than "no" (RFC 3834; Google's vacation responder
 *               sends "auto-replied"); X-Autoreply or X-Autorespond present (and not "no");
 *               Precedence: auto_reply; Precedence: bulk or junk together with an auto-reply
 *               subject; a Microsoft marker (X-MS-Exchange-Inbox-Rules-Loop,
 *               X-MS-Exchange-Generated-Message-Source or X-Auto-Response-Suppress) together
 *               with an auto-reply subject; or an auto-reply subject alone. Auto-reply subjects
 *               start with (case-insensitive, after leading white space): "Out of Office",
 *               "Out of the office", "Automatic reply", "Auto:", "Autoreply", "Auto-Reply",
 *               "Auto Reply", "Auto Response", "Automatic response", "Abwesenheitsnotiz",
 *               "Automatische Antwort", "Réponse automatique", "Reponse automatique",
 *               "Respuesta automática", "Risposta automatica", "Automatisch antwoord".
 *   reply       R22: In-Reply-To or a References id is one we sent (is_ours), or References /
 *               In-Reply-To carries our tracking id (classify_tracking_id_format).
 *   human       anything else.
 * X-Auto-Response-Suppress alone is not enough (Outlook sets it on ordinary mail too), nor is
 * a null Return-Path.
 *
 * The outbound message concerned (outbound_id) is looked for whatever the kind, so an
 * auto-reply or a bounce to our mail still names it:
 *   bounce: the returned message's Message-ID (original_message_id) — confirmed when is_ours
 *           knows it, or when the returned message's References carry our tracking id;
 *           without a returned message, the reply rules below;
 *   others: In-Reply-To if ours, else the References ids from the newest to the oldest, else
 *           our tracking id in In-Reply-To / References (newest first).
 * is_ours is called at most CLASSIFY_LOOKUPS_MAX times per message. */
#ifndef MF_CLASSIFY_H
#define MF_CLASSIFY_H
#include <stddef.h>
#include <time.h>

#define CLASSIFY_ID_MAX 1000          /* bytes of a Message-ID + NUL (ids are 1..998 bytes) */
#define CLASSIFY_TRACKING_ID_MAX 65   /* bytes of a tracking id + NUL */
#define CLASSIFY_TRACKING_HEADER_MAX 96 /* "<mf-" id "@mailfleet>" + NUL */
#define CLASSIFY_TRACKING_PREFIX "mf-"
#define CLASSIFY_TRACKING_DOMAIN "mailfleet"
#define CLASSIFY_LOOKUPS_MAX 64      /* is_ours calls per message */
#define CLASSIFY_RETURN_SCAN_MAX 16384 /* bytes of text classify_return_date looks at */

typedef enum classify_kind {
    CLASSIFY_HUMAN = 0,
    CLASSIFY_REPLY,
    CLASSIFY_AUTO_REPLY,
    CLASSIFY_BOUNCE,
} classify_kind;

typedef enum classify_bounce {
    CLASSIFY_BOUNCE_NONE = 0,
    CLASSIFY_BOUNCE_HARD, /* status class 5: mark the prospect bounced */
    CLASSIFY_BOUNCE_SOFT, /* status class 4: delayed, may still arrive */
} classify_bounce;

/* How outbound_id was found. */
typedef enum classify_match {
    CLASSIFY_MATCH_NONE = 0,
    CLASSIFY_MATCH_IN_REPLY_TO,      /* In-Reply-To is ours (is_ours) */
    CLASSIFY_MATCH_REFERENCES,       /* a References id is ours (is_ours) */
    CLASSIFY_MATCH_TRACKING_ID,      /* our tracking id: outbound_id is "mf-<id>@mailfleet" */
    CLASSIFY_MATCH_ORIGINAL,         /* a bounce's returned Message-ID, known to is_ours */
    CLASSIFY_MATCH_ORIGINAL_UNKNOWN, /* a bounce's returned Message-ID is_ours did not know */
} classify_match;

/* One DSN recipient (message_parse.h: msg_dsn_recipient); NULL fields mean "". */
typedef struct classify_dsn_recipient {
    const char *final_recipient;
    const char *action;
    const char *status;
    const char *diagnostic_code;
} classify_dsn_recipient;

/* What the classifier looks at. Every string may be NULL (= absent); ids are without <>. */
typedef struct classify_input {
    const char *from_addr;
    const char *subject;
    const char *in_reply_to;
    const char *const *references; /* header order: oldest first */
    size_t n_references;
    /* the raw marker header values (message_parse.h: msg_markers) */
    const char *auto_submitted;
    const char *x_autoreply;
    const char *x_autorespond;
    const char *precedence;
    const char *x_auto_response_suppress;
    const char *x_ms_inbox_rules_loop;
    const char *x_ms_generated_message_source;
    const char *x_failed_recipients;
    int return_path_empty;
    /* RFC 3464 */
    int is_dsn;
    const classify_dsn_recipient *dsn;
    size_t n_dsn;
    const char *original_message_id;
    const char *const *original_references;
    size_t n_original_references;
    /* for the return date of an auto-reply */
    const char *body;
    time_t received; /* when the message arrived (IMAP INTERNALDATE, else Date); 0 = unknown */
} classify_input;

/* Did we send this Message-ID (without <>)? 1 yes, 0 no. The engine answers from the store. */
typedef int (*classify_is_ours_fn)(const char *message_id, void *ctx);

typedef struct classify_result {
    classify_kind kind;
    const char *reason; /* static text naming the rule that decided, e.g. "Auto-Submitted" */
    classify_match match;
    char outbound_id[CLASSIFY_ID_MAX]; /* the id of ours it concerns (no <>), or "" */
    char tracking_id[CLASSIFY_TRACKING_ID_MAX]; /* match TRACKING_ID: the bare tracking id */
    /* bounce */
    classify_bounce bounce;
    char bounce_recipient[CLASSIFY_ID_MAX]; /* the failed recipient's address, or "" */
    char bounce_status[16];                 /* "5.1.1", or "" */
    /* auto_reply: the return date stated in the subject or body, 00:00 UTC of that day; 0 */
    time_t return_date;
} classify_result;

/* Classify in (see the rules above) into *out (always fully set). is_ours may be NULL: then
 * only the tracking id matches. */
void classify_message(const classify_input *in, classify_is_ours_fn is_ours, void *ctx,
                      classify_result *out);

/* "human", "reply", "auto_reply", "bounce"; parse returns -1 for anything else. */
const char *classify_kind_name(classify_kind kind);
int classify_kind_parse(const char *name, classify_kind *out);
/* "none", "hard", "soft" */
const char *classify_bounce_name(classify_bounce bounce);

/* R22 tracking id, for the composer: writes "<mf-ID@mailfleet>" (a msg-id, ready for the
 * References field) into out. ID is 1..64 characters of [A-Za-z0-9_-]. 0 ok; -1 (out set to
 * "") when the id is not of that form or outlen is too small. */
int classify_tracking_id_format(const char *tracking_id, char *out, size_t outlen);
/* Is message_id (with or without <>) our tracking id form? 1 and the bare ID copied to out;
 * 0 otherwise (out set to ""). The prefix and the domain compare case-insensitively. */
int classify_tracking_id_parse(const char *message_id, char *out, size_t outlen);

/* The return date an out-of-office text states, e.g. "I will be back on 3 December",
 * "returning Monday, December 3rd", "back on 2026-12-03", "until 03.12.2026", "out of the office
 * until Dec 3", "bis zum 3. Dezember", "de retour le 3 décembre", "back on Monday". A date is
 * taken only shortly after a cue word (back, return(ing), until, till, through, bis, zurück,
 * wieder, ab, retour, jusqu'au ...). Day-month-year orders: ISO yyyy-mm-dd; dd.mm.yyyy and
 * dd.mm.; d/m/yyyy and m/d/yyyy only when one side is over 12 (otherwise ambiguous, skipped);
 * "3 December [2026]", "3rd of Dec", "December 3rd[, 2026]" with English, German and French
 * month names. Without a year, the date is the first such day on or after the day of received
 * (so "3 January" received on 20 December is next year's); a weekday alone ("back on Monday")
 * is the first such weekday after the day of received. A stated date
 * before received's day or more than two years after it is ignored, and so is a date without
 * a year when received is 0. Looks at the first CLASSIFY_RETURN_SCAN_MAX bytes of text.
 * 1 and *out = 00:00:00 UTC of that day; 0 and *out = 0 when none. */
int classify_return_date(const char *text, time_t received, time_t *out);
#endif
