/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* config-watch.h — notices changes inside the modprobe.d directories, edits of an existing file
 * included, which libkmod's own check (kmod_validate_resources(): the directories' times) misses.
 * An inotify descriptor, read without blocking: asking costs one read() when nothing changed. */
#pragma once

typedef struct ConfigWatch ConfigWatch;

/* Watches PATHS (directories or files; NULL: libkmod's default modprobe.d directories). Paths
 * that do not exist are not watched: libkmod's check notices their creation. */
int config_watch_new(ConfigWatch **ret, char *const *paths);
ConfigWatch *config_watch_free(ConfigWatch *w);

/* 1 when anything changed since the last call (or events were lost), 0 when nothing did. */
int config_watch_changed(ConfigWatch *w);
