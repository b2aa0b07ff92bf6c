#!/usr/bin/python3
"""bench-trace.py TRACE SIZES [SINCE_USEC [UNTIL_USEC]] — what the kernel saw in a saved ftrace buffer, as
key=value pairs on one line, then one "mod NAME attempts=N failed=N" line per module.

The kernel's view: load syscalls (syscall trace events), full load attempts (kprobe kp_load on
load_module), their results (kretprobe kret), modules created (module:module_load), kernel reads
of module files (kprobe kinit on init_module_from_file, with the file's name). An attempt is
named by the first find_module_all() (kprobe kfma) of the same task after its load_module(): the
kernel looks the new module's name up there, before it can fail as a duplicate.

syscalls_by names the processes that made the load syscalls, with their counts; loads_by those
that made the full load attempts.
SIZES has "NAME FILE COMPRESSED_BYTES DECOMPRESSED_BYTES" lines: bytes the kernel read are its
file reads times the file's size; bytes userspace read and decompressed are, per init_module()
call, the module's compressed size and the call's length. Only events from SINCE_USEC up to
UNTIL_USEC (CLOCK_MONOTONIC; the default: from the start, to the end) count."""
import re
import sys

# "COMM-PID [CPU] FLAGS SECONDS: EVENT: DETAILS"; syscall events read "sys_NAME(ARGS)".
LINE = re.compile(r"^\s*(.*)-(\d+)\s+\[\d+\]\s+\S+\s+([\d.]+):\s+(\w+)(?::\s?|\()(.*)$")

sizes_by_name, sizes_by_file = {}, {}
for line in open(sys.argv[2]):
    name, path, comp, raw = line.split()
    sizes_by_name[name] = (int(comp), int(raw))
    sizes_by_file[path.rsplit("/", 1)[-1]] = (int(comp), int(raw))
since = float(sys.argv[3]) / 1e6 if len(sys.argv) > 3 else 0.0
until = float(sys.argv[4]) / 1e6 if len(sys.argv) > 4 else float("inf")

c = dict(finit=0, init=0, load_module=0, load_failed=0, created=0, kreads=0, kbytes_read=0,
         kbytes_decomp=0, ubytes_read=0, ubytes_decomp=0, requests=0, unnamed=0)
naming = {}  # pid -> what the next kfma names: "attempt" and/or "init"
current = {}  # pid -> module name of its load_module() in progress
mods = {}
callers = {}  # who made the load syscalls: command name -> count
loaders = {}  # who made the full load attempts: command name -> count
for line in open(sys.argv[1], errors="replace"):
    m = LINE.match(line)
    if not m or not since <= float(m.group(3)) < until:
        continue
    pid, event, rest = m.group(2), m.group(4), m.group(5)
    comm = m.group(1).strip().replace(" ", "_")
    if event in ("sys_finit_module", "sys_init_module"):
        callers[comm] = callers.get(comm, 0) + 1
    if event == "kp_load":
        loaders[comm] = loaders.get(comm, 0) + 1
    if event == "sys_finit_module":
        c["finit"] += 1
    elif event == "sys_init_module":
        c["init"] += 1
        length = re.search(r"len: ([0-9a-fx]+)", rest)
        c["ubytes_decomp"] += int(length.group(1), 16) if length else 0
        naming.setdefault(pid, set()).add("init")
    elif event == "kp_load":
        c["load_module"] += 1
        naming.setdefault(pid, set()).add("attempt")
        current[pid] = None
    elif event == "kfma" and naming.get(pid):
        name = re.search(r'name="([^"]*)"', rest).group(1)
        todo = naming.pop(pid)
        if "init" in todo:
            c["ubytes_read"] += sizes_by_name.get(name, (0, 0))[0]
        if "attempt" in todo:
            current[pid] = name
            mods.setdefault(name, [0, 0])[0] += 1
    elif event == "kret":
        ret = int(re.search(r"ret=(-?\d+)", rest).group(1))
        name = current.pop(pid, None)
        if ret != 0:
            c["load_failed"] += 1
            if name:
                mods.setdefault(name, [0, 0])[1] += 1
        if name is None:
            c["unnamed"] += 1
    elif event == "module_load":
        c["created"] += 1
    elif event == "module_request":
        c["requests"] += 1
    elif event == "kinit":
        c["kreads"] += 1
        f = re.search(r'name="([^"]*)"', rest).group(1)
        comp, raw = sizes_by_file.get(f, (0, 0))
        c["kbytes_read"] += comp
        c["kbytes_decomp"] += raw
c["syscalls_by"] = ",".join(f"{k}:{v}" for k, v in sorted(callers.items(), key=lambda x: -x[1])) or "-"
c["loads_by"] = ",".join(f"{k}:{v}" for k, v in sorted(loaders.items(), key=lambda x: -x[1])) or "-"
print(" ".join(f"{k}={v}" for k, v in c.items()))
for name, (attempts, failed) in sorted(mods.items(), key=lambda x: (-x[1][0], x[0])):
    print(f"mod {name} attempts={attempts} failed={failed}")
