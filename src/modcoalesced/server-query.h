/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* server-query.h — the read-only methods: ListInFlight (what is loading, who waits), GetStats
 * (the engine's and the resolver's counters, and the per-module duplicate table) and ListLoads
 * (the boot's record of loads). */
#pragma once

#include "server-state.h"

int vl_method_ListInFlight(sd_varlink *link, sd_json_variant *parameters,
        sd_varlink_method_flags_t flags, void *userdata);
int vl_method_GetStats(sd_varlink *link, sd_json_variant *parameters,
        sd_varlink_method_flags_t flags, void *userdata);
int vl_method_ListLoads(sd_varlink *link, sd_json_variant *parameters,
        sd_varlink_method_flags_t flags, void *userdata);
