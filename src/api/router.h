/* router.h — the route table: method + path pattern ("{}" = one id segment) → handler, and
 * whether the route needs a bearer token. */
#ifndef MF_ROUTER_H
#define MF_ROUTER_H
#include "api/api.h"

/* ROUTE_AUTH_BATCHED: needs a token, and is a short database-only write that is
 * group-committed (batch.h) */
enum route_auth { ROUTE_PUBLIC = 0, ROUTE_AUTH = 1, ROUTE_AUTH_BATCHED = 3 };

typedef struct route {
    const char *method;
    const char *pattern;
    api_handler handler;
    enum route_auth auth;
} route;

enum route_match { ROUTE_FOUND, ROUTE_NO_PATH, ROUTE_NO_METHOD };

/* Match method+path; fills r->params. */
enum route_match router_match(const char *method, const char *path, api_req *r, const route **out);
/* path for the log: the token segments of the route it matches ({t}: invite, welcome,
 * unsubscribe links, which are credentials) replaced by "***"; other paths unchanged. */
void router_log_path(const char *path, char *out, size_t out_len);
#endif
