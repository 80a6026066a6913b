/* h_requests.c — /mailbox-requests: file, list, approve, reject (R10). */
#include <string.h>
#include "api/api.h"
#include "util/strbuf.h"

int h_requests_create(api_req *r)
{
    json_t *b;
    if (jin_body(r, &b) < 0) return -1;
    mf_request_input in = {0};
    int rc = jin_str(r, b, "kind", 1, 32, &in.kind);
    if (rc == 0 && strcmp(in.kind, "add") != 0 && strcmp(in.kind, "change_owner") != 0)
        rc = api_bad(r, "kind", "must be add or change_owner");
    if (rc == 0) rc = jin_str(r, b, "address", 1, 1000, &in.address);
    if (rc == 0) rc = jin_str(r, b, "target_user_id", 1, MF_ID_LEN - 1, &in.target_user_id);
    if (rc == 0 && !mf_id_valid(in.target_user_id))
        rc = store_not_found(&r->err, "user");
    if (rc == 0) rc = jin_bool(r, b, "remove_from_other_seat", &in.remove_from_other_seat, NULL);
    mf_request q;
    memset(&q, 0, sizeof(q));
    if (rc == 0) rc = ops_request_create(r->app, r->d, &r->actor, &in, &q, &r->err);
    json_decref(b);
    if (rc < 0) return -1;
    /* written as text (the checks were made by this request): the benchmarked write route */
    strbuf sb;
    strbuf_init(&sb, 1 << 20);
    write_request(&sb, &q);
    mf_request_clear(&q);
    return api_text(r, 201, "application/json", strbuf_detach(&sb, NULL));
}

int h_requests_list(api_req *r)
{
    const char *org = r->actor.org_id, *requester = NULL;
    if (r->actor.role == ROLE_OPERATOR) org = api_query(r, "org_id");
    else if (r->actor.role != ROLE_ADMIN) requester = r->actor.id;
    const char *status = api_query(r, "status");
    if (status && strcmp(status, "pending") && strcmp(status, "completed") &&
        strcmp(status, "rejected"))
        return api_bad(r, "status", "must be pending, completed or rejected");
    mf_page pg;
    if (api_page(r, &pg) < 0) return -1;
    json_t *items = json_array();
    if (requests_list(r->d, org, requester, status, &pg, collect_request, items, &r->err) < 0) {
        json_decref(items);
        return -1;
    }
    return api_ok(r, 200, api_list(items, &pg));
}

int h_requests_get(api_req *r)
{
    mf_request q;
    if (ops_request_visible(r->d, &r->actor, r->params[0], &q, &r->err) < 0) return -1;
    api_ok(r, 200, render_request(&q));
    mf_request_clear(&q);
    return 0;
}

int h_requests_approve(api_req *r)
{
    mf_request q;
    if (ops_request_approve(r->app, r->d, &r->actor, r->params[0], &q, &r->err) < 0) return -1;
    app_wake_engine(r->app);
    api_ok(r, 200, render_request(&q));
    mf_request_clear(&q);
    return 0;
}

int h_requests_reject(api_req *r)
{
    json_t *b;
    if (jin_body(r, &b) < 0) return -1;
    const char *reason;
    mf_request q;
    memset(&q, 0, sizeof(q));
    int rc = jin_str(r, b, "reason", 1, 500, &reason);
    if (rc == 0) rc = ops_request_reject(r->d, &r->actor, r->params[0], reason, &q, &r->err);
    json_decref(b);
    if (rc < 0) return -1;
    api_ok(r, 200, render_request(&q));
    mf_request_clear(&q);
    return 0;
}
