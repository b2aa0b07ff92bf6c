/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-monitor — the kernel's module uevents: the in-kernel filter (attached to a datagram
 * socketpair, which runs socket filters as netlink does), the parser, and the monitor feeding
 * the engine through a flood of other devices' uevents. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "engine.h"
#include "kernel-fake.h"
#include "monitor.h"
#include "uevent.h"

/* A message as the kernel writes it: "ACTION@DEVPATH\0" and the properties, each ending in a
 * NUL. Returns its length. */
static size_t uevent_format(char *buf, size_t size, const char *action, const char *devpath,
        const char *subsystem, unsigned seqnum)
{
        int n = snprintf(buf, size, "%s@%s%cACTION=%s%cDEVPATH=%s%cSUBSYSTEM=%s%cSEQNUM=%u%c",
                action, devpath, 0, action, 0, devpath, 0, subsystem, 0, seqnum, 0);

        assert_true(n > 0 && (size_t) n < size);
        return (size_t) n;
}

static void socketpair_filtered(int sv[2])
{
        assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
        assert_int_equal(uevent_filter_attach(sv[0]), 0);
}

static bool passes(int sv[2], const void *msg, size_t n)
{
        char buf[8192];
        ssize_t k;

        assert_int_equal(send(sv[1], msg, n, MSG_DONTWAIT), (ssize_t) n);
        k = recv(sv[0], buf, sizeof(buf), MSG_DONTWAIT);
        if (k < 0) {
                assert_int_equal(errno, EAGAIN);
                return false;
        }
        assert_int_equal(k, (ssize_t) n);
        assert_memory_equal(buf, msg, n);
        return true;
}

static bool formatted_passes(int sv[2], const char *action, const char *devpath, const char *sub)
{
        char buf[1024];

        return passes(sv, buf, uevent_format(buf, sizeof(buf), action, devpath, sub, 1));
}

static void test_filter(void **state)
{
        static const char libudev[] = "libudev\0\xfe\xed\xca\xfe";
        int sv[2];

        socketpair_filtered(sv);
        assert_true(formatted_passes(sv, "add", "/module/foo", "module"));
        assert_true(formatted_passes(sv, "remove", "/module/foo", "module"));
        assert_true(formatted_passes(sv, "change", "/module/kvm_intel", "module"));
        assert_false(formatted_passes(sv, "add", "/devices/system/cpu/cpu0", "cpu"));
        assert_false(formatted_passes(sv, "change", "/devices/pci0000:00/0000:00:01.0", "pci"));
        assert_false(formatted_passes(sv, "add", "/modules/foo", "module"));
        assert_false(formatted_passes(sv, "add", "/modul", "module"));
        assert_false(formatted_passes(sv, "bind", "/module/foo", "module"));
        assert_false(formatted_passes(sv, "offline", "/module/foo", "module"));
        assert_false(passes(sv, libudev, sizeof(libudev)));
        assert_false(passes(sv, "add@", 4));
        assert_false(passes(sv, "add@/module", 11));
        assert_true(passes(sv, "add@/module/", 12));
        close(sv[0]);
        close(sv[1]);
}

static int parse(
        const char *action, const char *devpath, const char *sub, char *name, KernelModuleState *s)
{
        char buf[1024];

        return uevent_parse_module(
                buf, uevent_format(buf, sizeof(buf), action, devpath, sub, 7), name, s);
}

static void test_parse(void **state)
{
        char name[MODULE_NAME_MAX + 1], buf[64];
        KernelModuleState s;

        assert_int_equal(parse("add", "/module/kvm_intel", "module", name, &s), 0);
        assert_string_equal(name, "kvm_intel");
        assert_int_equal(s, KERNEL_MODULE_LIVE);
        assert_int_equal(parse("change", "/module/xfs", "module", name, &s), 0);
        assert_int_equal(s, KERNEL_MODULE_LIVE);
        assert_int_equal(parse("remove", "/module/xfs", "module", name, &s), 0);
        assert_int_equal(s, KERNEL_MODULE_ABSENT);

        assert_int_equal(parse("online", "/module/xfs", "module", name, &s), -EINVAL);
        assert_int_equal(parse("add", "/module/xfs", "drivers", name, &s), -EINVAL);
        assert_int_equal(parse("add", "/devices/system/cpu/cpu0", "module", name, &s), -EINVAL);
        assert_int_equal(parse("add", "/module/", "module", name, &s), -EINVAL);
        assert_int_equal(parse("add", "/module/a/b", "module", name, &s), -EINVAL);
        assert_int_equal(parse("add", "/module/..", "module", name, &s), -EINVAL);
        memset(buf, 'x', sizeof(buf) - 1);
        buf[sizeof(buf) - 1] = '\0';
        char devpath[128];
        snprintf(devpath, sizeof(devpath), "/module/%s", buf);
        assert_int_equal(parse("add", devpath, "module", name, &s), -EINVAL);

        /* Not NUL-terminated, empty, without properties, libudev's. */
        assert_int_equal(uevent_parse_module("add@/module/x", 13, name, &s), -EINVAL);
        assert_int_equal(uevent_parse_module("", 0, name, &s), -EINVAL);
        assert_int_equal(uevent_parse_module("add@/module/x", 14, name, &s), -EINVAL);
        assert_int_equal(uevent_parse_module("libudev\0SUBSYSTEM=module\0DEVPATH=/module/x\0"
                                             "ACTION=add",
                                 43, name, &s),
                -EINVAL);
}

typedef struct Live {
        const char *prefix;
        unsigned n;
} Live;

static void count_live(const ModuleInfo *info, void *userdata)
{
        Live *l = userdata;

        if (strncmp(info->name, l->prefix, strlen(l->prefix)) == 0 &&
                strcmp(info->state, "live") == 0)
                l->n++;
}

#define FLOOD_MODULES 64u
#define FLOOD_DEVICES_PER_MODULE 500u

/* A coldplug: every module's "add" among hundreds of other devices' uevents, all sent before
 * the loop reads any. The others never take room in the socket (the sender is never refused),
 * so no module event is lost and nothing is rescanned. */
static void test_flood_of_other_events(void **state)
{
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        KernelFake *fake = NULL;
        Engine *engine = NULL;
        Monitor *monitor = NULL;
        Live live = { .prefix = "flood" };
        char buf[1024], devpath[128];
        unsigned seqnum = 0;
        usec_t deadline;
        bool forced;
        int sv[2];

        assert_int_equal(sd_event_new(&event), 0);
        assert_int_equal(kernel_fake_new(&fake), 0);
        assert_int_equal(engine_new(&engine, event, kernel_fake_kernel(fake), NULL), 0);
        assert_int_equal(engine_start(engine), 0);
        assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
        assert_int_equal(monitor_new_on_fd(&monitor, event, engine, sv[0]), 0);
        assert_true(monitor_receive_buffer(monitor, &forced) > 0);
        if (forced)
                assert_true(monitor_receive_buffer(monitor, NULL) >= (int) MONITOR_RCVBUF);

        for (unsigned i = 0; i < FLOOD_MODULES; i++) {
                for (unsigned j = 0; j < FLOOD_DEVICES_PER_MODULE; j++) {
                        size_t n;

                        snprintf(devpath, sizeof(devpath), "/devices/system/cpu/cpu%u", j);
                        n = uevent_format(buf, sizeof(buf), j % 2 ? "add" : "change", devpath,
                                "cpu", ++seqnum);
                        assert_int_equal(send(sv[1], buf, n, MSG_DONTWAIT), (ssize_t) n);
                }
                snprintf(devpath, sizeof(devpath), "/module/flood%u", i);
                size_t n = uevent_format(buf, sizeof(buf), "add", devpath, "module", ++seqnum);
                assert_int_equal(send(sv[1], buf, n, MSG_DONTWAIT), (ssize_t) n);
        }

        deadline = now_usec() + 10 * USEC_PER_SEC;
        while (live.n < FLOOD_MODULES && now_usec() < deadline) {
                assert_true(sd_event_run(event, 10 * USEC_PER_MSEC) >= 0);
                live.n = 0;
                engine_foreach_module(engine, false, count_live, &live);
        }
        assert_int_equal(live.n, FLOOD_MODULES);
        assert_int_equal(monitor_n_overruns(monitor), 0);
        assert_int_equal(monitor_n_ignored(monitor), 0);

        monitor_free(monitor);
        close(sv[1]);
        engine_free(engine);
        kernel_fake_free(fake);
}

/* The kernel's own socket: any process may open it; the filter and the buffer are in place. */
static void test_netlink_socket(void **state)
{
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        KernelFake *fake = NULL;
        Engine *engine = NULL;
        Monitor *monitor = NULL;

        assert_int_equal(sd_event_new(&event), 0);
        assert_int_equal(kernel_fake_new(&fake), 0);
        assert_int_equal(engine_new(&engine, event, kernel_fake_kernel(fake), NULL), 0);
        assert_int_equal(monitor_new(&monitor, event, engine), 0);
        assert_true(monitor_receive_buffer(monitor, NULL) > 0);
        monitor_free(monitor);
        engine_free(engine);
        kernel_fake_free(fake);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_filter),
                cmocka_unit_test(test_parse),
                cmocka_unit_test(test_flood_of_other_events),
                cmocka_unit_test(test_netlink_socket),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
