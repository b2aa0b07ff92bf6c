/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* install-command.c — see install-command.h. posix_spawn() with an explicit environment, so a
 * worker thread never touches the process environment. */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "cleanup.h"
#include "install-command.h"

extern char **environ;

#define CMDLINE_OPTS "$CMDLINE_OPTS"

char *install_command_expand(const char *command, const char *params)
{
        size_t n = 0, np = strlen(params), nv = strlen(CMDLINE_OPTS);
        const char *p;
        char *out, *o;

        for (p = command; (p = strstr(p, CMDLINE_OPTS)); p += nv)
                n++;
        out = o = malloc(strlen(command) + n * np + 1);
        if (!out)
                return NULL;
        for (p = command;;) {
                const char *v = strstr(p, CMDLINE_OPTS);

                if (!v) {
                        strcpy(o, p);
                        break;
                }
                o = mempcpy(o, p, v - p);
                o = mempcpy(o, params, np);
                p = v + nv;
        }
        return out;
}

int install_command_run(const char *name, const char *command, const char *params)
{
        _cleanup_free_ char *cmd = NULL, *module_env = NULL;
        _cleanup_free_ char **envp = NULL;
        size_t n = 0, k = 0;
        int r, status;
        pid_t pid;

        cmd = install_command_expand(command, params);
        if (!cmd || asprintf(&module_env, "MODPROBE_MODULE=%s", name) < 0)
                return -ENOMEM;
        while (environ && environ[n])
                n++;
        envp = calloc(n + 2, sizeof(char *));
        if (!envp)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (strncmp(environ[i], "MODPROBE_MODULE=", 16) != 0)
                        envp[k++] = environ[i];
        envp[k++] = module_env;

        r = posix_spawn(&pid, "/bin/sh", NULL, NULL, (char *[]){ "sh", "-c", cmd, NULL }, envp);
        if (r != 0)
                return -r;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}
