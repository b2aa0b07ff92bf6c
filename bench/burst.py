#!/usr/bin/env python3
# burst.py SOCKET N MODULE HOLD DAEMON_PID — a burst of N clients asking at once for one module
# whose load is held (the fake kernel's hold file HOLD): N connections, one Load each (brief, as
# the udev helper sends it), all written before any answer is read. Measures the daemon's side of a coldplug burst apart from
# the load itself:
#   intake_s  first connect until the daemon has taken all N requests (GetStats "requests",
#             polled);
#   fanout_s  the hold released until the last of the N answers has arrived;
#   cpu_ms    the daemon's CPU time (user + system) over the whole burst.
# Prints one line: n=N intake_s=X fanout_s=X cpu_ms=X ok=N
import json
import os
import resource
import selectors
import socket
import sys
import time

path, n, module, hold, pid = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if soft < n + 64:
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(n + 64, soft), max(n + 64, hard)))
TICK = os.sysconf("SC_CLK_TCK")


def cpu_ms():
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / TICK


def call(sock, method, parameters):
    sock.sendall(json.dumps({"method": method, "parameters": parameters}).encode() + b"\0")
    buf = b""
    while b"\0" not in buf:
        data = sock.recv(65536)
        if not data:
            raise SystemExit("burst.py: the daemon closed the stats connection")
        buf += data
    return json.loads(buf.split(b"\0", 1)[0])


stats = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
stats.connect(path)
requests0 = call(stats, "io.modcoalesced.Manager.GetStats", {})["parameters"]["requests"]
cpu0 = cpu_ms()
t0 = time.monotonic()
request = json.dumps({"method": "io.modcoalesced.Manager.Load",
                      "parameters": {"modules": [module], "brief": True}}).encode() + b"\0"
socks = []
for _ in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    socks.append(s)
for s in socks:
    s.sendall(request)
while True:
    st = call(stats, "io.modcoalesced.Manager.GetStats", {})["parameters"]
    if st["requests"] - requests0 >= n:
        break
    if time.monotonic() - t0 > 600:
        raise SystemExit(f"burst.py: only {st['requests'] - requests0} of {n} taken after 600 s")
    time.sleep(0.005)
t_intake = time.monotonic()
os.unlink(hold)
sel = selectors.DefaultSelector()
bufs = {}
for s in socks:
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
    bufs[s] = b""
ok = 0
pending = n
while pending:
    for key, _ in sel.select(timeout=60):
        s = key.fileobj
        data = s.recv(65536)
        bufs[s] += data
        if data and b"\0" not in bufs[s]:
            continue
        if data and "error" not in json.loads(bufs[s].split(b"\0", 1)[0]):
            ok += 1
        sel.unregister(s)
        s.close()
        pending -= 1
t_done = time.monotonic()
print(f"n={n} intake_s={t_intake - t0:.3f} fanout_s={t_done - t_intake:.3f} "
      f"cpu_ms={cpu_ms() - cpu0:.0f} ok={ok}")
