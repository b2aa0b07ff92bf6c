/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* plan.c — see plan.h. */
#include <errno.h>
#include <string.h>

#include "plan.h"

static const char *const compression_names[_COMPRESSION_MAX] = {
        [COMPRESSION_NONE] = "none",
        [COMPRESSION_XZ] = "xz",
        [COMPRESSION_ZSTD] = "zstd",
        [COMPRESSION_GZIP] = "gzip",
};

const char *compression_to_string(Compression c)
{
        return c >= 0 && c < _COMPRESSION_MAX ? compression_names[c] : NULL;
}

static bool endswith(const char *s, const char *suffix)
{
        size_t n = strlen(s), m = strlen(suffix);
        return n >= m && strcmp(s + n - m, suffix) == 0;
}

Compression compression_from_path(const char *path)
{
        if (endswith(path, ".xz"))
                return COMPRESSION_XZ;
        if (endswith(path, ".zst"))
                return COMPRESSION_ZSTD;
        if (endswith(path, ".gz"))
                return COMPRESSION_GZIP;
        return COMPRESSION_NONE;
}

Compression compression_from_string(const char *s)
{
        size_t n = strcspn(s, "\n");

        for (Compression c = COMPRESSION_XZ; c < _COMPRESSION_MAX; c++)
                if (strlen(compression_names[c]) == n && strncmp(s, compression_names[c], n) == 0)
                        return c;
        return COMPRESSION_NONE;
}

int plan_new(Plan **ret)
{
        _cleanup_(plan_unrefp) Plan *p = NULL;

        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->n_ref = 1;
        p->builtin = calloc(1, sizeof(char *));
        p->blacklisted = calloc(1, sizeof(char *));
        if (!p->builtin || !p->blacklisted)
                return -ENOMEM;
        *ret = TAKE_PTR(p);
        return 0;
}

Plan *plan_ref(Plan *p)
{
        if (p)
                p->n_ref++;
        return p;
}

Plan *plan_unref(Plan *p)
{
        if (!p || --p->n_ref > 0)
                return NULL;
        for (size_t i = 0; i < p->n_modules; i++) {
                free(p->modules[i].name);
                free(p->modules[i].path);
                free(p->modules[i].parameters);
                free(p->modules[i].install_command);
                free(p->modules[i].after);
        }
        free(p->modules);
        strv_free(p->builtin);
        strv_free(p->blacklisted);
        free(p);
        return NULL;
}

PlanModule *plan_find(Plan *p, const char *name)
{
        for (size_t i = 0; i < p->n_modules; i++)
                if (strcmp(p->modules[i].name, name) == 0)
                        return &p->modules[i];
        return NULL;
}

int plan_append(Plan *p, PlanModule **ret)
{
        PlanModule *m;

        m = reallocarray(p->modules, p->n_modules + 1, sizeof(PlanModule));
        if (!m)
                return -ENOMEM;
        p->modules = m;
        m = &p->modules[p->n_modules++];
        *m = (PlanModule){};
        *ret = m;
        return 0;
}

int plan_add_name(char ***list, const char *name)
{
        size_t n = strv_length(*list);
        char **l, *s;

        for (size_t i = 0; i < n; i++)
                if (strcmp((*list)[i], name) == 0)
                        return 0;
        s = strdup(name);
        if (!s)
                return -ENOMEM;
        l = reallocarray(*list, n + 2, sizeof(char *));
        if (!l) {
                free(s);
                return -ENOMEM;
        }
        l[n] = s;
        l[n + 1] = NULL;
        *list = l;
        return 0;
}

int plan_add_after(Plan *p, size_t j, size_t i)
{
        PlanModule *m;
        uint32_t *a;

        if (i >= j || j >= p->n_modules)
                return 0;
        m = &p->modules[j];
        for (uint32_t k = 0; k < m->n_after; k++)
                if (m->after[k] == i)
                        return 0;
        a = reallocarray(m->after, m->n_after + 1, sizeof(uint32_t));
        if (!a)
                return -ENOMEM;
        a[m->n_after++] = (uint32_t) i;
        m->after = a;
        return 0;
}
