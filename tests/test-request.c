/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-request — a request's walk of its plan against the fake kernel: independent matches and
 * their failures, a plan that costs its longest chain, the rules for the kernel's own requests
 * (request_module() from inside an init), deadlines, and clients that go away. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <sys/eventfd.h>

#include "engine-harness.h"

/* -- a plan's matches -------------------------------------------------------------------------- */

/* A failing hard dependency fails the requests that need it, with its name and errno, and
 * skips what comes after it; other requests are unaffected. */
static void test_failing_dependency(void **state)
{
        _cleanup_(plan_unrefp) Plan *p1 = NULL, *p2 = NULL, *other = NULL;
        Harness h;

        harness_init(&h, NULL, COMPRESSION_XZ);
        harness_start(&h);
        p1 = plan_for(&h, "mc_user1");
        p2 = plan_for(&h, "mc_user2");
        other = plan_for(&h, "mc_c");
        kernel_fake_set_result(h.fake, "mc_shared", -ENODEV);
        submit(&h, p1);
        submit(&h, p2);
        submit(&h, other);
        run_until(&h, 3);

        for (size_t i = 0; i < 3; i++) {
                const Record *rec = &h.records[i];

                if (rec->n == 1) {
                        assert_int_equal(rec->error, 0);
                        continue;
                }
                assert_int_equal(rec->error, -ENODEV);
                assert_string_equal(rec->failed, "mc_shared");
                assert_int_equal(result_of(rec, 0)->outcome, OUTCOME_FAILED);
                assert_int_equal(result_of(rec, 0)->error, -ENODEV);
                assert_int_equal(result_of(rec, 1)->outcome, OUTCOME_SKIPPED);
        }
        assert_int_equal(kernel_fake_loads(h.fake, "mc_shared"), 1);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_user1"), 0);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_c"), 1);
        harness_done(&h);
}

/* Several matches of one MODALIAS load independently, as udev's builtin does: one failing
 * does not skip the other, and the request reports the failure. */
static void test_matches_are_independent(void **state)
{
        _cleanup_(plan_unrefp) Plan *p = NULL;
        Harness h;

        harness_init(&h, NULL, COMPRESSION_XZ);
        harness_start(&h);
        assert_int_equal(resolver_resolve_modalias(h.resolver, "mctest:multi", NULL, &p), 0);
        kernel_fake_set_result(h.fake, "mc_user1", -EIO);
        submit(&h, p);
        run_until(&h, 1);
        assert_int_equal(h.records[0].error, -EIO);
        assert_string_equal(h.records[0].failed, "mc_user1");
        assert_int_equal(
                result_of(&h.records[0], index_of(p, "mc_user1"))->outcome, OUTCOME_FAILED);
        assert_int_equal(
                result_of(&h.records[0], index_of(p, "mc_user2"))->outcome, OUTCOME_LOADED);
        assert_int_equal(kernel_fake_get_state(h.fake, "mc_user2"), KERNEL_MODULE_LIVE);
        harness_done(&h);
}

/* A softdep that fails does not fail the module that wants it (modprobe's rule). */
static void test_softdep_failure_ignored(void **state)
{
        _cleanup_(plan_unrefp) Plan *p = NULL;
        Harness h;

        harness_init(&h, NULL, COMPRESSION_XZ);
        harness_start(&h);
        p = plan_for(&h, "mc_a");
        kernel_fake_set_result(h.fake, "mc_soft", -EIO);
        kernel_fake_set_result(h.fake, "mc_post", -ENOENT);
        submit(&h, p);
        run_until(&h, 1);
        assert_int_equal(h.records[0].error, 0);
        assert_int_equal(result_of(&h.records[0], index_of(p, "mc_soft"))->outcome, OUTCOME_FAILED);
        assert_int_equal(result_of(&h.records[0], index_of(p, "mc_soft"))->error, -EIO);
        assert_int_equal(result_of(&h.records[0], index_of(p, "mc_a"))->outcome, OUTCOME_LOADED);
        assert_int_equal(result_of(&h.records[0], index_of(p, "mc_post"))->outcome, OUTCOME_FAILED);
        assert_int_equal(kernel_fake_get_state(h.fake, "mc_a"), KERNEL_MODULE_LIVE);
        harness_done(&h);
}

/* -- a plan costs its longest chain ------------------------------------------------------------ */

/* mc_a's plan is mc_c, mc_b, mc_soft, mc_a, mc_post: mc_soft needs nothing, so it loads while
 * mc_c is held; mc_b waits for mc_c, mc_a for all three, mc_post (softdep post:) for mc_a. */
static void test_independent_modules_load_together(void **state)
{
        _cleanup_(plan_unrefp) Plan *p = NULL;
        Harness h;

        harness_init(&h, NULL, COMPRESSION_XZ);
        harness_start(&h);
        p = plan_for(&h, "mc_a");
        kernel_fake_hold(h.fake, "mc_c");
        submit_n(&h, p, 3);
        assert_true(kernel_fake_wait_blocked(h.fake, "mc_c", 1, 5 * USEC_PER_SEC));
        run_while_not(&h, harness_live, "mc_soft");
        assert_int_equal(kernel_fake_get_state(h.fake, "mc_soft"), KERNEL_MODULE_LIVE);
        run_for(&h, 50 * USEC_PER_MSEC);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_b"), 0);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_a"), 0);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_post"), 0);
        assert_int_equal(h.n_records, 0);
        assert_int_equal(engine_n_waiting(h.engine), 3);

        kernel_fake_release(h.fake, "mc_c");
        run_until(&h, 3);
        for (size_t r = 0; r < 3; r++) {
                assert_int_equal(h.records[r].error, 0);
                for (size_t i = 0; i < p->n_modules; i++)
                        assert_true(result_of(&h.records[r], i)->outcome == OUTCOME_LOADED);
        }
        assert_int_equal(kernel_fake_counts(h.fake).loads, 5);
        assert_int_equal(engine_n_waiting(h.engine), 0);
        harness_done(&h);
}

/* Two matches of a CPU's MODALIAS: the second does not wait for the first, only for the
 * dependency they share; the request ends when both have. */
static void test_cpu_matches_load_side_by_side(void **state)
{
        _cleanup_(plan_unrefp) Plan *p = NULL;
        Harness h;

        harness_init(&h, NULL, COMPRESSION_XZ);
        harness_start(&h);
        assert_int_equal(resolver_resolve_modalias(h.resolver, "cpu:type:mctest", NULL, &p), 0);
        assert_int_equal(p->n_modules, 3);
        kernel_fake_hold(h.fake, "mc_user1");
        submit(&h, p);
        /* mc_user1 and mc_user2 start once mc_shared is live. */
        run_while_not(&h, harness_live, "mc_user2");
        assert_true(kernel_fake_wait_blocked(h.fake, "mc_user1", 1, 5 * USEC_PER_SEC));
        assert_int_equal(kernel_fake_get_state(h.fake, "mc_user2"), KERNEL_MODULE_LIVE);
        assert_int_equal(h.n_records, 0);
        kernel_fake_release(h.fake, "mc_user1");
        run_until(&h, 1);
        assert_int_equal(h.records[0].error, 0);
        assert_int_equal(kernel_fake_counts(h.fake).loads, 3);
        harness_done(&h);
}

/* Two drivers matching one device: the second is loaded only once the first has settled, as
 * udev's builtin does, so that which one binds the device stays modprobe's choice. */
static void test_device_matches_keep_their_order(void **state)
{
        _cleanup_(plan_unrefp) Plan *p = NULL;
        Harness h;

        harness_init(&h, NULL, COMPRESSION_XZ);
        harness_start(&h);
        assert_int_equal(resolver_resolve_modalias(h.resolver, "mctest:multi", NULL, &p), 0);
        kernel_fake_hold(h.fake, "mc_user1");
        submit(&h, p);
        run_while_not(&h, harness_blocked, "mc_user1");
        assert_true(kernel_fake_wait_blocked(h.fake, "mc_user1", 1, 5 * USEC_PER_SEC));
        run_for(&h, 100 * USEC_PER_MSEC);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_user2"), 0);
        kernel_fake_release(h.fake, "mc_user1");
        run_until(&h, 1);
        assert_int_equal(h.records[0].error, 0);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_user2"), 1);
        harness_done(&h);
}

/* A timeout while several modules are waited for: each of them is timed out for the client,
 * and the plan carries on for nobody (an orphan): what was not reached is still pending. */
static void test_timeout_with_modules_side_by_side(void **state)
{
        _cleanup_(plan_unrefp) Plan *p = NULL;
        EngineConfig config = { .request_timeout_usec = 200 * USEC_PER_MSEC };
        Harness h;

        harness_init(&h, &config, COMPRESSION_XZ);
        harness_start(&h);
        p = plan_for(&h, "mc_a");
        kernel_fake_hold(h.fake, "mc_c");
        kernel_fake_hold(h.fake, "mc_soft");
        submit(&h, p);
        run_until(&h, 1);
        assert_int_equal(h.records[0].error, -ETIME);
        assert_string_equal(h.records[0].failed, "mc_c");
        assert_int_equal(result_of(&h.records[0], index_of(p, "mc_c"))->outcome, OUTCOME_TIMED_OUT);
        assert_int_equal(
                result_of(&h.records[0], index_of(p, "mc_soft"))->outcome, OUTCOME_TIMED_OUT);
        assert_int_equal(result_of(&h.records[0], index_of(p, "mc_b"))->outcome, OUTCOME_PENDING);
        assert_int_equal(engine_stats(h.engine).requests_carried_on, 1);
        kernel_fake_release(h.fake, "mc_c");
        kernel_fake_release(h.fake, "mc_soft");
        /* The orphan goes on with the plan once both are in. */
        run_while_not(&h, harness_live, "mc_post");
        assert_int_equal(kernel_fake_get_state(h.fake, "mc_post"), KERNEL_MODULE_LIVE);
        assert_int_equal(engine_n_waiting(h.engine), 0);
        assert_int_equal(engine_n_requests(h.engine), 0);
        harness_done(&h);
}

/* An install command is a barrier: it runs after everything before it, and what comes after it
 * waits for it (it may run modprobe itself). */
static void test_install_command_orders_the_plan(void **state)
{
        _cleanup_(plan_unrefp) Plan *p = NULL;
        Harness h;

        harness_init(&h, NULL, COMPRESSION_XZ);
        harness_start(&h);
        assert_int_equal(
                resolver_resolve_names(h.resolver,
                        (char *const[]){ "mc_c", "mc_inst", "mc_soft", NULL }, NULL, &p, NULL),
                0);
        kernel_fake_hold(h.fake, "mc_c");
        submit(&h, p);
        assert_true(kernel_fake_wait_blocked(h.fake, "mc_c", 1, 5 * USEC_PER_SEC));
        run_for(&h, 100 * USEC_PER_MSEC);
        assert_int_equal(engine_stats(h.engine).install_commands, 0);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_soft"), 0);
        kernel_fake_release(h.fake, "mc_c");
        run_until(&h, 1);
        assert_int_equal(h.records[0].error, 0);
        assert_int_equal(engine_stats(h.engine).install_commands, 1);
        assert_int_equal(kernel_fake_get_state(h.fake, "mc_soft"), KERNEL_MODULE_LIVE);
        harness_done(&h);
}

/* -- deadlines and clients that go away -------------------------------------------------------- */

/* A waiter that goes away: the others still get the result, the load completes. */
static void test_cancelled_waiter(void **state)
{
        _cleanup_(plan_unrefp) Plan *p = NULL;
        Request *r[3];
        Harness h;

        harness_init(&h, NULL, COMPRESSION_XZ);
        harness_start(&h);
        p = plan_for(&h, "mc_a");
        kernel_fake_hold(h.fake, "mc_c");
        for (int i = 0; i < 3; i++)
                r[i] = submit(&h, p);
        assert_true(kernel_fake_wait_blocked(h.fake, "mc_c", 1, 5 * USEC_PER_SEC));
        request_cancel(r[0]); /* the one that started the load */
        request_cancel(r[2]);
        assert_int_equal(engine_n_waiting(h.engine), 1);
        kernel_fake_release(h.fake, "mc_c");
        run_until(&h, 1);
        assert_int_equal(h.records[0].error, 0);
        assert_int_equal(result_of(&h.records[0], index_of(p, "mc_a"))->outcome, OUTCOME_LOADED);
        assert_int_equal(kernel_fake_get_state(h.fake, "mc_a"), KERNEL_MODULE_LIVE);
        assert_int_equal(engine_stats(h.engine).requests_cancelled, 2);

        /* Everyone gone before the load ends: it still completes and is recorded. */
        _cleanup_(plan_unrefp) Plan *q = plan_for(&h, "mc_user1");
        kernel_fake_hold(h.fake, "mc_shared");
        r[0] = submit(&h, q);
        assert_true(kernel_fake_wait_blocked(h.fake, "mc_shared", 1, 5 * USEC_PER_SEC));
        request_cancel(r[0]);
        kernel_fake_release(h.fake, "mc_shared");
        run_while_not(&h, harness_nothing_in_flight, NULL);
        assert_int_equal(kernel_fake_get_state(h.fake, "mc_shared"), KERNEL_MODULE_LIVE);
        submit(&h, q);
        run_until(&h, 2);
        assert_int_equal(result_of(&h.records[1], 0)->outcome, OUTCOME_ALREADY_LOADED);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_shared"), 1);
        harness_done(&h);
}

/* A load that outlasts the request timeout: the waiter is answered "timed out", the daemon stays
 * healthy, and the late completion is recorded (no use after free: ASan/valgrind). */
static void test_timeout_and_late_completion(void **state)
{
        _cleanup_(plan_unrefp) Plan *p = NULL;
        EngineConfig config = { .request_timeout_usec = 100 * USEC_PER_MSEC };
        Harness h;

        harness_init(&h, &config, COMPRESSION_XZ);
        harness_start(&h);
        p = plan_for(&h, "mc_c");
        kernel_fake_hold(h.fake, "mc_c");
        submit_n(&h, p, 10);
        run_until(&h, 10);
        for (size_t i = 0; i < 10; i++) {
                assert_int_equal(h.records[i].error, -ETIME);
                assert_int_equal(result_of(&h.records[i], 0)->outcome, OUTCOME_TIMED_OUT);
        }
        assert_int_equal(engine_stats(h.engine).requests_timed_out, 10);
        assert_int_equal(engine_n_in_flight(h.engine), 1);
        kernel_fake_release(h.fake, "mc_c");
        run_while_not(&h, harness_nothing_in_flight, NULL);
        submit(&h, p);
        assert_int_equal(h.n_records, 11);
        assert_int_equal(result_of(&h.records[10], 0)->outcome, OUTCOME_ALREADY_LOADED);
        harness_done(&h);
}

/* A plan whose first module outlasts the request timeout: every waiter is answered "timed out",
 * and one of them carries on for nobody: once the dependency is in, the module after it is
 * loaded too (the device still wants it), once, and the request ends. */
static void test_timeout_carries_the_plan_on(void **state)
{
        _cleanup_(plan_unrefp) Plan *p = NULL;
        EngineConfig config = { .request_timeout_usec = 100 * USEC_PER_MSEC };
        EngineStats st;
        Harness h;

        harness_init(&h, &config, COMPRESSION_XZ);
        harness_start(&h);
        p = plan_for(&h, "mc_user1"); /* mc_shared, then mc_user1 */
        assert_int_equal(p->n_modules, 2);
        kernel_fake_hold(h.fake, "mc_shared");
        submit_n(&h, p, 10);
        run_until(&h, 10);
        for (size_t i = 0; i < 10; i++) {
                assert_int_equal(h.records[i].error, -ETIME);
                assert_string_equal(h.records[i].failed, "mc_shared");
        }
        st = engine_stats(h.engine);
        assert_int_equal(st.requests_timed_out, 10);
        assert_int_equal(st.requests_carried_on, 1);
        /* The orphan keeps the daemon busy (no idle exit) until its plan is done. */
        assert_int_equal(engine_n_requests(h.engine), 1);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_user1"), 0);
        kernel_fake_release(h.fake, "mc_shared");
        run_while_not(&h, harness_idle, NULL);
        assert_int_equal(engine_n_requests(h.engine), 0);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_shared"), 1);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_user1"), 1);
        /* Nobody was answered twice. */
        assert_int_equal(h.n_records, 10);
        submit(&h, p);
        assert_int_equal(h.n_records, 11);
        assert_int_equal(result_of(&h.records[10], 1)->outcome, OUTCOME_ALREADY_LOADED);
        harness_done(&h);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_failing_dependency),
                cmocka_unit_test(test_matches_are_independent),
                cmocka_unit_test(test_softdep_failure_ignored),
                cmocka_unit_test(test_independent_modules_load_together),
                cmocka_unit_test(test_cpu_matches_load_side_by_side),
                cmocka_unit_test(test_device_matches_keep_their_order),
                cmocka_unit_test(test_timeout_with_modules_side_by_side),
                cmocka_unit_test(test_install_command_orders_the_plan),
                cmocka_unit_test(test_cancelled_waiter),
                cmocka_unit_test(test_timeout_and_late_completion),
                cmocka_unit_test(test_timeout_carries_the_plan_on),
        };
        return cmocka_run_group_tests(tests, fixture_group_setup, fixture_group_teardown);
}
