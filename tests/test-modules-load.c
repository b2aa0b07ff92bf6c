/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-modules-load — which modules `modcoalescectl modules-load` loads, and in which order: the
 * kernel command line's, then modules-load.d's files by name, /etc hiding /run hiding
 * /usr/local/lib hiding /usr/lib, a link to /dev/null masking, comments skipped. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "cleanup.h"
#include "modules-load.h"

static char root[] = "/tmp/mc-modules-load-XXXXXX";

static void put(const char *dir, const char *name, const char *text)
{
        char path[4096];
        FILE *f;

        snprintf(path, sizeof(path), "mkdir -p %s%s", root, dir);
        assert_int_equal(system(path), 0);
        snprintf(path, sizeof(path), "%s%s/%s", root, dir, name);
        if (!text) {
                assert_int_equal(symlink("/dev/null", path), 0);
                return;
        }
        f = fopen(path, "we");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

static void assert_list(char **got, const char *const *want)
{
        size_t i = 0;

        for (; want[i]; i++) {
                if (!got[i])
                        fail_msg("missing %s at %zu", want[i], i);
                assert_string_equal(got[i], want[i]);
        }
        if (got[i])
                fail_msg("extra %s at %zu", got[i], i);
}

static int setup(void **state)
{
        if (!mkdtemp(root))
                return -1;
        put("/etc/modules-load.d", "a.conf", "# comment\nmc_a\n; also a comment\n  mc_b  \n\n");
        put("/usr/lib/modules-load.d", "a.conf", "hidden_by_etc\n");
        put("/usr/lib/modules-load.d", "b.conf", "mc_c\n");
        put("/usr/local/lib/modules-load.d", "b.conf", "mc_local\n");
        put("/run/modules-load.d", "0.conf", NULL);
        put("/usr/lib/modules-load.d", "0.conf", "masked\n");
        put("/usr/lib/modules-load.d", "c.txt", "not_a_conf\n");
        return 0;
}

static int teardown(void **state)
{
        char cmd[4096];

        snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
        return system(cmd) == 0 ? 0 : -1;
}

static void test_files_and_cmdline(void **state)
{
        _cleanup_strv_free_ char **l = NULL, **initrd = NULL;
        static const char *const want[] = { "m1", "m2", "m3", "mc_a", "mc_b", "mc_local", NULL };
        static const char *const want_initrd[] = { "m1", "m2", "r1", "m3", "mc_a", "mc_b",
                "mc_local", NULL };
        const char *cmdline = "quiet modules_load=m1,m2 rd.modules_load=r1 modules-load=m3 "
                              "modules_loadx=no\n";

        assert_int_equal(modules_load_list(root, cmdline, false, &l), 0);
        assert_list(l, want);
        assert_int_equal(modules_load_list(root, cmdline, true, &initrd), 0);
        assert_list(initrd, want_initrd);
}

static void test_nothing(void **state)
{
        _cleanup_strv_free_ char **l = NULL;

        assert_int_equal(modules_load_list("/nonexistent-root", "", false, &l), 0);
        assert_non_null(l);
        assert_null(l[0]);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_files_and_cmdline),
                cmocka_unit_test(test_nothing),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
