/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* engine-harness.h — the engine over the fake kernel and the fixture tree, for the engine's unit
 * tests (test-engine, test-module, test-request, test-kernel-request): every finished request
 * is recorded with its error and per-module results; plans come from the resolver, or are built
 * by hand for odd files. Failed checks fail the test (cmocka). */
#pragma once

#include <stdbool.h>

#include <stdint.h>
#include <systemd/sd-event.h>

#include "engine.h"
#include "fixture.h"
#include "kernel-fake.h"
#include "resolver.h"

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
        Record *records; /* finished requests, in the order they finished */
        size_t n_records, allocated;
} Harness;

/* A request's completion callback that records it (userdata: the Harness). */
void on_done(Request *r, void *userdata);

/* States of the fake kernel are set between init and start, before the engine scans them. */
void harness_init(Harness *h, const EngineConfig *config, Compression kernel_compression);
void harness_start(Harness *h);
void harness_done(Harness *h);

Plan *plan_for(Harness *h, const char *name);
Plan *plan_for_params(Harness *h, const char *name, const char *params);
/* A one-module plan for any file, under any name. */
Plan *plan_single(const char *name, const char *path, const char *install);

Request *submit(Harness *h, Plan *p);
/* The same plan n times, as n clients would ask for it. */
void submit_n(Harness *h, Plan *p, unsigned n);

/* Runs the loop until n_records requests have finished (fails after 20 s). */
void run_until(Harness *h, size_t n_records);
void run_for(Harness *h, usec_t t);
/* Runs the loop until done(h, arg) holds (fails after 20 s): for what a loaded machine may take
 * long to get to, where a fixed run_for() would check too early. */
void run_while_not(Harness *h, bool (*done)(Harness *h, const void *arg), const void *arg);
/* Conditions for it; arg, where there is one, is a module's name. */
bool harness_idle(Harness *h, const void *arg); /* no request in the engine */
bool harness_nothing_in_flight(Harness *h, const void *arg);
bool harness_live(Harness *h, const void *name);
bool harness_blocked(Harness *h, const void *name); /* a load of it held in the fake kernel */
bool harness_loaded(Harness *h, const void *name); /* the fake kernel has loaded it */

const RequestResult *result_of(const Record *rec, size_t i);
size_t index_of(const Plan *p, const char *name);
/* The fixture's file kernel/mctest/FILE (a static buffer, valid until the next call). */
const char *fixture_path(const char *file);
/* The image the kernel got equals the module as built, byte for byte. */
void assert_file_hash(const char *module, uint64_t hash);
