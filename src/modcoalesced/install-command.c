/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* install-command.c — see install-command.h. posix_spawn() with an explicit environment, so a
 * worker thread never touches the process environment. Every wait is bounded: the command's
 * shell is watched through a pidfd (or looked at every 10 ms without one) up to a monotonic
 * deadline, and stays unreaped until its process group has been killed, so the group's id
 * cannot have been reused by then. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "install-command.h"

extern char **environ;

#define CMDLINE_OPTS "$CMDLINE_OPTS"
/* Without a pidfd: how often to look whether the command has exited. */
#define POLL_INTERVAL_USEC (10 * USEC_PER_MSEC)
#define REAPER_STACK_SIZE ((size_t) 64 * 1024)

char *install_command_expand(const char *command, const char *params)
{
        size_t n = 0, np = strlen(params), nv = strlen(CMDLINE_OPTS);
        const char *p;
        char *out, *o;

        for (p = command; (p = strstr(p, CMDLINE_OPTS)); p += nv)
                n++;
        out = o = malloc(strlen(command) + n * np + 1);
        if (!out)
                return NULL;
        for (p = command;;) {
                const char *v = strstr(p, CMDLINE_OPTS);

                if (!v) {
                        strcpy(o, p);
                        break;
                }
                o = mempcpy(o, p, v - p);
                o = mempcpy(o, params, np);
                p = v + nv;
        }
        return out;
}

/* The worker threads block every signal, and a spawned process inherits its thread's mask and
 * whatever the daemon ignores: a command starts as it would from modprobe, with nothing blocked
 * or ignored, and in a process group of its own, which can be killed as a whole. Its pid, or
 * -errno. */
static pid_t spawn_shell(char *cmd, char **envp)
{
        posix_spawnattr_t attr;
        sigset_t none, all;
        pid_t pid = 0;
        int r;

        r = posix_spawnattr_init(&attr);
        if (r != 0)
                return -r;
        sigemptyset(&none);
        sigfillset(&all);
        r = posix_spawnattr_setflags(
                &attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
        if (r == 0)
                r = posix_spawnattr_setsigmask(&attr, &none);
        if (r == 0)
                r = posix_spawnattr_setsigdefault(&attr, &all);
        if (r == 0)
                r = posix_spawnattr_setpgroup(&attr, 0);
        if (r == 0)
                r = posix_spawn(&pid, "/bin/sh", NULL, &attr,
                        (char *[]){ (char *) "sh", (char *) "-c", cmd, NULL }, envp);
        posix_spawnattr_destroy(&attr);
        return r != 0 ? -r : pid;
}

/* 1 once pid has exited (it is not reaped), 0 at the deadline, -errno. */
static int child_wait_exit(pid_t pid, int pidfd, usec_t deadline)
{
        for (;;) {
                siginfo_t si = {};
                usec_t now, left;

                if (waitid(P_PID, (id_t) pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (si.si_pid != 0)
                        return 1;
                now = now_usec();
                if (now >= deadline)
                        return 0;
                left = deadline - now;
                if (pidfd >= 0) {
                        struct pollfd p = { .fd = pidfd, .events = POLLIN };
                        usec_t ms = (left + USEC_PER_MSEC - 1) / USEC_PER_MSEC;

                        if (poll(&p, 1, ms > INT_MAX ? INT_MAX : (int) ms) < 0 && errno != EINTR)
                                return -errno;
                } else
                        (void) usleep(left < POLL_INTERVAL_USEC ? left : POLL_INTERVAL_USEC);
        }
}

/* Its wait status, for a pid that has exited. */
static int child_reap(pid_t pid)
{
        int status;

        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        return status;
}

static void *reaper_main(void *p)
{
        pid_t pid = *(pid_t *) p;

        free(p);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
        return NULL;
}

/* A shell that SIGKILL has not ended yet sleeps in the kernel (a module's init, say): a detached
 * thread, which inherits the worker's full signal mask, reaps it whenever it ends, so the worker
 * goes on and no zombie stays behind. If no thread can be made, the zombie stays until the daemon
 * exits. */
static void reap_in_background(pid_t pid)
{
        _cleanup_free_ pid_t *p = malloc(sizeof(pid_t));
        pthread_attr_t attr;
        pthread_t t;

        if (!p || pthread_attr_init(&attr) != 0)
                return;
        *p = pid;
        (void) pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        (void) pthread_attr_setstacksize(&attr, REAPER_STACK_SIZE);
        if (pthread_create(&t, &attr, reaper_main, p) == 0)
                p = NULL; /* the thread's */
        pthread_attr_destroy(&attr);
}

/* Past the deadline: SIGTERM to the group, then SIGKILL to whatever is left of it as soon as the
 * shell has exited or the grace is over. The shell is reaped only after that SIGKILL. */
static int child_stop(pid_t pid, int pidfd, usec_t deadline)
{
        int r;

        (void) kill(-pid, SIGTERM);
        r = child_wait_exit(pid, pidfd, deadline + INSTALL_COMMAND_GRACE_USEC);
        (void) kill(-pid, SIGKILL);
        if (r == 0)
                r = child_wait_exit(pid, pidfd, now_usec() + INSTALL_COMMAND_KILL_WAIT_USEC);
        if (r > 0)
                (void) child_reap(pid);
        else if (r == 0)
                reap_in_background(pid);
        return -ETIMEDOUT;
}

int install_command_run_timeout(
        const char *name, const char *command, const char *params, usec_t timeout)
{
        _cleanup_free_ char *cmd = NULL, *module_env = NULL;
        _cleanup_free_ char **envp = NULL;
        _cleanup_close_ int pidfd = -EBADF;
        size_t n = 0, k = 0;
        usec_t start, deadline;
        pid_t pid;
        int r;

        cmd = install_command_expand(command, params);
        if (!cmd || asprintf(&module_env, "MODPROBE_MODULE=%s", name) < 0)
                return -ENOMEM;
        while (environ && environ[n])
                n++;
        envp = calloc(n + 2, sizeof(char *));
        if (!envp)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (strncmp(environ[i], "MODPROBE_MODULE=", 16) != 0)
                        envp[k++] = environ[i];
        envp[k++] = module_env;

        pid = spawn_shell(cmd, envp);
        if (pid < 0)
                return (int) pid;
        start = now_usec();
        /* Far below overflow, but never wrap. */
        deadline = timeout > USEC_INFINITY / 2 - start ? USEC_INFINITY / 2 : start + timeout;
        /* Close-on-exec always. Fails only before Linux 5.3, or at the descriptor limit. */
        pidfd = (int) syscall(SYS_pidfd_open, pid, 0);

        r = child_wait_exit(pid, pidfd, deadline);
        if (r == 0)
                return child_stop(pid, pidfd, deadline);
        if (r < 0)
                return r;
        r = child_reap(pid);
        if (r < 0)
                return r;
        return WIFEXITED(r) && WEXITSTATUS(r) == 0 ? 0 : -EIO;
}

int install_command_run(const char *name, const char *command, const char *params)
{
        return install_command_run_timeout(name, command, params, INSTALL_COMMAND_TIMEOUT_USEC);
}
