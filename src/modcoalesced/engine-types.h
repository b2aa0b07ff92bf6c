/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* engine-types.h — the engine's vocabulary, shared by its public face (engine.h) and its own
 * units (engine-state.h): configuration, outcomes, per-module results, statistics, events. Types
 * only, so that the units below the engine never include the engine itself. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "time-util.h"

typedef struct Engine Engine;
typedef struct Request Request;
typedef struct Module Module;

#define ENGINE_FAILURE_MEMORY_USEC_DEFAULT (5 * USEC_PER_SEC)
/* Well inside udev's 180 s event timeout (it warns at 60 s). */
#define ENGINE_REQUEST_TIMEOUT_USEC_DEFAULT (50 * USEC_PER_SEC)
/* Timed-out requests that carry on with the rest of their plan, one per plan, at most. */
#define ENGINE_ORPHANS_MAX 64u
/* How often a module that someone else is loading or unloading is looked at again. */
#define ENGINE_FOREIGN_POLL_USEC (50 * USEC_PER_MSEC)

typedef struct EngineConfig {
        unsigned workers; /* 0: a default that fits the machine */
        usec_t failure_memory_usec; /* 0: the default; USEC_INFINITY: forever */
        usec_t request_timeout_usec; /* 0: the default */
        size_t decompress_max; /* 0: DECOMPRESS_MAX_DEFAULT */
} EngineConfig;

typedef enum Outcome {
        OUTCOME_PENDING,
        OUTCOME_LOADED, /* this request's load, or a load it joined, succeeded */
        OUTCOME_ALREADY_LOADED, /* live before (or loaded by someone else meanwhile) */
        OUTCOME_FAILED, /* error says why; from_memory if answered by the failure cache */
        OUTCOME_SKIPPED, /* not attempted: a hard dependency before it failed */
        OUTCOME_TIMED_OUT, /* stopped waiting; the load itself goes on */
        OUTCOME_IN_PROGRESS, /* ENGINE_REQUEST_FROM_KERNEL: its init runs now, not waited for */
        _OUTCOME_MAX,
} Outcome;

const char *outcome_to_string(Outcome o);

typedef enum Coalesced {
        COALESCED_NO,
        COALESCED_BY_NAME, /* joined an in-flight load of the same module */
        COALESCED_BY_INODE, /* joined an in-flight load of the same file under another name */
} Coalesced;

/* "no", "name", "inode". */
const char *coalesced_to_string(Coalesced c);

typedef struct RequestResult {
        uint32_t waited; /* µs from the moment the request reached this module */
        int32_t error; /* -errno for OUTCOME_FAILED */
        uint8_t outcome; /* Outcome */
        uint8_t coalesced; /* Coalesced */
        bool params_applied; /* false: the module was loaded (or is loading) with other
                              * parameters, which the kernel keeps */
        bool from_memory; /* the failure was answered from the failure cache */
        bool marked; /* engine-internal: holds the module's waiting-deps marker */
        bool counted; /* engine-internal: counted in the module's requests */
} RequestResult;

typedef struct EngineStats {
        uint64_t requests;
        uint64_t requests_done;
        uint64_t requests_failed;
        uint64_t requests_timed_out;
        uint64_t requests_carried_on; /* timed out, plan carried on for nobody (an orphan) */
        uint64_t requests_cancelled;
        uint64_t module_requests; /* plan entries processed */
        uint64_t coalesced_by_name;
        uint64_t coalesced_by_inode;
        uint64_t answered_live; /* answered from the table: zero I/O, zero syscalls */
        uint64_t answered_failure_cache;
        uint64_t waited_foreign; /* waited for a load or unload someone else started */
        uint64_t loads; /* load jobs started (kernel attempts or install commands) */
        uint64_t loads_ok;
        uint64_t loads_eexist;
        uint64_t loads_failed;
        uint64_t failed_reading;
        uint64_t failed_decompressing;
        uint64_t failed_loading;
        uint64_t failed_install;
        uint64_t busy_retries; /* EBUSY: the module was going; waited and loaded again */
        uint64_t fallbacks; /* in the kernel's format, decompressed here: refused or unfit */
        uint64_t install_commands;
        uint64_t bytes_read;
        uint64_t bytes_decompressed;
        uint64_t bytes_not_read; /* file bytes that coalesced waiters did not read again */
} EngineStats;

/* A module as the engine knows it, for ListInFlight and the duplicate table. */
typedef struct ModuleInfo {
        const char *name;
        const char *path; /* of the current or last load; NULL if never loaded here */
        dev_t dev;
        ino_t ino;
        const char *state; /* "absent", "live", "coming", "going", "loading", "failed" */
        const char *stage; /* load stage while loading, else NULL */
        unsigned waiters;
        usec_t age; /* time in the current state */
        int error; /* last failure */
        uint64_t requests, coalesced, loads, failures, answered_from_memory;
} ModuleInfo;

typedef void (*RequestDoneFunc)(Request *r, void *userdata);

/* What the engine does, for Monitor. */
typedef enum EngineEventType {
        ENGINE_EVENT_COALESCE, /* a request joined a load in flight */
        ENGINE_EVENT_LOAD, /* a load started */
        ENGINE_EVENT_RESULT, /* a load ended; error is 0 or -errno */
        _ENGINE_EVENT_MAX,
} EngineEventType;

typedef struct EngineEvent {
        EngineEventType type;
        const char *module;
        int error;
        Coalesced coalesced;
} EngineEvent;

typedef void (*EngineEventFunc)(const EngineEvent *ev, void *userdata);

/* The kernel's request_module() (through the modprobe shim). It may come from inside the init
 * of the very module it names: a module of the plan whose init runs right now (the kernel has it
 * coming, through our load or someone else's) is answered at once (OUTCOME_IN_PROGRESS) instead
 * of waited for, which would deadlock; a load of ours that the kernel has not formed yet is
 * waited for, as modprobe's finit_module() would wait for it. It may come from inside the init of
 * another module, whose load holds a worker until the answer comes: the loads it starts or waits
 * for before they reach the kernel are urgent (loader.h), so that they get a worker whatever the
 * others are doing. */
#define ENGINE_REQUEST_FROM_KERNEL (1u << 0)
/* With ENGINE_REQUEST_FROM_KERNEL: the same kernel request again, after it timed out waiting for
 * these loads. It waited before the init of the module it names ran, so it is not asking from
 * inside it: it waits for that module while its init runs, as any other request does (the
 * kernel's caller, a mount say, needs the module in place when request_module() returns). A
 * dependency whose init runs is still answered in-progress: its init may be the one asking. */
#define ENGINE_REQUEST_WAITED_BEFORE (1u << 1)
