/* health.h — R12: a mailbox's health state (good | failing | error | disconnected, with a
 * reason and a since-time), stored with its history, audited, and notified to the owner and
 * the organisation's admins when it fails or recovers (R28). */
#ifndef MF_HEALTH_H
#define MF_HEALTH_H
#include "store/db.h"

typedef struct health_target {
    const char *mailbox_id, *org_id, *owner_id, *address;
} health_target;

/* Record status (and reason, NULL for none). Does nothing when unchanged. 0 or -1. */
int health_set(db *d, const health_target *t, const char *status, const char *reason);
#endif
