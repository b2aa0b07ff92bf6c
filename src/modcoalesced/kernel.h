/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* kernel.h — the one boundary between the daemon and the kernel: opening and reading module
 * files, finit_module()/init_module(), /sys/module state and /sys/module/compression. The real
 * implementation (kernel.c) makes the syscalls; tests plug in a fake with exact counts. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "plan.h"

/* finit_module() flag: the fd holds a compressed module the kernel decompresses itself. */
#ifndef MODULE_INIT_COMPRESSED_FILE
#define MODULE_INIT_COMPRESSED_FILE 4
#endif

typedef enum KernelModuleState {
        KERNEL_MODULE_ABSENT,
        KERNEL_MODULE_COMING, /* being initialised, or /sys/module/NAME without initstate */
        KERNEL_MODULE_LIVE,
        KERNEL_MODULE_GOING,
        _KERNEL_MODULE_STATE_MAX,
} KernelModuleState;

const char *kernel_module_state_to_string(KernelModuleState s);

typedef struct Kernel Kernel;
typedef int (*KernelScanFunc)(const char *name, KernelModuleState state, void *userdata);

/* Every operation returns -errno on failure. The file and load operations run on loader
 * worker threads and must be thread-safe; state, scan and compression run on the event loop.
 * `name` is passed to the load calls for fakes and logs; the kernel takes the name from the
 * module image. */
typedef struct KernelOps {
        int (*open_module)(Kernel *k, const char *path, int *ret_fd);
        ssize_t (*pread)(Kernel *k, int fd, void *buf, size_t n, off_t offset);
        int (*finit_module)(
                Kernel *k, const char *name, int fd, const char *params, unsigned flags);
        int (*init_module)(
                Kernel *k, const char *name, const void *image, size_t size, const char *params);
        int (*module_state)(Kernel *k, const char *name, KernelModuleState *ret);
        int (*scan_modules)(Kernel *k, KernelScanFunc f, void *userdata);
        int (*compression)(Kernel *k, Compression *ret);
} KernelOps;

struct Kernel {
        const KernelOps *ops;
        void *userdata;
};

/* The running kernel. */
Kernel *kernel_real(void);

/* Its readings of a directory laid out as /sys/module (tests pass their own). */
int kernel_module_state_in(const char *dir, const char *name, KernelModuleState *ret);
int kernel_scan_modules_in(const char *dir, KernelScanFunc f, void *userdata);

static inline int kernel_open_module(Kernel *k, const char *path, int *ret_fd)
{
        return k->ops->open_module(k, path, ret_fd);
}

static inline ssize_t kernel_pread(Kernel *k, int fd, void *buf, size_t n, off_t offset)
{
        return k->ops->pread(k, fd, buf, n, offset);
}

static inline int kernel_finit_module(
        Kernel *k, const char *name, int fd, const char *params, unsigned flags)
{
        return k->ops->finit_module(k, name, fd, params, flags);
}

static inline int kernel_init_module(
        Kernel *k, const char *name, const void *image, size_t size, const char *params)
{
        return k->ops->init_module(k, name, image, size, params);
}

static inline int kernel_module_state(Kernel *k, const char *name, KernelModuleState *ret)
{
        return k->ops->module_state(k, name, ret);
}

static inline int kernel_scan_modules(Kernel *k, KernelScanFunc f, void *userdata)
{
        return k->ops->scan_modules(k, f, userdata);
}

static inline int kernel_compression(Kernel *k, Compression *ret)
{
        return k->ops->compression(k, ret);
}
