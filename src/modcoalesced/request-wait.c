/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* request-wait.c — see request-wait.h. */
#include "request-wait.h"

void request_wait(Module *m, Request *r, size_t i)
{
        RequestWait *w = &r->waits[i];

        w->module = m;
        w->since = now_usec();
        LIST_APPEND(wait, m->waiters, w);
        m->n_waiters++;
        if (r->n_waiting++ == 0)
                m->engine->n_waiting++;
}

void request_unwait_one(Request *r, size_t i, bool detached)
{
        RequestWait *w = &r->waits[i];
        Module *m = w->module;

        if (!m)
                return;
        if (!detached) {
                LIST_REMOVE(wait, m->waiters, w);
                m->n_waiters--;
        }
        w->module = NULL;
        if (--r->n_waiting == 0)
                r->engine->n_waiting--;
}

void request_unwait(Request *r)
{
        for (size_t i = 0; r->n_waiting > 0 && i < r->plan->n_modules; i++)
                request_unwait_one(r, i, false);
}

void request_hold_failure(Request *r, size_t i, Module *m)
{
        RequestWait *w = &r->waits[i];

        if (w->failure || r->orphan)
                return;
        w->failure = m;
        m->n_failure_holders++;
}

void request_drop_failures(Request *r)
{
        usec_t now = now_usec();

        for (size_t i = 0; i < r->plan->n_modules; i++) {
                Module *m = r->waits[i].failure;

                if (!m)
                        continue;
                r->waits[i].failure = NULL;
                m->n_failure_holders--;
                if (r->timed_out) /* its client asks again */
                        m->failure_released_at = now;
        }
}

void request_unmark(Request *r, size_t i)
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

void request_mark_targets(Request *r)
{
        for (size_t i = 1; i < r->plan->n_modules; i++) {
                const PlanModule *pm = &r->plan->modules[i];
                Module *m;

                if (!pm->target)
                        continue;
                m = module_get(r->engine, pm->name, true);
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
