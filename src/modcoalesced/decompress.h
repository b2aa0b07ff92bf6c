/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* decompress.h — module files to plain ELF in userspace, one codec per file behind one call.
 * Output is bounded: no input, however hostile, makes us hold more than max_out + 1 bytes. */
#pragma once

#include <stddef.h>

#include "plan.h"

/* Larger than any module a distribution ships (the biggest, amdgpu, is tens of MiB), and a bound
 * so that a hostile file cannot make a loader thread exhaust memory. */
#define DECOMPRESS_MAX_DEFAULT ((size_t) 256 << 20)

/* What the file really is, from its first bytes: the name depmod indexed may lie. */
Compression compression_from_magic(const void *buf, size_t n);

/* Decompresses in (one or more concatenated xz streams or zstd frames) into a new buffer that
 * the caller frees; it may be larger than *ret_out_size. Returns -EFBIG when the data
 * decompresses to more than max_out bytes, -EBADMSG when it is empty, truncated, corrupt, has
 * trailing garbage, is another format or asks for more decoder memory than we allow, -ENOMEM,
 * -EOPNOTSUPP when the codec is not built in, -EINVAL for COMPRESSION_NONE. On failure the
 * out-parameters are untouched. Thread-safe: no state is shared between calls. */
int decompress(Compression c, const void *in, size_t in_size, size_t max_out, void **ret_out,
        size_t *ret_out_size);
