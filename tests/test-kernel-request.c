/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-kernel-request — the kernel's own requests (request_module(), through the shim) against
 * the fake kernel: what they may wait for while an init that may be asking runs, the second ask
 * after TimedOut (waitedBefore), and request_module() from inside a module's init, at any worker
 * count. */
#include <errno.h>
#include <pthread.h>
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

/* -- the kernel's own requests ----------------------------------------------------------------- */

/* The kernel asking, perhaps from inside the init of the module it names: a module loading
 * right now (ours or someone else's) is answered at once, never waited for. */
static void test_kernel_requests_do_not_wait(void **state)
{
        _cleanup_(plan_unrefp) Plan *p = NULL, *q = NULL;
        Request *r = (Request *) 0x1;
        Harness h;

        harness_init(&h, NULL, COMPRESSION_XZ);
        kernel_fake_set_state(h.fake, "mc_b", KERNEL_MODULE_COMING);
        harness_start(&h);
        p = plan_for(&h, "mc_c");
        kernel_fake_hold(h.fake, "mc_c");
        submit(&h, p);
        assert_true(kernel_fake_wait_blocked(h.fake, "mc_c", 1, 5 * USEC_PER_SEC));
        assert_int_equal(engine_submit_full(h.engine, p, resolver_generation(h.resolver),
                                 ENGINE_REQUEST_FROM_KERNEL, on_done, &h, &r),
                1);
        assert_null(r);
        assert_int_equal(h.n_records, 1);
        assert_int_equal(h.records[0].error, 0);
        assert_int_equal(result_of(&h.records[0], 0)->outcome, OUTCOME_IN_PROGRESS);

        /* Someone else's load (coming) too. */
        q = plan_single("mc_b", fixture_path("mc_b.ko.zst"), NULL);
        assert_int_equal(engine_submit_full(h.engine, q, resolver_generation(h.resolver),
                                 ENGINE_REQUEST_FROM_KERNEL, on_done, &h, &r),
                1);
        assert_int_equal(result_of(&h.records[1], 0)->outcome, OUTCOME_IN_PROGRESS);

        kernel_fake_release(h.fake, "mc_c");
        run_until(&h, 3);
        assert_int_equal(result_of(&h.records[2], 0)->outcome, OUTCOME_LOADED);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_c"), 1);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_b"), 0);
        harness_done(&h);
}

/* The same kernel request asked again after TimedOut (the shim's waitedBefore): it waited for
 * the load before the init ran, so it is not asking from inside it, and it waits for the coming
 * module, ours or someone else's, instead of being told yes before the module is there. */
static void test_kernel_request_asked_again_waits(void **state)
{
        _cleanup_(plan_unrefp) Plan *p = NULL, *q = NULL;
        const unsigned again = ENGINE_REQUEST_FROM_KERNEL | ENGINE_REQUEST_WAITED_BEFORE;
        Request *r = NULL;
        Harness h;

        harness_init(&h, NULL, COMPRESSION_XZ);
        kernel_fake_set_state(h.fake, "mc_b", KERNEL_MODULE_COMING);
        harness_start(&h);
        p = plan_for(&h, "mc_c");
        kernel_fake_hold(h.fake, "mc_c");
        submit(&h, p);
        assert_true(kernel_fake_wait_blocked(h.fake, "mc_c", 1, 5 * USEC_PER_SEC));
        assert_int_equal(engine_submit_full(h.engine, p, resolver_generation(h.resolver), again,
                                 on_done, &h, &r),
                0);
        assert_non_null(r);
        q = plan_single("mc_b", fixture_path("mc_b.ko.zst"), NULL);
        assert_int_equal(engine_submit_full(h.engine, q, resolver_generation(h.resolver), again,
                                 on_done, &h, &r),
                0);
        run_for(&h, 50 * USEC_PER_MSEC);
        assert_int_equal(h.n_records, 0);

        kernel_fake_release(h.fake, "mc_c");
        run_until(&h, 2);
        for (size_t i = 0; i < 2; i++) {
                assert_int_equal(h.records[i].error, 0);
                assert_int_equal(result_of(&h.records[i], 0)->outcome, OUTCOME_LOADED);
        }
        kernel_fake_set_state(h.fake, "mc_b", KERNEL_MODULE_LIVE);
        engine_module_event(h.engine, "mc_b", KERNEL_MODULE_LIVE);
        run_until(&h, 3);
        assert_int_equal(h.records[2].error, 0);
        assert_int_equal(result_of(&h.records[2], 0)->outcome, OUTCOME_ALREADY_LOADED);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_c"), 1);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_b"), 0);
        harness_done(&h);
}

/* Asked again, the kernel's request still does not wait for a dependency whose init runs: that
 * init may be the one asking (for a module that depends on it); only the module it names is
 * waited for. */
static void test_kernel_request_asked_again_dependency(void **state)
{
        _cleanup_(plan_unrefp) Plan *p = NULL;
        Harness h;

        harness_init(&h, NULL, COMPRESSION_XZ);
        kernel_fake_set_state(h.fake, "mc_shared", KERNEL_MODULE_COMING);
        harness_start(&h);
        p = plan_for(&h, "mc_user1"); /* mc_shared, then mc_user1 */
        assert_int_equal(p->n_modules, 2);
        assert_int_equal(engine_submit_full(h.engine, p, resolver_generation(h.resolver),
                                 ENGINE_REQUEST_FROM_KERNEL | ENGINE_REQUEST_WAITED_BEFORE, on_done,
                                 &h, NULL),
                0);
        kernel_fake_set_state(h.fake, "mc_shared", KERNEL_MODULE_LIVE);
        engine_module_event(h.engine, "mc_shared", KERNEL_MODULE_LIVE);
        run_until(&h, 1);
        assert_int_equal(h.records[0].error, 0);
        assert_int_equal(result_of(&h.records[0], 0)->outcome, OUTCOME_IN_PROGRESS);
        assert_int_equal(result_of(&h.records[0], 1)->outcome, OUTCOME_LOADED);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_shared"), 0);
        harness_done(&h);
}

/* The kernel asking for a module whose dependency is in the kernel, as udev's storm and the
 * kernel's own requests do at once (the VM's deb1 waves): while the dependency is not formed
 * yet (no init runs, nothing in /sys/module), the request waits for its load as stock modprobe's
 * finit_module() would, and the module that needs its symbols is loaded after it; once it is
 * coming, the request goes on, and the kernel itself waits for the symbols. Never a load of the
 * user before its dependency exists (the kernel's "Unknown symbol"), never a yes for a load
 * that then fails. */
static void test_kernel_request_waits_for_unformed_dependency(void **state)
{
        _cleanup_(plan_unrefp) Plan *p = NULL;
        Harness h;

        harness_init(&h, NULL, COMPRESSION_XZ);
        kernel_fake_set_needs(h.fake, "mc_user1", "mc_shared");
        harness_start(&h);
        p = plan_for(&h, "mc_user1");
        assert_int_equal(p->n_modules, 2);
        assert_string_equal(p->modules[0].name, "mc_shared");

        /* Unformed: udev's request loads it, the kernel's 30 wait, no load of mc_user1 yet. */
        kernel_fake_hold_unformed(h.fake, "mc_shared");
        submit(&h, p);
        assert_true(kernel_fake_wait_blocked(h.fake, "mc_shared", 1, 5 * USEC_PER_SEC));
        for (int i = 0; i < 30; i++)
                assert_int_equal(engine_submit_full(h.engine, p, resolver_generation(h.resolver),
                                         ENGINE_REQUEST_FROM_KERNEL, on_done, &h, NULL),
                        0);
        assert_int_equal(h.n_records, 0);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_user1"), 0);
        kernel_fake_release(h.fake, "mc_shared");
        run_until(&h, 31);
        for (size_t i = 0; i < 31; i++) {
                Outcome o = result_of(&h.records[i], 1)->outcome;

                /* All waited for mc_shared; for mc_user1, a kernel request that came to it once
                 * it was coming did not wait, as modprobe would not. */
                assert_int_equal(h.records[i].error, 0);
                assert_int_equal(result_of(&h.records[i], 0)->outcome, OUTCOME_LOADED);
                assert_true(o == OUTCOME_LOADED || o == OUTCOME_IN_PROGRESS);
        }
        assert_int_equal(kernel_fake_loads(h.fake, "mc_shared"), 1);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_user1"), 1);
        assert_int_equal(kernel_fake_counts(h.fake).unknown_symbols, 0);
        assert_int_equal(kernel_fake_get_state(h.fake, "mc_user1"), KERNEL_MODULE_LIVE);

        /* Coming (its init runs, and may be the one asking): the kernel's request does not wait
         * for it; it loads mc_user1, which the kernel links once mc_shared is live. */
        engine_module_event(h.engine, "mc_user1", KERNEL_MODULE_ABSENT);
        engine_module_event(h.engine, "mc_shared", KERNEL_MODULE_ABSENT);
        kernel_fake_set_state(h.fake, "mc_user1", KERNEL_MODULE_ABSENT);
        kernel_fake_set_state(h.fake, "mc_shared", KERNEL_MODULE_ABSENT);
        kernel_fake_hold(h.fake, "mc_shared");
        submit(&h, p);
        assert_true(kernel_fake_wait_blocked(h.fake, "mc_shared", 1, 5 * USEC_PER_SEC));
        assert_int_equal(engine_submit_full(h.engine, p, resolver_generation(h.resolver),
                                 ENGINE_REQUEST_FROM_KERNEL, on_done, &h, NULL),
                0);
        kernel_fake_release(h.fake, "mc_shared");
        run_until(&h, 33);
        int in_progress = 0;
        for (size_t i = 31; i < 33; i++) {
                Outcome o = result_of(&h.records[i], 1)->outcome;

                /* udev's request reaches mc_user1 once mc_shared's load has ended: the kernel's
                 * load of mc_user1, linked the moment mc_shared went live, may have ended first
                 * (two completions on the loop, either order). */
                assert_int_equal(h.records[i].error, 0);
                assert_true(o == OUTCOME_LOADED || o == OUTCOME_ALREADY_LOADED);
                in_progress += result_of(&h.records[i], 0)->outcome == OUTCOME_IN_PROGRESS;
        }
        assert_int_equal(in_progress, 1);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_shared"), 2);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_user1"), 2);
        assert_int_equal(kernel_fake_counts(h.fake).unknown_symbols, 0);
        harness_done(&h);
}

/* -- request_module() from inside a module's init ---------------------------------------------- */

/* How long a nested request is waited for (the kernel waits for modprobe, the shim for the
 * daemon): long enough for any load of these tests, short enough that a stall fails the test. */
#define NESTED_WAIT_USEC (5 * USEC_PER_SEC)

/* A module's init that calls request_module(): on the loader thread, inside the fake kernel, it
 * asks the engine (on the loop thread, through an eventfd, as the shim asks through the socket)
 * for another plan as the kernel does, and waits for the answer; the init fails with -ETIME
 * when none came in time, or -ENOENT when the module it wanted is not there. */
typedef struct Nested {
        Harness *h;
        Plan *plan;
        const char *wanted; /* must be live in the fake kernel when the answer comes */
        int efd;
        sd_event_source *source;
        pthread_mutex_t lock;
        pthread_cond_t answered_cond;
        bool answered;
        Outcome outcome;
} Nested;

static void on_nested_done(Request *r, void *userdata)
{
        Nested *n = userdata;

        pthread_mutex_lock(&n->lock);
        n->answered = true;
        n->outcome = request_result(r, request_plan(r)->n_modules - 1)->outcome;
        pthread_cond_broadcast(&n->answered_cond);
        pthread_mutex_unlock(&n->lock);
}

static int on_nested_asked(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Nested *n = userdata;
        eventfd_t v;

        (void) eventfd_read(fd, &v);
        assert_true(engine_submit_full(n->h->engine, n->plan, resolver_generation(n->h->resolver),
                            ENGINE_REQUEST_FROM_KERNEL, on_nested_done, n, NULL) >= 0);
        return 0;
}

static int nested_init(void *userdata)
{
        Nested *n = userdata;
        usec_t deadline = now_usec() + NESTED_WAIT_USEC;
        int r;

        assert_int_equal(eventfd_write(n->efd, 1), 0);
        pthread_mutex_lock(&n->lock);
        while (!n->answered && now_usec() < deadline) {
                struct timespec ts;

                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_sec += 1;
                pthread_cond_timedwait(&n->answered_cond, &n->lock, &ts);
        }
        r = !n->answered ? -ETIME : 0;
        pthread_mutex_unlock(&n->lock);
        if (r == 0 && kernel_fake_get_state(n->h->fake, n->wanted) != KERNEL_MODULE_LIVE)
                r = -ENOENT;
        return r;
}

static void nested_init_struct(Nested *n, Harness *h, const char *caller, const char *wanted)
{
        char file[64];

        *n = (Nested){ .h = h, .wanted = wanted };
        snprintf(file, sizeof(file), "%s.ko", wanted);
        n->plan = plan_single(wanted, fixture_path(file), NULL);
        n->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        assert_true(n->efd >= 0);
        assert_int_equal(
                sd_event_add_io(h->event, &n->source, n->efd, EPOLLIN, on_nested_asked, n), 0);
        pthread_mutex_init(&n->lock, NULL);
        pthread_cond_init(&n->answered_cond, NULL);
        kernel_fake_set_init_hook(h->fake, caller, nested_init, n);
}

static void nested_done(Nested *n)
{
        sd_event_source_disable_unref(n->source);
        close(n->efd);
        plan_unref(n->plan);
        pthread_cond_destroy(&n->answered_cond);
        pthread_mutex_destroy(&n->lock);
}

/* mc_c's init asks for mc_post, whose init asks for mc_shared, with one loader worker, which
 * mc_c's load holds for as long as its init runs: each nested load must still get a worker. */
static void test_nested_request_module(void **state)
{
        _cleanup_(plan_unrefp) Plan *p = NULL;
        EngineConfig config = { .workers = 1 };
        Nested outer, inner;
        Harness h;

        harness_init(&h, &config, COMPRESSION_XZ);
        harness_start(&h);
        nested_init_struct(&outer, &h, "mc_c", "mc_post");
        nested_init_struct(&inner, &h, "mc_post", "mc_shared");
        p = plan_single("mc_c", fixture_path("mc_c.ko"), NULL);
        submit(&h, p);
        run_until(&h, 1);
        assert_int_equal(h.records[0].error, 0);
        assert_int_equal(result_of(&h.records[0], 0)->outcome, OUTCOME_LOADED);
        assert_true(outer.answered && inner.answered);
        assert_int_equal(outer.outcome, OUTCOME_LOADED);
        assert_int_equal(inner.outcome, OUTCOME_LOADED);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_c"), 1);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_post"), 1);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_shared"), 1);
        harness_done(&h);
        nested_done(&inner);
        nested_done(&outer);
}

/* The module that mc_c's init asks for is already wanted by a client, its load queued behind
 * mc_c's on the one worker: the kernel's request waits for that load, which must get a worker,
 * instead of being told "in progress" for a load that has not started. */
static void test_nested_request_joins_queued_load(void **state)
{
        _cleanup_(plan_unrefp) Plan *p = NULL, *q = NULL;
        EngineConfig config = { .workers = 1 };
        Nested outer;
        Harness h;

        harness_init(&h, &config, COMPRESSION_XZ);
        harness_start(&h);
        nested_init_struct(&outer, &h, "mc_c", "mc_post");
        p = plan_single("mc_c", fixture_path("mc_c.ko"), NULL);
        kernel_fake_hold(h.fake, "mc_c");
        submit(&h, p);
        assert_true(kernel_fake_wait_blocked(h.fake, "mc_c", 1, 5 * USEC_PER_SEC));
        q = plan_single("mc_post", fixture_path("mc_post.ko"), NULL);
        submit(&h, q);
        kernel_fake_release(h.fake, "mc_c");
        run_until(&h, 2);
        for (size_t i = 0; i < 2; i++)
                assert_int_equal(h.records[i].error, 0);
        assert_true(outer.answered);
        assert_int_equal(outer.outcome, OUTCOME_LOADED);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_post"), 1);
        assert_int_equal(kernel_fake_get_state(h.fake, "mc_c"), KERNEL_MODULE_LIVE);
        harness_done(&h);
        nested_done(&outer);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_kernel_requests_do_not_wait),
                cmocka_unit_test(test_kernel_request_asked_again_waits),
                cmocka_unit_test(test_kernel_request_asked_again_dependency),
                cmocka_unit_test(test_kernel_request_waits_for_unformed_dependency),
                cmocka_unit_test(test_nested_request_module),
                cmocka_unit_test(test_nested_request_joins_queued_load),
        };
        return cmocka_run_group_tests(tests, fixture_group_setup, fixture_group_teardown);
}
