/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* load-params.h — Load's parameters: how they are taken from the call's JSON object and what
 * makes them acceptable. Pure functions of the input (no link, no I/O), so that the unit tests
 * and the fuzzers exercise exactly what the varlink handler runs. */
#pragma once

#include <stdbool.h>
#include <systemd/sd-json.h>

typedef struct LoadParams {
        const char *modalias; /* borrowed from the JSON object */
        char **modules; /* owned */
        const char *parameters; /* borrowed */
        bool from_kernel;
        bool waited_before; /* with from_kernel: asked again after TimedOut */
        bool blacklist; /* modprobe -b: the blacklist applies to names too */
        bool brief; /* answer without the per-module results */
} LoadParams;

/* The dispatch table for sd_varlink_dispatch() / sd_json_dispatch() into a LoadParams. */
extern const sd_json_dispatch_field load_params_table[];

void load_params_done(LoadParams *p);

/* At most this many names in one call. */
#define LOAD_PARAMS_MAX_NAMES 64u

/* 0 when p may be resolved; otherwise -EINVAL, -ENAMETOOLONG or -E2BIG, with *ret_parameter
 * naming the offending field and *ret_reason saying why (both static strings). */
int load_params_validate(const LoadParams *p, const char **ret_parameter, const char **ret_reason);
