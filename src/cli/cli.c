/* cli.c — command dispatch, global flags, shared helpers of the command line. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"

static const char *top_usage =
    "usage: mailfleet <command> [flags]   (global flags: --db URL, --config FILE)\n"
    "\n"
    "commands:\n"
    "  serve [--listen HOST:PORT]     run the HTTP API and the engine (default 127.0.0.1:8025)\n"
    "  worker                         run the engine only (scale-out on PostgreSQL)\n"
    "  api [--listen HOST:PORT]       run the HTTP API only\n"
    "  migrate                        apply database migrations\n"
    "  org create|list                organisations\n"
    "  user create|list|lock|unlock|passwd   seats\n"
    "  token create --user EMAIL      make an API token\n"
    "  mailbox list                   mailboxes\n"
    "  request list|approve|reject    mailbox requests (R10)\n"
    "  outbox list [--status S]       outgoing mail and its state (R26)\n"
    "  suppression list|add           the organisation's suppression list (R25)\n"
    "  invite create|list|revoke      invite an address to connect its mailbox (R14)\n"
    "  sequence list|create|enroll|pause|resume   sequences and enrollments (R18)\n"
    "  prospect import --csv FILE     a member's prospects from a CSV file (R18)\n"
    "  message send --from MAILBOX    queue a one-off message (R18, R26)\n"
    "\n"
    "`mailfleet <command> --help` tells more. --db takes sqlite:PATH, a bare PATH or\n"
    "postgres://...; default from the config file, else ./mailfleet.db.\n";

int cli_fail(const mf_error *e)
{
    fprintf(stderr, "mailfleet: %s%s%s%s\n", e->message[0] ? e->message : "failed",
            e->rule[0] ? " (" : "", e->rule, e->rule[0] ? ")" : "");
    return CLI_FAILED;
}

int cli_usage(const char *text)
{
    fputs(text, stderr);
    return CLI_USAGE;
}

int cli_help(const char *text)
{
    fputs(text, stdout);
    return CLI_OK;
}

void cli_reset_getopt(void)
{
    optind = 0; /* glibc: 0 re-initialises getopt completely */
    opterr = 0;
}

int cli_open(cli_ctx *c, mf_app *app, const char *listen)
{
    mf_error err;
    if (app_init(app, c->config_path, c->db_url, listen, &err) < 0) {
        cli_fail(&err);
        app_deinit(app);
        return CLI_FAILED;
    }
    if (app_migrate(app, NULL, &err) < 0) {
        cli_fail(&err);
        app_deinit(app);
        return CLI_FAILED;
    }
    return CLI_OK;
}

/* Take --db/--config (and --db=/--config=) out of argv wherever they are. */
static int strip_globals(int *argc, char **argv, cli_ctx *c)
{
    int out = 0;
    for (int i = 0; i < *argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        const char *val = NULL;
        if (strcmp(a, "--db") == 0 || strcmp(a, "--config") == 0) {
            slot = a[2] == 'd' ? &c->db_url : &c->config_path;
            if (i + 1 >= *argc) {
                fprintf(stderr, "mailfleet: %s needs a value\n", a);
                return -1;
            }
            val = argv[++i];
        } else if (strncmp(a, "--db=", 5) == 0) {
            slot = &c->db_url;
            val = a + 5;
        } else if (strncmp(a, "--config=", 9) == 0) {
            slot = &c->config_path;
            val = a + 9;
        }
        if (slot) {
            *slot = val;
            continue;
        }
        argv[out++] = argv[i];
    }
    *argc = out;
    argv[out] = NULL;
    return 0;
}

int cli_main(int argc, char **argv)
{
    cli_ctx c = {0};
    if (strip_globals(&argc, argv, &c) < 0) return CLI_USAGE;
    if (argc < 2) return cli_usage(top_usage);
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0)
        return cli_help(top_usage);
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("mailfleet 0.1.0\n");
        return CLI_OK;
    }
    static const struct {
        const char *name;
        int (*fn)(cli_ctx *);
    } cmds[] = {
        {"serve", cli_serve}, {"worker", cli_worker}, {"api", cli_api},
        {"migrate", cli_migrate}, {"org", cli_org},
        {"user", cli_user},   {"token", cli_token},     {"mailbox", cli_mailbox},
        {"request", cli_request}, {"outbox", cli_outbox}, {"suppression", cli_suppression},
        {"invite", cli_invite},
        {"sequence", cli_sequence}, {"prospect", cli_prospect}, {"message", cli_message},
    };
    c.argc = argc - 1;
    c.argv = argv + 1;
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        if (strcmp(cmd, cmds[i].name) == 0) {
            cli_reset_getopt();
            return cmds[i].fn(&c);
        }
    }
    fprintf(stderr, "mailfleet: unknown command '%s'\n\n", cmd);
    return cli_usage(top_usage);
}
