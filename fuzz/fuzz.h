/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz.h — what every libFuzzer target here shares: the entry points, a NUL-terminated copy of
 * the input, and a check that aborts with a message (libFuzzer then keeps the input). */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* An invariant of the code under test: abort() on violation, which libFuzzer reports as a crash
 * and saves the input for. Never compiled out, unlike assert(). */
#define FUZZ_CHECK(expr)                                                                           \
        do {                                                                                       \
                if (!(expr)) {                                                                     \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #expr);   \
                        abort();                                                                   \
                }                                                                                  \
        } while (0)

/* The input as a C string (cut at its first NUL, as a C caller would see it); free() it. */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
        char *s = malloc(size + 1);

        if (!s)
                abort();
        if (size > 0)
                memcpy(s, data, size);
        s[size] = '\0';
        return s;
}
