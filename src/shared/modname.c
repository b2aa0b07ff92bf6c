/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* modname.c — see modname.h. Everything accepted is printable ASCII: module names and kernel
 * aliases are ASCII, and a byte ≥ 0x80 is either invalid UTF-8 or nothing the kernel emits. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "modname.h"

static int fail(const char **ret_reason, int r, const char *why)
{
        if (ret_reason)
                *ret_reason = why;
        return r;
}

static bool is_printable(unsigned char c)
{
        return c >= 0x20 && c < 0x7f;
}

int modname_validate(const char *name, const char **ret_reason)
{
        size_t n;

        if (!name || name[0] == '\0')
                return fail(ret_reason, -EINVAL, "empty module name");
        n = strnlen(name, MODULE_NAME_MAX + 1);
        if (n > MODULE_NAME_MAX)
                return fail(ret_reason, -ENAMETOOLONG, "module name longer than the kernel allows");
        for (size_t i = 0; i < n; i++) {
                unsigned char c = name[i];

                if (c >= 0x80)
                        return fail(ret_reason, -EINVAL, "module name is not ASCII");
                if (!is_printable(c) || c == ' ')
                        return fail(ret_reason, -EINVAL,
                                "module name contains whitespace or control characters");
                if (c == '/')
                        return fail(ret_reason, -EINVAL, "module name contains '/'");
        }
        if (strstr(name, ".."))
                return fail(ret_reason, -EINVAL, "module name contains '..'");
        return 0;
}

int modalias_validate(const char *modalias, const char **ret_reason)
{
        size_t n, prefix = 0;

        if (!modalias || modalias[0] == '\0')
                return fail(ret_reason, -EINVAL, "empty MODALIAS");
        n = strnlen(modalias, MODALIAS_MAX + 1);
        if (n > MODALIAS_MAX)
                return fail(ret_reason, -ENAMETOOLONG, "MODALIAS longer than a sysfs attribute");
        for (size_t i = 0; i < n; i++) {
                unsigned char c = modalias[i];

                if (c >= 0x80)
                        return fail(ret_reason, -EINVAL, "MODALIAS is not ASCII");
                if (!is_printable(c))
                        return fail(ret_reason, -EINVAL, "MODALIAS contains control characters");
        }
        /* Every modalias the kernel emits starts with its bus: "pci:", "cpu:", "dmi:", "of:"… */
        while ((modalias[prefix] >= 'a' && modalias[prefix] <= 'z') ||
                (modalias[prefix] >= 'A' && modalias[prefix] <= 'Z') ||
                (modalias[prefix] >= '0' && modalias[prefix] <= '9') || modalias[prefix] == '_' ||
                modalias[prefix] == '-')
                prefix++;
        if (prefix == 0 || modalias[prefix] != ':')
                return fail(ret_reason, -EINVAL, "MODALIAS does not start with 'bus:'");
        return 0;
}

int module_params_validate(const char *params, const char **ret_reason)
{
        size_t n;

        if (!params)
                return 0;
        n = strnlen(params, MODULE_PARAMS_MAX + 1);
        if (n > MODULE_PARAMS_MAX)
                return fail(ret_reason, -ENAMETOOLONG, "parameters too long");
        for (size_t i = 0; i < n; i++) {
                unsigned char c = params[i];

                if (c >= 0x80)
                        return fail(ret_reason, -EINVAL, "parameters are not ASCII");
                if (!is_printable(c))
                        return fail(ret_reason, -EINVAL, "parameters contain control characters");
        }
        return 0;
}
