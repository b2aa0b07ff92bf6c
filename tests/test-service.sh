#!/usr/bin/env bash
# test-service.sh BUILDDIR — the daemon as systemd runs it: socket-activated by
# systemd-socket-activate --fdname=varlink, on the directory-backed fake kernel, driven by the
# real varlinkctl, modcoalescectl and the udev helper.
set -euo pipefail

build=$1
name=service
helper="$build/src/udev-helper/modcoalesced-udev"
ctl="$build/src/modcoalescectl/modcoalescectl"
. "$(dirname "$0")/lib-service.sh"

# Every daemon that exits by itself must exit 0 (daemon_exited), and the daemons' stderr must
# hold no report from $MC_DAEMON_WRAPPER.
start_daemon() { socket_activate -- --idle-timeout 0 "$@"; }

start_daemon

# -- the interface ------------------------------------------------------------------------------
varlinkctl introspect "$sock" io.modcoalesced.Manager >"$tmp/idl"
for s in "method Load" "method ListInFlight" "method GetStats" "method Monitor" \
        "error LoadFailed" "error NoSuchModule" "error PermissionDenied" "error TimedOut" \
        "type ModuleResult" "# Time this request waited for this module"; do
        grep -q "$s" "$tmp/idl" || fail "introspect lacks '$s'"
done
ok "varlinkctl introspect documents the interface"

# -- 500 helpers at once for one MODALIAS, one held load -----------------------------------------
touch "$MC_FAKE_KERNEL_DIR/hold/mc_user1"
helper_pids=()
for i in $(seq 500); do
        MODALIAS=mctest:user1 "$helper" --socket "$sock" --fallback "$here/fake-modprobe.sh" \
                --timeout 60 >/dev/null 2>>"$tmp/helpers.log" &
        helper_pids+=($!)
done
# While held: ListInFlight shows the module and its 500 waiters.
for _ in $(seq 200); do
        vl ListInFlight >"$tmp/inflight.json"
        python3 - "$tmp/inflight.json" <<'PY' && break
import json, sys
m = {x["name"]: x for x in json.load(open(sys.argv[1]))["modules"]}
sys.exit(0 if m.get("mc_user1", {}).get("waiters") == 500 else 1)
PY
        sleep 0.1
done
python3 - "$tmp/inflight.json" <<'PY' || fail "ListInFlight: $(cat "$tmp/inflight.json")"
import json, sys
m = {x["name"]: x for x in json.load(open(sys.argv[1]))["modules"]}
u = m["mc_user1"]
assert u["waiters"] == 500 and u["state"] == "loading" and u["stage"] == "loading", u
assert u["path"].endswith("mc_user1.ko.xz") and u["inode"] > 0
PY
ok "ListInFlight shows the held module with its 500 waiters"
"$ctl" --socket "$sock" in-flight | grep -q "^mc_user1 .*loading .* 500 " || fail "in-flight table"
ok "modcoalescectl in-flight shows the same"
rm "$MC_FAKE_KERNEL_DIR/hold/mc_user1"
failed=0
for p in "${helper_pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
[ "$failed" = 0 ] || fail "$failed helpers failed: $(tail -5 "$tmp/helpers.log")"
[ "$(calls load mc_user1)" = 1 ] || fail "mc_user1 loads: $(calls load mc_user1)"
[ "$(calls load mc_shared)" = 1 ] || fail "mc_shared loads: $(calls load mc_shared)"
grep -q "^fallback" "$MC_FAKE_KERNEL_DIR/calls" && fail "a helper fell back"
vl GetStats >"$tmp/stats.json"
python3 - "$tmp/stats.json" <<'PY' || fail "GetStats: $(cat "$tmp/stats.json")"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["requests"] == 500 and s["loads"] == 2 and s["loadsOk"] == 2, s
assert s["coalescedByName"] >= 499, s
m = {x["name"]: x for x in s["modules"]}
assert m["mc_user1"]["requests"] == 500 and m["mc_user1"]["loads"] == 1, m
PY
ok "500 helpers for one MODALIAS: 1 kernel load, 500 successes, stats agree"

# -- errors -------------------------------------------------------------------------------------
expect_error() { # method params error
        if out=$(vl "$1" "$2" 2>&1); then fail "$1 $2 succeeded: $out"; fi
        grep -q "$3" <<<"$out" || fail "$1 $2: expected $3, got: $out"
}
expect_error Load '{"modalias":5}' org.varlink.service.InvalidParameter
expect_error Load '{"modalias":"pci:x","modules":["mc_a"]}' io.modcoalesced.Manager.InvalidInput
expect_error Load '{}' io.modcoalesced.Manager.InvalidInput
expect_error Load '{"modules":["../../etc/passwd"]}' io.modcoalesced.Manager.InvalidInput
expect_error Load '{"modules":["mc_nothing"]}' io.modcoalesced.Manager.NoSuchModule
expect_error Load "{\"modalias\":\"pci:$(head -c 5000 /dev/zero | tr '\0' a)\"}" \
        io.modcoalesced.Manager.InvalidInput
expect_error Load '{"modules":["mc_a"],"bogus":1}' org.varlink.service.InvalidParameter
expect_error Frobnicate '{}' org.varlink.service.MethodNotFound
echo 4 >"$MC_FAKE_KERNEL_DIR/fail/mc_fail"
expect_error Load '{"modules":["mc_fail"]}' io.modcoalesced.Manager.LoadFailed
vl Load '{"modalias":"pci:v0000FFFFd0000FFFF"}' | grep -q '"modules" *: *\[ *\]' ||
        fail "no-driver MODALIAS"
# Raw garbage on a connection: the daemon drops that connection and serves the next.
python3 - "$sock" <<'PY'
import socket, sys
for junk in [b'{"method": "io.modcoalesced.Manager.Load", "parameters": {\0', b'\xff\xfe\0', b'[1,2]\0']:
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(junk)
    s.settimeout(5)
    try:
        s.recv(4096)
    except Exception:
        pass
    s.close()
PY
vl GetStats >/dev/null || fail "daemon gone after garbage"
ok "malformed JSON, wrong types, unknown methods and fields, oversize strings: varlink errors"

# -- a module's own init answers EBUSY or EEXIST ------------------------------------------------
# The load returns the errno and nothing is loaded or going away, as after a real init that
# failed: a failure like any other, from one load, answered to every waiter at once (not after
# the 50 s request timeout). Both loads are held until every waiter has joined, so that none
# comes after the failure memory's 5 s (40 clients to start on a busy machine).
echo 16 >"$MC_FAKE_KERNEL_DIR/fail/mc_storm"
echo 17 >"$MC_FAKE_KERNEL_DIR/fail/mc_black"
touch "$MC_FAKE_KERNEL_DIR/hold/mc_storm" "$MC_FAKE_KERNEL_DIR/hold/mc_black"
waiter_pids=()
for i in $(seq 20); do
        vl Load '{"modules":["mc_storm"]}' >"$tmp/ebusy.$i" 2>&1 &
        waiter_pids+=($!)
        vl Load '{"modules":["mc_black"]}' >"$tmp/eexist.$i" 2>&1 &
        waiter_pids+=($!)
done
joined() {
        vl ListInFlight >"$tmp/inflight.json"
        python3 - "$tmp/inflight.json" <<'PY'
import json, sys
m = {x["name"]: x["waiters"] for x in json.load(open(sys.argv[1]))["modules"]}
sys.exit(0 if m.get("mc_storm") == 20 and m.get("mc_black") == 20 else 1)
PY
}
for _ in $(seq 600); do joined && break; sleep 0.1; done
joined || fail "the waiters did not all join: $(cat "$tmp/inflight.json")"
rm "$MC_FAKE_KERNEL_DIR/hold/mc_storm" "$MC_FAKE_KERNEL_DIR/hold/mc_black"
start=$(date +%s)
# Asked again as the load ends: it joins the load or is answered from the failure memory (5 s),
# never a second load.
expect_error Load '{"modules":["mc_storm"]}' io.modcoalesced.Manager.LoadFailed
for p in "${waiter_pids[@]}"; do if wait "$p"; then fail "a waiter succeeded"; fi; done
answered=$(($(date +%s) - start))
[ "$(calls load mc_storm)" = 1 ] || fail "mc_storm load attempts: $(calls load mc_storm)"
[ "$(calls load mc_black)" = 1 ] || fail "mc_black load attempts: $(calls load mc_black)"
for i in $(seq 20); do
        grep -q '"errnoName" *: *"EBUSY"' "$tmp/ebusy.$i" || fail "EBUSY waiter $i: $(cat "$tmp/ebusy.$i")"
        grep -q '"errnoName" *: *"EEXIST"' "$tmp/eexist.$i" || fail "EEXIST waiter $i: $(cat "$tmp/eexist.$i")"
done
[ "$answered" -lt 20 ] || fail "the waiters were answered $answered s after the release"
ok "EBUSY and EEXIST from a module's init: LoadFailed with that errno for 20 waiters each, one load each"

# -- the kernel's modprobe shim ------------------------------------------------------------------
shim="$build/src/modprobe-shim/modcoalesced-modprobe"
cat >"$tmp/real-modprobe" <<'SH'
#!/bin/sh
echo "$*" >>"$MC_FAKE_KERNEL_DIR/real-modprobe.log"
SH
chmod +x "$tmp/real-modprobe"
export MODCOALESCED_MODPROBE="$tmp/real-modprobe"
MODCOALESCED_SOCKET=$sock "$shim" -q -- mc_c || fail "shim: mc_c"
[ "$(calls loaded mc_c)" = 1 ] || fail "shim did not load mc_c"
if MODCOALESCED_SOCKET=$sock "$shim" -q -- mc_nothing; then fail "shim: mc_nothing succeeded"; fi
# Recursion: a kernel request for a module whose load is in flight is answered at once.
touch "$MC_FAKE_KERNEL_DIR/hold/mc_post"
vl Load '{"modules":["mc_post"]}' >/dev/null 2>&1 &
post_pid=$!
for _ in $(seq 1200); do [ "$(calls load mc_post)" = 1 ] && break; sleep 0.05; done
[ "$(calls load mc_post)" = 1 ] || fail "the load of mc_post did not start"
timeout 5 env MODCOALESCED_SOCKET="$sock" "$shim" -q -- mc_post || fail "shim waited on a load in flight"
rm "$MC_FAKE_KERNEL_DIR/hold/mc_post"
wait "$post_pid" || fail "the held load failed"
[ "$(calls load mc_post)" = 1 ] || fail "mc_post was loaded twice"
[ -e "$MC_FAKE_KERNEL_DIR/real-modprobe.log" ] && fail "the real modprobe ran"
[ "$(cat "$tmp/run/ready")" = "$daemon_pid" ] || fail "no ready file with the daemon's pid"
# No daemon, or not the kernel's command line: the real modprobe, same arguments.
MODCOALESCED_SOCKET=/nonexistent "$shim" -q -- mc_c
"$shim" -a -v mc_c mc_b
[ "$(head -n 2 "$MC_FAKE_KERNEL_DIR/real-modprobe.log")" = "$(printf '%s\n' '-q -- mc_c' '-a -v mc_c mc_b')" ] ||
        fail "real modprobe: $(cat "$MC_FAKE_KERNEL_DIR/real-modprobe.log")"
# A ready file whose daemon is gone (SIGKILL): not trusted. Its socket is still there and takes
# connections (systemd keeps it) but nobody answers: a shim that trusted the file would ask there
# and wait until its deadline; it runs the real modprobe at once.
mkdir -p "$tmp/stale-ready"
true &
gone=$!
wait "$gone"
echo "$gone" >"$tmp/stale-ready/ready"
python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(64)
time.sleep(120)' "$tmp/stale-ready/sock" &
listener_pid=$!
pids+=("$listener_pid")
for _ in $(seq 200); do [ -S "$tmp/stale-ready/sock" ] && break; sleep 0.05; done
MODCOALESCED_SOCKET=$tmp/stale-ready/sock MODCOALESCED_SHIM_TIMEOUT=30 timeout 20 "$shim" -q -- mc_b ||
        fail "shim with a stale ready file: status $?"
kill "$listener_pid"; wait "$listener_pid" 2>/dev/null || true
[ "$(tail -n 1 "$MC_FAKE_KERNEL_DIR/real-modprobe.log")" = "-q -- mc_b" ] || fail "stale ready file"
ok "the kernel's modprobe shim: loads through the daemon, never waits on a load in flight, falls back"

# -- a client that is not root ------------------------------------------------------------------
chmod 0755 "$tmp" "$tmp/run"
chmod 0666 "$sock"
if out=$(setpriv --reuid=65534 --regid=65534 --clear-groups varlinkctl call "$sock" \
        io.modcoalesced.Manager.Load '{"modules":["mc_soft"]}' 2>&1); then
        fail "nobody may Load: $out"
fi
grep -q io.modcoalesced.Manager.PermissionDenied <<<"$out" || fail "not PermissionDenied: $out"
setpriv --reuid=65534 --regid=65534 --clear-groups varlinkctl call "$sock" \
        io.modcoalesced.Manager.GetStats '{}' >/dev/null || fail "nobody may read stats"
[ "$(calls load mc_soft)" = 0 ] || fail "mc_soft was loaded for nobody"
chmod 0600 "$sock"
ok "a non-root client is refused Load (and may read)"

# -- SIGKILL in the middle of a burst -----------------------------------------------------------
touch "$MC_FAKE_KERNEL_DIR/hold/mc_user2"
helper_pids=()
for i in $(seq 200); do
        MODALIAS=mctest:user2 "$helper" --socket "$sock" --fallback "$here/fake-modprobe.sh" \
                --timeout 60 >/dev/null 2>>"$tmp/helpers.log" &
        helper_pids+=($!)
done
for _ in $(seq 100); do
        [ "$(calls load mc_user2)" = 1 ] && break
        sleep 0.05
done
[ "$(calls load mc_user2)" = 1 ] || fail "the load never started"
sleep 0.5
kill -9 "$daemon_pid"
rm "$MC_FAKE_KERNEL_DIR/hold/mc_user2"
failed=0
for p in "${helper_pids[@]}"; do
        timeout 60 tail --pid="$p" -f /dev/null || fail "a helper hangs"
        wait "$p" || failed=$((failed + 1))
done
[ "$failed" = 0 ] || fail "$failed helpers failed after SIGKILL: $(tail -5 "$tmp/helpers.log")"
[ "$(calls loaded mc_user2)" = 1 ] || fail "mc_user2 became live $(calls loaded mc_user2) times"
[ -e "$MC_FAKE_KERNEL_DIR/live/mc_user2" ] || fail "mc_user2 not live"
grep -q "^fallback" "$MC_FAKE_KERNEL_DIR/calls" || fail "nobody fell back"
ok "SIGKILL mid-burst: every helper ends with the module loaded exactly once, none hangs"

# -- a load that never returns within the request timeout -----------------------------------------
: >"$tmp/daemon.log"
start_daemon --request-timeout 3000 --log-level debug
touch "$MC_FAKE_KERNEL_DIR/hold/mc_self"
waiter_pids=()
for i in $(seq 20); do
        vl Load '{"modules":["mc_self"]}' >"$tmp/stuck.$i" 2>&1 &
        waiter_pids+=($!)
done
# Meanwhile the daemon answers, and loads other modules.
vl GetStats >/dev/null || fail "no GetStats while a load hangs"
vl Load '{"modules":["mc_a"]}' >/dev/null && [ "$(calls loaded mc_a)" = 1 ] ||
        fail "no other load while a load hangs"
for i in $(seq 20); do
        if wait "${waiter_pids[$((i - 1))]}"; then fail "waiter $i: $(cat "$tmp/stuck.$i")"; fi
        grep -q "io.modcoalesced.Manager.TimedOut" "$tmp/stuck.$i" || fail "waiter $i: $(cat "$tmp/stuck.$i")"
done
[ "$(calls load mc_self)" = 1 ] || fail "mc_self load attempts: $(calls load mc_self)"
vl ListInFlight | grep -q '"mc_self"' || fail "the stuck load is not in flight"
# The late completion, with nobody waiting any more: recorded, then answered from the table.
rm "$MC_FAKE_KERNEL_DIR/hold/mc_self"
for _ in $(seq 200); do [ "$(calls loaded mc_self)" = 1 ] && break; sleep 0.05; done
vl Load '{"modules":["mc_self"]}' >"$tmp/late.json"
grep -q '"outcome" *: *"\(already-\)\?loaded"' "$tmp/late.json" || fail "after the late completion: $(cat "$tmp/late.json")"
[ "$(calls load mc_self)" = 1 ] || fail "mc_self loaded again: $(calls load mc_self)"
vl GetStats | grep -q '"requestsTimedOut" *: *20\b' || fail "timed-out requests: $(vl GetStats)"
# Every TimedOut went out (sd_varlink_error() returns -EBADR for it: no failure to log).
[ "$(grep -c "Request for mc_self timed out" "$tmp/daemon.log")" = 20 ] ||
        fail "timeouts logged: $(grep -c "timed out" "$tmp/daemon.log")"
! grep "Failed to send" "$tmp/daemon.log" || fail "a reply was not sent"
kill -TERM "$daemon_pid"
daemon_exited 60 || fail "daemon did not exit on SIGTERM"
ok "a load that never returns in time: 20 waiters TimedOut, daemon serving meanwhile, the late completion recorded"

# -- SIGTERM with a held load: the waiters get their answer, then the daemon exits ---------------
start_daemon
touch "$MC_FAKE_KERNEL_DIR/hold/mc_slow"
vl Load '{"modules":["mc_slow"]}' >"$tmp/slow.json" 2>&1 &
slow_pid=$!
for _ in $(seq 1200); do [ "$(calls load mc_slow)" = 1 ] && break; sleep 0.05; done
[ "$(calls load mc_slow)" = 1 ] || fail "the load of mc_slow did not start"
kill -TERM "$daemon_pid"
sleep 0.3
kill -0 "$daemon_pid" 2>/dev/null || fail "daemon exited with a load in flight"
rm "$MC_FAKE_KERNEL_DIR/hold/mc_slow"
wait "$slow_pid" || fail "the waiter got no answer: $(cat "$tmp/slow.json")"
grep -q '"outcome" *: *"loaded"' "$tmp/slow.json" || fail "$(cat "$tmp/slow.json")"
daemon_exited 60 || fail "daemon did not exit after the drain"
ok "SIGTERM: in-flight load finished, its waiter answered, then exit"

# -- idle exit ----------------------------------------------------------------------------------
start_daemon --idle-timeout 1
vl GetStats >/dev/null
daemon_exited 60 || fail "daemon did not exit when idle"
ok "exits after --idle-timeout with nothing to do"

if [ ${#wrapper[@]} -gt 0 ]; then
        ! grep -E '^==[0-9]+==' "$tmp/daemon.log" || fail "${wrapper[0]} reported errors"
        ok "every daemon ran under ${wrapper[0]}: no error reported"
fi
echo "$n passed, 0 failed"
