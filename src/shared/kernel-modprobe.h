/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* kernel-modprobe.h — who the kernel runs for request_module() (/proc/sys/kernel/modprobe):
 * claimed for the shim only over a stock value, given back only while it still names the shim,
 * so that an admin's own setting is never overwritten and never left dangling. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* The kernel's built-in default (CONFIG_MODPROBE_PATH), what a release restores. */
#define KERNEL_MODPROBE_STOCK "/sbin/modprobe"
#define KERNEL_MODPROBE_SYSCTL "/proc/sys/kernel/modprobe"

/* Reads the setting at SYSCTL_PATH (its first line, without the newline) into buf. */
int kernel_modprobe_read(const char *sysctl_path, char *buf, size_t size);

/* Whether VALUE (a kernel.modprobe setting) names the shim, wherever it is installed. */
bool kernel_modprobe_is_shim(const char *value);

/* Sets SYSCTL_PATH to SHIM (an absolute path, which must be executable) when it holds the stock
 * modprobe. Returns 1 when it was set, 0 when it names something else that
 * an admin chose (left alone), 2 when it names a shim already, -errno otherwise. */
int kernel_modprobe_claim(const char *sysctl_path, const char *shim);

/* Sets SYSCTL_PATH back to KERNEL_MODPROBE_STOCK when it names the shim. Returns 1 when it was
 * set back, 0 when it named something else (left alone), -errno otherwise. */
int kernel_modprobe_release(const char *sysctl_path);
