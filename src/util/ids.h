/* ids.h — identifiers: "<prefix>_<12 hex ms time><10 hex random>", so ids of one kind sort by
 * creation time (cursor paging uses that) and cannot be guessed. */
#ifndef MF_IDS_H
#define MF_IDS_H
#define MF_ID_LEN 40
void mf_id_new(const char *prefix, char out[MF_ID_LEN]);
int mf_id_valid(const char *s); /* 1 when s looks like an id we could have made */
#endif
