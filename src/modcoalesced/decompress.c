/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* decompress.c — see decompress.h. What a file is, and the dispatch to its codec. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "decompress-xz.h"
#include "decompress-zstd.h"
#include "decompress.h"

Compression compression_from_magic(const void *buf, size_t n)
{
        static const uint8_t xz[] = { 0xfd, '7', 'z', 'X', 'Z', 0x00 };
        static const uint8_t zstd[] = { 0x28, 0xb5, 0x2f, 0xfd };
        static const uint8_t gzip[] = { 0x1f, 0x8b };

        if (n >= sizeof(xz) && memcmp(buf, xz, sizeof(xz)) == 0)
                return COMPRESSION_XZ;
        if (n >= sizeof(zstd) && memcmp(buf, zstd, sizeof(zstd)) == 0)
                return COMPRESSION_ZSTD;
        if (n >= sizeof(gzip) && memcmp(buf, gzip, sizeof(gzip)) == 0)
                return COMPRESSION_GZIP;
        return COMPRESSION_NONE;
}

int decompress(Compression c, const void *in, size_t in_size, size_t max_out, void **ret_out,
        size_t *ret_out_size)
{
        switch (c) {
        case COMPRESSION_XZ:
                return decompress_xz(in, in_size, max_out, ret_out, ret_out_size);
        case COMPRESSION_ZSTD:
                return decompress_zstd(in, in_size, max_out, ret_out, ret_out_size);
        case COMPRESSION_GZIP:
                /* No zlib support yet. The same answer as for a codec left out of the build, so
                 * callers handle both alike (e.g. by letting the kernel decompress the file). */
                return -EOPNOTSUPP;
        default:
                /* Plain modules are handed to the kernel as they are, never copied through here. */
                return -EINVAL;
        }
}
