/* log.h — logging to stderr with a level and a timestamp (after OpenSMTPD's log.c).
 * Never pass credentials to these functions (R29). */
#ifndef MF_LOG_H
#define MF_LOG_H
#include <stdbool.h>
enum mf_log_level { MF_LOG_DEBUG = 0, MF_LOG_INFO, MF_LOG_WARN, MF_LOG_ERROR };
void log_set_level(enum mf_log_level lvl);
bool log_enabled(enum mf_log_level lvl); /* would a line of this level be written */
int log_parse_level(const char *s, enum mf_log_level *out);
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_errorx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#endif
