/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* install-command.h — runs a modprobe.d "install" command as modprobe does: $CMDLINE_OPTS
 * replaced by the module's parameters, MODPROBE_MODULE in the environment, through /bin/sh. */
#pragma once

/* The command with every $CMDLINE_OPTS replaced by params, or NULL on ENOMEM. */
char *install_command_expand(const char *command, const char *params);

/* Runs it and waits (call from a worker thread). 0 on exit status 0, -EIO on any other exit,
 * -errno when it could not be started. */
int install_command_run(const char *name, const char *command, const char *params);
