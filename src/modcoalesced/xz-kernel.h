/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* xz-kernel.h — would the kernel's own module decompressor (lib/xz, as kernel/module/decompress.c
 * drives it) decode this .ko.xz? Judged from the file's headers alone, so that an EINVAL from
 * finit_module(MODULE_INIT_COMPRESSED_FILE) can be told apart: from a file the kernel decodes it
 * is the module's own answer (never retried), from one it cannot it is the decoder's (the file
 * is decompressed here instead, without asking the kernel first). */
#pragma once

#include <stddef.h>

/* The bytes to hand to xz_kernel_decodable(): the stream header and the largest block header. */
#define XZ_KERNEL_HEADERS_MAX (12 + 1024)

#if HAVE_XZ
/* 1: the kernel decodes it (no check or CRC32, one block filter chain of LZMA2, optionally after
 * one x86 BCJ filter without a start offset); 0: it cannot; -EBADMSG: the headers are not xz or
 * are cut short, so nothing can be said. `buf` holds the file's first `size` bytes. */
int xz_kernel_decodable(const void *buf, size_t size);
#else
#include <errno.h>
static inline int xz_kernel_decodable(const void *buf, size_t size)
{
        (void) buf;
        (void) size;
        return -EOPNOTSUPP;
}
#endif
