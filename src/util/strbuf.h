/* strbuf.h — the one growable byte buffer, always with a maximum size (after curl's dynbuf):
 * data from outside never grows without bound. buf is always NUL-terminated. */
#ifndef MF_STRBUF_H
#define MF_STRBUF_H
#include <stddef.h>

typedef struct strbuf {
    char *buf;
    size_t len;
    size_t alloc;
    size_t max; /* appends that would pass max fail with -1 and leave the buffer unchanged */
} strbuf;

void strbuf_init(strbuf *sb, size_t max);
void strbuf_release(strbuf *sb); /* frees and re-inits with the same max */
void strbuf_reset(strbuf *sb);   /* len = 0, keeps memory */
int strbuf_add(strbuf *sb, const void *data, size_t len);
int strbuf_addstr(strbuf *sb, const char *s);
int strbuf_addf(strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Replace every byte of s that does not belong to a valid UTF-8 sequence with '?' (in place),
 * so text from outside can go into JSON. */
void mf_utf8_sanitize(char *s);
/* Room for n more bytes at buf + len (the caller writes them, then strbuf_commit(sb, n) with
 * at most n): NULL when that would pass max. For writers that build small pieces in place. */
char *strbuf_reserve(strbuf *sb, size_t n);
void strbuf_commit(strbuf *sb, size_t n);
/* Hand the buffer to the caller (who frees it) and re-init sb. */
char *strbuf_detach(strbuf *sb, size_t *len);
/* Append s escaped for HTML text and attribute values (& < > " ' become entities). */
int strbuf_add_html(strbuf *sb, const char *s);
#endif
