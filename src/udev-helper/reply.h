/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* reply.h — the one varlink exchange of the udev helper and of the kernel's modprobe shim,
 * without linking libsystemd (its load time is most of what they would cost per execution):
 * writing a Load call, sending it and reading the reply within a deadline, and finding the
 * reply's top-level "error". */
#pragma once

#include <stddef.h>

/* The Load call for a validated MODALIAS (printable ASCII), NUL-terminated as varlink frames
 * are; the frame length, terminator included, in *ret_size. NULL on ENOMEM. */
char *reply_format_load(const char *modalias, size_t *ret_size);

/* The Load call for one module name from the kernel's request_module() (fromKernel). */
char *reply_format_kernel_load(const char *name, size_t *ret_size);

/* The same request asked again after TimedOut (waitedBefore: it may wait for an init). */
char *reply_format_kernel_load_again(const char *name, size_t *ret_size);

/* The Load call of modprobe@.service's `modprobe -abq NAME`: one name, blacklist applied. */
char *reply_format_unit_load(const char *name, size_t *ret_size);

/* A connected socket to the daemon, or -errno; within timeout_sec (0: none) when the daemon's
 * backlog is full: -EAGAIN past it. The socket keeps it as its send timeout. */
int reply_connect_timeout(const char *path, unsigned timeout_sec);

/* Sends the frame and reads the reply up to its NUL within timeout_sec: 0 with the reply (not
 * NUL-terminated, owned by the caller) in *ret and its length in *ret_size; -ETIMEDOUT;
 * -ECONNRESET when the daemon closed the connection first; -EMSGSIZE past 1 MiB; -errno. */
int reply_exchange(
        int fd, const char *req, size_t n, unsigned timeout_sec, char **ret, size_t *ret_size);

/* Looks at a reply object (without its NUL): 0 when it has no top-level "error", 1 with the
 * error id copied to ret (at most size - 1 bytes), -EBADMSG when it is not a well-formed object
 * or the id is not a plain string. Never reads beyond n bytes. */
int reply_error_id(const char *json, size_t n, char *ret, size_t size);
