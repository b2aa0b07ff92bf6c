/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* connection.h — the daemon's varlink connections, driven on sd-event here instead of by
 * sd_varlink_attach_event(). That one gives each connection a prepare callback, and sd-event runs
 * every prepare callback on every loop iteration while dispatching one event per iteration: a
 * burst of N connections, all waiting for one module, cost O(N²) (1024 at once took seconds,
 * 4000 half a minute). Here a connection costs nothing while it waits: its socket is watched
 * for what sd-varlink asks for (EPOLLIN, EPOLLOUT, or hang-ups only), and a connection that got
 * something to send outside of its own processing (a deferred reply, a Monitor event) is kicked
 * onto one list, which one defer source works off in a single dispatch.
 *
 * A Connection is the sd_varlink's userdata; the user's own per-connection data hangs off it.
 * The Connection ends when the varlink server reports the disconnect (connection_free() from
 * the disconnect callback); sd-varlink's processing may close a connection at any step, and
 * freeing it inside its own processing is deferred to the end of that processing. */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>
#include <systemd/sd-varlink.h>

#include "cleanup.h"

/* sd_varlink_process() steps one connection may take per turn before the others get theirs: a
 * client pipelining calls cannot hold the event loop. */
#define CONNECTION_STEPS_MAX 32u

typedef struct ConnectionSet ConnectionSet;
typedef struct Connection Connection;

int connection_set_new(ConnectionSet **ret, sd_event *event);
/* Closes every connection left (what is queued for it and fits into its socket is sent first),
 * then frees the set. */
ConnectionSet *connection_set_free(ConnectionSet *set);
DEFINE_POINTER_CLEANUP_FUNC(ConnectionSet, connection_set_free);
unsigned connection_set_size(const ConnectionSet *set);

/* Drives link, a server connection that is not attached to an event loop, from now on: takes a
 * reference on it and becomes its userdata. */
int connection_new(Connection **ret, ConnectionSet *set, sd_varlink *link);
/* From the disconnect callback (or for a link that was never served). Accepts NULL. */
void connection_free(Connection *c);
/* The Connection of a link driven here, or NULL. */
Connection *connection_of(sd_varlink *link);

void *connection_get_userdata(const Connection *c);
void connection_set_userdata(Connection *c, void *userdata);
/* Something was queued on the connection outside of its own processing: send it soon. */
void connection_kick(Connection *c);
