/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* request-wait.h — what a Request holds on the Modules of its plan, and lets go of: a wait on a
 * module (its RequestWait linked into the module's waiter list), the "waiting-deps" marker on a
 * target whose dependencies load first, and a remembered failure it was told of (which lasts
 * while it runs: module_expire_failure()). request.c decides when; this file keeps the counts
 * of both sides in step. */
#pragma once

#include "request-state.h"

/* Request r waits on m for its plan module i. */
void request_wait(Module *m, Request *r, size_t i);
/* Stops waiting for module i; already unlinked from the module's list if detached. */
void request_unwait_one(Request *r, size_t i, bool detached);
void request_unwait(Request *r);

/* The request was told of m's remembered failure: it holds the memory until it ends. */
void request_hold_failure(Request *r, size_t i, Module *m);
/* It ends: if it timed out, its client asks again, and the window starts anew from now. */
void request_drop_failures(Request *r);

/* Targets that this request will load after their dependencies show up as in flight
 * ("waiting-deps") meanwhile, and a request for the same target joins them when it gets there. */
void request_mark_targets(Request *r);
/* Lets go of module i's marker, if the request holds it. */
void request_unmark(Request *r, size_t i);
