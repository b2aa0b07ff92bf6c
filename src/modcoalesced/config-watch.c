/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* config-watch.c — see config-watch.h. Any event on a watched path counts: the resolver then
 * reloads everything, which is cheap next to a stale plan (a blacklist that is not honoured). On
 * the parent of a missing path, only that path's creation counts (/run changes all the time). */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
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
#define PARENT_MASK (IN_CREATE | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF)

typedef struct Watch {
        int wd;
        char *child; /* on a missing path's parent: the name whose creation counts; else NULL */
} Watch;

struct ConfigWatch {
        int fd;
        Watch *watches;
        size_t n_watches;
        bool complete;
};

/* IN_MASK_ADD: two paths may share a directory (a watched one, and the parent of a missing
 * one), which inotify gives one watch descriptor. */
static int watch_add(ConfigWatch *w, const char *path, uint32_t mask, const char *child)
{
        Watch *n;
        int wd;

        wd = inotify_add_watch(w->fd, path, mask | IN_MASK_ADD);
        if (wd < 0)
                return -errno;
        n = reallocarray(w->watches, w->n_watches + 1, sizeof(Watch));
        if (!n)
                return -ENOMEM;
        w->watches = n;
        n[w->n_watches] = (Watch){ .wd = wd, .child = child ? strdup(child) : NULL };
        if (child && !n[w->n_watches].child)
                return -ENOMEM;
        w->n_watches++;
        return 0;
}

/* The path itself, or, when it does not exist, its parent for its creation. */
static int watch_path(ConfigWatch *w, const char *path)
{
        char parent[PATH_MAX];
        const char *slash;
        int r;

        r = watch_add(w, path, WATCH_MASK, NULL);
        if (r != -ENOENT && r != -ENOTDIR)
                return r;
        slash = strrchr(path, '/');
        if (!slash || !slash[1] || (size_t) (slash - path) >= sizeof(parent))
                return r;
        memcpy(parent, path, slash - path);
        parent[slash - path] = '\0';
        return watch_add(w, parent[0] ? parent : "/", PARENT_MASK, slash + 1);
}

/* -ENOMEM is fatal; any other failure leaves the watch incomplete. */
static int watch_input(ConfigWatch *w, const char *path, bool module_dir)
{
        int r = module_dir ? watch_add(w, path, WATCH_MASK, NULL) : watch_path(w, path);

        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                log_debug_errno(
                        r, "Cannot watch %s%s: %m", path, module_dir ? "" : " or its parent");
                w->complete = false;
        }
        return 0;
}

char *const *config_watch_default_paths(void)
{
        return default_paths;
}

int config_watch_new(ConfigWatch **ret, const char *module_dir, char *const *paths)
{
        _cleanup_(config_watch_freep) ConfigWatch *w = NULL;

        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->complete = true;
        w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (w->fd < 0)
                return -errno;
        if (module_dir && watch_input(w, module_dir, true) < 0)
                return -ENOMEM;
        for (char *const *p = paths ?: default_paths; *p; p++)
                if (watch_input(w, *p, false) < 0)
                        return -ENOMEM;
        *ret = TAKE_PTR(w);
        return 0;
}

ConfigWatch *config_watch_free(ConfigWatch *w)
{
        if (!w)
                return NULL;
        safe_close(w->fd);
        for (size_t i = 0; i < w->n_watches; i++)
                free(w->watches[i].child);
        free(w->watches);
        free(w);
        return NULL;
}

static bool event_counts(const ConfigWatch *w, const struct inotify_event *ev)
{
        if (ev->mask & (IN_Q_OVERFLOW | IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF))
                return true;
        for (size_t i = 0; i < w->n_watches; i++)
                if (w->watches[i].wd == ev->wd &&
                        (!w->watches[i].child ||
                                (ev->len > 0 && strcmp(ev->name, w->watches[i].child) == 0)))
                        return true;
        return false;
}

int config_watch_changed(ConfigWatch *w)
{
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        bool changed = false;

        for (;;) {
                ssize_t n = read(w->fd, buf, sizeof(buf));

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return changed;
                if (n <= 0)
                        return 1; /* Cannot tell: a reload is always safe. */
                for (char *p = buf; p < buf + n;) {
                        const struct inotify_event *ev = (const struct inotify_event *) p;

                        changed = changed || event_counts(w, ev);
                        p += sizeof(struct inotify_event) + ev->len;
                }
        }
}

bool config_watch_complete(const ConfigWatch *w)
{
        return w->complete;
}
