#!/usr/bin/env bash
# test-cli.sh BUILDDIR — modcoalescectl resolve as a user runs it (table, --json, errors) and
# the modcoalesced binary's start-up and clean stop on SIGTERM.
set -euo pipefail

build=$1
ctl="$build/src/modcoalescectl/modcoalescectl"
daemon="$build/src/modcoalesced/modcoalesced"
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d /tmp/mc-cli-XXXXXX)
daemon_pid=
cleanup() {
        [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null
        rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }

"$here/make-fixture-tree.sh" "$tmp/fx"
kver=$(cat "$tmp/fx/kver")
fx=(--module-dir "$tmp/fx/root/lib/modules/$kver" --config "$tmp/fx/modprobe.d")

# --json: the modules array, in load order, with name and path.
"$ctl" "${fx[@]}" --json resolve mc_a >"$tmp/a.json"
python3 - "$tmp/a.json" <<'PY' || fail "JSON plan of mc_a"
import json, sys
p = json.load(open(sys.argv[1]))
names = [m["name"] for m in p["modules"]]
assert names == ["mc_c", "mc_b", "mc_soft", "mc_a", "mc_post"], names
assert all(m["path"].startswith("/") for m in p["modules"])
assert p["modules"][0]["parameters"] == "level=3"
assert [m["role"] for m in p["modules"]] == ["dep", "dep", "softdep", "target", "softdep"]
assert p["names"] == ["mc_a"] and p["builtin"] == [] and p["blacklisted"] == []
PY
ok "resolve --json mc_a"

# The table, and a MODALIAS detected by its ':' (blacklist applies).
out=$("$ctl" "${fx[@]}" resolve mctest:multi)
grep -q '^1 .*mc_shared .*dep' <<<"$out" || fail "table: $out"
grep -q 'mc_user2 .*target .*zstd' <<<"$out" || fail "table: $out"
ok "resolve table for an alias with two matches"
out=$("$ctl" "${fx[@]}" resolve mctest:black)
[ "$out" = "blacklisted: mc_black" ] || fail "blacklist: $out"
ok "resolve of a blacklisted MODALIAS"

# Errors: a clear message and a failing exit status.
for bad in "a/b" "../x" "" "$(printf 'x%.0s' {1..60})"; do
        if err=$("$ctl" "${fx[@]}" resolve "$bad" 2>&1); then fail "accepted '$bad'"; fi
        grep -q "Invalid module name" <<<"$err" || fail "message for '$bad': $err"
done
ok "malformed names are refused"
if err=$("$ctl" "${fx[@]}" resolve mc_nothing 2>&1); then fail "accepted mc_nothing"; fi
grep -q "No module matches 'mc_nothing'" <<<"$err" || fail "message: $err"
ok "unknown module"

# The real tree: the last module of fs-xfs is xfs, with modprobe's order.
real=/lib/modules/$kver
"$ctl" --module-dir "$real" --json resolve fs-xfs >"$tmp/xfs.json"
modprobe -S "$kver" --show-depends fs-xfs | awk '{print $2}' >"$tmp/xfs.modprobe"
python3 - "$tmp/xfs.json" "$tmp/xfs.modprobe" <<'PY' || fail "fs-xfs plan differs from modprobe"
import json, sys
p = json.load(open(sys.argv[1]))
ref = []
for l in open(sys.argv[2]).read().split():
    if l not in ref:
        ref.append(l)
assert [m["path"] for m in p["modules"]] == ref, (p, ref)
assert p["modules"][-1]["name"] == "xfs"
PY
ok "resolve fs-xfs on the real tree equals modprobe --show-depends"

# The daemon binary starts, says it is ready, and stops cleanly on SIGTERM.
"$daemon" --version | grep -q '^modcoalesced ' || fail "--version"
"$daemon" --module-dir "$tmp/fx/root/lib/modules/$kver" --listen "$tmp/run/daemon.sock" \
        2>"$tmp/daemon.log" &
daemon_pid=$!
for _ in $(seq 50); do grep -q ready "$tmp/daemon.log" && break; sleep 0.1; done
grep -q "ready" "$tmp/daemon.log" || fail "daemon not ready: $(cat "$tmp/daemon.log")"
[ -S "$tmp/run/daemon.sock" ] || fail "no socket at --listen's path"
[ "$(stat -c %a "$tmp/run/daemon.sock")" = 600 ] || fail "socket mode is not 0600"
kill -TERM "$daemon_pid"
wait "$daemon_pid" || fail "daemon exit status $?"
daemon_pid=
grep -q "Stopped." "$tmp/daemon.log" || fail "no clean stop: $(cat "$tmp/daemon.log")"
ok "daemon starts and stops on SIGTERM"
if "$daemon" --module-dir /nonexistent --listen "$tmp/x.sock" 2>"$tmp/daemon.log"; then
        fail "started without an index"
fi
grep -q "Failed to load the module index" "$tmp/daemon.log" || fail "$(cat "$tmp/daemon.log")"
ok "daemon refuses a missing module index"
if "$daemon" --module-dir "$tmp/fx/root/lib/modules/$kver" 2>"$tmp/daemon.log"; then
        fail "started without a socket"
fi
grep -q "No socket passed" "$tmp/daemon.log" || fail "$(cat "$tmp/daemon.log")"
ok "daemon refuses to run without a socket"
for bad in --workers=0 --workers=x --request-timeout=999999 --idle-timeout=-1 --frobnicate; do
        if "$daemon" "$bad" 2>/dev/null; then fail "accepted $bad"; fi
done
ok "daemon refuses bad options"
