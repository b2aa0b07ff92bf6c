/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-load-params — Load's parameters as the handler takes them: JSON text → sd_json_parse() →
 * the dispatch table → load_params_validate(). Asserts that a dispatch failure names a field
 * and, for one of Load's given once, that its value is not null (the IDL makes them all
 * nullable); that every refusal names one of Load's fields with a reason and a documented errno;
 * and that whatever is accepted is exactly one of modalias and 1..64 names, each passing the
 * checks of modname.h. Leak-free per input (LeakSanitizer). */
#include <errno.h>

#include "cleanup.h"
#include "fuzz.h"
#include "load-params.h"
#include "modname.h"

static bool is_load_field(const char *name)
{
        for (const sd_json_dispatch_field *f = load_params_table; f->name; f++)
                if (strcmp(f->name, name) == 0)
                        return true;
        return false;
}

static size_t key_count(sd_json_variant *object, const char *key)
{
        size_t n = 0;

        /* An object's elements alternate: key, value, key, value… */
        for (size_t i = 0; i < sd_json_variant_elements(object); i += 2)
                n += strcmp(sd_json_variant_string(sd_json_variant_by_index(object, i)), key) == 0;
        return n;
}

static void check_accepted(const LoadParams *p)
{
        size_t n = strv_length(p->modules);

        FUZZ_CHECK(!!p->modalias != (n > 0));
        FUZZ_CHECK(n <= LOAD_PARAMS_MAX_NAMES);
        if (p->modalias)
                FUZZ_CHECK(modalias_validate(p->modalias, NULL) == 0);
        for (size_t i = 0; i < n; i++)
                FUZZ_CHECK(modname_validate(p->modules[i], NULL) == 0);
        FUZZ_CHECK(module_params_validate(p->parameters, NULL) == 0);
}

static void check_refused(int r, const char *parameter, const char *reason)
{
        FUZZ_CHECK(r == -EINVAL || r == -ENAMETOOLONG || r == -E2BIG);
        FUZZ_CHECK(parameter && reason && reason[0] != '\0');
        FUZZ_CHECK(strcmp(parameter, "modalias") == 0 || strcmp(parameter, "modules") == 0 ||
                strcmp(parameter, "parameters") == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_(sd_json_variant_unrefp) sd_json_variant *v = NULL;
        _cleanup_(load_params_done) LoadParams p = {};
        _cleanup_free_ char *text = fuzz_strndup(data, size);
        const char *bad = NULL, *parameter = NULL, *reason = NULL;
        int r;

        if (sd_json_parse(text, 0, &v, NULL, NULL) < 0 || !sd_json_variant_is_object(v))
                return 0;
        r = sd_json_dispatch_full(v, load_params_table, NULL, 0, &p, &bad);
        if (r < 0) {
                FUZZ_CHECK(r == -ENOMEM || bad);
                /* Every field of Load is nullable in the IDL: a null is never what is wrong
                 * with one of them (an unknown or repeated field is wrong whatever its value). */
                if (bad && is_load_field(bad) && key_count(v, bad) == 1)
                        FUZZ_CHECK(!sd_json_variant_is_null(sd_json_variant_by_key(v, bad)));
                return 0;
        }
        r = load_params_validate(&p, &parameter, &reason);
        if (r == 0)
                check_accepted(&p);
        else
                check_refused(r, parameter, reason);
        /* The same verdict without the optional out-parameters. */
        FUZZ_CHECK(load_params_validate(&p, NULL, NULL) == r);
        return 0;
}
