/* cli_serve.c — `mailfleet serve` (HTTP API until SIGTERM/SIGINT) and `mailfleet migrate`. */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include "api/http.h"
#include "engine/engine.h"
#include "cli/cli.h"
#include "store/migrate.h"
#include "util/log.h"

static const char *serve_usage =
    "usage: mailfleet serve [--listen HOST:PORT] [--db URL] [--config FILE]\n"
    "       mailfleet worker [--db URL] [--config FILE]\n"
    "       mailfleet api [--listen HOST:PORT] [--db URL] [--config FILE]\n"
    "serve runs the HTTP API and the engine (IMAP sessions) in one process until SIGTERM,\n"
    "SIGINT or SIGHUP; worker runs only the engine, api only the HTTP API (to scale out on\n"
    "PostgreSQL). Migrations are applied first. Logs go to stderr.\n"
    "Environment: MAILFLEET_LISTEN, MAILFLEET_DB, MAILFLEET_CONFIG, MAILFLEET_KEY_FILE,\n"
    "MAILFLEET_KEY (64 hex characters, instead of the key file).\n";

enum run_parts { RUN_API = 1, RUN_ENGINE = 2 };

static int run(cli_ctx *c, int parts)
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
    if (listen && !(parts & RUN_API)) {
        fprintf(stderr, "mailfleet: worker serves no HTTP; --listen does not apply\n");
        return CLI_USAGE;
    }

    /* Block the stop signals before any thread starts, so only sigwait() below sees them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    mf_app app;
    if (cli_open(c, &app, listen) != CLI_OK) return CLI_FAILED;
    mf_error err;
    http_server *http = NULL;
    engine *eng = NULL;
    if (parts & RUN_ENGINE) {
        eng = engine_start(&app, &err);
        if (!eng) {
            cli_fail(&err);
            app_deinit(&app);
            return CLI_FAILED;
        }
    }
    if (parts & RUN_API) {
        http = http_start(&app, &err);
        if (!http) {
            cli_fail(&err);
            engine_stop(&eng);
            app_deinit(&app);
            return CLI_FAILED;
        }
        log_info("mailfleet serving on http://%s (database %s)%s", app.cfg.listen,
                 strncmp(app.cfg.db, "postgres", 8) == 0 ? "postgres" : app.cfg.db,
                 eng ? " with the engine" : "");
    } else {
        log_info("mailfleet worker running (database %s)",
                 strncmp(app.cfg.db, "postgres", 8) == 0 ? "postgres" : app.cfg.db);
    }
    int sig = 0;
    sigwait(&stop, &sig);
    log_info("received %s, shutting down", strsignal(sig));
    http_stop(&http);
    engine_stop(&eng);
    app_deinit(&app);
    log_info("stopped");
    return CLI_OK;
}

int cli_serve(cli_ctx *c)
{
    return run(c, RUN_API | RUN_ENGINE);
}

int cli_worker(cli_ctx *c)
{
    return run(c, RUN_ENGINE);
}

int cli_api(cli_ctx *c)
{
    return run(c, RUN_API);
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
