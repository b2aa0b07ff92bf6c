# lib-service.sh — sourced by the integration tests that run the daemon as systemd would
# (test-service.sh, test-shim.sh, test-helper.sh, test-flood.sh…), with $build (BUILDDIR) and
# $name set: a temporary directory that goes at exit with every process started, "ok N" lines and
# fail(), the fixture tree and the fake kernel's environment, and the daemon behind a socket held
# by systemd-socket-activate.
# shellcheck shell=bash

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
daemon="$build/tests/modcoalesced-fake"
tmp=$(mktemp -d "/tmp/mc-$name-XXXXXX")
sock="$tmp/run/io.modcoalesced.Manager"
pids=()

cleanup() {
        for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
        wait 2>/dev/null || true
        rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }

"$here/make-fixture-tree.sh" "$tmp/fx" >/dev/null
MC_KVER=$(cat "$tmp/fx/kver")
export MC_KVER MC_FIXTURE_ROOT="$tmp/fx/root" MC_FIXTURE_CONF="$tmp/fx/modprobe.d"
export MC_FAKE_KERNEL_DIR="$tmp/kernel"
moddir="$MC_FIXTURE_ROOT/lib/modules/$MC_KVER"

# $MC_DAEMON_WRAPPER: a command line the daemon runs under (tools/run-tests: valgrind memcheck,
# which prints only errors and exits 99 after any).
read -r -a wrapper <<<"${MC_DAEMON_WRAPPER:-}"

# socket_activate [PREFIX…] -- [OPTIONS…]: the daemon behind a socket that
# systemd-socket-activate holds and execs it on at the first connection, itself run under PREFIX
# (prlimit, say) and the daemon under $MC_DAEMON_WRAPPER; its pid in daemon_pid, its stderr
# appended to $tmp/daemon.log. The fake kernel's directory is kept.
socket_activate() {
        local prefix=()
        while [ "$1" != -- ]; do prefix+=("$1"); shift; done
        shift
        rm -rf "$tmp/run"
        mkdir -p "$tmp/run" "$MC_FAKE_KERNEL_DIR"
        ${prefix[@]+"${prefix[@]}"} systemd-socket-activate -E MC_FAKE_KERNEL_DIR --fdname=varlink \
                -l "$sock" ${wrapper[@]+"${wrapper[@]}"} "$daemon" --module-dir "$moddir" "$@" \
                2>>"$tmp/daemon.log" &
        daemon_pid=$!
        pids+=("$daemon_pid")
        for _ in $(seq 200); do [ -S "$sock" ] && break; sleep 0.05; done
        [ -S "$sock" ] || fail "no socket: $(tail "$tmp/daemon.log")"
}

# daemon_exited SECONDS: the daemon ended within SECONDS, with status 0.
daemon_exited() {
        timeout "$1" tail --pid="$daemon_pid" -f /dev/null || return 1
        wait "$daemon_pid" || fail "the daemon exited with status $?: $(tail -20 "$tmp/daemon.log")"
}

# calls KIND MODULE: how often the fake kernel saw KIND (read, load, loaded…) for MODULE.
calls() { grep -c "^$1 $2\$" "$MC_FAKE_KERNEL_DIR/calls" 2>/dev/null || true; }
# full_listener PATH: a socket at PATH that takes no connections, its backlog (0) filled by
# connections of its own, as a daemon's that has stopped accepting or whose start hangs: a
# blocking connect() there would wait for good. Its pid in full_pid (killed at exit).
full_listener() {
        python3 - "$1" "$1.ready" <<'PY' 2>>"$tmp/full.log" &
import socket, sys, time
path, ready = sys.argv[1:3]
s = socket.socket(socket.AF_UNIX)
s.bind(path)
s.listen(0)
held = []
while True:
    c = socket.socket(socket.AF_UNIX)
    c.setblocking(False)
    try:
        c.connect(path)
    except BlockingIOError:
        break
    held.append(c)
open(ready, "w").write(str(len(held)))
time.sleep(1000)
PY
        full_pid=$!
        pids+=("$full_pid")
        for _ in $(seq 200); do [ -e "$1.ready" ] && break; sleep 0.05; done
        [ -e "$1.ready" ] || fail "no full listener: $(cat "$tmp/full.log")"
}

# vl METHOD [PARAMETERS]: one call through the real varlinkctl.
vl() { varlinkctl call --timeout=60 "$sock" "io.modcoalesced.Manager.$1" "${2:-{\}}"; }
