/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* decompress-buffer.c — see decompress-buffer.h. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "decompress-buffer.h"

/* Kernel modules compress 3–4×: most outputs fit the first guess or one doubling. */
#define GUESS_RATIO 4
#define GUESS_MIN_BYTES ((size_t) 64 << 10)

int decompress_buffer_grow(void **buf, size_t *allocated, size_t in_size, size_t max_out)
{
        /* One byte past the bound tells "exactly max_out bytes" from "more". */
        size_t limit = max_out < SIZE_MAX ? max_out + 1 : SIZE_MAX, n;
        void *p;

        if (*allocated >= limit)
                return -EFBIG;
        if (*allocated == 0)
                n = in_size > limit / GUESS_RATIO ? limit : in_size * GUESS_RATIO;
        else
                n = *allocated > limit / 2 ? limit : *allocated * 2;
        if (n < GUESS_MIN_BYTES)
                n = GUESS_MIN_BYTES < limit ? GUESS_MIN_BYTES : limit;

        p = realloc(*buf, n);
        if (!p)
                return -ENOMEM;
        *buf = p;
        *allocated = n;
        return 0;
}
