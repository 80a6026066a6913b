/* http.h — the HTTP server (libmicrohttpd with its thread pool): reads bodies up to
 * max_body_bytes, authenticates, routes, and writes JSON answers. */
#ifndef MF_HTTP_H
#define MF_HTTP_H
#include "app/app.h"

typedef struct http_server http_server;

/* Start listening on app->cfg.listen ("HOST:PORT"); NULL with err on failure. */
http_server *http_start(mf_app *app, mf_error *err);
/* Stop accepting, finish requests in flight, free. */
void http_stop(http_server **s);
#endif
