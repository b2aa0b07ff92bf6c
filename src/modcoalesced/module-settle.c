/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* module-settle.c — see module-settle.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "log.h"
#include "module-settle.h"
#include "request.h"

/* Failures that describe this moment (memory, file descriptors, an interrupted call), not the
 * module: its waiters get the error, but it is not remembered and the next request tries again.
 * At boot a transient ENOMEM (vmalloc space) is exactly what this daemon exists to relieve. */
static bool error_is_transient(int error)
{
        return error == -EINTR || error == -EAGAIN || error == -ENOMEM || error == -EMFILE ||
                error == -ENFILE;
}

/* The module's state now that its load returned. The kernel call answers EEXIST when an instance
 * of that name is live and EBUSY when one is going away (or came to nothing while this load
 * waited for it), but a module's init may return any errno, these two included (EDAC drivers say
 * EBUSY when the firmware owns the hardware), and then nothing of it is left. /sys/module tells
 * the two apart; ABSENT means the load failed with its error. */
static KernelModuleState job_state(Engine *e, const LoadJob *j)
{
        KernelModuleState ks;

        if (j->error == 0)
                return KERNEL_MODULE_LIVE;
        if ((j->error != -EEXIST && j->error != -EBUSY) || j->failed_stage != LOAD_STAGE_LOADING ||
                kernel_module_state(e->kernel, j->name, &ks) < 0)
                return KERNEL_MODULE_ABSENT;
        return ks;
}

static LoadResult load_result(const LoadJob *j, KernelModuleState ks)
{
        switch (ks) {
        case KERNEL_MODULE_LIVE:
                return j->error == 0 ? LOAD_RESULT_LOADED : LOAD_RESULT_ALREADY_LOADED;
        case KERNEL_MODULE_COMING:
                return LOAD_RESULT_COMING;
        case KERNEL_MODULE_GOING:
                return LOAD_RESULT_GOING;
        default:
                return LOAD_RESULT_FAILED;
        }
}

/* Into the boot's record: what the load cost, and for how many. */
static void record_load(Engine *e, const Module *m, const LoadJob *j, KernelModuleState ks)
{
        LoadRecord r = {
                .queued = j->submitted,
                .started = j->started ?: j->submitted,
                .finished = j->finished ?: now_usec(),
                .requesters = 1 + m->n_joined,
                .error = j->error,
                .result = load_result(j, ks),
                .bytes_read = j->bytes_read,
                .bytes_decompressed = j->bytes_decompressed,
        };

        snprintf(r.name, sizeof(r.name), "%s", m->name);
        snprintf(r.method, sizeof(r.method), "%s", load_method_to_string(j->method) ?: "none");
        timeline_add(e->timeline, &r);
}

void module_settle_job(LoadJob *j, void *userdata)
{
        Engine *e = userdata;
        Module *m = j->userdata;
        int error = j->error;
        KernelModuleState ks = job_state(e, j);

        m->job = NULL;
        record_load(e, m, j, ks);
        engine_emit(e, ENGINE_EVENT_RESULT, m->name, ks == KERNEL_MODULE_LIVE ? 0 : error,
                COALESCED_NO);
        e->stats.bytes_read += j->bytes_read;
        e->stats.bytes_decompressed += j->bytes_decompressed;
        e->stats.bytes_not_read += j->file_size * m->n_joined;
        if (j->fell_back)
                e->stats.fallbacks++;

        if (ks == KERNEL_MODULE_LIVE) {
                /* Success: the module is there, whoever put it there. */
                if (error == 0)
                        e->stats.loads_ok++;
                else
                        e->stats.loads_eexist++;
                log_debug("Loaded %s (%s) in %" PRIu64 " us.", m->name,
                        load_method_to_string(j->method), j->finished - j->started);
                load_job_free(j);
                request_release_live(m, error == 0 ? OUTCOME_LOADED : OUTCOME_ALREADY_LOADED);
                return;
        }
        if (ks == KERNEL_MODULE_COMING || ks == KERNEL_MODULE_GOING) {
                /* Another instance is coming up or going away: wait for it as for any other
                 * loader's, never load beside it, and never answer EBUSY while one could wait
                 * (upstream reverted exactly that). Once a going one is gone, load again. */
                if (ks == KERNEL_MODULE_GOING && error == -EBUSY)
                        e->stats.busy_retries++;
                load_job_free(j);
                module_set_state(m, ks == KERNEL_MODULE_COMING ? MODULE_COMING : MODULE_GOING);
                module_poll(m);
                return;
        }

        e->stats.loads_failed++;
        switch (j->failed_stage) {
        case LOAD_STAGE_DECOMPRESSING:
                e->stats.failed_decompressing++;
                break;
        case LOAD_STAGE_LOADING:
                e->stats.failed_loading++;
                break;
        case LOAD_STAGE_INSTALL:
                e->stats.failed_install++;
                break;
        default:
                e->stats.failed_reading++;
                break;
        }
        log_debug_errno(error, "Loading %s failed while %s: %m", m->name,
                load_stage_to_string(j->failed_stage));
        load_job_free(j);
        m->failures++;
        m->error = error;
        m->failed_at = now_usec();
        m->failure_released_at = 0; /* the window of an earlier failure */
        m->failed_generation = e->generation;
        module_unindex(m);
        module_set_state(m, error_is_transient(error) ? MODULE_ABSENT : MODULE_FAILED);
        request_release_waiters(m, OUTCOME_FAILED, error);
}

int module_settle_polled(sd_event_source *s, uint64_t usec, void *userdata)
{
        Engine *e = userdata;
        Module *m, *next;

        for (m = e->polled.head; m; m = next) {
                KernelModuleState ks;

                next = m->polled_next;
                if (kernel_module_state(e->kernel, m->name, &ks) < 0)
                        continue; /* Unreadable while going away: look again later. */
                if (ks == KERNEL_MODULE_LIVE) {
                        request_release_live(m, OUTCOME_ALREADY_LOADED);
                        next = e->polled.head; /* releasing waiters may change the list */
                } else if (ks == KERNEL_MODULE_ABSENT) {
                        /* Someone else's load failed, or the old instance is gone: load it. */
                        module_set_state(m, MODULE_ABSENT);
                        request_release_waiters(m, OUTCOME_PENDING, 0);
                        next = e->polled.head;
                }
        }
        module_arm_poll(e);
        return 0;
}

static int on_rescanned(const char *name, KernelModuleState state, void *userdata)
{
        Engine *e = userdata;
        Module *m;

        module_settle_event(e, name, state);
        m = module_get(e, name, false);
        if (m)
                m->scanned = true;
        return 0;
}

int module_settle_rescan(Engine *e)
{
        size_t i = 0;
        void *v;
        int r;

        while (hashmap_iterate(e->modules, &i, &v, NULL))
                ((Module *) v)->scanned = false;
        r = kernel_scan_modules(e->kernel, on_rescanned, e);
        if (r < 0)
                return r;
        /* What the table holds as present and /sys/module does not: its "remove" was lost.
         * Collected first, since an event may change the table. */
        size_t n = 0, n_gone = 0;
        i = 0;
        while (hashmap_iterate(e->modules, &i, &v, NULL))
                n++;
        _cleanup_free_ char **gone = calloc(n + 1, sizeof(char *));
        if (!gone)
                return -ENOMEM;
        i = 0;
        while (hashmap_iterate(e->modules, &i, &v, NULL)) {
                Module *m = v;

                if (!m->scanned && MODULE_STATE_PRESENT(m->state))
                        gone[n_gone++] = m->name;
        }
        for (size_t j = 0; j < n_gone; j++)
                module_settle_event(e, gone[j], KERNEL_MODULE_ABSENT);
        return 0;
}

void module_settle_event(Engine *e, const char *name, KernelModuleState state)
{
        Module *m = module_get(e, name, state != KERNEL_MODULE_ABSENT);

        if (!m || m->state == MODULE_LOADING)
                return; /* Our own load reports for itself. */
        switch (state) {
        case KERNEL_MODULE_LIVE:
                request_release_live(m, OUTCOME_ALREADY_LOADED);
                break;
        case KERNEL_MODULE_COMING:
                module_set_state(m, MODULE_COMING);
                break;
        case KERNEL_MODULE_GOING:
                module_set_state(m, MODULE_GOING);
                break;
        case KERNEL_MODULE_ABSENT:
                if (m->state == MODULE_FAILED)
                        break; /* Keep the failure memory. */
                module_unindex(m);
                module_set_state(m, MODULE_ABSENT);
                if (m->n_waiters > 0)
                        request_release_waiters(m, OUTCOME_PENDING, 0);
                break;
        default:
                break;
        }
}
