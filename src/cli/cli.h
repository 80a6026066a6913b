/* cli.h — the command line: `mailfleet <noun> <verb> [flags]`, run in-process with the same
 * domain operations as the API. Exit status: 0 success, 1 refused or failed (message on
 * stderr), 2 wrong usage. Global flags --db URL and --config FILE go anywhere. */
#ifndef MF_CLI_H
#define MF_CLI_H
#include "app/app.h"

enum { CLI_OK = 0, CLI_FAILED = 1, CLI_USAGE = 2 };

typedef struct cli_ctx {
    const char *db_url;      /* --db, or NULL */
    const char *config_path; /* --config, or NULL */
    int argc;                /* the command's own arguments, argv[0] = command name */
    char **argv;
} cli_ctx;

int cli_main(int argc, char **argv);
/* Open app + database and migrate; prints the problem and returns CLI_FAILED on error. */
int cli_open(cli_ctx *c, mf_app *app, const char *listen);
int cli_fail(const mf_error *e);
int cli_usage(const char *text); /* print to stderr, return CLI_USAGE */
int cli_help(const char *text);  /* print to stdout, return CLI_OK */
/* getopt_long wrapper state reset for each command */
void cli_reset_getopt(void);

int cli_serve(cli_ctx *c);
int cli_worker(cli_ctx *c);
int cli_api(cli_ctx *c);
int cli_migrate(cli_ctx *c);
int cli_org(cli_ctx *c);
int cli_user(cli_ctx *c);
int cli_token(cli_ctx *c);
int cli_mailbox(cli_ctx *c);
int cli_request(cli_ctx *c);
int cli_outbox(cli_ctx *c);
int cli_suppression(cli_ctx *c);
int cli_invite(cli_ctx *c); /* cli_invite.c */
int cli_sequence(cli_ctx *c); /* cli_send.c */
int cli_prospect(cli_ctx *c);
int cli_message(cli_ctx *c);
#endif
