/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* decompress-xz.c — liblzma's streaming decoder over the whole file at once. The decoder's own
 * memory is capped (the dictionary size comes from the file) and the output goes through
 * decompress_buffer_grow(), so neither side of a hostile file can take more than its bound. */
#include <assert.h>
#include <lzma.h>
#include <stdint.h>

#include "decompress-buffer.h"
#include "decompress-xz.h"
#include "log.h"

/* Every xz preset decodes within this (xz -9 needs 65 MiB; the kernel's own settings, a 1 MiB
 * dictionary, about 2 MiB), while a header asking for a 4 GiB dictionary is refused before
 * liblzma allocates anything. */
#define DECOMPRESS_XZ_MEMLIMIT_BYTES ((uint64_t) 128 << 20)

static int xz_error(lzma_ret lr)
{
        if (lr == LZMA_MEM_ERROR)
                return -ENOMEM;
        /* Format, options, check, memory-limit and buffer errors (the last one: input ended
         * early) are all about the file. */
        return log_debug_errno(EBADMSG, "xz: cannot decompress (liblzma error %d).", (int) lr);
}

int decompress_xz(
        const void *in, size_t in_size, size_t max_out, void **ret_out, size_t *ret_out_size)
{
        _cleanup_(lzma_end) lzma_stream s = LZMA_STREAM_INIT;
        _cleanup_free_ void *buf = NULL;
        size_t allocated = 0;
        lzma_ret lr;
        int r;

        assert(in || in_size == 0);
        assert(ret_out);
        assert(ret_out_size);

        if (in_size == 0)
                return log_debug_errno(EBADMSG, "xz: empty input.");

        /* LZMA_CONCATENATED: xz(1) accepts several streams one after another, so do we. */
        lr = lzma_stream_decoder(&s, DECOMPRESS_XZ_MEMLIMIT_BYTES, LZMA_CONCATENATED);
        if (lr != LZMA_OK)
                return lr == LZMA_MEM_ERROR ? -ENOMEM : -EINVAL;

        s.next_in = in;
        s.avail_in = in_size;
        for (;;) {
                if (s.avail_out == 0) {
                        r = decompress_buffer_grow(&buf, &allocated, in_size, max_out);
                        if (r < 0)
                                return log_debug_errno(
                                        r, "xz: output beyond %zu bytes: %m", max_out);
                        s.next_out = (uint8_t *) buf + s.total_out;
                        s.avail_out = allocated - s.total_out;
                }

                /* All input is there: LZMA_FINISH makes a truncated file an error rather than
                 * a request for more. */
                lr = lzma_code(&s, LZMA_FINISH);
                if (lr == LZMA_STREAM_END)
                        break;
                if (lr != LZMA_OK)
                        return xz_error(lr);
        }

        if (s.total_out > max_out)
                return log_debug_errno(EFBIG, "xz: output larger than %zu bytes.", max_out);

        *ret_out = TAKE_PTR(buf);
        *ret_out_size = s.total_out;
        return 0;
}
