/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* install-command.h — runs a modprobe.d "install" command as modprobe does: $CMDLINE_OPTS
 * replaced by the module's parameters, MODPROBE_MODULE in the environment, through /bin/sh;
 * unlike modprobe, within a deadline, after which the command and everything it started end. */
#pragma once

#include "time-util.h"

/* How long a command may run. A constant, not --request-timeout: it stays (with the grace) inside
 * that option's default of 50 s, so that with default settings the requests waiting on a hung
 * command are answered LoadFailed with ETIMEDOUT, naming the module, instead of a bare TimedOut;
 * and it is far longer than real commands take (they run modprobe --ignore-install, /bin/true or
 * write to sysfs), while a worker thread (of at most 16) is not lost for good. */
#define INSTALL_COMMAND_TIMEOUT_USEC (40 * USEC_PER_SEC)
/* Between SIGTERM and SIGKILL to the command's process group at the deadline. */
#define INSTALL_COMMAND_GRACE_USEC (2 * USEC_PER_SEC)
/* How long to wait for the command's shell after SIGKILL (it may be inside a module's init,
 * where SIGKILL waits for the init to return); past that it is reaped in the background. */
#define INSTALL_COMMAND_KILL_WAIT_USEC (1 * USEC_PER_SEC)

/* The command with every $CMDLINE_OPTS replaced by params, or NULL on ENOMEM. */
char *install_command_expand(const char *command, const char *params);

/* Runs it and waits (call from a worker thread) at most timeout: with no signal blocked or
 * ignored, whatever the calling thread's mask, and in a process group of its own, which gets
 * SIGTERM at the deadline and SIGKILL once the command's shell has exited or
 * INSTALL_COMMAND_GRACE_USEC later. 0 on exit status 0, -EIO on any other exit or a signal,
 * -ETIMEDOUT at the deadline (returned within timeout + grace + kill wait), -errno when it could
 * not be started. */
int install_command_run_timeout(
        const char *name, const char *command, const char *params, usec_t timeout);

/* The same with INSTALL_COMMAND_TIMEOUT_USEC. */
int install_command_run(const char *name, const char *command, const char *params);
