/* auth.h — bearer-token authentication of API calls (R1, R2, R14). */
#ifndef MF_AUTH_H
#define MF_AUTH_H
#include "api/api.h"
/* Fill r->user and r->actor from "Authorization: Bearer <token>": 401 unauthenticated when
 * missing or unknown, 403 seat_locked for a locked seat, 403 forbidden for contributors. */
int auth_bearer(api_req *r);
#endif
