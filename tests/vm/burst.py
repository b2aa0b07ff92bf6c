#!/usr/bin/env python3
"""burst.py N PARAMETERS_JSON — N Load calls at once: N connections, each written as soon as it
is up, all before any reply is read, so that they really overlap even under software emulation. Prints one JSON
summary: successes, error ids, errnos of failed modules, answers from the failure memory.
bench-burst.py imports load_burst()."""
import json
import os
import selectors
import socket
import sys
import time

SOCK = "/run/modcoalesced/io.modcoalesced.Manager"


def read_answers(conns, sent, timeout):
    """Reads one answer from each connection: (raw reply or None if it closed unanswered,
    seconds from its write to its answer, time of the answer)."""
    sel = selectors.DefaultSelector()
    bufs = {}
    for s in conns:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        bufs[s] = b""
    answers = []
    pending = len(conns)
    while pending:
        events = sel.select(timeout=timeout)
        if not events:
            break
        for key, _ in events:
            s = key.fileobj
            data = s.recv(65536)
            bufs[s] += data
            if data and not bufs[s].endswith(b"\0"):
                continue
            sel.unregister(s)
            s.close()
            pending -= 1
            t = time.monotonic()
            answers.append((bufs[s][:-1].decode() if data else None, t - sent[s], t))
    return answers


def load_burst(n, params, timeout, readers=None):
    """N Load calls with PARAMETERS at once. Returns the time of the first connect and of the
    last write (CLOCK_MONOTONIC) and, per call, (reply or None if the connection closed
    unanswered, seconds from its write to its answer, time of the answer); calls with no answer
    within TIMEOUT s of quiet are left out. The answers are read by READERS processes (default:
    one per CPU), as N clients would each read their own: one process reading them all one
    after the other would add its own time per answer to the last one."""
    request = json.dumps({"method": "io.modcoalesced.Manager.Load",
                          "parameters": params}).encode() + b"\0"
    t0 = time.monotonic()
    conns, sent = [], {}
    # Each call is written as soon as its connection is up, as N udev workers would (and as
    # N modprobe processes start work as soon as each is spawned): the first call starts the
    # load while the others still connect.
    for _ in range(n):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(SOCK)
        s.sendall(request)
        sent[s] = time.monotonic()
        conns.append(s)
    t_sent = time.monotonic()
    readers = max(1, min(readers or os.cpu_count() or 1, n))
    children = []
    for i in range(readers):
        mine = conns[i::readers]
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            answers = read_answers(mine, sent, timeout)
            with os.fdopen(w, "w") as f:
                json.dump(answers, f)
            os._exit(0)
        os.close(w)
        children.append((pid, r))
    # The children hold the connections now: closing ours leaves each open until its reader
    # closes it after the answer.
    for s in conns:
        s.close()
    answers = []
    for pid, r in children:
        with os.fdopen(r) as f:
            answers += json.load(f)
        os.waitpid(pid, 0)
    return t0, t_sent, [(json.loads(raw) if raw is not None else None, lat, t)
                        for raw, lat, t in answers]


def main():
    n, params = int(sys.argv[1]), json.loads(sys.argv[2])
    _, _, answers = load_burst(n, params, 180)
    summary = {"sent": n, "ok": 0, "errors": {}, "errnos": {}, "fromMemory": 0}
    if len(answers) < n:
        summary["errors"]["unanswered"] = n - len(answers)
    for reply, _, _ in answers:
        if reply is None:
            summary["errors"]["disconnected"] = summary["errors"].get("disconnected", 0) + 1
            continue
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


if __name__ == "__main__":
    main()
