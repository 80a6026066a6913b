/* h_invites.h — handlers of invites and contributors (R14): the admin routes under
 * /api/v1/invites and /api/v1/contributors, the invitee's JSON accept route
 * POST /api/v1/invites/{token}/accept (h_invites.c), and the public connect page
 * GET/POST /connect/{token} (h_connect.c). Listed in router.c. */
#ifndef MF_H_INVITES_H
#define MF_H_INVITES_H
#include "api/api.h"
#include "app/invite_ops.h"

int h_invites_create(api_req *r);
int h_invites_list(api_req *r);
int h_invites_get(api_req *r);
int h_invites_resend(api_req *r);
int h_invites_revoke_post(api_req *r);
int h_invites_delete(api_req *r);
int h_invite_accept(api_req *r);
int h_contributors_list(api_req *r);
int h_contributors_get(api_req *r);
int h_contributors_patch(api_req *r);
int h_contributors_delete(api_req *r);
int h_connect_page(api_req *r);
int h_connect_post(api_req *r);

/* shared by h_invites.c and h_connect.c */
json_t *render_invite(const mf_invite *i);
/* Accept the invite of token r->params[0] with body b ({imap, smtp, sender_name?}): validates,
 * tests, connects (ops_invite_accept) and wakes the engine. -1 with r->err. */
int invite_accept_body(api_req *r, json_t *b, mf_connect_report *rep, mf_mailbox *m,
                       char contributor_id[MF_ID_LEN]);
/* Zero the passwords of a settings body ({imap:{password}, smtp:{password}}). */
void invite_body_wipe(json_t *b);
/* The frame of the public pages (style, title as h1, footer), for other public pages too:
 * start, add the body, end (answers with status; the strbuf is taken). */
struct strbuf;
void public_page_start(struct strbuf *sb, const char *title);
int public_page_end(api_req *r, struct strbuf *sb, int status);
#endif
