/* json_fast.h — a fast reader for the plain JSON of request bodies (bench/send: jansson's
 * reader, a function call per character, was 6 % of the CPU of POST /messages with a 5 KB
 * text). It builds the same jansson values as json_loadb(buf, len, JSON_REJECT_DUPLICATES)
 * for input it is sure about, and gives up (NULL) on anything else — invalid JSON, numbers
 * other than plain integers, \u0000, duplicate keys, deep nesting — so the caller then lets
 * jansson read it, with jansson's answer and error messages. tests/unit/test_json_fast.c
 * compares both readers. */
#ifndef MF_JSON_FAST_H
#define MF_JSON_FAST_H
#include <stddef.h>
#include <jansson.h>

/* The object or array in buf (whitespace around it allowed), or NULL: use json_loadb. */
json_t *json_fast_loadb(const char *buf, size_t len);
#endif
