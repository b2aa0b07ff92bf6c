/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* reply.h — the two things the udev helper needs of the daemon's one varlink exchange, without
 * linking libsystemd (its load time is most of what the helper would cost udev per event):
 * writing a Load call for a MODALIAS, and finding the top-level "error" of the reply. */
#pragma once

#include <stddef.h>

/* The Load call for a validated MODALIAS (printable ASCII), NUL-terminated as varlink frames
 * are; the frame length, terminator included, in *ret_size. NULL on ENOMEM. */
char *reply_format_load(const char *modalias, size_t *ret_size);

/* Looks at a reply object (without its NUL): 0 when it has no top-level "error", 1 with the
 * error id copied to ret (at most size - 1 bytes), -EBADMSG when it is not a well-formed object
 * or the id is not a plain string. Never reads beyond n bytes. */
int reply_error_id(const char *json, size_t n, char *ret, size_t size);
