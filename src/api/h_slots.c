/* h_slots.c — /slots and /users/{id}/slots: buy, assign, remove connection slots (R3, R4). */
#include <string.h>
#include "api/api.h"

static const char *admin_org(api_req *r)
{
    if (r->actor.role == ROLE_OPERATOR) {
        const char *q = api_query(r, "org_id");
        return q && *q ? q : NULL;
    }
    return r->actor.org_id;
}

int h_slots_buy(api_req *r)
{
    json_t *b;
    if (jin_body(r, &b) < 0) return -1;
    int count = 0;
    const char *org_id = NULL;
    int rc = jin_int(r, b, "count", 1, 1, 100, &count, NULL);
    if (rc == 0) rc = jin_str(r, b, "org_id", 0, MF_ID_LEN - 1, &org_id);
    if (rc == 0 && !org_id) org_id = admin_org(r);
    if (rc == 0 && !org_id) rc = api_bad(r, "org_id", "is required for operators");
    if (rc == 0 && !roles_can_access_org(&r->actor, org_id))
        rc = store_not_found(&r->err, "organisation");
    json_t *slots = json_array();
    if (rc == 0) rc = ops_slots_buy(r->d, &r->actor, org_id, count, collect_slot, slots, &r->err);
    json_decref(b);
    if (rc < 0) {
        json_decref(slots);
        return -1;
    }
    return api_ok(r, 201, json_pack("{s:o}", "slots", slots));
}

int h_slots_list(api_req *r)
{
    const char *org = admin_org(r);
    if (!org) return api_bad(r, "org_id", "is required for operators");
    if (!roles_is_admin_of(&r->actor, org))
        return mf_fail(&r->err, 403, "forbidden", "R1", "only admins list the slots");
    mf_page pg;
    if (api_page(r, &pg) < 0) return -1;
    json_t *items = json_array();
    if (slots_list(r->d, org, NULL, &pg, collect_slot, items, &r->err) < 0) {
        json_decref(items);
        return -1;
    }
    return api_ok(r, 200, api_list(items, &pg));
}

int h_user_slots_assign(api_req *r)
{
    json_t *b;
    if (jin_body(r, &b) < 0) return -1;
    int count = 0;
    int rc = jin_int(r, b, "count", 1, 1, 100, &count, NULL);
    json_decref(b);
    if (rc < 0) return -1;
    if (ops_slots_assign(r->d, &r->actor, r->params[0], count, &r->err) < 0) return -1;
    mf_user u;
    mf_connections c;
    if (users_get(r->d, r->params[0], &u, &r->err) < 0) return -1;
    if (ops_connections(r->app, r->d, &u, &c, &r->err) < 0) return -1;
    json_t *out = render_connections(&u, &c);
    json_t *slots = json_array();
    mf_page pg = {.cursor = NULL, .limit = 500};
    slots_list(r->d, u.org_id, u.id, &pg, collect_slot, slots, NULL);
    json_object_set_new(out, "slots", slots);
    return api_ok(r, 200, out);
}

int h_user_slots_remove(api_req *r)
{
    if (ops_slot_remove(r->app, r->d, &r->actor, r->params[0], r->params[1], &r->err) < 0)
        return -1;
    return api_no_content(r);
}
