/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* server-load.h — Load: validate, resolve, hand the plan to the engine and, unless it is
 * answered at once, keep a reference on the connection (whose userdata points to the LoadCall)
 * until the reply; a client that leaves cancels its request, and the load goes on for everyone
 * else. */
#pragma once

#include "server-state.h"

typedef struct LoadCall LoadCall;

int vl_method_Load(sd_varlink *link, sd_json_variant *parameters, sd_varlink_method_flags_t flags,
        void *userdata);
/* The client of a waiting call went away: cancel its request, free the call. */
void load_call_cancel(LoadCall *c);
