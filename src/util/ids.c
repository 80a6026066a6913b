/* ids.c — time-sortable random ids. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sodium.h>
#include "util/clock.h"
#include "util/ids.h"

void mf_id_new(const char *prefix, char out[MF_ID_LEN])
{
    unsigned char rnd[5];
    randombytes_buf(rnd, sizeof(rnd));
    /* Monotonic within the process: two ids made in the same millisecond still sort in the
     * order they were made. */
    static unsigned long long last;
    unsigned long long ms = (unsigned long long)mf_now_ms() & 0xffffffffffffULL;
    unsigned long long prev = __atomic_load_n(&last, __ATOMIC_RELAXED);
    for (;;) {
        unsigned long long next = ms > prev ? ms : prev + 1;
        if (__atomic_compare_exchange_n(&last, &prev, next, 0, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED)) {
            ms = next;
            break;
        }
    }
    /* = snprintf(out, MF_ID_LEN, "%.8s_%012llx%02x%02x%02x%02x%02x", prefix, ms, rnd[0..4]),
     * written out: snprintf was most of the cost of an id (bench/sync makes 1.6 per message) */
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;
    while (n < 8 && prefix[n]) {
        out[n] = prefix[n];
        n++;
    }
    out[n++] = '_';
    for (int shift = 44; shift >= 0; shift -= 4) out[n++] = hex[(ms >> shift) & 0xf];
    for (size_t i = 0; i < sizeof(rnd); i++) {
        out[n++] = hex[rnd[i] >> 4];
        out[n++] = hex[rnd[i] & 0xf];
    }
    out[n] = '\0'; /* at most 8 + 1 + 12 + 10 = 31 < MF_ID_LEN */
}

int mf_id_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= MF_ID_LEN) return 0;
    for (size_t i = 0; i < n; i++) {
        if (!isalnum((unsigned char)s[i]) && s[i] != '_') return 0;
    }
    return 1;
}
