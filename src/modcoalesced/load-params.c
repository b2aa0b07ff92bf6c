/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* load-params.c — see load-params.h. Exactly one of modalias and modules; every name, the
 * MODALIAS and the parameters pass the checks of modname.h before anything is looked up. */
#include <errno.h>
#include <stddef.h>

#include "cleanup.h"
#include "load-params.h"
#include "modname.h"

/* sd_json_dispatch_stdbool() refuses null although the IDL declares fromKernel, waitedBefore,
 * blacklist and brief nullable, so a client sending "fromKernel": null got InvalidParameter.
 * Null means false. */
static int dispatch_nullable_bool(
        const char *name, sd_json_variant *v, sd_json_dispatch_flags_t flags, void *userdata)
{
        bool *b = userdata;

        if (sd_json_variant_is_null(v)) {
                *b = false;
                return 0;
        }
        if (!sd_json_variant_is_boolean(v))
                return -EINVAL;
        *b = sd_json_variant_boolean(v);
        return 0;
}

const sd_json_dispatch_field load_params_table[] = {
        { "modalias", SD_JSON_VARIANT_STRING, sd_json_dispatch_const_string,
                offsetof(LoadParams, modalias), SD_JSON_NULLABLE },
        { "modules", SD_JSON_VARIANT_ARRAY, sd_json_dispatch_strv, offsetof(LoadParams, modules),
                SD_JSON_NULLABLE },
        { "parameters", SD_JSON_VARIANT_STRING, sd_json_dispatch_const_string,
                offsetof(LoadParams, parameters), SD_JSON_NULLABLE },
        { "fromKernel", SD_JSON_VARIANT_BOOLEAN, dispatch_nullable_bool,
                offsetof(LoadParams, from_kernel), SD_JSON_NULLABLE },
        { "waitedBefore", SD_JSON_VARIANT_BOOLEAN, dispatch_nullable_bool,
                offsetof(LoadParams, waited_before), SD_JSON_NULLABLE },
        { "blacklist", SD_JSON_VARIANT_BOOLEAN, dispatch_nullable_bool,
                offsetof(LoadParams, blacklist), SD_JSON_NULLABLE },
        { "brief", SD_JSON_VARIANT_BOOLEAN, dispatch_nullable_bool, offsetof(LoadParams, brief),
                SD_JSON_NULLABLE },
        {},
};

void load_params_done(LoadParams *p)
{
        p->modules = strv_free(p->modules);
}

static int invalid(const char **ret_parameter, const char **ret_reason, int r,
        const char *parameter, const char *reason)
{
        if (ret_parameter)
                *ret_parameter = parameter;
        if (ret_reason)
                *ret_reason = reason;
        return r;
}

int load_params_validate(const LoadParams *p, const char **ret_parameter, const char **ret_reason)
{
        const char *reason = NULL;
        size_t n = strv_length(p->modules);
        int r;

        if (!!p->modalias == (n > 0))
                return invalid(ret_parameter, ret_reason, -EINVAL,
                        p->modalias ? "modules" : "modalias",
                        "give exactly one of modalias and modules");
        if (p->blacklist && p->modalias)
                return invalid(ret_parameter, ret_reason, -EINVAL, "blacklist",
                        "only with modules: a MODALIAS is always resolved with the blacklist");
        if (n > LOAD_PARAMS_MAX_NAMES)
                return invalid(ret_parameter, ret_reason, -E2BIG, "modules",
                        "too many names (at most 64)");
        if (p->modalias && (r = modalias_validate(p->modalias, &reason)) < 0)
                return invalid(ret_parameter, ret_reason, r, "modalias", reason);
        for (size_t i = 0; i < n; i++)
                if ((r = modname_validate(p->modules[i], &reason)) < 0)
                        return invalid(ret_parameter, ret_reason, r, "modules", reason);
        if ((r = module_params_validate(p->parameters, &reason)) < 0)
                return invalid(ret_parameter, ret_reason, r, "parameters", reason);
        return 0;
}
