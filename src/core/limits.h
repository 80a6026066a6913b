/* limits.h — mailbox limits and slots (R3, R4) and daily sending limits (R15). Pure. */
#ifndef MF_LIMITS_H
#define MF_LIMITS_H
#include <stddef.h>

#define LIMIT_UNSET (-1)

/* R3: the base limit: a user's contract override when set, else the organisation's contract
 * override when set, else the deployment default (2). */
int limits_base(int deployment_default, int org_override, int user_override);
/* R3: limit = base + assigned active slots. */
int limits_user_limit(int base, int assigned_slots);
/* R3: may one more mailbox be added? */
int limits_can_add(int used, int limit);
/* R4: may an assigned slot be removed? Only when it is empty: the remaining limit still covers
 * every mailbox the user has. */
int limits_slot_removable(int used, int limit);
/* R3: "used/available", e.g. "1/2". */
void limits_display(int used, int available, char *out, size_t outlen);
/* R15: the daily limit a mailbox gets: requested (or the default 500 when LIMIT_UNSET), never
 * above the organisation's maximum, never below 1. */
int limits_daily(int requested, int deployment_default, int org_max);
#endif
