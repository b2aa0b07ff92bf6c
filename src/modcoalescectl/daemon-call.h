/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon-call.h — how modcoalescectl's verbs talk to the daemon: connect, make one varlink call
 * (a wire error is printed and becomes -EIO), and read the fields of its JSON reply. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-json.h>
#include <systemd/sd-varlink.h>

/* The command line, as every verb that talks to the daemon reads it. */
typedef struct CtlOptions {
        bool json;
        const char *socket;
        const char *parameters;
        bool modalias;
        const char *svg; /* timeline: draw to this file ("-": stdout) */
} CtlOptions;

/* Visits the elements of a JSON array (none if it is not one). `i` is the name the loop
 * declares, which cannot be parenthesised. NOLINTBEGIN(bugprone-macro-parentheses) */
#define JSON_ARRAY_FOREACH(i, e, array)                                                            \
        for (size_t i = 0;                                                                         \
                i < sd_json_variant_elements(array) && ((e) = sd_json_variant_by_index(array, i)); \
                i++)
/* NOLINTEND(bugprone-macro-parentheses) */

int ctl_connect(const CtlOptions *o, sd_varlink **ret);
/* One call; *ret is a reference to the reply, the caller's to drop. */
int ctl_call(
        const CtlOptions *o, const char *method, sd_json_variant *params, sd_json_variant **ret);
/* Prints the daemon's JSON, for --json. */
void ctl_dump(sd_json_variant *v);

/* A field of an object: its string, or "-"; its unsigned number, or 0. */
const char *json_str(sd_json_variant *v, const char *key);
uint64_t json_num(sd_json_variant *v, const char *key);
