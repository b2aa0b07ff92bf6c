/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* decompress-zstd.c — libzstd's streaming decoder, which needs no content size in the frame
 * header (zstd writing to a pipe records none) and goes on across concatenated frames. The
 * window is capped and the output goes through decompress_buffer_grow(). */
#include <assert.h>
#include <stdint.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "decompress-buffer.h"
#include "decompress-zstd.h"
#include "log.h"

/* A 128 MiB window: libzstd's own default limit, set here so that a library built with another
 * default cannot let a hostile frame header make us allocate up to 2 GiB. zstd --ultra -22 stays
 * within it. */
#define DECOMPRESS_ZSTD_WINDOW_LOG_MAX 27

DEFINE_POINTER_CLEANUP_FUNC(ZSTD_DCtx, ZSTD_freeDCtx);

static int zstd_error(size_t z)
{
        if (ZSTD_getErrorCode(z) == ZSTD_error_memory_allocation)
                return -ENOMEM;
        return log_debug_errno(EBADMSG, "zstd: cannot decompress: %s", ZSTD_getErrorName(z));
}

int decompress_zstd(
        const void *in, size_t in_size, size_t max_out, void **ret_out, size_t *ret_out_size)
{
        _cleanup_(ZSTD_freeDCtxp) ZSTD_DCtx *dctx = NULL;
        _cleanup_free_ void *buf = NULL;
        ZSTD_inBuffer input = { .src = in, .size = in_size };
        ZSTD_outBuffer output = {};
        size_t allocated = 0, z;
        int r;

        assert(in || in_size == 0);
        assert(ret_out);
        assert(ret_out_size);

        if (in_size == 0)
                return log_debug_errno(EBADMSG, "zstd: empty input.");

        dctx = ZSTD_createDCtx();
        if (!dctx)
                return -ENOMEM;
        z = ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, DECOMPRESS_ZSTD_WINDOW_LOG_MAX);
        if (ZSTD_isError(z))
                return -EINVAL;

        for (;;) {
                if (output.pos == output.size) {
                        r = decompress_buffer_grow(&buf, &allocated, in_size, max_out);
                        if (r < 0)
                                return log_debug_errno(
                                        r, "zstd: output beyond %zu bytes: %m", max_out);
                        output.dst = buf;
                        output.size = allocated;
                }

                z = ZSTD_decompressStream(dctx, &output, &input);
                if (ZSTD_isError(z))
                        return zstd_error(z);
                /* 0: a frame is complete and flushed. Done if it was the last; otherwise the next
                 * call starts on the next frame, and garbage there is an error. */
                if (z == 0 && input.pos == input.size)
                        break;
                /* The decoder stops early only when the output is full: with room left and no
                 * input left, the frame is cut short. */
                if (z != 0 && input.pos == input.size && output.pos < output.size)
                        return log_debug_errno(EBADMSG, "zstd: truncated input.");
        }

        if (output.pos > max_out)
                return log_debug_errno(EFBIG, "zstd: output larger than %zu bytes.", max_out);

        *ret_out = TAKE_PTR(buf);
        *ret_out_size = output.pos;
        return 0;
}
