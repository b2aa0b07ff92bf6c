#!/usr/bin/env bash
# test-helper.sh BUILDDIR — the udev helper's fallback to modprobe: which answers make it load
# the MODALIAS itself (the daemon loaded nothing: it could not resolve the request, or refused
# it) and which stand (the daemon resolved it and a load failed, timed out or found nothing),
# with the real daemon and with a fake one that answers any error; a load that outlasts the
# daemon's request timeout (asked again until the helper's own deadline); and the deadline of its
# connect() to a socket that does not take connections.
set -euo pipefail

build=$1
name=helper
helper="$build/src/udev-helper/modcoalesced-udev"
. "$(dirname "$0")/lib-service.sh"
mkdir -p "$MC_FAKE_KERNEL_DIR/live"

# fallbacks ALIAS: how often the helper ran (fake) modprobe for ALIAS.
fallbacks() { grep -c "^fallback $1\$" "$MC_FAKE_KERNEL_DIR/calls" 2>/dev/null || true; }

# run_helper ALIAS SOCKET [OPTIONS…]: the helper for ALIAS, bounded by timeout(1); its exit status
# in rc, how long it took in ms, its stderr in $tmp/helper.err.
run_helper() {
        local alias=$1 socket=$2 start
        shift 2
        start=$(date +%s%N)
        rc=0
        MODALIAS=$alias timeout 30 "$helper" --socket "$socket" --fallback "$here/fake-modprobe.sh" \
                --timeout 20 "$@" 2>"$tmp/helper.err" || rc=$?
        ms=$((($(date +%s%N) - start) / 1000000))
}

# -- the real daemon ----------------------------------------------------------------------------
# Its module tree is a copy, so that breaking its index leaves the fallback's intact.
cp -a "$moddir" "$tmp/moddir"
moddir=$tmp/moddir
socket_activate -- --idle-timeout 0

run_helper mctest:a "$sock"
[ "$rc" = 0 ] && [ "$(calls loaded mc_a)" = 1 ] && [ "$(fallbacks mctest:a)" = 0 ] ||
        fail "mctest:a: status $rc, $(calls loaded mc_a) loads: $(cat "$tmp/helper.err")"
echo 5 >"$MC_FAKE_KERNEL_DIR/fail/mc_fail"
run_helper mctest:fail "$sock"
[ "$rc" = 1 ] || fail "mctest:fail: status $rc: $(cat "$tmp/helper.err")"
grep -q "LoadFailed" "$tmp/helper.err" || fail "mctest:fail: $(cat "$tmp/helper.err")"
[ "$(calls load mc_fail)" = 1 ] && [ "$(fallbacks mctest:fail)" = 0 ] ||
        fail "mctest:fail: $(calls load mc_fail) loads, $(fallbacks mctest:fail) fallbacks"
ok "the daemon's answer stands: loaded, or LoadFailed (status 1, never loaded a second time)"

# A load that outlasts the daemon's request timeout (1 s here): the helper asks again, joining
# the same load, and at its own deadline (4 s) says so and exits 0; one load in all.
kill "$daemon_pid"; wait "$daemon_pid" 2>/dev/null || true
socket_activate -- --idle-timeout 0 --request-timeout 1000
vl GetStats >/dev/null # started before the helper's 4 s begin
mkdir -p "$MC_FAKE_KERNEL_DIR/hold"
touch "$MC_FAKE_KERNEL_DIR/hold/mc_slow"
run_helper mctest:slow "$sock" --timeout 4
[ "$rc" = 0 ] || fail "slow load: status $rc: $(cat "$tmp/helper.err")"
grep -q "mctest:slow: still loading after 4 s (.*, [2-4] answers TimedOut); modcoalesced carries" \
        "$tmp/helper.err" || fail "slow load not said: $(cat "$tmp/helper.err")"
[ "$ms" -ge 3500 ] && [ "$ms" -lt 8000 ] || fail "slow load: the helper took $ms ms"
[ "$(calls load mc_slow)" = 1 ] && [ "$(fallbacks mctest:slow)" = 0 ] ||
        fail "slow load: $(calls load mc_slow) loads, $(fallbacks mctest:slow) fallbacks"
vl GetStats | grep -q '"requestsTimedOut" *: *[2-4]\b' || fail "timed out: $(vl GetStats)"
rm "$MC_FAKE_KERNEL_DIR/hold/mc_slow"
run_helper mctest:slow "$sock" --timeout 4
[ "$rc" = 0 ] && [ "$(calls load mc_slow)" = 1 ] && [ "$(calls loaded mc_slow)" = 1 ] ||
        fail "after the slow load: status $rc, $(calls load mc_slow) loads"
ok "a load slower than the daemon's request timeout: asked again until the helper's deadline, notice, status 0, one load"

# A module index that goes bad under the daemon: it cannot resolve anything (io.systemd.System,
# EINVAL from libkmod), nothing was loaded, and the device still needs its driver.
sleep 1.1 # a new mtime, whatever the file system's granularity
head -c 4096 /dev/urandom >"$moddir/modules.alias.bin"
if out=$(vl Load '{"modalias":"mctest:user1"}' 2>&1); then fail "a broken index resolved: $out"; fi
grep -q "io.systemd.System" <<<"$out" || fail "broken index: $out"
run_helper mctest:user1 "$sock"
[ "$rc" = 0 ] || fail "resolver failure: status $rc: $(cat "$tmp/helper.err")"
[ "$(fallbacks mctest:user1)" = 1 ] && [ "$(calls loaded mc_user1)" = 1 ] ||
        fail "resolver failure: $(fallbacks mctest:user1) fallbacks, $(calls loaded mc_user1) loads"
ok "a resolver failure of the daemon (io.systemd.System): the helper runs modprobe -b itself"
kill "$daemon_pid"

# -- a daemon that answers any error ------------------------------------------------------------
fake_sock="$tmp/fake.sock"
python3 - "$fake_sock" "$tmp/fake-error" <<'PY' 2>>"$tmp/fake.log" &
import json, socket, sys
path, error_file = sys.argv[1:3]
s = socket.socket(socket.AF_UNIX)
s.bind(path)
s.listen(16)
while True:
    c, _ = s.accept()
    buf = b""
    while not buf.endswith(b"\0"):
        d = c.recv(4096)
        if not d:
            break
        buf += d
    error = open(error_file).read().strip()
    c.sendall(json.dumps({"error": error, "parameters": {}}).encode() + b"\0")
    c.close()
PY
pids+=($!)
for _ in $(seq 100); do [ -S "$fake_sock" ] && break; sleep 0.05; done
[ -S "$fake_sock" ] || fail "no fake daemon: $(cat "$tmp/fake.log")"

# Errors before any load: modprobe -b runs, and its status is the helper's. One alias each (one
# the fixture tree has, for the fake modprobe), to count the fallbacks.
for pair in io.modcoalesced.Manager.InvalidInput=mctest:b io.systemd.System=mctest:c \
        org.varlink.service.InvalidParameter=mctest:post \
        io.modcoalesced.Manager.PermissionDenied=mctest:slow \
        io.modcoalesced.Manager.ShuttingDown=mctest:self \
        io.modcoalesced.Manager.TooManyRequests=mctest:shared \
        org.varlink.service.MethodNotFound=mctest:inst; do
        error=${pair%=*} alias=${pair#*=}
        echo "$error" >"$tmp/fake-error"
        run_helper "$alias" "$fake_sock"
        [ "$rc" = 0 ] && [ "$(fallbacks "$alias")" = 1 ] ||
                fail "$error: status $rc, $(fallbacks "$alias") fallbacks: $(cat "$tmp/helper.err")"
done
ok "InvalidInput, io.systemd.System, InvalidParameter, PermissionDenied, ShuttingDown, TooManyRequests, MethodNotFound: fallback"
# Answers to a resolved request: they stand, status 1, no second load.
i=0
for error in io.modcoalesced.Manager.LoadFailed io.modcoalesced.Manager.NoSuchModule; do
        i=$((i + 1))
        echo "$error" >"$tmp/fake-error"
        run_helper "mctest:x$i" "$fake_sock"
        [ "$rc" = 1 ] && [ "$(fallbacks "mctest:x$i")" = 0 ] ||
                fail "$error: status $rc, $(fallbacks "mctest:x$i") fallbacks: $(cat "$tmp/helper.err")"
        grep -q "$error" "$tmp/helper.err" || fail "$error not logged: $(cat "$tmp/helper.err")"
done
ok "LoadFailed, NoSuchModule: status 1, no fallback"
# TimedOut: the load still runs; asked again, at most once a second, until the deadline; then
# status 0 and no fallback.
echo io.modcoalesced.Manager.TimedOut >"$tmp/fake-error"
run_helper mctest:x9 "$fake_sock" --timeout 3
[ "$rc" = 0 ] && [ "$(fallbacks mctest:x9)" = 0 ] ||
        fail "TimedOut: status $rc, $(fallbacks mctest:x9) fallbacks: $(cat "$tmp/helper.err")"
grep -q "mctest:x9: still loading after 3 s (.*, [2-3] answers TimedOut)" "$tmp/helper.err" ||
        fail "TimedOut: $(cat "$tmp/helper.err")"
ok "TimedOut: asked again at most once a second until the deadline, then status 0, no fallback"

# -- a device gone before udev handled its event: 81-modcoalesced.rules found no uevent file -----
rc=0
env -u MODALIAS DEVPATH=/devices/platform/mc-gone.0 "$helper" --socket "$tmp/none" \
        --fallback "$here/fake-modprobe.sh" 2>"$tmp/helper.err" || rc=$?
[ "$rc" = 0 ] && grep -q "/devices/platform/mc-gone.0: gone before udev handled its event" "$tmp/helper.err" ||
        fail "gone device: status $rc: $(cat "$tmp/helper.err")"
rc=0
MODALIAS= DEVPATH=/devices/virtual "$helper" --socket "$tmp/none" 2>"$tmp/helper.err" || rc=$?
[ "$rc" = 2 ] && grep -q "No valid MODALIAS" "$tmp/helper.err" ||
        fail "no MODALIAS, device there: status $rc: $(cat "$tmp/helper.err")"
ok "no MODALIAS: status 0 when the device is gone from /sys (nothing to drive), 2 when it is there"

# -- connect() to a socket that takes no connections --------------------------------------------
# A listener with a backlog of 0 that never accepts, filled: connect() would block for good.
full_sock="$tmp/full.sock"
full_listener "$full_sock"

run_helper mctest:user2 "$full_sock"
[ "$rc" != 124 ] || fail "the helper hung in connect() (killed by timeout(1) after 30 s)"
[ "$rc" = 0 ] && [ "$(fallbacks mctest:user2)" = 1 ] ||
        fail "full backlog: status $rc: $(cat "$tmp/helper.err")"
[ "$ms" -ge 5000 ] && [ "$ms" -lt 10000 ] || fail "full backlog: fell back after $ms ms, not 5 s"
grep -q "did not accept" "$tmp/helper.err" || fail "full backlog: $(cat "$tmp/helper.err")"
ok "a full backlog: the connect deadline (5 s by default) passes, then the fallback ($ms ms)"
run_helper mctest:multi "$full_sock" --connect-timeout 1
[ "$rc" = 0 ] && [ "$(fallbacks mctest:multi)" = 1 ] ||
        fail "--connect-timeout 1: status $rc: $(cat "$tmp/helper.err")"
[ "$ms" -ge 1000 ] && [ "$ms" -lt 4500 ] || fail "--connect-timeout 1: fell back after $ms ms"
ok "--connect-timeout 1: the fallback after $ms ms"

# No socket at all: the fallback at once.
run_helper mctest:soft "$tmp/nonexistent.sock"
[ "$rc" = 0 ] && [ "$(fallbacks mctest:soft)" = 1 ] && [ "$ms" -lt 4000 ] ||
        fail "no socket: status $rc after $ms ms: $(cat "$tmp/helper.err")"
ok "no socket: the fallback at once"

echo "$n passed, 0 failed"
