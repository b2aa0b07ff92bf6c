/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* request.h — a Request walks its plan: each module is answered from the table (live,
 * remembered failure), joins a load in flight (by name or by file), or starts one, as soon as the
 * modules it comes after have settled (plan.h), so independent modules load side by side and a
 * plan costs its longest chain; a plan without that knowledge is walked one module at a time. A
 * request waits on any number of Modules at once, through one RequestWait per plan module linked
 * into that module's waiter list, until they settle (module-settle.c hands the outcome on).
 * Every request has the same deadline (the engine's request timeout); a timed-out request may
 * carry on with its plan for nobody (an orphan). The engine owns requests until `done` returns
 * or request_cancel(); a waiting request is in the engine's pending list (arrival order, so
 * deadline order). */
#pragma once

#include "request-state.h"

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
