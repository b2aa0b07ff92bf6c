/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* plan.h — a load plan: the modules one request needs, in modprobe's load order, plus the
 * matches that need no load (builtin) or must not be loaded (blacklisted). Plans are immutable
 * once built and reference-counted: the resolver's cache and every request share one.
 *
 * The order is a topological one, and a request need not follow it step by step: a module may
 * load as soon as the modules it comes `after` have settled (its hard dependencies, its softdep
 * pre: modules, the module it is a softdep post: of, every module before an install command or
 * before it if it has one, and the target of the match before, except for a CPU's MODALIAS), so
 * the independent modules of a plan load side by side and the plan costs its longest chain. A plan built without that knowledge (ordered == false: by hand,
 * in tests and tools) is walked one module after the other. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cleanup.h"

typedef enum Compression {
        COMPRESSION_NONE,
        COMPRESSION_XZ,
        COMPRESSION_ZSTD,
        COMPRESSION_GZIP,
        _COMPRESSION_MAX,
} Compression;

const char *compression_to_string(Compression c);
/* From the file name depmod indexed (".ko", ".ko.xz", ".ko.zst", ".ko.gz"); the loader checks
 * the magic bytes again before it decompresses anything. */
Compression compression_from_path(const char *path);
/* "xz", "zstd", "gzip" (as /sys/module/compression says; trailing newline allowed); else none. */
Compression compression_from_string(const char *s);

typedef struct PlanModule {
        char *name;
        char *path;
        dev_t dev; /* (dev, ino) of path; both 0 when it could not be stat'ed */
        ino_t ino;
        Compression compression;
        char *parameters; /* modprobe.d options + kernel command line + request; never NULL */
        char *install_command; /* modprobe.d "install" command as written, or NULL */
        bool soft; /* reached only through a softdep: its failure is ignored */
        bool target; /* matched by the lookup itself, not a dependency */
        /* A lookup can match several modules (a MODALIAS with two drivers, several names):
         * each match is a group, loaded independently as udev and modprobe -a do. Bit i (bit 63
         * for the 64th match and beyond) is set in groups when match i needs this module at
         * all, and in hard_groups when match i is this module or needs it as a hard dependency. */
        uint64_t groups;
        uint64_t hard_groups;
        /* Indices of the earlier modules that must settle before this one starts. */
        uint32_t *after;
        uint32_t n_after;
} PlanModule;

#define PLAN_GROUP_BIT(i) (UINT64_C(1) << ((i) < 63 ? (i) : 63))

typedef struct Plan {
        unsigned n_ref;
        PlanModule *modules;
        size_t n_modules;
        char **builtin; /* NULL-terminated, never NULL */
        char **blacklisted; /* NULL-terminated, never NULL */
        bool ordered; /* the modules' `after` are known; else each comes after the one before */
} Plan;

int plan_new(Plan **ret);
Plan *plan_ref(Plan *p);
Plan *plan_unref(Plan *p);
DEFINE_POINTER_CLEANUP_FUNC(Plan, plan_unref);

/* Builders, used by the resolver while the plan is still private. */
PlanModule *plan_find(Plan *p, const char *name);
int plan_append(Plan *p, PlanModule **ret);
int plan_add_name(char ***list, const char *name);
/* Module j comes after module i (i < j; anything else is ignored). */
int plan_add_after(Plan *p, size_t j, size_t i);
