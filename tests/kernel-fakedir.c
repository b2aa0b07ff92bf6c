/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* kernel-fakedir.c — see kernel-fakedir.h. Each log line is one O_APPEND write, so lines from
 * several processes never interleave. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "kernel-fakedir.h"
#include "modname.h"

typedef struct FakeDir {
        Kernel kernel;
        char *dir;
} FakeDir;

static const char *dir_of(Kernel *k)
{
        return ((FakeDir *) k->userdata)->dir;
}

static void fakedir_log(Kernel *k, const char *what, const char *name)
{
        char path[4096], line[128];
        int fd, n;

        snprintf(path, sizeof(path), "%s/calls", dir_of(k));
        n = snprintf(line, sizeof(line), "%s %s\n", what, name);
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
                return;
        (void) !write(fd, line, n);
        close(fd);
}

static bool fakedir_exists(Kernel *k, const char *sub, const char *name)
{
        char path[4096];

        snprintf(path, sizeof(path), "%s/%s/%s", dir_of(k), sub, name);
        return access(path, F_OK) == 0;
}

/* Marks NAME coming (its init runs) or not, as /sys/module/NAME/initstate would. */
static void fakedir_set_coming(Kernel *k, const char *name, bool coming)
{
        char path[4096];
        int fd;

        snprintf(path, sizeof(path), "%s/coming/%s", dir_of(k), name);
        if (!coming) {
                (void) unlink(path);
                return;
        }
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd >= 0)
                close(fd);
}

/* The number DIR/SUB/NAME holds (0 if none or not a number), or -ENOENT without that file. */
static int fakedir_number(Kernel *k, const char *sub, const char *name)
{
        char path[4096], buf[16];
        ssize_t n;
        int fd;

        snprintf(path, sizeof(path), "%s/%s/%s", dir_of(k), sub, name);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -ENOENT;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        buf[n > 0 ? n : 0] = '\0';
        return atoi(buf) > 0 ? atoi(buf) : 0;
}

static int fakedir_run_init(Kernel *k, const char *name)
{
        char path[4096];
        int fd, v;

        while (fakedir_exists(k, "hold", name))
                usleep(5000);
        v = fakedir_number(k, "delay", name);
        if (v > 0)
                usleep((useconds_t) v * 1000);
        v = fakedir_number(k, "fail", name);
        if (v >= 0)
                return -(v > 0 ? v : EINVAL);
        snprintf(path, sizeof(path), "%s/live/%s", dir_of(k), name);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0) {
                fakedir_log(k, "eexist", name);
                return -EEXIST;
        }
        close(fd);
        fakedir_log(k, "loaded", name);
        return 0;
}

static int fakedir_load(Kernel *k, const char *name)
{
        int r;

        if (fakedir_exists(k, "live", name)) {
                fakedir_log(k, "eexist", name);
                return -EEXIST;
        }
        fakedir_log(k, "load", name);
        fakedir_set_coming(k, name, true);
        r = fakedir_run_init(k, name);
        fakedir_set_coming(k, name, false);
        return r;
}

/* Files are real: the running kernel's boundary opens and reads them. */
static int fakedir_open_module(Kernel *k, const char *path, int *ret_fd)
{
        return kernel_open_module(kernel_real(), path, ret_fd);
}

static ssize_t fakedir_pread(Kernel *k, int fd, void *buf, size_t n, off_t offset)
{
        return kernel_pread(kernel_real(), fd, buf, n, offset);
}

static int fakedir_finit_module(
        Kernel *k, const char *name, int fd, const char *params, unsigned flags)
{
        fakedir_log(k, "finit", name);
        return fakedir_load(k, name);
}

static int fakedir_init_module(
        Kernel *k, const char *name, const void *image, size_t size, const char *params)
{
        fakedir_log(k, "init", name);
        if (size < 4 || memcmp(image, "\177ELF", 4) != 0)
                return -ENOEXEC;
        return fakedir_load(k, name);
}

static int fakedir_module_state(Kernel *k, const char *name, KernelModuleState *ret)
{
        if (modname_validate(name, NULL) < 0)
                return -EINVAL;
        if (fakedir_exists(k, "live", name))
                *ret = KERNEL_MODULE_LIVE;
        else if (fakedir_exists(k, "coming", name))
                *ret = KERNEL_MODULE_COMING;
        else
                *ret = KERNEL_MODULE_ABSENT;
        return 0;
}

static int fakedir_scan_modules(Kernel *k, KernelScanFunc f, void *userdata)
{
        char path[4096];
        struct dirent *de;
        DIR *d;
        int r = 0;

        snprintf(path, sizeof(path), "%s/live", dir_of(k));
        d = opendir(path);
        if (!d)
                return -errno;
        while ((de = readdir(d)) && r >= 0)
                if (de->d_name[0] != '.')
                        r = f(de->d_name, KERNEL_MODULE_LIVE, userdata);
        closedir(d);
        return r < 0 ? r : 0;
}

static int fakedir_compression(Kernel *k, Compression *ret)
{
        char path[4096], buf[16] = "";
        FILE *f;

        snprintf(path, sizeof(path), "%s/compression", dir_of(k));
        f = fopen(path, "re");
        if (f) {
                if (!fgets(buf, sizeof(buf), f))
                        buf[0] = '\0';
                fclose(f);
        }
        *ret = compression_from_string(buf);
        return 0;
}

static const KernelOps fakedir_ops = {
        .open_module = fakedir_open_module,
        .pread = fakedir_pread,
        .finit_module = fakedir_finit_module,
        .init_module = fakedir_init_module,
        .module_state = fakedir_module_state,
        .scan_modules = fakedir_scan_modules,
        .compression = fakedir_compression,
};

Kernel *kernel_fakedir_new(const char *dir)
{
        static const char *const subs[] = { "live", "hold", "fail", "coming", "delay" };
        FakeDir *f = calloc(1, sizeof(*f));
        char path[4096];

        if (!f || !(f->dir = strdup(dir))) {
                free(f);
                return NULL;
        }
        for (size_t i = 0; i < ELEMENTSOF(subs); i++) {
                snprintf(path, sizeof(path), "%s/%s", dir, subs[i]);
                (void) mkdir(path, 0755);
        }
        f->kernel.ops = &fakedir_ops;
        f->kernel.userdata = f;
        return &f->kernel;
}

Kernel *kernel_fakedir_free(Kernel *k)
{
        FakeDir *f;

        if (!k)
                return NULL;
        f = k->userdata;
        free(f->dir);
        free(f);
        return NULL;
}
