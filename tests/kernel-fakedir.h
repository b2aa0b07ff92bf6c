/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* kernel-fakedir.h — a fake kernel whose state lives in a directory, so that it outlives a
 * daemon (SIGKILL tests) and can be shared with other processes (the helper's fallback):
 *
 *   DIR/compression   the format the "kernel" decompresses itself ("xz", "zstd"); absent: none
 *   DIR/live/NAME     the module is live; created atomically by a successful load
 *   DIR/hold/NAME     loads of NAME wait while this file exists, in the module's init
 *   DIR/delay/NAME    the module's init takes the milliseconds this file holds (a slow init)
 *   DIR/coming/NAME   a load of NAME is in its init (held, say): the state reads "coming", as
 *                     /sys/module/NAME/initstate does; the daemon's startup scan does not list it
 *   DIR/fail/NAME     loads of NAME fail with the errno number this file holds, as the module's
 *                     init would (EBUSY and EEXIST too): NAME stays absent
 *   DIR/calls         one line per event: "finit NAME", "init NAME" (kernel calls), "load NAME"
 *                     (a full load attempt), "loaded NAME" (one per module that became live),
 *                     "eexist NAME"
 */
#pragma once

#include "kernel.h"

/* The directory must exist; its subdirectories are created. NULL on ENOMEM. */
Kernel *kernel_fakedir_new(const char *dir);
Kernel *kernel_fakedir_free(Kernel *k);
