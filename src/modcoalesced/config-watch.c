/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* config-watch.c — see config-watch.h. Any event counts: the resolver then reloads everything,
 * which is cheap next to a stale plan (a blacklist that is not honoured). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "cleanup.h"
#include "config-watch.h"
#include "log.h"

/* libkmod 34's default configuration directories (libkmod.c). */
static char *const default_paths[] = {
        (char *) "/etc/modprobe.d",
        (char *) "/run/modprobe.d",
        (char *) "/usr/local/lib/modprobe.d",
        (char *) "/usr/lib/modprobe.d",
        (char *) "/lib/modprobe.d",
        NULL,
};

#define WATCH_MASK                                                                                 \
        (IN_CLOSE_WRITE | IN_MODIFY | IN_ATTRIB | IN_CREATE | IN_DELETE | IN_MOVED_FROM |          \
                IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF)

struct ConfigWatch {
        int fd;
        sd_event_source *source;
        bool dirty;
};

static int on_inotify(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        ConfigWatch *w = userdata;

        /* Drained, so that the level-triggered source goes quiet until the next change. */
        for (;;) {
                ssize_t n = read(fd, buf, sizeof(buf));

                if (n > 0) {
                        w->dirty = true;
                        continue;
                }
                if (n < 0 && errno == EINTR)
                        continue;
                /* EAGAIN: drained. Anything else: say "changed", a reload is always safe. */
                if (n < 0 && errno != EAGAIN)
                        w->dirty = true;
                return 0;
        }
}

int config_watch_new(ConfigWatch **ret, sd_event *event, char *const *paths)
{
        _cleanup_close_ int fd = -EBADF;
        ConfigWatch *w;
        int r;

        fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (fd < 0)
                return -errno;
        for (char *const *p = paths ?: default_paths; *p; p++)
                if (inotify_add_watch(fd, *p, WATCH_MASK) < 0 && errno != ENOENT &&
                        errno != ENOTDIR)
                        log_debug_errno(errno, "Cannot watch %s: %m", *p);
        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->fd = TAKE_FD(fd);
        r = sd_event_add_io(event, &w->source, w->fd, EPOLLIN, on_inotify, w);
        if (r < 0) {
                config_watch_free(w);
                return r;
        }
        (void) sd_event_source_set_priority(w->source, SD_EVENT_PRIORITY_IMPORTANT);
        (void) sd_event_source_set_description(w->source, "config-watch");
        *ret = w;
        return 0;
}

ConfigWatch *config_watch_free(ConfigWatch *w)
{
        if (!w)
                return NULL;
        sd_event_source_disable_unref(w->source);
        safe_close(w->fd);
        free(w);
        return NULL;
}

int config_watch_changed(ConfigWatch *w)
{
        bool dirty = w->dirty;

        w->dirty = false;
        return dirty;
}
