#!/bin/bash
# run.sh — inside the VM (mc-vm.service): records how boot's coldplug went, then in "daemon"
# mode runs the scenarios against the real kernel, counting what the kernel itself saw (ftrace:
# finit_module/init_module syscall events, the module_load tracepoint, kprobes on load_module and
# init_module_from_file). Results go to the second disk (/dev/vdb) as text, and to the console.
set -u
mode=$(sed -n 's/.*mc_vm.mode=\([a-z0-9-]*\).*/\1/p' /proc/cmdline)
. /usr/local/lib/mc-vm/lib.sh
case "$mode" in bench*) exec /usr/local/lib/mc-vm/bench.sh "$mode" ;; esac
exec > >(tee $OUT/results /dev/ttyS0) 2>&1

# -- boot: what coldplug loaded, and how often each module reached the kernel --------------------
udevadm settle --timeout=120
lsmod | awk 'NR > 1 { print $1 }' | sort >$OUT/lsmod
cp $OUT/lsmod /run/lsmod.$mode
trace_save boot
# Only what happened in the real root counts: the initramfs loads its own modules, stock.
since=$(systemctl show -P ExecMainStartTimestampMonotonic systemd-udevd.service)
awk -v since="$since" '{
        for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9]+:$/) { t = substr($i, 1, length($i) - 1) * 1e6; break }
        if (t >= since && match($0, /kinit:.*name="[^"]*"/)) {
                n = substr($0, RSTART, RLENGTH); sub(/.*name="/, "", n); sub(/".*/, "", n); print n
        }
}' $OUT/trace.boot | sort | uniq -c | sort -rn >$OUT/boot-reads
say "boot mode=$mode modules=$(wc -l <$OUT/lsmod) reads=$(awk '{s += $1} END {print s + 0}' $OUT/boot-reads) files=$(wc -l <$OUT/boot-reads) max_reads_per_file=$(awk 'NR == 1 {print $1 + 0} END {if (NR == 0) print 0}' $OUT/boot-reads)"
while read -r m; do say "lsmod $m"; done <$OUT/lsmod
# The firmware's VGA framebuffer device: vga16fb's, gone once a DRM driver (bochs) took over.
say "sysfb vga-framebuffer.0=$([ -e /sys/bus/platform/devices/vga-framebuffer.0 ] && echo present || echo gone)"
while read -r c f; do say "bootread $c $f"; done <$OUT/boot-reads
# The kernel's own request_module() calls during boot: who asked for what.
grep 'module_request:' $OUT/trace.boot | awk '{ print "bootrequest", $1, $NF, $(NF-2) }' | sort | uniq -c |
        while read -r line; do say "$line"; done

if [ "$mode" = daemon ] || [ "$mode" = demo ]; then
        say "boot daemon_requests=$(getstat requests) daemon_loads=$(getstat loads)"
fi
if [ "$mode" = daemon ]; then
        # Did coldplug go through the daemon? Its own count, and its health, before anything else.
        systemctl --no-pager status modcoalesced.socket modcoalesced.service 2>&1 | sed 's/^/status /'
        journalctl --no-pager -b -u modcoalesced.service | tail -n 20 | sed 's/^/journal /'

        # -- k) kernel.modprobe names the shim, set by its unit (there is no sysctl.d drop-in) --
        kmp=$(cat /proc/sys/kernel/modprobe)
        check k "kernel.modprobe=$kmp, set by modcoalesced-kernel-modprobe.service ($(systemctl is-active modcoalesced-kernel-modprobe.service)); no sysctl.d drop-in names it" \
                test "$kmp" = /usr/libexec/modcoalesced-modprobe \
                -a "$(systemctl is-active modcoalesced-kernel-modprobe.service)" = active \
                -a -z "$(grep -rls 'kernel[./]modprobe' /usr/lib/sysctl.d /etc/sysctl.d)"

        # -- m) modprobe@.service loads through the daemon (our drop-in), blacklist applied ----
        # Boot's modprobe@ units: the kernel's count of load syscalls by modprobe processes in
        # the root (recorded, not judged: the kernel's own requests before the kernel-modprobe
        # unit claims kernel.modprobe go to modprobe too).
        say "m boot_modprobe_syscalls=$(awk -v since="$since" '/ sys_(f)?init_module\(/ && $1 ~ /^modprobe-/ {
                for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9]+:$/) { t = substr($i, 1, length($i) - 1) * 1e6; break }
                if (t >= since) n++ } END { print n + 0 }' $OUT/trace.boot) units=$(systemctl list-units --all --no-legend --plain 'modprobe@*' | awk '{ printf "%s,", $1 }')"
        # systemd-modules-load at boot (modules-load.d/mctest.conf: mc_soft), through
        # modcoalescectl modules-load: the kernel read mc_soft for the daemon.
        ml_reader=$(grep 'kinit:.*name="mc_soft\.ko' $OUT/trace.boot | awk '{ sub(/-[0-9]+$/, "", $1); print $1 }' | sort -u | tr '\n' ' ')
        check m2 "systemd-modules-load at boot: $(systemctl show -P Result systemd-modules-load.service), mc_soft $(cat /sys/module/mc_soft/initstate 2>/dev/null || echo absent), read by: $ml_reader" \
                test "$(systemctl show -P Result systemd-modules-load.service)" = success \
                -a "$(cat /sys/module/mc_soft/initstate 2>/dev/null)" = live -a "$ml_reader" = "modcoalesced "
        r0=$(getstat requests)
        trace_clear
        systemctl start modprobe@mc_c.service modprobe@mc_black.service
        trace_save m
        r1=$(getstat requests)
        by_daemon=$(grep -c '^ *modcoalesced-[0-9]*.* sys_finit_module(\|^ *modcoalesced-[0-9]*.* sys_init_module(' $OUT/trace.m)
        by_modprobe=$(grep -c '^ *modprobe-[0-9]*.* sys_f\?init_module(' $OUT/trace.m)
        check m "modprobe@mc_c and modprobe@mc_black: $((r1 - r0)) daemon requests, $by_daemon load syscalls by the daemon, $by_modprobe by modprobe; mc_c $(cat /sys/module/mc_c/initstate 2>/dev/null || echo absent), mc_black (blacklisted) $(cat /sys/module/mc_black/initstate 2>/dev/null || echo absent), units $(systemctl is-active modprobe@mc_c.service modprobe@mc_black.service | tr '\n' ' ')" \
                test "$((r1 - r0))" = 2 -a "$by_daemon" = 1 -a "$by_modprobe" = 0 \
                -a "$(cat /sys/module/mc_c/initstate 2>/dev/null)" = live -a ! -e /sys/module/mc_black
        modprobe -r mc_c

        # -- a) 200 concurrent requests for the slow module -----------------------------------
        say "scenario a"
        trace_clear
        burst 200 '{"modules":["mc_slow"]}' >$OUT/a
        trace_save a
        ok=$(field ok <$OUT/a)
        say "a $(cat $OUT/a)"
        counts a mc_slow
        check a "200 requests for mc_slow: 1 kernel call, 200 successes ($ok)" \
                test "$(( $(n_finit a) + $(n_init a) ))" = 1 -a "$(n_load a)" = 1 -a "$ok" = 200

        # -- s) those loads ran in the units as shipped: socket mode, the service's sandbox ----
        pid=$(systemctl show -P MainPID modcoalesced.service)
        sock_mode=$(stat -c '%a %U:%G' $SOCK)
        capbnd=$(awk '/^CapBnd:/ { print $2 }' /proc/$pid/status 2>/dev/null)
        nnp=$(awk '/^NoNewPrivs:/ { print $2 }' /proc/$pid/status 2>/dev/null)
        seccomp=$(awk '/^Seccomp:/ { print $2 }' /proc/$pid/status 2>/dev/null)
        dropins=$(systemctl show -P DropInPaths modcoalesced.service modcoalesced.socket | tr -d '\n')
        say "s pid=$pid socket=$sock_mode CapBnd=$capbnd NoNewPrivs=$nnp Seccomp=$seccomp dropins=[$dropins]"
        check s "units as shipped: socket $sock_mode, daemon with CapBnd=$capbnd (CAP_SYS_MODULE only), NoNewPrivs=$nnp, Seccomp=$seccomp, no drop-in" \
                test "$sock_mode" = "600 root:root" -a "$capbnd" = 0000000000010000 -a "$nnp" = 1 \
                -a "$seccomp" = 2 -a -z "$dropins"

        say "scenario b"
        # -- b) the failing module: one attempt, 200 identical ENODEV, then the failure memory --
        trace_clear
        burst 200 '{"modules":["mc_fail"]}' >$OUT/b
        trace_save b
        # One more once the burst has ended, inside the failure memory (5 s): before anything
        # slow (python under emulation on a busy host can take seconds) runs in between.
        trace_clear
        load '{"modules":["mc_fail"]}' >$OUT/b.later 2>&1
        trace_save b2
        enodev=$(field "errors.get('io.modcoalesced.Manager.LoadFailed', 0) if errnos.get('19') == 200 else -1" <$OUT/b)
        say "b $(cat $OUT/b)"
        counts b mc_fail
        check b "200 requests for mc_fail: 1 kernel attempt, 200 ENODEV answers ($enodev)" \
                test "$(n_load b)" = 1 -a "$enodev" = 200
        check b2 "a request after the burst: from the failure memory, 0 kernel attempts" \
                test "$(( $(n_finit b2) + $(n_init b2) ))" = 0 -a \
                "$(grep -c '"fromMemory" *: *true' $OUT/b.later)" = 1

        # -- c) two modules sharing a dependency ------------------------------------------------
        trace_clear
        burst 100 '{"modules":["mc_user1"]}' >$OUT/c1 &
        pids+=($!)
        burst 100 '{"modules":["mc_user2"]}' >$OUT/c2 &
        pids+=($!)
        bg_wait
        trace_save c
        ok=$(( $(field ok <$OUT/c1) + $(field ok <$OUT/c2) ))
        counts c mc_shared mc_user1 mc_user2
        check c "100+100 requests: mc_shared created once, 3 loads in all, 200 successes ($ok)" \
                test "$(n_created c mc_shared)" = 1 -a "$(n_load c)" = 3 -a "$ok" = 200

        # -- h) zstd on this xz kernel: decompressed here, once; xz: the kernel decompresses -----
        rmmod mc_user1 mc_user2 mc_shared
        d0=$(getstat bytesDecompressed)
        trace_clear
        load '{"modules":["mc_user2"]}' >$OUT/h.zst 2>&1
        load '{"modules":["mc_user1"]}' >$OUT/h.xz 2>&1
        trace_save h
        d1=$(getstat bytesDecompressed)
        counts h mc_user1 mc_user2
        say "h $(grep -m1 'sys_finit_module(' $OUT/trace.h)"
        # mc_user1 and its dependency mc_shared are .ko.xz: both go to the kernel as fds.
        check h "zstd via init_module after one userspace decompression ($((d1 - d0)) bytes), xz via finit_module(MODULE_INIT_COMPRESSED_FILE)" \
                test "$(n_init h)" = 1 -a "$(n_finit h)" = 2 -a \
                "$(grep -c 'sys_finit_module(.*flags: \(0x\)\?4)' $OUT/trace.h)" = 2 -a "$((d1 - d0))" -gt 0

        # -- e) introspection, ListInFlight during a load, GetStats against the kernel ------------
        varlinkctl introspect $SOCK io.modcoalesced.Manager >$OUT/e.idl
        rmmod mc_slow
        l0=$(getstat loads)
        trace_clear
        # The kernel holds mc_slow's init (hold=1) until all 50 are seen waiting: each look is a
        # varlinkctl and a python3, which take a second or more under emulation.
        burst 50 '{"modules":["mc_slow"],"parameters":"hold=1"}' >$OUT/e.burst &
        pids+=($!)
        seen=0
        for _ in $(seq 120); do
                varlinkctl call $SOCK io.modcoalesced.Manager.ListInFlight '{}' >$OUT/e.inflight
                if python3 -c "import json,sys; m={x['name']:x for x in json.load(open('$OUT/e.inflight'))['modules']}; sys.exit(0 if m.get('mc_slow',{}).get('waiters')==50 else 1)"; then
                        seen=1; break
                fi
                sleep 0.1
        done
        for _ in $(seq 600); do [ -e /sys/module/mc_slow/parameters/hold ] && break; sleep 0.1; done
        echo 0 2>/dev/null >/sys/module/mc_slow/parameters/hold || true
        bg_wait
        trace_save e
        l1=$(getstat loads)
        counts e mc_slow
        check e "introspect documents Load; ListInFlight showed mc_slow with 50 waiters; GetStats loads +$((l1 - l0)) = kernel calls $(( $(n_finit e) + $(n_init e) ))" \
                test "$(grep -c 'method Load' $OUT/e.idl)" = 1 -a "$seen" = 1 -a \
                "$((l1 - l0))" = "$(( $(n_finit e) + $(n_init e) ))"

        # -- f) SIGKILL in the middle of a burst ------------------------------------------------
        say "scenario f"
        rmmod mc_slow
        trace_clear
        killed=no
        for i in $(seq 100); do
                MODALIAS=mctest:slow /usr/libexec/modcoalesced-udev >/dev/null 2>&1 &
                pids+=($!)
                if [ "$i" = 20 ]; then
                        # Kill while the kernel is inside mc_slow's 3 s init.
                        for _ in $(seq 200); do
                                [ "$(cat /sys/module/mc_slow/initstate 2>/dev/null)" = coming ] && break
                                sleep 0.02
                        done
                        killed=$(cat /sys/module/mc_slow/initstate 2>/dev/null || echo absent)
                        systemctl kill -s KILL modcoalesced.service
                fi
        done
        ok=0
        for p in "${pids[@]}"; do wait "$p" && ok=$((ok + 1)); done
        pids=()
        trace_save f
        counts f mc_slow
        check f "SIGKILL mid-load (mc_slow $killed): $ok/100 helpers succeeded, mc_slow created once, $(n_load f) full load(s) (a second only as EEXIST)" \
                test "$ok" = 100 -a "$killed" = coming -a "$(n_created f mc_slow)" = 1 -a "$(n_load f)" -le 2
        load '{"modules":["mc_c"]}' >$OUT/f.after 2>&1
        check f2 "the daemon is socket-activated again after the kill" \
                grep -q '"outcome"' $OUT/f.after

        # -- g) a module whose init requests its own alias ------------------------------------
        trace_clear
        start=$(date +%s)
        load '{"modules":["mc_self"]}' >$OUT/g 2>&1
        took=$(( $(date +%s) - start ))
        trace_save g
        counts g mc_self
        check g "mc_self (request_module of its own alias in init) loaded in ${took}s, no deadlock" \
                grep -q '"outcome" *: *"loaded"' $OUT/g
        say "g request_module=$(cat /sys/module/mc_self/parameters/request_result 2>/dev/null)"

        # -- i) the kernel's own request_module() storm: concurrent mounts of a filesystem type
        # whose module is not loaded. Each makes the kernel run its modprobe (the shim) for fs-xfs.
        say "scenario i"
        mkdir -p /mnt/t
        mount_storm() { # label
                modprobe -r xfs libcrc32c 2>/dev/null
                trace_clear
                local t0=$(date +%s.%N)
                for i in $(seq 50); do mount -t xfs /dev/null /mnt/t >/dev/null 2>&1 & pids+=($!); done
                bg_wait
                trace_save "$1"
                say "i $1 time=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') requests=$(grep -c 'module_request: fs-xfs' $OUT/trace.$1)"
        }
        mount_storm i
        counts i xfs
        check i "50 concurrent mount -t xfs: $(grep -c 'module_request: fs-xfs' $OUT/trace.i) request_module(fs-xfs) calls through the shim, xfs read once, created once" \
                test "$(n_read i xfs)" = 1 -a "$(n_created i xfs)" = 1 -a -e /sys/module/xfs
        # The same storm with the stock modprobe as the kernel's.
        echo /usr/sbin/modprobe >/proc/sys/kernel/modprobe # no sysctl(8) in the image
        mount_storm istock
        counts istock xfs
        echo /usr/libexec/modcoalesced-modprobe >/proc/sys/kernel/modprobe # no sysctl(8) in the image
        # With the socket stopped, kernel.modprobe is stock again at once (the kernel-modprobe
        # unit is bound to the socket) and request_module() still loads the module; with the
        # socket started again it names the shim again.
        modprobe -r xfs libcrc32c 2>/dev/null
        systemctl stop modcoalesced.socket modcoalesced.service
        stopped_kmp=$(cat /proc/sys/kernel/modprobe)
        mount -t xfs /dev/null /mnt/t >/dev/null 2>&1
        check i2 "socket stopped: kernel.modprobe $stopped_kmp, request_module(fs-xfs) loads xfs: $(cat /sys/module/xfs/initstate 2>/dev/null || echo absent)" \
                test "$(cat /sys/module/xfs/initstate 2>/dev/null)" = live -a "$stopped_kmp" = /sbin/modprobe
        systemctl start modcoalesced.socket
        # systemctl waits for the socket's job, not for the units it pulls in: at most 10 s.
        for _ in $(seq 100); do
                [ "$(cat /proc/sys/kernel/modprobe)" = /usr/libexec/modcoalesced-modprobe ] && break
                sleep 0.1
        done
        check i3 "socket started again: kernel.modprobe $(cat /proc/sys/kernel/modprobe)" \
                test "$(cat /proc/sys/kernel/modprobe)" = /usr/libexec/modcoalesced-modprobe

        # -- j) request_module() from kernel threads, as the kernel's own kmod selftests
        # (lib/test_kmod.c) do it: mc_storm's init starts 32 threads that all ask for
        # mctest:post at once. mc_post is a .ko.zst, which this kernel cannot decompress: each
        # stock modprobe decompresses it and calls init_module() on its own.
        say "scenario j"
        # i2 stopped the daemon. Once started it stays (kernel.modprobe names the shim), as it
        # does from the first coldplug request on after boot.
        getstat requests >/dev/null
        thread_storm() { # label
                modprobe -r mc_storm mc_post 2>/dev/null
                trace_clear
                local t0=$(date +%s.%N)
                modprobe mc_storm threads=32 target=mctest:post
                trace_save "$1"
                say "j $1 time=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') requests=$(grep -c 'module_request: mctest:post' $OUT/trace.$1) succeeded=$(cat /sys/module/mc_storm/parameters/succeeded 2>/dev/null) failed=$(cat /sys/module/mc_storm/parameters/failed 2>/dev/null) mc_post_full_loads=$(($(n_load $1) - 1))"
        }
        thread_storm j
        counts j mc_storm mc_post
        check j "32 kernel threads request_module(mctest:post) at once through the shim: $(grep -c 'module_request: mctest:post' $OUT/trace.j) requests, $(cat /sys/module/mc_storm/parameters/succeeded 2>/dev/null) succeeded, mc_post (.ko.zst) created once with one full load" \
                test "$(grep -c 'module_request: mctest:post' $OUT/trace.j)" = 32 \
                -a "$(cat /sys/module/mc_storm/parameters/succeeded 2>/dev/null)" = 32 \
                -a "$(n_created j mc_post)" = 1 -a "$(n_load j)" = 2
        # The same with the stock modprobe as the kernel's: recorded, not judged.
        echo /usr/sbin/modprobe >/proc/sys/kernel/modprobe # no sysctl(8) in the image
        thread_storm jstock
        counts jstock mc_storm mc_post
        echo /usr/libexec/modcoalesced-modprobe >/proc/sys/kernel/modprobe # no sysctl(8) in the image
fi
if [ "$mode" = demo ]; then
        # The storm: hundreds of concurrent requests for real modules (plus a coldplug re-trigger)
        # through modcoalesced, then the same requests the stock way, one modprobe per request,
        # with the modules unloaded in between. Twice: the modules as shipped (.ko.xz, which this
        # kernel decompresses itself) and recompressed as .ko.zst (which it cannot, so whoever
        # loads must decompress: what distributions without in-kernel zstd live with).
        N=${MC_DEMO_N:-300}
        unload() { modprobe -r xfs libcrc32c kvm_intel 2>/dev/null; }
        files() { # label trace
                local line="" f
                for f in xfs libcrc32c kvm-intel; do
                        line="$line $f=$(n_read "$2" "$f") $(grep -c "module_load: ${f//-/_}\b" "$OUT/trace.$2")"
                done
                say "demo $1 files$line"
        }
        storm() { # label
                local t0 t1
                unload
                systemctl start modcoalesced.socket
                trace_clear
                t0=$(date +%s.%N)
                [ "$1" = xz ] && udevadm trigger --action=add >/dev/null 2>&1
                burst "$N" '{"modules":["xfs"]}' >$OUT/demo.$1.xfs & pids+=($!)
                burst "$N" '{"modules":["kvm_intel"]}' >$OUT/demo.$1.kvm & pids+=($!)
                bg_wait
                udevadm settle --timeout=120
                t1=$(date +%s.%N)
                trace_save "d$1"
                say "demo $1 ours time=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') finit=$(n_finit "d$1") init=$(n_init "d$1") load_module=$(n_load "d$1")"
                say "demo $1 ours answers xfs $(cat $OUT/demo.$1.xfs) kvm_intel $(cat $OUT/demo.$1.kvm)"
                files "$1 ours" "d$1"
                [ "$1" = xz ] && modcoalescectl stats | sed 's/^/demo stats /'
                unload
                systemctl stop modcoalesced.socket modcoalesced.service
                trace_clear
                t0=$(date +%s.%N)
                for i in $(seq "$N"); do
                        modprobe xfs 2>/dev/null & pids+=($!)
                        modprobe kvm_intel 2>/dev/null & pids+=($!)
                done
                bg_wait
                t1=$(date +%s.%N)
                trace_save "s$1"
                say "demo $1 stock time=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') finit=$(n_finit "s$1") init=$(n_init "s$1") load_module=$(n_load "s$1")"
                files "$1 stock" "s$1"
        }
        for f in xfs libcrc32c kvm-intel; do
                say "demo size $f $(find /usr/lib/modules/$(uname -r)/kernel -name "$f.ko.xz" -printf '%s\n' | head -n 1)"
        done
        storm xz
        # zstd copies in updates/, which depmod prefers to kernel/.
        dir=/usr/lib/modules/$(uname -r)/updates/demo-zst
        mkdir -p $dir
        for f in xfs libcrc32c kvm-intel; do
                src=$(find /usr/lib/modules/$(uname -r)/kernel -name "$f.ko.xz" | head -n 1)
                # From a file, so that the frame records its size: kmod 34 refuses frames without.
                xz -dc "$src" >"$OUT/$f.ko"
                zstd -q "$OUT/$f.ko" -o "$dir/$f.ko.zst"
        done
        depmod -a
        # Fewer here: each stock modprobe holds a whole decompressed xfs (5 MiB) in memory, and
        # 300 of them at once exhaust the VM (seen: the OOM killer). That is the problem itself.
        N=${MC_DEMO_N_ZST:-100}
        storm zst
fi
case $mode in dracut | dracut-zst | initramfs-tools | initramfs-tools-zst)
        # Booted from an initrd of that generator made with the project installed (tools/vm
        # initrd GEN [zst]): that this runs at all means the initrd mounted the root. Per phase (the
        # initrd, the root: split at the root's PID 1 start, the last "running in system mode"
        # of the journal) and per process: load syscalls and full kernel loads.
        journal_boot $OUT/journal -o short-monotonic 2>$OUT/journal.why ||
                say "initrd journal incomplete (the phases cannot be split): $(cat $OUT/journal.why)"
        split=$(grep 'running in system mode' $OUT/journal | tail -n 1 | sed 's/^\[ *\([0-9.]*\)\].*/\1/')
        failed_units=$(grep -c 'Failed to start\|Failed to mount\|Dependency failed' $OUT/journal)
        grep 'Failed to\|Dependency failed' $OUT/journal | head -n 20 | sed 's/^/initrd journal /'
        awk -v cut="$split" '
                / sys_(f)?init_module\(| kp_load:/ {
                        for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9]+:$/) { t = substr($i, 1, length($i) - 1); break }
                        comm = $1; sub(/-[0-9]+$/, "", comm)
                        phase = (t + 0 < cut + 0) ? "initrd" : "root"
                        if ($0 ~ /kp_load:/) loads[phase " " comm]++; else calls[phase " " comm]++
                        seen[phase " " comm] = 1
                }
                END { for (k in seen) print "initrd phase", k, "syscalls=" calls[k] + 0, "full_loads=" loads[k] + 0 }
        ' $OUT/trace.boot | sort >$OUT/phases
        cat $OUT/phases | while read -r line; do say "$line"; done
        # What stays outside the daemon in the initrd: each module made by another process, and
        # the kernel's own requests (the shim sends those to the real modprobe until the daemon
        # serves), with their times.
        awk -v cut="$split" '/ module_load: | module_request: / {
                        for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9]+:$/) { t = substr($i, 1, length($i) - 1); break }
                        c = $1; sub(/-[0-9]+$/, "", c)
                        for (i = 1; i <= NF; i++) if ($i == "module_load:" || $i == "module_request:") { e = $i; n = $(i + 1) }
                        if (t + 0 < cut + 0 && (e == "module_request:" || c != "modcoalesced"))
                                print "initrd outside", t, c, e, n
                }' $OUT/trace.boot | while read -r line; do say "$line"; done
        phase() { # PHASE COMM FIELD
                sed -n "s/^initrd phase $1 $2 .*$3=\([0-9]*\).*/\1/p" $OUT/phases | head -n 1 | grep . || echo 0
        }
        log=/run/initramfs/modcoalesced.log
        gen=${mode%-zst}
        [ "$gen" = dracut ] && journal_boot $OUT/daemon-journal -u modcoalesced.service -o short-monotonic
        # The daemon in the initrd: the one of dracut is the unit's first invocation (before the
        # split), the one of initramfs-tools logs to /run/initramfs.
        say "initrd split=$split (the root's PID 1 start, s after boot)"
        if [ "$gen" = dracut ]; then
                sed 's/^/initrd daemon /' $OUT/daemon-journal | head -n 30
                initrd_daemon=$(awk -v cut="$split" '{ t = $0; sub(/^\[ */, "", t); sub(/\].*/, "", t) } t + 0 < cut + 0 && /ready/' \
                        $OUT/daemon-journal | wc -l)
        else
                initrd_daemon=$(grep -c 'ready' $log 2>/dev/null || echo 0)
                sed 's/^/initrd log /' $log 2>/dev/null | tail -n 20
        fi
        check $mode "$mode initrd: root /dev/vda mounted ($(findmnt -no SOURCE /)), no unit failed ($failed_units), daemon ready in the initrd ($initrd_daemon), kernel.modprobe in the root: $(cat /proc/sys/kernel/modprobe)" \
                test "$(findmnt -no SOURCE /)" = /dev/vda -a "$failed_units" = 0 -a "$initrd_daemon" -ge 1 \
                -a "$(cat /proc/sys/kernel/modprobe)" = /usr/libexec/modcoalesced-modprobe
        udev_initrd=$(phase initrd '(udev-worker)' syscalls)
        daemon_initrd=$(phase initrd modcoalesced syscalls)
        check ${mode}2 "$mode initrd phase: $udev_initrd load syscalls by udev workers, $daemon_initrd by the daemon" \
                test "$udev_initrd" = 0 -a "$daemon_initrd" -gt 0
        # Nothing of the initrd's daemon is left: the root's daemon answers from /sys/module.
        loaded_in_initrd=$(awk -v cut="$split" '/module_load:/ {
                        for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9]+:$/) { t = substr($i, 1, length($i) - 1); break }
                        if (t + 0 < cut + 0) for (i = 1; i <= NF; i++) if ($i == "module_load:") { print $(i + 1); exit }
                }' $OUT/trace.boot)
        trace_clear
        load "{\"modules\":[\"$loaded_in_initrd\"]}" >$OUT/initrd-load 2>&1
        trace_save initrdload
        outcome=$(grep -o '"outcome" *: *"[a-z-]*"' $OUT/initrd-load | head -n 1 | sed 's/.*"\([a-z-]*\)"$/\1/')
        # The daemon's own load syscalls in that window (anything else still loading in the root
        # is named, not counted: it is not this request).
        by_daemon=$(grep -c '^ *modcoalesced-[0-9]*.* sys_f\?init_module(' $OUT/trace.initrdload)
        others=$(grep ' sys_f\?init_module(' $OUT/trace.initrdload | grep -v '^ *modcoalesced-' |
                awk '{ c = $1; sub(/-[0-9]+$/, "", c); print c }' | sort | uniq -c | awk '{ printf "%s:%s ", $2, $1 }')
        check ${mode}3 "the root's daemon answers '$loaded_in_initrd' (loaded in the initrd) from /sys/module: $outcome, $by_daemon load syscalls by the daemon (others meanwhile: ${others:-none})" \
                test -n "$loaded_in_initrd" -a "$outcome" = already-loaded -a "$by_daemon" = 0
        # A request_module() in the root after that: through the shim.
        modprobe -r xfs libcrc32c 2>/dev/null
        mkdir -p /mnt/t
        mount -t xfs /dev/null /mnt/t >/dev/null 2>&1
        check ${mode}4 "after the $mode initrd, request_module(fs-xfs) in the root loads xfs: $(cat /sys/module/xfs/initstate 2>/dev/null || echo absent)" \
                test "$(cat /sys/module/xfs/initstate 2>/dev/null)" = live
        # A request_module() inside the initrd (tests/vm/initrd/mc-vm-request.sh mounted an xfs
        # there): it went through the initrd's daemon (the kernel created xfs in the daemon's
        # context, before the split) and succeeded.
        req=$(cat /run/mc-vm/initrd-request 2>/dev/null)
        xfs_by=$(awk -v cut="$split" '/module_load: xfs / {
                        for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9]+:$/) { t = substr($i, 1, length($i) - 1); break }
                        if (t + 0 < cut + 0) { c = $1; sub(/-[0-9]+$/, "", c); print c; exit }
                }' $OUT/trace.boot)
        check ${mode}5 "request_module(fs-xfs) inside the $mode initrd: ${req:-no record}; xfs created by: ${xfs_by:-nobody}" \
                test "$(echo "$req" | sed -n 's/.* xfs=\([a-z]*\).*/\1/p')" = live \
                -a "$(echo "$req" | sed -n 's/.*xfs_before=\([a-z]*\).*/\1/p')" = absent \
                -a "$(echo "$req" | sed -n 's/.*kernel_modprobe=\(.*\)/\1/p')" = /usr/libexec/modcoalesced-modprobe \
                -a "$xfs_by" = modcoalesced
        ;;
esac
say "done"
sync
cat $OUT/results >/dev/vdb
sync
