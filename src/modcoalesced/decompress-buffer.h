/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* decompress-buffer.h — the one output-growth policy that every codec shares, so that the
 * max_out bound of decompress() is enforced in a single place. */
#pragma once

#include <stddef.h>

/* Grows *buf (*allocated bytes, 0 at first) geometrically from a guess based on in_size, up to
 * max_out + 1 bytes, so that a codec which fills that last byte knows the data is larger than
 * max_out. -EFBIG once the buffer is that large; on -ENOMEM *buf is still valid. */
int decompress_buffer_grow(void **buf, size_t *allocated, size_t in_size, size_t max_out);
