/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-helper-reply — the udev helper's own varlink framing: the Load call it writes, and how it
 * finds a reply's top-level error without a JSON library, on good, odd and hostile input. */
#include <errno.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>
#include <systemd/sd-json.h>

#include "cleanup.h"
#include "reply.h"

static int error_of(const char *json, char *buf, size_t size)
{
        return reply_error_id(json, strlen(json), buf, size);
}

static void test_error_ids(void **state)
{
        char id[64];

        assert_int_equal(error_of("{\"parameters\":{\"modules\":[]}}", id, sizeof(id)), 0);
        assert_int_equal(error_of("{}", id, sizeof(id)), 0);
        assert_int_equal(error_of(" { } ", id, sizeof(id)), 0);
        assert_int_equal(error_of("{\"error\":\"io.modcoalesced.Manager.LoadFailed\","
                                  "\"parameters\":{\"module\":\"x\",\"errno\":19}}",
                                 id, sizeof(id)),
                1);
        assert_string_equal(id, "io.modcoalesced.Manager.LoadFailed");
        /* Key order is free; nested "error" keys and strings that look like JSON do not count. */
        assert_int_equal(
                error_of("{\"parameters\":{\"error\":\"nested\",\"s\":\"}{\\\"error\\\":\"},"
                         "\"error\" : \"a.b.C\"}",
                        id, sizeof(id)),
                1);
        assert_string_equal(id, "a.b.C");
        assert_int_equal(error_of("{\"parameters\":{\"modules\":[{\"error\":\"x\"},[1,[2]],"
                                  "true,null,-1.5e3]}}",
                                 id, sizeof(id)),
                0);
        assert_int_equal(error_of("{\"continues\":true,\"parameters\":{}}", id, sizeof(id)), 0);
}

static void test_malformed(void **state)
{
        static const char *const bad[] = {
                "",
                "[]",
                "\"error\"",
                "{",
                "{\"error\":",
                "{\"error\":\"x",
                "{\"error\":5}",
                "{\"error\":\"a\\\"b\"}",
                "{\"a\":1,}",
                "{\"a\":}",
                "{\"a\" 1}",
                "{} x",
                "{\"a\":1",
                "{\"a\":[1,2}",
                "{\"a\":\"unterminated}",
        };
        char deep[300], id[8];

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (error_of(bad[i], id, sizeof(id)) != -EBADMSG)
                        fail_msg("accepted %s", bad[i]);
        /* An id longer than the caller's buffer is refused, not truncated. */
        assert_int_equal(
                error_of("{\"error\":\"io.modcoalesced.Manager.X\"}", id, sizeof(id)), -EBADMSG);
        /* Too deep. */
        memset(deep, '[', 200);
        strcpy(deep, "{\"a\":");
        memset(deep + 5, '[', 100);
        memset(deep + 105, ']', 100);
        strcpy(deep + 205, "}");
        assert_int_equal(error_of(deep, id, sizeof(id)), -EBADMSG);
        /* Never beyond n: the same bytes, cut short. */
        assert_int_equal(reply_error_id("{\"a\":1}", 6, id, sizeof(id)), -EBADMSG);
}

/* A formatted call: its size counts the NUL, it parses, it is a Load; its parameters. */
static sd_json_variant *load_parameters(const char *req, size_t n, sd_json_variant **ret_call)
{
        assert_non_null(req);
        assert_int_equal(n, strlen(req) + 1);
        assert_int_equal(sd_json_parse(req, 0, ret_call, NULL, NULL), 0);
        assert_string_equal(sd_json_variant_string(sd_json_variant_by_key(*ret_call, "method")),
                "io.modcoalesced.Manager.Load");
        return sd_json_variant_by_key(*ret_call, "parameters");
}

static bool flag(sd_json_variant *p, const char *key)
{
        return sd_json_variant_boolean(sd_json_variant_by_key(p, key));
}

static void test_format_load(void **state)
{
        _cleanup_(sd_json_variant_unrefp) sd_json_variant *v = NULL;
        const char *alias = "dmi:bvnSeaBIOS:pn\"Standard\\PC\":";
        _cleanup_free_ char *req = NULL;
        sd_json_variant *p;
        size_t n = 0;

        req = reply_format_load(alias, &n);
        p = load_parameters(req, n, &v);
        assert_string_equal(sd_json_variant_string(sd_json_variant_by_key(p, "modalias")), alias);
        assert_true(flag(p, "brief"));
}

static void test_format_kernel_load(void **state)
{
        _cleanup_(sd_json_variant_unrefp) sd_json_variant *v = NULL;
        _cleanup_free_ char *req = NULL;
        sd_json_variant *p;
        size_t n = 0;

        req = reply_format_kernel_load("fs-xfs", &n);
        p = load_parameters(req, n, &v);
        assert_true(flag(p, "fromKernel"));
        assert_false(flag(p, "waitedBefore"));
        assert_true(flag(p, "brief"));
        assert_string_equal(sd_json_variant_string(sd_json_variant_by_index(
                                    sd_json_variant_by_key(p, "modules"), 0)),
                "fs-xfs");
}

/* The same kernel request asked again after TimedOut. */
static void test_format_kernel_load_again(void **state)
{
        _cleanup_(sd_json_variant_unrefp) sd_json_variant *v = NULL;
        _cleanup_free_ char *req = NULL;
        sd_json_variant *p;
        size_t n = 0;

        req = reply_format_kernel_load_again("fs-xfs", &n);
        p = load_parameters(req, n, &v);
        assert_true(flag(p, "fromKernel"));
        assert_true(flag(p, "waitedBefore"));
        assert_true(flag(p, "brief"));
        assert_string_equal(sd_json_variant_string(sd_json_variant_by_index(
                                    sd_json_variant_by_key(p, "modules"), 0)),
                "fs-xfs");
}

/* modprobe@.service's call: the blacklist applies to the name, and it is not the kernel's. */
static void test_format_unit_load(void **state)
{
        _cleanup_(sd_json_variant_unrefp) sd_json_variant *v = NULL;
        _cleanup_free_ char *req = NULL;
        sd_json_variant *p;
        size_t n = 0;

        req = reply_format_unit_load("loop", &n);
        p = load_parameters(req, n, &v);
        assert_true(flag(p, "blacklist"));
        assert_true(flag(p, "brief"));
        assert_null(sd_json_variant_by_key(p, "fromKernel"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_error_ids),
                cmocka_unit_test(test_malformed),
                cmocka_unit_test(test_format_load),
                cmocka_unit_test(test_format_kernel_load),
                cmocka_unit_test(test_format_kernel_load_again),
                cmocka_unit_test(test_format_unit_load),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
