/* prospect_ops.c — prospects imported from a CSV file by a member (R18), for the command line:
 * the header names the columns (src/core/csv.c: email, first/last name, company, tags; other
 * columns become custom fields), every address is validated, and the whole file is stored in
 * ONE transaction or not at all (the error names the row). The same rules as POST /prospects
 * with Content-Type text/csv. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "app/ops.h"
#include "core/address.h"
#include "core/continuity.h"
#include "core/csv.h"

#define MAX_TAGS 20

/* One data row into p (tags point into the row). */
static int prospect_of_row(const csv_prospect_map *map, const csv_row *row, mf_prospect *p,
                           char **tags, int *ntags, mf_error *err)
{
    memset(p, 0, sizeof(*p));
    *ntags = 0;
    json_t *fields = json_object();
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < map->ncolumns; i++) {
        char *v = (char *)csv_row_field(row, i);
        const csv_prospect_column *c = &map->columns[i];
        switch (c->field) {
        case CSV_PROSPECT_EMAIL: {
            const char *why = "";
            if (address_normalize(v, p->email, &why) < 0)
                rc = mf_fail(err, 400, "invalid_request", "R18", "email: %s", why);
            break;
        }
        case CSV_PROSPECT_FIRST_NAME:
        case CSV_PROSPECT_LAST_NAME:
        case CSV_PROSPECT_COMPANY: {
            char *dst = c->field == CSV_PROSPECT_FIRST_NAME  ? p->first_name
                        : c->field == CSV_PROSPECT_LAST_NAME ? p->last_name
                                                             : p->company;
            if (strlen(v) >= MF_NAME_MAX)
                rc = mf_fail(err, 400, "invalid_request", NULL, "%s: longer than %d characters",
                             c->name, MF_NAME_MAX - 1);
            else snprintf(dst, MF_NAME_MAX, "%s", v);
            break;
        }
        case CSV_PROSPECT_TAGS: {
            int n = csv_split_tags(v, tags, MAX_TAGS, err);
            if (n < 0) {
                rc = -1;
                break;
            }
            for (int k = 0; rc == 0 && k < n; k++)
                if (!continuity_tag_valid(tags[k]))
                    rc = mf_fail(err, 400, "invalid_request", NULL,
                                 "tags: %s must be 1 to %d printable characters", tags[k],
                                 MF_TAG_MAX);
            *ntags = n;
            break;
        }
        case CSV_PROSPECT_CUSTOM:
            if (*v) json_object_set_new(fields, c->name, json_string(v));
            break;
        }
    }
    if (rc == 0) p->fields_json = json_dumps(fields, JSON_COMPACT);
    json_decref(fields);
    return rc;
}

int ops_prospects_import_csv(db *d, const mf_actor *a, const char *data, size_t len,
                             void (*each)(const mf_prospect *, void *), void *ctx, mf_error *err)
{
    if (!a->org_id[0])
        return mf_fail(err, 403, "forbidden", "R1", "prospects belong to an organisation");
    if (!len) return mf_fail(err, 400, "invalid_request", NULL, "an empty CSV file");
    csv_options opt = {.delimiter = csv_detect_delimiter(data, len)};
    csv_parser *parser = csv_parser_new(&opt);
    csv_prospect_map *map = NULL;
    (void)csv_parser_feed(parser, data, len); /* a failure shows in csv_parser_next_row */
    int rc = 0;
    csv_parser_finish(parser);
    int count = 0;
    if (db_begin(d, err) < 0) {
        csv_parser_free(&parser);
        return -1;
    }
    for (;;) {
        const csv_row *row;
        enum csv_result res = csv_parser_next_row(parser, &row, err);
        if (res == CSV_END || res == CSV_NEED_MORE) break;
        if (res == CSV_ERROR) {
            rc = -1;
            break;
        }
        if (!map) {
            if (csv_prospect_columns(row, &map, err) < 0) {
                rc = -1;
                break;
            }
            continue;
        }
        mf_prospect p;
        char *tags[MAX_TAGS];
        int ntags = 0;
        rc = prospect_of_row(map, row, &p, tags, &ntags, err);
        if (rc == 0) {
            snprintf(p.org_id, sizeof(p.org_id), "%s", a->org_id);
            snprintf(p.owner_id, sizeof(p.owner_id), "%s", a->id);
            rc = prospects_insert(d, &p, tags, ntags, err);
        }
        if (rc == 0 && each) each(&p, ctx);
        mf_prospect_clear(&p);
        if (rc < 0) {
            mf_error_prefix(err, "row %llu: ", (unsigned long long)row->number);
            break;
        }
        count++;
    }
    if (rc == 0 && !map)
        rc = mf_fail(err, 400, "invalid_request", NULL, "the CSV file has no header row");
    if (rc == 0 && count == 0)
        rc = mf_fail(err, 400, "invalid_request", NULL, "the CSV file has no prospect rows");
    if (rc == 0) {
        char detail[64];
        snprintf(detail, sizeof(detail), "{\"prospects\":%d,\"source\":\"csv\"}", count);
        rc = ops_audit(d, a, a->org_id, "prospect.import", "prospect", NULL, detail);
    }
    csv_prospect_map_free(&map);
    csv_parser_free(&parser);
    if (ops_finish(d, rc, err) < 0) return -1;
    return count;
}
