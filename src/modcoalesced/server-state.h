/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* server-state.h — the Server as its method handlers see it (server-load.c, server-query.c,
 * server-monitor.c, server.c). Nothing outside the varlink service includes this. */
#pragma once

#include <systemd/sd-varlink.h>

#include "connection.h"
#include "engine.h"
#include "listener.h"
#include "resolver.h"
#include "server-config.h"

typedef struct Server Server;

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

/* Marks a connection beyond the connection limit: its calls get TooManyRequests. */
extern char server_over_limit_marker;

static inline Server *server_of(sd_varlink *link)
{
        return sd_varlink_server_get_userdata(sd_varlink_get_server(link));
}

/* What a connection is busy with: NULL, its waiting LoadCall, or &server_over_limit_marker. */
static inline void *server_call_of(sd_varlink *link)
{
        Connection *conn = connection_of(link);

        return conn ? connection_get_userdata(conn) : NULL;
}

/* Methods without parameters still refuse unknown ones (InvalidParameter). */
static inline int server_dispatch_no_parameters(sd_varlink *link, sd_json_variant *parameters)
{
        static const sd_json_dispatch_field table[] = { {} };

        return sd_varlink_dispatch(link, parameters, table, NULL);
}
