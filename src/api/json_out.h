/* json_out.h — writing JSON text straight into a strbuf, for the hot list routes where building
 * a jansson tree and dumping it cost more than the query (measured: 39% of the CPU of
 * GET /mailboxes in jansson, 20% more in malloc). Strings are escaped per RFC 8259; invalid
 * UTF-8 is replaced with U+FFFD so the output is always valid JSON. */
#ifndef MF_JSON_OUT_H
#define MF_JSON_OUT_H
#include <stdint.h>
#include "util/strbuf.h"

void jw_string(strbuf *sb, const char *s);                 /* "..." */
void jw_key(strbuf *sb, int *first, const char *key);     /* [,]"key": */
void jw_kv_str(strbuf *sb, int *first, const char *key, const char *v); /* "" stays "" */
void jw_kv_str_or_null(strbuf *sb, int *first, const char *key, const char *v); /* "" → null */
void jw_kv_int(strbuf *sb, int *first, const char *key, int64_t v);
void jw_kv_bool(strbuf *sb, int *first, const char *key, int v);
#endif
