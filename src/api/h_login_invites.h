/* h_login_invites.h — console passwords set through an emailed invite (issue 6): the admin
 * route POST /api/v1/users/{id}/login-invite, the member's JSON route
 * POST /api/v1/login-invites/{token}/accept, the public page GET/POST /welcome/{token}, and the
 * org directory GET /api/v1/directory (names and addresses for pickers). Listed in router.c. */
#ifndef MF_H_LOGIN_INVITES_H
#define MF_H_LOGIN_INVITES_H
#include "api/api.h"
#include "app/login_invite_ops.h"

int h_login_invite_create(api_req *r);
int h_login_invite_accept(api_req *r);
int h_welcome_page(api_req *r);
int h_welcome_post(api_req *r);
int h_directory(api_req *r);
/* {id, user_id, expires_at}: never the token or the link */
json_t *render_login_invite(const mf_login_invite *i);
#endif
