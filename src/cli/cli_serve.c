/* cli_serve.c — `mailfleet serve` (HTTP API until SIGTERM/SIGINT) and `mailfleet migrate`. */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include "api/http.h"
#include "cli/cli.h"
#include "store/migrate.h"
#include "util/log.h"

static const char *serve_usage =
    "usage: mailfleet serve [--listen HOST:PORT] [--db URL] [--config FILE]\n"
    "Runs the HTTP API (and, as later issues land, the engine and console) until SIGTERM or\n"
    "SIGINT. Applies database migrations first. Logs go to stderr.\n"
    "Environment: MAILFLEET_LISTEN, MAILFLEET_DB, MAILFLEET_CONFIG, MAILFLEET_KEY_FILE,\n"
    "MAILFLEET_KEY (64 hex characters, instead of the key file).\n";

int cli_serve(cli_ctx *c)
{
    static const struct option opts[] = {{"listen", required_argument, NULL, 'l'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *listen = NULL;
    int ch;
    while ((ch = getopt_long(c->argc, c->argv, "", opts, NULL)) != -1) {
        if (ch == 'l') listen = optarg;
        else if (ch == 'h') return cli_help(serve_usage);
        else return cli_usage(serve_usage);
    }
    if (optind != c->argc) return cli_usage(serve_usage);

    /* Block the stop signals before any thread starts, so only sigwait() below sees them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    mf_app app;
    if (cli_open(c, &app, listen) != CLI_OK) return CLI_FAILED;
    mf_error err;
    http_server *http = http_start(&app, &err);
    if (!http) {
        cli_fail(&err);
        app_deinit(&app);
        return CLI_FAILED;
    }
    log_info("mailfleet serving on http://%s (database %s)", app.cfg.listen,
             strncmp(app.cfg.db, "postgres", 8) == 0 ? "postgres" : app.cfg.db);
    int sig = 0;
    sigwait(&stop, &sig);
    log_info("received %s, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    http_stop(&http);
    app_deinit(&app);
    log_info("stopped");
    return CLI_OK;
}

static const char *migrate_usage =
    "usage: mailfleet migrate [--db URL] [--config FILE]\n"
    "Applies the database migrations this binary knows and prints how many ran.\n";

int cli_migrate(cli_ctx *c)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int ch;
    while ((ch = getopt_long(c->argc, c->argv, "", opts, NULL)) != -1) {
        if (ch == 'h') return cli_help(migrate_usage);
        return cli_usage(migrate_usage);
    }
    if (optind != c->argc) return cli_usage(migrate_usage);
    mf_app app;
    mf_error err;
    if (app_init(&app, c->config_path, c->db_url, NULL, &err) < 0) {
        app_deinit(&app);
        return cli_fail(&err);
    }
    int applied = 0;
    int rc = app_migrate(&app, &applied, &err);
    app_deinit(&app);
    if (rc < 0) return cli_fail(&err);
    printf("%d\n", applied);
    fprintf(stderr, "schema at version %d\n", migrate_latest());
    return CLI_OK;
}
