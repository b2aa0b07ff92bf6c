/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* config-watch.h — notices changes inside the modprobe.d directories, edits of an existing file
 * included, which libkmod's own check (kmod_validate_resources(): the directories' times) misses.
 * An inotify descriptor watched by sd-event, at a priority above the varlink connections', so
 * that the change is marked before any call that arrives after it is handled: asking costs
 * nothing. */
#pragma once

#include <systemd/sd-event.h>

typedef struct ConfigWatch ConfigWatch;

/* Watches PATHS (directories or files; NULL: libkmod's default modprobe.d directories) on the
 * event loop. Paths that do not exist are not watched: libkmod's check notices their creation. */
int config_watch_new(ConfigWatch **ret, sd_event *event, char *const *paths);
ConfigWatch *config_watch_free(ConfigWatch *w);

/* 1 when anything changed since the last call (or events were lost), 0 when nothing did, as far
 * as the event loop has seen. */
int config_watch_changed(ConfigWatch *w);
