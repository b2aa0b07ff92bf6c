/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* monitor.c — see monitor.h. Kernel uevents, not udev's: the daemon runs before and
 * independently of udevd, and the kernel sends a module's "add" only after its init returned
 * (a module whose init fails sends nothing: the engine polls while anyone waits on one). */
#include <errno.h>
#include <libudev.h>
#include <string.h>

#include "log.h"
#include "monitor.h"

/* Room for a coldplug burst of uevents while the loop is busy. */
#define MONITOR_RCVBUF (4 * 1024 * 1024)

struct Monitor {
        struct udev *udev;
        struct udev_monitor *monitor;
        sd_event_source *source;
        Engine *engine;
};

int monitor_action_to_state(const char *action, KernelModuleState *ret)
{
        if (!action)
                return -EINVAL;
        if (strcmp(action, "add") == 0 || strcmp(action, "change") == 0)
                *ret = KERNEL_MODULE_LIVE;
        else if (strcmp(action, "remove") == 0)
                *ret = KERNEL_MODULE_ABSENT;
        else
                return -EINVAL;
        return 0;
}

static int on_uevent(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Monitor *m = userdata;
        struct udev_device *d;

        /* Drain: one wakeup may carry many events. */
        for (;;) {
                errno = 0;
                d = udev_monitor_receive_device(m->monitor);
                if (!d)
                        break;
                const char *name = udev_device_get_sysname(d);
                KernelModuleState state;

                if (name && monitor_action_to_state(udev_device_get_action(d), &state) >= 0) {
                        log_debug("uevent: module %s %s", name, udev_device_get_action(d));
                        engine_module_event(m->engine, name, state);
                }
                udev_device_unref(d);
        }
        if (errno == ENOBUFS) {
                /* The socket overran (a coldplug of thousands of devices sends every device's
                 * uevents through it): events were lost, /sys/module says what is true. */
                log_notice("Module uevents were lost (socket overrun): rescanning /sys/module.");
                (void) engine_rescan(m->engine);
        }
        return 0;
}

int monitor_new(Monitor **ret, sd_event *event, Engine *engine)
{
        _cleanup_(monitor_freep) Monitor *m = NULL;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->engine = engine;
        m->udev = udev_new();
        if (!m->udev)
                return -ENOMEM;
        m->monitor = udev_monitor_new_from_netlink(m->udev, "kernel");
        if (!m->monitor)
                return -errno ?: -EIO;
        r = udev_monitor_filter_add_match_subsystem_devtype(m->monitor, "module", NULL);
        if (r < 0)
                return r;
        (void) udev_monitor_set_receive_buffer_size(m->monitor, MONITOR_RCVBUF);
        r = udev_monitor_enable_receiving(m->monitor);
        if (r < 0)
                return r;
        r = sd_event_add_io(
                event, &m->source, udev_monitor_get_fd(m->monitor), EPOLLIN, on_uevent, m);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(m->source, "module-uevents");
        *ret = TAKE_PTR(m);
        return 0;
}

Monitor *monitor_free(Monitor *m)
{
        if (!m)
                return NULL;
        sd_event_source_disable_unref(m->source);
        udev_monitor_unref(m->monitor);
        udev_unref(m->udev);
        free(m);
        return NULL;
}
