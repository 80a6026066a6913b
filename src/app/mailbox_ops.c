/* mailbox_ops.c — adding, changing, deleting mailboxes (R3, R5–R7, R9, R15–R17), the master
 * inbox (R19) and the bulk reassignment of tagged prospects (R8). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "app/ops.h"
#include "core/continuity.h"
#include "core/limits.h"
#include "core/mailbox_policy.h"
#include "core/master_inbox.h"

static int audit_address(db *d, const mf_actor *a, const char *org_id, const char *action,
                         const char *mailbox_id, const char *address)
{
    json_t *j = json_pack("{s:s}", "address", address);
    char *dj = json_dumps(j, JSON_COMPACT);
    int rc = ops_audit(d, a, org_id, action, "mailbox", mailbox_id, dj);
    free(dj);
    json_decref(j);
    return rc;
}

int ops_mailbox_visible(db *d, const mf_actor *a, const char *id, mf_mailbox *m, mf_error *err)
{
    if (mailboxes_get(d, id, m, err) < 0) return -1;
    if (!roles_can_access_org(a, m->org_id)) {
        mf_mailbox_clear(m);
        return store_not_found(err, "mailbox");
    }
    if (strcmp(m->owner_id, a->id) != 0 && !roles_is_admin_of(a, m->org_id)) {
        mf_mailbox_clear(m);
        return mf_fail(err, 403, "forbidden", "R1",
                       "only the mailbox's owner or an admin may do this");
    }
    return 0;
}

/* Facts about where an address lives now (R7). */
int ops_address_facts(db *d, const char *norm, mf_address_facts *f, mf_mailbox *existing,
                         mf_user *holder, mf_error *err)
{
    memset(f, 0, sizeof(*f));
    mf_error sub;
    if (mailboxes_get_by_address(d, norm, existing, &sub) < 0) {
        if (sub.status != 404) {
            if (err) *err = sub;
            return -1;
        }
        return 0;
    }
    if (users_get(d, existing->owner_id, holder, err) < 0) {
        mf_mailbox_clear(existing);
        return -1;
    }
    f->in_use = 1;
    f->owner_id = existing->owner_id;
    f->org_id = existing->org_id;
    f->owner_locked = holder->locked;
    return 0;
}

/* Turn the first failed check into the API error, with error.limit/used (R3) or error.seat
 * (R7) as API.md asks. */
int ops_check_error(const mf_check *c, const mf_seat_facts *seat, const mf_address_facts *e,
                       mf_error *err)
{
    mailbox_policy_error(c, err);
    if (err && strcmp(c->rule, "R3") == 0)
        snprintf(err->extra, sizeof(err->extra), "{\"limit\":%d,\"used\":%d}", seat->limit,
                 seat->used);
    if (err && strcmp(c->rule, "R7") == 0 && e->in_use) {
        /* R1: the seat's user id is shown within its organisation (and to operators) only */
        int same_org = strcmp(e->org_id, seat->org_id) == 0;
        snprintf(err->extra, sizeof(err->extra), "{\"seat\":{\"user_id\":%s%s%s,\"state\":\"%s\"}}",
                 same_org ? "\"" : "", same_org ? e->owner_id : "null", same_org ? "\"" : "",
                 e->owner_locked ? "locked" : "active");
    }
    return -1;
}

int ops_mailbox_insert_in_tx(mf_app *app, db *d, const mf_actor *a, const mf_user *owner,
                             const mf_org *org, const char *norm, const char *kind,
                             const char *sender_name, const char *signature, int daily_limit,
                             const char *imap_json, const char *smtp_json, mf_mailbox *out,
                             mf_error *err)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->org_id, sizeof(out->org_id), "%s", owner->org_id);
    snprintf(out->owner_id, sizeof(out->owner_id), "%s", owner->id);
    snprintf(out->address, sizeof(out->address), "%s", norm);
    snprintf(out->address_norm, sizeof(out->address_norm), "%s", norm);
    snprintf(out->kind, sizeof(out->kind), "%s", kind);
    snprintf(out->status, sizeof(out->status), "connecting");
    snprintf(out->sender_name, sizeof(out->sender_name), "%s",
             sender_name ? sender_name : owner->name); /* R17 */
    out->signature = xstrdup(signature ? signature : "");
    out->daily_limit = limits_daily(daily_limit, app->cfg.default_daily_limit,
                                    org->max_daily_limit); /* R15 */
    char *imap = imap_json ? mf_seal(&app->key, imap_json) : NULL; /* R29 */
    char *smtp = smtp_json ? mf_seal(&app->key, smtp_json) : NULL;
    if (!imap || !smtp) {
        snprintf(out->status, sizeof(out->status), "disconnected");
        snprintf(out->status_reason, sizeof(out->status_reason),
                 "awaiting IMAP/SMTP settings: set them with PATCH /mailboxes/{id}");
    }
    int rc = mailboxes_insert(d, out, imap, smtp, err);
    free(imap);
    free(smtp);
    if (rc == 0 && strcmp(kind, "personal") == 0)
        rc = mailboxes_promote_default(d, owner->id, err); /* R16 */
    if (rc == 0) rc = audit_address(d, a, owner->org_id, "mailbox.create", out->id, norm);
    return rc;
}

int ops_mailbox_add(mf_app *app, db *d, const mf_actor *a, const mf_mailbox_input *in,
                    mf_mailbox *out, mf_error *err)
{
    memset(out, 0, sizeof(*out));
    char norm[MF_ADDR_MAX];
    const char *why;
    if (address_normalize(in->address, norm, &why) < 0)
        return mf_fail(err, 400, "invalid_request", NULL, "address: %s", why);
    const char *kind = in->kind ? in->kind : "personal";
    int shared = strcmp(kind, "shared") == 0;
    if (!shared && strcmp(kind, "personal") != 0)
        return mf_fail(err, 400, "invalid_request", NULL, "kind: must be personal or shared");

    if (db_begin(d, err) < 0) return -1;
    mf_user owner, holder;
    mf_org org;
    mf_mailbox existing;
    memset(&existing, 0, sizeof(existing));
    mf_address_facts e;
    int rc = ops_user_visible(d, a, in->owner_id, &owner, err);
    if (rc == 0 && (owner.role == ROLE_OPERATOR || owner.role == ROLE_CONTRIBUTOR))
        rc = mf_fail(err, 422, "invalid_request", "R5",
                     "owner_id: mailboxes go on the seat of an admin or a user");
    if (rc == 0) rc = orgs_get(d, owner.org_id, &org, err);
    mf_seat_facts seat = {.user_id = owner.id, .org_id = owner.org_id, .locked = owner.locked};
    if (rc == 0) rc = ops_seat_facts(app, d, &owner, &seat.used, &seat.limit, err);
    if (rc == 0 && shared) { /* shared mailboxes are not personal connections (R3, R20) */
        seat.used = 0;
        seat.limit = 1;
    }
    if (rc == 0) rc = ops_address_facts(d, norm, &e, &existing, &holder, err);
    if (rc == 0) {
        mf_add_facts f = {.actor = a,
                          .target = seat,
                          .address_norm = norm,
                          .shared = shared,
                          .is_generic = address_is_generic(norm, app->cfg.generic_local_parts,
                                                           app->cfg.generic_count),
                          .allow_generic = org.allow_generic,
                          .existing = e,
                          .permission = 0};
        mf_check checks[MF_CHECK_MAX];
        int n = mailbox_policy_checks(&f, checks);
        int bad = mailbox_policy_first_failure(checks, n);
        if (bad >= 0) rc = ops_check_error(&checks[bad], &seat, &e, err);
    }
    mf_mailbox_clear(&existing);
    if (rc == 0)
        rc = ops_mailbox_insert_in_tx(app, d, a, &owner, &org, norm, kind, in->sender_name,
                                      in->signature, in->daily_limit, in->imap_json,
                                      in->smtp_json, out, err);
    if (ops_finish(d, rc, err) < 0) {
        mf_mailbox_clear(out);
        return -1;
    }
    char id[MF_ID_LEN];
    snprintf(id, sizeof(id), "%s", out->id);
    mf_mailbox_clear(out);
    return mailboxes_get(d, id, out, err);
}

int ops_mailbox_update(mf_app *app, db *d, const mf_actor *a, const char *id,
                       const mf_mailbox_patch *p, mf_mailbox *out, mf_error *err)
{
    if (db_begin(d, err) < 0) return -1;
    mf_org org;
    int rc = ops_mailbox_visible(d, a, id, out, err);
    if (rc < 0) {
        db_rollback(d);
        return -1;
    }
    rc = orgs_get(d, out->org_id, &org, err);
    /* R20: the owner alone changes a shared mailbox's settings (admins transfer ownership) */
    if (rc == 0 && strcmp(out->kind, "shared") == 0 && strcmp(out->owner_id, a->id) != 0)
        rc = mf_fail(err, 403, "forbidden", "R20",
                     "only the owner of a shared mailbox changes its settings; an admin can give "
                     "it another owner (POST /mailboxes/{id}/owner)");
    json_t *changed = json_array();
    if (p->sender_name) {
        snprintf(out->sender_name, sizeof(out->sender_name), "%s", p->sender_name);
        json_array_append_new(changed, json_string("sender_name"));
    }
    if (p->signature) {
        free(out->signature);
        out->signature = xstrdup(p->signature);
        json_array_append_new(changed, json_string("signature"));
    }
    if (rc == 0 && p->daily_limit != LIMIT_UNSET) {
        out->daily_limit =
            limits_daily(p->daily_limit, app->cfg.default_daily_limit, org.max_daily_limit);
        json_array_append_new(changed, json_string("daily_limit"));
    }
    if (p->time_zone) {
        snprintf(out->time_zone, sizeof(out->time_zone), "%s", p->time_zone);
        json_array_append_new(changed, json_string("time_zone"));
    }
    if (p->min_gap_seconds >= 0) {
        out->min_gap_seconds = p->min_gap_seconds;
        json_array_append_new(changed, json_string("min_gap_seconds"));
    }
    if (p->smtp_connections > 0) {
        out->smtp_connections = p->smtp_connections;
        json_array_append_new(changed, json_string("smtp_connections"));
    }
    if (rc == 0) rc = mailboxes_update_settings(d, out, err);
    if (rc == 0 && (p->imap_json || p->smtp_json)) { /* new credentials: reconnect (R12) */
        char *imap = p->imap_json ? mf_seal(&app->key, p->imap_json) : NULL;
        char *smtp = p->smtp_json ? mf_seal(&app->key, p->smtp_json) : NULL;
        rc = mailboxes_set_credentials(d, out->id, imap, smtp, err);
        free(imap);
        free(smtp);
        json_array_append_new(changed, json_string("credentials"));
    }
    if (rc == 0) {
        json_t *j = json_pack("{s:s,s:O}", "address", out->address, "changed", changed);
        char *dj = json_dumps(j, JSON_COMPACT);
        rc = ops_audit(d, a, out->org_id, "mailbox.update", "mailbox", out->id, dj);
        free(dj);
        json_decref(j);
    }
    json_decref(changed);
    mf_mailbox_clear(out);
    if (ops_finish(d, rc, err) < 0) return -1;
    return mailboxes_get(d, id, out, err);
}

/* R8 + R9 inside the caller's transaction: tag and pause the prospects sending from it, purge
 * its history, let the owner's next oldest mailbox become default (R16). *tag_out (may be
 * NULL) receives the continuity tag. */
static int remove_mailbox(db *d, const mf_mailbox *m, const char *pause_reason, char *tag_out,
                          size_t tag_len, mf_error *err)
{
    char tag[MF_ADDR_MAX + 32];
    continuity_tag(m->address_norm, mf_now(), tag, sizeof(tag));
    if (prospects_pause_for_mailbox(d, m->id, pause_reason, tag, err) < 0) return -1;
    if (mailboxes_delete(d, m->id, err) < 0) return -1;
    if (mailboxes_promote_default(d, m->owner_id, err) < 0) return -1;
    if (tag_out) snprintf(tag_out, tag_len, "%s", tag);
    return 0;
}

int ops_mailbox_remove_in_tx(db *d, const mf_actor *a, const mf_mailbox *m,
                             const char *pause_reason, char *tag_out, size_t tag_len,
                             mf_error *err)
{
    if (remove_mailbox(d, m, pause_reason, tag_out, tag_len, err) < 0) return -1;
    return audit_address(d, a, m->org_id, "mailbox.delete", m->id, m->address);
}

int ops_mailbox_delete(db *d, const mf_actor *a, const char *id, int confirm, mf_error *err)
{
    mf_mailbox m;
    if (db_begin(d, err) < 0) return -1;
    int rc = ops_mailbox_visible(d, a, id, &m, err);
    if (rc < 0) {
        db_rollback(d);
        return -1;
    }
    if (!confirm) {
        rc = mf_fail(err, 428, "confirmation_required", "R9",
                     "deleting %s removes its synced messages, conversations and send log for "
                     "good; repeat with ?confirm=true",
                     m.address);
    } else {
        rc = ops_mailbox_remove_in_tx(d, a, &m, "mailbox_removed", NULL, 0, err);
    }
    mf_mailbox_clear(&m);
    return ops_finish(d, rc, err);
}

int ops_mailbox_make_default(db *d, const mf_actor *a, const char *id, mf_mailbox *out,
                             mf_error *err)
{
    if (db_begin(d, err) < 0) return -1;
    int rc = ops_mailbox_visible(d, a, id, out, err);
    if (rc < 0) {
        db_rollback(d);
        return -1;
    }
    if (strcmp(out->kind, "personal") != 0)
        rc = mf_fail(err, 422, "invalid_request", "R16",
                     "only a personal mailbox can be its owner's default");
    if (rc == 0) rc = mailboxes_set_default(d, out->owner_id, out->id, err);
    if (rc == 0) rc = audit_address(d, a, out->org_id, "mailbox.make_default", out->id, out->address);
    mf_mailbox_clear(out);
    if (ops_finish(d, rc, err) < 0) return -1;
    return mailboxes_get(d, id, out, err);
}

int ops_master_inbox_set(db *d, const mf_actor *a, char *const *ids, int n, const char *master_id,
                         mf_error *err)
{
    if (n < 1 || n > 500)
        return mf_fail(err, 400, "invalid_request", NULL, "mailbox_ids: give 1 to 500 ids");
    if (db_begin(d, err) < 0) return -1;
    mf_mailbox *mbs = xcalloc((size_t)n, sizeof(*mbs));
    mi_mailbox *t = xcalloc((size_t)n, sizeof(*t));
    mf_mailbox master;
    memset(&master, 0, sizeof(master));
    int rc = 0, loaded = 0, have_master = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        for (int j = 0; j < i; j++) {
            if (strcmp(ids[i], ids[j]) == 0)
                rc = mf_fail(err, 400, "invalid_request", NULL, "mailbox_ids: %s is listed twice",
                             ids[i]);
        }
        if (rc == 0) rc = ops_mailbox_visible(d, a, ids[i], &mbs[i], err);
        if (rc == 0) loaded++;
    }
    if (rc == 0 && master_id) {
        rc = ops_mailbox_visible(d, a, master_id, &master, err);
        if (rc == 0) have_master = 1;
    }
    for (int i = 0; i < n && rc == 0; i++) {
        int others = mailboxes_count_masters_of(d, mbs[i].id, err);
        if (others < 0) {
            rc = -1;
            break;
        }
        for (int j = 0; j < n; j++) { /* mailboxes of this change stop pointing at it */
            if (strcmp(mbs[j].master_id, mbs[i].id) == 0) others--;
        }
        t[i] = (mi_mailbox){.id = mbs[i].id,
                            .owner_id = mbs[i].owner_id,
                            .status = mbs[i].status,
                            .master_id = mbs[i].master_id,
                            .masters_others = others};
    }
    if (rc == 0 && have_master) {
        mi_mailbox m = {.id = master.id,
                        .owner_id = master.owner_id,
                        .status = master.status,
                        .master_id = master.master_id,
                        .masters_others = 0};
        enum mi_result r = master_inbox_validate(&m, t, (size_t)n);
        if (r != MI_OK) {
            static const char *why[] = {
                [MI_NOT_SAME_USER] = "the master inbox must be a mailbox of the same user",
                [MI_NOT_CONNECTED] = "the master inbox must be a connected mailbox (not failing "
                                     "or disconnected)",
                [MI_CHAIN] = "no chains: a master cannot have a master, and a mailbox that is "
                             "a master cannot get one",
            };
            rc = mf_fail(err, 422, "master_inbox_invalid", "R19", "%s", why[r]);
            if (err)
                snprintf(err->extra, sizeof(err->extra), "{\"reason\":\"%s\"}",
                         master_inbox_reason(r));
        }
    }
    for (int i = 0; i < n && rc == 0; i++) rc = mailboxes_set_master(d, mbs[i].id, master_id, err);
    /* R19: the routing changed, so leads paused for their master resume (a master that is down
     * pauses them again at the scheduler's next look) */
    for (int i = 0; i < n && rc == 0; i++)
        rc = db_exec(d, err,
                     "UPDATE enrollments SET state = 'active', pause_reason = NULL WHERE "
                     "mailbox_id = ? AND state = 'paused' AND pause_reason = 'master_inbox_down'",
                     mbs[i].id, DB_END) < 0
                 ? -1
                 : 0;
    if (rc == 0) {
        /* audit once; notify each owner an admin acted for (R19, R28) */
        json_t *list = json_array();
        for (int i = 0; i < n; i++) json_array_append_new(list, json_string(mbs[i].id));
        json_t *j = json_pack("{s:O,s:s?}", "mailbox_ids", list, "master_id", master_id);
        char *dj = json_dumps(j, JSON_COMPACT);
        rc = ops_audit(d, a, mbs[0].org_id, "master_inbox.set", "mailbox",
                       master_id ? master_id : mbs[0].id, dj);
        for (int i = 0; i < n && rc == 0; i++) {
            int seen = 0;
            for (int k = 0; k < i; k++) seen |= strcmp(mbs[k].owner_id, mbs[i].owner_id) == 0;
            if (seen || strcmp(mbs[i].owner_id, a->id) == 0) continue;
            json_t *nd = json_pack("{s:O,s:s?,s:s}", "mailbox_ids", list, "master_id", master_id,
                                   "set_by", a->id[0] ? a->id : "operator");
            char *nj = json_dumps(nd, JSON_COMPACT);
            rc = notifications_add(d, mbs[i].owner_id, "master_inbox_set", nj, err);
            free(nj);
            json_decref(nd);
        }
        free(dj);
        json_decref(j);
        json_decref(list);
    }
    for (int i = 0; i < loaded; i++) mf_mailbox_clear(&mbs[i]);
    mf_mailbox_clear(&master);
    free(mbs);
    free(t);
    return ops_finish(d, rc, err);
}

int ops_prospects_reassign(db *d, const mf_actor *a, const char *tag, const char *mailbox_id,
                           int *count, mf_error *err)
{
    if (!continuity_tag_valid(tag))
        return mf_fail(err, 400, "invalid_request", NULL, "tag: 1 to %d printable characters", MF_TAG_MAX);
    mf_mailbox m;
    if (db_begin(d, err) < 0) return -1;
    int rc = ops_mailbox_visible(d, a, mailbox_id, &m, err);
    if (rc < 0) {
        db_rollback(d);
        return -1;
    }
    /* R1: admins move any prospects of the org; a user moves their own, those sending from
     * their mailboxes, and those tagged for continuity of an address now on their seat (R8:
     * the new owner takes the prospects over). */
    const char *only_for = NULL;
    if (!roles_is_admin_of(a, m.org_id)) {
        only_for = a->id;
        char addr[MF_ADDR_MAX + 32];
        mf_mailbox held;
        memset(&held, 0, sizeof(held));
        const char *colon;
        if (strncmp(tag, "continuity:", 11) == 0 && (colon = strrchr(tag + 11, ':')) &&
            (size_t)(colon - (tag + 11)) < sizeof(addr)) {
            snprintf(addr, sizeof(addr), "%.*s", (int)(colon - (tag + 11)), tag + 11);
            if (mailboxes_get_by_address(d, addr, &held, NULL) == 0 &&
                strcmp(held.owner_id, a->id) == 0)
                only_for = NULL;
            mf_mailbox_clear(&held);
        }
    }
    int n = prospects_reassign(d, m.org_id, tag, m.id, m.owner_id, only_for, err);
    if (n < 0) rc = -1;
    if (rc == 0) {
        json_t *j = json_pack("{s:s,s:i}", "tag", tag, "reassigned", n);
        char *dj = json_dumps(j, JSON_COMPACT);
        rc = ops_audit(d, a, m.org_id, "prospects.reassign", "mailbox", m.id, dj);
        free(dj);
        json_decref(j);
    }
    mf_mailbox_clear(&m);
    if (ops_finish(d, rc, err) < 0) return -1;
    *count = n;
    return 0;
}
