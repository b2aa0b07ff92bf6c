/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* engine.h — the coalescing engine: one Module per name, indexed by file inode too, and the
 * Requests that wait on them. However many requests ask for a module, it is read, decompressed
 * and loaded once, and every waiter gets that one result. Runs on the event loop thread only. */
#pragma once

#include <stdint.h>
#include <systemd/sd-event.h>

#include "cleanup.h"
#include "engine-types.h"
#include "kernel.h"
#include "loader.h"
#include "plan.h"
#include "request-view.h"
#include "time-util.h"
#include "timeline.h"

int engine_new(Engine **ret, sd_event *e, Kernel *k, const EngineConfig *config);
Engine *engine_free(Engine *e);
DEFINE_POINTER_CLEANUP_FUNC(Engine, engine_free);

/* Reads /sys/module/compression and scans /sys/module once. */
int engine_start(Engine *e);

/* Scans /sys/module again, after module uevents were lost (the socket overran): what is there
 * is taken as the kernel says, and what the table holds as present but is gone, as removed. */
int engine_rescan(Engine *e);

/* Starts a request for the plan. `generation` is the resolver's: when it changes, remembered
 * failures are forgotten. `done` runs exactly once, on the loop, when every module of the plan
 * has settled (or the request timed out); the engine frees the request when it returns (a
 * request that timed out before the last module of its plan may instead carry on with the rest
 * of its plan, for nobody: its devices still want those modules). Unless
 * it is cancelled first: then `done` never runs. Returns 1 when the request was answered at
 * once (`done` has run, *ret is NULL), 0 when it waits (*ret is the request), or -errno with
 * nothing started and `done` not called. */
int engine_submit(Engine *e, Plan *plan, uint64_t generation, RequestDoneFunc done, void *userdata,
        Request **ret);

/* The same with flags: ENGINE_REQUEST_FROM_KERNEL and ENGINE_REQUEST_WAITED_BEFORE
 * (engine-types.h). */
int engine_submit_full(Engine *e, Plan *plan, uint64_t generation, unsigned flags,
        RequestDoneFunc done, void *userdata, Request **ret);

/* One observer at most (NULL to stop); it must not call back into the engine. */
void engine_set_event_func(Engine *e, EngineEventFunc f, void *userdata);

/* A module uevent (or any news of a module's kernel state) from outside. */
void engine_module_event(Engine *e, const char *name, KernelModuleState state);

EngineStats engine_stats(const Engine *e);
/* The record of this boot's loads: every load this engine made, after those it was given. */
Timeline *engine_timeline(const Engine *e);
usec_t engine_request_timeout(const Engine *e);
unsigned engine_n_in_flight(const Engine *e);
unsigned engine_n_waiting(const Engine *e);
unsigned engine_n_requests(const Engine *e);

/* Visits modules: in flight only (loading, waiting for someone else's load), or all. */
typedef void (*ModuleVisitFunc)(const ModuleInfo *info, void *userdata);
void engine_foreach_module(const Engine *e, bool in_flight_only, ModuleVisitFunc f, void *userdata);
