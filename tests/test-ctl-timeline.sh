#!/usr/bin/env bash
# test-ctl-timeline.sh BUILDDIR — the boot's record of loads (ListLoads, modcoalescectl timeline):
# one record per load with the requests it answered and its result, the table, the SVG drawing,
# and the record kept across the daemon's exit and restart (as across the initrd's switch).
set -euo pipefail

build=$1
name=timeline
# shellcheck source=tests/lib-service.sh
. "$(dirname "$0")/lib-service.sh"
ctl="$build/src/modcoalescectl/modcoalescectl"
start_daemon() { socket_activate -- --idle-timeout 0 "$@"; }
ctl() { "$ctl" --socket "$sock" "$@"; }

# -- 20 requests for one held load, one failing load, one module already live ------------------
start_daemon
mkdir -p "$MC_FAKE_KERNEL_DIR/hold" "$MC_FAKE_KERNEL_DIR/fail"
touch "$MC_FAKE_KERNEL_DIR/hold/mc_self"
echo 16 >"$MC_FAKE_KERNEL_DIR/fail/mc_user1" # EBUSY from the module's own init
waiters=()
for _ in $(seq 20); do
        vl Load '{"modules":["mc_self"]}' >/dev/null &
        waiters+=($!)
done
for _ in $(seq 200); do
        vl ListInFlight | grep -q '"waiters" *: *20\b' && break
        sleep 0.05
done
vl ListInFlight | grep -q '"waiters" *: *20\b' || fail "20 waiters: $(vl ListInFlight)"
sleep 0.2
rm "$MC_FAKE_KERNEL_DIR/hold/mc_self"
for p in "${waiters[@]}"; do wait "$p" || fail "a waiter failed"; done
if vl Load '{"modules":["mc_user1"]}' >/dev/null 2>&1; then fail "mc_user1 loaded"; fi
vl Load '{"modules":["mc_self"]}' >/dev/null # live: no load, no record

vl ListLoads >"$tmp/loads.json"
python3 - "$tmp/loads.json" <<'PY' || fail "ListLoads: $(cat "$tmp/loads.json")"
import json, sys
r = json.load(open(sys.argv[1]))
loads = r["loads"]
names = [l["name"] for l in loads]
assert names.count("mc_self") == 1 and "mc_user1" in names, names
s = next(l for l in loads if l["name"] == "mc_self")
assert s["requesters"] == 20 and s["result"] == "loaded" and "errno" not in s, s
assert s["queuedUSec"] <= s["startedUSec"] <= s["finishedUSec"] <= r["nowUSec"], s
assert s["finishedUSec"] - s["startedUSec"] >= 200000, s  # held at least 0.2 s
assert s["bytesRead"] > 0 and s["method"] != "none", s
f = next(l for l in loads if l["name"] == "mc_user1")
assert f["result"] == "failed" and f["errno"] == 16 and f["errnoName"] == "EBUSY", f
assert f["requesters"] == 1, f
assert r["dropped"] == 0
PY
ok "ListLoads: one record for 20 requests of one load, the failure with its errno, nothing for a live module"

ctl timeline >"$tmp/table"
grep -Eq '^ *[0-9.]+s +[0-9.]+s +[0-9.]+s +20 loaded .* mc_self$' "$tmp/table" || fail "table: $(cat "$tmp/table")"
grep -Eq ' 1 failed .* mc_user1 EBUSY$' "$tmp/table" || fail "table: $(cat "$tmp/table")"
grep -q "loads for 2[0-9] requests\.$" "$tmp/table" || fail "summary: $(tail -1 "$tmp/table")"
ok "modcoalescectl timeline: a line per load, requests, result and errno, and the sum"

ctl timeline --svg "$tmp/t.svg"
python3 - "$tmp/t.svg" <<'PY' || fail "svg: $(head -c 2000 "$tmp/t.svg")"
import sys, xml.etree.ElementTree as ET
ns = {"s": "http://www.w3.org/2000/svg"}
root = ET.parse(sys.argv[1]).getroot()
groups = root.findall("s:g", ns)
labels = ["".join(g.find("s:text", ns).itertext()) for g in groups]
assert len(groups) == len(set(labels)) >= 2, labels
assert any(l.startswith("mc_self (20 requests,") and "loaded" in l for l in labels), labels
assert any(l.startswith("mc_user1 (1 request,") and "EBUSY" in l for l in labels), labels
for g in groups:
    rects = g.findall("s:rect", ns)
    assert len(rects) == 2 and all(float(r.get("width")) >= 0 for r in rects)
    assert float(rects[1].get("width")) >= 1
PY
ok "timeline --svg: one bar per load, labelled, well-formed SVG"

ctl --json timeline | python3 -c 'import json,sys; assert len(json.load(sys.stdin)["loads"]) >= 2' ||
        fail "timeline --json"
ok "timeline --json is the daemon's reply"

# -- the record outlives the daemon: saved at exit beside the socket, read by the next one -------
before=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["loads"]))' "$tmp/loads.json")
kill -TERM "$daemon_pid"
daemon_exited 60 || fail "daemon did not exit"
[ -s "$tmp/run/timeline.json" ] || fail "no saved record"
# socket_activate makes a new socket directory; the daemon starts at the first connection.
cp "$tmp/run/timeline.json" "$tmp/saved.json"
start_daemon
cp "$tmp/saved.json" "$tmp/run/timeline.json"
vl Load '{"modules":["mc_a"]}' >/dev/null
vl ListLoads >"$tmp/loads2.json"
python3 - "$tmp/loads.json" "$tmp/loads2.json" <<'PY' || fail "after restart: $(cat "$tmp/loads2.json")"
import json, sys
old = json.load(open(sys.argv[1]))["loads"]
new = json.load(open(sys.argv[2]))["loads"]
assert new[:len(old)] == old, (old, new)
assert "mc_a" in [l["name"] for l in new[len(old):]], new
PY
ok "the record survives the daemon's exit ($before loads) and goes on after it"

# -- a damaged record is ignored, never fatal -----------------------------------------------------
kill -TERM "$daemon_pid"
daemon_exited 60 || fail "daemon did not exit"
start_daemon
printf '{"dropped":0,"loads":[{"name":"../x"},{"name":"mc_b","method":"init_module",' >"$tmp/run/timeline.json"
vl GetStats >/dev/null || fail "no daemon with a damaged record: $(tail "$tmp/daemon.log")"
vl ListLoads | grep -q '"loads" *: *\[ *\]' || fail "damaged record taken: $(vl ListLoads)"
grep -q "Ignoring the load record" "$tmp/daemon.log" || fail "not said: $(tail "$tmp/daemon.log")"
kill -TERM "$daemon_pid"
daemon_exited 60 || fail "daemon did not exit"
start_daemon
echo '{"dropped":3,"loads":[{"name":"../x"},{"name":"mc_b"}]}' >"$tmp/run/timeline.json"
vl ListLoads >"$tmp/loads3.json"
python3 -c 'import json,sys; r = json.load(open(sys.argv[1])); assert r["loads"] == [] and r["dropped"] == 3, r' \
        "$tmp/loads3.json" || fail "bad records taken: $(cat "$tmp/loads3.json")"
ok "a damaged or hostile record file is ignored record by record; the daemon serves"
echo "$n passed, 0 failed"
