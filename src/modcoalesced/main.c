/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* main.c — modcoalesced: the command line, logging, and the manager on the real kernel. */
#include <stdlib.h>

#include "log.h"
#include "options.h"

int main(int argc, char *argv[])
{
        _cleanup_(manager_freep) Manager *m = NULL;
        ManagerConfig config = { .kernel = kernel_real() };
        int k;

        log_setup("modcoalesced");
        k = options_parse(argc, argv, &config);
        if (k != 0)
                return k < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        if (manager_new(&m, &config) < 0)
                return EXIT_FAILURE;
        return manager_run(m) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
