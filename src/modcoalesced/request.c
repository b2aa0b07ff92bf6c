/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* request.c — see request.h. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "log.h"
#include "request.h"
#include "request-wait.h"

static void request_advance(Request *r);
static void request_finish(Request *r, int error, const char *module);
static void request_fail_module(Request *r, const PlanModule *pm, int error);
static void request_arm_timeout(Engine *e);

/* -- waiting on a module ----------------------------------------------------------------------- */

static void request_settle(Request *r, size_t i, Outcome outcome, int error, usec_t now)
{
        RequestResult *res = &r->results[i];

        res->waited = (uint32_t) (now - r->waits[i].since);
        res->outcome = outcome;
        res->error = error;
        if (outcome == OUTCOME_FAILED)
                request_fail_module(r, &r->plan->modules[i], error);
}

/* Hands every waiter on to its next steps. The list is detached first, and the requests advance
 * only once all of them have their outcome: advancing can make a request wait on this module
 * again (a new load once a going instance is gone) or on others, or end it. */
void request_release_waiters(Module *m, Outcome outcome, int error)
{
        LIST_HEAD(RequestWait) list = { m->waiters.head, m->waiters.tail };
        LIST_HEAD(Request) advance = {};
        usec_t now = now_usec();
        RequestWait *w;
        Request *r;

        m->waiters.head = m->waiters.tail = NULL;
        m->n_waiters = 0;
        m->n_joined = 0;

        while ((w = LIST_POP(wait, list))) {
                size_t i;

                r = w->request;
                i = (size_t) (w - r->waits);
                request_unwait_one(r, i, true);
                /* OUTCOME_PENDING: not settled, the module is gone; look at it again. */
                if (outcome != OUTCOME_PENDING)
                        request_settle(r, i, outcome, error, now);
                if (outcome == OUTCOME_FAILED && m->state == MODULE_FAILED)
                        request_hold_failure(r, i, m);
                if (!r->advancing) {
                        r->advancing = true;
                        LIST_APPEND(advance, advance, r);
                }
        }
        while ((r = LIST_POP(advance, advance))) {
                r->advancing = false;
                request_advance(r);
        }
}

void request_release_live(Module *m, Outcome outcome)
{
        module_set_state(m, MODULE_LIVE);
        request_release_waiters(m, outcome, 0);
}

/* -- walking the plan -------------------------------------------------------------------------- */

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

/* The kernel's request asked again after TimedOut waits for the module it names even while that
 * module's init runs: it waited before the init began, so it is not asking from inside it. Not
 * for the dependencies: a module's init may ask for a module that depends on it, and the answer
 * "in progress" for the asker itself is what keeps that from a deadlock. */
static bool request_waited_before(const Request *r, const PlanModule *pm)
{
        return (r->flags & ENGINE_REQUEST_WAITED_BEFORE) && pm->target;
}

/* Whether the request may wait for m's load. The kernel's may not once that module's init
 * runs (the kernel has it coming, or live and about to return) or its install command does: the
 * request may come from inside that very init, which waits for its answer. It may while the
 * load is in the kernel but the module not yet formed (the kernel still decompresses, links,
 * resolves symbols; no init runs): not waiting then would tell the kernel yes for a module that
 * may yet fail, and go on to load a module that needs this one's symbols before they exist
 * (the kernel fails it, "Unknown symbol"), where stock modprobe's finit_module() would wait for
 * the load in flight. A waiting kernel request makes the load urgent, since the init that asks
 * may hold the only free worker. */
static bool request_may_join(Request *r, Module *m, const PlanModule *pm)
{
        KernelModuleState ks;
        LoadStage stage;

        if (!(r->flags & ENGINE_REQUEST_FROM_KERNEL))
                return true;
        if (request_waited_before(r, pm)) {
                loader_expedite(r->engine->loader, m->job);
                return true;
        }
        stage = load_job_stage(m->job);
        if (stage == LOAD_STAGE_INSTALL)
                return false;
        if (stage == LOAD_STAGE_LOADING &&
                (kernel_module_state(r->engine->kernel, m->name, &ks) < 0 ||
                        ks == KERNEL_MODULE_COMING || ks == KERNEL_MODULE_LIVE))
                return false;
        loader_expedite(r->engine->loader, m->job);
        return true;
}

static bool params_match(const Module *m, const PlanModule *pm)
{
        return pm->parameters[0] == '\0' || strcmp(m->params ?: "", pm->parameters) == 0;
}

/* Module i joins m's load in flight (m is the module itself, or by inode another name of its
 * file), unless the kernel's request may not wait for it (request_may_join). */
static void request_join(Request *r, size_t i, Module *m, Coalesced by)
{
        RequestResult *res = &r->results[i];
        Engine *e = r->engine;

        if (!request_may_join(r, m, &r->plan->modules[i])) {
                res->outcome = OUTCOME_IN_PROGRESS;
                return;
        }
        res->coalesced = by;
        res->params_applied = params_match(m, &r->plan->modules[i]);
        m->coalesced++;
        m->n_joined++;
        if (by == COALESCED_BY_NAME)
                e->stats.coalesced_by_name++;
        else
                e->stats.coalesced_by_inode++;
        engine_emit(e, ENGINE_EVENT_COALESCE, m->name, 0, by);
        request_wait(m, r, i);
}

/* Whether module i may start: the modules it comes after (plan.h) have settled. */
static bool request_module_ready(const Request *r, size_t i)
{
        const PlanModule *pm = &r->plan->modules[i];

        if (!r->plan->ordered)
                return i == 0 || r->results[i - 1].outcome != OUTCOME_PENDING;
        for (uint32_t k = 0; k < pm->n_after; k++)
                if (r->results[pm->after[k]].outcome == OUTCOME_PENDING)
                        return false;
        return true;
}

/* One step for module i: settled at once (live, remembered failure, skipped…), or waited on
 * (a load joined or started, someone else's instance). -ENOMEM ends the request. */
static int request_step(Request *r, size_t i)
{
        const PlanModule *pm = &r->plan->modules[i];
        RequestResult *res = &r->results[i];
        Engine *e = r->engine;
        Module *m, *other;
        int k;

        request_unmark(r, i);
        if ((plan_module_groups(pm) & ~r->failed_groups) == 0) {
                /* Every match that needs it lost a hard module before it. */
                res->outcome = OUTCOME_SKIPPED;
                return 0;
        }
        m = module_get(e, pm->name, true);
        if (!m) {
                res->outcome = OUTCOME_FAILED;
                res->error = -ENOMEM;
                return -ENOMEM;
        }
        if (!res->counted) {
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
                return 0;

        case MODULE_FAILED:
                res->outcome = OUTCOME_FAILED;
                res->error = m->error;
                res->from_memory = true;
                m->answered_from_memory++;
                e->stats.answered_failure_cache++;
                request_hold_failure(r, i, m);
                request_fail_module(r, pm, m->error);
                return 0;

        case MODULE_LOADING:
                if (!m->job)
                        break; /* waiting-deps: whoever gets here first loads it */
                request_join(r, i, m, COALESCED_BY_NAME);
                return 0;

        case MODULE_COMING:
                if ((r->flags & ENGINE_REQUEST_FROM_KERNEL) && !request_waited_before(r, pm)) {
                        res->outcome = OUTCOME_IN_PROGRESS;
                        return 0;
                }
                _fallthrough_;
        case MODULE_GOING:
                res->params_applied = params_match(m, pm);
                e->stats.waited_foreign++;
                request_wait(m, r, i);
                module_poll(m);
                return 0;

        default:
                break;
        }

        /* Nothing under this name: the same file may be in use under another name. */
        other = pm->ino != 0 ? hashmap_get(e->by_inode, &(InodeKey){ pm->dev, pm->ino }) : NULL;
        if (other && other != m && other->state == MODULE_LIVE) {
                res->outcome = OUTCOME_ALREADY_LOADED;
                res->coalesced = COALESCED_BY_INODE;
                res->params_applied = params_match(other, pm);
                e->stats.answered_live++;
                return 0;
        }
        if (other && other != m && other->state == MODULE_LOADING && other->job) {
                request_join(r, i, other, COALESCED_BY_INODE);
                return 0;
        }

        k = module_start_load(m, pm, r->flags & ENGINE_REQUEST_FROM_KERNEL);
        if (k < 0) {
                res->outcome = OUTCOME_FAILED;
                res->error = k;
                request_fail_module(r, pm, k);
                return 0;
        }
        res->params_applied = true;
        request_wait(m, r, i);
        return 0;
}

/* Takes every step the plan allows now, in plan order: a module whose predecessors settle in
 * this pass is reached in this pass too, since they come before it. The request ends when every
 * module has settled. */
static void request_advance(Request *r)
{
        bool done = true;

        for (size_t i = 0; i < r->plan->n_modules; i++) {
                if (r->results[i].outcome != OUTCOME_PENDING || r->waits[i].module)
                        continue;
                if (!request_module_ready(r, i)) {
                        done = false;
                        continue;
                }
                if (request_step(r, i) < 0)
                        return request_finish(r, -ENOMEM, r->plan->modules[i].name);
                if (r->results[i].outcome == OUTCOME_PENDING)
                        done = false;
        }
        if (done && r->n_waiting == 0)
                request_finish(r, r->error, r->failed_module);
}

void request_free(Request *r)
{
        Engine *e = r->engine;

        request_unwait(r);
        request_drop_failures(r);
        for (size_t i = 0; i < r->plan->n_modules; i++)
                request_unmark(r, i);
        if (r->in_pending) {
                LIST_REMOVE(pending, e->pending, r);
                request_arm_timeout(e);
        }
        if (r->orphan) {
                LIST_REMOVE(pending, e->orphans, r);
                e->n_orphans--;
        }
        e->n_requests--;
        plan_unref(r->plan);
        free(r->waits);
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
        request_unwait(r);
        if (error < 0) {
                for (size_t i = 0; i < r->plan->n_modules; i++)
                        if (r->results[i].outcome == OUTCOME_PENDING)
                                r->results[i].outcome = OUTCOME_SKIPPED;
                e->stats.requests_failed++;
        }
        e->stats.requests_done++;
        if (r->done)
                r->done(r, r->userdata);
        request_free(r);
}

int request_submit(
        Engine *e, Plan *plan, unsigned flags, RequestDoneFunc done, void *userdata, Request **ret)
{
        uint64_t before;
        Request *r;

        r = calloc(1, sizeof(Request) + plan->n_modules * sizeof(RequestResult));
        if (!r)
                return -ENOMEM;
        r->waits = calloc(plan->n_modules ?: 1, sizeof(RequestWait));
        if (!r->waits) {
                free(r);
                return -ENOMEM;
        }
        for (size_t i = 0; i < plan->n_modules; i++)
                r->waits[i].request = r;
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
                request_arm_timeout(e);
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

/* -- the deadline ------------------------------------------------------------------------------ */

/* Whether a timed-out request should carry on with its plan once its client has the answer:
 * the modules after the one that took too long are still wanted (the devices are there, and
 * every other request for the same device timed out alike), and nobody else would load them.
 * One orphan per plan is enough; their number is bounded. */
static bool request_should_carry_on(Request *r)
{
        Engine *e = r->engine;
        bool more = false;
        Request *o;

        for (size_t i = 0; i < r->plan->n_modules && !more; i++)
                more = r->results[i].outcome == OUTCOME_PENDING && !r->waits[i].module;
        if (!more || e->n_orphans >= ENGINE_ORPHANS_MAX)
                return false;
        LIST_FOREACH (pending, o, e->orphans)
                if (o->plan == r->plan)
                        return false;
        return true;
}

/* The first module the request timed out on. */
static const char *request_timed_out_module(const Request *r)
{
        for (size_t i = 0; i < r->plan->n_modules; i++)
                if (r->results[i].outcome == OUTCOME_TIMED_OUT)
                        return r->plan->modules[i].name;
        return NULL;
}

/* Answers the client "timed out" and keeps the request going, waiting where it waits. */
static void request_orphan(Request *r)
{
        Engine *e = r->engine;

        LIST_REMOVE(pending, e->pending, r);
        r->in_pending = false;
        r->error = -ETIME;
        r->failed_module = request_timed_out_module(r);
        e->stats.requests_failed++;
        e->stats.requests_done++;
        if (r->done)
                r->done(r, r->userdata);
        r->done = NULL;
        r->userdata = NULL;
        r->error = 0;
        r->failed_module = NULL;
        for (size_t i = 0; i < r->plan->n_modules; i++)
                if (r->results[i].outcome == OUTCOME_TIMED_OUT)
                        r->results[i] = (RequestResult){ .counted = r->results[i].counted };
        r->orphan = true;
        /* An orphan may wait on a load for ever: the failures it was told of are its client's,
         * who was answered and asks again. */
        request_drop_failures(r);
        LIST_APPEND(pending, e->orphans, r);
        e->n_orphans++;
        e->stats.requests_carried_on++;
}

int request_on_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
        Engine *e = userdata;
        usec_t now = now_usec();
        Request *r;

        /* Every request has the same timeout, so the pending list is in deadline order. */
        while ((r = e->pending.head) && r->started + e->config.request_timeout_usec <= now) {
                const char *name;

                /* Every module it waits for timed out for it. */
                for (size_t i = 0; i < r->plan->n_modules; i++)
                        if (r->waits[i].module) {
                                RequestResult *res = &r->results[i];

                                res->outcome = OUTCOME_TIMED_OUT;
                                res->error = -ETIME;
                                res->waited = (uint32_t) (now - r->waits[i].since);
                        }
                r->timed_out = true;
                name = request_timed_out_module(r);
                e->stats.requests_timed_out++;
                log_debug("Request for %s timed out after %" PRIu64 " ms.", name ?: "?",
                        (now - r->started) / USEC_PER_MSEC);
                if (request_should_carry_on(r)) {
                        request_orphan(r);
                        continue;
                }
                request_finish(r, -ETIME, name);
        }
        request_arm_timeout(e);
        return 0;
}

static void request_arm_timeout(Engine *e)
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
