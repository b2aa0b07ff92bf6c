/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-kernel — how the real kernel boundary reads /sys/module, on a directory laid out like it:
 * live, coming and going modules, a built-in module (a directory without initstate, for good)
 * and a file that is no module (/sys/module/compression). */
#include <errno.h>
#include <fcntl.h>
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
#include "kernel.h"

static char dir[] = "/tmp/test-kernel-XXXXXX";

/* DIR/NAME/initstate holding `state`, or with state NULL a built-in module: DIR/NAME/parameters
 * and no initstate. */
static void make_module(const char *name, const char *state)
{
        char path[256];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        assert_int_equal(mkdir(path, 0755), 0);
        if (!state) {
                snprintf(path, sizeof(path), "%s/%s/parameters", dir, name);
                assert_int_equal(mkdir(path, 0755), 0);
                return;
        }
        snprintf(path, sizeof(path), "%s/%s/initstate", dir, name);
        assert_non_null(f = fopen(path, "we"));
        fprintf(f, "%s\n", state);
        fclose(f);
}

static int setup(void **state)
{
        char path[256];
        FILE *f;

        if (!mkdtemp(dir))
                return -1;
        make_module("mc_live", "live");
        make_module("mc_coming", "coming");
        make_module("mc_going", "going");
        make_module("printk", NULL);
        snprintf(path, sizeof(path), "%s/compression", dir);
        if (!(f = fopen(path, "we")))
                return -1;
        fputs("xz\n", f);
        fclose(f);
        return 0;
}

static int teardown(void **state)
{
        static const char *const paths[] = { "mc_live/initstate", "mc_live", "mc_coming/initstate",
                "mc_coming", "mc_going/initstate", "mc_going", "printk/parameters", "printk",
                "compression" };
        char path[256];

        for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
                snprintf(path, sizeof(path), "%s/%s", dir, paths[i]);
                (void) remove(path);
        }
        return rmdir(dir) < 0 ? -1 : 0;
}

typedef struct Scanned {
        char names[8][32];
        KernelModuleState states[8];
        size_t n;
} Scanned;

static int on_scanned(const char *name, KernelModuleState s, void *userdata)
{
        Scanned *x = userdata;

        assert_true(x->n < 8);
        snprintf(x->names[x->n], sizeof(x->names[x->n]), "%s", name);
        x->states[x->n++] = s;
        return 0;
}

static int scanned_state(const Scanned *x, const char *name)
{
        for (size_t i = 0; i < x->n; i++)
                if (strcmp(x->names[i], name) == 0)
                        return (int) x->states[i];
        return -1;
}

/* The scan at start fills the table: loadable modules with their states, nothing else. A
 * built-in module is never "coming", and /sys/module/compression is no module at all. */
static void test_scan(void **state)
{
        Scanned x = {};

        assert_int_equal(kernel_scan_modules_in(dir, on_scanned, &x), 0);
        assert_int_equal(scanned_state(&x, "mc_live"), KERNEL_MODULE_LIVE);
        assert_int_equal(scanned_state(&x, "mc_coming"), KERNEL_MODULE_COMING);
        assert_int_equal(scanned_state(&x, "mc_going"), KERNEL_MODULE_GOING);
        assert_int_equal(scanned_state(&x, "printk"), -1);
        assert_int_equal(scanned_state(&x, "compression"), -1);
        assert_int_equal(x.n, 3);
}

/* One module's state, as the engine reads it for a module it waits on: a directory without
 * initstate may be a module whose attributes are yet to come, so it counts as coming. */
static void test_module_state(void **state)
{
        KernelModuleState s;

        assert_int_equal(kernel_module_state_in(dir, "mc_live", &s), 0);
        assert_int_equal(s, KERNEL_MODULE_LIVE);
        assert_int_equal(kernel_module_state_in(dir, "mc_coming", &s), 0);
        assert_int_equal(s, KERNEL_MODULE_COMING);
        assert_int_equal(kernel_module_state_in(dir, "mc_going", &s), 0);
        assert_int_equal(s, KERNEL_MODULE_GOING);
        assert_int_equal(kernel_module_state_in(dir, "printk", &s), 0);
        assert_int_equal(s, KERNEL_MODULE_COMING);
        assert_int_equal(kernel_module_state_in(dir, "compression", &s), 0);
        assert_int_equal(s, KERNEL_MODULE_ABSENT);
        assert_int_equal(kernel_module_state_in(dir, "mc_nothing", &s), 0);
        assert_int_equal(s, KERNEL_MODULE_ABSENT);
        assert_int_equal(kernel_module_state_in(dir, "../etc", &s), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_scan),
                cmocka_unit_test(test_module_state),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
