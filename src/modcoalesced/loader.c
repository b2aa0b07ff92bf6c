/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* loader.c — see loader.h. One mutex guards the queue and the done list; a worker holds it only
 * to take a job or hand one back, never across a read, a decompression or a kernel call. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "decompress.h"
#include "install-command.h"
#include "loader.h"
#include "log.h"
#include "xz-kernel.h"

#define WORKERS_MAX 64u
#define WORKER_STACK_SIZE ((size_t) 512 << 10)
/* Transient EINTR/EAGAIN from an open or a read are retried this often before giving up. */
#define READ_RETRIES_MAX 16

static const char *const stage_names[_LOAD_STAGE_MAX] = {
        [LOAD_STAGE_WAITING_DEPS] = "waiting-deps",
        [LOAD_STAGE_QUEUED] = "queued",
        [LOAD_STAGE_READING] = "reading",
        [LOAD_STAGE_DECOMPRESSING] = "decompressing",
        [LOAD_STAGE_LOADING] = "loading",
        [LOAD_STAGE_INSTALL] = "install-command",
};

static const char *const method_names[_LOAD_METHOD_MAX] = {
        [LOAD_METHOD_NONE] = "none",
        [LOAD_METHOD_FINIT] = "finit_module",
        [LOAD_METHOD_FINIT_COMPRESSED] = "finit_module-compressed",
        [LOAD_METHOD_INIT] = "init_module",
        [LOAD_METHOD_INSTALL] = "install-command",
};

const char *load_stage_to_string(LoadStage s)
{
        return s >= 0 && s < _LOAD_STAGE_MAX ? stage_names[s] : NULL;
}

const char *load_method_to_string(LoadMethod m)
{
        return m >= 0 && m < _LOAD_METHOD_MAX ? method_names[m] : NULL;
}

int load_job_new(LoadJob **ret, const char *name, const char *path, const char *params,
        const char *install_command)
{
        _cleanup_(load_job_freep) LoadJob *j = NULL;

        j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        j->name = strdup(name);
        j->path = strdup(path ?: "");
        j->params = strdup(params ?: "");
        if (install_command)
                j->install_command = strdup(install_command);
        if (!j->name || !j->path || !j->params || (install_command && !j->install_command))
                return -ENOMEM;
        j->decompress_max = DECOMPRESS_MAX_DEFAULT;
        atomic_init(&j->stage, LOAD_STAGE_QUEUED);
        *ret = TAKE_PTR(j);
        return 0;
}

LoadJob *load_job_free(LoadJob *j)
{
        if (!j)
                return NULL;
        free(j->name);
        free(j->path);
        free(j->params);
        free(j->install_command);
        free(j);
        return NULL;
}

static void job_set_stage(LoadJob *j, LoadStage s)
{
        atomic_store(&j->stage, s);
}

/* Reads up to n bytes at offset, through short reads (network file systems return them) and a
 * bounded number of transient EINTR/EAGAIN; fewer than n bytes only at the end of the file. */
static ssize_t read_at(LoadJob *j, Kernel *k, int fd, void *buf, size_t n, off_t offset)
{
        unsigned retries = 0;
        size_t done = 0;

        while (done < n) {
                ssize_t r =
                        kernel_pread(k, fd, (char *) buf + done, n - done, offset + (off_t) done);

                if (r == -EINTR || r == -EAGAIN) {
                        if (++retries > READ_RETRIES_MAX)
                                return r;
                        continue;
                }
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                done += (size_t) r;
                j->bytes_read += (uint64_t) r;
        }
        return (ssize_t) done;
}

/* Reads the whole file (at most max bytes) through the kernel boundary; st is the open file's,
 * taken once by load_file(). */
static int read_file(
        LoadJob *j, Kernel *k, int fd, const struct stat *st, void **ret, size_t *ret_size)
{
        _cleanup_free_ void *buf = NULL;
        size_t size;
        ssize_t n;

        if (!S_ISREG(st->st_mode))
                return -EBADF;
        if ((uint64_t) st->st_size > j->decompress_max)
                return -EFBIG;
        size = (size_t) st->st_size;
        buf = malloc(size ?: 1);
        if (!buf)
                return -ENOMEM;
        n = read_at(j, k, fd, buf, size, 0);
        if (n < 0)
                return (int) n;
        if ((size_t) n < size)
                return -EIO; /* The file shrank under us. */
        *ret = TAKE_PTR(buf);
        *ret_size = size;
        return 0;
}

/* Decompresses in userspace (if needed) and hands the image to init_module(). */
static int load_from_buffer(LoadJob *j, Kernel *k, int fd, const struct stat *st, Compression c)
{
        _cleanup_free_ void *file = NULL, *image = NULL;
        size_t file_size = 0, image_size = 0;
        int r;

        job_set_stage(j, LOAD_STAGE_READING);
        r = read_file(j, k, fd, st, &file, &file_size);
        if (r < 0)
                return r;
        if (c != COMPRESSION_NONE) {
                job_set_stage(j, LOAD_STAGE_DECOMPRESSING);
                r = decompress(c, file, file_size, j->decompress_max, &image, &image_size);
                if (r < 0)
                        return r;
                j->bytes_decompressed = image_size;
                file = mfree(file);
        } else {
                image = TAKE_PTR(file);
                image_size = file_size;
        }
        job_set_stage(j, LOAD_STAGE_LOADING);
        j->method = LOAD_METHOD_INIT;
        return kernel_init_module(k, j->name, image, image_size, j->params);
}

/* xz_kernel_decodable() on the file's headers; < 0 when they cannot be read or judged. */
static int xz_file_kernel_decodable(LoadJob *j, Kernel *k, int fd)
{
        uint8_t headers[XZ_KERNEL_HEADERS_MAX];
        ssize_t n;

        n = read_at(j, k, fd, headers, sizeof(headers), 0);
        if (n < 0)
                return (int) n;
        return xz_kernel_decodable(headers, (size_t) n);
}

static int load_file(LoadJob *j, Kernel *k)
{
        _cleanup_close_ int fd = -EBADF;
        unsigned char magic[8];
        struct stat st;
        Compression c;
        ssize_t n;
        int r;

        job_set_stage(j, LOAD_STAGE_READING);
        for (unsigned retries = 0;; retries++) {
                r = kernel_open_module(k, j->path, &fd);
                if ((r != -EINTR && r != -EAGAIN) || retries >= READ_RETRIES_MAX)
                        break;
        }
        if (r < 0)
                return r;
        if (fstat(fd, &st) < 0)
                return -errno;
        j->file_size = (uint64_t) st.st_size;

        /* The file's first bytes decide, not its name; all of them, however the reads come. */
        n = read_at(j, k, fd, magic, sizeof(magic), 0);
        if (n < 0)
                return (int) n;
        c = compression_from_magic(magic, (size_t) n);

        job_set_stage(j, LOAD_STAGE_LOADING);
        if (c == COMPRESSION_NONE) {
                j->method = LOAD_METHOD_FINIT;
                r = kernel_finit_module(k, j->name, fd, j->params, 0);
                if (r != -ENOSYS)
                        return r;
        } else if (c == j->kernel_compression) {
                /* An xz file that the kernel's decoder would refuse is decompressed here at
                 * once; from one it decodes, an EINVAL is the module's own answer. */
                int decodable = c == COMPRESSION_XZ ? xz_file_kernel_decodable(j, k, fd) : 1;

                if (decodable != 0) {
                        j->method = LOAD_METHOD_FINIT_COMPRESSED;
                        r = kernel_finit_module(
                                k, j->name, fd, j->params, MODULE_INIT_COMPRESSED_FILE);
                        /* ENOSYS: no in-kernel decompression after all. EINVAL from a file
                         * whose headers could not be judged: the decoder's, most likely. */
                        if (r != -ENOSYS && !(r == -EINVAL && decodable < 0))
                                return r;
                }
                j->fell_back = true;
        }
        return load_from_buffer(j, k, fd, &st, c);
}

void load_job_run(LoadJob *j, Kernel *k)
{
        int r;

        j->started = now_usec();
        if (j->install_command) {
                job_set_stage(j, LOAD_STAGE_INSTALL);
                j->method = LOAD_METHOD_INSTALL;
                r = install_command_run(j->name, j->install_command, j->params);
        } else
                r = load_file(j, k);
        j->error = r < 0 ? r : 0;
        j->failed_stage = load_job_stage(j);
        j->finished = now_usec();
}

struct Loader {
        sd_event_source *source;
        int efd;
        Kernel *kernel;
        LoaderDoneFunc done;
        void *userdata;

        pthread_mutex_t lock;
        pthread_cond_t wake;
        LIST_HEAD(LoadJob) urgent; /* taken first, by any worker */
        LIST_HEAD(LoadJob) queue; /* taken while fewer than max_threads of them run */
        LIST_HEAD(LoadJob) finished;
        pthread_t threads[WORKERS_MAX + LOADER_URGENT_WORKERS_MAX];
        unsigned n_threads, n_idle, max_threads;
        unsigned n_urgent, n_queued; /* jobs in each list */
        unsigned n_running, n_urgent_running; /* jobs taken from each list, not yet done */
        bool shutdown;
};

/* Called with the lock held: the next job this worker may run, or NULL. */
static LoadJob *loader_take(Loader *l, bool *ret_urgent)
{
        LoadJob *j;

        if ((j = LIST_POP(queue, l->urgent))) {
                l->n_urgent--;
                l->n_urgent_running++;
                *ret_urgent = true;
        } else if (l->n_running < l->max_threads && (j = LIST_POP(queue, l->queue))) {
                l->n_queued--;
                l->n_running++;
                *ret_urgent = false;
        } else
                return NULL;
        j->queued = false;
        return j;
}

static void *worker_main(void *p)
{
        Loader *l = p;
        bool urgent = false;
        LoadJob *j;

        pthread_mutex_lock(&l->lock);
        for (;;) {
                j = NULL;
                while (!l->shutdown && !(j = loader_take(l, &urgent))) {
                        l->n_idle++;
                        pthread_cond_wait(&l->wake, &l->lock);
                        l->n_idle--;
                }
                if (!j)
                        break;
                pthread_mutex_unlock(&l->lock);

                load_job_run(j, l->kernel);

                pthread_mutex_lock(&l->lock);
                if (urgent)
                        l->n_urgent_running--;
                else
                        l->n_running--;
                LIST_APPEND(queue, l->finished, j);
                (void) eventfd_write(l->efd, 1);
        }
        pthread_mutex_unlock(&l->lock);
        return NULL;
}

static int on_finished(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Loader *l = userdata;
        LIST_HEAD(LoadJob) done;
        eventfd_t v;
        LoadJob *j;

        (void) eventfd_read(l->efd, &v);
        pthread_mutex_lock(&l->lock);
        done.head = l->finished.head;
        done.tail = l->finished.tail;
        l->finished.head = l->finished.tail = NULL;
        pthread_mutex_unlock(&l->lock);

        while ((j = LIST_POP(queue, done)))
                l->done(j, l->userdata);
        return 0;
}

static unsigned default_workers(void)
{
        long n = sysconf(_SC_NPROCESSORS_ONLN);

        /* The kernel serialises much of a load; more threads than CPUs only add contention. */
        if (n < 2)
                return 2;
        return n > 16 ? 16 : (unsigned) n;
}

int loader_new(Loader **ret, sd_event *e, Kernel *k, unsigned n_workers, LoaderDoneFunc done,
        void *userdata)
{
        Loader *l;
        int r;

        l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        pthread_mutex_init(&l->lock, NULL);
        pthread_cond_init(&l->wake, NULL);
        l->kernel = k;
        l->done = done;
        l->userdata = userdata;
        l->max_threads = n_workers == 0 ? default_workers() : n_workers;
        if (l->max_threads > WORKERS_MAX)
                l->max_threads = WORKERS_MAX;
        l->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (l->efd < 0) {
                r = -errno;
                loader_free(l);
                return r;
        }
        r = sd_event_add_io(e, &l->source, l->efd, EPOLLIN, on_finished, l);
        if (r < 0) {
                loader_free(l);
                return r;
        }
        (void) sd_event_source_set_description(l->source, "loader-finished");
        *ret = l;
        return 0;
}

Loader *loader_free(Loader *l)
{
        LoadJob *j;

        if (!l)
                return NULL;
        pthread_mutex_lock(&l->lock);
        l->shutdown = true;
        pthread_cond_broadcast(&l->wake);
        pthread_mutex_unlock(&l->lock);
        /* A worker inside finit_module() returns when the module's init does. */
        for (unsigned i = 0; i < l->n_threads; i++)
                pthread_join(l->threads[i], NULL);
        while ((j = LIST_POP(queue, l->urgent)))
                load_job_free(j);
        while ((j = LIST_POP(queue, l->queue)))
                load_job_free(j);
        while ((j = LIST_POP(queue, l->finished)))
                load_job_free(j);
        sd_event_source_disable_unref(l->source);
        safe_close(l->efd);
        pthread_cond_destroy(&l->wake);
        pthread_mutex_destroy(&l->lock);
        free(l);
        return NULL;
}

static int loader_spawn_worker(Loader *l)
{
        sigset_t all, saved;
        pthread_attr_t attr;
        int r;

        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, WORKER_STACK_SIZE);
        /* Workers never take signals: sd-event handles them on the loop thread. */
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &saved);
        r = pthread_create(&l->threads[l->n_threads], &attr, worker_main, l);
        pthread_sigmask(SIG_SETMASK, &saved, NULL);
        pthread_attr_destroy(&attr);
        if (r != 0)
                return -r;
        l->n_threads++;
        return 0;
}

/* Called with the lock held: whether the jobs that may start now outnumber the idle workers,
 * with room for one more thread. An idle worker that was woken but has not taken its job yet
 * still counts as idle. Ordinary jobs may have up to max_threads threads besides those running
 * urgent ones; urgent jobs up to LOADER_URGENT_WORKERS_MAX more. */
static bool loader_needs_worker(const Loader *l)
{
        unsigned room = l->n_running < l->max_threads ? l->max_threads - l->n_running : 0;
        unsigned runnable = l->n_urgent + (l->n_queued < room ? l->n_queued : room);
        unsigned cap = l->max_threads +
                (l->n_urgent > 0 ? LOADER_URGENT_WORKERS_MAX : l->n_urgent_running);

        if (cap > l->max_threads + LOADER_URGENT_WORKERS_MAX)
                cap = l->max_threads + LOADER_URGENT_WORKERS_MAX;
        return runnable > l->n_idle && l->n_threads < cap;
}

/* Called with the lock held, after a job became runnable: a worker for it, if one is needed. */
static int loader_wake(Loader *l)
{
        int r = 0;

        if (loader_needs_worker(l)) {
                r = loader_spawn_worker(l);
                if (r < 0 && l->n_threads > 0)
                        r = 0; /* The existing workers will get to it. */
        }
        pthread_cond_signal(&l->wake);
        return r;
}

int loader_submit(Loader *l, LoadJob *j)
{
        int r;

        j->submitted = now_usec();
        job_set_stage(j, LOAD_STAGE_QUEUED);
        pthread_mutex_lock(&l->lock);
        j->queued = true;
        if (j->urgent) {
                LIST_APPEND(queue, l->urgent, j);
                l->n_urgent++;
        } else {
                LIST_APPEND(queue, l->queue, j);
                l->n_queued++;
        }
        r = loader_wake(l);
        if (r < 0) {
                if (j->urgent) {
                        LIST_REMOVE(queue, l->urgent, j);
                        l->n_urgent--;
                } else {
                        LIST_REMOVE(queue, l->queue, j);
                        l->n_queued--;
                }
                j->queued = false;
        }
        pthread_mutex_unlock(&l->lock);
        return r;
}

void loader_expedite(Loader *l, LoadJob *j)
{
        pthread_mutex_lock(&l->lock);
        if (j->queued && !j->urgent) {
                LIST_REMOVE(queue, l->queue, j);
                l->n_queued--;
                j->urgent = true;
                LIST_APPEND(queue, l->urgent, j);
                l->n_urgent++;
                (void) loader_wake(l);
        }
        pthread_mutex_unlock(&l->lock);
}

unsigned loader_n_workers(const Loader *l)
{
        return l->n_threads;
}

unsigned loader_max_workers(const Loader *l)
{
        return l->max_threads;
}
