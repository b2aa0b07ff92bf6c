/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* monitor.h — module uevents from the kernel (its netlink socket, filtered in the kernel to
 * subsystem "module", uevent.h) fed to the engine, so that its table follows loads and unloads
 * made by anyone, with no sysfs read per request. When the socket overruns all the same, the
 * engine rescans /sys/module. */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "cleanup.h"
#include "engine.h"

/* Room for a burst of module uevents while the loop is busy: with the filter, every message
 * queued is a module's (a few KiB each with the kernel's buffer), and a module tree has a few
 * thousand modules at most. */
#define MONITOR_RCVBUF (16 * 1024 * 1024)

typedef struct Monitor Monitor;

int monitor_new(Monitor **ret, sd_event *event, Engine *engine);
/* Serves a socket that is already open (tests: one end of a socketpair): the filter is
 * attached, the receive buffer grown, and messages are taken without the check that they come
 * from the kernel. The monitor owns fd on success. */
int monitor_new_on_fd(Monitor **ret, sd_event *event, Engine *engine, int fd);
Monitor *monitor_free(Monitor *m);
DEFINE_POINTER_CLEANUP_FUNC(Monitor, monitor_free);

/* The receive buffer in force (bytes, as the kernel counts them) and whether it was forced
 * past net.core.rmem_max (SO_RCVBUFFORCE, which takes CAP_NET_ADMIN). */
int monitor_receive_buffer(const Monitor *m, bool *ret_forced);
/* Messages that came through the filter but were not module uevents, and overruns. */
unsigned monitor_n_ignored(const Monitor *m);
unsigned monitor_n_overruns(const Monitor *m);
