/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* kernel-modprobe.c — claiming and giving back kernel.modprobe. The shim is named there only by
 * the unit that runs it (modcoalesced-kernel-modprobe.service), never by a sysctl.d drop-in:
 * initrd generators copy drop-ins without the programs they name, and a kernel.modprobe that
 * names a missing program fails every request_module() of the initrd. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "kernel-modprobe.h"

#define SHIM_NAME "modcoalesced-modprobe"

/* What the kernel itself uses or a distribution sets: the real modprobe, wherever it lives. */
static bool is_stock(const char *value)
{
        static const char *const stock[] = {
                "/sbin/modprobe",
                "/usr/sbin/modprobe",
                "/bin/modprobe",
                "/usr/bin/modprobe",
        };

        for (size_t i = 0; i < ELEMENTSOF(stock); i++)
                if (strcmp(value, stock[i]) == 0)
                        return true;
        return false;
}

bool kernel_modprobe_is_shim(const char *value)
{
        const char *base = strrchr(value, '/');

        return strcmp(base ? base + 1 : value, SHIM_NAME) == 0;
}

int kernel_modprobe_read(const char *sysctl_path, char *buf, size_t size)
{
        _cleanup_close_ int fd = -EBADF;
        ssize_t n;

        if (size == 0)
                return -EINVAL;
        fd = open(sysctl_path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        n = read(fd, buf, size - 1);
        if (n < 0)
                return -errno;
        buf[n] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        return 0;
}

static int write_value(const char *path, const char *value)
{
        _cleanup_close_ int fd = -EBADF;
        size_t len = strlen(value);
        ssize_t n;

        /* O_TRUNC for the tests' regular file; /proc/sys takes the whole value in one write. */
        fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        n = write(fd, value, len);
        if (n < 0)
                return -errno;
        if ((size_t) n != len)
                return -EIO;
        return 0;
}

int kernel_modprobe_claim(const char *sysctl_path, const char *shim)
{
        char cur[4096];
        int r;

        if (shim[0] != '/')
                return -EINVAL;
        /* Never name a program that is not there to run. */
        if (access(shim, X_OK) < 0)
                return -errno;
        r = kernel_modprobe_read(sysctl_path, cur, sizeof(cur));
        if (r < 0)
                return r;
        if (kernel_modprobe_is_shim(cur))
                return 2;
        if (!is_stock(cur))
                return 0;
        r = write_value(sysctl_path, shim);
        return r < 0 ? r : 1;
}

int kernel_modprobe_release(const char *sysctl_path)
{
        char cur[4096];
        int r;

        r = kernel_modprobe_read(sysctl_path, cur, sizeof(cur));
        if (r < 0)
                return r;
        if (!kernel_modprobe_is_shim(cur))
                return 0;
        r = write_value(sysctl_path, KERNEL_MODPROBE_STOCK);
        return r < 0 ? r : 1;
}
