/* test_message_parse.c — mail/message_parse.c on real-looking messages (tests/mail/messages/)
 * and on generated hostile ones: the fields R22 and R23 need, RFC 2047 and charsets, bodies,
 * DSNs, and the contract of message_parse.h (never NULL, valid UTF-8, bounded) on every result. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <glib.h>
#include "mail/message_parse.h"
#include "util/strbuf.h"

#define OURS "20261201.093000.k7Qw2mZp@outreach.acme.example"

/* ---- helpers ----------------------------------------------------------------------------- */

static char *load(const char *name, size_t *len)
{
    char *path = xasprintf("%s/%s", MF_MESSAGES_DIR, name);
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    strbuf sb;
    strbuf_init(&sb, 1 << 20);
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0) assert_int_equal(strbuf_add(&sb, tmp, n), 0);
    fclose(f);
    free(path);
    return strbuf_detach(&sb, len);
}

static void check_str(const char *s, size_t max, int body)
{
    assert_non_null(s);
    size_t n = strlen(s);
    assert_true(n <= max);
    assert_true(g_utf8_validate(s, (gssize)n, NULL));
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) assert_true(body && (c == '\n' || c == '\t'));
    }
}

static void check_addr(const msg_address *a)
{
    check_str(a->addr, MSG_ADDR_MAX, 0);
    check_str(a->name, MSG_NAME_MAX, 0);
}

static void check_ids(char **ids, size_t n)
{
    assert_true(n <= MSG_REFS_MAX);
    assert_true((ids == NULL) == (n == 0));
    for (size_t i = 0; i < n; i++) {
        check_str(ids[i], MSG_ID_MAX, 0);
        assert_true(ids[i][0] != '\0');
    }
}

/* The contract of message_parse.h, on every result. */
static void check_contract(const message_parsed *m)
{
    check_str(m->message_id, MSG_ID_MAX, 0);
    check_str(m->in_reply_to, MSG_ID_MAX, 0);
    check_ids(m->references, m->n_references);
    check_addr(&m->from);
    assert_true(m->n_to <= MSG_ADDRS_MAX && m->n_cc <= MSG_ADDRS_MAX);
    assert_true((m->to == NULL) == (m->n_to == 0));
    assert_true((m->cc == NULL) == (m->n_cc == 0));
    for (size_t i = 0; i < m->n_to; i++) check_addr(&m->to[i]);
    for (size_t i = 0; i < m->n_cc; i++) check_addr(&m->cc[i]);
    check_str(m->subject, MSG_SUBJECT_MAX, 0);
    const msg_markers *k = &m->markers;
    const char *mk[] = {k->auto_submitted, k->x_autoreply, k->x_autorespond, k->precedence,
                        k->x_auto_response_suppress, k->x_ms_inbox_rules_loop,
                        k->x_ms_generated_message_source, k->x_failed_recipients,
                        k->return_path, k->content_type};
    for (size_t i = 0; i < sizeof(mk) / sizeof(mk[0]); i++) check_str(mk[i], MSG_MARKER_MAX, 0);
    check_str(m->body, MSG_BODY_MAX, 1);
    assert_int_equal(strlen(m->body), m->body_len);
    check_str(m->snippet, MSG_SNIPPET_CHARS * 4, 0);
    assert_true(g_utf8_strlen(m->snippet, -1) <= MSG_SNIPPET_CHARS);
    check_str(m->dsn_reporting_mta, MSG_DSN_FIELD_MAX, 0);
    assert_true(m->n_dsn <= MSG_DSN_MAX);
    assert_true((m->dsn == NULL) == (m->n_dsn == 0));
    for (size_t i = 0; i < m->n_dsn; i++) {
        check_str(m->dsn[i].final_recipient, MSG_DSN_FIELD_MAX, 0);
        check_str(m->dsn[i].original_recipient, MSG_DSN_FIELD_MAX, 0);
        check_str(m->dsn[i].action, 32, 0);
        check_str(m->dsn[i].status, 16, 0);
        check_str(m->dsn[i].diagnostic_code, MSG_DSN_FIELD_MAX, 0);
    }
    check_str(m->original_message_id, MSG_ID_MAX, 0);
    check_ids(m->original_references, m->n_original_references);
}

static message_parsed *parse_bytes(const char *data, size_t len)
{
    message_parsed *m = NULL;
    mf_error err = {0};
    assert_int_equal(message_parse(data, len, &m, &err), 0);
    assert_non_null(m);
    assert_int_equal(m->size, len);
    check_contract(m);
    return m;
}

static message_parsed *parse_file(const char *name)
{
    size_t len;
    char *data = load(name, &len);
    message_parsed *m = parse_bytes(data, len);
    free(data);
    return m;
}

static message_parsed *parse_str(const char *s)
{
    return parse_bytes(s, strlen(s));
}

/* ---- R22: thread headers ----------------------------------------------------------------- */

static void test_R22_parse_reply_thread_headers(void **state)
{
    (void)state;
    message_parsed *m = parse_file("reply_in_reply_to.eml");
    assert_int_equal(m->malformed, 0);
    assert_string_equal(m->message_id, "CAJx7mQ1b3R9pN4kVw2Lz+5tYh@mail.northwind.example");
    assert_string_equal(m->in_reply_to, OURS);
    assert_int_equal(m->n_references, 1);
    assert_string_equal(m->references[0], OURS);
    assert_string_equal(m->from.addr, "dana.whitfield@northwind.example");
    assert_string_equal(m->from.name, "Dana Whitfield");
    assert_int_equal(m->n_to, 1);
    assert_string_equal(m->to[0].addr, "sam@acme.example");
    assert_string_equal(m->to[0].name, "Sam Carter");
    assert_int_equal(m->n_cc, 2);
    assert_string_equal(m->cc[0].addr, "ops@northwind.example");
    assert_string_equal(m->cc[0].name, "Ops Team");
    assert_string_equal(m->cc[1].addr, "lee@northwind.example");
    assert_string_equal(m->subject, "Re: Quick question about your Q1 logistics plans");
    assert_int_equal(m->date, 1796206432); /* 2026-12-02 10:13:52 UTC (11:13:52 +0100) */
    assert_string_equal(m->markers.return_path, "<dana.whitfield@northwind.example>");
    assert_int_equal(m->markers.return_path_empty, 0);
    /* quoted-printable with a soft line break and an em dash */
    assert_non_null(strstr(m->body, "Thanks for reaching out \xE2\x80\x94 yes, we are looking at "
                                    "this for Q1. Could you send"));
    assert_int_equal(m->body_from_html, 0);
    assert_int_equal(m->body_truncated, 0);
    assert_true(strncmp(m->snippet, "Hi Sam, Thanks for reaching out", 31) == 0);
    assert_int_equal(g_utf8_strlen(m->snippet, -1), MSG_SNIPPET_CHARS);
    assert_int_equal(m->is_dsn, 0);
    assert_string_equal(m->original_message_id, "");
    message_parsed_free(&m);
    assert_null(m);
}

static void test_R22_parse_folded_references_with_tracking_id(void **state)
{
    (void)state;
    message_parsed *m = parse_file("reply_tracking_only.eml");
    assert_string_equal(m->in_reply_to,
                        "AM6PR05MB61209F8E7D6C5B4A3@AM6PR05MB6120.eurprd05.prod.outlook.example");
    assert_int_equal(m->n_references, 2);
    assert_string_equal(m->references[1], "mf-7Hq2xK9vPz@mailfleet");
    assert_string_equal(m->subject, "RE: Quick question about your Q1 logistics plans");
    message_parsed_free(&m);
}

static void test_R22_parse_in_reply_to_old_style(void **state)
{
    (void)state;
    message_parsed *m = parse_str("From: a@b.example\n"
                                  "In-Reply-To: Your message of Mon, 30 Nov 2026 10:00:00 +0000\n"
                                  "\t<" OURS ">\n"
                                  "Subject: x\n\nbody\n");
    assert_string_equal(m->in_reply_to, OURS);
    message_parsed_free(&m);
    m = parse_str("From: a@b.example\nIn-Reply-To: " OURS "\n\nbody\n"); /* bare, no <> */
    assert_string_equal(m->in_reply_to, OURS);
    message_parsed_free(&m);
    m = parse_str("From: a@b.example\nIn-Reply-To: some words only\n\nbody\n");
    assert_string_equal(m->in_reply_to, "");
    message_parsed_free(&m);
    m = parse_str("From: a@b.example\nIn-Reply-To: <>\nReferences: <> <a@b> <>\n\nbody\n");
    assert_string_equal(m->in_reply_to, "");
    assert_int_equal(m->n_references, 1);
    assert_string_equal(m->references[0], "a@b");
    message_parsed_free(&m);
    /* GMime's list parser stops at a comma or "<>": the ids after it must not be lost */
    m = parse_str("From: a@b.example\nReferences: <a@b>, <c@d>,<e@f> junk <> (x) <" OURS ">\n"
                  "In-Reply-To: <>, <" OURS ">\n\nbody\n");
    assert_int_equal(m->n_references, 4);
    assert_string_equal(m->references[1], "c@d");
    assert_string_equal(m->references[2], "e@f");
    assert_string_equal(m->references[3], OURS);
    assert_string_equal(m->in_reply_to, OURS);
    message_parsed_free(&m);
}

static void test_R22_parse_references_bounded_keeps_root_and_newest(void **state)
{
    (void)state;
    strbuf sb;
    strbuf_init(&sb, 1 << 22);
    strbuf_addstr(&sb, "From: a@b.example\nReferences:");
    for (int i = 0; i < 5000; i++) strbuf_addf(&sb, " <id%d@thread.example>\n", i);
    strbuf_addstr(&sb, "Subject: long thread\n\nbody\n");
    message_parsed *m = parse_bytes(sb.buf, sb.len);
    assert_int_equal(m->n_references, MSG_REFS_MAX);
    assert_string_equal(m->references[0], "id0@thread.example");
    assert_string_equal(m->references[1], "id4901@thread.example");
    assert_string_equal(m->references[MSG_REFS_MAX - 1], "id4999@thread.example");
    message_parsed_free(&m);
    strbuf_release(&sb);
}

static void test_R22_parse_overlong_id_dropped(void **state)
{
    (void)state;
    strbuf sb;
    strbuf_init(&sb, 1 << 20);
    strbuf_addstr(&sb, "From: a@b.example\nMessage-ID: <");
    for (int i = 0; i < 1200; i++) strbuf_add(&sb, "x", 1);
    strbuf_addstr(&sb, "@long.example>\nIn-Reply-To: <ok@x.example>\n\nbody\n");
    message_parsed *m = parse_bytes(sb.buf, sb.len);
    assert_string_equal(m->message_id, ""); /* a cut id could never match */
    assert_string_equal(m->in_reply_to, "ok@x.example");
    message_parsed_free(&m);
    strbuf_release(&sb);
}

/* ---- R23: auto-reply markers ------------------------------------------------------------- */

static void test_R23_parse_gmail_vacation_markers(void **state)
{
    (void)state;
    message_parsed *m = parse_file("gmail_vacation.eml");
    assert_string_equal(m->markers.auto_submitted, "auto-replied");
    assert_string_equal(m->markers.x_autoreply, "yes");
    assert_string_equal(m->markers.precedence, "bulk");
    assert_int_equal(m->markers.return_path_empty, 1);
    assert_string_equal(m->markers.return_path, "<>");
    assert_true(strncmp(m->markers.content_type, "multipart/alternative;", 22) == 0);
    assert_string_equal(m->in_reply_to, OURS);
    /* text/plain preferred over the text/html alternative */
    assert_int_equal(m->body_from_html, 0);
    assert_non_null(strstr(m->body, "I will be back on 3 December."));
    message_parsed_free(&m);
}

static void test_R23_parse_outlook_ms_markers(void **state)
{
    (void)state;
    message_parsed *m = parse_file("outlook_automatic_reply.eml");
    assert_string_equal(m->subject,
                        "Automatic reply: Quick question about your Q1 logistics plans");
    assert_string_equal(m->markers.x_ms_inbox_rules_loop, "jonas.berg@fabrikam.example");
    assert_string_equal(m->markers.x_ms_generated_message_source, "Mailbox Rules Agent");
    assert_string_equal(m->markers.x_auto_response_suppress, "All");
    assert_string_equal(m->markers.auto_submitted, "");
    /* base64 UTF-8 with CRLF line ends: "\n" only */
    assert_null(strchr(m->body, '\r'));
    assert_string_equal(m->body, "Hello,\n\nI am out of the office until Dec 3 with limited access "
                                 "to email. I will respond when I am back.\n\nJonas\n");
    message_parsed_free(&m);
}

static void test_R23_parse_rfc3834_iso_8859_1(void **state)
{
    (void)state;
    message_parsed *m = parse_file("rfc3834_return_date.eml");
    assert_string_equal(m->markers.auto_submitted, "auto-replied (vacation)");
    assert_string_equal(m->subject, "Abwesenheitsnotiz: Ihre Anfrage zur Lagerlogistik");
    assert_string_equal(m->from.name, "J\xC3\xBCrgen Wei\xC3\x9F");
    assert_non_null(strstr(m->body, "Ich bin bis zum 03.12.2026 nicht im B\xC3\xBCro und habe"));
    assert_non_null(strstr(m->body, "Gr\xC3\xBC\xC3\x9F" "en"));
    message_parsed_free(&m);
}

/* ---- R23: DSNs --------------------------------------------------------------------------- */

static void test_R23_parse_postfix_dsn_5_1_1(void **state)
{
    (void)state;
    message_parsed *m = parse_file("postfix_dsn_511.eml");
    assert_int_equal(m->is_dsn, 1);
    assert_string_equal(m->from.addr, "MAILER-DAEMON@mx.acme.example");
    assert_string_equal(m->from.name, "Mail Delivery System");
    assert_string_equal(m->dsn_reporting_mta, "mx.acme.example");
    assert_int_equal(m->n_dsn, 1);
    assert_string_equal(m->dsn[0].final_recipient, "no.such.user@northwind.example");
    assert_string_equal(m->dsn[0].original_recipient, "no.such.user@northwind.example");
    assert_string_equal(m->dsn[0].action, "failed");
    assert_string_equal(m->dsn[0].status, "5.1.1");
    assert_string_equal(m->dsn[0].diagnostic_code,
                        "smtp; 550 5.1.1 <no.such.user@northwind.example>: Recipient address "
                        "rejected: User unknown in virtual mailbox table");
    /* the returned headers (text/rfc822-headers) */
    assert_string_equal(m->original_message_id, OURS);
    assert_int_equal(m->n_original_references, 1);
    assert_string_equal(m->original_references[0], "mf-7Hq2xK9vPz@mailfleet");
    /* the body is the human-readable part, not the report */
    assert_true(strncmp(m->body, "This is the mail system at host mx.acme.example.", 48) == 0);
    assert_null(strstr(m->body, "Reporting-MTA"));
    assert_true(strncmp(m->markers.content_type, "multipart/report; report-type=delivery-status;",
                        46) == 0);
    message_parsed_free(&m);
}

static void test_R23_parse_exchange_dsn_crlf(void **state)
{
    (void)state;
    message_parsed *m = parse_file("exchange_dsn.eml");
    assert_int_equal(m->is_dsn, 1);
    assert_string_equal(m->message_id,
                        "4d5e6f70-8192-4a3b-bc5d-6e7f8091a2b3@AM0PR01MB5432.eurprd01.prod."
                        "exchangelabs.example");
    assert_string_equal(m->markers.x_ms_generated_message_source, "DSN");
    assert_int_equal(m->n_dsn, 1);
    assert_string_equal(m->dsn[0].final_recipient, "r.moreau@contoso.example");
    assert_string_equal(m->dsn[0].action, "failed");
    assert_string_equal(m->dsn[0].status, "5.1.10");
    assert_string_equal(m->dsn[0].diagnostic_code,
                        "smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient "
                        "r.moreau@contoso.example not found by SMTP address lookup");
    /* the returned message (message/rfc822) */
    assert_string_equal(m->original_message_id, "20261201.093000.Hx3Ty7Ua@outreach.acme.example");
    assert_int_equal(m->n_original_references, 1);
    assert_string_equal(m->original_references[0], "mf-Rk4p9Lm2Qa@mailfleet");
    /* text/plain of the multipart/alternative, not the returned message's text */
    assert_int_equal(m->body_from_html, 0);
    assert_true(strncmp(m->body, "Your message to r.moreau@contoso.example couldn't be delivered.",
                        63) == 0);
    assert_null(strstr(m->body, "warehouse network"));
    message_parsed_free(&m);
}

static void test_R23_parse_delayed_dsn_4_4_1(void **state)
{
    (void)state;
    message_parsed *m = parse_file("dsn_delayed_4xx.eml");
    assert_int_equal(m->is_dsn, 1);
    assert_int_equal(m->n_dsn, 1);
    assert_string_equal(m->dsn[0].action, "delayed");
    assert_string_equal(m->dsn[0].status, "4.4.1");
    assert_string_equal(m->original_message_id, "20261201.093000.Bv5Nc1Qr@outreach.acme.example");
    message_parsed_free(&m);
}

static void test_R23_parse_exim_x_failed_recipients(void **state)
{
    (void)state;
    message_parsed *m = parse_file("exim_bounce.eml");
    assert_int_equal(m->is_dsn, 0);
    assert_string_equal(m->from.addr, "Mailer-Daemon@mx.wingtip.example");
    assert_string_equal(m->markers.x_failed_recipients, "gone@wingtip.example");
    assert_int_equal(m->markers.return_path_empty, 1);
    message_parsed_free(&m);
}

static void test_R23_parse_dsn_hostile_fields(void **state)
{
    (void)state;
    strbuf sb;
    strbuf_init(&sb, 1 << 22);
    strbuf_addstr(&sb, "From: MAILER-DAEMON\nContent-Type: multipart/report;"
                       " report-type=Delivery-Status; boundary=b\n\n--b\n"
                       "Content-Type: message/delivery-status\n\n"
                       "Reporting-MTA: dns; <mx.example>\n\n"
                       "Final-Recipient: <a@b.example>\nAction: Failed (permanent)\n"
                       "Status: 5.1.1.1 then 5.7.1 (denied)\n\n"
                       "Final-Recipient: rfc822;c@d.example\nAction: delayed\nStatus: 4.x.1\n\n"
                       "Status: 55.1.1 2.0.0\n\n\n   \n"
                       "Diagnostic-Code: x\n\n");
    for (int i = 0; i < 200; i++) strbuf_addf(&sb, "Final-Recipient: rfc822; r%d@x.example\n\n", i);
    strbuf_addstr(&sb, "--b--\n");
    message_parsed *m = parse_bytes(sb.buf, sb.len);
    assert_int_equal(m->is_dsn, 1);
    assert_string_equal(m->dsn_reporting_mta, "mx.example");
    assert_int_equal(m->n_dsn, MSG_DSN_MAX);
    assert_string_equal(m->dsn[0].final_recipient, "a@b.example");
    assert_string_equal(m->dsn[0].action, "failed");
    assert_string_equal(m->dsn[0].status, "5.7.1");
    assert_string_equal(m->dsn[1].status, "");
    assert_string_equal(m->dsn[2].status, "2.0.0");
    assert_string_equal(m->dsn[2].final_recipient, "");
    assert_string_equal(m->dsn[3].final_recipient, "r0@x.example");
    message_parsed_free(&m);
    strbuf_release(&sb);
}

static void test_R23_parse_report_not_delivery_status(void **state)
{
    (void)state;
    message_parsed *m = parse_str("From: x@y.example\nContent-Type: multipart/report; "
                                  "report-type=disposition-notification; boundary=b\n\n--b\n"
                                  "Content-Type: message/disposition-notification\n\n"
                                  "Final-Recipient: rfc822; a@b.example\nDisposition: "
                                  "manual-action/MDN-sent-manually; displayed\n--b--\n");
    assert_int_equal(m->is_dsn, 0);
    assert_int_equal(m->n_dsn, 0);
    message_parsed_free(&m);
}

/* ---- headers: RFC 2047, addresses, dates ------------------------------------------------- */

static void test_parse_rfc2047_iso_8859_1(void **state)
{
    (void)state;
    message_parsed *m = parse_file("rfc2047_iso88591.eml");
    assert_string_equal(m->from.name, "Fran\xC3\xA7ois L\xC3\xA9vesque");
    assert_string_equal(m->from.addr, "f.levesque@alpine.example");
    assert_string_equal(m->to[0].name, "Sam M\xC3\xBCller");
    assert_string_equal(m->subject, "R\xC3\xA9ponse \xC3\xA0 votre offre - gr\xC3\xBC\xC3\x9F" "e");
    /* an 8bit ISO-8859-1 body */
    assert_non_null(strstr(m->body, "Int\xC3\xA9ress\xC3\xA9s, parlons-en"));
    message_parsed_free(&m);
}

static void test_parse_rfc2047_utf8(void **state)
{
    (void)state;
    message_parsed *m = parse_file("rfc2047_utf8.eml");
    assert_string_equal(m->from.name, "\xE5\xB1\xB1\xE7\x94\xB0 \xE5\xA4\xAA\xE9\x83\x8E");
    /* two encoded words over a folded line, B and Q, CJK, an em dash and an emoji */
    assert_string_equal(m->subject, "Re: \xE3\x81\x8A\xE8\xA6\x8B\xE7\xA9\x8D\xE3\x82\x82\xE3\x82"
                                    "\x8A\xE3\x81\xAB\xE3\x81\xA4\xE3\x81\x84\xE3\x81\xA6 \xE2\x80"
                                    "\x94 caf\xC3\xA9 \xF0\x9F\x9A\x9A");
    assert_string_equal(m->in_reply_to, "unknown-thread@elsewhere.example");
    assert_true(g_str_has_prefix(m->body, "\xE3\x81\x94\xE9\x80\xA3\xE7\xB5\xA1"));
    message_parsed_free(&m);
}

static void test_parse_charset_names_from_the_message(void **state)
{
    (void)state;
    /* GMime remembers every charset name it sees: unknown names never reach it (they are
     * decoded with the fallback charsets), known ones and GMime's own aliases still work */
    strbuf sb;
    strbuf_init(&sb, 4096);
    strbuf_addstr(&sb, "From: a@b.example\nSubject: =?x-made-up-1?q?hello_w=E9rld?= and "
                       "=?koi8-r?b?8NLJ18XU?= =?ks_c_5601-1987?b?vsiz58fPvLy/5A==?= =?");
    for (int i = 0; i < 60; i++) strbuf_add(&sb, "y", 1);
    strbuf_addstr(&sb, "?q?long?= =?utf-8//x?q?slash?= =?utf-8*en?q?lang?=\n\nbody\n");
    message_parsed *m = parse_bytes(sb.buf, sb.len);
    assert_true(g_str_has_prefix(m->subject, "hello w\xC3\xA9rld and \xD0\x9F\xD1\x80\xD0\xB8"
                                              "\xD0\xB2\xD0\xB5\xD1\x82\xEC\x95\x88\xEB\x85\x95"));
    assert_non_null(strstr(m->subject, " x?yyyyyyyy")); /* a 60-byte name: left as text */
    assert_non_null(strstr(m->subject, "slash"));
    assert_true(g_str_has_suffix(m->subject, "lang"));
    message_parsed_free(&m);
    strbuf_release(&sb);
}

static void test_parse_8bit_headers_and_controls(void **state)
{
    (void)state;
    /* raw (not encoded) windows-1252 and control characters in headers */
    message_parsed *m = parse_str("From: \"M\xFCller \x80\" <m@x.example>\n"
                                  "Subject: Caf\xE9\x01\x1b[31m red\x7f\n"
                                  "Auto-Submitted: \x07no\n\nbody\n");
    assert_string_equal(m->from.name, "M\xC3\xBCller \xE2\x82\xAC");
    assert_string_equal(m->subject, "Caf\xC3\xA9[31m red");
    assert_string_equal(m->markers.auto_submitted, "no");
    message_parsed_free(&m);
}

static void test_parse_groups_and_many_addresses(void **state)
{
    (void)state;
    strbuf sb;
    strbuf_init(&sb, 1 << 20);
    strbuf_addstr(&sb, "From: Team: alice@x.example, Bob <bob@x.example>;\n"
                       "To: undisclosed-recipients:;\nCc:");
    for (int i = 0; i < 500; i++) strbuf_addf(&sb, "%s u%d@cc.example", i ? "," : "", i);
    strbuf_addstr(&sb, "\n\nbody\n");
    message_parsed *m = parse_bytes(sb.buf, sb.len);
    assert_string_equal(m->from.addr, "alice@x.example"); /* the first mailbox of the group */
    assert_int_equal(m->n_to, 0);
    assert_null(m->to);
    assert_int_equal(m->n_cc, MSG_ADDRS_MAX);
    assert_string_equal(m->cc[99].addr, "u99@cc.example");
    message_parsed_free(&m);
    strbuf_release(&sb);
}

static void test_parse_date_missing_or_bad(void **state)
{
    (void)state;
    message_parsed *m = parse_str("From: a@b.example\nSubject: no date\n\nx\n");
    assert_int_equal(m->date, 0);
    message_parsed_free(&m);
    m = parse_str("From: a@b.example\nDate: the day after tomorrow\n\nx\n");
    assert_int_equal(m->date, 0);
    message_parsed_free(&m);
    m = parse_str("From: a@b.example\nDate: Thu, 1 Jan 1900 00:00:00 +0000\n\nx\n");
    assert_int_equal(m->date, 0);
    message_parsed_free(&m);
    m = parse_str("From: a@b.example\nDate: 3 Dec 2026 23:30:00 -0200\n\nx\n");
    assert_int_equal(m->date, 1796347800); /* 2026-12-04 01:30 UTC */
    message_parsed_free(&m);
}

/* ---- bodies ------------------------------------------------------------------------------ */

static const char w1252_text[] =
    "Hello Sam,\n\nThe price is 120 \xE2\x82\xAC per pallet \xE2\x80\x93 \xE2\x80\x9C" "free"
    "\xE2\x80\x9D delivery isn\xE2\x80\x99t included.\nD\xC3\xBCsseldorf office, na\xC3\xAFve "
    "estimate \xE2\x80\xA6\n";

static void test_parse_windows_1252_quoted_printable(void **state)
{
    (void)state;
    message_parsed *m = parse_file("windows1252_qp.eml");
    assert_string_equal(m->body, w1252_text);
    message_parsed_free(&m);
}

static void test_parse_windows_1252_base64(void **state)
{
    (void)state;
    message_parsed *m = parse_file("windows1252_base64.eml");
    assert_string_equal(m->body, w1252_text);
    assert_string_equal(m->snippet, "Hello Sam, The price is 120 \xE2\x82\xAC per pallet \xE2\x80"
                                    "\x93 \xE2\x80\x9C" "free\xE2\x80\x9D delivery isn\xE2\x80\x99t "
                                    "included. D\xC3\xBCsseldorf office, na\xC3\xAFve estimate "
                                    "\xE2\x80\xA6");
    message_parsed_free(&m);
}

static void test_parse_html_only_alternative(void **state)
{
    (void)state;
    message_parsed *m = parse_file("html_only.eml");
    assert_int_equal(m->body_from_html, 1);
    assert_string_equal(m->body, "December update\n\n"
                                 "Caf\xC3\xA9 & bar <open> \xE2\x80\x94 \xE2\x98\xBA \"quoted\"\n\n"
                                 "Cell A Cell B\n\nLine one\nLine two\nRead more");
    assert_null(strstr(m->body, "tracking"));
    assert_null(strstr(m->body, "font-family"));
    assert_null(strstr(m->body, "hidden"));
    message_parsed_free(&m);
}

static void test_parse_declared_charset_wrong_or_unknown(void **state)
{
    (void)state;
    /* declared UTF-8 but windows-1252 bytes: GMime's fallback charsets */
    message_parsed *m = parse_str("From: a@b.example\nContent-Type: text/plain; charset=utf-8\n\n"
                                  "Caf\xE9 \x80 5\n");
    assert_string_equal(m->body, "Caf\xC3\xA9 \xE2\x82\xAC 5\n");
    message_parsed_free(&m);
    m = parse_str("From: a@b.example\nContent-Type: text/plain; charset=x-no-such-charset\n\n"
                  "plain ascii \xC3\xA9\n");
    assert_string_equal(m->body, "plain ascii \xC3\xA9\n");
    message_parsed_free(&m);
    /* a real non-Latin charset */
    m = parse_str("From: a@b.example\nContent-Type: text/plain; charset=koi8-r\n\n"
                  "\xF0\xD2\xC9\xD7\xC5\xD4\n");
    assert_string_equal(m->body, "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82\n");
    message_parsed_free(&m);
}

static void test_parse_nul_and_controls_in_body(void **state)
{
    (void)state;
    static const char raw[] = "From: a@b.example\n\nA\0B\x01" "C\tD\r\nE\rF\x1b" "G\n";
    message_parsed *m = parse_bytes(raw, sizeof(raw) - 1);
    assert_string_equal(m->body, "ABC\tD\nE\nFG\n");
    message_parsed_free(&m);
}

/* Trace fields (Received, DKIM, ARC, X-MS-Exchange-Transport-*, ...) are not handed to GMime
 * (bench/sync): what is read stays the same, including the two X-MS-Exchange markers R23 reads,
 * a field whose name only starts like a dropped one, and everything after junk in the header
 * block. Compared with the same message without the trace fields. */
static void test_R23_parse_trace_fields_dropped_markers_kept(void **state)
{
    (void)state;
    static const char with[] =
        "Received: from mx.b.example\r\n\tby mx.ours.example; Tue, 1 Dec 2026 09:30:00 +0000\r\n"
        "DKIM-Signature: v=1; a=rsa-sha256;\r\n b=AbCd=?x-made-up?Q?q?=\r\n"
        "ARC-Seal: i=1; cv=none\r\n"
        "X-MS-Exchange-Inbox-Rules-Loop: a@b.example\r\n"
        "x-ms-exchange-transport-crosstenantheadersstamped: yes\r\n"
        "X-MS-Exchange-Generated-Message-Source: Mailbox Rules Agent\r\n"
        "Receivedx: kept, not a Received field\r\n"
        "From: Ann <a@b.example>\r\nSubject: =?utf-8?Q?Abwesenheitsnotiz_=C3=BC?=\r\n"
        "Message-ID: <id1@b.example>\r\nAuto-Submitted: auto-replied\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nIch bin nicht da.\r\n";
    static const char without[] =
        "X-MS-Exchange-Inbox-Rules-Loop: a@b.example\r\n"
        "X-MS-Exchange-Generated-Message-Source: Mailbox Rules Agent\r\n"
        "Receivedx: kept, not a Received field\r\n"
        "From: Ann <a@b.example>\r\nSubject: =?utf-8?Q?Abwesenheitsnotiz_=C3=BC?=\r\n"
        "Message-ID: <id1@b.example>\r\nAuto-Submitted: auto-replied\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nIch bin nicht da.\r\n";
    message_parsed *a = parse_bytes(with, sizeof(with) - 1);
    message_parsed *b = parse_bytes(without, sizeof(without) - 1);
    assert_int_equal(a->size, sizeof(with) - 1); /* the size is the raw message's */
    assert_string_equal(a->markers.x_ms_inbox_rules_loop, "a@b.example");
    assert_string_equal(a->markers.x_ms_generated_message_source, "Mailbox Rules Agent");
    assert_string_equal(a->markers.auto_submitted, "auto-replied");
    assert_string_equal(a->subject, "Abwesenheitsnotiz \xC3\xBC");
    assert_string_equal(a->from.addr, "a@b.example");
    assert_string_equal(a->message_id, "id1@b.example");
    assert_string_equal(a->body, "Ich bin nicht da.\n");
    assert_string_equal(a->subject, b->subject);
    assert_string_equal(a->markers.content_type, b->markers.content_type);
    assert_string_equal(a->snippet, b->snippet);
    message_parsed_free(&a);
    message_parsed_free(&b);

    /* after a line that is no field, nothing is dropped: GMime sees what it always saw */
    message_parsed *c = parse_str("From: a@b.example\nnot a field\nReceived: x\nSubject: s\n\nbody\n");
    message_parsed *d = parse_str("From: a@b.example\nnot a field\nSubject: s\n\nbody\n");
    assert_string_equal(c->subject, d->subject);
    assert_string_equal(c->body, d->body);
    message_parsed_free(&c);
    message_parsed_free(&d);
    /* a message of trace fields only, and one without a line end */
    message_parsed *e = parse_str("Received: from x\n\tby y\nDKIM-Signature: z\n\nonly body\n");
    assert_string_equal(e->body, "only body\n");
    message_parsed_free(&e);
    message_parsed *f = parse_str("Received: from x");
    check_str(f->body, MSG_BODY_MAX, 1);
    message_parsed_free(&f);
}

/* Only the top-level fields the parser reads reach GMime (kept_fields in message_parse.c): every
 * field it reads is still read, in any letter case, among fields it drops (List-*, X-Mailer,
 * Reply-To, made-up X- fields), and a multipart body still parses (Content-* and MIME-Version
 * are kept). */
static void test_R23_parse_keeps_read_fields(void **state)
{
    (void)state;
    static const char raw[] =
        "Return-Path: <>\n"
        "List-Unsubscribe: <mailto:u@list.example>\n"
        "FROM: Ann Example <ann@b.example>\n"
        "X-Mailer: Something 1.0\n"
        "to: Bob <bob@ours.example>, carl@ours.example\n"
        "Cc: dora@ours.example\n"
        "Reply-To: other@b.example\n"
        "Subject: =?utf-8?Q?R=C3=BCckmeldung?=\n"
        "Date: Tue, 01 Dec 2026 09:30:00 +0000\n"
        "Message-ID: <m1@b.example>\n"
        "In-Reply-To: <ours1@ours.example>\n"
        "References: <ours0@ours.example>\n <ours1@ours.example>\n"
        "X-Made-Up: yes\n"
        "auto-submitted: auto-replied\n"
        "X-Autoreply: yes\n"
        "X-Autorespond: yes\n"
        "Precedence: auto_reply\n"
        "X-Auto-Response-Suppress: All\n"
        "X-MS-Exchange-Inbox-Rules-Loop: ann@b.example\n"
        "X-MS-Exchange-Generated-Message-Source: Mailbox Rules Agent\n"
        "X-Failed-Recipients: x@y.example\n"
        "Mime-Version: 1.0\n"
        "content-type: multipart/alternative; boundary=\"BB\"\n"
        "\n"
        "--BB\n"
        "Content-Type: text/plain; charset=iso-8859-1\n"
        "Content-Transfer-Encoding: quoted-printable\n"
        "\n"
        "Gr=FC=DFe\n"
        "--BB\n"
        "Content-Type: text/html\n"
        "\n"
        "<p>html</p>\n"
        "--BB--\n";
    message_parsed *m = parse_bytes(raw, sizeof(raw) - 1);
    assert_int_equal(m->malformed, 0);
    assert_string_equal(m->from.addr, "ann@b.example");
    assert_string_equal(m->from.name, "Ann Example");
    assert_int_equal(m->n_to, 2);
    assert_string_equal(m->to[0].addr, "bob@ours.example");
    assert_string_equal(m->to[1].addr, "carl@ours.example");
    assert_int_equal(m->n_cc, 1);
    assert_string_equal(m->cc[0].addr, "dora@ours.example");
    assert_string_equal(m->subject, "R\xC3\xBC" "ckmeldung");
    assert_int_equal(m->date, 1796117400); /* 2026-12-01T09:30:00Z */
    assert_string_equal(m->message_id, "m1@b.example");
    assert_string_equal(m->in_reply_to, "ours1@ours.example");
    assert_int_equal(m->n_references, 2);
    assert_string_equal(m->references[1], "ours1@ours.example");
    assert_string_equal(m->markers.auto_submitted, "auto-replied");
    assert_string_equal(m->markers.x_autoreply, "yes");
    assert_string_equal(m->markers.x_autorespond, "yes");
    assert_string_equal(m->markers.precedence, "auto_reply");
    assert_string_equal(m->markers.x_auto_response_suppress, "All");
    assert_string_equal(m->markers.x_ms_inbox_rules_loop, "ann@b.example");
    assert_string_equal(m->markers.x_ms_generated_message_source, "Mailbox Rules Agent");
    assert_string_equal(m->markers.x_failed_recipients, "x@y.example");
    assert_int_equal(m->markers.return_path_empty, 1);
    assert_string_equal(m->markers.content_type, "multipart/alternative; boundary=\"BB\"");
    assert_string_equal(m->body, "Gr\xC3\xBC\xC3\x9F" "e"); /* the text/plain part, QP + latin-1 */
    assert_int_equal(m->body_from_html, 0);
    message_parsed_free(&m);
}

/* clean_append copies printable ASCII eight bytes at a time: controls, spaces and UTF-8 at
 * every offset of such a word are still seen (body: controls dropped, CRLF -> LF; subject:
 * spaces collapsed), and so are runs shorter than eight bytes at the end. */
static void test_parse_clean_text_at_every_offset(void **state)
{
    (void)state;
    for (int off = 0; off < 17; off++) {
        char pad[32];
        memset(pad, 'a', (size_t)off);
        pad[off] = '\0';
        char *raw = xasprintf("From: a@b.example\nSubject: %sx  \t y\xC3\xA4z%s\n"
                              "Content-Type: text/plain; charset=utf-8\n\n%s\x01q\r\n\xC3\xA4%s\x7f|\xC2\x85|\n",
                              pad, pad, pad, pad);
        message_parsed *m = parse_str(raw);
        char *subject = xasprintf("%sx y\xC3\xA4z%s", pad, pad);
        char *body = xasprintf("%sq\n\xC3\xA4%s||\n", pad, pad); /* U+0085: a C1 control */
        assert_string_equal(m->subject, subject);
        assert_string_equal(m->body, body);
        message_parsed_free(&m);
        free(subject);
        free(body);
        free(raw);
    }
}

/* The snippet collapses ASCII and Unicode white space alike (its ASCII path takes no GLib
 * call). */
static void test_parse_snippet_white_space(void **state)
{
    (void)state;
    message_parsed *m = parse_str("From: a@b.example\nContent-Type: text/plain; charset=utf-8\n\n"
                                  "  one\t\ttwo\n\n three\xC2\xA0\xC2\xA0" "four\xE2\x80\x83" "five  \n");
    assert_string_equal(m->snippet, "one two three four five");
    message_parsed_free(&m);
}

static void test_parse_attachment_is_not_the_body(void **state)
{
    (void)state;
    message_parsed *m = parse_str(
        "From: a@b.example\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
        "Content-Type: text/plain; name=notes.txt\nContent-Disposition: attachment; "
        "filename=notes.txt\n\nattached notes\n--b\nContent-Type: text/html\n\n<p>the "
        "text</p>\n--b\nContent-Type: message/rfc822\n\nMessage-ID: <fwd@x.example>\n"
        "Subject: forwarded\n\nforwarded body\n--b--\n");
    assert_string_equal(m->body, "the text");
    assert_int_equal(m->body_from_html, 1);
    assert_string_equal(m->original_message_id, "fwd@x.example");
    message_parsed_free(&m);
}

static void test_parse_body_truncated_on_char_boundary(void **state)
{
    (void)state;
    strbuf sb;
    strbuf_init(&sb, 1 << 22);
    strbuf_addstr(&sb, "From: a@b.example\nContent-Type: text/plain; charset=utf-8\n\nx");
    for (int i = 0; i < 200000; i++) strbuf_addstr(&sb, "\xE2\x82\xAC"); /* 600 KB of euros */
    message_parsed *m = parse_bytes(sb.buf, sb.len);
    assert_int_equal(m->body_truncated, 1);
    assert_true(m->body_len <= MSG_BODY_MAX && m->body_len > MSG_BODY_MAX - 4);
    assert_int_equal((m->body_len - 1) % 3, 0);
    /* the snippet: 200 characters */
    assert_int_equal(g_utf8_strlen(m->snippet, -1), MSG_SNIPPET_CHARS);
    assert_int_equal(strlen(m->snippet), 1 + 3 * (MSG_SNIPPET_CHARS - 1));
    message_parsed_free(&m);
    strbuf_release(&sb);
}

static void test_parse_html_hostile(void **state)
{
    (void)state;
    message_parsed *m = parse_str(
        "From: a@b.example\nContent-Type: text/html\n\n"
        "a < b &#0; &#xD800; &#99999999; &bogus; &amp &#x41;<scr<script>x</script>"
        "<style>never closed");
    /* "<scr<script>" is one (unknown) tag, so the script's text stays: rough, not a browser */
    assert_string_equal(m->body, "a < b &#0; &#xD800; &#99999999; &bogus; &amp Ax");
    message_parsed_free(&m);
    m = parse_str("From: a@b.example\nContent-Type: text/html\n\n<p title=\"a>b\">ok<!-- open");
    assert_string_equal(m->body, "ok");
    message_parsed_free(&m);
}

/* ---- malformed and huge input ------------------------------------------------------------ */

static void test_parse_malformed_binary_junk(void **state)
{
    (void)state;
    message_parsed *m = parse_file("malformed_junk.eml");
    assert_int_equal(m->malformed, 1);
    assert_string_equal(m->message_id, "");
    assert_string_equal(m->body, "");
    assert_string_equal(m->snippet, "");
    message_parsed_free(&m);
}

static void test_parse_empty_and_tiny_input(void **state)
{
    (void)state;
    message_parsed *m = parse_bytes("", 0);
    assert_int_equal(m->malformed, 1);
    message_parsed_free(&m);
    m = parse_bytes(NULL, 0);
    assert_int_equal(m->size, 0);
    message_parsed_free(&m);
    const char *tiny[] = {"\n", ":", "a:", "\n\n\n", "From:", "Content-Type: multipart/mixed\n",
                          "Content-Type: multipart/report; report-type=delivery-status\n\n--",
                          "Subject: =?utf-8?B?", "Subject: =?x?q?=FF?=\n"};
    for (size_t i = 0; i < sizeof(tiny) / sizeof(tiny[0]); i++) {
        m = parse_str(tiny[i]);
        message_parsed_free(&m);
    }
    message_parsed_free(&m); /* NULL is fine */
    message_parsed_free(NULL);
}

static void test_parse_huge_header_line(void **state)
{
    (void)state;
    strbuf sb;
    strbuf_init(&sb, 1 << 24);
    strbuf_addstr(&sb, "From: a@b.example\nX-Junk: ");
    for (int i = 0; i < 4 * 1024 * 1024; i++) strbuf_add(&sb, "A", 1); /* one 4 MB line */
    strbuf_addstr(&sb, "\nSubject: ");
    for (int i = 0; i < 100000; i++) strbuf_addstr(&sb, "\xC3\xA9");
    strbuf_addstr(&sb, "\nAuto-Submitted: ");
    for (int i = 0; i < 10000; i++) strbuf_addstr(&sb, "auto-replied ");
    strbuf_addstr(&sb, "\nMessage-ID: <after.the.junk@x.example>\n\nbody\n");
    message_parsed *m = parse_bytes(sb.buf, sb.len);
    assert_int_equal(m->malformed, 0);
    assert_string_equal(m->message_id, "after.the.junk@x.example");
    assert_true(strlen(m->subject) > MSG_SUBJECT_MAX - 2); /* cut between two-byte characters */
    assert_int_equal(strlen(m->subject) % 2, 0);
    assert_true(g_str_has_prefix(m->markers.auto_submitted, "auto-replied auto-replied"));
    assert_string_equal(m->body, "body\n");
    message_parsed_free(&m);
    strbuf_release(&sb);
}

static void test_parse_deep_nesting(void **state)
{
    (void)state;
    strbuf sb;
    strbuf_init(&sb, 1 << 22);
    strbuf_addstr(&sb, "From: a@b.example\nContent-Type: multipart/mixed; boundary=b0\n\n");
    for (int i = 0; i < 500; i++)
        strbuf_addf(&sb, "--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n", i, i + 1);
    strbuf_addstr(&sb, "--b500\nContent-Type: text/plain\n\ndeep\n");
    for (int i = 500; i >= 0; i--) strbuf_addf(&sb, "--b%d--\n", i);
    message_parsed *m = parse_bytes(sb.buf, sb.len);
    message_parsed_free(&m);
    /* messages inside messages */
    strbuf_reset(&sb);
    for (int i = 0; i < 300; i++) strbuf_addstr(&sb, "From: a@b.example\nContent-Type: message/rfc822\n\n");
    strbuf_addstr(&sb, "Subject: inner\n\ninner\n");
    m = parse_bytes(sb.buf, sb.len);
    message_parsed_free(&m);
    /* many sibling parts */
    strbuf_reset(&sb);
    strbuf_addstr(&sb, "From: a@b.example\nContent-Type: multipart/mixed; boundary=s\n\n");
    for (int i = 0; i < 5000; i++) strbuf_addstr(&sb, "--s\nContent-Type: image/png\n\nx\n");
    strbuf_addstr(&sb, "--s--\n");
    m = parse_bytes(sb.buf, sb.len);
    message_parsed_free(&m);
    strbuf_release(&sb);
}

static void test_parse_too_large_refused(void **state)
{
    (void)state;
    static const char one[1] = "x";
    message_parsed *m = (message_parsed *)0x1;
    mf_error err = {0};
    /* the size is checked before anything is read */
    assert_int_equal(message_parse(one, (size_t)MSG_PARSE_MAX_SIZE + 1, &m, &err), -1);
    assert_null(m);
    assert_string_equal(err.code, "message_too_large");
    assert_int_equal(err.status, 413);
}

static void test_parse_all_samples_keep_the_contract(void **state)
{
    (void)state;
    static const char *const files[] = {
        "dsn_delayed_4xx.eml",     "exchange_dsn.eml",        "exim_bounce.eml",
        "gmail_vacation.eml",      "html_only.eml",           "human.eml",
        "malformed_junk.eml",      "outlook_automatic_reply.eml", "postfix_dsn_511.eml",
        "reply_in_reply_to.eml",   "reply_tracking_only.eml", "rfc2047_iso88591.eml",
        "rfc2047_utf8.eml",        "rfc3834_return_date.eml", "windows1252_base64.eml",
        "windows1252_qp.eml"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        size_t len;
        char *data = load(files[i], &len);
        /* every prefix of a sample is a (truncated) message: never a crash */
        for (size_t cut = 0; cut <= len; cut += 37) {
            message_parsed *m = parse_bytes(data, cut);
            message_parsed_free(&m);
        }
        free(data);
    }
}

static int teardown_all(void **state)
{
    (void)state;
    message_parse_shutdown();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_R22_parse_reply_thread_headers),
        cmocka_unit_test(test_R22_parse_folded_references_with_tracking_id),
        cmocka_unit_test(test_R22_parse_in_reply_to_old_style),
        cmocka_unit_test(test_R22_parse_references_bounded_keeps_root_and_newest),
        cmocka_unit_test(test_R22_parse_overlong_id_dropped),
        cmocka_unit_test(test_R23_parse_gmail_vacation_markers),
        cmocka_unit_test(test_R23_parse_outlook_ms_markers),
        cmocka_unit_test(test_R23_parse_rfc3834_iso_8859_1),
        cmocka_unit_test(test_R23_parse_postfix_dsn_5_1_1),
        cmocka_unit_test(test_R23_parse_exchange_dsn_crlf),
        cmocka_unit_test(test_R23_parse_delayed_dsn_4_4_1),
        cmocka_unit_test(test_R23_parse_exim_x_failed_recipients),
        cmocka_unit_test(test_R23_parse_dsn_hostile_fields),
        cmocka_unit_test(test_R23_parse_report_not_delivery_status),
        cmocka_unit_test(test_parse_rfc2047_iso_8859_1),
        cmocka_unit_test(test_parse_rfc2047_utf8),
        cmocka_unit_test(test_parse_charset_names_from_the_message),
        cmocka_unit_test(test_parse_8bit_headers_and_controls),
        cmocka_unit_test(test_parse_groups_and_many_addresses),
        cmocka_unit_test(test_parse_date_missing_or_bad),
        cmocka_unit_test(test_parse_windows_1252_quoted_printable),
        cmocka_unit_test(test_parse_windows_1252_base64),
        cmocka_unit_test(test_parse_html_only_alternative),
        cmocka_unit_test(test_parse_declared_charset_wrong_or_unknown),
        cmocka_unit_test(test_parse_nul_and_controls_in_body),
        cmocka_unit_test(test_parse_attachment_is_not_the_body),
        cmocka_unit_test(test_R23_parse_trace_fields_dropped_markers_kept),
        cmocka_unit_test(test_R23_parse_keeps_read_fields),
        cmocka_unit_test(test_parse_clean_text_at_every_offset),
        cmocka_unit_test(test_parse_snippet_white_space),
        cmocka_unit_test(test_parse_body_truncated_on_char_boundary),
        cmocka_unit_test(test_parse_html_hostile),
        cmocka_unit_test(test_parse_malformed_binary_junk),
        cmocka_unit_test(test_parse_empty_and_tiny_input),
        cmocka_unit_test(test_parse_huge_header_line),
        cmocka_unit_test(test_parse_deep_nesting),
        cmocka_unit_test(test_parse_too_large_refused),
        cmocka_unit_test(test_parse_all_samples_keep_the_contract),
    };
    return cmocka_run_group_tests_name("message_parse", tests, NULL, teardown_all);
}
