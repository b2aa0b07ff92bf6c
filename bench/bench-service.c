/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench-service — request latency and throughput, measured from the client's side:
 *
 *   bench-service varlink SOCKET MODULE CLIENTS SECONDS [brief]
 *                                  Load round trips over the socket (MODULE "-": GetInfo, the
 *                                  floor; brief: Load as the udev helper and the shim send it)
 *   bench-service exec CLIENTS SECONDS CMD [ARG…]          exec-to-exit of a program
 *
 * CLIENTS run at once (threads; each keeps one connection, or runs one program at a time), for
 * SECONDS. Prints one line: clients, requests, requests/s, p50 and p99 in µs. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "time-util.h"
#include "varlink-idl.h"

extern char **environ;

typedef struct Worker {
        pthread_t thread;
        const char *socket;
        char **modules; /* { MODULE, NULL } */
        bool brief;
        char **argv;
        usec_t end;
        uint32_t *lat; /* µs */
        size_t n, allocated;
        int error;
} Worker;

static void record(Worker *w, usec_t t)
{
        if (w->n == w->allocated) {
                w->allocated = w->allocated ? w->allocated * 2 : 4096;
                w->lat = realloc(w->lat, w->allocated * sizeof(uint32_t));
                if (!w->lat)
                        abort();
        }
        w->lat[w->n++] = (uint32_t) t;
}

/* A lean client, so that the two cores go to the daemon rather than to JSON in the clients:
 * the request is written as bytes once, and a reply is read up to varlink's NUL terminator.
 * Any error reply counts as a failure. */
static void *run_varlink(void *p)
{
        Worker *w = p;
        char req[512], buf[65536];
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd, n;

        /* MODULE "-": the library's own GetInfo, the floor of any varlink round trip. */
        if (strcmp(w->modules[0], "-") == 0)
                n = snprintf(req, sizeof(req), "{\"method\":\"org.varlink.service.GetInfo\"}");
        else
                n = snprintf(req, sizeof(req),
                        "{\"method\":\"" MODCOALESCED_INTERFACE
                        ".Load\",\"parameters\":{\"modules\":[\"%s\"]%s}}",
                        w->modules[0], w->brief ? ",\"brief\":true" : "");
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        strncpy(sa.sun_path, w->socket, sizeof(sa.sun_path) - 1);
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                w->error = -errno;
                return NULL;
        }
        while (now_usec() < w->end) {
                usec_t t0 = now_usec();
                size_t got = 0;

                if (write(fd, req, n + 1) != n + 1) {
                        w->error = -errno;
                        break;
                }
                for (;;) {
                        ssize_t r = read(fd, buf + got, sizeof(buf) - got);

                        if (r <= 0) {
                                w->error = r < 0 ? -errno : -ECONNRESET;
                                goto out;
                        }
                        got += (size_t) r;
                        if (buf[got - 1] == '\0')
                                break;
                        if (got == sizeof(buf)) {
                                w->error = -EMSGSIZE;
                                goto out;
                        }
                }
                if (memmem(buf, got, "\"error\"", 7)) {
                        w->error = -EIO;
                        break;
                }
                record(w, now_usec() - t0);
        }
out:
        close(fd);
        return NULL;
}

static void *run_exec(void *p)
{
        Worker *w = p;

        while (now_usec() < w->end) {
                usec_t t0 = now_usec();
                int status;
                pid_t pid;

                if (posix_spawn(&pid, w->argv[0], NULL, NULL, w->argv, environ) != 0 ||
                        waitpid(pid, &status, 0) != pid) {
                        w->error = -errno;
                        break;
                }
                if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                        w->error = -EIO;
                        break;
                }
                record(w, now_usec() - t0);
        }
        return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
        uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
        return x < y ? -1 : x > y;
}

int main(int argc, char *argv[])
{
        bool varlink = argc >= 6 && strcmp(argv[1], "varlink") == 0;
        bool exec = argc >= 5 && strcmp(argv[1], "exec") == 0;
        unsigned clients;
        double seconds;
        Worker *w;
        uint32_t *all;
        size_t n = 0;
        usec_t t0, t1;

        if (!varlink && !exec) {
                fprintf(stderr,
                        "usage: bench-service varlink SOCKET MODULE CLIENTS SECONDS [brief]\n"
                        "       bench-service exec CLIENTS SECONDS CMD [ARG...]\n");
                return 2;
        }
        clients = (unsigned) atoi(varlink ? argv[4] : argv[2]);
        seconds = atof(varlink ? argv[5] : argv[3]);
        if (clients == 0 || clients > 4096 || seconds <= 0)
                return 2;
        w = calloc(clients, sizeof(Worker));
        if (!w)
                return 1;
        static char *modules[2];
        modules[0] = varlink ? argv[3] : NULL;
        t0 = now_usec();
        for (unsigned i = 0; i < clients; i++) {
                w[i].end = t0 + (usec_t) (seconds * USEC_PER_SEC);
                if (varlink) {
                        w[i].socket = argv[2];
                        w[i].modules = modules;
                        w[i].brief = argc > 6 && strcmp(argv[6], "brief") == 0;
                } else
                        w[i].argv = argv + 4;
                if (pthread_create(&w[i].thread, NULL, varlink ? run_varlink : run_exec, &w[i]))
                        return 1;
        }
        for (unsigned i = 0; i < clients; i++) {
                pthread_join(w[i].thread, NULL);
                if (w[i].error < 0) {
                        fprintf(stderr, "bench-service: a client failed: %s\n",
                                strerror(-w[i].error));
                        return 1;
                }
                n += w[i].n;
        }
        t1 = now_usec();
        all = malloc((n ?: 1) * sizeof(uint32_t));
        if (!all)
                return 1;
        n = 0;
        for (unsigned i = 0; i < clients; i++) {
                memcpy(all + n, w[i].lat, w[i].n * sizeof(uint32_t));
                n += w[i].n;
        }
        qsort(all, n, sizeof(uint32_t), cmp_u32);
        printf("clients=%u requests=%zu requests_per_s=%.0f p50_us=%u p99_us=%u\n", clients, n,
                n / ((t1 - t0) / 1e6), n ? all[n / 2] : 0, n ? all[n * 99 / 100] : 0);
        return 0;
}
