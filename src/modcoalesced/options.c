/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* options.c — see options.h. Every number is range-checked: a typo in a unit file must not
 * turn into a daemon that never times out. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "options.h"

static void help(void)
{
        printf("Usage: modcoalesced [OPTIONS]\n\n"
               "Loads kernel modules on request over varlink, once per module however many ask.\n\n"
               "  -h --help                Show this help\n"
               "     --version             Show the version\n"
               "     --module-dir=DIR      Module tree (default /lib/modules/`uname -r`)\n"
               "     --log-level=LEVEL     debug, info, notice, warning, err\n"
               "     --workers=N           Loads in parallel at most (default: CPUs, 2..16)\n"
               "     --failure-memory=MS   How long a failed load is remembered (default 5000)\n"
               "     --request-timeout=MS  How long a request may wait (default 50000)\n"
               "     --idle-timeout=SEC    Exit when idle this long; 0: never (default 60)\n"
               "     --listen=PATH         Listen on PATH instead of systemd's socket\n"
               "     --max-pending=N       Load requests waiting at most (default 16384)\n"
               "     --max-connections=N   Connections at most (default 16384)\n");
}

static int parse_unsigned(
        const char *s, const char *what, unsigned long min, unsigned long max, unsigned long *ret)
{
        unsigned long v;
        char *end;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < min || v > max) {
                log_error("%s takes a number from %lu to %lu, not '%s'.", what, min, max, s);
                return -EINVAL;
        }
        *ret = v;
        return 0;
}

int options_parse(int argc, char *argv[], ManagerConfig *config)
{
        enum {
                ARG_VERSION = 0x100,
                ARG_MODULE_DIR,
                ARG_LOG_LEVEL,
                ARG_WORKERS,
                ARG_FAILURE_MEMORY,
                ARG_REQUEST_TIMEOUT,
                ARG_IDLE_TIMEOUT,
                ARG_LISTEN,
                ARG_MAX_PENDING,
                ARG_MAX_CONNECTIONS,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "module-dir", required_argument, NULL, ARG_MODULE_DIR },
                { "log-level", required_argument, NULL, ARG_LOG_LEVEL },
                { "workers", required_argument, NULL, ARG_WORKERS },
                { "failure-memory", required_argument, NULL, ARG_FAILURE_MEMORY },
                { "request-timeout", required_argument, NULL, ARG_REQUEST_TIMEOUT },
                { "idle-timeout", required_argument, NULL, ARG_IDLE_TIMEOUT },
                { "listen", required_argument, NULL, ARG_LISTEN },
                { "max-pending", required_argument, NULL, ARG_MAX_PENDING },
                { "max-connections", required_argument, NULL, ARG_MAX_CONNECTIONS },
                {},
        };
        unsigned long v;
        int c, k;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 1;
                case ARG_VERSION:
                        puts("modcoalesced " PROJECT_VERSION);
                        return 1;
                case ARG_MODULE_DIR:
                        config->module_dir = optarg;
                        break;
                case ARG_LOG_LEVEL:
                        k = log_parse_level(optarg);
                        if (k < 0) {
                                log_error("Unknown log level '%s'.", optarg);
                                return -EINVAL;
                        }
                        log_set_max_level(k);
                        break;
                case ARG_WORKERS:
                        if (parse_unsigned(optarg, "--workers", 1, 64, &v) < 0)
                                return -EINVAL;
                        config->engine.workers = (unsigned) v;
                        break;
                case ARG_FAILURE_MEMORY:
                        if (parse_unsigned(optarg, "--failure-memory", 1, 3600000, &v) < 0)
                                return -EINVAL;
                        config->engine.failure_memory_usec = v * USEC_PER_MSEC;
                        break;
                case ARG_REQUEST_TIMEOUT:
                        /* udev kills its workers' programs after 180 s. */
                        if (parse_unsigned(optarg, "--request-timeout", 1, 170000, &v) < 0)
                                return -EINVAL;
                        config->engine.request_timeout_usec = v * USEC_PER_MSEC;
                        break;
                case ARG_IDLE_TIMEOUT:
                        if (parse_unsigned(optarg, "--idle-timeout", 0, 86400, &v) < 0)
                                return -EINVAL;
                        config->idle_timeout = v == 0 ? USEC_INFINITY : v * USEC_PER_SEC;
                        break;
                case ARG_LISTEN:
                        config->listen = optarg;
                        break;
                case ARG_MAX_PENDING:
                        if (parse_unsigned(optarg, "--max-pending", 1, 1u << 20, &v) < 0)
                                return -EINVAL;
                        config->server.max_pending = (unsigned) v;
                        break;
                case ARG_MAX_CONNECTIONS:
                        if (parse_unsigned(optarg, "--max-connections", 1, 1u << 20, &v) < 0)
                                return -EINVAL;
                        config->server.max_connections = (unsigned) v;
                        break;
                default:
                        return -EINVAL;
                }
        if (optind < argc) {
                log_error("This program takes no positional arguments.");
                return -EINVAL;
        }
        return 0;
}
