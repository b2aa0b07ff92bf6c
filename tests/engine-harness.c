/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* engine-harness.c — see engine-harness.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "engine-harness.h"

void on_done(Request *r, void *userdata)
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

void harness_init(Harness *h, const EngineConfig *config, Compression kernel_compression)
{
        const char *const conf[] = { fx.conf, NULL };

        *h = (Harness){};
        assert_int_equal(sd_event_new(&h->event), 0);
        assert_int_equal(kernel_fake_new(&h->fake), 0);
        kernel_fake_set_compression(h->fake, kernel_compression);
        assert_int_equal(engine_new(&h->engine, h->event, kernel_fake_kernel(h->fake), config), 0);
        assert_int_equal(resolver_new(&h->resolver, false, fx.moddir, conf), 0);
}

void harness_start(Harness *h)
{
        assert_int_equal(engine_start(h->engine), 0);
}

void harness_done(Harness *h)
{
        engine_free(h->engine);
        resolver_free(h->resolver);
        kernel_fake_free(h->fake);
        sd_event_unref(h->event);
        free(h->records);
}

Plan *plan_for(Harness *h, const char *name)
{
        Plan *p = NULL;

        assert_int_equal(resolver_resolve_names(h->resolver, (char *const[]){ (char *) name, NULL },
                                 NULL, &p, NULL),
                0);
        return p;
}

Plan *plan_for_params(Harness *h, const char *name, const char *params)
{
        Plan *p = NULL;

        assert_int_equal(resolver_resolve_names(h->resolver, (char *const[]){ (char *) name, NULL },
                                 params, &p, NULL),
                0);
        return p;
}

Plan *plan_single(const char *name, const char *path, const char *install)
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

Request *submit(Harness *h, Plan *p)
{
        Request *r = NULL;

        assert_true(
                engine_submit(h->engine, p, resolver_generation(h->resolver), on_done, h, &r) >= 0);
        return r;
}

void submit_n(Harness *h, Plan *p, unsigned n)
{
        for (unsigned i = 0; i < n; i++)
                submit(h, p);
}

void run_until(Harness *h, size_t n_records)
{
        usec_t deadline = now_usec() + 20 * USEC_PER_SEC;

        while (h->n_records < n_records) {
                assert_true(now_usec() < deadline);
                assert_true(sd_event_run(h->event, 10 * USEC_PER_MSEC) >= 0);
        }
}

void run_while_not(Harness *h, bool (*done)(Harness *h, const void *arg), const void *arg)
{
        usec_t deadline = now_usec() + 20 * USEC_PER_SEC;

        while (!done(h, arg)) {
                assert_true(now_usec() < deadline);
                assert_true(sd_event_run(h->event, 5 * USEC_PER_MSEC) >= 0);
        }
}

bool harness_idle(Harness *h, const void *arg)
{
        return engine_n_requests(h->engine) == 0;
}

bool harness_nothing_in_flight(Harness *h, const void *arg)
{
        return engine_n_in_flight(h->engine) == 0;
}

bool harness_live(Harness *h, const void *name)
{
        return kernel_fake_get_state(h->fake, name) == KERNEL_MODULE_LIVE;
}

bool harness_blocked(Harness *h, const void *name)
{
        return kernel_fake_wait_blocked(h->fake, name, 1, 0);
}

bool harness_loaded(Harness *h, const void *name)
{
        return kernel_fake_loads(h->fake, name) > 0;
}

void run_for(Harness *h, usec_t t)
{
        usec_t deadline = now_usec() + t;

        while (now_usec() < deadline)
                assert_true(sd_event_run(h->event, 5 * USEC_PER_MSEC) >= 0);
}

const RequestResult *result_of(const Record *rec, size_t i)
{
        assert_true(i < rec->n);
        return &rec->results[i];
}

size_t index_of(const Plan *p, const char *name)
{
        for (size_t i = 0; i < p->n_modules; i++)
                if (strcmp(p->modules[i].name, name) == 0)
                        return i;
        fail_msg("%s not in plan", name);
        return 0;
}

static char path_buf[1200];
const char *fixture_path(const char *file)
{
        snprintf(path_buf, sizeof(path_buf), "%s/kernel/mctest/%s", fx.moddir, file);
        return path_buf;
}

void assert_file_hash(const char *module, uint64_t hash)
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
