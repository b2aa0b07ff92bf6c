/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* manager.h — owns the event loop and everything the daemon runs on it; the only place that
 * wires the units together: resolver, engine, module uevents, the varlink server, signals,
 * readiness and status, idle exit and the drain on SIGTERM. */
#pragma once

#include <systemd/sd-event.h>

#include "cleanup.h"
#include "engine.h"
#include "kernel.h"
#include "monitor.h"
#include "resolver.h"
#include "server.h"

#define MANAGER_IDLE_TIMEOUT_USEC_DEFAULT (60 * USEC_PER_SEC)

typedef struct ManagerConfig {
        Kernel *kernel; /* NULL: the running kernel */
        const char *module_dir; /* NULL: the running kernel's */
        const char *listen; /* a socket path of our own instead of systemd's */
        usec_t idle_timeout; /* 0: the default; USEC_INFINITY: never */
        const char *kernel_modprobe; /* NULL: /proc/sys/kernel/modprobe */
        EngineConfig engine;
        ServerConfig server;
} ManagerConfig;

typedef struct Manager {
        sd_event *event;
        Resolver *resolver;
        Engine *engine;
        Monitor *monitor;
        Server *server;
        usec_t idle_timeout;
        usec_t last_busy;
        char *kernel_modprobe; /* where kernel.modprobe is read: idle exit checks it */
        bool resident; /* said once: kernel.modprobe is our shim, so no idle exit */
        sd_event_source *idle_source, *drain_source;
        bool stopping;
        char *status;
        char *ready_path; /* "ready" beside the socket: our pid while we serve */
        char *timeline_path; /* "timeline.json" beside it: the boot's load record, at exit */
} Manager;

int manager_new(Manager **ret, const ManagerConfig *config);
Manager *manager_free(Manager *m);
DEFINE_POINTER_CLEANUP_FUNC(Manager, manager_free);

/* Runs until stopped (SIGTERM/SIGINT, then the drain) or idle; 0 or -errno. */
int manager_run(Manager *m);
