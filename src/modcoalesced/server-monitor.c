/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* server-monitor.c — see server-monitor.h. */
#include "server-monitor.h"
#include "varlink-idl.h"

void server_notify_monitors(Server *s, const char *event, const char *module, int error,
        bool has_error, const char *coalesced)
{
        int k;

        for (size_t i = 0; i < SERVER_MAX_MONITORS; i++) {
                if (!s->monitors[i])
                        continue;
                k = sd_varlink_notifybo(s->monitors[i], SD_JSON_BUILD_PAIR_STRING("event", event),
                        SD_JSON_BUILD_PAIR_STRING("module", module),
                        SD_JSON_BUILD_PAIR_CONDITION(
                                has_error, "errno", SD_JSON_BUILD_INTEGER(-error)),
                        SD_JSON_BUILD_PAIR_CONDITION(
                                !!coalesced, "coalesced", SD_JSON_BUILD_STRING(coalesced)),
                        SD_JSON_BUILD_PAIR_UNSIGNED("timestampUSec", now_usec()));
                if (k >= 0)
                        connection_kick(connection_of(s->monitors[i]));
        }
}

void server_on_engine_event(const EngineEvent *ev, void *userdata)
{
        static const char *const names[_ENGINE_EVENT_MAX] = {
                [ENGINE_EVENT_COALESCE] = "coalesce",
                [ENGINE_EVENT_LOAD] = "load",
                [ENGINE_EVENT_RESULT] = "result",
        };

        server_notify_monitors(userdata, names[ev->type], ev->module, ev->error,
                ev->type == ENGINE_EVENT_RESULT,
                ev->type == ENGINE_EVENT_COALESCE ? coalesced_to_string(ev->coalesced) : NULL);
}

int vl_method_Monitor(sd_varlink *link, sd_json_variant *parameters,
        sd_varlink_method_flags_t flags, void *userdata)
{
        Server *s = server_of(link);
        int k;

        k = server_dispatch_no_parameters(link, parameters);
        if (k != 0)
                return k;
        for (size_t i = 0; i < SERVER_MAX_MONITORS; i++)
                if (!s->monitors[i]) {
                        /* No reply now: events follow with "continues". */
                        s->monitors[i] = sd_varlink_ref(link);
                        return 0;
                }
        return sd_varlink_errorbo(link, VL_ERROR_TOO_MANY_REQUESTS,
                SD_JSON_BUILD_PAIR_UNSIGNED("limit", SERVER_MAX_MONITORS));
}

void server_monitor_drop(Server *s, sd_varlink *link)
{
        for (size_t i = 0; i < SERVER_MAX_MONITORS; i++)
                if (s->monitors[i] == link)
                        s->monitors[i] = sd_varlink_unref(link);
}
