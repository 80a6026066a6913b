/* embedded.h — files compiled into the binary by scripts/embed.py and scripts/embed_web.py (a
 * NULL-named entry ends each table). */
#ifndef MF_EMBEDDED_H
#define MF_EMBEDDED_H
#include <stddef.h>
struct mf_embedded_file {
    const char *name;
    const unsigned char *data;
    size_t len;
};
extern const struct mf_embedded_file mf_migrations[];

/* The web console (scripts/embed_web.py): URL path ("/index.html", "/assets/app.css"), its
 * Content-Type, the bytes, a gzip copy (NULL when not smaller) and a quoted ETag. */
struct mf_web_file {
    const char *path;
    const char *type;
    const unsigned char *data;
    size_t len;
    const unsigned char *gz;
    size_t gz_len;
    const char *etag;
};
extern const struct mf_web_file mf_web_files[];
#endif
