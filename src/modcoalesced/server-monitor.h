/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* server-monitor.h — Monitor: up to SERVER_MAX_MONITORS connections get the engine's events
 * (request, coalesce, load, result) as "continues" replies. */
#pragma once

#include "server-state.h"

int vl_method_Monitor(sd_varlink *link, sd_json_variant *parameters,
        sd_varlink_method_flags_t flags, void *userdata);
void server_notify_monitors(Server *s, const char *event, const char *module, int error,
        bool has_error, const char *coalesced);
/* The engine's observer (engine_set_event_func()); userdata is the Server. */
void server_on_engine_event(const EngineEvent *ev, void *userdata);
/* The connection went away: it monitors no more. */
void server_monitor_drop(Server *s, sd_varlink *link);
