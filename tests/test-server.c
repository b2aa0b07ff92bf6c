/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-server — the varlink service in-process: every method, every error and every limit,
 * over a real socket, with the server's event loop on a thread of its own and the fake kernel
 * underneath. Clients are sd-varlink's, blocking (calls) or asynchronous (waiters). */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <systemd/sd-varlink.h>

#include "fixture.h"
#include "kernel-fake.h"
#include "server.h"
#include "varlink-idl.h"

typedef struct Daemon {
        sd_event *event;
        KernelFake *fake;
        Engine *engine;
        Resolver *resolver;
        Server *server;
        pthread_t thread;
        int cmd[2], ack[2];
        char dir[64], sock[128];
} Daemon;

typedef void (*LoopFunc)(Daemon *d, void *arg);
typedef struct Command {
        LoopFunc f;
        void *arg;
} Command;

static int on_command(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Daemon *d = userdata;
        Command c;

        assert_int_equal(read(fd, &c, sizeof(c)), sizeof(c));
        if (c.f)
                c.f(d, c.arg);
        else
                sd_event_exit(d->event, 0);
        assert_int_equal(write(d->ack[1], "", 1), 1);
        return 0;
}

/* Runs f on the server's loop thread and waits for it: the server is not thread-safe. */
static void on_loop(Daemon *d, LoopFunc f, void *arg)
{
        Command c = { f, arg };
        char x;

        assert_int_equal(write(d->cmd[1], &c, sizeof(c)), sizeof(c));
        assert_int_equal(read(d->ack[0], &x, 1), 1);
}

static void *loop_main(void *p)
{
        Daemon *d = p;

        sd_event_loop(d->event);
        return NULL;
}

static void daemon_start(Daemon *d, const EngineConfig *ec, const ServerConfig *sc)
{
        const char *const conf[] = { fx.conf, NULL };

        *d = (Daemon){};
        snprintf(d->dir, sizeof(d->dir), "/tmp/mc-server-XXXXXX");
        assert_non_null(mkdtemp(d->dir));
        assert_int_equal(chmod(d->dir, 0755), 0);
        snprintf(d->sock, sizeof(d->sock), "%s/run/sock", d->dir);
        assert_int_equal(sd_event_new(&d->event), 0);
        assert_int_equal(kernel_fake_new(&d->fake), 0);
        kernel_fake_set_compression(d->fake, COMPRESSION_XZ);
        assert_int_equal(engine_new(&d->engine, d->event, kernel_fake_kernel(d->fake), ec), 0);
        assert_int_equal(engine_start(d->engine), 0);
        assert_int_equal(resolver_new(&d->resolver, true, fx.moddir, conf), 0);
        assert_int_equal(server_new(&d->server, d->event, d->engine, d->resolver, sc), 0);
        assert_int_equal(server_listen_address(d->server, d->sock, 0666), 0);
        assert_int_equal(chmod(d->sock, 0666), 0);
        assert_int_equal(pipe(d->cmd), 0);
        assert_int_equal(pipe(d->ack), 0);
        assert_int_equal(sd_event_add_io(d->event, NULL, d->cmd[0], EPOLLIN, on_command, d), 0);
        assert_int_equal(pthread_create(&d->thread, NULL, loop_main, d), 0);
}

static void daemon_stop(Daemon *d)
{
        char cmd[128];

        on_loop(d, NULL, NULL);
        pthread_join(d->thread, NULL);
        server_free(d->server);
        engine_free(d->engine);
        resolver_free(d->resolver);
        kernel_fake_free(d->fake);
        sd_event_unref(d->event);
        close(d->cmd[0]);
        close(d->cmd[1]);
        close(d->ack[0]);
        close(d->ack[1]);
        snprintf(cmd, sizeof(cmd), "rm -rf %s", d->dir);
        assert_int_equal(system(cmd), 0);
}

/* What the loop thread sees, read on it. */
typedef struct Snapshot {
        unsigned pending, connections, monitors;
} Snapshot;

static void snapshot_on_loop(Daemon *d, void *arg)
{
        *(Snapshot *) arg = (Snapshot){ .pending = server_n_pending(d->server),
                .connections = server_n_connections(d->server),
                .monitors = server_n_monitors(d->server) };
}

/* Waits until the server's *field is n (10 s at most: a loaded machine may keep the loop thread
 * off its CPU for long), instead of sleeping for what the server does on its own thread. */
#define WAIT_SERVER(d, field, n)                                                                   \
        do {                                                                                       \
                Snapshot s_ = {};                                                                  \
                for (usec_t end_ = now_usec() + 10 * USEC_PER_SEC; now_usec() < end_;              \
                        usleep(2000)) {                                                            \
                        on_loop((d), snapshot_on_loop, &s_);                                       \
                        if (s_.field == (n))                                                       \
                                break;                                                             \
                }                                                                                  \
                assert_int_equal(s_.field, (n));                                                   \
        } while (0)

static sd_varlink *client(Daemon *d)
{
        sd_varlink *link = NULL;

        assert_int_equal(sd_varlink_connect_address(&link, d->sock), 0);
        return link;
}

/* A blocking call; returns the error id or NULL, and the reply (owned by the link). */
static const char *call(
        sd_varlink *link, const char *method, const char *params_json, sd_json_variant **ret)
{
        _cleanup_(sd_json_variant_unrefp) sd_json_variant *params = NULL;
        char full[256];
        const char *error = NULL;
        sd_json_variant *reply = NULL;

        assert_int_equal(sd_json_parse(params_json, 0, &params, NULL, NULL), 0);
        snprintf(full, sizeof(full), MODCOALESCED_INTERFACE ".%s", method);
        assert_true(sd_varlink_call(link, full, params, &reply, &error) >= 0);
        if (ret)
                *ret = reply;
        return error;
}

static const char *call_once(Daemon *d, const char *method, const char *params_json)
{
        static char error[256];
        sd_varlink *link = client(d);
        const char *e = call(link, method, params_json, NULL);

        snprintf(error, sizeof(error), "%s", e ?: "");
        sd_varlink_unref(link);
        return error[0] ? error : NULL;
}

/* Asynchronous waiters: the reply lands in the slot. */
typedef struct Pending {
        bool done;
        char error[128];
        sd_json_variant *reply;
} Pending;

static int on_async_reply(sd_varlink *link, sd_json_variant *parameters, const char *error,
        sd_varlink_reply_flags_t flags, void *userdata)
{
        Pending *p = userdata;

        p->done = true;
        snprintf(p->error, sizeof(p->error), "%s", error ?: "");
        p->reply = sd_json_variant_ref(parameters);
        return 0;
}

static void invoke_on(sd_varlink *link, const char *params_json, Pending *p)
{
        _cleanup_(sd_json_variant_unrefp) sd_json_variant *params = NULL;

        *p = (Pending){};
        assert_int_equal(sd_json_parse(params_json, 0, &params, NULL, NULL), 0);
        sd_varlink_set_userdata(link, p);
        assert_int_equal(sd_varlink_bind_reply(link, on_async_reply), 0);
        assert_int_equal(sd_varlink_invoke(link, MODCOALESCED_INTERFACE ".Load", params), 0);
        assert_true(sd_varlink_flush(link) >= 0);
}

static sd_varlink *invoke(Daemon *d, const char *params_json, Pending *p)
{
        sd_varlink *link = client(d);

        invoke_on(link, params_json, p);
        return link;
}

static void wait_reply(sd_varlink *link, Pending *p)
{
        usec_t deadline = now_usec() + 10 * USEC_PER_SEC;

        while (!p->done) {
                assert_true(now_usec() < deadline);
                if (sd_varlink_process(link) == 0)
                        (void) sd_varlink_wait(link, 100 * USEC_PER_MSEC);
        }
}

static sd_json_variant *module_result(sd_json_variant *reply, const char *name)
{
        sd_json_variant *modules = sd_json_variant_by_key(reply, "modules");

        for (size_t i = 0; i < sd_json_variant_elements(modules); i++) {
                sd_json_variant *m = sd_json_variant_by_index(modules, i);
                if (strcmp(sd_json_variant_string(sd_json_variant_by_key(m, "name")), name) == 0)
                        return m;
        }
        fail_msg("no result for %s", name);
        return NULL;
}

static const char *field_str(sd_json_variant *v, const char *key)
{
        sd_json_variant *f = sd_json_variant_by_key(v, key);
        return f ? sd_json_variant_string(f) : NULL;
}

static int64_t field_int(sd_json_variant *v, const char *key)
{
        sd_json_variant *f = sd_json_variant_by_key(v, key);
        return f ? sd_json_variant_integer(f) : -1;
}

/* -- Load -------------------------------------------------------------------------------------- */

static void test_load(void **state)
{
        sd_json_variant *reply = NULL, *m;
        sd_varlink *link;
        Daemon d;

        daemon_start(&d, NULL, NULL);
        link = client(&d);
        assert_null(call(link, "Load", "{\"modules\":[\"mc_a\"]}", &reply));
        m = module_result(reply, "mc_a");
        assert_string_equal(field_str(m, "outcome"), "loaded");
        assert_string_equal(field_str(m, "coalesced"), "no");
        assert_true(sd_json_variant_boolean(sd_json_variant_by_key(m, "parametersApplied")));
        assert_true(field_int(m, "waitedUSec") >= 0);
        assert_string_equal(field_str(module_result(reply, "mc_c"), "outcome"), "loaded");

        /* Again: answered from the table. */
        assert_null(call(link, "Load", "{\"modules\":[\"mc_a\"]}", &reply));
        assert_string_equal(field_str(module_result(reply, "mc_a"), "outcome"), "already-loaded");

        /* A MODALIAS with two matches, one blacklisted alias, and parameters. */
        assert_null(call(link, "Load", "{\"modalias\":\"mctest:multi\"}", &reply));
        assert_string_equal(field_str(module_result(reply, "mc_user2"), "outcome"), "loaded");
        assert_null(call(link, "Load", "{\"modalias\":\"mctest:black\"}", &reply));
        assert_string_equal(field_str(module_result(reply, "mc_black"), "outcome"), "blacklisted");
        assert_null(call(
                link, "Load", "{\"modules\":[\"mc_slow\"],\"parameters\":\"delay_ms=1\"}", &reply));
        assert_null(call(
                link, "Load", "{\"modules\":[\"mc_slow\"],\"parameters\":\"delay_ms=2\"}", &reply));
        assert_false(sd_json_variant_boolean(
                sd_json_variant_by_key(module_result(reply, "mc_slow"), "parametersApplied")));
        assert_int_equal(kernel_fake_loads(d.fake, "mc_slow"), 1);
        sd_varlink_unref(link);
        daemon_stop(&d);
}

/* brief, as the udev helper and the shim ask: the same loads and errors, no per-module results. */
static void test_load_brief(void **state)
{
        sd_json_variant *reply = NULL;
        sd_varlink *link;
        Daemon d;

        daemon_start(&d, NULL, NULL);
        kernel_fake_set_result(d.fake, "mc_fail", -ENODEV);
        link = client(&d);
        assert_null(call(link, "Load", "{\"modules\":[\"mc_a\"],\"brief\":true}", &reply));
        assert_true(sd_json_variant_is_object(reply));
        assert_int_equal(sd_json_variant_elements(reply), 0);
        assert_int_equal(kernel_fake_loads(d.fake, "mc_a"), 1);
        /* Live: answered at once, the same way. */
        assert_null(call(link, "Load", "{\"modules\":[\"mc_a\"],\"brief\":true}", &reply));
        assert_int_equal(sd_json_variant_elements(reply), 0);
        assert_int_equal(kernel_fake_loads(d.fake, "mc_a"), 1);
        /* No driver (ENODEV by MODALIAS) and no match: successes, empty. */
        assert_null(call(link, "Load", "{\"modalias\":\"mctest:fail\",\"brief\":true}", &reply));
        assert_int_equal(sd_json_variant_elements(reply), 0);
        assert_null(call(
                link, "Load", "{\"modalias\":\"pci:v0000FFFFd0000FFFF\",\"brief\":true}", &reply));
        assert_int_equal(sd_json_variant_elements(reply), 0);
        /* A failure: LoadFailed with its module and errno, without the modules. */
        assert_string_equal(
                call(link, "Load", "{\"modules\":[\"mc_fail\"],\"brief\":true}", &reply),
                VL_ERROR_LOAD_FAILED);
        assert_string_equal(field_str(reply, "module"), "mc_fail");
        assert_int_equal(field_int(reply, "errno"), ENODEV);
        assert_null(sd_json_variant_by_key(reply, "modules"));
        /* Without brief, the same failure carries them. */
        assert_string_equal(
                call(link, "Load", "{\"modules\":[\"mc_fail\"]}", &reply), VL_ERROR_LOAD_FAILED);
        assert_non_null(module_result(reply, "mc_fail"));
        assert_int_equal(kernel_fake_loads(d.fake, "mc_fail"), 1);
        sd_varlink_unref(link);
        daemon_stop(&d);
}

static void test_load_failures(void **state)
{
        sd_json_variant *reply = NULL, *m;
        sd_varlink *link;
        Daemon d;

        daemon_start(&d, NULL, NULL);
        kernel_fake_set_result(d.fake, "mc_fail", -ENODEV);
        link = client(&d);

        /* By MODALIAS, ENODEV means "no driver": not an error (udev's policy). */
        assert_null(call(link, "Load", "{\"modalias\":\"mctest:fail\"}", &reply));
        m = module_result(reply, "mc_fail");
        assert_string_equal(field_str(m, "outcome"), "no-driver");
        assert_int_equal(field_int(m, "errno"), ENODEV);
        assert_string_equal(field_str(m, "errnoName"), "ENODEV");

        /* By name it is a failure, answered from memory the second time. */
        assert_string_equal(
                call(link, "Load", "{\"modules\":[\"mc_fail\"]}", &reply), VL_ERROR_LOAD_FAILED);
        assert_string_equal(field_str(reply, "module"), "mc_fail");
        assert_int_equal(field_int(reply, "errno"), ENODEV);
        assert_true(sd_json_variant_boolean(
                sd_json_variant_by_key(module_result(reply, "mc_fail"), "fromMemory")));
        assert_int_equal(kernel_fake_loads(d.fake, "mc_fail"), 1);

        /* A MODALIAS matching nothing: an empty, successful answer. */
        assert_null(call(link, "Load", "{\"modalias\":\"pci:v0000FFFFd0000FFFF\"}", &reply));
        assert_int_equal(sd_json_variant_elements(sd_json_variant_by_key(reply, "modules")), 0);
        assert_string_equal(call(link, "Load", "{\"modules\":[\"mc_nothing\"]}", &reply),
                VL_ERROR_NO_SUCH_MODULE);
        assert_string_equal(field_str(reply, "module"), "mc_nothing");
        sd_varlink_unref(link);
        daemon_stop(&d);
}

static void test_invalid_input(void **state)
{
        static const struct {
                const char *params, *error, *parameter;
        } cases[] = {
                { "{}", VL_ERROR_INVALID_INPUT, "modalias" },
                { "{\"modalias\":\"pci:x\",\"modules\":[\"mc_a\"]}", VL_ERROR_INVALID_INPUT,
                        "modules" },
                { "{\"modules\":[\"a/b\"]}", VL_ERROR_INVALID_INPUT, "modules" },
                { "{\"modules\":[\"..\"]}", VL_ERROR_INVALID_INPUT, "modules" },
                { "{\"modules\":[\"\"]}", VL_ERROR_INVALID_INPUT, "modules" },
                { "{\"modules\":[\"caf\\u00e9\"]}", VL_ERROR_INVALID_INPUT, "modules" },
                { "{\"modalias\":\"nocolon\"}", VL_ERROR_INVALID_INPUT, "modalias" },
                { "{\"modalias\":\"pci:\\u0001\"}", VL_ERROR_INVALID_INPUT, "modalias" },
                { "{\"modules\":[\"mc_a\"],\"parameters\":\"x=1\\ny=2\"}", VL_ERROR_INVALID_INPUT,
                        "parameters" },
                { "{\"modalias\":5}", SD_VARLINK_ERROR_INVALID_PARAMETER, NULL },
                { "{\"modules\":\"mc_a\"}", SD_VARLINK_ERROR_INVALID_PARAMETER, NULL },
                { "{\"modules\":[\"mc_a\"],\"frob\":true}", SD_VARLINK_ERROR_INVALID_PARAMETER,
                        NULL },
        };
        sd_json_variant *reply = NULL;
        char many[2048], *p = many;
        sd_varlink *link;
        Daemon d;

        daemon_start(&d, NULL, NULL);
        link = client(&d);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const char *e = call(link, "Load", cases[i].params, &reply);

                if (!e || strcmp(e, cases[i].error) != 0)
                        fail_msg("%s: got %s, expected %s", cases[i].params, e ?: "success",
                                cases[i].error);
                if (cases[i].parameter)
                        assert_string_equal(field_str(reply, "parameter"), cases[i].parameter);
        }
        /* 65 names: one too many. */
        p = stpcpy(p, "{\"modules\":[");
        for (int i = 0; i < 65; i++)
                p += sprintf(p, "%s\"mc_c\"", i ? "," : "");
        stpcpy(p, "]}");
        assert_string_equal(call(link, "Load", many, &reply), VL_ERROR_INVALID_INPUT);
        assert_string_equal(
                call(link, "Frobnicate", "{}", &reply), SD_VARLINK_ERROR_METHOD_NOT_FOUND);
        /* The same connection still works; every field is nullable, as the IDL says. */
        assert_null(call(link, "Load", "{\"modules\":[\"mc_c\"],\"fromKernel\":null}", &reply));
        assert_int_equal(kernel_fake_counts(d.fake).opens, 1);
        sd_varlink_unref(link);
        daemon_stop(&d);
}

static void test_timeout(void **state)
{
        EngineConfig ec = { .request_timeout_usec = 200 * USEC_PER_MSEC };
        sd_json_variant *reply = NULL;
        sd_varlink *link;
        Daemon d;

        daemon_start(&d, &ec, NULL);
        kernel_fake_hold(d.fake, "mc_c");
        link = client(&d);
        assert_string_equal(
                call(link, "Load", "{\"modules\":[\"mc_c\"]}", &reply), VL_ERROR_TIMED_OUT);
        assert_string_equal(field_str(reply, "module"), "mc_c");
        kernel_fake_release(d.fake, "mc_c");
        sd_varlink_unref(link);
        daemon_stop(&d);
}

/* -- limits ------------------------------------------------------------------------------------ */

static void test_pending_limit(void **state)
{
        ServerConfig sc = { .max_pending = 2 };
        Pending p[2];
        sd_varlink *waiting[2];
        Daemon d;

        daemon_start(&d, NULL, &sc);
        kernel_fake_hold(d.fake, "mc_c");
        waiting[0] = invoke(&d, "{\"modules\":[\"mc_c\"]}", &p[0]);
        waiting[1] = invoke(&d, "{\"modules\":[\"mc_b\"]}", &p[1]);
        assert_true(kernel_fake_wait_blocked(d.fake, "mc_c", 1, 5 * USEC_PER_SEC));
        WAIT_SERVER(&d, pending, 2);
        assert_string_equal(
                call_once(&d, "Load", "{\"modules\":[\"mc_a\"]}"), VL_ERROR_TOO_MANY_REQUESTS);
        /* Reads are not limited by pending loads. */
        assert_null(call_once(&d, "GetStats", "{}"));
        kernel_fake_release(d.fake, "mc_c");
        for (int i = 0; i < 2; i++) {
                wait_reply(waiting[i], &p[i]);
                assert_string_equal(p[i].error, "");
                sd_json_variant_unref(p[i].reply);
                sd_varlink_unref(waiting[i]);
        }
        assert_null(call_once(&d, "Load", "{\"modules\":[\"mc_a\"]}"));
        daemon_stop(&d);
}

static void test_connection_limit(void **state)
{
        ServerConfig sc = { .max_connections = 3 };
        sd_varlink *links[4];
        Daemon d;

        daemon_start(&d, NULL, &sc);
        for (int i = 0; i < 4; i++)
                links[i] = client(&d);
        for (int i = 0; i < 3; i++)
                assert_null(call(links[i], "GetStats", "{}", NULL));
        assert_string_equal(call(links[3], "Load", "{\"modules\":[\"mc_c\"]}", NULL),
                VL_ERROR_TOO_MANY_REQUESTS);
        for (int i = 0; i < 4; i++)
                sd_varlink_unref(links[i]);
        WAIT_SERVER(&d, connections, 0);
        assert_null(call_once(&d, "Load", "{\"modules\":[\"mc_c\"]}"));
        daemon_stop(&d);
}

static void test_permission_denied(void **state)
{
        int status;
        pid_t pid;
        Daemon d;

        daemon_start(&d, NULL, NULL);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                const char *e;

                if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
                        _exit(10);
                e = call_once(&d, "Load", "{\"modules\":[\"mc_c\"]}");
                if (!e || strcmp(e, VL_ERROR_PERMISSION_DENIED) != 0)
                        _exit(11);
                if (call_once(&d, "GetStats", "{}"))
                        _exit(12);
                _exit(0);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        assert_int_equal(kernel_fake_counts(d.fake).opens, 0);
        daemon_stop(&d);
}

/* Names and aliases from clients are index keys, never paths: whatever a client sends, the only
 * files opened are the module files the index names, under the module directory. A tempting ELF
 * file sits in the daemon's working directory and beside the module tree. */
static void test_names_are_never_paths(void **state)
{
        static const char *const names[] = { "../../../../../../tmp/evil", "evil", "evil.ko",
                "./evil.ko", "kernel/mctest/../../../evil", "mc_c/../evil", "*", "mc_?", "mc_[a-c]",
                "%s%n", "~/evil", "\\u002e\\u002e/evil" };
        static const char *const modaliases[] = { "mctest:../../../../tmp/evil", "mctest:*",
                "file:/tmp/evil.ko", "mctest:user1/../../evil" };
        char cwd[1024], evil[1200], cmd[2600], params[1300], real_moddir[PATH_MAX], real[PATH_MAX];
        unsigned opens;
        Daemon d;

        daemon_start(&d, NULL, NULL);
        snprintf(evil, sizeof(evil), "%s/evil.ko", d.dir);
        snprintf(cmd, sizeof(cmd), "cp %s/build/mc_c.ko %s && cp %s %s/evil.ko", fx.dir, evil, evil,
                fx.dir);
        assert_int_equal(system(cmd), 0);
        assert_non_null(getcwd(cwd, sizeof(cwd)));
        assert_int_equal(chdir(d.dir), 0);

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                const char *e;

                snprintf(params, sizeof(params), "{\"modules\":[\"%s\"]}", names[i]);
                e = call_once(&d, "Load", params);
                assert_non_null(e);
                assert_true(strcmp(e, VL_ERROR_INVALID_INPUT) == 0 ||
                        strcmp(e, VL_ERROR_NO_SUCH_MODULE) == 0);
        }
        for (size_t i = 0; i < ELEMENTSOF(modaliases); i++) {
                snprintf(params, sizeof(params), "{\"modalias\":\"%s\"}", modaliases[i]);
                (void) call_once(&d, "Load", params);
        }
        snprintf(params, sizeof(params), "{\"modules\":[\"%s\"]}", evil);
        assert_string_equal(call_once(&d, "Load", params), VL_ERROR_INVALID_INPUT);
        opens = kernel_fake_counts(d.fake).opens;
        assert_int_equal(opens, 0);

        /* The module files of a real plan, and nothing else. */
        assert_null(call_once(&d, "Load", "{\"modules\":[\"mc_a\"]}"));
        opens = kernel_fake_counts(d.fake).opens;
        assert_true(opens >= 3);
        assert_non_null(realpath(fx.moddir, real_moddir));
        strcat(real_moddir, "/");
        for (size_t i = 0; i < opens; i++) {
                assert_non_null(realpath(kernel_fake_opened(d.fake, i), real));
                assert_memory_equal(real, real_moddir, strlen(real_moddir));
        }
        assert_int_equal(chdir(cwd), 0);
        snprintf(cmd, sizeof(cmd), "rm -f %s/evil.ko", fx.dir);
        assert_int_equal(system(cmd), 0);
        daemon_stop(&d);
}

/* -- waiters, stopping, the views ---------------------------------------------------------------- */

static void read_stats(Daemon *d, sd_json_variant **ret)
{
        sd_varlink *link = client(d);
        sd_json_variant *reply = NULL;

        assert_null(call(link, "GetStats", "{}", &reply));
        *ret = sd_json_variant_ref(reply);
        sd_varlink_unref(link);
}

static void test_disconnected_waiter(void **state)
{
        sd_json_variant *stats = NULL;
        Pending p1, p2;
        sd_varlink *gone, *stays;
        Daemon d;

        daemon_start(&d, NULL, NULL);
        kernel_fake_hold(d.fake, "mc_c");
        gone = invoke(&d, "{\"modules\":[\"mc_c\"]}", &p1);
        stays = invoke(&d, "{\"modules\":[\"mc_c\"]}", &p2);
        assert_true(kernel_fake_wait_blocked(d.fake, "mc_c", 1, 5 * USEC_PER_SEC));
        WAIT_SERVER(&d, pending, 2);
        sd_varlink_unref(gone);
        WAIT_SERVER(&d, pending, 1);
        kernel_fake_release(d.fake, "mc_c");
        wait_reply(stays, &p2);
        assert_string_equal(p2.error, "");
        assert_string_equal(field_str(module_result(p2.reply, "mc_c"), "outcome"), "loaded");
        read_stats(&d, &stats);
        assert_int_equal(field_int(stats, "requestsCancelled"), 1);
        assert_int_equal(field_int(stats, "loads"), 1);
        sd_json_variant_unref(stats);
        sd_json_variant_unref(p2.reply);
        sd_varlink_unref(stays);
        daemon_stop(&d);
}

static void stop_accepting(Daemon *d, void *arg)
{
        server_stop_accepting(d->server);
}

static void test_stopping(void **state)
{
        Pending p, late;
        sd_varlink *waiter, *idle;
        Daemon d;

        daemon_start(&d, NULL, NULL);
        kernel_fake_hold(d.fake, "mc_c");
        waiter = invoke(&d, "{\"modules\":[\"mc_c\"]}", &p);
        idle = client(&d);
        assert_null(call(idle, "GetStats", "{}", NULL));
        assert_true(kernel_fake_wait_blocked(d.fake, "mc_c", 1, 5 * USEC_PER_SEC));
        on_loop(&d, stop_accepting, NULL);
        /* A call on a connection accepted before the stop is still served (its client queued
         * with us, not in the socket): mc_b joins the load of mc_c in flight. Both answers come. */
        invoke_on(idle, "{\"modules\":[\"mc_b\"]}", &late);
        kernel_fake_release(d.fake, "mc_c");
        wait_reply(waiter, &p);
        assert_string_equal(p.error, "");
        sd_json_variant_unref(p.reply);
        wait_reply(idle, &late);
        assert_string_equal(late.error, "");
        sd_json_variant_unref(late.reply);
        sd_varlink_unref(waiter);
        sd_varlink_unref(idle);
        daemon_stop(&d);
}

static void test_in_flight_and_stats(void **state)
{
        sd_json_variant *reply = NULL, *m, *stats = NULL;
        Pending p[3];
        sd_varlink *w[3], *link;
        Daemon d;

        daemon_start(&d, NULL, NULL);
        kernel_fake_hold(d.fake, "mc_user1");
        for (int i = 0; i < 3; i++)
                w[i] = invoke(&d, "{\"modalias\":\"mctest:user1\"}", &p[i]);
        assert_true(kernel_fake_wait_blocked(d.fake, "mc_user1", 1, 5 * USEC_PER_SEC));
        WAIT_SERVER(&d, pending, 3);
        link = client(&d);
        assert_null(call(link, "ListInFlight", "{}", &reply));
        m = module_result(reply, "mc_user1");
        assert_string_equal(field_str(m, "state"), "loading");
        assert_string_equal(field_str(m, "stage"), "loading");
        assert_int_equal(field_int(m, "waiters"), 3);
        assert_non_null(field_str(m, "path"));
        assert_non_null(strstr(field_str(m, "path"), "mc_user1.ko.xz"));
        assert_true(field_int(m, "inode") > 0);
        kernel_fake_release(d.fake, "mc_user1");
        for (int i = 0; i < 3; i++) {
                wait_reply(w[i], &p[i]);
                sd_json_variant_unref(p[i].reply);
                sd_varlink_unref(w[i]);
        }
        assert_null(call(link, "ListInFlight", "{}", &reply));
        assert_int_equal(sd_json_variant_elements(sd_json_variant_by_key(reply, "modules")), 0);
        read_stats(&d, &stats);
        assert_int_equal(field_int(stats, "requests"), 3);
        assert_int_equal(field_int(stats, "loads"), 2); /* mc_shared, mc_user1 */
        /* mc_user1's two joiners; mc_shared was perhaps live already for them. */
        assert_true(field_int(stats, "coalescedByName") >= 2);
        assert_int_equal(field_int(stats, "inFlight"), 0);
        m = module_result(stats, "mc_user1");
        assert_int_equal(field_int(m, "requests"), 3);
        assert_int_equal(field_int(m, "coalesced"), 2);
        assert_int_equal(field_int(m, "loads"), 1);
        sd_json_variant_unref(stats);
        sd_varlink_unref(link);
        daemon_stop(&d);
}

typedef struct Events {
        char seen[16][48];
        size_t n;
} Events;

static int on_event(sd_varlink *link, sd_json_variant *parameters, const char *error,
        sd_varlink_reply_flags_t flags, void *userdata)
{
        Events *ev = userdata;

        if (!error && ev->n < 16)
                snprintf(ev->seen[ev->n++], sizeof(ev->seen[0]), "%s %s",
                        field_str(parameters, "event"), field_str(parameters, "module"));
        return 0;
}

static void test_monitor(void **state)
{
        Events ev = {};
        sd_varlink *mon;
        Daemon d;

        daemon_start(&d, NULL, NULL);
        mon = client(&d);
        sd_varlink_set_userdata(mon, &ev);
        assert_int_equal(sd_varlink_bind_reply(mon, on_event), 0);
        assert_int_equal(sd_varlink_observe(mon, MODCOALESCED_INTERFACE ".Monitor", NULL), 0);
        assert_true(sd_varlink_flush(mon) >= 0);
        WAIT_SERVER(&d, monitors, 1);
        assert_null(call_once(&d, "Load", "{\"modules\":[\"mc_c\"]}"));
        for (usec_t end = now_usec() + 5 * USEC_PER_SEC; ev.n < 3 && now_usec() < end;)
                if (sd_varlink_process(mon) == 0)
                        (void) sd_varlink_wait(mon, 100 * USEC_PER_MSEC);
        assert_int_equal(ev.n, 3);
        assert_string_equal(ev.seen[0], "request mc_c");
        assert_string_equal(ev.seen[1], "load mc_c");
        assert_string_equal(ev.seen[2], "result mc_c");
        /* Without "more": the library refuses. */
        assert_string_equal(call_once(&d, "Monitor", "{}"), SD_VARLINK_ERROR_EXPECTED_MORE);
        sd_varlink_unref(mon);
        daemon_stop(&d);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_load),
                cmocka_unit_test(test_load_brief),
                cmocka_unit_test(test_load_failures),
                cmocka_unit_test(test_invalid_input),
                cmocka_unit_test(test_timeout),
                cmocka_unit_test(test_pending_limit),
                cmocka_unit_test(test_connection_limit),
                cmocka_unit_test(test_permission_denied),
                cmocka_unit_test(test_names_are_never_paths),
                cmocka_unit_test(test_disconnected_waiter),
                cmocka_unit_test(test_stopping),
                cmocka_unit_test(test_in_flight_and_stats),
                cmocka_unit_test(test_monitor),
        };
        return cmocka_run_group_tests(tests, fixture_group_setup, fixture_group_teardown);
}
