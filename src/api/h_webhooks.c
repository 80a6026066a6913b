/* h_webhooks.c — /webhooks: an organisation's endpoints for events, and their deliveries
 * (docs/api.md "Webhooks"). The secret is in the answer of POST (and of PATCH with
 * rotate_secret) only. */
#include <stdlib.h>
#include <string.h>
#include "api/api.h"
#include "app/webhook_ops.h"
#include "core/webhook.h"
#include "util/crypto.h"

static json_t *render_webhook(const mf_webhook *w)
{
    json_t *ev = json_loads(w->events_json ? w->events_json : "[]", 0, NULL);
    return json_pack("{s:s,s:s,s:s,s:o,s:b,s:s,s:s}", "id", w->id, "org_id", w->org_id, "url",
                     w->url, "events", ev ? ev : json_array(), "active", w->active,
                     "created_at", w->created_at, "updated_at", w->updated_at);
}

static void collect_webhook(const mf_webhook *w, void *ctx)
{
    json_array_append_new((json_t *)ctx, render_webhook(w));
}

static json_t *str_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

static void collect_delivery(const mf_webhook_delivery *x, void *ctx)
{
    json_array_append_new(
        (json_t *)ctx,
        json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:o,s:o,s:o,s:o,s:o,s:s}", "id", x->id, "webhook_id",
                  x->webhook_id, "event", x->event, "event_id", x->event_id, "status", x->status,
                  "attempts", x->attempts, "status_code",
                  x->last_status_code > 0 ? json_integer(x->last_status_code) : json_null(),
                  "last_error", str_or_null(x->last_error), "next_attempt_at",
                  str_or_null(x->next_attempt_at), "last_attempt_at",
                  str_or_null(x->last_attempt_at), "delivered_at", str_or_null(x->delivered_at),
                  "created_at", x->created_at));
}

/* Read url, events, secret, active (and org_id, rotate_secret) from the body into in; the
 * strings point into b. *events is allocated (free it). */
static int read_input(api_req *r, json_t *b, int creating, mf_webhook_input *in,
                      const char ***events)
{
    memset(in, 0, sizeof(*in));
    in->n_events = -1;
    in->active = -1;
    *events = NULL;
    if (jin_str(r, b, "url", creating, WEBHOOK_URL_MAX - 1, &in->url) < 0) return -1;
    if (jin_str(r, b, "secret", 0, 128, &in->secret) < 0) return -1;
    if (creating && jin_str(r, b, "org_id", 0, MF_ID_LEN - 1, &in->org_id) < 0) return -1;
    int present = 0, v = 0;
    if (jin_bool(r, b, "active", &v, &present) < 0) return -1;
    if (present) in->active = v;
    if (!creating) {
        if (jin_bool(r, b, "rotate_secret", &v, &present) < 0) return -1;
        in->rotate_secret = present && v;
    }
    json_t *ev = json_object_get(b, "events");
    if (!ev || json_is_null(ev)) return creating ? api_bad(r, "events", "is required") : 0;
    if (!json_is_array(ev) || json_array_size(ev) == 0 ||
        json_array_size(ev) > WEBHOOK_EVENT_COUNT * 4)
        return api_bad(r, "events", "expected a list of 1 to %d event names",
                       WEBHOOK_EVENT_COUNT);
    size_t n = json_array_size(ev);
    *events = xcalloc(n, sizeof(**events));
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(ev, i));
        if (!s) return api_bad(r, "events", "item %zu is not a string", i);
        (*events)[i] = s;
    }
    in->events = *events;
    in->n_events = (int)n;
    return 0;
}

int h_webhooks_create(api_req *r)
{
    json_t *b;
    if (jin_body(r, &b) < 0) return -1;
    mf_webhook_input in;
    const char **events = NULL;
    mf_webhook w;
    memset(&w, 0, sizeof(w));
    char *secret = NULL;
    int rc = read_input(r, b, 1, &in, &events);
    if (rc == 0) {
        if (in.active < 0) in.active = 1;
        rc = ops_webhook_create(r->app, r->d, &r->actor, &in, &w, &secret, &r->err);
    }
    free(events);
    json_decref(b);
    if (rc < 0) return -1;
    json_t *out = render_webhook(&w);
    json_object_set_new(out, "secret", json_string(secret)); /* shown this once */
    mf_secret_free(&secret);
    mf_webhook_clear(&w);
    return api_ok(r, 201, out);
}

int h_webhooks_list(api_req *r)
{
    const char *org;
    if (ops_webhook_list_org(&r->actor, api_query(r, "org_id"), &org, &r->err) < 0) return -1;
    mf_page pg;
    if (api_page(r, &pg) < 0) return -1;
    json_t *items = json_array();
    if (webhooks_list(r->d, org, &pg, collect_webhook, items, &r->err) < 0) {
        json_decref(items);
        return -1;
    }
    return api_ok(r, 200, api_list(items, &pg));
}

int h_webhooks_get(api_req *r)
{
    mf_webhook w;
    if (ops_webhook_visible(r->d, &r->actor, r->params[0], &w, &r->err) < 0) return -1;
    json_t *out = render_webhook(&w);
    mf_webhook_clear(&w);
    return api_ok(r, 200, out);
}

int h_webhooks_patch(api_req *r)
{
    json_t *b;
    if (jin_body(r, &b) < 0) return -1;
    mf_webhook_input in;
    const char **events = NULL;
    mf_webhook w;
    memset(&w, 0, sizeof(w));
    char *secret = NULL;
    int rc = read_input(r, b, 0, &in, &events);
    if (rc == 0)
        rc = ops_webhook_update(r->app, r->d, &r->actor, r->params[0], &in, &w, &secret,
                                &r->err);
    free(events);
    json_decref(b);
    if (rc < 0) return -1;
    json_t *out = render_webhook(&w);
    if (secret) json_object_set_new(out, "secret", json_string(secret)); /* rotated: once */
    mf_secret_free(&secret);
    mf_webhook_clear(&w);
    return api_ok(r, 200, out);
}

int h_webhooks_delete(api_req *r)
{
    if (ops_webhook_delete(r->d, &r->actor, r->params[0], &r->err) < 0) return -1;
    return api_no_content(r);
}

int h_webhook_deliveries(api_req *r)
{
    mf_webhook w;
    if (ops_webhook_visible(r->d, &r->actor, r->params[0], &w, &r->err) < 0) return -1;
    mf_webhook_clear(&w);
    const char *status = api_query(r, "status");
    if (status && strcmp(status, "pending") != 0 && strcmp(status, "delivered") != 0 &&
        strcmp(status, "failed") != 0)
        return api_bad(r, "status", "expected pending, delivered or failed");
    mf_page pg;
    if (api_page(r, &pg) < 0) return -1;
    json_t *items = json_array();
    if (webhook_deliveries_list(r->d, r->params[0], status, &pg, collect_delivery, items,
                                &r->err) < 0) {
        json_decref(items);
        return -1;
    }
    return api_ok(r, 200, api_list(items, &pg));
}
