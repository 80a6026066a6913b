/* main.c — the mailfleet binary: everything is a command of the CLI (src/cli). */
#include "cli/cli.h"

int main(int argc, char **argv)
{
    return cli_main(argc, argv);
}
