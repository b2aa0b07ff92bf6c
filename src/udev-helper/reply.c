/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* reply.c — see reply.h. The reply is looked at with a scanner, not a parser: it walks one JSON
 * object, skipping every value except the top-level "error" string. Depth is bounded, input
 * length is respected, the reply's size is bounded, every wait has a deadline. */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"
#include "reply.h"
#include "time-util.h"
#include "varlink-idl.h"

#define DEPTH_MAX 64
/* Far above any real reply (one entry per module of a plan). */
#define REPLY_MAX ((size_t) 1 << 20)

/* {"method":"…Load","parameters":{HEAD"VALUE, escaped"TAIL} */
static char *format_call(const char *head, const char *value, const char *tail, size_t *ret_size)
{
        static const char prefix[] =
                "{\"method\":\"" MODCOALESCED_INTERFACE ".Load\",\"parameters\":{";
        size_t n = strlen(value);
        char *buf, *p;

        /* Worst case every byte is escaped. */
        buf = p = malloc(sizeof(prefix) + strlen(head) + 2 * n + strlen(tail) + 2);
        if (!buf)
                return NULL;
        p = stpcpy(stpcpy(p, prefix), head);
        for (size_t i = 0; i < n; i++) {
                if (value[i] == '"' || value[i] == '\\')
                        *p++ = '\\';
                *p++ = value[i];
        }
        p = stpcpy(stpcpy(p, tail), "}");
        *ret_size = (size_t) (p - buf) + 1; /* with the NUL */
        return buf;
}

char *reply_format_load(const char *modalias, size_t *ret_size)
{
        return format_call("\"modalias\":\"", modalias, "\",\"brief\":true}", ret_size);
}

char *reply_format_kernel_load(const char *name, size_t *ret_size)
{
        return format_call(
                "\"modules\":[\"", name, "\"],\"fromKernel\":true,\"brief\":true}", ret_size);
}

char *reply_format_kernel_load_again(const char *name, size_t *ret_size)
{
        return format_call("\"modules\":[\"", name,
                "\"],\"fromKernel\":true,\"waitedBefore\":true,\"brief\":true}", ret_size);
}

char *reply_format_unit_load(const char *name, size_t *ret_size)
{
        return format_call(
                "\"modules\":[\"", name, "\"],\"blacklist\":true,\"brief\":true}", ret_size);
}

int reply_connect_timeout(const char *path, unsigned timeout_sec)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct timeval tv = { .tv_sec = timeout_sec };
        _cleanup_close_ int fd = -EBADF;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        /* connect() to a listener whose backlog is full (a daemon that stopped accepting) blocks
         * with no end. A non-blocking one cannot be waited for with poll() on AF_UNIX: it fails
         * with EAGAIN at once. The kernel's unix_stream_connect() waits for room in the backlog
         * for the socket's send timeout, and then fails with EAGAIN: that is the deadline. It
         * stays on the socket and bounds the request's send() too. */
        if (timeout_sec > 0 && setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return -errno;
        return TAKE_FD(fd);
}

int reply_exchange(
        int fd, const char *req, size_t n, unsigned timeout_sec, char **ret, size_t *ret_size)
{
        _cleanup_free_ char *buf = NULL;
        usec_t deadline = now_usec() + timeout_sec * USEC_PER_SEC;
        size_t got = 0, allocated = 0;

        for (size_t done = 0; done < n;) {
                ssize_t w = send(fd, req + done, n - done, MSG_NOSIGNAL);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                done += (size_t) w;
        }
        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                usec_t now = now_usec();
                ssize_t r;
                char *nul;

                if (now >= deadline)
                        return -ETIMEDOUT;
                r = poll(&p, 1, (int) ((deadline - now) / USEC_PER_MSEC) + 1);
                if (r < 0 && errno != EINTR)
                        return -errno;
                if (r <= 0)
                        continue;
                if (got == allocated) {
                        char *b;

                        if (allocated >= REPLY_MAX)
                                return -EMSGSIZE;
                        allocated = allocated ? allocated * 2 : 4096;
                        b = realloc(buf, allocated);
                        if (!b)
                                return -ENOMEM;
                        buf = b;
                }
                r = read(fd, buf + got, allocated - got);
                if (r < 0) {
                        if (errno == EINTR || errno == EAGAIN)
                                continue;
                        return -errno;
                }
                if (r == 0)
                        return -ECONNRESET;
                nul = memchr(buf + got, '\0', (size_t) r);
                got += (size_t) r;
                if (nul) {
                        *ret_size = (size_t) (nul - buf);
                        *ret = TAKE_PTR(buf);
                        return 0;
                }
        }
}

typedef struct Scan {
        const char *s;
        size_t n, i;
} Scan;

static void skip_ws(Scan *sc)
{
        while (sc->i < sc->n && strchr(" \t\r\n", sc->s[sc->i]))
                sc->i++;
}

/* A string at sc->i: its raw contents (escapes untouched) in [*start, *end). */
static int scan_string(Scan *sc, size_t *start, size_t *end)
{
        if (sc->i >= sc->n || sc->s[sc->i] != '"')
                return -EBADMSG;
        *start = ++sc->i;
        while (sc->i < sc->n && sc->s[sc->i] != '"') {
                if (sc->s[sc->i] == '\\')
                        sc->i++;
                sc->i++;
        }
        if (sc->i >= sc->n)
                return -EBADMSG;
        *end = sc->i++;
        return 0;
}

/* Skips any value: strings, and containers by depth; literals and numbers up to a delimiter. */
static int skip_value(Scan *sc)
{
        unsigned depth = 0;
        size_t a, b, start;

        skip_ws(sc);
        start = sc->i;
        do {
                if (sc->i >= sc->n)
                        return -EBADMSG;
                switch (sc->s[sc->i]) {
                case '"':
                        if (scan_string(sc, &a, &b) < 0)
                                return -EBADMSG;
                        continue;
                case '{':
                case '[':
                        if (++depth > DEPTH_MAX)
                                return -EBADMSG;
                        break;
                case '}':
                case ']':
                        if (depth == 0) /* the end of the enclosing object */
                                return sc->i > start ? 0 : -EBADMSG;
                        depth--;
                        break;
                case ',':
                        if (depth == 0)
                                return sc->i > start ? 0 : -EBADMSG;
                        break;
                default:
                        break;
                }
                sc->i++;
        } while (depth > 0 || (sc->i < sc->n && !strchr(",}] \t\r\n", sc->s[sc->i])));
        return 0;
}

int reply_error_id(const char *json, size_t n, char *ret, size_t size)
{
        Scan sc = { .s = json, .n = n };
        bool found = false;
        size_t a, b;

        skip_ws(&sc);
        if (sc.i >= n || json[sc.i++] != '{')
                return -EBADMSG;
        skip_ws(&sc);
        while (!(sc.i < n && json[sc.i] == '}')) {
                bool is_error;

                skip_ws(&sc);
                if (scan_string(&sc, &a, &b) < 0)
                        return -EBADMSG;
                is_error = b - a == 5 && memcmp(json + a, "error", 5) == 0;
                skip_ws(&sc);
                if (sc.i >= n || json[sc.i++] != ':')
                        return -EBADMSG;
                skip_ws(&sc);
                if (is_error) {
                        if (scan_string(&sc, &a, &b) < 0 || memchr(json + a, '\\', b - a) ||
                                b - a >= size)
                                return -EBADMSG;
                        memcpy(ret, json + a, b - a);
                        ret[b - a] = '\0';
                        found = true;
                } else if (skip_value(&sc) < 0)
                        return -EBADMSG;
                skip_ws(&sc);
                if (sc.i >= n)
                        return -EBADMSG;
                if (json[sc.i] == '}')
                        break;
                if (json[sc.i++] != ',')
                        return -EBADMSG;
                skip_ws(&sc);
                if (sc.i < n && json[sc.i] == '}')
                        return -EBADMSG; /* a trailing comma */
        }
        sc.i++;
        skip_ws(&sc);
        return sc.i == n ? found : -EBADMSG;
}
