/* cli_admin.c — administration commands: org, user, token, mailbox, request. They act as an
 * operator from the command line (audit actor "operator" without an id) through the same
 * domain operations as the API. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "app/login_invite_ops.h"
#include "app/ops.h"
#include "cli/cli.h"
#include "core/login_invite.h"
#include "core/limits.h"

/* Parse a whole number in [lo, hi]. */
static int parse_num(const char *s, long lo, long hi, int *out)
{
    char *end;
    errno = 0;
    long n = strtol(s, &end, 10);
    if (errno || end == s || *end || n < lo || n > hi) return -1;
    *out = (int)n;
    return 0;
}

/* Verb dispatch: `<noun> <verb> ...` with `<noun> --help`. */
#define VERB_IS(c, v) ((c)->argc >= 2 && strcmp((c)->argv[1], (v)) == 0)
static int wants_help(cli_ctx *c)
{
    return c->argc < 2 || strcmp(c->argv[1], "--help") == 0 || strcmp(c->argv[1], "-h") == 0 ||
           strcmp(c->argv[1], "help") == 0;
}

/* ---------------- org ---------------- */
static const char *org_usage =
    "usage: mailfleet org create NAME [--mailbox-limit N] [--allow-generic]\n"
    "                            [--admin-self-approve] [--max-daily-limit N]\n"
    "       mailfleet org list\n"
    "create prints the new organisation's id. --mailbox-limit is the contract override of the\n"
    "per-user mailbox limit (R3), --allow-generic lets personal seats hold generic addresses\n"
    "(R6), --admin-self-approve lets admins approve their own mailbox requests (R10).\n";

static void print_org(const mf_org *o, void *ctx)
{
    (void)ctx;
    printf("%s\t%s\n", o->id, o->name);
}

int cli_org(cli_ctx *c)
{
    if (wants_help(c)) return c->argc < 2 ? cli_usage(org_usage) : cli_help(org_usage);
    int argc = c->argc - 1;
    char **argv = c->argv + 1;
    if (VERB_IS(c, "create")) {
        static const struct option opts[] = {{"mailbox-limit", required_argument, NULL, 'm'},
                                             {"max-daily-limit", required_argument, NULL, 'd'},
                                             {"allow-generic", no_argument, NULL, 'g'},
                                             {"admin-self-approve", no_argument, NULL, 'a'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
        mf_org o;
        memset(&o, 0, sizeof(o));
        o.mailbox_limit = LIMIT_UNSET;
        o.max_daily_limit = -1;
        int ch;
        while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
            switch (ch) {
            case 'm':
                if (parse_num(optarg, 0, 10000, &o.mailbox_limit) < 0) return cli_usage(org_usage);
                break;
            case 'd':
                if (parse_num(optarg, 1, 1000000, &o.max_daily_limit) < 0)
                    return cli_usage(org_usage);
                break;
            case 'g': o.allow_generic = 1; break;
            case 'a': o.admin_self_approve = 1; break;
            case 'h': return cli_help(org_usage);
            default: return cli_usage(org_usage);
            }
        }
        if (optind != argc - 1 || !*argv[optind]) return cli_usage(org_usage);
        snprintf(o.name, sizeof(o.name), "%s", argv[optind]);
        mf_app app;
        if (cli_open(c, &app, NULL) != CLI_OK) return CLI_FAILED;
        if (o.max_daily_limit < 0) o.max_daily_limit = app.cfg.default_daily_limit;
        mf_error err;
        db *d = app_db(&app, &err);
        int rc = d ? ops_org_create(d, &ops_cli_actor, &o, &err) : -1;
        app_deinit(&app);
        if (rc < 0) return cli_fail(&err);
        printf("%s\n", o.id);
        return CLI_OK;
    }
    if (VERB_IS(c, "list")) {
        if (argc != 1) return cli_usage(org_usage);
        mf_app app;
        if (cli_open(c, &app, NULL) != CLI_OK) return CLI_FAILED;
        mf_error err;
        db *d = app_db(&app, &err);
        mf_page pg = {.cursor = NULL, .limit = 100000};
        int rc = d ? orgs_list(d, &pg, print_org, NULL, &err) : -1;
        app_deinit(&app);
        return rc < 0 ? cli_fail(&err) : CLI_OK;
    }
    fprintf(stderr, "mailfleet: unknown org command '%s'\n", c->argv[1]);
    return cli_usage(org_usage);
}

/* ---------------- user ---------------- */
static const char *user_usage =
    "usage: mailfleet user create --email EMAIL --name NAME --role operator|admin|user\n"
    "                             [--org ORG_ID]\n"
    "       mailfleet user list [--org ORG_ID]\n"
    "       mailfleet user lock|unlock --email EMAIL\n"
    "       mailfleet user passwd EMAIL|--email EMAIL [--password-file FILE]\n"
    "                 (the console password: the first line of FILE, else of stdin)\n"
    "       mailfleet user invite --email EMAIL\n"
    "                 (email a one-time link to set the console password; prints it too)\n"
    "create prints the new user's id; operators have no organisation, admins and users need\n"
    "--org. A locked seat cannot log in or send; its mailboxes keep their addresses (R2, R7).\n";

static void print_user(const mf_user *u, void *ctx)
{
    (void)ctx;
    printf("%s\t%s\t%s\t%s\t%s\n", u->id, u->email, mf_role_name(u->role),
           u->locked ? "locked" : "active", u->org_id[0] ? u->org_id : "-");
}

static int user_create(cli_ctx *c, int argc, char **argv)
{
    static const struct option opts[] = {{"email", required_argument, NULL, 'e'},
                                         {"name", required_argument, NULL, 'n'},
                                         {"role", required_argument, NULL, 'r'},
                                         {"org", required_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *email = NULL, *name = NULL, *role = NULL, *org = NULL;
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'e': email = optarg; break;
        case 'n': name = optarg; break;
        case 'r': role = optarg; break;
        case 'o': org = optarg; break;
        case 'h': return cli_help(user_usage);
        default: return cli_usage(user_usage);
        }
    }
    mf_user u;
    memset(&u, 0, sizeof(u));
    u.mailbox_limit = LIMIT_UNSET;
    if (optind != argc || !email || !name || !*name || !role ||
        mf_role_parse(role, &u.role) < 0 || u.role == ROLE_CONTRIBUTOR)
        return cli_usage(user_usage);
    if (u.role != ROLE_OPERATOR && !org) {
        fprintf(stderr, "mailfleet: --org is needed for admins and users\n");
        return CLI_USAGE;
    }
    if (strlen(email) >= sizeof(u.email) || strlen(name) >= sizeof(u.name) ||
        (org && strlen(org) >= sizeof(u.org_id)))
        return cli_usage(user_usage);
    snprintf(u.email, sizeof(u.email), "%s", email);
    snprintf(u.name, sizeof(u.name), "%s", name);
    if (org && u.role != ROLE_OPERATOR) snprintf(u.org_id, sizeof(u.org_id), "%s", org);
    mf_app app;
    if (cli_open(c, &app, NULL) != CLI_OK) return CLI_FAILED;
    mf_error err;
    db *d = app_db(&app, &err);
    int rc = d ? ops_user_create(d, &ops_cli_actor, &u, &err) : -1;
    app_deinit(&app);
    if (rc < 0) return cli_fail(&err);
    printf("%s\n", u.id);
    return CLI_OK;
}

/* Parse `--email EMAIL` only (lock, unlock, passwd). */
static int email_only(int argc, char **argv, const char **email)
{
    static const struct option opts[] = {{"email", required_argument, NULL, 'e'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int ch;
    *email = NULL;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (ch == 'e') *email = optarg;
        else if (ch == 'h') return cli_help(user_usage) == CLI_OK ? 1 : -1;
        else return -1;
    }
    return optind == argc && *email ? 0 : -1;
}

static int user_set_seat(cli_ctx *c, int argc, char **argv, int locked)
{
    const char *email;
    int p = email_only(argc, argv, &email);
    if (p == 1) return CLI_OK;
    if (p < 0) return cli_usage(user_usage);
    mf_app app;
    if (cli_open(c, &app, NULL) != CLI_OK) return CLI_FAILED;
    mf_error err;
    mf_user u, out;
    db *d = app_db(&app, &err);
    int rc = d ? users_get_by_email(d, email, &u, &err) : -1;
    mf_user_patch patch = {.name = NULL, .seat = locked, .set_limit = 0};
    if (rc == 0) rc = ops_user_update(d, &ops_cli_actor, u.id, &patch, &out, &err);
    app_deinit(&app);
    return rc < 0 ? cli_fail(&err) : CLI_OK;
}

/* `user passwd EMAIL` or `--email EMAIL`; the password is the first line of --password-file
 * FILE, else of standard input. Sets the console password (argon2id) and ends the user's
 * console sessions. */
static int user_passwd(cli_ctx *c, int argc, char **argv)
{
    static const struct option opts[] = {{"email", required_argument, NULL, 'e'},
                                         {"password-file", required_argument, NULL, 'p'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *email = NULL, *pwfile = NULL;
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (ch == 'e') email = optarg;
        else if (ch == 'p') pwfile = optarg;
        else if (ch == 'h') return cli_help(user_usage);
        else return cli_usage(user_usage);
    }
    if (!email && optind < argc) email = argv[optind++];
    if (!email || !*email || optind != argc) return cli_usage(user_usage);
    FILE *in = stdin;
    if (pwfile && !(in = fopen(pwfile, "r"))) {
        fprintf(stderr, "mailfleet: cannot read %s: %s\n", pwfile, strerror(errno));
        return CLI_FAILED;
    }
    char pw[1024];
    int got = fgets(pw, sizeof(pw), in) != NULL;
    if (in != stdin) fclose(in);
    if (!got) {
        fprintf(stderr, "mailfleet: give the new password on standard input or with "
                        "--password-file\n");
        return CLI_FAILED;
    }
    pw[strcspn(pw, "\r\n")] = '\0';
    mf_error err;
    char hash[128];
    const char *why;
    /* the rule of every console password (core/login_invite.h), hashed before opening */
    if (login_password_check(pw, &why) < 0 || ops_password_prepare(pw, hash, &err) < 0) {
        memset(pw, 0, sizeof(pw));
        if (why) fprintf(stderr, "mailfleet: the password %s\n", why);
        else cli_fail(&err);
        return CLI_FAILED;
    }
    memset(pw, 0, sizeof(pw));
    mf_app app;
    if (cli_open(c, &app, NULL) != CLI_OK) {
        memset(hash, 0, sizeof(hash));
        return CLI_FAILED;
    }
    mf_user u;
    db *d = app_db(&app, &err);
    int rc = d ? users_get_by_email(d, email, &u, &err) : -1;
    if (rc == 0) rc = db_begin(d, &err);
    if (rc == 0) rc = ops_user_password_set_in_tx(d, &ops_cli_actor, &u, hash, NULL, &err);
    if (d && rc == 0) rc = db_commit(d, &err);
    else if (d && d->in_tx) db_rollback(d);
    memset(hash, 0, sizeof(hash));
    app_deinit(&app);
    return rc < 0 ? cli_fail(&err) : CLI_OK;
}

/* `user invite --email EMAIL`: a login invite (the link by email, as POST
 * /users/{id}/login-invite does) for operators bootstrapping an organisation's first admin.
 * The link is also printed on standard output (it is the secret: nowhere else). */
static int user_invite(cli_ctx *c, int argc, char **argv)
{
    const char *email;
    int p = email_only(argc, argv, &email);
    if (p == 1) return CLI_OK;
    if (p < 0) return cli_usage(user_usage);
    mf_app app;
    if (cli_open(c, &app, NULL) != CLI_OK) return CLI_FAILED;
    mf_error err;
    mf_user u;
    mf_login_invite inv;
    char *link = NULL;
    db *d = app_db(&app, &err);
    int rc = d ? users_get_by_email(d, email, &u, &err) : -1;
    if (rc == 0) rc = ops_login_invite_create(&app, d, &ops_cli_actor, u.id, &inv, &link, &err);
    app_deinit(&app);
    if (rc < 0) return cli_fail(&err);
    printf("%s\n", link);
    fprintf(stderr, "mailfleet: login invite %s for %s emailed (the engine of `mailfleet serve` "
                    "sends it); the link expires %s\n",
            inv.id, u.email, inv.expires_at);
    mf_secret_free(&link);
    return CLI_OK;
}

int cli_user(cli_ctx *c)
{
    if (wants_help(c)) return c->argc < 2 ? cli_usage(user_usage) : cli_help(user_usage);
    int argc = c->argc - 1;
    char **argv = c->argv + 1;
    if (VERB_IS(c, "create")) return user_create(c, argc, argv);
    if (VERB_IS(c, "lock")) return user_set_seat(c, argc, argv, 1);
    if (VERB_IS(c, "unlock")) return user_set_seat(c, argc, argv, 0);
    if (VERB_IS(c, "passwd")) return user_passwd(c, argc, argv);
    if (VERB_IS(c, "invite")) return user_invite(c, argc, argv);
    if (VERB_IS(c, "list")) {
        static const struct option opts[] = {{"org", required_argument, NULL, 'o'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
        const char *org = NULL;
        int ch;
        while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
            if (ch == 'o') org = optarg;
            else if (ch == 'h') return cli_help(user_usage);
            else return cli_usage(user_usage);
        }
        if (optind != argc) return cli_usage(user_usage);
        mf_app app;
        if (cli_open(c, &app, NULL) != CLI_OK) return CLI_FAILED;
        mf_error err;
        db *d = app_db(&app, &err);
        mf_page pg = {.cursor = NULL, .limit = 100000};
        int rc = d ? users_list(d, org, &pg, print_user, NULL, &err) : -1;
        app_deinit(&app);
        return rc < 0 ? cli_fail(&err) : CLI_OK;
    }
    fprintf(stderr, "mailfleet: unknown user command '%s'\n", c->argv[1]);
    return cli_usage(user_usage);
}

/* ---------------- token ---------------- */
static const char *token_usage = "usage: mailfleet token create --user EMAIL\n"
                                 "Prints a new API bearer token for that user (shown once; only "
                                 "its hash is stored).\n";

int cli_token(cli_ctx *c)
{
    if (wants_help(c)) return c->argc < 2 ? cli_usage(token_usage) : cli_help(token_usage);
    if (!VERB_IS(c, "create")) return cli_usage(token_usage);
    static const struct option opts[] = {{"user", required_argument, NULL, 'u'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int argc = c->argc - 1;
    char **argv = c->argv + 1;
    const char *email = NULL;
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (ch == 'u') email = optarg;
        else if (ch == 'h') return cli_help(token_usage);
        else return cli_usage(token_usage);
    }
    if (optind != argc || !email) return cli_usage(token_usage);
    mf_app app;
    if (cli_open(c, &app, NULL) != CLI_OK) return CLI_FAILED;
    mf_error err;
    mf_user u;
    db *d = app_db(&app, &err);
    int rc = d ? users_get_by_email(d, email, &u, &err) : -1;
    char *token = NULL;
    if (rc == 0 && u.locked)
        rc = mf_fail(&err, 403, "seat_locked", "R2", "the seat of %s is locked", u.email);
    if (rc == 0) {
        token = ops_token_create(d, &ops_cli_actor, &u, &err);
        if (!token) rc = -1;
    }
    app_deinit(&app);
    if (rc < 0) return cli_fail(&err);
    printf("%s\n", token);
    mf_secret_free(&token);
    return CLI_OK;
}

/* ---------------- mailbox ---------------- */
static const char *mailbox_usage =
    "usage: mailfleet mailbox list [--org ORG_ID] [--owner EMAIL] [--status STATUS]\n"
    "Prints id, address, owner id, kind, status and default flag, one mailbox a line.\n";

static void print_mailbox(const mf_mailbox *m, void *ctx)
{
    (void)ctx;
    printf("%s\t%s\t%s\t%s\t%s\t%s\n", m->id, m->address, m->owner_id, m->kind, m->status,
           m->is_default ? "default" : "-");
}

int cli_mailbox(cli_ctx *c)
{
    if (wants_help(c)) return c->argc < 2 ? cli_usage(mailbox_usage) : cli_help(mailbox_usage);
    if (!VERB_IS(c, "list")) return cli_usage(mailbox_usage);
    static const struct option opts[] = {{"org", required_argument, NULL, 'o'},
                                         {"owner", required_argument, NULL, 'w'},
                                         {"status", required_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int argc = c->argc - 1;
    char **argv = c->argv + 1;
    const char *org = NULL, *owner = NULL, *status = NULL;
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (ch == 'o') org = optarg;
        else if (ch == 'w') owner = optarg;
        else if (ch == 's') status = optarg;
        else if (ch == 'h') return cli_help(mailbox_usage);
        else return cli_usage(mailbox_usage);
    }
    if (optind != argc) return cli_usage(mailbox_usage);
    mf_app app;
    if (cli_open(c, &app, NULL) != CLI_OK) return CLI_FAILED;
    mf_error err;
    db *d = app_db(&app, &err);
    mf_user u;
    int rc = d ? 0 : -1;
    if (rc == 0 && owner) rc = users_get_by_email(d, owner, &u, &err);
    mf_mailbox_filter f = {.org_id = org, .owner_id = owner ? u.id : NULL, .status = status};
    mf_page pg = {.cursor = NULL, .limit = 1000000};
    if (rc == 0) rc = mailboxes_list(d, f, &pg, print_mailbox, NULL, &err);
    app_deinit(&app);
    return rc < 0 ? cli_fail(&err) : CLI_OK;
}

/* ---------------- request ---------------- */
static const char *request_usage =
    "usage: mailfleet request list [--org ORG_ID] [--status pending|completed|rejected]\n"
    "       mailfleet request approve REQUEST_ID\n"
    "       mailfleet request reject REQUEST_ID --reason TEXT\n"
    "The operator's review of mailbox requests (R10): list prints id, status, kind, address,\n"
    "target user and the failed checks; approve carries the request out atomically.\n";

static void print_request(const mf_request *q, void *ctx)
{
    (void)ctx;
    printf("%s\t%s\t%s\t%s\t%s\t%s\n", q->id, q->status, q->kind, q->address_norm,
           q->target_user_id, q->reason[0] ? q->reason : "-");
}

int cli_request(cli_ctx *c)
{
    if (wants_help(c)) return c->argc < 2 ? cli_usage(request_usage) : cli_help(request_usage);
    static const struct option opts[] = {{"org", required_argument, NULL, 'o'},
                                         {"status", required_argument, NULL, 's'},
                                         {"reason", required_argument, NULL, 'r'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int argc = c->argc - 1;
    char **argv = c->argv + 1;
    const char *org = NULL, *status = NULL, *reason = NULL;
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (ch == 'o') org = optarg;
        else if (ch == 's') status = optarg;
        else if (ch == 'r') reason = optarg;
        else if (ch == 'h') return cli_help(request_usage);
        else return cli_usage(request_usage);
    }
    int list = VERB_IS(c, "list"), approve = VERB_IS(c, "approve"), reject = VERB_IS(c, "reject");
    if (list && optind != argc) return cli_usage(request_usage);
    if ((approve || reject) && optind != argc - 1) return cli_usage(request_usage);
    if (reject && !reason) return cli_usage(request_usage);
    if (!list && !approve && !reject) return cli_usage(request_usage);
    mf_app app;
    if (cli_open(c, &app, NULL) != CLI_OK) return CLI_FAILED;
    mf_error err;
    db *d = app_db(&app, &err);
    int rc = d ? 0 : -1;
    if (rc == 0 && list) {
        mf_page pg = {.cursor = NULL, .limit = 1000000};
        rc = requests_list(d, org, NULL, status, &pg, print_request, NULL, &err);
    } else if (rc == 0) {
        mf_request q;
        const char *id = argv[optind];
        rc = approve ? ops_request_approve(&app, d, &ops_cli_actor, id, &q, &err)
                     : ops_request_reject(d, &ops_cli_actor, id, reason, &q, &err);
        if (rc == 0) {
            printf("%s\t%s\n", q.id, q.status);
            mf_request_clear(&q);
        }
    }
    app_deinit(&app);
    return rc < 0 ? cli_fail(&err) : CLI_OK;
}

/* ---------------- outbox ---------------- */
static const char *outbox_usage =
    "usage: mailfleet outbox list [--status queued|sending|sent|failed|unknown] [--org ORG_ID]\n"
    "Prints id, status, kind, mailbox id, attempts, Message-ID, recipients and the error, one\n"
    "message a line (newest last). \"unknown\" messages may or may not have been delivered\n"
    "(R26): check with the recipient before sending again.\n";

int cli_outbox(cli_ctx *c)
{
    if (wants_help(c)) return c->argc < 2 ? cli_usage(outbox_usage) : cli_help(outbox_usage);
    if (!VERB_IS(c, "list")) return cli_usage(outbox_usage);
    static const struct option opts[] = {{"status", required_argument, NULL, 's'},
                                         {"org", required_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int argc = c->argc - 1;
    char **argv = c->argv + 1;
    const char *status = NULL, *org = NULL;
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (ch == 's') status = optarg;
        else if (ch == 'o') org = optarg;
        else if (ch == 'h') return cli_help(outbox_usage);
        else return cli_usage(outbox_usage);
    }
    if (optind != argc) return cli_usage(outbox_usage);
    mf_app app;
    if (cli_open(c, &app, NULL) != CLI_OK) return CLI_FAILED;
    mf_error err;
    db *d = app_db(&app, &err);
    int rc = d ? 0 : -1;
    if (rc == 0) {
        qb q;
        qb_init(&q, "SELECT id, status, kind, COALESCE(mailbox_id, '-'), attempts, message_id, "
                    "rcpts, COALESCE(error, '') FROM outbox WHERE 1=1");
        qb_and(&q, "status = ?", status);
        qb_and(&q, "org_id = ?", org);
        strbuf_addstr(&q.sql, " ORDER BY id");
        db_stmt *st = qb_prepare(d, &q, &err);
        if (!st) rc = -1;
        while (st && (rc = db_step(st)) == DB_ROW) {
            printf("%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", db_col_text(st, 0), db_col_text(st, 1),
                   db_col_text(st, 2), db_col_text(st, 3), db_col_text(st, 4), db_col_text(st, 5),
                   db_col_text(st, 6), db_col_text(st, 7));
        }
        rc = rc == DB_ERROR ? -1 : 0;
        db_finalize(&st);
    }
    app_deinit(&app);
    return rc < 0 ? cli_fail(&err) : CLI_OK;
}

/* ---------------- suppression ---------------- */
static const char *suppression_usage =
    "usage: mailfleet suppression list --org ORG_ID\n"
    "       mailfleet suppression add --org ORG_ID --email ADDRESS [--reason TEXT]\n"
    "The organisation's suppression list (R25): no mail of the organisation goes to these\n"
    "addresses. Unsubscribe links add to it.\n";

int cli_suppression(cli_ctx *c)
{
    if (wants_help(c))
        return c->argc < 2 ? cli_usage(suppression_usage) : cli_help(suppression_usage);
    static const struct option opts[] = {{"org", required_argument, NULL, 'o'},
                                         {"email", required_argument, NULL, 'e'},
                                         {"reason", required_argument, NULL, 'r'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int argc = c->argc - 1;
    char **argv = c->argv + 1;
    const char *org = NULL, *email = NULL, *reason = "manual";
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (ch == 'o') org = optarg;
        else if (ch == 'e') email = optarg;
        else if (ch == 'r') reason = optarg;
        else if (ch == 'h') return cli_help(suppression_usage);
        else return cli_usage(suppression_usage);
    }
    int list = VERB_IS(c, "list"), add = VERB_IS(c, "add");
    if ((!list && !add) || optind != argc || !org || (add && !email))
        return cli_usage(suppression_usage);
    char norm[MF_ADDR_MAX];
    if (add && address_normalize(email, norm, NULL) < 0) {
        fprintf(stderr, "mailfleet: %s is not an email address\n", email);
        return CLI_USAGE;
    }
    mf_app app;
    if (cli_open(c, &app, NULL) != CLI_OK) return CLI_FAILED;
    mf_error err;
    db *d = app_db(&app, &err);
    int rc = d ? 0 : -1;
    mf_org o;
    if (rc == 0) rc = orgs_get(d, org, &o, &err);
    if (rc == 0 && add) {
        char now[MF_TIME_LEN];
        mf_time_format(mf_now(), now);
        rc = db_exec(d, &err,
                     "INSERT INTO suppressions (org_id, address_norm, reason, created_at) VALUES "
                     "(?, ?, ?, ?) ON CONFLICT (org_id, address_norm) DO NOTHING",
                     org, norm, reason, now, DB_END) < 0
                 ? -1
                 : 0;
        if (rc == 0)
            rc = ops_audit(d, &ops_cli_actor, org, "suppression.add", "address", NULL, NULL);
    } else if (rc == 0) {
        db_stmt *st = db_prepare(d, "SELECT address_norm, reason, created_at FROM suppressions "
                                    "WHERE org_id = ? ORDER BY address_norm", &err);
        if (!st) rc = -1;
        if (st) db_bind_text(st, 1, org);
        while (st && (rc = db_step(st)) == DB_ROW)
            printf("%s\t%s\t%s\n", db_col_text(st, 0), db_col_text(st, 1), db_col_text(st, 2));
        rc = rc == DB_ERROR ? -1 : 0;
        db_finalize(&st);
    }
    app_deinit(&app);
    return rc < 0 ? cli_fail(&err) : CLI_OK;
}
