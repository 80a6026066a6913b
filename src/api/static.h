/* static.h — the web console's files (web/, embedded at build time) served at "/" and
 * "/assets/...": Content-Type, ETag / If-None-Match (304), Cache-Control: no-cache (always
 * revalidated, so a new binary's console is seen at once), gzip when the client takes it. */
#ifndef MF_STATIC_H
#define MF_STATIC_H
#include <microhttpd.h>

/* For GET/HEAD of a console path: a response to queue with *status (200, 304 or 404). NULL
 * when the path is not the console's (the API router handles it). */
struct MHD_Response *static_response(struct MHD_Connection *c, const char *method,
                                     const char *url, unsigned *status);
#endif
