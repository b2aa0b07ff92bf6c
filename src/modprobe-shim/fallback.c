/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fallback.c — the real modprobe for the kernel's requests while the daemon cannot take them
 * (before it serves at boot, across the switch to the root, while it drains): one modprobe per
 * request name at a time, the others asking for that name given its exit status.
 * The kernel asks for the same name from several threads at once (mounts of one file system
 * type, its crypto self-tests); where it cannot decompress the modules itself, every modprobe
 * decompresses and loads them again, and the kernel throws the copy away only at the end. The
 * lock is an flock() on a file named after the request in a directory of its own under /run,
 * which also holds the status: the leader empties the file when it takes the lock and writes
 * the status once its modprobe has ended, so a waiter that finds the file empty knows the leader
 * died without an answer and runs modprobe itself. Waiting cannot deadlock beyond what the
 * stock modprobe does: a request made from inside the init of a module that the leader's
 * modprobe is loading would wait in the kernel for that module just the same. It is bounded by
 * the shim's deadline all the same, after which modprobe runs unshared. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "fallback.h"
#include "log.h"
#include "time-util.h"

/* How often a wait for the lock is woken to look at its deadline: a timer that keeps firing,
 * so that a tick that comes before flock() has started only delays the next look. */
#define LOCK_TICK_USEC 100000

static void on_tick(int sig)
{
        (void) sig;
}

/* Takes the lock on FD, waiting until DEADLINE at most: 0, -ETIMEDOUT or -errno. */
static int lock_wait(int fd, usec_t deadline)
{
        const struct itimerval tick = { .it_interval = { 0, LOCK_TICK_USEC },
                .it_value = { 0, LOCK_TICK_USEC } };
        const struct itimerval off = {};
        struct sigaction sa = { .sa_handler = on_tick }, old_sa;
        sigset_t alrm, old_mask;
        int r;

        /* No SA_RESTART: the tick ends flock() with EINTR. The kernel's helpers may start with
         * signals blocked. */
        sigemptyset(&alrm);
        sigaddset(&alrm, SIGALRM);
        if (sigaction(SIGALRM, &sa, &old_sa) < 0)
                return -errno;
        sigprocmask(SIG_UNBLOCK, &alrm, &old_mask);
        setitimer(ITIMER_REAL, &tick, NULL);
        for (;;) {
                if (flock(fd, LOCK_EX) == 0) {
                        r = 0;
                        break;
                }
                if (errno != EINTR) {
                        r = -errno;
                        break;
                }
                if (now_usec() >= deadline) {
                        r = -ETIMEDOUT;
                        break;
                }
        }
        setitimer(ITIMER_REAL, &off, NULL);
        sigprocmask(SIG_SETMASK, &old_mask, NULL);
        sigaction(SIGALRM, &old_sa, NULL);
        return r;
}

/* Runs MODPROBE and returns its exit status (1 if a signal ended it), or -errno. */
static int modprobe_run(const char *modprobe, char *argv[])
{
        pid_t pid;
        int status;

        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                execv(modprobe, argv);
                log_error_errno(errno, "Cannot run %s: %m", modprobe);
                _exit(EXIT_FAILURE);
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        return WIFEXITED(status) ? WEXITSTATUS(status) : EXIT_FAILURE;
}

static int unshared(const char *modprobe, char *argv[])
{
        int r = modprobe_run(modprobe, argv);

        return r < 0 ? log_error_errno(r, "Cannot run %s: %m", modprobe), EXIT_FAILURE : r;
}

/* The status a finished leader left in FD, or -ENODATA when it left none. */
static int status_read(int fd)
{
        char buf[8];
        ssize_t n;
        char *end;
        long s;

        n = pread(fd, buf, sizeof(buf) - 1, 0);
        if (n <= 0)
                return -ENODATA;
        buf[n] = '\0';
        s = strtol(buf, &end, 10);
        return end != buf && *end == '\n' && s >= 0 && s <= 255 ? (int) s : -ENODATA;
}

/* The lock file for NAME in DIR (DIR made if missing, with its parent), or -errno. */
static int lock_open(const char *dir, const char *name)
{
        _cleanup_free_ char *parent = strdup(dir);
        char *slash, path[4096];
        int fd;

        if (!parent)
                return -ENOMEM;
        slash = strrchr(parent, '/');
        if (slash && slash != parent) {
                *slash = '\0';
                if (mkdir(parent, 0755) < 0 && errno != EEXIST)
                        return -errno;
        }
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return -errno;
        if (name[0] == '.' ||
                snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int) sizeof(path))
                return -EINVAL;
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
        return fd < 0 ? -errno : fd;
}

int fallback_run(
        const char *dir, const char *name, const char *modprobe, char *argv[], usec_t deadline)
{
        _cleanup_close_ int fd = -EBADF;
        char status[16];
        int r, s;

        fd = dir ? lock_open(dir, name) : -EINVAL;
        if (fd < 0) {
                log_debug_errno(
                        fd, "%s: no lock for the real modprobe (%m); running it unshared.", name);
                return unshared(modprobe, argv);
        }
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                if (errno != EWOULDBLOCK)
                        return log_debug_errno(errno, "%s: cannot lock (%m).", name),
                               unshared(modprobe, argv);
                log_debug("%s: the real modprobe for it is running; waiting for it.", name);
                r = lock_wait(fd, deadline);
                if (r < 0) {
                        log_debug_errno(r,
                                "%s: no answer from the modprobe running for it (%m); "
                                "running it unshared.",
                                name);
                        return unshared(modprobe, argv);
                }
                s = status_read(fd);
                if (s >= 0) {
                        log_debug("%s: the real modprobe that ran for it exited %d.", name, s);
                        return s;
                }
                log_debug("%s: the modprobe running for it ended without an answer.", name);
        }
        /* The leader: the file empty while modprobe runs, its status once it has ended. */
        if (ftruncate(fd, 0) < 0)
                return log_debug_errno(errno, "%s: cannot empty the lock (%m).", name),
                       unshared(modprobe, argv);
        r = modprobe_run(modprobe, argv);
        if (r < 0)
                return log_error_errno(r, "Cannot run %s: %m", modprobe), EXIT_FAILURE;
        snprintf(status, sizeof(status), "%d\n", r);
        if (pwrite(fd, status, strlen(status), 0) < 0)
                log_debug_errno(errno, "%s: cannot record the status (%m).", name);
        return r;
}
