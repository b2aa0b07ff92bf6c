/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fallback.h — the real modprobe for a kernel request that the daemon cannot take, run once per
 * request name at a time: the same name asked for again while that modprobe runs waits for it
 * and is given its exit status, as a request joins a load in flight in the daemon. */
#pragma once

#include "time-util.h"

/* Runs the real modprobe (MODPROBE, with ARGV) for the kernel's request of NAME, or waits for the
 * one another shim is running for NAME until DEADLINE (CLOCK_MONOTONIC, time-util.h), and returns
 * the exit status either gave. The lock and the status live in a file named NAME in DIR (made if
 * missing). Without DIR, or at the deadline, it runs the real modprobe unshared, as the shim
 * always did. */
int fallback_run(
        const char *dir, const char *name, const char *modprobe, char *argv[], usec_t deadline);
