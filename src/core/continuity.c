/* continuity.c — R8 continuity tags; see continuity.h. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include "core/continuity.h"

void continuity_tag(const char *address_norm, time_t when, char *out, size_t outlen)
{
    struct tm tm;
    gmtime_r(&when, &tm);
    snprintf(out, outlen, "continuity:%s:%04d-%02d-%02d", address_norm, tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday);
}

int continuity_tag_valid(const char *tag)
{
    size_t n = tag ? strlen(tag) : 0;
    if (n == 0 || n > MF_TAG_MAX) return 0;
    if (isspace((unsigned char)tag[0]) || isspace((unsigned char)tag[n - 1])) return 0;
    for (size_t i = 0; i < n; i++) {
        if (iscntrl((unsigned char)tag[i])) return 0;
    }
    return 1;
}
