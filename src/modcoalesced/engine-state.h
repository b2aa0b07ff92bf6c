/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* engine-state.h — the Engine as its own units see it (module.c, request.c, module-settle.c,
 * engine.c): the module table, the request lists and the two timers. Nothing outside the engine
 * includes this. */
#pragma once

#include <systemd/sd-event.h>

#include "engine-types.h"
#include "hashmap.h"
#include "kernel.h"
#include "list.h"
#include "loader.h"
#include "timeline.h"

struct Engine {
        sd_event *event;
        Kernel *kernel;
        Loader *loader;
        EngineConfig config;
        Compression kernel_compression;
        uint64_t generation;

        Hashmap *modules; /* name → Module */
        Hashmap *by_inode; /* InodeKey → Module whose load or live instance uses that file */
        LIST_HEAD(Request) pending;
        LIST_HEAD(Request) orphans;
        unsigned n_requests, n_waiting, n_in_flight, n_orphans;
        LIST_HEAD(Module) polled;
        sd_event_source *timeout_source, *poll_source;
        EngineEventFunc event_func;
        void *event_userdata;
        EngineStats stats;
        Timeline *timeline;
};

static inline void engine_emit(
        Engine *e, EngineEventType type, const char *module, int error, Coalesced coalesced)
{
        if (e->event_func)
                e->event_func(&(EngineEvent){ .type = type,
                                      .module = module,
                                      .error = error,
                                      .coalesced = coalesced },
                        e->event_userdata);
}
