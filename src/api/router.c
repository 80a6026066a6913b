/* router.c — the route table of the HTTP API (see docs/api.md) and its matcher. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include "api/h_invites.h"
#include "api/h_login_invites.h"
#include "api/h_workers.h"
#include "api/router.h"
#include "util/strbuf.h"

#define V1 "/api/v1"

static const route routes[] = {
    {"GET", "/healthz", h_healthz, ROUTE_PUBLIC},
    {"GET", V1 "/healthz", h_healthz, ROUTE_PUBLIC},
    {"POST", V1 "/orgs", h_orgs_create, ROUTE_AUTH},
    {"GET", V1 "/orgs", h_orgs_list, ROUTE_AUTH},
    {"GET", V1 "/orgs/{}", h_orgs_get, ROUTE_AUTH},
    {"PATCH", V1 "/orgs/{}", h_orgs_patch, ROUTE_AUTH},
    {"GET", V1 "/me", h_users_me, ROUTE_AUTH},
    {"POST", V1 "/users", h_users_create, ROUTE_AUTH},
    {"GET", V1 "/users", h_users_list, ROUTE_AUTH},
    {"GET", V1 "/users/{}", h_users_get, ROUTE_AUTH},
    {"PATCH", V1 "/users/{}", h_users_patch, ROUTE_AUTH},
    {"GET", V1 "/users/{}/connections", h_users_connections, ROUTE_AUTH},
    {"POST", V1 "/users/{}/tokens", h_users_tokens, ROUTE_AUTH},
    {"POST", V1 "/users/{}/slots", h_user_slots_assign, ROUTE_AUTH},
    {"DELETE", V1 "/users/{}/slots/{}", h_user_slots_remove, ROUTE_AUTH},
    {"GET", V1 "/connections", h_team_connections, ROUTE_AUTH},
    {"POST", V1 "/slots", h_slots_buy, ROUTE_AUTH},
    {"GET", V1 "/slots", h_slots_list, ROUTE_AUTH},
    {"POST", V1 "/mailboxes", h_mailboxes_create, ROUTE_AUTH},
    {"GET", V1 "/mailboxes", h_mailboxes_list, ROUTE_AUTH},
    {"GET", V1 "/mailboxes/{}", h_mailboxes_get, ROUTE_AUTH},
    {"PATCH", V1 "/mailboxes/{}", h_mailboxes_patch, ROUTE_AUTH},
    {"DELETE", V1 "/mailboxes/{}", h_mailboxes_delete, ROUTE_AUTH},
    {"POST", V1 "/mailboxes/{}/default", h_mailboxes_default, ROUTE_AUTH},
    {"GET", V1 "/mailboxes/{}/events", h_mailbox_events, ROUTE_AUTH},
    {"PUT", V1 "/master-inbox", h_master_inbox_put, ROUTE_AUTH},
    {"GET", V1 "/inbox", h_inbox, ROUTE_AUTH},
    {"POST", V1 "/messages", h_messages_send, ROUTE_AUTH},
    {"POST", V1 "/sequences", h_sequences_create, ROUTE_AUTH},
    {"GET", V1 "/sequences", h_sequences_list, ROUTE_AUTH},
    {"GET", V1 "/sequences/{}", h_sequences_get, ROUTE_AUTH},
    {"POST", V1 "/sequences/{}/enrollments", h_enroll, ROUTE_AUTH},
    {"GET", V1 "/enrollments", h_enrollments_list, ROUTE_AUTH},
    {"POST", V1 "/enrollments/{}/pause", h_enrollment_pause, ROUTE_AUTH},
    {"POST", V1 "/enrollments/{}/resume", h_enrollment_resume, ROUTE_AUTH},
    {"GET", "/u/{t}", h_unsubscribe_page, ROUTE_PUBLIC},
    {"POST", "/u/{t}", h_unsubscribe_post, ROUTE_PUBLIC},
    {"GET", V1 "/messages/{}", h_messages_get, ROUTE_AUTH},
    {"GET", V1 "/conversations/{}", h_conversations_get, ROUTE_AUTH},
    {"POST", V1 "/mailbox-requests", h_requests_create, ROUTE_AUTH_BATCHED},
    {"GET", V1 "/mailbox-requests", h_requests_list, ROUTE_AUTH},
    {"GET", V1 "/mailbox-requests/{}", h_requests_get, ROUTE_AUTH},
    {"POST", V1 "/mailbox-requests/{}/approve", h_requests_approve, ROUTE_AUTH_BATCHED},
    {"POST", V1 "/mailbox-requests/{}/reject", h_requests_reject, ROUTE_AUTH_BATCHED},
    {"POST", V1 "/prospects", h_prospects_create, ROUTE_AUTH},
    {"GET", V1 "/prospects", h_prospects_list, ROUTE_AUTH},
    {"POST", V1 "/prospects/reassign", h_prospects_reassign, ROUTE_AUTH},
    {"GET", V1 "/audit-log", h_audit_list, ROUTE_AUTH},
    {"GET", V1 "/notifications", h_notifications_list, ROUTE_AUTH},
    {"POST", V1 "/notifications/{}/read", h_notifications_read, ROUTE_AUTH},
    {"POST", V1 "/session", h_session_create, ROUTE_PUBLIC},
    {"GET", V1 "/session", h_session_get, ROUTE_AUTH},
    {"DELETE", V1 "/session", h_session_delete, ROUTE_AUTH},
    {"POST", V1 "/notifications/read-all", h_notifications_read_all, ROUTE_AUTH},
    {"GET", V1 "/me/notification-preferences", h_notification_prefs_get, ROUTE_AUTH},
    {"PUT", V1 "/me/notification-preferences", h_notification_prefs_put, ROUTE_AUTH},
    {"POST", V1 "/webhooks", h_webhooks_create, ROUTE_AUTH},
    {"GET", V1 "/webhooks", h_webhooks_list, ROUTE_AUTH},
    {"GET", V1 "/webhooks/{}", h_webhooks_get, ROUTE_AUTH},
    {"PATCH", V1 "/webhooks/{}", h_webhooks_patch, ROUTE_AUTH},
    {"DELETE", V1 "/webhooks/{}", h_webhooks_delete, ROUTE_AUTH},
    {"GET", V1 "/webhooks/{}/deliveries", h_webhook_deliveries, ROUTE_AUTH},
    /* invites and contributors (R14); the connect page and accept route need no account */
    {"POST", V1 "/invites", h_invites_create, ROUTE_AUTH},
    {"GET", V1 "/invites", h_invites_list, ROUTE_AUTH},
    {"GET", V1 "/invites/{}", h_invites_get, ROUTE_AUTH},
    {"DELETE", V1 "/invites/{}", h_invites_delete, ROUTE_AUTH},
    {"POST", V1 "/invites/{}/resend", h_invites_resend, ROUTE_AUTH},
    {"POST", V1 "/invites/{}/revoke", h_invites_revoke_post, ROUTE_AUTH},
    {"POST", V1 "/invites/{t}/accept", h_invite_accept, ROUTE_PUBLIC},
    {"GET", V1 "/contributors", h_contributors_list, ROUTE_AUTH},
    {"GET", V1 "/contributors/{}", h_contributors_get, ROUTE_AUTH},
    {"PATCH", V1 "/contributors/{}", h_contributors_patch, ROUTE_AUTH},
    {"DELETE", V1 "/contributors/{}", h_contributors_delete, ROUTE_AUTH},
    {"GET", "/connect/{t}", h_connect_page, ROUTE_PUBLIC},
    {"POST", "/connect/{t}", h_connect_post, ROUTE_PUBLIC},
    /* shared mailboxes and assignment (R20, R21) */
    {"GET", V1 "/mailboxes/{}/members", h_members_get, ROUTE_AUTH},
    {"PUT", V1 "/mailboxes/{}/members", h_members_put, ROUTE_AUTH},
    {"GET", V1 "/mailboxes/{}/assignment", h_assignment_get, ROUTE_AUTH},
    {"PUT", V1 "/mailboxes/{}/assignment", h_assignment_put, ROUTE_AUTH},
    {"POST", V1 "/mailboxes/{}/owner", h_mailbox_owner, ROUTE_AUTH},
    {"POST", V1 "/conversations/{}/assign", h_conversation_assign, ROUTE_AUTH},
    {"POST", V1 "/conversations/{}/unassign", h_conversation_unassign, ROUTE_AUTH},
    {"PATCH", V1 "/conversations/{}", h_conversation_patch, ROUTE_AUTH},
    {"POST", V1 "/conversations/{}/typing", h_conversation_typing, ROUTE_AUTH},
    /* console passwords set through an emailed invite; the page and accept need no account */
    {"POST", V1 "/users/{}/login-invite", h_login_invite_create, ROUTE_AUTH},
    {"POST", V1 "/login-invites/{t}/accept", h_login_invite_accept, ROUTE_PUBLIC},
    {"GET", "/welcome/{t}", h_welcome_page, ROUTE_PUBLIC},
    {"POST", "/welcome/{t}", h_welcome_post, ROUTE_PUBLIC},
    {"GET", V1 "/directory", h_directory, ROUTE_AUTH},
    /* engine workers and their mailbox leases (PostgreSQL scale-out) */
    {"GET", V1 "/workers", h_workers_list, ROUTE_AUTH},
};

/* A link token: letters, digits, '-' and '_' (base64url). */
static int token_valid(const char *t)
{
    for (; *t; t++) {
        if (!isalnum((unsigned char)*t) && *t != '-' && *t != '_') return 0;
    }
    return 1;
}

/* Compare path to pattern segment by segment; "{}" takes one id-shaped segment, "{t}" one
 * token-shaped segment. */
static int path_matches(const char *pattern, const char *path, api_req *r)
{
    int np = 0;
    const char *p = pattern, *s = path;
    while (*p && *s) {
        int is_id = p[0] == '{' && p[1] == '}';
        int is_token = p[0] == '{' && p[1] == 't' && p[2] == '}';
        if (is_id || is_token) {
            const char *end = strchr(s, '/');
            size_t len = end ? (size_t)(end - s) : strlen(s);
            size_t max = is_id ? MF_ID_LEN : sizeof(r->params[0]);
            if (len == 0 || len >= max || np == API_MAX_PARAMS) return 0;
            memcpy(r->params[np], s, len);
            r->params[np][len] = '\0';
            if (is_id ? !mf_id_valid(r->params[np]) : !token_valid(r->params[np])) return 0;
            np++;
            s += len;
            p += is_id ? 2 : 3;
        } else if (*p == *s) {
            p++;
            s++;
        } else {
            return 0;
        }
    }
    if (*s == '/' && s[1] == '\0') s++; /* tolerate one trailing slash */
    return *p == '\0' && *s == '\0';
}

void router_log_path(const char *path, char *out, size_t out_len)
{
    api_req scratch;
    snprintf(out, out_len, "%s", path);
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (!strstr(routes[i].pattern, "{t}") || !path_matches(routes[i].pattern, path, &scratch))
            continue;
        /* it matched: pattern and path segments line up */
        strbuf b;
        strbuf_init(&b, 128);
        const char *p = routes[i].pattern, *s = path;
        while (*p && *s) {
            if (p[0] == '{') {
                size_t len = strcspn(s, "/");
                int token = p[1] == 't';
                if (token) strbuf_addstr(&b, "***");
                else strbuf_add(&b, s, len);
                s += len;
                p += token ? 3 : 2;
            } else {
                strbuf_add(&b, s++, 1);
                p++;
            }
        }
        strbuf_addstr(&b, s);
        snprintf(out, out_len, "%s", b.buf);
        strbuf_release(&b);
        return;
    }
}

enum route_match router_match(const char *method, const char *path, api_req *r, const route **out)
{
    int path_found = 0;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (!path_matches(routes[i].pattern, path, r)) continue;
        path_found = 1;
        if (strcmp(routes[i].method, method) == 0) {
            *out = &routes[i];
            return ROUTE_FOUND;
        }
    }
    return path_found ? ROUTE_NO_METHOD : ROUTE_NO_PATH;
}
