/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* event-timeout.h — udev's own event timeout, which bounds how long the helper may wait: udev
 * kills the programs of an event that outlasts it. Read as systemd-udevd reads it: event_timeout=
 * in udev.conf (the first of /etc, /run, /usr/local/lib, /usr/lib) and its udev.conf.d drop-ins
 * (by file name, a name in an earlier directory hiding it in a later one), then the kernel command
 * line's udev.event_timeout= (rd.udev.event_timeout= in an initrd). A value in seconds, or with
 * the unit s, sec, m or min. */
#pragma once

#define UDEV_EVENT_TIMEOUT_SEC_DEFAULT 180u

/* The event timeout in seconds as udev below root ("/" or NULL: this system) sees it; the
 * default where nothing sets it or a setting does not parse. */
unsigned udev_event_timeout_sec(const char *root);

/* How long the helper may wait within an event timeout: a third less (3 s to 60 s), so that it
 * ends by itself before udev kills it. udev gives a program the event timeout less the event's
 * age when it was spawned, which the helper cannot see: at 64 emulated vCPUs events were 20 s
 * old by then, and a tenth's margin (18 s) had udev kill helpers. */
unsigned udev_event_budget_sec(unsigned event_timeout_sec);
