/* h_audit.c — /audit-log (R27) and /notifications (R28). */
#include <string.h>
#include "api/api.h"

static void collect_audit(const mf_audit_entry *a, void *ctx)
{
    json_t *detail = json_loads(a->detail_json, 0, NULL);
    json_array_append_new(
        (json_t *)ctx,
        json_pack("{s:s,s:o,s:o,s:s,s:s,s:s,s:o,s:o,s:s}", "id", a->id, "org_id",
                  a->org_id[0] ? json_string(a->org_id) : json_null(), "actor_id",
                  a->actor_id[0] ? json_string(a->actor_id) : json_null(), "actor_role",
                  a->actor_role, "action", a->action, "target_type", a->target_type, "target_id",
                  a->target_id[0] ? json_string(a->target_id) : json_null(), "detail",
                  detail ? detail : json_object(), "created_at", a->created_at));
}

int h_audit_list(api_req *r)
{
    const char *org = r->actor.org_id;
    if (r->actor.role == ROLE_OPERATOR) org = api_query(r, "org_id");
    else if (r->actor.role != ROLE_ADMIN)
        return mf_fail(&r->err, 403, "forbidden", "R27", "only admins read the audit log");
    mf_page pg;
    if (api_page(r, &pg) < 0) return -1;
    json_t *items = json_array();
    if (audit_list(r->d, org, &pg, collect_audit, items, &r->err) < 0) {
        json_decref(items);
        return -1;
    }
    return api_ok(r, 200, api_list(items, &pg));
}

static void collect_notification(const mf_notification *n, void *ctx)
{
    json_t *data = json_loads(n->data_json, 0, NULL);
    json_array_append_new((json_t *)ctx,
                          json_pack("{s:s,s:s,s:s,s:b,s:o}", "id", n->id, "kind", n->kind,
                                    "created_at", n->created_at, "read", n->read, "data",
                                    data ? data : json_object()));
}

int h_notifications_list(api_req *r)
{
    mf_page pg;
    if (api_page(r, &pg) < 0) return -1;
    json_t *items = json_array();
    if (notifications_list(r->d, r->actor.id, &pg, collect_notification, items, &r->err) < 0) {
        json_decref(items);
        return -1;
    }
    return api_ok(r, 200, api_list(items, &pg));
}

int h_notifications_read(api_req *r)
{
    if (notifications_mark_read(r->d, r->actor.id, r->params[0], &r->err) < 0) return -1;
    return api_no_content(r);
}
