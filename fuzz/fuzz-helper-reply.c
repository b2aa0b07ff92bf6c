/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-helper-reply — the udev helper's and the modprobe shim's own varlink framing (reply.c),
 * which does without libsystemd, checked against sd-json. reply_error_id() on any bytes: never a
 * read past n (the input is an exact-size heap copy, under ASan), only its documented results,
 * and on a well-formed object (as sd_json_parse() sees it) the same answer as sd-json. And the
 * Load calls it writes for any MODALIAS or name that passes validation parse back, with sd-json,
 * to exactly that string. */
#include <errno.h>
#include <systemd/sd-json.h>

#include "cleanup.h"
#include "fuzz.h"
#include "modname.h"
#include "reply.h"
#include "varlink-idl.h"

/* reply.c's own nesting limit. */
#define REPLY_DEPTH_MAX 64

static unsigned variant_depth(sd_json_variant *v)
{
        unsigned max = 0;

        if (!sd_json_variant_is_object(v) && !sd_json_variant_is_array(v))
                return 0;
        for (size_t i = 0; i < sd_json_variant_elements(v); i++) {
                unsigned d = variant_depth(sd_json_variant_by_index(v, i));

                if (d > max)
                        max = d;
        }
        return max + 1;
}

static size_t count(const uint8_t *data, size_t size, const char *needle)
{
        size_t n = 0, k = strlen(needle);

        for (size_t i = 0; i + k <= size; i++)
                n += memcmp(data + i, needle, k) == 0;
        return n;
}

static void check_error_id(const uint8_t *data, size_t size)
{
        _cleanup_(sd_json_variant_unrefp) sd_json_variant *v = NULL;
        _cleanup_free_ char *copy = malloc(size ?: 1), *text = NULL;
        sd_json_variant *e;
        char id[256];
        int r;

        FUZZ_CHECK(copy);
        memcpy(copy, data, size);
        r = reply_error_id(copy, size, id, sizeof(id));
        FUZZ_CHECK(r == 0 || r == 1 || r == -EBADMSG);
        if (r == 1) {
                FUZZ_CHECK(strlen(id) < sizeof(id));
                FUZZ_CHECK(!strchr(id, '\\'));
        }

        /* The comparison with sd-json, where the scanner promises to agree: one object without
         * NUL, escapes or a second "error" key, nested no deeper than the scanner goes. */
        if (memchr(data, '\0', size) || memchr(data, '\\', size) ||
                count(data, size, "\"error\"") > 1)
                return;
        text = fuzz_strndup(data, size);
        if (sd_json_parse(text, 0, &v, NULL, NULL) < 0 || !sd_json_variant_is_object(v) ||
                variant_depth(v) > REPLY_DEPTH_MAX)
                return;
        e = sd_json_variant_by_key(v, "error");
        if (!e)
                FUZZ_CHECK(r == 0);
        else if (sd_json_variant_is_string(e) && strlen(sd_json_variant_string(e)) < sizeof(id)) {
                FUZZ_CHECK(r == 1);
                FUZZ_CHECK(strcmp(id, sd_json_variant_string(e)) == 0);
        } else
                FUZZ_CHECK(r == -EBADMSG);
}

/* The call parses, is a Load, and its parameters carry `value` under `key` unchanged. */
static void check_call(const char *call, size_t n, const char *key, const char *value)
{
        _cleanup_(sd_json_variant_unrefp) sd_json_variant *v = NULL;
        sd_json_variant *params, *f;

        FUZZ_CHECK(call && n == strlen(call) + 1);
        FUZZ_CHECK(sd_json_parse(call, 0, &v, NULL, NULL) >= 0);
        f = sd_json_variant_by_key(v, "method");
        FUZZ_CHECK(f && sd_json_variant_is_string(f));
        FUZZ_CHECK(strcmp(sd_json_variant_string(f), MODCOALESCED_INTERFACE ".Load") == 0);
        params = sd_json_variant_by_key(v, "parameters");
        f = sd_json_variant_by_key(params, key);
        if (f && sd_json_variant_is_array(f)) {
                FUZZ_CHECK(sd_json_variant_elements(f) == 1);
                f = sd_json_variant_by_index(f, 0);
                FUZZ_CHECK(sd_json_variant_boolean(sd_json_variant_by_key(params, "fromKernel")));
        }
        FUZZ_CHECK(f && sd_json_variant_is_string(f));
        FUZZ_CHECK(strcmp(sd_json_variant_string(f), value) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *s = fuzz_strndup(data, size);
        size_t n = 0;

        check_error_id(data, size);
        if (modalias_validate(s, NULL) == 0) {
                _cleanup_free_ char *call = reply_format_load(s, &n);
                check_call(call, n, "modalias", s);
        }
        if (modname_validate(s, NULL) == 0) {
                _cleanup_free_ char *call = reply_format_kernel_load(s, &n);
                check_call(call, n, "modules", s);
        }
        return 0;
}
