/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-modname — what clients may send as module names, MODALIAS strings and parameters. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "modname.h"

static void test_names(void **state)
{
        char longest[MODULE_NAME_MAX + 1], too_long[MODULE_NAME_MAX + 2];
        const char *reason = NULL;

        memset(longest, 'a', MODULE_NAME_MAX);
        longest[MODULE_NAME_MAX] = '\0';
        memset(too_long, 'a', MODULE_NAME_MAX + 1);
        too_long[MODULE_NAME_MAX + 1] = '\0';

        assert_int_equal(modname_validate("xfs", NULL), 0);
        assert_int_equal(modname_validate("kvm-intel", NULL), 0);
        assert_int_equal(modname_validate("fs-xfs", NULL), 0);
        assert_int_equal(modname_validate("crypto-cbc(aes)-all", NULL), 0);
        assert_int_equal(modname_validate(longest, NULL), 0);

        assert_int_equal(modname_validate(too_long, &reason), -ENAMETOOLONG);
        assert_non_null(strstr(reason, "longer"));
        assert_int_equal(modname_validate("", &reason), -EINVAL);
        assert_int_equal(modname_validate(NULL, &reason), -EINVAL);
        assert_int_equal(modname_validate("../../etc/passwd", &reason), -EINVAL);
        assert_int_equal(modname_validate("/lib/modules/x.ko", &reason), -EINVAL);
        assert_non_null(strstr(reason, "'/'"));
        assert_int_equal(modname_validate("a..b", &reason), -EINVAL);
        assert_non_null(strstr(reason, "'..'"));
        assert_int_equal(modname_validate("x\xc3\x28", &reason), -EINVAL);
        assert_non_null(strstr(reason, "ASCII"));
        assert_int_equal(modname_validate("caf\xc3\xa9", &reason), -EINVAL);
        assert_int_equal(modname_validate("two words", &reason), -EINVAL);
        assert_int_equal(modname_validate("tab\there", &reason), -EINVAL);
        assert_int_equal(modname_validate("nl\n", &reason), -EINVAL);
}

static void test_modaliases(void **state)
{
        char big[MODALIAS_MAX + 2];
        const char *reason = NULL;

        assert_int_equal(
                modalias_validate("pci:v00008086d0000100Esv00001AF4sd00001100bc02sc00i00", NULL),
                0);
        assert_int_equal(
                modalias_validate("cpu:type:x86,ven0000fam0006mod003F:feature:,0000,0085", NULL),
                0);
        /* DMI modaliases carry '/', '.', spaces and quotes: they are index keys, not paths. */
        assert_int_equal(
                modalias_validate("dmi:bvnSeaBIOS:bvr1.16.3:bd04/01/2014:svnQEMU:pnStandard "
                                  "PC (Q35 + ICH9, 2009)':",
                        NULL),
                0);
        assert_int_equal(modalias_validate("of:NfooT(null)Cvendor,chip", NULL), 0);

        assert_int_equal(modalias_validate("", &reason), -EINVAL);
        assert_int_equal(modalias_validate("xfs", &reason), -EINVAL);
        assert_non_null(strstr(reason, "bus:"));
        assert_int_equal(modalias_validate(":pci", &reason), -EINVAL);
        assert_int_equal(modalias_validate("pci:v\x01", &reason), -EINVAL);
        assert_int_equal(modalias_validate("pci:\xff\xfe", &reason), -EINVAL);

        memset(big, 'a', sizeof(big) - 1);
        memcpy(big, "pci:", 4);
        big[sizeof(big) - 1] = '\0';
        assert_int_equal(modalias_validate(big, &reason), -ENAMETOOLONG);
        big[MODALIAS_MAX] = '\0';
        assert_int_equal(modalias_validate(big, NULL), 0);
}

static void test_params(void **state)
{
        char big[MODULE_PARAMS_MAX + 2];

        assert_int_equal(module_params_validate(NULL, NULL), 0);
        assert_int_equal(module_params_validate("", NULL), 0);
        assert_int_equal(module_params_validate("delay_ms=10 name=\"a b\"", NULL), 0);
        assert_int_equal(module_params_validate("a=1\nb=2", NULL), -EINVAL);
        assert_int_equal(module_params_validate("a=\xe2\x82", NULL), -EINVAL);
        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        assert_int_equal(module_params_validate(big, NULL), -ENAMETOOLONG);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_modaliases),
                cmocka_unit_test(test_params),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
