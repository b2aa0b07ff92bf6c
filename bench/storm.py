#!/usr/bin/env python3
# storm.py MODE N MODALIAS KERNEL_DIR DAEMON_PID CMD... — a per-CPU storm: N processes started at
# once, each with MODALIAS in its environment, as udev starts one per CPU device: MODE daemon runs
# the udev helper (CMD) against a running daemon (DAEMON_PID), MODE stock runs one stock load
# each (bench/storm-stock). Samples the daemon's peak RSS, descriptors and threads meanwhile, and
# prints one line:
#   storm mode= cpus=N wall_s= wait_max_s= wait_p50_s= failures= cpu_ms= daemon_rss_kb=
#   daemon_fds= daemon_threads= loads=LOADS created=CREATED attempts_failing=
# where wait_* is each process's time from its start to its exit, failures the processes that
# exited non-zero, cpu_ms the CPU time of the daemon and of every process, loads the fake
# kernel's full load attempts ("load NAME" lines),
# created the modules that became live, attempts_failing the load attempts of modules whose
# init failed.
import os
import statistics
import sys
import threading
import time

mode, n, modalias, kdir, dpid = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
cmd = sys.argv[6:]
TICK = os.sysconf("SC_CLK_TCK")


def daemon_cpu_ms():
    if dpid == "-":
        return 0.0
    with open(f"/proc/{dpid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / TICK


peak = {"rss": 0, "fds": 0, "threads": 0}
stop = threading.Event()


def sample():
    while not stop.is_set() and dpid != "-":
        try:
            with open(f"/proc/{dpid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        peak["rss"] = max(peak["rss"], int(line.split()[1]))
                    elif line.startswith("Threads:"):
                        peak["threads"] = max(peak["threads"], int(line.split()[1]))
            peak["fds"] = max(peak["fds"], len(os.listdir(f"/proc/{dpid}/fd")))
        except (FileNotFoundError, ProcessLookupError):
            return
        time.sleep(0.01)


env = dict(os.environ, MODALIAS=modalias)
sampler = threading.Thread(target=sample, daemon=True)
sampler.start()
cpu0 = daemon_cpu_ms()
devnull = os.open(os.devnull, os.O_RDWR)
started = {}
t0 = time.monotonic()
for _ in range(n):
    pid = os.posix_spawn(cmd[0], cmd, env,
                         file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 0),
                                       (os.POSIX_SPAWN_DUP2, devnull, 1),
                                       (os.POSIX_SPAWN_DUP2, devnull, 2)])
    started[pid] = time.monotonic()
waits, failures, procs_cpu_ms = [], 0, 0.0
while started:
    pid, status, ru = os.wait4(-1, 0)
    if pid not in started:
        continue
    waits.append(time.monotonic() - started.pop(pid))
    failures += os.waitstatus_to_exitcode(status) != 0
    procs_cpu_ms += (ru.ru_utime + ru.ru_stime) * 1000
wall = time.monotonic() - t0
# The daemon may still finish a load nobody waits for; give it the time it takes.
time.sleep(0.2)
stop.set()
sampler.join()
cpu = daemon_cpu_ms() - cpu0 + procs_cpu_ms

loads, created, failing = {}, set(), 0
with open(os.path.join(kdir, "calls")) as f:
    for line in f:
        what, _, name = line.strip().partition(" ")
        if what == "load":
            loads[name] = loads.get(name, 0) + 1
        elif what == "loaded":
            created.add(name)
failing = sum(c for m, c in loads.items() if m not in created)
print(f"storm mode={mode} cpus={n} wall_s={wall:.2f} wait_max_s={max(waits):.2f} "
      f"wait_p50_s={statistics.median(waits):.2f} failures={failures} cpu_ms={cpu:.0f} "
      f"daemon_rss_kb={peak['rss']} daemon_fds={peak['fds']} daemon_threads={peak['threads']} "
      f"loads={sum(loads.values())} created={len(created)} "
      f"loads_of_created={sum(loads.get(m, 0) for m in created)} attempts_failing={failing}")
