/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* connection.c — see connection.h. Sockets are watched edge-triggered: level-triggered, every
 * epoll_wait() polls again each of the sockets that are ready but not yet dispatched (one per
 * loop iteration), which a burst of thousands made quadratic in the kernel. A peer that hung up
 * (EPOLLHUP: both directions gone) is closed once everything it sent is processed: sd-varlink
 * would notice it only through a POLLHUP that the public API cannot hand it, or when a write
 * fails, and a waiting client that vanished must be cancelled at once, not when its module is
 * loaded. */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>

#include "connection.h"
#include "list.h"
#include "log.h"

struct Connection {
        ConnectionSet *set;
        sd_varlink *link;
        sd_event_source *io;
        uint32_t events; /* what sd-varlink asked for last (EPOLLET aside) */
        void *userdata;
        bool hangup; /* the peer is gone: close once what it sent is processed */
        bool kicked; /* on set->kicked */
        bool busy; /* inside connection_process() */
        bool dead; /* freed while busy: free at the end of the processing */
        LIST_FIELDS(Connection, all);
        LIST_FIELDS(Connection, kicked);
};

struct ConnectionSet {
        sd_event *event;
        sd_event_source *defer;
        LIST_HEAD(Connection) all;
        LIST_HEAD(Connection) kicked;
        unsigned n_all, n_kicked;
};

static void connection_destroy(Connection *c)
{
        ConnectionSet *set = c->set;

        if (c->kicked) {
                LIST_REMOVE(kicked, set->kicked, c);
                set->n_kicked--;
        }
        LIST_REMOVE(all, set->all, c);
        set->n_all--;
        sd_event_source_disable_unref(c->io);
        if (sd_varlink_get_userdata(c->link) == c)
                sd_varlink_set_userdata(c->link, NULL);
        sd_varlink_unref(c->link);
        free(c);
}

static void connection_update_events(Connection *c)
{
        int e = sd_varlink_get_events(c->link);

        if (e < 0 || (uint32_t) e == c->events)
                return;
        if (sd_event_source_set_io_events(c->io, (uint32_t) e | EPOLLET) >= 0)
                c->events = (uint32_t) e;
}

/* Runs sd-varlink's state machine until it has nothing left to do, or for CONNECTION_STEPS_MAX
 * steps and then again later (kicked). Nothing left to do means the socket was read until EAGAIN
 * or sd-varlink reads no more for now (a call is waiting for its reply, whose sending kicks the
 * connection): so the socket can be watched edge-triggered. */
static void connection_process(Connection *c)
{
        int k = 0;

        c->busy = true;
        for (unsigned i = 0; i < CONNECTION_STEPS_MAX && !c->dead; i++) {
                k = sd_varlink_process(c->link);
                /* An error begins the disconnect, which the next steps carry out. */
                if (k == 0 || k == -ENOTCONN)
                        break;
        }
        if (!c->dead && k != 0 && k != -ENOTCONN)
                connection_kick(c);
        else if (!c->dead && c->hangup)
                (void) sd_varlink_close(c->link);
        if (!c->dead)
                connection_update_events(c);
        c->busy = false;
        if (c->dead)
                connection_destroy(c);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Connection *c = userdata;

        if (revents & (EPOLLHUP | EPOLLERR))
                c->hangup = true;
        connection_process(c);
        return 0;
}

static int on_kicked(sd_event_source *s, void *userdata)
{
        ConnectionSet *set = userdata;

        /* Those kicked while this runs (a reply makes a Monitor event) wait for the next turn. */
        for (unsigned n = set->n_kicked; n > 0; n--) {
                Connection *c = LIST_POP(kicked, set->kicked);

                if (!c)
                        break;
                set->n_kicked--;
                c->kicked = false;
                connection_process(c);
        }
        if (LIST_IS_EMPTY(set->kicked))
                (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        return 0;
}

int connection_set_new(ConnectionSet **ret, sd_event *event)
{
        _cleanup_(connection_set_freep) ConnectionSet *set = NULL;
        int k;

        set = calloc(1, sizeof(*set));
        if (!set)
                return -ENOMEM;
        set->event = sd_event_ref(event);
        k = sd_event_add_defer(event, &set->defer, on_kicked, set);
        if (k < 0)
                return k;
        (void) sd_event_source_set_description(set->defer, "varlink-kicked");
        k = sd_event_source_set_enabled(set->defer, SD_EVENT_OFF);
        if (k < 0)
                return k;
        *ret = TAKE_PTR(set);
        return 0;
}

ConnectionSet *connection_set_free(ConnectionSet *set)
{
        Connection *c;

        if (!set)
                return NULL;
        while ((c = set->all.head)) {
                c->busy = true;
                /* Best effort, never blocking: what is queued and fits into the socket. */
                for (unsigned i = 0; i < CONNECTION_STEPS_MAX && !c->dead; i++)
                        if (sd_varlink_process(c->link) <= 0)
                                break;
                c->io = sd_event_source_disable_unref(c->io);
                (void) sd_varlink_close(c->link);
                /* Freed by the disconnect callback, or by us if there is none. */
                connection_destroy(c);
        }
        sd_event_source_disable_unref(set->defer);
        sd_event_unref(set->event);
        free(set);
        return NULL;
}

unsigned connection_set_size(const ConnectionSet *set)
{
        return set->n_all;
}

int connection_new(Connection **ret, ConnectionSet *set, sd_varlink *link)
{
        Connection *c;
        int fd, k;

        fd = sd_varlink_get_fd(link);
        if (fd < 0)
                return fd;
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        *c = (Connection){ .set = set, .events = EPOLLIN };
        k = sd_event_add_io(set->event, &c->io, fd, c->events | EPOLLET, on_io, c);
        if (k < 0) {
                free(c);
                return k;
        }
        (void) sd_event_source_set_description(c->io, "varlink-connection");
        c->link = sd_varlink_ref(link);
        sd_varlink_set_userdata(link, c);
        LIST_APPEND(all, set->all, c);
        set->n_all++;
        if (ret)
                *ret = c;
        return 0;
}

void connection_free(Connection *c)
{
        if (!c)
                return;
        /* Out of epoll now, before sd-varlink closes the socket: a forked child (an install
         * command) may still hold the socket, and an epoll entry outlives the close of our
         * descriptor as long as the file lives, with a pointer to a freed source. */
        c->io = sd_event_source_disable_unref(c->io);
        if (c->busy) {
                c->dead = true;
                return;
        }
        connection_destroy(c);
}

Connection *connection_of(sd_varlink *link)
{
        return sd_varlink_get_userdata(link);
}

void *connection_get_userdata(const Connection *c)
{
        return c->userdata;
}

void connection_set_userdata(Connection *c, void *userdata)
{
        c->userdata = userdata;
}

void connection_kick(Connection *c)
{
        if (!c || c->kicked || c->dead)
                return;
        c->kicked = true;
        LIST_APPEND(kicked, c->set->kicked, c);
        c->set->n_kicked++;
        (void) sd_event_source_set_enabled(c->set->defer, SD_EVENT_ON);
}
