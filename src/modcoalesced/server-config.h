/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* server-config.h — the varlink service's limits and configuration, shared by its public face
 * (server.h) and its method files (server-state.h), so that those never include the server
 * itself. */
#pragma once

#include "load-params.h"

#define SERVER_MAX_PENDING_DEFAULT 16384u
#define SERVER_MAX_CONNECTIONS_DEFAULT 16384u
#define SERVER_MAX_MONITORS 16u
#define SERVER_MAX_NAMES LOAD_PARAMS_MAX_NAMES
/* Connections beyond max_connections that are kept open (they may read, not Load); any more
 * are answered TooManyRequests and closed at once. */
#define SERVER_CONNECTIONS_SLACK 64u
/* Descriptors that are not connections: module files, install commands, sd-event, uevents. */
#define SERVER_FDS_RESERVED 128u

typedef struct ServerConfig {
        unsigned max_pending; /* Load calls waiting for their reply; 0: the default */
        unsigned max_connections; /* 0: the default; also per uid (every udev helper is uid 0);
                                   * lowered to fit RLIMIT_NOFILE */
} ServerConfig;
