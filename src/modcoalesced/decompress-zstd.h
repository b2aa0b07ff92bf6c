/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* decompress-zstd.h — .ko.zst with libzstd: concatenated frames, with or without a recorded
 * content size, bounded window. Contract as decompress() in decompress.h; without libzstd,
 * -EOPNOTSUPP. */
#pragma once

#include <errno.h>
#include <stddef.h>

#if HAVE_ZSTD
int decompress_zstd(
        const void *in, size_t in_size, size_t max_out, void **ret_out, size_t *ret_out_size);
#else
static inline int decompress_zstd(
        const void *in, size_t in_size, size_t max_out, void **ret_out, size_t *ret_out_size)
{
        return -EOPNOTSUPP;
}
#endif
