/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* modcoalesced-fake — the daemon exactly as shipped (same options, same manager), on the
 * directory-backed fake kernel named by $MC_FAKE_KERNEL_DIR: what the integration tests run
 * under systemd-socket-activate, since no test may load into the host's kernel. */
#include <stdio.h>
#include <stdlib.h>

#include "kernel-fakedir.h"
#include "log.h"
#include "options.h"

int main(int argc, char *argv[])
{
        _cleanup_(manager_freep) Manager *m = NULL;
        const char *dir = getenv("MC_FAKE_KERNEL_DIR");
        _cleanup_free_ char *kernel_modprobe = NULL;
        ManagerConfig config = {};
        int k;

        log_setup("modcoalesced");
        if (!dir) {
                log_error("MC_FAKE_KERNEL_DIR is not set.");
                return EXIT_FAILURE;
        }
        config.kernel = kernel_fakedir_new(dir);
        if (!config.kernel || asprintf(&kernel_modprobe, "%s/kernel.modprobe", dir) < 0)
                return log_oom(), EXIT_FAILURE;
        config.kernel_modprobe = kernel_modprobe; /* not the host's kernel.modprobe */
        k = options_parse(argc, argv, &config);
        if (k != 0)
                return k < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        if (manager_new(&m, &config) < 0)
                return EXIT_FAILURE;
        return manager_run(m) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
