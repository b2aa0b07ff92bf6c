#!/usr/bin/env python3
# flood.py SOCKET N — N varlink connections to SOCKET open at the same time, then one call on
# each, then every answer read with one deadline for all. Prints one JSON object: how many
# connections were answered ("replies": parameters of each distinct reply, with counts), refused
# with a varlink error ("errors": by error name), closed without an answer ("closed"), could not
# connect ("unconnected") or had no answer by the deadline ("hung"). A connection is closed as
# soon as it has its answer.
import argparse
import json
import resource
import selectors
import signal
import socket
import sys
import time

p = argparse.ArgumentParser()
p.add_argument("socket")
p.add_argument("n", type=int)
p.add_argument("--method", default="io.modcoalesced.Manager.Load")
p.add_argument("--parameters", default="{}")
p.add_argument("--timeout", type=float, default=120.0)
p.add_argument("--connected", metavar="PATH",
               help="create PATH once every connection is made, before the calls go out")
a = p.parse_args()

# Our own descriptors: one per connection, and some to spare.
want = a.n + 64
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if soft < want:
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(want, soft), max(want, hard)))

deadline = time.monotonic() + a.timeout
result = {"replies": {}, "errors": {}, "closed": 0, "unconnected": 0, "hung": 0}
socks = []
# A blocking connect() waits while the listen backlog is full (a non-blocking one fails with
# EAGAIN): the daemon must keep accepting. SIGALRM bounds the wait.
signal.signal(signal.SIGALRM, lambda *_: None)
for _ in range(a.n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    left = deadline - time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, max(left, 0.01))
    try:
        s.connect(a.socket)
    except (OSError, InterruptedError):
        result["unconnected"] += 1
        s.close()
        continue
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    socks.append(s)

if a.connected:
    open(a.connected, "w").close()

call = json.dumps({"method": a.method, "parameters": json.loads(a.parameters)}).encode() + b"\0"
sel = selectors.DefaultSelector()
bufs = {}
for s in socks:
    s.setblocking(False)
    try:
        s.sendall(call)
    except OSError:
        # Refused and closed before our call went out: what it wrote first is still readable.
        pass
    bufs[s] = b""
    sel.register(s, selectors.EVENT_READ)


def settle(s, reply):
    sel.unregister(s)
    s.close()
    if reply is None:
        result["closed"] += 1
    elif "error" in reply:
        result["errors"][reply["error"]] = result["errors"].get(reply["error"], 0) + 1
    else:
        params = reply.get("parameters") or {}
        if "modules" in params:  # Load: what happened to each module, not how long it took
            params = [[m["name"], m["outcome"]] for m in params["modules"]]
        key = json.dumps(params, sort_keys=True)
        result["replies"][key] = result["replies"].get(key, 0) + 1


pending = len(socks)
while pending and time.monotonic() < deadline:
    for key, _ in sel.select(timeout=min(1.0, max(0.0, deadline - time.monotonic()))):
        s = key.fileobj
        try:
            data = s.recv(65536)
        except BlockingIOError:
            continue
        except OSError:
            data = b""
        if data:
            bufs[s] += data
            if b"\0" not in bufs[s]:
                continue
            reply = json.loads(bufs[s].split(b"\0", 1)[0])
        else:
            reply = None
        settle(s, reply)
        pending -= 1
result["hung"] = pending
result["seconds"] = round(a.timeout - (deadline - time.monotonic()), 2)
print(json.dumps(result, sort_keys=True))
