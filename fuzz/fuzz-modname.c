/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-modname — module names, MODALIAS strings and module parameters through the checks of
 * modname.h, against an independent statement of what each may accept: every verdict is one of
 * the documented ones, comes with a reason, and nothing accepted could reach a path or a
 * control byte. */
#include <errno.h>
#include <stdbool.h>

#include "fuzz.h"
#include "modname.h"

static bool all_printable(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) s[i] < 0x20 || (unsigned char) s[i] >= 0x7f)
                        return false;
        return true;
}

static void check_verdict(int r, const char *reason)
{
        FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ENAMETOOLONG);
        if (r < 0)
                FUZZ_CHECK(reason && reason[0] != '\0');
}

static void check_name(const char *s)
{
        const char *reason = NULL;
        size_t n = strlen(s);
        int r = modname_validate(s, &reason);

        check_verdict(r, reason);
        FUZZ_CHECK(r == modname_validate(s, NULL));
        if (r == 0) {
                FUZZ_CHECK(n >= 1 && n <= MODULE_NAME_MAX);
                FUZZ_CHECK(all_printable(s, n));
                FUZZ_CHECK(!strchr(s, ' ') && !strchr(s, '/') && !strstr(s, ".."));
        } else if (r == -ENAMETOOLONG) {
                FUZZ_CHECK(n > MODULE_NAME_MAX);
        } else if (n >= 1 && n <= MODULE_NAME_MAX && all_printable(s, n) && !strchr(s, ' ') &&
                !strchr(s, '/') && !strstr(s, "..")) {
                FUZZ_CHECK(!"a valid module name was refused");
        }
}

static void check_modalias(const char *s)
{
        const char *reason = NULL;
        size_t n = strlen(s),
               bus = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");
        bool valid = n >= 1 && n <= MODALIAS_MAX && all_printable(s, n) && bus > 0 && s[bus] == ':';
        int r = modalias_validate(s, &reason);

        check_verdict(r, reason);
        FUZZ_CHECK((r == 0) == valid);
        if (r == -ENAMETOOLONG)
                FUZZ_CHECK(n > MODALIAS_MAX);
}

static void check_params(const char *s)
{
        const char *reason = NULL;
        size_t n = strlen(s);
        int r = module_params_validate(s, &reason);

        check_verdict(r, reason);
        FUZZ_CHECK((r == 0) == (n <= MODULE_PARAMS_MAX && all_printable(s, n)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *s = fuzz_strndup(data, size);

        check_name(s);
        check_modalias(s);
        check_params(s);
        free(s);
        return 0;
}
