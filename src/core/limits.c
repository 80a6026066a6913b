/* limits.c — limit and slot arithmetic; see limits.h. */
#include <stdio.h>
#include "core/limits.h"

int limits_base(int deployment_default, int org_override, int user_override)
{
    if (user_override != LIMIT_UNSET) return user_override;
    if (org_override != LIMIT_UNSET) return org_override;
    return deployment_default;
}

int limits_user_limit(int base, int assigned_slots)
{
    return base + (assigned_slots > 0 ? assigned_slots : 0);
}

int limits_can_add(int used, int limit)
{
    return used < limit;
}

int limits_slot_removable(int used, int limit)
{
    return used <= limit - 1;
}

void limits_display(int used, int available, char *out, size_t outlen)
{
    snprintf(out, outlen, "%d/%d", used, available);
}

int limits_daily(int requested, int deployment_default, int org_max)
{
    int v = requested == LIMIT_UNSET ? deployment_default : requested;
    if (org_max > 0 && v > org_max) v = org_max;
    if (v < 1) v = 1;
    return v;
}
