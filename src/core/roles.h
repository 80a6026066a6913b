/* roles.h — who is acting (R1, R2) and the pure permission rules that depend only on roles,
 * organisations and seats (R5). No I/O. */
#ifndef MF_ROLES_H
#define MF_ROLES_H
#include "util/ids.h"

enum mf_role { ROLE_OPERATOR = 0, ROLE_ADMIN, ROLE_USER, ROLE_CONTRIBUTOR };

const char *mf_role_name(enum mf_role r);
int mf_role_parse(const char *s, enum mf_role *out); /* 0 ok, -1 unknown */

/* The authenticated caller. org_id is "" for operators. */
typedef struct mf_actor {
    char id[MF_ID_LEN];
    char org_id[MF_ID_LEN];
    enum mf_role role;
    int locked; /* seat locked (R2) */
} mf_actor;

/* R1: may the actor see or touch things of organisation org_id at all? */
int roles_can_access_org(const mf_actor *a, const char *org_id);
/* R1: admin-level rights over org_id (operator anywhere, admin in own org). */
int roles_is_admin_of(const mf_actor *a, const char *org_id);
/* R5: may the actor put or manage mailboxes on the seat of user target_id in org target_org?
 * Users only on their own seat; admins on any seat of their org; operators anywhere. */
int roles_can_manage_seat(const mf_actor *a, const char *target_id, const char *target_org);
/* R1: may the actor use the application at all (contributors have no access, R14)? */
int roles_has_app_access(const mf_actor *a);
#endif
