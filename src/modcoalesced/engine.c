/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* engine.c — the module table and the requests that wait on it.
 *
 * A Module's state machine (the kernel's view, plus what we are doing about it):
 *
 *   ABSENT ──request──▶ LOADING ──ok──────────▶ LIVE ──remove uevent──▶ ABSENT
 *                         │  └──EEXIST/EBUSY──▶ as /sys/module says: LIVE, COMING, GOING, or
 *                         │                     nothing there (the init's own errno): FAILED
 *                         └──error────────────▶ FAILED ──window over / tree changed──▶ ABSENT
 *   COMING, GOING: someone else (the kernel, another loader) is loading or unloading it: wait,
 *   never insert; a poll of /sys/module (and uevents) tell when it is LIVE or gone (once GOING
 *   is gone, the waiters load again).
 *
 * LOADING without a job is the "waiting-deps" marker: a request will load this module once its
 * dependencies are in; any other request that reaches the module first starts the load itself.
 *
 * Ownership: the engine owns Modules (kept for the engine's lifetime: their count is bounded by
 * the module tree) and Requests (until `done` returns or request_cancel()). A Module owns its
 * running LoadJob's pointer only as a reference; the Loader owns the job until completion. A
 * Request waits on at most one Module at a time, linked into that Module's waiter list, and is
 * in the engine's pending list (arrival order, so deadline order) until it finishes. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "decompress.h"
#include "engine.h"
#include "hashmap.h"
#include "list.h"
#include "log.h"

typedef enum ModuleState {
        MODULE_ABSENT,
        MODULE_LIVE,
        MODULE_COMING,
        MODULE_GOING,
        MODULE_LOADING,
        MODULE_FAILED,
        _MODULE_STATE_MAX,
} ModuleState;

static const char *const module_state_names[_MODULE_STATE_MAX] = {
        [MODULE_ABSENT] = "absent",
        [MODULE_LIVE] = "live",
        [MODULE_COMING] = "coming",
        [MODULE_GOING] = "going",
        [MODULE_LOADING] = "loading",
        [MODULE_FAILED] = "failed",
};

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

typedef struct InodeKey {
        dev_t dev;
        ino_t ino;
} InodeKey;

struct Module {
        Engine *engine;
        char *name;
        char *path; /* of the current or last load made here */
        char *params; /* likewise */
        InodeKey key;
        bool indexed; /* key is in engine->by_inode, pointing here */
        ModuleState state;
        LoadStage stage; /* while LOADING */
        LoadJob *job; /* while LOADING, once the load was handed to the loader */
        usec_t since;
        int error;
        usec_t failed_at;
        uint64_t failed_generation;
        unsigned n_walkers; /* requests holding the waiting-deps marker */
        unsigned n_joined; /* waiters that joined the current load */
        LIST_HEAD(Request) waiters;
        unsigned n_waiters;
        bool polled;
        bool scanned; /* engine_rescan(): seen in /sys/module this time */
        LIST_FIELDS(Module, polled);
        uint64_t requests, coalesced, loads, failures, answered_from_memory;
};

struct Request {
        Engine *engine;
        Plan *plan;
        Module *waiting_on;
        RequestDoneFunc done;
        void *userdata;
        LIST_FIELDS(Request, wait);
        LIST_FIELDS(Request, pending);
        usec_t started;
        usec_t module_started;
        uint32_t index;
        int32_t error;
        bool in_pending;
        bool orphan; /* answered (timed out), carrying on with its plan for nobody */
        unsigned flags; /* ENGINE_REQUEST_* */
        uint64_t failed_groups; /* plan groups that lost a hard module */
        const char *failed_module; /* points into plan */
        RequestResult results[];
};

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
};

static void engine_emit(
        Engine *e, EngineEventType type, const char *module, int error, Coalesced coalesced)
{
        if (e->event_func)
                e->event_func(&(EngineEvent){ .type = type,
                                      .module = module,
                                      .error = error,
                                      .coalesced = coalesced },
                        e->event_userdata);
}

static uint64_t inode_hash(const void *key, uint64_t seed)
{
        return hash_bytes(key, sizeof(InodeKey), seed);
}

static int inode_compare(const void *a, const void *b)
{
        const InodeKey *x = a, *y = b;

        if (x->dev != y->dev)
                return x->dev < y->dev ? -1 : 1;
        if (x->ino != y->ino)
                return x->ino < y->ino ? -1 : 1;
        return 0;
}

static const HashOps inode_hash_ops = {
        .hash = inode_hash,
        .compare = inode_compare,
};

static void request_advance(Request *r);
static void request_fail_module(Request *r, const PlanModule *pm, int error);
static void request_finish(Request *r, int error, const char *module);
static void engine_arm_timeout(Engine *e);
static void engine_arm_poll(Engine *e);
static void on_job_done(LoadJob *j, void *userdata);

/* -- modules ----------------------------------------------------------------------------------- */

static Module *module_free(Module *m)
{
        if (!m)
                return NULL;
        free(m->name);
        free(m->path);
        free(m->params);
        free(m);
        return NULL;
}

static Module *engine_module(Engine *e, const char *name, bool create)
{
        Module *m = hashmap_get(e->modules, name);

        if (m || !create)
                return m;
        m = calloc(1, sizeof(*m));
        if (!m)
                return NULL;
        m->engine = e;
        m->name = strdup(name);
        if (!m->name || hashmap_put(e->modules, m->name, m) < 0)
                return module_free(m);
        m->since = now_usec();
        return m;
}

static void module_unindex(Module *m)
{
        if (!m->indexed)
                return;
        if (hashmap_get(m->engine->by_inode, &m->key) == m)
                hashmap_remove(m->engine->by_inode, &m->key);
        m->indexed = false;
}

static void module_index(Module *m, dev_t dev, ino_t ino)
{
        Module *other;

        module_unindex(m);
        if (ino == 0)
                return;
        m->key = (InodeKey){ .dev = dev, .ino = ino };
        other = hashmap_get(m->engine->by_inode, &m->key);
        if (other) {
                /* The file's previous user is no longer loading or live from it. */
                hashmap_remove(m->engine->by_inode, &m->key);
                other->indexed = false;
        }
        m->indexed = hashmap_put(m->engine->by_inode, &m->key, m) >= 0;
}

static void module_set_state(Module *m, ModuleState s)
{
        Engine *e = m->engine;

        if (m->state == s)
                return;
        if (m->state == MODULE_LOADING)
                e->n_in_flight--;
        if (s == MODULE_LOADING)
                e->n_in_flight++;
        if (m->polled && s != MODULE_COMING && s != MODULE_GOING) {
                LIST_REMOVE(polled, e->polled, m);
                m->polled = false;
        }
        m->state = s;
        m->since = now_usec();
}

static void module_poll(Module *m)
{
        Engine *e = m->engine;

        if (m->polled)
                return;
        m->polled = true;
        LIST_APPEND(polled, e->polled, m);
        engine_arm_poll(e);
}

/* A remembered failure expires after the window, or when the module tree or configuration
 * changed (the resolver's generation moved on). */
static void module_expire_failure(Module *m)
{
        Engine *e = m->engine;

        if (m->state != MODULE_FAILED)
                return;
        if (m->failed_generation != e->generation ||
                (e->config.failure_memory_usec != USEC_INFINITY &&
                        now_usec() - m->failed_at >= e->config.failure_memory_usec))
                module_set_state(m, MODULE_ABSENT);
}

static void module_wait(Module *m, Request *r)
{
        r->waiting_on = m;
        r->module_started = now_usec();
        LIST_APPEND(wait, m->waiters, r);
        m->n_waiters++;
        m->engine->n_waiting++;
}

static void module_unwait(Request *r)
{
        Module *m = r->waiting_on;

        if (!m)
                return;
        LIST_REMOVE(wait, m->waiters, r);
        m->n_waiters--;
        m->engine->n_waiting--;
        r->waiting_on = NULL;
}

/* Hands every waiter on to its next step. The list is detached first: advancing a request can
 * make it wait on this module again (a new load once a going instance is gone) or on another
 * one. */
static void module_release_waiters(Module *m, Outcome outcome, int error)
{
        LIST_HEAD(Request) list = { m->waiters.head, m->waiters.tail };
        usec_t now = now_usec();
        Request *r;

        m->waiters.head = m->waiters.tail = NULL;
        m->engine->n_waiting -= m->n_waiters;
        m->n_waiters = 0;
        m->n_joined = 0;

        while ((r = LIST_POP(wait, list))) {
                const PlanModule *pm = &r->plan->modules[r->index];
                RequestResult *res = &r->results[r->index];

                r->waiting_on = NULL;
                if (outcome == OUTCOME_PENDING) {
                        /* Not settled: the module is gone; look at it again. */
                        request_advance(r);
                        continue;
                }
                res->waited = (uint32_t) (now - r->module_started);
                res->outcome = outcome;
                res->error = error;
                if (outcome == OUTCOME_FAILED)
                        request_fail_module(r, pm, error);
                r->index++;
                request_advance(r);
        }
}

static void module_set_live(Module *m, Outcome outcome)
{
        module_set_state(m, MODULE_LIVE);
        module_release_waiters(m, outcome, 0);
}

/* urgent: the kernel waits for this load (loader.h). */
static int module_start_load(Module *m, const PlanModule *pm, bool urgent)
{
        Engine *e = m->engine;
        LoadJob *j;
        int r;

        r = load_job_new(&j, pm->name, pm->path, pm->parameters, pm->install_command);
        if (r < 0)
                return r;
        j->kernel_compression = e->kernel_compression;
        j->decompress_max = e->config.decompress_max;
        j->urgent = urgent;
        j->userdata = m;
        if (strcmp(m->path ?: "", pm->path) != 0 || strcmp(m->params ?: "", pm->parameters) != 0) {
                char *path = strdup(pm->path), *params = strdup(pm->parameters);

                if (!path || !params) {
                        free(path);
                        free(params);
                        load_job_free(j);
                        return -ENOMEM;
                }
                free(m->path);
                free(m->params);
                m->path = path;
                m->params = params;
        }
        r = loader_submit(e->loader, j);
        if (r < 0) {
                load_job_free(j);
                return r;
        }
        module_index(m, pm->dev, pm->ino);
        m->job = j;
        m->n_joined = 0;
        module_set_state(m, MODULE_LOADING);
        m->stage = LOAD_STAGE_QUEUED;
        m->loads++;
        e->stats.loads++;
        if (pm->install_command)
                e->stats.install_commands++;
        engine_emit(e, ENGINE_EVENT_LOAD, m->name, 0, COALESCED_NO);
        log_debug("Loading %s from %s.", pm->name, pm->path);
        return 0;
}

/* Failures that describe this moment (memory, file descriptors, an interrupted call), not the
 * module: its waiters get the error, but it is not remembered and the next request tries again.
 * At boot a transient ENOMEM (vmalloc space) is exactly what this daemon exists to relieve. */
static bool error_is_transient(int error)
{
        return error == -EINTR || error == -EAGAIN || error == -ENOMEM || error == -EMFILE ||
                error == -ENFILE;
}

/* The module's state now that its load returned. The kernel call answers EEXIST when an instance
 * of that name is live and EBUSY when one is going away (or came to nothing while this load
 * waited for it), but a module's init may return any errno, these two included (EDAC drivers say
 * EBUSY when the firmware owns the hardware), and then nothing of it is left. /sys/module tells
 * the two apart; ABSENT means the load failed with its error. */
static KernelModuleState job_state(Engine *e, const LoadJob *j)
{
        KernelModuleState ks;

        if (j->error == 0)
                return KERNEL_MODULE_LIVE;
        if ((j->error != -EEXIST && j->error != -EBUSY) || j->failed_stage != LOAD_STAGE_LOADING ||
                kernel_module_state(e->kernel, j->name, &ks) < 0)
                return KERNEL_MODULE_ABSENT;
        return ks;
}

static void on_job_done(LoadJob *j, void *userdata)
{
        Engine *e = userdata;
        Module *m = j->userdata;
        int error = j->error;
        KernelModuleState ks = job_state(e, j);

        m->job = NULL;
        engine_emit(e, ENGINE_EVENT_RESULT, m->name, ks == KERNEL_MODULE_LIVE ? 0 : error,
                COALESCED_NO);
        e->stats.bytes_read += j->bytes_read;
        e->stats.bytes_decompressed += j->bytes_decompressed;
        e->stats.bytes_not_read += j->file_size * m->n_joined;
        if (j->fell_back)
                e->stats.fallbacks++;

        if (ks == KERNEL_MODULE_LIVE) {
                /* Success: the module is there, whoever put it there. */
                if (error == 0)
                        e->stats.loads_ok++;
                else
                        e->stats.loads_eexist++;
                log_debug("Loaded %s (%s) in %" PRIu64 " us.", m->name,
                        load_method_to_string(j->method), j->finished - j->started);
                load_job_free(j);
                module_set_live(m, error == 0 ? OUTCOME_LOADED : OUTCOME_ALREADY_LOADED);
                return;
        }
        if (ks == KERNEL_MODULE_COMING || ks == KERNEL_MODULE_GOING) {
                /* Another instance is coming up or going away: wait for it as for any other
                 * loader's, never load beside it, and never answer EBUSY while one could wait
                 * (upstream reverted exactly that). Once a going one is gone, load again. */
                if (ks == KERNEL_MODULE_GOING && error == -EBUSY)
                        e->stats.busy_retries++;
                load_job_free(j);
                module_set_state(m, ks == KERNEL_MODULE_COMING ? MODULE_COMING : MODULE_GOING);
                module_poll(m);
                return;
        }

        e->stats.loads_failed++;
        switch (j->failed_stage) {
        case LOAD_STAGE_DECOMPRESSING:
                e->stats.failed_decompressing++;
                break;
        case LOAD_STAGE_LOADING:
                e->stats.failed_loading++;
                break;
        case LOAD_STAGE_INSTALL:
                e->stats.failed_install++;
                break;
        default:
                e->stats.failed_reading++;
                break;
        }
        log_debug_errno(error, "Loading %s failed while %s: %m", m->name,
                load_stage_to_string(j->failed_stage));
        load_job_free(j);
        m->failures++;
        m->error = error;
        m->failed_at = now_usec();
        m->failed_generation = e->generation;
        module_unindex(m);
        module_set_state(m, error_is_transient(error) ? MODULE_ABSENT : MODULE_FAILED);
        module_release_waiters(m, OUTCOME_FAILED, error);
}

/* -- requests ---------------------------------------------------------------------------------- */

static void request_unmark(Request *r, size_t i)
{
        Module *m;

        if (!r->results[i].marked)
                return;
        r->results[i].marked = false;
        m = hashmap_get(r->engine->modules, r->plan->modules[i].name);
        if (!m || m->n_walkers == 0)
                return;
        if (--m->n_walkers == 0 && m->state == MODULE_LOADING && !m->job)
                module_set_state(m, MODULE_ABSENT);
}

/* Targets that this request will load after their dependencies show up as in flight
 * ("waiting-deps") meanwhile, and a request for the same target joins them when it gets there. */
static void request_mark_targets(Request *r)
{
        for (size_t i = 1; i < r->plan->n_modules; i++) {
                const PlanModule *pm = &r->plan->modules[i];
                Module *m;

                if (!pm->target)
                        continue;
                m = engine_module(r->engine, pm->name, true);
                if (!m)
                        continue; /* Only visibility is lost. */
                module_expire_failure(m);
                if (m->state != MODULE_ABSENT && !(m->state == MODULE_LOADING && !m->job))
                        continue;
                module_set_state(m, MODULE_LOADING);
                m->stage = LOAD_STAGE_WAITING_DEPS;
                m->n_walkers++;
                r->results[i].marked = true;
        }
}

/* Hand-made plans (tests, tools) may leave the groups empty: one group then. */
static uint64_t plan_module_groups(const PlanModule *pm)
{
        return pm->groups ?: 1;
}

static uint64_t plan_module_hard_groups(const PlanModule *pm)
{
        return pm->soft ? 0 : pm->hard_groups ?: plan_module_groups(pm);
}

/* A failed hard module fails the matches that need it, and the request reports the first such
 * failure; the other matches go on (udev and modprobe -a load each match on its own). Softdep
 * failures are ignored. */
static void request_fail_module(Request *r, const PlanModule *pm, int error)
{
        uint64_t hard = plan_module_hard_groups(pm);

        if (hard == 0)
                return;
        r->failed_groups |= hard;
        if (r->error == 0) {
                r->error = error;
                r->failed_module = pm->name;
        }
}

/* Whether the request may wait for m's load. The kernel's may not once that load is in the
 * kernel (or running its install command): the request may come from inside that very init,
 * which waits for its answer. Before that, the kernel's request makes the load urgent, since
 * the init that asks may hold the only free worker. */
static bool request_may_join(Request *r, Module *m)
{
        LoadStage stage;

        if (!(r->flags & ENGINE_REQUEST_FROM_KERNEL))
                return true;
        stage = load_job_stage(m->job);
        if (stage == LOAD_STAGE_LOADING || stage == LOAD_STAGE_INSTALL)
                return false;
        loader_expedite(r->engine->loader, m->job);
        return true;
}

static bool params_match(const Module *m, const PlanModule *pm)
{
        return pm->parameters[0] == '\0' || strcmp(m->params ?: "", pm->parameters) == 0;
}

static void request_advance(Request *r)
{
        Engine *e = r->engine;

        while (r->index < r->plan->n_modules) {
                const PlanModule *pm = &r->plan->modules[r->index];
                RequestResult *res = &r->results[r->index];
                Module *m, *other;
                int k;

                request_unmark(r, r->index);
                if ((plan_module_groups(pm) & ~r->failed_groups) == 0) {
                        /* Every match that needs it lost a hard module before it. */
                        res->outcome = OUTCOME_SKIPPED;
                        r->index++;
                        continue;
                }
                m = engine_module(e, pm->name, true);
                if (!m) {
                        res->outcome = OUTCOME_FAILED;
                        res->error = -ENOMEM;
                        return request_finish(r, -ENOMEM, pm->name);
                }
                if (res->outcome == OUTCOME_PENDING && !res->counted) {
                        res->counted = true;
                        m->requests++;
                        e->stats.module_requests++;
                }
                module_expire_failure(m);

                switch (m->state) {
                case MODULE_LIVE:
                        res->outcome = OUTCOME_ALREADY_LOADED;
                        res->params_applied = params_match(m, pm);
                        e->stats.answered_live++;
                        r->index++;
                        continue;

                case MODULE_FAILED:
                        res->outcome = OUTCOME_FAILED;
                        res->error = m->error;
                        res->from_memory = true;
                        m->answered_from_memory++;
                        e->stats.answered_failure_cache++;
                        request_fail_module(r, pm, m->error);
                        r->index++;
                        continue;

                case MODULE_LOADING:
                        if (!m->job)
                                break; /* waiting-deps: whoever gets here first loads it */
                        if (!request_may_join(r, m)) {
                                res->outcome = OUTCOME_IN_PROGRESS;
                                r->index++;
                                continue;
                        }
                        res->coalesced = COALESCED_BY_NAME;
                        res->params_applied = params_match(m, pm);
                        m->coalesced++;
                        m->n_joined++;
                        e->stats.coalesced_by_name++;
                        engine_emit(e, ENGINE_EVENT_COALESCE, m->name, 0, COALESCED_BY_NAME);
                        module_wait(m, r);
                        return;

                case MODULE_COMING:
                        if (r->flags & ENGINE_REQUEST_FROM_KERNEL) {
                                res->outcome = OUTCOME_IN_PROGRESS;
                                r->index++;
                                continue;
                        }
                        _fallthrough_;
                case MODULE_GOING:
                        res->params_applied = params_match(m, pm);
                        e->stats.waited_foreign++;
                        module_wait(m, r);
                        module_poll(m);
                        return;

                default:
                        break;
                }

                /* Nothing under this name: the same file may be in use under another name. */
                other = pm->ino != 0 ? hashmap_get(e->by_inode, &(InodeKey){ pm->dev, pm->ino })
                                     : NULL;
                if (other && other != m && other->state == MODULE_LIVE) {
                        res->outcome = OUTCOME_ALREADY_LOADED;
                        res->coalesced = COALESCED_BY_INODE;
                        res->params_applied = params_match(other, pm);
                        e->stats.answered_live++;
                        r->index++;
                        continue;
                }
                if (other && other != m && other->state == MODULE_LOADING && other->job) {
                        if (!request_may_join(r, other)) {
                                res->outcome = OUTCOME_IN_PROGRESS;
                                r->index++;
                                continue;
                        }
                        res->coalesced = COALESCED_BY_INODE;
                        res->params_applied = params_match(other, pm);
                        other->coalesced++;
                        other->n_joined++;
                        e->stats.coalesced_by_inode++;
                        engine_emit(e, ENGINE_EVENT_COALESCE, other->name, 0, COALESCED_BY_INODE);
                        module_wait(other, r);
                        return;
                }

                k = module_start_load(m, pm, r->flags & ENGINE_REQUEST_FROM_KERNEL);
                if (k < 0) {
                        res->outcome = OUTCOME_FAILED;
                        res->error = k;
                        request_fail_module(r, pm, k);
                        r->index++;
                        continue;
                }
                res->params_applied = true;
                module_wait(m, r);
                return;
        }
        request_finish(r, r->error, r->failed_module);
}

static void request_free(Request *r)
{
        Engine *e = r->engine;

        module_unwait(r);
        for (size_t i = r->index; i < r->plan->n_modules; i++)
                request_unmark(r, i);
        if (r->in_pending) {
                LIST_REMOVE(pending, e->pending, r);
                engine_arm_timeout(e);
        }
        if (r->orphan) {
                LIST_REMOVE(pending, e->orphans, r);
                e->n_orphans--;
        }
        e->n_requests--;
        plan_unref(r->plan);
        free(r);
}

static void request_finish(Request *r, int error, const char *module)
{
        Engine *e = r->engine;

        if (r->orphan) {
                /* Its client had its answer when it timed out. */
                request_free(r);
                return;
        }
        r->error = error;
        r->failed_module = module;
        if (error < 0) {
                for (size_t i = r->index + 1; i < r->plan->n_modules; i++)
                        if (r->results[i].outcome == OUTCOME_PENDING)
                                r->results[i].outcome = OUTCOME_SKIPPED;
                e->stats.requests_failed++;
        }
        e->stats.requests_done++;
        module_unwait(r);
        if (r->done)
                r->done(r, r->userdata);
        request_free(r);
}

int engine_submit(Engine *e, Plan *plan, uint64_t generation, RequestDoneFunc done, void *userdata,
        Request **ret)
{
        return engine_submit_full(e, plan, generation, 0, done, userdata, ret);
}

int engine_submit_full(Engine *e, Plan *plan, uint64_t generation, unsigned flags,
        RequestDoneFunc done, void *userdata, Request **ret)
{
        uint64_t before;
        Request *r;

        if (generation != e->generation) {
                /* The tree or configuration changed: remembered failures are stale (expiry
                 * compares generations), and so are the files of modules that are not being
                 * loaded from them right now: after depmod or an upgrade an inode number may
                 * belong to another module's file. */
                size_t i = 0;
                void *v;

                e->generation = generation;
                while (hashmap_iterate(e->modules, &i, &v, NULL))
                        if (((Module *) v)->state != MODULE_LOADING)
                                module_unindex(v);
        }

        r = calloc(1, sizeof(Request) + plan->n_modules * sizeof(RequestResult));
        if (!r)
                return -ENOMEM;
        r->engine = e;
        r->flags = flags;
        r->plan = plan_ref(plan);
        r->done = done;
        r->userdata = userdata;
        r->started = now_usec();
        e->n_requests++;
        e->stats.requests++;

        /* request_advance() may finish and free r: the done counter tells. A request answered
         * at once (every module live) never touches the timeout list or its timer. */
        before = e->stats.requests_done;
        request_mark_targets(r);
        request_advance(r);
        if (e->stats.requests_done != before) {
                if (ret)
                        *ret = NULL;
                return 1;
        }
        LIST_APPEND(pending, e->pending, r);
        r->in_pending = true;
        if (e->pending.head == r)
                engine_arm_timeout(e);
        if (ret)
                *ret = r;
        return 0;
}

void request_cancel(Request *r)
{
        if (!r)
                return;
        r->engine->stats.requests_cancelled++;
        request_free(r);
}

const Plan *request_plan(const Request *r)
{
        return r->plan;
}

const RequestResult *request_result(const Request *r, size_t i)
{
        return i < r->plan->n_modules ? &r->results[i] : NULL;
}

int request_error(const Request *r, const char **ret_module)
{
        if (ret_module)
                *ret_module = r->failed_module;
        return r->error;
}

usec_t request_age(const Request *r)
{
        return now_usec() - r->started;
}

/* -- timers ------------------------------------------------------------------------------------ */

/* Whether a timed-out request should carry on with its plan once its client has the answer:
 * the modules after the one that took too long are still wanted (the devices are there, and
 * every other request for the same device timed out alike), and nobody else would load them.
 * One orphan per plan is enough; their number is bounded. */
static bool request_should_carry_on(Request *r)
{
        Engine *e = r->engine;
        Request *o;

        if (r->index + 1 >= r->plan->n_modules || e->n_orphans >= ENGINE_ORPHANS_MAX)
                return false;
        LIST_FOREACH (pending, o, e->orphans)
                if (o->plan == r->plan)
                        return false;
        return true;
}

/* Answers the client "timed out" and keeps the request going, waiting where it waits. */
static void request_orphan(Request *r)
{
        Engine *e = r->engine;
        RequestResult *res = &r->results[r->index];

        LIST_REMOVE(pending, e->pending, r);
        r->in_pending = false;
        r->error = -ETIME;
        r->failed_module = r->plan->modules[r->index].name;
        e->stats.requests_failed++;
        e->stats.requests_done++;
        if (r->done)
                r->done(r, r->userdata);
        r->done = NULL;
        r->userdata = NULL;
        r->error = 0;
        r->failed_module = NULL;
        res->outcome = OUTCOME_PENDING;
        res->error = 0;
        r->orphan = true;
        LIST_APPEND(pending, e->orphans, r);
        e->n_orphans++;
        e->stats.requests_carried_on++;
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
        Engine *e = userdata;
        usec_t now = now_usec();
        Request *r;

        /* Every request has the same timeout, so the pending list is in deadline order. */
        while ((r = e->pending.head) && r->started + e->config.request_timeout_usec <= now) {
                const PlanModule *pm = &r->plan->modules[r->index];
                RequestResult *res = &r->results[r->index];

                res->outcome = OUTCOME_TIMED_OUT;
                res->error = -ETIME;
                res->waited = (uint32_t) (now - r->module_started);
                e->stats.requests_timed_out++;
                log_debug("Request for %s timed out after %" PRIu64 " ms.", pm->name,
                        (now - r->started) / USEC_PER_MSEC);
                if (request_should_carry_on(r)) {
                        request_orphan(r);
                        continue;
                }
                module_unwait(r);
                request_finish(r, -ETIME, pm->name);
        }
        engine_arm_timeout(e);
        return 0;
}

static void engine_arm_timeout(Engine *e)
{
        if (!e->timeout_source)
                return;
        if (!e->pending.head) {
                (void) sd_event_source_set_enabled(e->timeout_source, SD_EVENT_OFF);
                return;
        }
        (void) sd_event_source_set_time(
                e->timeout_source, e->pending.head->started + e->config.request_timeout_usec);
        (void) sd_event_source_set_enabled(e->timeout_source, SD_EVENT_ONESHOT);
}

static int on_poll(sd_event_source *s, uint64_t usec, void *userdata)
{
        Engine *e = userdata;
        Module *m, *next;

        for (m = e->polled.head; m; m = next) {
                KernelModuleState ks;

                next = m->polled_next;
                if (kernel_module_state(e->kernel, m->name, &ks) < 0)
                        continue; /* Unreadable while going away: look again later. */
                if (ks == KERNEL_MODULE_LIVE) {
                        module_set_live(m, OUTCOME_ALREADY_LOADED);
                        next = e->polled.head; /* releasing waiters may change the list */
                } else if (ks == KERNEL_MODULE_ABSENT) {
                        /* Someone else's load failed, or the old instance is gone: load it. */
                        module_set_state(m, MODULE_ABSENT);
                        module_release_waiters(m, OUTCOME_PENDING, 0);
                        next = e->polled.head;
                }
        }
        engine_arm_poll(e);
        return 0;
}

static void engine_arm_poll(Engine *e)
{
        if (!e->poll_source)
                return;
        if (LIST_IS_EMPTY(e->polled)) {
                (void) sd_event_source_set_enabled(e->poll_source, SD_EVENT_OFF);
                return;
        }
        if (sd_event_source_get_enabled(e->poll_source, NULL) > 0)
                return;
        (void) sd_event_source_set_time(e->poll_source, now_usec() + ENGINE_FOREIGN_POLL_USEC);
        (void) sd_event_source_set_enabled(e->poll_source, SD_EVENT_ONESHOT);
}

/* -- the engine -------------------------------------------------------------------------------- */

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

        r = hashmap_new(&e->modules, &string_hash_ops);
        if (r < 0)
                return r;
        r = hashmap_new(&e->by_inode, &inode_hash_ops);
        if (r < 0)
                return r;
        r = loader_new(&e->loader, event, k, e->config.workers, on_job_done, e);
        if (r < 0)
                return r;
        r = sd_event_add_time(
                event, &e->timeout_source, CLOCK_MONOTONIC, USEC_INFINITY, 0, on_timeout, e);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(e->timeout_source, SD_EVENT_OFF);
        (void) sd_event_source_set_description(e->timeout_source, "engine-timeout");
        r = sd_event_add_time(
                event, &e->poll_source, CLOCK_MONOTONIC, USEC_INFINITY, 0, on_poll, e);
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
        free(e);
        return NULL;
}

#define IN_SET_PRESENT(s) ((s) == MODULE_LIVE || (s) == MODULE_COMING || (s) == MODULE_GOING)

static int on_scanned(const char *name, KernelModuleState state, void *userdata)
{
        engine_module_event(userdata, name, state);
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

static int on_rescanned(const char *name, KernelModuleState state, void *userdata)
{
        Engine *e = userdata;
        Module *m;

        engine_module_event(e, name, state);
        m = engine_module(e, name, false);
        if (m)
                m->scanned = true;
        return 0;
}

int engine_rescan(Engine *e)
{
        size_t i = 0;
        void *v;
        int r;

        while (hashmap_iterate(e->modules, &i, &v, NULL))
                ((Module *) v)->scanned = false;
        r = kernel_scan_modules(e->kernel, on_rescanned, e);
        if (r < 0)
                return r;
        /* What the table holds as present and /sys/module does not: its "remove" was lost.
         * Collected first, since an event may change the table. */
        size_t n = 0, n_gone = 0;
        i = 0;
        while (hashmap_iterate(e->modules, &i, &v, NULL))
                n++;
        _cleanup_free_ char **gone = calloc(n + 1, sizeof(char *));
        if (!gone)
                return -ENOMEM;
        i = 0;
        while (hashmap_iterate(e->modules, &i, &v, NULL)) {
                Module *m = v;

                if (!m->scanned && IN_SET_PRESENT(m->state))
                        gone[n_gone++] = m->name;
        }
        for (size_t j = 0; j < n_gone; j++)
                engine_module_event(e, gone[j], KERNEL_MODULE_ABSENT);
        return 0;
}

void engine_module_event(Engine *e, const char *name, KernelModuleState state)
{
        Module *m = engine_module(e, name, state != KERNEL_MODULE_ABSENT);

        if (!m || m->state == MODULE_LOADING)
                return; /* Our own load reports for itself. */
        switch (state) {
        case KERNEL_MODULE_LIVE:
                module_set_live(m, OUTCOME_ALREADY_LOADED);
                break;
        case KERNEL_MODULE_COMING:
                module_set_state(m, MODULE_COMING);
                break;
        case KERNEL_MODULE_GOING:
                module_set_state(m, MODULE_GOING);
                break;
        case KERNEL_MODULE_ABSENT:
                if (m->state == MODULE_FAILED)
                        break; /* Keep the failure memory. */
                module_unindex(m);
                module_set_state(m, MODULE_ABSENT);
                if (m->n_waiters > 0)
                        module_release_waiters(m, OUTCOME_PENDING, 0);
                break;
        default:
                break;
        }
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
                        .state = module_state_names[m->state],
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
