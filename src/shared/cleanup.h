/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cleanup.h — scope-bound ownership: _cleanup_(f) runs f(&var) when var leaves scope.
 * TAKE_PTR()/TAKE_FD() hand ownership on and leave the variable empty. */
#pragma once

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _fallthrough_ __attribute__((fallthrough))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _noreturn_ __attribute__((noreturn))
#define _likely_(x) __builtin_expect(!!(x), 1)
#define _unlikely_(x) __builtin_expect(!!(x), 0)

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

#define TAKE_PTR(p)                                                                                \
        ({                                                                                         \
                __typeof__(p) _p = (p);                                                            \
                (p) = NULL;                                                                        \
                _p;                                                                                \
        })

#define TAKE_FD(fd)                                                                                \
        ({                                                                                         \
                int _fd = (fd);                                                                    \
                (fd) = -EBADF;                                                                     \
                _fd;                                                                               \
        })

/* Defines fp(&p) that calls f(p) when p is not NULL, for use with _cleanup_(). `type` is a type
 * name, which cannot be parenthesised. NOLINTBEGIN(bugprone-macro-parentheses) */
#define DEFINE_POINTER_CLEANUP_FUNC(type, f)                                                       \
        static inline void f##p(type **p)                                                          \
        {                                                                                          \
                if (*p)                                                                            \
                        f(*p);                                                                     \
        }
/* NOLINTEND(bugprone-macro-parentheses) */

static inline void *mfree(void *p)
{
        free(p);
        return NULL;
}

static inline void freep(void *p)
{
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline int close_nointr(int fd)
{
        /* Never retry close() on EINTR: on Linux the fd is gone either way. */
        return close(fd) < 0 ? -errno : 0;
}

static inline int safe_close(int fd)
{
        if (fd >= 0) {
                int saved = errno;
                (void) close_nointr(fd);
                errno = saved;
        }
        return -EBADF;
}

static inline void closep(int *fd)
{
        *fd = safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

/* A NULL-terminated array of owned strings. */
static inline char **strv_free(char **l)
{
        if (l) {
                for (char **i = l; *i; i++)
                        free(*i);
                free(l);
        }
        return NULL;
}

static inline void strv_freep(char ***l)
{
        *l = strv_free(*l);
}
#define _cleanup_strv_free_ _cleanup_(strv_freep)

static inline size_t strv_length(char *const *l)
{
        size_t n = 0;
        while (l && l[n])
                n++;
        return n;
}
