/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* request-state.h — a Request and its RequestWaits as the engine's units see them (request.c,
 * request-wait.c, module-settle.c through request.h). Nothing outside the engine includes this. */
#pragma once

#include "module.h"
#include "request-view.h"

struct RequestWait {
        Request *request;
        Module *module; /* waited on, or NULL */
        usec_t since; /* when the request reached this module */
        Module *failure; /* its remembered failure, told to this request: held until it ends */
        LIST_FIELDS(RequestWait, wait);
};

struct Request {
        Engine *engine;
        Plan *plan;
        RequestDoneFunc done;
        void *userdata;
        LIST_FIELDS(Request, pending);
        LIST_FIELDS(Request, advance); /* request_release_waiters()' own list */
        usec_t started;
        RequestWait *waits; /* one per plan module */
        uint32_t n_waiting; /* modules waited on now */
        int32_t error;
        bool in_pending;
        bool orphan; /* answered (timed out), carrying on with its plan for nobody */
        bool timed_out; /* answered TimedOut: its client asks again */
        bool advancing; /* in request_release_waiters()' list */
        unsigned flags; /* ENGINE_REQUEST_* */
        uint64_t failed_groups; /* plan groups that lost a hard module */
        const char *failed_module; /* points into plan */
        RequestResult results[];
};
