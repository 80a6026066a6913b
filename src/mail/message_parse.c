/* message_parse.c — raw RFC 5322 message -> message_parsed, through GMime 3; see
 * message_parse.h. GMime builds the MIME tree and does every decoding (transfer encodings,
 * RFC 2047 words, charsets, header unfolding, addresses, dates, message ids); this file walks
 * the tree with bounds on depth and part count, and copies bounded, valid UTF-8 out. */
#include <gmime/gmime.h>
#include <iconv.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "mail/message_parse.h"
#include "util/strbuf.h"

#define WALK_MAX_DEPTH 32     /* MIME nesting we look into (GMime has its own limit too) */
#define WALK_MAX_PARTS 1000   /* parts we look at */
#define HTML_READ_MAX (4 * MSG_BODY_MAX) /* HTML bytes read before reduction to text */
#define DSN_READ_MAX (64 * 1024)         /* bytes of a message/delivery-status part */
#define HEADERS_READ_MAX (256 * 1024)    /* bytes of a text/rfc822-headers part */
#define DSN_BLOCKS_MAX (MSG_DSN_MAX + 8) /* header blocks of a delivery-status part */

/* ---- GMime, once per process ----------------------------------------------------------- */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static GMimeParserOptions *parser_opts; /* read-only after init */

static void init_gmime(void)
{
    g_mime_init();
    parser_opts = g_mime_parser_options_new();
    g_mime_parser_options_set_address_compliance_mode(parser_opts, GMIME_RFC_COMPLIANCE_LOOSE);
    g_mime_parser_options_set_parameter_compliance_mode(parser_opts, GMIME_RFC_COMPLIANCE_LOOSE);
    g_mime_parser_options_set_rfc2047_compliance_mode(parser_opts, GMIME_RFC_COMPLIANCE_LOOSE);
    /* "From: MAILER-DAEMON" has no domain: keep it, the classifier looks at it */
    g_mime_parser_options_set_allow_addresses_without_domain(parser_opts, TRUE);
    /* undeclared 8-bit header text: UTF-8 if it is valid, else windows-1252 */
    const char *fallback[] = {"UTF-8", "windows-1252", NULL};
    g_mime_parser_options_set_fallback_charsets(parser_opts, fallback);
}

void message_parse_init(void)
{
    pthread_once(&init_once, init_gmime);
}

static void charset_cache_clear(void);

void message_parse_shutdown(void)
{
    charset_cache_clear();
    if (parser_opts) {
        g_mime_parser_options_free(parser_opts);
        parser_opts = NULL;
        g_mime_shutdown();
    }
}

/* ---- charset names ----------------------------------------------------------------------- */

/* GMime remembers every charset name it is ever asked about, for the life of the process
 * (g_mime_charset_iconv_name's table, ~120 bytes a name): a stream of messages with made-up
 * names in encoded words, RFC 2231 parameters or Content-Type would grow it without bound. So
 * GMime only sees names that iconv knows (a finite set) or that GMime maps itself (its table is
 * filled at init); other encoded words and RFC 2231 values are left undecoded. */

#define CHARSET_CHECKS_MAX 2000 /* names checked per message; the rest are all defused */
#define CHARSET_NAME_MAX 40     /* longer names are never known */

static const char *const gmime_aliases[] = {
    "ks_c_5601-1987", "5601", "ksc-5601", "ksc-5601-1987", "ksc-5601_1987", "ks_c_5861-1992",
    "euckr-0", "big5-0", "big5.eten-0", "big5hkscs-0", "gb2312-0", "gb2312.1980-0", "euc-cn",
    "gb18030-0", "gbk-0", "eucjp-0", "ujis-0", "jisx0208.1983-0", "jisx0212.1990-0", "pck",
};

/* Verdicts on charset names, remembered for the life of the process: iconv_open() of a name
 * that is not UTF-8 loads glibc's gconv module for it, and iconv_close() unloads it again, so
 * asking every time cost about 15 % of an import's CPU (bench/sync). The descriptor of a known
 * name is kept open, which also keeps its module loaded for GMime's own conversions. At most
 * CHARSET_CACHE_MAX names are remembered (lower-cased); past that, names are checked as before. */
#define CHARSET_CACHE_MAX 256
static struct {
    char name[CHARSET_NAME_MAX + 1];
    int known;
    iconv_t cd;
} charset_cache[CHARSET_CACHE_MAX];
static size_t charset_cached;
static pthread_mutex_t charset_lock = PTHREAD_MUTEX_INITIALIZER;

static int charset_known(const char *s, size_t n)
{
    char name[CHARSET_NAME_MAX + 1];
    if (n == 0 || n >= sizeof(name)) return 0;
    for (size_t i = 0; i < n; i++) {
        /* no '/' or ',' (iconv takes "utf-8//anything" and "utf-8,,"), no spaces */
        if (!g_ascii_isalnum(s[i]) && !strchr("._:+-", s[i])) return 0;
        name[i] = g_ascii_tolower(s[i]);
    }
    name[n] = '\0';
    for (size_t i = 0; i < sizeof(gmime_aliases) / sizeof(gmime_aliases[0]); i++)
        if (g_ascii_strcasecmp(name, gmime_aliases[i]) == 0) return 1;
    pthread_mutex_lock(&charset_lock);
    for (size_t i = 0; i < charset_cached; i++) {
        if (strcmp(charset_cache[i].name, name) == 0) {
            int known = charset_cache[i].known;
            pthread_mutex_unlock(&charset_lock);
            return known;
        }
    }
    iconv_t cd = iconv_open("UTF-8", name);
    int known = cd != (iconv_t)-1;
    if (charset_cached < CHARSET_CACHE_MAX) {
        memcpy(charset_cache[charset_cached].name, name, n + 1);
        charset_cache[charset_cached].known = known;
        charset_cache[charset_cached].cd = cd; /* kept open: the module stays loaded */
        charset_cached++;
    } else if (known) {
        iconv_close(cd);
    }
    pthread_mutex_unlock(&charset_lock);
    return known;
}

static void charset_cache_clear(void)
{
    pthread_mutex_lock(&charset_lock);
    for (size_t i = 0; i < charset_cached; i++)
        if (charset_cache[i].known) iconv_close(charset_cache[i].cd);
    charset_cached = 0;
    pthread_mutex_unlock(&charset_lock);
}

static int is_token_end(char c)
{
    return c == '?' || c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\0';
}

/* Defuse, in place, the encoded words ("=?name?Q?") and RFC 2231 values ("*=name'lang'") of buf
 * whose charset name is not known: a name of up to CHARSET_NAME_MAX bytes becomes as many 'x'
 * (GMime then decodes the text with its fallback charsets, and at most that many such names
 * exist); a longer one is no charset any more ("=?" becomes "x?", "*=" becomes "x="). Offsets
 * and length stay the same. The bytes are read from buf and the changes written to out: buf
 * itself (in place), or with out NULL a copy made at the first change (g_malloc'ed, returned;
 * NULL when nothing needed a change — most messages: then no copy at all). */
static char *defuse_scan(const char *buf, size_t len, char *out)
{
    int checks = 0;
    for (size_t i = 0; i + 2 < len; i++) {
        /* Jump to the next '=' (both "=?" and "*=" hold one): the whole message passes here,
         * attachments included, so this is a memchr, not a byte loop. */
        if (buf[i] != '=' && !(buf[i] == '*' && buf[i + 1] == '=')) {
            const char *eq = memchr(buf + i + 1, '=', len - i - 1);
            if (!eq) break;
            size_t e = (size_t)(eq - buf);
            i = buf[e - 1] == '*' ? e - 1 : e;
            if (i + 2 >= len) break;
        }
        int ew = buf[i] == '=' && buf[i + 1] == '?';
        int rfc2231 = buf[i] == '*' && buf[i + 1] == '=';
        if (!ew && !rfc2231) continue;
        size_t start = i + 2, j;
        if (rfc2231 && buf[start] == '"') start++;
        if (ew) {
            for (j = start; j < len && !is_token_end(buf[j]); j++) {}
            /* "=?name?B?" or "=?name?Q?": anything else is no encoded word for GMime either */
            if (j + 2 >= len || buf[j] != '?' || !strchr("bBqQ", buf[j + 1]) || buf[j + 1] == '\0' ||
                buf[j + 2] != '?')
                continue;
        } else {
            for (j = start; j < len && buf[j] != '\'' && !is_token_end(buf[j]) && buf[j] != ';' &&
                            buf[j] != '"';
                 j++) {}
            if (j >= len || buf[j] != '\'') continue; /* no charset'language' prefix */
            size_t k = j + 1; /* the language, then a second quote */
            while (k < len && k - j <= 64 && buf[k] != '\'' && !is_token_end(buf[k])) k++;
            if (k >= len || buf[k] != '\'') continue;
        }
        size_t name_end = start; /* "name*language" in an encoded word (RFC 2231 section 5) */
        while (name_end < j && buf[name_end] != '*') name_end++;
        if (name_end == start && rfc2231) continue; /* "''value": no charset given */
        size_t n = name_end - start;
        if (checks++ < CHARSET_CHECKS_MAX && charset_known(buf + start, n)) {
            i = j;
            continue;
        }
        if (!out) {
            out = g_malloc(len);
            memcpy(out, buf, len);
        }
        if (n <= CHARSET_NAME_MAX) memset(out + start, 'x', n); /* at most 40 such names */
        else out[i] = 'x';                                       /* no longer a charset */
        i = j;
    }
    return out;
}

static void defuse_charsets(char *buf, size_t len)
{
    defuse_scan(buf, len, buf);
}

/* ---- top-level fields GMime sees --------------------------------------------------------- */

/* The top-level fields this parser reads (parse_message, take_markers) and the ones GMime needs
 * for the MIME structure (MIME-Version, Content-*). Every other field is dropped before GMime
 * sees the message: real mail carries dozens this parser never reads (every relay adds
 * Received, signers add DKIM/ARC, Exchange adds X-MS-*, lists add List-*), and GMime would build
 * an object for each (allocation, unfolding, decoding, teardown: the per-field objects were most
 * of GMime's parse cost in bench/sync). Matched by name, case-insensitive; an entry ending in
 * '*' is a prefix. Whoever reads a new top-level field in this file adds it here (the unit test
 * test_R23_parse_keeps_read_fields (tests/mail) checks each one reaches GMime). */
static const char *const kept_fields[] = {
    "From", "To", "Cc", "Subject", "Date", "Message-ID", "In-Reply-To", "References",
    "MIME-Version", "Content-*", "Return-Path", "Auto-Submitted", "X-Autoreply", "X-Autorespond",
    "Precedence", "X-Auto-Response-Suppress", "X-MS-Exchange-Inbox-Rules-Loop",
    "X-MS-Exchange-Generated-Message-Source", "X-Failed-Recipients",
};

static int is_dropped_field(const char *name, size_t n)
{
    for (size_t i = 0; i < sizeof(kept_fields) / sizeof(kept_fields[0]); i++) {
        const char *k = kept_fields[i];
        if (g_ascii_tolower(k[0]) != g_ascii_tolower(name[0])) continue;
        size_t kl = strlen(k);
        if (k[kl - 1] == '*') {
            if (n >= kl - 1 && g_ascii_strncasecmp(name, k, kl - 1) == 0) return 0;
        } else if (n == kl && g_ascii_strncasecmp(name, k, n) == 0) {
            return 0;
        }
    }
    return 1;
}

/* The message without its dropped top-level fields: a new g_malloc'ed copy (*out_len bytes),
 * or NULL when none was found. Only a clean prefix of the header block is looked at: fields
 * "Name:" (Name of letters, digits and '-', directly followed by ':') with their continuation
 * lines, each line ending in '\n'; at the first other line (the blank line ending the header
 * block, an mbox "From " line, junk) the rest is kept as it is, so GMime sees everything it
 * would have seen except whole well-formed fields that no one reads. */
static char *drop_unread_fields(const char *buf, size_t len, size_t *out_len)
{
    char *out = NULL;
    size_t o = 0, kept_from = 0, p = 0;
    while (p < len) {
        size_t name_end = p;
        while (name_end < len && (g_ascii_isalnum(buf[name_end]) || buf[name_end] == '-'))
            name_end++;
        if (name_end == p || name_end >= len || buf[name_end] != ':') break;
        size_t end = p; /* the field's end: past its last line, continuation lines included */
        for (;;) {
            const char *nl = memchr(buf + end, '\n', len - end);
            if (!nl) {
                end = len + 1; /* no line end: not a clean field, keep the rest */
                break;
            }
            end = (size_t)(nl - buf) + 1;
            if (end >= len || (buf[end] != ' ' && buf[end] != '\t')) break;
        }
        if (end > len) break;
        if (is_dropped_field(buf + p, name_end - p)) {
            if (!out) out = g_malloc(len);
            memcpy(out + o, buf + kept_from, p - kept_from);
            o += p - kept_from;
            kept_from = end;
        }
        p = end;
    }
    if (!out) return NULL;
    memcpy(out + o, buf + kept_from, len - kept_from);
    *out_len = o + len - kept_from;
    return out;
}

/* ---- text hygiene ------------------------------------------------------------------------ */

enum { CLEAN_LINE = 0, CLEAN_BODY = 1 };

/* Length of the well-formed UTF-8 sequence of 2 to 4 bytes at p (RFC 3629: no overlongs, no
 * surrogates, at most U+10FFFF) that is not a C1 control (U+0080..U+009F); 0 otherwise. */
static size_t utf8_seq_len(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    if (c >= 0xC2 && c <= 0xDF) {
        if (n < 2 || (p[1] & 0xC0) != 0x80 || (c == 0xC2 && p[1] < 0xA0)) return 0;
        return 2;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        if (n < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return 0;
        if ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] > 0x9F)) return 0;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (n < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] > 0x8F)) return 0;
        return 4;
    }
    return 0;
}

#define ONES8 0x0101010101010101ull
#define HIGHS8 0x8080808080808080ull
#define LOW7S8 0x7f7f7f7f7f7f7f7full

/* Exact per-byte masks of a word of eight bytes (SWAR, no carry between bytes): the high bit of
 * a byte is set where the byte is 0 / below n (n <= 0x80) / at least 0x7f. */
static inline uint64_t zero_bytes8(uint64_t y)
{
    return ~(((y & LOW7S8) + LOW7S8) | y | LOW7S8);
}
static inline uint64_t below8(uint64_t x, unsigned n)
{
    return ~(((x & LOW7S8) + ONES8 * (0x80 - n)) | x) & HIGHS8;
}
static inline uint64_t from7f8(uint64_t x)
{
    return (((x & LOW7S8) + ONES8) | x) & HIGHS8;
}

/* The bytes of x that are not copied as they are (high bit set): all but printable ASCII, and
 * in a body also '\n' and '\t' (' ' only in a body: a line collapses its spaces). 0: all eight
 * are plain. */
static inline uint64_t not_plain8(uint64_t x, int body)
{
    if (!body) return below8(x, 0x21) | from7f8(x);
    uint64_t ctl = below8(x, 0x20) & ~(zero_bytes8(x ^ (ONES8 * '\n')) | zero_bytes8(x ^ (ONES8 * '\t')));
    return ctl | from7f8(x);
}

/* How many bytes of a word loaded with memcpy come before its first byte flagged in mask (not
 * 0): the lowest flag on a little-endian machine; elsewhere 0 (still right, only slower). */
static inline size_t plain_prefix8(uint64_t mask)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return (size_t)__builtin_ctzll(mask) >> 3;
#else
    (void)mask;
    return 0;
#endif
}

/* Append n bytes at s to sb as valid UTF-8: invalid sequences become U+FFFD, NUL and control
 * characters are dropped (CLEAN_BODY keeps '\n' and '\t' and turns "\r\n" and lone '\r' into
 * '\n'; CLEAN_LINE collapses each run of ' ', '\t', '\r', '\n' into one space). Stops at the first character that
 * would not fit sb's maximum, so the text is cut on a character boundary. Returns 1 when cut. */
static int clean_append(strbuf *sb, const char *s, size_t n, int mode)
{
    static const char repl[] = "\xEF\xBF\xBD";
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        /* A run of characters copied as they are (printable ASCII and well-formed UTF-8 that
         * is no C1 control; in a body also ' ', '\n' and '\t'), with one strbuf_add: most
         * text is such runs. */
        size_t run = i;
        while (run < n) {
            /* eight bytes at a time while they are all plain ASCII; else up to the first
             * byte that is not, which the code below looks at */
            if (run + 8 <= n) {
                uint64_t x;
                memcpy(&x, s + run, 8);
                uint64_t bad = not_plain8(x, mode == CLEAN_BODY);
                if (!bad) {
                    run += 8;
                    continue;
                }
                run += plain_prefix8(bad);
            }
            unsigned char b = (unsigned char)s[run];
            if (b >= 0x80) {
                size_t l = utf8_seq_len((const unsigned char *)s + run, n - run);
                if (!l) break;
                run += l;
            } else if ((b > 0x20 && b < 0x7f) ||
                       (mode == CLEAN_BODY && (b == ' ' || b == '\n' || b == '\t'))) {
                run++;
            } else {
                break;
            }
        }
        if (run > i) {
            size_t k = run - i;
            if (strbuf_add(sb, s + i, k) < 0) { /* cut before the first character that does not fit */
                size_t room = sb->max > sb->len ? sb->max - sb->len : 0;
                size_t cut = room < k ? room : k;
                while (cut > 0 && cut < k && ((unsigned char)s[i + cut] & 0xC0) == 0x80) cut--;
                if (cut) strbuf_add(sb, s + i, cut);
                return 1;
            }
            i = run;
            continue;
        }
        if (c < 0x80) {
            int rc = 0;
            if (c == '\r' || c == '\n' || c == '\t') {
                if (mode == CLEAN_BODY) {
                    if (c == '\r' && i + 1 < n && s[i + 1] == '\n') {
                        i++;
                        continue;
                    }
                    rc = strbuf_add(sb, c == '\t' ? "\t" : "\n", 1);
                } else if (sb->len > 0 && sb->buf[sb->len - 1] != ' ') {
                    rc = strbuf_add(sb, " ", 1);
                }
            } else if (c == ' ' && mode == CLEAN_LINE) {
                if (sb->len > 0 && sb->buf[sb->len - 1] != ' ') rc = strbuf_add(sb, " ", 1);
            } else if (c >= 0x20 && c != 0x7f) {
                rc = strbuf_add(sb, &s[i], 1);
            }
            if (rc < 0) return 1;
            i++;
            continue;
        }
        gunichar u = g_utf8_get_char_validated(s + i, (gssize)(n - i));
        if (u == (gunichar)-1 || u == (gunichar)-2) {
            if (strbuf_add(sb, repl, 3) < 0) return 1;
            i++;
            continue;
        }
        size_t clen = (size_t)g_utf8_skip[c];
        if (u >= 0x80 && u <= 0x9f) { /* C1 controls */
            i += clen;
            continue;
        }
        if (strbuf_add(sb, s + i, clen) < 0) return 1;
        i += clen;
    }
    return 0;
}

/* A header-like value as one clean, trimmed line of at most max bytes; never NULL. */
static char *clean_line(const char *s, size_t max)
{
    if (!s) return xstrdup("");
    strbuf sb;
    strbuf_init(&sb, max);
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n') s++;
    clean_append(&sb, s, strlen(s), CLEAN_LINE);
    while (sb.len > 0 && sb.buf[sb.len - 1] == ' ') sb.buf[--sb.len] = '\0';
    return strbuf_detach(&sb, NULL);
}

/* A message id (already without <>): "" when empty, longer than MSG_ID_MAX (a cut id could
 * never match) or containing white space or controls after cleaning. */
static char *clean_id(const char *id)
{
    if (!id || !*id || strlen(id) > MSG_ID_MAX) return xstrdup("");
    char *c = clean_line(id, MSG_ID_MAX);
    if (!*c || strpbrk(c, " \t") || strcmp(c, id) != 0) {
        free(c);
        return xstrdup("");
    }
    return c;
}

static int ascii_ieq(const char *a, const char *b)
{
    return g_ascii_strcasecmp(a, b) == 0;
}

/* ---- message ids ------------------------------------------------------------------------- */

#define ID_SEGMENT_TRIES 1000 /* '<' segments looked at from each end of an id list */

/* The id of the segment that starts at the '<' at p (up to the next '>', or to just before the
 * next '<'), parsed by GMime; NULL when there is none or it is too long. */
static char *segment_id(const char *p, const char *end)
{
    const char *q = p + 1;
    while (q < end && *q != '>' && *q != '<' && q - p <= MSG_ID_MAX + 2) q++;
    if (q - p > MSG_ID_MAX + 2) return NULL;
    size_t len = (size_t)(q - p) + (q < end && *q == '>');
    char *seg = xstrndup(p, len);
    GMimeReferences *refs = g_mime_references_parse(parser_opts, seg);
    free(seg);
    char *id = NULL;
    if (refs && g_mime_references_length(refs) > 0) {
        id = clean_id(g_mime_references_get_message_id(refs, 0));
        if (!*id) {
            free(id);
            id = NULL;
        }
    }
    if (refs) g_mime_references_free(refs);
    return id;
}

/* Ids of a References-like value (raw header text), without <>, empty and over-long ones
 * dropped; keeps the first and the last max - 1. GMime's list parser gives up at the first junk
 * token (a comma, "<>", "<a@>"), which would lose the newest ids — the ones R22 needs — so the
 * value is cut at each '<' and GMime parses one id at a time. */
static void parse_id_list(const char *raw, size_t max, char ***out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    if (!raw || !*raw || max == 0) return;
    const char *end = raw + strlen(raw), *p = raw, *first_at = NULL;
    char *first = NULL;
    for (int tries = 0; !first && tries < ID_SEGMENT_TRIES &&
                        (p = memchr(p, '<', (size_t)(end - p))) != NULL;
         p++, tries++) {
        first = segment_id(p, end);
        first_at = p;
    }
    if (!first) return;
    char **ids = xcalloc(max, sizeof(*ids));
    ids[0] = first;
    size_t n = 1, tail = 0;
    p = end;
    for (int tries = 0; n + tail < max && tries < ID_SEGMENT_TRIES &&
                        (p = memrchr(raw, '<', (size_t)(p - raw))) != NULL && p > first_at;
         tries++) {
        char *id = segment_id(p, end);
        if (id) ids[max - 1 - tail++] = id; /* filled from the end, moved down below */
    }
    memmove(&ids[n], &ids[max - tail], tail * sizeof(*ids));
    *out = ids;
    *n_out = n + tail;
}

static void free_id_list(char **ids, size_t n)
{
    for (size_t i = 0; i < n; i++) free(ids[i]);
    free(ids);
}

/* The first id of an In-Reply-To value; old mailers write "Your message of <date> <id>". A
 * bare id without <> is taken when it is one word with an '@'. */
static char *first_id(const char *raw)
{
    if (!raw || !*raw) return xstrdup("");
    char **ids;
    size_t n;
    parse_id_list(raw, 1, &ids, &n);
    if (n > 0) {
        char *id = ids[0];
        ids[0] = NULL;
        free_id_list(ids, n);
        return id;
    }
    char *line = clean_line(raw, MSG_ID_MAX + 1);
    if (!strchr(line, '<') && !strchr(line, ' ') && strchr(line, '@')) {
        char *id = clean_id(line);
        free(line);
        return id;
    }
    free(line);
    return xstrdup("");
}

static const char *raw_header(GMimeObject *obj, const char *name)
{
    GMimeHeaderList *hl = g_mime_object_get_header_list(obj);
    GMimeHeader *h = hl ? g_mime_header_list_get_header(hl, name) : NULL;
    return h ? g_mime_header_get_raw_value(h) : NULL;
}

/* ---- addresses --------------------------------------------------------------------------- */

/* One address of a list, cleaned; an entry with neither address nor name is left out. */
static void push_address(const char *raw_addr, const char *raw_name, msg_address **arr, size_t *n)
{
    char *addr = clean_line(raw_addr, MSG_ADDR_MAX);
    char *name = clean_line(raw_name, MSG_NAME_MAX);
    if (!*addr && !*name) {
        free(addr);
        free(name);
        return;
    }
    *arr = xrealloc(*arr, (*n + 1) * sizeof(**arr));
    (*arr)[*n].addr = addr;
    (*arr)[*n].name = name;
    (*n)++;
}

static void add_addresses(InternetAddressList *list, msg_address **arr, size_t *n, size_t max,
                          int depth)
{
    int len = list ? internet_address_list_length(list) : 0;
    for (int i = 0; i < len && *n < max; i++) {
        InternetAddress *ia = internet_address_list_get_address(list, i);
        if (INTERNET_ADDRESS_IS_GROUP(ia)) {
            if (depth < 2)
                add_addresses(internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia)), arr,
                              n, max, depth + 1);
            continue;
        }
        if (!INTERNET_ADDRESS_IS_MAILBOX(ia)) continue;
        push_address(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia)),
                     internet_address_get_name(ia), arr, n);
    }
}

/* ---- part content ------------------------------------------------------------------------ */

/* The content of a leaf part with its transfer encoding undone and, when charset is given and
 * known, converted to UTF-8; at most limit bytes (*truncated set when there was more). The
 * result is raw bytes (may hold NULs or invalid UTF-8): clean it. *conv tells whether a charset
 * conversion ran. */
static char *read_part(GMimePart *part, size_t limit, const char *charset, int *conv,
                       int *truncated, size_t *len)
{
    strbuf sb;
    strbuf_init(&sb, limit);
    *conv = 0;
    *truncated = 0;
    GMimeDataWrapper *dw = g_mime_part_get_content(part);
    GMimeStream *src = dw ? g_mime_data_wrapper_get_stream(dw) : NULL;
    if (!src) return strbuf_detach(&sb, len);
    g_mime_stream_reset(src);
    GMimeStream *fs = g_mime_stream_filter_new(src);
    GMimeContentEncoding enc = g_mime_data_wrapper_get_encoding(dw);
    if (enc == GMIME_CONTENT_ENCODING_BASE64 || enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
        enc == GMIME_CONTENT_ENCODING_UUENCODE) {
        GMimeFilter *f = g_mime_filter_basic_new(enc, FALSE);
        g_mime_stream_filter_add(GMIME_STREAM_FILTER(fs), f);
        g_object_unref(f);
    }
    if (charset && *charset && !ascii_ieq(charset, "utf-8") && !ascii_ieq(charset, "utf8") &&
        !ascii_ieq(charset, "us-ascii") && charset_known(charset, strlen(charset))) {
        GMimeFilter *f = g_mime_filter_charset_new(charset, "UTF-8");
        if (f) {
            g_mime_stream_filter_add(GMIME_STREAM_FILTER(fs), f);
            g_object_unref(f);
            *conv = 1;
        }
    }
    char tmp[8192];
    ssize_t got;
    while ((got = g_mime_stream_read(fs, tmp, sizeof(tmp))) > 0) {
        if (strbuf_add(&sb, tmp, (size_t)got) < 0) {
            strbuf_add(&sb, tmp, limit - sb.len);
            *truncated = 1;
            break;
        }
    }
    g_object_unref(fs);
    return strbuf_detach(&sb, len);
}

/* Raw text bytes -> valid UTF-8: NULs dropped; a character cut by the read limit dropped;
 * unless a charset conversion already ran, bytes that are not valid UTF-8 are taken as the
 * fallback charsets (windows-1252) by GMime. */
static char *to_utf8(char *raw, size_t len, int converted, int truncated, size_t *out_len)
{
    const char *nul = memchr(raw, '\0', len);
    if (nul) {
        size_t k = (size_t)(nul - raw);
        for (size_t i = k + 1; i < len; i++)
            if (raw[i] != '\0') raw[k++] = raw[i];
        len = k;
    }
    raw[len] = '\0';
    if (truncated) {
        size_t back = 0;
        while (back < 3 && back < len && ((unsigned char)raw[len - 1 - back] & 0xC0) == 0x80)
            back++;
        if (back < len) {
            unsigned char lead = (unsigned char)raw[len - 1 - back];
            if (lead >= 0xC0 && (size_t)g_utf8_skip[lead] > back + 1) {
                len -= back + 1;
                raw[len] = '\0';
            }
        }
    }
    if (!converted && !g_utf8_validate(raw, (gssize)len, NULL)) {
        char *dec = g_mime_utils_decode_8bit(parser_opts, raw, len);
        if (dec) {
            free(raw);
            raw = xstrdup(dec);
            len = strlen(raw);
            g_free(dec);
        }
    }
    *out_len = len;
    return raw;
}

/* ---- HTML reduced to text ---------------------------------------------------------------- */

static int is_html_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f';
}

/* Case-insensitive search of needle (lower case) in h[from..n). */
static size_t find_ci(const char *h, size_t from, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = from; i + k <= n; i++)
        if (g_ascii_strncasecmp(h + i, needle, k) == 0) return i;
    return n;
}

static void out_char(strbuf *sb, char c)
{
    if (c == ' ') {
        if (sb->len == 0 || sb->buf[sb->len - 1] == ' ' || sb->buf[sb->len - 1] == '\n') return;
    } else if (c == '\n') {
        while (sb->len > 0 && sb->buf[sb->len - 1] == ' ') sb->buf[--sb->len] = '\0';
        if (sb->len == 0) return;
        if (sb->len >= 2 && sb->buf[sb->len - 1] == '\n' && sb->buf[sb->len - 2] == '\n') return;
    }
    strbuf_add(sb, &c, 1);
}

static const struct {
    const char *name;
    const char *utf8;
} entities[] = {
    {"amp", "&"},         {"lt", "<"},          {"gt", ">"},          {"quot", "\""},
    {"apos", "'"},        {"nbsp", " "},        {"copy", "\xC2\xA9"}, {"reg", "\xC2\xAE"},
    {"hellip", "\xE2\x80\xA6"}, {"mdash", "\xE2\x80\x94"}, {"ndash", "\xE2\x80\x93"},
    {"lsquo", "\xE2\x80\x98"},  {"rsquo", "\xE2\x80\x99"}, {"ldquo", "\xE2\x80\x9C"},
    {"rdquo", "\xE2\x80\x9D"},  {"euro", "\xE2\x82\xAC"},  {"auml", "\xC3\xA4"},
    {"ouml", "\xC3\xB6"}, {"uuml", "\xC3\xBC"}, {"Auml", "\xC3\x84"}, {"Ouml", "\xC3\x96"},
    {"Uuml", "\xC3\x9C"}, {"szlig", "\xC3\x9F"}, {"eacute", "\xC3\xA9"}, {"egrave", "\xC3\xA8"},
    {"ecirc", "\xC3\xAA"}, {"agrave", "\xC3\xA0"}, {"ccedil", "\xC3\xA7"}, {"Eacute", "\xC3\x89"},
};

/* An entity at h[i] == '&': appends its text and returns the bytes consumed, or 0. */
static size_t html_entity(const char *h, size_t i, size_t n, strbuf *sb)
{
    size_t j = i + 1, end = i + 12 < n ? i + 12 : n;
    while (j < end && h[j] != ';') j++;
    if (j >= end || j == i + 1) return 0;
    size_t nlen = j - i - 1;
    const char *name = h + i + 1;
    if (name[0] == '#') {
        unsigned long cp = 0;
        int hex = nlen > 1 && (name[1] == 'x' || name[1] == 'X');
        size_t k = hex ? 2 : 1;
        if (k >= nlen) return 0;
        for (; k < nlen; k++) {
            int d = hex ? g_ascii_xdigit_value(name[k]) : g_ascii_digit_value(name[k]);
            if (d < 0) return 0;
            cp = cp * (hex ? 16 : 10) + (unsigned long)d;
            if (cp > 0x10FFFF) return 0;
        }
        if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        if (cp == 0xA0) cp = ' ';
        char u[8];
        int ul = g_unichar_to_utf8((gunichar)cp, u);
        if (ul == 1) out_char(sb, u[0]);
        else strbuf_add(sb, u, (size_t)ul);
        return j - i + 1;
    }
    for (size_t e = 0; e < sizeof(entities) / sizeof(entities[0]); e++) {
        if (strlen(entities[e].name) == nlen && memcmp(entities[e].name, name, nlen) == 0) {
            if (entities[e].utf8[1] == '\0') out_char(sb, entities[e].utf8[0]);
            else strbuf_addstr(sb, entities[e].utf8);
            return j - i + 1;
        }
    }
    return 0;
}

static int name_in(const char *name, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(name, *list) == 0) return 1;
    return 0;
}

/* Rough HTML to text: tags dropped (block tags become line breaks), script/style/head content
 * dropped, comments dropped, entities decoded, white space collapsed. */
static void html_to_text(const char *h, size_t n, strbuf *sb)
{
    static const char *const skip[] = {"script", "style", "head", "title", NULL};
    static const char *const block[] = {"br", "p", "div", "tr", "li", "ul", "ol", "table",
                                        "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "hr",
                                        "pre", "section", "article", "header", "footer", NULL};
    size_t i = 0;
    while (i < n) {
        char c = h[i];
        if (c == '<') {
            if (i + 4 <= n && memcmp(h + i, "<!--", 4) == 0) {
                size_t e = find_ci(h, i + 4, n, "-->");
                i = e >= n ? n : e + 3;
                continue;
            }
            size_t j = i + 1;
            int closing = 0;
            if (j < n && h[j] == '/') {
                closing = 1;
                j++;
            }
            char name[16];
            size_t nl = 0;
            while (j < n && g_ascii_isalnum(h[j])) {
                if (nl < sizeof(name) - 1) name[nl++] = g_ascii_tolower(h[j]);
                j++;
            }
            name[nl] = '\0';
            if (nl == 0 && !(j < n && (h[j] == '!' || h[j] == '?'))) { /* a lone '<' */
                out_char(sb, '<');
                i++;
                continue;
            }
            char quote = 0;
            while (j < n && (quote || h[j] != '>')) {
                if (quote && h[j] == quote) quote = 0;
                else if (!quote && (h[j] == '"' || h[j] == '\'')) quote = h[j];
                j++;
            }
            if (j >= n) break; /* unterminated tag: the rest is not text */
            i = j + 1;
            if (!closing && name_in(name, skip)) {
                char endtag[20];
                g_snprintf(endtag, sizeof(endtag), "</%s", name);
                size_t e = find_ci(h, i, n, endtag);
                if (e >= n) break;
                while (e < n && h[e] != '>') e++;
                i = e < n ? e + 1 : n;
                continue;
            }
            if (name_in(name, block)) out_char(sb, '\n');
            else if (strcmp(name, "td") == 0 || strcmp(name, "th") == 0) out_char(sb, ' ');
            continue;
        }
        if (c == '&') {
            size_t used = html_entity(h, i, n, sb);
            if (used) {
                i += used;
                continue;
            }
        }
        if (is_html_space(c)) out_char(sb, ' ');
        else strbuf_add(sb, &c, 1);
        i++;
    }
    while (sb->len > 0 && (sb->buf[sb->len - 1] == ' ' || sb->buf[sb->len - 1] == '\n'))
        sb->buf[--sb->len] = '\0';
}

/* ---- the body and its snippet -------------------------------------------------------------- */

static void take_body(message_parsed *m, GMimePart *part, int html)
{
    const char *charset = g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "charset");
    int conv, trunc;
    size_t len;
    char *raw = read_part(part, html ? HTML_READ_MAX : MSG_BODY_MAX + 8, charset, &conv, &trunc,
                          &len);
    raw = to_utf8(raw, len, conv, trunc, &len);
    strbuf sb;
    strbuf_init(&sb, MSG_BODY_MAX);
    if (html) {
        strbuf tmp;
        strbuf_init(&tmp, HTML_READ_MAX);
        html_to_text(raw, len, &tmp);
        trunc |= clean_append(&sb, tmp.buf, tmp.len, CLEAN_BODY);
        strbuf_release(&tmp);
    } else {
        trunc |= clean_append(&sb, raw, len, CLEAN_BODY);
    }
    free(raw);
    m->body_truncated = trunc;
    m->body_from_html = html;
    m->body = strbuf_detach(&sb, &m->body_len);
}

static int is_unicode_space(gunichar u)
{
    return u == ' ' || u == '\t' || u == '\n' || u == '\r' || u == 0xA0 || u == 0x200B ||
           g_unichar_isspace(u);
}

static char *make_snippet(const char *body)
{
    strbuf sb;
    strbuf_init(&sb, MSG_SNIPPET_CHARS * 4 + 4);
    int chars = 0, space = 0;
    for (const char *p = body; *p && chars < MSG_SNIPPET_CHARS; p = g_utf8_next_char(p)) {
        unsigned char c = (unsigned char)*p;
        /* ASCII without a call: its spaces are those of g_unichar_isspace */
        int is_space = c < 0x80 ? c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
                                : is_unicode_space(g_utf8_get_char(p));
        if (is_space) {
            space = 1;
            continue;
        }
        if (space && sb.len > 0) {
            strbuf_add(&sb, " ", 1);
            if (++chars >= MSG_SNIPPET_CHARS) break;
        }
        space = 0;
        strbuf_add(&sb, p, c < 0x80 ? 1 : (size_t)g_utf8_skip[c]);
        chars++;
    }
    while (sb.len > 0 && sb.buf[sb.len - 1] == ' ') sb.buf[--sb.len] = '\0';
    return strbuf_detach(&sb, NULL);
}

/* ---- DSN (RFC 3464) ---------------------------------------------------------------------- */

/* The value after "type;" of an address-type or MTA-name field, without <> and spaces. */
static char *typed_value(const char *v, size_t max)
{
    if (!v) return xstrdup("");
    const char *semi = strchr(v, ';');
    char *s = clean_line(semi ? semi + 1 : v, max);
    size_t n = strlen(s);
    if (n >= 2 && s[0] == '<' && s[n - 1] == '>') {
        memmove(s, s + 1, n - 2);
        s[n - 2] = '\0';
    }
    return s;
}

/* The first "d.ddd.ddd" token (RFC 3463: class 2, 4 or 5) of a Status field. */
static char *status_code(const char *v)
{
    for (const char *p = v; p && *p; p++) {
        if ((*p != '2' && *p != '4' && *p != '5') || p[1] != '.') continue;
        if (p > v && (g_ascii_isalnum(p[-1]) || p[-1] == '.')) continue;
        const char *q = p + 2;
        int d1 = 0, d2 = 0;
        while (g_ascii_isdigit(*q) && d1 < 4) q++, d1++;
        if (d1 < 1 || d1 > 3 || *q != '.') continue;
        q++;
        while (g_ascii_isdigit(*q) && d2 < 4) q++, d2++;
        if (d2 < 1 || d2 > 3 || g_ascii_isalnum(*q) || *q == '.') continue;
        return xstrndup(p, (size_t)(q - p));
    }
    return xstrdup("");
}

/* GMime parses a block of header fields (unfolding, RFC 2047) into an object; NULL if none. */
static GMimeObject *parse_fields(const char *p, size_t n)
{
    GMimeStream *s = g_mime_stream_mem_new_with_buffer(p, n);
    GMimeParser *parser = g_mime_parser_new_with_stream(s);
    GMimeObject *obj = g_mime_parser_construct_part(parser, parser_opts);
    g_object_unref(parser);
    g_object_unref(s);
    return obj;
}

static void parse_dsn_block(message_parsed *m, const char *p, size_t n)
{
    GMimeObject *o = parse_fields(p, n);
    if (!o) return;
    const char *final = g_mime_object_get_header(o, "Final-Recipient");
    const char *action = g_mime_object_get_header(o, "Action");
    const char *status = g_mime_object_get_header(o, "Status");
    const char *mta = g_mime_object_get_header(o, "Reporting-MTA");
    if (final || action || status) {
        if (m->n_dsn < MSG_DSN_MAX) {
            m->dsn = xrealloc(m->dsn, (m->n_dsn + 1) * sizeof(*m->dsn));
            msg_dsn_recipient *r = &m->dsn[m->n_dsn++];
            r->final_recipient = typed_value(final, MSG_DSN_FIELD_MAX);
            r->original_recipient =
                typed_value(g_mime_object_get_header(o, "Original-Recipient"), MSG_DSN_FIELD_MAX);
            r->action = clean_line(action, 32);
            for (char *a = r->action; *a; a++) {
                if (*a == ' ' || *a == '(' || *a == ';') {
                    *a = '\0';
                    break;
                }
                *a = g_ascii_tolower(*a);
            }
            r->status = status_code(status);
            r->diagnostic_code =
                clean_line(g_mime_object_get_header(o, "Diagnostic-Code"), MSG_DSN_FIELD_MAX);
        }
    } else if (mta && !*m->dsn_reporting_mta) {
        free(m->dsn_reporting_mta);
        m->dsn_reporting_mta = typed_value(mta, MSG_DSN_FIELD_MAX);
    }
    g_object_unref(o);
}

static int blank_line(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r')) p++;
    return p >= end || *p == '\n';
}

/* message/delivery-status: blocks of fields separated by blank lines; the per-message block
 * gives Reporting-MTA, each per-recipient block one msg_dsn_recipient. */
static void parse_delivery_status(message_parsed *m, GMimePart *part)
{
    int conv, trunc;
    size_t len;
    char *raw = read_part(part, DSN_READ_MAX, NULL, &conv, &trunc, &len);
    defuse_charsets(raw, len);
    const char *p = raw, *end = raw + len;
    int blocks = 0;
    while (p < end && blocks < DSN_BLOCKS_MAX) {
        while (p < end && blank_line(p, end)) { /* skip blank lines */
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            p = nl ? nl + 1 : end;
        }
        if (p >= end) break;
        const char *start = p;
        while (p < end && !blank_line(p, end)) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            p = nl ? nl + 1 : end;
        }
        parse_dsn_block(m, start, (size_t)(p - start));
        blocks++;
    }
    free(raw);
}

/* The returned message of a report: its Message-ID and References. */
static void take_original(message_parsed *m, GMimeMessage *orig)
{
    if (!orig) return;
    free(m->original_message_id);
    m->original_message_id = clean_id(g_mime_message_get_message_id(orig));
    parse_id_list(raw_header(GMIME_OBJECT(orig), "References"), MSG_REFS_MAX,
                  &m->original_references,
                  &m->n_original_references);
}

static void take_original_headers(message_parsed *m, GMimePart *part)
{
    int conv, trunc;
    size_t len;
    char *raw = read_part(part, HEADERS_READ_MAX, NULL, &conv, &trunc, &len);
    defuse_charsets(raw, len);
    GMimeStream *s = g_mime_stream_mem_new_with_buffer(raw, len);
    GMimeParser *parser = g_mime_parser_new_with_stream(s);
    GMimeMessage *orig = g_mime_parser_construct_message(parser, parser_opts);
    take_original(m, orig);
    if (orig) g_object_unref(orig);
    g_object_unref(parser);
    g_object_unref(s);
    free(raw);
}

/* ---- walking the tree -------------------------------------------------------------------- */

struct walk {
    int parts;
    GMimePart *plain, *html, *status;
    GMimeObject *original; /* a GMimeMessagePart or a headers-only GMimePart */
};

static int is_attachment(GMimeObject *o)
{
    const char *d = g_mime_object_get_disposition(o);
    return d && ascii_ieq(d, GMIME_DISPOSITION_ATTACHMENT);
}

static void walk(GMimeObject *o, int depth, struct walk *w)
{
    if (!o || depth > WALK_MAX_DEPTH || ++w->parts > WALK_MAX_PARTS) return;
    if (GMIME_IS_MESSAGE_PART(o)) { /* an embedded message: its body is not ours */
        if (depth > 0 && !w->original) w->original = o;
        return;
    }
    if (GMIME_IS_MULTIPART(o)) {
        GMimeMultipart *mp = GMIME_MULTIPART(o);
        int n = g_mime_multipart_get_count(mp);
        for (int i = 0; i < n; i++) walk(g_mime_multipart_get_part(mp, i), depth + 1, w);
        return;
    }
    if (!GMIME_IS_PART(o)) return;
    GMimeContentType *ct = g_mime_object_get_content_type(o);
    if (!ct) return;
    if (g_mime_content_type_is_type(ct, "text", "rfc822-headers") ||
        g_mime_content_type_is_type(ct, "message", "global-headers") ||
        g_mime_content_type_is_type(ct, "message", "rfc822-headers")) {
        if (depth > 0 && !w->original) w->original = o;
        return;
    }
    if (g_mime_content_type_is_type(ct, "message", "delivery-status") ||
        g_mime_content_type_is_type(ct, "message", "global-delivery-status")) {
        if (!w->status) w->status = GMIME_PART(o);
        return;
    }
    if (is_attachment(o)) return;
    if (g_mime_content_type_is_type(ct, "text", "plain") && !w->plain) w->plain = GMIME_PART(o);
    else if (g_mime_content_type_is_type(ct, "text", "html") && !w->html) w->html = GMIME_PART(o);
}

/* ---- the message ------------------------------------------------------------------------- */

static char *marker(GMimeObject *o, const char *name)
{
    return clean_line(g_mime_object_get_header(o, name), MSG_MARKER_MAX);
}

static void take_markers(msg_markers *mk, GMimeObject *o)
{
    mk->auto_submitted = marker(o, "Auto-Submitted");
    mk->x_autoreply = marker(o, "X-Autoreply");
    mk->x_autorespond = marker(o, "X-Autorespond");
    mk->precedence = marker(o, "Precedence");
    mk->x_auto_response_suppress = marker(o, "X-Auto-Response-Suppress");
    mk->x_ms_inbox_rules_loop = marker(o, "X-MS-Exchange-Inbox-Rules-Loop");
    mk->x_ms_generated_message_source = marker(o, "X-MS-Exchange-Generated-Message-Source");
    mk->x_failed_recipients = marker(o, "X-Failed-Recipients");
    mk->return_path = marker(o, "Return-Path");
    const char *rp = raw_header(o, "Return-Path");
    if (rp) {
        char *c = g_strdup(rp);
        size_t k = 0;
        for (size_t i = 0; c[i]; i++)
            if (!g_ascii_isspace(c[i])) c[k++] = c[i];
        c[k] = '\0';
        mk->return_path_empty = strcmp(c, "<>") == 0;
        g_free(c);
    }
}

static int is_dsn_type(GMimeObject *top)
{
    GMimeContentType *ct = top ? g_mime_object_get_content_type(top) : NULL;
    if (!ct || !g_mime_content_type_is_type(ct, "multipart", "report")) return 0;
    const char *rt = g_mime_content_type_get_parameter(ct, "report-type");
    return rt && (ascii_ieq(rt, "delivery-status") || ascii_ieq(rt, "global-delivery-status"));
}

static void parse_message(message_parsed *m, GMimeMessage *msg)
{
    GMimeObject *mo = GMIME_OBJECT(msg);
    m->message_id = clean_id(g_mime_message_get_message_id(msg));
    m->in_reply_to = first_id(raw_header(mo, "In-Reply-To"));
    parse_id_list(raw_header(mo, "References"), MSG_REFS_MAX, &m->references, &m->n_references);

    msg_address *from = NULL;
    size_t nfrom = 0;
    add_addresses(g_mime_message_get_from(msg), &from, &nfrom, 1, 0);
    if (nfrom) {
        m->from = from[0];
        free(from);
    }
    add_addresses(g_mime_message_get_to(msg), &m->to, &m->n_to, MSG_ADDRS_MAX, 0);
    add_addresses(g_mime_message_get_cc(msg), &m->cc, &m->n_cc, MSG_ADDRS_MAX, 0);
    m->subject = clean_line(g_mime_message_get_subject(msg), MSG_SUBJECT_MAX);
    GDateTime *dt = g_mime_message_get_date(msg);
    if (dt) {
        gint64 t = g_date_time_to_unix(dt);
        m->date = t > 0 ? (time_t)t : 0;
    }
    take_markers(&m->markers, mo);

    GMimeObject *top = g_mime_message_get_mime_part(msg);
    m->markers.content_type = top ? marker(top, "Content-Type") : NULL;
    struct walk w = {0};
    walk(top, 0, &w);
    if (w.plain) take_body(m, w.plain, 0);
    else if (w.html) take_body(m, w.html, 1);
    m->is_dsn = is_dsn_type(top);
    m->dsn_reporting_mta = xstrdup("");
    if (m->is_dsn && w.status) parse_delivery_status(m, w.status);
    if (w.original && GMIME_IS_MESSAGE_PART(w.original))
        take_original(m, g_mime_message_part_get_message(GMIME_MESSAGE_PART(w.original)));
    else if (w.original)
        take_original_headers(m, GMIME_PART(w.original));
}

static void ensure(char **s)
{
    if (!*s) *s = xstrdup("");
}

/* Every string field that is still NULL becomes "" (the header's contract). */
static void fill_empty(message_parsed *m)
{
    ensure(&m->message_id);
    ensure(&m->in_reply_to);
    ensure(&m->from.addr);
    ensure(&m->from.name);
    ensure(&m->subject);
    msg_markers *mk = &m->markers;
    char **markers[] = {&mk->auto_submitted,           &mk->x_autoreply,
                        &mk->x_autorespond,            &mk->precedence,
                        &mk->x_auto_response_suppress, &mk->x_ms_inbox_rules_loop,
                        &mk->x_ms_generated_message_source, &mk->x_failed_recipients,
                        &mk->return_path,              &mk->content_type};
    for (size_t i = 0; i < sizeof(markers) / sizeof(markers[0]); i++) ensure(markers[i]);
    ensure(&m->body);
    ensure(&m->dsn_reporting_mta);
    ensure(&m->original_message_id);
    if (!m->snippet) m->snippet = make_snippet(m->body);
}

int message_parse(const void *data, size_t len, message_parsed **out, mf_error *err)
{
    *out = NULL;
    if (len > MSG_PARSE_MAX_SIZE)
        return mf_fail(err, 413, "message_too_large", "",
                       "the message has %zu bytes, more than the %u this parser accepts", len,
                       MSG_PARSE_MAX_SIZE);
    message_parse_init();
    message_parsed *m = xcalloc(1, sizeof(*m));
    m->size = len;
    /* GMime reads the caller's bytes where they are (the stream does not own them; only
     * GMime reads them), or a copy when unknown charset names had to be defused. The stream
     * and every part's content substream are gone before the array is let go. */
    size_t n = len;
    char *copy = len ? drop_unread_fields(data, len, &n) : NULL;
    if (copy) defuse_scan(copy, n, copy);
    else if (len) copy = defuse_scan(data, len, NULL);
    GByteArray *bytes = g_byte_array_new_take((guint8 *)(copy ? copy : (char *)data), n);
    GMimeStream *s = g_mime_stream_mem_new_with_byte_array(bytes);
    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(s), FALSE);
    GMimeParser *parser = g_mime_parser_new_with_stream(s);
    g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
    GMimeMessage *msg = g_mime_parser_construct_message(parser, parser_opts);
    g_object_unref(parser);
    if (msg) {
        parse_message(m, msg);
        g_object_unref(msg);
    } else {
        m->malformed = 1;
    }
    g_object_unref(s);
    g_byte_array_free(bytes, FALSE); /* the struct only: the bytes are data's or copy's */
    g_free(copy);
    fill_empty(m);
    *out = m;
    return 0;
}

/* ---- a message known without parsing (message_parse.h) --------------------------------- */

static void known_addresses(const char *const *addrs, const char *const *names, size_t n,
                            msg_address **arr, size_t *count)
{
    for (size_t i = 0; i < n && *count < MSG_ADDRS_MAX; i++)
        push_address(addrs[i], names ? names[i] : NULL, arr, count);
}

message_parsed *message_parsed_from_known(const message_known *k)
{
    message_parse_init(); /* the same UTF-8 tables as message_parse */
    message_parsed *m = xcalloc(1, sizeof(*m));
    m->size = k->size;
    m->message_id = clean_id(k->message_id);
    m->in_reply_to = clean_id(k->in_reply_to);
    /* like parse_id_list: empty ids dropped, the first and the last MSG_REFS_MAX - 1 kept */
    char **ids = k->n_references ? xcalloc(k->n_references, sizeof(*ids)) : NULL;
    size_t n = 0;
    for (size_t i = 0; i < k->n_references; i++) {
        char *id = clean_id(k->references[i]);
        if (*id) ids[n++] = id;
        else free(id);
    }
    if (n > MSG_REFS_MAX) {
        for (size_t i = 1; i < n - (MSG_REFS_MAX - 1); i++) free(ids[i]);
        memmove(&ids[1], &ids[n - (MSG_REFS_MAX - 1)], (MSG_REFS_MAX - 1) * sizeof(*ids));
        n = MSG_REFS_MAX;
    }
    if (n == 0) {
        free(ids);
        ids = NULL;
    }
    m->references = ids;
    m->n_references = n;
    const char *fa[1] = {k->from_addr}, *fn[1] = {k->from_name};
    msg_address *from = NULL;
    size_t nfrom = 0;
    if (k->from_addr) known_addresses(fa, fn, 1, &from, &nfrom);
    if (nfrom) {
        m->from = from[0];
        free(from);
    }
    known_addresses(k->to_addrs, k->to_names, k->n_to, &m->to, &m->n_to);
    known_addresses(k->cc_addrs, k->cc_names, k->n_cc, &m->cc, &m->n_cc);
    m->subject = clean_line(k->subject, MSG_SUBJECT_MAX);
    m->date = k->date > 0 ? k->date : 0;
    /* take_body for a text/plain UTF-8 part: read at most MSG_BODY_MAX + 8 bytes, then clean */
    size_t len = k->text_len, limit = MSG_BODY_MAX + 8;
    int trunc = len > limit;
    size_t take = trunc ? limit : len;
    char *raw = xcalloc(take + 1, 1);
    if (take) memcpy(raw, k->text, take);
    raw = to_utf8(raw, take, 0, trunc, &len);
    strbuf sb;
    strbuf_init(&sb, MSG_BODY_MAX);
    trunc |= clean_append(&sb, raw, len, CLEAN_BODY);
    free(raw);
    m->body_truncated = trunc;
    m->body = strbuf_detach(&sb, &m->body_len);
    fill_empty(m);
    return m;
}

static void free_addresses(msg_address *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(a[i].addr);
        free(a[i].name);
    }
    free(a);
}

void message_parsed_free(message_parsed **mp)
{
    if (!mp || !*mp) return;
    message_parsed *m = *mp;
    free(m->message_id);
    free(m->in_reply_to);
    free_id_list(m->references, m->n_references);
    free(m->from.addr);
    free(m->from.name);
    free_addresses(m->to, m->n_to);
    free_addresses(m->cc, m->n_cc);
    free(m->subject);
    msg_markers *mk = &m->markers;
    free(mk->auto_submitted);
    free(mk->x_autoreply);
    free(mk->x_autorespond);
    free(mk->precedence);
    free(mk->x_auto_response_suppress);
    free(mk->x_ms_inbox_rules_loop);
    free(mk->x_ms_generated_message_source);
    free(mk->x_failed_recipients);
    free(mk->return_path);
    free(mk->content_type);
    free(m->body);
    free(m->snippet);
    free(m->dsn_reporting_mta);
    for (size_t i = 0; i < m->n_dsn; i++) {
        free(m->dsn[i].final_recipient);
        free(m->dsn[i].original_recipient);
        free(m->dsn[i].action);
        free(m->dsn[i].status);
        free(m->dsn[i].diagnostic_code);
    }
    free(m->dsn);
    free(m->original_message_id);
    free_id_list(m->original_references, m->n_original_references);
    free(m);
    *mp = NULL;
}
