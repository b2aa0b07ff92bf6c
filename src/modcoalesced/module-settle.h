/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* module-settle.h — how a module's state is decided, and its waiters told: its own load's
 * completion (the loader's callback, on the loop), the poll of /sys/module while someone else
 * brings it up or down, the kernel's uevents and the rescans after lost ones (engine.h's
 * engine_module_event() and engine_rescan() call the two below). */
#pragma once

#include "module.h"

/* The loader's done callback; userdata is the Engine. */
void module_settle_job(LoadJob *j, void *userdata);
/* The poll timer's callback (module_poll()); userdata is the Engine. */
int module_settle_polled(sd_event_source *s, uint64_t usec, void *userdata);

/* News of a module's kernel state from outside (a uevent, a rescan). */
void module_settle_event(Engine *e, const char *name, KernelModuleState state);
/* Scans /sys/module again: engine_rescan(). */
int module_settle_rescan(Engine *e);
