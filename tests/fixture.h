/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fixture.h — the fixture module tree of tests/make-fixture-tree.sh, built once per test
 * program into a temporary directory and removed afterwards. */
#pragma once

typedef struct Fixture {
        char dir[64]; /* the temporary directory */
        char kver[128]; /* kernel release the modules were built for */
        char root[256]; /* DIR/root: modprobe -d */
        char moddir[1024]; /* DIR/root/lib/modules/KVER */
        char conf[256]; /* DIR/modprobe.d */
} Fixture;

/* Runs $MC_FIXTURE_SCRIPT; 0 or -1 (cmocka group setup convention). */
int fixture_setup(Fixture *f);
int fixture_teardown(Fixture *f);

/* The fixture of a test program whose cmocka group uses these two as its setup and teardown. */
extern Fixture fx;
int fixture_group_setup(void **state);
int fixture_group_teardown(void **state);
