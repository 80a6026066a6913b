/* h_audit.c — /audit-log (R27), /notifications and /me/notification-preferences (R28). */
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
    const char *unread = api_query(r, "unread");
    int unread_only = 0;
    if (unread && (strcmp(unread, "true") == 0 || strcmp(unread, "1") == 0)) unread_only = 1;
    else if (unread && strcmp(unread, "false") != 0 && strcmp(unread, "0") != 0)
        return api_bad(r, "unread", "expected true or false");
    json_t *items = json_array();
    if (notifications_list_filtered(r->d, r->actor.id, unread_only, &pg, collect_notification,
                                    items, &r->err) < 0) {
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

int h_notifications_read_all(api_req *r)
{
    int n = notifications_mark_all_read(r->d, r->actor.id, &r->err);
    if (n < 0) return -1;
    return api_ok(r, 200, json_pack("{s:i}", "marked", n));
}

static json_t *render_prefs(const int email[NOTIFICATION_KIND_COUNT])
{
    json_t *o = json_object();
    for (int i = 0; i < NOTIFICATION_KIND_COUNT; i++)
        json_object_set_new(o, notification_kinds[i], json_boolean(email[i]));
    return o;
}

int h_notification_prefs_get(api_req *r)
{
    int email[NOTIFICATION_KIND_COUNT];
    if (notification_prefs_get(r->d, r->actor.id, email, &r->err) < 0) return -1;
    return api_ok(r, 200, render_prefs(email));
}

/* {kind: bool email, ...}: only the kinds given change; the answer has all of them. */
int h_notification_prefs_put(api_req *r)
{
    json_t *b;
    if (jin_body(r, &b) < 0) return -1;
    const char *k;
    json_t *v;
    int rc = 0;
    json_object_foreach(b, k, v)
    {
        if (!notification_kind_valid(k)) {
            rc = api_bad(r, k, "not a notification kind (master_inbox_set, mailbox_failing, "
                               "mailbox_recovered, request_approved, request_rejected, "
                               "invite_accepted, conversation_unassigned)");
            break;
        }
        if (!json_is_boolean(v)) {
            rc = api_bad(r, k, "expected true or false (email on or off)");
            break;
        }
    }
    if (rc == 0 && db_begin(r->d, &r->err) < 0) rc = -1;
    else if (rc == 0) {
        json_object_foreach(b, k, v)
        {
            if (notification_prefs_set(r->d, r->actor.id, k, json_is_true(v), &r->err) < 0) {
                rc = -1;
                break;
            }
        }
        rc = ops_finish(r->d, rc, &r->err);
    }
    json_decref(b);
    if (rc < 0) return -1;
    return h_notification_prefs_get(r);
}
