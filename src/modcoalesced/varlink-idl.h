/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* varlink-idl.h — the io.modcoalesced.Manager interface (data only). */
#pragma once

#include <systemd/sd-varlink-idl.h>

#define MODCOALESCED_INTERFACE "io.modcoalesced.Manager"
#define MODCOALESCED_SOCKET "/run/modcoalesced/" MODCOALESCED_INTERFACE

#define VL_ERROR_NO_SUCH_MODULE MODCOALESCED_INTERFACE ".NoSuchModule"
#define VL_ERROR_LOAD_FAILED MODCOALESCED_INTERFACE ".LoadFailed"
#define VL_ERROR_PERMISSION_DENIED MODCOALESCED_INTERFACE ".PermissionDenied"
#define VL_ERROR_TIMED_OUT MODCOALESCED_INTERFACE ".TimedOut"
#define VL_ERROR_INVALID_INPUT MODCOALESCED_INTERFACE ".InvalidInput"
#define VL_ERROR_TOO_MANY_REQUESTS MODCOALESCED_INTERFACE ".TooManyRequests"
#define VL_ERROR_SHUTTING_DOWN MODCOALESCED_INTERFACE ".ShuttingDown"

extern const sd_varlink_interface vl_interface_io_modcoalesced_Manager;
