/* h_orgs.c — /orgs: organisations and their contract settings (operators; R1, R3, R6, R10). */
#include <string.h>
#include "api/api.h"
#include "core/limits.h"

int h_healthz(api_req *r)
{
    return api_ok(r, 200, json_pack("{s:s}", "status", "ok"));
}

/* Contract fields shared by create and patch. */
static int read_contract(api_req *r, json_t *b, mf_org *o)
{
    int v, present;
    json_t *ml = json_object_get(b, "mailbox_limit");
    if (ml && json_is_null(ml)) {
        o->mailbox_limit = LIMIT_UNSET;
    } else {
        if (jin_int(r, b, "mailbox_limit", 0, 0, 10000, &v, &present) < 0) return -1;
        if (present) o->mailbox_limit = v;
    }
    if (jin_bool(r, b, "allow_generic", &v, &present) < 0) return -1;
    if (present) o->allow_generic = v;
    if (jin_bool(r, b, "admin_self_approve", &v, &present) < 0) return -1;
    if (present) o->admin_self_approve = v;
    if (jin_int(r, b, "max_daily_limit", 0, 1, 1000000, &v, &present) < 0) return -1;
    if (present) o->max_daily_limit = v;
    return 0;
}

int h_orgs_create(api_req *r)
{
    json_t *b;
    if (jin_body(r, &b) < 0) return -1;
    mf_org o;
    memset(&o, 0, sizeof(o));
    o.mailbox_limit = LIMIT_UNSET;
    o.max_daily_limit = r->app->cfg.default_daily_limit;
    const char *name;
    int rc = jin_str(r, b, "name", 1, MF_NAME_MAX - 1, &name);
    if (rc == 0) {
        snprintf(o.name, sizeof(o.name), "%s", name);
        rc = read_contract(r, b, &o);
    }
    json_decref(b);
    if (rc < 0) return -1;
    if (ops_org_create(r->d, &r->actor, &o, &r->err) < 0) return -1;
    return api_ok(r, 201, render_org(&o));
}

int h_orgs_list(api_req *r)
{
    if (r->actor.role != ROLE_OPERATOR) {
        /* everyone else sees their own organisation */
        mf_org o;
        if (orgs_get(r->d, r->actor.org_id, &o, &r->err) < 0) return -1;
        json_t *items = json_array();
        json_array_append_new(items, render_org(&o));
        return api_ok(r, 200, json_pack("{s:o,s:n}", "items", items, "next_cursor"));
    }
    mf_page pg;
    if (api_page(r, &pg) < 0) return -1;
    json_t *items = json_array();
    if (orgs_list(r->d, &pg, collect_org, items, &r->err) < 0) {
        json_decref(items);
        return -1;
    }
    return api_ok(r, 200, api_list(items, &pg));
}

int h_orgs_get(api_req *r)
{
    mf_org o;
    if (!roles_can_access_org(&r->actor, r->params[0])) return store_not_found(&r->err, "organisation");
    if (orgs_get(r->d, r->params[0], &o, &r->err) < 0) return -1;
    return api_ok(r, 200, render_org(&o));
}

int h_orgs_patch(api_req *r)
{
    if (!roles_can_access_org(&r->actor, r->params[0])) return store_not_found(&r->err, "organisation");
    if (r->actor.role != ROLE_OPERATOR)
        return mf_fail(&r->err, 403, "forbidden", "R1",
                       "contract settings are changed by an operator");
    json_t *b;
    if (jin_body(r, &b) < 0) return -1;
    if (db_begin(r->d, &r->err) < 0) {
        json_decref(b);
        return -1;
    }
    mf_org o;
    int rc = orgs_get(r->d, r->params[0], &o, &r->err);
    const char *name = NULL;
    if (rc == 0) rc = jin_str(r, b, "name", 0, MF_NAME_MAX - 1, &name);
    if (rc == 0 && name) snprintf(o.name, sizeof(o.name), "%s", name);
    if (rc == 0) rc = read_contract(r, b, &o);
    if (rc == 0) rc = orgs_update(r->d, &o, &r->err);
    if (rc == 0) {
        json_t *j = render_org(&o);
        char *dj = json_dumps(j, JSON_COMPACT);
        rc = ops_audit(r->d, &r->actor, o.id, "org.update", "org", o.id, dj);
        free(dj);
        json_decref(j);
    }
    json_decref(b);
    if (rc < 0) {
        db_rollback(r->d);
        return -1;
    }
    if (db_commit(r->d, &r->err) < 0) return -1;
    return api_ok(r, 200, render_org(&o));
}
