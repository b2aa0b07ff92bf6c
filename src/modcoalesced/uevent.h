/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* uevent.h — the kernel's module uevents as they come off its netlink socket
 * ("ACTION@DEVPATH\0KEY=VALUE\0…", DEVPATH /module/NAME, SUBSYSTEM=module): the in-kernel
 * socket filter that lets only those through, and their parsing. The filter keeps the receive
 * buffer for module events: a coldplug of thousands of devices sends every device's uevents
 * through the same socket. */
#pragma once

#include <stddef.h>

#include "kernel.h"
#include "modname.h"

/* A module uevent's action as a kernel state: "add" (sent once init has returned) and "change"
 * mean live, "remove" gone; -EINVAL for actions that say nothing about the state. */
int uevent_action_to_state(const char *action, KernelModuleState *ret);

/* Attaches the classic BPF program that passes "add@/module/…", "remove@/module/…" and
 * "change@/module/…" (and the other six-letter actions, which uevent_parse_module() refuses) and
 * drops every other message in the kernel, before it takes room in the receive buffer. */
int uevent_filter_attach(int fd);

/* A module uevent of the kernel's format: 0 with the module's name and state; -EINVAL for
 * anything else (another subsystem, an action without a state, a malformed message). */
int uevent_parse_module(
        const void *buf, size_t size, char ret_name[MODULE_NAME_MAX + 1], KernelModuleState *ret);
