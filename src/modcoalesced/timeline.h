/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* timeline.h — the record of this boot's loads: one LoadRecord per load this daemon made or
 * tried, in a ring of TIMELINE_MAX (the oldest goes first). It outlives the daemon, which exits
 * when idle: saved to a file in /run at exit and read back by the next daemon of the same boot,
 * the root's after the initrd's too, since /run survives switch_root. Times are CLOCK_MONOTONIC,
 * i.e. since boot, as systemd-analyze plot draws them. */
#pragma once

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-json.h>

#include "cleanup.h"
#include "modname.h"
#include "time-util.h"

#define TIMELINE_MAX 2048u
/* A saved record is about 300 bytes: a file far beyond the ring's worth is not ours. */
#define TIMELINE_FILE_MAX ((off_t) TIMELINE_MAX * 1024)

typedef enum LoadResult {
        LOAD_RESULT_LOADED,
        LOAD_RESULT_ALREADY_LOADED, /* EEXIST, and the kernel has it live */
        LOAD_RESULT_FAILED,
        LOAD_RESULT_COMING, /* EEXIST/EBUSY for someone else's instance, still coming up */
        LOAD_RESULT_GOING, /* EBUSY: an instance was going away; loaded again once it is gone */
        _LOAD_RESULT_MAX,
} LoadResult;

const char *load_result_to_string(LoadResult r);
/* The LoadResult, or -EINVAL. */
int load_result_from_string(const char *s);

typedef struct LoadRecord {
        char name[MODULE_NAME_MAX + 1];
        char method[32]; /* finit_module, init_module, install-command… (loader.h) */
        usec_t queued; /* handed to the loader */
        usec_t started; /* a worker took it */
        usec_t finished;
        uint32_t requesters; /* the request that started it and those that joined it */
        int32_t error; /* 0, or -errno */
        LoadResult result;
        uint64_t bytes_read;
        uint64_t bytes_decompressed;
} LoadRecord;

typedef struct Timeline Timeline;

int timeline_new(Timeline **ret, size_t size);
Timeline *timeline_free(Timeline *t);
DEFINE_POINTER_CLEANUP_FUNC(Timeline, timeline_free);

void timeline_add(Timeline *t, const LoadRecord *r);
size_t timeline_size(const Timeline *t);
/* The i-th record, oldest first; NULL past the end. */
const LoadRecord *timeline_get(const Timeline *t, size_t i);
/* Records pushed out of the ring (by this daemon or the ones before it). */
uint64_t timeline_dropped(const Timeline *t);

/* The records as a JSON array of the interface's LoadRecord objects (also the saved format). */
int timeline_to_json(const Timeline *t, sd_json_variant **ret);

/* Saves {"dropped":N,"loads":[…]} to path (written beside it, then renamed); reads it back,
 * appending to what t holds. A file that is missing is no error (returns 0); a record that does
 * not parse is skipped; returns the number of records taken. */
int timeline_save(const Timeline *t, const char *path);
int timeline_load(Timeline *t, const char *path);
