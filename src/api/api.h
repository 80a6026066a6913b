/* api.h — what every HTTP handler sees: the request (method, path parameters, query, body,
 * the authenticated actor) and how it answers (status + JSON, or an mf_error). Handlers live
 * in h_<resource>.c and are listed in router.c. */
#ifndef MF_API_H
#define MF_API_H
#include <jansson.h>
#include "app/ops.h"

#define API_MAX_PARAMS 4

typedef struct api_req {
    mf_app *app;
    db *d;
    struct MHD_Connection *conn;
    const char *method;
    const char *path;
    char params[API_MAX_PARAMS][128]; /* {} (id) and {t} (token) segments, in order */
    const char *body;
    size_t body_len;
    mf_user user; /* the caller (when the route needs auth) */
    mf_actor actor;
    /* GET: db_data_version() read before anything else, when version_ok (resp_cache.h) */
    uint64_t version;
    int version_ok;
    /* answer */
    int status;
    json_t *resp; /* owned; NULL with 204 */
    char *resp_text;         /* owned; a non-JSON answer (HTML pages) instead of resp */
    const char *resp_type;   /* its Content-Type */
    const char *resp_location; /* a Location header for the text answer (static string), e.g. a 303 */
    struct resp_body *cached; /* owned reference: a 200 JSON answer shared with resp_cache */
    mf_error err;
    /* console sessions (h_session.c, auth.c): the cookie's session when it authenticated the
     * call, and a Set-Cookie header for the answer (owned) */
    char session_id[MF_ID_LEN];
    char session_csrf[65];
    char *set_cookie;
    struct batcher *batch; /* SQLite: the group-commit writer (batch.h), for batch_call; NULL */
} api_req;

typedef int (*api_handler)(api_req *r); /* 0: status/resp set; -1: err set */

/* ---- input (json_in.c) ---- */
/* Parse the body as a JSON object (400 invalid_request naming the problem). */
int jin_body(api_req *r, json_t **out);
/* Parse the body as an object or an array (for bulk routes). */
int jin_body_any(api_req *r, json_t **out);
/* Fields: required → 400 when missing; wrong type → 400; *present (may be NULL) says whether
 * the key was there (null counts as absent unless allow_null). */
int jin_str(api_req *r, json_t *o, const char *key, int required, size_t maxlen, const char **out);
int jin_int(api_req *r, json_t *o, const char *key, int required, long lo, long hi, int *out,
            int *present);
int jin_bool(api_req *r, json_t *o, const char *key, int *out, int *present);
/* An array of id strings (1..max); *out is an array of pointers into o, freed by the caller. */
int jin_ids(api_req *r, json_t *o, const char *key, int max, char ***out, int *n);
int jin_reject_unknown_type(api_req *r, json_t *o, const char *key, json_type want);
const char *api_query(api_req *r, const char *key);
/* ?limit= (1..500, default 50) and ?cursor= */
int api_page(api_req *r, mf_page *pg);
/* Mailbox server settings b[key] = {host, port, security, username, password}, validated
 * (400 naming "imap.port" etc.); *out gets their compact JSON (free with mf_secret_free), NULL
 * when absent and not required. (h_mailboxes.c) */
int api_read_server(api_req *r, json_t *b, const char *key, int required, char **out);
/* 400 invalid_request "<field>: <what>" */
int api_bad(api_req *r, const char *field, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- output (reply.c) ---- */
int api_ok(api_req *r, int status, json_t *body); /* takes body */
int api_no_content(api_req *r);
/* Answer with ready-made text (owned by r from now on), e.g. JSON written with json_out.h. */
int api_text(api_req *r, int status, const char *type, char *text);
int api_fail_from(api_req *r, const mf_error *e);
/* Hot GET routes (resp_cache.h): 1 with r answered when this thread holds a valid answer for
 * key (which must name everything the answer depends on besides the database and the
 * quarter hour: the route, the caller, the query); 0 otherwise. */
int api_from_cache(api_req *r, const char *key);
/* Answer 200 with JSON text (taken over) and keep it for key when r has a version. */
int api_json_cacheable(api_req *r, const char *key, char *text, size_t len);
/* {items, next_cursor} from a filled array and the page state */
json_t *api_list(json_t *items, const mf_page *pg);
json_t *render_org(const mf_org *o);
json_t *render_user(const mf_user *u);
json_t *render_mailbox(const mf_mailbox *m);
struct strbuf;
void write_mailbox(struct strbuf *sb, const mf_mailbox *m); /* the JSON text render_mailbox parses */
json_t *render_slot(const mf_slot *s);
json_t *render_request(const mf_request *q);
void write_request(struct strbuf *sb, const mf_request *q); /* as text; checks_json copied as is */
json_t *render_prospect(const mf_prospect *p);
json_t *render_connections(const mf_user *u, const mf_connections *c);
json_t *render_conversation(const mf_conversation *c); /* h_inbox.c */
/* list callbacks: ctx is a json_t array */
void collect_org(const mf_org *o, void *ctx);
void collect_user(const mf_user *u, void *ctx);
void collect_mailbox(const mf_mailbox *m, void *ctx);
void collect_slot(const mf_slot *s, void *ctx);
void collect_request(const mf_request *q, void *ctx);
void collect_prospect(const mf_prospect *p, void *ctx);

/* ---- handlers ---- */
int h_healthz(api_req *r);
int h_orgs_create(api_req *r);
int h_orgs_list(api_req *r);
int h_orgs_get(api_req *r);
int h_orgs_patch(api_req *r);
int h_users_create(api_req *r);
int h_users_list(api_req *r);
int h_users_get(api_req *r);
int h_users_patch(api_req *r);
int h_users_me(api_req *r);
int h_users_connections(api_req *r);
int h_users_tokens(api_req *r);
int h_team_connections(api_req *r);
int h_slots_buy(api_req *r);
int h_slots_list(api_req *r);
int h_user_slots_assign(api_req *r);
int h_user_slots_remove(api_req *r);
int h_mailboxes_create(api_req *r);
int h_mailboxes_list(api_req *r);
int h_mailboxes_get(api_req *r);
int h_mailboxes_patch(api_req *r);
int h_mailboxes_delete(api_req *r);
int h_mailboxes_default(api_req *r);
int h_master_inbox_put(api_req *r);
int h_requests_create(api_req *r);
int h_requests_list(api_req *r);
int h_requests_get(api_req *r);
int h_requests_approve(api_req *r);
int h_requests_reject(api_req *r);
int h_prospects_create(api_req *r);
int h_prospects_list(api_req *r);
int h_prospects_reassign(api_req *r);
int h_audit_list(api_req *r);
int h_inbox(api_req *r);
int h_sequences_create(api_req *r);
int h_sequences_list(api_req *r);
int h_sequences_get(api_req *r);
int h_enroll(api_req *r);
int h_enrollments_list(api_req *r);
int h_enrollment_pause(api_req *r);
int h_enrollment_resume(api_req *r);
int h_unsubscribe_page(api_req *r);
int h_unsubscribe_post(api_req *r);
int h_messages_send(api_req *r);
int h_messages_get(api_req *r);
int h_conversations_get(api_req *r);
int h_mailbox_events(api_req *r);
int h_notifications_list(api_req *r);
int h_notifications_read(api_req *r);
int h_session_create(api_req *r);
int h_session_get(api_req *r);
int h_session_delete(api_req *r);
int h_notifications_read_all(api_req *r);
int h_notification_prefs_get(api_req *r);
int h_notification_prefs_put(api_req *r);
int h_webhooks_create(api_req *r);
int h_webhooks_list(api_req *r);
int h_webhooks_get(api_req *r);
int h_webhooks_patch(api_req *r);
int h_webhooks_delete(api_req *r);
int h_webhook_deliveries(api_req *r);
/* shared mailboxes and assignment (h_team.c, R20, R21) */
int h_members_get(api_req *r);
int h_members_put(api_req *r);
int h_assignment_get(api_req *r);
int h_assignment_put(api_req *r);
int h_mailbox_owner(api_req *r);
int h_conversation_assign(api_req *r);
int h_conversation_unassign(api_req *r);
int h_conversation_patch(api_req *r);
int h_conversation_typing(api_req *r);
#endif
