/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* varlink-idl.c — the io.modcoalesced.Manager interface, with a comment on every symbol and
 * field: `varlinkctl introspect` prints them, so this file is the interface's documentation.
 * Outcomes and stages are strings, not enums: their names contain '-', which IDL enum values
 * cannot. */
#include "varlink-idl.h"

static SD_VARLINK_DEFINE_STRUCT_TYPE(ModuleResult,
        SD_VARLINK_FIELD_COMMENT("Module name, as the kernel knows it"),
        SD_VARLINK_DEFINE_FIELD(name, SD_VARLINK_STRING, 0),
        SD_VARLINK_FIELD_COMMENT("What happened: loaded, already-loaded, builtin, blacklisted, "
                                 "no-driver (a MODALIAS whose module said ENODEV or ENOENT: not "
                                 "an error, as udev holds), failed, skipped (a hard dependency "
                                 "before it failed), timed-out, or in-progress (fromKernel: "
                                 "its init is running right now, not waited for)"),
        SD_VARLINK_DEFINE_FIELD(outcome, SD_VARLINK_STRING, 0),
        SD_VARLINK_FIELD_COMMENT("errno of a failure (positive), for failed and no-driver"),
        SD_VARLINK_DEFINE_FIELD(errno, SD_VARLINK_INT, SD_VARLINK_NULLABLE),
        SD_VARLINK_FIELD_COMMENT("Name of that errno, e.g. ENODEV"),
        SD_VARLINK_DEFINE_FIELD(errnoName, SD_VARLINK_STRING, SD_VARLINK_NULLABLE),
        SD_VARLINK_FIELD_COMMENT("This request joined a load that was already in flight: "
                                 "no (it started the load or needed none), name (the same "
                                 "module) or inode (the same file under another name)"),
        SD_VARLINK_DEFINE_FIELD(coalesced, SD_VARLINK_STRING, 0),
        SD_VARLINK_FIELD_COMMENT("The failure was answered from the failure memory: no new "
                                 "attempt was made"),
        SD_VARLINK_DEFINE_FIELD(fromMemory, SD_VARLINK_BOOL, 0),
        SD_VARLINK_FIELD_COMMENT("False when the module was loaded, or is being loaded, with "
                                 "other parameters: the kernel keeps the first ones"),
        SD_VARLINK_DEFINE_FIELD(parametersApplied, SD_VARLINK_BOOL, 0),
        SD_VARLINK_FIELD_COMMENT("Time this request waited for this module, in µs"),
        SD_VARLINK_DEFINE_FIELD(waitedUSec, SD_VARLINK_INT, 0));

static SD_VARLINK_DEFINE_METHOD(Load,
        SD_VARLINK_FIELD_COMMENT("A device's MODALIAS, resolved as udev does (blacklist "
                                 "applied). Exactly one of modalias and modules is given."),
        SD_VARLINK_DEFINE_INPUT(modalias, SD_VARLINK_STRING, SD_VARLINK_NULLABLE),
        SD_VARLINK_FIELD_COMMENT("Module names or aliases, resolved as modprobe does (blacklist "
                                 "applied to aliases only); at most 64"),
        SD_VARLINK_DEFINE_INPUT(modules, SD_VARLINK_STRING, SD_VARLINK_ARRAY | SD_VARLINK_NULLABLE),
        SD_VARLINK_FIELD_COMMENT("With modules: apply the blacklist to the names too, as "
                                 "modprobe -b does (modprobe@.service runs modprobe -abq); a "
                                 "blacklisted name is answered blacklisted, not loaded"),
        SD_VARLINK_DEFINE_INPUT(blacklist, SD_VARLINK_BOOL, SD_VARLINK_NULLABLE),
        SD_VARLINK_FIELD_COMMENT("Module parameters for the requested modules, as on modprobe's "
                                 "command line; added after modprobe.d's options"),
        SD_VARLINK_DEFINE_INPUT(parameters, SD_VARLINK_STRING, SD_VARLINK_NULLABLE),
        SD_VARLINK_FIELD_COMMENT("The request comes from the kernel's request_module() (the "
                                 "modprobe shim sets it). The kernel may ask from inside the init "
                                 "of the very module it names, so a module whose init is running "
                                 "right now (coming in /sys/module) is answered at once "
                                 "(in-progress) instead of waited for; a load not that far yet "
                                 "is waited for, as modprobe's finit_module() would, and the "
                                 "loads it needs go before all others."),
        SD_VARLINK_DEFINE_INPUT(fromKernel, SD_VARLINK_BOOL, SD_VARLINK_NULLABLE),
        SD_VARLINK_FIELD_COMMENT("With fromKernel: the same kernel request asked again after "
                                 "TimedOut (the shim sets it). It waited for the named modules "
                                 "before their init ran, so it does not come from inside it: a "
                                 "named module whose init is running is waited for, as "
                                 "modprobe's finit_module() would wait for it (a dependency "
                                 "is still answered in-progress)."),
        SD_VARLINK_DEFINE_INPUT(waitedBefore, SD_VARLINK_BOOL, SD_VARLINK_NULLABLE),
        SD_VARLINK_FIELD_COMMENT("Answer without the per-module results: an empty reply when "
                                 "the request succeeds, LoadFailed without its modules when it "
                                 "fails. What the udev helper and the kernel's modprobe shim "
                                 "send: they need nothing more, and each result costs the "
                                 "daemon its JSON."),
        SD_VARLINK_DEFINE_INPUT(brief, SD_VARLINK_BOOL, SD_VARLINK_NULLABLE),
        SD_VARLINK_FIELD_COMMENT("One entry per module of the plan, in load order, then builtin "
                                 "and blacklisted matches. Empty for a MODALIAS that no module "
                                 "matches; absent with brief."),
        SD_VARLINK_DEFINE_OUTPUT_BY_TYPE(
                modules, ModuleResult, SD_VARLINK_ARRAY | SD_VARLINK_NULLABLE));

static SD_VARLINK_DEFINE_STRUCT_TYPE(InFlightModule, SD_VARLINK_FIELD_COMMENT("Module name"),
        SD_VARLINK_DEFINE_FIELD(name, SD_VARLINK_STRING, 0),
        SD_VARLINK_FIELD_COMMENT("The module file being loaded, if this daemon loads it"),
        SD_VARLINK_DEFINE_FIELD(path, SD_VARLINK_STRING, SD_VARLINK_NULLABLE),
        SD_VARLINK_FIELD_COMMENT("st_dev of that file"),
        SD_VARLINK_DEFINE_FIELD(dev, SD_VARLINK_INT, SD_VARLINK_NULLABLE),
        SD_VARLINK_FIELD_COMMENT("st_ino of that file"),
        SD_VARLINK_DEFINE_FIELD(inode, SD_VARLINK_INT, SD_VARLINK_NULLABLE),
        SD_VARLINK_FIELD_COMMENT("loading (by this daemon), coming or going (by someone else)"),
        SD_VARLINK_DEFINE_FIELD(state, SD_VARLINK_STRING, 0),
        SD_VARLINK_FIELD_COMMENT("While loading: waiting-deps, queued, reading, decompressing, "
                                 "loading or install-command"),
        SD_VARLINK_DEFINE_FIELD(stage, SD_VARLINK_STRING, SD_VARLINK_NULLABLE),
        SD_VARLINK_FIELD_COMMENT("Requests waiting for this module"),
        SD_VARLINK_DEFINE_FIELD(waiters, SD_VARLINK_INT, 0),
        SD_VARLINK_FIELD_COMMENT("Time in this state, in µs"),
        SD_VARLINK_DEFINE_FIELD(ageUSec, SD_VARLINK_INT, 0));

static SD_VARLINK_DEFINE_METHOD(ListInFlight,
        SD_VARLINK_FIELD_COMMENT("Every module being loaded or waited for"),
        SD_VARLINK_DEFINE_OUTPUT_BY_TYPE(modules, InFlightModule, SD_VARLINK_ARRAY));

static SD_VARLINK_DEFINE_STRUCT_TYPE(ModuleStats, SD_VARLINK_FIELD_COMMENT("Module name"),
        SD_VARLINK_DEFINE_FIELD(name, SD_VARLINK_STRING, 0),
        SD_VARLINK_FIELD_COMMENT("Requests that named this module (directly or as a dependency)"),
        SD_VARLINK_DEFINE_FIELD(requests, SD_VARLINK_INT, 0),
        SD_VARLINK_FIELD_COMMENT("Requests that joined a load in flight"),
        SD_VARLINK_DEFINE_FIELD(coalesced, SD_VARLINK_INT, 0),
        SD_VARLINK_FIELD_COMMENT("Loads this daemon started (kernel calls or install commands)"),
        SD_VARLINK_DEFINE_FIELD(loads, SD_VARLINK_INT, 0),
        SD_VARLINK_FIELD_COMMENT("Loads that failed"),
        SD_VARLINK_DEFINE_FIELD(failures, SD_VARLINK_INT, 0),
        SD_VARLINK_FIELD_COMMENT("Requests answered from the failure memory"),
        SD_VARLINK_DEFINE_FIELD(fromMemory, SD_VARLINK_INT, 0),
        SD_VARLINK_FIELD_COMMENT("errno of the last failure (positive), if any"),
        SD_VARLINK_DEFINE_FIELD(lastErrno, SD_VARLINK_INT, SD_VARLINK_NULLABLE),
        SD_VARLINK_FIELD_COMMENT("live, absent, loading, coming, going or failed"),
        SD_VARLINK_DEFINE_FIELD(state, SD_VARLINK_STRING, 0));

static SD_VARLINK_DEFINE_METHOD(GetStats, SD_VARLINK_FIELD_COMMENT("Load requests received"),
        SD_VARLINK_DEFINE_OUTPUT(requests, SD_VARLINK_INT, 0),
        SD_VARLINK_FIELD_COMMENT("Requests that ended with an error (a hard module failed, or "
                                 "timed out)"),
        SD_VARLINK_DEFINE_OUTPUT(requestsFailed, SD_VARLINK_INT, 0),
        SD_VARLINK_FIELD_COMMENT("Requests that timed out"),
        SD_VARLINK_DEFINE_OUTPUT(requestsTimedOut, SD_VARLINK_INT, 0),
        SD_VARLINK_FIELD_COMMENT("Of those, requests whose plan went on loading its remaining "
                                 "modules after the answer (one per plan)"),
        SD_VARLINK_DEFINE_OUTPUT(requestsCarriedOn, SD_VARLINK_INT, 0),
        SD_VARLINK_FIELD_COMMENT("Requests whose client left before the answer"),
        SD_VARLINK_DEFINE_OUTPUT(requestsCancelled, SD_VARLINK_INT, 0),
        SD_VARLINK_FIELD_COMMENT("Modules named by plans (dependencies included)"),
        SD_VARLINK_DEFINE_OUTPUT(moduleRequests, SD_VARLINK_INT, 0),
        SD_VARLINK_FIELD_COMMENT("Module requests that joined a load of the same module"),
        SD_VARLINK_DEFINE_OUTPUT(coalescedByName, SD_VARLINK_INT, 0),
        SD_VARLINK_FIELD_COMMENT("Module requests that joined a load of the same file"),
        SD_VARLINK_DEFINE_OUTPUT(coalescedByInode, SD_VARLINK_INT, 0),
        SD_VARLINK_FIELD_COMMENT("Module requests answered from the live table: no I/O, no "
                                 "syscall"),
        SD_VARLINK_DEFINE_OUTPUT(answeredLive, SD_VARLINK_INT, 0),
        SD_VARLINK_FIELD_COMMENT("Module requests answered from the failure memory"),
        SD_VARLINK_DEFINE_OUTPUT(answeredFromFailureMemory, SD_VARLINK_INT, 0),
        SD_VARLINK_FIELD_COMMENT("Module requests that waited for someone else's load or unload"),
        SD_VARLINK_DEFINE_OUTPUT(waitedForeign, SD_VARLINK_INT, 0),
        SD_VARLINK_FIELD_COMMENT("Loads started: kernel load calls or install commands"),
        SD_VARLINK_DEFINE_OUTPUT(loads, SD_VARLINK_INT, 0),
        SD_VARLINK_FIELD_COMMENT("Loads that succeeded"),
        SD_VARLINK_DEFINE_OUTPUT(loadsOk, SD_VARLINK_INT, 0),
        SD_VARLINK_FIELD_COMMENT("Loads the kernel refused with the module live (loaded "
                                 "meanwhile by someone else): success"),
        SD_VARLINK_DEFINE_OUTPUT(loadsAlreadyLoaded, SD_VARLINK_INT, 0),
        SD_VARLINK_FIELD_COMMENT("Loads that failed, and at which stage"),
        SD_VARLINK_DEFINE_OUTPUT(loadsFailed, SD_VARLINK_INT, 0),
        SD_VARLINK_FIELD_COMMENT("Failures opening or reading the file"),
        SD_VARLINK_DEFINE_OUTPUT(failedReading, SD_VARLINK_INT, 0),
        SD_VARLINK_FIELD_COMMENT("Failures decompressing"),
        SD_VARLINK_DEFINE_OUTPUT(failedDecompressing, SD_VARLINK_INT, 0),
        SD_VARLINK_FIELD_COMMENT("Failures in the kernel (including the module's init)"),
        SD_VARLINK_DEFINE_OUTPUT(failedLoading, SD_VARLINK_INT, 0),
        SD_VARLINK_FIELD_COMMENT("Install commands that failed"),
        SD_VARLINK_DEFINE_OUTPUT(failedInstall, SD_VARLINK_INT, 0),
        SD_VARLINK_FIELD_COMMENT("EBUSY from the kernel (module going): waited and loaded again"),
        SD_VARLINK_DEFINE_OUTPUT(busyRetries, SD_VARLINK_INT, 0),
        SD_VARLINK_FIELD_COMMENT(
                "Files in the kernel's own compression format decompressed here: the kernel "
                "refused them, or their headers show that its decoder cannot"),
        SD_VARLINK_DEFINE_OUTPUT(fallbacks, SD_VARLINK_INT, 0),
        SD_VARLINK_FIELD_COMMENT("Bytes of module files read by this daemon"),
        SD_VARLINK_DEFINE_OUTPUT(bytesRead, SD_VARLINK_INT, 0),
        SD_VARLINK_FIELD_COMMENT("Bytes produced by decompression in this daemon"),
        SD_VARLINK_DEFINE_OUTPUT(bytesDecompressed, SD_VARLINK_INT, 0),
        SD_VARLINK_FIELD_COMMENT("Bytes of module files that coalesced requests did not read "
                                 "again"),
        SD_VARLINK_DEFINE_OUTPUT(bytesNotRead, SD_VARLINK_INT, 0),
        SD_VARLINK_FIELD_COMMENT("MODALIAS and name lookups, and how many the plan cache "
                                 "answered"),
        SD_VARLINK_DEFINE_OUTPUT(lookups, SD_VARLINK_INT, 0),
        SD_VARLINK_DEFINE_OUTPUT(lookupCacheHits, SD_VARLINK_INT, 0),
        SD_VARLINK_FIELD_COMMENT("Loads in flight and requests waiting right now"),
        SD_VARLINK_DEFINE_OUTPUT(inFlight, SD_VARLINK_INT, 0),
        SD_VARLINK_DEFINE_OUTPUT(waiting, SD_VARLINK_INT, 0),
        SD_VARLINK_FIELD_COMMENT("Per module, the duplicate table: every module requested or "
                                 "seen, with its counts"),
        SD_VARLINK_DEFINE_OUTPUT_BY_TYPE(modules, ModuleStats, SD_VARLINK_ARRAY));

static SD_VARLINK_DEFINE_STRUCT_TYPE(LoadRecord, SD_VARLINK_FIELD_COMMENT("Module name"),
        SD_VARLINK_DEFINE_FIELD(name, SD_VARLINK_STRING, 0),
        SD_VARLINK_FIELD_COMMENT("finit_module, finit_module-compressed (the kernel "
                                 "decompressed), init_module (decompressed here), "
                                 "install-command, or none (the file could not be read)"),
        SD_VARLINK_DEFINE_FIELD(method, SD_VARLINK_STRING, 0),
        SD_VARLINK_FIELD_COMMENT("When the load was queued, in µs of CLOCK_MONOTONIC (since boot)"),
        SD_VARLINK_DEFINE_FIELD(queuedUSec, SD_VARLINK_INT, 0),
        SD_VARLINK_FIELD_COMMENT("When a worker started it"),
        SD_VARLINK_DEFINE_FIELD(startedUSec, SD_VARLINK_INT, 0),
        SD_VARLINK_FIELD_COMMENT("When it ended"),
        SD_VARLINK_DEFINE_FIELD(finishedUSec, SD_VARLINK_INT, 0),
        SD_VARLINK_FIELD_COMMENT("Requests it answered: the one that started it and those that "
                                 "joined it"),
        SD_VARLINK_DEFINE_FIELD(requesters, SD_VARLINK_INT, 0),
        SD_VARLINK_FIELD_COMMENT("loaded, already-loaded, failed, coming or going (someone "
                                 "else's instance was coming up or going away: waited for)"),
        SD_VARLINK_DEFINE_FIELD(result, SD_VARLINK_STRING, 0),
        SD_VARLINK_FIELD_COMMENT("The errno of a load that did not succeed (positive)"),
        SD_VARLINK_DEFINE_FIELD(errno, SD_VARLINK_INT, SD_VARLINK_NULLABLE),
        SD_VARLINK_DEFINE_FIELD(errnoName, SD_VARLINK_STRING, SD_VARLINK_NULLABLE),
        SD_VARLINK_FIELD_COMMENT("Bytes of the module file read"),
        SD_VARLINK_DEFINE_FIELD(bytesRead, SD_VARLINK_INT, 0),
        SD_VARLINK_FIELD_COMMENT("Bytes decompressed here"),
        SD_VARLINK_DEFINE_FIELD(bytesDecompressed, SD_VARLINK_INT, 0));

static SD_VARLINK_DEFINE_METHOD(ListLoads,
        SD_VARLINK_FIELD_COMMENT("The loads of this boot, oldest first: this daemon's and, read "
                                 "from the socket's directory, those of the daemons before it "
                                 "(the initrd's included); at most 2048"),
        SD_VARLINK_DEFINE_OUTPUT_BY_TYPE(loads, LoadRecord, SD_VARLINK_ARRAY),
        SD_VARLINK_FIELD_COMMENT("Older loads no longer held"),
        SD_VARLINK_DEFINE_OUTPUT(dropped, SD_VARLINK_INT, 0),
        SD_VARLINK_FIELD_COMMENT("The daemon's CLOCK_MONOTONIC now, in µs"),
        SD_VARLINK_DEFINE_OUTPUT(nowUSec, SD_VARLINK_INT, 0));

static SD_VARLINK_DEFINE_METHOD_FULL(Monitor, SD_VARLINK_REQUIRES_MORE,
        SD_VARLINK_FIELD_COMMENT("request (a Load arrived), coalesce (a request joined a load in "
                                 "flight), load (a load started) or result (a load ended)"),
        SD_VARLINK_DEFINE_OUTPUT(event, SD_VARLINK_STRING, 0),
        SD_VARLINK_FIELD_COMMENT("The module, or for request events the MODALIAS or first name"),
        SD_VARLINK_DEFINE_OUTPUT(module, SD_VARLINK_STRING, 0),
        SD_VARLINK_FIELD_COMMENT("For result events: 0, or the errno (positive)"),
        SD_VARLINK_DEFINE_OUTPUT(errno, SD_VARLINK_INT, SD_VARLINK_NULLABLE),
        SD_VARLINK_FIELD_COMMENT("For coalesce events: name or inode"),
        SD_VARLINK_DEFINE_OUTPUT(coalesced, SD_VARLINK_STRING, SD_VARLINK_NULLABLE),
        SD_VARLINK_FIELD_COMMENT("Monotonic time of the event, in µs"),
        SD_VARLINK_DEFINE_OUTPUT(timestampUSec, SD_VARLINK_INT, 0));

static SD_VARLINK_DEFINE_ERROR(NoSuchModule,
        SD_VARLINK_FIELD_COMMENT("The name or alias that matched nothing in the module index"),
        SD_VARLINK_DEFINE_FIELD(module, SD_VARLINK_STRING, 0));

static SD_VARLINK_DEFINE_ERROR(LoadFailed,
        SD_VARLINK_FIELD_COMMENT("The hard dependency or module that failed"),
        SD_VARLINK_DEFINE_FIELD(module, SD_VARLINK_STRING, 0),
        SD_VARLINK_FIELD_COMMENT("Its errno (positive)"),
        SD_VARLINK_DEFINE_FIELD(errno, SD_VARLINK_INT, 0),
        SD_VARLINK_FIELD_COMMENT("Name of that errno"),
        SD_VARLINK_DEFINE_FIELD(errnoName, SD_VARLINK_STRING, SD_VARLINK_NULLABLE),
        SD_VARLINK_FIELD_COMMENT("Every module of the plan, as in Load's reply; absent with brief"),
        SD_VARLINK_DEFINE_FIELD_BY_TYPE(
                modules, ModuleResult, SD_VARLINK_ARRAY | SD_VARLINK_NULLABLE));

static SD_VARLINK_DEFINE_ERROR(PermissionDenied);

static SD_VARLINK_DEFINE_ERROR(TimedOut,
        SD_VARLINK_FIELD_COMMENT("The module still loading when the request gave up; the load "
                                 "itself goes on, and so does the rest of the plan"),
        SD_VARLINK_DEFINE_FIELD(module, SD_VARLINK_STRING, 0));

static SD_VARLINK_DEFINE_ERROR(InvalidInput,
        SD_VARLINK_FIELD_COMMENT("The parameter that was refused"),
        SD_VARLINK_DEFINE_FIELD(parameter, SD_VARLINK_STRING, 0),
        SD_VARLINK_FIELD_COMMENT("Why, in a few words"),
        SD_VARLINK_DEFINE_FIELD(reason, SD_VARLINK_STRING, 0));

static SD_VARLINK_DEFINE_ERROR(TooManyRequests,
        SD_VARLINK_FIELD_COMMENT("The limit that was reached"),
        SD_VARLINK_DEFINE_FIELD(limit, SD_VARLINK_INT, 0));

static SD_VARLINK_DEFINE_ERROR(ShuttingDown);

SD_VARLINK_DEFINE_INTERFACE(io_modcoalesced_Manager, MODCOALESCED_INTERFACE,
        SD_VARLINK_INTERFACE_COMMENT("Kernel module loading, coalesced: however many clients ask "
                                     "for a module, it is read, decompressed and loaded once, "
                                     "and every client gets that one result."),
        SD_VARLINK_SYMBOL_COMMENT("The result for one module of a Load"), &vl_type_ModuleResult,
        SD_VARLINK_SYMBOL_COMMENT("Load a device's MODALIAS or named modules with their "
                                  "dependencies. The reply comes when every module has settled. "
                                  "Needs root or CAP_SYS_MODULE."),
        &vl_method_Load, SD_VARLINK_SYMBOL_COMMENT("A module being loaded or waited for"),
        &vl_type_InFlightModule, SD_VARLINK_SYMBOL_COMMENT("The loads in flight and their waiters"),
        &vl_method_ListInFlight, SD_VARLINK_SYMBOL_COMMENT("Per-module counts"),
        &vl_type_ModuleStats,
        SD_VARLINK_SYMBOL_COMMENT("Counters since the daemon started, in the spirit of the "
                                  "kernel's /sys/kernel/debug/modules/stats, plus what only the "
                                  "daemon knows"),
        &vl_method_GetStats, SD_VARLINK_SYMBOL_COMMENT("One load of the boot's record"),
        &vl_type_LoadRecord,
        SD_VARLINK_SYMBOL_COMMENT("The boot's record of loads: what each cost, and for how many "
                                  "requests (modcoalescectl timeline)"),
        &vl_method_ListLoads,
        SD_VARLINK_SYMBOL_COMMENT("A stream of request, coalesce, load and result events; "
                                  "call with more"),
        &vl_method_Monitor, SD_VARLINK_SYMBOL_COMMENT("No module or alias of that name"),
        &vl_error_NoSuchModule,
        SD_VARLINK_SYMBOL_COMMENT("A module the request needed failed to load"),
        &vl_error_LoadFailed, SD_VARLINK_SYMBOL_COMMENT("Load needs root or CAP_SYS_MODULE"),
        &vl_error_PermissionDenied,
        SD_VARLINK_SYMBOL_COMMENT("The request waited longer than the daemon's request timeout"),
        &vl_error_TimedOut,
        SD_VARLINK_SYMBOL_COMMENT("A malformed MODALIAS, module name or parameter string"),
        &vl_error_InvalidInput,
        SD_VARLINK_SYMBOL_COMMENT("Too many requests pending, or too many monitors"),
        &vl_error_TooManyRequests,
        SD_VARLINK_SYMBOL_COMMENT("The daemon is stopping and takes no new requests"),
        &vl_error_ShuttingDown);
