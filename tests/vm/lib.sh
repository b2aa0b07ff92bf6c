# lib.sh — sourced by the VM's scenario runners (run.sh, bench.sh): where results go, and the
# helpers that count what the kernel itself saw in a saved ftrace buffer.
T=/sys/kernel/tracing
SOCK=/run/modcoalesced/io.modcoalesced.Manager
OUT=/run/mc-vm
mkdir -p $OUT

say() { echo "$*"; }
# Background jobs are waited for by pid: a bare `wait` would also wait for the tee above.
pids=()
bg_wait() { wait "${pids[@]}"; pids=(); }
pass() { say "ok $1 - $2"; }
fail() { say "not ok $1 - $2"; }
check() { # id description condition...
        local id=$1 what=$2; shift 2
        if "$@"; then pass "$id" "$what"; else fail "$id" "$what"; fi
}

# journal_boot FILE [JOURNALCTL ARGS…]: this boot's journal, whole. journalctl skips a file it
# finds shorter than its header says ("is truncated, ignoring file"), which it can while
# journald grows or flushes it: seen once, the dracut boot's root part was missing and its
# phases could not be split. Flushed and synced first, read again (at most 10 times) while
# journalctl says so; fails (saying why) when it still does.
journal_boot() {
        local f=$1 i
        shift
        journalctl --flush 2>/dev/null || true
        for i in $(seq 10); do
                journalctl --sync 2>/dev/null || true
                journalctl --no-pager -b "$@" >"$f" 2>"$f.err" && ! grep -q 'truncated' "$f.err" && return 0
                sleep 1
        done
        echo "journal_boot: the journal is still incomplete after 10 reads: $(head -c 300 "$f.err")" >&2
        return 1
}
trace_clear() { echo >$T/trace; }
trace_save() { cat $T/trace >"$OUT/trace.$1"; }
# Kernel-side counts in a saved trace: syscalls, full load attempts, file reads by name, and
# modules created.
n_finit() { grep -c 'sys_finit_module(' "$OUT/trace.$1"; }
n_init() { grep -c 'sys_init_module(' "$OUT/trace.$1"; }
n_load() { grep -c 'kp_load:' "$OUT/trace.$1"; }
n_read() { grep -c "kinit:.*name=\"$2\.ko" "$OUT/trace.$1"; }
n_created() { grep -c "module_load: $2\b" "$OUT/trace.$1"; }
counts() { # scenario module…
        local s=$1; shift
        local line="count $s finit=$(n_finit $s) init=$(n_init $s) load_module=$(n_load $s)"
        for m in "$@"; do line="$line $m:read=$(n_read $s $m),created=$(n_created $s $m)"; done
        say "$line"
}

load() { varlinkctl call --timeout=120 $SOCK io.modcoalesced.Manager.Load "$1"; }
burst() { /usr/local/lib/mc-vm/burst.py "$@"; }
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {}, d))" "$1"; }
getstat() { varlinkctl call $SOCK io.modcoalesced.Manager.GetStats '{}' |
        python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
