/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-faults — faults injected at the kernel boundary and in the loader's workers: errors from
 * open, read, decompression input, finit_module and init_module, short reads, files that end
 * early, a load that never returns, a worker thread that cannot be created. Every test checks
 * the answer each waiter gets, the counts, and that the next request works. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "engine.h"
#include "fixture.h"
#include "kernel-fake.h"
#include "xz-kernel.h"

/* Linked with -Wl,--wrap=pthread_create: the loader's worker threads come from here, and a test
 * can make the next n creations fail as a system out of threads or memory would. */
int __real_pthread_create(
        pthread_t *thread, const pthread_attr_t *attr, void *(*start)(void *), void *arg);
int __wrap_pthread_create(
        pthread_t *thread, const pthread_attr_t *attr, void *(*start)(void *), void *arg);
static atomic_int spawn_failures;
static atomic_int spawns;

int __wrap_pthread_create(
        pthread_t *thread, const pthread_attr_t *attr, void *(*start)(void *), void *arg)
{
        if (atomic_load(&spawn_failures) > 0) {
                atomic_fetch_sub(&spawn_failures, 1);
                return EAGAIN;
        }
        atomic_fetch_add(&spawns, 1);
        return __real_pthread_create(thread, attr, start, arg);
}

/* Failures are remembered this long here; transient ones not at all. */
#define MEMORY_USEC (300 * USEC_PER_MSEC)

typedef struct Record {
        int error;
        RequestResult result; /* of the plan's only module */
} Record;

typedef struct Harness {
        sd_event *event;
        KernelFake *fake;
        Engine *engine;
        Record records[1024];
        size_t n_records;
        Plan *plans[4];
} Harness;

static void on_done(Request *r, void *userdata)
{
        Harness *h = userdata;

        assert_true(h->n_records < ELEMENTSOF(h->records));
        h->records[h->n_records++] = (Record){
                .error = request_error(r, NULL),
                .result = *request_result(r, 0),
        };
}

static void harness_init(Harness *h, EngineConfig config, Compression kernel_compression)
{
        *h = (Harness){};
        if (config.failure_memory_usec == 0)
                config.failure_memory_usec = MEMORY_USEC;
        assert_int_equal(sd_event_new(&h->event), 0);
        assert_int_equal(kernel_fake_new(&h->fake), 0);
        kernel_fake_set_compression(h->fake, kernel_compression);
        assert_int_equal(engine_new(&h->engine, h->event, kernel_fake_kernel(h->fake), &config), 0);
        assert_int_equal(engine_start(h->engine), 0);
}

static void harness_done(Harness *h)
{
        /* Nothing may be left inside the fake kernel: the loader joins its workers. */
        engine_free(h->engine);
        kernel_fake_free(h->fake);
        sd_event_unref(h->event);
        for (size_t i = 0; i < ELEMENTSOF(h->plans); i++)
                plan_unref(h->plans[i]);
}

static char path_buf[1200];
static const char *fixture_path(const char *file)
{
        snprintf(path_buf, sizeof(path_buf), "%s/kernel/mctest/%s", fx.moddir, file);
        return path_buf;
}

/* A one-module plan for a fixture file, kept by the harness. */
static Plan *plan_file(Harness *h, const char *name, const char *file)
{
        PlanModule *pm;
        struct stat st;
        Plan *p;
        size_t i;

        for (i = 0; h->plans[i]; i++)
                assert_true(i + 1 < ELEMENTSOF(h->plans));
        assert_int_equal(plan_new(&p), 0);
        assert_int_equal(plan_append(p, &pm), 0);
        pm->name = strdup(name);
        pm->path = strdup(fixture_path(file));
        pm->parameters = strdup("");
        pm->target = true;
        pm->compression = compression_from_path(pm->path);
        assert_int_equal(stat(pm->path, &st), 0);
        pm->dev = st.st_dev;
        pm->ino = st.st_ino;
        return h->plans[i] = p;
}

static void run_until(Harness *h, size_t n_records)
{
        usec_t deadline = now_usec() + 30 * USEC_PER_SEC;

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

/* n requests at once (they all reach the module before any worker reports), answered. Returns
 * the index of the first one's record. */
static size_t burst(Harness *h, Plan *p, size_t n)
{
        size_t first = h->n_records;

        for (size_t i = 0; i < n; i++)
                assert_true(engine_submit(h->engine, p, 0, on_done, h, NULL) >= 0);
        run_until(h, first + n);
        return first;
}

static void assert_all(Harness *h, size_t first, size_t n, Outcome outcome, int error)
{
        for (size_t i = first; i < first + n; i++) {
                assert_int_equal(h->records[i].result.outcome, outcome);
                assert_int_equal(h->records[i].result.error, error);
                assert_int_equal(h->records[i].error, outcome == OUTCOME_LOADED ? 0 : error);
        }
}

/* The image the kernel got equals the module as built, byte for byte. */
static void assert_image_is(Harness *h, const char *name, const char *module)
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
        assert_true(
                kernel_fake_hash(buf, st.st_size) == kernel_fake_last_image_hash(h->fake, name));
        free(buf);
}

/* After a failed load: a transient error is not remembered, the next request loads at once;
 * any other is answered from memory until the window is over, then loaded. */
static void assert_next_request_loads(Harness *h, Plan *p, int error, bool transient)
{
        const char *name = p->modules[0].name;
        unsigned loads = kernel_fake_loads(h->fake, name);
        size_t i;

        if (!transient) {
                unsigned opens = kernel_fake_counts(h->fake).opens;

                i = burst(h, p, 1);
                assert_int_equal(h->records[i].result.outcome, OUTCOME_FAILED);
                assert_int_equal(h->records[i].result.error, error);
                assert_true(h->records[i].result.from_memory);
                assert_int_equal(kernel_fake_counts(h->fake).opens, opens);
                usleep(MEMORY_USEC + 50 * USEC_PER_MSEC);
        }
        i = burst(h, p, 3);
        assert_all(h, i, 3, OUTCOME_LOADED, 0);
        assert_false(h->records[i].result.from_memory);
        assert_int_equal(kernel_fake_loads(h->fake, name), loads + 1);
}

/* -- open -------------------------------------------------------------------------------------- */

static void test_open_fails(void **state)
{
        static const struct {
                int error;
                bool transient;
        } cases[] = {
                { -ENOMEM, true },
                { -EMFILE, true },
                { -EIO, false },
                { -EACCES, false },
        };

        for (size_t c = 0; c < ELEMENTSOF(cases); c++) {
                Harness h;
                Plan *p;
                size_t i;

                harness_init(&h, (EngineConfig){}, COMPRESSION_XZ);
                p = plan_file(&h, "mc_c", "mc_c.ko");
                kernel_fake_inject(h.fake, KERNEL_FAKE_OPEN, cases[c].error, 1);
                i = burst(&h, p, 50);
                assert_all(&h, i, 50, OUTCOME_FAILED, cases[c].error);
                assert_int_equal(kernel_fake_counts(h.fake).opens, 1);
                assert_int_equal(kernel_fake_counts(h.fake).loads, 0);
                assert_int_equal(engine_stats(h.engine).loads_failed, 1);
                assert_int_equal(engine_stats(h.engine).failed_reading, 1);
                assert_int_equal(engine_n_in_flight(h.engine), 0);
                assert_next_request_loads(&h, p, cases[c].error, cases[c].transient);
                harness_done(&h);
        }
}

/* EINTR and EAGAIN from open and read are retried a bounded number of times: a few are absorbed,
 * a storm of them fails the load instead of spinning a worker forever. */
static void test_interrupted_calls(void **state)
{
        Harness h;
        Plan *zst, *plain;
        size_t i;

        harness_init(&h, (EngineConfig){}, COMPRESSION_XZ);
        zst = plan_file(&h, "mc_user2", "mc_user2.ko.zst");
        plain = plan_file(&h, "mc_c", "mc_c.ko");

        kernel_fake_inject(h.fake, KERNEL_FAKE_OPEN, -EINTR, 3);
        i = burst(&h, zst, 20);
        assert_all(&h, i, 20, OUTCOME_LOADED, 0);
        assert_int_equal(kernel_fake_counts(h.fake).opens, 4);
        /* Unloaded; loaded again through five EAGAINs from the reads. */
        kernel_fake_inject(h.fake, KERNEL_FAKE_PREAD, -EAGAIN, 5);
        kernel_fake_set_state(h.fake, "mc_user2", KERNEL_MODULE_ABSENT);
        engine_module_event(h.engine, "mc_user2", KERNEL_MODULE_ABSENT);
        i = burst(&h, zst, 20);
        assert_all(&h, i, 20, OUTCOME_LOADED, 0);
        assert_int_equal(kernel_fake_injected(h.fake, KERNEL_FAKE_PREAD), 5);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_user2"), 2);
        assert_image_is(&h, "mc_user2", "mc_user2");

        /* For ever: the magic read of a plain module, and the open, give up. */
        kernel_fake_inject(h.fake, KERNEL_FAKE_PREAD, -EAGAIN, KERNEL_FAKE_ALWAYS);
        i = burst(&h, plain, 20);
        assert_all(&h, i, 20, OUTCOME_FAILED, -EAGAIN);
        assert_int_equal(kernel_fake_injected(h.fake, KERNEL_FAKE_PREAD), 5 + 17);
        kernel_fake_inject(h.fake, KERNEL_FAKE_PREAD, 0, 0);
        kernel_fake_inject(h.fake, KERNEL_FAKE_OPEN, -EINTR, KERNEL_FAKE_ALWAYS);
        i = burst(&h, plain, 20);
        assert_all(&h, i, 20, OUTCOME_FAILED, -EINTR);
        assert_int_equal(kernel_fake_injected(h.fake, KERNEL_FAKE_OPEN), 3 + 17);
        kernel_fake_inject(h.fake, KERNEL_FAKE_OPEN, 0, 0);
        assert_int_equal(kernel_fake_counts(h.fake).loads, 2);
        assert_next_request_loads(&h, plain, -EINTR, true);
        harness_done(&h);
}

/* -- read -------------------------------------------------------------------------------------- */

static void test_read_fails(void **state)
{
        Harness h;
        Plan *p;
        size_t i;

        /* EIO while reading the whole file for userspace decompression. */
        harness_init(&h, (EngineConfig){}, COMPRESSION_XZ);
        p = plan_file(&h, "mc_user2", "mc_user2.ko.zst");
        kernel_fake_inject(h.fake, KERNEL_FAKE_PREAD, -EIO, 1);
        i = burst(&h, p, 50);
        assert_all(&h, i, 50, OUTCOME_FAILED, -EIO);
        assert_int_equal(kernel_fake_counts(h.fake).init_calls, 0);
        assert_int_equal(engine_stats(h.engine).failed_reading, 1);
        assert_next_request_loads(&h, p, -EIO, false);
        harness_done(&h);

        /* The file ends before its size says (it shrank): EIO, nothing decompressed. */
        harness_init(&h, (EngineConfig){}, COMPRESSION_XZ);
        p = plan_file(&h, "mc_user2", "mc_user2.ko.zst");
        kernel_fake_inject(h.fake, KERNEL_FAKE_PREAD_EOF, 0, 1);
        i = burst(&h, p, 50);
        assert_all(&h, i, 50, OUTCOME_FAILED, -EIO);
        assert_int_equal(kernel_fake_counts(h.fake).init_calls, 0);
        assert_int_equal(engine_stats(h.engine).bytes_decompressed, 0);
        assert_next_request_loads(&h, p, -EIO, false);
        harness_done(&h);
}

/* Reads of 3 bytes at a time: the magic is still recognised (xz's is 6 bytes, zstd's 4) and the
 * image is complete, on every path. */
static void test_short_reads(void **state)
{
        Harness h;
        Plan *zst, *xz, *plain;
        size_t i;

        harness_init(&h, (EngineConfig){}, COMPRESSION_XZ);
        kernel_fake_set_short_reads(h.fake, 3);
        zst = plan_file(&h, "mc_user2", "mc_user2.ko.zst");
        xz = plan_file(&h, "mc_user1", "mc_user1.ko.xz");
        plain = plan_file(&h, "mc_c", "mc_c.ko");
        i = burst(&h, zst, 20);
        assert_all(&h, i, 20, OUTCOME_LOADED, 0);
        i = burst(&h, xz, 20);
        assert_all(&h, i, 20, OUTCOME_LOADED, 0);
        i = burst(&h, plain, 20);
        assert_all(&h, i, 20, OUTCOME_LOADED, 0);

        KernelFakeCounts c = kernel_fake_counts(h.fake);
        struct stat st, xz_st;
        assert_int_equal(c.opens, 3);
        assert_int_equal(c.init_calls, 1); /* zstd, decompressed here */
        assert_int_equal(c.finit_compressed_calls, 1); /* xz, the kernel's format */
        assert_int_equal(c.finit_calls, 2); /* that one and the plain module */
        assert_image_is(&h, "mc_user2", "mc_user2");
        assert_int_equal(stat(fixture_path("mc_user2.ko.zst"), &st), 0);
        assert_int_equal(stat(fixture_path("mc_user1.ko.xz"), &xz_st), 0);
        /* Three magics, the zstd file whole, the xz file's headers (can the kernel decode it?). */
        assert_int_equal(c.bytes_read,
                3 * 8 + (uint64_t) st.st_size +
                        ((uint64_t) xz_st.st_size < XZ_KERNEL_HEADERS_MAX ? (uint64_t) xz_st.st_size
                                                                          : XZ_KERNEL_HEADERS_MAX));
        harness_done(&h);
}

/* -- decompression ----------------------------------------------------------------------------- */

static void test_corrupt_input(void **state)
{
        static const struct {
                const char *name, *file;
        } cases[] = {
                { "mc_user2", "mc_user2.ko.zst" },
                { "mc_user1", "mc_user1.ko.xz" },
        };

        for (size_t c = 0; c < ELEMENTSOF(cases); c++) {
                Harness h;
                Plan *p;
                size_t i;

                /* A kernel that decompresses nothing: both formats go through userspace. */
                harness_init(&h, (EngineConfig){}, COMPRESSION_NONE);
                p = plan_file(&h, cases[c].name, cases[c].file);
                kernel_fake_inject(h.fake, KERNEL_FAKE_CORRUPT, 0, 1);
                i = burst(&h, p, 50);
                assert_all(&h, i, 50, OUTCOME_FAILED, -EBADMSG);
                assert_int_equal(kernel_fake_injected(h.fake, KERNEL_FAKE_CORRUPT), 1);
                assert_int_equal(kernel_fake_counts(h.fake).init_calls, 0);
                assert_int_equal(engine_stats(h.engine).failed_decompressing, 1);
                assert_next_request_loads(&h, p, -EBADMSG, false);
                assert_image_is(&h, cases[c].name, cases[c].name);
                harness_done(&h);
        }
}

/* -- the kernel calls -------------------------------------------------------------------------- */

static void test_kernel_call_fails(void **state)
{
        static const struct {
                int error;
                bool transient;
        } cases[] = {
                { -ENOMEM, true }, { -EINTR, true }, { -EAGAIN, true }, { -EIO, false },
                { -ENOTRECOVERABLE, false }, /* nothing a kernel says today */
        };

        for (size_t c = 0; c < ELEMENTSOF(cases); c++)
                for (KernelFakeOp op = KERNEL_FAKE_FINIT; op <= KERNEL_FAKE_INIT; op++) {
                        Harness h;
                        Plan *p;
                        size_t i;

                        harness_init(&h, (EngineConfig){}, COMPRESSION_XZ);
                        /* finit_module(fd) for a plain file, init_module() after zstd. */
                        p = op == KERNEL_FAKE_FINIT ? plan_file(&h, "mc_c", "mc_c.ko")
                                                    : plan_file(&h, "mc_user2", "mc_user2.ko.zst");
                        kernel_fake_inject(h.fake, op, cases[c].error, 1);
                        i = burst(&h, p, 50);
                        assert_all(&h, i, 50, OUTCOME_FAILED, cases[c].error);
                        KernelFakeCounts k = kernel_fake_counts(h.fake);
                        assert_int_equal(k.finit_calls + k.init_calls, 1);
                        assert_int_equal(k.loads, 0);
                        assert_int_equal(engine_stats(h.engine).failed_loading, 1);
                        assert_next_request_loads(&h, p, cases[c].error, cases[c].transient);
                        harness_done(&h);
                }
}

/* -- EBUSY and EEXIST -------------------------------------------------------------------------- */

/* A module's init may return any errno, EBUSY (EDAC drivers, when the firmware owns the
 * hardware) and EEXIST included, and the kernel frees the module before the call returns: the
 * module is absent. That is the module's answer, not the kernel's "an instance is going away"
 * or "already loaded": one load, every waiter gets that errno at once, and it is remembered. */
static void assert_init_error_is_a_failure(int error)
{
        EngineConfig config = { .request_timeout_usec = 3 * USEC_PER_SEC };
        usec_t start;
        Harness h;
        Plan *p;
        size_t i;

        harness_init(&h, config, COMPRESSION_XZ);
        p = plan_file(&h, "mc_c", "mc_c.ko");
        kernel_fake_set_result(h.fake, "mc_c", error);
        start = now_usec();
        i = burst(&h, p, 50);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_c"), 1);
        assert_int_equal(kernel_fake_counts(h.fake).finit_calls, 1);
        /* Answered by the load, not by the request timeout. */
        assert_true(now_usec() - start < config.request_timeout_usec);
        assert_all(&h, i, 50, OUTCOME_FAILED, error);
        assert_int_equal(kernel_fake_get_state(h.fake, "mc_c"), KERNEL_MODULE_ABSENT);
        assert_int_equal(engine_stats(h.engine).failed_loading, 1);
        assert_int_equal(engine_stats(h.engine).busy_retries, 0);
        assert_int_equal(engine_stats(h.engine).loads_eexist, 0);
        /* Inside the failure memory: no kernel call, no open; after it, one load. */
        kernel_fake_set_result(h.fake, "mc_c", 0);
        assert_next_request_loads(&h, p, error, false);
        assert_int_equal(kernel_fake_counts(h.fake).finit_calls, 2);
        harness_done(&h);
}

static void test_init_ebusy_is_a_failure(void **state)
{
        assert_init_error_is_a_failure(-EBUSY);
}

static void test_init_eexist_is_a_failure(void **state)
{
        assert_init_error_is_a_failure(-EEXIST);
}

/* The kernel's own EEXIST (the module is live: someone else loaded it since we looked) is
 * success, without a full load. */
static void test_live_eexist_is_success(void **state)
{
        Harness h;
        Plan *p;
        size_t i;

        harness_init(&h, (EngineConfig){}, COMPRESSION_XZ);
        p = plan_file(&h, "mc_c", "mc_c.ko");
        kernel_fake_set_state(h.fake, "mc_c", KERNEL_MODULE_LIVE); /* after the scan */
        i = burst(&h, p, 20);
        assert_all(&h, i, 20, OUTCOME_ALREADY_LOADED, 0);
        assert_int_equal(kernel_fake_counts(h.fake).finit_calls, 1);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_c"), 0);
        assert_int_equal(engine_stats(h.engine).loads_eexist, 1);
        assert_int_equal(engine_stats(h.engine).loads_failed, 0);
        harness_done(&h);
}

/* Our load failed with EEXIST or EBUSY, and by the time the answer is read someone else is
 * loading the module (coming): wait for that load as for any other, never load beside it. */
static void test_eexist_ebusy_then_coming_waits(void **state)
{
        static const int errors[] = { -EBUSY, -EEXIST };

        for (size_t e = 0; e < ELEMENTSOF(errors); e++) {
                Harness h;
                Plan *p;

                harness_init(&h, (EngineConfig){}, COMPRESSION_XZ);
                p = plan_file(&h, "mc_c", "mc_c.ko");
                kernel_fake_set_result(h.fake, "mc_c", errors[e]);
                kernel_fake_hold(h.fake, "mc_c");
                for (int k = 0; k < 5; k++)
                        assert_int_equal(engine_submit(h.engine, p, 0, on_done, &h, NULL), 0);
                assert_true(kernel_fake_wait_blocked(h.fake, "mc_c", 1, 10 * USEC_PER_SEC));
                kernel_fake_release(h.fake, "mc_c");
                /* The loop has not run: the engine has not seen the answer yet. */
                assert_true(kernel_fake_wait_state(
                        h.fake, "mc_c", KERNEL_MODULE_ABSENT, 10 * USEC_PER_SEC));
                kernel_fake_set_state(h.fake, "mc_c", KERNEL_MODULE_COMING);
                run_for(&h, 150 * USEC_PER_MSEC);
                assert_int_equal(h.n_records, 0);
                kernel_fake_set_state(h.fake, "mc_c", KERNEL_MODULE_LIVE);
                run_until(&h, 5);
                assert_all(&h, 0, 5, OUTCOME_ALREADY_LOADED, 0);
                assert_int_equal(kernel_fake_counts(h.fake).finit_calls, 1);
                assert_int_equal(kernel_fake_loads(h.fake, "mc_c"), 1);
                harness_done(&h);
        }
}

/* -- a load that never returns ----------------------------------------------------------------- */

/* Every worker stuck inside the kernel: waiters on the stuck loads and on one queued behind
 * them get TimedOut, the engine keeps answering (live modules, failure memory), and the late
 * completions, long after their waiters are gone, are recorded. */
static void test_load_never_returns(void **state)
{
        EngineConfig config = { .workers = 2, .request_timeout_usec = 200 * USEC_PER_MSEC };
        Plan *stuck, *stuck2, *queued, *live;
        Harness h;
        size_t i;

        harness_init(&h, config, COMPRESSION_XZ);
        stuck = plan_file(&h, "mc_c", "mc_c.ko");
        stuck2 = plan_file(&h, "mc_shared", "mc_shared.ko");
        queued = plan_file(&h, "mc_post", "mc_post.ko");
        live = plan_file(&h, "mc_user1", "mc_user1.ko.xz");
        i = burst(&h, live, 1);
        assert_int_equal(h.records[i].result.outcome, OUTCOME_LOADED);

        kernel_fake_hold(h.fake, "mc_c");
        kernel_fake_hold(h.fake, "mc_shared");
        usec_t start = now_usec();
        for (int k = 0; k < 100; k++) {
                assert_int_equal(engine_submit(h.engine, stuck, 0, on_done, &h, NULL), 0);
                assert_int_equal(engine_submit(h.engine, stuck2, 0, on_done, &h, NULL), 0);
                assert_int_equal(engine_submit(h.engine, queued, 0, on_done, &h, NULL), 0);
        }
        assert_true(kernel_fake_wait_blocked(h.fake, "mc_c", 1, 10 * USEC_PER_SEC));
        assert_true(kernel_fake_wait_blocked(h.fake, "mc_shared", 1, 10 * USEC_PER_SEC));
        /* Meanwhile a live module is answered at once. */
        assert_int_equal(engine_submit(h.engine, live, 0, on_done, &h, NULL), 1);
        assert_int_equal(h.records[i + 1].result.outcome, OUTCOME_ALREADY_LOADED);
        run_until(&h, i + 2 + 300);
        assert_true(now_usec() - start >= 200 * USEC_PER_MSEC);
        for (size_t r = i + 2; r < i + 2 + 300; r++) {
                assert_int_equal(h.records[r].error, -ETIME);
                assert_int_equal(h.records[r].result.outcome, OUTCOME_TIMED_OUT);
                assert_true(h.records[r].result.waited >= 150 * USEC_PER_MSEC);
        }
        assert_int_equal(engine_stats(h.engine).requests_timed_out, 300);
        assert_int_equal(engine_n_requests(h.engine), 0);
        assert_int_equal(engine_n_waiting(h.engine), 0);
        assert_int_equal(engine_n_in_flight(h.engine), 3);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_post"), 0);

        /* One stuck load fails late, the other succeeds late; the queued one then runs. */
        kernel_fake_set_result(h.fake, "mc_shared", -EIO);
        kernel_fake_release(h.fake, "mc_shared");
        kernel_fake_release(h.fake, "mc_c");
        for (usec_t deadline = now_usec() + 20 * USEC_PER_SEC; engine_n_in_flight(h.engine) > 0;)
                assert_true(
                        now_usec() < deadline && sd_event_run(h.event, 10 * USEC_PER_MSEC) >= 0);
        i = h.n_records;
        assert_int_equal(engine_submit(h.engine, stuck, 0, on_done, &h, NULL), 1);
        assert_int_equal(engine_submit(h.engine, queued, 0, on_done, &h, NULL), 1);
        assert_int_equal(engine_submit(h.engine, stuck2, 0, on_done, &h, NULL), 1);
        assert_int_equal(h.records[i].result.outcome, OUTCOME_ALREADY_LOADED);
        assert_int_equal(h.records[i + 1].result.outcome, OUTCOME_ALREADY_LOADED);
        assert_int_equal(h.records[i + 2].result.outcome, OUTCOME_FAILED);
        assert_int_equal(h.records[i + 2].result.error, -EIO);
        assert_true(h.records[i + 2].result.from_memory);
        assert_int_equal(kernel_fake_counts(h.fake).loads, 4);
        run_for(&h, 50 * USEC_PER_MSEC);
        harness_done(&h);
}

/* -- the workers ------------------------------------------------------------------------------- */

/* No worker thread can be created: every request of the burst gets the error (nothing is left
 * waiting for a worker that will never come), and once threads can be made again the next
 * request loads. */
static void test_worker_cannot_start(void **state)
{
        Harness h;
        Plan *p;
        size_t i;

        harness_init(&h, (EngineConfig){ .workers = 4 }, COMPRESSION_XZ);
        p = plan_file(&h, "mc_c", "mc_c.ko");
        atomic_store(&spawn_failures, 1000);
        i = burst(&h, p, 100);
        assert_all(&h, i, 100, OUTCOME_FAILED, -EAGAIN);
        assert_int_equal(kernel_fake_counts(h.fake).opens, 0);
        assert_int_equal(engine_n_in_flight(h.engine), 0);
        atomic_store(&spawn_failures, 0);
        assert_next_request_loads(&h, p, -EAGAIN, true);
        harness_done(&h);
}

/* One worker is busy; the second cannot be created: the new load waits for the first worker
 * instead of failing, and all its waiters are answered. */
static void test_worker_cannot_start_while_another_runs(void **state)
{
        Harness h;
        Plan *busy, *p;

        harness_init(&h, (EngineConfig){ .workers = 4 }, COMPRESSION_XZ);
        busy = plan_file(&h, "mc_c", "mc_c.ko");
        p = plan_file(&h, "mc_post", "mc_post.ko");
        kernel_fake_hold(h.fake, "mc_c");
        assert_int_equal(engine_submit(h.engine, busy, 0, on_done, &h, NULL), 0);
        assert_true(kernel_fake_wait_blocked(h.fake, "mc_c", 1, 10 * USEC_PER_SEC));
        atomic_store(&spawn_failures, 1000);
        for (int k = 0; k < 100; k++)
                assert_int_equal(engine_submit(h.engine, p, 0, on_done, &h, NULL), 0);
        run_for(&h, 50 * USEC_PER_MSEC);
        assert_int_equal(h.n_records, 0);
        kernel_fake_release(h.fake, "mc_c");
        run_until(&h, 101);
        atomic_store(&spawn_failures, 0);
        assert_all(&h, 0, 101, OUTCOME_LOADED, 0);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_post"), 1);
        harness_done(&h);
}

/* A worker's kernel call fails with an errno nobody expects while 500 requests wait on it: all
 * 500 get that errno, and the module is tried again once the failure is forgotten. */
static void test_worker_fails_mid_burst(void **state)
{
        Harness h;
        Plan *p;

        harness_init(&h, (EngineConfig){}, COMPRESSION_XZ);
        p = plan_file(&h, "mc_user2", "mc_user2.ko.zst");
        kernel_fake_hold(h.fake, "mc_user2");
        kernel_fake_set_result(h.fake, "mc_user2", -EHWPOISON);
        for (int k = 0; k < 250; k++)
                assert_int_equal(engine_submit(h.engine, p, 0, on_done, &h, NULL), 0);
        assert_true(kernel_fake_wait_blocked(h.fake, "mc_user2", 1, 10 * USEC_PER_SEC));
        for (int k = 0; k < 250; k++)
                assert_int_equal(engine_submit(h.engine, p, 0, on_done, &h, NULL), 0);
        assert_int_equal(engine_n_waiting(h.engine), 500);
        kernel_fake_release(h.fake, "mc_user2");
        run_until(&h, 500);
        assert_all(&h, 0, 500, OUTCOME_FAILED, -EHWPOISON);
        assert_int_equal(kernel_fake_loads(h.fake, "mc_user2"), 1);
        assert_int_equal(engine_stats(h.engine).coalesced_by_name, 499);
        kernel_fake_set_result(h.fake, "mc_user2", 0);
        assert_next_request_loads(&h, p, -EHWPOISON, false);
        harness_done(&h);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_open_fails),
                cmocka_unit_test(test_interrupted_calls),
                cmocka_unit_test(test_read_fails),
                cmocka_unit_test(test_short_reads),
                cmocka_unit_test(test_corrupt_input),
                cmocka_unit_test(test_kernel_call_fails),
                cmocka_unit_test(test_init_ebusy_is_a_failure),
                cmocka_unit_test(test_init_eexist_is_a_failure),
                cmocka_unit_test(test_live_eexist_is_success),
                cmocka_unit_test(test_eexist_ebusy_then_coming_waits),
                cmocka_unit_test(test_load_never_returns),
                cmocka_unit_test(test_worker_cannot_start),
                cmocka_unit_test(test_worker_cannot_start_while_another_runs),
                cmocka_unit_test(test_worker_fails_mid_burst),
        };
        return cmocka_run_group_tests(tests, fixture_group_setup, fixture_group_teardown);
}
