#!/usr/bin/env python3
"""burst.py N PARAMETERS_JSON — N Load calls at once: N connections opened and written before
any reply is read, so that they really overlap even under software emulation. Prints one JSON
summary: successes, error ids, errnos of failed modules, answers from the failure memory."""
import json
import selectors
import socket
import sys

SOCK = "/run/modcoalesced/io.modcoalesced.Manager"
n, params = int(sys.argv[1]), json.loads(sys.argv[2])
request = json.dumps({"method": "io.modcoalesced.Manager.Load", "parameters": params}).encode() + b"\0"

conns = []
for _ in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(SOCK)
    conns.append(s)
for s in conns:
    s.sendall(request)

sel = selectors.DefaultSelector()
bufs = {}
for s in conns:
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
    bufs[s] = b""
summary = {"sent": n, "ok": 0, "errors": {}, "errnos": {}, "fromMemory": 0}
pending = n
while pending:
    for key, _ in sel.select(timeout=180):
        s = key.fileobj
        data = s.recv(65536)
        bufs[s] += data
        if data and not bufs[s].endswith(b"\0"):
            continue
        sel.unregister(s)
        pending -= 1
        if not data:
            summary["errors"]["disconnected"] = summary["errors"].get("disconnected", 0) + 1
            continue
        reply = json.loads(bufs[s][:-1])
        if "error" in reply:
            summary["errors"][reply["error"]] = summary["errors"].get(reply["error"], 0) + 1
        else:
            summary["ok"] += 1
        for m in reply.get("parameters", {}).get("modules", []):
            if "errno" in m:
                summary["errnos"][str(m["errno"])] = summary["errnos"].get(str(m["errno"]), 0) + 1
            if m.get("fromMemory"):
                summary["fromMemory"] += 1
print(json.dumps(summary))
