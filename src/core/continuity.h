/* continuity.h — R8: the tag given to prospects paused when their sending mailbox changes
 * owner or is removed, so they can be found and reassigned in bulk. Pure. */
#ifndef MF_CONTINUITY_H
#define MF_CONTINUITY_H
#include <stddef.h>
#include <time.h>
/* "continuity:<address>:<YYYY-MM-DD>" */
void continuity_tag(const char *address_norm, time_t when, char *out, size_t outlen);
/* A valid tag: 1..MF_TAG_MAX printable characters without spaces at the ends; long enough for
 * every tag continuity_tag() makes ("continuity:" + a 254-character address + date). */
#define MF_TAG_MAX 300
int continuity_tag_valid(const char *tag);
#endif
