/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench-engine — the engine's own costs, in-process on one core with the fake kernel: requests
 * per second for live modules, and time and memory for N waiters on one coalesced load. Prints
 * numbers, not verdicts; the last line is `live_requests_per_s=N bytes_per_waiter=N` so runs
 * can be compared across versions (tools/dev bench engine). */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "kernel-fake.h"

#define LIVE_REQUESTS 2000000

static unsigned long n_done;

static void on_done(Request *r, void *userdata)
{
        n_done++;
}

static Plan *plan_single(const char *name, const char *path)
{
        PlanModule *pm;
        Plan *p;

        if (plan_new(&p) < 0 || plan_append(p, &pm) < 0)
                abort();
        pm->name = strdup(name);
        pm->path = strdup(path);
        pm->parameters = strdup("");
        pm->target = true;
        return p;
}

static size_t heap_in_use(void)
{
        struct mallinfo2 mi = mallinfo2();
        return mi.uordblks + mi.hblkhd;
}

_noreturn_ static void die(const char *what, int r)
{
        fprintf(stderr, "bench-engine: %s: %s\n", what, strerror(-r));
        exit(EXIT_FAILURE);
}

static double bench_live(void)
{
        sd_event *event = NULL;
        KernelFake *fake = NULL;
        Engine *engine = NULL;
        Plan *plan;
        usec_t t0, t1;
        int r;

        if ((r = sd_event_new(&event)) < 0 || (r = kernel_fake_new(&fake)) < 0)
                die("setup", r);
        kernel_fake_set_state(fake, "live_module", KERNEL_MODULE_LIVE);
        if ((r = engine_new(&engine, event, kernel_fake_kernel(fake), NULL)) < 0 ||
                (r = engine_start(engine)) < 0)
                die("engine", r);
        plan = plan_single("live_module", "/nonexistent/live_module.ko");

        n_done = 0;
        t0 = now_usec();
        for (unsigned i = 0; i < LIVE_REQUESTS; i++)
                if ((r = engine_submit(engine, plan, 0, on_done, NULL, NULL)) != 1)
                        die("live request did not complete at once", r < 0 ? r : -EINVAL);
        t1 = now_usec();
        if (n_done != LIVE_REQUESTS || kernel_fake_counts(fake).opens != 0)
                die("live requests", -EPROTO);

        printf("live requests:        %u in %.3f s = %.0f requests/s (0 opens, 0 kernel calls)\n",
                LIVE_REQUESTS, (t1 - t0) / 1e6, LIVE_REQUESTS / ((t1 - t0) / 1e6));
        plan_unref(plan);
        engine_free(engine);
        kernel_fake_free(fake);
        sd_event_unref(event);
        return LIVE_REQUESTS / ((t1 - t0) / 1e6);
}

/* N requests wait on one held load; then the load finishes and the result fans out. */
static double bench_waiters(const char *path, unsigned n)
{
        sd_event *event = NULL;
        KernelFake *fake = NULL;
        Engine *engine = NULL;
        size_t before, after;
        usec_t t0, t1, t2;
        Plan *plan;
        int r;

        if ((r = sd_event_new(&event)) < 0 || (r = kernel_fake_new(&fake)) < 0)
                die("setup", r);
        if ((r = engine_new(&engine, event, kernel_fake_kernel(fake), NULL)) < 0 ||
                (r = engine_start(engine)) < 0)
                die("engine", r);
        plan = plan_single("coalesced", path);
        kernel_fake_hold(fake, "coalesced");

        n_done = 0;
        /* The first request creates the module entry and the job: not a per-waiter cost. */
        if ((r = engine_submit(engine, plan, 0, on_done, NULL, NULL)) < 0)
                die("submit", r);
        before = heap_in_use();
        t0 = now_usec();
        for (unsigned i = 1; i < n; i++)
                if ((r = engine_submit(engine, plan, 0, on_done, NULL, NULL)) < 0)
                        die("submit", r);
        t1 = now_usec();
        after = heap_in_use();
        if (!kernel_fake_wait_blocked(fake, "coalesced", 1, 10 * USEC_PER_SEC))
                die("load never started", -ETIMEDOUT);
        kernel_fake_release(fake, "coalesced");
        while (n_done < n)
                if ((r = sd_event_run(event, USEC_PER_SEC)) < 0)
                        die("event loop", r);
        t2 = now_usec();

        double per_waiter = (double) (after - before) / (n - 1);
        printf("%6u waiters, 1 load: submit %.3f ms, fan-out %.3f ms (%.0f ns/waiter), "
               "%.0f bytes/waiter, kernel loads %u, opens %u\n",
                n, (t1 - t0) / 1e3, (t2 - t1) / 1e3, (t2 - t1) * 1e3 / n, per_waiter,
                kernel_fake_counts(fake).loads, kernel_fake_counts(fake).opens);
        plan_unref(plan);
        engine_free(engine);
        kernel_fake_free(fake);
        sd_event_unref(event);
        return per_waiter;
}

int main(void)
{
        char path[] = "/tmp/bench-engine-XXXXXX";
        double live, per_waiter = 0;
        int fd;

        fd = mkstemp(path);
        if (fd < 0 || write(fd, "\177ELF", 4) != 4)
                die("temporary module file", -errno);
        close(fd);

        live = bench_live();
        for (unsigned n = 1000; n <= 100000; n *= 10) {
                double b = bench_waiters(path, n);
                if (n == 1000)
                        per_waiter = b;
        }
        unlink(path);
        printf("live_requests_per_s=%.0f bytes_per_waiter=%.0f\n", live, per_waiter);
        return EXIT_SUCCESS;
}
