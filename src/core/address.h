/* address.h — email address rules: normalisation and validation (R7: one seat per address,
 * compared after normalisation) and generic/group addresses (R6). Pure functions. */
#ifndef MF_ADDRESS_H
#define MF_ADDRESS_H
#include <stddef.h>
#define MF_ADDR_MAX 255 /* 254 characters + NUL (RFC 5321 path limit) */

/* Trim surrounding white space, lower-case, and check the shape local@domain: local part 1..64
 * characters of RFC 5322 atext and dots (no leading, trailing or double dot), domain of
 * letters, digits and hyphens in dot-separated labels with at least one dot. 0 ok; -1 with
 * a reason in why (static text). */
int address_normalize(const char *in, char out[MF_ADDR_MAX], const char **why);

/* R6: is the local part (before any "+tag") one of the generic names? norm must be normalised;
 * names are lower-case. */
int address_is_generic(const char *norm, char *const *names, int count);
#endif
