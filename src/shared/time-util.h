/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* time-util.h — microsecond timestamps on CLOCK_MONOTONIC, as sd-event uses them. */
#pragma once

#include <stdint.h>
#include <time.h>

typedef uint64_t usec_t;

#define USEC_PER_MSEC ((usec_t) 1000)
#define USEC_PER_SEC ((usec_t) 1000000)
#define USEC_INFINITY ((usec_t) UINT64_MAX)

static inline usec_t now_usec(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / 1000;
}
