/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-load-params — Load's parameters from JSON text to a verdict, as the varlink handler takes
 * them: the dispatch table, then the validation, with the field and reason it reports. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "cleanup.h"
#include "load-params.h"

/* JSON text → dispatch → validate; returns the dispatch's or the validation's result. */
static int check(const char *json, const char **ret_parameter)
{
        _cleanup_(sd_json_variant_unrefp) sd_json_variant *v = NULL;
        _cleanup_(load_params_done) LoadParams p = {};
        const char *bad = NULL, *reason = NULL;
        int r;

        assert_int_equal(sd_json_parse(json, 0, &v, NULL, NULL), 0);
        r = sd_json_dispatch_full(v, load_params_table, NULL, 0, &p, &bad);
        if (r < 0) {
                /* bad points into v, which goes with this scope. */
                static char field[64];

                snprintf(field, sizeof(field), "%s", bad ?: "");
                *ret_parameter = field;
                return 1;
        }
        *ret_parameter = NULL;
        r = load_params_validate(&p, ret_parameter, &reason);
        if (r < 0) {
                assert_non_null(*ret_parameter);
                assert_non_null(reason);
        }
        return r;
}

static void test_valid(void **state)
{
        const char *parameter;

        assert_int_equal(check("{\"modalias\":\"pci:v00008086d00002922sv*\"}", &parameter), 0);
        assert_int_equal(check("{\"modalias\":\"dmi:bvnQEMU:pn'x'\"}", &parameter), 0);
        assert_int_equal(check("{\"modules\":[\"xfs\",\"fs-btrfs\"],\"parameters\":\"a=1 b=2\","
                               "\"fromKernel\":true}",
                                 &parameter),
                0);
        /* Every field is nullable in the IDL; fromKernel's null was once refused. */
        assert_int_equal(check("{\"modalias\":\"cpu:type:x86\",\"modules\":null,"
                               "\"parameters\":null,\"fromKernel\":null,\"blacklist\":null,"
                               "\"brief\":null}",
                                 &parameter),
                0);
        /* modprobe@.service's call: names with the blacklist applied. */
        assert_int_equal(check("{\"modules\":[\"loop\"],\"blacklist\":true}", &parameter), 0);
}

/* Dispatches JSON into *p; returns how many fields sd_json_dispatch() took. */
static int dispatch(const char *json, LoadParams *p)
{
        _cleanup_(sd_json_variant_unrefp) sd_json_variant *v = NULL;

        assert_int_equal(sd_json_parse(json, 0, &v, NULL, NULL), 0);
        return sd_json_dispatch(v, load_params_table, 0, p);
}

static void test_from_kernel(void **state)
{
        _cleanup_(load_params_done) LoadParams p = {};

        assert_int_equal(dispatch("{\"modules\":[\"xfs\"],\"fromKernel\":true}", &p), 2);
        assert_true(p.from_kernel);
        assert_false(p.brief);
        assert_string_equal(p.modules[0], "xfs");
        assert_null(p.modalias);
}

/* The udev helper's and the shim's calls: brief, no per-module results wanted. */
static void test_brief(void **state)
{
        _cleanup_(load_params_done) LoadParams p = {};

        assert_int_equal(dispatch("{\"modalias\":\"pci:v1\",\"brief\":true}", &p), 2);
        assert_true(p.brief);
        assert_false(p.from_kernel);
}

static void test_invalid(void **state)
{
        static const struct {
                const char *json;
                int r;
                const char *parameter;
        } cases[] = {
                { "{}", -EINVAL, "modalias" },
                { "{\"modules\":[]}", -EINVAL, "modalias" },
                { "{\"modalias\":\"pci:x\",\"modules\":[\"a\"]}", -EINVAL, "modules" },
                { "{\"modules\":[\"a/b\"]}", -EINVAL, "modules" },
                { "{\"modules\":[\"ok\",\"..\"]}", -EINVAL, "modules" },
                { "{\"modules\":[\"\"]}", -EINVAL, "modules" },
                { "{\"modalias\":\"\"}", -EINVAL, "modalias" },
                { "{\"modalias\":\"nobus\"}", -EINVAL, "modalias" },
                { "{\"modalias\":\"pci:\\t\"}", -EINVAL, "modalias" },
                { "{\"modules\":[\"a\"],\"parameters\":\"x=\\u00e9\"}", -EINVAL, "parameters" },
                /* Dispatch errors name the field (InvalidParameter on the wire). */
                { "{\"modalias\":5}", 1, "modalias" },
                { "{\"modules\":\"a\"}", 1, "modules" },
                { "{\"modules\":[1]}", 1, "modules" },
                { "{\"fromKernel\":\"yes\"}", 1, "fromKernel" },
                { "{\"blacklist\":1}", 1, "blacklist" },
                { "{\"brief\":\"yes\"}", 1, "brief" },
                /* A MODALIAS always gets the blacklist: asking for it is a mistake. */
                { "{\"modalias\":\"pci:x\",\"blacklist\":true}", -EINVAL, "blacklist" },
        };
        const char *parameter;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                int r = check(cases[i].json, &parameter);

                if (r != cases[i].r || !parameter || strcmp(parameter, cases[i].parameter) != 0)
                        fail_msg("%s: got %d (%s), expected %d (%s)", cases[i].json, r,
                                parameter ?: "-", cases[i].r, cases[i].parameter);
        }
}

static void test_limits(void **state)
{
        char json[8192], *p = json;
        const char *parameter;

        /* LOAD_PARAMS_MAX_NAMES names pass, one more does not. */
        p = stpcpy(p, "{\"modules\":[");
        for (unsigned i = 0; i < LOAD_PARAMS_MAX_NAMES; i++)
                p = stpcpy(p, i ? ",\"a\"" : "\"a\"");
        stpcpy(p, "]}");
        assert_int_equal(check(json, &parameter), 0);
        strcpy(p, ",\"a\"]}");
        assert_int_equal(check(json, &parameter), -E2BIG);
        assert_string_equal(parameter, "modules");

        /* A name one byte longer than the kernel allows. */
        p = stpcpy(json, "{\"modules\":[\"");
        memset(p, 'a', 56);
        strcpy(p + 56, "\"]}");
        assert_int_equal(check(json, &parameter), -ENAMETOOLONG);
        p[55] = '"';
        strcpy(p + 56, "]}");
        assert_int_equal(check(json, &parameter), 0);
}

static void test_unknown_field(void **state)
{
        const char *parameter;

        /* The varlink layer rejects unknown fields against the IDL before the handler runs;
         * the table alone (flags 0) rejects them too. */
        assert_int_equal(check("{\"modules\":[\"a\"],\"frob\":1}", &parameter), 1);
        assert_string_equal(parameter, "frob");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_valid),
                cmocka_unit_test(test_from_kernel),
                cmocka_unit_test(test_brief),
                cmocka_unit_test(test_invalid),
                cmocka_unit_test(test_limits),
                cmocka_unit_test(test_unknown_field),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
