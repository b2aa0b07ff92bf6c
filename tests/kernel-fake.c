/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* kernel-fake.c — see kernel-fake.h. It keeps the kernel's rules that the engine relies on: a
 * live module answers EEXIST, a going one EBUSY, an image must be ELF (ENOEXEC otherwise). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel-fake.h"
#include "modname.h"

#define FAKE_MODULES_MAX 128

typedef struct FakeModule {
        char name[MODULE_NAME_MAX + 1];
        KernelModuleState state;
        int result;
        bool hold;
        bool hold_unformed;
        char needs[MODULE_NAME_MAX + 1];
        KernelFakeInitHook init_hook;
        void *init_hook_userdata;
        unsigned blocked;
        unsigned loads;
        uint64_t image_size;
        uint64_t image_hash;
} FakeModule;

typedef struct Fault {
        int error;
        uint32_t times;
        unsigned injected;
} Fault;

struct KernelFake {
        Kernel kernel;
        pthread_mutex_t lock;
        pthread_cond_t changed;
        Compression compression;
        int compressed_error;
        Fault faults[_KERNEL_FAKE_OP_MAX];
        char *opened[KERNEL_FAKE_PATHS_MAX];
        size_t short_reads;
        FakeModule modules[FAKE_MODULES_MAX];
        size_t n_modules;
        unsigned concurrent;
        KernelFakeCounts counts;
};

static KernelFake *fake_of(Kernel *k)
{
        return k->userdata;
}

/* Called with the lock held. */
static FakeModule *fake_module(KernelFake *f, const char *name)
{
        for (size_t i = 0; i < f->n_modules; i++)
                if (strcmp(f->modules[i].name, name) == 0)
                        return &f->modules[i];
        if (f->n_modules >= FAKE_MODULES_MAX || strlen(name) > MODULE_NAME_MAX)
                abort();
        FakeModule *m = &f->modules[f->n_modules++];
        *m = (FakeModule){};
        strcpy(m->name, name);
        return m;
}

/* Called with the lock held: true if a fault of `op` fires now, with its error. */
static bool fault_fire(KernelFake *f, KernelFakeOp op, int *ret_error)
{
        Fault *x = &f->faults[op];

        if (x->times == 0)
                return false;
        if (x->times != KERNEL_FAKE_ALWAYS)
                x->times--;
        x->injected++;
        *ret_error = x->error;
        return true;
}

static int fake_open_module(Kernel *k, const char *path, int *ret_fd)
{
        KernelFake *f = fake_of(k);
        bool fire;
        int fd, error = 0;

        pthread_mutex_lock(&f->lock);
        if (f->counts.opens < KERNEL_FAKE_PATHS_MAX && !(f->opened[f->counts.opens] = strdup(path)))
                abort();
        f->counts.opens++;
        fire = fault_fire(f, KERNEL_FAKE_OPEN, &error);
        pthread_mutex_unlock(&f->lock);
        if (fire)
                return error;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        *ret_fd = fd;
        return 0;
}

static ssize_t fake_pread(Kernel *k, int fd, void *buf, size_t n, off_t offset)
{
        KernelFake *f = fake_of(k);
        bool corrupt = false;
        int error = 0;
        ssize_t r;

        pthread_mutex_lock(&f->lock);
        if (fault_fire(f, KERNEL_FAKE_PREAD, &error)) {
                pthread_mutex_unlock(&f->lock);
                return error;
        }
        /* End of file and corruption hit the reads of the file's body, not of its magic. */
        if (n > 8 && fault_fire(f, KERNEL_FAKE_PREAD_EOF, &error)) {
                pthread_mutex_unlock(&f->lock);
                return 0;
        }
        if (n > 8)
                corrupt = fault_fire(f, KERNEL_FAKE_CORRUPT, &error);
        if (f->short_reads > 0 && n > f->short_reads)
                n = f->short_reads;
        pthread_mutex_unlock(&f->lock);

        r = pread(fd, buf, n, offset);
        if (r < 0)
                return -errno;
        if (corrupt && r > 0)
                ((unsigned char *) buf)[r / 2] ^= 0xff;
        pthread_mutex_lock(&f->lock);
        f->counts.preads++;
        f->counts.bytes_read += (uint64_t) r;
        pthread_mutex_unlock(&f->lock);
        return r;
}

/* The part of a load the kernel does after it has the image: name lookup, init. */
uint64_t kernel_fake_hash(const void *p, size_t n)
{
        const unsigned char *c = p;
        uint64_t h = 0xcbf29ce484222325ULL;

        for (size_t i = 0; i < n; i++)
                h = (h ^ c[i]) * 0x100000001b3ULL;
        return h;
}

/* Called with the lock held, before the module is formed: its symbols from the module it needs,
 * as the kernel's resolve_symbol_wait(): none from an absent or going module (-ENOENT, "Unknown
 * symbol"); a coming one is waited for, at most the kernel's 30 s, until it is live. */
static int fake_resolve(KernelFake *f, FakeModule *m)
{
        usec_t deadline = now_usec() + 30 * USEC_PER_SEC;
        FakeModule *dep;

        if (m->needs[0] == '\0')
                return 0;
        dep = fake_module(f, m->needs);
        while (dep->state == KERNEL_MODULE_COMING && now_usec() < deadline) {
                struct timespec ts;

                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_sec += 1;
                pthread_cond_timedwait(&f->changed, &f->lock, &ts);
                dep = fake_module(f, m->needs);
        }
        if (dep->state == KERNEL_MODULE_LIVE)
                return 0;
        f->counts.unknown_symbols++;
        return dep->state == KERNEL_MODULE_COMING ? -ETIMEDOUT : -ENOENT;
}

/* Called with the lock held: a load of m waits while *held, counted as blocked meanwhile. */
static void fake_block(KernelFake *f, FakeModule *m, const bool *held)
{
        while (*held) {
                m->blocked++;
                pthread_cond_broadcast(&f->changed);
                pthread_cond_wait(&f->changed, &f->lock);
                m->blocked--;
        }
}

static int fake_load(KernelFake *f, const char *name, uint64_t image_size, uint64_t image_hash)
{
        FakeModule *m;
        int r;

        pthread_mutex_lock(&f->lock);
        m = fake_module(f, name);
        if (m->state == KERNEL_MODULE_LIVE) {
                pthread_mutex_unlock(&f->lock);
                return -EEXIST;
        }
        if (m->state == KERNEL_MODULE_GOING) {
                pthread_mutex_unlock(&f->lock);
                return -EBUSY;
        }
        f->counts.loads++;
        m->loads++;
        m->image_size = image_size;
        m->image_hash = image_hash;
        if (++f->concurrent > f->counts.max_concurrent)
                f->counts.max_concurrent = f->concurrent;
        /* Before the module is formed (the kernel decompresses, links, resolves symbols): no
         * state in /sys/module yet. */
        fake_block(f, m, &m->hold_unformed);
        r = fake_resolve(f, m);
        if (r < 0) {
                f->concurrent--;
                pthread_cond_broadcast(&f->changed);
                pthread_mutex_unlock(&f->lock);
                return r;
        }
        m->state = KERNEL_MODULE_COMING;
        fake_block(f, m, &m->hold);
        r = m->result;
        if (m->init_hook) {
                KernelFakeInitHook hook = m->init_hook;
                void *userdata = m->init_hook_userdata;
                int k;

                /* The init runs outside the fake's lock: it may ask the daemon for another
                 * module, whose load comes back into this fake on another thread. */
                pthread_mutex_unlock(&f->lock);
                k = hook(userdata);
                pthread_mutex_lock(&f->lock);
                m = fake_module(f, name);
                if (k != 0)
                        r = k;
        }
        m->state = r == 0 ? KERNEL_MODULE_LIVE : KERNEL_MODULE_ABSENT;
        f->concurrent--;
        pthread_cond_broadcast(&f->changed);
        pthread_mutex_unlock(&f->lock);
        return r;
}

static int fake_finit_module(
        Kernel *k, const char *name, int fd, const char *params, unsigned flags)
{
        KernelFake *f = fake_of(k);
        int injected;
        off_t size;

        pthread_mutex_lock(&f->lock);
        f->counts.finit_calls++;
        if (flags & MODULE_INIT_COMPRESSED_FILE)
                f->counts.finit_compressed_calls++;
        injected = (flags & MODULE_INIT_COMPRESSED_FILE) ? f->compressed_error : 0;
        if (injected == 0 && (flags & MODULE_INIT_COMPRESSED_FILE) &&
                f->compression == COMPRESSION_NONE)
                injected = -EOPNOTSUPP;
        if (injected == 0)
                (void) fault_fire(f, KERNEL_FAKE_FINIT, &injected);
        pthread_mutex_unlock(&f->lock);
        if (injected != 0)
                return injected;
        size = lseek(fd, 0, SEEK_END);
        return fake_load(f, name, size < 0 ? 0 : (uint64_t) size, 0);
}

static int fake_init_module(
        Kernel *k, const char *name, const void *image, size_t size, const char *params)
{
        KernelFake *f = fake_of(k);
        int injected = 0;

        pthread_mutex_lock(&f->lock);
        f->counts.init_calls++;
        (void) fault_fire(f, KERNEL_FAKE_INIT, &injected);
        pthread_mutex_unlock(&f->lock);
        if (injected != 0)
                return injected;
        if (size < 4 || memcmp(image, "\177ELF", 4) != 0)
                return -ENOEXEC;
        return fake_load(f, name, size, kernel_fake_hash(image, size));
}

static int fake_module_state(Kernel *k, const char *name, KernelModuleState *ret)
{
        KernelFake *f = fake_of(k);

        pthread_mutex_lock(&f->lock);
        f->counts.state_reads++;
        *ret = fake_module(f, name)->state;
        pthread_mutex_unlock(&f->lock);
        return 0;
}

static int fake_scan_modules(Kernel *k, KernelScanFunc fn, void *userdata)
{
        KernelFake *f = fake_of(k);
        FakeModule copy[FAKE_MODULES_MAX];
        size_t n;

        pthread_mutex_lock(&f->lock);
        n = f->n_modules;
        memcpy(copy, f->modules, n * sizeof(FakeModule));
        pthread_mutex_unlock(&f->lock);
        for (size_t i = 0; i < n; i++)
                if (copy[i].state != KERNEL_MODULE_ABSENT) {
                        int r = fn(copy[i].name, copy[i].state, userdata);
                        if (r < 0)
                                return r;
                }
        return 0;
}

static int fake_compression(Kernel *k, Compression *ret)
{
        KernelFake *f = fake_of(k);

        pthread_mutex_lock(&f->lock);
        *ret = f->compression;
        pthread_mutex_unlock(&f->lock);
        return 0;
}

static const KernelOps fake_ops = {
        .open_module = fake_open_module,
        .pread = fake_pread,
        .finit_module = fake_finit_module,
        .init_module = fake_init_module,
        .module_state = fake_module_state,
        .scan_modules = fake_scan_modules,
        .compression = fake_compression,
};

int kernel_fake_new(KernelFake **ret)
{
        KernelFake *f = calloc(1, sizeof(*f));

        if (!f)
                return -ENOMEM;
        pthread_mutex_init(&f->lock, NULL);
        pthread_cond_init(&f->changed, NULL);
        f->kernel.ops = &fake_ops;
        f->kernel.userdata = f;
        *ret = f;
        return 0;
}

KernelFake *kernel_fake_free(KernelFake *f)
{
        if (!f)
                return NULL;
        for (size_t i = 0; i < KERNEL_FAKE_PATHS_MAX; i++)
                free(f->opened[i]);
        pthread_cond_destroy(&f->changed);
        pthread_mutex_destroy(&f->lock);
        free(f);
        return NULL;
}

Kernel *kernel_fake_kernel(KernelFake *f)
{
        return &f->kernel;
}

void kernel_fake_set_compression(KernelFake *f, Compression c)
{
        pthread_mutex_lock(&f->lock);
        f->compression = c;
        pthread_mutex_unlock(&f->lock);
}

void kernel_fake_set_compressed_error(KernelFake *f, int error)
{
        pthread_mutex_lock(&f->lock);
        f->compressed_error = error;
        pthread_mutex_unlock(&f->lock);
}

void kernel_fake_set_result(KernelFake *f, const char *name, int error)
{
        pthread_mutex_lock(&f->lock);
        fake_module(f, name)->result = error;
        pthread_mutex_unlock(&f->lock);
}

void kernel_fake_set_state(KernelFake *f, const char *name, KernelModuleState s)
{
        pthread_mutex_lock(&f->lock);
        fake_module(f, name)->state = s;
        pthread_cond_broadcast(&f->changed);
        pthread_mutex_unlock(&f->lock);
}

KernelModuleState kernel_fake_get_state(KernelFake *f, const char *name)
{
        KernelModuleState s;

        pthread_mutex_lock(&f->lock);
        s = fake_module(f, name)->state;
        pthread_mutex_unlock(&f->lock);
        return s;
}

void kernel_fake_set_init_hook(
        KernelFake *f, const char *name, KernelFakeInitHook hook, void *userdata)
{
        pthread_mutex_lock(&f->lock);
        fake_module(f, name)->init_hook = hook;
        fake_module(f, name)->init_hook_userdata = userdata;
        pthread_mutex_unlock(&f->lock);
}

void kernel_fake_hold(KernelFake *f, const char *name)
{
        pthread_mutex_lock(&f->lock);
        fake_module(f, name)->hold = true;
        pthread_mutex_unlock(&f->lock);
}

void kernel_fake_hold_unformed(KernelFake *f, const char *name)
{
        pthread_mutex_lock(&f->lock);
        fake_module(f, name)->hold_unformed = true;
        pthread_mutex_unlock(&f->lock);
}

void kernel_fake_set_needs(KernelFake *f, const char *name, const char *needed)
{
        pthread_mutex_lock(&f->lock);
        snprintf(fake_module(f, name)->needs, sizeof(fake_module(f, name)->needs), "%s",
                needed ?: "");
        pthread_mutex_unlock(&f->lock);
}

void kernel_fake_release(KernelFake *f, const char *name)
{
        pthread_mutex_lock(&f->lock);
        fake_module(f, name)->hold = false;
        fake_module(f, name)->hold_unformed = false;
        pthread_cond_broadcast(&f->changed);
        pthread_mutex_unlock(&f->lock);
}

/* Waits on the fake's condition (never spins: a spinning test thread starves the loader threads
 * under valgrind's serialising scheduler) until the caller's predicate holds or time runs out. */
static bool fake_wait(KernelFake *f, bool (*done)(KernelFake *f, const char *name, unsigned arg),
        const char *name, unsigned arg, usec_t timeout)
{
        usec_t deadline = now_usec() + timeout;
        bool ok;

        pthread_mutex_lock(&f->lock);
        while (!(ok = done(f, name, arg)) && now_usec() < deadline) {
                struct timespec ts;

                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_nsec += 10 * 1000 * 1000;
                if (ts.tv_nsec >= 1000000000) {
                        ts.tv_sec++;
                        ts.tv_nsec -= 1000000000;
                }
                pthread_cond_timedwait(&f->changed, &f->lock, &ts);
        }
        pthread_mutex_unlock(&f->lock);
        return ok;
}

static bool fake_blocked_at_least(KernelFake *f, const char *name, unsigned n)
{
        return fake_module(f, name)->blocked >= n;
}

static bool fake_in_state(KernelFake *f, const char *name, unsigned s)
{
        return fake_module(f, name)->state == (KernelModuleState) s;
}

bool kernel_fake_wait_blocked(KernelFake *f, const char *name, unsigned n, usec_t timeout)
{
        return fake_wait(f, fake_blocked_at_least, name, n, timeout);
}

bool kernel_fake_wait_state(KernelFake *f, const char *name, KernelModuleState s, usec_t timeout)
{
        return fake_wait(f, fake_in_state, name, (unsigned) s, timeout);
}

void kernel_fake_inject(KernelFake *f, KernelFakeOp op, int error, uint32_t times)
{
        pthread_mutex_lock(&f->lock);
        f->faults[op].error = error;
        f->faults[op].times = times;
        pthread_mutex_unlock(&f->lock);
}

unsigned kernel_fake_injected(KernelFake *f, KernelFakeOp op)
{
        unsigned n;

        pthread_mutex_lock(&f->lock);
        n = f->faults[op].injected;
        pthread_mutex_unlock(&f->lock);
        return n;
}

void kernel_fake_set_short_reads(KernelFake *f, size_t n)
{
        pthread_mutex_lock(&f->lock);
        f->short_reads = n;
        pthread_mutex_unlock(&f->lock);
}

const char *kernel_fake_opened(KernelFake *f, size_t i)
{
        const char *p;

        pthread_mutex_lock(&f->lock);
        p = i < KERNEL_FAKE_PATHS_MAX ? f->opened[i] : NULL;
        pthread_mutex_unlock(&f->lock);
        return p;
}

KernelFakeCounts kernel_fake_counts(KernelFake *f)
{
        KernelFakeCounts c;

        pthread_mutex_lock(&f->lock);
        c = f->counts;
        pthread_mutex_unlock(&f->lock);
        return c;
}

unsigned kernel_fake_loads(KernelFake *f, const char *name)
{
        unsigned n;

        pthread_mutex_lock(&f->lock);
        n = fake_module(f, name)->loads;
        pthread_mutex_unlock(&f->lock);
        return n;
}

uint64_t kernel_fake_last_image_size(KernelFake *f, const char *name)
{
        uint64_t n;

        pthread_mutex_lock(&f->lock);
        n = fake_module(f, name)->image_size;
        pthread_mutex_unlock(&f->lock);
        return n;
}

uint64_t kernel_fake_last_image_hash(KernelFake *f, const char *name)
{
        uint64_t h;

        pthread_mutex_lock(&f->lock);
        h = fake_module(f, name)->image_hash;
        pthread_mutex_unlock(&f->lock);
        return h;
}
