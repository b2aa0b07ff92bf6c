/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* server.h — the varlink service: io.modcoalesced.Manager's methods on top of the resolver and
 * the engine, with deferred Load replies, per-client limits and the peer checks. The only place
 * where -errno becomes a wire error. */
#pragma once

#include <systemd/sd-event.h>

#include "cleanup.h"
#include "engine.h"
#include "load-params.h"
#include "resolver.h"
#include "server-config.h"

typedef struct Server Server;

int server_new(Server **ret, sd_event *event, Engine *engine, Resolver *resolver,
        const ServerConfig *config);
Server *server_free(Server *s);
DEFINE_POINTER_CLEANUP_FUNC(Server, server_free);

/* Sockets passed by systemd (FileDescriptorName=varlink); returns how many, 0 if none. */
int server_listen_auto(Server *s);
/* A socket of our own (manual runs, tests), created with its parent directory. Sockets are
 * accepted by a Listener (listener.h), which survives running out of descriptors. */
int server_listen_address(Server *s, const char *path, mode_t mode);
/* A socket that is already connected (one end of a socketpair: tests, fuzzers), served like an
 * accepted connection. The server owns fd on success. */
int server_add_connection(Server *s, int fd);
/* Stop taking connections: new ones stay queued in the socket, which systemd keeps for the
 * next activation. Calls on the connections already open are still served (the drain waits for
 * them too); only those read once the server is freed get ShuttingDown. */
void server_stop_accepting(Server *s);

unsigned server_n_connections(const Server *s);
/* The connection limit in force (max_connections, maybe lowered to fit RLIMIT_NOFILE). */
unsigned server_max_connections(const Server *s);
unsigned server_n_pending(const Server *s);
/* Monitor calls attached (at most SERVER_MAX_MONITORS). */
unsigned server_n_monitors(const Server *s);
