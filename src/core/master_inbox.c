/* master_inbox.c — R19 rules; see master_inbox.h. */
#include <string.h>
#include "core/master_inbox.h"

int master_inbox_connected(const char *status)
{
    return status && strcmp(status, "failing") != 0 && strcmp(status, "disconnected") != 0;
}

enum mi_result master_inbox_validate(const mi_mailbox *master, const mi_mailbox *targets,
                                     size_t n)
{
    if (!master) return MI_OK;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(targets[i].owner_id, master->owner_id) != 0) return MI_NOT_SAME_USER;
    }
    if (!master_inbox_connected(master->status)) return MI_NOT_CONNECTED;
    /* No chains: the master has no master (unless this very change clears it — it cannot, the
     * master is not a target), is not itself a target, and no target is anyone's master. */
    if (master->master_id && *master->master_id) return MI_CHAIN;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(targets[i].id, master->id) == 0) return MI_CHAIN;
        if (targets[i].masters_others > 0) return MI_CHAIN;
    }
    return MI_OK;
}

const char *master_inbox_reason(enum mi_result r)
{
    switch (r) {
    case MI_NOT_SAME_USER: return "not_same_user";
    case MI_NOT_CONNECTED: return "not_connected";
    case MI_CHAIN: return "chain";
    default: return "ok";
    }
}
