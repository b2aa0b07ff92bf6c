/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-resolver — plans against a fixture tree generated from real test modules (xz, zstd and
 * plain, with dependencies, softdeps, aliases, blacklist, options and install commands) and
 * against the kernel's real module tree; every plan is compared with what kmod's own
 * `modprobe --show-depends` prints for the same input. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "fixture.h"
#include "modname.h"
#include "resolver.h"

static char real_moddir[256];

/* -- modprobe as the reference --------------------------------------------------------------- */

static char *shell_quote(const char *s)
{
        char *q = malloc(strlen(s) * 4 + 3), *p = q;

        assert_non_null(q);
        *p++ = '\'';
        for (; *s; s++) {
                if (*s == '\'')
                        p = stpcpy(p, "'\\''");
                else
                        *p++ = *s;
        }
        *p++ = '\'';
        *p = '\0';
        return q;
}

static void trim(char *s)
{
        size_t n = strlen(s);

        while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
                s[--n] = '\0';
}

static bool line_in(char **lines, size_t n, const char *l)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(lines[i], l) == 0)
                        return true;
        return false;
}

/* Runs modprobe --show-depends and keeps each line once, at its first position: modprobe
 * prints a shared dependency again for every match or name, a plan loads it once. */
static size_t modprobe_show_depends(const char *opts, char *const *inputs, char ***ret)
{
        char cmd[8192], line[8192], **lines = NULL;
        size_t n = 0;
        FILE *f;

        snprintf(cmd, sizeof(cmd), "modprobe %s --show-depends", opts);
        for (char *const *i = inputs; *i; i++) {
                char *q = shell_quote(*i);
                strncat(cmd, " ", sizeof(cmd) - strlen(cmd) - 1);
                strncat(cmd, q, sizeof(cmd) - strlen(cmd) - 1);
                free(q);
        }
        f = popen(cmd, "r");
        assert_non_null(f);
        while (fgets(line, sizeof(line), f)) {
                trim(line);
                if (line_in(lines, n, line))
                        continue;
                lines = realloc(lines, (n + 1) * sizeof(char *));
                assert_non_null(lines);
                lines[n] = strdup(line);
                assert_non_null(lines[n++]);
        }
        assert_int_equal(pclose(f), 0);
        *ret = lines;
        return n;
}

static void free_lines(char **lines, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(lines[i]);
        free(lines);
}

/* The plan must print exactly as modprobe: the same insmod/install lines in the same order,
 * and the same builtin lines. */
static void assert_plan_matches_modprobe(const Plan *plan, const char *opts, char *const *inputs)
{
        char **lines, expect[8192];
        size_t n, j = 0, n_builtin = 0;

        n = modprobe_show_depends(opts, inputs, &lines);
        for (size_t i = 0; i < n; i++) {
                if (strncmp(lines[i], "builtin ", 8) == 0) {
                        bool found = false;
                        for (char **b = plan->builtin; *b; b++)
                                found = found || strcmp(*b, lines[i] + 8) == 0;
                        if (!found)
                                fail_msg("modprobe says '%s', the plan has no such builtin",
                                        lines[i]);
                        n_builtin++;
                        continue;
                }
                if (j >= plan->n_modules)
                        fail_msg(
                                "modprobe says '%s', the plan ends after %zu modules", lines[i], j);
                const PlanModule *m = &plan->modules[j++];
                if (m->install_command)
                        snprintf(expect, sizeof(expect), "install %s %s", m->install_command,
                                m->parameters);
                else
                        snprintf(expect, sizeof(expect), "insmod %s %s", m->path, m->parameters);
                trim(expect);
                assert_string_equal(lines[i], expect);
        }
        assert_int_equal(j, plan->n_modules);
        assert_int_equal(n_builtin, strv_length(plan->builtin));
        free_lines(lines, n);
}

/* -- fixtures ---------------------------------------------------------------------------------- */

static int setup(void **state)
{
        if (fixture_setup(&fx) < 0)
                return -1;
        snprintf(real_moddir, sizeof(real_moddir), "/lib/modules/%s", fx.kver);
        return 0;
}

static int teardown(void **state)
{
        return fixture_teardown(&fx);
}

static Resolver *fixture_resolver(void)
{
        const char *const conf[] = { fx.conf, NULL };
        Resolver *r = NULL;

        assert_int_equal(resolver_new(&r, false, fx.moddir, conf), 0);
        return r;
}

static char fixture_opts[2048];
/* -a (several names) is off only where module parameters follow the name. */
static const char *fixture_modprobe_full(bool blacklist, bool all)
{
        snprintf(fixture_opts, sizeof(fixture_opts), "%s %s -d %s -S %s -C %s", all ? "-a" : "",
                blacklist ? "-b" : "", fx.root, fx.kver, fx.conf);
        return fixture_opts;
}

static const char *fixture_modprobe(bool blacklist)
{
        return fixture_modprobe_full(blacklist, true);
}

static const PlanModule *find(const Plan *p, const char *name)
{
        return plan_find((Plan *) p, name);
}

/* -- tests: fixture tree --------------------------------------------------------------------- */

static void test_chain_and_softdeps(void **state)
{
        _cleanup_(resolver_freep) Resolver *r = fixture_resolver();
        _cleanup_(plan_unrefp) Plan *p = NULL;
        char *const names[] = { "mc_a", NULL };
        static const char *const order[] = { "mc_c", "mc_b", "mc_soft", "mc_a", "mc_post" };
        struct stat st;

        assert_int_equal(resolver_resolve_names(r, names, NULL, &p, NULL), 0);
        assert_int_equal(p->n_modules, ELEMENTSOF(order));
        for (size_t i = 0; i < ELEMENTSOF(order); i++)
                assert_string_equal(p->modules[i].name, order[i]);

        /* Hard dependencies fail a request; softdeps do not. */
        assert_false(find(p, "mc_c")->soft);
        assert_false(find(p, "mc_b")->soft);
        assert_false(find(p, "mc_a")->soft);
        assert_true(find(p, "mc_soft")->soft);
        assert_true(find(p, "mc_post")->soft);
        assert_int_equal(find(p, "mc_soft")->groups, 1);
        assert_int_equal(find(p, "mc_soft")->hard_groups, 0);
        assert_int_equal(find(p, "mc_b")->hard_groups, 1);
        assert_true(find(p, "mc_a")->target);
        assert_false(find(p, "mc_b")->target);

        assert_int_equal(find(p, "mc_a")->compression, COMPRESSION_XZ);
        assert_int_equal(find(p, "mc_b")->compression, COMPRESSION_ZSTD);
        assert_int_equal(find(p, "mc_c")->compression, COMPRESSION_NONE);
        assert_string_equal(find(p, "mc_c")->parameters, "level=3");
        assert_string_equal(find(p, "mc_b")->parameters, "");
        assert_null(find(p, "mc_a")->install_command);

        assert_int_equal(stat(find(p, "mc_b")->path, &st), 0);
        assert_int_equal(find(p, "mc_b")->dev, st.st_dev);
        assert_int_equal(find(p, "mc_b")->ino, st.st_ino);
        assert_non_null(strstr(find(p, "mc_b")->path, "/kernel/mctest/mc_b.ko.zst"));

        assert_plan_matches_modprobe(p, fixture_modprobe(false), names);
}

/* Whether module `name` comes after module `before` in the plan's order edges. */
static bool after(const Plan *p, const char *name, const char *before)
{
        const PlanModule *m = find(p, name), *b = find(p, before);

        assert_non_null(m);
        assert_non_null(b);
        for (uint32_t k = 0; k < m->n_after; k++)
                if (m->after[k] == (uint32_t) (b - p->modules))
                        return true;
        return false;
}

/* What may overlap: a module waits for its hard dependencies and softdep pre: modules, its
 * softdep post: modules wait for it, the targets of several matches for the one before (but a
 * CPU's); an install command waits for everything before it, and everything after it for it. */
static void test_order_edges(void **state)
{
        _cleanup_(resolver_freep) Resolver *r = fixture_resolver();
        _cleanup_(plan_unrefp) Plan *p = NULL, *m = NULL, *c = NULL, *i = NULL;
        char *const names[] = { "mc_a", NULL };
        char *const with_install[] = { "mc_c", "mc_inst", "mc_soft", NULL };

        assert_int_equal(resolver_resolve_names(r, names, NULL, &p, NULL), 0);
        assert_true(p->ordered);
        assert_int_equal(find(p, "mc_c")->n_after, 0);
        assert_int_equal(find(p, "mc_soft")->n_after, 0); /* beside mc_c and mc_b */
        assert_int_equal(find(p, "mc_b")->n_after, 1);
        assert_true(after(p, "mc_b", "mc_c"));
        assert_true(after(p, "mc_a", "mc_b") && after(p, "mc_a", "mc_c") &&
                after(p, "mc_a", "mc_soft"));
        assert_int_equal(find(p, "mc_post")->n_after, 1);
        assert_true(after(p, "mc_post", "mc_a"));

        /* Two drivers of one device keep their order; two features of a CPU need only their
         * shared dependency. */
        assert_int_equal(resolver_resolve_modalias(r, "mctest:multi", NULL, &m), 0);
        assert_true(after(m, "mc_user1", "mc_shared") && after(m, "mc_user2", "mc_shared"));
        assert_true(after(m, "mc_user2", "mc_user1"));
        assert_int_equal(resolver_resolve_modalias(r, "cpu:type:mctest", NULL, &c), 0);
        assert_true(after(c, "mc_user1", "mc_shared") && after(c, "mc_user2", "mc_shared"));
        assert_false(after(c, "mc_user2", "mc_user1"));

        assert_int_equal(resolver_resolve_names(r, with_install, NULL, &i, NULL), 0);
        assert_int_equal(i->n_modules, 3);
        assert_true(after(i, "mc_inst", "mc_c"));
        assert_true(after(i, "mc_soft", "mc_inst"));
}

static void test_alias_with_several_matches(void **state)
{
        _cleanup_(resolver_freep) Resolver *r = fixture_resolver();
        _cleanup_(plan_unrefp) Plan *p = NULL;
        char *const inputs[] = { "mctest:multi", NULL };

        assert_int_equal(resolver_resolve_modalias(r, "mctest:multi", NULL, &p), 0);
        /* The shared dependency appears once, before both users. */
        assert_int_equal(p->n_modules, 3);
        assert_string_equal(p->modules[0].name, "mc_shared");
        assert_true(find(p, "mc_user1")->target);
        assert_true(find(p, "mc_user2")->target);
        assert_false(find(p, "mc_shared")->target);
        /* Each match is a group: the shared dependency is hard for both. */
        assert_int_equal(find(p, "mc_shared")->hard_groups, 3);
        assert_int_equal(find(p, "mc_user1")->groups, 1);
        assert_int_equal(find(p, "mc_user2")->groups, 2);
        assert_plan_matches_modprobe(p, fixture_modprobe(true), inputs);
}

static void test_blacklist(void **state)
{
        _cleanup_(resolver_freep) Resolver *r = fixture_resolver();
        _cleanup_(plan_unrefp) Plan *by_alias = NULL, *by_name = NULL, *by_name_alias = NULL,
                                    *by_name_b = NULL, *other_b = NULL;
        char *const name[] = { "mc_black", NULL }, *const alias[] = { "mctest:black", NULL };

        /* A device's MODALIAS honours the blacklist (udev, modprobe -b). */
        assert_int_equal(resolver_resolve_modalias(r, "mctest:black", NULL, &by_alias), 0);
        assert_int_equal(by_alias->n_modules, 0);
        assert_string_equal(by_alias->blacklisted[0], "mc_black");
        assert_null(by_alias->blacklisted[1]);
        assert_plan_matches_modprobe(by_alias, fixture_modprobe(true), alias);

        /* A module asked for by name is loaded (modprobe applies the blacklist to aliases). */
        assert_int_equal(resolver_resolve_names(r, name, NULL, &by_name, NULL), 0);
        assert_int_equal(by_name->n_modules, 1);
        assert_null(by_name->blacklisted[0]);
        assert_plan_matches_modprobe(by_name, fixture_modprobe(false), name);

        assert_int_equal(resolver_resolve_names(r, alias, NULL, &by_name_alias, NULL), 0);
        assert_int_equal(by_name_alias->n_modules, 0);
        assert_string_equal(by_name_alias->blacklisted[0], "mc_black");
        assert_plan_matches_modprobe(by_name_alias, fixture_modprobe(false), alias);

        /* modprobe -abq NAME (modprobe@.service): the blacklist applies to the name too, and a
         * name that is not blacklisted loads as without -b. */
        assert_int_equal(resolver_resolve_names_blacklisted(r, name, NULL, &by_name_b, NULL), 0);
        assert_int_equal(by_name_b->n_modules, 0);
        assert_string_equal(by_name_b->blacklisted[0], "mc_black");
        assert_null(by_name_b->blacklisted[1]);
        assert_plan_matches_modprobe(by_name_b, fixture_modprobe(true), name);
        assert_int_equal(resolver_resolve_names_blacklisted(
                                 r, (char *const[]){ "mc_c", NULL }, NULL, &other_b, NULL),
                0);
        assert_int_equal(other_b->n_modules, 1);
        assert_plan_matches_modprobe(
                other_b, fixture_modprobe(true), (char *const[]){ "mc_c", NULL });
}

static void test_install_and_parameters(void **state)
{
        _cleanup_(resolver_freep) Resolver *r = fixture_resolver();
        _cleanup_(plan_unrefp) Plan *p = NULL, *q = NULL, *c = NULL;
        char *const inst[] = { "mc_inst", NULL }, *const two[] = { "mc_c", "mc_b", NULL };
        char *const inst_args[] = { "mc_inst", "verbose=1", NULL };
        char *const c_args[] = { "mc_c", "extra=1", NULL };

        assert_int_equal(resolver_resolve_names(r, inst, "verbose=1", &p, NULL), 0);
        assert_int_equal(p->n_modules, 1);
        assert_string_equal(
                p->modules[0].install_command, "/bin/echo installing mc_inst $CMDLINE_OPTS");
        assert_string_equal(p->modules[0].parameters, "verbose=1");
        assert_plan_matches_modprobe(p, fixture_modprobe_full(false, false), inst_args);

        /* Request parameters go to the requested modules, after modprobe.d's options. */
        assert_int_equal(resolver_resolve_names(r, two, "extra=1", &q, NULL), 0);
        assert_int_equal(q->n_modules, 2);
        assert_string_equal(find(q, "mc_c")->parameters, "level=3 extra=1");
        assert_string_equal(find(q, "mc_b")->parameters, "extra=1");

        assert_int_equal(
                resolver_resolve_names(r, (char *const[]){ "mc_c", NULL }, "extra=1", &c, NULL), 0);
        assert_string_equal(c->modules[0].parameters, "level=3 extra=1");
        assert_plan_matches_modprobe(c, fixture_modprobe_full(false, false), c_args);
}

static void test_kernel_command_line(void **state)
{
        pid_t pid;
        int status;

        /* libkmod takes mod.param= from /proc/cmdline: give a child its own (needs root). */
        if (geteuid() != 0)
                skip();
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                char path[600];
                const char *const conf[] = { fx.conf, NULL };
                char *const names[] = { "mc_a", NULL };
                Resolver *r = NULL;
                Plan *p = NULL;
                FILE *f;

                snprintf(path, sizeof(path), "%s/cmdline", fx.dir);
                f = fopen(path, "we");
                if (!f)
                        _exit(10);
                fputs("BOOT_IMAGE=/vmlinuz root=/dev/vda mc_b.flag=1 mc_c.level=7\n", f);
                fclose(f);
                if (unshare(CLONE_NEWNS) < 0 ||
                        mount(NULL, "/proc", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
                        mount(path, "/proc/cmdline", NULL, MS_BIND, NULL) < 0)
                        _exit(11);
                if (resolver_new(&r, false, fx.moddir, conf) < 0 ||
                        resolver_resolve_names(r, names, NULL, &p, NULL) < 0)
                        _exit(12);
                if (strcmp(plan_find(p, "mc_b")->parameters, "flag=1") != 0)
                        _exit(13);
                if (!strstr(plan_find(p, "mc_c")->parameters, "level=7") ||
                        !strstr(plan_find(p, "mc_c")->parameters, "level=3"))
                        _exit(14);
                assert_plan_matches_modprobe(p, fixture_modprobe(false), names);
                plan_unref(p);
                resolver_free(r);
                _exit(0);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_cache_and_reload(void **state)
{
        _cleanup_(resolver_freep) Resolver *r = fixture_resolver();
        _cleanup_(plan_unrefp) Plan *p1 = NULL, *p2 = NULL, *p3 = NULL;
        char cmd[2048];
        uint64_t gen;

        assert_int_equal(resolver_resolve_modalias(r, "mctest:a", NULL, &p1), 0);
        assert_int_equal(resolver_resolve_modalias(r, "mctest:a", NULL, &p2), 0);
        assert_ptr_equal(p1, p2);
        assert_int_equal(resolver_stats(r).lookups, 2);
        assert_int_equal(resolver_stats(r).cache_hits, 1);

        /* A miss is remembered too, until the index changes. */
        assert_int_equal(resolver_resolve_modalias(r, "mctest:late", NULL, &p3), -ENOENT);
        assert_int_equal(resolver_resolve_modalias(r, "mctest:late", NULL, &p3), -ENOENT);
        assert_int_equal(resolver_stats(r).cache_hits, 2);
        gen = resolver_generation(r);

        snprintf(cmd, sizeof(cmd), "cp %s/extra/mc_late.ko %s/kernel/mctest/ && depmod -b %s %s",
                fx.dir, fx.moddir, fx.root, fx.kver);
        assert_int_equal(system(cmd), 0);

        assert_int_equal(resolver_resolve_modalias(r, "mctest:late", NULL, &p3), 0);
        assert_int_equal(p3->n_modules, 1);
        assert_string_equal(p3->modules[0].name, "mc_late");
        assert_int_equal(resolver_generation(r), gen + 1);
        assert_int_equal(resolver_stats(r).reloads, 1);

        /* The old cache is gone: a new plan object for the same input. */
        plan_unref(p2);
        p2 = NULL;
        assert_int_equal(resolver_resolve_modalias(r, "mctest:a", NULL, &p2), 0);
        assert_ptr_not_equal(p1, p2);

        snprintf(cmd, sizeof(cmd), "rm %s/kernel/mctest/mc_late.ko && depmod -b %s %s", fx.moddir,
                fx.root, fx.kver);
        assert_int_equal(system(cmd), 0);
}

/* An edit inside an existing modprobe.d file leaves the directory's time alone, which is all
 * that libkmod's own check looks at: the resolver must notice it anyway (issue 15, item 5: a
 * "blacklist e1000" written over an existing file left the cached plan in force). */
static void test_config_file_edited_in_place(void **state)
{
        _cleanup_(resolver_freep) Resolver *r = NULL;
        _cleanup_(plan_unrefp) Plan *before = NULL, *after = NULL, *again = NULL;
        char dir[] = "/tmp/mc-conf-XXXXXX", file[512], cmd[1024];
        struct stat st;
        FILE *f;

        assert_non_null(mkdtemp(dir));
        snprintf(file, sizeof(file), "%s/zz.conf", dir);
        f = fopen(file, "we");
        assert_non_null(f);
        fputs("# nothing yet\n", f);
        fclose(f);
        {
                const char *const conf[] = { dir, NULL };
                assert_int_equal(resolver_new(&r, true, fx.moddir, conf), 0);
        }
        assert_int_equal(resolver_resolve_modalias(r, "mctest:black", NULL, &before), 0);
        assert_int_equal(before->n_modules, 1);
        assert_int_equal(stat(dir, &st), 0);

        /* Rewritten in place, and the directory's times put back as they were. */
        f = fopen(file, "we");
        assert_non_null(f);
        fputs("blacklist mc_black\n", f);
        fclose(f);
        assert_int_equal(
                utimensat(AT_FDCWD, dir, (const struct timespec[2]){ st.st_atim, st.st_mtim }, 0),
                0);
        /* The inotify event was queued by the write itself: the next call reads it. */
        assert_int_equal(resolver_resolve_modalias(r, "mctest:black", NULL, &after), 0);
        assert_int_equal(after->n_modules, 0);
        assert_string_equal(after->blacklisted[0], "mc_black");
        assert_int_equal(resolver_stats(r).reloads, 1);
        /* Nothing changed since: answered from the cache again. */
        assert_int_equal(resolver_resolve_modalias(r, "mctest:black", NULL, &again), 0);
        assert_ptr_equal(after, again);
        assert_int_equal(resolver_stats(r).reloads, 1);

        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        assert_int_equal(system(cmd), 0);
}

/* A resolver that watches its inputs (the daemon's) asks libkmod for no check while nothing
 * changed (every check is a stat() of each index and configuration path), and still sees
 * depmod at the next call, and a modprobe.d directory that did not exist being created. */
static void test_watch_replaces_the_check(void **state)
{
        _cleanup_(resolver_freep) Resolver *r = NULL;
        _cleanup_(plan_unrefp) Plan *p = NULL;
        char dir[] = "/tmp/mc-conf-XXXXXX", parent[] = "/tmp/mc-parent-XXXXXX", later[512],
             cmd[2048];
        FILE *f;

        assert_non_null(mkdtemp(dir));
        assert_non_null(mkdtemp(parent));
        snprintf(later, sizeof(later), "%s/later.d", parent);
        {
                const char *const conf[] = { dir, later, NULL };
                assert_int_equal(resolver_new(&r, true, fx.moddir, conf), 0);
        }
        for (int i = 0; i < 100; i++) {
                plan_unref(p);
                p = NULL;
                assert_int_equal(resolver_resolve_modalias(r, "mctest:black", NULL, &p), 0);
        }
        assert_int_equal(p->n_modules, 1);
        assert_int_equal(resolver_stats(r).checks, 0);
        assert_int_equal(resolver_stats(r).reloads, 0);

        /* depmod replaces the index files: the next call reloads. */
        snprintf(cmd, sizeof(cmd), "depmod -b %s %s", fx.root, fx.kver);
        assert_int_equal(system(cmd), 0);
        plan_unref(p);
        p = NULL;
        assert_int_equal(resolver_resolve_modalias(r, "mctest:black", NULL, &p), 0);
        assert_int_equal(resolver_stats(r).reloads, 1);

        /* Other names in the missing directory's parent do not count. */
        snprintf(cmd, sizeof(cmd), "touch %s/unrelated", parent);
        assert_int_equal(system(cmd), 0);
        plan_unref(p);
        p = NULL;
        assert_int_equal(resolver_resolve_modalias(r, "mctest:black", NULL, &p), 0);
        assert_int_equal(resolver_stats(r).reloads, 1);

        /* The missing directory appears, with a blacklist in it. */
        assert_int_equal(mkdir(later, 0755), 0);
        snprintf(cmd, sizeof(cmd), "%s/zz.conf", later);
        f = fopen(cmd, "we");
        assert_non_null(f);
        fputs("blacklist mc_black\n", f);
        fclose(f);
        plan_unref(p);
        p = NULL;
        assert_int_equal(resolver_resolve_modalias(r, "mctest:black", NULL, &p), 0);
        assert_int_equal(p->n_modules, 0);
        assert_int_equal(resolver_stats(r).reloads, 2);

        /* Watched now itself: an edit inside it is seen too. */
        f = fopen(cmd, "we");
        assert_non_null(f);
        fputs("# nothing\n", f);
        fclose(f);
        plan_unref(p);
        p = NULL;
        assert_int_equal(resolver_resolve_modalias(r, "mctest:black", NULL, &p), 0);
        assert_int_equal(p->n_modules, 1);
        assert_int_equal(resolver_stats(r).reloads, 3);
        assert_int_equal(resolver_stats(r).checks, 0);

        snprintf(cmd, sizeof(cmd), "rm -rf %s %s", dir, parent);
        assert_int_equal(system(cmd), 0);
}

/* An index that goes bad under a watching resolver: every call fails (none is answered from
 * the old index's cache) until depmod writes a good one again. */
static void test_watch_after_failed_reload(void **state)
{
        _cleanup_(resolver_freep) Resolver *r = NULL;
        _cleanup_(plan_unrefp) Plan *p = NULL;
        const char *const conf[] = { fx.conf, NULL };
        char cmd[2048];

        assert_int_equal(resolver_new(&r, true, fx.moddir, conf), 0);
        assert_int_equal(resolver_resolve_modalias(r, "mctest:a", NULL, &p), 0);
        plan_unref(p);
        p = NULL;
        snprintf(cmd, sizeof(cmd), "head -c 4096 /dev/urandom >%s/modules.alias.bin", fx.moddir);
        assert_int_equal(system(cmd), 0);
        for (int i = 0; i < 3; i++)
                assert_true(resolver_resolve_modalias(r, "mctest:a", NULL, &p) < 0);
        snprintf(cmd, sizeof(cmd), "depmod -b %s %s", fx.root, fx.kver);
        assert_int_equal(system(cmd), 0);
        assert_int_equal(resolver_resolve_modalias(r, "mctest:a", NULL, &p), 0);
        assert_true(p->n_modules >= 1);
}

/* Where an input cannot be watched (nor its parent), libkmod's check stays in force. */
static void test_incomplete_watch_keeps_the_check(void **state)
{
        _cleanup_(resolver_freep) Resolver *r = NULL;
        _cleanup_(plan_unrefp) Plan *p = NULL;
        const char *const conf[] = { fx.conf, "/nonexistent-mc/dir/modprobe.d", NULL };

        assert_int_equal(resolver_new(&r, true, fx.moddir, conf), 0);
        assert_int_equal(resolver_resolve_modalias(r, "mctest:a", NULL, &p), 0);
        assert_int_equal(resolver_stats(r).checks, 1);
}

static void test_bad_input(void **state)
{
        _cleanup_(resolver_freep) Resolver *r = fixture_resolver();
        _cleanup_free_ char *missing = NULL;
        Plan *p = NULL;
        char long_name[MODULE_NAME_MAX + 2];

        memset(long_name, 'a', sizeof(long_name) - 1);
        long_name[sizeof(long_name) - 1] = '\0';

        assert_int_equal(
                resolver_resolve_names(r, (char *const[]){ "", NULL }, NULL, &p, NULL), -EINVAL);
        assert_int_equal(
                resolver_resolve_names(r, (char *const[]){ NULL }, NULL, &p, NULL), -EINVAL);
        assert_int_equal(
                resolver_resolve_names(r, (char *const[]){ long_name, NULL }, NULL, &p, NULL),
                -ENAMETOOLONG);
        assert_int_equal(
                resolver_resolve_names(r, (char *const[]){ "../mc_a", NULL }, NULL, &p, NULL),
                -EINVAL);
        assert_int_equal(resolver_resolve_names(r, (char *const[]){ "kernel/mctest/mc_a.ko", NULL },
                                 NULL, &p, NULL),
                -EINVAL);
        assert_int_equal(
                resolver_resolve_names(r, (char *const[]){ "mc_\xc3\x28", NULL }, NULL, &p, NULL),
                -EINVAL);
        assert_int_equal(resolver_resolve_modalias(r, "", NULL, &p), -EINVAL);
        assert_int_equal(resolver_resolve_modalias(r, "mc_a", NULL, &p), -EINVAL);
        assert_int_equal(resolver_resolve_modalias(r, "mctest:a", "x=1\n", &p), -EINVAL);
        assert_null(p);

        /* Valid but matching nothing: "no driver" for a device, "not found" for a name. */
        assert_int_equal(resolver_resolve_modalias(r, "pci:v0000FFFFd0000FFFF", NULL, &p), -ENOENT);
        assert_int_equal(resolver_resolve_names(r, (char *const[]){ "mc_a", "mc_nothing", NULL },
                                 NULL, &p, &missing),
                -ENOENT);
        assert_string_equal(missing, "mc_nothing");
        assert_null(p);
        /* Malformed input never reaches libkmod. */
        assert_int_equal(resolver_stats(r).lookups, 2);
}

/* -- tests: the kernel's real module tree ------------------------------------------------------ */

static void real_case(Resolver *r, bool modalias, char *const *inputs, const char *must_contain)
{
        _cleanup_(plan_unrefp) Plan *p = NULL;
        char opts[1024];

        if (modalias)
                assert_int_equal(resolver_resolve_modalias(r, inputs[0], NULL, &p), 0);
        else
                assert_int_equal(resolver_resolve_names(r, inputs, NULL, &p, NULL), 0);
        assert_non_null(find(p, must_contain));
        snprintf(opts, sizeof(opts), "-a %s -S %s", modalias ? "-b" : "", fx.kver);
        assert_plan_matches_modprobe(p, opts, inputs);
}

static void test_real_tree(void **state)
{
        _cleanup_(resolver_freep) Resolver *r = NULL;
        _cleanup_(plan_unrefp) Plan *p = NULL;

        assert_int_equal(resolver_new(&r, false, real_moddir, NULL), 0);
        real_case(r, false, (char *const[]){ "xfs", NULL }, "libcrc32c");
        real_case(r, false, (char *const[]){ "btrfs", NULL }, "raid6_pq");
        real_case(r, false, (char *const[]){ "kvm_intel", NULL }, "kvm");
        real_case(r, false, (char *const[]){ "aesni_intel", NULL }, "aesni_intel");
        real_case(r, false, (char *const[]){ "fs-xfs", NULL }, "xfs");
        real_case(r, false, (char *const[]){ "fs-xfs", "btrfs", "kvm-intel", NULL }, "kvm_intel");
        real_case(r, true,
                (char *const[]){ "cpu:type:x86,ven0000fam0006mod0055:feature:,0000,0001,0002,"
                                 "0003,0004,0005,0006,0007,0008,0009,000B,000C,000D,000E,000F,"
                                 "0010,0011,0013,0017,0018,0019,001A,001B,001C,002B,0034,003A,"
                                 "003B,003D,0068,006F,0070,0072,0074,0075,0076,0079,0080,0081,"
                                 "0083,0084,0085,0087,0088,0089,008B,008C,008D,008E,008F,0091,"
                                 "0092,0093,0094,0095,0096,0097,0098,0099,009A,009B,009C,009D,"
                                 "009E,00C0,00C5,00E1,00E3,00E4,00E6,00E7,00EB,00EC,00F0,00F1,"
                                 "00F3,00F5,00F6,00F9,00FA,00FB,00FD,00FF,0100,0120,0123,0125,"
                                 "0127,0128,0129,012A,012D,0132,0133,0134,0137,0140,0141,0142,"
                                 "0143,0160,0161,0162,0163,0165,01C0,01C1,01C2,01C4,01C5,01C6,"
                                 "024A,025A,025B,025C,025F",
                        NULL },
                "kvm_intel");
        real_case(r, true,
                (char *const[]){ "pci:v00008086d0000100Esv00001AF4sd00001100bc02sc00i00", NULL },
                "e1000");

        /* A builtin match needs no load and is reported as such. */
        assert_int_equal(
                resolver_resolve_names(r, (char *const[]){ "binfmt_script", NULL }, NULL, &p, NULL),
                0);
        assert_int_equal(p->n_modules, 0);
        assert_string_equal(p->builtin[0], "binfmt_script");
        {
                char opts[256];
                snprintf(opts, sizeof(opts), "-S %s", fx.kver);
                assert_plan_matches_modprobe(p, opts, (char *const[]){ "binfmt_script", NULL });
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_chain_and_softdeps),
                cmocka_unit_test(test_order_edges),
                cmocka_unit_test(test_alias_with_several_matches),
                cmocka_unit_test(test_blacklist),
                cmocka_unit_test(test_install_and_parameters),
                cmocka_unit_test(test_kernel_command_line),
                cmocka_unit_test(test_cache_and_reload),
                cmocka_unit_test(test_config_file_edited_in_place),
                cmocka_unit_test(test_watch_replaces_the_check),
                cmocka_unit_test(test_watch_after_failed_reload),
                cmocka_unit_test(test_incomplete_watch_keeps_the_check),
                cmocka_unit_test(test_bad_input),
                cmocka_unit_test(test_real_tree),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
