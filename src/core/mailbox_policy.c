/* mailbox_policy.c — seat/address checks for adds and owner changes; see mailbox_policy.h. */
#include <stdio.h>
#include <string.h>
#include "core/limits.h"
#include "core/mailbox_policy.h"

static mf_check *add_check(mf_check *out, int *n, const char *rule, int ok, int status,
                           const char *code)
{
    mf_check *c = &out[(*n)++];
    memset(c, 0, sizeof(*c));
    snprintf(c->rule, sizeof(c->rule), "%s", rule);
    c->ok = ok;
    c->status = status;
    snprintf(c->code, sizeof(c->code), "%s", code);
    return c;
}

int mailbox_policy_checks(const mf_add_facts *f, mf_check out[MF_CHECK_MAX])
{
    int n = 0;
    mf_check *c;

    /* R5: own seat for users, any seat of the org for admins, anywhere for operators. */
    int may = roles_can_manage_seat(f->actor, f->target.user_id, f->target.org_id);
    c = add_check(out, &n, "R5", may, 403, "forbidden");
    snprintf(c->message, sizeof(c->message), "%s",
             may ? "the requester may manage mailboxes of this seat"
                 : "users may only add mailboxes to their own seat; ask an admin");

    /* R2: the target seat must be active. */
    c = add_check(out, &n, "R2", !f->target.locked, 403, "seat_locked");
    snprintf(c->message, sizeof(c->message), "%s",
             f->target.locked ? "the target seat is locked; unlock it first"
                              : "the target seat is active");

    /* R7: one seat per address, locked seats included. */
    const mf_address_facts *e = &f->existing;
    if (f->change_owner) {
        int ok = e->in_use && strcmp(e->owner_id, f->target.user_id) != 0 &&
                 strcmp(e->org_id, f->target.org_id) == 0;
        c = add_check(out, &n, "R7", ok, e->in_use ? 409 : 404,
                      e->in_use ? "address_in_use" : "not_found");
        if (!e->in_use)
            snprintf(c->message, sizeof(c->message),
                     "no mailbox %s exists in this organisation to move", f->address_norm);
        else if (!ok && strcmp(e->owner_id, f->target.user_id) == 0)
            snprintf(c->message, sizeof(c->message), "%s is already on the target seat",
                     f->address_norm);
        else if (!ok)
            snprintf(c->message, sizeof(c->message),
                     "%s belongs to another organisation and cannot be moved from here",
                     f->address_norm);
        else
            snprintf(c->message, sizeof(c->message),
                     "%s moves from its current seat (%s) to the target seat", f->address_norm,
                     e->owner_locked ? "locked" : "active");
    } else if (!e->in_use) {
        c = add_check(out, &n, "R7", 1, 409, "address_in_use");
        snprintf(c->message, sizeof(c->message), "%s is on no other seat", f->address_norm);
    } else if (strcmp(e->owner_id, f->target.user_id) == 0) {
        c = add_check(out, &n, "R7", 0, 409, "address_in_use");
        snprintf(c->message, sizeof(c->message), "%s is already on this seat", f->address_norm);
    } else if (strcmp(e->org_id, f->target.org_id) != 0 && f->actor->role != ROLE_OPERATOR) {
        /* R1: nobody but an operator takes an address away from another organisation */
        c = add_check(out, &n, "R7", 0, 409, "address_in_use");
        snprintf(c->message, sizeof(c->message),
                 "%s is on a seat of another organisation; only an operator can move it",
                 f->address_norm);
    } else {
        c = add_check(out, &n, "R7", f->permission, 409, "address_in_use");
        snprintf(c->message, sizeof(c->message),
                 f->permission
                     ? "%s is on another (%s) seat; permission to remove it from there was given"
                     : "%s is on another (%s) seat; it must be removed from there first: give "
                       "permission with remove_from_other_seat",
                 f->address_norm, e->owner_locked ? "locked" : "active");
    }

    /* R6: generic addresses only when shared or allowed by contract. */
    int generic_ok = !f->is_generic || f->shared || f->allow_generic;
    c = add_check(out, &n, "R6", generic_ok, 422, "generic_address_not_allowed");
    snprintf(c->message, sizeof(c->message), "%s",
             !f->is_generic ? "the address is personal, not a generic one"
             : generic_ok   ? "generic address allowed (shared mailbox or contract)"
                            : "generic or group addresses cannot go on a personal seat unless "
                              "the contract allows it; connect it as a shared mailbox");

    /* R3: room under the target's limit. */
    int room = limits_can_add(f->target.used, f->target.limit);
    c = add_check(out, &n, "R3", room, 422, "mailbox_limit_reached");
    snprintf(c->message, sizeof(c->message),
             room ? "the seat uses %d of %d mailboxes"
                  : "the seat already uses %d of %d mailboxes; ask an admin for another slot",
             f->target.used, f->target.limit);
    return n;
}

int mailbox_policy_first_failure(const mf_check *checks, int n)
{
    static const char *order[] = {"R5", "R2", "R7", "R6", "R3"};
    for (size_t o = 0; o < sizeof(order) / sizeof(order[0]); o++) {
        for (int i = 0; i < n; i++) {
            if (!checks[i].ok && strcmp(checks[i].rule, order[o]) == 0) return i;
        }
    }
    return -1;
}

int mailbox_policy_error(const mf_check *c, mf_error *err)
{
    return mf_fail(err, c->status, c->code, c->rule, "%s", c->message);
}
