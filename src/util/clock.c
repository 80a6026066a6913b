/* clock.c — real or fixed clock, RFC 3339 helpers. */
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include "util/clock.h"

static time_t fixed_now;

time_t mf_now(void)
{
    return fixed_now ? fixed_now : time(NULL);
}

int64_t mf_now_ms(void)
{
    if (fixed_now) return (int64_t)fixed_now * 1000;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

void mf_clock_fix(time_t t)
{
    fixed_now = t;
}

void mf_time_format(time_t t, char out[MF_TIME_LEN])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    int year = tm.tm_year + 1900;
    if (year < 0 || year > 9999) { /* what strftime writes (cut to the buffer) */
        strftime(out, MF_TIME_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm);
        return;
    }
    /* "YYYY-MM-DDTHH:MM:SSZ" written out: strftime was most of the cost (two per stored
     * message, bench/sync) */
    const int parts[] = {tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec};
    static const char seps[] = "-T::Z";
    out[0] = (char)('0' + year / 1000);
    out[1] = (char)('0' + year / 100 % 10);
    out[2] = (char)('0' + year / 10 % 10);
    out[3] = (char)('0' + year % 10);
    out[4] = '-';
    for (int i = 0; i < 5; i++) {
        out[5 + 3 * i] = (char)('0' + parts[i] / 10 % 10);
        out[6 + 3 * i] = (char)('0' + parts[i] % 10);
        out[7 + 3 * i] = seps[i];
    }
    out[20] = '\0';
}

int mf_time_parse(const char *s, time_t *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (!s || strlen(s) != 20) return -1;
    const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (!end || *end) return -1;
    time_t t = timegm(&tm);
    char back[MF_TIME_LEN];
    mf_time_format(t, back);
    if (strcmp(back, s) != 0) return -1; /* 2026-02-30 would roll over to March */
    *out = t;
    return 0;
}

static int days_in_month(int year, int mon0)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mon0 == 1 && ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0)) return 29;
    return d[mon0];
}

time_t mf_add_month(time_t t)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    int mday = tm.tm_mday;
    tm.tm_mon += 1;
    if (tm.tm_mon == 12) {
        tm.tm_mon = 0;
        tm.tm_year += 1;
    }
    int dim = days_in_month(tm.tm_year + 1900, tm.tm_mon);
    tm.tm_mday = mday > dim ? dim : mday;
    return timegm(&tm);
}
