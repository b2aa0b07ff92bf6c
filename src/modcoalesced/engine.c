/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* engine.c — the engine as a whole: its table of Modules (module.h, with the state machine),
 * the Requests that walk their plans over it (request.h), how modules settle (module-settle.h),
 * the loader (loader.h) and two timers: request deadlines and the poll of modules that someone
 * else is loading or unloading. Runs on the event loop thread only; the engine owns Modules (for
 * its lifetime) and Requests (until `done` returns or request_cancel()). */
#include <errno.h>

#include "decompress.h"
#include "engine.h"
#include "module-settle.h"
#include "request.h"

static const char *const outcome_names[_OUTCOME_MAX] = {
        [OUTCOME_PENDING] = "pending",
        [OUTCOME_LOADED] = "loaded",
        [OUTCOME_ALREADY_LOADED] = "already-loaded",
        [OUTCOME_FAILED] = "failed",
        [OUTCOME_SKIPPED] = "skipped",
        [OUTCOME_TIMED_OUT] = "timed-out",
        [OUTCOME_IN_PROGRESS] = "in-progress",
};

const char *outcome_to_string(Outcome o)
{
        return o >= 0 && o < _OUTCOME_MAX ? outcome_names[o] : NULL;
}

const char *coalesced_to_string(Coalesced c)
{
        return c == COALESCED_BY_NAME ? "name" : c == COALESCED_BY_INODE ? "inode" : "no";
}

int engine_new(Engine **ret, sd_event *event, Kernel *k, const EngineConfig *config)
{
        _cleanup_(engine_freep) Engine *e = NULL;
        int r;

        e = calloc(1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        e->event = sd_event_ref(event);
        e->kernel = k;
        if (config)
                e->config = *config;
        if (e->config.failure_memory_usec == 0)
                e->config.failure_memory_usec = ENGINE_FAILURE_MEMORY_USEC_DEFAULT;
        if (e->config.request_timeout_usec == 0)
                e->config.request_timeout_usec = ENGINE_REQUEST_TIMEOUT_USEC_DEFAULT;
        if (e->config.decompress_max == 0)
                e->config.decompress_max = DECOMPRESS_MAX_DEFAULT;

        r = timeline_new(&e->timeline, TIMELINE_MAX);
        if (r < 0)
                return r;
        r = hashmap_new(&e->modules, &string_hash_ops);
        if (r < 0)
                return r;
        r = hashmap_new(&e->by_inode, &module_inode_hash_ops);
        if (r < 0)
                return r;
        r = loader_new(&e->loader, event, k, e->config.workers, module_settle_job, e);
        if (r < 0)
                return r;
        r = sd_event_add_time(event, &e->timeout_source, CLOCK_MONOTONIC, USEC_INFINITY, 0,
                request_on_timeout, e);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(e->timeout_source, SD_EVENT_OFF);
        (void) sd_event_source_set_description(e->timeout_source, "engine-timeout");
        r = sd_event_add_time(
                event, &e->poll_source, CLOCK_MONOTONIC, USEC_INFINITY, 0, module_settle_polled, e);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(e->poll_source, SD_EVENT_OFF);
        (void) sd_event_source_set_description(e->poll_source, "engine-poll");
        *ret = TAKE_PTR(e);
        return 0;
}

Engine *engine_free(Engine *e)
{
        Module *m;
        Request *r;

        if (!e)
                return NULL;
        /* Workers first: no completion may arrive for a freed module. */
        e->loader = loader_free(e->loader);
        while ((r = e->pending.head))
                request_free(r);
        while ((r = e->orphans.head))
                request_free(r);
        while ((m = hashmap_steal_first(e->modules)))
                module_free(m);
        hashmap_free(e->modules);
        hashmap_free(e->by_inode);
        sd_event_source_disable_unref(e->timeout_source);
        sd_event_source_disable_unref(e->poll_source);
        sd_event_unref(e->event);
        timeline_free(e->timeline);
        free(e);
        return NULL;
}

static int on_scanned(const char *name, KernelModuleState state, void *userdata)
{
        module_settle_event(userdata, name, state);
        return 0;
}

int engine_start(Engine *e)
{
        int r;

        r = kernel_compression(e->kernel, &e->kernel_compression);
        if (r < 0)
                return r;
        return kernel_scan_modules(e->kernel, on_scanned, e);
}

int engine_rescan(Engine *e)
{
        return module_settle_rescan(e);
}

void engine_module_event(Engine *e, const char *name, KernelModuleState state)
{
        module_settle_event(e, name, state);
}

int engine_submit(Engine *e, Plan *plan, uint64_t generation, RequestDoneFunc done, void *userdata,
        Request **ret)
{
        return engine_submit_full(e, plan, generation, 0, done, userdata, ret);
}

int engine_submit_full(Engine *e, Plan *plan, uint64_t generation, unsigned flags,
        RequestDoneFunc done, void *userdata, Request **ret)
{
        if (generation != e->generation) {
                /* The tree or configuration changed: remembered failures are stale (expiry
                 * compares generations), and so are the files of modules that are not being
                 * loaded from them right now. */
                e->generation = generation;
                module_unindex_idle(e);
        }
        return request_submit(e, plan, flags, done, userdata, ret);
}

Timeline *engine_timeline(const Engine *e)
{
        return e->timeline;
}

EngineStats engine_stats(const Engine *e)
{
        return e->stats;
}

usec_t engine_request_timeout(const Engine *e)
{
        return e->config.request_timeout_usec;
}

unsigned engine_n_in_flight(const Engine *e)
{
        return e->n_in_flight;
}

unsigned engine_n_waiting(const Engine *e)
{
        return e->n_waiting;
}

unsigned engine_n_requests(const Engine *e)
{
        return e->n_requests;
}

void engine_foreach_module(const Engine *e, bool in_flight_only, ModuleVisitFunc f, void *userdata)
{
        usec_t now = now_usec();
        size_t i = 0;
        void *v;

        while (hashmap_iterate(e->modules, &i, &v, NULL)) {
                const Module *m = v;
                ModuleInfo info;

                if (in_flight_only && m->state != MODULE_LOADING && m->n_waiters == 0)
                        continue;
                info = (ModuleInfo){
                        .name = m->name,
                        .path = m->path,
                        .dev = m->key.dev,
                        .ino = m->key.ino,
                        .state = module_state_to_string(m->state),
                        .stage = m->state != MODULE_LOADING ? NULL
                                : m->job ? load_stage_to_string(load_job_stage(m->job))
                                         : load_stage_to_string(m->stage),
                        .waiters = m->n_waiters,
                        .age = now - m->since,
                        .error = m->error,
                        .requests = m->requests,
                        .coalesced = m->coalesced,
                        .loads = m->loads,
                        .failures = m->failures,
                        .answered_from_memory = m->answered_from_memory,
                };
                f(&info, userdata);
        }
}

void engine_set_event_func(Engine *e, EngineEventFunc f, void *userdata)
{
        e->event_func = f;
        e->event_userdata = userdata;
}
