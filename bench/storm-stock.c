/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* storm-stock MODULE_DIR FAKE_KERNEL_DIR — one stock load of $MODALIAS through the fake kernel,
 * as udev's kmod builtin (or modprobe -b) makes it in every worker: load libkmod's indexes,
 * resolve the MODALIAS, and load each module of the plan in modprobe's order, one after the
 * other, unless the kernel has it live; a failed hard module stops the match that needs it.
 * Nothing is shared with any other process but the kernel: what a storm of them costs is what
 * bench/storm.py measures beside the daemon. Exit status as udev's builtin takes it: 0 when
 * every match loaded or its module said ENODEV or ENOENT, 1 otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "kernel-fakedir.h"
#include "resolver.h"

static int load_one(Kernel *k, const PlanModule *pm)
{
        KernelModuleState state;
        int fd, r;

        if (kernel_module_state(k, pm->name, &state) == 0 && state == KERNEL_MODULE_LIVE)
                return 0;
        r = kernel_open_module(k, pm->path, &fd);
        if (r < 0)
                return r;
        r = kernel_finit_module(k, pm->name, fd, pm->parameters, 0);
        close(fd);
        return r == -EEXIST ? 0 : r;
}

int main(int argc, char *argv[])
{
        _cleanup_(resolver_freep) Resolver *resolver = NULL;
        _cleanup_(plan_unrefp) Plan *plan = NULL;
        const char *modalias = getenv("MODALIAS");
        uint64_t failed = 0;
        int status = EXIT_SUCCESS;
        Kernel *k;

        if (argc != 3 || !modalias) {
                fprintf(stderr, "usage: MODALIAS=... storm-stock MODULE_DIR FAKE_KERNEL_DIR\n");
                return 2;
        }
        if (resolver_new(&resolver, false, argv[1], NULL) < 0)
                return EXIT_FAILURE;
        if (resolver_resolve_modalias(resolver, modalias, NULL, &plan) < 0)
                return EXIT_SUCCESS; /* no driver */
        k = kernel_fakedir_new(argv[2]);
        if (!k)
                return EXIT_FAILURE;
        for (size_t i = 0; i < plan->n_modules; i++) {
                const PlanModule *pm = &plan->modules[i];
                uint64_t groups = pm->groups ?: 1;
                int r;

                if ((groups & ~failed) == 0)
                        continue;
                r = load_one(k, pm);
                if (r < 0 && !pm->soft) {
                        failed |= pm->hard_groups ?: groups;
                        if (r != -ENODEV && r != -ENOENT)
                                status = EXIT_FAILURE;
                }
        }
        kernel_fakedir_free(k);
        return status;
}
