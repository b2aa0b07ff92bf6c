/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* listener.h — the daemon's listening sockets, accepted here rather than by sd-varlink, whose
 * accept handler gives up for good after the first EMFILE (sd-event disables a source whose
 * callback fails): a daemon out of descriptors would never take a connection again. Out of
 * descriptors or memory, a listener pauses briefly and tries again; every accepted connection
 * goes to one callback, which owns it from then on. */
#pragma once

#include <sys/types.h>
#include <systemd/sd-event.h>

#include "cleanup.h"
#include "time-util.h"

/* How long accepting pauses when the process is out of descriptors or memory. */
#define LISTENER_PAUSE_USEC (100 * USEC_PER_MSEC)
/* Connections accepted per wake-up: a burst costs few event loop iterations. */
#define LISTENER_ACCEPT_BATCH 64u

typedef struct Listener Listener;
/* Takes the connected socket (non-blocking, close-on-exec): it must keep or close it. */
typedef void (*ListenerAcceptFunc)(int fd, void *userdata);

int listener_new(Listener **ret, sd_event *e, ListenerAcceptFunc f, void *userdata);
Listener *listener_free(Listener *l);
DEFINE_POINTER_CLEANUP_FUNC(Listener, listener_free);

/* Sockets passed by systemd and named "varlink" (FileDescriptorName=varlink); returns how many.
 * A connected socket among them (Accept=yes) goes straight to the callback. */
int listener_add_auto(Listener *l);
/* A socket of our own at path, with its parent directory (mode 0755) and this mode. */
int listener_add_address(Listener *l, const char *path, mode_t mode);
/* Stops accepting for good: new connections stay queued in the socket, which systemd keeps for
 * the next activation. */
void listener_stop(Listener *l);
/* How often accepting paused for lack of descriptors or memory. */
unsigned listener_n_pauses(const Listener *l);
