/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-hashmap — put/get/remove, growth past many resizes, iteration and draining. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "hashmap.h"

#define N 5000

static void test_basic(void **state)
{
        _cleanup_(hashmap_freep) Hashmap *h = NULL;
        static char keys[N][16];
        size_t i = 0, seen = 0;
        void *v;

        assert_int_equal(hashmap_new(&h, &string_hash_ops), 0);
        assert_null(hashmap_get(h, "missing"));

        for (size_t k = 0; k < N; k++) {
                snprintf(keys[k], sizeof(keys[k]), "key-%zu", k);
                assert_int_equal(hashmap_put(h, keys[k], &keys[k]), 0);
        }
        assert_int_equal(hashmap_size(h), N);
        assert_int_equal(hashmap_put(h, "key-7", NULL), -EEXIST);

        for (size_t k = 0; k < N; k++)
                assert_ptr_equal(hashmap_get(h, keys[k]), &keys[k]);

        while (hashmap_iterate(h, &i, &v, NULL))
                seen++;
        assert_int_equal(seen, N);

        assert_ptr_equal(hashmap_remove(h, "key-10"), &keys[10]);
        assert_null(hashmap_remove(h, "key-10"));
        assert_null(hashmap_get(h, "key-10"));
        assert_int_equal(hashmap_size(h), N - 1);

        seen = 0;
        while (hashmap_steal_first(h))
                seen++;
        assert_int_equal(seen, N - 1);
        assert_int_equal(hashmap_size(h), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_basic),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
