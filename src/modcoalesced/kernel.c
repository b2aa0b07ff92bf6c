/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* kernel.c — the real kernel boundary: raw syscalls (glibc wraps neither finit_module nor
 * init_module) and sysfs reads, interpreted as kmod does: /sys/module/NAME without initstate is
 * a module still coming, and an unreadable initstate of an existing module counts as going;
 * except in the scan at start, where such a directory is a built-in module. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kernel.h"
#include "modname.h"

#define SYS_MODULE "/sys/module"

static const char *const state_names[_KERNEL_MODULE_STATE_MAX] = {
        [KERNEL_MODULE_ABSENT] = "absent",
        [KERNEL_MODULE_COMING] = "coming",
        [KERNEL_MODULE_LIVE] = "live",
        [KERNEL_MODULE_GOING] = "going",
};

const char *kernel_module_state_to_string(KernelModuleState s)
{
        return s >= 0 && s < _KERNEL_MODULE_STATE_MAX ? state_names[s] : NULL;
}

static int real_open_module(Kernel *k, const char *path, int *ret_fd)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

        if (fd < 0)
                return -errno;
        *ret_fd = fd;
        return 0;
}

static ssize_t real_pread(Kernel *k, int fd, void *buf, size_t n, off_t offset)
{
        ssize_t r = pread(fd, buf, n, offset);
        return r < 0 ? -errno : r;
}

static int real_finit_module(
        Kernel *k, const char *name, int fd, const char *params, unsigned flags)
{
        return syscall(SYS_finit_module, fd, params, flags) < 0 ? -errno : 0;
}

static int real_init_module(
        Kernel *k, const char *name, const void *image, size_t size, const char *params)
{
        return syscall(SYS_init_module, image, size, params) < 0 ? -errno : 0;
}

/* State of /sys/module/<name> relative to an open /sys/module directory. Returns 1 for a
 * directory without initstate: a module still coming (its attributes follow the directory), or
 * a built-in module with parameters, which has one for good. */
static int state_at(int dirfd, const char *name, KernelModuleState *ret)
{
        char path[MODULE_NAME_MAX + 32], buf[16];
        struct stat st;
        ssize_t n;
        int fd;

        if (modname_validate(name, NULL) < 0)
                return -EINVAL;
        snprintf(path, sizeof(path), "%s/initstate", name);
        fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                /* ENOTDIR: a file such as /sys/module/compression, not a module. */
                if (errno != ENOENT && errno != ENOTDIR)
                        return *ret = KERNEL_MODULE_GOING, 0;
                if (fstatat(dirfd, name, &st, 0) == 0 && S_ISDIR(st.st_mode))
                        return *ret = KERNEL_MODULE_COMING, 1;
                *ret = KERNEL_MODULE_ABSENT;
                return 0;
        }
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
                /* The module is disappearing under us. */
                return *ret = KERNEL_MODULE_GOING, 0;
        buf[n] = '\0';
        if (strncmp(buf, "live", 4) == 0)
                *ret = KERNEL_MODULE_LIVE;
        else if (strncmp(buf, "coming", 6) == 0)
                *ret = KERNEL_MODULE_COMING;
        else
                *ret = KERNEL_MODULE_GOING;
        return 0;
}

int kernel_module_state_in(const char *dir, const char *name, KernelModuleState *ret)
{
        int dirfd, r;

        dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0)
                return -errno;
        r = state_at(dirfd, name, ret);
        close(dirfd);
        return r < 0 ? r : 0;
}

static int real_module_state(Kernel *k, const char *name, KernelModuleState *ret)
{
        return kernel_module_state_in(SYS_MODULE, name, ret);
}

int kernel_scan_modules_in(const char *dir, KernelScanFunc f, void *userdata)
{
        struct dirent *de;
        DIR *d;
        int r = 0, dfd;

        d = opendir(dir);
        if (!d)
                return -errno;
        dfd = dirfd(d);
        if (dfd < 0) {
                r = -errno;
                closedir(d);
                return r;
        }
        while ((de = readdir(d))) {
                KernelModuleState s;

                if (de->d_name[0] == '.')
                        continue;
                /* No initstate: a built-in module, which must not sit in the table as coming.
                 * (Or one whose load began microseconds ago: a load of ours would wait in the
                 * kernel until it is live or gone.) */
                if (state_at(dfd, de->d_name, &s) != 0 || s == KERNEL_MODULE_ABSENT)
                        continue;
                r = f(de->d_name, s, userdata);
                if (r < 0)
                        break;
        }
        closedir(d);
        return r;
}

static int real_scan_modules(Kernel *k, KernelScanFunc f, void *userdata)
{
        return kernel_scan_modules_in(SYS_MODULE, f, userdata);
}

static int real_compression(Kernel *k, Compression *ret)
{
        char buf[32];
        ssize_t n;
        int fd;

        /* Absent when the kernel has no CONFIG_MODULE_DECOMPRESS. */
        fd = open(SYS_MODULE "/compression", O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                if (errno != ENOENT)
                        return -errno;
                return *ret = COMPRESSION_NONE, 0;
        }
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n < 0)
                return -errno;
        buf[n] = '\0';
        *ret = compression_from_string(buf);
        return 0;
}

static const KernelOps real_ops = {
        .open_module = real_open_module,
        .pread = real_pread,
        .finit_module = real_finit_module,
        .init_module = real_init_module,
        .module_state = real_module_state,
        .scan_modules = real_scan_modules,
        .compression = real_compression,
};

Kernel *kernel_real(void)
{
        static Kernel k = { .ops = &real_ops };
        return &k;
}
