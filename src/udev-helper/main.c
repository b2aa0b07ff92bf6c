/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* modcoalesced-udev — what udev runs for a MODALIAS event instead of its kmod builtin: a Load
 * call to modcoalesced, waited for until a little before udev's own event timeout (udev.conf's
 * event_timeout=, 180 s by default: event-timeout.c). When the daemon answers TimedOut (its own
 * request timeout, 50 s) the load is still running: the helper asks again, which joins that
 * load, and when its own deadline comes with the load still running it says so at notice level
 * and exits 0: the daemon carries the load on, and a slow load is no failure of the device. It
 * reads MODALIAS from the environment (no quoting of argv). If the daemon cannot be reached (within a connect
 * deadline), goes away before answering, or answers with an error that comes before any load
 * (it could not resolve the request, or refused it), it runs `modprobe -b` itself: a broken
 * daemon never costs a driver. If the daemon resolved the request, its answer stands: a failed
 * load is never tried a second time here.
 * Exit status: 0 for loaded, already loaded, builtin, blacklisted and no driver (what udev's
 * builtin treats as fine), for a load still running at the deadline and for a device gone before
 * udev handled its event (no MODALIAS to read), 1 for a failure the daemon reported, 2 for a bad command line, or
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

#include "ask.h"
#include "cleanup.h"
#include "event-timeout.h"
#include "log.h"
#include "modname.h"
#include "reply.h"
#include "varlink-idl.h"

#define HELPER_TIMEOUT_SEC_MAX 3600
/* How long connect() may wait for room in the daemon's backlog (65535 connections: full only
 * when the daemon stopped accepting, or is stuck starting) before the fallback. */
#define HELPER_CONNECT_TIMEOUT_SEC_DEFAULT 5
#define HELPER_CONNECT_TIMEOUT_SEC_MAX 60

static const char *arg_socket = MODCOALESCED_SOCKET;
static const char *arg_fallback = MODPROBE_PATH;
static unsigned arg_timeout; /* 0: from udev's event timeout */
static unsigned arg_connect_timeout = HELPER_CONNECT_TIMEOUT_SEC_DEFAULT;

static int fallback(const char *modalias, const char *why)
{
        log_info("%s; running %s -b -q -- %s", why, arg_fallback, modalias);
        execv(arg_fallback,
                (char *[]){ (char *) arg_fallback, (char *) "-b", (char *) "-q", (char *) "--",
                        (char *) modalias, NULL });
        log_error_errno(errno, "Cannot run %s: %m", arg_fallback);
        return EXIT_FAILURE;
}

/* The errors of a request that the daemon resolved: a module of its plan failed (LoadFailed),
 * or a name matched nothing (NoSuchModule; a MODALIAS that matches nothing is answered with an
 * empty plan, as udev's builtin does); TimedOut, a load still running, never ends the asking
 * before the deadline (ask.c). These stand: a load here would repeat the failure or race the
 * daemon's own. Every other error comes before any load: the daemon could not resolve the
 * request (io.systemd.System from libkmod, say, or InvalidInput), refused it (ShuttingDown,
 * TooManyRequests, PermissionDenied) or does not speak this call (InvalidParameter,
 * MethodNotFound…): the device still needs its driver. */
static bool error_stands(const char *error)
{
        return strcmp(error, VL_ERROR_LOAD_FAILED) == 0 ||
                strcmp(error, VL_ERROR_NO_SUCH_MODULE) == 0;
}

static int parse_seconds(const char *s, unsigned max, unsigned *ret)
{
        unsigned long v;
        char *end;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0' || v == 0 || v > max)
                return -EINVAL;
        *ret = (unsigned) v;
        return 0;
}

static int parse_argv(int argc, char *argv[])
{
        static const struct option options[] = {
                { "socket", required_argument, NULL, 's' },
                { "fallback", required_argument, NULL, 'f' },
                { "timeout", required_argument, NULL, 't' },
                { "connect-timeout", required_argument, NULL, 'c' },
                {},
        };
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
                        if (parse_seconds(optarg, HELPER_TIMEOUT_SEC_MAX, &arg_timeout) < 0)
                                return log_error_errno(EINVAL, "--timeout takes 1..%u seconds.",
                                        HELPER_TIMEOUT_SEC_MAX);
                        break;
                case 'c':
                        if (parse_seconds(optarg, HELPER_CONNECT_TIMEOUT_SEC_MAX,
                                    &arg_connect_timeout) < 0)
                                return log_error_errno(EINVAL,
                                        "--connect-timeout takes 1..%u seconds.",
                                        HELPER_CONNECT_TIMEOUT_SEC_MAX);
                        break;
                default:
                        return -EINVAL;
                }
        return optind < argc ? log_error_errno(EINVAL, "No positional arguments.") : 0;
}

/* Whether the device of DEVPATH is gone from /sys. */
static bool device_gone(const char *devpath)
{
        char path[4096];

        if (!devpath || devpath[0] != '/' || strstr(devpath, "/../") ||
                snprintf(path, sizeof(path), "/sys%s", devpath) >= (int) sizeof(path))
                return false;
        return access(path, F_OK) < 0 && errno == ENOENT;
}

int main(int argc, char *argv[])
{
        const char *modalias = getenv("MODALIAS"), *reason = NULL;
        _cleanup_free_ char *req = NULL;
        AskOutcome out;
        unsigned budget;
        size_t n;
        int k;

        log_setup("modcoalesced-udev");
        if (parse_argv(argc, argv) < 0)
                return 2;
        if ((!modalias || !modalias[0]) && device_gone(getenv("DEVPATH"))) {
                /* 81-modcoalesced.rules reads MODALIAS from the device's uevent file, which went
                 * with the device: it went before udev got to its event (a DRM driver unregisters
                 * the firmware's framebuffer device, say). There is no device to drive. */
                log_info("%s: gone before udev handled its event; nothing to load.",
                        getenv("DEVPATH"));
                return EXIT_SUCCESS;
        }
        if (!modalias || modalias_validate(modalias, &reason) < 0) {
                log_error("No valid MODALIAS in the environment%s%s.", reason ? ": " : "",
                        reason ?: "");
                return 2;
        }
        req = reply_format_load(modalias, &n);
        if (!req)
                return log_oom(), EXIT_FAILURE;
        budget = arg_timeout ?: udev_event_budget_sec(udev_event_timeout_sec(NULL));
        k = ask_daemon(arg_socket, arg_connect_timeout, req, n, NULL, 0, budget, &out);
        switch (k) {
        case 0:
                return EXIT_SUCCESS;
        case 1:
                if (!error_stands(out.error))
                        return fallback(modalias, out.error);
                log_error("%s: %s", modalias, out.error);
                return EXIT_FAILURE;
        case -ETIMEDOUT:
                /* The daemon has the request and a load runs: never a second. */
                log_notice("%s: still loading after %u s (udev's event timeout is near, %u "
                           "answer%s TimedOut); modcoalesced carries the load on.",
                        modalias, budget, out.timed_out, out.timed_out == 1 ? "" : "s");
                return EXIT_SUCCESS;
        case -EAGAIN:
                return fallback(modalias, "modcoalesced did not accept the connection in time");
        case -ENOTCONN:
                return fallback(modalias, "modcoalesced is not reachable");
        case -EBADMSG:
                log_error("%s: malformed answer from modcoalesced.", modalias);
                return EXIT_FAILURE;
        default:
                return fallback(modalias, "modcoalesced went away before answering");
        }
}
