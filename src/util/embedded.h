/* embedded.h — files compiled into the binary by scripts/embed.py (a NULL-named entry ends
 * each table). */
#ifndef MF_EMBEDDED_H
#define MF_EMBEDDED_H
#include <stddef.h>
struct mf_embedded_file {
    const char *name;
    const unsigned char *data;
    size_t len;
};
extern const struct mf_embedded_file mf_migrations[];
#endif
