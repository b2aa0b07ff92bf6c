/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* modname.h — validation of what clients send as module names, MODALIAS strings and module
 * parameters. They are data looked up in libkmod's indexes, never paths; these checks keep
 * malformed or hostile strings (slashes, "..", control bytes, invalid UTF-8, overlong) out. */
#pragma once

/* The kernel's MODULE_NAME_LEN is 64 - sizeof(unsigned long) bytes including the NUL;
 * request_module() refuses longer names with -ENAMETOOLONG. */
#define MODULE_NAME_MAX 55
/* A device's modalias comes from a sysfs attribute, which is at most one page. */
#define MODALIAS_MAX 4095
#define MODULE_PARAMS_MAX 4095

/* Each returns 0, -EINVAL (malformed) or -ENAMETOOLONG; *ret_reason (optional) then says why in
 * a few words, as a static string. */
int modname_validate(const char *name, const char **ret_reason);
int modalias_validate(const char *modalias, const char **ret_reason);
int module_params_validate(const char *params, const char **ret_reason);
