/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ask.c — a Load asked again while the daemon answers TimedOut, until the caller's deadline. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "ask.h"
#include "cleanup.h"
#include "reply.h"
#include "varlink-idl.h"

static unsigned seconds_left(const struct timespec *deadline)
{
        struct timespec now;
        long long ms;

        clock_gettime(CLOCK_MONOTONIC, &now);
        ms = (deadline->tv_sec - now.tv_sec) * 1000LL + (deadline->tv_nsec - now.tv_nsec) / 1000000;
        return ms <= 0 ? 0 : (unsigned) ((ms + 999) / 1000);
}

int ask_daemon(const char *socket, unsigned connect_timeout_sec, const char *req, size_t n,
        const char *again, size_t n_again, unsigned budget_sec, AskOutcome *out)
{
        struct timespec deadline, round_end;
        unsigned left;
        int k;

        *out = (AskOutcome){};
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += budget_sec;

        while ((left = seconds_left(&deadline)) > 0) {
                _cleanup_free_ char *reply = NULL;
                _cleanup_close_ int fd = -EBADF;
                size_t reply_size = 0;

                clock_gettime(CLOCK_MONOTONIC, &round_end);
                round_end.tv_sec += 1;
                /* A later round's connect, too, ends by the deadline. */
                fd = reply_connect_timeout(
                        socket, connect_timeout_sec < left ? connect_timeout_sec : left);
                if (fd == -EAGAIN)
                        return -EAGAIN;
                if (fd < 0)
                        return -ENOTCONN;
                k = reply_exchange(fd, req, n, left, &reply, &reply_size);
                if (k == -ETIMEDOUT)
                        return -ETIMEDOUT; /* the daemon has the request and a load runs */
                if (k < 0)
                        return -ECONNRESET;
                k = reply_error_id(reply, reply_size, out->error, sizeof(out->error));
                if (k <= 0)
                        return k;
                if (strcmp(out->error, VL_ERROR_TIMED_OUT) != 0)
                        return 1;
                /* Still loading: ask again, which joins the load in flight (not more than once
                 * a second, whatever answers TimedOut). */
                out->timed_out++;
                if (again) {
                        req = again;
                        n = n_again;
                }
                if (round_end.tv_sec > deadline.tv_sec ||
                        (round_end.tv_sec == deadline.tv_sec &&
                                round_end.tv_nsec > deadline.tv_nsec))
                        round_end = deadline;
                if (seconds_left(&round_end) > 0)
                        (void) clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &round_end, NULL);
        }
        return -ETIMEDOUT;
}
