/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-install-command — modprobe.d install commands as a loader worker runs them: called from a
 * thread that blocks every signal, they must still start with no signal blocked or ignored, end
 * with their whole process group at the deadline, and map exit statuses as before. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "cleanup.h"
#include "install-command.h"
#include "time-util.h"

static char dir[] = "/tmp/mc-install-XXXXXX";

typedef struct Call {
        const char *command, *params;
        usec_t timeout;
        int r;
        usec_t took;
} Call;

static void *call_thread(void *p)
{
        Call *c = p;
        usec_t start = now_usec();

        c->r = install_command_run_timeout("mc_x", c->command, c->params, c->timeout);
        c->took = now_usec() - start;
        return NULL;
}

/* Runs the call on a thread that blocks every signal, as loader.c's workers do: 0, or
 * -ETIMEDOUT when it has not returned within limit (the thread is left behind, with its own
 * copy of the call). */
static int try_call_as_worker(Call *c, usec_t limit)
{
        sigset_t all, saved;
        struct timespec ts;
        pthread_t t;
        Call *copy;
        int r;

        assert_non_null(copy = malloc(sizeof(*copy)));
        *copy = *c;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &saved);
        r = pthread_create(&t, NULL, call_thread, copy);
        pthread_sigmask(SIG_SETMASK, &saved, NULL);
        assert_int_equal(r, 0);
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += (time_t) (limit / USEC_PER_SEC);
        r = pthread_timedjoin_np(t, NULL, &ts);
        if (r == ETIMEDOUT) {
                pthread_detach(t);
                return -ETIMEDOUT;
        }
        assert_int_equal(r, 0);
        *c = *copy;
        free(copy);
        return 0;
}

static void call_as_worker(Call *c, usec_t limit)
{
        if (try_call_as_worker(c, limit) < 0)
                fail_msg("install_command_run_timeout() had not returned after %llu s",
                        (unsigned long long) (limit / USEC_PER_SEC));
}

static char *path_in_dir(const char *name)
{
        char *p;

        assert_true(asprintf(&p, "%s/%s", dir, name) >= 0);
        return p;
}

/* Line index (from 0) of the file name in the test directory, without its newline; NULL when
 * the file does not exist. */
static char *read_line(const char *name, unsigned index)
{
        _cleanup_free_ char *path = path_in_dir(name);
        char line[256] = "";
        FILE *f = fopen(path, "re");

        if (!f)
                return NULL;
        for (unsigned i = 0; i <= index; i++)
                if (!fgets(line, sizeof(line), f))
                        line[0] = '\0';
        fclose(f);
        line[strcspn(line, "\n")] = '\0';
        return strdup(line);
}

static pid_t read_pid(const char *name)
{
        _cleanup_free_ char *s = NULL;

        /* The background child writes its pid before the test's deadline; give it time. */
        for (int i = 0; i < 200 && !(s = read_line(name, 0)); i++)
                usleep(10000);
        assert_non_null(s);
        return (pid_t) atoi(s);
}

/* The mask and dispositions a command starts with: "SigBlk: …" and "SigIgn: …" of its shell. */
static void test_clean_signal_state(void **state)
{
        _cleanup_free_ char *out = path_in_dir("sig"), *cmd = NULL, *blk = NULL, *ign = NULL;
        struct sigaction ignore = { .sa_handler = SIG_IGN }, old_usr1, old_pipe;
        Call c = { .params = "", .timeout = 10 * USEC_PER_SEC };

        /* exec: the shell's own mask changes once it has waited for a child (dash clears it),
         * so the process that reads /proc/self/status must be the one spawned. */
        assert_true(
                asprintf(&cmd, "exec grep -E '^Sig(Blk|Ign):' /proc/self/status >%s", out) >= 0);
        c.command = cmd;
        /* Dispositions the daemon might have set: a command must not inherit them. */
        sigaction(SIGUSR1, &ignore, &old_usr1);
        sigaction(SIGPIPE, &ignore, &old_pipe);
        call_as_worker(&c, 20 * USEC_PER_SEC);
        sigaction(SIGUSR1, &old_usr1, NULL);
        sigaction(SIGPIPE, &old_pipe, NULL);
        assert_int_equal(c.r, 0);
        assert_non_null(blk = read_line("sig", 0));
        assert_non_null(ign = read_line("sig", 1));
        print_message("%s\n%s\n", blk, ign);
        assert_string_equal(blk, "SigBlk:\t0000000000000000");
        assert_string_equal(ign, "SigIgn:\t0000000000000000");
}

/* Exit statuses, $CMDLINE_OPTS and MODPROBE_MODULE as before. */
static void test_exit_status(void **state)
{
        _cleanup_free_ char *out = path_in_dir("env"), *cmd = NULL, *line = NULL;
        static const struct {
                const char *command;
                int r;
        } cases[] = {
                { "true", 0 },
                { "exit 0", 0 },
                { "exit 3", -EIO },
                { "false", -EIO },
                { "kill -9 $$", -EIO },
                { "/nonexistent/command", -EIO },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                Call c = {
                        .command = cases[i].command, .params = "", .timeout = 10 * USEC_PER_SEC
                };

                call_as_worker(&c, 20 * USEC_PER_SEC);
                assert_int_equal(c.r, cases[i].r);
                assert_true(c.took < 5 * USEC_PER_SEC);
        }

        assert_int_equal(setenv("MODPROBE_MODULE", "stale", 1), 0);
        assert_true(asprintf(&cmd, "echo \"$MODPROBE_MODULE $CMDLINE_OPTS\" >%s", out) >= 0);
        {
                Call c = { .command = cmd, .params = "a=1 b=2", .timeout = 10 * USEC_PER_SEC };

                call_as_worker(&c, 20 * USEC_PER_SEC);
                assert_int_equal(c.r, 0);
        }
        unsetenv("MODPROBE_MODULE");
        assert_non_null(line = read_line("env", 0));
        assert_string_equal(line, "mc_x a=1 b=2");
}

/* Waits (at most 5 s) until pid, a child of ours as subreaper, has died: the signal that killed
 * it, or 0 when its own parent reaped it first (a shell in wait() may reap a child that died
 * of the group's SIGKILL before dying of its own). */
static int reap_orphan(pid_t pid)
{
        int status;

        for (int i = 0; i < 500; i++) {
                pid_t p = waitpid(pid, &status, WNOHANG);

                if (p == pid)
                        return WIFSIGNALED(status) ? WTERMSIG(status) : -1;
                if (p < 0)
                        return errno == ECHILD ? 0 : -errno; /* reaped elsewhere, gone */
                usleep(10000);
        }
        return -ETIMEDOUT;
}

/* Before the fix the command outlived the test: its shell, its child and the shell's children. */
static void kill_leftovers(pid_t leader, pid_t gc)
{
        _cleanup_free_ char *children = NULL;
        char line[256] = "";
        FILE *f;

        if (asprintf(&children, "/proc/%d/task/%d/children", (int) leader, (int) leader) >= 0 &&
                (f = fopen(children, "re"))) {
                if (fgets(line, sizeof(line), f))
                        for (char *p = strtok(line, " \n"); p; p = strtok(NULL, " \n"))
                                (void) kill((pid_t) atoi(p), SIGKILL);
                fclose(f);
        }
        (void) kill(gc, SIGKILL);
        (void) kill(leader, SIGKILL);
}

static void assert_gone(pid_t pid, const char *what)
{
        if (kill(pid, 0) == 0 || errno != ESRCH) {
                (void) kill(pid, SIGKILL);
                fail_msg("%s (pid %d) still exists", what, (int) pid);
        }
}

/* `sleep 1000` plus a background child that ignores SIGTERM: at the deadline the leader gets
 * SIGTERM and dies, and the rest of its group gets SIGKILL at once, without waiting the grace. */
static void test_deadline_kills_the_group(void **state)
{
        _cleanup_free_ char *cmd = NULL, *gc = path_in_dir("gc1"), *leader = path_in_dir("l1");
        /* Time for the shell to write both pids first, on a loaded machine too. */
        Call c = { .params = "", .timeout = 2 * USEC_PER_SEC };
        pid_t gc_pid, leader_pid;
        int k;

        assert_true(asprintf(&cmd,
                            "echo $$ >%s; sh -c 'trap \"\" TERM; exec sleep 1000' & "
                            "echo $! >%s; sleep 1000",
                            leader, gc) >= 0);
        c.command = cmd;
        k = try_call_as_worker(&c, c.timeout + INSTALL_COMMAND_GRACE_USEC + 10 * USEC_PER_SEC);
        gc_pid = read_pid("gc1");
        leader_pid = read_pid("l1");
        if (k < 0) {
                kill_leftovers(leader_pid, gc_pid);
                fail_msg("the command was not stopped at its deadline");
        }
        print_message("r=%d after %llu ms\n", c.r, (unsigned long long) (c.took / 1000));
        assert_int_equal(c.r, -ETIMEDOUT);
        assert_true(c.took >= c.timeout);
        assert_true(c.took < c.timeout + INSTALL_COMMAND_GRACE_USEC);
        assert_gone(leader_pid, "the command's shell");
        k = reap_orphan(gc_pid);
        assert_true(k == SIGKILL || k == 0);
        assert_gone(gc_pid, "its background child");
}

/* A group that ignores SIGTERM altogether: SIGKILL after the grace, and the call returns right
 * after it. */
static void test_sigterm_ignored(void **state)
{
        _cleanup_free_ char *cmd = NULL, *gc = path_in_dir("gc2"), *leader = path_in_dir("l2");
        Call c = { .params = "", .timeout = USEC_PER_SEC / 2 };
        pid_t gc_pid, leader_pid;
        int k;

        assert_true(
                asprintf(&cmd, "trap '' TERM; echo $$ >%s; sleep 1000 & echo $! >%s; sleep 1000",
                        leader, gc) >= 0);
        c.command = cmd;
        k = try_call_as_worker(&c, c.timeout + INSTALL_COMMAND_GRACE_USEC + 10 * USEC_PER_SEC);
        gc_pid = read_pid("gc2");
        leader_pid = read_pid("l2");
        if (k < 0) {
                kill_leftovers(leader_pid, gc_pid);
                fail_msg("the command was not stopped at its deadline");
        }
        print_message("r=%d after %llu ms\n", c.r, (unsigned long long) (c.took / 1000));
        assert_int_equal(c.r, -ETIMEDOUT);
        assert_true(c.took >= c.timeout + INSTALL_COMMAND_GRACE_USEC);
        /* The documented bound, and a second for a loaded machine. */
        assert_true(c.took < c.timeout + INSTALL_COMMAND_GRACE_USEC +
                        INSTALL_COMMAND_KILL_WAIT_USEC + USEC_PER_SEC);
        assert_gone(leader_pid, "the command's shell");
        k = reap_orphan(gc_pid);
        assert_true(k == SIGKILL || k == 0);
        assert_gone(gc_pid, "its background child");
}

static int setup(void **state)
{
        if (!mkdtemp(dir))
                return -1;
        /* Orphans of the commands come to us, so that a killed grandchild can be reaped and
         * shown gone whatever reaps orphans here (or fails to: a PID namespace's init). */
        return prctl(PR_SET_CHILD_SUBREAPER, 1);
}

static int teardown(void **state)
{
        _cleanup_free_ char *cmd = NULL;

        if (asprintf(&cmd, "rm -rf -- '%s'", dir) < 0)
                return -1;
        return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_clean_signal_state),
                cmocka_unit_test(test_exit_status),
                cmocka_unit_test(test_deadline_kills_the_group),
                cmocka_unit_test(test_sigterm_ignored),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
