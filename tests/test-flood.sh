#!/usr/bin/env bash
# test-flood.sh BUILDDIR — connection floods against the daemon as systemd runs it (socket-
# activated by systemd-socket-activate, on the directory-backed fake kernel), each client with
# one Load (tests/flood.py: every connection open at once, one deadline for all answers):
#
#   1. 10 000 connections against --max-connections=1000, all accepted Loads waiting on one held
#      load: exactly 1000 are served (one kernel load), the 9000 others get TooManyRequests, none
#      hangs, the daemon's peak RSS stays under MEMORY_BOUND_KB, and it serves normally after.
#   2. A small RLIMIT_NOFILE at start (LimitNOFILE=300): the connection limit shrinks to fit it,
#      and the excess is refused with TooManyRequests instead of running into EMFILE.
#   3. RLIMIT_NOFILE lowered under a running daemon below what 200 waiting connections already
#      use, and 300 more clients: accept() fails with EMFILE again and again; the daemon pauses
#      accepting instead of giving up for good (what sd-varlink's own accept does), and once the
#      limit is back and the load released, all 500 are answered, and it serves normally.
#   4. The udev helper itself, 300 at once against --max-connections=100: 100 get the driver from
#      the daemon, the 200 refused fall back to modprobe (here a fake one), every one exits 0.
set -euo pipefail

# The peak RSS allowed in flood 1 (VmHWM). Measured on the developer build: about 7 MiB at
# start (libkmod's index, sd-event), about 5.5 KiB per served connection (sd-varlink's
# connection and buffers, the parsed call, the waiter; 4000 connections peaked at 27 MiB), and
# nothing that lasts for a refused connection (answered and closed at accept); flood 1 peaked at
# 12.3 MiB. Budget: 16 MiB + 1064 kept connections x 16 KiB = 33 MiB, rounded up to 40 MiB.
# Sanitizer builds (ASan's shadow memory and quarantine) are not held to it; their peak is
# printed.
MEMORY_BOUND_KB=$((40 * 1024))
N=10000
MAX=1000

build=$1
name=flood
. "$(dirname "$0")/lib-service.sh"
sanitized=0
grep -q __asan_init "$daemon" && sanitized=1

# start_daemon [PREFIX…] -- [OPTIONS…]: a fresh daemon and fake kernel, a fresh log.
start_daemon() {
        local prefix=()
        while [ "$1" != -- ]; do prefix+=("$1"); shift; done
        shift
        rm -rf "$MC_FAKE_KERNEL_DIR"
        : >"$tmp/daemon.log"
        socket_activate ${prefix[@]+"${prefix[@]}"} -- --idle-timeout 0 --request-timeout 170000 "$@"
        # The first connection makes systemd-socket-activate exec the daemon.
        vl GetStats >/dev/null || fail "the daemon did not start: $(cat "$tmp/daemon.log")"
}
alive() { kill -0 "$daemon_pid" 2>/dev/null || fail "the daemon is gone: $(tail "$tmp/daemon.log")"; }

# Asserts flood.py's summary ($1) with a python expression over it (r).
expect() {
        python3 - "$1" "$2" <<'PY' || fail "flood: $(cat "$1")"
import json, sys
r = json.load(open(sys.argv[1]))
assert eval(sys.argv[2]), sys.argv[2]
PY
}

# A normal call after a flood: a module not loaded yet, loaded once.
serves() {
        vl Load '{"modules":["mc_b"]}' >"$tmp/after.json" || fail "no Load after the flood"
        grep -q '"outcome" *: *"loaded"' "$tmp/after.json" || fail "after: $(cat "$tmp/after.json")"
        [ "$(calls load mc_b)" = 1 ] || fail "mc_b loads: $(calls load mc_b)"
}

# Removes MODULE's hold once ListInFlight shows COUNT waiters for it: every served connection
# has joined the held load, so each is answered "loaded" (one that came after it would be told
# "already-loaded", rightly). Only once the flood has all its connections (flood.py
# --connected FILE): a look made before could take a served slot from it; after, it can only be
# refused, or read in the slack beyond the limit.
release_when_waiting() {
        local module=$1 count=$2 connected=$3
        for _ in $(seq 1200); do [ -e "$connected" ] && break; sleep 0.1; done
        [ -e "$connected" ] || fail "the flood did not make its connections"
        for _ in $(seq 1200); do
                vl ListInFlight >"$tmp/inflight.json" 2>/dev/null &&
                        grep -q "\"waiters\" *: *$count\b" "$tmp/inflight.json" && break
                sleep 0.1
        done
        grep -q "\"waiters\" *: *$count\b" "$tmp/inflight.json" ||
                fail "$count waiters for $module: $(cat "$tmp/inflight.json")"
        rm "$MC_FAKE_KERNEL_DIR/hold/$module"
}

# -- 1: 10 000 at once, 1000 served -------------------------------------------------------------
start_daemon -- --max-connections $MAX
touch "$MC_FAKE_KERNEL_DIR/hold/mc_c"
python3 "$here/flood.py" "$sock" $N --parameters '{"modules":["mc_c"]}' --timeout 600 \
        --connected "$tmp/flood1.connected" >"$tmp/flood1.json" &
flood=$!
pids+=("$flood")
release_when_waiting mc_c $MAX "$tmp/flood1.connected"
wait "$flood"
cat "$tmp/flood1.json"
expect "$tmp/flood1.json" "r['unconnected'] == 0 and r['hung'] == 0 and r['closed'] == 0"
expect "$tmp/flood1.json" "r['errors'] == {'io.modcoalesced.Manager.TooManyRequests': $N - $MAX}"
expect "$tmp/flood1.json" "r['replies'] == {'[[\"mc_c\", \"loaded\"]]': $MAX}"
[ "$(calls load mc_c)" = 1 ] || fail "mc_c loads: $(calls load mc_c)"
alive
peak=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$daemon_pid/status")
echo "# peak RSS of the daemon: $peak kB (bound: $MEMORY_BOUND_KB kB$([ $sanitized = 1 ] && echo ', not applied: sanitizer build'))"
[ $sanitized = 1 ] || [ "$peak" -le $MEMORY_BOUND_KB ] || fail "peak RSS $peak kB > $MEMORY_BOUND_KB kB"
serves
ok "$N connections at once, limit $MAX: $MAX served with one load, $((N - MAX)) TooManyRequests, none hung, peak RSS $peak kB"

# -- 2: RLIMIT_NOFILE 300 from the start --------------------------------------------------------
start_daemon prlimit --nofile=300: --
grep -q "serving at most 108 connections" "$tmp/daemon.log" || fail "no lowered limit: $(cat "$tmp/daemon.log")"
touch "$MC_FAKE_KERNEL_DIR/hold/mc_c"
python3 "$here/flood.py" "$sock" 1000 --parameters '{"modules":["mc_c"]}' --timeout 600 \
        --connected "$tmp/flood2.connected" >"$tmp/flood2.json" &
flood=$!
pids+=("$flood")
release_when_waiting mc_c 108 "$tmp/flood2.connected"
wait "$flood"
cat "$tmp/flood2.json"
expect "$tmp/flood2.json" "r['unconnected'] == 0 and r['hung'] == 0 and r['closed'] == 0"
expect "$tmp/flood2.json" "r['errors'] == {'io.modcoalesced.Manager.TooManyRequests': 1000 - 108}"
expect "$tmp/flood2.json" "r['replies'] == {'[[\"mc_c\", \"loaded\"]]': 108}"
grep -q "Cannot accept" "$tmp/daemon.log" && fail "EMFILE despite the lowered limit"
alive
serves
ok "RLIMIT_NOFILE 300: limit lowered to 108 connections, the excess refused, no EMFILE"

# -- 3: EMFILE under a running daemon ----------------------------------------------------------
start_daemon --
touch "$MC_FAKE_KERNEL_DIR/hold/mc_c"
python3 "$here/flood.py" "$sock" 200 --parameters '{"modules":["mc_c"]}' --timeout 600 \
        >"$tmp/flood3a.json" &
flood_a=$!
pids+=("$flood_a")
for _ in $(seq 600); do
        vl ListInFlight >"$tmp/inflight.json"
        grep -q '"waiters" *: *200\b' "$tmp/inflight.json" && break
        sleep 0.1
done
grep -q '"waiters" *: *200\b' "$tmp/inflight.json" || fail "200 waiters: $(cat "$tmp/inflight.json")"
used=$(ls "/proc/$daemon_pid/fd" | wc -l)
# The soft limit only: raising a hard limit again needs CAP_SYS_RESOURCE.
soft=$(prlimit --pid "$daemon_pid" --nofile --noheadings --output SOFT)
prlimit --pid "$daemon_pid" --nofile=100:
python3 "$here/flood.py" "$sock" 300 --parameters '{"modules":["mc_c"]}' --timeout 600 \
        >"$tmp/flood3b.json" &
flood_b=$!
pids+=("$flood_b")
for _ in $(seq 200); do grep -q "Cannot accept" "$tmp/daemon.log" && break; sleep 0.05; done
grep -q "Cannot accept connections (Too many open files)" "$tmp/daemon.log" ||
        fail "no EMFILE with $used descriptors and a limit of 100: $(cat "$tmp/daemon.log")"
sleep 1
alive
prlimit --pid "$daemon_pid" --nofile="$soft":
rm "$MC_FAKE_KERNEL_DIR/hold/mc_c"
wait "$flood_a" "$flood_b"
cat "$tmp/flood3a.json" "$tmp/flood3b.json"
for f in "$tmp/flood3a.json" "$tmp/flood3b.json"; do
        expect "$f" "r['unconnected'] == 0 and r['hung'] == 0 and r['closed'] == 0 and r['errors'] == {}"
done
expect "$tmp/flood3a.json" "r['replies'] == {'[[\"mc_c\", \"loaded\"]]': 200}"
# Once the limit is back, flood3b's connections are accepted while the held load may still run:
# those join it ("loaded"), the ones accepted after it ended find mc_c live ("already-loaded").
# Which ones fall on which side is a race of the test's own making; that all 300 are answered
# with one of the two, and that mc_c is loaded once, is not.
expect "$tmp/flood3b.json" "set(r['replies']) <= {'[[\"mc_c\", \"loaded\"]]', '[[\"mc_c\", \"already-loaded\"]]'} and sum(r['replies'].values()) == 300"
[ "$(calls load mc_c)" = 1 ] || fail "mc_c loads: $(calls load mc_c)"
alive
serves
ok "EMFILE under a running daemon ($used descriptors in use, limit 100): accepting paused, not given up; all 500 answered"
# -- 4: the udev helper beyond the limit ---------------------------------------------------------
start_daemon -- --max-connections 100
touch "$MC_FAKE_KERNEL_DIR/hold/mc_user1"
helper_pids=()
for _ in $(seq 300); do
        MODALIAS=mctest:user1 "$build/src/udev-helper/modcoalesced-udev" --socket "$sock" \
                --fallback "$here/fake-modprobe.sh" --timeout 150 >/dev/null 2>>"$tmp/helpers.log" &
        helper_pids+=($!)
done
for _ in $(seq 1200); do [ "$(calls fallback mctest:user1)" = 200 ] && break; sleep 0.1; done
[ "$(calls fallback mctest:user1)" = 200 ] || fail "fallbacks: $(calls fallback mctest:user1)"
rm "$MC_FAKE_KERNEL_DIR/hold/mc_user1"
failed=0
for p in "${helper_pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
[ "$failed" = 0 ] || fail "$failed helpers failed: $(tail -5 "$tmp/helpers.log")"
[ "$(calls fallback mctest:user1)" = 200 ] || fail "fallbacks: $(calls fallback mctest:user1)"
vl GetStats | grep -q '"requests" *: *100\b' || fail "daemon requests: $(vl GetStats)"
[ "$(calls loaded mc_user1)" = 1 ] || fail "mc_user1 became live $(calls loaded mc_user1) times"
clear=$(grep -c "TooManyRequests; running" "$tmp/helpers.log" || true)
alive
ok "300 udev helpers, limit 100: 100 served by the daemon, 200 fell back to modprobe ($clear told TooManyRequests, the rest found the connection closed), all exit 0"
echo "$n passed, 0 failed"
