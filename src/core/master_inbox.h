/* master_inbox.h — R19 validation: mailboxes may point at a master (Reply-To) that is a
 * connected mailbox of the same user, with no chains. Pure. */
#ifndef MF_MASTER_INBOX_H
#define MF_MASTER_INBOX_H
#include <stddef.h>

typedef struct mi_mailbox {
    const char *id;
    const char *owner_id;
    const char *status;    /* health state (R12) */
    const char *master_id; /* its own master, or NULL */
    int masters_others;    /* how many mailboxes outside the change set use it as master */
} mi_mailbox;

enum mi_result { MI_OK = 0, MI_NOT_SAME_USER, MI_NOT_CONNECTED, MI_CHAIN };

/* "connected" for R19: not failing and not disconnected (connecting, good, error). */
int master_inbox_connected(const char *status);
/* Validate setting every target's master to master (master NULL clears: always MI_OK). */
enum mi_result master_inbox_validate(const mi_mailbox *master, const mi_mailbox *targets,
                                     size_t n);
const char *master_inbox_reason(enum mi_result r); /* "not_same_user", ... */
#endif
