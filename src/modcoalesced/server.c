/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* server.c — see server.h. The service itself: the varlink server and its methods
 * (server-load.c, server-query.c, server-monitor.c), and the connections it admits. Connections
 * come from the Listener: up to max_connections are served, SERVER_CONNECTIONS_SLACK more may
 * read but get TooManyRequests for Load, and any beyond are answered TooManyRequests at once
 * and closed without ever becoming a varlink connection. */
#include <errno.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "listener.h"
#include "log.h"
#include "server.h"
#include "server-load.h"
#include "server-monitor.h"
#include "server-query.h"
#include "varlink-idl.h"

char server_over_limit_marker;

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
                connection_set_userdata(conn, &server_over_limit_marker);
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
        void *u = server_call_of(link);

        if (u && u != &server_over_limit_marker)
                load_call_cancel(u);
        server_monitor_drop(s, link);
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
                MODCOALESCED_INTERFACE ".ListLoads", vl_method_ListLoads,
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
        engine_set_event_func(engine, server_on_engine_event, s);
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

unsigned server_n_monitors(const Server *s)
{
        unsigned n = 0;

        for (size_t i = 0; i < SERVER_MAX_MONITORS; i++)
                n += !!s->monitors[i];
        return n;
}
