/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* manager.c — see manager.h. Signals are handled through sd-event (blocked first), so a
 * SIGTERM ends the loop between two events, never inside one. A post source, run after every
 * dispatch, keeps STATUS= and the idle clock current, and ends the drain when the last waiter
 * has its answer. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

#include "kernel-modprobe.h"
#include "log.h"
#include "manager.h"

static bool manager_busy(Manager *m)
{
        return server_n_connections(m->server) > 0 || engine_n_requests(m->engine) > 0 ||
                engine_n_in_flight(m->engine) > 0;
}

static void manager_update_status(Manager *m)
{
        unsigned in_flight = engine_n_in_flight(m->engine), waiting = engine_n_waiting(m->engine);
        char buf[128];

        if (m->stopping)
                snprintf(buf, sizeof(buf), "Stopping: %u loads in flight, %u waiters.", in_flight,
                        waiting);
        else if (in_flight + waiting == 0)
                snprintf(buf, sizeof(buf), "Idle.");
        else
                snprintf(buf, sizeof(buf), "%u loads in flight, %u waiters.", in_flight, waiting);
        if (m->status && strcmp(m->status, buf) == 0)
                return;
        free(m->status);
        m->status = strdup(buf);
        (void) sd_notifyf(false, "STATUS=%s", buf);
}

static int on_post(sd_event_source *s, void *userdata)
{
        Manager *m = userdata;

        manager_update_status(m);
        if (manager_busy(m))
                m->last_busy = now_usec();
        if (m->stopping && engine_n_requests(m->engine) == 0 && engine_n_in_flight(m->engine) == 0)
                (void) sd_event_exit(m->event, 0);
        return 0;
}

/* Whether the kernel runs our shim for request_module(). The shim never waits for an
 * activation (see modcoalesced-modprobe(8)), so the kernel's requests are coalesced only while
 * we run: then we stay. */
static bool kernel_runs_shim(const Manager *m)
{
        char buf[4096];

        return kernel_modprobe_read(m->kernel_modprobe, buf, sizeof(buf)) >= 0 &&
                kernel_modprobe_is_shim(buf);
}

static int on_idle_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        Manager *m = userdata;
        usec_t now = now_usec();

        if (!manager_busy(m) && now >= m->last_busy + m->idle_timeout) {
                if (!kernel_runs_shim(m)) {
                        log_info("Idle for %" PRIu64 " s, exiting; the socket stays with systemd.",
                                m->idle_timeout / USEC_PER_SEC);
                        return sd_event_exit(m->event, 0);
                }
                if (!m->resident)
                        log_info("Idle, but kernel.modprobe runs modcoalesced-modprobe: staying, "
                                 "so that the kernel's requests are coalesced too.");
                m->resident = true;
                m->last_busy = now;
        } else
                m->resident = false;
        if (manager_busy(m))
                m->last_busy = now;
        (void) sd_event_source_set_time(s, m->last_busy + m->idle_timeout);
        return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

static int on_drain_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
        Manager *m = userdata;

        log_warning("%u requests still waiting after the drain period; exiting anyway.",
                engine_n_requests(m->engine));
        return sd_event_exit(m->event, 0);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        Manager *m = userdata;
        int k;

        if (m->stopping)
                return 0;
        m->stopping = true;
        /* First of all: the kernel's shim checks "ready" before it connects, and a connection
         * made now would wait in the backlog until we are gone. Without "ready" it runs the real
         * modprobe at once (issue 15, item 8). */
        if (m->ready_path)
                (void) unlink(m->ready_path);
        log_info("Received %s: no new connections; answering %u waiting requests first.",
                strsignal((int) si->ssi_signo), engine_n_requests(m->engine));
        (void) sd_notify(false, "STOPPING=1");
        server_stop_accepting(m->server);
        manager_update_status(m);
        if (engine_n_requests(m->engine) == 0 && engine_n_in_flight(m->engine) == 0)
                return sd_event_exit(m->event, 0);
        /* Every request ends by its own timeout at the latest; allow a little beyond that. */
        k = sd_event_add_time_relative(m->event, &m->drain_source, CLOCK_MONOTONIC,
                engine_request_timeout(m->engine) + 2 * USEC_PER_SEC, 0, on_drain_timeout, m);
        if (k < 0)
                return sd_event_exit(m->event, 0);
        return 0;
}

/* The path of the socket we serve: --listen's, or the one systemd passed (named "varlink"). */
static int manager_socket_path(const char *listen, char **ret)
{
        struct sockaddr_un sa = {};
        socklen_t len = sizeof(sa);
        char **names = NULL;
        int n, k = -ENOENT;

        if (listen)
                return (*ret = strdup(listen)) ? 0 : -ENOMEM;
        n = sd_listen_fds_with_names(false, &names);
        for (int i = 0; i < n; i++)
                if (k < 0 && strcmp(names[i], "varlink") == 0 &&
                        getsockname(SD_LISTEN_FDS_START + i, (struct sockaddr *) &sa, &len) == 0 &&
                        sa.sun_family == AF_UNIX && sa.sun_path[0] == '/')
                        k = (*ret = strndup(sa.sun_path, sizeof(sa.sun_path))) ? 0 : -ENOMEM;
        strv_free(names);
        return k;
}

/* A file of ours in the socket's directory ("ready", "timeline.json"). */
static char *manager_state_path(const char *listen, const char *name)
{
        _cleanup_free_ char *sock = NULL;
        char *slash, *p;

        if (manager_socket_path(listen, &sock) < 0)
                return NULL;
        slash = strrchr(sock, '/');
        if (!slash || asprintf(&p, "%.*s/%s", (int) (slash - sock), sock, name) < 0)
                return NULL;
        return p;
}

/* The record of the loads made by the daemons before this one in this boot (in the initrd's
 * too: /run survives switch_root). */
static void manager_load_timeline(Manager *m)
{
        int k;

        if (!m->timeline_path)
                return;
        k = timeline_load(engine_timeline(m->engine), m->timeline_path);
        if (k < 0)
                log_warning_errno(k, "Ignoring the load record %s: %m", m->timeline_path);
        else if (k > 0)
                log_debug("Read %d load records from %s.", k, m->timeline_path);
}

static void manager_save_timeline(Manager *m)
{
        int k;

        if (!m->timeline_path || timeline_size(engine_timeline(m->engine)) == 0)
                return;
        k = timeline_save(engine_timeline(m->engine), m->timeline_path);
        if (k < 0)
                log_warning_errno(k, "Cannot save the load record to %s: %m", m->timeline_path);
}

/* Said once at start: how much of a coldplug's module uevents the socket can hold. */
static void manager_log_monitor(const Monitor *monitor)
{
        bool forced;
        int size = monitor_receive_buffer(monitor, &forced);

        if (size < 0)
                return;
        if (forced || size >= MONITOR_RCVBUF)
                log_info("Module uevents: %d KiB receive buffer, other subsystems' filtered out.",
                        size / 1024);
        else
                log_info("Module uevents: %d KiB receive buffer (net.core.rmem_max; raising it "
                         "takes CAP_NET_ADMIN), other subsystems' filtered out; /sys/module is "
                         "scanned again if it overruns.",
                        size / 1024);
}

int manager_new(Manager **ret, const ManagerConfig *config)
{
        _cleanup_(manager_freep) Manager *m = NULL;
        sigset_t mask;
        int k;

        m = calloc(1, sizeof(*m));
        if (!m)
                return log_oom();

        k = sd_event_default(&m->event);
        if (k < 0)
                return log_error_errno(k, "Failed to allocate event loop: %m");

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(errno, "Failed to block signals: %m");
        k = sd_event_add_signal(m->event, NULL, SIGTERM, on_signal, m);
        if (k >= 0)
                k = sd_event_add_signal(m->event, NULL, SIGINT, on_signal, m);
        if (k >= 0)
                k = sd_event_add_post(m->event, NULL, on_post, m);
        if (k < 0)
                return log_error_errno(k, "Failed to set up the event loop: %m");

        k = resolver_new(&m->resolver, true, config->module_dir, NULL);
        if (k < 0)
                return log_error_errno(k, "Failed to load the module index of %s: %m",
                        config->module_dir ?: "the running kernel");

        k = engine_new(&m->engine, m->event, config->kernel ?: kernel_real(), &config->engine);
        if (k < 0)
                return log_error_errno(k, "Failed to set up the engine: %m");
        /* Subscribe before the scan, so no load between the two goes unseen. */
        k = monitor_new(&m->monitor, m->event, m->engine);
        if (k < 0)
                log_warning_errno(k,
                        "Cannot watch module uevents, modules loaded by others will "
                        "be noticed only when a request reaches them: %m");
        else
                manager_log_monitor(m->monitor);
        k = engine_start(m->engine);
        if (k < 0)
                return log_error_errno(k, "Failed to read the kernel's module state: %m");

        k = server_new(&m->server, m->event, m->engine, m->resolver, &config->server);
        if (k < 0)
                return log_error_errno(k, "Failed to set up the varlink server: %m");
        m->ready_path = manager_state_path(config->listen, "ready");
        m->timeline_path = manager_state_path(config->listen, "timeline.json");
        manager_load_timeline(m);
        if (config->listen)
                k = server_listen_address(m->server, config->listen, 0600);
        else {
                k = server_listen_auto(m->server);
                if (k == 0)
                        k = log_error_errno(EBADF,
                                "No socket passed (FileDescriptorName=varlink); "
                                "use --listen=PATH to run by hand.");
        }
        if (k < 0)
                return log_error_errno(k, "Failed to listen: %m");

        m->kernel_modprobe = strdup(config->kernel_modprobe ?: "/proc/sys/kernel/modprobe");
        if (!m->kernel_modprobe)
                return log_oom();
        m->idle_timeout = config->idle_timeout ?: MANAGER_IDLE_TIMEOUT_USEC_DEFAULT;
        m->last_busy = now_usec();
        if (m->idle_timeout != USEC_INFINITY) {
                k = sd_event_add_time_relative(m->event, &m->idle_source, CLOCK_MONOTONIC,
                        m->idle_timeout, 0, on_idle_timer, m);
                if (k < 0)
                        return log_error_errno(k, "Failed to set up the idle timer: %m");
        }

        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m)
{
        if (!m)
                return NULL;
        sd_event_source_disable_unref(m->idle_source);
        sd_event_source_disable_unref(m->drain_source);
        server_free(m->server);
        monitor_free(m->monitor);
        engine_free(m->engine);
        resolver_free(m->resolver);
        sd_event_unref(m->event);
        free(m->status);
        free(m->ready_path);
        free(m->timeline_path);
        free(m->kernel_modprobe);
        free(m);
        return NULL;
}

/* The kernel's modprobe shim reads this before it connects: a request_module() that arrives
 * while the daemon is not serving (early boot, or while it starts, when the daemon's own start-up
 * may be what made the kernel ask) goes to modprobe instead of waiting on an activation. */
static void manager_write_ready(Manager *m)
{
        FILE *f;

        if (!m->ready_path)
                return;
        f = fopen(m->ready_path, "we");
        if (!f) {
                log_debug_errno(errno, "Cannot write %s: %m", m->ready_path);
                return;
        }
        fprintf(f, "%d\n", (int) getpid());
        fclose(f);
}

int manager_run(Manager *m)
{
        int k;

        log_info("Module index %s loaded; ready.", resolver_module_dir(m->resolver));
        manager_write_ready(m);
        (void) sd_notify(false, "READY=1\nSTATUS=Idle.");
        k = sd_event_loop(m->event);
        if (m->ready_path)
                (void) unlink(m->ready_path);
        manager_save_timeline(m);
        if (k < 0)
                return log_error_errno(k, "Event loop failed: %m");
        log_info("Stopped.");
        return 0;
}
