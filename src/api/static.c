/* static.c — serving the embedded web console; see static.h. */
#include <string.h>
#include <strings.h>
#include "api/static.h"
#include "util/embedded.h"

static const struct mf_web_file *find(const char *path)
{
    for (const struct mf_web_file *f = mf_web_files; f->path; f++)
        if (strcmp(f->path, path) == 0) return f;
    return NULL;
}

/* Does the Accept-Encoding header list gzip (without q=0)? */
static int takes_gzip(struct MHD_Connection *c)
{
    const char *ae = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept-Encoding");
    if (!ae) return 0;
    const char *g = strcasestr(ae, "gzip");
    if (!g) return 0;
    const char *end = strchr(g, ',');
    const char *q = strstr(g, "q=0");
    return !(q && (!end || q < end) && strncmp(q, "q=0.", 4) != 0);
}

static void common_headers(struct MHD_Response *resp)
{
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
}

struct MHD_Response *static_response(struct MHD_Connection *c, const char *method,
                                     const char *url, unsigned *status)
{
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) return NULL;
    const char *path;
    if (strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0) path = "/index.html";
    else if (strncmp(url, "/assets/", 8) == 0) path = url;
    else return NULL;

    const struct mf_web_file *f = find(path);
    struct MHD_Response *resp;
    if (!f) {
        static const char missing[] = "not found\n";
        resp = MHD_create_response_from_buffer(sizeof(missing) - 1, (void *)missing,
                                               MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
        common_headers(resp);
        *status = MHD_HTTP_NOT_FOUND;
        return resp;
    }
    const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-None-Match");
    int gz = f->gz && takes_gzip(c);
    if (inm && strstr(inm, f->etag)) {
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        *status = MHD_HTTP_NOT_MODIFIED;
    } else {
        resp = gz ? MHD_create_response_from_buffer(f->gz_len, (void *)f->gz,
                                                    MHD_RESPMEM_PERSISTENT)
                  : MHD_create_response_from_buffer(f->len, (void *)f->data,
                                                    MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, f->type);
        if (gz) MHD_add_response_header(resp, "Content-Encoding", "gzip");
        *status = MHD_HTTP_OK;
    }
    MHD_add_response_header(resp, "ETag", f->etag);
    MHD_add_response_header(resp, "Cache-Control", "no-cache");
    MHD_add_response_header(resp, "Vary", "Accept-Encoding");
    common_headers(resp);
    if (strcmp(path, "/index.html") == 0)
        MHD_add_response_header(resp, "Content-Security-Policy",
                                "default-src 'self'; script-src 'self'; style-src 'self'; "
                                "img-src 'self' data:; connect-src 'self'; object-src 'none'; "
                                "base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
    return resp;
}
