/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* modcoalesced-modprobe — what the kernel runs as its modprobe (kernel.modprobe, set by
 * modcoalesced-kernel-modprobe.service with --claim) for request_module(): `modprobe -q -- NAME`.
 * It sends one Load marked
 * fromKernel to modcoalesced, so the kernel's own requests are coalesced with everyone else's,
 * and exits as modprobe would: 0 when the module is there (or being loaded right now: the kernel
 * may be asking from inside that module's init, and waiting would deadlock), 1 otherwise.
 * It also takes modprobe@.service's `modprobe -abq NAME` (a drop-in of ours runs it there): one
 * Load with the blacklist applied to the name, waited for, as the unit's modprobe would.
 * If the daemon is not serving (its connection then activates it, for the next requests) or
 * cannot be reached, or for any command line other than the kernel's, it runs the real modprobe
 * with the same arguments. The daemon's TimedOut (a load still running) is asked again until
 * the shim's own deadline, as the udev helper does (ask.c). Like it, it links libc only. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ask.h"
#include "cleanup.h"
#include "fallback.h"
#include "kernel-modprobe.h"
#include "log.h"
#include "modname.h"
#include "reply.h"
#include "time-util.h"
#include "varlink-idl.h"

/* The kernel's request: the daemon answers TimedOut after 50 s, asked again until then. */
#define SHIM_TIMEOUT_SEC 170
/* As the udev helper's: room in the daemon's backlog (full only if it stopped accepting). */
#define SHIM_CONNECT_TIMEOUT_SEC 5
/* The connection that starts a daemon not serving yet: made and closed, it waits for room in the
 * backlog no longer than this. A full backlog has started the daemon already, and one that never
 * accepts (a start that hangs) must not hold up the kernel's request. */
#define SHIM_ACTIVATE_TIMEOUT_SEC 1
/* Inside systemd's default start timeout of 90 s, which modprobe@.service keeps. */
#define UNIT_TIMEOUT_SEC 80

/* The kernel runs its modprobe with a fixed, minimal environment (HOME, TERM, PATH): the
 * MODCOALESCED_* variables exist for the tests only. */
static const char *socket_path(void)
{
        return getenv("MODCOALESCED_SOCKET") ?: MODCOALESCED_SOCKET;
}

/* NAME in the directory of the daemon's socket SOCK, into buf: false when it does not fit. */
static bool beside_socket(const char *sock, const char *name, char *buf, size_t size)
{
        const char *slash = strrchr(sock, '/');

        return slash &&
                snprintf(buf, size, "%.*s/%s", (int) (slash - sock), sock, name) < (int) size;
}

/* The test suite's override of a deadline, in seconds (1..3600), else dflt. */
static unsigned env_seconds(const char *variable, unsigned dflt)
{
        const char *v = getenv(variable);
        unsigned long t;
        char *end;

        if (!v)
                return dflt;
        t = strtoul(v, &end, 10);
        return end != v && *end == '\0' && t > 0 && t <= 3600 ? (unsigned) t : dflt;
}

static const char *modprobe_path(void)
{
        return getenv("MODCOALESCED_MODPROBE") ?: MODPROBE_PATH;
}

static int real_modprobe(char *argv[], const char *why)
{
        const char *modprobe = modprobe_path();

        log_debug("%s; running %s", why, modprobe);
        argv[0] = (char *) modprobe;
        execv(modprobe, argv);
        log_error_errno(errno, "Cannot run %s: %m", modprobe);
        return EXIT_FAILURE;
}

/* The real modprobe for the kernel's request of NAME: one at a time per name, the same request
 * made meanwhile given its status (fallback.c), in "fallback" beside the daemon's socket. The
 * wait for one running has a deadline of its own, also after the daemon's: a request that comes
 * here at its deadline is one of many for the name, and a modprobe of its own would wait in the
 * kernel for the same load all the same, after copying the module once more where the kernel
 * cannot decompress it. */
static int real_modprobe_for_kernel(char *argv[], const char *name, const char *why)
{
        const char *modprobe = modprobe_path();
        char dir[256];

        log_debug("%s; running %s", why, modprobe);
        argv[0] = (char *) modprobe;
        return fallback_run(beside_socket(socket_path(), "fallback", dir, sizeof(dir)) ? dir : NULL,
                name, modprobe, argv,
                now_usec() +
                        env_seconds("MODCOALESCED_SHIM_TIMEOUT", SHIM_TIMEOUT_SEC) * USEC_PER_SEC);
}

static int fall_back(char *argv[], const char *name, bool kernel_request, const char *why)
{
        return kernel_request ? real_modprobe_for_kernel(argv, name, why)
                              : real_modprobe(argv, why);
}

/* --claim and --release, from modcoalesced-kernel-modprobe.service: kernel.modprobe names this
 * program exactly while the unit is active, and only where the program exists (it is the one
 * running), so that no initrd or removed package is left with a kernel.modprobe that names nothing. */
static int kernel_modprobe_verb(const char *verb)
{
        const char *sysctl = getenv("MODCOALESCED_KERNEL_MODPROBE") ?: KERNEL_MODPROBE_SYSCTL;
        char self[4096];
        ssize_t n;
        int r;

        if (strcmp(verb, "--release") == 0) {
                r = kernel_modprobe_release(sysctl);
                if (r < 0)
                        return log_error_errno(r, "Cannot set %s back to %s: %m", sysctl,
                                       KERNEL_MODPROBE_STOCK),
                               EXIT_FAILURE;
                if (r > 0)
                        log_info("kernel.modprobe is %s again.", KERNEL_MODPROBE_STOCK);
                return EXIT_SUCCESS;
        }
        n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n < 0)
                return log_error_errno(errno, "Cannot find this program's path: %m"), EXIT_FAILURE;
        self[n] = '\0';
        r = kernel_modprobe_claim(sysctl, self);
        if (r < 0)
                return log_error_errno(r, "Cannot set %s to %s: %m", sysctl, self), EXIT_FAILURE;
        if (r == 1)
                log_info("kernel.modprobe is %s: the kernel's module requests go through "
                         "modcoalesced.",
                        self);
        else if (r == 0)
                log_notice("kernel.modprobe is not the stock modprobe: left alone.");
        return EXIT_SUCCESS;
}

/* The rest of a command line from argv[i] on: [--] NAME, one valid module name. */
static const char *sole_name(int argc, char *argv[], int i)
{
        if (i < argc && strcmp(argv[i], "--") == 0)
                i++;
        if (i != argc - 1 || modname_validate(argv[i], NULL) < 0)
                return NULL;
        return argv[i];
}

/* modprobe@.service's form, which our drop-in runs in its place: -abq [--] NAME (the letters in
 * any grouping, all three of them). */
static const char *unit_request(int argc, char *argv[])
{
        bool a = false, b = false, q = false;
        int i = 1;

        for (; i < argc && argv[i][0] == '-' && argv[i][1] && strcmp(argv[i], "--") != 0; i++)
                for (const char *c = argv[i] + 1; *c; c++)
                        switch (*c) {
                        case 'a':
                                a = true;
                                break;
                        case 'b':
                                b = true;
                                break;
                        case 'q':
                                q = true;
                                break;
                        default:
                                return NULL;
                        }
        return a && b && q ? sole_name(argc, argv, i) : NULL;
}

/* The kernel's form: -q [--] NAME (call_modprobe() in kernel/module/kmod.c). */
static const char *kernel_request(int argc, char *argv[])
{
        return argc > 1 && strcmp(argv[1], "-q") == 0 ? sole_name(argc, argv, 2) : NULL;
}

/* The daemon writes its pid to "ready" beside its socket while it serves. Without a live daemon,
 * connecting would start one, and the kernel may be asking from inside something the daemon's
 * start-up itself does: the real modprobe answers instead. */
static bool daemon_serving(const char *sock)
{
        char path[256], buf[32] = "";
        ssize_t n;
        long pid;
        int fd;

        if (!beside_socket(sock, "ready", path, sizeof(path)))
                return false;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
                return false;
        buf[n] = '\0';
        pid = strtol(buf, NULL, 10);
        return pid > 1 && (kill((pid_t) pid, 0) == 0 || errno == EPERM);
}

/* Sends one Load (asked again while the daemon answers TimedOut: ask.c) and turns the answer
 * into modprobe's exit status: 0 when the daemon answered without an error; 1 for a load that
 * failed (NoSuchModule, LoadFailed…: what modprobe -q says with its exit status); the real
 * modprobe's when the daemon cannot answer. A load still running at the deadline is 1 for the
 * unit (it ignores the status; the daemon carries the load on). For the kernel
 * (kernel_request) it is the real modprobe's turn: the kernel waits for its modprobe as long as
 * the load takes (a mount of the root fails at once if request_module() says no), and if the
 * daemon's load is in the kernel by then, the kernel makes that modprobe wait for it and then
 * tells it the module is there. Until the deadline, TimedOut is asked again rather than handed
 * to the real modprobe, whose load would be a second full one wherever the kernel cannot
 * decompress the module itself; after a TimedOut the kernel's call is `again` (waitedBefore),
 * so that it waits for a module whose init has started meanwhile instead of being told yes
 * before the module is there. */
static int load(char *argv[], const char *name, const char *req, size_t n, const char *again,
        size_t n_again, unsigned timeout_sec, bool kernel_request)
{
        AskOutcome out;
        int k;

        k = ask_daemon(
                socket_path(), SHIM_CONNECT_TIMEOUT_SEC, req, n, again, n_again, timeout_sec, &out);
        switch (k) {
        case 0:
                return EXIT_SUCCESS;
        case 1:
                if (strcmp(out.error, VL_ERROR_SHUTTING_DOWN) == 0 ||
                        strcmp(out.error, VL_ERROR_TOO_MANY_REQUESTS) == 0)
                        return fall_back(argv, name, kernel_request, out.error);
                /* A daemon older than waitedBefore (during an upgrade) refuses the second ask:
                 * the real modprobe, as the shim did after TimedOut before. */
                if (kernel_request && out.timed_out > 0 &&
                        strcmp(out.error, "org.varlink.service.InvalidParameter") == 0)
                        return fall_back(
                                argv, name, true, "modcoalesced does not know waitedBefore");
                log_debug("%s: %s", name, out.error);
                return EXIT_FAILURE;
        case -ETIMEDOUT:
                if (kernel_request)
                        return fall_back(
                                argv, name, true, "still loading at the kernel request's deadline");
                log_notice("%s: still loading after %u s; modcoalesced carries on.", name,
                        timeout_sec);
                return EXIT_FAILURE;
        case -EBADMSG:
                log_error("%s: malformed answer from modcoalesced.", name);
                return EXIT_FAILURE;
        case -EAGAIN:
        case -ENOTCONN:
                return fall_back(argv, name, kernel_request, "modcoalesced is not reachable");
        default:
                return fall_back(
                        argv, name, kernel_request, "modcoalesced went away before answering");
        }
}

int main(int argc, char *argv[])
{
        _cleanup_free_ char *req = NULL, *again = NULL;
        size_t n, n_again;
        const char *name;

        log_setup("modcoalesced-modprobe");
        if (argc == 2 && (strcmp(argv[1], "--claim") == 0 || strcmp(argv[1], "--release") == 0))
                return kernel_modprobe_verb(argv[1]);
        name = unit_request(argc, argv);
        if (name) {
                /* modprobe@.service: unlike the kernel, a unit may wait for the daemon's
                 * activation, and for the load; the unit ignores the exit status. */
                req = reply_format_unit_load(name, &n);
                if (!req)
                        return log_oom(), EXIT_FAILURE;
                return load(argv, name, req, n, NULL, 0,
                        env_seconds("MODCOALESCED_UNIT_TIMEOUT", UNIT_TIMEOUT_SEC), false);
        }
        name = kernel_request(argc, argv);
        if (!name)
                return real_modprobe(argv, "not the kernel's request");
        req = reply_format_kernel_load(name, &n);
        again = reply_format_kernel_load_again(name, &n_again);
        if (!req || !again)
                return log_oom(), EXIT_FAILURE;
        if (!daemon_serving(socket_path())) {
                /* Not running (at boot, before anything activated it): connecting starts it
                 * for the requests after this one, and this one goes to the real modprobe
                 * rather than wait, since the kernel may be asking from inside something the
                 * daemon's start-up itself does (PID 1 does at boot). */
                safe_close(reply_connect_timeout(socket_path(), SHIM_ACTIVATE_TIMEOUT_SEC));
                return real_modprobe_for_kernel(argv, name, "modcoalesced is not serving yet");
        }
        return load(argv, name, req, n, again, n_again,
                env_seconds("MODCOALESCED_SHIM_TIMEOUT", SHIM_TIMEOUT_SEC), true);
}
