/* auth.h — authentication of API calls (R1, R2, R14): bearer tokens, or the console's session
 * cookie plus its CSRF token. */
#ifndef MF_AUTH_H
#define MF_AUTH_H
#include "api/api.h"

#define AUTH_COOKIE "mf_session"

/* Fill r->user and r->actor from "Authorization: Bearer <token>": 401 unauthenticated when
 * missing or unknown, 403 seat_locked for a locked seat, 403 forbidden for contributors. */
int auth_bearer(api_req *r);
/* The same from a session cookie's token; state-changing methods also need the header
 * X-CSRF-Token (403 csrf_failed). Sets r->session_id and r->session_csrf. */
int auth_session(api_req *r, const char *token);
/* A bearer token when the Authorization header is there, else the session cookie. */
int auth_request(api_req *r);
#endif
