/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* xz-kernel.c — see xz-kernel.h. liblzma decodes the headers; the rules are those of the kernel's
 * lib/xz as kernel/module/decompress.c builds it: XZ_DYNALLOC without a dictionary limit, no
 * XZ_DEC_ANY_CHECK (so only "none" and CRC32 are checked; CRC64 is not counted on, although some
 * builds have it), and a block may put one BCJ filter, the architecture's own, in front of
 * LZMA2. Whatever is unsure counts as "cannot": then the file is decompressed here, which costs
 * some userspace work but never a second load of the module. */
#include <assert.h>
#include <errno.h>
#include <lzma.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "xz-kernel.h"

static bool bcj_decodable(const lzma_filter *f)
{
#if defined(__x86_64__) || defined(__i386__)
        const lzma_options_bcj *o = f->options;

        /* lib/xz takes BCJ filters without properties only: no start offset. */
        return f->id == LZMA_FILTER_X86 && (!o || o->start_offset == 0);
#else
        (void) f;
        return false;
#endif
}

static bool chain_decodable(const lzma_filter *filters)
{
        size_t n = 0;

        while (filters[n].id != LZMA_VLI_UNKNOWN)
                n++;
        if (n == 1)
                return filters[0].id == LZMA_FILTER_LZMA2;
        if (n == 2)
                return bcj_decodable(&filters[0]) && filters[1].id == LZMA_FILTER_LZMA2;
        return false;
}

int xz_kernel_decodable(const void *buf, size_t size)
{
        lzma_filter filters[LZMA_FILTERS_MAX + 1];
        const uint8_t *p = buf;
        lzma_stream_flags flags;
        lzma_block block = {};
        bool ok;

        assert(buf || size == 0);

        if (size < LZMA_STREAM_HEADER_SIZE + 1 || lzma_stream_header_decode(&flags, p) != LZMA_OK)
                return -EBADMSG;
        if (flags.check != LZMA_CHECK_NONE && flags.check != LZMA_CHECK_CRC32)
                return 0;
        /* 0x00 where a block header would start is the index: a stream without data. */
        if (p[LZMA_STREAM_HEADER_SIZE] == 0x00)
                return -EBADMSG;
        block.version = 0;
        block.check = flags.check;
        block.filters = filters;
        block.header_size = lzma_block_header_size_decode(p[LZMA_STREAM_HEADER_SIZE]);
        if (size < LZMA_STREAM_HEADER_SIZE + block.header_size ||
                lzma_block_header_decode(&block, NULL, p + LZMA_STREAM_HEADER_SIZE) != LZMA_OK)
                return -EBADMSG;
        ok = chain_decodable(filters);
        for (size_t i = 0; filters[i].id != LZMA_VLI_UNKNOWN; i++)
                free(filters[i].options);
        return ok;
}
