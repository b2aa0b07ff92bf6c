/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-module — a module as the engine tracks it, against the fake kernel: the live table (the
 * inode index, the rescan after lost uevents, uevent actions), the kernel's states (coming,
 * going, live) and what a waiter does in each, and the failure memory. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "engine-harness.h"
#include "uevent.h"

/* -- the live table ---------------------------------------------------------------------------- */

/* After depmod or an upgrade (a new resolver generation), an inode number may belong to another
 * module's file: the index of the files of live modules must not answer for it (issue 15, item
 * 4). The same file under two names within one generation still coalesces (test below). */
static void test_inode_index_does_not_outlive_the_tree(void **state)
{
        _cleanup_(plan_unrefp) Plan *first = NULL, *reused = NULL;
        Request *r = NULL;
        Harness h;

        harness_init(&h, NULL, COMPRESSION_XZ);
        harness_start(&h);
        first = plan_for(&h, "mc_c");
        submit(&h, first);
        run_until(&h, 1);
        assert_int_equal(kernel_fake_counts(h.fake).loads, 1);

        /* mc_b's file, carrying the (dev, ino) that mc_c's file had in the old tree. */
        reused = plan_single("mc_b", fixture_path("mc_b.ko.zst"), NULL);
        reused->modules[0].dev = first->modules[0].dev;
        reused->modules[0].ino = first->modules[0].ino;
        assert_true(engine_submit(h.engine, reused, resolver_generation(h.resolver) + 1, on_done,
                            &h, &r) >= 0);
        run_until(&h, 2);
        assert_int_equal(h.records[1].error, 0);
        assert_int_equal(result_of(&h.records[1], 0)->outcome, OUTCOME_LOADED);
        assert_int_equal(result_of(&h.records[1], 0)->coalesced, COALESCED_NO);
        assert_int_equal(kernel_fake_counts(h.fake).loads, 2);
        harness_done(&h);
}

/* Lost uevents (the uevent socket overran in a coldplug): a rescan of /sys/module puts the table
 * right both ways, a module loaded meanwhile is live, one removed meanwhile is absent (issue 15,
 * item 3). */
static void test_rescan_after_lost_uevents(void **state)
{
        _cleanup_(plan_unrefp) Plan *c = NULL, *soft = NULL;
        Harness h;

        harness_init(&h, NULL, COMPRESSION_XZ);
        harness_start(&h);
        /* The table says mc_soft is live: its "remove" will be lost. */
        engine_module_event(h.engine, "mc_soft", KERNEL_MODULE_LIVE);
        /* Someone loads mc_c: its "add" is lost. */
        kernel_fake_set_state(h.fake, "mc_c", KERNEL_MODULE_LIVE);

        assert_int_equal(engine_rescan(h.engine), 0);
        c = plan_for(&h, "mc_c");
        soft = plan_for(&h, "mc_soft");
        submit(&h, c);
        submit(&h, soft);
        run_until(&h, 2);
        assert_int_equal(result_of(&h.records[0], 0)->outcome, OUTCOME_ALREADY_LOADED);
        assert_int_equal(h.records[1].error, 0);
        assert_int_equal(result_of(&h.records[1], 0)->outcome, OUTCOME_LOADED);
        assert_int_equal(kernel_fake_counts(h.fake).loads, 1);
        harness_done(&h);
}

/* Module uevent actions as states. */
static void test_uevent_actions(void **state)
{
        KernelModuleState s;

        assert_int_equal(uevent_action_to_state("add", &s), 0);
        assert_int_equal(s, KERNEL_MODULE_LIVE);
        assert_int_equal(uevent_action_to_state("change", &s), 0);
        assert_int_equal(s, KERNEL_MODULE_LIVE);
        assert_int_equal(uevent_action_to_state("remove", &s), 0);
        assert_int_equal(s, KERNEL_MODULE_ABSENT);
        assert_int_equal(uevent_action_to_state("bind", &s), -EINVAL);
        assert_int_equal(uevent_action_to_state(NULL, &s), -EINVAL);
}

/* -- kernel states ----------------------------------------------------------------------------- */

/* Someone else is loading it: wait, never insert. */
static void test_coming_waits_without_insert(void **state)
{
        _cleanup_(plan_unrefp) Plan *p = NULL;
        Harness h;

        harness_init(&h, NULL, COMPRESSION_XZ);
        kernel_fake_set_state(h.fake, "mc_c", KERNEL_MODULE_COMING);
        harness_start(&h);
        p = plan_for(&h, "mc_c");
        submit_n(&h, p, 10);
        run_for(&h, 200 * USEC_PER_MSEC);
        assert_int_equal(h.n_records, 0);
        assert_int_equal(kernel_fake_counts(h.fake).opens, 0);
        assert_int_equal(kernel_fake_counts(h.fake).finit_calls, 0);

        kernel_fake_set_state(h.fake, "mc_c", KERNEL_MODULE_LIVE);
        run_until(&h, 10);
        for (size_t i = 0; i < 10; i++)
                assert_int_equal(result_of(&h.records[i], 0)->outcome, OUTCOME_ALREADY_LOADED);
        assert_int_equal(kernel_fake_counts(h.fake).opens, 0);
        assert_int_equal(kernel_fake_counts(h.fake).finit_calls, 0);
        harness_done(&h);
}

/* A uevent ends the wait as well, without waiting for the poll. */
static void test_coming_ended_by_uevent(void **state)
{
        _cleanup_(plan_unrefp) Plan *p = NULL;
        Harness h;

        harness_init(&h, NULL, COMPRESSION_XZ);
        kernel_fake_set_state(h.fake, "mc_c", KERNEL_MODULE_COMING);
        harness_start(&h);
        p = plan_for(&h, "mc_c");
        submit(&h, p);
        assert_int_equal(h.n_records, 0);
        engine_module_event(h.engine, "mc_c", KERNEL_MODULE_LIVE);
        assert_int_equal(h.n_records, 1);
        assert_int_equal(result_of(&h.records[0], 0)->outcome, OUTCOME_ALREADY_LOADED);
        harness_done(&h);
}

/* Going: wait until it is gone, then load once. */
static void test_going_waits_then_loads_once(void **state)
{
        _cleanup_(plan_unrefp) Plan *p = NULL;
        Harness h;

        harness_init(&h, NULL, COMPRESSION_XZ);
        kernel_fake_set_state(h.fake, "mc_c", KERNEL_MODULE_GOING);
        harness_start(&h);
        p = plan_for(&h, "mc_c");
        submit_n(&h, p, 20);
        run_for(&h, 150 * USEC_PER_MSEC);
        assert_int_equal(h.n_records, 0);
        assert_int_equal(kernel_fake_counts(h.fake).finit_calls, 0);

        kernel_fake_set_state(h.fake, "mc_c", KERNEL_MODULE_ABSENT);
        run_until(&h, 20);
        assert_int_equal(kernel_fake_counts(h.fake).finit_calls, 1);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_c"), 1);
        for (size_t i = 0; i < 20; i++)
                assert_int_equal(h.records[i].error, 0);
        harness_done(&h);
}

static bool busy_retried(Harness *h, const void *arg)
{
        return engine_stats(h->engine).busy_retries > 0;
}

/* The kernel says EBUSY and /sys/module shows the old instance going away: no client sees
 * EBUSY; the engine waits until the module is gone and loads it again. */
static void test_ebusy_while_going_waits_then_loads(void **state)
{
        _cleanup_(plan_unrefp) Plan *p = NULL;
        Harness h;

        harness_init(&h, NULL, COMPRESSION_XZ);
        harness_start(&h);
        kernel_fake_set_state(h.fake, "mc_c", KERNEL_MODULE_GOING); /* after the scan */
        p = plan_for(&h, "mc_c");
        submit_n(&h, p, 5);
        run_while_not(&h, busy_retried, NULL);
        run_for(&h, 150 * USEC_PER_MSEC);
        assert_int_equal(h.n_records, 0);
        assert_int_equal(kernel_fake_counts(h.fake).finit_calls, 1);
        assert_int_equal(engine_stats(h.engine).busy_retries, 1);

        kernel_fake_set_state(h.fake, "mc_c", KERNEL_MODULE_ABSENT);
        run_until(&h, 5);
        assert_int_equal(kernel_fake_counts(h.fake).finit_calls, 2);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_c"), 1);
        for (size_t i = 0; i < 5; i++) {
                assert_int_equal(h.records[i].error, 0);
                assert_int_equal(result_of(&h.records[i], 0)->outcome, OUTCOME_LOADED);
        }
        harness_done(&h);
}

/* Already live: answered at once from the table, zero opens, zero kernel calls. */
static void test_live_module_costs_nothing(void **state)
{
        _cleanup_(plan_unrefp) Plan *p = NULL;
        Harness h;

        harness_init(&h, NULL, COMPRESSION_XZ);
        kernel_fake_set_state(h.fake, "mc_c", KERNEL_MODULE_LIVE);
        kernel_fake_set_state(h.fake, "mc_b", KERNEL_MODULE_LIVE);
        harness_start(&h);
        p = plan_for(&h, "mc_b");
        for (int i = 0; i < 100; i++) {
                Request *r = (Request *) 0x1;
                assert_int_equal(engine_submit(h.engine, p, resolver_generation(h.resolver),
                                         on_done, &h, &r),
                        1);
                assert_null(r);
        }
        assert_int_equal(h.n_records, 100);
        assert_int_equal(result_of(&h.records[99], 0)->outcome, OUTCOME_ALREADY_LOADED);
        assert_int_equal(result_of(&h.records[99], 1)->outcome, OUTCOME_ALREADY_LOADED);
        KernelFakeCounts c = kernel_fake_counts(h.fake);
        assert_int_equal(c.opens, 0);
        assert_int_equal(c.finit_calls + c.init_calls, 0);
        assert_int_equal(c.state_reads, 0);
        assert_int_equal(engine_stats(h.engine).answered_live, 200);

        /* Unloaded (a remove uevent): the next request loads it again. */
        engine_module_event(h.engine, "mc_b", KERNEL_MODULE_ABSENT);
        kernel_fake_set_state(h.fake, "mc_b", KERNEL_MODULE_ABSENT);
        submit(&h, p);
        run_until(&h, 101);
        assert_int_equal(result_of(&h.records[100], 1)->outcome, OUTCOME_LOADED);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_b"), 1);
        harness_done(&h);
}

/* -- the failure memory ------------------------------------------------------------------------ */

static void test_failure_memory(void **state)
{
        _cleanup_(plan_unrefp) Plan *p = NULL;
        EngineConfig config = { .failure_memory_usec = 300 * USEC_PER_MSEC };
        Harness h;

        harness_init(&h, &config, COMPRESSION_XZ);
        harness_start(&h);
        p = plan_for(&h, "mc_fail");
        kernel_fake_set_result(h.fake, "mc_fail", -ENODEV);
        submit_n(&h, p, 200);
        run_until(&h, 200);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_fail"), 1);
        for (size_t i = 0; i < 200; i++) {
                assert_int_equal(h.records[i].error, -ENODEV);
                assert_string_equal(h.records[i].failed, "mc_fail");
                assert_false(result_of(&h.records[i], 0)->from_memory);
        }

        /* Inside the window: from memory, zero kernel calls, zero opens. */
        unsigned opens = kernel_fake_counts(h.fake).opens;
        submit(&h, p);
        assert_int_equal(h.n_records, 201);
        assert_int_equal(h.records[200].error, -ENODEV);
        assert_true(result_of(&h.records[200], 0)->from_memory);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_fail"), 1);
        assert_int_equal(kernel_fake_counts(h.fake).opens, opens);
        assert_int_equal(engine_stats(h.engine).answered_failure_cache, 1);

        /* After the window: tried again. */
        usleep(350 * 1000);
        submit(&h, p);
        run_until(&h, 202);
        assert_false(result_of(&h.records[201], 0)->from_memory);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_fail"), 2);
        harness_done(&h);
}

/* A failure is remembered while a request told of it still runs, and for the window after the
 * last of them timed out: a per-CPU plan waiting for a slow module outlives the window, its
 * clients are answered TimedOut and ask again, and the failing module is not tried again in that
 * storm. Requests that end with their answer do not extend it. */
static void test_failure_memory_lasts_while_its_requests_run(void **state)
{
        _cleanup_(plan_unrefp) Plan *p = NULL;
        EngineConfig config = { .failure_memory_usec = 300 * USEC_PER_MSEC,
                .request_timeout_usec = 1000 * USEC_PER_MSEC };
        size_t user2;
        Harness h;

        harness_init(&h, &config, COMPRESSION_XZ);
        harness_start(&h);
        assert_int_equal(resolver_resolve_modalias(h.resolver, "cpu:type:mctest", NULL, &p), 0);
        user2 = index_of(p, "mc_user2");
        kernel_fake_set_result(h.fake, "mc_user2", -ENODEV);
        kernel_fake_hold(h.fake, "mc_user1");
        submit_n(&h, p, 5);
        /* mc_user2 fails at once; the window passes while the requests wait for mc_user1,
         * until their deadline answers them. */
        run_until(&h, 5);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_user2"), 1);
        for (size_t i = 0; i < 5; i++) {
                assert_int_equal(h.records[i].error, -ETIME);
                assert_int_equal(result_of(&h.records[i], user2)->outcome, OUTCOME_FAILED);
        }

        /* Their clients ask again at once: from memory, no second attempt. */
        run_for(&h, 20 * USEC_PER_MSEC);
        submit_n(&h, p, 5);
        run_for(&h, 20 * USEC_PER_MSEC);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_user2"), 1);
        assert_int_equal(engine_stats(h.engine).answered_failure_cache, 5);

        /* While they wait for the slow module, the memory holds, however long. */
        run_for(&h, 400 * USEC_PER_MSEC);
        assert_int_equal(h.n_records, 5);
        submit(&h, p);
        run_for(&h, 20 * USEC_PER_MSEC);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_user2"), 1);
        assert_int_equal(engine_stats(h.engine).answered_failure_cache, 6);

        /* The slow module loads and every request ends with its answer: nobody asks again, and
         * the window has long passed since the last timeout: the next request tries again. */
        kernel_fake_release(h.fake, "mc_user1");
        run_until(&h, 11);
        for (size_t i = 5; i < 11; i++)
                assert_true(result_of(&h.records[i], user2)->from_memory);
        run_while_not(&h, harness_idle, NULL);
        assert_int_equal(engine_n_requests(h.engine), 0);
        submit(&h, p);
        run_until(&h, 12);
        assert_false(result_of(&h.records[11], user2)->from_memory);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_user2"), 2);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_user1"), 1);
        harness_done(&h);
}

/* A module whose own init fails with ETIME is a failure like any other, not a request that timed
 * out: the requests told of it end with their answer, their clients do not ask again, and the
 * window is not restarted when they end. */
static void test_failure_memory_own_etime_is_not_a_timeout(void **state)
{
        _cleanup_(plan_unrefp) Plan *p = NULL;
        EngineConfig config = { .failure_memory_usec = 300 * USEC_PER_MSEC,
                .request_timeout_usec = 5 * USEC_PER_SEC };
        size_t user1;
        Harness h;

        harness_init(&h, &config, COMPRESSION_XZ);
        harness_start(&h);
        assert_int_equal(resolver_resolve_modalias(h.resolver, "cpu:type:mctest", NULL, &p), 0);
        user1 = index_of(p, "mc_user1");
        kernel_fake_set_result(h.fake, "mc_user1", -ETIME);
        kernel_fake_hold(h.fake, "mc_user2");
        submit_n(&h, p, 3);
        run_while_not(&h, harness_blocked, "mc_user2");
        assert_true(kernel_fake_wait_blocked(h.fake, "mc_user2", 1, 0));
        run_while_not(&h, harness_loaded, "mc_user1");
        assert_int_equal(kernel_fake_loads(h.fake, "mc_user1"), 1);

        /* The requests outlive the window, waiting for mc_user2, and end with mc_user1's own
         * error. */
        run_for(&h, 400 * USEC_PER_MSEC);
        assert_int_equal(h.n_records, 0);
        kernel_fake_release(h.fake, "mc_user2");
        run_until(&h, 3);
        for (size_t i = 0; i < 3; i++) {
                assert_int_equal(h.records[i].error, -ETIME);
                assert_string_equal(h.records[i].failed, "mc_user1");
                assert_int_equal(result_of(&h.records[i], user1)->outcome, OUTCOME_FAILED);
        }
        run_while_not(&h, harness_idle, NULL);
        assert_int_equal(engine_n_requests(h.engine), 0);

        /* The window passed while they ran: the next request tries mc_user1 again. */
        kernel_fake_set_result(h.fake, "mc_user1", 0);
        submit(&h, p);
        run_until(&h, 4);
        assert_int_equal(h.records[3].error, 0);
        assert_false(result_of(&h.records[3], user1)->from_memory);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_user1"), 2);
        harness_done(&h);
}

/* A module of the fixture as match GROUP of a hand-made plan. */
static void plan_add_match(Plan *p, const char *name, const char *file, unsigned group)
{
        PlanModule *pm;
        struct stat st;

        assert_int_equal(plan_append(p, &pm), 0);
        pm->name = strdup(name);
        pm->path = strdup(fixture_path(file));
        pm->parameters = strdup("");
        pm->target = true;
        pm->compression = compression_from_path(pm->path);
        pm->groups = pm->hard_groups = PLAN_GROUP_BIT(group);
        assert_int_equal(stat(pm->path, &st), 0);
        pm->dev = st.st_dev;
        pm->ino = st.st_ino;
}

/* A request that timed out and carries its plan on (an orphan) does not hold the failures it
 * was told of: its client was answered and asks again, and the orphan may wait on a hung load
 * for ever. The window runs from the timeout, and then the failing module is tried again. */
static void test_failure_memory_not_held_by_orphans(void **state)
{
        _cleanup_(plan_unrefp) Plan *p = NULL;
        EngineConfig config = { .failure_memory_usec = 300 * USEC_PER_MSEC,
                .request_timeout_usec = 200 * USEC_PER_MSEC };
        Harness h;

        harness_init(&h, &config, COMPRESSION_XZ);
        harness_start(&h);
        /* Three matches: mc_fail fails at once, mc_user1 hangs, and mc_user2 comes after it, so
         * that a timed-out request has the rest of its plan to carry on. */
        assert_int_equal(plan_new(&p), 0);
        p->ordered = true;
        plan_add_match(p, "mc_fail", "mc_fail.ko.zst", 0);
        plan_add_match(p, "mc_user1", "mc_user1.ko.xz", 1);
        plan_add_match(p, "mc_user2", "mc_user2.ko.zst", 2);
        assert_int_equal(plan_add_after(p, 2, 1), 0);
        kernel_fake_set_result(h.fake, "mc_fail", -ENODEV);
        kernel_fake_hold(h.fake, "mc_user1"); /* hung until the end of the test */
        submit_n(&h, p, 3);
        run_until(&h, 3);
        for (size_t i = 0; i < 3; i++) {
                assert_int_equal(h.records[i].error, -ETIME);
                assert_int_equal(result_of(&h.records[i], 0)->outcome, OUTCOME_FAILED);
                assert_int_equal(result_of(&h.records[i], 0)->error, -ENODEV);
                assert_int_equal(result_of(&h.records[i], 1)->outcome, OUTCOME_TIMED_OUT);
        }
        assert_int_equal(engine_stats(h.engine).requests_carried_on, 1);
        assert_int_equal(engine_n_requests(h.engine), 1);

        /* Within the window after the timeout: from memory. */
        submit(&h, p);
        run_for(&h, 20 * USEC_PER_MSEC);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_fail"), 1);
        assert_int_equal(engine_stats(h.engine).answered_failure_cache, 1);

        /* That request times out too (one orphan per plan is enough). Past the window after its
         * timeout, with the orphan still waiting on mc_user1: mc_fail is tried again. */
        run_until(&h, 4);
        run_for(&h, 400 * USEC_PER_MSEC);
        assert_int_equal(engine_stats(h.engine).requests_carried_on, 1);
        assert_int_equal(engine_n_requests(h.engine), 1);
        submit(&h, p);
        run_until(&h, 5);
        assert_false(result_of(&h.records[4], 0)->from_memory);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_fail"), 2);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_user1"), 1); /* the first, still hung */
        kernel_fake_release(h.fake, "mc_user1");
        run_while_not(&h, harness_idle, NULL);
        assert_int_equal(engine_n_requests(h.engine), 0);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_user2"), 1);
        harness_done(&h);
}

/* A changed module tree or configuration drops the failure memory at once. */
static void test_failure_memory_dropped_on_resources_change(void **state)
{
        _cleanup_(plan_unrefp) Plan *p = NULL;
        Harness h;
        char cmd[2048];

        harness_init(&h, NULL, COMPRESSION_XZ);
        harness_start(&h);
        p = plan_for(&h, "mc_fail");
        kernel_fake_set_result(h.fake, "mc_fail", -ENODEV);
        submit(&h, p);
        run_until(&h, 1);
        submit(&h, p);
        assert_int_equal(h.n_records, 2);
        assert_true(result_of(&h.records[1], 0)->from_memory);

        /* depmod rewrites the index: the resolver's generation moves on. */
        snprintf(cmd, sizeof(cmd), "depmod -b %s %s", fx.root, fx.kver);
        assert_int_equal(system(cmd), 0);
        plan_unref(p);
        p = plan_for(&h, "mc_fail");
        kernel_fake_set_result(h.fake, "mc_fail", 0);
        submit(&h, p);
        run_until(&h, 3);
        assert_int_equal(h.records[2].error, 0);
        assert_false(result_of(&h.records[2], 0)->from_memory);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_fail"), 2);
        harness_done(&h);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_inode_index_does_not_outlive_the_tree),
                cmocka_unit_test(test_rescan_after_lost_uevents),
                cmocka_unit_test(test_coming_waits_without_insert),
                cmocka_unit_test(test_coming_ended_by_uevent),
                cmocka_unit_test(test_going_waits_then_loads_once),
                cmocka_unit_test(test_ebusy_while_going_waits_then_loads),
                cmocka_unit_test(test_live_module_costs_nothing),
                cmocka_unit_test(test_failure_memory),
                cmocka_unit_test(test_failure_memory_lasts_while_its_requests_run),
                cmocka_unit_test(test_failure_memory_own_etime_is_not_a_timeout),
                cmocka_unit_test(test_failure_memory_not_held_by_orphans),
                cmocka_unit_test(test_failure_memory_dropped_on_resources_change),
                cmocka_unit_test(test_uevent_actions),
        };
        return cmocka_run_group_tests(tests, fixture_group_setup, fixture_group_teardown);
}
