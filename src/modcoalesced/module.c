/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* module.c — see module.h. */
#include <errno.h>
#include <string.h>

#include "log.h"
#include "module.h"

static const char *const module_state_names[_MODULE_STATE_MAX] = {
        [MODULE_ABSENT] = "absent",
        [MODULE_LIVE] = "live",
        [MODULE_COMING] = "coming",
        [MODULE_GOING] = "going",
        [MODULE_LOADING] = "loading",
        [MODULE_FAILED] = "failed",
};

const char *module_state_to_string(ModuleState s)
{
        return s >= 0 && s < _MODULE_STATE_MAX ? module_state_names[s] : NULL;
}

static uint64_t inode_hash(const void *key, uint64_t seed)
{
        return hash_bytes(key, sizeof(InodeKey), seed);
}

static int inode_compare(const void *a, const void *b)
{
        const InodeKey *x = a, *y = b;

        if (x->dev != y->dev)
                return x->dev < y->dev ? -1 : 1;
        if (x->ino != y->ino)
                return x->ino < y->ino ? -1 : 1;
        return 0;
}

const HashOps module_inode_hash_ops = {
        .hash = inode_hash,
        .compare = inode_compare,
};

Module *module_free(Module *m)
{
        if (!m)
                return NULL;
        free(m->name);
        free(m->path);
        free(m->params);
        free(m);
        return NULL;
}

Module *module_get(Engine *e, const char *name, bool create)
{
        Module *m = hashmap_get(e->modules, name);

        if (m || !create)
                return m;
        m = calloc(1, sizeof(*m));
        if (!m)
                return NULL;
        m->engine = e;
        m->name = strdup(name);
        if (!m->name || hashmap_put(e->modules, m->name, m) < 0)
                return module_free(m);
        m->since = now_usec();
        return m;
}

void module_unindex(Module *m)
{
        if (!m->indexed)
                return;
        if (hashmap_get(m->engine->by_inode, &m->key) == m)
                hashmap_remove(m->engine->by_inode, &m->key);
        m->indexed = false;
}

void module_index(Module *m, dev_t dev, ino_t ino)
{
        Module *other;

        module_unindex(m);
        if (ino == 0)
                return;
        m->key = (InodeKey){ .dev = dev, .ino = ino };
        other = hashmap_get(m->engine->by_inode, &m->key);
        if (other) {
                /* The file's previous user is no longer loading or live from it. */
                hashmap_remove(m->engine->by_inode, &m->key);
                other->indexed = false;
        }
        m->indexed = hashmap_put(m->engine->by_inode, &m->key, m) >= 0;
}

void module_unindex_idle(Engine *e)
{
        size_t i = 0;
        void *v;

        while (hashmap_iterate(e->modules, &i, &v, NULL))
                if (((Module *) v)->state != MODULE_LOADING)
                        module_unindex(v);
}

void module_set_state(Module *m, ModuleState s)
{
        Engine *e = m->engine;

        if (m->state == s)
                return;
        if (m->state == MODULE_LOADING)
                e->n_in_flight--;
        if (s == MODULE_LOADING)
                e->n_in_flight++;
        if (m->polled && s != MODULE_COMING && s != MODULE_GOING) {
                LIST_REMOVE(polled, e->polled, m);
                m->polled = false;
        }
        m->state = s;
        m->since = now_usec();
}

void module_poll(Module *m)
{
        Engine *e = m->engine;

        if (m->polled)
                return;
        m->polled = true;
        LIST_APPEND(polled, e->polled, m);
        module_arm_poll(e);
}

void module_arm_poll(Engine *e)
{
        if (!e->poll_source)
                return;
        if (LIST_IS_EMPTY(e->polled)) {
                (void) sd_event_source_set_enabled(e->poll_source, SD_EVENT_OFF);
                return;
        }
        if (sd_event_source_get_enabled(e->poll_source, NULL) > 0)
                return;
        (void) sd_event_source_set_time(e->poll_source, now_usec() + ENGINE_FOREIGN_POLL_USEC);
        (void) sd_event_source_set_enabled(e->poll_source, SD_EVENT_ONESHOT);
}

/* A remembered failure expires once the window has passed since it happened and since the last
 * request told of it timed out, with nobody told of it still running; or at once when the
 * module tree or configuration changed (the resolver's generation moved on). While a request
 * told of it runs (a per-CPU plan waiting for a slow module), or its client is about to ask
 * again after TimedOut, the storm that met the failure is not over, and a new attempt would
 * only repeat it. Requests that end with their answer do not extend it: a steady trickle of
 * them still sees one attempt per window. */
void module_expire_failure(Module *m)
{
        Engine *e = m->engine;
        usec_t last;

        if (m->state != MODULE_FAILED)
                return;
        last = m->failure_released_at > m->failed_at ? m->failure_released_at : m->failed_at;
        if (m->failed_generation != e->generation ||
                (e->config.failure_memory_usec != USEC_INFINITY && m->n_failure_holders == 0 &&
                        now_usec() - last >= e->config.failure_memory_usec))
                module_set_state(m, MODULE_ABSENT);
}

/* urgent: the kernel waits for this load (loader.h). */
int module_start_load(Module *m, const PlanModule *pm, bool urgent)
{
        Engine *e = m->engine;
        LoadJob *j;
        int r;

        r = load_job_new(&j, pm->name, pm->path, pm->parameters, pm->install_command);
        if (r < 0)
                return r;
        j->kernel_compression = e->kernel_compression;
        j->decompress_max = e->config.decompress_max;
        j->urgent = urgent;
        j->userdata = m;
        if (strcmp(m->path ?: "", pm->path) != 0 || strcmp(m->params ?: "", pm->parameters) != 0) {
                char *path = strdup(pm->path), *params = strdup(pm->parameters);

                if (!path || !params) {
                        free(path);
                        free(params);
                        load_job_free(j);
                        return -ENOMEM;
                }
                free(m->path);
                free(m->params);
                m->path = path;
                m->params = params;
        }
        r = loader_submit(e->loader, j);
        if (r < 0) {
                load_job_free(j);
                return r;
        }
        module_index(m, pm->dev, pm->ino);
        m->job = j;
        m->n_joined = 0;
        module_set_state(m, MODULE_LOADING);
        m->stage = LOAD_STAGE_QUEUED;
        m->loads++;
        e->stats.loads++;
        if (pm->install_command)
                e->stats.install_commands++;
        engine_emit(e, ENGINE_EVENT_LOAD, m->name, 0, COALESCED_NO);
        log_debug("Loading %s from %s.", pm->name, pm->path);
        return 0;
}
