/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* modcoalesced-udev — what udev runs for a MODALIAS event instead of its kmod builtin: one Load
 * call to modcoalesced, waited for with a timeout well under udev's 180 s. It reads MODALIAS
 * from the environment (no quoting of argv). If the daemon cannot be reached, or goes away
 * before answering, it runs `modprobe -b` itself: a broken daemon never costs a driver. If the
 * daemon answered, its answer stands: a failed load is never tried a second time here.
 * Exit status: 0 for loaded, already loaded, builtin, blacklisted and no driver (what udev's
 * builtin treats as fine), 1 for a failure the daemon reported, 2 for a bad command line, or
 * modprobe's status after a fallback.
 *
 * It speaks varlink on a plain socket (reply.c) and links nothing but libc: udev pays its
 * start-up once per MODALIAS event, and loading libsystemd cost more than the call itself. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "modname.h"
#include "reply.h"
#include "varlink-idl.h"

#define HELPER_TIMEOUT_SEC_DEFAULT 90

static const char *arg_socket = MODCOALESCED_SOCKET;
static const char *arg_fallback = MODPROBE_PATH;
static unsigned arg_timeout = HELPER_TIMEOUT_SEC_DEFAULT;

static int fallback(const char *modalias, const char *why)
{
        log_info("%s; running %s -b -q -- %s", why, arg_fallback, modalias);
        execv(arg_fallback,
                (char *[]){ (char *) arg_fallback, (char *) "-b", (char *) "-q", (char *) "--",
                        (char *) modalias, NULL });
        log_error_errno(errno, "Cannot run %s: %m", arg_fallback);
        return EXIT_FAILURE;
}

/* Errors after which nothing was loaded and a load of our own is the right thing. Any other
 * answer means the daemon took the request: it stands. */
static bool daemon_did_not_take_it(const char *error)
{
        return strcmp(error, VL_ERROR_SHUTTING_DOWN) == 0 ||
                strcmp(error, VL_ERROR_TOO_MANY_REQUESTS) == 0 ||
                strcmp(error, "org.varlink.service.MethodNotFound") == 0 ||
                strcmp(error, "org.varlink.service.InterfaceNotFound") == 0;
}

static int parse_argv(int argc, char *argv[])
{
        static const struct option options[] = {
                { "socket", required_argument, NULL, 's' },
                { "fallback", required_argument, NULL, 'f' },
                { "timeout", required_argument, NULL, 't' },
                {},
        };
        char *end;
        int c;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 's':
                        arg_socket = optarg;
                        break;
                case 'f':
                        arg_fallback = optarg;
                        break;
                case 't':
                        arg_timeout = (unsigned) strtoul(optarg, &end, 10);
                        if (*end != '\0' || arg_timeout == 0 || arg_timeout > 170)
                                return log_error_errno(EINVAL, "--timeout takes 1..170 seconds.");
                        break;
                default:
                        return -EINVAL;
                }
        return optind < argc ? log_error_errno(EINVAL, "No positional arguments.") : 0;
}

int main(int argc, char *argv[])
{
        _cleanup_free_ char *req = NULL, *reply = NULL;
        const char *modalias = getenv("MODALIAS"), *reason = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t n, reply_size = 0;
        char error[256];
        int k;

        log_setup("modcoalesced-udev");
        if (parse_argv(argc, argv) < 0)
                return 2;
        if (!modalias || modalias_validate(modalias, &reason) < 0) {
                log_error("No valid MODALIAS in the environment%s%s.", reason ? ": " : "",
                        reason ?: "");
                return 2;
        }
        req = reply_format_load(modalias, &n);
        if (!req)
                return log_oom(), EXIT_FAILURE;

        fd = reply_connect(arg_socket);
        if (fd < 0)
                return fallback(modalias, "modcoalesced is not reachable");
        k = reply_exchange(fd, req, n, arg_timeout, &reply, &reply_size);
        if (k == -ETIMEDOUT) {
                /* The daemon has the request and a load may be running: never a second one. */
                log_error("%s: no answer from modcoalesced within %u s.", modalias, arg_timeout);
                return EXIT_FAILURE;
        }
        if (k < 0)
                return fallback(modalias, "modcoalesced went away before answering");
        k = reply_error_id(reply, reply_size, error, sizeof(error));
        if (k < 0) {
                log_error("%s: malformed answer from modcoalesced.", modalias);
                return EXIT_FAILURE;
        }
        if (k == 0)
                return EXIT_SUCCESS;
        if (daemon_did_not_take_it(error))
                return fallback(modalias, error);
        log_error("%s: %s", modalias, error);
        return EXIT_FAILURE;
}
