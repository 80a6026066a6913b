/* webhook_ops.c — create, change, delete webhooks; see webhook_ops.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "app/webhook_ops.h"
#include "core/roles.h"
#include "core/webhook.h"
#include "util/crypto.h"
#include "util/netaddr.h"

static int forbidden(mf_error *err)
{
    return mf_fail(err, 403, "forbidden", NULL, "only admins manage webhooks");
}

int ops_webhook_list_org(const mf_actor *a, const char *org_query, const char **org_out,
                         mf_error *err)
{
    if (a->role == ROLE_OPERATOR) *org_out = org_query;
    else if (a->role == ROLE_ADMIN) *org_out = a->org_id;
    else return forbidden(err);
    return 0;
}

/* The events as a JSON array in the canonical order, duplicates dropped. */
static int events_json(const char *const *events, int n, char **out, mf_error *err)
{
    if (n < 1 || n > 64)
        return mf_fail(err, 400, "invalid_request", NULL,
                       "events: give a list of 1 to %d event names", WEBHOOK_EVENT_COUNT);
    int want[WEBHOOK_EVENT_COUNT] = {0};
    for (int i = 0; i < n; i++) {
        int found = 0;
        for (int k = 0; k < WEBHOOK_EVENT_COUNT; k++) {
            if (events[i] && strcmp(events[i], webhook_events[k]) == 0) want[k] = found = 1;
        }
        if (!found)
            return mf_fail(err, 400, "invalid_request", NULL,
                           "events: item %d is not an event (message.received, message.reply, "
                           "message.bounce, mailbox.status, conversation.assigned, "
                           "enrollment.paused)",
                           i);
    }
    json_t *arr = json_array();
    for (int k = 0; k < WEBHOOK_EVENT_COUNT; k++)
        if (want[k]) json_array_append_new(arr, json_string(webhook_events[k]));
    *out = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    return 0;
}

/* A valid URL, and unless the operator allows it (webhook_allow_private), not one written
 * with a loopback/private address or "localhost": an org admin must not reach the server's own
 * network through mailfleet. Names are judged again at delivery, on the resolved address. */
static int check_url(mf_app *app, const char *url, mf_error *err)
{
    char why[200], host[300];
    if (webhook_url_check(url, why, sizeof(why)) < 0)
        return mf_fail(err, 400, "invalid_request", NULL, "url: %s", why);
    if (!app->cfg.webhook_allow_private && webhook_url_host(url, host, sizeof(host)) == 0 &&
        netaddr_host_is_internal(host) == 1)
        return mf_fail(err, 400, "invalid_request", NULL,
                       "url: %s is a loopback or private address; webhooks go to public "
                       "addresses unless the operator sets webhook_allow_private = true", host);
    return 0;
}

/* The secret to use (given or generated; caller frees with mf_secret_free) and its seal. */
static int make_secret(mf_app *app, const char *given, char **secret, char **sealed,
                       mf_error *err)
{
    char why[200];
    if (given && webhook_secret_check(given, why, sizeof(why)) < 0)
        return mf_fail(err, 400, "invalid_request", NULL, "secret: %s", why);
    *secret = given ? xstrdup(given) : mf_token_new("whsec_");
    *sealed = mf_seal(&app->key, *secret);
    if (!*sealed) {
        mf_secret_free(secret);
        return mf_fail_internal(err, "cannot seal the webhook secret");
    }
    return 0;
}

static char *audit_detail(const mf_webhook *w, const char *secret_note)
{
    json_t *ev = json_loads(w->events_json ? w->events_json : "[]", 0, NULL);
    json_t *j = json_pack("{s:s,s:o,s:b}", "url", w->url, "events", ev ? ev : json_array(),
                          "active", w->active);
    if (secret_note) json_object_set_new(j, "secret", json_string(secret_note));
    char *dj = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return dj;
}

int ops_webhook_create(mf_app *app, db *d, const mf_actor *a, const mf_webhook_input *in,
                       mf_webhook *out, char **secret_out, mf_error *err)
{
    memset(out, 0, sizeof(*out));
    *secret_out = NULL;
    if (a->role != ROLE_ADMIN && a->role != ROLE_OPERATOR) return forbidden(err);
    const char *org = a->role == ROLE_ADMIN ? a->org_id : in->org_id;
    if (a->role == ROLE_ADMIN && in->org_id && strcmp(in->org_id, a->org_id) != 0)
        return store_not_found(err, "organisation");
    if (!org || !*org)
        return mf_fail(err, 400, "invalid_request", NULL, "org_id: is required for operators");
    mf_org o;
    if (orgs_get(d, org, &o, err) < 0) return -1;
    if (!in->url) return mf_fail(err, 400, "invalid_request", NULL, "url: is required");
    if (check_url(app, in->url, err) < 0) return -1;
    char *events = NULL, *secret = NULL, *sealed = NULL;
    if (events_json(in->events, in->n_events, &events, err) < 0) return -1;
    if (make_secret(app, in->secret, &secret, &sealed, err) < 0) {
        free(events);
        return -1;
    }
    snprintf(out->org_id, sizeof(out->org_id), "%s", org);
    snprintf(out->url, sizeof(out->url), "%s", in->url);
    out->events_json = events;
    out->active = in->active != 0;
    int rc = db_begin(d, err);
    if (rc == 0) rc = webhooks_insert(d, out, sealed, a->id[0] ? a->id : NULL, err);
    if (rc == 0) {
        char *dj = audit_detail(out, NULL);
        rc = ops_audit(d, a, org, "webhook.create", "webhook", out->id, dj);
        free(dj);
    }
    free(sealed);
    if (ops_finish(d, rc, err) < 0) {
        mf_secret_free(&secret);
        mf_webhook_clear(out);
        return -1;
    }
    *secret_out = secret;
    return 0;
}

int ops_webhook_visible(db *d, const mf_actor *a, const char *id, mf_webhook *out,
                        mf_error *err)
{
    memset(out, 0, sizeof(*out));
    if (a->role != ROLE_ADMIN && a->role != ROLE_OPERATOR) return forbidden(err);
    if (webhooks_get(d, id, out, err) < 0) return -1;
    if (!roles_is_admin_of(a, out->org_id)) {
        mf_webhook_clear(out);
        return store_not_found(err, "webhook");
    }
    return 0;
}

int ops_webhook_update(mf_app *app, db *d, const mf_actor *a, const char *id,
                       const mf_webhook_input *in, mf_webhook *out, char **secret_out,
                       mf_error *err)
{
    *secret_out = NULL;
    if (in->url && check_url(app, in->url, err) < 0) return -1;
    char *events = NULL, *secret = NULL, *sealed = NULL;
    if (in->n_events >= 0 && events_json(in->events, in->n_events, &events, err) < 0) return -1;
    if (in->secret && in->rotate_secret) {
        free(events);
        return mf_fail(err, 400, "invalid_request", NULL,
                       "secret: give a secret or rotate_secret, not both");
    }
    if ((in->secret || in->rotate_secret) &&
        make_secret(app, in->secret, &secret, &sealed, err) < 0) {
        free(events);
        return -1;
    }
    int rc = db_begin(d, err);
    if (rc == 0) rc = ops_webhook_visible(d, a, id, out, err);
    if (rc == 0) {
        if (in->url) snprintf(out->url, sizeof(out->url), "%s", in->url);
        if (events) {
            free(out->events_json);
            out->events_json = events;
            events = NULL;
        }
        if (in->active >= 0) out->active = in->active != 0;
        rc = webhooks_update(d, out, sealed, err);
    }
    if (rc == 0) {
        char *dj = audit_detail(out, secret ? (in->rotate_secret ? "rotated" : "replaced") : NULL);
        rc = ops_audit(d, a, out->org_id, "webhook.update", "webhook", out->id, dj);
        free(dj);
    }
    free(events);
    free(sealed);
    if (ops_finish(d, rc, err) < 0) {
        mf_secret_free(&secret);
        mf_webhook_clear(out);
        return -1;
    }
    if (in->rotate_secret) *secret_out = secret;
    else mf_secret_free(&secret);
    return 0;
}

int ops_webhook_delete(db *d, const mf_actor *a, const char *id, mf_error *err)
{
    mf_webhook w;
    memset(&w, 0, sizeof(w));
    int rc = db_begin(d, err);
    if (rc == 0) rc = ops_webhook_visible(d, a, id, &w, err);
    if (rc == 0) rc = webhooks_delete(d, id, err);
    if (rc == 0) {
        char *dj = audit_detail(&w, NULL);
        rc = ops_audit(d, a, w.org_id, "webhook.delete", "webhook", id, dj);
        free(dj);
    }
    mf_webhook_clear(&w);
    return ops_finish(d, rc, err);
}
