/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon-call.c — see daemon-call.h. */
#include <errno.h>
#include <stdio.h>

#include "cleanup.h"
#include "daemon-call.h"
#include "log.h"

int ctl_connect(const CtlOptions *o, sd_varlink **ret)
{
        int k = sd_varlink_connect_address(ret, o->socket);

        if (k < 0)
                return log_error_errno(k, "Cannot connect to %s: %m", o->socket);
        return 0;
}

const char *json_str(sd_json_variant *v, const char *key)
{
        sd_json_variant *f = sd_json_variant_by_key(v, key);
        return f && sd_json_variant_is_string(f) ? sd_json_variant_string(f) : "-";
}

uint64_t json_num(sd_json_variant *v, const char *key)
{
        sd_json_variant *f = sd_json_variant_by_key(v, key);
        return f && sd_json_variant_is_unsigned(f) ? sd_json_variant_unsigned(f) : 0;
}

void ctl_dump(sd_json_variant *v)
{
        (void) sd_json_variant_dump(
                v, SD_JSON_FORMAT_NEWLINE | SD_JSON_FORMAT_PRETTY_AUTO, stdout, NULL);
}

int ctl_call(
        const CtlOptions *o, const char *method, sd_json_variant *params, sd_json_variant **ret)
{
        _cleanup_(sd_varlink_unrefp) sd_varlink *link = NULL;
        const char *error = NULL;
        sd_json_variant *reply = NULL;
        int k;

        k = ctl_connect(o, &link);
        if (k < 0)
                return k;
        k = sd_varlink_call(link, method, params, &reply, &error);
        if (k < 0)
                return log_error_errno(k, "%s failed: %m", method);
        if (error) {
                if (o->json)
                        ctl_dump(reply);
                fprintf(stderr, "modcoalescectl: %s", error);
                if (reply && sd_json_variant_by_key(reply, "module"))
                        fprintf(stderr, " (module %s", json_str(reply, "module"));
                if (reply && sd_json_variant_by_key(reply, "errnoName"))
                        fprintf(stderr, ", %s", json_str(reply, "errnoName"));
                if (reply && sd_json_variant_by_key(reply, "module"))
                        fputc(')', stderr);
                if (reply && sd_json_variant_by_key(reply, "reason"))
                        fprintf(stderr, ": %s: %s", json_str(reply, "parameter"),
                                json_str(reply, "reason"));
                fputc('\n', stderr);
                return -EIO;
        }
        /* The reply belongs to the connection: keep a reference beyond it. */
        *ret = sd_json_variant_ref(reply);
        return 0;
}
