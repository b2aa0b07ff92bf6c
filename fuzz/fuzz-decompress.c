/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-decompress — one codec (FUZZ_COMPRESSION, set by meson: one target per codec) on hostile
 * input under a 1 MiB output bound. Asserts the contract of decompress.h: only the documented
 * errors, out-parameters untouched on failure, never more than the bound; and that the bound is
 * exact: a success decompresses again, to the same bytes, with the bound set to its own size,
 * and fails with -EFBIG one byte below it. */
#include <errno.h>

#include "cleanup.h"
#include "decompress.h"
#include "fuzz.h"

#define FUZZ_MAX_OUT ((size_t) 1 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static char untouched;
        void *out = &untouched, *again = &untouched;
        size_t out_size = SIZE_MAX, again_size = SIZE_MAX;
        int r;

        r = decompress(FUZZ_COMPRESSION, data, size, FUZZ_MAX_OUT, &out, &out_size);
        if (r < 0) {
                FUZZ_CHECK(r == -EFBIG || r == -EBADMSG || r == -ENOMEM);
                FUZZ_CHECK(out == &untouched && out_size == SIZE_MAX);
                return 0;
        }
        FUZZ_CHECK(r == 0);
        FUZZ_CHECK(out && out != &untouched);
        FUZZ_CHECK(out_size <= FUZZ_MAX_OUT);

        r = decompress(FUZZ_COMPRESSION, data, size, out_size, &again, &again_size);
        FUZZ_CHECK(r == 0);
        FUZZ_CHECK(again_size == out_size);
        FUZZ_CHECK(out_size == 0 || memcmp(out, again, out_size) == 0);
        free(again);
        again = &untouched;

        if (out_size > 0) {
                r = decompress(FUZZ_COMPRESSION, data, size, out_size - 1, &again, &again_size);
                FUZZ_CHECK(r == -EFBIG);
                FUZZ_CHECK(again == &untouched);
        }
        free(out);
        return 0;
}
