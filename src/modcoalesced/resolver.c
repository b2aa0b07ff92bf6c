/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* resolver.c — plans come from libkmod's own modprobe logic: kmod_module_probe_insert_module()
 * in dry-run mode, ignoring what is loaded, reports each module in exactly modprobe's order
 * (hard dependencies, pre-softdeps, the module, post-softdeps) with its merged options and
 * install command. Nothing of modprobe.d is parsed here. Plans are cached by request. */
#include <errno.h>
#include <inttypes.h>
#include <libkmod.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "config-watch.h"
#include "hashmap.h"
#include "log.h"
#include "modname.h"
#include "resolver.h"

typedef struct CacheEntry {
        char *key;
        Plan *plan;
        int error;
        char *missing;
} CacheEntry;

struct Resolver {
        struct kmod_ctx *ctx;
        char *module_dir;
        char **config_paths;
        Hashmap *cache; /* key → CacheEntry */
        bool watching; /* long-lived: its inputs are watched (config-watch.h) */
        bool must_reload; /* a change was seen and not yet loaded */
        ConfigWatch *watch; /* NULL: not watching, or the watch could not be made */
        uint64_t generation;
        ResolverStats stats;
};

/* libkmod's print_action callback carries no user data. libkmod runs on one thread only, so
 * the plan being built is handed over through this variable for the duration of one call. */
typedef struct Builder {
        Plan *plan;
        char **required; /* the probed module and its hard dependencies */
        uint64_t group; /* PLAN_GROUP_BIT of the match being probed */
        int error;
} Builder;
static Builder *current_builder;

/* libkmod's printf-like callback: the attribute lets the compiler check `format` as one. */
_printf_(6, 0) static void on_kmod_log(void *data, int priority, const char *file, int line,
        const char *fn, const char *format, va_list args)
{
        char buf[1024];

        if (log_get_max_level() < LOG_DEBUG)
                return;
        vsnprintf(buf, sizeof(buf), format, args);
        buf[strcspn(buf, "\n")] = '\0';
        log_debug("libkmod: %s", buf);
}

static CacheEntry *cache_entry_free(CacheEntry *e)
{
        if (!e)
                return NULL;
        free(e->key);
        plan_unref(e->plan);
        free(e->missing);
        free(e);
        return NULL;
}

static void resolver_flush_cache(Resolver *r)
{
        CacheEntry *e;

        while ((e = hashmap_steal_first(r->cache)))
                cache_entry_free(e);
}

/* libkmod reads modprobe.d in kmod_new() and the index in kmod_load_resources(). Without our
 * own list, libkmod's built-in one: the watch's (config-watch.h), so that both are the same. */
static struct kmod_ctx *resolver_kmod_new(Resolver *r)
{
        char *const *paths = r->config_paths ?: config_watch_default_paths();
        struct kmod_ctx *ctx;

        ctx = kmod_new(r->module_dir, (const char *const *) paths);
        if (ctx)
                kmod_set_log_fn(ctx, on_kmod_log, NULL);
        return ctx;
}

/* A new watch before the inputs are read, so that no change falls between the two (the old
 * one's watches may name replaced files). Without one, libkmod's check of the directories'
 * times is all there is. */
static int resolver_watch(Resolver *r)
{
        _cleanup_free_ char *dir = NULL;
        int k;

        r->watch = config_watch_free(r->watch);
        if (r->ctx)
                dir = strdup(kmod_get_dirname(r->ctx));
        else {
                /* The first load: which directory libkmod takes, from a context of its own. */
                struct kmod_ctx *probe = resolver_kmod_new(r);

                if (!probe)
                        return -ENOMEM;
                dir = strdup(kmod_get_dirname(probe));
                kmod_unref(probe);
        }
        if (!dir)
                return -ENOMEM;
        k = config_watch_new(&r->watch, dir, r->config_paths ?: config_watch_default_paths());
        if (k < 0)
                log_debug_errno(k, "Cannot watch the module index and modprobe.d: %m");
        return 0;
}

static int resolver_load(Resolver *r)
{
        struct kmod_ctx *ctx;
        int k;

        if (r->watching) {
                k = resolver_watch(r);
                if (k < 0)
                        return k;
        }
        ctx = resolver_kmod_new(r);
        if (!ctx)
                return -ENOMEM;
        k = kmod_load_resources(ctx);
        if (k < 0) {
                kmod_unref(ctx);
                return log_debug_errno(k, "Failed to load module index of %s: %m",
                        r->module_dir ? r->module_dir : "the running kernel");
        }
        kmod_unref(r->ctx);
        r->ctx = ctx;
        return 0;
}

int resolver_new(
        Resolver **ret, bool watch, const char *module_dir, const char *const *config_paths)
{
        _cleanup_(resolver_freep) Resolver *r = NULL;
        size_t n = 0;
        int k;

        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        if (module_dir && !(r->module_dir = strdup(module_dir)))
                return -ENOMEM;
        if (config_paths) {
                while (config_paths[n])
                        n++;
                r->config_paths = calloc(n + 1, sizeof(char *));
                if (!r->config_paths)
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++)
                        if (!(r->config_paths[i] = strdup(config_paths[i])))
                                return -ENOMEM;
        }
        k = hashmap_new(&r->cache, &string_hash_ops);
        if (k < 0)
                return k;
        r->watching = watch;
        k = resolver_load(r);
        if (k < 0)
                return k;
        *ret = TAKE_PTR(r);
        return 0;
}

Resolver *resolver_free(Resolver *r)
{
        if (!r)
                return NULL;
        resolver_flush_cache(r);
        hashmap_free(r->cache);
        config_watch_free(r->watch);
        kmod_unref(r->ctx);
        free(r->module_dir);
        strv_free(r->config_paths);
        free(r);
        return NULL;
}

int resolver_refresh(Resolver *r)
{
        int k;

        /* A change seen (by the watch, whose events are then gone, or by libkmod's check) is
         * reloaded until a load succeeds: every request until then tries again and fails,
         * rather than being answered from the old index. */
        if (r->watch && config_watch_changed(r->watch) > 0)
                r->must_reload = true;
        /* A complete watch that saw nothing is the answer: no stat() of every index and
         * configuration path, which was most of what a request for a live module cost. */
        if (!r->must_reload && r->watch && config_watch_complete(r->watch))
                return 0;
        if (!r->must_reload) {
                r->stats.checks++;
                if (kmod_validate_resources(r->ctx) == KMOD_RESOURCES_OK)
                        return 0;
                r->must_reload = true;
        }
        k = resolver_load(r);
        if (k < 0)
                return k;
        r->must_reload = false;
        resolver_flush_cache(r);
        r->generation++;
        r->stats.reloads++;
        log_debug("Module index or configuration changed: reloaded, generation %" PRIu64,
                r->generation);
        return 1;
}

uint64_t resolver_generation(const Resolver *r)
{
        return r->generation;
}

const char *resolver_module_dir(const Resolver *r)
{
        return kmod_get_dirname(r->ctx);
}

ResolverStats resolver_stats(const Resolver *r)
{
        return r->stats;
}

static bool strv_contains(char *const *l, const char *s)
{
        for (; l && *l; l++)
                if (strcmp(*l, s) == 0)
                        return true;
        return false;
}

static size_t strlen_trimmed(const char *s)
{
        size_t n = strlen(s);

        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
                n--;
        return n;
}

static int builder_add(Builder *b, struct kmod_module *m, bool install, const char *options)
{
        const char *name = kmod_module_get_name(m), *path = kmod_module_get_path(m);
        bool required = strv_contains(b->required, name);
        PlanModule *pm;
        struct stat st;
        int k;

        if (!path) {
                /* modprobe prints builtin modules and ignores aliases without a module. */
                if (kmod_module_get_initstate(m) == KMOD_MODULE_BUILTIN)
                        return plan_add_name(&b->plan->builtin, name);
                return 0;
        }

        /* Several matches of one alias, or several names, can share modules: each is loaded
         * once, at its first position, and is hard if any of its users needs it hard. */
        pm = plan_find(b->plan, name);
        if (pm) {
                pm->soft = pm->soft && !required;
                pm->target = pm->target || strcmp(b->required[0], name) == 0;
                pm->groups |= b->group;
                if (required)
                        pm->hard_groups |= b->group;
                return 0;
        }

        k = plan_append(b->plan, &pm);
        if (k < 0)
                return k;
        pm->name = strdup(name);
        pm->path = strdup(path);
        /* libkmod joins options with a space even when the request adds none. */
        pm->parameters = strndup(options ?: "", strlen_trimmed(options ?: ""));
        if (install)
                pm->install_command = strdup(kmod_module_get_install_commands(m));
        if (!pm->name || !pm->path || !pm->parameters || (install && !pm->install_command))
                return -ENOMEM;
        pm->compression = compression_from_path(path);
        pm->soft = !required;
        pm->target = strcmp(b->required[0], name) == 0;
        pm->groups = b->group;
        pm->hard_groups = required ? b->group : 0;
        if (stat(path, &st) == 0) {
                pm->dev = st.st_dev;
                pm->ino = st.st_ino;
        }
        return 0;
}

static void on_print_action(struct kmod_module *m, bool install, const char *options)
{
        Builder *b = current_builder;
        int k;

        if (!b || b->error < 0)
                return;
        k = builder_add(b, m, install, options);
        if (k < 0)
                b->error = k;
}

/* Appends what probing one matched module would do to the plan. */
static int resolver_probe(Resolver *r, Plan *plan, struct kmod_module *mod, unsigned flags,
        const char *params, unsigned group)
{
        _cleanup_strv_free_ char **required = NULL;
        struct kmod_list *deps, *l;
        Builder b = { .plan = plan, .group = PLAN_GROUP_BIT(group) };
        int k;

        k = plan_add_name(&required, kmod_module_get_name(mod));
        deps = kmod_module_get_dependencies(mod);
        kmod_list_foreach (l, deps) {
                struct kmod_module *d = kmod_module_get_module(l);

                if (k >= 0)
                        k = plan_add_name(&required, kmod_module_get_name(d));
                kmod_module_unref(d);
        }
        kmod_module_unref_list(deps);
        if (k < 0)
                return k;
        b.required = required;

        current_builder = &b;
        k = kmod_module_probe_insert_module(
                mod, flags, params && params[0] ? params : NULL, NULL, NULL, on_print_action);
        current_builder = NULL;
        if (b.error < 0)
                return b.error;
        if (k < 0)
                return k;
        if (k > 0) /* One of the KMOD_PROBE_APPLY_BLACKLIST* reasons. */
                return plan_add_name(&plan->blacklisted, kmod_module_get_name(mod));
        return 0;
}

static int resolver_lookup(Resolver *r, Plan *plan, const char *alias, unsigned flags,
        const char *params, unsigned *group)
{
        struct kmod_list *list = NULL, *l;
        int k;

        k = kmod_module_new_from_lookup(r->ctx, alias, &list);
        if (k < 0)
                return k;
        if (!list)
                return -ENOENT;
        kmod_list_foreach (l, list) {
                struct kmod_module *mod = kmod_module_get_module(l);

                if (k >= 0)
                        k = resolver_probe(r, plan, mod, flags, params, (*group)++);
                kmod_module_unref(mod);
        }
        kmod_module_unref_list(list);
        return k < 0 ? k : 0;
}

/* Adds j's `after` edges towards the modules of a kmod list (deps: they before j; !deps: j
 * before them). */
static int order_list(Plan *plan, size_t j, struct kmod_list *list, bool before_j)
{
        struct kmod_list *l;
        int k = 0;

        kmod_list_foreach (l, list) {
                struct kmod_module *d = kmod_module_get_module(l);
                PlanModule *other = plan_find(plan, kmod_module_get_name(d));
                size_t i = other ? (size_t) (other - plan->modules) : j;

                if (k >= 0 && other)
                        k = before_j ? plan_add_after(plan, j, i) : plan_add_after(plan, i, j);
                kmod_module_unref(d);
        }
        return k;
}

/* The plan's `after` edges (plan.h), from what modprobe's order stands for: a module after its
 * hard dependencies (modules.dep) and its softdep pre: modules, its softdep post: modules after
 * it, and an install command after everything before it and before everything after it (it may
 * run modprobe itself). The targets of several matches keep their order too (udev's builtin and
 * modprobe -a load one match after the other): when two drivers match one device, the first
 * that registers binds it, so their order decides which, and it must not become a race. Except
 * with independent_targets, for a CPU's MODALIAS: what it matches are features of the CPU
 * (kvm_amd, crc32c_intel, aesni_intel…), none binds the CPU device, and a dozen of them load side
 * by side. The order stays modprobe's; only what may overlap is added. */
static int resolver_order(Resolver *r, Plan *plan, bool independent_targets)
{
        size_t barrier = SIZE_MAX, last_target = SIZE_MAX;
        int k;

        for (size_t j = 0; j < plan->n_modules; j++) {
                PlanModule *pm = &plan->modules[j];
                struct kmod_list *deps, *pre = NULL, *post = NULL;
                struct kmod_module *mod = NULL;

                if (barrier != SIZE_MAX && (k = plan_add_after(plan, j, barrier)) < 0)
                        return k;
                if (pm->target && !independent_targets) {
                        if (last_target != SIZE_MAX &&
                                (k = plan_add_after(plan, j, last_target)) < 0)
                                return k;
                        last_target = j;
                }
                if (pm->install_command) {
                        for (size_t i = 0; i < j; i++)
                                if ((k = plan_add_after(plan, j, i)) < 0)
                                        return k;
                        barrier = j;
                }
                k = kmod_module_new_from_name(r->ctx, pm->name, &mod);
                if (k < 0)
                        return k;
                deps = kmod_module_get_dependencies(mod);
                k = order_list(plan, j, deps, true);
                kmod_module_unref_list(deps);
                if (k >= 0 && kmod_module_get_softdeps(mod, &pre, &post) >= 0) {
                        k = order_list(plan, j, pre, true);
                        if (k >= 0)
                                k = order_list(plan, j, post, false);
                }
                kmod_module_unref_list(pre);
                kmod_module_unref_list(post);
                kmod_module_unref(mod);
                if (k < 0)
                        return k;
        }
        plan->ordered = true;
        return 0;
}

static int cache_key(char kind, char *const *inputs, const char *params, char **ret)
{
        size_t n = 3 + (params ? strlen(params) : 0);
        char *key, *p;

        for (char *const *i = inputs; *i; i++)
                n += strlen(*i) + 1;
        key = p = malloc(n);
        if (!key)
                return -ENOMEM;
        *p++ = kind;
        /* Inputs are validated printable ASCII: a unit separator cannot occur inside them. */
        for (char *const *i = inputs; *i; i++)
                p = stpcpy(stpcpy(p, *i), "\x1f");
        *p++ = '\x1e';
        stpcpy(p, params ?: "");
        *ret = key;
        return 0;
}

static int cache_answer(Resolver *r, const CacheEntry *e, Plan **ret, char **ret_missing)
{
        if (e->error < 0) {
                if (ret_missing && e->missing && !(*ret_missing = strdup(e->missing)))
                        return -ENOMEM;
                return e->error;
        }
        *ret = plan_ref(e->plan);
        return 0;
}

static int resolver_resolve(Resolver *r, char kind, char *const *inputs, const char *params,
        Plan **ret, char **ret_missing)
{
        _cleanup_free_ char *key = NULL;
        _cleanup_(plan_unrefp) Plan *plan = NULL;
        CacheEntry *e;
        const char *missing = NULL;
        int k, error = 0;

        r->stats.lookups++;
        k = resolver_refresh(r);
        if (k < 0)
                return k;
        k = cache_key(kind, inputs, params, &key);
        if (k < 0)
                return k;
        e = hashmap_get(r->cache, key);
        if (e) {
                r->stats.cache_hits++;
                return cache_answer(r, e, ret, ret_missing);
        }

        k = plan_new(&plan);
        if (k < 0)
                return k;
        unsigned group = 0;
        for (char *const *i = inputs; *i; i++) {
                /* kmod's modprobe: the blacklist always applies to aliases; "-b" (udev, and
                 * modprobe@.service: kind 'B') also to module names, those matched by a
                 * device's MODALIAS or given by name. */
                unsigned flags = KMOD_PROBE_DRY_RUN | KMOD_PROBE_IGNORE_LOADED |
                        KMOD_PROBE_APPLY_BLACKLIST_ALIAS_ONLY |
                        (kind != 'N' ? KMOD_PROBE_APPLY_BLACKLIST : 0);

                k = resolver_lookup(r, plan, *i, flags, params, &group);
                if (k == -ENOENT) {
                        error = k;
                        missing = *i;
                        break;
                }
                if (k < 0)
                        return k; /* ENOMEM and the like: not worth remembering. */
        }
        if (error == 0 &&
                (k = resolver_order(r, plan, kind == 'A' && strncmp(inputs[0], "cpu:", 4) == 0)) <
                        0)
                return k;

        if (hashmap_size(r->cache) >= RESOLVER_CACHE_MAX)
                resolver_flush_cache(r);
        e = calloc(1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        e->error = error;
        e->plan = error < 0 ? NULL : TAKE_PTR(plan);
        e->missing = missing ? strdup(missing) : NULL;
        e->key = TAKE_PTR(key);
        k = hashmap_put(r->cache, e->key, e);
        if (k < 0) {
                cache_entry_free(e);
                return k;
        }
        return cache_answer(r, e, ret, ret_missing);
}

int resolver_resolve_modalias(Resolver *r, const char *modalias, const char *params, Plan **ret)
{
        char *const inputs[] = { (char *) modalias, NULL };
        int k;

        k = modalias_validate(modalias, NULL);
        if (k < 0)
                return k;
        k = module_params_validate(params, NULL);
        if (k < 0)
                return k;
        return resolver_resolve(r, 'A', inputs, params, ret, NULL);
}

static int resolve_names(Resolver *r, char kind, char *const *names, const char *params, Plan **ret,
        char **ret_missing)
{
        int k;

        if (!names || !names[0])
                return -EINVAL;
        for (char *const *n = names; *n; n++) {
                k = modname_validate(*n, NULL);
                if (k < 0)
                        return k;
        }
        k = module_params_validate(params, NULL);
        if (k < 0)
                return k;
        return resolver_resolve(r, kind, names, params, ret, ret_missing);
}

int resolver_resolve_names(
        Resolver *r, char *const *names, const char *params, Plan **ret, char **ret_missing)
{
        return resolve_names(r, 'N', names, params, ret, ret_missing);
}

int resolver_resolve_names_blacklisted(
        Resolver *r, char *const *names, const char *params, Plan **ret, char **ret_missing)
{
        return resolve_names(r, 'B', names, params, ret, ret_missing);
}
