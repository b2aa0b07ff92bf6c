/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* module.h — one Module per name in the engine's table, also indexed by its file's
 * (st_dev, st_ino): its state, its load, its remembered failure, who waits on it.
 *
 * The state machine (the kernel's view, plus what we are doing about it):
 *
 *   ABSENT ──request──▶ LOADING ──ok──────────▶ LIVE ──remove uevent──▶ ABSENT
 *                         │  └──EEXIST/EBUSY──▶ as /sys/module says: LIVE, COMING, GOING, or
 *                         │                     nothing there (the init's own errno): FAILED
 *                         └──error────────────▶ FAILED ──window over / tree changed──▶ ABSENT
 *   COMING, GOING: someone else (the kernel, another loader) is loading or unloading it: wait,
 *   never insert; a poll of /sys/module (and uevents) tell when it is LIVE or gone (once GOING
 *   is gone, the waiters load again).
 *
 * LOADING without a job is the "waiting-deps" marker: a request will load this module once its
 * dependencies are in; any other request that reaches the module first starts the load itself.
 *
 * Modules live as long as the engine (their count is bounded by the module tree). A Module
 * holds its running LoadJob only as a reference; the Loader owns the job until completion. Only
 * request.c touches the waiter list. */
#pragma once

#include "engine-state.h"

typedef struct RequestWait RequestWait;

typedef enum ModuleState {
        MODULE_ABSENT,
        MODULE_LIVE,
        MODULE_COMING,
        MODULE_GOING,
        MODULE_LOADING,
        MODULE_FAILED,
        _MODULE_STATE_MAX,
} ModuleState;

#define MODULE_STATE_PRESENT(s) ((s) == MODULE_LIVE || (s) == MODULE_COMING || (s) == MODULE_GOING)

typedef struct InodeKey {
        dev_t dev;
        ino_t ino;
} InodeKey;

extern const HashOps module_inode_hash_ops;

struct Module {
        Engine *engine;
        char *name;
        char *path; /* of the current or last load made here */
        char *params; /* likewise */
        InodeKey key;
        bool indexed; /* key is in engine->by_inode, pointing here */
        ModuleState state;
        LoadStage stage; /* while LOADING */
        LoadJob *job; /* while LOADING, once the load was handed to the loader */
        usec_t since;
        int error;
        usec_t failed_at;
        uint64_t failed_generation;
        /* Requests told of the remembered failure that have not ended yet (orphans included),
         * and when the last of them that timed out ended (its client asks again): the memory
         * lasts while they run and for the window after that (module_expire_failure()). */
        unsigned n_failure_holders;
        usec_t failure_released_at;
        unsigned n_walkers; /* requests holding the waiting-deps marker */
        unsigned n_joined; /* waiters that joined the current load */
        LIST_HEAD(RequestWait) waiters;
        unsigned n_waiters;
        bool polled;
        bool scanned; /* engine_rescan(): seen in /sys/module this time */
        LIST_FIELDS(Module, polled);
        uint64_t requests, coalesced, loads, failures, answered_from_memory;
};

const char *module_state_to_string(ModuleState s);

/* The module of that name; with create, a new ABSENT one if there is none (NULL: no memory). */
Module *module_get(Engine *e, const char *name, bool create);
Module *module_free(Module *m);

void module_set_state(Module *m, ModuleState s);

/* The file (dev, ino) is this module's now (ino 0: none). */
void module_index(Module *m, dev_t dev, ino_t ino);
void module_unindex(Module *m);
/* The module tree changed: forget the files of every module not being loaded right now (after
 * depmod or an upgrade, an inode number may be another module's file). */
void module_unindex_idle(Engine *e);

/* A remembered failure expires after the window, or when the module tree or configuration
 * changed (the resolver's generation moved on): the module is ABSENT again. */
void module_expire_failure(Module *m);

/* Someone else is bringing the module up or down: look at /sys/module every
 * ENGINE_FOREIGN_POLL_USEC until it settles (module-settle.c). */
void module_poll(Module *m);
void module_arm_poll(Engine *e);

/* Hands the load of pm to the loader: LOADING, stage queued. urgent: the kernel waits for it
 * (loader.h). */
int module_start_load(Module *m, const PlanModule *pm, bool urgent);
