/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* server-load.c — see server-load.h. */
#include <errno.h>
#include <string.h>

#include "load-params.h"
#include "log.h"
#include "peer-auth.h"
#include "server-load.h"
#include "server-monitor.h"
#include "varlink-idl.h"

struct LoadCall {
        Server *server;
        sd_varlink *link; /* referenced while waiting */
        Request *request;
        bool modalias;
        bool brief; /* no per-module results in the answer */
};

static int reply_invalid(sd_varlink *link, const char *parameter, const char *reason)
{
        return sd_varlink_errorbo(link, VL_ERROR_INVALID_INPUT,
                SD_JSON_BUILD_PAIR_STRING("parameter", parameter),
                SD_JSON_BUILD_PAIR_STRING("reason", reason));
}

static const char *outcome_name(const LoadCall *c, const RequestResult *res)
{
        /* udev's policy: a device whose driver says ENODEV/ENOENT simply has no driver here. */
        if (res->outcome == OUTCOME_FAILED && c->modalias &&
                (res->error == -ENODEV || res->error == -ENOENT))
                return "no-driver";
        return outcome_to_string(res->outcome);
}

static int build_results(const LoadCall *c, Request *r, sd_json_variant **ret)
{
        _cleanup_(sd_json_variant_unrefp) sd_json_variant *a = NULL;
        const Plan *plan = request_plan(r);
        int k;

        for (size_t i = 0; i < plan->n_modules; i++) {
                const RequestResult *res = request_result(r, i);
                bool has_errno = res->error < 0;

                k = sd_json_variant_append_arraybo(&a,
                        SD_JSON_BUILD_PAIR_STRING("name", plan->modules[i].name),
                        SD_JSON_BUILD_PAIR_STRING("outcome", outcome_name(c, res)),
                        SD_JSON_BUILD_PAIR_CONDITION(
                                has_errno, "errno", SD_JSON_BUILD_INTEGER(-res->error)),
                        SD_JSON_BUILD_PAIR_CONDITION(has_errno && strerrorname_np(-res->error),
                                "errnoName", SD_JSON_BUILD_STRING(strerrorname_np(-res->error))),
                        SD_JSON_BUILD_PAIR_STRING("coalesced", coalesced_to_string(res->coalesced)),
                        SD_JSON_BUILD_PAIR_BOOLEAN("fromMemory", res->from_memory),
                        SD_JSON_BUILD_PAIR_BOOLEAN("parametersApplied", res->params_applied),
                        SD_JSON_BUILD_PAIR_UNSIGNED("waitedUSec", res->waited));
                if (k < 0)
                        return k;
        }
        for (char **b = plan->builtin; *b; b++)
                if ((k = sd_json_variant_append_arraybo(&a, SD_JSON_BUILD_PAIR_STRING("name", *b),
                             SD_JSON_BUILD_PAIR_STRING("outcome", "builtin"),
                             SD_JSON_BUILD_PAIR_STRING("coalesced", "no"),
                             SD_JSON_BUILD_PAIR_BOOLEAN("fromMemory", false),
                             SD_JSON_BUILD_PAIR_BOOLEAN("parametersApplied", true),
                             SD_JSON_BUILD_PAIR_UNSIGNED("waitedUSec", 0))) < 0)
                        return k;
        for (char **b = plan->blacklisted; *b; b++)
                if ((k = sd_json_variant_append_arraybo(&a, SD_JSON_BUILD_PAIR_STRING("name", *b),
                             SD_JSON_BUILD_PAIR_STRING("outcome", "blacklisted"),
                             SD_JSON_BUILD_PAIR_STRING("coalesced", "no"),
                             SD_JSON_BUILD_PAIR_BOOLEAN("fromMemory", false),
                             SD_JSON_BUILD_PAIR_BOOLEAN("parametersApplied", false),
                             SD_JSON_BUILD_PAIR_UNSIGNED("waitedUSec", 0))) < 0)
                        return k;
        if (!a && (k = sd_json_variant_new_array(&a, NULL, 0)) < 0)
                return k;
        *ret = TAKE_PTR(a);
        return 0;
}

/* The failure the request reports, if any: a timeout, or the first hard module that failed
 * for a reason other than "no driver". */
static const RequestResult *request_failure(const LoadCall *c, Request *r, size_t *ret_index)
{
        const Plan *plan = request_plan(r);

        for (size_t i = 0; i < plan->n_modules; i++) {
                const RequestResult *res = request_result(r, i);

                if (res->outcome == OUTCOME_TIMED_OUT ||
                        (res->outcome == OUTCOME_FAILED && !plan->modules[i].soft &&
                                strcmp(outcome_name(c, res), "no-driver") != 0)) {
                        *ret_index = i;
                        return res;
                }
        }
        return NULL;
}

static void load_call_reply(LoadCall *c, Request *r)
{
        _cleanup_(sd_json_variant_unrefp) sd_json_variant *results = NULL;
        const RequestResult *failed;
        size_t i = 0;
        int k;

        k = c->brief ? 0 : build_results(c, r, &results);
        if (k < 0) {
                (void) sd_varlink_error_errno(c->link, k);
                connection_kick(connection_of(c->link));
                return;
        }
        failed = request_failure(c, r, &i);
        if (!failed && c->brief)
                k = sd_varlink_reply(c->link, NULL);
        else if (!failed)
                k = sd_varlink_replybo(c->link, SD_JSON_BUILD_PAIR_VARIANT("modules", results));
        else if (failed->outcome == OUTCOME_TIMED_OUT)
                k = sd_varlink_errorbo(c->link, VL_ERROR_TIMED_OUT,
                        SD_JSON_BUILD_PAIR_STRING("module", request_plan(r)->modules[i].name));
        else
                k = sd_varlink_errorbo(c->link, VL_ERROR_LOAD_FAILED,
                        SD_JSON_BUILD_PAIR_STRING("module", request_plan(r)->modules[i].name),
                        SD_JSON_BUILD_PAIR_INTEGER("errno", -failed->error),
                        SD_JSON_BUILD_PAIR_CONDITION(!!strerrorname_np(-failed->error), "errnoName",
                                SD_JSON_BUILD_STRING(strerrorname_np(-failed->error))),
                        SD_JSON_BUILD_PAIR_CONDITION(
                                !!results, "modules", SD_JSON_BUILD_VARIANT(results)));
        /* sd_varlink_error() returns the error's own errno once it has queued it: -EBADR for
         * ours, which are no errno. Anything else means the answer did not go out. */
        if (k < 0 && !(failed && k == -EBADR))
                log_debug_errno(k, "Failed to send a Load reply: %m");
        connection_kick(connection_of(c->link));
}

static void load_call_free(LoadCall *c)
{
        if (c->request) {
                /* It was waiting: give back the connection. */
                connection_set_userdata(connection_of(c->link), NULL);
                sd_varlink_unref(c->link);
                c->server->n_pending--;
        }
        free(c);
}

static void on_request_done(Request *r, void *userdata)
{
        LoadCall *c = userdata;

        load_call_reply(c, r);
        load_call_free(c);
}

int vl_method_Load(sd_varlink *link, sd_json_variant *parameters, sd_varlink_method_flags_t flags,
        void *userdata)
{
        _cleanup_(load_params_done) LoadParams p = {};
        _cleanup_(plan_unrefp) Plan *plan = NULL;
        _cleanup_free_ char *missing = NULL;
        const char *parameter = NULL, *reason = NULL;
        Server *s = server_of(link);
        LoadCall *c;
        Request *req;
        int k;

        if (server_call_of(link) == &server_over_limit_marker)
                return sd_varlink_errorbo(link, VL_ERROR_TOO_MANY_REQUESTS,
                        SD_JSON_BUILD_PAIR_UNSIGNED("limit", s->config.max_connections));
        if (s->stopping)
                return sd_varlink_error(link, VL_ERROR_SHUTTING_DOWN, NULL);
        if (!peer_may_load(link))
                return sd_varlink_error(link, VL_ERROR_PERMISSION_DENIED, NULL);

        k = sd_varlink_dispatch(link, parameters, load_params_table, &p);
        if (k != 0)
                return k;
        if (load_params_validate(&p, &parameter, &reason) < 0)
                return reply_invalid(link, parameter, reason);
        if (s->n_pending >= s->config.max_pending)
                return sd_varlink_errorbo(link, VL_ERROR_TOO_MANY_REQUESTS,
                        SD_JSON_BUILD_PAIR_UNSIGNED("limit", s->config.max_pending));

        server_notify_monitors(s, "request", p.modalias ?: p.modules[0], 0, false, NULL);
        if (p.modalias)
                k = resolver_resolve_modalias(s->resolver, p.modalias, p.parameters, &plan);
        else if (p.blacklist)
                k = resolver_resolve_names_blacklisted(
                        s->resolver, p.modules, p.parameters, &plan, &missing);
        else
                k = resolver_resolve_names(s->resolver, p.modules, p.parameters, &plan, &missing);
        if (k == -ENOENT && p.modalias)
                /* No driver for this device: not an error. */
                return p.brief ? sd_varlink_reply(link, NULL)
                               : sd_varlink_replybo(link,
                                         SD_JSON_BUILD_PAIR("modules", SD_JSON_BUILD_EMPTY_ARRAY));
        if (k == -ENOENT)
                return sd_varlink_errorbo(link, VL_ERROR_NO_SUCH_MODULE,
                        SD_JSON_BUILD_PAIR_STRING("module", missing ?: p.modules[0]));
        if (k < 0) {
                log_warning_errno(k, "Failed to resolve '%s': %m", p.modalias ?: p.modules[0]);
                return sd_varlink_error_errno(link, k);
        }

        c = calloc(1, sizeof(*c));
        if (!c)
                return sd_varlink_error_errno(link, -ENOMEM);
        *c = (LoadCall){ .server = s, .link = link, .modalias = !!p.modalias, .brief = p.brief };
        k = engine_submit_full(s->engine, plan, resolver_generation(s->resolver),
                (p.from_kernel ? ENGINE_REQUEST_FROM_KERNEL : 0) |
                        (p.from_kernel && p.waited_before ? ENGINE_REQUEST_WAITED_BEFORE : 0),
                on_request_done, c, &req);
        if (k < 0) {
                free(c);
                return sd_varlink_error_errno(link, k);
        }
        if (k == 0) {
                /* Deferred: the reply comes from on_request_done(). */
                c->request = req;
                sd_varlink_ref(link);
                connection_set_userdata(connection_of(link), c);
                s->n_pending++;
        }
        return 0;
}

void load_call_cancel(LoadCall *c)
{
        request_cancel(c->request);
        load_call_free(c);
}
