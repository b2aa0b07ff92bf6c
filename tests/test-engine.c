/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-engine — the coalescing engine against the fake kernel, with exact counts of opens,
 * reads, decompressions and kernel calls. Plans come from the resolver on the fixture tree
 * (real xz, zstd and plain modules), or are built by hand where a test needs odd files. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#if HAVE_XZ
#include <lzma.h>
#endif

#include "engine.h"
#include "fixture.h"
#include "kernel-fake.h"
#include "resolver.h"
#include "uevent.h"
#include "xz-kernel.h"

#define MAX_RESULTS 8

typedef struct Record {
        int error;
        char failed[64];
        size_t n;
        RequestResult results[MAX_RESULTS];
} Record;

typedef struct Harness {
        sd_event *event;
        KernelFake *fake;
        Engine *engine;
        Resolver *resolver;
        Record *records;
        size_t n_records, allocated;
} Harness;

static void on_done(Request *r, void *userdata)
{
        Harness *h = userdata;
        const char *failed = NULL;
        Record *rec;

        if (h->n_records == h->allocated) {
                h->allocated = h->allocated ? h->allocated * 2 : 64;
                h->records = realloc(h->records, h->allocated * sizeof(Record));
                assert_non_null(h->records);
        }
        rec = &h->records[h->n_records++];
        *rec = (Record){ .error = request_error(r, &failed) };
        if (failed)
                snprintf(rec->failed, sizeof(rec->failed), "%s", failed);
        rec->n = request_plan(r)->n_modules;
        assert_true(rec->n <= MAX_RESULTS);
        for (size_t i = 0; i < rec->n; i++)
                rec->results[i] = *request_result(r, i);
}

/* States of the fake kernel are set before the engine scans them. */
static void harness_init(Harness *h, const EngineConfig *config, Compression kernel_compression)
{
        const char *const conf[] = { fx.conf, NULL };

        *h = (Harness){};
        assert_int_equal(sd_event_new(&h->event), 0);
        assert_int_equal(kernel_fake_new(&h->fake), 0);
        kernel_fake_set_compression(h->fake, kernel_compression);
        assert_int_equal(engine_new(&h->engine, h->event, kernel_fake_kernel(h->fake), config), 0);
        assert_int_equal(resolver_new(&h->resolver, false, fx.moddir, conf), 0);
}

static void harness_start(Harness *h)
{
        assert_int_equal(engine_start(h->engine), 0);
}

static void harness_done(Harness *h)
{
        engine_free(h->engine);
        resolver_free(h->resolver);
        kernel_fake_free(h->fake);
        sd_event_unref(h->event);
        free(h->records);
}

static Plan *plan_for(Harness *h, const char *name)
{
        Plan *p = NULL;

        assert_int_equal(resolver_resolve_names(h->resolver, (char *const[]){ (char *) name, NULL },
                                 NULL, &p, NULL),
                0);
        return p;
}

static Plan *plan_for_params(Harness *h, const char *name, const char *params)
{
        Plan *p = NULL;

        assert_int_equal(resolver_resolve_names(h->resolver, (char *const[]){ (char *) name, NULL },
                                 params, &p, NULL),
                0);
        return p;
}

/* A one-module plan for any file, under any name. */
static Plan *plan_single(const char *name, const char *path, const char *install)
{
        PlanModule *pm;
        struct stat st;
        Plan *p;

        assert_int_equal(plan_new(&p), 0);
        assert_int_equal(plan_append(p, &pm), 0);
        pm->name = strdup(name);
        pm->path = strdup(path);
        pm->parameters = strdup("");
        pm->install_command = install ? strdup(install) : NULL;
        pm->target = true;
        pm->compression = compression_from_path(path);
        if (stat(path, &st) == 0) {
                pm->dev = st.st_dev;
                pm->ino = st.st_ino;
        }
        return p;
}

static Request *submit(Harness *h, Plan *p)
{
        Request *r = NULL;

        assert_true(
                engine_submit(h->engine, p, resolver_generation(h->resolver), on_done, h, &r) >= 0);
        return r;
}

/* The same plan n times, as n clients would ask for it. */
static void submit_n(Harness *h, Plan *p, unsigned n)
{
        for (unsigned i = 0; i < n; i++)
                submit(h, p);
}

static void run_until(Harness *h, size_t n_records)
{
        usec_t deadline = now_usec() + 20 * USEC_PER_SEC;

        while (h->n_records < n_records) {
                assert_true(now_usec() < deadline);
                assert_true(sd_event_run(h->event, 10 * USEC_PER_MSEC) >= 0);
        }
}

static void run_for(Harness *h, usec_t t)
{
        usec_t deadline = now_usec() + t;

        while (now_usec() < deadline)
                assert_true(sd_event_run(h->event, 5 * USEC_PER_MSEC) >= 0);
}

static const RequestResult *result_of(const Record *rec, size_t i)
{
        assert_true(i < rec->n);
        return &rec->results[i];
}

static size_t index_of(const Plan *p, const char *name)
{
        for (size_t i = 0; i < p->n_modules; i++)
                if (strcmp(p->modules[i].name, name) == 0)
                        return i;
        fail_msg("%s not in plan", name);
        return 0;
}

static char path_buf[1200];
static const char *fixture_path(const char *file)
{
        snprintf(path_buf, sizeof(path_buf), "%s/kernel/mctest/%s", fx.moddir, file);
        return path_buf;
}

/* The image the kernel got equals the module as built, byte for byte. */
static void assert_file_hash(const char *module, uint64_t hash)
{
        char path[1200];
        unsigned char *buf;
        struct stat st;
        FILE *f;

        snprintf(path, sizeof(path), "%s/build/%s.ko", fx.dir, module);
        assert_int_equal(stat(path, &st), 0);
        assert_non_null(buf = malloc(st.st_size));
        assert_non_null(f = fopen(path, "re"));
        assert_int_equal(fread(buf, 1, st.st_size, f), (size_t) st.st_size);
        fclose(f);
        assert_true(kernel_fake_hash(buf, st.st_size) == hash);
        free(buf);
}

/* -- coalescing -------------------------------------------------------------------------------- */

/* 1000 requests for one zstd module on an xz kernel (the userspace path): one open, one read
 * of the file, one decompression, one kernel call, 1000 identical answers. */
static void test_thousand_waiters_userspace_path(void **state)
{
        _cleanup_(plan_unrefp) Plan *p = NULL;
        struct stat st;
        Harness h;

        harness_init(&h, NULL, COMPRESSION_XZ);
        harness_start(&h);
        p = plan_single("mc_user2", fixture_path("mc_user2.ko.zst"), NULL);
        kernel_fake_hold(h.fake, "mc_user2");
        for (int i = 0; i < 1000; i++)
                assert_non_null(submit(&h, p));
        assert_true(kernel_fake_wait_blocked(h.fake, "mc_user2", 1, 5 * USEC_PER_SEC));
        assert_int_equal(engine_n_waiting(h.engine), 1000);
        assert_int_equal(engine_n_in_flight(h.engine), 1);
        kernel_fake_release(h.fake, "mc_user2");
        run_until(&h, 1000);

        KernelFakeCounts c = kernel_fake_counts(h.fake);
        EngineStats s = engine_stats(h.engine);
        assert_int_equal(c.opens, 1);
        assert_int_equal(c.init_calls, 1);
        assert_int_equal(c.finit_calls, 0);
        assert_int_equal(c.loads, 1);
        assert_int_equal(s.loads, 1);
        assert_int_equal(s.coalesced_by_name, 999);
        assert_int_equal(stat(fixture_path("mc_user2.ko.zst"), &st), 0);
        /* The magic bytes, then the whole file once. */
        assert_int_equal(c.bytes_read, 8 + (uint64_t) st.st_size);
        assert_int_equal(s.bytes_read, c.bytes_read);
        assert_true(s.bytes_decompressed > (uint64_t) st.st_size);
        assert_int_equal(s.bytes_decompressed, kernel_fake_last_image_size(h.fake, "mc_user2"));
        assert_file_hash("mc_user2", kernel_fake_last_image_hash(h.fake, "mc_user2"));
        assert_int_equal(s.bytes_not_read, 999 * (uint64_t) st.st_size);
        for (size_t i = 0; i < 1000; i++) {
                assert_int_equal(h.records[i].error, 0);
                assert_int_equal(result_of(&h.records[i], 0)->outcome, OUTCOME_LOADED);
        }
        assert_int_equal(engine_n_waiting(h.engine), 0);
        assert_int_equal(engine_n_requests(h.engine), 0);
        harness_done(&h);
}

/* The same with the kernel decompressing: the fd goes to finit_module() once, nothing is read
 * in userspace but the magic and the xz headers (can the kernel's decoder take the file?). */
static void test_thousand_waiters_kernel_path(void **state)
{
        _cleanup_(plan_unrefp) Plan *p = NULL;
        struct stat st;
        Harness h;

        harness_init(&h, NULL, COMPRESSION_XZ);
        harness_start(&h);
        p = plan_single("mc_user1", fixture_path("mc_user1.ko.xz"), NULL);
        kernel_fake_hold(h.fake, "mc_user1");
        submit_n(&h, p, 1000);
        assert_true(kernel_fake_wait_blocked(h.fake, "mc_user1", 1, 5 * USEC_PER_SEC));
        kernel_fake_release(h.fake, "mc_user1");
        run_until(&h, 1000);

        KernelFakeCounts c = kernel_fake_counts(h.fake);
        assert_int_equal(c.opens, 1);
        assert_int_equal(c.finit_compressed_calls, 1);
        assert_int_equal(c.finit_calls, 1);
        assert_int_equal(c.init_calls, 0);
        assert_int_equal(stat(fixture_path("mc_user1.ko.xz"), &st), 0);
        assert_int_equal(c.bytes_read,
                8 +
                        ((uint64_t) st.st_size < XZ_KERNEL_HEADERS_MAX ? (uint64_t) st.st_size
                                                                       : XZ_KERNEL_HEADERS_MAX));
        assert_int_equal(engine_stats(h.engine).bytes_decompressed, 0);
        for (size_t i = 0; i < 1000; i++)
                assert_int_equal(result_of(&h.records[i], 0)->outcome, OUTCOME_LOADED);
        harness_done(&h);
}

/* By name, by alias and through a symlink (another name, the same file): one load. */
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

static void test_coalesce_by_name_alias_and_inode(void **state)
{
        _cleanup_(plan_unrefp) Plan *by_name = NULL, *by_alias = NULL, *by_link = NULL;
        char link[1200];
        Harness h;

        harness_init(&h, NULL, COMPRESSION_XZ);
        harness_start(&h);
        snprintf(link, sizeof(link), "%s/mc_c_link.ko", fx.dir);
        (void) unlink(link);
        assert_int_equal(symlink(fixture_path("mc_c.ko"), link), 0);

        by_name = plan_for(&h, "mc_c");
        assert_int_equal(resolver_resolve_modalias(h.resolver, "mctest:c", NULL, &by_alias), 0);
        by_link = plan_single("mc_c_link", link, NULL);
        assert_int_equal(by_link->modules[0].ino, by_name->modules[0].ino);

        kernel_fake_hold(h.fake, "mc_c");
        submit(&h, by_name);
        assert_true(kernel_fake_wait_blocked(h.fake, "mc_c", 1, 5 * USEC_PER_SEC));
        submit(&h, by_alias);
        submit(&h, by_link);
        kernel_fake_release(h.fake, "mc_c");
        run_until(&h, 3);

        assert_int_equal(kernel_fake_counts(h.fake).loads, 1);
        assert_int_equal(kernel_fake_counts(h.fake).opens, 1);
        assert_int_equal(engine_stats(h.engine).coalesced_by_name, 1);
        assert_int_equal(engine_stats(h.engine).coalesced_by_inode, 1);
        for (size_t i = 0; i < 3; i++) {
                assert_int_equal(h.records[i].error, 0);
                assert_int_equal(result_of(&h.records[i], 0)->outcome, OUTCOME_LOADED);
        }
        assert_int_equal(result_of(&h.records[1], 0)->coalesced, COALESCED_BY_NAME);
        assert_int_equal(result_of(&h.records[2], 0)->coalesced, COALESCED_BY_INODE);

        /* Later, the other name of a live file is answered without any I/O. */
        submit(&h, by_link);
        run_until(&h, 4);
        assert_int_equal(result_of(&h.records[3], 0)->outcome, OUTCOME_ALREADY_LOADED);
        assert_int_equal(kernel_fake_counts(h.fake).opens, 1);
        unlink(link);
        harness_done(&h);
}

/* Two plans that share a dependency: it loads once and both succeed. */
static void test_shared_dependency(void **state)
{
        _cleanup_(plan_unrefp) Plan *p1 = NULL, *p2 = NULL;
        Harness h;

        harness_init(&h, NULL, COMPRESSION_XZ);
        harness_start(&h);
        p1 = plan_for(&h, "mc_user1");
        p2 = plan_for(&h, "mc_user2");
        kernel_fake_hold(h.fake, "mc_shared");
        for (int i = 0; i < 50; i++) {
                submit(&h, p1);
                submit(&h, p2);
        }
        assert_true(kernel_fake_wait_blocked(h.fake, "mc_shared", 1, 5 * USEC_PER_SEC));
        kernel_fake_release(h.fake, "mc_shared");
        run_until(&h, 100);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_shared"), 1);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_user1"), 1);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_user2"), 1);
        assert_int_equal(kernel_fake_counts(h.fake).loads, 3);
        for (size_t i = 0; i < 100; i++)
                assert_int_equal(h.records[i].error, 0);
        harness_done(&h);
}

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

/* -- a plan costs its longest chain ----------------------------------------------------------- */

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
        for (int i = 0; i < 200 && kernel_fake_get_state(h.fake, "mc_soft") != KERNEL_MODULE_LIVE;
                i++)
                run_for(&h, 5 * USEC_PER_MSEC);
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
        for (int i = 0; i < 400 && kernel_fake_get_state(h.fake, "mc_user2") != KERNEL_MODULE_LIVE;
                i++)
                run_for(&h, 5 * USEC_PER_MSEC);
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
        for (int i = 0; i < 400 && !kernel_fake_wait_blocked(h.fake, "mc_user1", 1, 0); i++)
                run_for(&h, 5 * USEC_PER_MSEC);
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
        for (int i = 0; i < 400 && kernel_fake_get_state(h.fake, "mc_post") != KERNEL_MODULE_LIVE;
                i++)
                run_for(&h, 5 * USEC_PER_MSEC);
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

/* -- failures ---------------------------------------------------------------------------------- */

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
        for (int i = 0; i < 200 && engine_n_requests(h.engine) > 0; i++)
                run_for(&h, 5 * USEC_PER_MSEC);
        assert_int_equal(engine_n_requests(h.engine), 0);
        submit(&h, p);
        run_until(&h, 12);
        assert_false(result_of(&h.records[11], user2)->from_memory);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_user2"), 2);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_user1"), 1);
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
        run_for(&h, 100 * USEC_PER_MSEC);
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
        run_for(&h, 100 * USEC_PER_MSEC);
        assert_int_equal(engine_n_in_flight(h.engine), 0);
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
        for (int i = 0; i < 100 && engine_n_requests(h.engine) > 0; i++)
                run_for(&h, 10 * USEC_PER_MSEC);
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

/* -- the loader -------------------------------------------------------------------------------- */

static void test_pool_bound(void **state)
{
        static const char *const files[] = { "mc_a.ko.xz", "mc_b.ko.zst", "mc_c.ko",
                "mc_soft.ko.xz", "mc_post.ko", "mc_shared.ko", "mc_user1.ko.xz", "mc_user2.ko.zst",
                "mc_black.ko", "mc_slow.ko.xz" };
        EngineConfig config = { .workers = 3 };
        Plan *plans[ELEMENTSOF(files)];
        char name[32];
        Harness h;

        harness_init(&h, &config, COMPRESSION_XZ);
        harness_start(&h);
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                snprintf(name, sizeof(name), "m%zu", i);
                kernel_fake_hold(h.fake, name);
                plans[i] = plan_single(name, fixture_path(files[i]), NULL);
                submit(&h, plans[i]);
        }
        assert_true(kernel_fake_wait_blocked(h.fake, "m0", 1, 5 * USEC_PER_SEC));
        run_for(&h, 100 * USEC_PER_MSEC);
        assert_int_equal(kernel_fake_counts(h.fake).max_concurrent, 3);
        assert_int_equal(engine_n_in_flight(h.engine), ELEMENTSOF(files));
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                snprintf(name, sizeof(name), "m%zu", i);
                kernel_fake_release(h.fake, name);
        }
        run_until(&h, ELEMENTSOF(files));
        assert_int_equal(kernel_fake_counts(h.fake).max_concurrent, 3);
        assert_int_equal(kernel_fake_counts(h.fake).loads, ELEMENTSOF(files));
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                assert_int_equal(h.records[i].error, 0);
                plan_unref(plans[i]);
        }
        harness_done(&h);
}

/* ENOSYS from the compressed-fd path: no in-kernel decompression after all. Decompress here,
 * once, on the same open file. */
static void test_kernel_decompression_enosys(void **state)
{
        _cleanup_(plan_unrefp) Plan *p = NULL;
        Harness h;

        harness_init(&h, NULL, COMPRESSION_XZ);
        harness_start(&h);
        kernel_fake_set_compressed_error(h.fake, -ENOSYS);
        p = plan_single("mc_a", fixture_path("mc_a.ko.xz"), NULL);
        submit_n(&h, p, 10);
        run_until(&h, 10);
        KernelFakeCounts c = kernel_fake_counts(h.fake);
        assert_int_equal(c.opens, 1);
        assert_int_equal(c.finit_compressed_calls, 1);
        assert_int_equal(c.init_calls, 1);
        assert_int_equal(engine_stats(h.engine).fallbacks, 1);
        assert_file_hash("mc_a", kernel_fake_last_image_hash(h.fake, "mc_a"));
        assert_int_equal(h.records[9].error, 0);
        harness_done(&h);
}

#if HAVE_XZ
/* mc_a recompressed the way xz(1) does by default, with a CRC64 check, which the kernel's
 * decoder does not take; returns the file's path. */
static const char *write_crc64_copy(void)
{
        static char out_path[1200];
        char in_path[1200];
        uint8_t *in, *out;
        size_t out_pos = 0, out_size;
        struct stat st;
        FILE *f;

        snprintf(in_path, sizeof(in_path), "%s/build/mc_a.ko", fx.dir);
        snprintf(out_path, sizeof(out_path), "%s/mc_a-crc64.ko.xz", fx.dir);
        assert_int_equal(stat(in_path, &st), 0);
        assert_non_null(in = malloc(st.st_size));
        assert_non_null(f = fopen(in_path, "re"));
        assert_int_equal(fread(in, 1, st.st_size, f), (size_t) st.st_size);
        fclose(f);
        out_size = lzma_stream_buffer_bound(st.st_size);
        assert_non_null(out = malloc(out_size));
        assert_int_equal(lzma_easy_buffer_encode(LZMA_PRESET_DEFAULT, LZMA_CHECK_CRC64, NULL, in,
                                 st.st_size, out, &out_pos, out_size),
                LZMA_OK);
        assert_non_null(f = fopen(out_path, "we"));
        assert_int_equal(fwrite(out, 1, out_pos, f), out_pos);
        assert_int_equal(fclose(f), 0);
        free(in);
        free(out);
        return out_path;
}

/* An xz file whose headers show that the kernel's decoder cannot take it is decompressed here
 * at once: the kernel is never asked to read it (stock kmod would get EINVAL and fail). */
static void test_kernel_cannot_decode(void **state)
{
        _cleanup_(plan_unrefp) Plan *p = NULL;
        Harness h;

        harness_init(&h, NULL, COMPRESSION_XZ);
        harness_start(&h);
        p = plan_single("mc_a", write_crc64_copy(), NULL);
        submit_n(&h, p, 10);
        run_until(&h, 10);
        KernelFakeCounts c = kernel_fake_counts(h.fake);
        assert_int_equal(c.opens, 1);
        assert_int_equal(c.finit_calls, 0);
        assert_int_equal(c.init_calls, 1);
        assert_int_equal(c.loads, 1);
        assert_int_equal(engine_stats(h.engine).fallbacks, 1);
        assert_file_hash("mc_a", kernel_fake_last_image_hash(h.fake, "mc_a"));
        for (int i = 0; i < 10; i++)
                assert_int_equal(h.records[i].error, 0);
        harness_done(&h);
}
#endif

/* EINVAL for a file the kernel decodes (the fixture's xz files have the kernel's own settings) is
 * the module's own answer: every waiter gets it, and the module is not loaded a second time
 * from a buffer. */
static void test_module_einval_not_retried(void **state)
{
        _cleanup_(plan_unrefp) Plan *p = NULL;
        Harness h;

        harness_init(&h, NULL, COMPRESSION_XZ);
        harness_start(&h);
        kernel_fake_set_result(h.fake, "mc_a", -EINVAL);
        p = plan_single("mc_a", fixture_path("mc_a.ko.xz"), NULL);
        submit_n(&h, p, 10);
        run_until(&h, 10);
        KernelFakeCounts c = kernel_fake_counts(h.fake);
        assert_int_equal(c.opens, 1);
        assert_int_equal(c.finit_compressed_calls, 1);
        assert_int_equal(c.init_calls, 0);
        assert_int_equal(c.loads, 1);
        assert_int_equal(engine_stats(h.engine).fallbacks, 0);
        for (int i = 0; i < 10; i++)
                assert_int_equal(h.records[i].error, -EINVAL);
        harness_done(&h);
}

/* A file that decompresses to more than the bound is refused, without loading anything. */
static void test_decompression_bound(void **state)
{
        _cleanup_(plan_unrefp) Plan *p = NULL;
        EngineConfig config = {};
        struct stat st;
        Harness h;

        /* Room for the compressed file, not for what it decompresses to. */
        assert_int_equal(stat(fixture_path("mc_b.ko.zst"), &st), 0);
        config.decompress_max = st.st_size + 1;
        harness_init(&h, &config, COMPRESSION_XZ);
        harness_start(&h);
        p = plan_single("mc_b", fixture_path("mc_b.ko.zst"), NULL);
        submit(&h, p);
        run_until(&h, 1);
        assert_int_equal(h.records[0].error, -EFBIG);
        assert_int_equal(kernel_fake_counts(h.fake).init_calls, 0);
        assert_int_equal(engine_stats(h.engine).failed_decompressing, 1);
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

/* Plain modules go to finit_module(fd) without any read. A zstd kernel takes zstd fds. */
static void test_load_methods(void **state)
{
        _cleanup_(plan_unrefp) Plan *plain = NULL, *zst = NULL;
        Harness h;

        harness_init(&h, NULL, COMPRESSION_ZSTD);
        harness_start(&h);
        plain = plan_single("mc_c", fixture_path("mc_c.ko"), NULL);
        zst = plan_single("mc_b", fixture_path("mc_b.ko.zst"), NULL);
        submit(&h, plain);
        submit(&h, zst);
        run_until(&h, 2);
        KernelFakeCounts c = kernel_fake_counts(h.fake);
        assert_int_equal(c.finit_calls, 2);
        assert_int_equal(c.finit_compressed_calls, 1);
        assert_int_equal(c.init_calls, 0);
        assert_int_equal(c.bytes_read, 16); /* two magics */
        assert_int_equal(h.records[0].error, 0);
        assert_int_equal(h.records[1].error, 0);
        harness_done(&h);
}

/* A corrupt compressed file is a clear failure for every waiter, remembered like any other. */
static void test_corrupt_file(void **state)
{
        _cleanup_(plan_unrefp) Plan *p = NULL;
        char path[1200], cmd[2600];
        Harness h;

        snprintf(path, sizeof(path), "%s/broken.ko.zst", fx.dir);
        snprintf(cmd, sizeof(cmd), "head -c 200 %s > %s", fixture_path("mc_b.ko.zst"), path);
        assert_int_equal(system(cmd), 0);
        harness_init(&h, NULL, COMPRESSION_XZ);
        harness_start(&h);
        p = plan_single("broken", path, NULL);
        submit_n(&h, p, 5);
        run_until(&h, 5);
        for (size_t i = 0; i < 5; i++)
                assert_int_equal(h.records[i].error, -EBADMSG);
        assert_int_equal(kernel_fake_counts(h.fake).init_calls, 0);
        assert_int_equal(engine_stats(h.engine).failed_decompressing, 1);
        unlink(path);
        harness_done(&h);
}

/* install commands run once per coalesced load, instead of a kernel load. */
static void test_install_command_once(void **state)
{
        _cleanup_(plan_unrefp) Plan *p = NULL;
        char out[1200], cmd[1400], line[64];
        Harness h;
        FILE *f;
        int lines = 0;

        snprintf(out, sizeof(out), "%s/install.out", fx.dir);
        (void) unlink(out);
        snprintf(cmd, sizeof(cmd), "echo \"$MODPROBE_MODULE $CMDLINE_OPTS\" >> %s", out);
        harness_init(&h, NULL, COMPRESSION_XZ);
        harness_start(&h);
        p = plan_single("mc_inst", fixture_path("mc_inst.ko"), cmd);
        free(p->modules[0].parameters);
        p->modules[0].parameters = strdup("x=1");
        submit_n(&h, p, 20);
        run_until(&h, 20);
        assert_non_null(f = fopen(out, "re"));
        while (fgets(line, sizeof(line), f)) {
                assert_string_equal(line, "mc_inst x=1\n");
                lines++;
        }
        fclose(f);
        assert_int_equal(lines, 1);
        assert_int_equal(
                kernel_fake_counts(h.fake).finit_calls + kernel_fake_counts(h.fake).init_calls, 0);
        assert_int_equal(h.records[19].error, 0);
        harness_done(&h);
}

/* -- parameters and visibility ----------------------------------------------------------------- */

static void test_different_parameters_share_the_load(void **state)
{
        _cleanup_(plan_unrefp) Plan *p1 = NULL, *p2 = NULL, *p3 = NULL;
        Harness h;

        harness_init(&h, NULL, COMPRESSION_XZ);
        harness_start(&h);
        p1 = plan_for_params(&h, "mc_slow", "delay_ms=10");
        p2 = plan_for_params(&h, "mc_slow", "delay_ms=99");
        p3 = plan_for(&h, "mc_slow");
        kernel_fake_hold(h.fake, "mc_slow");
        submit(&h, p1);
        assert_true(kernel_fake_wait_blocked(h.fake, "mc_slow", 1, 5 * USEC_PER_SEC));
        submit(&h, p2);
        submit(&h, p3);
        kernel_fake_release(h.fake, "mc_slow");
        run_until(&h, 3);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_slow"), 1);
        assert_true(result_of(&h.records[0], 0)->params_applied);
        assert_false(result_of(&h.records[1], 0)->params_applied);
        assert_true(result_of(&h.records[2], 0)->params_applied); /* asked for none */
        assert_int_equal(h.records[1].error, 0);

        /* Live with other parameters: told so too. */
        submit(&h, p2);
        assert_false(result_of(&h.records[3], 0)->params_applied);
        submit(&h, p1);
        assert_true(result_of(&h.records[4], 0)->params_applied);
        harness_done(&h);
}

typedef struct Seen {
        char name[64];
        char stage[32];
        unsigned waiters;
} Seen;

static void collect(const ModuleInfo *info, void *userdata)
{
        Seen *seen = userdata;

        for (; seen->name[0]; seen++)
                ;
        snprintf(seen->name, sizeof(seen->name), "%s", info->name);
        snprintf(seen->stage, sizeof(seen->stage), "%s", info->stage ?: "-");
        seen->waiters = info->waiters;
}

static const Seen *seen_find(const Seen *seen, const char *name)
{
        for (; seen->name[0]; seen++)
                if (strcmp(seen->name, name) == 0)
                        return seen;
        return NULL;
}

static void test_in_flight_view(void **state)
{
        _cleanup_(plan_unrefp) Plan *p = NULL;
        Seen seen[16] = {};
        Harness h;

        harness_init(&h, NULL, COMPRESSION_XZ);
        harness_start(&h);
        p = plan_for(&h, "mc_a");
        kernel_fake_hold(h.fake, "mc_c");
        submit(&h, p);
        submit(&h, p);
        assert_true(kernel_fake_wait_blocked(h.fake, "mc_c", 1, 5 * USEC_PER_SEC));
        engine_foreach_module(h.engine, true, collect, seen);
        assert_non_null(seen_find(seen, "mc_c"));
        assert_string_equal(seen_find(seen, "mc_c")->stage, "loading");
        assert_int_equal(seen_find(seen, "mc_c")->waiters, 2);
        assert_non_null(seen_find(seen, "mc_a"));
        assert_string_equal(seen_find(seen, "mc_a")->stage, "waiting-deps");
        assert_null(seen_find(seen, "mc_b"));
        kernel_fake_release(h.fake, "mc_c");
        run_until(&h, 2);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_a"), 1);
        memset(seen, 0, sizeof(seen));
        engine_foreach_module(h.engine, true, collect, seen);
        assert_null(seen_find(seen, "mc_a"));
        assert_null(seen_find(seen, "mc_c"));
        harness_done(&h);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_thousand_waiters_userspace_path),
                cmocka_unit_test(test_thousand_waiters_kernel_path),
                cmocka_unit_test(test_coalesce_by_name_alias_and_inode),
                cmocka_unit_test(test_inode_index_does_not_outlive_the_tree),
                cmocka_unit_test(test_rescan_after_lost_uevents),
                cmocka_unit_test(test_shared_dependency),
                cmocka_unit_test(test_failing_dependency),
                cmocka_unit_test(test_matches_are_independent),
                cmocka_unit_test(test_softdep_failure_ignored),
                cmocka_unit_test(test_independent_modules_load_together),
                cmocka_unit_test(test_cpu_matches_load_side_by_side),
                cmocka_unit_test(test_device_matches_keep_their_order),
                cmocka_unit_test(test_timeout_with_modules_side_by_side),
                cmocka_unit_test(test_install_command_orders_the_plan),
                cmocka_unit_test(test_coming_waits_without_insert),
                cmocka_unit_test(test_coming_ended_by_uevent),
                cmocka_unit_test(test_going_waits_then_loads_once),
                cmocka_unit_test(test_ebusy_while_going_waits_then_loads),
                cmocka_unit_test(test_live_module_costs_nothing),
                cmocka_unit_test(test_kernel_requests_do_not_wait),
                cmocka_unit_test(test_kernel_request_asked_again_waits),
                cmocka_unit_test(test_kernel_request_asked_again_dependency),
                cmocka_unit_test(test_kernel_request_waits_for_unformed_dependency),
                cmocka_unit_test(test_nested_request_module),
                cmocka_unit_test(test_nested_request_joins_queued_load),
                cmocka_unit_test(test_failure_memory),
                cmocka_unit_test(test_failure_memory_lasts_while_its_requests_run),
                cmocka_unit_test(test_failure_memory_dropped_on_resources_change),
                cmocka_unit_test(test_cancelled_waiter),
                cmocka_unit_test(test_timeout_and_late_completion),
                cmocka_unit_test(test_timeout_carries_the_plan_on),
                cmocka_unit_test(test_pool_bound),
                cmocka_unit_test(test_kernel_decompression_enosys),
#if HAVE_XZ
                cmocka_unit_test(test_kernel_cannot_decode),
#endif
                cmocka_unit_test(test_module_einval_not_retried),
                cmocka_unit_test(test_decompression_bound),
                cmocka_unit_test(test_uevent_actions),
                cmocka_unit_test(test_load_methods),
                cmocka_unit_test(test_corrupt_file),
                cmocka_unit_test(test_install_command_once),
                cmocka_unit_test(test_different_parameters_share_the_load),
                cmocka_unit_test(test_in_flight_view),
        };
        return cmocka_run_group_tests(tests, fixture_group_setup, fixture_group_teardown);
}
