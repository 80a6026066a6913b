/* clock.h — the one source of "now" (tests may fix it) and RFC 3339 UTC formatting. */
#ifndef MF_CLOCK_H
#define MF_CLOCK_H
#include <stdint.h>
#include <time.h>
#define MF_TIME_LEN 21 /* "2026-11-25T12:00:00Z" + NUL */
time_t mf_now(void);
int64_t mf_now_ms(void);
void mf_clock_fix(time_t t); /* tests: 0 = real clock again */
void mf_time_format(time_t t, char out[MF_TIME_LEN]);
int mf_time_parse(const char *s, time_t *out); /* "YYYY-MM-DDTHH:MM:SSZ" only */
/* Same day-of-month one calendar month later (clamped to the month's last day). */
time_t mf_add_month(time_t t);
#endif
