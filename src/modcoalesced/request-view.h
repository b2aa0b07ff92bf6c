/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* request-view.h — a Request as the engine's clients see it (the varlink Load handler): its
 * plan, its results and error, its age, and cancelling it. request.c implements it. */
#pragma once

#include "engine-types.h"
#include "plan.h"

/* The client went away: stop waiting, free the request. Loads go on for everyone else. */
void request_cancel(Request *r);

const Plan *request_plan(const Request *r);
const RequestResult *request_result(const Request *r, size_t i);
/* 0, or -errno of the hard module that failed the request (-ETIME on timeout), and its name. */
int request_error(const Request *r, const char **ret_module);
usec_t request_age(const Request *r);
