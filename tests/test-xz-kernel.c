/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-xz-kernel — which .ko.xz files the kernel's own decoder takes, judged from headers made
 * at test time by liblzma's encoder: the kernel's settings, xz's defaults, every check, BCJ and
 * other filters, cut-short and foreign headers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <lzma.h>

#include "xz-kernel.h"

#define DATA_SIZE 4096
#define OUT_SIZE (DATA_SIZE * 2 + 1024)

static uint8_t data[DATA_SIZE];
static uint8_t out[OUT_SIZE];

/* Encodes data with the filter chain (LZMA_VLI_UNKNOWN-terminated) and check; returns the size. */
static size_t encode(const lzma_filter *filters, lzma_check check)
{
        size_t pos = 0;

        assert_int_equal(lzma_stream_buffer_encode((lzma_filter *) filters, check, NULL, data,
                                 sizeof(data), out, &pos, sizeof(out)),
                LZMA_OK);
        return pos;
}

static lzma_options_lzma lzma2;

/* What the kernel's Makefile.modinst runs: xz --check=crc32 --lzma2=dict=1MiB. */
static void test_kernel_settings(void **state)
{
        lzma_filter chain[] = { { LZMA_FILTER_LZMA2, &lzma2 }, { LZMA_VLI_UNKNOWN, NULL } };
        size_t n = encode(chain, LZMA_CHECK_CRC32);

        assert_int_equal(xz_kernel_decodable(out, n), 1);
        /* The headers alone are enough; so is anything up to XZ_KERNEL_HEADERS_MAX. */
        assert_int_equal(xz_kernel_decodable(out, n < XZ_KERNEL_HEADERS_MAX ? n : 64), 1);
        assert_int_equal(encode(chain, LZMA_CHECK_NONE) > 0, 1);
        assert_int_equal(xz_kernel_decodable(out, sizeof(out)), 1);
}

/* xz(1)'s default check is CRC64; SHA-256 is never in the kernel. */
static void test_checks(void **state)
{
        lzma_filter chain[] = { { LZMA_FILTER_LZMA2, &lzma2 }, { LZMA_VLI_UNKNOWN, NULL } };
        size_t n;

        n = encode(chain, LZMA_CHECK_CRC64);
        assert_int_equal(xz_kernel_decodable(out, n), 0);
        n = encode(chain, LZMA_CHECK_SHA256);
        assert_int_equal(xz_kernel_decodable(out, n), 0);
}

static void test_filters(void **state)
{
        lzma_options_bcj offset = { .start_offset = 16 };
        lzma_options_delta delta = { .type = LZMA_DELTA_TYPE_BYTE, .dist = 4 };
        lzma_filter x86[] = { { LZMA_FILTER_X86, NULL }, { LZMA_FILTER_LZMA2, &lzma2 },
                { LZMA_VLI_UNKNOWN, NULL } };
        lzma_filter x86_offset[] = { { LZMA_FILTER_X86, &offset }, { LZMA_FILTER_LZMA2, &lzma2 },
                { LZMA_VLI_UNKNOWN, NULL } };
        lzma_filter arm[] = { { LZMA_FILTER_ARM, NULL }, { LZMA_FILTER_LZMA2, &lzma2 },
                { LZMA_VLI_UNKNOWN, NULL } };
        lzma_filter with_delta[] = { { LZMA_FILTER_DELTA, &delta }, { LZMA_FILTER_LZMA2, &lzma2 },
                { LZMA_VLI_UNKNOWN, NULL } };
        lzma_filter three[] = { { LZMA_FILTER_X86, NULL }, { LZMA_FILTER_DELTA, &delta },
                { LZMA_FILTER_LZMA2, &lzma2 }, { LZMA_VLI_UNKNOWN, NULL } };
        size_t n;

        /* x86 kernels are built with XZ_DEC_X86. */
        n = encode(x86, LZMA_CHECK_CRC32);
        assert_int_equal(xz_kernel_decodable(out, n), 1);
        n = encode(x86_offset, LZMA_CHECK_CRC32);
        assert_int_equal(xz_kernel_decodable(out, n), 0);
        n = encode(arm, LZMA_CHECK_CRC32);
        assert_int_equal(xz_kernel_decodable(out, n), 0);
        n = encode(with_delta, LZMA_CHECK_CRC32);
        assert_int_equal(xz_kernel_decodable(out, n), 0);
        n = encode(three, LZMA_CHECK_CRC32);
        assert_int_equal(xz_kernel_decodable(out, n), 0);
}

/* Nothing to judge: too short, damaged, not xz, or a stream without data. */
static void test_unknown(void **state)
{
        lzma_filter chain[] = { { LZMA_FILTER_LZMA2, &lzma2 }, { LZMA_VLI_UNKNOWN, NULL } };
        static const uint8_t zstd[] = { 0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
        size_t n = encode(chain, LZMA_CHECK_CRC32), pos = 0;

        assert_int_equal(xz_kernel_decodable(out, 0), -EBADMSG);
        assert_int_equal(xz_kernel_decodable(out, 12), -EBADMSG);
        assert_int_equal(xz_kernel_decodable(out, 14), -EBADMSG); /* block header cut short */
        assert_int_equal(xz_kernel_decodable(zstd, sizeof(zstd)), -EBADMSG);
        out[8] ^= 0x01; /* stream header CRC32 no longer matches */
        assert_int_equal(xz_kernel_decodable(out, n), -EBADMSG);
        out[8] ^= 0x01;
        out[14] ^= 0x40; /* block header damaged */
        assert_int_equal(xz_kernel_decodable(out, n), -EBADMSG);

        assert_int_equal(lzma_stream_buffer_encode(
                                 chain, LZMA_CHECK_CRC32, NULL, data, 0, out, &pos, sizeof(out)),
                LZMA_OK);
        assert_int_equal(xz_kernel_decodable(out, pos), -EBADMSG);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_kernel_settings),
                cmocka_unit_test(test_checks),
                cmocka_unit_test(test_filters),
                cmocka_unit_test(test_unknown),
        };

        for (size_t i = 0; i < sizeof(data); i++)
                data[i] = (uint8_t) ((i * 7) ^ (i >> 3));
        assert_int_equal(lzma_lzma_preset(&lzma2, LZMA_PRESET_DEFAULT), 0);
        lzma2.dict_size = 1u << 20;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
