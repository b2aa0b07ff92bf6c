/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* uevent.c — see uevent.h. The filter looks at the message's first line only: classic BPF
 * cannot loop over the properties to find SUBSYSTEM=, but a module's DEVPATH is /module/NAME,
 * and the parser checks SUBSYSTEM=module on what gets through. */
#include <errno.h>
#include <linux/filter.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "cleanup.h"
#include "uevent.h"

#define DEVPATH_PREFIX "/module/"

int uevent_action_to_state(const char *action, KernelModuleState *ret)
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

/* "/mod" and "ule/" as BPF's word loads see them (network byte order). */
#define WORD(a, b, c, d)                                                                           \
        (((uint32_t) (a) << 24) | ((uint32_t) (b) << 16) | ((uint32_t) (c) << 8) | (uint32_t) (d))

int uevent_filter_attach(int fd)
{
        /* '@' after "add" (offset 3) or after "remove"/"change" (offset 6): X is where the
         * DEVPATH starts, which must begin with "/module/". A load past the end of a short
         * message ends the program with 0: dropped. */
        static const struct sock_filter program[] = {
                /* 0 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 3),
                /* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, '@', 0, 2),
                /* 2 */ BPF_STMT(BPF_LDX | BPF_W | BPF_IMM, 4),
                /* 3 */ BPF_STMT(BPF_JMP | BPF_JA, 3),
                /* 4 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 6),
                /* 5 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, '@', 0, 6),
                /* 6 */ BPF_STMT(BPF_LDX | BPF_W | BPF_IMM, 7),
                /* 7 */ BPF_STMT(BPF_LD | BPF_W | BPF_IND, 0),
                /* 8 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, WORD('/', 'm', 'o', 'd'), 0, 3),
                /* 9 */ BPF_STMT(BPF_LD | BPF_W | BPF_IND, 4),
                /* 10 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, WORD('u', 'l', 'e', '/'), 0, 1),
                /* 11 */ BPF_STMT(BPF_RET | BPF_K, 0xffffffff),
                /* 12 */ BPF_STMT(BPF_RET | BPF_K, 0),
        };
        const struct sock_fprog prog = {
                .len = ELEMENTSOF(program),
                .filter = (struct sock_filter *) program,
        };

        if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0)
                return -errno;
        return 0;
}

/* The value of KEY= among the properties, or NULL. */
static const char *property(const char *p, const char *end, const char *key)
{
        size_t n = strlen(key);

        while (p < end) {
                size_t len = strnlen(p, (size_t) (end - p));

                if (len > n && memcmp(p, key, n) == 0 && p[n] == '=')
                        return p + n + 1;
                p += len + 1;
        }
        return NULL;
}

int uevent_parse_module(
        const void *buf, size_t size, char ret_name[MODULE_NAME_MAX + 1], KernelModuleState *ret)
{
        const char *p = buf, *end = p + size, *subsystem, *devpath, *action, *name;
        KernelModuleState state;
        size_t header;

        /* Every string must end inside the message: the last byte is a NUL. */
        if (size == 0 || p[size - 1] != '\0')
                return -EINVAL;
        header = strlen(p);
        if (!memchr(p, '@', header))
                return -EINVAL; /* Not the kernel's format (libudev's starts "libudev"). */
        p += header + 1;
        subsystem = property(p, end, "SUBSYSTEM");
        devpath = property(p, end, "DEVPATH");
        action = property(p, end, "ACTION");
        if (!subsystem || strcmp(subsystem, "module") != 0 || !devpath ||
                strncmp(devpath, DEVPATH_PREFIX, strlen(DEVPATH_PREFIX)) != 0)
                return -EINVAL;
        name = devpath + strlen(DEVPATH_PREFIX);
        if (modname_validate(name, NULL) < 0 || uevent_action_to_state(action, &state) < 0)
                return -EINVAL;
        strcpy(ret_name, name);
        *ret = state;
        return 0;
}
