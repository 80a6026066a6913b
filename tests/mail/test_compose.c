/* test_compose.c — mail/compose.c: every message is composed, then parsed back with
 * mail/message_parse.c (the way inbound mail is read) and, for what that struct does not
 * carry (Reply-To, the HTML part), with GMime's own parser. Each composed message is also
 * checked on the wire: CRLF only, no bare CR or LF, 7-bit, no line over 998 bytes. Covers R17
 * (sender name, signature), R19 (Reply-To the master inbox), R22 (References carry our
 * tracking id, also through a provider that rewrites Message-ID), R25 (one-click
 * unsubscribe), and refusals: header injection, bad addresses, sizes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <gmime/gmime.h>
#include "core/classify.h"
#include "core/template.h"
#include "mail/compose.h"
#include "mail/message_parse.h"
#include "util/error.h"
#include "util/strbuf.h"

#define DATE 1764579000 /* 2025-12-01T08:50:00Z */
#define UNSUB "https://t.mailfleet.example/u/3f9a1c?p=77&s=2"

static const compose_address to_one[] = {{"Grace Hopper", "grace@navy.example.mil"}};

/* A valid one-off message: from, one recipient, subject, text. */
static compose_input basic(void)
{
    compose_input in;
    memset(&in, 0, sizeof(in));
    in.from = (compose_address){"Ada Lovelace", "ada@Sales.Example.COM"};
    in.to = to_one;
    in.n_to = 1;
    in.subject = "Quick question";
    in.date = DATE;
    in.text = "Hello Grace,\n\nDo you have a minute on Tuesday?\n";
    return in;
}

/* The wire promises of compose.h. */
static void check_wire(const compose_message *m)
{
    assert_int_equal(strlen(m->data), m->len);
    assert_true(m->len >= 2 && m->data[m->len - 2] == '\r' && m->data[m->len - 1] == '\n');
    size_t line = 0, longest = 0;
    for (size_t i = 0; i < m->len; i++) {
        unsigned char c = (unsigned char)m->data[i];
        if (c == '\r') {
            if (i + 1 >= m->len || m->data[i + 1] != '\n') fail_msg("bare CR at byte %zu", i);
            i++;
            line = 0;
            continue;
        }
        if (c == '\n') fail_msg("bare LF at byte %zu", i);
        if (c >= 0x80 || c == 0) fail_msg("8-bit or NUL byte 0x%02x at byte %zu", c, i);
        if (++line > longest) longest = line;
    }
    if (longest > 998) fail_msg("a line of %zu bytes", longest);
    /* the header block ends with an empty line */
    assert_non_null(strstr(m->data, "\r\n\r\n"));
}

static compose_message *build_ok(const compose_input *in)
{
    compose_message *m = NULL;
    mf_error err;
    mf_error_clear(&err);
    if (compose_build(in, &m, &err) != 0) fail_msg("compose_build: %s %s", err.code, err.message);
    assert_non_null(m);
    check_wire(m);
    return m;
}

static message_parsed *parse(const compose_message *m)
{
    message_parsed *p = NULL;
    mf_error err;
    assert_int_equal(message_parse(m->data, m->len, &p, &err), 0);
    assert_non_null(p);
    assert_false(p->malformed);
    return p;
}

/* Expect a 400 invalid_request whose message starts with field. */
static void refused(const compose_input *in, const char *field)
{
    compose_message *m = (compose_message *)0x1;
    mf_error err;
    mf_error_clear(&err);
    if (compose_build(in, &m, &err) != -1) fail_msg("accepted; expected a refusal of %s", field);
    assert_null(m);
    assert_int_equal(err.status, 400);
    assert_string_equal(err.code, "invalid_request");
    if (strncmp(err.message, field, strlen(field)) != 0 || err.message[strlen(field)] != ':')
        fail_msg("expected the field \"%s\", got \"%s\"", field, err.message);
}

/* ---- GMime's view, for what message_parsed does not hold ---------------------------------- */

static GMimeMessage *gmime_parse(const compose_message *m)
{
    GMimeStream *s = g_mime_stream_mem_new_with_buffer(m->data, m->len);
    GMimeParser *p = g_mime_parser_new_with_stream(s);
    GMimeMessage *msg = g_mime_parser_construct_message(p, NULL);
    g_object_unref(p);
    g_object_unref(s);
    assert_non_null(msg);
    return msg;
}

/* The first text/<subtype> part's decoded text (caller frees), or NULL. */
static char *part_text(GMimeMessage *msg, const char *subtype)
{
    GMimeObject *body = g_mime_message_get_mime_part(msg);
    GMimeObject *found = NULL;
    if (GMIME_IS_MULTIPART(body)) {
        GMimeMultipart *mp = GMIME_MULTIPART(body);
        for (int i = 0; i < g_mime_multipart_get_count(mp); i++) {
            GMimeObject *o = g_mime_multipart_get_part(mp, i);
            if (g_mime_content_type_is_type(g_mime_object_get_content_type(o), "text", subtype))
                found = o;
        }
    } else if (g_mime_content_type_is_type(g_mime_object_get_content_type(body), "text", subtype)) {
        found = body;
    }
    if (!found) return NULL;
    char *t = g_mime_text_part_get_text(GMIME_TEXT_PART(found));
    /* the decoded content keeps the wire's CRLF; the tests compare with "\n" */
    char *out = xstrdup(t), *w = out;
    for (const char *r = t; *r; r++)
        if (!(r[0] == '\r' && r[1] == '\n')) *w++ = *r;
    *w = '\0';
    g_free(t);
    return out;
}

/* The raw header line "Name: value" (unfolded is not needed for these) or NULL. */
static const char *raw_header(const compose_message *m, const char *name)
{
    char *needle = xasprintf("\r\n%s: ", name);
    const char *hit = strstr(m->data, needle);
    const char *end = strstr(m->data, "\r\n\r\n");
    free(needle);
    if (!hit && strncmp(m->data, name, strlen(name)) == 0 && m->data[strlen(name)] == ':')
        return m->data;
    return hit && hit < end ? hit + 2 : NULL;
}

static void header_line_is(const compose_message *m, const char *name, const char *line)
{
    const char *h = raw_header(m, name);
    if (!h) fail_msg("no %s header", name);
    if (strncmp(h, line, strlen(line)) != 0 || strncmp(h + strlen(line), "\r\n", 2) != 0 ||
        h[strlen(line) + 2] == ' ' || h[strlen(line) + 2] == '\t')
        fail_msg("%s: want \"%s\", got \"%.*s\"", name, line, (int)strcspn(h, "\r"), h);
}

/* ---- what is written ------------------------------------------------------------------------ */

static void test_compose_basic_round_trip(void **state)
{
    (void)state;
    compose_address cc[] = {{NULL, "ops@navy.example.mil"}};
    compose_input in = basic();
    in.cc = cc;
    in.n_cc = 1;
    compose_message *m = build_ok(&in);
    message_parsed *p = parse(m);
    assert_string_equal(p->message_id, m->message_id);
    assert_string_equal(p->from.addr, "ada@Sales.Example.COM");
    assert_string_equal(p->from.name, "Ada Lovelace");
    assert_int_equal(p->n_to, 1);
    assert_string_equal(p->to[0].addr, "grace@navy.example.mil");
    assert_string_equal(p->to[0].name, "Grace Hopper");
    assert_int_equal(p->n_cc, 1);
    assert_string_equal(p->cc[0].addr, "ops@navy.example.mil");
    assert_string_equal(p->cc[0].name, "");
    assert_string_equal(p->subject, "Quick question");
    assert_int_equal(p->date, DATE);
    assert_string_equal(p->body, in.text);
    assert_false(p->body_from_html);
    assert_string_equal(p->in_reply_to, "");
    assert_int_equal(p->n_references, 0);
    assert_non_null(strstr(p->markers.content_type, "text/plain"));
    assert_non_null(strstr(p->markers.content_type, "utf-8"));
    /* a one-off message: no Reply-To, no List-Unsubscribe */
    assert_null(raw_header(m, "Reply-To"));
    assert_null(raw_header(m, "List-Unsubscribe"));
    assert_null(raw_header(m, "List-Unsubscribe-Post"));
    assert_null(raw_header(m, "In-Reply-To"));
    assert_null(raw_header(m, "References"));
    assert_non_null(raw_header(m, "MIME-Version"));
    header_line_is(m, "Date", "Date: Mon, 01 Dec 2025 08:50:00 +0000");
    message_parsed_free(&p);
    compose_message_free(&m);
    assert_null(m);
    compose_message_free(NULL);
}

static void test_compose_message_id_random_on_sender_domain(void **state)
{
    (void)state;
    compose_input in = basic();
    compose_message *a = build_ok(&in), *b = build_ok(&in);
    assert_string_not_equal(a->message_id, b->message_id);
    for (compose_message *m = a; m; m = (m == a ? b : NULL)) {
        const char *at = strchr(m->message_id, '@');
        assert_non_null(at);
        assert_int_equal(at - m->message_id, 24);
        for (const char *c = m->message_id; c < at; c++)
            assert_true((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
                        (*c >= '0' && *c <= '9') || *c == '-' || *c == '_');
        assert_string_equal(at + 1, "sales.example.com");
        char *line = xasprintf("Message-Id: <%s>", m->message_id);
        header_line_is(m, "Message-Id", line);
        free(line);
    }
    compose_message_free(&a);
    compose_message_free(&b);
}

static void test_R17_utf8_subject_and_sender_name(void **state)
{
    (void)state;
    compose_input in = basic();
    in.from.name = "Zoë Müller-Lüdenscheidt";
    compose_address to[] = {{"José Ñúñez", "jose@example.es"}, {"山田 太郎", "taro@example.jp"}};
    in.to = to;
    in.n_to = 2;
    /* Latin-1 representable (the ISO-8859-1 case) and beyond it */
    const char *subjects[] = {"Grüße aus München – Café?",
                              "Réunion: ½ journée, naïve résumé",
                              ("日本語の件名とEnglish mixed, quite long so that it has to be folded "
                               "over more than one line by the encoder"),
                              "Emoji 🚀 ok"};
    for (size_t i = 0; i < sizeof(subjects) / sizeof(subjects[0]); i++) {
        in.subject = subjects[i];
        compose_message *m = build_ok(&in);
        message_parsed *p = parse(m);
        assert_string_equal(p->subject, subjects[i]);
        assert_string_equal(p->from.name, "Zoë Müller-Lüdenscheidt");
        assert_string_equal(p->to[0].name, "José Ñúñez");
        assert_string_equal(p->to[1].name, "山田 太郎");
        /* RFC 2047 words in UTF-8, never another charset */
        const char *subj = raw_header(m, "Subject");
        assert_non_null(subj);
        const char *body = strstr(m->data, "\r\n\r\n");
        int utf8_words = 0;
        for (const char *c = m->data; c < body; c++) {
            if (strncmp(c, "=?", 2) != 0) continue;
            if (g_ascii_strncasecmp(c, "=?utf-8?", 8) != 0)
                fail_msg("a non-UTF-8 word: %.20s", c);
            if (c > subj && c < subj + strcspn(subj, "\r")) utf8_words++;
            /* skip the word: =?charset?enc?text?= */
            const char *q = strchr(strchr(c + 2, '?') + 1, '?');
            c = strstr(q + 1, "?=") + 1;
        }
        assert_true(utf8_words > 0);
        message_parsed_free(&p);
        compose_message_free(&m);
    }
}

static void test_R17_sender_name_with_specials(void **state)
{
    (void)state;
    const char *names[] = {"Doe, John", "\"Quoted\" Name", "Back\\slash", "a <b> c", "(comment)",
                           "Müller, \"Zoë\"", "\tTabbed"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        compose_input in = basic();
        in.from.name = names[i];
        compose_message *m = build_ok(&in);
        message_parsed *p = parse(m);
        assert_string_equal(p->from.addr, "ada@Sales.Example.COM");
        const char *want = names[i][0] == '\t' ? names[i] + 1 : names[i];
        if (strcmp(p->from.name, want) != 0)
            fail_msg("name \"%s\" came back as \"%s\"", want, p->from.name);
        message_parsed_free(&p);
        compose_message_free(&m);
    }
}

static void test_R17_signature_appended_to_text_and_html(void **state)
{
    (void)state;
    compose_input in = basic();
    in.text = "Hello Grace,\n\nDo you have a minute?"; /* no final line break */
    in.html = "<html><body><p>Hello Grace,</p><p>Do you have a minute?</p></BODY></html>";
    in.signature = "Ada Lovelace <ada@sales.example.com>\r\nHead of \"Engines\" & Sons\r\n";
    compose_message *m = build_ok(&in);
    message_parsed *p = parse(m);
    assert_string_equal(p->body, "Hello Grace,\n\nDo you have a minute?\n-- \n"
                                 "Ada Lovelace <ada@sales.example.com>\n"
                                 "Head of \"Engines\" & Sons\n");
    assert_false(p->body_from_html);
    assert_non_null(strstr(p->markers.content_type, "multipart/alternative"));
    GMimeMessage *g = gmime_parse(m);
    char *html = part_text(g, "html");
    assert_non_null(html);
    const char *want = "<div class=\"mf-signature\">-- <br>\n"
                       "Ada Lovelace &lt;ada@sales.example.com&gt;<br>\n"
                       "Head of &quot;Engines&quot; &amp; Sons<br>\n</div>\n";
    char *hit = strstr(html, want);
    if (!hit) fail_msg("no escaped signature in:\n%s", html);
    /* before </body>, after the author's HTML, which is kept as written */
    assert_true(strstr(html, "<p>Do you have a minute?</p>") < hit);
    assert_ptr_equal(strstr(html, "</BODY></html>"), hit + strlen(want));
    assert_null(strstr(html, "\r")); /* decoded text uses \n here */
    free(html);
    g_object_unref(g);
    message_parsed_free(&p);
    compose_message_free(&m);

    /* HTML without </body>: appended; no signature: nothing added */
    in.html = "<p>Hi</p>";
    m = build_ok(&in);
    g = gmime_parse(m);
    html = part_text(g, "html");
    assert_true(strncmp(html, "<p>Hi</p>\n<div class=\"mf-signature\">", 36) == 0);
    free(html);
    g_object_unref(g);
    compose_message_free(&m);
    in.signature = NULL;
    m = build_ok(&in);
    assert_null(strstr(m->data, "mf-signature"));
    p = parse(m);
    assert_string_equal(p->body, "Hello Grace,\n\nDo you have a minute?\n");
    message_parsed_free(&p);
    compose_message_free(&m);
}

static void test_compose_text_only_without_html(void **state)
{
    (void)state;
    compose_input in = basic();
    in.signature = "Ada";
    compose_message *m = build_ok(&in);
    assert_null(strstr(m->data, "multipart"));
    assert_null(strstr(m->data, "text/html"));
    GMimeMessage *g = gmime_parse(m);
    assert_null(part_text(g, "html"));
    char *text = part_text(g, "plain");
    assert_string_equal(text, "Hello Grace,\n\nDo you have a minute on Tuesday?\n-- \nAda\n");
    free(text);
    g_object_unref(g);
    compose_message_free(&m);
}

static void test_R19_reply_to_is_master(void **state)
{
    (void)state;
    compose_input in = basic();
    in.reply_to = (compose_address){"Ada Lovelace", "ada.master@example.com"};
    compose_message *m = build_ok(&in);
    GMimeMessage *g = gmime_parse(m);
    InternetAddressList *rt = g_mime_message_get_reply_to(g);
    assert_int_equal(internet_address_list_length(rt), 1);
    InternetAddress *ia = internet_address_list_get_address(rt, 0);
    assert_string_equal(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia)),
                        "ada.master@example.com");
    assert_string_equal(internet_address_get_name(ia), "Ada Lovelace");
    /* sent from the secondary mailbox, with its own Message-ID domain */
    message_parsed *p = parse(m);
    assert_string_equal(p->from.addr, "ada@Sales.Example.COM");
    message_parsed_free(&p);
    g_object_unref(g);
    compose_message_free(&m);
    /* the address alone */
    in.reply_to = (compose_address){NULL, "ada.master@example.com"};
    m = build_ok(&in);
    header_line_is(m, "Reply-To", "Reply-To: ada.master@example.com");
    compose_message_free(&m);
}

static void test_R19_no_reply_to_without_master(void **state)
{
    (void)state;
    compose_input in = basic();
    in.reply_to = (compose_address){NULL, ""};
    compose_message *m = build_ok(&in);
    assert_null(raw_header(m, "Reply-To"));
    compose_message_free(&m);
    in.reply_to = (compose_address){"Master", NULL}; /* a name without an address */
    refused(&in, "reply_to.addr");
    in.reply_to = (compose_address){NULL, "not-an-address"};
    refused(&in, "reply_to.addr");
}

static void test_R22_references_carry_tracking_id(void **state)
{
    (void)state;
    compose_input in = basic();
    const char *parent_refs[] = {"<root.1@example.org>", "mid.2@example.org"};
    in.subject = "Re: Quick question";
    in.in_reply_to = "<parent.3@example.org>";
    in.references = parent_refs;
    in.n_references = 2;
    in.tracking_id = "snd_7Qw2mZp-01";
    compose_message *m = build_ok(&in);
    message_parsed *p = parse(m);
    assert_string_equal(p->in_reply_to, "parent.3@example.org");
    assert_int_equal(p->n_references, 4);
    assert_string_equal(p->references[0], "mf-snd_7Qw2mZp-01@mailfleet");
    assert_string_equal(p->references[1], "root.1@example.org");
    assert_string_equal(p->references[2], "mid.2@example.org");
    assert_string_equal(p->references[3], "parent.3@example.org"); /* the parent stays last */
    char bare[CLASSIFY_TRACKING_ID_MAX];
    assert_int_equal(classify_tracking_id_parse(p->references[0], bare, sizeof(bare)), 1);
    assert_string_equal(bare, "snd_7Qw2mZp-01");
    /* exactly what the classifier's formatter writes */
    char want[CLASSIFY_TRACKING_HEADER_MAX];
    assert_int_equal(classify_tracking_id_format("snd_7Qw2mZp-01", want, sizeof(want)), 0);
    assert_non_null(strstr(m->data, want));
    message_parsed_free(&p);
    compose_message_free(&m);
}

/* R22 end to end: we send with a tracking id; the prospect's provider rewrites our Message-ID;
 * the prospect's reply names only the rewritten id in In-Reply-To, but carries our References;
 * the classifier still recognises it as a reply to our message. */
static int never_ours(const char *id, void *ctx)
{
    (void)id;
    (void)ctx;
    return 0;
}

static void test_R22_reply_recognised_when_provider_rewrites_message_id(void **state)
{
    (void)state;
    compose_input in = basic();
    in.tracking_id = "step1-prospect42";
    in.unsubscribe_url = UNSUB;
    compose_message *ours = build_ok(&in);
    message_parsed *sent = parse(ours);
    assert_int_equal(sent->n_references, 1); /* a first message: the tracking id alone */
    assert_string_equal(sent->in_reply_to, "");
    assert_null(raw_header(ours, "In-Reply-To"));

    /* the prospect replies (composed here too, as any client would: parent refs + parent id) */
    const char *refs[] = {sent->references[0]};
    compose_input reply;
    memset(&reply, 0, sizeof(reply));
    reply.from = (compose_address){"Grace Hopper", "grace@navy.example.mil"};
    compose_address back[] = {{NULL, "ada@sales.example.com"}};
    reply.to = back;
    reply.n_to = 1;
    reply.subject = "Re: Quick question";
    reply.date = DATE + 3600;
    reply.text = "Sure, Tuesday works.\n";
    reply.in_reply_to = "<AM0PR01MB1234.rewritten@eurprd01.prod.outlook.example>";
    reply.references = refs;
    reply.n_references = 1;
    compose_message *theirs = build_ok(&reply);
    message_parsed *got = parse(theirs);

    classify_input ci;
    memset(&ci, 0, sizeof(ci));
    ci.from_addr = got->from.addr;
    ci.subject = got->subject;
    ci.in_reply_to = got->in_reply_to;
    ci.references = (const char *const *)got->references;
    ci.n_references = got->n_references;
    ci.body = got->body;
    ci.received = got->date;
    classify_result r;
    classify_message(&ci, never_ours, NULL, &r);
    assert_int_equal(r.kind, CLASSIFY_REPLY);
    assert_int_equal(r.match, CLASSIFY_MATCH_TRACKING_ID);
    assert_string_equal(r.tracking_id, "step1-prospect42");

    message_parsed_free(&got);
    message_parsed_free(&sent);
    compose_message_free(&theirs);
    compose_message_free(&ours);
}

static void test_R22_references_bounded_keep_tracking_root_newest(void **state)
{
    (void)state;
    enum { N = 200 };
    char ids[N][40];
    const char *refs[N];
    for (int i = 0; i < N; i++) {
        snprintf(ids[i], sizeof(ids[i]), "<r%03d@thread.example>", i);
        refs[i] = ids[i];
    }
    compose_input in = basic();
    in.references = refs;
    in.n_references = N;
    in.in_reply_to = "last@thread.example";
    in.tracking_id = "t1";
    compose_message *m = build_ok(&in);
    message_parsed *p = parse(m);
    assert_int_equal(p->n_references, COMPOSE_REFS_MAX);
    assert_string_equal(p->references[0], "mf-t1@mailfleet");
    assert_string_equal(p->references[1], "r000@thread.example");
    assert_string_equal(p->references[COMPOSE_REFS_MAX - 2], "r199@thread.example");
    assert_string_equal(p->references[COMPOSE_REFS_MAX - 1], "last@thread.example");
    message_parsed_free(&p);
    compose_message_free(&m);
    /* duplicates are written once; the parent already in the list stays where it is */
    const char *dup[] = {"a@x.example", "<a@x.example>", "b@x.example"};
    in.references = dup;
    in.n_references = 3;
    in.in_reply_to = "b@x.example";
    in.tracking_id = NULL;
    m = build_ok(&in);
    p = parse(m);
    assert_int_equal(p->n_references, 2);
    assert_string_equal(p->references[0], "a@x.example");
    assert_string_equal(p->references[1], "b@x.example");
    message_parsed_free(&p);
    compose_message_free(&m);
    /* long ids are folded one per line, each line short */
    static char longid[COMPOSE_ID_MAX + 3];
    memset(longid, 'L', sizeof(longid) - 1);
    longid[0] = '<';
    longid[COMPOSE_ID_MAX - 10] = '@';
    longid[sizeof(longid) - 2] = '>';
    const char *lrefs[COMPOSE_REFS_MAX];
    char lids[COMPOSE_REFS_MAX][COMPOSE_ID_MAX + 3];
    for (int i = 0; i < COMPOSE_REFS_MAX; i++) {
        memcpy(lids[i], longid, sizeof(longid));
        snprintf(lids[i] + 1, 4, "%03d", i);
        lids[i][4] = 'L';
        lrefs[i] = lids[i];
    }
    in.references = lrefs;
    in.n_references = COMPOSE_REFS_MAX;
    in.in_reply_to = lrefs[COMPOSE_REFS_MAX - 1];
    m = build_ok(&in);
    p = parse(m);
    assert_int_equal(p->n_references, COMPOSE_REFS_MAX);
    assert_int_equal(strlen(p->references[7]), COMPOSE_ID_MAX);
    assert_int_equal(strlen(p->in_reply_to), COMPOSE_ID_MAX);
    message_parsed_free(&p);
    compose_message_free(&m);
}

static void test_R25_list_unsubscribe_one_click(void **state)
{
    (void)state;
    compose_input in = basic();
    in.unsubscribe_url = UNSUB;
    compose_message *m = build_ok(&in);
    header_line_is(m, "List-Unsubscribe", "List-Unsubscribe: <" UNSUB ">");
    header_line_is(m, "List-Unsubscribe-Post",
                   "List-Unsubscribe-Post: List-Unsubscribe=One-Click");
    GMimeMessage *g = gmime_parse(m);
    assert_string_equal(g_mime_object_get_header(GMIME_OBJECT(g), "List-Unsubscribe"),
                        "<" UNSUB ">");
    g_object_unref(g);
    compose_message_free(&m);
    /* a long URL stays one unencoded token (never RFC 2047 words) */
    char url[COMPOSE_URL_MAX + 1];
    memcpy(url, "https://t.example/u/", 20);
    memset(url + 20, 'x', COMPOSE_URL_MAX - 20);
    url[COMPOSE_URL_MAX] = '\0';
    in.unsubscribe_url = url;
    m = build_ok(&in);
    char *line = xasprintf("List-Unsubscribe: <%s>", url);
    header_line_is(m, "List-Unsubscribe", line);
    free(line);
    assert_null(strstr(m->data, "=?us-ascii?"));
    compose_message_free(&m);
}

static void test_R25_unsubscribe_url_must_be_https(void **state)
{
    (void)state;
    compose_input in = basic();
    const char *bad[] = {"http://t.example/u/1", "mailto:unsub@example.com", "https://",
                         "https://t.example/u 1", "https://t.example/<u>", "https://t.example/\"",
                         "https://t.example/ü", "javascript:alert(1)", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        in.unsubscribe_url = bad[i];
        refused(&in, "unsubscribe_url");
    }
    in.unsubscribe_url = "HTTPS://T.EXAMPLE/U/1";
    compose_message *m = build_ok(&in);
    compose_message_free(&m);
}

static void test_compose_bodies_encoded_for_7bit(void **state)
{
    (void)state;
    compose_input in = basic();
    /* a 5000-byte line (minified HTML does this), mixed line ends, trailing spaces, a line that
     * is a lone dot (SMTP's end of data, stuffed by the transport) */
    strbuf text;
    strbuf_init(&text, 1 << 20);
    for (int i = 0; i < 500; i++) strbuf_addstr(&text, "0123456789");
    strbuf_addstr(&text, "\r\nwindows line\rold mac line\nunix line   \n.\n-- not a sig\nend");
    in.text = text.buf;
    in.html = text.buf;
    compose_message *m = build_ok(&in);
    message_parsed *p = parse(m);
    strbuf want;
    strbuf_init(&want, 1 << 20);
    for (int i = 0; i < 500; i++) strbuf_addstr(&want, "0123456789");
    strbuf_addstr(&want, "\nwindows line\nold mac line\nunix line   \n.\n-- not a sig\nend\n");
    assert_string_equal(p->body, want.buf);
    message_parsed_free(&p);
    compose_message_free(&m);
    /* mostly non-ASCII text: GMime picks base64 or QP; the text comes back the same */
    in.text = "Привет, Грейс!\nКак дела? Это письмо почти целиком на русском языке.\n"
              "日本語のテキストも少し。\n";
    in.html = NULL;
    m = build_ok(&in);
    p = parse(m);
    assert_string_equal(p->body, in.text);
    assert_true(strstr(m->data, "Content-Transfer-Encoding: base64") ||
                strstr(m->data, "Content-Transfer-Encoding: quoted-printable"));
    message_parsed_free(&p);
    compose_message_free(&m);
    /* plain short ASCII stays 7bit */
    in.text = "short ascii\n";
    m = build_ok(&in);
    assert_null(strstr(m->data, "base64"));
    assert_null(strstr(m->data, "quoted-printable"));
    compose_message_free(&m);
    /* empty text is allowed */
    in.text = "";
    m = build_ok(&in);
    p = parse(m);
    assert_string_equal(p->body, "");
    message_parsed_free(&p);
    compose_message_free(&m);
    strbuf_release(&text);
    strbuf_release(&want);
}

/* ---- what is refused ------------------------------------------------------------------------- */

static void test_compose_header_injection_refused(void **state)
{
    (void)state;
    compose_input in = basic();
    in.subject = "Hello\r\nBcc: victim@example.com";
    refused(&in, "subject");
    in.subject = "Hello\nBcc: victim@example.com";
    refused(&in, "subject");
    in.subject = "Hello\rthere";
    refused(&in, "subject");
    in.subject = "Null\x01" "byte";
    refused(&in, "subject");

    in = basic();
    in.from.name = "Ada\r\nBcc: victim@example.com";
    refused(&in, "from.name");
    in = basic();
    in.from.addr = "ada@example.com\r\nBcc: victim@example.com";
    refused(&in, "from.addr");

    compose_address to[] = {{NULL, "ok@example.com"}, {"X\nY", "ok2@example.com"}};
    in = basic();
    in.to = to;
    in.n_to = 2;
    refused(&in, "to[1].name");
    compose_address cc[] = {{NULL, "a@example.com\r\nBcc: victim@example.com"}};
    in = basic();
    in.cc = cc;
    in.n_cc = 1;
    refused(&in, "cc[0].addr");

    in = basic();
    in.reply_to = (compose_address){"M\r\n", "m@example.com"};
    refused(&in, "reply_to.name");

    in = basic();
    in.in_reply_to = "<a@b.example>\r\nBcc: victim@example.com";
    refused(&in, "in_reply_to");
    const char *refs[] = {"a@b.example", "c@d.example>\r\nX-Evil: 1"};
    in = basic();
    in.references = refs;
    in.n_references = 2;
    refused(&in, "references[1]");
    in = basic();
    in.tracking_id = "abc\r\nBcc: victim@example.com";
    refused(&in, "tracking_id");
    in = basic();
    in.unsubscribe_url = "https://t.example/u\r\nBcc: victim@example.com";
    refused(&in, "unsubscribe_url");

    /* line breaks in bodies and the signature are fine: they are content */
    in = basic();
    in.text = "a\r\nBcc: not-a-header@example.com\r\n";
    in.signature = "line1\r\nline2";
    compose_message *m = build_ok(&in);
    assert_null(raw_header(m, "Bcc"));
    compose_message_free(&m);
}

static void test_compose_bad_addresses_refused(void **state)
{
    (void)state;
    const char *bad[] = {"", "noat", "a@b", "a@@b.example", "@b.example", "a@", ".a@b.example",
                         "a.@b.example", "a..b@c.example", "a@-b.example", "a@b-.example",
                         "a@b..example", "a b@c.example", "\"q\"@b.example", "ü@b.example",
                         "a@bü.example", "a@[127.0.0.1]", "a@b.example.", "<a@b.example>",
                         "a@b_c.example", "Name <a@b.example>"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        compose_address to[] = {{NULL, bad[i]}};
        compose_input in = basic();
        in.to = to;
        refused(&in, "to[0].addr");
        in = basic();
        in.from.addr = bad[i];
        refused(&in, "from.addr");
    }
    compose_address nul[] = {{NULL, NULL}};
    compose_input in = basic();
    in.to = nul;
    refused(&in, "to[0].addr");
    /* sizes: local part 64, address 254 */
    char addr[300];
    memset(addr, 'a', 64);
    memcpy(addr + 64, "@b.example", 11);
    compose_address ok[] = {{NULL, addr}};
    in.to = ok;
    compose_message *m = build_ok(&in);
    compose_message_free(&m);
    memset(addr, 'a', 65);
    memcpy(addr + 65, "@b.example", 11);
    refused(&in, "to[0].addr");
    /* 254 bytes: 64 + @ + 189 (three 60-byte labels and ".com" ...) */
    memset(addr, 'a', 64);
    addr[64] = '@';
    size_t n = 65;
    while (n + 61 <= 250) {
        memset(addr + n, 'd', 60);
        addr[n + 60] = '.';
        n += 61;
    }
    memcpy(addr + n, "com", 4);
    n += 3;
    assert_true(n <= 254);
    m = build_ok(&in);
    compose_message_free(&m);
    /* one label too long */
    memset(addr, 'a', 10);
    addr[10] = '@';
    memset(addr + 11, 'd', 64);
    memcpy(addr + 75, ".com", 5);
    refused(&in, "to[0].addr");
}

static void test_compose_required_fields_and_sizes(void **state)
{
    (void)state;
    compose_input in = basic();
    in.n_to = 0;
    refused(&in, "to");
    /* cc alone is enough */
    compose_address cc[] = {{NULL, "cc@example.com"}};
    in.cc = cc;
    in.n_cc = 1;
    compose_message *m = build_ok(&in);
    compose_message_free(&m);

    in = basic();
    in.subject = NULL;
    refused(&in, "subject");
    in = basic();
    in.text = NULL;
    refused(&in, "text");
    in = basic();
    in.date = 0;
    refused(&in, "date");
    in.date = COMPOSE_DATE_MAX + 1;
    refused(&in, "date");
    in = basic();
    in.from.addr = NULL;
    refused(&in, "from.addr");

    /* subject: 998 bytes fine, 999 refused */
    char subj[COMPOSE_SUBJECT_MAX + 2];
    memset(subj, 'S', sizeof(subj) - 1);
    subj[COMPOSE_SUBJECT_MAX] = '\0';
    in = basic();
    in.subject = subj;
    m = build_ok(&in);
    message_parsed *p = parse(m);
    assert_int_equal(strlen(p->subject), COMPOSE_SUBJECT_MAX);
    message_parsed_free(&p);
    compose_message_free(&m);
    subj[COMPOSE_SUBJECT_MAX] = 'S';
    subj[COMPOSE_SUBJECT_MAX + 1] = '\0';
    refused(&in, "subject");

    /* names */
    char name[COMPOSE_NAME_MAX + 2];
    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    in = basic();
    in.from.name = name;
    refused(&in, "from.name");
    in.from.name = "bad \xff utf-8";
    refused(&in, "from.name");
    in = basic();
    in.subject = "bad \xc3\x28 utf-8";
    refused(&in, "subject");

    /* recipients: 100 fine, 101 refused */
    static compose_address many[COMPOSE_RCPT_MAX + 1];
    static char addrs[COMPOSE_RCPT_MAX + 1][32];
    for (int i = 0; i <= COMPOSE_RCPT_MAX; i++) {
        snprintf(addrs[i], sizeof(addrs[i]), "r%03d@example.com", i);
        many[i] = (compose_address){"Recipient Name", addrs[i]};
    }
    in = basic();
    in.to = many;
    in.n_to = 60;
    in.cc = many + 60;
    in.n_cc = 40;
    m = build_ok(&in);
    p = parse(m);
    assert_int_equal(p->n_to, 60);
    assert_int_equal(p->n_cc, 40);
    message_parsed_free(&p);
    compose_message_free(&m);
    in.n_cc = 41;
    refused(&in, "to");

    /* bodies */
    char *big = malloc(COMPOSE_HTML_MAX + 2);
    memset(big, 'b', COMPOSE_HTML_MAX + 1);
    big[COMPOSE_TEXT_MAX + 1] = '\0';
    in = basic();
    in.text = big;
    refused(&in, "text");
    big[COMPOSE_TEXT_MAX + 1] = 'b';
    big[COMPOSE_HTML_MAX + 1] = '\0';
    in = basic();
    in.html = big;
    refused(&in, "html");
    big[COMPOSE_SIGNATURE_MAX + 1] = '\0';
    in = basic();
    in.signature = big;
    refused(&in, "signature");
    free(big);
    in = basic();
    in.text = "bad \xed\xa0\x80 surrogate";
    refused(&in, "text");
    in = basic();
    in.html = "\xc0\xaf";
    refused(&in, "html");

    /* ids */
    char id[COMPOSE_ID_MAX + 4];
    memset(id, 'i', sizeof(id) - 1);
    id[0] = '<';
    id[10] = '@';
    id[COMPOSE_ID_MAX + 1] = '>';
    id[COMPOSE_ID_MAX + 2] = '\0'; /* 250 inside <>: fine */
    in = basic();
    in.in_reply_to = id;
    m = build_ok(&in);
    compose_message_free(&m);
    id[COMPOSE_ID_MAX + 1] = 'i';
    id[COMPOSE_ID_MAX + 2] = '>'; /* 251: refused */
    id[COMPOSE_ID_MAX + 3] = '\0';
    refused(&in, "in_reply_to");
    const char *bad_ids[] = {"", "<>", "a b@c", "a<b@c", "ü@c"};
    for (size_t i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
        in.in_reply_to = bad_ids[i];
        refused(&in, "in_reply_to");
    }
    in = basic();
    static const char *refs[COMPOSE_REFS_IN_MAX + 1];
    for (int i = 0; i <= COMPOSE_REFS_IN_MAX; i++) refs[i] = "r@x.example";
    in.references = refs;
    in.n_references = COMPOSE_REFS_IN_MAX + 1;
    refused(&in, "references");
    in.n_references = COMPOSE_REFS_IN_MAX;
    m = build_ok(&in);
    compose_message_free(&m);
    const char *nullref[] = {NULL};
    in.references = nullref;
    in.n_references = 1;
    refused(&in, "references");
    in = basic();
    const char *bad_tracking[] = {"", "has space", "ü", "a@b",
                                  "0123456789012345678901234567890123456789012345678901234567890123x"};
    for (size_t i = 0; i < sizeof(bad_tracking) / sizeof(bad_tracking[0]); i++) {
        in.tracking_id = bad_tracking[i];
        refused(&in, "tracking_id");
    }
    char url[COMPOSE_URL_MAX + 2];
    memcpy(url, "https://x.example/", 18);
    memset(url + 18, 'u', sizeof(url) - 19);
    url[sizeof(url) - 1] = '\0';
    in = basic();
    in.unsubscribe_url = url;
    refused(&in, "unsubscribe_url");
}

/* ---- envelope ----------------------------------------------------------------------------------- */

static void test_compose_envelope_deduplicated(void **state)
{
    (void)state;
    compose_address to[] = {{"A", "Ann@X.example"}, {NULL, "bob@y.example"}};
    compose_address cc[] = {{NULL, "ann@x.EXAMPLE"}, {"C", "carl@z.example"},
                            {NULL, "bob@y.example"}};
    compose_input in = basic();
    in.to = to;
    in.n_to = 2;
    in.cc = cc;
    in.n_cc = 3;
    compose_rcpts *r = NULL;
    mf_error err;
    assert_int_equal(compose_envelope(&in, &r, &err), 0);
    assert_int_equal(r->n, 3);
    assert_string_equal(r->addrs[0], "Ann@X.example");
    assert_string_equal(r->addrs[1], "bob@y.example");
    assert_string_equal(r->addrs[2], "carl@z.example");
    compose_rcpts_free(&r);
    assert_null(r);
    compose_rcpts_free(NULL);
    /* the message keeps every header recipient as given */
    compose_message *m = build_ok(&in);
    message_parsed *p = parse(m);
    assert_int_equal(p->n_to, 2);
    assert_int_equal(p->n_cc, 3);
    message_parsed_free(&p);
    compose_message_free(&m);
    /* and validates like compose_build */
    cc[1].addr = "carl@z.example\r\nRCPT TO:<x@evil.example>";
    assert_int_equal(compose_envelope(&in, &r, &err), -1);
    assert_null(r);
    assert_string_equal(err.code, "invalid_request");
    assert_true(strncmp(err.message, "cc[1].addr:", 11) == 0);
    in.n_to = 0;
    in.n_cc = 0;
    assert_int_equal(compose_envelope(&in, &r, &err), -1);
}

/* ---- with the template engine: a merged subject with a hostile value still composes ---------- */

static void test_compose_merged_subject_from_template(void **state)
{
    (void)state;
    const template_field f[] = {{"first_name", "Grace\r\nBcc: victim@example.com"},
                                {"company", "Navy & <Co>"}};
    template_result *subj = NULL, *html = NULL;
    const char *st = "Quick question for {{first_name|you}} at {{company}}";
    const char *ht = "<p>Hi {{first_name|there}} of {{company}}</p>";
    assert_int_equal(template_render(st, strlen(st), TEMPLATE_LINE, f, 2, COMPOSE_SUBJECT_MAX,
                                     &subj, NULL),
                     0);
    assert_int_equal(template_render(ht, strlen(ht), TEMPLATE_HTML, f, 2, 0, &html, NULL), 0);
    compose_input in = basic();
    in.subject = subj->text;
    in.html = html->text;
    compose_message *m = build_ok(&in);
    assert_null(raw_header(m, "Bcc"));
    message_parsed *p = parse(m);
    assert_string_equal(p->subject, "Quick question for Grace Bcc: victim@example.com at Navy & <Co>");
    GMimeMessage *g = gmime_parse(m);
    char *h = part_text(g, "html");
    assert_non_null(strstr(h, "of Navy &amp; &lt;Co&gt;</p>"));
    free(h);
    g_object_unref(g);
    message_parsed_free(&p);
    compose_message_free(&m);
    template_result_free(&subj);
    template_result_free(&html);
}

static int teardown_all(void **state)
{
    (void)state;
    message_parse_shutdown();
    return 0;
}

/* ---- the copy: a sent message stored without parsing it (compose_copy_read) --------------- */

static void assert_same_str(const char *what, const char *a, const char *b)
{
    if (strcmp(a, b) != 0) fail_msg("%s differs:\n parse: [%s]\n  copy: [%s]", what, a, b);
}

static void assert_same_addrs(const char *what, const msg_address *a, size_t na,
                              const msg_address *b, size_t nb)
{
    if (na != nb) fail_msg("%s: %zu addresses parsed, %zu from the copy", what, na, nb);
    for (size_t i = 0; i < na; i++) {
        assert_same_str(what, a[i].addr, b[i].addr);
        assert_same_str(what, a[i].name, b[i].name);
    }
}

/* Compose in, then compare what message_parse reads from the bytes with what the copy gives:
 * every field the stored message is made of (ingest_parsed, direction out). Returns 1 when the
 * message had a copy, 0 when compose left it to the parse. */
static int check_copy(const compose_input *in)
{
    compose_message *m = NULL;
    mf_error err;
    if (compose_build(in, &m, &err) != 0) fail_msg("compose: %s", err.message);
    int had = m->copy != NULL;
    if (had) {
        message_parsed *p = NULL, *c = compose_copy_read(m->copy, m->data, m->len);
        assert_non_null(c);
        assert_int_equal(message_parse(m->data, m->len, &p, &err), 0);
        assert_int_equal(p->size, c->size);
        assert_same_str("message_id", p->message_id, c->message_id);
        assert_same_str("in_reply_to", p->in_reply_to, c->in_reply_to);
        assert_int_equal(p->n_references, c->n_references);
        for (size_t i = 0; i < p->n_references; i++)
            assert_same_str("references", p->references[i], c->references[i]);
        assert_same_addrs("from", &p->from, 1, &c->from, 1);
        assert_same_addrs("to", p->to, p->n_to, c->to, c->n_to);
        assert_same_addrs("cc", p->cc, p->n_cc, c->cc, c->n_cc);
        assert_same_str("subject", p->subject, c->subject);
        assert_int_equal(p->date, c->date);
        assert_same_str("body", p->body, c->body);
        assert_int_equal(p->body_len, c->body_len);
        assert_int_equal(p->body_truncated, c->body_truncated);
        assert_same_str("snippet", p->snippet, c->snippet);
        message_parsed_free(&p);
        message_parsed_free(&c);
    }
    compose_message_free(&m);
    return had;
}

/* R22 threading and the conversation list must not change when the stored copy of a sent
 * message is made from what compose knows instead of a parse: plain, with names, Cc, a reply
 * with References, HTML, a signature, non-ASCII text and subject, long lines, long subjects,
 * controls in the text, an empty text — and a few thousand random ones. */
static void test_R22_sent_copy_reads_as_parse(void **state)
{
    (void)state;
    compose_input in = basic();
    assert_int_equal(check_copy(&in), 1);
    const compose_address to2[] = {{"Grace \"Amazing\" Hopper", "grace@navy.example.mil"},
                                   {"Hopper, Grace", "g2@navy.example.mil"},
                                   {NULL, "GRACE@navy.example.mil"}};
    const compose_address cc1[] = {{"Zoë Ünicode", "zoe@example.org"}};
    in.to = to2;
    in.n_to = 3;
    in.cc = cc1;
    in.n_cc = 1;
    in.from.name = "Ada (Sales) Lovelace";
    assert_int_equal(check_copy(&in), 1);
    const char *refs[] = {"root.1@example.org", "CAF=x+y_z@mail.gmail.com", "p-2@example.org"};
    in.in_reply_to = "<p-3@example.org>";
    in.references = refs;
    in.n_references = 3;
    in.tracking_id = "out_0123456789abcdef";
    assert_int_equal(check_copy(&in), 1);
    in.signature = "Ada\nAnalytical Engines Ltd.\n";
    assert_int_equal(check_copy(&in), 1);
    in.html = "<p>Hello <b>Grace</b></p>";
    assert_int_equal(check_copy(&in), 1);
    in.html = NULL;
    in.text = "Grüße aus Köln — ça va? 日本語のテキスト\nline two  with  spaces \t\n";
    in.subject = "Réunion: prochaine étape — 日本";
    assert_int_equal(check_copy(&in), 1);
    static char long_line[3000], long_subject[990];
    memset(long_line, 'x', sizeof(long_line) - 1);
    in.text = long_line; /* over 998: not 7bit */
    memset(long_subject, 'y', sizeof(long_subject) - 1);
    for (size_t i = 50; i < sizeof(long_subject) - 1; i += 97) long_subject[i] = ' ';
    in.subject = long_subject;
    assert_int_equal(check_copy(&in), 1);
    in.text = "bell\a and NUL-free controls \x01\x02 and CR\r\nand lone CR\rend";
    in.subject = "  leading and trailing  ";
    assert_int_equal(check_copy(&in), 1);
    in.text = "";
    in.signature = NULL;
    in.subject = "";
    assert_int_equal(check_copy(&in), 1);
    in.subject = "=?utf-8?q?looks_encoded?="; /* left to the parse */
    assert_int_equal(check_copy(&in), 0);

    /* random subjects, names and texts from a small alphabet of awkward characters */
    static const char *const bits[] = {"a", "Z", " ", "  ", "\t", "é", "日", "\"", "(", ")",
                                       ",", ";", "<", ">", "@", ".", "\\", "=", "?", "_",
                                       "-", "'", ":", "€", "\xF0\x9F\x98\x80", "x"};
    unsigned seed = 12345;
    int copies = 0;
    for (int round = 0; round < 2000; round++) {
        char subject[200] = "", name[80] = "", text[400] = "";
        char *fields[3] = {subject, name, text};
        size_t caps[3] = {sizeof(subject), sizeof(name), sizeof(text)};
        for (int f = 0; f < 3; f++) {
            int n = (int)((seed = seed * 1103515245u + 12345u) >> 16) % 20;
            for (int k = 0; k < n; k++) {
                seed = seed * 1103515245u + 12345u;
                const char *b = bits[(seed >> 16) % (sizeof(bits) / sizeof(bits[0]))];
                if (f == 2 && (seed >> 8) % 7 == 0) b = "\n";
                size_t have = strlen(fields[f]), add = strlen(b);
                if (have + add + 1 < caps[f]) memcpy(fields[f] + have, b, add + 1);
            }
        }
        compose_input r = basic();
        r.subject = subject;
        r.from.name = name;
        r.text = text;
        r.html = round % 5 == 0 ? "<p>x</p>" : NULL;
        copies += check_copy(&r);
    }
    assert_true(copies > 1500); /* most have a copy: the rule is not "never" */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compose_basic_round_trip),
        cmocka_unit_test(test_compose_message_id_random_on_sender_domain),
        cmocka_unit_test(test_R17_utf8_subject_and_sender_name),
        cmocka_unit_test(test_R17_sender_name_with_specials),
        cmocka_unit_test(test_R17_signature_appended_to_text_and_html),
        cmocka_unit_test(test_compose_text_only_without_html),
        cmocka_unit_test(test_R19_reply_to_is_master),
        cmocka_unit_test(test_R19_no_reply_to_without_master),
        cmocka_unit_test(test_R22_references_carry_tracking_id),
        cmocka_unit_test(test_R22_reply_recognised_when_provider_rewrites_message_id),
        cmocka_unit_test(test_R22_references_bounded_keep_tracking_root_newest),
        cmocka_unit_test(test_R25_list_unsubscribe_one_click),
        cmocka_unit_test(test_R25_unsubscribe_url_must_be_https),
        cmocka_unit_test(test_compose_bodies_encoded_for_7bit),
        cmocka_unit_test(test_compose_header_injection_refused),
        cmocka_unit_test(test_compose_bad_addresses_refused),
        cmocka_unit_test(test_compose_required_fields_and_sizes),
        cmocka_unit_test(test_compose_envelope_deduplicated),
        cmocka_unit_test(test_compose_merged_subject_from_template),
        cmocka_unit_test(test_R22_sent_copy_reads_as_parse),
    };
    message_parse_init();
    return cmocka_run_group_tests_name("compose", tests, NULL, teardown_all);
}
