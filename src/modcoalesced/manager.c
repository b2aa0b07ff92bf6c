/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* manager.c — see manager.h. Signals are handled through sd-event (blocked first), so a
 * SIGTERM ends the loop between two events, never inside one. */
#include <errno.h>
#include <signal.h>
#include <systemd/sd-daemon.h>

#include "log.h"
#include "manager.h"

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
        k = sd_event_add_signal(m->event, NULL, SIGTERM, NULL, NULL);
        if (k >= 0)
                k = sd_event_add_signal(m->event, NULL, SIGINT, NULL, NULL);
        if (k < 0)
                return log_error_errno(k, "Failed to watch signals: %m");

        k = resolver_new(&m->resolver, config->module_dir, NULL);
        if (k < 0)
                return log_error_errno(k, "Failed to load the module index of %s: %m",
                        config->module_dir ?: "the running kernel");

        k = engine_new(&m->engine, m->event, kernel_real(), &config->engine);
        if (k < 0)
                return log_error_errno(k, "Failed to set up the engine: %m");
        /* Subscribe before the scan, so no load between the two goes unseen. */
        k = monitor_new(&m->monitor, m->event, m->engine);
        if (k < 0)
                log_warning_errno(k,
                        "Cannot watch module uevents, modules loaded by others will "
                        "be noticed only when a request reaches them: %m");
        k = engine_start(m->engine);
        if (k < 0)
                return log_error_errno(k, "Failed to read the kernel's module state: %m");

        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m)
{
        if (!m)
                return NULL;
        monitor_free(m->monitor);
        engine_free(m->engine);
        resolver_free(m->resolver);
        sd_event_unref(m->event);
        free(m);
        return NULL;
}

int manager_run(Manager *m)
{
        int k;

        log_info("Module index %s loaded; ready.", resolver_module_dir(m->resolver));
        (void) sd_notify(false, "READY=1\nSTATUS=Idle.");
        k = sd_event_loop(m->event);
        (void) sd_notify(false, "STOPPING=1");
        if (k < 0)
                return log_error_errno(k, "Event loop failed: %m");
        log_info("Stopped.");
        return 0;
}
