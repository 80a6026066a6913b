/* fuzz_message.c — libFuzzer target for src/mail/message_parse.c (through GMime) and
 * src/core/classify.c: arbitrary bytes as a raw inbound message, parsed, then classified the
 * way the engine does; the same bytes also go to classify_return_date as text. Besides
 * ASan/UBSan/LSan it aborts when a contract is broken:
 *   - message_parse.h: returns 0 for every input up to MSG_PARSE_MAX_SIZE; every string is
 *     non-NULL, valid UTF-8, within its limit, without control characters (body: '\n', '\t'
 *     allowed); arrays are NULL exactly when empty and within their counts; ids are non-empty;
 *     body_len is the body's length; the snippet has at most MSG_SNIPPET_CHARS characters;
 *     a malformed result is empty;
 *   - classify.h: kind and bounce in range and consistent (bounce set only for a bounce), a
 *     reason given, outbound_id set exactly when matched, a return date only for an auto-reply
 *     and then at 00:00 UTC, on or after the day received and at most two years later;
 *     is_ours called at most CLASSIFY_LOOKUPS_MAX times. */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core/classify.h"
#include "mail/message_parse.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_message: invariant broken at line %d: %s\n", __LINE__, #cond);  \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define RECEIVED ((time_t)1796117400) /* 2026-12-01 09:30 UTC */

static void check_str(const char *s, size_t max, int body)
{
    CHECK(s != NULL);
    size_t n = strlen(s);
    CHECK(n <= max);
    CHECK(g_utf8_validate(s, (gssize)n, NULL));
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) CHECK(body && (c == '\n' || c == '\t'));
    }
}

static void check_ids(char **ids, size_t n)
{
    CHECK(n <= MSG_REFS_MAX);
    CHECK((ids == NULL) == (n == 0));
    for (size_t i = 0; i < n; i++) {
        check_str(ids[i], MSG_ID_MAX, 0);
        CHECK(ids[i][0] != '\0');
    }
}

static void check_addrs(const msg_address *a, size_t n)
{
    CHECK(n <= MSG_ADDRS_MAX);
    CHECK((a == NULL) == (n == 0));
    for (size_t i = 0; i < n; i++) {
        check_str(a[i].addr, MSG_ADDR_MAX, 0);
        check_str(a[i].name, MSG_NAME_MAX, 0);
    }
}

static void check_parsed(const message_parsed *m, size_t size)
{
    CHECK(m->size == size);
    check_str(m->message_id, MSG_ID_MAX, 0);
    check_str(m->in_reply_to, MSG_ID_MAX, 0);
    check_ids(m->references, m->n_references);
    check_str(m->from.addr, MSG_ADDR_MAX, 0);
    check_str(m->from.name, MSG_NAME_MAX, 0);
    check_addrs(m->to, m->n_to);
    check_addrs(m->cc, m->n_cc);
    check_str(m->subject, MSG_SUBJECT_MAX, 0);
    CHECK(m->date >= 0);
    const msg_markers *k = &m->markers;
    const char *mk[] = {k->auto_submitted, k->x_autoreply, k->x_autorespond, k->precedence,
                        k->x_auto_response_suppress, k->x_ms_inbox_rules_loop,
                        k->x_ms_generated_message_source, k->x_failed_recipients,
                        k->return_path, k->content_type};
    for (size_t i = 0; i < sizeof(mk) / sizeof(mk[0]); i++) check_str(mk[i], MSG_MARKER_MAX, 0);
    CHECK(k->return_path_empty == 0 || k->return_path_empty == 1);
    check_str(m->body, MSG_BODY_MAX, 1);
    CHECK(strlen(m->body) == m->body_len);
    check_str(m->snippet, MSG_SNIPPET_CHARS * 4, 0);
    CHECK(g_utf8_strlen(m->snippet, -1) <= MSG_SNIPPET_CHARS);
    CHECK(m->snippet[0] != ' ');
    CHECK(m->body_len > 0 || m->snippet[0] == '\0');
    check_str(m->dsn_reporting_mta, MSG_DSN_FIELD_MAX, 0);
    CHECK(m->n_dsn <= MSG_DSN_MAX);
    CHECK((m->dsn == NULL) == (m->n_dsn == 0));
    CHECK(m->is_dsn || m->n_dsn == 0);
    for (size_t i = 0; i < m->n_dsn; i++) {
        const msg_dsn_recipient *r = &m->dsn[i];
        check_str(r->final_recipient, MSG_DSN_FIELD_MAX, 0);
        check_str(r->original_recipient, MSG_DSN_FIELD_MAX, 0);
        check_str(r->action, 32, 0);
        for (const char *a = r->action; *a; a++) CHECK(!(*a >= 'A' && *a <= 'Z') && *a != ' ');
        check_str(r->status, 16, 0);
        if (r->status[0]) { /* d.ddd.ddd, class 2, 4 or 5 */
            CHECK(strchr("245", r->status[0]) && r->status[1] == '.');
            int dots = 0;
            for (const char *s = r->status + 2; *s; s++) {
                if (*s == '.') dots++;
                else CHECK(*s >= '0' && *s <= '9');
            }
            CHECK(dots == 1);
        }
        check_str(r->diagnostic_code, MSG_DSN_FIELD_MAX, 0);
    }
    check_str(m->original_message_id, MSG_ID_MAX, 0);
    check_ids(m->original_references, m->n_original_references);
    if (m->malformed) {
        CHECK(m->message_id[0] == '\0' && m->subject[0] == '\0' && m->body_len == 0);
        CHECK(m->n_references == 0 && m->n_to == 0 && m->n_dsn == 0 && !m->is_dsn);
    }
}

struct store {
    int calls;
};

/* "Ours" is any id with an odd first byte: both answers get exercised. */
static int is_ours(const char *message_id, void *ctx)
{
    struct store *st = ctx;
    st->calls++;
    CHECK(message_id != NULL && message_id[0] != '\0');
    return (unsigned char)message_id[0] & 1;
}

static void check_return_date(int rc, time_t t, time_t received)
{
    CHECK(rc == 0 || rc == 1);
    if (!rc) {
        CHECK(t == 0);
        return;
    }
    CHECK(t % 86400 == 0);
    long today = (long)(received / 86400);
    CHECK(t / 86400 >= today && t / 86400 <= today + 4 * 366);
}

static void classify_parsed(const message_parsed *m)
{
    classify_dsn_recipient dsn[MSG_DSN_MAX];
    classify_input in;
    memset(&in, 0, sizeof(in));
    in.from_addr = m->from.addr;
    in.subject = m->subject;
    in.in_reply_to = m->in_reply_to;
    in.references = (const char *const *)m->references;
    in.n_references = m->n_references;
    in.auto_submitted = m->markers.auto_submitted;
    in.x_autoreply = m->markers.x_autoreply;
    in.x_autorespond = m->markers.x_autorespond;
    in.precedence = m->markers.precedence;
    in.x_auto_response_suppress = m->markers.x_auto_response_suppress;
    in.x_ms_inbox_rules_loop = m->markers.x_ms_inbox_rules_loop;
    in.x_ms_generated_message_source = m->markers.x_ms_generated_message_source;
    in.x_failed_recipients = m->markers.x_failed_recipients;
    in.return_path_empty = m->markers.return_path_empty;
    in.is_dsn = m->is_dsn;
    for (size_t i = 0; i < m->n_dsn; i++) {
        dsn[i].final_recipient = m->dsn[i].final_recipient;
        dsn[i].action = m->dsn[i].action;
        dsn[i].status = m->dsn[i].status;
        dsn[i].diagnostic_code = m->dsn[i].diagnostic_code;
    }
    in.dsn = dsn;
    in.n_dsn = m->n_dsn;
    in.original_message_id = m->original_message_id;
    in.original_references = (const char *const *)m->original_references;
    in.n_original_references = m->n_original_references;
    in.body = m->body;
    in.received = m->date ? m->date : RECEIVED;

    struct store st = {0};
    classify_result r;
    classify_message(&in, is_ours, &st, &r);
    CHECK(st.calls <= CLASSIFY_LOOKUPS_MAX);
    CHECK(r.kind >= CLASSIFY_HUMAN && r.kind <= CLASSIFY_BOUNCE);
    CHECK(r.reason != NULL && r.reason[0] != '\0');
    classify_kind back;
    CHECK(classify_kind_parse(classify_kind_name(r.kind), &back) == 0 && back == r.kind);
    CHECK(memchr(r.outbound_id, '\0', sizeof(r.outbound_id)) != NULL);
    CHECK(memchr(r.tracking_id, '\0', sizeof(r.tracking_id)) != NULL);
    CHECK(memchr(r.bounce_recipient, '\0', sizeof(r.bounce_recipient)) != NULL);
    CHECK(memchr(r.bounce_status, '\0', sizeof(r.bounce_status)) != NULL);
    CHECK((r.match == CLASSIFY_MATCH_NONE) == (r.outbound_id[0] == '\0'));
    CHECK((r.match == CLASSIFY_MATCH_TRACKING_ID) == (r.tracking_id[0] != '\0'));
    if (r.match == CLASSIFY_MATCH_TRACKING_ID) {
        char bare[CLASSIFY_TRACKING_ID_MAX], hdr[CLASSIFY_TRACKING_HEADER_MAX];
        CHECK(classify_tracking_id_parse(r.outbound_id, bare, sizeof(bare)) == 1);
        CHECK(strcmp(bare, r.tracking_id) == 0);
        CHECK(classify_tracking_id_format(bare, hdr, sizeof(hdr)) == 0);
    }
    if (r.kind == CLASSIFY_BOUNCE) CHECK(r.bounce != CLASSIFY_BOUNCE_NONE);
    else CHECK(r.bounce == CLASSIFY_BOUNCE_NONE && r.bounce_status[0] == '\0');
    if (r.kind == CLASSIFY_REPLY)
        CHECK(r.match == CLASSIFY_MATCH_IN_REPLY_TO || r.match == CLASSIFY_MATCH_REFERENCES ||
              r.match == CLASSIFY_MATCH_TRACKING_ID);
    if (r.kind != CLASSIFY_AUTO_REPLY) CHECK(r.return_date == 0);
    else check_return_date(r.return_date != 0, r.return_date, in.received);
    /* without a store, only the tracking id can match */
    classify_result r2;
    classify_message(&in, NULL, NULL, &r2);
    CHECK(r2.kind == r.kind || r.kind == CLASSIFY_REPLY);
    CHECK(r2.match == CLASSIFY_MATCH_NONE || r2.match == CLASSIFY_MATCH_TRACKING_ID ||
          r2.match == CLASSIFY_MATCH_ORIGINAL_UNKNOWN);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    message_parsed *m = NULL;
    mf_error err = {0};
    CHECK(message_parse(data, size, &m, &err) == 0);
    CHECK(m != NULL);
    check_parsed(m, size);
    classify_parsed(m);
    message_parsed_free(&m);
    CHECK(m == NULL);

    /* the bytes as an out-of-office text */
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    time_t t = 1;
    check_return_date(classify_return_date(text, RECEIVED, &t), t, RECEIVED);
    t = 1;
    int rc = classify_return_date(text, 0, &t);
    CHECK(rc == 0 || rc == 1);
    CHECK(rc || t == 0);
    char bare[CLASSIFY_TRACKING_ID_MAX];
    if (classify_tracking_id_parse(text, bare, sizeof(bare))) {
        char hdr[CLASSIFY_TRACKING_HEADER_MAX];
        CHECK(classify_tracking_id_format(bare, hdr, sizeof(hdr)) == 0);
    }
    free(text);
    return 0;
}
