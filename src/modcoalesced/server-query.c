/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* server-query.c — see server-query.h. */
#include "server-query.h"

typedef struct Collect {
        sd_json_variant *array;
        int error;
} Collect;

static void collect_in_flight(const ModuleInfo *m, void *userdata)
{
        Collect *c = userdata;
        int k;

        if (c->error < 0)
                return;
        k = sd_json_variant_append_arraybo(&c->array, SD_JSON_BUILD_PAIR_STRING("name", m->name),
                SD_JSON_BUILD_PAIR_CONDITION(!!m->path, "path", SD_JSON_BUILD_STRING(m->path)),
                SD_JSON_BUILD_PAIR_CONDITION(m->ino != 0, "dev", SD_JSON_BUILD_UNSIGNED(m->dev)),
                SD_JSON_BUILD_PAIR_CONDITION(m->ino != 0, "inode", SD_JSON_BUILD_UNSIGNED(m->ino)),
                SD_JSON_BUILD_PAIR_STRING("state", m->state),
                SD_JSON_BUILD_PAIR_CONDITION(!!m->stage, "stage", SD_JSON_BUILD_STRING(m->stage)),
                SD_JSON_BUILD_PAIR_UNSIGNED("waiters", m->waiters),
                SD_JSON_BUILD_PAIR_UNSIGNED("ageUSec", m->age));
        if (k < 0)
                c->error = k;
}

static void collect_stats(const ModuleInfo *m, void *userdata)
{
        Collect *c = userdata;
        int k;

        /* The duplicate table: modules someone asked for, not every module ever seen live. */
        if (c->error < 0 || (m->requests == 0 && m->loads == 0))
                return;
        k = sd_json_variant_append_arraybo(&c->array, SD_JSON_BUILD_PAIR_STRING("name", m->name),
                SD_JSON_BUILD_PAIR_UNSIGNED("requests", m->requests),
                SD_JSON_BUILD_PAIR_UNSIGNED("coalesced", m->coalesced),
                SD_JSON_BUILD_PAIR_UNSIGNED("loads", m->loads),
                SD_JSON_BUILD_PAIR_UNSIGNED("failures", m->failures),
                SD_JSON_BUILD_PAIR_UNSIGNED("fromMemory", m->answered_from_memory),
                SD_JSON_BUILD_PAIR_CONDITION(
                        m->error < 0, "lastErrno", SD_JSON_BUILD_INTEGER(-m->error)),
                SD_JSON_BUILD_PAIR_STRING("state", m->state));
        if (k < 0)
                c->error = k;
}

static int reply_collected(sd_varlink *link, Collect *c, int (*finish)(sd_varlink *, Collect *))
{
        int k;

        if (c->error < 0) {
                sd_json_variant_unref(c->array);
                return sd_varlink_error_errno(link, c->error);
        }
        if (!c->array && (k = sd_json_variant_new_array(&c->array, NULL, 0)) < 0)
                return sd_varlink_error_errno(link, k);
        k = finish(link, c);
        sd_json_variant_unref(c->array);
        return k;
}

static int finish_in_flight(sd_varlink *link, Collect *c)
{
        return sd_varlink_replybo(link, SD_JSON_BUILD_PAIR_VARIANT("modules", c->array));
}

int vl_method_ListInFlight(sd_varlink *link, sd_json_variant *parameters,
        sd_varlink_method_flags_t flags, void *userdata)
{
        Collect c = {};
        int k;

        k = server_dispatch_no_parameters(link, parameters);
        if (k != 0)
                return k;
        engine_foreach_module(server_of(link)->engine, true, collect_in_flight, &c);
        return reply_collected(link, &c, finish_in_flight);
}

static int finish_stats(sd_varlink *link, Collect *c)
{
        Server *s = server_of(link);
        EngineStats st = engine_stats(s->engine);
        ResolverStats rs = resolver_stats(s->resolver);

        return sd_varlink_replybo(link, SD_JSON_BUILD_PAIR_UNSIGNED("requests", st.requests),
                SD_JSON_BUILD_PAIR_UNSIGNED("requestsFailed", st.requests_failed),
                SD_JSON_BUILD_PAIR_UNSIGNED("requestsTimedOut", st.requests_timed_out),
                SD_JSON_BUILD_PAIR_UNSIGNED("requestsCarriedOn", st.requests_carried_on),
                SD_JSON_BUILD_PAIR_UNSIGNED("requestsCancelled", st.requests_cancelled),
                SD_JSON_BUILD_PAIR_UNSIGNED("moduleRequests", st.module_requests),
                SD_JSON_BUILD_PAIR_UNSIGNED("coalescedByName", st.coalesced_by_name),
                SD_JSON_BUILD_PAIR_UNSIGNED("coalescedByInode", st.coalesced_by_inode),
                SD_JSON_BUILD_PAIR_UNSIGNED("answeredLive", st.answered_live),
                SD_JSON_BUILD_PAIR_UNSIGNED("answeredFromFailureMemory", st.answered_failure_cache),
                SD_JSON_BUILD_PAIR_UNSIGNED("waitedForeign", st.waited_foreign),
                SD_JSON_BUILD_PAIR_UNSIGNED("loads", st.loads),
                SD_JSON_BUILD_PAIR_UNSIGNED("loadsOk", st.loads_ok),
                SD_JSON_BUILD_PAIR_UNSIGNED("loadsAlreadyLoaded", st.loads_eexist),
                SD_JSON_BUILD_PAIR_UNSIGNED("loadsFailed", st.loads_failed),
                SD_JSON_BUILD_PAIR_UNSIGNED("failedReading", st.failed_reading),
                SD_JSON_BUILD_PAIR_UNSIGNED("failedDecompressing", st.failed_decompressing),
                SD_JSON_BUILD_PAIR_UNSIGNED("failedLoading", st.failed_loading),
                SD_JSON_BUILD_PAIR_UNSIGNED("failedInstall", st.failed_install),
                SD_JSON_BUILD_PAIR_UNSIGNED("busyRetries", st.busy_retries),
                SD_JSON_BUILD_PAIR_UNSIGNED("fallbacks", st.fallbacks),
                SD_JSON_BUILD_PAIR_UNSIGNED("bytesRead", st.bytes_read),
                SD_JSON_BUILD_PAIR_UNSIGNED("bytesDecompressed", st.bytes_decompressed),
                SD_JSON_BUILD_PAIR_UNSIGNED("bytesNotRead", st.bytes_not_read),
                SD_JSON_BUILD_PAIR_UNSIGNED("lookups", rs.lookups),
                SD_JSON_BUILD_PAIR_UNSIGNED("lookupCacheHits", rs.cache_hits),
                SD_JSON_BUILD_PAIR_UNSIGNED("inFlight", engine_n_in_flight(s->engine)),
                SD_JSON_BUILD_PAIR_UNSIGNED("waiting", engine_n_waiting(s->engine)),
                SD_JSON_BUILD_PAIR_VARIANT("modules", c->array));
}

int vl_method_GetStats(sd_varlink *link, sd_json_variant *parameters,
        sd_varlink_method_flags_t flags, void *userdata)
{
        Collect c = {};
        int k;

        k = server_dispatch_no_parameters(link, parameters);
        if (k != 0)
                return k;
        engine_foreach_module(server_of(link)->engine, false, collect_stats, &c);
        return reply_collected(link, &c, finish_stats);
}

int vl_method_ListLoads(sd_varlink *link, sd_json_variant *parameters,
        sd_varlink_method_flags_t flags, void *userdata)
{
        _cleanup_(sd_json_variant_unrefp) sd_json_variant *loads = NULL;
        const Timeline *t = engine_timeline(server_of(link)->engine);
        int k;

        k = server_dispatch_no_parameters(link, parameters);
        if (k != 0)
                return k;
        k = timeline_to_json(t, &loads);
        if (k < 0)
                return sd_varlink_error_errno(link, k);
        return sd_varlink_replybo(link, SD_JSON_BUILD_PAIR_VARIANT("loads", loads),
                SD_JSON_BUILD_PAIR_UNSIGNED("dropped", timeline_dropped(t)),
                SD_JSON_BUILD_PAIR_UNSIGNED("nowUSec", now_usec()));
}
