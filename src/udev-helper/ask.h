/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ask.h — one Load asked of the daemon until a deadline, as the udev helper and the kernel's
 * modprobe shim both do: the daemon's TimedOut (its own request timeout) means the load is still
 * running, so the call is made again, which joins that load, at most once a second, until the
 * caller's deadline. A second loader would only repeat the load (on the .ko.zst path, a second
 * full load in the kernel). */
#pragma once

#include <stddef.h>

typedef struct AskOutcome {
        unsigned timed_out; /* TimedOut answers before the outcome */
        char error[256]; /* the error id when ask_daemon() returned 1 */
} AskOutcome;

/* Sends the Load call req (n bytes, its NUL included) on a new connection to the daemon at
 * socket, each connect() bounded by connect_timeout_sec (its backlog full: see
 * reply_connect_timeout()), until budget_sec have passed; after a TimedOut, again (n_again
 * bytes) instead when that is not NULL. Returns 0 when the daemon answered
 * without an error; 1 with any error other than TimedOut in out->error; -ETIMEDOUT when the
 * budget ended while the load was still running (TimedOut answers, or no answer yet);
 * -EAGAIN when no connection was accepted within connect_timeout_sec; -ENOTCONN when the daemon
 * is not reachable (no socket, nobody listening); -ECONNRESET when it went away before it
 * answered; -EBADMSG for an answer that is not one. */
int ask_daemon(const char *socket, unsigned connect_timeout_sec, const char *req, size_t n,
        const char *again, size_t n_again, unsigned budget_sec, AskOutcome *out);
