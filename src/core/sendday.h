/* sendday.h — R15: the local calendar day a mailbox's daily sending limit counts in, "may this
 * mailbox send now", and send windows (days of the week and hours, in the window's zone).
 * Pure: no I/O, no global state, no environment; every function may run on any thread.
 *
 * Time zones without localtime_r. glibc's localtime_r takes its zone from the process-wide TZ
 * environment variable; converting for many zones needs setenv("TZ")+tzset per call, and a
 * mutex around our own calls does not help: setenv may move `environ` while another thread's
 * getenv (libcurl, libpq, GMime and glibc itself read the environment) walks it. So a zone is
 * data here: the caller reads the zone's TZif file (RFC 8536), normally
 * /usr/share/zoneinfo/<name> after checking the name with sendday_zone_name_valid, once per
 * zone, and sendday_zone_from_tzif turns the bytes into an immutable sendday_zone that any
 * number of threads may share. The lookup follows the file's transitions, then its POSIX TZ
 * footer (RFC 8536 section 3.3) after the last one, so it is right for any future year.
 * A POSIX TZ string alone ("UTC0", "IST-5:30", "PST8PDT,M3.2.0,M11.1.0") also makes a zone
 * (sendday_zone_from_posix), e.g. for tests or as a fallback.
 *
 * Two levels of the same questions:
 *   *_at(..., offset_sec)  plain arithmetic with the UTC offset in effect at that instant
 *                          (seconds east of UTC, e.g. sendday_zone_offset(z, t); +19800 for
 *                          Asia/Kolkata, -28800 for America/Los_Angeles in winter);
 *   the zone versions      right across DST changes too: a local day may be 23 or 25 hours
 *                          long, a local time may not exist (spring forward) or exist twice
 *                          (fall back; the earlier instant is used).
 *
 * Instants are clamped to [SENDDAY_TIME_MIN, SENDDAY_TIME_MAX] (years 1..9999). Days of the
 * week: 0 = Sunday .. 6 = Saturday. A zone argument is never NULL (MF_BUG).
 *
 * Loading a zone (the caller's side, e.g. the engine, once per zone name, then cached):
 *     if (!sendday_zone_name_valid(name)) -> 400 invalid_time_zone
 *     read <TZDIR or /usr/share/zoneinfo>/<name> (at most SENDDAY_TZIF_MAX bytes)
 *     sendday_zone_from_tzif(bytes, len, &zone, &err)
 *
 * R15 counting: a mailbox's sends count for the local day (in the mailbox's zone) they were
 * made on. The store either keeps a per-day counter (sendday_counter, keyed by
 * sendday_day_key) or counts its send log between sendday_day_bounds; either way a send made on
 * the previous local day does not count against today. The limit itself is limits_daily (R15:
 * 500 by default, never above the organisation's maximum). */
#ifndef MF_SENDDAY_H
#define MF_SENDDAY_H
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "util/error.h"

#define SENDDAY_KEY_LEN 11                         /* "YYYY-MM-DD" + NUL */
#define SENDDAY_TIME_MIN ((time_t)-62135596800LL)  /* 0001-01-01T00:00:00Z */
#define SENDDAY_TIME_MAX ((time_t)253402300799LL)  /* 9999-12-31T23:59:59Z */
#define SENDDAY_OFFSET_MAX (26 * 3600)             /* |UTC offset| a zone may have */
#define SENDDAY_TZIF_MAX (512 * 1024)              /* bytes of a TZif file we accept */
#define SENDDAY_TZIF_TIMES_MAX 10000               /* transitions of a TZif file we accept */
#define SENDDAY_POSIX_TZ_MAX 128                   /* bytes of a POSIX TZ string */
#define SENDDAY_ZONE_NAME_MAX 128                  /* bytes of an IANA zone name */

/* ---- zones ------------------------------------------------------------------------------- */

typedef struct sendday_zone sendday_zone; /* immutable once made */

/* From the len bytes of a TZif file (versions 1 to 4). Refused (400 invalid_time_zone, with
 * the reason): not TZif, truncated, inconsistent counts or type indices, transitions out of
 * order, offsets beyond SENDDAY_OFFSET_MAX, a bad footer, leap-second records (a "right/"
 * file: its clock is not POSIX time), more than SENDDAY_TZIF_MAX bytes or
 * SENDDAY_TZIF_TIMES_MAX transitions. 0 and *out owns a new zone; -1 and *out = NULL. */
int sendday_zone_from_tzif(const void *data, size_t len, sendday_zone **out, mf_error *err);

/* From a POSIX TZ string "std offset [dst [offset] [,start[/time],end[/time]]]" as RFC 8536
 * section 3.3 extends it: names of 3+ letters or <+0530>-style; offsets west-positive
 * ("PST8" is UTC-8) up to 24 hours; rules Jn, n or Mm.w.d with times up to +-167 hours. A
 * DST name without a rule gets the US rule M3.2.0,M11.1.0 (as tzcode does). 400
 * invalid_time_zone when it is not of that form. */
int sendday_zone_from_posix(const char *tz, sendday_zone **out, mf_error *err);

/* Free *z and set it to NULL; NULL or *z == NULL is fine. */
void sendday_zone_free(sendday_zone **z);

/* The UTC offset (seconds east of UTC) in effect at instant t. */
int sendday_zone_offset(const sendday_zone *z, time_t t);

/* 1 when name has the shape of an IANA zone name and is safe to append to a zoneinfo
 * directory: 1..SENDDAY_ZONE_NAME_MAX-1 bytes, '/'-separated components of [A-Za-z0-9._+-]
 * that do not start with '.' or '-' (so no "..", no absolute path, no hidden file). It does
 * not say the zone exists. */
int sendday_zone_name_valid(const char *name);

/* ---- the local day ------------------------------------------------------------------------ */

/* "YYYY-MM-DD" of the local day containing t. 0; -1 (out = "") when that day is outside years
 * 1..9999 (only possible with t at the clamp limits and an offset pushing it over). Keys
 * compare with strcmp in calendar order. */
int sendday_day_key_at(time_t t, int offset_sec, char out[SENDDAY_KEY_LEN]);
int sendday_day_key(const sendday_zone *z, time_t t, char out[SENDDAY_KEY_LEN]);

/* Seconds from t to the next local midnight (1..86400 with a fixed offset). The zone version
 * is exact across DST changes (e.g. 23 hours on a spring-forward day); where midnight itself
 * does not exist, the day ends when the clock jumps past it. */
int64_t sendday_seconds_to_midnight_at(time_t t, int offset_sec);
int64_t sendday_seconds_to_midnight(const sendday_zone *z, time_t t);

/* The instants [*start, *end) of the local day containing t (for counting a send log):
 * *start <= t < *end. */
void sendday_day_bounds(const sendday_zone *z, time_t t, time_t *start, time_t *end);

/* The local day of the week (0 = Sunday) at t. */
int sendday_weekday_at(time_t t, int offset_sec);

/* ---- R15: may this mailbox send now ------------------------------------------------------- */

/* A mailbox's sends on one local day. day "" = nothing counted yet. */
typedef struct sendday_counter {
    char day[SENDDAY_KEY_LEN];
    int sent;
} sendday_counter;

/* The sends that count today: c->sent when c->day is today's key, else 0 (a count kept for an
 * earlier local day does not count). Negative counts count as 0. */
int sendday_sent_today(const sendday_counter *c, const char *today);
/* daily_limit minus the sends that count today, never below 0 (a limit below 1: 0). */
int sendday_remaining(const sendday_counter *c, const char *today, int daily_limit);
/* R15: 1 when sent today < daily_limit, else 0. */
int sendday_may_send(const sendday_counter *c, const char *today, int daily_limit);
/* Count one send made on day today: a counter of another day restarts at 0 first. */
void sendday_count_send(sendday_counter *c, const char *today);
/* The same question for instant now in the mailbox's zone. */
int sendday_may_send_now(const sendday_counter *c, const sendday_zone *z, time_t now,
                         int daily_limit);

/* ---- send windows -------------------------------------------------------------------------- */

#define SENDDAY_SUN (1u << 0)
#define SENDDAY_MON (1u << 1)
#define SENDDAY_TUE (1u << 2)
#define SENDDAY_WED (1u << 3)
#define SENDDAY_THU (1u << 4)
#define SENDDAY_FRI (1u << 5)
#define SENDDAY_SAT (1u << 6)
#define SENDDAY_WEEKDAYS (SENDDAY_MON | SENDDAY_TUE | SENDDAY_WED | SENDDAY_THU | SENDDAY_FRI)
#define SENDDAY_ALL_DAYS 0x7fu

/* Sending is allowed on the days in `days`, from local minute start_minute (inclusive) to
 * end_minute (exclusive) of that day: 9:00-17:00 is {WEEKDAYS, 540, 1020}; a whole day is
 * {.., 0, 1440}. The window never crosses midnight (split an overnight one in two). */
typedef struct sendday_window {
    unsigned days;    /* SENDDAY_* bits, at least one, nothing above bit 6 */
    int start_minute; /* 0..1439 */
    int end_minute;   /* start_minute+1..1440 */
} sendday_window;

/* 0 when w is as described above; -1 with 400 invalid_request naming the field. */
int sendday_window_valid(const sendday_window *w, mf_error *err);

/* 1 when t is inside the window (local time from the offset, or from the window's zone z).
 * An invalid window is never open. */
int sendday_in_window_at(const sendday_window *w, time_t t, int offset_sec);
int sendday_in_window(const sendday_window *w, const sendday_zone *z, time_t t);

/* The first instant >= t at which the window is open (t itself when it is open now): 0 and
 * *out set; -1 when w is invalid. On a spring-forward day a window starting in the skipped
 * hour opens when the clock jumps (and not at all if it lies wholly inside the gap). */
int sendday_next_window_open(const sendday_window *w, const sendday_zone *z, time_t t,
                             time_t *out);
#endif
