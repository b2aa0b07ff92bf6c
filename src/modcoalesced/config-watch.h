/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* config-watch.h — notices changes of what the resolver's answers depend on: the module
 * directory (depmod replaces its modules.*.bin) and the modprobe.d files and directories, edits
 * of an existing file included, which libkmod's own check (kmod_validate_resources(): the
 * directories' times) misses. One inotify descriptor, read when the resolver asks: a call that
 * arrives after a change always sees it (the kernel queued the event before the change
 * returned). When every input is covered (watched, or a missing directory's parent watched for
 * its creation), the resolver needs no other check: asking costs one read() that finds nothing,
 * where libkmod's check costs a stat() per index and configuration path on every request. */
#pragma once

#include <stdbool.h>

#include "cleanup.h"

typedef struct ConfigWatch ConfigWatch;

/* libkmod 34's default modprobe.d directories, as Debian builds it: the resolver hands this list
 * to libkmod explicitly, so that what is read is what is watched. */
char *const *config_watch_default_paths(void);

/* Watches module_dir (NULL: none) and PATHS (directories or files; NULL: the default
 * directories above). A path that does not exist is covered through its parent, for its
 * creation; where that fails too, the watch is not complete (config_watch_complete()). */
int config_watch_new(ConfigWatch **ret, const char *module_dir, char *const *paths);
ConfigWatch *config_watch_free(ConfigWatch *w);
DEFINE_POINTER_CLEANUP_FUNC(ConfigWatch, config_watch_free);

/* 1 when anything watched changed since the last call (or events were lost, or the descriptor
 * cannot be read), 0 when nothing did. A change ends the watch's use: watches of replaced
 * files and directories are stale, so the caller makes a new one. */
int config_watch_changed(ConfigWatch *w);

/* Whether every path and the module directory are covered: then config_watch_changed() == 0
 * means that nothing changed. */
bool config_watch_complete(const ConfigWatch *w);
