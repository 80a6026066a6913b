/* test_sendday.c — core/sendday.c: R15's local day (the daily sending limit counts sends of the
 * mailbox's local calendar day), "may this mailbox send now", and send windows, across
 * midnight in UTC, America/Los_Angeles, Asia/Kolkata (+5:30) and Pacific/Auckland, on DST
 * change days (23- and 25-hour days, skipped and repeated hours). Zones come from the system's
 * TZif files (/usr/share/zoneinfo, as the engine will load them) and from POSIX TZ strings;
 * the offsets are cross-checked against glibc's localtime_r (safe here: this program has one
 * thread). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include "core/sendday.h"
#include "util/error.h"
#include "util/strbuf.h"

#define ZONEINFO "/usr/share/zoneinfo"
#define H 3600

static time_t utc(int y, int mo, int d, int h, int mi, int s)
{
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
                    .tm_hour = h, .tm_min = mi, .tm_sec = s};
    return timegm(&tm);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    strbuf sb;
    strbuf_init(&sb, 4 * 1024 * 1024);
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        if (strbuf_add(&sb, buf, n) < 0) fail_msg("%s: too large", path);
    fclose(f);
    return strbuf_detach(&sb, len);
}

/* A zone from the system's zoneinfo; skips the test when the file is missing. */
static sendday_zone *zone(const char *name)
{
    assert_true(sendday_zone_name_valid(name));
    char *path = xasprintf("%s/%s", ZONEINFO, name);
    size_t len;
    char *data = read_file(path, &len);
    free(path);
    if (!data) {
        print_message("# no %s/%s here\n", ZONEINFO, name);
        skip();
    }
    sendday_zone *z = NULL;
    mf_error err;
    if (sendday_zone_from_tzif(data, len, &z, &err) < 0)
        fail_msg("%s: %s", name, err.message);
    free(data);
    return z;
}

static sendday_zone *posix(const char *tz)
{
    sendday_zone *z = NULL;
    mf_error err;
    if (sendday_zone_from_posix(tz, &z, &err) < 0) fail_msg("\"%s\": %s", tz, err.message);
    return z;
}

static void key_is(const sendday_zone *z, time_t t, const char *want)
{
    char k[SENDDAY_KEY_LEN];
    assert_int_equal(sendday_day_key(z, t, k), 0);
    assert_string_equal(k, want);
}

/* The local day containing t runs from `start` for `hours` hours. */
static void day_is(const sendday_zone *z, time_t t, time_t start, int hours)
{
    time_t s, e;
    sendday_day_bounds(z, t, &s, &e);
    assert_int_equal(s, start);
    assert_int_equal(e - s, (time_t)hours * H);
    assert_int_equal(sendday_seconds_to_midnight(z, t), e - t);
}

/* ---- the local day across midnight --------------------------------------------------------- */

static void test_R15_day_key_utc_across_midnight(void **state)
{
    (void)state;
    sendday_zone *z = zone("UTC");
    time_t t = utc(2025, 3, 9, 23, 59, 59);
    key_is(z, t, "2025-03-09");
    key_is(z, t + 1, "2025-03-10");
    assert_int_equal(sendday_seconds_to_midnight(z, t), 1);
    assert_int_equal(sendday_seconds_to_midnight(z, t + 1), 86400);
    day_is(z, t, utc(2025, 3, 9, 0, 0, 0), 24);
    /* fixed-offset arithmetic agrees */
    char k[SENDDAY_KEY_LEN];
    assert_int_equal(sendday_day_key_at(t, 0, k), 0);
    assert_string_equal(k, "2025-03-09");
    assert_int_equal(sendday_seconds_to_midnight_at(t, 0), 1);
    assert_int_equal(sendday_seconds_to_midnight_at(t + 1, 0), 86400);
    /* leap day and year end */
    key_is(z, utc(2024, 2, 29, 12, 0, 0), "2024-02-29");
    key_is(z, utc(2024, 12, 31, 23, 59, 59), "2024-12-31");
    key_is(z, utc(2025, 1, 1, 0, 0, 0), "2025-01-01");
    key_is(z, 0, "1970-01-01");
    key_is(z, -1, "1969-12-31");
    sendday_zone_free(&z);
    assert_null(z);
}

static void test_R15_day_key_los_angeles_across_midnight(void **state)
{
    (void)state;
    sendday_zone *z = zone("America/Los_Angeles");
    /* winter, PST = UTC-8: local midnight is 08:00Z */
    time_t t = utc(2025, 1, 15, 7, 59, 59);
    assert_int_equal(sendday_zone_offset(z, t), -8 * H);
    key_is(z, t, "2025-01-14");
    key_is(z, t + 1, "2025-01-15");
    assert_int_equal(sendday_seconds_to_midnight(z, t), 1);
    day_is(z, t + 1, t + 1, 24);
    /* summer, PDT = UTC-7: local midnight is 07:00Z */
    t = utc(2025, 7, 4, 6, 59, 59);
    assert_int_equal(sendday_zone_offset(z, t), -7 * H);
    key_is(z, t, "2025-07-03");
    key_is(z, t + 1, "2025-07-04");
    char k[SENDDAY_KEY_LEN];
    assert_int_equal(sendday_day_key_at(t, -7 * H, k), 0);
    assert_string_equal(k, "2025-07-03");
    assert_int_equal(sendday_seconds_to_midnight_at(t, -7 * H), 1);
    sendday_zone_free(&z);
}

static void test_R15_day_key_kolkata_half_hour_offset(void **state)
{
    (void)state;
    sendday_zone *z = zone("Asia/Kolkata");
    time_t t = utc(2025, 6, 1, 18, 29, 59); /* 23:59:59 IST */
    assert_int_equal(sendday_zone_offset(z, t), 5 * H + 1800);
    key_is(z, t, "2025-06-01");
    key_is(z, t + 1, "2025-06-02");
    assert_int_equal(sendday_seconds_to_midnight(z, t), 1);
    day_is(z, t + 1, t + 1, 24);
    /* and far in the future, from the file's footer "IST-5:30" */
    key_is(z, utc(2090, 6, 1, 18, 30, 0), "2090-06-02");
    sendday_zone_free(&z);
}

static void test_R15_day_key_auckland_across_midnight(void **state)
{
    (void)state;
    sendday_zone *z = zone("Pacific/Auckland");
    /* winter, NZST = UTC+12 */
    time_t t = utc(2025, 6, 30, 11, 59, 59);
    assert_int_equal(sendday_zone_offset(z, t), 12 * H);
    key_is(z, t, "2025-06-30");
    key_is(z, t + 1, "2025-07-01");
    /* summer, NZDT = UTC+13: the local day is already tomorrow for most of UTC's day */
    t = utc(2025, 1, 14, 10, 59, 59);
    assert_int_equal(sendday_zone_offset(z, t), 13 * H);
    key_is(z, t, "2025-01-14");
    key_is(z, t + 1, "2025-01-15");
    /* New Year arrives in Auckland at 11:00Z on 31 December */
    key_is(z, utc(2025, 12, 31, 10, 59, 59), "2025-12-31");
    key_is(z, utc(2025, 12, 31, 11, 0, 0), "2026-01-01");
    sendday_zone_free(&z);
}

/* ---- DST change days ------------------------------------------------------------------------ */

static void test_R15_los_angeles_spring_forward_day_has_23_hours(void **state)
{
    (void)state;
    sendday_zone *z = zone("America/Los_Angeles");
    /* 2025-03-09 02:00 PST -> 03:00 PDT at 10:00Z */
    assert_int_equal(sendday_zone_offset(z, utc(2025, 3, 9, 9, 59, 59)), -8 * H);
    assert_int_equal(sendday_zone_offset(z, utc(2025, 3, 9, 10, 0, 0)), -7 * H);
    time_t t = utc(2025, 3, 9, 12, 0, 0); /* 05:00 PDT */
    day_is(z, t, utc(2025, 3, 9, 8, 0, 0), 23);
    assert_int_equal(sendday_seconds_to_midnight(z, t), 19 * H);
    key_is(z, utc(2025, 3, 10, 6, 59, 59), "2025-03-09");
    key_is(z, utc(2025, 3, 10, 7, 0, 0), "2025-03-10");
    /* at 01:00 PST the fixed offset of that instant says 23 h; the zone knows the day is
     * an hour short */
    assert_int_equal(sendday_seconds_to_midnight_at(utc(2025, 3, 9, 9, 0, 0), -8 * H), 23 * H);
    assert_int_equal(sendday_seconds_to_midnight(z, utc(2025, 3, 9, 9, 0, 0)), 22 * H);
    sendday_zone_free(&z);
}

static void test_R15_los_angeles_fall_back_day_has_25_hours(void **state)
{
    (void)state;
    sendday_zone *z = zone("America/Los_Angeles");
    /* 2025-11-02 02:00 PDT -> 01:00 PST at 09:00Z */
    time_t t = utc(2025, 11, 2, 8, 30, 0); /* 01:30 PDT, the first 01:30 */
    day_is(z, t, utc(2025, 11, 2, 7, 0, 0), 25);
    day_is(z, t + H, utc(2025, 11, 2, 7, 0, 0), 25); /* 01:30 PST, the second */
    key_is(z, utc(2025, 11, 3, 7, 59, 59), "2025-11-02");
    key_is(z, utc(2025, 11, 3, 8, 0, 0), "2025-11-03");
    sendday_zone_free(&z);
}

static void test_R15_auckland_dst_change_days(void **state)
{
    (void)state;
    sendday_zone *z = zone("Pacific/Auckland");
    /* 2025-04-06 03:00 NZDT -> 02:00 NZST (14:00Z on the 5th): 25 hours */
    day_is(z, utc(2025, 4, 6, 0, 0, 0), utc(2025, 4, 5, 11, 0, 0), 25);
    key_is(z, utc(2025, 4, 6, 11, 59, 59), "2025-04-06");
    key_is(z, utc(2025, 4, 6, 12, 0, 0), "2025-04-07");
    /* 2025-09-28 02:00 NZST -> 03:00 NZDT (14:00Z on the 27th): 23 hours */
    day_is(z, utc(2025, 9, 28, 0, 0, 0), utc(2025, 9, 27, 12, 0, 0), 23);
    key_is(z, utc(2025, 9, 28, 10, 59, 59), "2025-09-28");
    key_is(z, utc(2025, 9, 28, 11, 0, 0), "2025-09-29");
    sendday_zone_free(&z);
}

/* ---- may this mailbox send now --------------------------------------------------------------- */

static void test_R15_counter_counts_only_the_current_local_day(void **state)
{
    (void)state;
    sendday_counter c = {"", 0};
    assert_int_equal(sendday_sent_today(&c, "2025-03-09"), 0);
    assert_int_equal(sendday_remaining(&c, "2025-03-09", 500), 500);
    for (int i = 0; i < 500; i++) {
        assert_true(sendday_may_send(&c, "2025-03-09", 500));
        sendday_count_send(&c, "2025-03-09");
    }
    assert_string_equal(c.day, "2025-03-09");
    assert_int_equal(sendday_sent_today(&c, "2025-03-09"), 500);
    assert_false(sendday_may_send(&c, "2025-03-09", 500));
    assert_int_equal(sendday_remaining(&c, "2025-03-09", 500), 0);
    /* a lower limit set later: still nothing left, never negative */
    assert_int_equal(sendday_remaining(&c, "2025-03-09", 100), 0);
    /* the next local day starts from zero */
    assert_int_equal(sendday_sent_today(&c, "2025-03-10"), 0);
    assert_true(sendday_may_send(&c, "2025-03-10", 500));
    sendday_count_send(&c, "2025-03-10");
    assert_string_equal(c.day, "2025-03-10");
    assert_int_equal(c.sent, 1);
    assert_int_equal(sendday_remaining(&c, "2025-03-10", 500), 499);
}

static void test_R15_limit_below_one_and_bad_counts(void **state)
{
    (void)state;
    sendday_counter c = {"2025-03-09", 0};
    assert_false(sendday_may_send(&c, "2025-03-09", 0));
    assert_false(sendday_may_send(&c, "2025-03-09", -5));
    c.sent = -3; /* a corrupt count is no credit */
    assert_int_equal(sendday_sent_today(&c, "2025-03-09"), 0);
    assert_int_equal(sendday_remaining(&c, "2025-03-09", 2), 2);
    sendday_count_send(&c, "2025-03-09");
    assert_int_equal(c.sent, 1);
    assert_int_equal(sendday_sent_today(NULL, "2025-03-09"), 0);
    assert_int_equal(sendday_sent_today(&c, ""), 0);
}

static void test_R15_send_on_previous_local_day_does_not_count(void **state)
{
    (void)state;
    sendday_zone *la = zone("America/Los_Angeles");
    sendday_zone *u = zone("UTC");
    char day[SENDDAY_KEY_LEN];
    /* sent at 07:30Z on 15 January = 23:30 on the 14th in Los Angeles; limit 1 */
    time_t sent_at = utc(2025, 1, 15, 7, 30, 0);
    sendday_counter c = {"", 0};
    assert_int_equal(sendday_day_key(la, sent_at, day), 0);
    sendday_count_send(&c, day);
    assert_false(sendday_may_send_now(&c, la, sent_at + 60, 1));
    /* 40 minutes later it is the 15th in Los Angeles: the mailbox may send again */
    time_t now = utc(2025, 1, 15, 8, 10, 0);
    assert_true(sendday_may_send_now(&c, la, now, 1));
    /* counted in UTC instead, both sends fall on the 15th: the zone matters */
    sendday_counter cu = {"", 0};
    assert_int_equal(sendday_day_key(u, sent_at, day), 0);
    sendday_count_send(&cu, day);
    assert_false(sendday_may_send_now(&cu, u, now, 1));
    /* Kolkata: the day turns at 18:30Z */
    sendday_zone *in = zone("Asia/Kolkata");
    sendday_counter ck = {"", 0};
    assert_int_equal(sendday_day_key(in, utc(2025, 6, 1, 18, 29, 0), day), 0);
    sendday_count_send(&ck, day);
    assert_false(sendday_may_send_now(&ck, in, utc(2025, 6, 1, 18, 29, 59), 1));
    assert_true(sendday_may_send_now(&ck, in, utc(2025, 6, 1, 18, 30, 0), 1));
    /* Auckland: a send at 10:00Z on 1 March (23:00 NZDT) and one at 11:00Z (00:00 on the 2nd) */
    sendday_zone *nz = zone("Pacific/Auckland");
    sendday_counter cn = {"", 0};
    assert_int_equal(sendday_day_key(nz, utc(2025, 3, 1, 10, 0, 0), day), 0);
    assert_string_equal(day, "2025-03-01");
    sendday_count_send(&cn, day);
    assert_true(sendday_may_send_now(&cn, nz, utc(2025, 3, 1, 11, 0, 0), 1));
    /* the send log counted between the day's bounds gives the same answer */
    time_t s, e;
    sendday_day_bounds(nz, utc(2025, 3, 1, 11, 0, 0), &s, &e);
    assert_true(utc(2025, 3, 1, 10, 0, 0) < s);
    sendday_zone_free(&la);
    sendday_zone_free(&u);
    sendday_zone_free(&in);
    sendday_zone_free(&nz);
}

/* ---- send windows ------------------------------------------------------------------------------ */

static const sendday_window office = {SENDDAY_WEEKDAYS, 9 * 60, 17 * 60};

static void test_R15_window_inside_and_outside(void **state)
{
    (void)state;
    sendday_zone *z = zone("America/Los_Angeles");
    /* Monday 2025-03-10, PDT */
    assert_false(sendday_in_window(&office, z, utc(2025, 3, 10, 15, 59, 59))); /* 08:59:59 */
    assert_true(sendday_in_window(&office, z, utc(2025, 3, 10, 16, 0, 0)));    /* 09:00 */
    assert_true(sendday_in_window(&office, z, utc(2025, 3, 10, 23, 59, 59)));  /* 16:59:59 */
    assert_false(sendday_in_window(&office, z, utc(2025, 3, 11, 0, 0, 0)));    /* 17:00 */
    /* Saturday 2025-03-15 noon */
    assert_false(sendday_in_window(&office, z, utc(2025, 3, 15, 19, 0, 0)));
    /* the fixed-offset form */
    assert_true(sendday_in_window_at(&office, utc(2025, 3, 10, 16, 0, 0), -7 * H));
    assert_false(sendday_in_window_at(&office, utc(2025, 3, 10, 16, 0, 0), -8 * H));
    assert_int_equal(sendday_weekday_at(utc(2025, 3, 10, 16, 0, 0), -7 * H), 1);
    assert_int_equal(sendday_weekday_at(utc(2025, 3, 10, 3, 0, 0), -7 * H), 0); /* Sun 20:00 */
    /* a whole day, and the last minute */
    sendday_window all = {SENDDAY_ALL_DAYS, 0, 1440};
    assert_true(sendday_in_window(&all, z, utc(2025, 3, 10, 6, 59, 59)));
    sendday_zone_free(&z);
}

static void next_open_is(const sendday_window *w, const sendday_zone *z, time_t t, time_t want)
{
    time_t u = 0;
    assert_int_equal(sendday_next_window_open(w, z, t, &u), 0);
    assert_int_equal(u, want);
}

static void test_R15_next_window_open(void **state)
{
    (void)state;
    sendday_zone *la = zone("America/Los_Angeles");
    /* Friday 17:30 PDT -> Monday 09:00 PDT */
    next_open_is(&office, la, utc(2025, 3, 15, 0, 30, 0), utc(2025, 3, 17, 16, 0, 0));
    /* inside now -> now */
    next_open_is(&office, la, utc(2025, 3, 17, 17, 0, 0), utc(2025, 3, 17, 17, 0, 0));
    /* 06:00 the same Monday -> 09:00 */
    next_open_is(&office, la, utc(2025, 3, 17, 13, 0, 0), utc(2025, 3, 17, 16, 0, 0));
    /* over the DST weekend: Friday 2025-03-07 18:00 PST -> Monday 09:00 PDT */
    next_open_is(&office, la, utc(2025, 3, 8, 2, 0, 0), utc(2025, 3, 10, 16, 0, 0));
    sendday_zone *in = zone("Asia/Kolkata");
    /* Saturday 2025-06-07 10:00 IST -> Monday 09:00 IST = 03:30Z */
    next_open_is(&office, in, utc(2025, 6, 7, 4, 30, 0), utc(2025, 6, 9, 3, 30, 0));
    sendday_zone *nz = zone("Pacific/Auckland");
    /* Friday 2025-09-26 18:00 NZST -> Monday 09:00 NZDT (DST began on Sunday) */
    next_open_is(&office, nz, utc(2025, 9, 26, 6, 0, 0), utc(2025, 9, 28, 20, 0, 0));
    /* Sunday only, from a Monday: six days on */
    sendday_window sun = {SENDDAY_SUN, 600, 660};
    next_open_is(&sun, nz, utc(2025, 6, 29, 23, 0, 0), utc(2025, 7, 5, 22, 0, 0));
    sendday_zone_free(&la);
    sendday_zone_free(&in);
    sendday_zone_free(&nz);
}

static void test_R15_next_window_open_in_skipped_and_repeated_hours(void **state)
{
    (void)state;
    sendday_zone *la = zone("America/Los_Angeles");
    /* 2025-03-09: 02:00-03:00 does not exist. A 02:30-04:00 window opens when the clock jumps
     * to 03:00 PDT (10:00Z) */
    sendday_window w1 = {SENDDAY_ALL_DAYS, 150, 240};
    next_open_is(&w1, la, utc(2025, 3, 9, 9, 0, 0), utc(2025, 3, 9, 10, 0, 0));
    /* a 02:00-02:30 window lies wholly in the gap: the next day's 02:00 PDT */
    sendday_window w2 = {SENDDAY_ALL_DAYS, 120, 150};
    next_open_is(&w2, la, utc(2025, 3, 9, 9, 0, 0), utc(2025, 3, 10, 9, 0, 0));
    /* 2025-11-02: 01:00-02:00 happens twice; the window opens at the first 01:00 (PDT) */
    sendday_window w3 = {SENDDAY_ALL_DAYS, 60, 90};
    next_open_is(&w3, la, utc(2025, 11, 2, 7, 0, 0), utc(2025, 11, 2, 8, 0, 0));
    assert_true(sendday_in_window(&w3, la, utc(2025, 11, 2, 9, 15, 0))); /* 01:15 PST too */
    sendday_zone_free(&la);
}

static void test_R15_window_validation(void **state)
{
    (void)state;
    mf_error err;
    assert_int_equal(sendday_window_valid(&office, &err), 0);
    const sendday_window bad[] = {{0, 540, 1020},   {0x80, 540, 1020}, {SENDDAY_MON, -1, 60},
                                  {SENDDAY_MON, 1440, 1441}, {SENDDAY_MON, 600, 600},
                                  {SENDDAY_MON, 600, 500}, {SENDDAY_MON, 0, 1441}};
    const char *field[] = {"window.days", "window.days", "window.start_minute",
                           "window.start_minute", "window.end_minute", "window.end_minute",
                           "window.end_minute"};
    sendday_zone *z = posix("UTC0");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(sendday_window_valid(&bad[i], &err), -1);
        assert_int_equal(err.status, 400);
        assert_string_equal(err.code, "invalid_request");
        assert_non_null(strstr(err.message, field[i]));
        assert_false(sendday_in_window(&bad[i], z, 1000000));
        time_t u;
        assert_int_equal(sendday_next_window_open(&bad[i], z, 1000000, &u), -1);
    }
    assert_int_equal(sendday_window_valid(NULL, NULL), -1);
    sendday_zone_free(&z);
}

/* ---- zones -------------------------------------------------------------------------------------- */

static void test_R15_posix_tz_strings(void **state)
{
    (void)state;
    sendday_zone *z = posix("UTC0");
    assert_int_equal(sendday_zone_offset(z, utc(2025, 7, 1, 0, 0, 0)), 0);
    sendday_zone_free(&z);
    z = posix("IST-5:30");
    assert_int_equal(sendday_zone_offset(z, utc(2025, 7, 1, 0, 0, 0)), 19800);
    sendday_zone_free(&z);
    z = posix("<+0545>-5:45");
    assert_int_equal(sendday_zone_offset(z, 0), 20700);
    sendday_zone_free(&z);
    z = posix("PST8PDT,M3.2.0,M11.1.0");
    assert_int_equal(sendday_zone_offset(z, utc(2025, 3, 9, 9, 59, 59)), -8 * H);
    assert_int_equal(sendday_zone_offset(z, utc(2025, 3, 9, 10, 0, 0)), -7 * H);
    assert_int_equal(sendday_zone_offset(z, utc(2025, 11, 2, 8, 59, 59)), -7 * H);
    assert_int_equal(sendday_zone_offset(z, utc(2025, 11, 2, 9, 0, 0)), -8 * H);
    sendday_zone_free(&z);
    z = posix("EST5EDT"); /* no rule: the US rule */
    assert_int_equal(sendday_zone_offset(z, utc(2025, 7, 1, 0, 0, 0)), -4 * H);
    assert_int_equal(sendday_zone_offset(z, utc(2025, 1, 1, 0, 0, 0)), -5 * H);
    sendday_zone_free(&z);
    z = posix("NZST-12NZDT,M9.5.0,M4.1.0/3"); /* southern hemisphere */
    assert_int_equal(sendday_zone_offset(z, utc(2025, 1, 1, 0, 0, 0)), 13 * H);
    assert_int_equal(sendday_zone_offset(z, utc(2025, 7, 1, 0, 0, 0)), 12 * H);
    assert_int_equal(sendday_zone_offset(z, utc(2025, 4, 5, 13, 59, 59)), 13 * H);
    assert_int_equal(sendday_zone_offset(z, utc(2025, 4, 5, 14, 0, 0)), 12 * H);
    sendday_zone_free(&z);
    z = posix("EST5EDT,0/0,J365/25"); /* RFC 8536's all-year DST */
    assert_int_equal(sendday_zone_offset(z, utc(2025, 1, 1, 2, 0, 0)), -4 * H);
    assert_int_equal(sendday_zone_offset(z, utc(2025, 7, 1, 0, 0, 0)), -4 * H);
    assert_int_equal(sendday_zone_offset(z, utc(2025, 12, 31, 23, 0, 0)), -4 * H);
    sendday_zone_free(&z);
    z = posix("<-03>3<-02>,M3.5.0/-2,M10.5.0/-1"); /* negative rule times (America/Nuuk) */
    assert_int_equal(sendday_zone_offset(z, utc(2030, 7, 1, 0, 0, 0)), -2 * H);
    assert_int_equal(sendday_zone_offset(z, utc(2030, 1, 1, 0, 0, 0)), -3 * H);
    sendday_zone_free(&z);

    const char *bad[] = {"", "X", "PST", "AB1", "PST8PDT,M13.1.0,M11.1.0", "PST8,",
                         ":America/New_York", "PST8PDT,M3.2.0", "PST25", "<AB>1",
                         "PST8PDT,J0,J365", "PST8PDT,M3.0.0,M11.1.0", "PST8PDT,M3.2.7,M11.1.0",
                         "PST8PDT,M3.2.0/168,M11.1.0", "PST8 ", "PST8PDT,M3.2.0,M11.1.0x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        mf_error err;
        z = (sendday_zone *)0x1;
        if (sendday_zone_from_posix(bad[i], &z, &err) != -1) fail_msg("accepted \"%s\"", bad[i]);
        assert_null(z);
        assert_string_equal(err.code, "invalid_time_zone");
    }
    assert_int_equal(sendday_zone_from_posix(NULL, &z, NULL), -1);
}

/* glibc's localtime_r on the same files; TZ is switched with setenv, which is fine in this
 * one-threaded test and is exactly what the engine must not do (sendday.h). */
static int libc_offset(const char *name, time_t t)
{
    setenv("TZ", name, 1);
    tzset();
    struct tm tm;
    if (!localtime_r(&t, &tm)) fail_msg("localtime_r failed");
    return (int)tm.tm_gmtoff;
}

static void test_R15_zone_offsets_match_libc(void **state)
{
    (void)state;
    static const char *const names[] = {
        "UTC",           "America/Los_Angeles", "Asia/Kolkata",       "Pacific/Auckland",
        "Europe/London", "Europe/Dublin",       "Australia/Lord_Howe", "Asia/Kathmandu",
        "America/Sao_Paulo", "America/St_Johns", "Africa/Casablanca", "Pacific/Chatham",
        "America/Nuuk",  "Antarctica/Troll",    "Pacific/Kiritimati", "Pacific/Pago_Pago"};
    char *old_tz = getenv("TZ") ? xstrdup(getenv("TZ")) : NULL;
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    size_t checked = 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char *path = xasprintf("%s/%s", ZONEINFO, names[i]);
        size_t len;
        char *data = read_file(path, &len);
        free(path);
        if (!data) continue;
        sendday_zone *z = NULL;
        mf_error err;
        if (sendday_zone_from_tzif(data, len, &z, &err) < 0)
            fail_msg("%s: %s", names[i], err.message);
        free(data);
        /* every 5 h 7 min from 1902 to 2037 (the table), then random instants to 2200 (the
         * footer rule) */
        for (time_t t = utc(1902, 1, 1, 0, 0, 0); t < utc(2037, 12, 31, 0, 0, 0); t += 18420) {
            int want = libc_offset(names[i], t), got = sendday_zone_offset(z, t);
            if (want != got) fail_msg("%s at %lld: libc %d, sendday %d", names[i], (long long)t, want, got);
            checked++;
        }
        for (int k = 0; k < 20000; k++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            time_t t = utc(2037, 1, 1, 0, 0, 0) + (time_t)((seed >> 33) % (163ull * 365 * 86400));
            int want = libc_offset(names[i], t), got = sendday_zone_offset(z, t);
            if (want != got) fail_msg("%s at %lld: libc %d, sendday %d", names[i], (long long)t, want, got);
            checked++;
        }
        sendday_zone_free(&z);
    }
    if (old_tz) {
        setenv("TZ", old_tz, 1);
        free(old_tz);
    } else {
        unsetenv("TZ");
    }
    tzset();
    if (checked == 0) skip(); /* no zoneinfo on this machine */
    print_message("# %zu offsets agree with glibc\n", checked);
    assert_true(checked > 100000);
}

/* Day bounds and window openings hold their promises at random instants in every zone. */
static void test_R15_day_bounds_and_windows_properties(void **state)
{
    (void)state;
    static const char *const names[] = {"UTC", "America/Los_Angeles", "Asia/Kolkata",
                                        "Pacific/Auckland", "Australia/Lord_Howe",
                                        "America/Sao_Paulo", "Pacific/Chatham"};
    uint64_t seed = 42;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        sendday_zone *z = zone(names[i]);
        for (int k = 0; k < 3000; k++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            time_t t = utc(1990, 1, 1, 0, 0, 0) + (time_t)((seed >> 33) % (120ull * 365 * 86400));
            time_t s, e;
            char kt[SENDDAY_KEY_LEN], ks[SENDDAY_KEY_LEN], kb[SENDDAY_KEY_LEN],
                ke[SENDDAY_KEY_LEN], kl[SENDDAY_KEY_LEN];
            sendday_day_bounds(z, t, &s, &e);
            assert_true(s <= t && t < e);
            sendday_day_key(z, t, kt);
            sendday_day_key(z, s, ks);
            sendday_day_key(z, s - 1, kb);
            sendday_day_key(z, e, ke);
            sendday_day_key(z, e - 1, kl);
            if (strcmp(kt, ks) || !strcmp(kt, kb) || !strcmp(kt, ke) || strcmp(kt, kl))
                fail_msg("%s t=%lld: %s [%s %s) before %s after %s", names[i], (long long)t, kt,
                         ks, kl, kb, ke);
            int64_t len = (int64_t)(e - s);
            assert_true(len >= 86400 - 3600 && len <= 86400 + 3600);
            /* windows: the answer is open, and nothing between t and it is */
            if (k % 10 == 0) {
                sendday_window w = {(unsigned)(seed >> 20) % 127 + 1, (int)((seed >> 8) % 1380), 0};
                w.end_minute = w.start_minute + 1 + (int)((seed >> 40) % (unsigned)(1440 - w.start_minute));
                time_t u;
                assert_int_equal(sendday_next_window_open(&w, z, t, &u), 0);
                assert_true(u >= t && u - t <= 8 * 86400);
                assert_true(sendday_in_window(&w, z, u));
                if (u > t) assert_false(sendday_in_window(&w, z, u - 1));
                for (time_t x = t; x < u; x += 60) assert_false(sendday_in_window(&w, z, x));
            }
        }
        sendday_zone_free(&z);
    }
}

static void test_R15_posix_rule_matches_tzif_in_the_future(void **state)
{
    (void)state;
    sendday_zone *f = zone("America/Los_Angeles");
    sendday_zone *p = posix("PST8PDT,M3.2.0,M11.1.0");
    for (time_t t = utc(2040, 1, 1, 0, 0, 0); t < utc(2100, 1, 1, 0, 0, 0); t += 3607)
        assert_int_equal(sendday_zone_offset(f, t), sendday_zone_offset(p, t));
    sendday_zone_free(&f);
    sendday_zone_free(&p);
}

static void test_R15_tzif_hostile_input_refused(void **state)
{
    (void)state;
    size_t len;
    char *data = read_file(ZONEINFO "/America/Los_Angeles", &len);
    if (!data) skip();
    mf_error err;
    sendday_zone *z = NULL;
    /* every truncation is refused or a valid zone; never a crash */
    for (size_t cut = 0; cut < len; cut++) {
        if (sendday_zone_from_tzif(data, cut, &z, &err) < 0) {
            assert_null(z);
            assert_string_equal(err.code, "invalid_time_zone");
        } else {
            /* a cut after the v1 block leaves a valid v1 file only if its end is intact */
            (void)sendday_zone_offset(z, 0);
            sendday_zone_free(&z);
        }
    }
    /* random byte changes: refused, or usable with offsets in range */
    uint64_t seed = 7;
    char *copy = malloc(len);
    for (int k = 0; k < 3000; k++) {
        memcpy(copy, data, len);
        for (int j = 0; j < 1 + k % 4; j++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            copy[(seed >> 33) % len] = (char)(seed >> 17);
        }
        if (sendday_zone_from_tzif(copy, len, &z, &err) == 0) {
            for (time_t t = -4000000000LL; t < 8000000000LL; t += 99999999) {
                int off = sendday_zone_offset(z, t);
                assert_true(off >= -SENDDAY_OFFSET_MAX && off <= SENDDAY_OFFSET_MAX);
                time_t s, e;
                sendday_day_bounds(z, t, &s, &e);
                assert_true(s <= t && t < e);
            }
            sendday_zone_free(&z);
        }
    }
    free(copy);
    free(data);
    /* leap-second files, junk, oversize */
    data = read_file(ZONEINFO "/right/UTC", &len);
    if (data) {
        assert_int_equal(sendday_zone_from_tzif(data, len, &z, &err), -1);
        assert_non_null(strstr(err.message, "leap"));
        free(data);
    }
    assert_int_equal(sendday_zone_from_tzif("TZif", 4, &z, &err), -1);
    assert_int_equal(sendday_zone_from_tzif("not a zone file at all, not at all, no no no", 44,
                                            &z, &err),
                     -1);
    assert_int_equal(sendday_zone_from_tzif(NULL, 0, &z, &err), -1);
    char *huge = calloc(1, SENDDAY_TZIF_MAX + 1);
    memcpy(huge, "TZif2", 5);
    assert_int_equal(sendday_zone_from_tzif(huge, SENDDAY_TZIF_MAX + 1, &z, &err), -1);
    free(huge);
    sendday_zone_free(&z);
    sendday_zone_free(NULL);
}

static void test_R15_zone_names_and_extremes(void **state)
{
    (void)state;
    assert_true(sendday_zone_name_valid("America/Los_Angeles"));
    assert_true(sendday_zone_name_valid("Etc/GMT+5"));
    assert_true(sendday_zone_name_valid("America/Argentina/Buenos_Aires"));
    assert_true(sendday_zone_name_valid("UTC"));
    const char *bad[] = {"", "/etc/passwd", "../../etc/passwd", "America/../../x", "a//b",
                         "a/", ".hidden", "-x", "a b", "a\\b", "Ame\nrica", NULL};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(sendday_zone_name_valid(bad[i]));
    char longname[SENDDAY_ZONE_NAME_MAX + 1];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_false(sendday_zone_name_valid(longname));
    /* the ends of time: keys of years 1 and 9999, clamped beyond */
    char k[SENDDAY_KEY_LEN];
    assert_int_equal(sendday_day_key_at(SENDDAY_TIME_MIN, 0, k), 0);
    assert_string_equal(k, "0001-01-01");
    assert_int_equal(sendday_day_key_at(SENDDAY_TIME_MAX, 0, k), 0);
    assert_string_equal(k, "9999-12-31");
    assert_int_equal(sendday_day_key_at(SENDDAY_TIME_MIN, -H, k), -1);
    assert_string_equal(k, "");
    assert_int_equal(sendday_day_key_at(SENDDAY_TIME_MAX, H, k), -1);
    assert_int_equal(sendday_day_key_at((time_t)INT64_MAX, 0, k), 0);
    assert_string_equal(k, "9999-12-31");
    sendday_zone *z = zone("Pacific/Auckland");
    time_t s, e, u;
    sendday_day_bounds(z, (time_t)INT64_MIN, &s, &e);
    assert_true(s <= SENDDAY_TIME_MIN && e > SENDDAY_TIME_MIN);
    sendday_day_bounds(z, (time_t)INT64_MAX, &s, &e);
    assert_true(e > s);
    assert_int_equal(sendday_next_window_open(&office, z, (time_t)INT64_MAX, &u), 0);
    assert_int_equal(sendday_next_window_open(&office, z, (time_t)INT64_MIN, &u), 0);
    sendday_zone_free(&z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_R15_day_key_utc_across_midnight),
        cmocka_unit_test(test_R15_day_key_los_angeles_across_midnight),
        cmocka_unit_test(test_R15_day_key_kolkata_half_hour_offset),
        cmocka_unit_test(test_R15_day_key_auckland_across_midnight),
        cmocka_unit_test(test_R15_los_angeles_spring_forward_day_has_23_hours),
        cmocka_unit_test(test_R15_los_angeles_fall_back_day_has_25_hours),
        cmocka_unit_test(test_R15_auckland_dst_change_days),
        cmocka_unit_test(test_R15_counter_counts_only_the_current_local_day),
        cmocka_unit_test(test_R15_limit_below_one_and_bad_counts),
        cmocka_unit_test(test_R15_send_on_previous_local_day_does_not_count),
        cmocka_unit_test(test_R15_window_inside_and_outside),
        cmocka_unit_test(test_R15_next_window_open),
        cmocka_unit_test(test_R15_next_window_open_in_skipped_and_repeated_hours),
        cmocka_unit_test(test_R15_window_validation),
        cmocka_unit_test(test_R15_posix_tz_strings),
        cmocka_unit_test(test_R15_zone_offsets_match_libc),
        cmocka_unit_test(test_R15_day_bounds_and_windows_properties),
        cmocka_unit_test(test_R15_posix_rule_matches_tzif_in_the_future),
        cmocka_unit_test(test_R15_tzif_hostile_input_refused),
        cmocka_unit_test(test_R15_zone_names_and_extremes),
    };
    return cmocka_run_group_tests_name("sendday", tests, NULL, NULL);
}
