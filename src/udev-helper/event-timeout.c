/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* event-timeout.c — see event-timeout.h. libc only, as the rest of the helper. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "event-timeout.h"

static const char *const conf_dirs[] = { "/etc/udev", "/run/udev", "/usr/local/lib/udev",
        "/usr/lib/udev" };

/* "180", "180s", "3min"…: seconds, or 0 for what does not parse (or is 0), which is ignored as
 * udevd ignores it. */
static unsigned parse_timeout(const char *s)
{
        unsigned long v;
        char *end;

        while (*s == ' ' || *s == '\t' || *s == '"' || *s == '\'')
                s++;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || end == s || v > 86400)
                return 0;
        while (*end == ' ')
                end++;
        if (strncmp(end, "min", 3) == 0)
                v *= 60, end += 3;
        else if (*end == 'm')
                v *= 60, end += 1;
        else if (strncmp(end, "sec", 3) == 0)
                end += 3;
        else if (*end == 's')
                end += 1;
        while (*end == ' ' || *end == '\t' || *end == '"' || *end == '\'' || *end == '\n')
                end++;
        return *end == '\0' ? (unsigned) v : 0;
}

/* The last valid event_timeout= of a file, or keeps *value. */
static void read_conf(const char *path, unsigned *value)
{
        char line[512];
        FILE *f;

        f = fopen(path, "re");
        if (!f)
                return;
        while (fgets(line, sizeof(line), f)) {
                char *p = line;

                while (*p == ' ' || *p == '\t')
                        p++;
                if (strncmp(p, "event_timeout", 13) != 0)
                        continue;
                p += 13;
                while (*p == ' ' || *p == '\t')
                        p++;
                if (*p == '=' && parse_timeout(p + 1) > 0)
                        *value = parse_timeout(p + 1);
        }
        fclose(f);
}

static int compare_names(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The drop-ins: *.conf of every udev.conf.d, by name, the first directory's of a name only. */
static void read_dropins(const char *root, unsigned *value)
{
        char *names[256];
        size_t n = 0;

        for (size_t d = 0; d < sizeof(conf_dirs) / sizeof(conf_dirs[0]); d++) {
                char dir[PATH_MAX];
                struct dirent *de;
                DIR *dp;

                snprintf(dir, sizeof(dir), "%s%s/udev.conf.d", root, conf_dirs[d]);
                dp = opendir(dir);
                if (!dp)
                        continue;
                while ((de = readdir(dp)) && n < sizeof(names) / sizeof(names[0])) {
                        size_t len = strlen(de->d_name);
                        bool seen = false;

                        if (len < 6 || strcmp(de->d_name + len - 5, ".conf") != 0)
                                continue;
                        for (size_t i = 0; i < n && !seen; i++)
                                seen = strncmp(names[i], de->d_name, len) == 0 &&
                                        names[i][len] == '\n';
                        if (seen || asprintf(&names[n], "%s\n%s", de->d_name, dir) < 0)
                                continue;
                        n++;
                }
                closedir(dp);
        }
        /* Sorted by file name, whatever the directory ("NAME\nDIR"). */
        qsort(names, n, sizeof(char *), compare_names);
        for (size_t i = 0; i < n; i++) {
                char path[PATH_MAX], *nl = strchr(names[i], '\n');

                if (nl) {
                        *nl = '\0';
                        snprintf(path, sizeof(path), "%s/%s", nl + 1, names[i]);
                        read_conf(path, value);
                }
                free(names[i]);
        }
}

/* udev.event_timeout= on the kernel command line, or rd.udev.event_timeout= in an initrd. */
static void read_cmdline(const char *root, unsigned *value)
{
        char path[PATH_MAX], line[4096], *w, *save = NULL;
        bool initrd;
        FILE *f;

        snprintf(path, sizeof(path), "%s/etc/initrd-release", root);
        initrd = access(path, F_OK) == 0;
        snprintf(path, sizeof(path), "%s/proc/cmdline", root);
        f = fopen(path, "re");
        if (!f)
                return;
        if (!fgets(line, sizeof(line), f))
                line[0] = '\0';
        fclose(f);
        for (w = strtok_r(line, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save)) {
                if (initrd && strncmp(w, "rd.", 3) == 0)
                        w += 3;
                else if (strncmp(w, "rd.", 3) == 0)
                        continue;
                if ((strncmp(w, "udev.event_timeout=", 19) == 0 ||
                            strncmp(w, "udev.event-timeout=", 19) == 0) &&
                        parse_timeout(w + 19) > 0)
                        *value = parse_timeout(w + 19);
        }
}

unsigned udev_event_timeout_sec(const char *root)
{
        unsigned value = 0;

        if (!root || strcmp(root, "/") == 0)
                root = "";
        for (size_t d = 0; d < sizeof(conf_dirs) / sizeof(conf_dirs[0]); d++) {
                char path[PATH_MAX];

                snprintf(path, sizeof(path), "%s%s/udev.conf", root, conf_dirs[d]);
                if (access(path, F_OK) == 0) {
                        read_conf(path, &value);
                        break;
                }
        }
        read_dropins(root, &value);
        read_cmdline(root, &value);
        return value ?: UDEV_EVENT_TIMEOUT_SEC_DEFAULT;
}

unsigned udev_event_budget_sec(unsigned event_timeout_sec)
{
        unsigned margin = event_timeout_sec / 3;

        margin = margin < 3 ? 3 : margin > 60 ? 60 : margin;
        return event_timeout_sec > margin + 1 ? event_timeout_sec - margin : 1;
}
