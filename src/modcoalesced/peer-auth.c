/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* peer-auth.c — see peer-auth.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "peer-auth.h"

/* CAP_SYS_MODULE, from linux/capability.h. */
#define CAP_SYS_MODULE_BIT 16

bool peer_may_load(sd_varlink *link)
{
        unsigned long long caps = 0;
        char path[64], line[256];
        bool found = false;
        int pidfd;
        uid_t uid;
        pid_t pid;
        FILE *f;

        if (sd_varlink_get_peer_uid(link, &uid) >= 0 && uid == 0)
                return true;
        /* Not root: CAP_SYS_MODULE in the peer's effective set. The peer's pidfd (owned by the
         * connection) pins the process: if it is still alive after /proc was read, the pid was
         * not recycled in between. */
        pidfd = sd_varlink_get_peer_pidfd(link);
        if (pidfd < 0 || sd_varlink_get_peer_pid(link, &pid) < 0)
                return false;
        snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return false;
        while (fgets(line, sizeof(line), f))
                if (strncmp(line, "CapEff:", 7) == 0) {
                        char *end;

                        /* strtoull(), unlike sscanf(), reports overflow and garbage. */
                        errno = 0;
                        caps = strtoull(line + 7, &end, 16);
                        found = errno == 0 && end != line + 7 && (*end == '\n' || *end == '\0');
                        break;
                }
        fclose(f);
        if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0)
                return false;
        return found && (caps & (1ULL << CAP_SYS_MODULE_BIT));
}
