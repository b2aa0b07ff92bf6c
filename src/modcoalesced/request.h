/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* request.h — a Request walks its plan in order, one module at a time: answered from the table
 * (live, remembered failure), joining a load in flight (by name or by file), or starting one; it
 * waits on at most one Module at a time, linked into that module's waiter list, until the
 * module settles (module-settle.c hands the outcome on). Every request has the same deadline
 * (the engine's request timeout); a timed-out request may carry on with its plan for nobody
 * (an orphan). The engine owns requests until `done` returns or request_cancel(); a waiting
 * request is in the engine's pending list (arrival order, so deadline order). */
#pragma once

#include "module.h"

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

/* Starts a request: as engine_submit_full(), whose checks have been made. */
int request_submit(
        Engine *e, Plan *plan, unsigned flags, RequestDoneFunc done, void *userdata, Request **ret);
/* Frees the request without calling `done` (the engine's end). */
void request_free(Request *r);

/* Every waiter of m takes the outcome (OUTCOME_PENDING: the module is gone, look at it again)
 * and goes on with its plan. */
void request_release_waiters(Module *m, Outcome outcome, int error);
/* m is LIVE: its waiters have it, as `outcome` (loaded, or already loaded by someone else). */
void request_release_live(Module *m, Outcome outcome);

/* The timer of the request deadlines (the engine's timeout source). */
int request_on_timeout(sd_event_source *s, uint64_t usec, void *userdata);
