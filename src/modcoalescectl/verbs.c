/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* verbs.c — load, in-flight, stats and monitor: one varlink call each (a stream for monitor),
 * printed as a table or, with --json, as the daemon's own JSON. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-varlink.h>

#include "cleanup.h"
#include "daemon-call.h"
#include "log.h"
#include "verbs.h"
#include "varlink-idl.h"

static void print_results(sd_json_variant *modules)
{
        sd_json_variant *m;

        printf("%-24s %-15s %-8s %-9s %s\n", "MODULE", "OUTCOME", "ERRNO", "COALESCED", "WAITED");
        JSON_ARRAY_FOREACH(i, m, modules)
        {
                printf("%-24s %-15s %-8s %-9s %.3f ms%s\n", json_str(m, "name"),
                        json_str(m, "outcome"), json_str(m, "errnoName"), json_str(m, "coalesced"),
                        (double) json_num(m, "waitedUSec") / 1000.0,
                        sd_json_variant_boolean(sd_json_variant_by_key(m, "parametersApplied"))
                                ? ""
                                : " (parameters not applied)");
        }
}

int verb_load(const CtlOptions *o, char *const *inputs)
{
        _cleanup_(sd_json_variant_unrefp) sd_json_variant *params = NULL, *reply = NULL;
        bool modalias = o->modalias || (inputs[0] && !inputs[1] && strchr(inputs[0], ':'));
        int k;

        if (!inputs[0])
                return log_error_errno(EINVAL, "load needs a MODALIAS or module names.");
        k = sd_json_buildo(&params,
                SD_JSON_BUILD_PAIR_CONDITION(modalias, "modalias", SD_JSON_BUILD_STRING(inputs[0])),
                SD_JSON_BUILD_PAIR_CONDITION(
                        !modalias, "modules", SD_JSON_BUILD_STRV((char **) inputs)),
                SD_JSON_BUILD_PAIR_CONDITION(
                        !!o->parameters, "parameters", SD_JSON_BUILD_STRING(o->parameters)));
        if (k < 0)
                return log_oom();
        k = ctl_call(o, MODCOALESCED_INTERFACE ".Load", params, &reply);
        if (k < 0)
                return k;
        if (o->json)
                ctl_dump(reply);
        else
                print_results(sd_json_variant_by_key(reply, "modules"));
        return 0;
}

int verb_in_flight(const CtlOptions *o)
{
        _cleanup_(sd_json_variant_unrefp) sd_json_variant *reply = NULL;
        sd_json_variant *m;
        int k;

        k = ctl_call(o, MODCOALESCED_INTERFACE ".ListInFlight", NULL, &reply);
        if (k < 0)
                return k;
        if (o->json) {
                ctl_dump(reply);
                return 0;
        }
        printf("%-24s %-8s %-14s %7s %10s %s\n", "MODULE", "STATE", "STAGE", "WAITERS", "AGE",
                "PATH");
        JSON_ARRAY_FOREACH(i, m, sd_json_variant_by_key(reply, "modules"))
        {
                printf("%-24s %-8s %-14s %7" PRIu64 " %7.1f ms %s\n", json_str(m, "name"),
                        json_str(m, "state"), json_str(m, "stage"), json_num(m, "waiters"),
                        (double) json_num(m, "ageUSec") / 1000.0, json_str(m, "path"));
        }
        return 0;
}

int verb_stats(const CtlOptions *o)
{
        static const char *const counters[] = {
                "requests",
                "requestsFailed",
                "requestsTimedOut",
                "requestsCarriedOn",
                "requestsCancelled",
                "moduleRequests",
                "coalescedByName",
                "coalescedByInode",
                "answeredLive",
                "answeredFromFailureMemory",
                "waitedForeign",
                "loads",
                "loadsOk",
                "loadsAlreadyLoaded",
                "loadsFailed",
                "failedReading",
                "failedDecompressing",
                "failedLoading",
                "failedInstall",
                "busyRetries",
                "fallbacks",
                "bytesRead",
                "bytesDecompressed",
                "bytesNotRead",
                "lookups",
                "lookupCacheHits",
                "inFlight",
                "waiting",
        };
        _cleanup_(sd_json_variant_unrefp) sd_json_variant *reply = NULL;
        sd_json_variant *m;
        int k;

        k = ctl_call(o, MODCOALESCED_INTERFACE ".GetStats", NULL, &reply);
        if (k < 0)
                return k;
        if (o->json) {
                ctl_dump(reply);
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(counters); i++)
                printf("%-27s %" PRIu64 "\n", counters[i], json_num(reply, counters[i]));
        printf("\n%-24s %8s %9s %5s %8s %10s %-7s %s\n", "MODULE", "REQUESTS", "COALESCED", "LOADS",
                "FAILURES", "FROMMEMORY", "STATE", "LASTERR");
        JSON_ARRAY_FOREACH(i, m, sd_json_variant_by_key(reply, "modules"))
        {
                printf("%-24s %8" PRIu64 " %9" PRIu64 " %5" PRIu64 " %8" PRIu64 " %10" PRIu64
                       " %-7s %s\n",
                        json_str(m, "name"), json_num(m, "requests"), json_num(m, "coalesced"),
                        json_num(m, "loads"), json_num(m, "failures"), json_num(m, "fromMemory"),
                        json_str(m, "state"),
                        sd_json_variant_by_key(m, "lastErrno")
                                ? strerrorname_np((int) json_num(m, "lastErrno")) ?: "?"
                                : "-");
        }
        return 0;
}

static int on_monitor_reply(sd_varlink *link, sd_json_variant *parameters, const char *error,
        sd_varlink_reply_flags_t flags, void *userdata)
{
        const CtlOptions *o = userdata;

        if (error) {
                log_error("Monitor ended: %s", error);
                return -EIO;
        }
        if (o->json) {
                (void) sd_json_variant_dump(parameters, SD_JSON_FORMAT_NEWLINE, stdout, NULL);
        } else {
                printf("%14.6f %-9s %-24s", (double) json_num(parameters, "timestampUSec") / 1e6,
                        json_str(parameters, "event"), json_str(parameters, "module"));
                if (sd_json_variant_by_key(parameters, "errno"))
                        printf(" errno=%" PRIu64, json_num(parameters, "errno"));
                if (sd_json_variant_by_key(parameters, "coalesced"))
                        printf(" by=%s", json_str(parameters, "coalesced"));
                putchar('\n');
        }
        fflush(stdout);
        return 0;
}

int verb_monitor(const CtlOptions *o)
{
        _cleanup_(sd_varlink_unrefp) sd_varlink *link = NULL;
        int k;

        k = ctl_connect(o, &link);
        if (k < 0)
                return k;
        sd_varlink_set_userdata(link, (void *) o);
        k = sd_varlink_bind_reply(link, on_monitor_reply);
        if (k >= 0)
                k = sd_varlink_observe(link, MODCOALESCED_INTERFACE ".Monitor", NULL);
        if (k < 0)
                return log_error_errno(k, "Monitor failed: %m");
        for (;;) {
                k = sd_varlink_process(link);
                if (k < 0)
                        return log_error_errno(k, "Monitor failed: %m");
                if (k > 0)
                        continue;
                k = sd_varlink_wait(link, UINT64_MAX);
                if (k < 0)
                        return log_error_errno(k, "Monitor failed: %m");
        }
}
