/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-engine — coalescing and the loader against the fake kernel, with exact counts of opens,
 * reads, decompressions and kernel calls: one load for any number of waiters, by name, alias or
 * file; the two kernel paths and what each errno of them means; parameters and the in-flight
 * view. Plans come from the resolver on the fixture tree (real xz, zstd and plain modules), or
 * are built by hand where a test needs odd files (tests/engine-harness.h). */
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
#if HAVE_XZ
#include <lzma.h>
#endif

#include "engine-harness.h"
#include "xz-kernel.h"

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
        /* Three in the kernel (20 s: a worker thread may wait long for a CPU), and no more
         * while the loop runs on. */
        assert_true(kernel_fake_wait_blocked(h.fake, "m0", 1, 20 * USEC_PER_SEC));
        assert_true(kernel_fake_wait_blocked(h.fake, "m1", 1, 20 * USEC_PER_SEC));
        assert_true(kernel_fake_wait_blocked(h.fake, "m2", 1, 20 * USEC_PER_SEC));
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
                cmocka_unit_test(test_shared_dependency),
                cmocka_unit_test(test_pool_bound),
                cmocka_unit_test(test_kernel_decompression_enosys),
#if HAVE_XZ
                cmocka_unit_test(test_kernel_cannot_decode),
#endif
                cmocka_unit_test(test_module_einval_not_retried),
                cmocka_unit_test(test_decompression_bound),
                cmocka_unit_test(test_load_methods),
                cmocka_unit_test(test_corrupt_file),
                cmocka_unit_test(test_install_command_once),
                cmocka_unit_test(test_different_parameters_share_the_load),
                cmocka_unit_test(test_in_flight_view),
        };
        return cmocka_run_group_tests(tests, fixture_group_setup, fixture_group_teardown);
}
