/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* modcoalesced-fake — the daemon exactly as shipped (same options, same manager), on the
 * directory-backed fake kernel named by $MC_FAKE_KERNEL_DIR: what the integration tests run
 * under systemd-socket-activate, since no test may load into the host's kernel. */
#include <stdio.h>
#include <stdlib.h>

#include "kernel-fakedir.h"
#include "log.h"
#include "options.h"

static int run(int argc, char *argv[], Kernel *kernel, const char *kernel_modprobe)
{
        _cleanup_(manager_freep) Manager *m = NULL;
        /* Not the host's kernel.modprobe: a file of the fake kernel's. */
        ManagerConfig config = { .kernel = kernel, .kernel_modprobe = kernel_modprobe };
        int k;

        k = options_parse(argc, argv, &config);
        if (k != 0)
                return k < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        if (manager_new(&m, &config) < 0)
                return EXIT_FAILURE;
        return manager_run(m) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

int main(int argc, char *argv[])
{
        const char *dir = getenv("MC_FAKE_KERNEL_DIR");
        _cleanup_free_ char *kernel_modprobe = NULL;
        Kernel *kernel;
        int r;

        log_setup("modcoalesced");
        if (!dir) {
                log_error("MC_FAKE_KERNEL_DIR is not set.");
                return EXIT_FAILURE;
        }
        if (asprintf(&kernel_modprobe, "%s/kernel.modprobe", dir) < 0)
                return log_oom(), EXIT_FAILURE;
        kernel = kernel_fakedir_new(dir);
        if (!kernel)
                return log_oom(), EXIT_FAILURE;
        /* The manager goes first: its loader joins the workers that use the kernel. */
        r = run(argc, argv, kernel, kernel_modprobe);
        kernel_fakedir_free(kernel);
        return r;
}
