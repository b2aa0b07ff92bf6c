#!/usr/bin/python3
"""bench-burst.py LOADER N MODULE... — one burst of N concurrent requests for the same modules,
all of them in every request, and one JSON line about it: start and end (CLOCK_MONOTONIC, s),
wall time, per-request latency p50/p99 (ms), successes, failures, and for `modprobe` the CPU time
of the N processes (from wait4's rusage: exact, whatever their number).

LOADER `modprobe`: N `modprobe -a MODULE...` processes started at once.
LOADER `varlink`:  N connections to modcoalesced, each sending one Load as soon as it is up, all
                   written before any reply is read (so that they overlap even under software
                   emulation), the answers read by one process per CPU; brief, as the udev
                   helper and the kernel's shim send it. Wall: first connect to last answer."""
import json
import os
import resource
import sys
import time

from burst import load_burst


def percentile(values, p):
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def set_oom_score_adj(value):
    try:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write(str(value))
    except OSError:
        pass


def phases(t0, t_sent, first):
    """Where a burst's wall goes: sent_s, its first connect (spawn) to its last; first_s, to
    the first answer (exit), about when the load ended."""
    return {"sent_s": round(t_sent - t0, 4), "first_s": round((first or t0) - t0, 4)}


def burst_modprobe(n, modules):
    argv = ["/usr/sbin/modprobe", "-a", *modules]
    devnull = os.open(os.devnull, os.O_RDWR)
    actions = [(os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)]
    started = {}
    # The runner is exempt from the OOM killer (bench.sh); the loaders must not be.
    set_oom_score_adj(0)
    t0 = time.monotonic()
    for _ in range(n):
        started[os.posix_spawn(argv[0], argv, {}, file_actions=actions)] = time.monotonic()
    set_oom_score_adj(-1000)
    t_sent = time.monotonic()
    latencies, ok, failed, cpu, first = [], 0, 0, 0.0, None
    while started:
        pid, status, usage = os.wait4(-1, 0)
        t = time.monotonic()
        if pid not in started:
            continue
        latencies.append(t - started.pop(pid))
        first = first or t
        cpu += usage.ru_utime + usage.ru_stime
        if os.waitstatus_to_exitcode(status) == 0:
            ok += 1
        else:
            failed += 1
    return t0, time.monotonic(), latencies, ok, failed, {
        "cpu_s": round(cpu, 4), **phases(t0, t_sent, first)}


def burst_varlink(n, modules):
    t0, t_sent, answers = load_burst(n, {"modules": modules, "brief": True}, 300)
    latencies, ok, errors = [], 0, {}
    first = min((t for _, _, t in answers), default=None)
    for reply, latency, _ in answers:
        latencies.append(latency)
        reply = reply or {"error": "disconnected"}
        if "error" in reply:
            errors[reply["error"]] = errors.get(reply["error"], 0) + 1
        else:
            ok += 1
    # The last answer, not the end of the collection from the reader processes.
    last = max((t for _, _, t in answers), default=time.monotonic())
    return t0, last, latencies, ok, n - ok, {"errors": errors,
                                                         **phases(t0, t_sent, first)}


def main():
    loader, n, modules = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    run = burst_modprobe if loader == "modprobe" else burst_varlink
    t0, t1, latencies, ok, failed, extra = run(n, modules)
    print(json.dumps({"start": round(t0, 4), "end": round(t1, 4), "wall_s": round(t1 - t0, 4),
                      "p50_ms": round(percentile(latencies, 50) * 1000, 2),
                      "p99_ms": round(percentile(latencies, 99) * 1000, 2),
                      "ok": ok, "failed": failed, **extra}))


main()
