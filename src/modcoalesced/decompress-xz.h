/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* decompress-xz.h — .ko.xz with liblzma: concatenated streams, any check, bounded decoder memory.
 * Contract as decompress() in decompress.h; without liblzma, -EOPNOTSUPP. */
#pragma once

#include <errno.h>
#include <stddef.h>

#if HAVE_XZ
int decompress_xz(
        const void *in, size_t in_size, size_t max_out, void **ret_out, size_t *ret_out_size);
#else
static inline int decompress_xz(
        const void *in, size_t in_size, size_t max_out, void **ret_out, size_t *ret_out_size)
{
        return -EOPNOTSUPP;
}
#endif
