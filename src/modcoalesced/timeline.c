/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* timeline.c — see timeline.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "timeline.h"

struct Timeline {
        LoadRecord *ring;
        size_t size; /* capacity */
        size_t n; /* records held */
        size_t first; /* index of the oldest */
        uint64_t dropped;
};

static const char *const result_names[_LOAD_RESULT_MAX] = {
        [LOAD_RESULT_LOADED] = "loaded",
        [LOAD_RESULT_ALREADY_LOADED] = "already-loaded",
        [LOAD_RESULT_FAILED] = "failed",
        [LOAD_RESULT_COMING] = "coming",
        [LOAD_RESULT_GOING] = "going",
};

const char *load_result_to_string(LoadResult r)
{
        return r >= 0 && r < _LOAD_RESULT_MAX ? result_names[r] : NULL;
}

int load_result_from_string(const char *s)
{
        for (LoadResult r = 0; s && r < _LOAD_RESULT_MAX; r++)
                if (strcmp(s, result_names[r]) == 0)
                        return (int) r;
        return -EINVAL;
}

int timeline_new(Timeline **ret, size_t size)
{
        _cleanup_(timeline_freep) Timeline *t = NULL;

        if (size == 0)
                return -EINVAL;
        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->ring = calloc(size, sizeof(LoadRecord));
        if (!t->ring)
                return -ENOMEM;
        t->size = size;
        *ret = TAKE_PTR(t);
        return 0;
}

Timeline *timeline_free(Timeline *t)
{
        if (!t)
                return NULL;
        free(t->ring);
        free(t);
        return NULL;
}

void timeline_add(Timeline *t, const LoadRecord *r)
{
        if (t->n == t->size) {
                t->ring[t->first] = *r;
                t->first = (t->first + 1) % t->size;
                t->dropped++;
                return;
        }
        t->ring[(t->first + t->n) % t->size] = *r;
        t->n++;
}

size_t timeline_size(const Timeline *t)
{
        return t->n;
}

const LoadRecord *timeline_get(const Timeline *t, size_t i)
{
        return i < t->n ? &t->ring[(t->first + i) % t->size] : NULL;
}

uint64_t timeline_dropped(const Timeline *t)
{
        return t->dropped;
}

static int record_to_json(const LoadRecord *r, sd_json_variant **array)
{
        const char *errno_name = r->error < 0 ? strerrorname_np(-r->error) : NULL;

        return sd_json_variant_append_arraybo(array, SD_JSON_BUILD_PAIR_STRING("name", r->name),
                SD_JSON_BUILD_PAIR_STRING("method", r->method),
                SD_JSON_BUILD_PAIR_UNSIGNED("queuedUSec", r->queued),
                SD_JSON_BUILD_PAIR_UNSIGNED("startedUSec", r->started),
                SD_JSON_BUILD_PAIR_UNSIGNED("finishedUSec", r->finished),
                SD_JSON_BUILD_PAIR_UNSIGNED("requesters", r->requesters),
                SD_JSON_BUILD_PAIR_STRING("result", load_result_to_string(r->result)),
                SD_JSON_BUILD_PAIR_CONDITION(
                        r->error < 0, "errno", SD_JSON_BUILD_INTEGER(-r->error)),
                SD_JSON_BUILD_PAIR_CONDITION(
                        !!errno_name, "errnoName", SD_JSON_BUILD_STRING(errno_name)),
                SD_JSON_BUILD_PAIR_UNSIGNED("bytesRead", r->bytes_read),
                SD_JSON_BUILD_PAIR_UNSIGNED("bytesDecompressed", r->bytes_decompressed));
}

int timeline_to_json(const Timeline *t, sd_json_variant **ret)
{
        _cleanup_(sd_json_variant_unrefp) sd_json_variant *a = NULL;
        int k;

        for (size_t i = 0; i < t->n; i++)
                if ((k = record_to_json(timeline_get(t, i), &a)) < 0)
                        return k;
        if (!a && (k = sd_json_variant_new_array(&a, NULL, 0)) < 0)
                return k;
        *ret = TAKE_PTR(a);
        return 0;
}

static uint64_t field_unsigned(sd_json_variant *v, const char *key, bool *ok)
{
        sd_json_variant *f = sd_json_variant_by_key(v, key);

        if (!f || !sd_json_variant_is_unsigned(f)) {
                *ok = false;
                return 0;
        }
        return sd_json_variant_unsigned(f);
}

static const char *field_string(sd_json_variant *v, const char *key, size_t max, bool *ok)
{
        sd_json_variant *f = sd_json_variant_by_key(v, key);
        const char *s = f && sd_json_variant_is_string(f) ? sd_json_variant_string(f) : NULL;

        if (!s || strlen(s) >= max) {
                *ok = false;
                return "";
        }
        return s;
}

/* One saved record; false if it is not one (the file is ours, but /run is writable by root). */
static bool record_from_json(sd_json_variant *v, LoadRecord *r)
{
        const char *name, *method;
        uint64_t error;
        bool ok = true;
        int result;

        *r = (LoadRecord){};
        name = field_string(v, "name", sizeof(r->name), &ok);
        method = field_string(v, "method", sizeof(r->method), &ok);
        r->queued = field_unsigned(v, "queuedUSec", &ok);
        r->started = field_unsigned(v, "startedUSec", &ok);
        r->finished = field_unsigned(v, "finishedUSec", &ok);
        r->requesters = (uint32_t) field_unsigned(v, "requesters", &ok);
        result = load_result_from_string(field_string(v, "result", 32, &ok));
        r->bytes_read = field_unsigned(v, "bytesRead", &ok);
        r->bytes_decompressed = field_unsigned(v, "bytesDecompressed", &ok);
        error = sd_json_variant_by_key(v, "errno") ? field_unsigned(v, "errno", &ok) : 0;
        if (!ok || result < 0 || modname_validate(name, NULL) < 0 || error > 4095 ||
                r->started < r->queued || r->finished < r->started)
                return false;
        r->result = (LoadResult) result;
        strcpy(r->name, name);
        strcpy(r->method, method);
        r->error = -(int32_t) error;
        return true;
}

int timeline_save(const Timeline *t, const char *path)
{
        _cleanup_(sd_json_variant_unrefp) sd_json_variant *loads = NULL, *v = NULL;
        _cleanup_free_ char *tmp = NULL;
        FILE *f;
        int k;

        if ((k = timeline_to_json(t, &loads)) < 0)
                return k;
        k = sd_json_buildo(&v, SD_JSON_BUILD_PAIR_UNSIGNED("dropped", t->dropped),
                SD_JSON_BUILD_PAIR_VARIANT("loads", loads));
        if (k < 0)
                return k;
        if (asprintf(&tmp, "%s.new", path) < 0)
                return -ENOMEM;
        f = fopen(tmp, "we");
        if (!f)
                return -errno;
        k = sd_json_variant_dump(v, SD_JSON_FORMAT_NEWLINE, f, NULL);
        if (k >= 0 && (fflush(f) != 0 || ferror(f)))
                k = -EIO;
        if (fclose(f) != 0 && k >= 0)
                k = -errno;
        if (k >= 0 && rename(tmp, path) < 0)
                k = -errno;
        if (k < 0)
                (void) unlink(tmp);
        return k < 0 ? k : 0;
}

int timeline_load(Timeline *t, const char *path)
{
        _cleanup_(sd_json_variant_unrefp) sd_json_variant *v = NULL;
        sd_json_variant *loads, *dropped;
        struct stat st;
        int k, n = 0;
        FILE *f;

        f = fopen(path, "re");
        if (!f)
                return errno == ENOENT ? 0 : -errno;
        if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > TIMELINE_FILE_MAX)
                k = -EBADMSG;
        else
                k = sd_json_parse_file(f, path, 0, &v, NULL, NULL);
        fclose(f);
        if (k < 0)
                return k;
        loads = sd_json_variant_by_key(v, "loads");
        if (!loads || !sd_json_variant_is_array(loads))
                return -EBADMSG;
        dropped = sd_json_variant_by_key(v, "dropped");
        if (dropped && sd_json_variant_is_unsigned(dropped))
                t->dropped += sd_json_variant_unsigned(dropped);
        for (size_t i = 0; i < sd_json_variant_elements(loads); i++) {
                LoadRecord r;

                if (!record_from_json(sd_json_variant_by_index(loads, i), &r))
                        continue;
                timeline_add(t, &r);
                n++;
        }
        return n;
}
