/* roles.c — role names and role/organisation permission rules; see roles.h. */
#include <string.h>
#include "core/roles.h"

static const char *names[] = {"operator", "admin", "user", "contributor"};

const char *mf_role_name(enum mf_role r)
{
    return (unsigned)r < 4 ? names[r] : "unknown";
}

int mf_role_parse(const char *s, enum mf_role *out)
{
    for (int i = 0; i < 4; i++) {
        if (s && strcmp(s, names[i]) == 0) {
            *out = (enum mf_role)i;
            return 0;
        }
    }
    return -1;
}

int roles_can_access_org(const mf_actor *a, const char *org_id)
{
    if (a->role == ROLE_OPERATOR) return 1;
    return org_id && a->org_id[0] && strcmp(a->org_id, org_id) == 0;
}

int roles_is_admin_of(const mf_actor *a, const char *org_id)
{
    if (a->role == ROLE_OPERATOR) return 1;
    return a->role == ROLE_ADMIN && roles_can_access_org(a, org_id);
}

int roles_can_manage_seat(const mf_actor *a, const char *target_id, const char *target_org)
{
    if (roles_is_admin_of(a, target_org)) return 1;
    return a->role == ROLE_USER && roles_can_access_org(a, target_org) &&
           strcmp(a->id, target_id) == 0;
}

int roles_has_app_access(const mf_actor *a)
{
    return a->role != ROLE_CONTRIBUTOR;
}
