/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* monitor.h — module uevents from the kernel (netlink, subsystem "module") fed to the engine,
 * so that its table follows loads and unloads made by anyone, with no sysfs read per request. */
#pragma once

#include <systemd/sd-event.h>

#include "cleanup.h"
#include "engine.h"

typedef struct Monitor Monitor;

int monitor_new(Monitor **ret, sd_event *event, Engine *engine);
Monitor *monitor_free(Monitor *m);
DEFINE_POINTER_CLEANUP_FUNC(Monitor, monitor_free);

/* A module uevent's action as a kernel state: "add" (sent once init has returned) and "change"
 * mean live, "remove" gone; -EINVAL for actions that say nothing about the state. */
int monitor_action_to_state(const char *action, KernelModuleState *ret);
