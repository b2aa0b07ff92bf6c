/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* manager.h — owns the event loop and everything the daemon runs on it; the only place that
 * wires the units together: resolver, engine, module uevents, signals and readiness. */
#pragma once

#include <systemd/sd-event.h>

#include "cleanup.h"
#include "engine.h"
#include "monitor.h"
#include "resolver.h"

typedef struct ManagerConfig {
        const char *module_dir; /* NULL: the running kernel's */
        EngineConfig engine;
} ManagerConfig;

typedef struct Manager {
        sd_event *event;
        Resolver *resolver;
        Engine *engine;
        Monitor *monitor;
} Manager;

int manager_new(Manager **ret, const ManagerConfig *config);
Manager *manager_free(Manager *m);
DEFINE_POINTER_CLEANUP_FUNC(Manager, manager_free);

/* Runs until SIGTERM or SIGINT; returns the exit status's -errno (0 on a clean stop). */
int manager_run(Manager *m);
