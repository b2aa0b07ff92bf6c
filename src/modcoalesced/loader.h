/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* loader.h — a bounded pool of worker threads that perform loads: open once, read and
 * decompress at most once, one kernel call (one fallback at most), or the modprobe.d install
 * command instead. Blocking never happens on the event loop: workers report completions through
 * an eventfd watched by sd-event, and the completion callback runs on the loop thread. Workers
 * touch nothing but their job and the Kernel boundary; they never call libkmod.
 *
 * At most n_workers ordinary loads run at once. A load that the kernel itself waits for (its
 * request_module(), perhaps from inside a module's init that holds a worker in the kernel) is
 * urgent: it goes before the others and, when no worker is free, gets one more thread, up to
 * LOADER_URGENT_WORKERS_MAX beyond n_workers, so that a nested request makes progress at any
 * worker count. */
#pragma once

#include <stdatomic.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "cleanup.h"
#include "kernel.h"
#include "list.h"
#include "time-util.h"

/* What a load is doing now, for ListInFlight. */
typedef enum LoadStage {
        LOAD_STAGE_WAITING_DEPS, /* wanted by a request that is still loading its dependencies */
        LOAD_STAGE_QUEUED, /* waiting for a free worker */
        LOAD_STAGE_READING,
        LOAD_STAGE_DECOMPRESSING,
        LOAD_STAGE_LOADING,
        LOAD_STAGE_INSTALL, /* running the modprobe.d install command */
        _LOAD_STAGE_MAX,
} LoadStage;

const char *load_stage_to_string(LoadStage s);

/* How the module reached the kernel. */
typedef enum LoadMethod {
        LOAD_METHOD_NONE,
        LOAD_METHOD_FINIT, /* plain file: finit_module(fd) */
        LOAD_METHOD_FINIT_COMPRESSED, /* finit_module(fd, MODULE_INIT_COMPRESSED_FILE) */
        LOAD_METHOD_INIT, /* decompressed here, init_module(buffer) */
        LOAD_METHOD_INSTALL, /* modprobe.d install command */
        _LOAD_METHOD_MAX,
} LoadMethod;

const char *load_method_to_string(LoadMethod m);

typedef struct LoadJob LoadJob;
struct LoadJob {
        /* Input: set before loader_submit(), read-only afterwards. */
        char *name;
        char *path;
        char *params;
        char *install_command; /* NULL: load the file */
        Compression kernel_compression;
        size_t decompress_max;
        bool urgent; /* the kernel waits for it: see above (loader_expedite() may set it later) */
        usec_t submitted; /* set by loader_submit() */
        void *userdata;

        /* Progress: written by the worker, read by the loop. */
        _Atomic int stage;

        /* Output: valid in the completion callback. */
        int error; /* 0, or -errno from the step that failed */
        LoadStage failed_stage;
        LoadMethod method;
        bool fell_back; /* in the kernel's format, but decompressed here (refused or unfit) */
        uint64_t file_size;
        uint64_t bytes_read;
        uint64_t bytes_decompressed;
        usec_t started, finished;

        bool queued; /* loader-internal, under its lock: not yet taken by a worker */
        LIST_FIELDS(LoadJob, queue);
};

int load_job_new(LoadJob **ret, const char *name, const char *path, const char *params,
        const char *install_command);
LoadJob *load_job_free(LoadJob *j);
DEFINE_POINTER_CLEANUP_FUNC(LoadJob, load_job_free);

static inline LoadStage load_job_stage(const LoadJob *j)
{
        return (LoadStage) atomic_load(&((LoadJob *) j)->stage);
}

/* Runs one job on the calling thread. The pool calls it on workers; tests may call it directly. */
void load_job_run(LoadJob *j, Kernel *k);

/* The kernel runs at most this many modprobe processes at once (MAX_KMOD_CONCURRENT in
 * kernel/module/kmod.c), each waiting on one load at a time: one thread each, beyond the pool. */
#define LOADER_URGENT_WORKERS_MAX 50u

typedef struct Loader Loader;
typedef void (*LoaderDoneFunc)(LoadJob *j, void *userdata);

/* Workers are started on demand, at most n_workers (0: a default that fits the machine). */
int loader_new(Loader **ret, sd_event *e, Kernel *k, unsigned n_workers, LoaderDoneFunc done,
        void *userdata);
/* Waits for running jobs to finish; queued jobs are dropped, without a done callback. */
Loader *loader_free(Loader *l);
DEFINE_POINTER_CLEANUP_FUNC(Loader, loader_free);

/* The loader owns the job until the done callback, which must free it. */
int loader_submit(Loader *l, LoadJob *j);
/* The kernel now waits for this submitted job too: if no worker has taken it yet, it becomes
 * urgent (see above). */
void loader_expedite(Loader *l, LoadJob *j);
unsigned loader_n_workers(const Loader *l);
unsigned loader_max_workers(const Loader *l);
