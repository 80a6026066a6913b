/* cli_invite.c — `mailfleet invite create|list|revoke`: invites (R14) from the command line,
 * acting as an operator through the same domain operations as POST/GET/DELETE
 * /api/v1/invites. The invite email is queued in the outbox; a running server sends it. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "app/invite_ops.h"
#include "cli/cli.h"

static const char *invite_usage =
    "usage: mailfleet invite create --org ORG_ID --email ADDRESS --kind shared|personal\n"
    "                              [--owner USER_ID] [--note TEXT]\n"
    "       mailfleet invite list [--org ORG_ID] [--status pending|accepted|revoked|expired]\n"
    "       mailfleet invite revoke INVITE_ID\n"
    "create prints the new invite's id and queues the invitation email (its one-time link is\n"
    "in the email only). A shared invite needs --owner: the admin or user of the organisation\n"
    "who owns the shared mailbox (R20). list prints id, status, kind, address, expires_at, one\n"
    "invite a line. revoke makes the link stop working (R14).\n";

static void print_invite(const mf_invite *i, void *ctx)
{
    (void)ctx;
    const char *state = invite_state_name(mf_invite_state(i, mf_now()));
    printf("%s\t%s\t%s\t%s\t%s\n", i->id, state ? state : "?", i->kind, i->address,
           i->expires_at);
}

static int invite_create(cli_ctx *c, int argc, char **argv)
{
    static const struct option opts[] = {{"org", required_argument, NULL, 'o'},
                                         {"email", required_argument, NULL, 'e'},
                                         {"kind", required_argument, NULL, 'k'},
                                         {"owner", required_argument, NULL, 'w'},
                                         {"note", required_argument, NULL, 'n'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    mf_invite_input in = {0};
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (ch == 'o') in.org_id = optarg;
        else if (ch == 'e') in.address = optarg;
        else if (ch == 'k') in.kind = optarg;
        else if (ch == 'w') in.owner_id = optarg;
        else if (ch == 'n') in.note = optarg;
        else if (ch == 'h') return cli_help(invite_usage);
        else return cli_usage(invite_usage);
    }
    if (optind != argc || !in.org_id || !in.address || !in.kind) return cli_usage(invite_usage);
    mf_app app;
    if (cli_open(c, &app, NULL) != CLI_OK) return CLI_FAILED;
    mf_error err;
    mf_invite inv;
    db *d = app_db(&app, &err);
    int rc = d ? ops_invite_create(&app, d, &ops_cli_actor, &in, &inv, &err) : -1;
    if (rc == 0) printf("%s\n", inv.id);
    app_deinit(&app);
    return rc < 0 ? cli_fail(&err) : CLI_OK;
}

static int invite_list(cli_ctx *c, int argc, char **argv)
{
    static const struct option opts[] = {{"org", required_argument, NULL, 'o'},
                                         {"status", required_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *org = NULL, *status = NULL;
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (ch == 'o') org = optarg;
        else if (ch == 's') status = optarg;
        else if (ch == 'h') return cli_help(invite_usage);
        else return cli_usage(invite_usage);
    }
    if (optind != argc) return cli_usage(invite_usage);
    mf_app app;
    if (cli_open(c, &app, NULL) != CLI_OK) return CLI_FAILED;
    mf_error err;
    db *d = app_db(&app, &err);
    int rc = d ? 0 : -1;
    char cursor[MF_ID_LEN] = "";
    for (int more = 1; rc == 0 && more;) { /* every page */
        mf_page pg = {.cursor = cursor, .limit = 500};
        rc = ops_invites_list(d, &ops_cli_actor, org, status, &pg, print_invite, NULL, &err) < 0
                 ? -1
                 : 0;
        more = pg.more;
        snprintf(cursor, sizeof(cursor), "%s", pg.last_id);
    }
    app_deinit(&app);
    return rc < 0 ? cli_fail(&err) : CLI_OK;
}

static int invite_revoke(cli_ctx *c, int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-') {
        if (argc == 2 && strcmp(argv[1], "--help") == 0) return cli_help(invite_usage);
        return cli_usage(invite_usage);
    }
    mf_app app;
    if (cli_open(c, &app, NULL) != CLI_OK) return CLI_FAILED;
    mf_error err;
    mf_invite inv;
    db *d = app_db(&app, &err);
    int rc = d ? ops_invite_revoke(d, &ops_cli_actor, argv[1], &inv, &err) : -1;
    app_deinit(&app);
    return rc < 0 ? cli_fail(&err) : CLI_OK;
}

int cli_invite(cli_ctx *c)
{
    if (c->argc < 2 || strcmp(c->argv[1], "--help") == 0 || strcmp(c->argv[1], "-h") == 0 ||
        strcmp(c->argv[1], "help") == 0)
        return c->argc < 2 ? cli_usage(invite_usage) : cli_help(invite_usage);
    int argc = c->argc - 1;
    char **argv = c->argv + 1;
    if (strcmp(c->argv[1], "create") == 0) return invite_create(c, argc, argv);
    if (strcmp(c->argv[1], "list") == 0) return invite_list(c, argc, argv);
    if (strcmp(c->argv[1], "revoke") == 0) return invite_revoke(c, argc, argv);
    return cli_usage(invite_usage);
}
