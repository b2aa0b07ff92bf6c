/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* kernel-fake.h — a Kernel for tests: real files are opened and read (so decompression is
 * real), every call is counted, load results and /sys/module states are scripted, a test can
 * hold a module's loads "inside the kernel" until it releases them, and faults can be injected
 * into every operation (errors, short reads, files that end early, corrupt data). Thread-safe. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "kernel.h"
#include "time-util.h"

typedef struct KernelFake KernelFake;

/* Where a fault can be injected. */
typedef enum KernelFakeOp {
        KERNEL_FAKE_OPEN, /* opening the module file fails */
        KERNEL_FAKE_PREAD, /* a read fails */
        KERNEL_FAKE_PREAD_EOF, /* a read of more than the magic (8 bytes) returns 0: the file
                                * ends early (error unused) */
        KERNEL_FAKE_CORRUPT, /* a read of more than the magic returns one byte flipped: bad
                              * input for the decompressor (error unused) */
        KERNEL_FAKE_FINIT, /* finit_module() fails before any load */
        KERNEL_FAKE_INIT, /* init_module() fails before any load */
        _KERNEL_FAKE_OP_MAX,
} KernelFakeOp;

#define KERNEL_FAKE_ALWAYS UINT32_MAX

typedef struct KernelFakeCounts {
        unsigned opens;
        unsigned preads;
        uint64_t bytes_read;
        unsigned finit_calls; /* all finit_module() calls */
        unsigned finit_compressed_calls; /* with MODULE_INIT_COMPRESSED_FILE */
        unsigned init_calls;
        unsigned loads; /* calls that got past "already loaded": full load attempts */
        unsigned max_concurrent; /* most load calls inside the "kernel" at once */
        unsigned state_reads;
        unsigned unknown_symbols;
} KernelFakeCounts;

int kernel_fake_new(KernelFake **ret);
KernelFake *kernel_fake_free(KernelFake *f);
Kernel *kernel_fake_kernel(KernelFake *f);

/* What /sys/module/compression says (default: none). */
void kernel_fake_set_compression(KernelFake *f, Compression c);
/* What loads of `name` return from now on (default 0), as its init would: the module is live
 * after a 0 and absent after any error, EBUSY and EEXIST included (the kernel frees a module
 * whose init failed before the call returns). */
void kernel_fake_set_result(KernelFake *f, const char *name, int error);
/* finit_module() with MODULE_INIT_COMPRESSED_FILE returns this (0: behave as the kernel). */
void kernel_fake_set_compressed_error(KernelFake *f, int error);
/* The module's state in /sys/module. */
void kernel_fake_set_state(KernelFake *f, const char *name, KernelModuleState s);
KernelModuleState kernel_fake_get_state(KernelFake *f, const char *name);

/* Loads of `name` block inside the kernel until released: with the module coming (its init
 * running), or, held unformed, before that, with nothing in /sys/module yet (the kernel still
 * decompresses and links it). Waiting for either counts as blocked. */
void kernel_fake_hold(KernelFake *f, const char *name);
void kernel_fake_hold_unformed(KernelFake *f, const char *name);
void kernel_fake_release(KernelFake *f, const char *name);
/* Loads of `name` use symbols of `needed` (NULL: none), resolved as the kernel does before the
 * module is formed: -ENOENT when `needed` is absent or going (counted in unknown_symbols), a
 * wait while it is coming. */
void kernel_fake_set_needs(KernelFake *f, const char *name, const char *needed);
/* A module's init that calls request_module(): loads of `name` run hook(userdata) on the loading
 * thread, inside the kernel call with the module coming (after any hold), as the kernel runs the
 * init; a nonzero return is the load's result (-errno), as the init's own. NULL: no hook. */
typedef int (*KernelFakeInitHook)(void *userdata);
void kernel_fake_set_init_hook(
        KernelFake *f, const char *name, KernelFakeInitHook hook, void *userdata);

/* Waits until at least n loads of `name` are blocked; false on timeout. */
bool kernel_fake_wait_blocked(KernelFake *f, const char *name, unsigned n, usec_t timeout);
/* Until NAME is in state S (a load ended, say), on the fake's condition: false on timeout. */
bool kernel_fake_wait_state(KernelFake *f, const char *name, KernelModuleState s, usec_t timeout);

/* The next `times` calls of `op` fail with `error` (-errno), KERNEL_FAKE_ALWAYS: every call
 * until the next kernel_fake_inject() of that op (times 0 clears it). */
void kernel_fake_inject(KernelFake *f, KernelFakeOp op, int error, uint32_t times);
/* How many faults of `op` were injected so far. */
unsigned kernel_fake_injected(KernelFake *f, KernelFakeOp op);
/* Every read returns at most n bytes (0: as many as asked), as a network file system may. */
void kernel_fake_set_short_reads(KernelFake *f, size_t n);

/* The path of the i-th module file opened (the first KERNEL_FAKE_PATHS_MAX are kept), or NULL. */
#define KERNEL_FAKE_PATHS_MAX 256
const char *kernel_fake_opened(KernelFake *f, size_t i);

KernelFakeCounts kernel_fake_counts(KernelFake *f);
/* Full load attempts of one module. */
unsigned kernel_fake_loads(KernelFake *f, const char *name);
/* Size and FNV-1a hash of the last image the module was loaded from (for finit_module(), of
 * the file as passed; for init_module(), of the buffer). */
uint64_t kernel_fake_last_image_size(KernelFake *f, const char *name);
uint64_t kernel_fake_last_image_hash(KernelFake *f, const char *name);
uint64_t kernel_fake_hash(const void *p, size_t n);
