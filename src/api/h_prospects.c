/* h_prospects.c — /prospects: add (one or many), list by tag, reassign by tag (R8). Sequences
 * attach to prospects in the sending issue. */
#include <stdlib.h>
#include <string.h>
#include "api/api.h"
#include "core/continuity.h"
#include "core/csv.h"
#include <microhttpd.h>
#include <strings.h>

#define MAX_TAGS 20

/* Validate one prospect object into p (+ tags pointing into o). */
static int read_prospect(api_req *r, json_t *o, mf_prospect *p, const char **tags, int *ntags)
{
    const char *email, *first = NULL, *last = NULL, *company = NULL, *mailbox = NULL;
    if (!json_is_object(o)) return api_bad(r, "body", "each prospect must be an object");
    if (jin_str(r, o, "email", 1, 1000, &email) < 0) return -1;
    char norm[MF_ADDR_MAX];
    const char *why;
    if (address_normalize(email, norm, &why) < 0) return api_bad(r, "email", "%s", why);
    if (jin_str(r, o, "first_name", 0, MF_NAME_MAX - 1, &first) < 0) return -1;
    if (jin_str(r, o, "last_name", 0, MF_NAME_MAX - 1, &last) < 0) return -1;
    if (jin_str(r, o, "company", 0, MF_NAME_MAX - 1, &company) < 0) return -1;
    if (jin_str(r, o, "mailbox_id", 0, MF_ID_LEN - 1, &mailbox) < 0) return -1;
    json_t *fields = json_object_get(o, "fields");
    if (fields && !json_is_null(fields) && !json_is_object(fields))
        return api_bad(r, "fields", "expected an object of custom fields");
    json_t *jt = json_object_get(o, "tags");
    *ntags = 0;
    if (jt && !json_is_null(jt)) {
        if (!json_is_array(jt) || json_array_size(jt) > MAX_TAGS)
            return api_bad(r, "tags", "expected an array of at most %d strings", MAX_TAGS);
        for (size_t i = 0; i < json_array_size(jt); i++) {
            const char *t = json_string_value(json_array_get(jt, i));
            if (!t || !continuity_tag_valid(t))
                return api_bad(r, "tags", "item %zu must be 1 to %d printable characters", i,
                               MF_TAG_MAX);
            tags[(*ntags)++] = t;
        }
    }
    memset(p, 0, sizeof(*p));
    snprintf(p->email, sizeof(p->email), "%s", norm);
    snprintf(p->first_name, sizeof(p->first_name), "%s", first ? first : "");
    snprintf(p->last_name, sizeof(p->last_name), "%s", last ? last : "");
    snprintf(p->company, sizeof(p->company), "%s", company ? company : "");
    snprintf(p->mailbox_id, sizeof(p->mailbox_id), "%s", mailbox ? mailbox : "");
    p->fields_json = fields && json_is_object(fields) ? json_dumps(fields, JSON_COMPACT) : NULL;
    return 0;
}

/* R18: a CSV upload (Content-Type: text/csv) becomes the same array of prospect objects: the
 * header names the columns (src/core/csv.c maps email, first/last name, company, tags; other
 * columns become custom fields). */
static int csv_body(api_req *r, json_t **out)
{
    *out = NULL;
    csv_options opt = {.delimiter = csv_detect_delimiter(r->body, r->body_len)};
    csv_parser *p = csv_parser_new(&opt);
    csv_prospect_map *map = NULL;
    json_t *arr = json_array();
    int rc = csv_parser_feed(p, r->body, r->body_len) < 0 ? -1 : 0;
    csv_parser_finish(p);
    for (;;) {
        const csv_row *row;
        enum csv_result res = csv_parser_next_row(p, &row, &r->err);
        if (res == CSV_END || res == CSV_NEED_MORE) break;
        if (res == CSV_ERROR) {
            rc = -1;
            break;
        }
        if (!map) {
            if (csv_prospect_columns(row, &map, &r->err) < 0) {
                rc = -1;
                break;
            }
            continue;
        }
        json_t *o = json_object(), *fields = json_object(), *tags = json_array();
        for (size_t i = 0; i < map->ncolumns; i++) {
            const char *v = csv_row_field(row, i);
            switch (map->columns[i].field) {
            case CSV_PROSPECT_TAGS: {
                char *copy = xstrdup(v);
                char *list[20];
                int n = csv_split_tags(copy, list, 20, &r->err);
                for (int k = 0; k < n; k++) json_array_append_new(tags, json_string(list[k]));
                free(copy);
                if (n < 0) rc = -1;
                break;
            }
            case CSV_PROSPECT_CUSTOM:
                if (*v) json_object_set_new(fields, map->columns[i].name, json_string(v));
                break;
            default:
                if (*v) json_object_set_new(o, map->columns[i].name, json_string(v));
                break;
            }
        }
        json_object_set_new(o, "fields", fields);
        json_object_set_new(o, "tags", tags);
        json_array_append_new(arr, o);
        if (rc < 0) break;
    }
    if (rc == 0 && !map) rc = api_bad(r, "body", "the CSV file has no header row");
    if (rc < 0 && r->err.status == 0) rc = api_bad(r, "body", "not a CSV file this can read");
    csv_prospect_map_free(&map);
    csv_parser_free(&p);
    if (rc < 0) {
        json_decref(arr);
        return -1;
    }
    *out = arr;
    return 0;
}

int h_prospects_create(api_req *r)
{
    if (!r->actor.org_id[0])
        return mf_fail(&r->err, 403, "forbidden", "R1", "prospects belong to an organisation");
    json_t *b;
    const char *type = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Type");
    if (type && strncasecmp(type, "text/csv", 8) == 0) {
        if (!r->body_len) return api_bad(r, "body", "an empty CSV file");
        if (csv_body(r, &b) < 0) return -1;
    } else if (jin_body_any(r, &b) < 0) {
        return -1;
    }
    json_t *list = json_is_array(b) ? b : NULL;
    size_t n = list ? json_array_size(b) : 1;
    if (n == 0 || n > 1000) {
        json_decref(b);
        return api_bad(r, "body", "give 1 to 1000 prospects");
    }
    json_t *items = json_array();
    int rc = db_begin(r->d, &r->err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        mf_prospect p;
        const char *tags[MAX_TAGS];
        int ntags = 0;
        rc = read_prospect(r, list ? json_array_get(b, i) : b, &p, tags, &ntags);
        if (rc < 0) {
            if (list) mf_error_prefix(&r->err, "[%zu].", i);
            break;
        }
        snprintf(p.org_id, sizeof(p.org_id), "%s", r->actor.org_id);
        snprintf(p.owner_id, sizeof(p.owner_id), "%s", r->actor.id);
        if (p.mailbox_id[0]) { /* the sending mailbox must be one the caller manages */
            mf_mailbox m;
            rc = ops_mailbox_visible(r->d, &r->actor, p.mailbox_id, &m, &r->err);
            if (rc == 0) {
                snprintf(p.owner_id, sizeof(p.owner_id), "%s", m.owner_id);
                mf_mailbox_clear(&m);
            }
        }
        if (rc == 0) rc = prospects_insert(r->d, &p, (char *const *)tags, ntags, &r->err);
        mf_prospect_clear(&p);
        if (rc == 0) {
            mf_prospect full;
            rc = prospects_get(r->d, p.id, &full, &r->err);
            if (rc == 0) json_array_append_new(items, render_prospect(&full));
            mf_prospect_clear(&full);
        }
    }
    json_decref(b);
    if (rc == 0) rc = db_commit(r->d, &r->err);
    else db_rollback(r->d);
    if (rc < 0) {
        json_decref(items);
        return -1;
    }
    return api_ok(r, 201, json_pack("{s:o}", "items", items));
}

int h_prospects_list(api_req *r)
{
    if (!r->actor.org_id[0] && r->actor.role != ROLE_OPERATOR)
        return mf_fail(&r->err, 403, "forbidden", "R1", "prospects belong to an organisation");
    mf_prospect_filter f = {.org_id = r->actor.org_id,
                            .tag = api_query(r, "tag"),
                            .mailbox_id = api_query(r, "mailbox_id")};
    if (r->actor.role == ROLE_OPERATOR) f.org_id = api_query(r, "org_id");
    if (r->actor.role == ROLE_USER) f.owner_id = r->actor.id;
    mf_page pg;
    if (api_page(r, &pg) < 0) return -1;
    json_t *items = json_array();
    if (prospects_list(r->d, f, &pg, collect_prospect, items, &r->err) < 0) {
        json_decref(items);
        return -1;
    }
    return api_ok(r, 200, api_list(items, &pg));
}

int h_prospects_reassign(api_req *r)
{
    json_t *b;
    if (jin_body(r, &b) < 0) return -1;
    const char *tag, *mailbox;
    int n = 0;
    int rc = jin_str(r, b, "tag", 1, MF_TAG_MAX, &tag);
    if (rc == 0) rc = jin_str(r, b, "mailbox_id", 1, MF_ID_LEN - 1, &mailbox);
    if (rc == 0 && !mf_id_valid(mailbox)) rc = store_not_found(&r->err, "mailbox");
    if (rc == 0) rc = ops_prospects_reassign(r->d, &r->actor, tag, mailbox, &n, &r->err);
    json_decref(b);
    if (rc < 0) return -1;
    return api_ok(r, 200, json_pack("{s:i}", "reassigned", n));
}
