/* cli_send.c — sending from the command line (issue 4 point 8): sequences (list, create from
 * the JSON of POST /sequences, enroll prospects from a CSV file or by id, pause and resume),
 * prospects (import a CSV file) and one-off messages (queue one as POST /messages does). They
 * call the same domain operations as the API (src/app), in-process, on the member's behalf:
 * the actor is the user named by --user, or the owner of the sequence or mailbox the command
 * names (as that user's API token would), so every rule of the API applies (R1, R16, R18,
 * R25) and the audit log names the member. The engine of a running `mailfleet serve` or
 * `worker` sends what is queued on its next tick (within a second). */
#include <errno.h>
#include <stdint.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "app/ops.h"
#include "cli/cli.h"
#include "util/strbuf.h"

#define VERB_IS(c, v) ((c)->argc >= 2 && strcmp((c)->argv[1], (v)) == 0)
#define MAX_FILE_BYTES (64L * 1024 * 1024)

static int wants_help(cli_ctx *c)
{
    return c->argc < 2 || strcmp(c->argv[1], "--help") == 0 || strcmp(c->argv[1], "-h") == 0 ||
           strcmp(c->argv[1], "help") == 0;
}

/* The whole of path ("-" = standard input), NUL-terminated; NULL with a message. */
static char *read_all(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "mailfleet: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    strbuf sb;
    strbuf_init(&sb, (size_t)MAX_FILE_BYTES);
    char buf[65536];
    size_t n;
    int too_big = 0;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
        if (sb.len + n > (size_t)MAX_FILE_BYTES) {
            too_big = 1;
            break;
        }
        strbuf_add(&sb, buf, n);
    }
    int failed = ferror(f);
    if (f != stdin) fclose(f);
    if (failed || too_big) {
        fprintf(stderr, "mailfleet: %s: %s\n", path,
                too_big ? "larger than 64 MiB" : "cannot be read");
        strbuf_release(&sb);
        return NULL;
    }
    return strbuf_detach(&sb, len);
}

/* The actor for a member given by email (a seat that is not locked, in an organisation). */
static int actor_of_email(db *d, const char *email, mf_actor *a, mf_error *err)
{
    mf_user u;
    if (users_get_by_email(d, email, &u, err) < 0) return -1;
    if (u.locked) return mf_fail(err, 403, "seat_locked", "R2", "the seat of %s is locked", email);
    return ops_actor_from_user(&u, a) < 0 ? mf_fail_internal(err, "no actor for %s", email) : 0;
}

static int actor_of_id(db *d, const char *user_id, mf_actor *a, mf_error *err)
{
    mf_user u;
    if (users_get(d, user_id, &u, err) < 0) return -1;
    if (u.locked)
        return mf_fail(err, 403, "seat_locked", "R2", "the seat of %s is locked", u.email);
    return ops_actor_from_user(&u, a) < 0 ? mf_fail_internal(err, "no actor for %s", u.email) : 0;
}

/* ---------------- sequence ---------------- */
static const char *sequence_usage =
    "usage: mailfleet sequence list [--org ORG_ID] [--user EMAIL]\n"
    "       mailfleet sequence create --user EMAIL --file FILE.json\n"
    "       mailfleet sequence enroll SEQUENCE_ID (--csv FILE.csv | --prospect PROSPECT_ID ...)\n"
    "       mailfleet sequence pause|resume SEQUENCE_ID|ENROLLMENT_ID\n"
    "list prints id, state, owner id, mailbox id and name, one sequence a line. create reads the\n"
    "JSON body of POST /api/v1/sequences (name, steps, optional mailbox_id and window; \"-\" =\n"
    "stdin) and makes the sequence as that member (R16: no mailbox_id = their default\n"
    "mailbox); it prints the new id. enroll enrolls prospects once each (R26): the rows of a CSV\n"
    "file (imported first as the sequence owner's prospects, as `prospect import`) or existing\n"
    "prospects; it prints id, prospect id and state per enrollment. pause and resume act on one\n"
    "enrollment, or on every enrollment of a sequence (resume: only those paused by hand); they\n"
    "print id and state per enrollment changed.\n";

static void print_sequence(const mf_sequence *s, void *ctx)
{
    (void)ctx;
    printf("%s\t%s\t%s\t%s\t%s\n", s->id, s->state, s->owner_id,
           s->mailbox_id[0] ? s->mailbox_id : "-", s->name);
}

/* "HH:MM" → minutes; -1 when malformed. */
static int parse_hhmm(const char *s)
{
    int h, m;
    char extra;
    if (!s || sscanf(s, "%2d:%2d%c", &h, &m, &extra) != 2 || h < 0 || h > 24 || m < 0 || m > 59 ||
        (h == 24 && m != 0))
        return -1;
    return h * 60 + m;
}

/* The JSON of POST /sequences into s and steps (strings point into j). */
static int sequence_from_json(mf_app *app, json_t *j, mf_sequence *s, mf_step **steps, int *n,
                              mf_error *err)
{
    memset(s, 0, sizeof(*s));
    *steps = NULL;
    *n = 0;
    if (!json_is_object(j)) return mf_fail(err, 400, "invalid_request", NULL, "expected an object");
    const char *name = json_string_value(json_object_get(j, "name"));
    if (!name || !*name || strlen(name) >= sizeof(s->name))
        return mf_fail(err, 400, "invalid_request", NULL, "name: 1 to %zu characters",
                       sizeof(s->name) - 1);
    snprintf(s->name, sizeof(s->name), "%s", name);
    json_t *mb = json_object_get(j, "mailbox_id");
    if (mb && !json_is_null(mb)) {
        const char *v = json_string_value(mb);
        if (!v || !mf_id_valid(v)) return store_not_found(err, "mailbox");
        snprintf(s->mailbox_id, sizeof(s->mailbox_id), "%s", v);
    }
    s->window_days = 0x7f;
    s->window_start = 0;
    s->window_end = 1440;
    snprintf(s->time_zone, sizeof(s->time_zone), "UTC");
    json_t *w = json_object_get(j, "window");
    if (w && !json_is_null(w)) {
        static const char *dnames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
        if (!json_is_object(w))
            return mf_fail(err, 400, "invalid_request", NULL,
                           "window: expected {days, start, end, time_zone}");
        json_t *days = json_object_get(w, "days");
        if (days) {
            if (!json_is_array(days) || json_array_size(days) == 0)
                return mf_fail(err, 400, "invalid_request", NULL,
                               "window.days: expected a list such as [\"mon\",\"tue\"]");
            s->window_days = 0;
            for (size_t i = 0; i < json_array_size(days); i++) {
                const char *d = json_string_value(json_array_get(days, i));
                int found = -1;
                for (int k = 0; d && k < 7; k++)
                    if (strcasecmp(d, dnames[k]) == 0) found = k;
                if (found < 0)
                    return mf_fail(err, 400, "invalid_request", NULL,
                                   "window.days: item %zu is not a day (mon..sun)", i);
                s->window_days |= 1 << found;
            }
        }
        json_t *st = json_object_get(w, "start"), *en = json_object_get(w, "end"),
               *tz = json_object_get(w, "time_zone");
        if (st && (s->window_start = parse_hhmm(json_string_value(st))) < 0)
            return mf_fail(err, 400, "invalid_request", NULL, "window.start: expected HH:MM");
        if (en && (s->window_end = parse_hhmm(json_string_value(en))) < 0)
            return mf_fail(err, 400, "invalid_request", NULL, "window.end: expected HH:MM");
        if (s->window_end <= s->window_start)
            return mf_fail(err, 400, "invalid_request", NULL,
                           "window.end: must be after window.start");
        if (tz) {
            const char *v = json_string_value(tz);
            if (!v || strlen(v) >= sizeof(s->time_zone) || !app_zone_known(v))
                return mf_fail(err, 400, "invalid_request", NULL,
                               "window.time_zone: not a known time zone");
            snprintf(s->time_zone, sizeof(s->time_zone), "%s", v);
        }
    }
    (void)app;
    json_t *js = json_object_get(j, "steps");
    if (!json_is_array(js) || json_array_size(js) == 0 || json_array_size(js) > 50)
        return mf_fail(err, 400, "invalid_request", NULL,
                       "steps: give 1 to 50 steps {delay_minutes, subject, text}");
    *n = (int)json_array_size(js);
    *steps = xcalloc((size_t)*n, sizeof(**steps));
    for (int i = 0; i < *n; i++) {
        json_t *o = json_array_get(js, (size_t)i);
        json_t *delay = json_object_get(o, "delay_minutes");
        const char *subj = json_string_value(json_object_get(o, "subject"));
        const char *text = json_string_value(json_object_get(o, "text"));
        json_t *html = json_object_get(o, "html");
        if (!json_is_object(o) || !json_is_integer(delay) || json_integer_value(delay) < 0 ||
            json_integer_value(delay) > 525600 || !subj || !*subj || strlen(subj) > 998 || !text ||
            !*text || (html && !json_is_null(html) && !json_is_string(html)))
            return mf_fail(err, 400, "invalid_request", NULL,
                           "steps[%d]: needs delay_minutes (0-525600), subject (1-998 "
                           "characters) and text, html optional",
                           i);
        (*steps)[i] = (mf_step){.idx = i,
                                .delay_minutes = (int)json_integer_value(delay),
                                .subject = (char *)subj,
                                .text = (char *)text,
                                .html = json_is_string(html) ? (char *)json_string_value(html)
                                                             : NULL};
    }
    return 0;
}

static int sequence_create(cli_ctx *c, int argc, char **argv)
{
    static const struct option opts[] = {{"user", required_argument, NULL, 'u'},
                                         {"file", required_argument, NULL, 'f'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *email = NULL, *file = NULL;
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (ch == 'u') email = optarg;
        else if (ch == 'f') file = optarg;
        else if (ch == 'h') return cli_help(sequence_usage);
        else return cli_usage(sequence_usage);
    }
    if (optind != argc || !email || !file) return cli_usage(sequence_usage);
    size_t len;
    char *text = read_all(file, &len);
    if (!text) return CLI_FAILED;
    json_error_t jerr;
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    if (!j) {
        fprintf(stderr, "mailfleet: %s is not JSON: %s (line %d)\n", file, jerr.text, jerr.line);
        return CLI_FAILED;
    }
    mf_app app;
    if (cli_open(c, &app, NULL) != CLI_OK) {
        json_decref(j);
        return CLI_FAILED;
    }
    mf_error err;
    mf_actor a;
    mf_sequence s;
    mf_step *steps = NULL;
    int n = 0;
    db *d = app_db(&app, &err);
    int rc = d ? actor_of_email(d, email, &a, &err) : -1;
    if (rc == 0) rc = sequence_from_json(&app, j, &s, &steps, &n, &err);
    if (rc == 0) rc = ops_sequence_create(d, &a, &s, steps, n, &err);
    free(steps); /* the strings belong to j */
    json_decref(j);
    app_deinit(&app);
    if (rc < 0) return cli_fail(&err);
    printf("%s\n", s.id);
    return CLI_OK;
}

static void keep_enrollment_line(const mf_enrollment *e, void *ctx)
{
    strbuf_addf(ctx, "%s\t%s\t%s\n", e->id, e->prospect_id, e->state);
}

typedef struct id_list {
    char **ids;
    int n, cap;
} id_list;

static void id_add(id_list *l, const char *id)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->ids = xrealloc(l->ids, (size_t)l->cap * sizeof(char *));
    }
    l->ids[l->n++] = xstrdup(id);
}

static void id_list_free(id_list *l)
{
    for (int i = 0; i < l->n; i++) free(l->ids[i]);
    free(l->ids);
    memset(l, 0, sizeof(*l));
}

static void collect_prospect_id(const mf_prospect *p, void *ctx)
{
    id_add(ctx, p->id);
}

static int sequence_enroll(cli_ctx *c, int argc, char **argv)
{
    static const struct option opts[] = {{"csv", required_argument, NULL, 'c'},
                                         {"prospect", required_argument, NULL, 'p'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *csv = NULL;
    id_list ids = {0};
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (ch == 'c') csv = optarg;
        else if (ch == 'p') id_add(&ids, optarg);
        else if (ch == 'h') {
            id_list_free(&ids);
            return cli_help(sequence_usage);
        } else {
            id_list_free(&ids);
            return cli_usage(sequence_usage);
        }
    }
    if (optind != argc - 1 || (!csv && !ids.n) || (csv && ids.n)) {
        id_list_free(&ids);
        return cli_usage(sequence_usage);
    }
    const char *seq_id = argv[optind];
    size_t len = 0;
    char *data = csv ? read_all(csv, &len) : NULL;
    if (csv && !data) {
        id_list_free(&ids);
        return CLI_FAILED;
    }
    mf_app app;
    if (cli_open(c, &app, NULL) != CLI_OK) {
        free(data);
        id_list_free(&ids);
        return CLI_FAILED;
    }
    mf_error err;
    mf_actor a;
    mf_sequence s;
    db *d = app_db(&app, &err);
    int rc = d ? sequences_get(d, seq_id, &s, &err) : -1;
    if (rc == 0) rc = actor_of_id(d, s.owner_id, &a, &err);
    /* the CSV's rows become the owner's prospects first (one transaction), then enrolled */
    if (rc == 0 && data) rc = ops_prospects_import_csv(d, &a, data, len, collect_prospect_id,
                                                       &ids, &err) < 0 ? -1 : 0;
    strbuf out;
    strbuf_init(&out, SIZE_MAX);
    if (rc == 0)
        rc = ops_enroll(d, &a, seq_id, ids.ids, ids.n, keep_enrollment_line, &out, &err);
    free(data);
    id_list_free(&ids);
    app_deinit(&app);
    if (rc == 0) fputs(out.buf ? out.buf : "", stdout);
    strbuf_release(&out);
    return rc < 0 ? cli_fail(&err) : CLI_OK;
}

typedef struct pick_ctx {
    id_list *ids;
    const char *reason; /* only those paused for this reason (NULL: any) */
} pick_ctx;

static void pick_enrollment(const mf_enrollment *e, void *ctx)
{
    pick_ctx *p = ctx;
    if (!p->reason || strcmp(e->pause_reason, p->reason) == 0) id_add(p->ids, e->id);
}

static int sequence_set(cli_ctx *c, int argc, char **argv, int pause)
{
    if (argc != 2) return cli_usage(sequence_usage);
    const char *id = argv[1];
    mf_app app;
    if (cli_open(c, &app, NULL) != CLI_OK) return CLI_FAILED;
    mf_error err;
    mf_actor a;
    mf_sequence s;
    mf_enrollment e;
    id_list ids = {0};
    db *d = app_db(&app, &err);
    int rc = d ? 0 : -1;
    if (rc == 0 && strncmp(id, "enr_", 4) == 0) { /* one enrollment */
        rc = enrollments_get(d, id, &e, &err);
        if (rc == 0) rc = sequences_get(d, e.sequence_id, &s, &err);
        if (rc == 0) id_add(&ids, id);
    } else if (rc == 0) { /* every enrollment of the sequence in the state to change */
        rc = sequences_get(d, id, &s, &err);
        mf_enrollment_filter f = {.sequence_id = id, .state = pause ? "active" : "paused"};
        mf_page pg = {.cursor = NULL, .limit = 1000000};
        /* resume: only what was paused by hand; the engine resumes the rest itself */
        pick_ctx pc = {.ids = &ids, .reason = pause ? NULL : "manual"};
        if (rc == 0) rc = enrollments_list(d, f, &pg, pick_enrollment, &pc, &err) < 0 ? -1 : 0;
    }
    if (rc == 0) rc = actor_of_id(d, s.owner_id, &a, &err);
    for (int i = 0; rc == 0 && i < ids.n; i++) {
        rc = ops_enrollment_set(d, &a, ids.ids[i], pause, &e, &err);
        if (rc == 0) printf("%s\t%s\n", e.id, e.state);
    }
    id_list_free(&ids);
    app_deinit(&app);
    return rc < 0 ? cli_fail(&err) : CLI_OK;
}

int cli_sequence(cli_ctx *c)
{
    if (wants_help(c)) return c->argc < 2 ? cli_usage(sequence_usage) : cli_help(sequence_usage);
    int argc = c->argc - 1;
    char **argv = c->argv + 1;
    if (VERB_IS(c, "create")) return sequence_create(c, argc, argv);
    if (VERB_IS(c, "enroll")) return sequence_enroll(c, argc, argv);
    if (VERB_IS(c, "pause")) return sequence_set(c, argc, argv, 1);
    if (VERB_IS(c, "resume")) return sequence_set(c, argc, argv, 0);
    if (VERB_IS(c, "list")) {
        static const struct option opts[] = {{"org", required_argument, NULL, 'o'},
                                             {"user", required_argument, NULL, 'u'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
        const char *org = NULL, *email = NULL;
        int ch;
        while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
            if (ch == 'o') org = optarg;
            else if (ch == 'u') email = optarg;
            else if (ch == 'h') return cli_help(sequence_usage);
            else return cli_usage(sequence_usage);
        }
        if (optind != argc) return cli_usage(sequence_usage);
        mf_app app;
        if (cli_open(c, &app, NULL) != CLI_OK) return CLI_FAILED;
        mf_error err;
        mf_user u;
        db *d = app_db(&app, &err);
        int rc = d ? 0 : -1;
        if (rc == 0 && email) rc = users_get_by_email(d, email, &u, &err);
        mf_page pg = {.cursor = NULL, .limit = 1000000};
        if (rc == 0)
            rc = sequences_list(d, org, email ? u.id : NULL, &pg, print_sequence, NULL, &err);
        app_deinit(&app);
        return rc < 0 ? cli_fail(&err) : CLI_OK;
    }
    fprintf(stderr, "mailfleet: unknown sequence command '%s'\n", c->argv[1]);
    return cli_usage(sequence_usage);
}

/* ---------------- prospect ---------------- */
static const char *prospect_usage =
    "usage: mailfleet prospect import --user EMAIL --csv FILE.csv\n"
    "The rows of the CSV file become that member's prospects (R18), all or none: the header\n"
    "names the columns (email; first_name, last_name, company, tags separated by ';' or '|';\n"
    "any other column is a custom field), every address is checked. \"-\" reads stdin. Prints\n"
    "id and email per prospect.\n";

/* Lines printed once the whole operation succeeded (nothing is printed when it is refused). */
static void keep_prospect_line(const mf_prospect *p, void *ctx)
{
    strbuf_addf(ctx, "%s\t%s\n", p->id, p->email);
}

int cli_prospect(cli_ctx *c)
{
    if (wants_help(c)) return c->argc < 2 ? cli_usage(prospect_usage) : cli_help(prospect_usage);
    if (!VERB_IS(c, "import")) {
        fprintf(stderr, "mailfleet: unknown prospect command '%s'\n", c->argv[1]);
        return cli_usage(prospect_usage);
    }
    static const struct option opts[] = {{"user", required_argument, NULL, 'u'},
                                         {"csv", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int argc = c->argc - 1;
    char **argv = c->argv + 1;
    const char *email = NULL, *csv = NULL;
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (ch == 'u') email = optarg;
        else if (ch == 'c') csv = optarg;
        else if (ch == 'h') return cli_help(prospect_usage);
        else return cli_usage(prospect_usage);
    }
    if (optind != argc || !email || !csv) return cli_usage(prospect_usage);
    size_t len;
    char *data = read_all(csv, &len);
    if (!data) return CLI_FAILED;
    mf_app app;
    if (cli_open(c, &app, NULL) != CLI_OK) {
        free(data);
        return CLI_FAILED;
    }
    mf_error err;
    mf_actor a;
    strbuf out;
    strbuf_init(&out, SIZE_MAX);
    db *d = app_db(&app, &err);
    int rc = d ? actor_of_email(d, email, &a, &err) : -1;
    if (rc == 0) rc = ops_prospects_import_csv(d, &a, data, len, keep_prospect_line, &out, &err);
    free(data);
    app_deinit(&app);
    if (rc >= 0) fputs(out.buf ? out.buf : "", stdout);
    strbuf_release(&out);
    return rc < 0 ? cli_fail(&err) : CLI_OK;
}

/* ---------------- message ---------------- */
static const char *message_usage =
    "usage: mailfleet message send --from MAILBOX --to ADDRESS [--to ADDRESS ...]\n"
    "                              [--cc ADDRESS ...] --subject TEXT\n"
    "                              (--body TEXT | --body-file FILE) [--html-file FILE]\n"
    "Queues a one-off message from MAILBOX (its id or address) as its owner, as POST\n"
    "/api/v1/messages does (R18, R19 Reply-To, R25 suppression list, R26 durable outbox), and\n"
    "prints its outbox id. A running `mailfleet serve` (or `worker`) sends it; `mailfleet\n"
    "outbox list` shows its state.\n";

int cli_message(cli_ctx *c)
{
    if (wants_help(c)) return c->argc < 2 ? cli_usage(message_usage) : cli_help(message_usage);
    if (!VERB_IS(c, "send")) {
        fprintf(stderr, "mailfleet: unknown message command '%s'\n", c->argv[1]);
        return cli_usage(message_usage);
    }
    static const struct option opts[] = {{"from", required_argument, NULL, 'f'},
                                         {"to", required_argument, NULL, 't'},
                                         {"cc", required_argument, NULL, 'c'},
                                         {"subject", required_argument, NULL, 's'},
                                         {"body", required_argument, NULL, 'b'},
                                         {"body-file", required_argument, NULL, 'B'},
                                         {"html-file", required_argument, NULL, 'H'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int argc = c->argc - 1;
    char **argv = c->argv + 1;
    const char *from = NULL, *subject = NULL, *body = NULL, *body_file = NULL, *html_file = NULL;
    const char **to = xcalloc((size_t)argc + 1, sizeof(char *));
    const char **cc = xcalloc((size_t)argc + 1, sizeof(char *));
    size_t nto = 0, ncc = 0;
    int ch, bad = 0;
    while (!bad && (ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'f': from = optarg; break;
        case 't': to[nto++] = optarg; break;
        case 'c': cc[ncc++] = optarg; break;
        case 's': subject = optarg; break;
        case 'b': body = optarg; break;
        case 'B': body_file = optarg; break;
        case 'H': html_file = optarg; break;
        case 'h':
            free(to);
            free(cc);
            return cli_help(message_usage);
        default: bad = 1; break;
        }
    }
    if (bad || optind != argc || !from || !nto || nto > 100 || ncc > 100 || !subject ||
        !*subject || strlen(subject) > 998 || (!body == !body_file)) {
        free(to);
        free(cc);
        return cli_usage(message_usage);
    }
    for (size_t i = 0; i < nto + ncc; i++) {
        const char *addr = i < nto ? to[i] : cc[i - nto];
        char norm[MF_ADDR_MAX];
        const char *why = "";
        if (address_normalize(addr, norm, &why) < 0) {
            fprintf(stderr, "mailfleet: %s is not an email address: %s\n", addr, why);
            free(to);
            free(cc);
            return CLI_USAGE;
        }
    }
    char *text = NULL, *html = NULL;
    size_t len;
    if (body_file && !(text = read_all(body_file, &len))) {
        free(to);
        free(cc);
        return CLI_FAILED;
    }
    if (html_file && !(html = read_all(html_file, &len))) {
        free(text);
        free(to);
        free(cc);
        return CLI_FAILED;
    }
    mf_app app;
    int rc = cli_open(c, &app, NULL) == CLI_OK ? 0 : -2;
    mf_error err;
    mf_mailbox m;
    memset(&m, 0, sizeof(m));
    mf_actor a;
    char id[MF_ID_LEN];
    db *d = rc == 0 ? app_db(&app, &err) : NULL;
    if (rc == 0 && !d) rc = -1;
    if (rc == 0) {
        char norm[MF_ADDR_MAX];
        rc = strchr(from, '@') && address_normalize(from, norm, NULL) == 0
                 ? mailboxes_get_by_address(d, norm, &m, &err)
                 : mailboxes_get(d, from, &m, &err);
    }
    if (rc == 0) rc = actor_of_id(d, m.owner_id, &a, &err);
    if (rc == 0) {
        mf_message_input in = {.from_mailbox_id = m.id,
                               .to = to,
                               .n_to = nto,
                               .cc = cc,
                               .n_cc = ncc,
                               .subject = subject,
                               .text = body ? body : text,
                               .html = html};
        rc = ops_message_send(&app, d, &a, &in, id, &err);
    }
    mf_mailbox_clear(&m);
    if (rc != -2) app_deinit(&app);
    free(text);
    free(html);
    free(to);
    free(cc);
    if (rc == -2) return CLI_FAILED;
    if (rc < 0) return cli_fail(&err);
    printf("%s\n", id);
    return CLI_OK;
}
