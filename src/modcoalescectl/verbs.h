/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* verbs.h — modcoalescectl's verbs that talk to the daemon over varlink. */
#pragma once

#include "daemon-call.h"

int verb_load(const CtlOptions *o, char *const *inputs);
int verb_in_flight(const CtlOptions *o);
int verb_stats(const CtlOptions *o);
int verb_monitor(const CtlOptions *o);
/* timeline.c */
int verb_timeline(const CtlOptions *o);
