/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* options.h — the daemon's command line, shared by the daemon and its fake-kernel test build. */
#pragma once

#include "manager.h"

/* Parses argv into *config. Returns 0 to run, 1 when the command line asked for something that
 * is done now (--help, --version), -EINVAL on a bad command line (already reported). Strings
 * point into argv. */
int options_parse(int argc, char *argv[], ManagerConfig *config);
