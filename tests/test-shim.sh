#!/usr/bin/env bash
# test-shim.sh BUILDDIR — the kernel's modprobe shim and the daemon's lifetime around it, with
# the daemon socket-activated by systemd-socket-activate (which starts it on the first
# connection) on the directory-backed fake kernel: a shim never waits for an activation, but its
# connection starts the daemon for the requests after it; a daemon that the kernel relies on
# (kernel.modprobe names the shim) does not exit when idle; --claim and --release
# (modcoalesced-kernel-modprobe.service) set kernel.modprobe to the shim over a stock value only,
# and back only from the shim.
set -euo pipefail

build=$1
name=shim
shim="$build/src/modprobe-shim/modcoalesced-modprobe"
. "$(dirname "$0")/lib-service.sh"

export MODCOALESCED_SOCKET=$sock MODCOALESCED_MODPROBE="$tmp/real-modprobe"
# Stands in for the real modprobe: logs its arguments; held while hold-real/NAME exists (NAME the
# last argument; at most 20 s); exits with real-status (0 without it).
cat >"$tmp/real-modprobe" <<'SH'
#!/bin/sh
echo "$*" >>"$MC_FAKE_KERNEL_DIR/real-modprobe.log"
for last; do :; done
i=0
while [ -e "$MC_FAKE_KERNEL_DIR/hold-real/$last" ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
exit "$(cat "$MC_FAKE_KERNEL_DIR/real-status" 2>/dev/null || echo 0)"
SH
chmod +x "$tmp/real-modprobe"

real_calls() { grep -c . "$MC_FAKE_KERNEL_DIR/real-modprobe.log" 2>/dev/null || true; }
ctl_for_drain="$build/src/modcoalescectl/modcoalescectl"

# The socket is listening; the daemon starts on the first connection.
start_socket() {
        rm -rf "$MC_FAKE_KERNEL_DIR"
        socket_activate -- "$@"
}

# -- not running yet: the real modprobe answers, the connection starts the daemon ----------------
start_socket --idle-timeout 0
[ -e "$tmp/run/ready" ] && fail "ready before anything connected"
timeout 10 "$shim" -q -- mc_c || fail "shim: mc_c while the daemon was not running"
[ "$(cat "$MC_FAKE_KERNEL_DIR/real-modprobe.log")" = "-q -- mc_c" ] ||
        fail "the real modprobe did not answer the first request"
for _ in $(seq 200); do [ -s "$tmp/run/ready" ] && break; sleep 0.05; done
[ "$(cat "$tmp/run/ready" 2>/dev/null)" = "$daemon_pid" ] || fail "the shim's connection did not start the daemon"
# The requests after it go through the daemon, coalesced.
shim_pids=()
for i in $(seq 20); do "$shim" -q -- mc_b & shim_pids+=($!); done
for p in "${shim_pids[@]}"; do wait "$p" || fail "shim: mc_b"; done
[ "$(calls load mc_b)" = 1 ] || fail "mc_b: $(calls load mc_b) loads for 20 kernel requests"
[ "$(real_calls)" = 1 ] || fail "the real modprobe ran again"
ok "a shim never waits for an activation: the real modprobe answers, its connection starts the daemon, the next 20 requests are one load"
kill "$daemon_pid"; wait "$daemon_pid" 2>/dev/null || true

# -- resident while kernel.modprobe names the shim --------------------------------------------
start_socket --idle-timeout 1
echo /usr/libexec/modcoalesced-modprobe >"$MC_FAKE_KERNEL_DIR/kernel.modprobe"
"$shim" -q -- mc_c 2>/dev/null || true # not serving yet: starts it
for _ in $(seq 200); do [ -s "$tmp/run/ready" ] && break; sleep 0.05; done
[ -s "$tmp/run/ready" ] || fail "the daemon did not start"
# The idle timer (1 s) fires, and the daemon says why it stays.
for _ in $(seq 600); do
        grep -q "kernel.modprobe runs modcoalesced-modprobe: staying" "$tmp/daemon.log" && break
        sleep 0.05
done
grep -q "kernel.modprobe runs modcoalesced-modprobe: staying" "$tmp/daemon.log" ||
        fail "no word of staying in the log"
sleep 1.5
kill -0 "$daemon_pid" 2>/dev/null || fail "the daemon exited when idle although the kernel runs the shim"
echo /usr/sbin/modprobe >"$MC_FAKE_KERNEL_DIR/kernel.modprobe"
timeout 10 tail --pid="$daemon_pid" -f /dev/null ||
        fail "the daemon did not exit when idle once kernel.modprobe was the real modprobe"
ok "no idle exit while kernel.modprobe names the shim; idle exit again once it does not"

# -- a draining daemon: the kernel's shim falls back at once instead of waiting in the backlog -----
start_socket --idle-timeout 0
: >"$MC_FAKE_KERNEL_DIR/real-modprobe.log"
mkdir -p "$MC_FAKE_KERNEL_DIR/hold"
touch "$MC_FAKE_KERNEL_DIR/hold/mc_slow"
"$ctl_for_drain" --socket "$sock" load mc_slow >/dev/null 2>&1 &
drain_client=$!
for _ in $(seq 200); do [ "$(calls load mc_slow)" = 1 ] && break; sleep 0.05; done
[ "$(calls load mc_slow)" = 1 ] || fail "mc_slow was not being loaded"
[ -s "$tmp/run/ready" ] || fail "no ready file while serving"
kill -TERM "$daemon_pid"
for _ in $(seq 100); do [ -e "$tmp/run/ready" ] || break; sleep 0.05; done
[ -e "$tmp/run/ready" ] && fail "ready still there while draining"
t0=$(date +%s%N)
MODCOALESCED_LOG_LEVEL=debug timeout 10 "$shim" -q -- mc_c 2>"$tmp/drain.err" || fail "shim while draining"
t1=$(date +%s%N)
[ "$(cat "$MC_FAKE_KERNEL_DIR/real-modprobe.log")" = "-q -- mc_c" ] ||
        fail "the real modprobe did not answer while the daemon drained: $(cat "$MC_FAKE_KERNEL_DIR/real-modprobe.log")"
# Without asking: not after a connect that waited in the backlog (5 s) or an answer never given.
grep -q "modcoalesced is not serving yet; running" "$tmp/drain.err" ||
        fail "the shim did not see the drain: $(cat "$tmp/drain.err")"
[ $(((t1 - t0) / 1000000)) -lt 5000 ] || fail "the shim took $(((t1 - t0) / 1000000)) ms while the daemon drained"
rm "$MC_FAKE_KERNEL_DIR/hold/mc_slow"
wait "$drain_client" || fail "the waiting client was not answered during the drain"
wait "$daemon_pid" 2>/dev/null || true
ok "SIGTERM: ready goes first, a kernel request during the drain goes to the real modprobe in $(((t1 - t0) / 1000000)) ms, the waiting client is answered"

# -- the daemon's TimedOut: the kernel's request asks again, joining the load -----------------------
# The kernel waits for its modprobe as long as a load takes: a request_module() that says no at
# the daemon's deadline would fail a mount of the root while the module is still on its way, and
# the real modprobe's load would be a second full one on the .ko.zst path. The shim asks again
# (at most once a second) until its own deadline; only then does the real modprobe take over.
start_socket --idle-timeout 0 --request-timeout 300
"$shim" -q -- mc_c 2>/dev/null || true # not serving yet: starts it
for _ in $(seq 200); do [ -s "$tmp/run/ready" ] && break; sleep 0.05; done
[ -s "$tmp/run/ready" ] || fail "the daemon did not start"
: >"$MC_FAKE_KERNEL_DIR/real-modprobe.log"
mkdir -p "$MC_FAKE_KERNEL_DIR/hold"
touch "$MC_FAKE_KERNEL_DIR/hold/mc_slow"
MODCOALESCED_SHIM_TIMEOUT=20 timeout 30 "$shim" -q -- mc_slow &
shim_pid=$!
# Released only once the daemon has answered TimedOut twice: the shim has asked a third time.
for _ in $(seq 200); do
        vl GetStats | grep -q '"requestsTimedOut" *: *[2-9]\b' && break
        sleep 0.05
done
vl GetStats | grep -q '"requestsTimedOut" *: *[2-9]\b' || fail "no TimedOut answers: $(vl GetStats)"
kill -0 "$shim_pid" 2>/dev/null || fail "the shim ended at the daemon's TimedOut"
rm "$MC_FAKE_KERNEL_DIR/hold/mc_slow"
wait "$shim_pid" || fail "shim: mc_slow after TimedOut answers"
[ ! -s "$MC_FAKE_KERNEL_DIR/real-modprobe.log" ] ||
        fail "the real modprobe ran after TimedOut: '$(cat "$MC_FAKE_KERNEL_DIR/real-modprobe.log")'"
[ "$(calls load mc_slow)" = 1 ] && [ "$(calls loaded mc_slow)" = 1 ] ||
        fail "mc_slow: $(calls load mc_slow) loads by the daemon"
ok "the daemon's TimedOut: the kernel's request asks again, joins the load, status 0, no real modprobe, one load"

# Still loading at the shim's own deadline (2 s here): the real modprobe takes over, as the
# kernel then waits for it (a real kernel would make it wait for the load in flight).
touch "$MC_FAKE_KERNEL_DIR/hold/mc_user2"
t0=$(date +%s%N)
MODCOALESCED_SHIM_TIMEOUT=2 timeout 20 "$shim" -q -- mc_user2 || fail "shim: mc_user2 past its deadline"
t1=$(date +%s%N)
[ "$(cat "$MC_FAKE_KERNEL_DIR/real-modprobe.log")" = "-q -- mc_user2" ] ||
        fail "at the deadline the real modprobe did not take over: '$(cat "$MC_FAKE_KERNEL_DIR/real-modprobe.log")'"
[ $(((t1 - t0) / 1000000)) -ge 1500 ] && [ $(((t1 - t0) / 1000000)) -lt 6000 ] ||
        fail "the shim took $(((t1 - t0) / 1000000)) ms for a 2 s deadline"
# modprobe@'s form at its deadline: status 1 (the unit ignores it), the daemon carries on.
MODCOALESCED_UNIT_TIMEOUT=2 timeout 20 "$shim" -abq mc_user2 2>"$tmp/unit.err" &&
        fail "shim -abq: status 0 for a load still running"
grep -q "mc_user2: still loading after 2 s; modcoalesced carries on" "$tmp/unit.err" ||
        fail "shim -abq at its deadline: $(cat "$tmp/unit.err")"
[ "$(real_calls)" = 1 ] || fail "the real modprobe ran for the unit: $(cat "$MC_FAKE_KERNEL_DIR/real-modprobe.log")"
[ "$(calls load mc_user2)" = 1 ] || fail "mc_user2: $(calls load mc_user2) loads by the daemon"
# The requests for a name reach their deadline together: one runs the real modprobe, the others
# wait for it (its lock in fallback/ beside the socket, held here by the test as that one) and
# take its status rather than each copy the module again. 3 s here.
: >"$MC_FAKE_KERNEL_DIR/real-modprobe.log"
touch "$MC_FAKE_KERNEL_DIR/hold/mc_user1"
mkdir -p "$tmp/run/fallback"
exec 9>"$tmp/run/fallback/mc_user1"
flock 9
MODCOALESCED_SHIM_TIMEOUT=3 MODCOALESCED_LOG_LEVEL=debug timeout 60 "$shim" -q -- mc_user1 2>"$tmp/late.err" 9>&- &
late=$!
for _ in $(seq 600); do grep -q "mc_user1: the real modprobe for it is running; waiting for it" "$tmp/late.err" && break; sleep 0.05; done
grep -q "still loading at the kernel request's deadline; running" "$tmp/late.err" &&
        grep -q "mc_user1: the real modprobe for it is running; waiting for it" "$tmp/late.err" ||
        fail "at its deadline, the name held: no wait for the one running: $(cat "$tmp/late.err")"
echo 0 >&9
exec 9>&-
wait "$late" || fail "the request that waited at its deadline: status $?: $(cat "$tmp/late.err")"
[ ! -s "$MC_FAKE_KERNEL_DIR/real-modprobe.log" ] ||
        fail "a second real modprobe ran: '$(cat "$MC_FAKE_KERNEL_DIR/real-modprobe.log")'"
grep -q "mc_user1: the real modprobe that ran for it exited 0" "$tmp/late.err" ||
        fail "not its status: $(cat "$tmp/late.err")"
rm "$MC_FAKE_KERNEL_DIR/hold/mc_user1"
rm "$MC_FAKE_KERNEL_DIR/hold/mc_user2"
kill "$daemon_pid"; wait "$daemon_pid" 2>/dev/null || true
ok "still loading at the shim's deadline: the real modprobe takes over for the kernel, or the one running for the name answers; a unit's shim exits 1, nothing else runs"

# -- a daemon older than waitedBefore (mid-upgrade): TimedOut, then InvalidParameter ----------------
# The second ask carries waitedBefore, which such a daemon refuses: the real modprobe answers the
# kernel then, as the shim did after TimedOut before the field existed.
mkdir -p "$tmp/old"
python3 - "$tmp/old/io.modcoalesced.Manager" "$tmp/old/asks" <<'PY' 2>>"$tmp/old.log" &
import json, os, socket, sys
path, log = sys.argv[1:3]
s = socket.socket(socket.AF_UNIX)
s.bind(path)
s.listen(16)
open(os.path.join(os.path.dirname(path), "ready"), "w").write(str(os.getpid()))
while True:
    c, _ = s.accept()
    buf = b""
    while not buf.endswith(b"\0"):
        d = c.recv(4096)
        if not d:
            break
        buf += d
    params = json.loads(buf[:-1])["parameters"] if buf else {}
    with open(log, "a") as f:
        f.write(json.dumps(params, sort_keys=True) + "\n")
    if "waitedBefore" in params:
        reply = {"error": "org.varlink.service.InvalidParameter",
                 "parameters": {"parameter": "waitedBefore"}}
    else:
        reply = {"error": "io.modcoalesced.Manager.TimedOut", "parameters": {}}
    c.sendall(json.dumps(reply).encode() + b"\0")
    c.close()
PY
pids+=($!)
for _ in $(seq 100); do [ -s "$tmp/old/ready" ] && break; sleep 0.05; done
[ -s "$tmp/old/ready" ] || fail "no stand-in for an older daemon: $(cat "$tmp/old.log")"
: >"$MC_FAKE_KERNEL_DIR/real-modprobe.log"
t0=$(date +%s%N)
MODCOALESCED_SOCKET="$tmp/old/io.modcoalesced.Manager" MODCOALESCED_SHIM_TIMEOUT=20 \
        timeout 20 "$shim" -q -- mc_user1 || fail "shim: mc_user1 from an older daemon"
t1=$(date +%s%N)
[ "$(cat "$MC_FAKE_KERNEL_DIR/real-modprobe.log")" = "-q -- mc_user1" ] ||
        fail "after InvalidParameter the real modprobe did not answer: '$(cat "$MC_FAKE_KERNEL_DIR/real-modprobe.log")'"
[ "$(wc -l <"$tmp/old/asks")" = 2 ] && [ "$(grep -c '"waitedBefore": true' "$tmp/old/asks")" = 1 ] &&
        ! head -n 1 "$tmp/old/asks" | grep -q waitedBefore ||
        fail "asks: $(cat "$tmp/old/asks")"
[ $(((t1 - t0) / 1000000)) -lt 5000 ] || fail "the shim took $(((t1 - t0) / 1000000)) ms"
ok "an older daemon refuses waitedBefore: after its TimedOut and InvalidParameter the real modprobe answers at once"

# -- modprobe@.service's form: -abq NAME, through the daemon, waited for ---------------------------
start_socket --idle-timeout 0
: >"$MC_FAKE_KERNEL_DIR/real-modprobe.log"
mkdir -p "$MC_FAKE_KERNEL_DIR/hold" "$MC_FAKE_KERNEL_DIR/fail"
touch "$MC_FAKE_KERNEL_DIR/hold/mc_slow"
echo 19 >"$MC_FAKE_KERNEL_DIR/fail/mc_fail"
# Not serving yet: a unit, unlike the kernel, waits for the activation and for the load.
unit_pids=()
for i in $(seq 10); do "$shim" -abq mc_slow & unit_pids+=($!); done
for _ in $(seq 200); do [ "$(calls load mc_slow)" = 1 ] && break; sleep 0.05; done
sleep 0.3
for p in "${unit_pids[@]}"; do kill -0 "$p" 2>/dev/null || fail "a unit's shim returned while mc_slow was held"; done
rm "$MC_FAKE_KERNEL_DIR/hold/mc_slow"
for p in "${unit_pids[@]}"; do wait "$p" || fail "shim -abq mc_slow"; done
[ "$(calls load mc_slow)" = 1 ] || fail "mc_slow: $(calls load mc_slow) loads for 10 modprobe@ units"
"$shim" -a -b -q -- mc_b || fail "shim -a -b -q -- mc_b"
[ "$(calls load mc_b)" = 1 ] || fail "mc_b: $(calls load mc_b) loads"
[ "$(real_calls)" = 0 ] || fail "the real modprobe ran: $(cat "$MC_FAKE_KERNEL_DIR/real-modprobe.log")"
# A failing module: exit 1 (the unit ignores it), no second attempt by the real modprobe.
"$shim" -abq mc_fail 2>/dev/null && fail "shim -abq mc_fail succeeded"
[ "$(real_calls)" = 0 ] || fail "the real modprobe ran after a failure"
# Not modprobe@'s form (no -b): the real modprobe, with the same arguments.
"$shim" -aq mc_c
[ "$(tail -n 1 "$MC_FAKE_KERNEL_DIR/real-modprobe.log")" = "-aq mc_c" ] || fail "-aq went to: $(real_calls)"
kill "$daemon_pid"; wait "$daemon_pid" 2>/dev/null || true
# No socket at all: the real modprobe, as modprobe@ would have run it.
rm -rf "$tmp/run"
"$shim" -abq mc_a
[ "$(tail -n 1 "$MC_FAKE_KERNEL_DIR/real-modprobe.log")" = "-abq mc_a" ] ||
        fail "without the socket: $(tail -n 1 "$MC_FAKE_KERNEL_DIR/real-modprobe.log")"
ok "modprobe@'s -abq NAME: 10 units waited through the activation for one load, failures exit 1 without a second attempt, other forms and a missing socket go to the real modprobe"

# -- systemd-modules-load's drop-in: modcoalescectl modules-load ----------------------------------
ctl="$build/src/modcoalescectl/modcoalescectl"
mlroot=$tmp/ml-root
mkdir -p "$mlroot/etc/modules-load.d" "$mlroot/usr/lib/modules-load.d"
printf '# loaded through the daemon\nmc_a\nmc_nothing\nmc_fail\n' >"$mlroot/etc/modules-load.d/a.conf"
printf 'mc_c\n' >"$mlroot/usr/lib/modules-load.d/b.conf"
cat >"$tmp/modules-load" <<'SH'
#!/bin/sh
echo modules-load >>"$MC_FAKE_KERNEL_DIR/real-modprobe.log"
SH
chmod +x "$tmp/modules-load"
export MODCOALESCED_MODULES_LOAD=$tmp/modules-load MODCOALESCED_PROC_CMDLINE=/dev/null
modules_load() { "$ctl" --socket "$sock" --root "$mlroot" modules-load 2>>"$tmp/ml.log"; }
start_socket --idle-timeout 0
: >"$MC_FAKE_KERNEL_DIR/real-modprobe.log"
mkdir -p "$MC_FAKE_KERNEL_DIR/fail"
echo 19 >"$MC_FAKE_KERNEL_DIR/fail/mc_fail"
# Not found and ENODEV are logged, not failures, as systemd-modules-load has them.
modules_load || fail "modules-load: $(cat "$tmp/ml.log")"
[ "$(calls load mc_a)/$(calls load mc_c)/$(calls load mc_fail)" = 1/1/1 ] ||
        fail "loads mc_a/mc_c/mc_fail: $(calls load mc_a)/$(calls load mc_c)/$(calls load mc_fail)"
grep -q "Failed to find module 'mc_nothing'" "$tmp/ml.log" || fail "no word of mc_nothing: $(cat "$tmp/ml.log")"
# A module that fails otherwise fails the unit; the others still load.
printf 'mc_user2\nmc_user1\n' >"$mlroot/etc/modules-load.d/a.conf"
echo 5 >"$MC_FAKE_KERNEL_DIR/fail/mc_user2"
modules_load && fail "modules-load succeeded although mc_user2 failed with EIO: $(cat "$tmp/ml.log") $(cat "$MC_FAKE_KERNEL_DIR/calls")"
[ "$(calls load mc_user1)" = 1 ] || fail "mc_user1 was skipped after mc_user2 failed"
[ "$(real_calls)" = 0 ] || fail "systemd-modules-load ran although the daemon answered"
kill "$daemon_pid"; wait "$daemon_pid" 2>/dev/null || true
# No socket: systemd-modules-load itself.
rm -rf "$tmp/run"
modules_load || fail "modules-load without the socket"
[ "$(cat "$MC_FAKE_KERNEL_DIR/real-modprobe.log")" = modules-load ] || fail "systemd-modules-load did not run"
ok "modcoalescectl modules-load: each module one Load, not found and ENODEV not failures, EIO fails the unit but not the others, systemd-modules-load without the socket"

# -- a daemon that does not start: its socket's backlog full, never accepted -------------------
# The shim's connection that would start it waits for room in the backlog: at most 1 s, then the
# real modprobe answers (a blocking connect() would hold the kernel's request for good).
full=$tmp/full/io.modcoalesced.Manager
mkdir -p "$tmp/full"
full_listener "$full"
: >"$MC_FAKE_KERNEL_DIR/real-modprobe.log"
t0=$(date +%s%N)
MODCOALESCED_SOCKET=$full timeout 20 "$shim" -q -- mc_c || fail "shim with a full backlog: status $?"
t1=$(date +%s%N)
kill "$full_pid"; wait "$full_pid" 2>/dev/null || true
[ "$(cat "$MC_FAKE_KERNEL_DIR/real-modprobe.log")" = "-q -- mc_c" ] ||
        fail "a full backlog: the real modprobe did not answer: $(cat "$MC_FAKE_KERNEL_DIR/real-modprobe.log")"
[ $(((t1 - t0) / 1000000)) -ge 900 ] || fail "a full backlog: answered after $(((t1 - t0) / 1000000)) ms, before the connect's 1 s"
ok "a daemon that never accepts, its backlog full: the shim's activating connect gives up after 1 s, the real modprobe answers"

# -- no daemon: the kernel's requests for one name share one real modprobe ------------------------
# The kernel asks for a name from several threads at once (crypto-aes, from its self-tests, before
# any daemon runs); where it cannot decompress modules, each stock modprobe is a full load of its
# own. One runs; the others wait for it and exit with its status; another name is not held up.
nosock=$tmp/none/io.modcoalesced.Manager
kshim() { MODCOALESCED_SOCKET=$nosock MODCOALESCED_LOG_LEVEL=debug "$shim" "$@"; }
waiting() { cat "$tmp"/kw*.err 2>/dev/null | grep -c "$1: the real modprobe for it is running; waiting for it" || true; }
logged() { grep -cx -- "-q -- $1" "$MC_FAKE_KERNEL_DIR/real-modprobe.log" || true; }
: >"$MC_FAKE_KERNEL_DIR/real-modprobe.log"
mkdir -p "$MC_FAKE_KERNEL_DIR/hold-real"
touch "$MC_FAKE_KERNEL_DIR/hold-real/crypto-aes" "$MC_FAKE_KERNEL_DIR/hold-real/fs-xfs"
echo 1 >"$MC_FAKE_KERNEL_DIR/real-status"
kpids=()
for i in $(seq 8); do kshim -q -- crypto-aes 2>"$tmp/kw$i.err" & kpids+=($!); done
kshim -q -- fs-xfs 2>"$tmp/kw-xfs.err" &
xfs_pid=$!
for _ in $(seq 200); do [ "$(waiting crypto-aes)" = 7 ] && [ "$(logged fs-xfs)" = 1 ] && break; sleep 0.05; done
[ "$(waiting crypto-aes)" = 7 ] || fail "$(waiting crypto-aes) of 8 requests for crypto-aes wait for the running modprobe"
[ "$(logged crypto-aes)/$(logged fs-xfs)" = 1/1 ] ||
        fail "real modprobes while held: $(cat "$MC_FAKE_KERNEL_DIR/real-modprobe.log")"
rm "$MC_FAKE_KERNEL_DIR/hold-real/crypto-aes" "$MC_FAKE_KERNEL_DIR/hold-real/fs-xfs"
for p in "${kpids[@]}" "$xfs_pid"; do
        wait "$p" && rc=0 || rc=$?
        [ "$rc" = 1 ] || fail "a request for crypto-aes exited $rc, not the real modprobe's 1"
done
[ "$(logged crypto-aes)/$(logged fs-xfs)" = 1/1 ] ||
        fail "real modprobes: $(cat "$MC_FAKE_KERNEL_DIR/real-modprobe.log")"
rm "$MC_FAKE_KERNEL_DIR/real-status"
# Nothing is remembered once it has ended: the next request runs modprobe again.
kshim -q -- crypto-aes 2>/dev/null || fail "crypto-aes after the shared run"
[ "$(logged crypto-aes)" = 2 ] || fail "a later request for crypto-aes did not run modprobe"
ok "no daemon: 8 kernel requests for crypto-aes made at once run one real modprobe and exit with its status, fs-xfs alongside is not held up, a later request runs it again"

# The one running it is killed before modprobe ends: a waiter finds no status and runs its own.
: >"$MC_FAKE_KERNEL_DIR/real-modprobe.log"
rm -f "$tmp"/kw*.err
touch "$MC_FAKE_KERNEL_DIR/hold-real/crypto-sha256"
MODCOALESCED_SOCKET=$nosock "$shim" -q -- crypto-sha256 2>/dev/null & # the shim's own pid
leader=$!
for _ in $(seq 200); do [ "$(logged crypto-sha256)" = 1 ] && break; sleep 0.05; done
kshim -q -- crypto-sha256 2>"$tmp/kw1.err" &
waiter=$!
for _ in $(seq 200); do [ "$(waiting crypto-sha256)" = 1 ] && break; sleep 0.05; done
[ "$(waiting crypto-sha256)" = 1 ] || fail "the second request did not wait: $(cat "$tmp/kw1.err")"
kill -9 "$leader"
wait "$leader" 2>/dev/null || true
for _ in $(seq 200); do [ "$(logged crypto-sha256)" = 2 ] && break; sleep 0.05; done
[ "$(logged crypto-sha256)" = 2 ] || fail "the waiter did not run modprobe once the first died"
grep -q "crypto-sha256: the modprobe running for it ended without an answer" "$tmp/kw1.err" ||
        fail "no word of the missing answer: $(cat "$tmp/kw1.err")"
rm "$MC_FAKE_KERNEL_DIR/hold-real/crypto-sha256"
wait "$waiter" || fail "the waiter's own modprobe"
# A modprobe that runs past the shim's deadline (1 s here): the waiter runs its own then.
: >"$MC_FAKE_KERNEL_DIR/real-modprobe.log"
touch "$MC_FAKE_KERNEL_DIR/hold-real/crypto-sha256"
kshim -q -- crypto-sha256 2>/dev/null &
leader=$!
for _ in $(seq 200); do [ "$(logged crypto-sha256)" = 1 ] && break; sleep 0.05; done
t0=$(date +%s%N)
MODCOALESCED_SHIM_TIMEOUT=1 kshim -q -- crypto-sha256 2>/dev/null &
waiter=$!
for _ in $(seq 200); do [ "$(logged crypto-sha256)" = 2 ] && break; sleep 0.05; done
t1=$(date +%s%N)
[ "$(logged crypto-sha256)" = 2 ] || fail "past its deadline the waiter did not run modprobe"
[ $(((t1 - t0) / 1000000)) -ge 900 ] || fail "the waiter ran modprobe after $(((t1 - t0) / 1000000)) ms, not its 1 s deadline"
rm "$MC_FAKE_KERNEL_DIR/hold-real/crypto-sha256"
wait "$leader" || fail "the first request"
wait "$waiter" || fail "the request past its deadline"
ok "the one running modprobe dies: the waiter runs its own; past the shim's deadline the waiter runs its own"

# -- --claim and --release: kernel.modprobe, on a file standing in for /proc/sys/kernel/modprobe --
sysctl=$tmp/kernel.modprobe
shim_abs=$(readlink -f "$shim")
value() { cat "$sysctl"; }
claim() { MODCOALESCED_KERNEL_MODPROBE=$sysctl "$shim" --claim 2>>"$tmp/claim.log"; }
release() { MODCOALESCED_KERNEL_MODPROBE=$sysctl "$shim" --release 2>>"$tmp/claim.log"; }
for stock in /sbin/modprobe /usr/sbin/modprobe; do
        echo "$stock" >"$sysctl"
        claim || fail "--claim over $stock: $(cat "$tmp/claim.log")"
        [ "$(value)" = "$shim_abs" ] || fail "--claim over $stock left '$(value)'"
        claim || fail "a second --claim"
        [ "$(value)" = "$shim_abs" ] || fail "a second --claim left '$(value)'"
        release || fail "--release: $(cat "$tmp/claim.log")"
        [ "$(value)" = /sbin/modprobe ] || fail "--release left '$(value)'"
        release || fail "a second --release"
        [ "$(value)" = /sbin/modprobe ] || fail "a second --release left '$(value)'"
done
# An admin's own value is never taken, nor given back for them.
for admin in /usr/local/sbin/my-modprobe ""; do
        printf '%s\n' "$admin" >"$sysctl"
        claim || fail "--claim over '$admin'"
        [ "$(value)" = "$admin" ] || fail "--claim replaced an admin's '$admin' with '$(value)'"
        release || fail "--release over '$admin'"
        [ "$(value)" = "$admin" ] || fail "--release replaced an admin's '$admin' with '$(value)'"
done
grep -q "left alone" "$tmp/claim.log" || fail "no word of leaving an admin's value alone"
MODCOALESCED_KERNEL_MODPROBE=$tmp/missing "$shim" --claim 2>/dev/null &&
        fail "--claim without kernel.modprobe succeeded"
ok "--claim names the shim only over a stock kernel.modprobe, --release gives back /sbin/modprobe only from the shim; an admin's value is left alone"

echo "$n passed, 0 failed"
