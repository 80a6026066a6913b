/* address.c — address normalisation and the generic-address rule; see address.h. */
#include <ctype.h>
#include <string.h>
#include "core/address.h"

static int is_atext(unsigned char c)
{
    return isalnum(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

int address_normalize(const char *in, char out[MF_ADDR_MAX], const char **why)
{
    const char *dummy;
    if (!why) why = &dummy;
    out[0] = '\0';
    if (!in) {
        *why = "address is missing";
        return -1;
    }
    while (isspace((unsigned char)*in)) in++;
    size_t n = strlen(in);
    while (n > 0 && isspace((unsigned char)in[n - 1])) n--;
    if (n == 0) {
        *why = "address is empty";
        return -1;
    }
    if (n >= MF_ADDR_MAX) {
        *why = "address is longer than 254 characters";
        return -1;
    }
    for (size_t i = 0; i < n; i++) out[i] = (char)tolower((unsigned char)in[i]);
    out[n] = '\0';
    if (n > 0 && out[n - 1] == '.') { /* "a@b.com." names the same domain */
        out[--n] = '\0';
    }
    char *at = strchr(out, '@');
    if (!at || strchr(at + 1, '@')) {
        *why = "address must contain exactly one @";
        goto bad;
    }
    size_t local_len = (size_t)(at - out);
    if (local_len == 0 || local_len > 64) {
        *why = "the part before @ must be 1 to 64 characters";
        goto bad;
    }
    for (size_t i = 0; i < local_len; i++) {
        unsigned char c = (unsigned char)out[i];
        if (c == '.') {
            if (i == 0 || i == local_len - 1 || out[i + 1] == '.') {
                *why = "the part before @ has a misplaced dot";
                goto bad;
            }
        } else if (!is_atext(c)) {
            *why = "the part before @ contains a character that is not allowed";
            goto bad;
        }
    }
    const char *dom = at + 1;
    size_t dlen = strlen(dom), label = 0;
    int dots = 0;
    if (dlen == 0 || dlen > 253) {
        *why = "the domain is missing or too long";
        goto bad;
    }
    for (size_t i = 0; i <= dlen; i++) {
        unsigned char c = (unsigned char)dom[i];
        if (c == '.' || c == '\0') {
            if (label == 0 || label > 63 || dom[i - 1] == '-') {
                *why = "the domain has an empty, too long or badly ended label";
                goto bad;
            }
            if (c == '.') dots++;
            label = 0;
        } else if (isalnum(c) || c == '-') {
            if (c == '-' && label == 0) {
                *why = "a domain label cannot start with a hyphen";
                goto bad;
            }
            label++;
        } else {
            *why = "the domain contains a character that is not allowed";
            goto bad;
        }
    }
    if (dots == 0) {
        *why = "the domain needs at least one dot";
        goto bad;
    }
    return 0;
bad:
    out[0] = '\0';
    return -1;
}

int address_is_generic(const char *norm, char *const *names, int count)
{
    const char *at = strchr(norm, '@');
    if (!at) return 0;
    size_t len = (size_t)(at - norm);
    const char *plus = memchr(norm, '+', len);
    if (plus) len = (size_t)(plus - norm);
    for (int i = 0; i < count; i++) {
        if (strlen(names[i]) == len && strncmp(names[i], norm, len) == 0) return 1;
    }
    return 0;
}
