/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fixture.c — see fixture.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

int fixture_setup(Fixture *f)
{
        const char *script = getenv("MC_FIXTURE_SCRIPT");
        char cmd[1024];
        FILE *file;

        snprintf(f->dir, sizeof(f->dir), "/tmp/mc-fixture-XXXXXX");
        if (!script || !mkdtemp(f->dir))
                return -1;
        snprintf(cmd, sizeof(cmd), "%s %s", script, f->dir);
        if (system(cmd) != 0)
                return -1;
        snprintf(cmd, sizeof(cmd), "%s/kver", f->dir);
        file = fopen(cmd, "re");
        if (!file || !fgets(f->kver, sizeof(f->kver), file)) {
                if (file)
                        fclose(file);
                return -1;
        }
        fclose(file);
        f->kver[strcspn(f->kver, "\n")] = '\0';
        snprintf(f->root, sizeof(f->root), "%s/root", f->dir);
        snprintf(f->moddir, sizeof(f->moddir), "%s/lib/modules/%s", f->root, f->kver);
        snprintf(f->conf, sizeof(f->conf), "%s/modprobe.d", f->dir);
        return 0;
}

int fixture_teardown(Fixture *f)
{
        char cmd[256];

        snprintf(cmd, sizeof(cmd), "rm -rf --one-file-system %s", f->dir);
        return system(cmd) == 0 ? 0 : -1;
}

Fixture fx;

int fixture_group_setup(void **state)
{
        return fixture_setup(&fx);
}

int fixture_group_teardown(void **state)
{
        return fixture_teardown(&fx);
}
