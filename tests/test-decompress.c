/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-decompress — each codec against its own library's encoder, inputs made at test time:
 * round trips, truncation, flipped bytes, bombs, the exact max_out bound, hostile headers, magic
 * detection; a codec left out of the build must answer -EOPNOTSUPP. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#if HAVE_XZ
#include <lzma.h>
#endif
#if HAVE_ZSTD
#include <zstd.h>
#endif

#include "decompress.h"

/* A few hundred KiB, like a small module: noise (stored as is by the encoders) and text-like
 * runs (compressed well), so both paths of each decoder run. */
#define DATA_SIZE ((size_t) 320 << 10)
#define BLOCK_SIZE ((size_t) 4 << 10)

#define MIB ((size_t) 1 << 20)
#define BOMB_STREAM_MIB 64

static uint8_t data[DATA_SIZE];

static void make_data(void)
{
        uint32_t x = 0x2545f491;

        for (size_t off = 0; off < DATA_SIZE; off += BLOCK_SIZE) {
                uint8_t *b = data + off;

                if ((off / BLOCK_SIZE) % 3 == 0) {
                        /* xorshift32: noise that no encoder can shrink. */
                        for (size_t i = 0; i < BLOCK_SIZE; i++) {
                                x ^= x << 13;
                                x ^= x >> 17;
                                x ^= x << 5;
                                b[i] = (uint8_t) x;
                        }
                } else
                        for (size_t i = 0; i < BLOCK_SIZE; i++)
                                b[i] = "module_param(debug, int, 0644);\n"[i % 32] + (i / 512) % 4;
        }
}

/* An allocation of exactly n bytes, so that ASan reports any read past the end of the input. */
static void *exact_copy(const void *buf, size_t n)
{
        void *p = malloc(n > 0 ? n : 1);

        assert_non_null(p);
        if (n > 0)
                memcpy(p, buf, n);
        return p;
}

/* Like decompress(), on an exact copy of in; on failure, checks the out-parameters were left
 * alone. */
static int run(Compression c, const void *in, size_t n, size_t max_out, void **ret_out,
        size_t *ret_out_size)
{
        _cleanup_free_ void *copy = exact_copy(in, n);
        void *out = (void *) 0x1;
        size_t out_size = 7;
        int r;

        r = decompress(c, copy, n, max_out, &out, &out_size);
        if (r < 0) {
                assert_ptr_equal(out, (void *) 0x1);
                assert_int_equal(out_size, 7);
                return r;
        }
        assert_int_equal(r, 0);
        assert_non_null(out);
        if (ret_out) {
                *ret_out = out;
                *ret_out_size = out_size;
        } else
                free(out);
        return r;
}

#if HAVE_XZ || HAVE_ZSTD

static uint8_t zeros[MIB];

static void *concat(const void *a, size_t na, const void *b, size_t nb)
{
        uint8_t *p = malloc(na + nb);

        assert_non_null(p);
        memcpy(p, a, na);
        memcpy(p + na, b, nb);
        return p;
}

static void assert_decodes_to(
        Compression c, const void *in, size_t n, const void *want, size_t want_size)
{
        _cleanup_free_ void *out = NULL;
        size_t out_size = 0;

        assert_int_equal(compression_from_magic(in, n), c);
        assert_int_equal(run(c, in, n, DECOMPRESS_MAX_DEFAULT, &out, &out_size), 0);
        assert_int_equal(out_size, want_size);
        assert_memory_equal(out, want, want_size);
}

/* Every length up to 64 bytes (the headers), then every 97th and the last: no proper prefix of
 * a single stream or frame is a valid file. */
static void assert_truncations_fail(Compression c, const void *in, size_t n)
{
        for (size_t len = 0; len < n; len = len < 64 ? len + 1 : len + 97)
                assert_int_equal(run(c, in, len, DECOMPRESS_MAX_DEFAULT, NULL, NULL), -EBADMSG);
        assert_int_equal(run(c, in, n - 1, DECOMPRESS_MAX_DEFAULT, NULL, NULL), -EBADMSG);
}

/* The inputs carry a checksum of the content, so any flipped byte must be caught, whether it
 * breaks the format or only changes the output. Every 211th byte and the last: each try decodes
 * up to the whole file. */
static void assert_flip_fails(Compression c, uint8_t *copy, size_t n, size_t i)
{
        copy[i] ^= 0xff;
        assert_int_equal(run(c, copy, n, DECOMPRESS_MAX_DEFAULT, NULL, NULL), -EBADMSG);
        copy[i] ^= 0xff;
}

static void assert_flips_fail(Compression c, const void *in, size_t n)
{
        _cleanup_free_ uint8_t *copy = exact_copy(in, n);

        for (size_t i = 0; i < n; i += 211)
                assert_flip_fails(c, copy, n, i);
        assert_flip_fails(c, copy, n, n - 1);
}

static void assert_bounds(Compression c, const void *in, size_t n)
{
        _cleanup_free_ void *out = NULL;
        size_t out_size = 0;

        assert_int_equal(run(c, in, n, DATA_SIZE, &out, &out_size), 0);
        assert_int_equal(out_size, DATA_SIZE);
        assert_memory_equal(out, data, DATA_SIZE);
        assert_int_equal(run(c, in, n, DATA_SIZE - 1, NULL, NULL), -EFBIG);
        assert_int_equal(run(c, in, n, 0, NULL, NULL), -EFBIG);
}

/* With the output exactly max_out bytes when the first stream or frame ends, the empty one
 * after it must still be decoded, not taken for more output. */
static void assert_bounds_empty_tail(
        Compression c, const void *in, size_t n, const void *empty, size_t n_empty)
{
        _cleanup_free_ void *both = concat(in, n, empty, n_empty);

        assert_bounds(c, both, n + n_empty);
}

/* Trailing garbage, other formats (plain data, the other codec's header), empty input. */
static void assert_garbage_fails(Compression c, const void *in, size_t n)
{
        static const uint8_t xz[] = { 0xfd, '7', 'z', 'X', 'Z', 0x00, 0x00, 0x01, 0x69, 0x22 };
        static const uint8_t zst[] = { 0x28, 0xb5, 0x2f, 0xfd, 0x04, 0x58, 0x01, 0x00, 0x00 };
        _cleanup_free_ void *trailing = concat(in, n, "garbage\n", 8);
        void *out = (void *) 0x1;
        size_t out_size = 7;

        assert_int_equal(run(c, trailing, n + 8, DECOMPRESS_MAX_DEFAULT, NULL, NULL), -EBADMSG);
        assert_int_equal(run(c, data, 4096, DECOMPRESS_MAX_DEFAULT, NULL, NULL), -EBADMSG);
        assert_int_equal(run(c, xz, sizeof(xz), DECOMPRESS_MAX_DEFAULT, NULL, NULL), -EBADMSG);
        assert_int_equal(run(c, zst, sizeof(zst), DECOMPRESS_MAX_DEFAULT, NULL, NULL), -EBADMSG);
        assert_int_equal(run(c, "", 0, DECOMPRESS_MAX_DEFAULT, NULL, NULL), -EBADMSG);
        assert_int_equal(decompress(c, NULL, 0, DECOMPRESS_MAX_DEFAULT, &out, &out_size), -EBADMSG);
        assert_ptr_equal(out, (void *) 0x1);
}

/* Output of BOMB_STREAM_MIB MiB from a few KiB: decodes within the default bound, through many
 * doublings of the buffer, but not within 1 MiB. */
static void assert_zeros(Compression c, const void *in, size_t n)
{
        _cleanup_free_ uint8_t *out = NULL;
        size_t out_size = 0;

        assert_true(n < MIB / 16);
        assert_int_equal(run(c, in, n, DECOMPRESS_MAX_DEFAULT, (void **) &out, &out_size), 0);
        assert_int_equal(out_size, BOMB_STREAM_MIB * MIB);
        for (size_t i = 0; i < BOMB_STREAM_MIB; i++)
                assert_memory_equal(out + i * MIB, zeros, MIB);
        assert_int_equal(run(c, in, n, MIB, NULL, NULL), -EFBIG);
}

#endif

#if HAVE_XZ

/* Streams in times times over (the bombs never exist uncompressed). dict 0: the preset's. */
static size_t xz_encode(const void *in, size_t n, size_t times, uint32_t preset, uint32_t dict,
        lzma_check check, uint8_t **ret)
{
        lzma_stream s = LZMA_STREAM_INIT;
        lzma_options_lzma opt;
        lzma_filter filters[] = {
                { .id = LZMA_FILTER_LZMA2, .options = &opt },
                { .id = LZMA_VLI_UNKNOWN },
        };
        size_t allocated = lzma_stream_buffer_bound(n) + 4096;
        uint8_t *out = malloc(allocated);
        lzma_ret lr;

        /* The bombs' output is tiny; the check below keeps a mistake from looping forever. */
        assert_non_null(out);
        assert_false(lzma_lzma_preset(&opt, preset));
        if (dict > 0)
                opt.dict_size = dict;
        assert_int_equal(lzma_stream_encoder(&s, filters, check), LZMA_OK);
        s.next_out = out;
        s.avail_out = allocated;
        for (size_t i = 0; i < times; i++) {
                s.next_in = in;
                s.avail_in = n;
                while (s.avail_in > 0) {
                        assert_int_equal(lzma_code(&s, LZMA_RUN), LZMA_OK);
                        assert_true(s.avail_out > 0);
                }
        }
        do {
                lr = lzma_code(&s, LZMA_FINISH);
                assert_true(lr == LZMA_OK || lr == LZMA_STREAM_END);
                assert_true(s.avail_out > 0);
        } while (lr != LZMA_STREAM_END);

        *ret = out;
        n = s.total_out;
        lzma_end(&s);
        return n;
}

static void test_xz(void **state)
{
        _cleanup_free_ uint8_t *kernel = NULL, *crc64 = NULL, *both = NULL, *empty = NULL;
        size_t n_kernel, n_crc64, n_empty;

        /* What the kernel's Makefile.modinst runs: xz --check=crc32 --lzma2=dict=1MiB. */
        n_kernel = xz_encode(data, DATA_SIZE, 1, 6, MIB, LZMA_CHECK_CRC32, &kernel);
        n_crc64 = xz_encode(data, DATA_SIZE, 1, 6, 0, LZMA_CHECK_CRC64, &crc64);
        assert_true(n_kernel < DATA_SIZE / 2);

        assert_decodes_to(COMPRESSION_XZ, kernel, n_kernel, data, DATA_SIZE);
        assert_decodes_to(COMPRESSION_XZ, crc64, n_crc64, data, DATA_SIZE);

        both = concat(kernel, n_kernel, crc64, n_crc64);
        {
                _cleanup_free_ uint8_t *want = concat(data, DATA_SIZE, data, DATA_SIZE);
                assert_decodes_to(COMPRESSION_XZ, both, n_kernel + n_crc64, want, 2 * DATA_SIZE);
        }

        assert_bounds(COMPRESSION_XZ, kernel, n_kernel);
        n_empty = xz_encode(data, 0, 1, 6, MIB, LZMA_CHECK_CRC32, &empty);
        assert_bounds_empty_tail(COMPRESSION_XZ, kernel, n_kernel, empty, n_empty);
        assert_truncations_fail(COMPRESSION_XZ, kernel, n_kernel);
        assert_truncations_fail(COMPRESSION_XZ, crc64, n_crc64);
        assert_flips_fail(COMPRESSION_XZ, kernel, n_kernel);
        assert_garbage_fails(COMPRESSION_XZ, kernel, n_kernel);
}

static void test_xz_bomb(void **state)
{
        _cleanup_free_ uint8_t *stream = NULL, *bomb = NULL;
        size_t n, copies = 1024 / BOMB_STREAM_MIB;

        n = xz_encode(zeros, MIB, BOMB_STREAM_MIB, 0, 0, LZMA_CHECK_CRC32, &stream);
        assert_zeros(COMPRESSION_XZ, stream, n);

        /* 1 GiB of zeros from a few KiB, as concatenated streams. */
        bomb = malloc(n * copies);
        assert_non_null(bomb);
        for (size_t i = 0; i < copies; i++)
                memcpy(bomb + i * n, stream, n);
        assert_int_equal(run(COMPRESSION_XZ, bomb, n * copies, MIB, NULL, NULL), -EFBIG);
}

static void test_xz_hostile_dict(void **state)
{
        _cleanup_free_ uint8_t *xz = NULL;
        uint32_t crc;
        size_t n;

        n = xz_encode(data, DATA_SIZE, 1, 6, MIB, LZMA_CHECK_CRC32, &xz);

        /* The streaming encoder's first block header: 12 bytes after the 12-byte stream header,
         * one LZMA2 filter, no sizes, then padding and CRC32. Its dictionary byte says 1 MiB. */
        assert_true(n > 24);
        assert_memory_equal(xz + 12, "\x02\x00\x21\x01\x10", 5);
        /* Make it ask for a 4 GiB dictionary, with a valid header CRC so that only the memory
         * limit can refuse it. */
        xz[16] = 0x28;
        crc = lzma_crc32(xz + 12, 8, 0);
        for (size_t i = 0; i < 4; i++)
                xz[20 + i] = (uint8_t) (crc >> (8 * i));
        assert_int_equal(run(COMPRESSION_XZ, xz, n, DECOMPRESS_MAX_DEFAULT, NULL, NULL), -EBADMSG);
}

#else

static void test_xz_disabled(void **state)
{
        static const uint8_t xz[] = { 0xfd, '7', 'z', 'X', 'Z', 0x00, 0x00, 0x01 };

        assert_int_equal(compression_from_magic(xz, sizeof(xz)), COMPRESSION_XZ);
        assert_int_equal(run(COMPRESSION_XZ, xz, sizeof(xz), DECOMPRESS_MAX_DEFAULT, NULL, NULL),
                -EOPNOTSUPP);
}

#endif

#if HAVE_ZSTD

/* Streams in times times over without pledging a size, as zstd writing to a pipe does: the
 * frame header records no content size. */
static size_t zstd_encode_stream(const void *in, size_t n, size_t times, uint8_t **ret)
{
        ZSTD_CCtx *cctx = ZSTD_createCCtx();
        size_t allocated = ZSTD_compressBound(n) + 4096, z;
        ZSTD_outBuffer out = { .dst = malloc(allocated), .size = allocated };

        assert_non_null(cctx);
        assert_non_null(out.dst);
        /* zstd(1) writes a content checksum by default; the flip test relies on it. */
        assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1)));
        for (size_t i = 0; i < times; i++) {
                ZSTD_inBuffer input = { .src = in, .size = n };
                while (input.pos < input.size) {
                        z = ZSTD_compressStream2(cctx, &out, &input, ZSTD_e_continue);
                        assert_false(ZSTD_isError(z));
                        /* The bombs' output is tiny; this keeps a mistake from looping. */
                        assert_true(out.pos < out.size);
                }
        }
        do {
                ZSTD_inBuffer none = { .src = NULL, .size = 0 };
                z = ZSTD_compressStream2(cctx, &out, &none, ZSTD_e_end);
                assert_false(ZSTD_isError(z));
        } while (z != 0);

        ZSTD_freeCCtx(cctx);
        *ret = out.dst;
        return out.pos;
}

static size_t zstd_encode(const void *in, size_t n, uint8_t **ret)
{
        size_t allocated = ZSTD_compressBound(n), z;
        uint8_t *out = malloc(allocated);

        assert_non_null(out);
        z = ZSTD_compress(out, allocated, in, n, 3);
        assert_false(ZSTD_isError(z));
        *ret = out;
        return z;
}

static void test_zstd(void **state)
{
        _cleanup_free_ uint8_t *sized = NULL, *streamed = NULL, *two = NULL, *mixed = NULL,
                               *empty = NULL;
        size_t n_sized, n_streamed, n_two, n_empty;

        n_sized = zstd_encode(data, DATA_SIZE, &sized);
        n_streamed = zstd_encode_stream(data, DATA_SIZE, 1, &streamed);
        assert_int_equal(ZSTD_getFrameContentSize(sized, n_sized), DATA_SIZE);
        assert_true(ZSTD_getFrameContentSize(streamed, n_streamed) == ZSTD_CONTENTSIZE_UNKNOWN);
        assert_true(n_sized < DATA_SIZE / 2);

        assert_decodes_to(COMPRESSION_ZSTD, sized, n_sized, data, DATA_SIZE);
        assert_decodes_to(COMPRESSION_ZSTD, streamed, n_streamed, data, DATA_SIZE);

        /* Two frames, split mid-data, and a frame with a size followed by one without. */
        {
                _cleanup_free_ uint8_t *a = NULL, *b = NULL;
                size_t half = DATA_SIZE / 2 + 123, n_a, n_b;

                n_a = zstd_encode(data, half, &a);
                n_b = zstd_encode_stream(data + half, DATA_SIZE - half, 1, &b);
                two = concat(a, n_a, b, n_b);
                n_two = n_a + n_b;
        }
        assert_decodes_to(COMPRESSION_ZSTD, two, n_two, data, DATA_SIZE);
        mixed = concat(sized, n_sized, streamed, n_streamed);
        {
                _cleanup_free_ uint8_t *want = concat(data, DATA_SIZE, data, DATA_SIZE);
                assert_decodes_to(
                        COMPRESSION_ZSTD, mixed, n_sized + n_streamed, want, 2 * DATA_SIZE);
        }

        assert_bounds(COMPRESSION_ZSTD, sized, n_sized);
        assert_bounds(COMPRESSION_ZSTD, streamed, n_streamed);
        n_empty = zstd_encode(data, 0, &empty);
        assert_bounds_empty_tail(COMPRESSION_ZSTD, sized, n_sized, empty, n_empty);
        assert_bounds_empty_tail(COMPRESSION_ZSTD, streamed, n_streamed, empty, n_empty);
        assert_truncations_fail(COMPRESSION_ZSTD, sized, n_sized);
        assert_truncations_fail(COMPRESSION_ZSTD, streamed, n_streamed);
        assert_flips_fail(COMPRESSION_ZSTD, streamed, n_streamed);
        assert_garbage_fails(COMPRESSION_ZSTD, sized, n_sized);
        assert_garbage_fails(COMPRESSION_ZSTD, streamed, n_streamed);
}

static void test_zstd_bomb(void **state)
{
        _cleanup_free_ uint8_t *stream = NULL, *bomb = NULL;
        size_t n;

        n = zstd_encode_stream(zeros, MIB, BOMB_STREAM_MIB, &stream);
        assert_zeros(COMPRESSION_ZSTD, stream, n);

        /* 1 GiB of zeros in one frame of a few KiB, with no content size to warn anyone. */
        n = zstd_encode_stream(zeros, MIB, 1024, &bomb);
        assert_true(n < MIB);
        assert_int_equal(run(COMPRESSION_ZSTD, bomb, n, MIB, NULL, NULL), -EFBIG);
}

static void test_zstd_hostile_window(void **state)
{
        _cleanup_free_ uint8_t *zst = NULL;
        size_t n;

        n = zstd_encode_stream(data, DATA_SIZE, 1, &zst);

        /* Frame header descriptor: no content size, not single-segment, checksum; then the
         * window descriptor, raised to 2 GiB (exponent 21: 2^(10+21)). */
        assert_int_equal(zst[4], 0x04);
        zst[5] = 21 << 3;
        assert_int_equal(
                run(COMPRESSION_ZSTD, zst, n, DECOMPRESS_MAX_DEFAULT, NULL, NULL), -EBADMSG);
}

#else

static void test_zstd_disabled(void **state)
{
        static const uint8_t zst[] = { 0x28, 0xb5, 0x2f, 0xfd, 0x04, 0x58, 0x00, 0x00 };

        assert_int_equal(compression_from_magic(zst, sizeof(zst)), COMPRESSION_ZSTD);
        assert_int_equal(
                run(COMPRESSION_ZSTD, zst, sizeof(zst), DECOMPRESS_MAX_DEFAULT, NULL, NULL),
                -EOPNOTSUPP);
}

#endif

static void test_magic(void **state)
{
        static const uint8_t elf[] = { 0x7f, 'E', 'L', 'F', 2, 1, 1, 0 };
        static const uint8_t gz[] = { 0x1f, 0x8b, 0x08, 0x00 };

        assert_int_equal(compression_from_magic(elf, sizeof(elf)), COMPRESSION_NONE);
        assert_int_equal(compression_from_magic(gz, sizeof(gz)), COMPRESSION_GZIP);
        assert_int_equal(compression_from_magic(gz, 2), COMPRESSION_GZIP);
        assert_int_equal(compression_from_magic(gz, 1), COMPRESSION_NONE);
        /* One byte short of each magic. */
        assert_int_equal(compression_from_magic("\xfd"
                                                "7zXZ",
                                 5),
                COMPRESSION_NONE);
        assert_int_equal(compression_from_magic("\xfd"
                                                "7zXZ\x01",
                                 6),
                COMPRESSION_NONE);
        assert_int_equal(compression_from_magic("\x28\xb5\x2f", 3), COMPRESSION_NONE);
        assert_int_equal(compression_from_magic(NULL, 0), COMPRESSION_NONE);
        assert_int_equal(compression_from_magic("", 0), COMPRESSION_NONE);
}

static void test_dispatch(void **state)
{
        static const uint8_t gz[] = { 0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00 };

        /* No zlib support yet. */
        assert_int_equal(run(COMPRESSION_GZIP, gz, sizeof(gz), DECOMPRESS_MAX_DEFAULT, NULL, NULL),
                -EOPNOTSUPP);
        /* Plain modules are never decompressed. */
        assert_int_equal(
                run(COMPRESSION_NONE, data, 64, DECOMPRESS_MAX_DEFAULT, NULL, NULL), -EINVAL);
        assert_int_equal(
                run(_COMPRESSION_MAX, data, 64, DECOMPRESS_MAX_DEFAULT, NULL, NULL), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
#if HAVE_XZ
                cmocka_unit_test(test_xz),
                cmocka_unit_test(test_xz_bomb),
                cmocka_unit_test(test_xz_hostile_dict),
#else
                cmocka_unit_test(test_xz_disabled),
#endif
#if HAVE_ZSTD
                cmocka_unit_test(test_zstd),
                cmocka_unit_test(test_zstd_bomb),
                cmocka_unit_test(test_zstd_hostile_window),
#else
                cmocka_unit_test(test_zstd_disabled),
#endif
                cmocka_unit_test(test_magic),
                cmocka_unit_test(test_dispatch),
        };

        make_data();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
