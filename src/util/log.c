/* log.c — leveled stderr logging; one line per call, written atomically. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "util/log.h"

static enum mf_log_level min_level = MF_LOG_INFO;

void log_set_level(enum mf_log_level lvl)
{
    min_level = lvl;
}

bool log_enabled(enum mf_log_level lvl)
{
    return lvl >= min_level;
}

int log_parse_level(const char *s, enum mf_log_level *out)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (enum mf_log_level)i;
            return 0;
        }
    }
    return -1;
}

static void vlog(enum mf_log_level lvl, const char *tag, const char *fmt, va_list ap)
{
    if (lvl < min_level) return;
    char line[2048];
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
    int n = snprintf(line, sizeof(line), "%s %s ", ts, tag);
    if (n < 0) return;
    vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    fprintf(stderr, "%s\n", line);
}

#define DEFINE_LOG(name, lvl, tag)                                                                 \
    void name(const char *fmt, ...)                                                                \
    {                                                                                              \
        va_list ap;                                                                                \
        va_start(ap, fmt);                                                                         \
        vlog(lvl, tag, fmt, ap);                                                                   \
        va_end(ap);                                                                                \
    }
DEFINE_LOG(log_debug, MF_LOG_DEBUG, "debug")
DEFINE_LOG(log_info, MF_LOG_INFO, "info")
DEFINE_LOG(log_warnx, MF_LOG_WARN, "warn")
DEFINE_LOG(log_errorx, MF_LOG_ERROR, "error")
