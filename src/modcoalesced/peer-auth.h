/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* peer-auth.h — who may Load: root, or a peer with CAP_SYS_MODULE in its effective set (read
 * from /proc, with the peer's pidfd pinning the process against pid reuse). Anyone who can open
 * the socket may read. */
#pragma once

#include <stdbool.h>
#include <systemd/sd-varlink.h>

bool peer_may_load(sd_varlink *link);
