/* test_classify.c — core/classify.c: R22 (is it a reply to our mail, and to which) and R23
 * (auto-reply with its return date, hard and soft bounce), first on the sample messages of
 * tests/mail/messages/ parsed by mail/message_parse.c (the way the engine will use both), then
 * rule by rule on hand-made inputs, and classify_return_date on many phrasings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include "core/classify.h"
#include "mail/message_parse.h"
#include "util/strbuf.h"

#define OURS_1 "20261201.093000.k7Qw2mZp@outreach.acme.example"
#define OURS_2 "20261130.160000.Zp8Lq2Wk@outreach.acme.example"
#define OURS_3 "20261201.093000.Bv5Nc1Qr@outreach.acme.example"

/* ---- the engine's side, as the tests play it --------------------------------------------- */

struct store {
    const char *const *ids; /* the Message-IDs "we sent" */
    int calls;
};

static int is_ours(const char *message_id, void *ctx)
{
    struct store *st = ctx;
    st->calls++;
    for (size_t i = 0; st->ids[i]; i++)
        if (strcmp(st->ids[i], message_id) == 0) return 1;
    return 0;
}

static const char *const sent[] = {OURS_1, OURS_2, OURS_3, NULL};

/* Fill a classify_input from a parsed message (what the engine does; dsn must hold n_dsn). */
static void input_from(const message_parsed *m, classify_dsn_recipient *dsn, classify_input *in)
{
    memset(in, 0, sizeof(*in));
    in->from_addr = m->from.addr;
    in->subject = m->subject;
    in->in_reply_to = m->in_reply_to;
    in->references = (const char *const *)m->references;
    in->n_references = m->n_references;
    in->auto_submitted = m->markers.auto_submitted;
    in->x_autoreply = m->markers.x_autoreply;
    in->x_autorespond = m->markers.x_autorespond;
    in->precedence = m->markers.precedence;
    in->x_auto_response_suppress = m->markers.x_auto_response_suppress;
    in->x_ms_inbox_rules_loop = m->markers.x_ms_inbox_rules_loop;
    in->x_ms_generated_message_source = m->markers.x_ms_generated_message_source;
    in->x_failed_recipients = m->markers.x_failed_recipients;
    in->return_path_empty = m->markers.return_path_empty;
    in->is_dsn = m->is_dsn;
    for (size_t i = 0; i < m->n_dsn; i++) {
        dsn[i].final_recipient = m->dsn[i].final_recipient;
        dsn[i].action = m->dsn[i].action;
        dsn[i].status = m->dsn[i].status;
        dsn[i].diagnostic_code = m->dsn[i].diagnostic_code;
    }
    in->dsn = dsn;
    in->n_dsn = m->n_dsn;
    in->original_message_id = m->original_message_id;
    in->original_references = (const char *const *)m->original_references;
    in->n_original_references = m->n_original_references;
    in->body = m->body;
    in->received = m->date;
}

/* Parse a sample and classify it against `sent`. */
static void classify_file(const char *name, classify_result *r)
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
    message_parsed *m = NULL;
    mf_error err = {0};
    assert_int_equal(message_parse(sb.buf, sb.len, &m, &err), 0);
    classify_dsn_recipient dsn[MSG_DSN_MAX];
    classify_input in;
    input_from(m, dsn, &in);
    struct store st = {sent, 0};
    classify_message(&in, is_ours, &st, r);
    assert_true(st.calls <= CLASSIFY_LOOKUPS_MAX);
    message_parsed_free(&m);
    strbuf_release(&sb);
}

static time_t ymd(int y, int m, int d)
{
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = d;
    return timegm(&tm);
}

static classify_result run(const classify_input *in)
{
    classify_result r;
    struct store st = {sent, 0};
    classify_message(in, is_ours, &st, &r);
    assert_non_null(r.reason);
    return r;
}

/* ---- R22 on the samples ------------------------------------------------------------------ */

static void test_R22_reply_by_in_reply_to(void **state)
{
    (void)state;
    classify_result r;
    classify_file("reply_in_reply_to.eml", &r);
    assert_int_equal(r.kind, CLASSIFY_REPLY);
    assert_string_equal(classify_kind_name(r.kind), "reply");
    assert_int_equal(r.match, CLASSIFY_MATCH_IN_REPLY_TO);
    assert_string_equal(r.outbound_id, OURS_1);
    assert_int_equal(r.bounce, CLASSIFY_BOUNCE_NONE);
    assert_int_equal(r.return_date, 0);
}

static void test_R22_reply_by_tracking_id_in_references(void **state)
{
    (void)state;
    /* Outlook rewrote our Message-ID: only the tracking id in References is left */
    classify_result r;
    classify_file("reply_tracking_only.eml", &r);
    assert_int_equal(r.kind, CLASSIFY_REPLY);
    assert_int_equal(r.match, CLASSIFY_MATCH_TRACKING_ID);
    assert_string_equal(r.tracking_id, "7Hq2xK9vPz");
    assert_string_equal(r.outbound_id, "mf-7Hq2xK9vPz@mailfleet");
}

static void test_R22_unknown_thread_is_human(void **state)
{
    (void)state;
    classify_result r;
    classify_file("rfc2047_utf8.eml", &r); /* In-Reply-To someone else's message */
    assert_int_equal(r.kind, CLASSIFY_HUMAN);
    assert_int_equal(r.match, CLASSIFY_MATCH_NONE);
    assert_string_equal(r.outbound_id, "");
}

static void test_R23_human_message(void **state)
{
    (void)state;
    classify_result r;
    /* "back in the office until Friday" in a human message is no auto-reply */
    classify_file("human.eml", &r);
    assert_int_equal(r.kind, CLASSIFY_HUMAN);
    assert_string_equal(classify_kind_name(r.kind), "human");
    assert_int_equal(r.return_date, 0);
    classify_file("windows1252_qp.eml", &r);
    assert_int_equal(r.kind, CLASSIFY_HUMAN);
    classify_file("html_only.eml", &r);
    assert_int_equal(r.kind, CLASSIFY_HUMAN);
    classify_file("malformed_junk.eml", &r);
    assert_int_equal(r.kind, CLASSIFY_HUMAN);
}

/* ---- R23 on the samples ------------------------------------------------------------------ */

static void test_R23_gmail_vacation_auto_reply(void **state)
{
    (void)state;
    classify_result r;
    classify_file("gmail_vacation.eml", &r);
    assert_int_equal(r.kind, CLASSIFY_AUTO_REPLY);
    assert_string_equal(classify_kind_name(r.kind), "auto_reply");
    assert_string_equal(r.reason, "Auto-Submitted");
    /* an auto-reply to our mail: still auto_reply, with the outbound id */
    assert_int_equal(r.match, CLASSIFY_MATCH_IN_REPLY_TO);
    assert_string_equal(r.outbound_id, OURS_1);
    /* "I will be back on 3 December", received 1 Dec 2026 */
    assert_int_equal(r.return_date, ymd(2026, 12, 3));
}

static void test_R23_outlook_automatic_reply_ms_headers(void **state)
{
    (void)state;
    classify_result r;
    classify_file("outlook_automatic_reply.eml", &r);
    assert_int_equal(r.kind, CLASSIFY_AUTO_REPLY);
    assert_string_equal(r.reason, "Microsoft markers with an auto-reply subject");
    assert_string_equal(r.outbound_id, OURS_1);
    assert_int_equal(r.return_date, ymd(2026, 12, 3)); /* "out of the office until Dec 3" */
}

static void test_R23_rfc3834_auto_replied_return_date_in_body(void **state)
{
    (void)state;
    classify_result r;
    classify_file("rfc3834_return_date.eml", &r);
    assert_int_equal(r.kind, CLASSIFY_AUTO_REPLY);
    assert_string_equal(r.reason, "Auto-Submitted");
    assert_int_equal(r.match, CLASSIFY_MATCH_IN_REPLY_TO);
    assert_string_equal(r.outbound_id, OURS_2);
    assert_int_equal(r.return_date, ymd(2026, 12, 3)); /* "bis zum 03.12.2026" */
}

static void test_R23_dsn_hard_bounce_5_1_1(void **state)
{
    (void)state;
    classify_result r;
    classify_file("postfix_dsn_511.eml", &r);
    /* bounce beats the Auto-Submitted: auto-replied Postfix puts on its bounces */
    assert_int_equal(r.kind, CLASSIFY_BOUNCE);
    assert_string_equal(classify_kind_name(r.kind), "bounce");
    assert_int_equal(r.bounce, CLASSIFY_BOUNCE_HARD);
    assert_string_equal(classify_bounce_name(r.bounce), "hard");
    assert_string_equal(r.bounce_status, "5.1.1");
    assert_string_equal(r.bounce_recipient, "no.such.user@northwind.example");
    assert_int_equal(r.match, CLASSIFY_MATCH_ORIGINAL);
    assert_string_equal(r.outbound_id, OURS_1);
    assert_int_equal(r.return_date, 0);
}

static void test_R23_dsn_exchange_hard_bounce_by_tracking_id(void **state)
{
    (void)state;
    classify_result r;
    /* the returned message's id is unknown to the store, its References carry our tracking id */
    classify_file("exchange_dsn.eml", &r);
    assert_int_equal(r.kind, CLASSIFY_BOUNCE);
    assert_int_equal(r.bounce, CLASSIFY_BOUNCE_HARD);
    assert_string_equal(r.bounce_status, "5.1.10");
    assert_string_equal(r.bounce_recipient, "r.moreau@contoso.example");
    assert_int_equal(r.match, CLASSIFY_MATCH_TRACKING_ID);
    assert_string_equal(r.tracking_id, "Rk4p9Lm2Qa");
}

static void test_R23_dsn_soft_bounce_4_4_1(void **state)
{
    (void)state;
    classify_result r;
    classify_file("dsn_delayed_4xx.eml", &r);
    assert_int_equal(r.kind, CLASSIFY_BOUNCE);
    assert_int_equal(r.bounce, CLASSIFY_BOUNCE_SOFT);
    assert_string_equal(classify_bounce_name(r.bounce), "soft");
    assert_string_equal(r.bounce_status, "4.4.1");
    assert_string_equal(r.bounce_recipient, "buyer@slowmail.example");
    assert_int_equal(r.match, CLASSIFY_MATCH_ORIGINAL);
    assert_string_equal(r.outbound_id, OURS_3);
}

static void test_R23_heuristic_bounce_mailer_daemon_x_failed_recipients(void **state)
{
    (void)state;
    classify_result r;
    classify_file("exim_bounce.eml", &r);
    assert_int_equal(r.kind, CLASSIFY_BOUNCE);
    assert_int_equal(r.bounce, CLASSIFY_BOUNCE_HARD);
    assert_string_equal(r.reason, "mailer-daemon with X-Failed-Recipients");
    assert_string_equal(r.bounce_recipient, "gone@wingtip.example");
    assert_string_equal(r.bounce_status, "");
    assert_int_equal(r.match, CLASSIFY_MATCH_NONE); /* the copy is inline text, not a part */
}

/* ---- R22 rule by rule -------------------------------------------------------------------- */

static void test_R22_reply_by_references_newest_first(void **state)
{
    (void)state;
    const char *refs[] = {OURS_2, "theirs@x.example", OURS_1, "theirs2@x.example"};
    classify_input in = {.in_reply_to = "theirs2@x.example", .references = refs,
                         .n_references = 4};
    classify_result r = run(&in);
    assert_int_equal(r.kind, CLASSIFY_REPLY);
    assert_int_equal(r.match, CLASSIFY_MATCH_REFERENCES);
    assert_string_equal(r.outbound_id, OURS_1);
    assert_string_equal(r.reason, "References has ours");
}

static void test_R22_message_id_beats_tracking_id(void **state)
{
    (void)state;
    const char *refs[] = {"mf-Track_1-x@mailfleet", OURS_1};
    classify_input in = {.references = refs, .n_references = 2};
    classify_result r = run(&in);
    assert_int_equal(r.match, CLASSIFY_MATCH_REFERENCES);
    assert_string_equal(r.outbound_id, OURS_1);
    /* without a store only the tracking id can match */
    classify_result r2;
    classify_message(&in, NULL, NULL, &r2);
    assert_int_equal(r2.kind, CLASSIFY_REPLY);
    assert_int_equal(r2.match, CLASSIFY_MATCH_TRACKING_ID);
    assert_string_equal(r2.tracking_id, "Track_1-x");
    assert_string_equal(r2.reason, "our tracking id");
}

static void test_R22_tracking_id_in_in_reply_to(void **state)
{
    (void)state;
    classify_input in = {.in_reply_to = "MF-abc@MailFleet"};
    classify_result r = run(&in);
    assert_int_equal(r.kind, CLASSIFY_REPLY);
    assert_string_equal(r.tracking_id, "abc");
    assert_string_equal(r.outbound_id, "mf-abc@mailfleet");
}

static void test_R22_is_ours_lookups_bounded(void **state)
{
    (void)state;
    const char *refs[500];
    for (int i = 0; i < 500; i++) refs[i] = "not-ours@x.example";
    classify_input in = {.in_reply_to = "nope@x.example", .references = refs, .n_references = 500};
    struct store st = {sent, 0};
    classify_result r;
    classify_message(&in, is_ours, &st, &r);
    assert_int_equal(r.kind, CLASSIFY_HUMAN);
    assert_int_equal(st.calls, CLASSIFY_LOOKUPS_MAX);
}

static void test_R22_tracking_id_format_and_parse(void **state)
{
    (void)state;
    char out[CLASSIFY_TRACKING_HEADER_MAX];
    assert_int_equal(classify_tracking_id_format("7Hq2xK9vPz", out, sizeof(out)), 0);
    assert_string_equal(out, "<mf-7Hq2xK9vPz@mailfleet>");
    char bare[CLASSIFY_TRACKING_ID_MAX];
    assert_int_equal(classify_tracking_id_parse(out, bare, sizeof(bare)), 1);
    assert_string_equal(bare, "7Hq2xK9vPz");
    assert_int_equal(classify_tracking_id_parse("mf-7Hq2xK9vPz@mailfleet", bare, sizeof(bare)), 1);
    char id64[65];
    memset(id64, 'a', 64);
    id64[64] = '\0';
    assert_int_equal(classify_tracking_id_format(id64, out, sizeof(out)), 0);
    assert_int_equal(classify_tracking_id_parse(out, bare, sizeof(bare)), 1);
    assert_string_equal(bare, id64);
    /* refused ids */
    const char *bad[] = {"", "a b", "a@b", "a.b", "\xC3\xA9", "a<b", NULL};
    for (int i = 0; bad[i]; i++) {
        assert_int_equal(classify_tracking_id_format(bad[i], out, sizeof(out)), -1);
        assert_string_equal(out, "");
    }
    char id65[66];
    memset(id65, 'a', 65);
    id65[65] = '\0';
    assert_int_equal(classify_tracking_id_format(id65, out, sizeof(out)), -1);
    assert_int_equal(classify_tracking_id_format(NULL, out, sizeof(out)), -1);
    assert_int_equal(classify_tracking_id_format("abc", out, 10), -1); /* too small */
    /* not ours */
    const char *notours[] = {"mf-@mailfleet", "mf-abc@mailfleet.example", "xmf-abc@mailfleet",
                             "mf-a.b@mailfleet", "<mf-abc@mailfleet", "mf-abc@mailfleet>",
                             "abc@mailfleet", "mf-abc", "@mailfleet", "", id65, NULL};
    for (int i = 0; notours[i]; i++) {
        assert_int_equal(classify_tracking_id_parse(notours[i], bare, sizeof(bare)), 0);
        assert_string_equal(bare, "");
    }
    assert_int_equal(classify_tracking_id_parse(NULL, bare, sizeof(bare)), 0);
    assert_int_equal(classify_tracking_id_parse("mf-abcdef@mailfleet", bare, 4), 0);
}

/* ---- R23 auto-replies rule by rule ------------------------------------------------------- */

static void test_R23_auto_submitted_values(void **state)
{
    (void)state;
    const char *autos[] = {"auto-replied", "auto-generated", "auto-notified", "Auto-Replied",
                           "auto-replied; owner-email=\"x@y\"", "  auto-generated (vacation)"};
    for (size_t i = 0; i < sizeof(autos) / sizeof(autos[0]); i++) {
        classify_input in = {.auto_submitted = autos[i]};
        classify_result r = run(&in);
        assert_int_equal(r.kind, CLASSIFY_AUTO_REPLY);
        assert_string_equal(r.reason, "Auto-Submitted");
    }
    const char *nos[] = {"no", "No", " no (comment)", "", NULL};
    for (size_t i = 0; i < sizeof(nos) / sizeof(nos[0]); i++) {
        classify_input in = {.auto_submitted = nos[i], .in_reply_to = OURS_1};
        classify_result r = run(&in);
        assert_int_equal(r.kind, CLASSIFY_REPLY);
    }
}

static void test_R23_x_autoreply_and_x_autorespond(void **state)
{
    (void)state;
    classify_input in = {.x_autoreply = "yes"};
    assert_int_equal(run(&in).kind, CLASSIFY_AUTO_REPLY);
    assert_string_equal(run(&in).reason, "X-Autoreply");
    classify_input in2 = {.x_autorespond = "Thank you for your message"};
    assert_int_equal(run(&in2).kind, CLASSIFY_AUTO_REPLY);
    assert_string_equal(run(&in2).reason, "X-Autorespond");
    classify_input in3 = {.x_autoreply = "no", .x_autorespond = "false"};
    assert_int_equal(run(&in3).kind, CLASSIFY_HUMAN);
}

static void test_R23_precedence(void **state)
{
    (void)state;
    classify_input in = {.precedence = "auto_reply"};
    assert_int_equal(run(&in).kind, CLASSIFY_AUTO_REPLY);
    assert_string_equal(run(&in).reason, "Precedence: auto_reply");
    /* bulk or junk alone is a newsletter, not an auto-reply */
    classify_input bulk = {.precedence = "bulk", .subject = "Our December newsletter"};
    assert_int_equal(run(&bulk).kind, CLASSIFY_HUMAN);
    classify_input bulk_auto = {.precedence = "Bulk", .subject = "Out of Office: Re: hello"};
    assert_int_equal(run(&bulk_auto).kind, CLASSIFY_AUTO_REPLY);
    assert_string_equal(run(&bulk_auto).reason,
                        "Precedence bulk/junk with an auto-reply subject");
    classify_input list = {.precedence = "list", .in_reply_to = OURS_1};
    assert_int_equal(run(&list).kind, CLASSIFY_REPLY);
}

static void test_R23_microsoft_markers_need_the_subject(void **state)
{
    (void)state;
    /* Outlook sets X-Auto-Response-Suppress on ordinary mail too */
    classify_input in = {.x_auto_response_suppress = "All", .subject = "RE: your offer",
                         .in_reply_to = OURS_1};
    assert_int_equal(run(&in).kind, CLASSIFY_REPLY);
    classify_input loop = {.x_ms_inbox_rules_loop = "a@b.example",
                           .subject = "Automatic reply: your offer"};
    classify_result r = run(&loop);
    assert_int_equal(r.kind, CLASSIFY_AUTO_REPLY);
    assert_string_equal(r.reason, "Microsoft markers with an auto-reply subject");
}

static void test_R23_auto_reply_subject_prefixes(void **state)
{
    (void)state;
    const char *yes[] = {"Out of Office: Quick question", "OUT OF OFFICE",
                         "Out of the office until Monday", "Automatic reply: Quick question",
                         "  automatic reply: x", "Auto: Jonas Berg is out of the office",
                         "AutoReply: x", "Auto-Reply: x", "Auto Response: x",
                         "Abwesenheitsnotiz: Ihre Anfrage", "Automatische Antwort: Ihre Anfrage",
                         "R\xC3\xA9ponse automatique : votre offre",
                         "R\xC3\x89PONSE AUTOMATIQUE : votre offre",
                         "Respuesta autom\xC3\xA1tica: su oferta",
                         "Risposta automatica: la sua offerta", "Automatisch antwoord: uw offerte"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        classify_input in = {.subject = yes[i]};
        classify_result r = run(&in);
        if (r.kind != CLASSIFY_AUTO_REPLY) fail_msg("not an auto-reply subject: %s", yes[i]);
        assert_string_equal(r.reason, "auto-reply subject");
    }
    const char *no[] = {"Re: Out of office", "Automation ideas", "Autonomous trucks",
                        "About your out of office message", "Re: Automatic reply: x", "", NULL};
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        classify_input in = {.subject = no[i]};
        if (run(&in).kind != CLASSIFY_HUMAN) fail_msg("taken for an auto-reply: %s", no[i]);
    }
}

static void test_R23_auto_reply_return_date_from_subject_first(void **state)
{
    (void)state;
    classify_input in = {.subject = "Out of office until 7 December",
                         .body = "I will be back on 9 December.",
                         .received = ymd(2026, 12, 1) + 3600};
    assert_int_equal(run(&in).return_date, ymd(2026, 12, 7));
    classify_input in2 = {.auto_submitted = "auto-replied", .body = "Thanks for your message."};
    assert_int_equal(run(&in2).return_date, 0);
}

/* ---- R23 bounces rule by rule ------------------------------------------------------------ */

static void test_R23_bounce_beats_auto_reply_and_reply(void **state)
{
    (void)state;
    classify_dsn_recipient d = {"a@b.example", "failed", "5.2.2", "mailbox full"};
    classify_input in = {.is_dsn = 1, .dsn = &d, .n_dsn = 1, .auto_submitted = "auto-replied",
                         .subject = "Out of Office", .in_reply_to = OURS_1};
    classify_result r = run(&in);
    assert_int_equal(r.kind, CLASSIFY_BOUNCE);
    assert_int_equal(r.bounce, CLASSIFY_BOUNCE_HARD);
    /* no returned message: the reply rules find the outbound message */
    assert_int_equal(r.match, CLASSIFY_MATCH_IN_REPLY_TO);
    assert_string_equal(r.outbound_id, OURS_1);
}

static void test_R23_dsn_status_class_decides(void **state)
{
    (void)state;
    /* Postfix gives up on a 4.x.x after the queue lifetime with Action: failed: soft */
    classify_dsn_recipient d1 = {"a@b.example", "failed", "4.4.1", ""};
    classify_input in = {.is_dsn = 1, .dsn = &d1, .n_dsn = 1};
    assert_int_equal(run(&in).bounce, CLASSIFY_BOUNCE_SOFT);
    /* without a usable status, the action */
    classify_dsn_recipient d2 = {"a@b.example", "failed", "", ""};
    in.dsn = &d2;
    assert_int_equal(run(&in).bounce, CLASSIFY_BOUNCE_HARD);
    classify_dsn_recipient d3 = {"a@b.example", "Delayed", NULL, NULL};
    in.dsn = &d3;
    assert_int_equal(run(&in).bounce, CLASSIFY_BOUNCE_SOFT);
    /* mixed recipients: the hard one wins and is reported */
    classify_dsn_recipient mixed[] = {{"soft@x.example", "delayed", "4.7.0", ""},
                                      {"ok@x.example", "delivered", "2.0.0", ""},
                                      {"hard@x.example", "failed", "5.1.1", ""}};
    classify_input in2 = {.is_dsn = 1, .dsn = mixed, .n_dsn = 3};
    classify_result r = run(&in2);
    assert_int_equal(r.bounce, CLASSIFY_BOUNCE_HARD);
    assert_string_equal(r.bounce_recipient, "hard@x.example");
    assert_string_equal(r.bounce_status, "5.1.1");
}

static void test_R23_dsn_success_only_is_not_a_bounce(void **state)
{
    (void)state;
    classify_dsn_recipient d[] = {{"a@b.example", "delivered", "2.0.0", ""},
                                  {"c@b.example", "relayed", "", ""}};
    classify_input in = {.is_dsn = 1, .dsn = d, .n_dsn = 2, .auto_submitted = "auto-replied"};
    classify_result r = run(&in);
    assert_int_equal(r.kind, CLASSIFY_AUTO_REPLY);
    assert_int_equal(r.bounce, CLASSIFY_BOUNCE_NONE);
}

static void test_R23_dsn_without_recipients_is_soft(void **state)
{
    (void)state;
    classify_input in = {.is_dsn = 1};
    classify_result r = run(&in);
    assert_int_equal(r.kind, CLASSIFY_BOUNCE);
    assert_int_equal(r.bounce, CLASSIFY_BOUNCE_SOFT);
}

static void test_R23_bounce_original_unknown(void **state)
{
    (void)state;
    classify_dsn_recipient d = {"a@b.example", "failed", "5.1.1", ""};
    classify_input in = {.is_dsn = 1, .dsn = &d, .n_dsn = 1,
                         .original_message_id = "someone-else@x.example"};
    classify_result r = run(&in);
    assert_int_equal(r.kind, CLASSIFY_BOUNCE);
    assert_int_equal(r.match, CLASSIFY_MATCH_ORIGINAL_UNKNOWN);
    assert_string_equal(r.outbound_id, "someone-else@x.example");
    /* a returned Message-ID in the tracking form is ours without asking the store */
    in.original_message_id = "mf-Zz9@mailfleet";
    r = run(&in);
    assert_int_equal(r.match, CLASSIFY_MATCH_TRACKING_ID);
    assert_string_equal(r.tracking_id, "Zz9");
}

static void test_R23_x_failed_recipients_needs_mailer_daemon(void **state)
{
    (void)state;
    classify_input in = {.from_addr = "dana@northwind.example", .x_failed_recipients = "x@y",
                         .in_reply_to = OURS_1};
    assert_int_equal(run(&in).kind, CLASSIFY_REPLY);
    const char *daemons[] = {"MAILER-DAEMON@mx.example", "postmaster@x.example", "MAILER-DAEMON",
                             "PostMaster@x.example"};
    for (size_t i = 0; i < sizeof(daemons) / sizeof(daemons[0]); i++) {
        classify_input b = {.from_addr = daemons[i],
                            .x_failed_recipients = " <gone@x.example>, other@x.example"};
        classify_result r = run(&b);
        assert_int_equal(r.kind, CLASSIFY_BOUNCE);
        assert_string_equal(r.bounce_recipient, "gone@x.example");
    }
    classify_input none = {.from_addr = "mailer-daemon@x.example"};
    assert_int_equal(run(&none).kind, CLASSIFY_HUMAN);
    classify_input lookalike = {.from_addr = "mailer-daemon-fan@x.example",
                                .x_failed_recipients = "a@b"};
    assert_int_equal(run(&lookalike).kind, CLASSIFY_HUMAN);
}

static void test_classify_names(void **state)
{
    (void)state;
    const char *names[] = {"human", "reply", "auto_reply", "bounce"};
    for (int i = 0; i < 4; i++) {
        classify_kind k;
        assert_int_equal(classify_kind_parse(names[i], &k), 0);
        assert_int_equal(k, i);
        assert_string_equal(classify_kind_name(k), names[i]);
    }
    classify_kind k;
    assert_int_equal(classify_kind_parse("Bounce", &k), -1);
    assert_int_equal(classify_kind_parse(NULL, &k), -1);
    assert_string_equal(classify_bounce_name(CLASSIFY_BOUNCE_NONE), "none");
    classify_input empty = {0};
    classify_result r = run(&empty);
    assert_int_equal(r.kind, CLASSIFY_HUMAN);
    assert_string_equal(r.reason, "no rule");
}

/* ---- R23 return dates -------------------------------------------------------------------- */

struct rd_case {
    const char *text;
    int y, m, d; /* 0 = no date expected */
};

static void check_cases(const struct rd_case *c, size_t n, time_t received)
{
    for (size_t i = 0; i < n; i++) {
        time_t got = 123;
        int rc = classify_return_date(c[i].text, received, &got);
        time_t want = c[i].y ? ymd(c[i].y, c[i].m, c[i].d) : 0;
        if (rc != (c[i].y != 0) || got != want) {
            struct tm tm;
            gmtime_r(&got, &tm);
            fail_msg("\"%s\": rc %d, got %04d-%02d-%02d, want %04d-%02d-%02d", c[i].text, rc,
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, c[i].y, c[i].m, c[i].d);
        }
    }
}

static void test_R23_return_date_phrasings(void **state)
{
    (void)state;
    time_t received = ymd(2026, 11, 30) + 15 * 3600; /* Monday 30 November 2026, 15:00 UTC */
    static const struct rd_case cases[] = {
        {"I will be back on 3 December", 2026, 12, 3},
        {"I will be back on 3 December.", 2026, 12, 3},
        {"I'm returning Monday, December 7th and will reply then.", 2026, 12, 7},
        {"I will be back on 2026-12-03.", 2026, 12, 3},
        {"I am out until 03.12.2026", 2026, 12, 3},
        {"I am out of the office until Dec 3 with limited access", 2026, 12, 3},
        {"I AM OUT OF THE OFFICE UNTIL DEC. 3, 2026", 2026, 12, 3},
        {"Back on December 3rd, 2026", 2026, 12, 3},
        {"back in the office on the 3rd of December", 2026, 12, 3},
        {"I'll return on Thursday 3 Dec 2026.", 2026, 12, 3},
        {"I return 4 Dec.", 2026, 12, 4},
        {"Out of office till 12/24/2026", 2026, 12, 24},
        {"Out of office till 24/12/2026", 2026, 12, 24},
        {"Away through January 5, 2027", 2027, 1, 5},
        {"Ich bin bis zum 3. Dezember nicht im B\xC3\xBCro.", 2026, 12, 3},
        {"Ich bin bis 03.12. nicht erreichbar", 2026, 12, 3},
        {"Ab dem 04.12.2026 bin ich wieder erreichbar.", 2026, 12, 4},
        {"Ich bin ab 7. Dez. 2026 zur\xC3\xBC" "ck", 2026, 12, 7},
        {"Bis zum 1. M\xC3\x84RZ 2027 in Elternzeit", 2027, 3, 1},
        {"Je serai de retour le 3 d\xC3\xA9" "cembre.", 2026, 12, 3},
        {"Absent jusqu'au 1er d\xC3\xA9" "cembre 2026", 2026, 12, 1},
        {"absent jusqu\xE2\x80\x99" "au 15 janvier", 2027, 1, 15},
        {"I will be back on Monday.", 2026, 12, 7},      /* next Monday, not today */
        {"I am back Wednesday", 2026, 12, 2},
        {"Back on 30 November", 2026, 11, 30},           /* today counts */
        {"Back on 29 November", 2027, 11, 29},           /* yesterday: next year */
        {"Thanks for your email. I will get back to you shortly.", 0, 0, 0},
        {"I am on vacation.", 0, 0, 0},
        {"Sent on 3 December from my phone", 0, 0, 0},   /* a date without a cue */
        {"back on 3/12/2026", 0, 0, 0},                  /* ambiguous */
        {"back on 31 February", 0, 0, 0},
        {"back on 2026-13-01", 0, 0, 0},
        {"back on 0 December", 0, 0, 0},
        {"until 2020-01-01", 0, 0, 0},                   /* in the past */
        {"until 2030-01-01", 0, 0, 0},                   /* more than two years away */
        {"back on 2026-12-3x", 2026, 12, 3},
        {"", 0, 0, 0},
        {"back", 0, 0, 0},
        {"until 12", 0, 0, 0},
        {"until December", 0, 0, 0},
        {"until 1234567 December", 0, 0, 0},
        {"feedback on 3 December", 0, 0, 0},             /* "back" inside a word */
        /* the first cue with a usable date wins; a past one is skipped */
        {"I was back on 2020-01-01 and will return on 8 December", 2026, 12, 8},
    };
    check_cases(cases, sizeof(cases) / sizeof(cases[0]), received);
    time_t t = 5;
    assert_int_equal(classify_return_date(NULL, received, &t), 0);
    assert_int_equal(t, 0);
}

static void test_R23_return_date_year_rollover(void **state)
{
    (void)state;
    time_t received = ymd(2026, 12, 20) + 9 * 3600; /* Sunday 20 December 2026 */
    static const struct rd_case cases[] = {
        {"I will be back on 3 January", 2027, 1, 3},
        {"back on January 3rd", 2027, 1, 3},
        {"until 03.01.", 2027, 1, 3},
        {"until 3 January 2027", 2027, 1, 3},
        {"back on 28 December", 2026, 12, 28},
        {"back on Monday", 2026, 12, 21},
        {"returning Sunday", 2026, 12, 27},
        {"until 3 January 2026", 0, 0, 0}, /* stated year already past */
    };
    check_cases(cases, sizeof(cases) / sizeof(cases[0]), received);
}

static void test_R23_return_date_leap_day(void **state)
{
    (void)state;
    static const struct rd_case cases[] = {{"back on 29 February", 2028, 2, 29},
                                           {"back on 29.02.2027", 0, 0, 0},
                                           {"back on 2028-02-29", 2028, 2, 29}};
    check_cases(cases, 3, ymd(2026, 12, 1));
}

static void test_R23_return_date_received_unknown(void **state)
{
    (void)state;
    static const struct rd_case cases[] = {{"back on 3 December", 0, 0, 0},
                                           {"back on Monday", 0, 0, 0},
                                           {"back on 2026-12-03", 2026, 12, 3}};
    check_cases(cases, 3, 0);
}

static void test_R23_return_date_scan_is_bounded(void **state)
{
    (void)state;
    strbuf sb;
    strbuf_init(&sb, 1 << 20);
    for (int i = 0; i < CLASSIFY_RETURN_SCAN_MAX; i++) strbuf_add(&sb, "x", 1);
    strbuf_addstr(&sb, " back on 3 December");
    time_t t;
    assert_int_equal(classify_return_date(sb.buf, ymd(2026, 12, 1), &t), 0);
    /* a cue at the very end of the window, the date past it */
    strbuf_reset(&sb);
    for (int i = 0; i < CLASSIFY_RETURN_SCAN_MAX - 8; i++) strbuf_add(&sb, " ", 1);
    strbuf_addstr(&sb, "back on 3 December");
    assert_int_equal(classify_return_date(sb.buf, ymd(2026, 12, 1), &t), 0);
    /* many cues and no date: still quick and nothing found */
    strbuf_reset(&sb);
    for (int i = 0; i < 3000; i++) strbuf_addstr(&sb, "back until ");
    assert_int_equal(classify_return_date(sb.buf, ymd(2026, 12, 1), &t), 0);
    strbuf_release(&sb);
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
        cmocka_unit_test(test_R22_reply_by_in_reply_to),
        cmocka_unit_test(test_R22_reply_by_tracking_id_in_references),
        cmocka_unit_test(test_R22_unknown_thread_is_human),
        cmocka_unit_test(test_R22_reply_by_references_newest_first),
        cmocka_unit_test(test_R22_message_id_beats_tracking_id),
        cmocka_unit_test(test_R22_tracking_id_in_in_reply_to),
        cmocka_unit_test(test_R22_is_ours_lookups_bounded),
        cmocka_unit_test(test_R22_tracking_id_format_and_parse),
        cmocka_unit_test(test_R23_human_message),
        cmocka_unit_test(test_R23_gmail_vacation_auto_reply),
        cmocka_unit_test(test_R23_outlook_automatic_reply_ms_headers),
        cmocka_unit_test(test_R23_rfc3834_auto_replied_return_date_in_body),
        cmocka_unit_test(test_R23_dsn_hard_bounce_5_1_1),
        cmocka_unit_test(test_R23_dsn_exchange_hard_bounce_by_tracking_id),
        cmocka_unit_test(test_R23_dsn_soft_bounce_4_4_1),
        cmocka_unit_test(test_R23_heuristic_bounce_mailer_daemon_x_failed_recipients),
        cmocka_unit_test(test_R23_auto_submitted_values),
        cmocka_unit_test(test_R23_x_autoreply_and_x_autorespond),
        cmocka_unit_test(test_R23_precedence),
        cmocka_unit_test(test_R23_microsoft_markers_need_the_subject),
        cmocka_unit_test(test_R23_auto_reply_subject_prefixes),
        cmocka_unit_test(test_R23_auto_reply_return_date_from_subject_first),
        cmocka_unit_test(test_R23_bounce_beats_auto_reply_and_reply),
        cmocka_unit_test(test_R23_dsn_status_class_decides),
        cmocka_unit_test(test_R23_dsn_success_only_is_not_a_bounce),
        cmocka_unit_test(test_R23_dsn_without_recipients_is_soft),
        cmocka_unit_test(test_R23_bounce_original_unknown),
        cmocka_unit_test(test_R23_x_failed_recipients_needs_mailer_daemon),
        cmocka_unit_test(test_classify_names),
        cmocka_unit_test(test_R23_return_date_phrasings),
        cmocka_unit_test(test_R23_return_date_year_rollover),
        cmocka_unit_test(test_R23_return_date_leap_day),
        cmocka_unit_test(test_R23_return_date_received_unknown),
        cmocka_unit_test(test_R23_return_date_scan_is_bounded),
    };
    return cmocka_run_group_tests_name("classify", tests, NULL, teardown_all);
}
