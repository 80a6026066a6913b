/* h_sequences.c — /sequences, /enrollments (R18) and the public one-click unsubscribe page
 * /u/{token} (R25, RFC 8058). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api/api.h"
#include "core/sendday.h"

static json_t *render_sequence(const mf_sequence *s, const mf_step *steps, int n)
{
    static const char *dnames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
    json_t *days = json_array();
    for (int i = 0; i < 7; i++)
        if (s->window_days & (1 << i)) json_array_append_new(days, json_string(dnames[i]));
    char start[32], end[32];
    snprintf(start, sizeof(start), "%02d:%02d", s->window_start / 60, s->window_start % 60);
    snprintf(end, sizeof(end), "%02d:%02d", s->window_end / 60, s->window_end % 60);
    json_t *o = json_pack("{s:s,s:s,s:s,s:o,s:s,s:s,s:{s:o,s:s,s:s,s:s},s:s}", "id", s->id,
                          "org_id", s->org_id, "owner_id", s->owner_id, "mailbox_id",
                          s->mailbox_id[0] ? json_string(s->mailbox_id) : json_null(), "name",
                          s->name, "state", s->state, "window", "days", days, "start", start,
                          "end", end, "time_zone", s->time_zone, "created_at", s->created_at);
    if (steps) {
        json_t *arr = json_array();
        for (int i = 0; i < n; i++) {
            json_t *st = json_pack("{s:i,s:s,s:s}", "delay_minutes", steps[i].delay_minutes,
                                   "subject", steps[i].subject, "text", steps[i].text);
            if (steps[i].html) json_object_set_new(st, "html", json_string(steps[i].html));
            json_array_append_new(arr, st);
        }
        json_object_set_new(o, "steps", arr);
    }
    return o;
}

static json_t *render_enrollment(const mf_enrollment *e)
{
    return json_pack("{s:s,s:s,s:s,s:o,s:s,s:o,s:i,s:s,s:o,s:s,s:s}", "id", e->id, "sequence_id",
                     e->sequence_id, "prospect_id", e->prospect_id, "mailbox_id",
                     e->mailbox_id[0] ? json_string(e->mailbox_id) : json_null(), "state",
                     e->state, "pause_reason",
                     e->pause_reason[0] ? json_string(e->pause_reason) : json_null(), "step",
                     e->step, "next_at", e->next_at, "resume_at",
                     e->resume_at[0] ? json_string(e->resume_at) : json_null(), "created_at",
                     e->created_at, "updated_at", e->updated_at);
}

static void collect_enrollment(const mf_enrollment *e, void *ctx)
{
    json_array_append_new((json_t *)ctx, render_enrollment(e));
}

static void collect_sequence(const mf_sequence *s, void *ctx)
{
    json_array_append_new((json_t *)ctx, render_sequence(s, NULL, 0));
}

/* "HH:MM" → minutes; -1 when malformed. */
static int parse_hhmm(const char *s)
{
    int h, m;
    char extra;
    if (!s || sscanf(s, "%2d:%2d%c", &h, &m, &extra) != 2 || h < 0 || h > 24 || m < 0 || m > 59 ||
        (h == 24 && m != 0))
        return -1;
    return h * 60 + m;
}

static int read_window(api_req *r, json_t *b, mf_sequence *s)
{
    s->window_days = 0x7f;
    s->window_start = 0;
    s->window_end = 1440;
    snprintf(s->time_zone, sizeof(s->time_zone), "UTC");
    json_t *w = json_object_get(b, "window");
    if (!w || json_is_null(w)) return 0;
    if (!json_is_object(w)) return api_bad(r, "window", "expected {days, start, end, time_zone}");
    json_t *days = json_object_get(w, "days");
    if (days) {
        static const char *dnames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
        if (!json_is_array(days) || json_array_size(days) == 0)
            return api_bad(r, "window.days", "expected a list such as [\"mon\",\"tue\"]");
        s->window_days = 0;
        for (size_t i = 0; i < json_array_size(days); i++) {
            const char *d = json_string_value(json_array_get(days, i));
            int found = -1;
            for (int k = 0; d && k < 7; k++)
                if (strcasecmp(d, dnames[k]) == 0) found = k;
            if (found < 0) return api_bad(r, "window.days", "item %zu is not a day (mon..sun)", i);
            s->window_days |= 1 << found;
        }
    }
    const char *start, *end, *tz;
    if (jin_str(r, w, "start", 0, 5, &start) < 0 || jin_str(r, w, "end", 0, 5, &end) < 0 ||
        jin_str(r, w, "time_zone", 0, 100, &tz) < 0)
        return -1;
    if (start && (s->window_start = parse_hhmm(start)) < 0)
        return api_bad(r, "window.start", "expected HH:MM");
    if (end && (s->window_end = parse_hhmm(end)) < 0)
        return api_bad(r, "window.end", "expected HH:MM");
    if (s->window_end <= s->window_start)
        return api_bad(r, "window.end", "must be after window.start");
    if (tz) {
        if (!app_zone_known(tz)) return api_bad(r, "window.time_zone", "not a known time zone");
        snprintf(s->time_zone, sizeof(s->time_zone), "%s", tz);
    }
    return 0;
}

int h_sequences_create(api_req *r)
{
    json_t *b;
    if (jin_body(r, &b) < 0) return -1;
    mf_sequence s;
    memset(&s, 0, sizeof(s));
    const char *name, *mailbox = NULL;
    mf_step *steps = NULL;
    int n = 0;
    int rc = jin_str(r, b, "name", 1, MF_NAME_MAX - 1, &name);
    if (rc == 0) rc = jin_str(r, b, "mailbox_id", 0, MF_ID_LEN - 1, &mailbox);
    if (rc == 0 && mailbox && !mf_id_valid(mailbox)) rc = store_not_found(&r->err, "mailbox");
    if (rc == 0) rc = read_window(r, b, &s);
    json_t *js = json_object_get(b, "steps");
    if (rc == 0 && (!json_is_array(js) || json_array_size(js) == 0 || json_array_size(js) > 50))
        rc = api_bad(r, "steps", "give 1 to 50 steps {delay_minutes, subject, text}");
    if (rc == 0) {
        n = (int)json_array_size(js);
        steps = xcalloc((size_t)n, sizeof(*steps));
        for (int i = 0; rc == 0 && i < n; i++) {
            json_t *o = json_array_get(js, (size_t)i);
            const char *subj, *text, *html = NULL;
            int delay = 0;
            if (!json_is_object(o)) rc = api_bad(r, "steps", "item %d is not an object", i);
            if (rc == 0) rc = jin_int(r, o, "delay_minutes", 1, 0, 525600, &delay, NULL);
            if (rc == 0) rc = jin_str(r, o, "subject", 1, 998, &subj);
            if (rc == 0) rc = jin_str(r, o, "text", 1, 1024 * 1024, &text);
            if (rc == 0) rc = jin_str(r, o, "html", 0, 1024 * 1024, &html);
            if (rc < 0) {
                mf_error_prefix(&r->err, "steps[%d].", i);
                break;
            }
            steps[i] = (mf_step){.idx = i, .delay_minutes = delay, .subject = (char *)subj,
                                 .text = (char *)text, .html = (char *)html};
        }
    }
    if (rc == 0) {
        snprintf(s.name, sizeof(s.name), "%s", name);
        if (mailbox) snprintf(s.mailbox_id, sizeof(s.mailbox_id), "%s", mailbox);
        rc = ops_sequence_create(r->d, &r->actor, &s, steps, n, &r->err);
    }
    json_t *out = rc == 0 ? render_sequence(&s, steps, n) : NULL;
    free(steps); /* the strings belong to b */
    json_decref(b);
    if (rc < 0) return -1;
    app_wake_engine(r->app);
    return api_ok(r, 201, out);
}

int h_sequences_list(api_req *r)
{
    mf_page pg;
    if (api_page(r, &pg) < 0) return -1;
    const char *org = r->actor.org_id, *owner = NULL;
    if (r->actor.role == ROLE_OPERATOR) org = api_query(r, "org_id");
    else if (r->actor.role != ROLE_ADMIN) owner = r->actor.id;
    json_t *items = json_array();
    if (sequences_list(r->d, org, owner, &pg, collect_sequence, items, &r->err) < 0) {
        json_decref(items);
        return -1;
    }
    return api_ok(r, 200, api_list(items, &pg));
}

int h_sequences_get(api_req *r)
{
    mf_sequence s;
    mf_step *steps = NULL;
    int n = 0;
    if (ops_sequence_visible(r->d, &r->actor, r->params[0], &s, &r->err) < 0) return -1;
    if (sequence_steps(r->d, s.id, &steps, &n, &r->err) < 0) return -1;
    json_t *out = render_sequence(&s, steps, n);
    steps_free(&steps, n);
    return api_ok(r, 200, out);
}

int h_enroll(api_req *r)
{
    json_t *b;
    if (jin_body(r, &b) < 0) return -1;
    char **ids = NULL;
    int n = 0;
    json_t *items = json_array();
    int rc = jin_ids(r, b, "prospect_ids", 1000, &ids, &n);
    if (rc == 0)
        rc = ops_enroll(r->d, &r->actor, r->params[0], ids, n, collect_enrollment, items, &r->err);
    free(ids);
    json_decref(b);
    if (rc < 0) {
        json_decref(items);
        return -1;
    }
    app_wake_engine(r->app);
    return api_ok(r, 201, json_pack("{s:o}", "items", items));
}

int h_enrollments_list(api_req *r)
{
    mf_page pg;
    if (api_page(r, &pg) < 0) return -1;
    mf_enrollment_filter f = {.org_id = r->actor.org_id,
                              .sequence_id = api_query(r, "sequence_id"),
                              .state = api_query(r, "state")};
    if (r->actor.role == ROLE_OPERATOR) f.org_id = api_query(r, "org_id");
    else if (r->actor.role != ROLE_ADMIN) f.owner_id = r->actor.id;
    json_t *items = json_array();
    if (enrollments_list(r->d, f, &pg, collect_enrollment, items, &r->err) < 0) {
        json_decref(items);
        return -1;
    }
    return api_ok(r, 200, api_list(items, &pg));
}

static int set_enrollment(api_req *r, int pause)
{
    mf_enrollment e;
    if (ops_enrollment_set(r->d, &r->actor, r->params[0], pause, &e, &r->err) < 0) return -1;
    app_wake_engine(r->app);
    return api_ok(r, 200, render_enrollment(&e));
}

int h_enrollment_pause(api_req *r)
{
    return set_enrollment(r, 1);
}

int h_enrollment_resume(api_req *r)
{
    return set_enrollment(r, 0);
}

static int page(api_req *r, int status, const char *title, const char *body)
{
    r->status = status;
    r->resp_type = "text/html; charset=utf-8";
    r->resp_text = xasprintf("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                             "<meta name=\"viewport\" content=\"width=device-width\">"
                             "<title>%s</title></head><body style=\"font-family:sans-serif;"
                             "max-width:32em;margin:3em auto\"><h1>%s</h1>%s</body></html>",
                             title, title, body);
    return 0;
}

int h_unsubscribe_page(api_req *r)
{
    mf_enrollment e;
    if (enrollments_get_by_token(r->d, r->params[0], &e, &r->err) < 0)
        return page(r, 404, "Link not found", "<p>This unsubscribe link is not valid.</p>");
    if (strcmp(e.state, "unsubscribed") == 0)
        return page(r, 200, "You are unsubscribed", "<p>You will not get these emails again.</p>");
    char *form = xasprintf("<p>Stop receiving these emails?</p><form method=\"post\" "
                           "action=\"/u/%s\"><input type=\"hidden\" name=\"List-Unsubscribe\" "
                           "value=\"One-Click\"><button type=\"submit\">Unsubscribe</button></form>",
                           r->params[0]);
    int rc = page(r, 200, "Unsubscribe", form);
    free(form);
    return rc;
}

int h_unsubscribe_post(api_req *r)
{
    mf_enrollment e;
    /* RFC 8058: the POST says "List-Unsubscribe=One-Click" (the page's form sends the same) */
    if (!r->body || !memmem(r->body, r->body_len, "List-Unsubscribe=One-Click", 26))
        return page(r, 400, "Unsubscribe",
                    "<p>The request did not say List-Unsubscribe=One-Click.</p>");
    if (ops_unsubscribe(r->d, r->params[0], &e, &r->err) < 0) {
        if (r->err.status == 404)
            return page(r, 404, "Link not found", "<p>This unsubscribe link is not valid.</p>");
        return -1;
    }
    return page(r, 200, "You are unsubscribed", "<p>You will not get these emails again.</p>");
}
