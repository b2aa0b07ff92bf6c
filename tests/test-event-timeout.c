/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-event-timeout — udev's event timeout as the udev helper reads it: udev.conf (the first of
 * its directories), udev.conf.d drop-ins by name (an earlier directory hides a later one's file),
 * the kernel command line (rd.* only in an initrd), units, bad values ignored; and the helper's
 * budget within it. */
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

#include "event-timeout.h"

static char root[64];

static void put(const char *rel, const char *text)
{
        char path[512], dir[512], *slash;
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", root, rel);
        snprintf(dir, sizeof(dir), "%s", path);
        for (slash = strchr(dir + strlen(root) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
                *slash = '\0';
                (void) mkdir(dir, 0755);
                *slash = '/';
        }
        assert_non_null(f = fopen(path, "we"));
        fputs(text, f);
        fclose(f);
}

static void rm_root(void)
{
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
        assert_int_equal(system(cmd), 0);
}

static int setup(void **state)
{
        snprintf(root, sizeof(root), "/tmp/test-event-timeout-XXXXXX");
        return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
        rm_root();
        return 0;
}

static void test_default(void **state)
{
        assert_int_equal(udev_event_timeout_sec(root), UDEV_EVENT_TIMEOUT_SEC_DEFAULT);
        put("etc/udev/udev.conf", "# nothing here\nudev_log=info\n");
        assert_int_equal(udev_event_timeout_sec(root), 180);
}

static void test_files_and_command_line(void **state)
{
        /* The first udev.conf found is read; later ones are not. */
        put("etc/udev/udev.conf", "udev_log=debug\n event_timeout = 120\n");
        put("usr/lib/udev/udev.conf", "event_timeout=999\n");
        assert_int_equal(udev_event_timeout_sec(root), 120);

        /* Drop-ins by name: 10-a (usr/lib) then 20-b (etc, hiding usr/lib's 20-b). */
        put("usr/lib/udev/udev.conf.d/10-a.conf", "event_timeout=2min\n");
        put("usr/lib/udev/udev.conf.d/20-b.conf", "event_timeout=999\n");
        assert_int_equal(udev_event_timeout_sec(root), 999);
        put("etc/udev/udev.conf.d/20-b.conf", "event_timeout=\"300s\"\n");
        assert_int_equal(udev_event_timeout_sec(root), 300);
        /* A value that does not parse is ignored; the one before stands. */
        put("run/udev/udev.conf.d/30-c.conf", "event_timeout=soon\nevent_timeout=0\n");
        assert_int_equal(udev_event_timeout_sec(root), 300);
        put("run/udev/udev.conf.d/not-a-conf", "event_timeout=7\n");
        assert_int_equal(udev_event_timeout_sec(root), 300);

        /* The kernel command line wins, its last word; rd.* only in an initrd. */
        put("proc/cmdline", "quiet udev.event_timeout=90 rd.udev.event_timeout=30 ro\n");
        assert_int_equal(udev_event_timeout_sec(root), 90);
        put("etc/initrd-release", "NAME=initrd\n");
        assert_int_equal(udev_event_timeout_sec(root), 30);
        put("proc/cmdline", "udev.event_timeout=bad\n");
        assert_int_equal(udev_event_timeout_sec(root), 300);
        rm_root();
        assert_int_equal(mkdir(root, 0700), 0);
}

static void test_budget(void **state)
{
        assert_int_equal(udev_event_budget_sec(180), 120);
        assert_int_equal(udev_event_budget_sec(20), 14);
        assert_int_equal(udev_event_budget_sec(1000), 940);
        assert_int_equal(udev_event_budget_sec(3), 1);
        assert_int_equal(udev_event_budget_sec(1), 1);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_default),
                cmocka_unit_test(test_files_and_command_line),
                cmocka_unit_test(test_budget),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
