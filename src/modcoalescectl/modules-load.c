/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* modules-load.c — see modules-load.h. The reading follows modules-load.d(5) and the failure
 * semantics follow systemd-modules-load: a module that is not found, or whose init says ENODEV or
 * ENOENT (no such hardware), is logged and not a failure; a blacklisted one is skipped (the
 * blacklist applies to names, as there). Each module is one Load of its own, so that one failure
 * never skips the others. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <systemd/sd-varlink.h>

#include "cleanup.h"
#include "log.h"
#include "modname.h"
#include "modules-load.h"
#include "varlink-idl.h"

#define MODULES_LOAD_TIMEOUT_USEC (80ULL * 1000000ULL)

static const char *const conf_dirs[] = {
        "/etc/modules-load.d",
        "/run/modules-load.d",
        "/usr/local/lib/modules-load.d",
        "/usr/lib/modules-load.d",
};

/* Lists are built as JSON arrays of strings: sd-json owns the memory while they grow. */
static int push(sd_json_variant **l, const char *s)
{
        return sd_json_variant_append_arrayb(l, SD_JSON_BUILD_STRING(s));
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* modules_load=a,b and rd.modules_load=c (also with '-' for '_', as systemd takes them). */
static int cmdline_modules(const char *cmdline, bool in_initrd, sd_json_variant **l)
{
        _cleanup_free_ char *copy = strdup(cmdline ?: "");
        char *save = NULL;
        int k;

        if (!copy)
                return -ENOMEM;
        for (char *w = strtok_r(copy, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save)) {
                char *v = NULL, *save2 = NULL;

                if (strncmp(w, "rd.", 3) == 0) {
                        if (!in_initrd)
                                continue;
                        w += 3;
                }
                if (strncmp(w, "modules_load=", 13) == 0 || strncmp(w, "modules-load=", 13) == 0)
                        v = w + 13;
                if (!v)
                        continue;
                for (char *m = strtok_r(v, ",", &save2); m; m = strtok_r(NULL, ",", &save2))
                        if ((k = push(l, m)) < 0)
                                return k;
        }
        return 0;
}

/* The *.conf names of all directories, sorted, each once. */
static int conf_names(const char *root, char ***ret)
{
        _cleanup_(sd_json_variant_unrefp) sd_json_variant *found = NULL;
        _cleanup_strv_free_ char **names = NULL;
        size_t n, j = 0;
        int k;

        for (size_t i = 0; i < ELEMENTSOF(conf_dirs); i++) {
                _cleanup_free_ char *dir = NULL;
                struct dirent *de;
                DIR *d;

                if (asprintf(&dir, "%s%s", root, conf_dirs[i]) < 0)
                        return -ENOMEM;
                d = opendir(dir);
                if (!d)
                        continue;
                k = 0;
                while (k >= 0 && (de = readdir(d))) {
                        size_t len = strlen(de->d_name);

                        if (de->d_name[0] != '.' && len > 5 &&
                                strcmp(de->d_name + len - 5, ".conf") == 0)
                                k = push(&found, de->d_name);
                }
                closedir(d);
                if (k < 0)
                        return k;
        }
        if (!found)
                return (*ret = calloc(1, sizeof(char *))) ? 0 : -ENOMEM;
        k = sd_json_variant_strv(found, &names);
        if (k < 0)
                return k;
        n = strv_length(names);
        qsort(names, n, sizeof(char *), cmp_str);
        for (size_t i = 0; i < n; i++)
                if (j > 0 && strcmp(names[j - 1], names[i]) == 0)
                        free(names[i]);
                else
                        names[j++] = names[i];
        names[j] = NULL;
        *ret = TAKE_PTR(names);
        return 0;
}

/* The lines of the first directory's file of that name (a link to /dev/null masks it). */
static int conf_file_modules(const char *root, const char *name, sd_json_variant **l)
{
        for (size_t i = 0; i < ELEMENTSOF(conf_dirs); i++) {
                _cleanup_free_ char *path = NULL, *line = NULL;
                size_t size = 0;
                FILE *f;
                int k = 0;

                if (asprintf(&path, "%s%s/%s", root, conf_dirs[i], name) < 0)
                        return -ENOMEM;
                f = fopen(path, "re");
                if (!f) {
                        if (errno == ENOENT)
                                continue;
                        return log_warning_errno(errno, "Cannot read %s: %m", path);
                }
                while (k >= 0 && getline(&line, &size, f) >= 0) {
                        char *s = line + strspn(line, " \t");

                        s[strcspn(s, "\r\n")] = '\0';
                        for (size_t e = strlen(s); e > 0 && strchr(" \t", s[e - 1]); e--)
                                s[e - 1] = '\0';
                        if (*s && *s != '#' && *s != ';')
                                k = push(l, s);
                }
                fclose(f);
                return k;
        }
        return 0;
}

int modules_load_list(const char *root, const char *cmdline, bool in_initrd, char ***ret)
{
        _cleanup_(sd_json_variant_unrefp) sd_json_variant *l = NULL;
        _cleanup_strv_free_ char **names = NULL;
        int k;

        k = cmdline_modules(cmdline, in_initrd, &l);
        if (k < 0)
                return k;
        k = conf_names(root, &names);
        if (k < 0)
                return k;
        for (char **i = names; *i; i++)
                if ((k = conf_file_modules(root, *i, &l)) < 0)
                        return k;
        if (!l)
                return (*ret = calloc(1, sizeof(char *))) ? 0 : -ENOMEM;
        return sd_json_variant_strv(l, ret);
}

/* MODCOALESCED_PROC_CMDLINE and MODCOALESCED_MODULES_LOAD exist for the tests only. */
static char *read_cmdline(void)
{
        const char *path = getenv("MODCOALESCED_PROC_CMDLINE") ?: "/proc/cmdline";
        char *buf = NULL;
        size_t size = 0;
        FILE *f = fopen(path, "re");

        if (!f)
                return strdup("");
        if (getline(&buf, &size, f) < 0) {
                free(buf);
                buf = strdup("");
        }
        fclose(f);
        return buf;
}

/* 0 loaded or nothing to do, 1 a failure that counts, -errno when the daemon could not answer. */
static int load_one(sd_varlink *link, const char *name)
{
        _cleanup_(sd_json_variant_unrefp) sd_json_variant *params = NULL;
        sd_json_variant *reply = NULL, *e;
        const char *error = NULL;
        int k;

        if (modname_validate(name, NULL) < 0) {
                log_error("Invalid module name '%s', ignoring.", name);
                return 1;
        }
        char *const names[] = { (char *) name, NULL };

        k = sd_json_buildo(&params,
                SD_JSON_BUILD_PAIR("modules", SD_JSON_BUILD_STRV((char **) names)),
                SD_JSON_BUILD_PAIR_BOOLEAN("blacklist", true));
        if (k < 0)
                return k;
        k = sd_varlink_call(link, MODCOALESCED_INTERFACE ".Load", params, &reply, &error);
        if (k < 0)
                return k;
        if (!error) {
                log_info("Module '%s' loaded through modcoalesced.", name);
                return 0;
        }
        if (strcmp(error, VL_ERROR_SHUTTING_DOWN) == 0 ||
                strcmp(error, VL_ERROR_TOO_MANY_REQUESTS) == 0)
                return -EAGAIN;
        if (strcmp(error, VL_ERROR_NO_SUCH_MODULE) == 0) {
                log_error("Failed to find module '%s'", name);
                return 0;
        }
        e = sd_json_variant_by_key(reply, "errno");
        if (strcmp(error, VL_ERROR_LOAD_FAILED) == 0 && e && sd_json_variant_is_integer(e)) {
                int err = (int) sd_json_variant_integer(e);

                if (err == ENODEV || err == ENOENT) {
                        log_notice("Failed to insert module '%s': %s", name, strerror(err));
                        return 0;
                }
                log_error("Failed to insert module '%s': %s", name, strerror(err));
                return 1;
        }
        log_error("Failed to load module '%s': %s", name, error);
        return 1;
}

int verb_modules_load(const CtlOptions *o, const char *root)
{
        _cleanup_(sd_varlink_unrefp) sd_varlink *link = NULL;
        _cleanup_strv_free_ char **modules = NULL;
        _cleanup_free_ char *cmdline = read_cmdline();
        _cleanup_free_ char *initrd_release = NULL;
        int k, failed = 0;

        if (!cmdline || asprintf(&initrd_release, "%s/etc/initrd-release", root ?: "") < 0)
                return log_oom();
        k = modules_load_list(root ?: "", cmdline, access(initrd_release, F_OK) == 0, &modules);
        if (k < 0)
                return log_error_errno(k, "Cannot read modules-load.d: %m");
        if (!modules[0])
                return 0;
        k = sd_varlink_connect_address(&link, o->socket);
        /* Inside the unit's TimeoutSec=90s, beyond the daemon's request timeout (50 s). */
        if (k >= 0)
                k = sd_varlink_set_relative_timeout(link, MODULES_LOAD_TIMEOUT_USEC);
        for (char **m = modules; k >= 0 && *m; m++) {
                k = load_one(link, *m);
                if (k == -ETIME) {
                        /* The daemon carries the load on; a second loader would not help. */
                        log_error("Module '%s' still loading after %llu s.", *m,
                                MODULES_LOAD_TIMEOUT_USEC / 1000000ULL);
                        return -EIO;
                }
                if (k > 0)
                        failed++;
        }
        if (k < 0) {
                /* No daemon to answer: systemd-modules-load does it all, as without us (what
                 * is loaded already is answered at once). */
                const char *stock = getenv("MODCOALESCED_MODULES_LOAD") ?: SYSTEMD_MODULES_LOAD;

                log_notice_errno(k, "modcoalesced cannot answer (%m): running %s.", stock);
                execl(stock, stock, NULL);
                return log_error_errno(errno, "Cannot run %s: %m", stock);
        }
        return failed > 0 ? -EIO : 0;
}
