/* sendday.c — R15 local days, daily-limit arithmetic and send windows; time zones from TZif
 * bytes (RFC 8536) or POSIX TZ strings, immutable once built. See sendday.h for the contract
 * and for why this does not use localtime_r. Calendar arithmetic after Howard Hinnant's
 * days_from_civil / civil_from_days (proleptic Gregorian, exact for any year). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/sendday.h"

#define DAY 86400
#define SPAN (SENDDAY_OFFSET_MAX + 3600) /* how far local time can be from UTC, plus slack */

/* ---- calendar ---------------------------------------------------------------------------- */

static int64_t fdiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static int64_t fmod_pos(int64_t a, int64_t b)
{
    return a - fdiv(a, b) * b;
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned month_days(int64_t y, unsigned m)
{
    static const unsigned n[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return n[m - 1] + (m == 2 && leap(y));
}

static int weekday_of_days(int64_t days)
{
    return (int)fmod_pos(days + 4, 7); /* 1970-01-01 was a Thursday */
}

static time_t clamp(time_t t)
{
    return t < SENDDAY_TIME_MIN ? SENDDAY_TIME_MIN : t > SENDDAY_TIME_MAX ? SENDDAY_TIME_MAX : t;
}

/* ---- zones ------------------------------------------------------------------------------- */

/* A POSIX TZ rule date: Jn (1..365, Feb 29 never counted), n (0..365) or Mm.w.d, and the local
 * time of day of the change in seconds (may be negative or past 24 h). */
struct rule_date {
    char kind; /* 'J', 'N', 'M' */
    int n, m, w, d;
    int secs;
};

struct posix_tz {
    int std_off; /* seconds east of UTC */
    int dst_off;
    int has_dst;
    struct rule_date start, end;
};

struct sendday_zone {
    size_t n_trans;
    int64_t *trans;   /* ascending */
    uint8_t *idx;     /* type in effect from trans[i] */
    size_t n_types;
    int32_t *type_off;
    int has_footer;
    struct posix_tz footer;
};

static int bad_zone(mf_error *err, const char *why)
{
    return mf_fail(err, 400, "invalid_time_zone", NULL, "time zone: %s", why);
}

/* -- POSIX TZ strings -- */

static int parse_name(const char **p)
{
    const char *s = *p;
    size_t n = 0;
    if (*s == '<') {
        s++;
        while (s[n] && s[n] != '>') {
            char c = s[n];
            if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '+' || c == '-'))
                return -1;
            n++;
        }
        if (s[n] != '>' || n < 3) return -1;
        *p = s + n + 1;
        return 0;
    }
    while ((s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= 'a' && s[n] <= 'z')) n++;
    if (n < 3) return -1;
    *p = s + n;
    return 0;
}

static int parse_num(const char **p, int max, int *out)
{
    const char *s = *p;
    int v = 0, n = 0;
    while (*s >= '0' && *s <= '9') {
        v = v * 10 + (*s - '0');
        if (v > max || ++n > 3) return -1;
        s++;
    }
    if (n == 0) return -1;
    *p = s;
    *out = v;
    return 0;
}

/* [+-]hh[:mm[:ss]] with hh <= max_h, as seconds (sign applied). */
static int parse_hms(const char **p, int max_h, int *out)
{
    const char *s = *p;
    int sign = 1, h, m = 0, sec = 0;
    if (*s == '+' || *s == '-') sign = (*s++ == '-') ? -1 : 1;
    if (parse_num(&s, max_h, &h) < 0) return -1;
    if (*s == ':') {
        s++;
        if (parse_num(&s, 59, &m) < 0) return -1;
        if (*s == ':') {
            s++;
            if (parse_num(&s, 59, &sec) < 0) return -1;
        }
    }
    *p = s;
    *out = sign * (h * 3600 + m * 60 + sec);
    return 0;
}

static int parse_rule_date(const char **p, struct rule_date *r)
{
    const char *s = *p;
    memset(r, 0, sizeof(*r));
    if (*s == 'J') {
        s++;
        r->kind = 'J';
        if (parse_num(&s, 365, &r->n) < 0 || r->n < 1) return -1;
    } else if (*s == 'M') {
        s++;
        r->kind = 'M';
        if (parse_num(&s, 12, &r->m) < 0 || r->m < 1 || *s++ != '.') return -1;
        if (parse_num(&s, 5, &r->w) < 0 || r->w < 1 || *s++ != '.') return -1;
        if (parse_num(&s, 6, &r->d) < 0) return -1;
    } else {
        r->kind = 'N';
        if (parse_num(&s, 365, &r->n) < 0) return -1;
    }
    r->secs = 2 * 3600;
    if (*s == '/') {
        s++;
        if (parse_hms(&s, 167, &r->secs) < 0) return -1;
    }
    *p = s;
    return 0;
}

static int parse_posix(const char *s, struct posix_tz *tz)
{
    memset(tz, 0, sizeof(*tz));
    int off;
    if (parse_name(&s) < 0 || parse_hms(&s, 24, &off) < 0) return -1;
    tz->std_off = -off;
    if (*s == '\0') return 0;
    if (parse_name(&s) < 0) return -1;
    tz->has_dst = 1;
    tz->dst_off = tz->std_off + 3600;
    if (*s && *s != ',') {
        if (parse_hms(&s, 24, &off) < 0) return -1;
        tz->dst_off = -off;
    }
    if (*s == '\0') { /* no rule: tzcode's default, the US rule */
        const char *us = "M3.2.0,M11.1.0";
        if (parse_rule_date(&us, &tz->start) < 0 || *us++ != ',' ||
            parse_rule_date(&us, &tz->end) < 0)
            MF_BUG("sendday: default rule");
        return 0;
    }
    if (*s++ != ',' || parse_rule_date(&s, &tz->start) < 0 || *s++ != ',' ||
        parse_rule_date(&s, &tz->end) < 0 || *s != '\0')
        return -1;
    return 0;
}

/* The day (days since 1970-01-01) a rule date falls on in year y. */
static int64_t rule_day(const struct rule_date *r, int64_t y)
{
    int64_t jan1 = days_from_civil(y, 1, 1);
    if (r->kind == 'J') return jan1 + r->n - 1 + (leap(y) && r->n >= 60);
    if (r->kind == 'N') return jan1 + r->n;
    int64_t first = days_from_civil(y, (unsigned)r->m, 1);
    int64_t day = first + fmod_pos(r->d - weekday_of_days(first), 7) + 7 * (r->w - 1);
    while (day >= first + month_days(y, (unsigned)r->m)) day -= 7;
    return day;
}

struct rule_event {
    int64_t at;
    int dst; /* state from `at` on */
};

/* The DST changes of years y-1 .. y+2 in time order (ties: the later year's last). */
static void rule_events(const struct posix_tz *tz, int64_t y, struct rule_event ev[8])
{
    for (int k = 0; k < 4; k++) {
        int64_t yy = y - 1 + k;
        ev[2 * k].at = rule_day(&tz->start, yy) * DAY + tz->start.secs - tz->std_off;
        ev[2 * k].dst = 1;
        ev[2 * k + 1].at = rule_day(&tz->end, yy) * DAY + tz->end.secs - tz->dst_off;
        ev[2 * k + 1].dst = 0;
    }
    for (int i = 1; i < 8; i++) { /* stable insertion sort */
        struct rule_event e = ev[i];
        int j = i - 1;
        while (j >= 0 && ev[j].at > e.at) {
            ev[j + 1] = ev[j];
            j--;
        }
        ev[j + 1] = e;
    }
}

static int64_t utc_year(time_t t)
{
    int64_t y;
    unsigned m, d;
    civil_from_days(fdiv((int64_t)t, DAY), &y, &m, &d);
    return y;
}

static int posix_offset(const struct posix_tz *tz, time_t t)
{
    if (!tz->has_dst) return tz->std_off;
    struct rule_event ev[8];
    rule_events(tz, utc_year(t), ev);
    int dst = 0;
    for (int i = 0; i < 8 && ev[i].at <= (int64_t)t; i++) dst = ev[i].dst;
    return dst ? tz->dst_off : tz->std_off;
}

/* The first rule change after t; 0 when the rule has none. */
static int posix_next(const struct posix_tz *tz, time_t t, int64_t *next)
{
    if (!tz->has_dst) return 0;
    struct rule_event ev[8];
    rule_events(tz, utc_year(t), ev);
    for (int i = 0; i < 8; i++) {
        if (ev[i].at > (int64_t)t) {
            *next = ev[i].at;
            return 1;
        }
    }
    return 0;
}

int sendday_zone_from_posix(const char *tz, sendday_zone **out, mf_error *err)
{
    if (!out) MF_BUG("sendday_zone_from_posix: out is NULL");
    *out = NULL;
    if (!tz || strnlen(tz, SENDDAY_POSIX_TZ_MAX) == SENDDAY_POSIX_TZ_MAX)
        return bad_zone(err, "TZ string missing or too long");
    struct posix_tz p;
    if (parse_posix(tz, &p) < 0) return bad_zone(err, "not a POSIX TZ string");
    if (abs(p.std_off) > SENDDAY_OFFSET_MAX || abs(p.dst_off) > SENDDAY_OFFSET_MAX)
        return bad_zone(err, "offset out of range");
    sendday_zone *z = xcalloc(1, sizeof(*z));
    z->has_footer = 1;
    z->footer = p;
    *out = z;
    return 0;
}

/* -- TZif (RFC 8536) -- */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tzif_header {
    int version; /* 1, 2, 3, 4 ... */
    size_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

static int read_header(const unsigned char *p, size_t len, struct tzif_header *h)
{
    if (len < 44 || memcmp(p, "TZif", 4) != 0) return -1;
    h->version = p[4] == 0 ? 1 : (p[4] >= '2' && p[4] <= '9') ? p[4] - '0' : -1;
    if (h->version < 0) return -1;
    h->isutcnt = be32(p + 20);
    h->isstdcnt = be32(p + 24);
    h->leapcnt = be32(p + 28);
    h->timecnt = be32(p + 32);
    h->typecnt = be32(p + 36);
    h->charcnt = be32(p + 40);
    return 0;
}

/* Bytes of the data block after a header, with time size tsz; (size_t)-1 when the counts are
 * beyond any file we accept (so the sum cannot overflow). */
static size_t block_len(const struct tzif_header *h, size_t tsz)
{
    if (h->timecnt > SENDDAY_TZIF_MAX || h->typecnt > SENDDAY_TZIF_MAX ||
        h->charcnt > SENDDAY_TZIF_MAX || h->leapcnt > SENDDAY_TZIF_MAX ||
        h->isstdcnt > SENDDAY_TZIF_MAX || h->isutcnt > SENDDAY_TZIF_MAX)
        return (size_t)-1;
    return h->timecnt * tsz + h->timecnt + h->typecnt * 6 + h->charcnt +
           h->leapcnt * (tsz + 4) + h->isstdcnt + h->isutcnt;
}

static const char *load_block(sendday_zone *z, const struct tzif_header *h,
                              const unsigned char *p, size_t tsz)
{
    if (h->leapcnt) return "leap-second records (a \"right/\" zone) are not supported";
    if (h->typecnt == 0 || h->typecnt > 256) return "bad number of local time types";
    if (h->timecnt > SENDDAY_TZIF_TIMES_MAX) return "too many transitions";
    if ((h->isutcnt && h->isutcnt != h->typecnt) || (h->isstdcnt && h->isstdcnt != h->typecnt))
        return "inconsistent counts";
    z->n_trans = h->timecnt;
    z->n_types = h->typecnt;
    z->trans = xcalloc(h->timecnt ? h->timecnt : 1, sizeof(*z->trans));
    z->idx = xcalloc(h->timecnt ? h->timecnt : 1, 1);
    z->type_off = xcalloc(h->typecnt, sizeof(*z->type_off));
    for (size_t i = 0; i < h->timecnt; i++) {
        const unsigned char *q = p + i * tsz;
        z->trans[i] = tsz == 8 ? be64(q) : (int64_t)(int32_t)be32(q);
        if (i > 0 && z->trans[i] <= z->trans[i - 1]) return "transitions out of order";
    }
    p += h->timecnt * tsz;
    for (size_t i = 0; i < h->timecnt; i++) {
        z->idx[i] = p[i];
        if (p[i] >= h->typecnt) return "type index out of range";
    }
    p += h->timecnt;
    for (size_t i = 0; i < h->typecnt; i++) {
        int32_t off = (int32_t)be32(p + i * 6);
        if (off < -SENDDAY_OFFSET_MAX || off > SENDDAY_OFFSET_MAX) return "offset out of range";
        if (p[i * 6 + 4] > 1 || p[i * 6 + 5] >= h->charcnt) return "bad local time type";
        z->type_off[i] = off;
    }
    return NULL;
}

static void zone_release(sendday_zone *z)
{
    free(z->trans);
    free(z->idx);
    free(z->type_off);
    memset(z, 0, sizeof(*z));
}

int sendday_zone_from_tzif(const void *data, size_t len, sendday_zone **out, mf_error *err)
{
    if (!out) MF_BUG("sendday_zone_from_tzif: out is NULL");
    *out = NULL;
    if (!data || len > SENDDAY_TZIF_MAX) return bad_zone(err, "TZif data missing or too large");
    const unsigned char *p = data;
    struct tzif_header h;
    if (read_header(p, len, &h) < 0) return bad_zone(err, "not a TZif file");
    size_t v1 = block_len(&h, 4);
    if (v1 == (size_t)-1 || v1 > len - 44) return bad_zone(err, "truncated TZif file");
    size_t tsz = 4;
    const unsigned char *block = p + 44;
    const unsigned char *end = p + 44 + v1;
    if (h.version >= 2) {
        size_t rest = len - 44 - v1;
        if (read_header(end, rest, &h) < 0) return bad_zone(err, "bad second TZif header");
        size_t v2 = block_len(&h, 8);
        if (v2 == (size_t)-1 || v2 > rest - 44) return bad_zone(err, "truncated TZif file");
        tsz = 8;
        block = end + 44;
        end = block + v2;
    }
    sendday_zone *z = xcalloc(1, sizeof(*z));
    const char *why = load_block(z, &h, block, tsz);
    if (!why && h.version >= 2) { /* footer: "\n" TZ "\n" */
        size_t rest = len - (size_t)(end - p);
        const unsigned char *nl = rest > 1 && end[0] == '\n' ? memchr(end + 1, '\n', rest - 1) : NULL;
        size_t n = nl ? (size_t)(nl - end - 1) : 0;
        if (!nl) {
            why = "missing footer";
        } else if (n >= SENDDAY_POSIX_TZ_MAX || memchr(end + 1, '\0', n)) {
            why = "bad footer";
        } else if (n > 0) {
            char tz[SENDDAY_POSIX_TZ_MAX];
            memcpy(tz, end + 1, n);
            tz[n] = '\0';
            if (parse_posix(tz, &z->footer) < 0 || abs(z->footer.std_off) > SENDDAY_OFFSET_MAX ||
                abs(z->footer.dst_off) > SENDDAY_OFFSET_MAX)
                why = "bad footer";
            else
                z->has_footer = 1;
        }
    }
    if (why) {
        zone_release(z);
        free(z);
        return bad_zone(err, why);
    }
    *out = z;
    return 0;
}

void sendday_zone_free(sendday_zone **z)
{
    if (!z || !*z) return;
    zone_release(*z);
    free(*z);
    *z = NULL;
}

/* The index of the last transition <= t, or -1 when t is before the first. */
static long last_trans_at(const sendday_zone *z, int64_t t)
{
    size_t lo = 0, hi = z->n_trans; /* answer in [lo-1, hi) */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (z->trans[mid] <= t) lo = mid + 1;
        else hi = mid;
    }
    return (long)lo - 1;
}

int sendday_zone_offset(const sendday_zone *z, time_t t)
{
    if (!z) MF_BUG("sendday_zone_offset: zone is NULL");
    t = clamp(t);
    if (z->n_trans == 0 || (int64_t)t > z->trans[z->n_trans - 1]) {
        if (z->has_footer) return posix_offset(&z->footer, t);
        if (z->n_trans == 0) return z->type_off ? z->type_off[0] : 0;
        return z->type_off[z->idx[z->n_trans - 1]];
    }
    long i = last_trans_at(z, (int64_t)t);
    return z->type_off[i < 0 ? 0 : z->idx[i]];
}

/* The first instant after t at which the offset may change; 0 when it never does. */
static int zone_next(const sendday_zone *z, time_t t, int64_t *next)
{
    if (z->n_trans > 0 && (int64_t)t < z->trans[z->n_trans - 1]) {
        long i = last_trans_at(z, (int64_t)t);
        *next = z->trans[i + 1];
        return 1;
    }
    if (!z->has_footer) return 0;
    return posix_next(&z->footer, t, next);
}

int sendday_zone_name_valid(const char *name)
{
    if (!name) return 0;
    size_t n = strnlen(name, SENDDAY_ZONE_NAME_MAX);
    if (n == 0 || n == SENDDAY_ZONE_NAME_MAX) return 0;
    int at_start = 1;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (c == '/') {
            if (at_start) return 0; /* leading '/' or empty component */
            at_start = 1;
            continue;
        }
        if (at_start && (c == '.' || c == '-')) return 0;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '+' || c == '-'))
            return 0;
        at_start = 0;
    }
    return !at_start;
}

/* ---- wall clock <-> instants --------------------------------------------------------------- */

static int64_t wall_at(const sendday_zone *z, time_t t)
{
    return (int64_t)t + sendday_zone_offset(z, t);
}

/* The earliest instant u >= from at which the local wall clock reads >= wall. The caller keeps
 * from within a day or two before the answer, so a handful of offset segments are walked. */
static time_t first_wall_at_or_after(const sendday_zone *z, int64_t wall, time_t from)
{
    time_t s = clamp(from);
    for (int guard = 0; guard < 64; guard++) {
        int off = sendday_zone_offset(z, s);
        int64_t u = wall - off;
        if (u < (int64_t)s) u = (int64_t)s;
        int64_t next;
        if (!zone_next(z, s, &next) || u < next) return clamp((time_t)u);
        s = clamp((time_t)next);
        if (s == SENDDAY_TIME_MAX) return s;
    }
    return clamp((time_t)(wall - sendday_zone_offset(z, s)));
}

/* ---- the local day ------------------------------------------------------------------------- */

int sendday_day_key_at(time_t t, int offset_sec, char out[SENDDAY_KEY_LEN])
{
    int64_t y;
    unsigned m, d;
    civil_from_days(fdiv((int64_t)clamp(t) + offset_sec, DAY), &y, &m, &d);
    if (y < 1 || y > 9999) {
        out[0] = '\0';
        return -1;
    }
    /* snprintf cannot be told the ranges; build the ten bytes by hand */
    int yy = (int)y;
    out[0] = (char)('0' + yy / 1000);
    out[1] = (char)('0' + yy / 100 % 10);
    out[2] = (char)('0' + yy / 10 % 10);
    out[3] = (char)('0' + yy % 10);
    out[4] = '-';
    out[5] = (char)('0' + m / 10);
    out[6] = (char)('0' + m % 10);
    out[7] = '-';
    out[8] = (char)('0' + d / 10);
    out[9] = (char)('0' + d % 10);
    out[10] = '\0';
    return 0;
}

int sendday_day_key(const sendday_zone *z, time_t t, char out[SENDDAY_KEY_LEN])
{
    return sendday_day_key_at(t, sendday_zone_offset(z, t), out);
}

int64_t sendday_seconds_to_midnight_at(time_t t, int offset_sec)
{
    int64_t wall = (int64_t)clamp(t) + offset_sec;
    return DAY - fmod_pos(wall, DAY);
}

void sendday_day_bounds(const sendday_zone *z, time_t t, time_t *start, time_t *end)
{
    t = clamp(t);
    int64_t day = fdiv(wall_at(z, t), DAY);
    time_t s = first_wall_at_or_after(z, day * DAY, clamp((time_t)(day * DAY - SPAN)));
    if (s > t) s = t; /* a fall-back across midnight: t is in the repeated part */
    time_t e = first_wall_at_or_after(z, (day + 1) * DAY, t);
    if (e <= t) e = t + 1; /* only at the clamp limit */
    if (start) *start = s;
    if (end) *end = e;
}

int64_t sendday_seconds_to_midnight(const sendday_zone *z, time_t t)
{
    time_t end;
    sendday_day_bounds(z, t, NULL, &end);
    return (int64_t)end - (int64_t)clamp(t);
}

int sendday_weekday_at(time_t t, int offset_sec)
{
    return weekday_of_days(fdiv((int64_t)clamp(t) + offset_sec, DAY));
}

/* ---- R15 ----------------------------------------------------------------------------------- */

int sendday_sent_today(const sendday_counter *c, const char *today)
{
    if (!c || !today || !today[0] || strcmp(c->day, today) != 0 || c->sent < 0) return 0;
    return c->sent;
}

int sendday_remaining(const sendday_counter *c, const char *today, int daily_limit)
{
    if (daily_limit < 1) return 0;
    int sent = sendday_sent_today(c, today);
    return sent >= daily_limit ? 0 : daily_limit - sent;
}

int sendday_may_send(const sendday_counter *c, const char *today, int daily_limit)
{
    return sendday_remaining(c, today, daily_limit) > 0;
}

void sendday_count_send(sendday_counter *c, const char *today)
{
    if (!c || !today) MF_BUG("sendday_count_send: NULL argument");
    if (strcmp(c->day, today) != 0 || c->sent < 0) {
        snprintf(c->day, sizeof(c->day), "%s", today);
        c->sent = 0;
    }
    if (c->sent < 0x7fffffff) c->sent++;
}

int sendday_may_send_now(const sendday_counter *c, const sendday_zone *z, time_t now,
                         int daily_limit)
{
    char today[SENDDAY_KEY_LEN];
    if (sendday_day_key(z, now, today) < 0) return 0;
    return sendday_may_send(c, today, daily_limit);
}

/* ---- send windows -------------------------------------------------------------------------- */

int sendday_window_valid(const sendday_window *w, mf_error *err)
{
    if (!w) return mf_fail(err, 400, "invalid_request", NULL, "window: is required");
    if (w->days == 0 || (w->days & ~SENDDAY_ALL_DAYS))
        return mf_fail(err, 400, "invalid_request", NULL,
                       "window.days: at least one day of the week, and nothing else");
    if (w->start_minute < 0 || w->start_minute > 1439)
        return mf_fail(err, 400, "invalid_request", NULL,
                       "window.start_minute: must be from 0 to 1439");
    if (w->end_minute <= w->start_minute || w->end_minute > 1440)
        return mf_fail(err, 400, "invalid_request", NULL,
                       "window.end_minute: must be after start_minute and at most 1440");
    return 0;
}

int sendday_in_window_at(const sendday_window *w, time_t t, int offset_sec)
{
    if (sendday_window_valid(w, NULL) < 0) return 0;
    int64_t wall = (int64_t)clamp(t) + offset_sec;
    int64_t minute = fmod_pos(wall, DAY) / 60;
    int wd = weekday_of_days(fdiv(wall, DAY));
    return (w->days & (1u << wd)) && minute >= w->start_minute && minute < w->end_minute;
}

int sendday_in_window(const sendday_window *w, const sendday_zone *z, time_t t)
{
    return sendday_in_window_at(w, t, sendday_zone_offset(z, t));
}

int sendday_next_window_open(const sendday_window *w, const sendday_zone *z, time_t t,
                             time_t *out)
{
    if (sendday_window_valid(w, NULL) < 0) return -1;
    t = clamp(t);
    if (sendday_in_window(w, z, t)) {
        *out = t;
        return 0;
    }
    int64_t day0 = fdiv(wall_at(z, t), DAY);
    /* 8 days cover a whole week after today; a couple more for windows lost in DST gaps */
    for (int64_t day = day0; day <= day0 + 10; day++) {
        if (!(w->days & (1u << weekday_of_days(day)))) continue;
        int64_t open = day * DAY + (int64_t)w->start_minute * 60;
        int64_t from = open - SPAN;
        time_t u = first_wall_at_or_after(z, open, from > (int64_t)t ? (time_t)from : t);
        if (u >= t && sendday_in_window(w, z, u)) {
            *out = u;
            return 0;
        }
        if (u == SENDDAY_TIME_MAX) break;
    }
    *out = SENDDAY_TIME_MAX; /* only near the end of year 9999 */
    return 0;
}
