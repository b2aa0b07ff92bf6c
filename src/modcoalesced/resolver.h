/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* resolver.h — turns a request (a MODALIAS, or module names/aliases, with optional parameters)
 * into a Plan, with libkmod doing every lookup and all of modprobe.d. One libkmod context, used
 * from one thread only: libkmod is not thread-safe. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "cleanup.h"
#include "plan.h"

typedef struct Resolver Resolver;

/* Identical requests (the per-CPU storm) are answered from this cache; when it is full it is
 * dropped whole rather than grown, so a client cannot make it unbounded. */
#define RESOLVER_CACHE_MAX 4096u

typedef struct ResolverStats {
        uint64_t lookups;
        uint64_t cache_hits;
        uint64_t reloads; /* the module index or modprobe.d changed: cache dropped */
        uint64_t checks; /* libkmod's own check of its inputs (a stat() each): no complete watch */
} ResolverStats;

/* module_dir: the tree with modules.dep.bin (NULL: /lib/modules/`uname -r`); config_paths:
 * modprobe.d files or directories (NULL: libkmod's defaults). Both are kept for reloads. watch:
 * a resolver that lives long (the daemon's) watches them (config-watch.h): it notices edits of
 * modprobe.d files that libkmod's own check misses, and needs no check at all while nothing
 * changes; false for a resolver that lives for one answer. */
int resolver_new(
        Resolver **ret, bool watch, const char *module_dir, const char *const *config_paths);
Resolver *resolver_free(Resolver *r);
DEFINE_POINTER_CLEANUP_FUNC(Resolver, resolver_free);

/* A device's MODALIAS, as udev's builtin resolves it: blacklist applied (modprobe -b).
 * -ENOENT: nothing matches ("no driver"); -EINVAL/-ENAMETOOLONG: malformed input. */
int resolver_resolve_modalias(Resolver *r, const char *modalias, const char *params, Plan **ret);

/* Module names or aliases, as `modprobe -a` resolves them: blacklist applied to aliases only.
 * -ENOENT: a name matched nothing; *ret_missing (optional, owned by the caller) names it. */
int resolver_resolve_names(
        Resolver *r, char *const *names, const char *params, Plan **ret, char **ret_missing);

/* The same as `modprobe -a -b` resolves them (modprobe@.service): blacklist applied to the
 * names too, a blacklisted name lands in the plan's blacklisted matches. */
int resolver_resolve_names_blacklisted(
        Resolver *r, char *const *names, const char *params, Plan **ret, char **ret_missing);

/* Checks whether the index or configuration changed since the last look and reloads if so.
 * Returns 1 when it reloaded, 0 when nothing changed, < 0 on error. */
int resolver_refresh(Resolver *r);

/* Bumped on every reload: lets callers drop what they derived from an older tree. */
uint64_t resolver_generation(const Resolver *r);
const char *resolver_module_dir(const Resolver *r);
ResolverStats resolver_stats(const Resolver *r);
