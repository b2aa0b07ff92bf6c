/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* server.c — see server.h. A Load that cannot be answered at once keeps a reference on its
 * connection and the Connection's userdata (connection.h, which drives the connections) points
 * to its LoadCall until the reply; the disconnect callback cancels the request, and the load
 * goes on for everyone else. Connections come from the Listener: up to max_connections are served, SERVER_CONNECTIONS_SLACK more may
 * read but get TooManyRequests for Load, and any beyond are answered TooManyRequests at once and
 * closed without ever becoming a varlink connection. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <systemd/sd-varlink.h>

#include "connection.h"
#include "listener.h"
#include "load-params.h"
#include "log.h"
#include "server.h"
#include "varlink-idl.h"

/* CAP_SYS_MODULE, from linux/capability.h. */
#define CAP_SYS_MODULE_BIT 16

typedef struct LoadCall LoadCall;

struct Server {
        sd_varlink_server *varlink;
        ConnectionSet *connections;
        Listener *listener;
        Engine *engine;
        Resolver *resolver;
        ServerConfig config;
        unsigned max_open; /* connections kept open at most: max_connections + slack */
        unsigned n_pending;
        bool stopping; /* torn down: calls read now get ShuttingDown */
        sd_varlink *monitors[SERVER_MAX_MONITORS];
};

struct LoadCall {
        Server *server;
        sd_varlink *link; /* referenced while waiting */
        Request *request;
        bool modalias;
};

/* Marks a connection beyond the connection limit: its calls get TooManyRequests. */
static char over_limit_marker;

static Server *server_of(sd_varlink *link)
{
        return sd_varlink_server_get_userdata(sd_varlink_get_server(link));
}

/* What a connection is busy with: NULL, its waiting LoadCall, or &over_limit_marker. */
static void *call_of(sd_varlink *link)
{
        Connection *conn = connection_of(link);

        return conn ? connection_get_userdata(conn) : NULL;
}

/* -- events for Monitor ------------------------------------------------------------------------ */

static void server_notify_monitors(Server *s, const char *event, const char *module, int error,
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

static const char *coalesced_to_string(Coalesced c)
{
        return c == COALESCED_BY_NAME ? "name" : c == COALESCED_BY_INODE ? "inode" : "no";
}

static void on_engine_event(const EngineEvent *ev, void *userdata)
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

/* -- Load -------------------------------------------------------------------------------------- */

static bool peer_may_load(sd_varlink *link)
{
        unsigned long long caps = 0;
        char path[64], line[256];
        bool found = false;
        int pidfd;
        uid_t uid;
        pid_t pid;
        FILE *f;

        if (sd_varlink_get_peer_uid(link, &uid) >= 0 && uid == 0)
                return true;
        /* Not root: CAP_SYS_MODULE in the peer's effective set. The peer's pidfd (owned by the
         * connection) pins the process: if it is still alive after /proc was read, the pid was
         * not recycled in between. */
        pidfd = sd_varlink_get_peer_pidfd(link);
        if (pidfd < 0 || sd_varlink_get_peer_pid(link, &pid) < 0)
                return false;
        snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return false;
        while (fgets(line, sizeof(line), f))
                if (strncmp(line, "CapEff:", 7) == 0) {
                        char *end;

                        /* strtoull(), unlike sscanf(), reports overflow and garbage. */
                        errno = 0;
                        caps = strtoull(line + 7, &end, 16);
                        found = errno == 0 && end != line + 7 && (*end == '\n' || *end == '\0');
                        break;
                }
        fclose(f);
        if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0)
                return false;
        return found && (caps & (1ULL << CAP_SYS_MODULE_BIT));
}

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

        k = build_results(c, r, &results);
        if (k < 0) {
                (void) sd_varlink_error_errno(c->link, k);
                connection_kick(connection_of(c->link));
                return;
        }
        failed = request_failure(c, r, &i);
        if (!failed)
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
                        SD_JSON_BUILD_PAIR_VARIANT("modules", results));
        if (k < 0)
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

static int vl_method_Load(sd_varlink *link, sd_json_variant *parameters,
        sd_varlink_method_flags_t flags, void *userdata)
{
        _cleanup_(load_params_done) LoadParams p = {};
        _cleanup_(plan_unrefp) Plan *plan = NULL;
        _cleanup_free_ char *missing = NULL;
        const char *parameter = NULL, *reason = NULL;
        Server *s = server_of(link);
        LoadCall *c;
        Request *req;
        int k;

        if (call_of(link) == &over_limit_marker)
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
                return sd_varlink_replybo(
                        link, SD_JSON_BUILD_PAIR("modules", SD_JSON_BUILD_EMPTY_ARRAY));
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
        *c = (LoadCall){ .server = s, .link = link, .modalias = !!p.modalias };
        k = engine_submit_full(s->engine, plan, resolver_generation(s->resolver),
                p.from_kernel ? ENGINE_REQUEST_NO_WAIT : 0, on_request_done, c, &req);
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

/* -- ListInFlight, GetStats, Monitor ----------------------------------------------------------- */

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

/* Methods without parameters still refuse unknown ones (InvalidParameter). */
static int dispatch_no_parameters(sd_varlink *link, sd_json_variant *parameters)
{
        static const sd_json_dispatch_field table[] = { {} };

        return sd_varlink_dispatch(link, parameters, table, NULL);
}

static int vl_method_ListInFlight(sd_varlink *link, sd_json_variant *parameters,
        sd_varlink_method_flags_t flags, void *userdata)
{
        Collect c = {};
        int k;

        k = dispatch_no_parameters(link, parameters);
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

static int vl_method_GetStats(sd_varlink *link, sd_json_variant *parameters,
        sd_varlink_method_flags_t flags, void *userdata)
{
        Collect c = {};
        int k;

        k = dispatch_no_parameters(link, parameters);
        if (k != 0)
                return k;
        engine_foreach_module(server_of(link)->engine, false, collect_stats, &c);
        return reply_collected(link, &c, finish_stats);
}

static int vl_method_Monitor(sd_varlink *link, sd_json_variant *parameters,
        sd_varlink_method_flags_t flags, void *userdata)
{
        Server *s = server_of(link);
        int k;

        k = dispatch_no_parameters(link, parameters);
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

/* -- connections ------------------------------------------------------------------------------- */

/* Beyond every limit: the answer goes straight to the socket and the connection is closed.
 * The client's call, if it came already, is read first, so that the close does not turn into a
 * reset that could hide the answer from it. */
static void server_refuse(Server *s, int fd)
{
        char buf[256];
        int n;

        (void) !recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        n = snprintf(buf, sizeof(buf), "{\"error\":\"%s\",\"parameters\":{\"limit\":%u}}",
                VL_ERROR_TOO_MANY_REQUESTS, s->config.max_connections);
        (void) !send(fd, buf, (size_t) n + 1, MSG_DONTWAIT | MSG_NOSIGNAL);
        safe_close(fd);
}

/* Descriptors are handed out lowest first, so a connection's number tells how many are in use:
 * one too close to RLIMIT_NOFILE (lowered under a running daemon, say) would leave the loads
 * without descriptors for their module files. */
static bool fd_in_reserve(int fd)
{
        struct rlimit rl;

        return getrlimit(RLIMIT_NOFILE, &rl) >= 0 && rl.rlim_cur != RLIM_INFINITY &&
                (rlim_t) fd + SERVER_FDS_RESERVED >= rl.rlim_cur;
}

/* A connection the library took: from now on driven by our ConnectionSet. */
static int server_serve(Server *s, sd_varlink *link, unsigned n_before)
{
        Connection *conn;
        int k;

        k = connection_new(&conn, s->connections, link);
        if (k < 0) {
                log_warning_errno(k, "Failed to set up a connection: %m");
                (void) sd_varlink_close(link);
                return k;
        }
        if (n_before + 1 > s->config.max_connections)
                connection_set_userdata(conn, &over_limit_marker);
        return 0;
}

static void on_accept(int fd, void *userdata)
{
        Server *s = userdata;
        sd_varlink *link;
        unsigned n = sd_varlink_server_current_connections(s->varlink);

        if (n >= s->max_open || fd_in_reserve(fd) ||
                sd_varlink_server_add_connection(s->varlink, fd, &link) < 0) {
                server_refuse(s, fd);
                return;
        }
        (void) server_serve(s, link, n);
}

static void on_disconnect(sd_varlink_server *vs, sd_varlink *link, void *userdata)
{
        Server *s = userdata;
        void *u = call_of(link);

        if (u && u != &over_limit_marker) {
                LoadCall *c = u;

                request_cancel(c->request);
                load_call_free(c);
        }
        for (size_t i = 0; i < SERVER_MAX_MONITORS; i++)
                if (s->monitors[i] == link)
                        s->monitors[i] = sd_varlink_unref(link);
        connection_free(connection_of(link));
}

/* Every connection holds a descriptor: the limits stay inside RLIMIT_NOFILE, with room for the
 * rest of the daemon, so that an excess connection is answered with an error instead of
 * meeting EMFILE (which the Listener survives, but then the excess waits unanswered). */
static void server_fit_connections(Server *s)
{
        struct rlimit rl;
        rlim_t room;

        s->max_open = s->config.max_connections + SERVER_CONNECTIONS_SLACK;
        if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
                return;
        room = rl.rlim_cur > SERVER_FDS_RESERVED + 2 ? rl.rlim_cur - SERVER_FDS_RESERVED : 2;
        if (s->max_open <= room)
                return;
        s->max_open = (unsigned) room;
        s->config.max_connections = s->max_open > 2 * SERVER_CONNECTIONS_SLACK
                ? s->max_open - SERVER_CONNECTIONS_SLACK
                : s->max_open / 2;
        log_notice("RLIMIT_NOFILE is %llu: serving at most %u connections.",
                (unsigned long long) rl.rlim_cur, s->config.max_connections);
}

int server_new(Server **ret, sd_event *event, Engine *engine, Resolver *resolver,
        const ServerConfig *config)
{
        _cleanup_(server_freep) Server *s = NULL;
        int k;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->engine = engine;
        s->resolver = resolver;
        if (config)
                s->config = *config;
        if (s->config.max_pending == 0)
                s->config.max_pending = SERVER_MAX_PENDING_DEFAULT;
        if (s->config.max_connections == 0)
                s->config.max_connections = SERVER_MAX_CONNECTIONS_DEFAULT;
        server_fit_connections(s);

        k = sd_varlink_server_new(&s->varlink, SD_VARLINK_SERVER_ACCOUNT_UID);
        if (k < 0)
                return k;
        sd_varlink_server_set_userdata(s->varlink, s);
        (void) sd_varlink_server_set_description(s->varlink, "modcoalesced");
        k = sd_varlink_server_set_info(
                s->varlink, "modcoalesced", "modcoalesced", PROJECT_VERSION, "man:modcoalesced(8)");
        if (k < 0)
                return k;
        /* The library's limits are ours (on_accept checks first): every udev helper is uid 0,
         * so the per-uid limit must hold a whole coldplug burst. */
        (void) sd_varlink_server_set_connections_max(s->varlink, s->max_open);
        (void) sd_varlink_server_set_connections_per_uid_max(s->varlink, s->max_open);
        k = sd_varlink_server_add_interface(s->varlink, &vl_interface_io_modcoalesced_Manager);
        if (k < 0)
                return k;
        k = sd_varlink_server_bind_method_many(s->varlink, MODCOALESCED_INTERFACE ".Load",
                vl_method_Load, MODCOALESCED_INTERFACE ".ListInFlight", vl_method_ListInFlight,
                MODCOALESCED_INTERFACE ".GetStats", vl_method_GetStats,
                MODCOALESCED_INTERFACE ".Monitor", vl_method_Monitor);
        if (k < 0)
                return k;
        k = sd_varlink_server_bind_disconnect(s->varlink, on_disconnect);
        if (k < 0)
                return k;
        /* Not attached to the event loop: connection.c drives the connections. */
        k = connection_set_new(&s->connections, event);
        if (k < 0)
                return k;
        k = listener_new(&s->listener, event, on_accept, s);
        if (k < 0)
                return k;
        engine_set_event_func(engine, on_engine_event, s);
        *ret = TAKE_PTR(s);
        return 0;
}

Server *server_free(Server *s)
{
        if (!s)
                return NULL;
        if (s->engine)
                engine_set_event_func(s->engine, NULL, NULL);
        /* Closing them sends what is queued (the answers of a drain) and cancels what they
         * wait for, while the engine is still there; a call read meanwhile gets ShuttingDown. */
        s->stopping = true;
        s->connections = connection_set_free(s->connections);
        for (size_t i = 0; i < SERVER_MAX_MONITORS; i++)
                s->monitors[i] = sd_varlink_unref(s->monitors[i]);
        listener_free(s->listener);
        sd_varlink_server_unref(s->varlink);
        free(s);
        return NULL;
}

int server_listen_auto(Server *s)
{
        return listener_add_auto(s->listener);
}

int server_listen_address(Server *s, const char *path, mode_t mode)
{
        return listener_add_address(s->listener, path, mode);
}

int server_add_connection(Server *s, int fd)
{
        sd_varlink *link = NULL; /* the server's reference, not ours */
        unsigned n = sd_varlink_server_current_connections(s->varlink);
        int k;

        /* Counted like an accepted one: the limits read the library's own connection count. */
        k = sd_varlink_server_add_connection(s->varlink, fd, &link);
        if (k < 0)
                return k;
        /* The fd is the link's now: if it cannot be served, it is closed like a failed accept. */
        (void) server_serve(s, link, n);
        return 0;
}

void server_stop_accepting(Server *s)
{
        /* Calls on the connections we have are still served: their clients queued with us, not
         * in the socket, and the engine is here until the drain ends. A package upgrade's
         * restart must not fail a request that was accepted a moment before SIGTERM. */
        listener_stop(s->listener);
}

unsigned server_n_connections(const Server *s)
{
        return sd_varlink_server_current_connections(s->varlink);
}

unsigned server_max_connections(const Server *s)
{
        return s->config.max_connections;
}

unsigned server_n_pending(const Server *s)
{
        return s->n_pending;
}
