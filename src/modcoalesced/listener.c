/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* listener.c — see listener.h. A callback of ours never returns an error to sd-event: that
 * would disable the source for good, which is the failure this file exists to avoid. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

#include "listener.h"
#include "log.h"

#define LISTENER_SOCKETS_MAX 8u

struct Listener {
        sd_event *event;
        ListenerAcceptFunc accept;
        void *userdata;
        int fds[LISTENER_SOCKETS_MAX];
        bool owned[LISTENER_SOCKETS_MAX]; /* ours to close (not systemd's) */
        sd_event_source *sources[LISTENER_SOCKETS_MAX];
        size_t n_sockets;
        sd_event_source *resume_source;
        bool paused, stopped;
        unsigned n_pauses;
};

static void listener_enable(Listener *l, bool b)
{
        for (size_t i = 0; i < l->n_sockets; i++)
                (void) sd_event_source_set_enabled(l->sources[i], b ? SD_EVENT_ON : SD_EVENT_OFF);
}

static void listener_pause(Listener *l, int error)
{
        /* Loud once per episode: a flood that keeps the descriptors used up pauses again and
         * again. */
        if (!l->paused)
                log_warning_errno(error, "Cannot accept connections (%m); pausing for %u ms.",
                        (unsigned) (LISTENER_PAUSE_USEC / USEC_PER_MSEC));
        l->paused = true;
        l->n_pauses++;
        listener_enable(l, false);
        (void) sd_event_source_set_time_relative(l->resume_source, LISTENER_PAUSE_USEC);
        (void) sd_event_source_set_enabled(l->resume_source, SD_EVENT_ONESHOT);
}

static int on_resume(sd_event_source *s, uint64_t usec, void *userdata)
{
        Listener *l = userdata;

        if (!l->stopped)
                listener_enable(l, true);
        return 0;
}

static int on_connection(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Listener *l = userdata;

        for (unsigned i = 0; i < LISTENER_ACCEPT_BATCH; i++) {
                int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

                if (cfd < 0) {
                        if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
                                return 0;
                        /* EMFILE, ENFILE, ENOBUFS, ENOMEM, or anything unexpected: a level-
                         * triggered source would spin on it. */
                        listener_pause(l, errno);
                        return 0;
                }
                if (l->paused) {
                        log_info("Accepting connections again.");
                        l->paused = false;
                }
                l->accept(cfd, l->userdata);
        }
        return 0;
}

int listener_new(Listener **ret, sd_event *e, ListenerAcceptFunc f, void *userdata)
{
        _cleanup_(listener_freep) Listener *l = NULL;
        int r;

        l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        l->event = sd_event_ref(e);
        l->accept = f;
        l->userdata = userdata;
        r = sd_event_add_time(
                e, &l->resume_source, CLOCK_MONOTONIC, USEC_INFINITY, 0, on_resume, l);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(l->resume_source, SD_EVENT_OFF);
        (void) sd_event_source_set_description(l->resume_source, "listener-resume");
        *ret = TAKE_PTR(l);
        return 0;
}

Listener *listener_free(Listener *l)
{
        if (!l)
                return NULL;
        for (size_t i = 0; i < l->n_sockets; i++) {
                sd_event_source_disable_unref(l->sources[i]);
                if (l->owned[i])
                        safe_close(l->fds[i]);
        }
        sd_event_source_disable_unref(l->resume_source);
        sd_event_unref(l->event);
        free(l);
        return NULL;
}

static int listener_add_fd(Listener *l, int fd, bool owned)
{
        int flags, r;

        if (l->n_sockets >= LISTENER_SOCKETS_MAX)
                return -EMFILE;
        flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
                return -errno;
        r = sd_event_add_io(l->event, &l->sources[l->n_sockets], fd, EPOLLIN, on_connection, l);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(l->sources[l->n_sockets], "listener");
        if (l->stopped || l->paused)
                (void) sd_event_source_set_enabled(l->sources[l->n_sockets], SD_EVENT_OFF);
        l->fds[l->n_sockets] = fd;
        l->owned[l->n_sockets] = owned;
        l->n_sockets++;
        return 0;
}

int listener_add_auto(Listener *l)
{
        char **names = NULL;
        int n, r = 0, added = 0;

        n = sd_listen_fds_with_names(false, &names);
        if (n < 0)
                return n;
        for (int i = 0; i < n && r >= 0; i++) {
                int fd = SD_LISTEN_FDS_START + i, listening = 0;
                socklen_t len = sizeof(listening);

                if (strcmp(names[i], "varlink") != 0)
                        continue;
                if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0) {
                        r = -errno;
                        break;
                }
                if (listening)
                        r = listener_add_fd(l, fd, false);
                else
                        l->accept(fd, l->userdata);
                added++;
        }
        strv_free(names);
        return r < 0 ? r : added;
}

int listener_add_address(Listener *l, const char *path, mode_t mode)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_free_ char *dir = NULL;
        _cleanup_close_ int fd = -EBADF;
        mode_t old;
        int r;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        dir = strdup(path);
        if (!dir)
                return -ENOMEM;
        if (mkdir(dirname(dir), 0755) < 0 && errno != EEXIST)
                return -errno;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        (void) unlink(path);
        old = umask(~mode & 0777);
        r = bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 ? -errno : 0;
        umask(old);
        if (r < 0)
                return r;
        if (listen(fd, SOMAXCONN) < 0)
                return -errno;
        r = listener_add_fd(l, fd, true);
        if (r < 0)
                return r;
        TAKE_FD(fd);
        return 0;
}

void listener_stop(Listener *l)
{
        l->stopped = true;
        listener_enable(l, false);
        (void) sd_event_source_set_enabled(l->resume_source, SD_EVENT_OFF);
}

unsigned listener_n_pauses(const Listener *l)
{
        return l->n_pauses;
}
