/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* monitor.c — see monitor.h. Kernel uevents, not udev's: the daemon runs before and
 * independently of udevd, and the kernel sends a module's "add" only after its init returned
 * (a module whose init fails sends nothing: the engine polls while anyone waits on one). */
#include <errno.h>
#include <linux/netlink.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "monitor.h"
#include "uevent.h"

/* The kernel's uevent multicast group (udevd's own re-broadcast is group 2). */
#define UEVENT_GROUP_KERNEL 1u
/* A uevent is at most UEVENT_BUFFER_SIZE (2048) bytes of properties plus its first line. */
#define UEVENT_MESSAGE_MAX 8192

struct Monitor {
        int fd;
        bool from_kernel_only; /* the netlink socket: take messages of the kernel only */
        bool forced;
        int rcvbuf;
        unsigned n_ignored, n_overruns;
        sd_event_source *source;
        Engine *engine;
};

/* The largest receive buffer this process may have, up to `want`: SO_RCVBUFFORCE with
 * CAP_NET_ADMIN, else SO_RCVBUF, which the kernel caps at net.core.rmem_max. */
static void monitor_grow_rcvbuf(Monitor *m, int want)
{
        socklen_t len = sizeof(m->rcvbuf);

        m->forced = setsockopt(m->fd, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof(want)) >= 0;
        if (!m->forced)
                (void) setsockopt(m->fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof(want));
        if (getsockopt(m->fd, SOL_SOCKET, SO_RCVBUF, &m->rcvbuf, &len) < 0)
                m->rcvbuf = -errno;
}

/* One message: false when the socket has none left. */
static bool monitor_receive_one(Monitor *m)
{
        char buf[UEVENT_MESSAGE_MAX], name[MODULE_NAME_MAX + 1];
        struct sockaddr_nl sender = {};
        struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
        struct msghdr msg = {
                .msg_name = &sender,
                .msg_namelen = sizeof(sender),
                .msg_iov = &iov,
                .msg_iovlen = 1,
        };
        KernelModuleState state;
        ssize_t n;

        n = recvmsg(m->fd, &msg, MSG_DONTWAIT);
        if (n < 0) {
                if (errno == ENOBUFS) {
                        /* The socket overran: events were lost; the caller rescans. */
                        m->n_overruns++;
                        return true;
                }
                return false; /* EAGAIN: drained; anything else: wait for the next wakeup. */
        }
        if ((msg.msg_flags & MSG_TRUNC) ||
                (m->from_kernel_only &&
                        (msg.msg_namelen != sizeof(sender) || sender.nl_pid != 0)) ||
                uevent_parse_module(buf, (size_t) n, name, &state) < 0) {
                m->n_ignored++;
                return true;
        }
        log_debug("uevent: module %s %s", name, kernel_module_state_to_string(state));
        engine_module_event(m->engine, name, state);
        return true;
}

static int on_uevent(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Monitor *m = userdata;
        unsigned overruns = m->n_overruns;

        /* Drain: one wakeup may carry many events. */
        while (monitor_receive_one(m))
                ;
        if (m->n_overruns != overruns) {
                /* Lost events: /sys/module says what is true. */
                log_debug("Module uevents were lost (socket overrun): rescanning /sys/module.");
                (void) engine_rescan(m->engine);
        }
        return 0;
}

int monitor_new_on_fd(Monitor **ret, sd_event *event, Engine *engine, int fd)
{
        _cleanup_(monitor_freep) Monitor *m = NULL;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->fd = -EBADF;
        m->engine = engine;
        r = uevent_filter_attach(fd);
        if (r < 0)
                return r;
        m->fd = fd;
        monitor_grow_rcvbuf(m, MONITOR_RCVBUF);
        r = sd_event_add_io(event, &m->source, m->fd, EPOLLIN, on_uevent, m);
        if (r < 0) {
                m->fd = -EBADF; /* Not ours on failure. */
                return r;
        }
        (void) sd_event_source_set_description(m->source, "module-uevents");
        *ret = TAKE_PTR(m);
        return 0;
}

int monitor_new(Monitor **ret, sd_event *event, Engine *engine)
{
        _cleanup_close_ int fd = -EBADF;
        struct sockaddr_nl addr = { .nl_family = AF_NETLINK, .nl_groups = UEVENT_GROUP_KERNEL };
        Monitor *m;
        int r;

        fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT);
        if (fd < 0)
                return -errno;
        /* The filter and the buffer before bind(): no other device's event is ever queued. */
        r = monitor_new_on_fd(&m, event, engine, fd);
        if (r < 0)
                return r;
        TAKE_FD(fd);
        m->from_kernel_only = true;
        if (bind(m->fd, (struct sockaddr *) &addr, sizeof(addr)) < 0) {
                r = -errno;
                monitor_free(m);
                return r;
        }
        *ret = m;
        return 0;
}

Monitor *monitor_free(Monitor *m)
{
        if (!m)
                return NULL;
        sd_event_source_disable_unref(m->source);
        safe_close(m->fd);
        free(m);
        return NULL;
}

int monitor_receive_buffer(const Monitor *m, bool *ret_forced)
{
        if (ret_forced)
                *ret_forced = m->forced;
        return m->rcvbuf;
}

unsigned monitor_n_ignored(const Monitor *m)
{
        return m->n_ignored;
}

unsigned monitor_n_overruns(const Monitor *m)
{
        return m->n_overruns;
}
