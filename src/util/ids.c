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
    snprintf(out, MF_ID_LEN, "%.8s_%012llx%02x%02x%02x%02x%02x", prefix, ms, rnd[0], rnd[1],
             rnd[2], rnd[3], rnd[4]);
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
