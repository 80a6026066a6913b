/* form_in.h — HTML form bodies (application/x-www-form-urlencoded) for the public pages:
 * "a=1&b=x+y%21" becomes the JSON object {"a":"1","b":"x y!"}, so a form goes through the same
 * validation as a JSON body. */
#ifndef MF_FORM_IN_H
#define MF_FORM_IN_H
#include <stddef.h>
#include <jansson.h>
#include "util/error.h"

#define FORM_MAX_FIELDS 64

/* Decode body (len bytes, need not be NUL-terminated). Names and values are percent-decoded
 * with '+' as space; the first value of a repeated name wins; empty pieces ("a=1&&b=2") are
 * skipped. -1 with 400 invalid_request (naming the field) on a bad %-escape, a NUL, invalid
 * UTF-8, or more than FORM_MAX_FIELDS fields. */
int form_parse(const char *body, size_t len, json_t **out, mf_error *err);
#endif
