/* classify.c — R22/R23 classification of inbound mail and out-of-office return dates; see
 * classify.h. Pure functions over the input struct: no I/O, no MIME. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "core/classify.h"
#include "util/error.h"

/* ---- small text helpers ------------------------------------------------------------------ */

static int empty(const char *s)
{
    return !s || !*s;
}

static int is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/* a letter of a word: ASCII letter or any byte of a UTF-8 sequence */
static int is_wordch(unsigned char c)
{
    return is_alpha(c) || c >= 0x80;
}

static unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* Copy at most n bytes of s into a new buffer, lower-casing ASCII and the upper-case letters
 * of Latin-1 (UTF-8 C3 80..9E except the multiplication sign): same length, NUL-terminated. */
static char *fold(const char *s, size_t n)
{
    char *o = xmalloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == 0xC3 && i + 1 < n) {
            unsigned char d = (unsigned char)s[i + 1];
            o[i] = (char)c;
            o[i + 1] = (char)((d >= 0x80 && d <= 0x9E && d != 0x97) ? d + 0x20 : d);
            i++;
            continue;
        }
        o[i] = (char)lower(c);
    }
    o[n] = '\0';
    return o;
}

static size_t bounded_len(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n]) n++;
    return n;
}

/* The first token of a header value (up to white space, ';', ',' or '('), lower-cased. */
static void first_token(const char *v, char *out, size_t outlen)
{
    size_t k = 0;
    if (v)
        while (is_space((unsigned char)*v)) v++;
    for (; v && *v && !is_space((unsigned char)*v) && *v != ';' && *v != ',' && *v != '(' &&
           k + 1 < outlen;
         v++)
        out[k++] = (char)lower((unsigned char)*v);
    out[k] = '\0';
}

static void copy(char *dst, size_t dstlen, const char *src)
{
    snprintf(dst, dstlen, "%s", src ? src : "");
}

/* ---- names ------------------------------------------------------------------------------- */

static const char *const kind_names[] = {"human", "reply", "auto_reply", "bounce"};

const char *classify_kind_name(classify_kind kind)
{
    if ((unsigned)kind >= sizeof(kind_names) / sizeof(kind_names[0])) MF_BUG("bad classify_kind");
    return kind_names[kind];
}

int classify_kind_parse(const char *name, classify_kind *out)
{
    for (size_t i = 0; name && i < sizeof(kind_names) / sizeof(kind_names[0]); i++)
        if (strcmp(name, kind_names[i]) == 0) {
            *out = (classify_kind)i;
            return 0;
        }
    return -1;
}

const char *classify_bounce_name(classify_bounce bounce)
{
    switch (bounce) {
    case CLASSIFY_BOUNCE_NONE: return "none";
    case CLASSIFY_BOUNCE_HARD: return "hard";
    case CLASSIFY_BOUNCE_SOFT: return "soft";
    }
    MF_BUG("bad classify_bounce");
}

/* ---- tracking id (R22) ------------------------------------------------------------------- */

static int tracking_char(unsigned char c)
{
    return is_alpha(c) || is_digit(c) || c == '_' || c == '-';
}

static int tracking_valid(const char *id, size_t n)
{
    if (n == 0 || n > CLASSIFY_TRACKING_ID_MAX - 1) return 0;
    for (size_t i = 0; i < n; i++)
        if (!tracking_char((unsigned char)id[i])) return 0;
    return 1;
}

int classify_tracking_id_format(const char *tracking_id, char *out, size_t outlen)
{
    if (!out || outlen == 0) return -1;
    out[0] = '\0';
    if (!tracking_id || !tracking_valid(tracking_id, strlen(tracking_id))) return -1;
    int n = snprintf(out, outlen, "<" CLASSIFY_TRACKING_PREFIX "%s@" CLASSIFY_TRACKING_DOMAIN ">",
                     tracking_id);
    if (n < 0 || (size_t)n >= outlen) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}

int classify_tracking_id_parse(const char *message_id, char *out, size_t outlen)
{
    if (out && outlen) out[0] = '\0';
    if (!message_id) return 0;
    size_t n = bounded_len(message_id, CLASSIFY_TRACKING_HEADER_MAX + 1);
    const char *s = message_id;
    if (n >= 2 && s[0] == '<' && s[n - 1] == '>') {
        s++;
        n -= 2;
    }
    const size_t plen = strlen(CLASSIFY_TRACKING_PREFIX), dlen = strlen(CLASSIFY_TRACKING_DOMAIN);
    if (n < plen + 1 + 1 + dlen) return 0;
    if (strncasecmp(s, CLASSIFY_TRACKING_PREFIX, plen) != 0) return 0;
    if (s[n - dlen - 1] != '@' || strncasecmp(s + n - dlen, CLASSIFY_TRACKING_DOMAIN, dlen) != 0)
        return 0;
    const char *id = s + plen;
    size_t idlen = n - plen - dlen - 1;
    if (!tracking_valid(id, idlen)) return 0;
    if (out && outlen) {
        if (idlen >= outlen) return 0;
        memcpy(out, id, idlen);
        out[idlen] = '\0';
    }
    return 1;
}

/* ---- R22: which of ours ------------------------------------------------------------------ */

struct lookup {
    classify_is_ours_fn is_ours;
    void *ctx;
    int calls;
};

static int ours(struct lookup *lk, const char *id)
{
    if (!lk->is_ours || empty(id) || lk->calls >= CLASSIFY_LOOKUPS_MAX) return 0;
    lk->calls++;
    return lk->is_ours(id, lk->ctx) ? 1 : 0;
}

static int take_tracking(const char *id, classify_result *out)
{
    char bare[CLASSIFY_TRACKING_ID_MAX];
    if (!classify_tracking_id_parse(id, bare, sizeof(bare))) return 0;
    out->match = CLASSIFY_MATCH_TRACKING_ID;
    /* the canonical spelling, without <> like every id here */
    snprintf(out->outbound_id, sizeof(out->outbound_id),
             CLASSIFY_TRACKING_PREFIX "%s@" CLASSIFY_TRACKING_DOMAIN, bare);
    copy(out->tracking_id, sizeof(out->tracking_id), bare);
    return 1;
}

/* Our tracking id among ids (newest first). */
static int find_tracking(const char *const *ids, size_t n, classify_result *out)
{
    for (size_t i = n; i-- > 0;)
        if (ids[i] && take_tracking(ids[i], out)) return 1;
    return 0;
}

/* The outbound message a reply (or an auto-reply) answers; 1 when found. */
static int find_ours(const classify_input *in, struct lookup *lk, classify_result *out)
{
    if (ours(lk, in->in_reply_to)) {
        out->match = CLASSIFY_MATCH_IN_REPLY_TO;
        copy(out->outbound_id, sizeof(out->outbound_id), in->in_reply_to);
        return 1;
    }
    for (size_t i = in->n_references; in->references && i-- > 0;) {
        const char *id = in->references[i];
        if (empty(id) || (in->in_reply_to && strcmp(id, in->in_reply_to) == 0)) continue;
        if (ours(lk, id)) {
            out->match = CLASSIFY_MATCH_REFERENCES;
            copy(out->outbound_id, sizeof(out->outbound_id), id);
            return 1;
        }
    }
    if (!empty(in->in_reply_to) && take_tracking(in->in_reply_to, out)) return 1;
    return in->references && find_tracking(in->references, in->n_references, out);
}

/* ---- R23: bounces ------------------------------------------------------------------------ */

/* hard / soft / none for one DSN recipient: the Status class, else the Action. */
static classify_bounce recipient_verdict(const classify_dsn_recipient *r)
{
    const char *st = r->status;
    if (st && (st[0] == '2' || st[0] == '4' || st[0] == '5') && st[1] == '.') {
        if (st[0] == '5') return CLASSIFY_BOUNCE_HARD;
        if (st[0] == '4') return CLASSIFY_BOUNCE_SOFT;
        return CLASSIFY_BOUNCE_NONE;
    }
    char action[16];
    first_token(r->action, action, sizeof(action));
    if (strcmp(action, "failed") == 0) return CLASSIFY_BOUNCE_HARD;
    if (strcmp(action, "delayed") == 0) return CLASSIFY_BOUNCE_SOFT;
    return CLASSIFY_BOUNCE_NONE;
}

static int dsn_bounce(const classify_input *in, classify_result *out)
{
    const classify_dsn_recipient *pick = NULL;
    classify_bounce verdict = CLASSIFY_BOUNCE_NONE;
    for (size_t i = 0; in->dsn && i < in->n_dsn; i++) {
        classify_bounce v = recipient_verdict(&in->dsn[i]);
        if (v == CLASSIFY_BOUNCE_HARD && verdict != CLASSIFY_BOUNCE_HARD) {
            verdict = v;
            pick = &in->dsn[i];
        } else if (v == CLASSIFY_BOUNCE_SOFT && verdict == CLASSIFY_BOUNCE_NONE) {
            verdict = v;
            pick = &in->dsn[i];
        }
    }
    if (verdict == CLASSIFY_BOUNCE_NONE) {
        if (in->n_dsn > 0) return 0; /* a success report (2.x.x, delivered, relayed...) */
        out->bounce = CLASSIFY_BOUNCE_SOFT; /* a report we cannot read: do not bury anyone */
        out->reason = "DSN without recipient fields";
        return 1;
    }
    out->bounce = verdict;
    out->reason = verdict == CLASSIFY_BOUNCE_HARD ? "DSN status 5.x.x" : "DSN status 4.x.x";
    copy(out->bounce_recipient, sizeof(out->bounce_recipient), pick->final_recipient);
    copy(out->bounce_status, sizeof(out->bounce_status), pick->status);
    return 1;
}

static int from_mailer_daemon(const char *from)
{
    if (empty(from)) return 0;
    const char *at = strchr(from, '@');
    size_t n = at ? (size_t)(at - from) : strlen(from);
    return (n == 13 && strncasecmp(from, "mailer-daemon", 13) == 0) ||
           (n == 10 && strncasecmp(from, "postmaster", 10) == 0);
}

static int heuristic_bounce(const classify_input *in, classify_result *out)
{
    if (!from_mailer_daemon(in->from_addr) || empty(in->x_failed_recipients)) return 0;
    const char *p = in->x_failed_recipients;
    while (is_space((unsigned char)*p) || *p == '<') p++;
    size_t n = 0;
    while (p[n] && p[n] != ',' && p[n] != '>' && !is_space((unsigned char)p[n])) n++;
    if (n >= sizeof(out->bounce_recipient)) n = 0;
    memcpy(out->bounce_recipient, p, n);
    out->bounce_recipient[n] = '\0';
    out->bounce = CLASSIFY_BOUNCE_HARD;
    out->reason = "mailer-daemon with X-Failed-Recipients";
    return 1;
}

/* The outbound message a bounce concerns. */
static void bounce_outbound(const classify_input *in, struct lookup *lk, classify_result *out)
{
    if (!empty(in->original_message_id) && ours(lk, in->original_message_id)) {
        out->match = CLASSIFY_MATCH_ORIGINAL;
        copy(out->outbound_id, sizeof(out->outbound_id), in->original_message_id);
        return;
    }
    if (!empty(in->original_message_id) && take_tracking(in->original_message_id, out)) return;
    if (in->original_references &&
        find_tracking(in->original_references, in->n_original_references, out))
        return;
    if (find_ours(in, lk, out)) return;
    if (!empty(in->original_message_id)) {
        out->match = CLASSIFY_MATCH_ORIGINAL_UNKNOWN;
        copy(out->outbound_id, sizeof(out->outbound_id), in->original_message_id);
    }
}

/* ---- R23: auto-replies ------------------------------------------------------------------- */

static const char *const auto_subjects[] = {
    "out of office",        "out of the office",     "automatic reply",
    "auto:",                "autoreply",             "auto-reply",
    "auto reply",           "auto response",         "automatic response",
    "abwesenheitsnotiz",    "automatische antwort",  "r\xC3\xA9ponse automatique",
    "reponse automatique",  "respuesta autom\xC3\xA1tica", "risposta automatica",
    "automatisch antwoord",
};

static int auto_subject(const char *subject)
{
    if (empty(subject)) return 0;
    while (is_space((unsigned char)*subject)) subject++;
    char *f = fold(subject, bounded_len(subject, 64));
    int hit = 0;
    for (size_t i = 0; !hit && i < sizeof(auto_subjects) / sizeof(auto_subjects[0]); i++)
        hit = strncmp(f, auto_subjects[i], strlen(auto_subjects[i])) == 0;
    free(f);
    return hit;
}

/* X-Autoreply / X-Autorespond: present and not a "no". */
static int marker_yes(const char *v)
{
    if (empty(v)) return 0;
    char t[8];
    first_token(v, t, sizeof(t));
    return strcmp(t, "no") != 0 && strcmp(t, "false") != 0 && strcmp(t, "0") != 0;
}

static const char *auto_reply_rule(const classify_input *in)
{
    char tok[32];
    first_token(in->auto_submitted, tok, sizeof(tok));
    if (*tok && strcmp(tok, "no") != 0) return "Auto-Submitted";
    if (marker_yes(in->x_autoreply)) return "X-Autoreply";
    if (marker_yes(in->x_autorespond)) return "X-Autorespond";
    int subj = auto_subject(in->subject);
    first_token(in->precedence, tok, sizeof(tok));
    if (strcmp(tok, "auto_reply") == 0) return "Precedence: auto_reply";
    if ((strcmp(tok, "bulk") == 0 || strcmp(tok, "junk") == 0) && subj)
        return "Precedence bulk/junk with an auto-reply subject";
    if ((!empty(in->x_ms_inbox_rules_loop) || !empty(in->x_ms_generated_message_source) ||
         !empty(in->x_auto_response_suppress)) &&
        subj)
        return "Microsoft markers with an auto-reply subject";
    if (subj) return "auto-reply subject";
    return NULL;
}

/* ---- the decision ------------------------------------------------------------------------ */

void classify_message(const classify_input *in, classify_is_ours_fn is_ours, void *ctx,
                      classify_result *out)
{
    memset(out, 0, sizeof(*out));
    out->kind = CLASSIFY_HUMAN;
    out->reason = "no rule";
    struct lookup lk = {is_ours, ctx, 0};

    if ((in->is_dsn && dsn_bounce(in, out)) || heuristic_bounce(in, out)) {
        out->kind = CLASSIFY_BOUNCE;
        bounce_outbound(in, &lk, out);
        return;
    }
    const char *rule = auto_reply_rule(in);
    int found = find_ours(in, &lk, out);
    if (rule) {
        out->kind = CLASSIFY_AUTO_REPLY;
        out->reason = rule;
        time_t t = 0;
        if (!classify_return_date(in->subject, in->received, &t))
            classify_return_date(in->body, in->received, &t);
        out->return_date = t;
        return;
    }
    if (found) {
        out->kind = CLASSIFY_REPLY;
        out->reason = out->match == CLASSIFY_MATCH_IN_REPLY_TO  ? "In-Reply-To is ours"
                      : out->match == CLASSIFY_MATCH_REFERENCES ? "References has ours"
                                                                 : "our tracking id";
    }
}

/* ---- return dates ------------------------------------------------------------------------ */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static long days_from_civil(long y, int m, int d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(long y, int m)
{
    static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
    return dim[m - 1];
}

struct name_num {
    const char *name; /* folded */
    int num;
};

static const struct name_num months[] = {
    /* English */
    {"january", 1}, {"february", 2}, {"march", 3}, {"april", 4}, {"may", 5}, {"june", 6},
    {"july", 7}, {"august", 8}, {"september", 9}, {"october", 10}, {"november", 11},
    {"december", 12}, {"jan", 1}, {"feb", 2}, {"mar", 3}, {"apr", 4}, {"jun", 6}, {"jul", 7},
    {"aug", 8}, {"sept", 9}, {"sep", 9}, {"oct", 10}, {"nov", 11}, {"dec", 12},
    /* German */
    {"januar", 1}, {"j\xC3\xA4nner", 1}, {"februar", 2}, {"m\xC3\xA4rz", 3}, {"maerz", 3},
    {"mrz", 3}, {"m\xC3\xA4r", 3}, {"mai", 5}, {"juni", 6}, {"juli", 7}, {"oktober", 10},
    {"okt", 10}, {"dezember", 12}, {"dez", 12},
    /* French */
    {"janvier", 1}, {"janv", 1}, {"f\xC3\xA9vrier", 2}, {"fevrier", 2}, {"f\xC3\xA9v", 2},
    {"mars", 3}, {"avril", 4}, {"avr", 4}, {"juin", 6}, {"juillet", 7}, {"juil", 7},
    {"ao\xC3\xBBt", 8}, {"aout", 8}, {"septembre", 9}, {"octobre", 10}, {"novembre", 11},
    {"d\xC3\xA9" "cembre", 12}, {"decembre", 12}, {"d\xC3\xA9" "c", 12},
};

static const struct name_num weekdays[] = {
    /* 0 = Sunday */
    {"sunday", 0}, {"monday", 1}, {"tuesday", 2}, {"wednesday", 3}, {"thursday", 4},
    {"friday", 5}, {"saturday", 6}, {"sonntag", 0}, {"montag", 1}, {"dienstag", 2},
    {"mittwoch", 3}, {"donnerstag", 4}, {"freitag", 5}, {"samstag", 6}, {"dimanche", 0},
    {"lundi", 1}, {"mardi", 2}, {"mercredi", 3}, {"jeudi", 4}, {"vendredi", 5}, {"samedi", 6},
};

/* Words after which a return date follows closely (folded). */
static const char *const cues[] = {
    "back", "return", "returning", "returns", "until", "till", "til", "through", "thru",
    "zur\xC3\xBC" "ck", "zurueck", "wieder", "bis", "ab", "retour", "jusqu'au", "jusqu\xE2\x80\x99" "au",
    "partir du",
};

#define CUE_WINDOW 64 /* bytes after a cue word in which the date must start */

/* The longest name of table at s[i] ending on a word boundary: its length, *num set; or 0. */
static size_t match_name(const char *s, size_t n, size_t i, const struct name_num *table,
                         size_t count, int *num)
{
    size_t best = 0;
    for (size_t k = 0; k < count; k++) {
        size_t l = strlen(table[k].name);
        if (l <= best || i + l > n || memcmp(s + i, table[k].name, l) != 0) continue;
        if (i + l < n && is_wordch((unsigned char)s[i + l])) continue;
        best = l;
        *num = table[k].num;
    }
    return best;
}

/* Digits at s[*i] (at most max of them, and not followed by another digit): the value and
 * the count of digits, *i advanced; 0 digits when there is no such number. */
static int read_num(const char *s, size_t n, size_t *i, int max, int *val)
{
    int k = 0, v = 0;
    size_t j = *i;
    while (j < n && is_digit((unsigned char)s[j]) && k <= max) {
        v = v * 10 + (s[j] - '0');
        j++;
        k++;
    }
    if (k == 0 || k > max) return 0;
    *val = v;
    *i = j;
    return k;
}

static void skip_spaces(const char *s, size_t n, size_t *i)
{
    while (*i < n && is_space((unsigned char)s[*i])) (*i)++;
}

/* An optional year after a day-month or month-day: [","] spaces 4 digits. 0 when none. */
static int trailing_year(const char *s, size_t n, size_t i)
{
    if (i < n && s[i] == '.') i++;
    if (i < n && s[i] == ',') i++;
    skip_spaces(s, n, &i);
    int y;
    size_t j = i;
    return read_num(s, n, &j, 4, &y) == 4 ? y : 0;
}

static size_t ordinal_suffix(const char *s, size_t n, size_t i)
{
    static const char *const sfx[] = {"st", "nd", "rd", "th", "er", "e"};
    if (i < n && s[i] == '.') return 1;
    for (size_t k = 0; k < sizeof(sfx) / sizeof(sfx[0]); k++) {
        size_t l = strlen(sfx[k]);
        if (i + l <= n && memcmp(s + i, sfx[k], l) == 0 &&
            (i + l == n || !is_wordch((unsigned char)s[i + l])))
            return l;
    }
    return 0;
}

static int year_of(int digits, int v)
{
    if (digits == 2) return 2000 + v;
    if (digits == 4) return v;
    return -1;
}

/* A date starting at s[i]: 1 and *y (0 when not given), *m, *d set. */
static int parse_date(const char *s, size_t n, size_t i, int *y, int *m, int *d)
{
    *y = 0;
    int a = 0, b = 0, c = 0, k;
    size_t j = i;
    if (is_digit((unsigned char)s[i])) {
        k = read_num(s, n, &j, 4, &a);
        if (k == 4) { /* ISO yyyy-mm-dd */
            if (j < n && s[j] == '-' && (j++, read_num(s, n, &j, 2, &b)) && j < n && s[j] == '-' &&
                (j++, read_num(s, n, &j, 2, &c))) {
                *y = a;
                *m = b;
                *d = c;
                return 1;
            }
            return 0;
        }
        if (k > 2) return 0;
        if (j + 1 < n && s[j] == '.' && is_digit((unsigned char)s[j + 1])) { /* dd.mm.[yyyy] */
            j++;
            if (!read_num(s, n, &j, 2, &b)) return 0;
            if (j + 1 < n && s[j] == '.' && is_digit((unsigned char)s[j + 1])) {
                j++;
                int yd = read_num(s, n, &j, 4, &c);
                if ((*y = year_of(yd, c)) < 0) return 0;
            }
            *d = a;
            *m = b;
            return 1;
        }
        if (j + 1 < n && s[j] == '/' && is_digit((unsigned char)s[j + 1])) { /* a/b[/yyyy] */
            j++;
            if (!read_num(s, n, &j, 2, &b)) return 0;
            if (j + 1 < n && s[j] == '/' && is_digit((unsigned char)s[j + 1])) {
                j++;
                int yd = read_num(s, n, &j, 4, &c);
                if ((*y = year_of(yd, c)) < 0) return 0;
            }
            if (a > 12 && b <= 12) {
                *d = a;
                *m = b;
            } else if (b > 12 && a <= 12) {
                *m = a;
                *d = b;
            } else {
                return 0; /* 3/12: December 3rd or March 12th? */
            }
            return 1;
        }
        /* d[st|.] [of] Month [year] */
        j += ordinal_suffix(s, n, j);
        skip_spaces(s, n, &j);
        if (j + 3 <= n && memcmp(s + j, "of", 2) == 0 && is_space((unsigned char)s[j + 2])) {
            j += 2;
            skip_spaces(s, n, &j);
        }
        size_t l = match_name(s, n, j, months, sizeof(months) / sizeof(months[0]), m);
        if (!l) return 0;
        *d = a;
        *y = trailing_year(s, n, j + l);
        return 1;
    }
    /* Month[.] d[st] [, year] */
    size_t l = match_name(s, n, i, months, sizeof(months) / sizeof(months[0]), m);
    if (!l) return 0;
    j = i + l;
    if (j < n && s[j] == '.') j++;
    skip_spaces(s, n, &j);
    if (!read_num(s, n, &j, 2, &a)) return 0;
    if (j < n && (is_alpha((unsigned char)s[j]) && !ordinal_suffix(s, n, j))) return 0;
    *d = a;
    *y = trailing_year(s, n, j + (j < n && is_alpha((unsigned char)s[j]) ? ordinal_suffix(s, n, j) : 0));
    return 1;
}

/* Resolve a stated date against the day of received (see classify.h); -1 when unusable. */
static long resolve(int y, int m, int d, time_t received)
{
    if (m < 1 || m > 12 || d < 1 || d > 31) return -1;
    long today = received > 0 ? (long)(received / 86400) : -1;
    if (y) {
        if (y < 1970 || y > 9999 || d > days_in_month(y, m)) return -1;
        long t = days_from_civil(y, m, d);
        if (today >= 0 && (t < today || t > today + 731)) return -1;
        return t;
    }
    if (today < 0) return -1;
    struct tm tm;
    time_t r = received;
    gmtime_r(&r, &tm);
    for (long yy = tm.tm_year + 1900L; yy <= tm.tm_year + 1900L + 4; yy++) {
        if (d > days_in_month(yy, m)) continue;
        long t = days_from_civil(yy, m, d);
        if (t >= today) return t;
    }
    return -1;
}

int classify_return_date(const char *text, time_t received, time_t *out)
{
    *out = 0;
    if (empty(text)) return 0;
    size_t n = bounded_len(text, CLASSIFY_RETURN_SCAN_MAX);
    char *s = fold(text, n);
    long found = -1;
    for (size_t i = 0; i < n && found < 0; i++) {
        if (i > 0 && (is_wordch((unsigned char)s[i - 1]) || is_digit((unsigned char)s[i - 1])))
            continue;
        size_t cl = 0;
        for (size_t k = 0; k < sizeof(cues) / sizeof(cues[0]); k++) {
            size_t l = strlen(cues[k]);
            if (l > cl && i + l <= n && memcmp(s + i, cues[k], l) == 0 &&
                (i + l == n || !is_wordch((unsigned char)s[i + l])))
                cl = l;
        }
        if (!cl) continue;
        size_t end = i + cl + CUE_WINDOW < n ? i + cl + CUE_WINDOW : n;
        int weekday = -1;
        for (size_t j = i + cl; j < end && found < 0; j++) {
            unsigned char p = (unsigned char)s[j - 1];
            if (is_wordch(p) || is_digit(p)) continue; /* dates start at a word */
            if (!is_digit((unsigned char)s[j]) && !is_wordch((unsigned char)s[j])) continue;
            int y = 0, m = 0, d = 0; /* initialised for gcc -O3 (maybe-uninitialized) */
            if (parse_date(s, n, j, &y, &m, &d)) {
                long t = resolve(y, m, d, received);
                if (t >= 0) found = t;
                else break; /* a stated but unusable date: try the next cue */
                continue;
            }
            int wd;
            if (weekday < 0 &&
                match_name(s, n, j, weekdays, sizeof(weekdays) / sizeof(weekdays[0]), &wd))
                weekday = wd;
        }
        if (found < 0 && weekday >= 0 && received > 0) {
            long today = (long)(received / 86400);
            int twd = (int)((today + 4) % 7); /* 1970-01-01 was a Thursday */
            int ahead = (weekday - twd + 7) % 7;
            found = today + (ahead == 0 ? 7 : ahead);
        }
        i += cl - 1;
    }
    free(s);
    if (found < 0) return 0;
    *out = (time_t)found * 86400;
    return 1;
}
