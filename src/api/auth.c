/* auth.c — bearer tokens: hash, look up, refuse locked seats and contributors. */
#include <string.h>
#include <strings.h>
#include <microhttpd.h>
#include "api/auth.h"

int auth_bearer(api_req *r)
{
    const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0 || !h[7] || strlen(h) > 512)
        return mf_fail(&r->err, 401, "unauthenticated", NULL,
                       "send Authorization: Bearer <token>; create one with `mailfleet token "
                       "create --user EMAIL`");
    char hash[65];
    mf_token_hash(h + 7, hash);
    if (tokens_lookup(r->d, hash, &r->user, &r->err) < 0) return -1;
    ops_actor_from_user(&r->user, &r->actor);
    if (r->user.locked)
        return mf_fail(&r->err, 403, "seat_locked", "R2",
                       "this seat is locked; an admin can unlock it");
    if (!roles_has_app_access(&r->actor))
        return mf_fail(&r->err, 403, "forbidden", "R14", "contributors have no API access");
    return 0;
}
