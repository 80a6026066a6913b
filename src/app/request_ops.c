/* request_ops.c — mailbox requests (R10): created from the authenticated account with every
 * rule's check stored (R2, R3, R5, R6, R7), approved by an operator (or an admin when the org
 * allows) and then carried out atomically — an add (removing the address from another seat
 * with its history when permission was given, R7/R9) or a change of owner (R8). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "app/ops.h"
#include "core/continuity.h"
#include "core/limits.h"

/* Everything the checks need, gathered inside the caller's transaction. */
typedef struct req_facts {
    mf_user target, holder;
    mf_org org;
    mf_mailbox existing; /* when the address is on a seat */
    mf_seat_facts seat;
    mf_address_facts addr;
    mf_check checks[MF_CHECK_MAX];
    int nchecks;
} req_facts;

static int gather(mf_app *app, db *d, const mf_actor *requester, const char *kind,
                  const char *norm, const char *target_id, int permission, req_facts *f,
                  mf_error *err)
{
    memset(f, 0, sizeof(*f));
    if (ops_user_visible(d, requester, target_id, &f->target, err) < 0) return -1;
    if (f->target.role == ROLE_OPERATOR || f->target.role == ROLE_CONTRIBUTOR)
        return mf_fail(err, 422, "invalid_request", "R5",
                       "target_user_id: mailboxes go on the seat of an admin or a user");
    if (orgs_get(d, f->target.org_id, &f->org, err) < 0) return -1;
    f->seat = (mf_seat_facts){.user_id = f->target.id, .org_id = f->target.org_id,
                              .locked = f->target.locked};
    if (ops_seat_facts(app, d, &f->target, &f->seat.used, &f->seat.limit, err) < 0) return -1;
    if (ops_address_facts(d, norm, &f->addr, &f->existing, &f->holder, err) < 0) return -1;
    int change_owner = strcmp(kind, "change_owner") == 0;
    int shared = change_owner && f->addr.in_use && strcmp(f->existing.kind, "shared") == 0;
    if (shared) {
        f->seat.used = 0;
        f->seat.limit = 1;
    }
    mf_add_facts af = {.actor = requester,
                       .target = f->seat,
                       .address_norm = norm,
                       .shared = shared,
                       .is_generic = address_is_generic(norm, app->cfg.generic_local_parts,
                                                        app->cfg.generic_count),
                       .allow_generic = f->org.allow_generic,
                       .existing = f->addr,
                       .permission = permission,
                       .change_owner = change_owner};
    f->nchecks = mailbox_policy_checks(&af, f->checks);
    return 0;
}

static char *checks_json(const req_facts *f)
{
    json_t *arr = json_array();
    for (int i = 0; i < f->nchecks; i++) {
        json_array_append_new(arr, json_pack("{s:s,s:b,s:s}", "rule", f->checks[i].rule, "ok",
                                             f->checks[i].ok, "message", f->checks[i].message));
    }
    char *s = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    return s;
}

static int audit_request(db *d, const mf_actor *a, const mf_request *r, const char *action)
{
    json_t *j = json_pack("{s:s,s:s,s:s,s:s}", "kind", r->kind, "address", r->address_norm,
                          "target_user_id", r->target_user_id, "status", r->status);
    char *dj = json_dumps(j, JSON_COMPACT);
    int rc = ops_audit(d, a, r->org_id, action, "mailbox_request", r->id, dj);
    free(dj);
    json_decref(j);
    return rc;
}

int ops_request_create(mf_app *app, db *d, const mf_actor *a, const mf_request_input *in,
                       mf_request *out, mf_error *err)
{
    memset(out, 0, sizeof(*out));
    if (!in->kind || (strcmp(in->kind, "add") != 0 && strcmp(in->kind, "change_owner") != 0))
        return mf_fail(err, 400, "invalid_request", NULL, "kind: must be add or change_owner");
    char norm[MF_ADDR_MAX];
    const char *why;
    if (address_normalize(in->address, norm, &why) < 0)
        return mf_fail(err, 400, "invalid_request", NULL, "address: %s", why);
    if (db_begin(d, err) < 0) return -1;
    req_facts f;
    int rc = gather(app, d, a, in->kind, norm, in->target_user_id, in->remove_from_other_seat,
                    &f, err);
    mf_mailbox_clear(&f.existing);
    if (rc == 0) {
        snprintf(out->org_id, sizeof(out->org_id), "%s", f.target.org_id);
        snprintf(out->requester_id, sizeof(out->requester_id), "%s", a->id);
        snprintf(out->kind, sizeof(out->kind), "%s", in->kind);
        snprintf(out->address, sizeof(out->address), "%s", in->address);
        snprintf(out->address_norm, sizeof(out->address_norm), "%s", norm);
        snprintf(out->target_user_id, sizeof(out->target_user_id), "%s", f.target.id);
        out->remove_from_other_seat = in->remove_from_other_seat;
        out->checks_json = checks_json(&f);
        /* R10: a request whose automatic checks fail is refused at once, with the reasons. */
        char failed[64] = "";
        for (int i = 0; i < f.nchecks; i++) {
            if (f.checks[i].ok) continue;
            size_t l = strlen(failed);
            snprintf(failed + l, sizeof(failed) - l, "%s%s", l ? ", " : "", f.checks[i].rule);
        }
        snprintf(out->status, sizeof(out->status), "%s", failed[0] ? "rejected" : "pending");
        if (failed[0])
            snprintf(out->reason, sizeof(out->reason), "automatic checks failed: %s", failed);
        rc = requests_insert(d, out, err);
    }
    if (rc == 0) rc = audit_request(d, a, out, "request.create");
    if (ops_finish(d, rc, err) < 0) {
        mf_request_clear(out);
        return -1;
    }
    return 0;
}

int ops_request_visible(db *d, const mf_actor *a, const char *id, mf_request *r, mf_error *err)
{
    if (requests_get(d, id, r, err) < 0) return -1;
    int ok = roles_is_admin_of(a, r->org_id) ||
             (roles_can_access_org(a, r->org_id) &&
              (strcmp(r->requester_id, a->id) == 0 || strcmp(r->target_user_id, a->id) == 0));
    if (!ok) {
        mf_request_clear(r);
        return store_not_found(err, "mailbox request");
    }
    return 0;
}

/* R10: operators decide; admins too when their organisation allows self-approval. */
static int may_decide(db *d, const mf_actor *a, const mf_request *r, mf_error *err)
{
    if (a->role == ROLE_OPERATOR) return 0;
    mf_org o;
    if (orgs_get(d, r->org_id, &o, err) < 0) return -1;
    if (roles_is_admin_of(a, r->org_id) && o.admin_self_approve) return 0;
    return mf_fail(err, 403, "forbidden", "R10",
                   "mailbox requests are decided by an operator%s",
                   roles_is_admin_of(a, r->org_id)
                       ? "; this organisation does not let its admins approve their own"
                       : "");
}

static int load_pending(db *d, const mf_actor *a, const char *id, mf_request *r, mf_error *err)
{
    if (ops_request_visible(d, a, id, r, err) < 0) return -1;
    if (may_decide(d, a, r, err) < 0) return -1;
    if (strcmp(r->status, "pending") != 0)
        return mf_fail(err, 409, "invalid_state", "R10", "the request is already %s", r->status);
    return 0;
}

static int notify_requester(db *d, const mf_actor *a, const mf_request *r, const char *kind)
{
    if (strcmp(r->requester_id, a->id) == 0) return 0;
    json_t *j = json_pack("{s:s,s:s,s:s,s:s?}", "request_id", r->id, "address", r->address_norm,
                          "status", r->status, "reason", r->reason[0] ? r->reason : NULL);
    char *dj = json_dumps(j, JSON_COMPACT);
    int rc = notifications_add(d, r->requester_id, kind, dj, NULL);
    free(dj);
    json_decref(j);
    return rc;
}

/* R8: move an existing mailbox to a new owner inside the transaction. */
static int change_owner(db *d, const mf_actor *a, req_facts *f, mf_request *r, mf_error *err)
{
    mf_mailbox *m = &f->existing;
    continuity_tag(m->address_norm, mf_now(), r->continuity_tag, sizeof(r->continuity_tag));
    if (prospects_pause_for_mailbox(d, m->id, "owner_change", r->continuity_tag, err) < 0)
        return -1;
    if (mailboxes_clear_master_refs(d, m->id, err) < 0) return -1; /* R19: A's routing ends */
    if (mailboxes_set_owner(d, m->id, f->target.id, err) < 0) return -1;
    if (mailboxes_promote_default(d, m->owner_id, err) < 0) return -1;
    if (strcmp(m->kind, "personal") == 0 && mailboxes_promote_default(d, f->target.id, err) < 0)
        return -1;
    snprintf(r->mailbox_id, sizeof(r->mailbox_id), "%s", m->id);
    json_t *j = json_pack("{s:s,s:s,s:s,s:s}", "address", m->address, "from_user_id", m->owner_id,
                          "to_user_id", f->target.id, "continuity_tag", r->continuity_tag);
    char *dj = json_dumps(j, JSON_COMPACT);
    int rc = ops_audit(d, a, m->org_id, "mailbox.change_owner", "mailbox", m->id, dj);
    free(dj);
    json_decref(j);
    return rc;
}

/* R7/R9: add the address to the target seat, first removing it (and its history) from the
 * seat that has it when permission was given. */
static int add_mailbox(mf_app *app, db *d, const mf_actor *a, req_facts *f, mf_request *r,
                       mf_error *err)
{
    if (f->addr.in_use) {
        if (ops_mailbox_remove_in_tx(d, a, &f->existing, "owner_change",
                                     r->continuity_tag, sizeof(r->continuity_tag), err) < 0)
            return -1;
    }
    mf_mailbox created;
    int rc = ops_mailbox_insert_in_tx(app, d, a, &f->target, &f->org, r->address_norm, "personal",
                                      NULL, NULL, LIMIT_UNSET, NULL, NULL, &created, err);
    if (rc == 0) snprintf(r->mailbox_id, sizeof(r->mailbox_id), "%s", created.id);
    mf_mailbox_clear(&created);
    return rc;
}

int ops_request_approve(mf_app *app, db *d, const mf_actor *a, const char *id, mf_request *out,
                        mf_error *err)
{
    memset(out, 0, sizeof(*out));
    if (db_begin(d, err) < 0) return -1;
    req_facts f;
    memset(&f, 0, sizeof(f));
    mf_user requester;
    mf_actor ra;
    int rc = load_pending(d, a, id, out, err);
    /* Re-run the checks as the requester, on today's facts. */
    if (rc == 0) rc = users_get(d, out->requester_id, &requester, err);
    if (rc == 0) {
        ops_actor_from_user(&requester, &ra);
        rc = gather(app, d, &ra, out->kind, out->address_norm, out->target_user_id,
                    out->remove_from_other_seat, &f, err);
    }
    if (rc == 0) {
        int bad = mailbox_policy_first_failure(f.checks, f.nchecks);
        if (bad >= 0) rc = ops_check_error(&f.checks[bad], &f.seat, &f.addr, err);
    }
    if (rc == 0) {
        rc = strcmp(out->kind, "change_owner") == 0 ? change_owner(d, a, &f, out, err)
                                                     : add_mailbox(app, d, a, &f, out, err);
    }
    if (rc == 0) {
        free(out->checks_json);
        out->checks_json = checks_json(&f);
        snprintf(out->status, sizeof(out->status), "completed");
        snprintf(out->decided_by, sizeof(out->decided_by), "%s", a->id);
        mf_time_format(mf_now(), out->decided_at);
        out->reason[0] = '\0';
        rc = requests_decide(d, out, err);
    }
    if (rc == 0) rc = notify_requester(d, a, out, "request_approved");
    if (rc == 0) rc = audit_request(d, a, out, "request.approve");
    mf_mailbox_clear(&f.existing);
    if (ops_finish(d, rc, err) < 0) {
        mf_request_clear(out);
        return -1;
    }
    return 0;
}

int ops_request_reject(db *d, const mf_actor *a, const char *id, const char *reason,
                       mf_request *out, mf_error *err)
{
    memset(out, 0, sizeof(*out));
    if (!reason || !*reason || strlen(reason) > 500)
        return mf_fail(err, 400, "invalid_request", NULL, "reason: give 1 to 500 characters");
    if (db_begin(d, err) < 0) return -1;
    int rc = load_pending(d, a, id, out, err);
    if (rc == 0) {
        snprintf(out->status, sizeof(out->status), "rejected");
        snprintf(out->reason, sizeof(out->reason), "%s", reason);
        snprintf(out->decided_by, sizeof(out->decided_by), "%s", a->id);
        mf_time_format(mf_now(), out->decided_at);
        rc = requests_decide(d, out, err);
    }
    if (rc == 0) rc = notify_requester(d, a, out, "request_rejected");
    if (rc == 0) rc = audit_request(d, a, out, "request.reject");
    if (ops_finish(d, rc, err) < 0) {
        mf_request_clear(out);
        return -1;
    }
    return 0;
}
