/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* main.c — argument parsing and logging set-up for modcoalesced; everything else is the
 * manager's. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "manager.h"

static int parse_unsigned(const char *s, unsigned min, unsigned max, unsigned *ret)
{
        unsigned long v;
        char *end;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < min || v > max)
                return -EINVAL;
        *ret = (unsigned) v;
        return 0;
}

static void help(void)
{
        printf("Usage: modcoalesced [OPTIONS]\n\n"
               "Loads kernel modules on request, once per module however many ask.\n\n"
               "  -h --help              Show this help\n"
               "     --version           Show the version\n"
               "     --module-dir=DIR    Module tree (default /lib/modules/`uname -r`)\n"
               "     --log-level=LEVEL   debug, info, notice, warning, err\n"
               "     --workers=N         Loads in parallel at most (default: CPUs, 2..16)\n"
               "     --failure-memory=MS How long a failed load is remembered (default 5000)\n");
}

int main(int argc, char *argv[])
{
        enum {
                ARG_VERSION = 0x100,
                ARG_MODULE_DIR,
                ARG_LOG_LEVEL,
                ARG_WORKERS,
                ARG_FAILURE_MEMORY
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "module-dir", required_argument, NULL, ARG_MODULE_DIR },
                { "log-level", required_argument, NULL, ARG_LOG_LEVEL },
                { "workers", required_argument, NULL, ARG_WORKERS },
                { "failure-memory", required_argument, NULL, ARG_FAILURE_MEMORY },
                {},
        };
        _cleanup_(manager_freep) Manager *m = NULL;
        ManagerConfig config = {};
        unsigned u;
        int c, k;

        log_setup("modcoalesced");
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return EXIT_SUCCESS;
                case ARG_VERSION:
                        puts("modcoalesced " PROJECT_VERSION);
                        return EXIT_SUCCESS;
                case ARG_MODULE_DIR:
                        config.module_dir = optarg;
                        break;
                case ARG_LOG_LEVEL:
                        k = log_parse_level(optarg);
                        if (k < 0) {
                                log_error("Unknown log level '%s'.", optarg);
                                return EXIT_FAILURE;
                        }
                        log_set_max_level(k);
                        break;
                case ARG_WORKERS:
                        if (parse_unsigned(optarg, 1, 64, &u) < 0) {
                                log_error("--workers takes a number from 1 to 64.");
                                return EXIT_FAILURE;
                        }
                        config.engine.workers = u;
                        break;
                case ARG_FAILURE_MEMORY:
                        if (parse_unsigned(optarg, 1, 3600 * 1000, &u) < 0) {
                                log_error("--failure-memory takes milliseconds, 1 to 3600000.");
                                return EXIT_FAILURE;
                        }
                        config.engine.failure_memory_usec = (usec_t) u * USEC_PER_MSEC;
                        break;
                default:
                        return EXIT_FAILURE;
                }
        if (optind < argc) {
                log_error("This program takes no positional arguments.");
                return EXIT_FAILURE;
        }

        k = manager_new(&m, &config);
        if (k < 0)
                return EXIT_FAILURE;
        return manager_run(m) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
