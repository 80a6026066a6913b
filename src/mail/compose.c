/* compose.c — outgoing messages through GMime 3; see compose.h for what is written and what is
 * refused. Order of work: validate everything (nothing is built from a bad input), build the
 * GMime message, write it with CRLF line ends, check the bytes, hand them over. */
#include <gmime/gmime.h>
#include <jansson.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/classify.h"
#include "mail/compose.h"
#include "mail/message_parse.h"
#include "util/strbuf.h"

#define RANDOM_BYTES 18 /* 144 bits: 24 characters of base64url */
#define LINE_MAX_BYTES 998

/* ---- validation -------------------------------------------------------------------------- */

static int invalid(mf_error *err, const char *field, const char *why)
{
    return mf_fail(err, 400, "invalid_request", NULL, "%s: %s", field, why);
}

static int atext(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* ASCII local@domain as compose.h says; NULL when fine, else the reason. */
static const char *address_problem(const char *a)
{
    if (!a || !*a) return "is required";
    size_t n = strnlen(a, COMPOSE_ADDR_MAX + 1);
    if (n > COMPOSE_ADDR_MAX) return "longer than 254 bytes";
    const char *at = strrchr(a, '@');
    if (!at) return "not an email address (local@domain)";
    size_t local = (size_t)(at - a);
    if (local == 0 || local > 64) return "the part before @ must be 1 to 64 characters";
    for (size_t i = 0; i < local; i++) {
        unsigned char c = (unsigned char)a[i];
        if (c == '.') {
            if (i == 0 || i + 1 == local || a[i + 1] == '.')
                return "misplaced dot before @";
        } else if (!atext(c)) {
            return "not an email address (local@domain of ASCII letters, digits and "
                   "!#$%&'*+-/=?^_`{|}~.)";
        }
    }
    const char *d = at + 1;
    size_t label = 0, labels = 0;
    for (const char *p = d;; p++) {
        if (*p == '.' || *p == '\0') {
            if (label == 0 || label > 63) return "the domain needs labels of 1 to 63 characters";
            if (p[-1] == '-' || p[-label] == '-') return "a domain label starts or ends with '-'";
            labels++;
            label = 0;
            if (*p == '\0') break;
        } else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                   (*p >= '0' && *p <= '9') || *p == '-') {
            label++;
        } else {
            return "the domain may hold only letters, digits, '-' and dots";
        }
    }
    if (labels < 2) return "the domain needs at least one dot";
    return NULL;
}

/* A header text: NULL when fine (valid UTF-8, no controls but TAB when allow_tab, at most max
 * bytes), else the reason. */
static const char *header_text_problem(const char *s, size_t max, int allow_tab)
{
    size_t n = strnlen(s, max + 1);
    if (n > max) return "too long";
    if (!g_utf8_validate(s, (gssize)n, NULL)) return "not valid UTF-8";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\r' || c == '\n') return "must not contain a line break";
        if ((c < 0x20 && !(c == '\t' && allow_tab)) || c == 0x7f)
            return "must not contain control characters";
    }
    return NULL;
}

static int check_address(const compose_address *a, const char *field, int need, mf_error *err)
{
    char f[64];
    const char *why;
    if (!need && (!a->addr || !*a->addr)) {
        if (a->name && *a->name) {
            snprintf(f, sizeof(f), "%s.addr", field);
            return invalid(err, f, "is required when a name is given");
        }
        return 0;
    }
    snprintf(f, sizeof(f), "%s.addr", field);
    if ((why = address_problem(a->addr))) return invalid(err, f, why);
    if (a->name && (why = header_text_problem(a->name, COMPOSE_NAME_MAX, 1))) {
        snprintf(f, sizeof(f), "%s.name", field);
        return invalid(err, f, why);
    }
    return 0;
}

static int check_list(const compose_address *list, size_t n, const char *field, mf_error *err)
{
    if (n && !list) return invalid(err, field, "is missing");
    for (size_t i = 0; i < n; i++) {
        char f[48];
        snprintf(f, sizeof(f), "%s[%zu]", field, i);
        if (check_address(&list[i], f, 1, err) < 0) return -1;
    }
    return 0;
}

static int check_recipients(const compose_input *in, mf_error *err)
{
    if (in->n_to + in->n_cc == 0) return invalid(err, "to", "at least one recipient is required");
    if (in->n_to > COMPOSE_RCPT_MAX || in->n_cc > COMPOSE_RCPT_MAX ||
        in->n_to + in->n_cc > COMPOSE_RCPT_MAX)
        return invalid(err, "to", "more than 100 recipients in to and cc");
    if (check_list(in->to, in->n_to, "to", err) < 0) return -1;
    return check_list(in->cc, in->n_cc, "cc", err);
}

/* A message id, with or without <>, into out (without <>); NULL when fine, else the reason. */
static const char *id_problem(const char *s, char out[COMPOSE_ID_MAX + 1])
{
    size_t n = strnlen(s, COMPOSE_ID_MAX + 3);
    if (n >= 2 && s[0] == '<' && s[n - 1] == '>') {
        s++;
        n -= 2;
    }
    if (n == 0) return "is empty";
    if (n > COMPOSE_ID_MAX) return "longer than 250 bytes";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\r' || c == '\n') return "must not contain a line break";
        if (c <= 0x20 || c >= 0x7f || c == '<' || c == '>')
            return "must be printable ASCII without spaces or <>";
    }
    memcpy(out, s, n);
    out[n] = '\0';
    return NULL;
}

static const char *url_problem(const char *u)
{
    size_t n = strnlen(u, COMPOSE_URL_MAX + 1);
    if (n > COMPOSE_URL_MAX) return "longer than 900 bytes";
    /* RFC 8058 wants HTTPS; plain http is accepted only for a loopback host (a development
     * server or the test lab, where public_url is not set). */
    int https = g_ascii_strncasecmp(u, "https://", 8) == 0 && n > 8;
    int loopback = g_ascii_strncasecmp(u, "http://127.", 11) == 0 ||
                   g_ascii_strncasecmp(u, "http://localhost", 16) == 0 ||
                   g_ascii_strncasecmp(u, "http://[::1]", 12) == 0;
    if (!https && !loopback) return "must be an https:// URL (RFC 8058)";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)u[i];
        if (c == '\r' || c == '\n') return "must not contain a line break";
        if (c <= 0x20 || c >= 0x7f || c == '<' || c == '>' || c == '"')
            return "must be printable ASCII without spaces, quotes or <>";
    }
    return NULL;
}

static int check_body(const char *s, size_t max, const char *field, mf_error *err)
{
    size_t n = strnlen(s, max + 1);
    if (n > max) {
        char why[64];
        snprintf(why, sizeof(why), "longer than %zu bytes", max);
        return invalid(err, field, why);
    }
    if (!g_utf8_validate(s, (gssize)n, NULL)) return invalid(err, field, "not valid UTF-8");
    return 0;
}

/* The ids of References in order (see compose.h), without <>; the caller frees the array
 * (one allocation: pointers then strings). */
struct ids {
    char (*id)[COMPOSE_ID_MAX + 1];
    size_t n;
};

/* id: a NUL-terminated string in a buffer of cap bytes (cut at COMPOSE_ID_MAX). */
static void ids_add(struct ids *l, const char *id, size_t cap)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->id[i], id) == 0) return;
    size_t n = strnlen(id, cap < COMPOSE_ID_MAX ? cap : COMPOSE_ID_MAX);
    memcpy(l->id[l->n], id, n);
    l->id[l->n++][n] = '\0';
}

static int check_thread(const compose_input *in, struct ids *refs, char *irt, mf_error *err)
{
    const char *why;
    irt[0] = '\0';
    if (in->n_references > COMPOSE_REFS_IN_MAX)
        return invalid(err, "references", "more than 1000 ids");
    if (in->n_references && !in->references) return invalid(err, "references", "is missing");
    refs->id = xcalloc(in->n_references + 2, sizeof(refs->id[0]));
    refs->n = 0;
    if (in->tracking_id) {
        char t[CLASSIFY_TRACKING_HEADER_MAX];
        if (classify_tracking_id_format(in->tracking_id, t, sizeof(t)) < 0)
            return invalid(err, "tracking_id",
                           "must be 1 to 64 characters of letters, digits, '_' or '-'");
        t[strlen(t) - 1] = '\0'; /* <mf-ID@mailfleet> -> mf-ID@mailfleet */
        ids_add(refs, t + 1, sizeof(t) - 1);
    }
    for (size_t i = 0; i < in->n_references; i++) {
        char id[COMPOSE_ID_MAX + 1];
        if (!in->references[i]) return invalid(err, "references", "holds a NULL id");
        if ((why = id_problem(in->references[i], id))) {
            char f[48];
            snprintf(f, sizeof(f), "references[%zu]", i);
            return invalid(err, f, why);
        }
        ids_add(refs, id, sizeof(id));
    }
    if (in->in_reply_to) {
        if ((why = id_problem(in->in_reply_to, irt))) return invalid(err, "in_reply_to", why);
        ids_add(refs, irt, COMPOSE_ID_MAX + 1);
    }
    if (refs->n > COMPOSE_REFS_MAX) { /* keep [tracking], the root, and the newest */
        size_t keep_head = (in->tracking_id ? 1 : 0) + 1;
        size_t tail = COMPOSE_REFS_MAX - keep_head;
        memmove(refs->id + keep_head, refs->id + refs->n - tail, tail * sizeof(refs->id[0]));
        refs->n = COMPOSE_REFS_MAX;
    }
    return 0;
}

static int check_input(const compose_input *in, struct ids *refs, char *irt, mf_error *err)
{
    const char *why;
    if (check_address(&in->from, "from", 1, err) < 0) return -1;
    if (check_recipients(in, err) < 0) return -1;
    if (check_address(&in->reply_to, "reply_to", 0, err) < 0) return -1;
    if (!in->subject) return invalid(err, "subject", "is required");
    if ((why = header_text_problem(in->subject, COMPOSE_SUBJECT_MAX, 1)))
        return invalid(err, "subject", why);
    if (in->date <= 0 || in->date > COMPOSE_DATE_MAX)
        return invalid(err, "date", "must be a time from 1970 to 9999");
    if (in->unsubscribe_url && (why = url_problem(in->unsubscribe_url)))
        return invalid(err, "unsubscribe_url", why);
    if (!in->text) return invalid(err, "text", "is required");
    if (check_body(in->text, COMPOSE_TEXT_MAX, "text", err) < 0) return -1;
    if (in->html && check_body(in->html, COMPOSE_HTML_MAX, "html", err) < 0) return -1;
    if (in->signature && check_body(in->signature, COMPOSE_SIGNATURE_MAX, "signature", err) < 0)
        return -1;
    return check_thread(in, refs, irt, err);
}

/* ---- bodies ------------------------------------------------------------------------------ */

/* Append s with every CRLF, CR and LF as "\n". */
static void add_lf(strbuf *sb, const char *s)
{
    while (*s) {
        size_t run = strcspn(s, "\r");
        if (strbuf_add(sb, s, run) < 0) MF_BUG("compose: body buffer");
        s += run;
        if (*s == '\r') {
            if (strbuf_add(sb, "\n", 1) < 0) MF_BUG("compose: body buffer");
            s += s[1] == '\n' ? 2 : 1;
        }
    }
}

static void ensure_newline(strbuf *sb)
{
    if (sb->len > 0 && sb->buf[sb->len - 1] != '\n' && strbuf_add(sb, "\n", 1) < 0)
        MF_BUG("compose: body buffer");
}

static void add_html_escaped(strbuf *sb, const char *s)
{
    for (; *s; s++) {
        const char *rep = NULL;
        switch (*s) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        case '\n': rep = "<br>\n"; break;
        default: break;
        }
        int rc = rep ? strbuf_addstr(sb, rep) : strbuf_add(sb, s, 1);
        if (rc < 0) MF_BUG("compose: body buffer");
    }
}

/* Bodies are bounded by check_input; the buffers get room for the worst case. */
#define BODY_BUF_MAX(n) (((n) + COMPOSE_SIGNATURE_MAX) * 6 + 256)

static void text_body(const compose_input *in, strbuf *sb)
{
    strbuf_init(sb, BODY_BUF_MAX(COMPOSE_TEXT_MAX));
    add_lf(sb, in->text);
    if (in->signature && *in->signature) {
        ensure_newline(sb);
        if (strbuf_addstr(sb, "-- \n") < 0) MF_BUG("compose: body buffer");
        add_lf(sb, in->signature);
    }
    ensure_newline(sb);
}

/* The last "</body" of html, ASCII case-insensitive; NULL when none. */
static const char *find_body_end(const char *html, size_t n)
{
    for (size_t i = n; i >= 6; i--)
        if (g_ascii_strncasecmp(html + i - 6, "</body", 6) == 0) return html + i - 6;
    return NULL;
}

static void html_body(const compose_input *in, strbuf *sb)
{
    strbuf_init(sb, BODY_BUF_MAX(COMPOSE_HTML_MAX));
    strbuf src;
    strbuf_init(&src, BODY_BUF_MAX(COMPOSE_HTML_MAX));
    add_lf(&src, in->html);
    size_t cut = src.len;
    if (in->signature && *in->signature) {
        const char *end = find_body_end(src.buf, src.len);
        if (end) cut = (size_t)(end - src.buf);
    }
    if (strbuf_add(sb, src.buf, cut) < 0) MF_BUG("compose: body buffer");
    if (in->signature && *in->signature) {
        strbuf sig;
        strbuf_init(&sig, COMPOSE_SIGNATURE_MAX + 1);
        add_lf(&sig, in->signature);
        ensure_newline(sb);
        if (strbuf_addstr(sb, "<div class=\"mf-signature\">-- <br>\n") < 0)
            MF_BUG("compose: body buffer");
        add_html_escaped(sb, sig.buf);
        if (strbuf_addstr(sb, "</div>\n") < 0) MF_BUG("compose: body buffer");
        strbuf_release(&sig);
    }
    if (strbuf_add(sb, src.buf + cut, src.len - cut) < 0) MF_BUG("compose: body buffer");
    ensure_newline(sb);
    strbuf_release(&src);
}

static void set_content(GMimePart *part, const char *data, size_t len)
{
    GMimeStream *s = g_mime_stream_mem_new_with_buffer(data, len);
    GMimeDataWrapper *w = g_mime_data_wrapper_new_with_stream(s, GMIME_CONTENT_ENCODING_DEFAULT);
    g_mime_part_set_content(part, w);
    g_object_unref(w);
    g_object_unref(s);
}

/* A text/<subtype>; charset=utf-8 part holding body (LF line ends), in the best encoding for
 * 7-bit transport. base64 carries the text in canonical CRLF form (RFC 2045); quoted-printable
 * and 7bit have their line ends written as CRLF by the output filter. */
static GMimeObject *text_part(const char *subtype, const strbuf *body)
{
    GMimeTextPart *tp = g_mime_text_part_new_with_subtype(subtype);
    GMimePart *part = GMIME_PART(tp);
    g_mime_text_part_set_charset(tp, "utf-8");
    set_content(part, body->buf, body->len);
    GMimeContentEncoding enc =
        g_mime_part_get_best_content_encoding(part, GMIME_ENCODING_CONSTRAINT_7BIT);
    if (enc == GMIME_CONTENT_ENCODING_BASE64) {
        strbuf crlf;
        strbuf_init(&crlf, body->len * 2 + 1);
        for (size_t i = 0; i < body->len; i++) {
            int rc = body->buf[i] == '\n' ? strbuf_add(&crlf, "\r\n", 2)
                                          : strbuf_add(&crlf, body->buf + i, 1);
            if (rc < 0) MF_BUG("compose: body buffer");
        }
        set_content(part, crlf.buf, crlf.len);
        strbuf_release(&crlf);
    }
    g_mime_part_set_content_encoding(part, enc);
    return GMIME_OBJECT(tp);
}

/* ---- the message ------------------------------------------------------------------------- */

static void add_mailbox(InternetAddressList *list, const compose_address *a)
{
    InternetAddress *ia = internet_address_mailbox_new(a->name && *a->name ? a->name : NULL, a->addr);
    internet_address_set_charset(ia, "utf-8");
    internet_address_list_add(list, ia);
    g_object_unref(ia);
}

static char *new_message_id(const char *from_addr)
{
    unsigned char rnd[RANDOM_BYTES];
    char b64[sodium_base64_ENCODED_LEN(RANDOM_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
    randombytes_buf(rnd, sizeof(rnd));
    sodium_bin2base64(b64, sizeof(b64), rnd, sizeof(rnd), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *id = xasprintf("%s@%s", b64, strrchr(from_addr, '@') + 1);
    for (char *p = strrchr(id, '@'); *p; p++) *p = (char)g_ascii_tolower(*p);
    return id;
}

/* Set header name to value written exactly as given (GMime would RFC 2047-encode an unbroken
 * token longer than a line, which a List-Unsubscribe reader does not decode). value is ASCII
 * without line breaks, checked by the caller. */
static void set_raw_header(GMimeObject *obj, const char *name, const char *value)
{
    g_mime_object_set_header(obj, name, value, NULL);
    GMimeHeader *h = g_mime_header_list_get_header(g_mime_object_get_header_list(obj), name);
    if (!h) MF_BUG("compose: header just set is missing");
    char *raw = xasprintf(" %s\n", value);
    g_mime_header_set_raw_value(h, raw);
    free(raw);
}

static GMimeMessage *build(const compose_input *in, const struct ids *refs, const char *irt,
                           const char *message_id, const strbuf *text)
{
    GMimeMessage *m = g_mime_message_new(TRUE);
    GMimeObject *obj = GMIME_OBJECT(m);
    add_mailbox(g_mime_message_get_from(m), &in->from);
    for (size_t i = 0; i < in->n_to; i++) add_mailbox(g_mime_message_get_to(m), &in->to[i]);
    for (size_t i = 0; i < in->n_cc; i++) add_mailbox(g_mime_message_get_cc(m), &in->cc[i]);
    if (in->reply_to.addr && *in->reply_to.addr)
        add_mailbox(g_mime_message_get_reply_to(m), &in->reply_to);
    g_mime_message_set_subject(m, in->subject, "utf-8");
    GDateTime *date = g_date_time_new_from_unix_utc((gint64)in->date);
    if (!date) MF_BUG("compose: date out of range after validation");
    g_mime_message_set_date(m, date);
    g_date_time_unref(date);
    g_mime_message_set_message_id(m, message_id);

    if (irt[0]) {
        char *v = xasprintf("<%s>", irt);
        g_mime_object_set_header(obj, "In-Reply-To", v, NULL);
        free(v);
    }
    if (refs->n) {
        strbuf v;
        strbuf_init(&v, (size_t)COMPOSE_REFS_MAX * (COMPOSE_ID_MAX + 3) + 1);
        for (size_t i = 0; i < refs->n; i++)
            if (strbuf_addf(&v, "%s<%s>", i ? " " : "", refs->id[i]) < 0)
                MF_BUG("compose: references buffer");
        g_mime_object_set_header(obj, "References", v.buf, NULL);
        strbuf_release(&v);
    }
    if (in->unsubscribe_url) {
        char *v = xasprintf("<%s>", in->unsubscribe_url);
        set_raw_header(obj, "List-Unsubscribe", v);
        free(v);
        set_raw_header(obj, "List-Unsubscribe-Post", "List-Unsubscribe=One-Click");
    }

    GMimeObject *body = text_part("plain", text);
    if (in->html) {
        strbuf html;
        html_body(in, &html);
        GMimeObject *hp = text_part("html", &html);
        strbuf_release(&html);
        GMimeMultipart *alt = g_mime_multipart_new_with_subtype("alternative");
        g_mime_multipart_add(alt, body);
        g_mime_multipart_add(alt, hp);
        g_object_unref(body);
        g_object_unref(hp);
        body = GMIME_OBJECT(alt);
    }
    g_mime_message_set_mime_part(m, body);
    g_object_unref(body);
    return m;
}

/* The promise of compose.h about the bytes: ASCII without NUL, CRLF only, lines <= 998. */
static const char *bytes_problem(const unsigned char *p, size_t n)
{
    size_t line = 0;
    if (n < 2 || p[n - 2] != '\r' || p[n - 1] != '\n') return "does not end with CRLF";
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\r') {
            if (i + 1 >= n || p[i + 1] != '\n') return "bare CR";
            i++;
            line = 0;
            continue;
        }
        if (p[i] == '\n') return "bare LF";
        if (p[i] == 0 || p[i] >= 0x80) return "not 7-bit";
        if (++line > LINE_MAX_BYTES) return "line over 998 bytes";
    }
    return NULL;
}

/* ---- the copy: what message_parse reports for the message, without parsing it ----------- */

#define COPY_VERSION 1

/* An id GMime reads back as written: dot-atom "@" dot-atom of atext (no quoted strings, no
 * comments, no address literals). */
static int copy_id_ok(const char *id)
{
    const char *at = strchr(id, '@');
    if (!at || strchr(at + 1, '@')) return 0;
    for (int part = 0; part < 2; part++) {
        const char *p = part ? at + 1 : id, *end = part ? id + strlen(id) : at;
        if (p == end || *p == '.' || end[-1] == '.') return 0;
        for (; p < end; p++) {
            if (*p == '.' ? p[1] == '.' : !atext((unsigned char)*p)) return 0;
        }
    }
    return 1;
}

/* A name or subject GMime writes and decodes back to the same text after message_parse's
 * clean-up: no encoded-word look-alikes ("=?", which the parse would decode) and no control
 * characters but TAB (compose refuses them anyway). tests/mail/test_compose.c compares both
 * ways on awkward and random values. */
static int copy_text_ok(const char *s)
{
    if (!s) return 1;
    if (strstr(s, "=?")) return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f) return 0;
    return 1;
}

static json_t *copy_addr(const compose_address *a)
{
    return json_pack("[s,s]", a->name ? a->name : "", a->addr);
}

static int copy_list_ok(const compose_address *l, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!copy_text_ok(l[i].name)) return 0;
    return 1;
}

/* The offset in data where the text starts when the text/plain part is the whole body and
 * data holds it as is (7bit: CRLF line ends for text's LF); 0 when not. */
static size_t copy_body_at(const compose_message *cm, const strbuf *text)
{
    const char *sep = strstr(cm->data, "\r\n\r\n");
    if (!sep) return 0;
    size_t at = (size_t)(sep - cm->data) + 4, i = at, j = 0;
    while (i < cm->len && j < text->len) {
        if (text->buf[j] == '\n') {
            if (cm->data[i] != '\r' || i + 1 >= cm->len || cm->data[i + 1] != '\n') return 0;
            i += 2;
        } else {
            if (cm->data[i] != text->buf[j]) return 0;
            i++;
        }
        j++;
    }
    return i == cm->len && j == text->len ? at : 0;
}

static char *copy_json(const compose_input *in, const struct ids *refs, const char *irt,
                       const compose_message *cm, const strbuf *text)
{
    if (!copy_id_ok(cm->message_id) || (irt[0] && !copy_id_ok(irt))) return NULL;
    for (size_t i = 0; i < refs->n; i++)
        if (!copy_id_ok(refs->id[i])) return NULL;
    if (!copy_text_ok(in->subject) || !copy_text_ok(in->from.name) ||
        !copy_list_ok(in->to, in->n_to) || !copy_list_ok(in->cc, in->n_cc))
        return NULL;
    size_t crlf_len = text->len; /* the part's decoded bytes have CRLF line ends */
    for (const char *p = text->buf; (p = memchr(p, '\n', text->len - (size_t)(p - text->buf)));
         p++)
        crlf_len++;
    if (crlf_len > MSG_BODY_MAX) return NULL; /* a body to cut: let the parse cut it */
    json_t *j = json_pack("{s:i,s:s,s:s,s:o,s:s,s:I}", "v", COPY_VERSION, "id", cm->message_id,
                          "irt", irt, "from", copy_addr(&in->from), "subject", in->subject,
                          "date", (json_int_t)in->date);
    json_t *r = json_array(), *to = json_array(), *cc = json_array();
    for (size_t i = 0; i < refs->n; i++) json_array_append_new(r, json_string(refs->id[i]));
    for (size_t i = 0; i < in->n_to; i++) json_array_append_new(to, copy_addr(&in->to[i]));
    for (size_t i = 0; i < in->n_cc; i++) json_array_append_new(cc, copy_addr(&in->cc[i]));
    json_object_set_new(j, "refs", r);
    json_object_set_new(j, "to", to);
    json_object_set_new(j, "cc", cc);
    size_t at = in->html ? 0 : copy_body_at(cm, text);
    if (at) json_object_set_new(j, "body_at", json_integer((json_int_t)at));
    else json_object_set_new(j, "text", json_stringn(text->buf, text->len));
    char *out = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return out;
}

static const char **copy_strings(json_t *arr, size_t *n)
{
    *n = json_array_size(arr);
    const char **out = xcalloc(*n + 1, sizeof(*out));
    for (size_t i = 0; i < *n; i++) out[i] = json_string_value(json_array_get(arr, i));
    return out;
}

/* [[name, addr], ...] into two arrays */
static void copy_addrs(json_t *arr, const char ***addrs, const char ***names, size_t *n)
{
    *n = json_array_size(arr);
    *addrs = xcalloc(*n + 1, sizeof(**addrs));
    *names = xcalloc(*n + 1, sizeof(**names));
    for (size_t i = 0; i < *n; i++) {
        json_t *a = json_array_get(arr, i);
        (*names)[i] = json_string_value(json_array_get(a, 0));
        (*addrs)[i] = json_string_value(json_array_get(a, 1));
    }
}

struct message_parsed *compose_copy_read(const char *copy, const char *data, size_t len)
{
    if (!copy || !*copy || !data) return NULL;
    json_t *j = json_loads(copy, 0, NULL), *from = NULL, *text = NULL;
    json_int_t v = 0, date = 0, at = 0;
    const char *id = NULL, *irt = NULL, *subject = NULL;
    if (!j || json_unpack(j, "{s:I,s:s,s:s,s:o,s:s,s:I,s?I,s?o}", "v", &v, "id", &id, "irt",
                          &irt, "from", &from, "subject", &subject, "date", &date, "body_at",
                          &at, "text", &text) != 0 ||
        v != COPY_VERSION || at < 0 || (size_t)at > len || (!at && !json_is_string(text))) {
        json_decref(j);
        return NULL;
    }
    message_known k = {.size = len,
                       .message_id = id,
                       .in_reply_to = irt,
                       .from_name = json_string_value(json_array_get(from, 0)),
                       .from_addr = json_string_value(json_array_get(from, 1)),
                       .subject = subject,
                       .date = (time_t)date};
    const char **refs = copy_strings(json_object_get(j, "refs"), &k.n_references);
    const char **to_a, **to_n, **cc_a, **cc_n;
    copy_addrs(json_object_get(j, "to"), &to_a, &to_n, &k.n_to);
    copy_addrs(json_object_get(j, "cc"), &cc_a, &cc_n, &k.n_cc);
    k.references = refs;
    k.to_addrs = to_a;
    k.to_names = to_n;
    k.cc_addrs = cc_a;
    k.cc_names = cc_n;
    if (at) {
        k.text = data + at;
        k.text_len = len - (size_t)at;
    } else {
        k.text = json_string_value(text);
        k.text_len = json_string_length(text);
    }
    message_parsed *m = message_parsed_from_known(&k);
    free(refs);
    free(to_a);
    free(to_n);
    free(cc_a);
    free(cc_n);
    json_decref(j);
    return m;
}

int compose_build(const compose_input *in, compose_message **out, mf_error *err)
{
    if (!in || !out) MF_BUG("compose_build: NULL argument");
    *out = NULL;
    struct ids refs = {0};
    char irt[COMPOSE_ID_MAX + 1];
    if (check_input(in, &refs, irt, err) < 0) {
        free(refs.id);
        return -1;
    }
    if (sodium_init() < 0) {
        free(refs.id);
        return mf_fail_internal(err, "compose: libsodium did not initialise");
    }
    message_parse_init(); /* GMime, once per process */

    char *message_id = new_message_id(in->from.addr);
    strbuf text;
    text_body(in, &text);
    GMimeMessage *m = build(in, &refs, irt, message_id, &text);

    GMimeFormatOptions *fo = g_mime_format_options_new();
    g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
    GMimeStream *ms = g_mime_stream_mem_new();
    ssize_t w = g_mime_object_write_to_stream(GMIME_OBJECT(m), fo, ms);
    GByteArray *ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(ms));
    int rc = -1;
    const char *why;
    if (w < 0 || !ba) {
        mf_fail_internal(err, "compose: GMime could not write the message");
    } else if (ba->len > COMPOSE_MESSAGE_MAX) {
        mf_fail(err, 413, "message_too_large", NULL, "the message is larger than %d bytes",
                COMPOSE_MESSAGE_MAX);
    } else if ((why = bytes_problem(ba->data, ba->len))) {
        mf_fail_internal(err, "compose: the written message is not SMTP-ready (%s)", why);
    } else {
        compose_message *cm = xcalloc(1, sizeof(*cm));
        cm->data = xstrndup((const char *)ba->data, ba->len);
        cm->len = ba->len;
        cm->message_id = message_id;
        message_id = NULL;
        cm->copy = copy_json(in, &refs, irt, cm, &text);
        *out = cm;
        rc = 0;
    }
    free(refs.id);
    strbuf_release(&text);
    free(message_id);
    g_object_unref(ms);
    g_mime_format_options_free(fo);
    g_object_unref(m);
    return rc;
}

void compose_message_free(compose_message **m)
{
    if (!m || !*m) return;
    free((*m)->data);
    free((*m)->message_id);
    free((*m)->copy);
    free(*m);
    *m = NULL;
}

/* ---- envelope ---------------------------------------------------------------------------- */

static void rcpt_add(compose_rcpts *r, const char *addr)
{
    for (size_t i = 0; i < r->n; i++)
        if (g_ascii_strcasecmp(r->addrs[i], addr) == 0) return;
    r->addrs[r->n++] = xstrdup(addr);
}

int compose_envelope(const compose_input *in, compose_rcpts **out, mf_error *err)
{
    if (!in || !out) MF_BUG("compose_envelope: NULL argument");
    *out = NULL;
    if (check_recipients(in, err) < 0) return -1;
    compose_rcpts *r = xcalloc(1, sizeof(*r));
    r->addrs = xcalloc(in->n_to + in->n_cc, sizeof(*r->addrs));
    for (size_t i = 0; i < in->n_to; i++) rcpt_add(r, in->to[i].addr);
    for (size_t i = 0; i < in->n_cc; i++) rcpt_add(r, in->cc[i].addr);
    *out = r;
    return 0;
}

void compose_rcpts_free(compose_rcpts **r)
{
    if (!r || !*r) return;
    for (size_t i = 0; i < (*r)->n; i++) free((*r)->addrs[i]);
    free((*r)->addrs);
    free(*r);
    *r = NULL;
}
