/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* modules-load.h — `modcoalescectl modules-load`, what systemd-modules-load.service runs through
 * our drop-in: the modules of modules-load.d(5) and of the kernel command line, each loaded
 * through the daemon with systemd-modules-load's failure semantics. */
#pragma once

#include <stdbool.h>

#include "verbs.h"

/* The module names systemd-modules-load would load, in its order: modules_load= (and, in an
 * initrd, rd.modules_load=) of CMDLINE, then the lines of the *.conf files of modules-load.d
 * below ROOT ("" for /), a file of a name in /etc hiding one of the same name in /run,
 * /usr/local/lib and /usr/lib, files in name order. NULL-terminated, owned by the caller. */
int modules_load_list(const char *root, const char *cmdline, bool in_initrd, char ***ret);

/* Loads them through the daemon; without its socket, runs systemd-modules-load itself. Returns
 * 0, or -EIO when a module failed (not: not found, ENODEV, ENOENT, blacklisted), -errno. */
int verb_modules_load(const CtlOptions *o, const char *root);
