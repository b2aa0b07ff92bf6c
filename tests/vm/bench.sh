#!/bin/bash
# bench.sh MODE — inside the VM, for `tools/dev bench vm` (run.sh hands it the bench* modes): the
# same bursts through stock modprobe and through modcoalesced, counted from the kernel's side.
#
#   benchxz, benchzst   the burst matrix on this image's path (.ko.xz: the kernel decompresses;
#                       .ko.zst: whoever loads decompresses), then on xz the repeatedly failing
#                       module, on zst the kernel's own request_module() storm (mounts)
#   benchcp*            a coldplug boot (benchcpstock*: the units masked): what udev's storm cost;
#                       benchcpdaemonxz also re-triggers coldplug with the modules loaded
#   benchir-LOADER-GEN-PATH  a boot through an initrd of GEN (dracut, initramfs-tools), made with
#                       the project (LOADER daemon) or without (stock, the units masked in the
#                       root too): what each phase of the boot cost, per process
#
# Knobs come from the kernel command line (tools/vm bench puts them there): mc_bench.ns=1,16,…
# mc_bench.reps=N mc_bench.sets=big,shared,slow mc_bench.fail_secs=N mc_bench.mounts=N
# mc_bench.retrigger_reps=N. Every result is a line of key=value pairs; the host makes the
# tables (tools/vm-bench-report). Results reach the second disk after every measurement, so a
# run cut short still reports what it measured.
set -u
mode=$1
. /usr/local/lib/mc-vm/lib.sh
L=/usr/local/lib/mc-vm
# The harness must outlive the bursts it measures (1024 modprobes that each hold a decompressed
# module can exhaust the VM): the OOM killer takes loaders, not the runner, its tee or the
# sampler. bench-burst.py puts the processes it starts back to 0.
echo -1000 >/proc/self/oom_score_adj
exec > >(tee $OUT/results /dev/ttyS0) 2>&1
: >$OUT/series

opt() { # name default
        local v
        v=$(tr ' ' '\n' </proc/cmdline | sed -n "s/^mc_bench\.$1=//p" | tr , ' ')
        echo "${v:-$2}"
}
NS=$(opt ns "1 16 64 256 1024")
REPS=$(opt reps 3)
SETS=$(opt sets "big shared slow")
FAIL_SECS=$(opt fail_secs 60)
MOUNTS=$(opt mounts 100)
RETRIGGER_REPS=$(opt retrigger_reps 3)
KVER=$(uname -r)
path=xz
[ -e /usr/lib/modules/$KVER/kernel/fs/xfs/xfs.ko.zst ] && path=zst

flush() {
        sync
        cat $OUT/results $OUT/series >/dev/vdb
        sync
}

set_modules() {
        case $1 in
        big) echo xfs ;;
        # Share xor, raid6_pq, libcrc32c (btrfs, raid456), async_tx/async_xor (raid456,
        # dm_integrity) and the crc32c drivers.
        shared) echo btrfs raid456 dm_integrity ;;
        slow) echo mc_slow ;;
        esac
}

# The modules of a set's plan, in load order, as "NAME PATH" (modprobe's own resolution).
plan() {
        modprobe --show-depends -a "$@" | awk '$1 == "insmod" { print $2 }' | while read -r p; do
                n=$(basename "$p"); n=${n%%.ko*}
                echo "${n//-/_} $p"
        done | awk '!seen[$1]++'
}

# "NAME FILE COMPRESSED DECOMPRESSED" for every module of the sets, for bench-trace.py.
sizes() {
        local s name p raw
        for s in $SETS; do plan $(set_modules $s); done | sort -u | while read -r name p; do
                case $p in
                *.xz) raw=$(xz -dc "$p" | wc -c) ;;
                *.zst) raw=$(zstd -dc "$p" | wc -c) ;;
                *) raw=$(stat -c %s "$p") ;;
                esac
                echo "$name $p $(stat -c %s "$p") $raw"
        done >$OUT/sizes
}

probes() {
        grep -q kfma $T/kprobe_events ||
                echo 'p:kfma find_module_all name=+0(%di):string' >>$T/kprobe_events
        grep -q kret $T/kprobe_events || echo 'r512:kret load_module ret=$retval:s32' >>$T/kprobe_events
        echo 1 >$T/events/kprobes/enable
        echo 1 >$T/events/module/module_load/enable
        echo 1 >$T/events/module/module_request/enable
        echo 1 >$T/events/syscalls/sys_enter_finit_module/enable
        echo 1 >$T/events/syscalls/sys_enter_init_module/enable
}

unload() { # module…
        local i
        for i in 1 2 3; do
                modprobe -r -a "$@" 2>/dev/null
                loaded "$@" || return 0
                sleep 1
        done
}

loaded() { # module…: is any of them loaded?
        local m
        for m in "$@"; do [ -e "/sys/module/${m//-/_}" ] && return 0; done
        return 1
}

daemon_up() {
        systemctl start modcoalesced.socket
        getstat requests >/dev/null
        systemctl show -P MainPID modcoalesced.service
}

daemon_down() { systemctl stop modcoalesced.socket modcoalesced.service; }

cg_usec() { sed -n 's/^usage_usec //p' /sys/fs/cgroup/system.slice/modcoalesced.service/cpu.stat; }
oom_kills() { sed -n 's/^oom_kill //p' /proc/vmstat; }
jget() { python3 -c "import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], 0))" "$@"; }

# VmallocUsed over a burst: the idle baseline (median before it), the peak above it, and for the
# biggest burst of a set the whole series (relative to its start) for the plot.
vmalloc_eval() { # samples start end series-label
        python3 - "$@" <<'EOF' >>$OUT/vm.eval
import statistics, sys
samples = [tuple(map(float, l.split())) for l in open(sys.argv[1])]
start, end, label = float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
before = [kb for t, kb in samples if t < start] or [samples[0][1]]
during = [kb for t, kb in samples if start <= t <= end + 0.2] or [before[-1]]
base = statistics.median(before)
span = max(end - start, 1e-3)
print(f"vm_base_kb={base:.0f} vm_peak_kb={max(during) - base:.0f} samples_per_s={len(during) / span:.0f}")
if label != "-":
    with open("/run/mc-vm/series", "a") as f:
        for t, kb in samples:
            if start - 0.5 <= t <= end + 0.5:
                f.write(f"series {label} t={t - start:.3f} kb={kb - base:.0f}\n")
EOF
}

run_burst() { # loader set n rep
        local loader=$1 set=$2 n=$3 rep=$4 mods pid="" cpu0=0 cpu=0 rss=0 oom0 sp unique label
        mods=$(set_modules "$set")
        unload $(plan $mods | awk '{print $1}' | tac)
        unique=$(plan $mods | awk '{print $1}' | while read -r m; do loaded "$m" || echo "$m"; done | wc -l)
        if [ "$loader" = modcoalesced ]; then
                pid=$(daemon_up)
                echo 5 >/proc/$pid/clear_refs
                cpu0=$(cg_usec)
                varlinkctl call $SOCK io.modcoalesced.Manager.GetStats '{}' >$OUT/stats0.json
        else
                daemon_down
        fi
        oom0=$(oom_kills)
        # Real-time, so that a thousand runnable processes do not starve the sampler.
        chrt -f 10 python3 $L/vmalloc-sample.py $OUT/vm.samples 200 &
        sp=$!
        sleep 0.5
        trace_clear
        python3 $L/bench-burst.py "$([ "$loader" = modcoalesced ] && echo varlink || echo modprobe)" \
                "$n" $mods >$OUT/burst.json
        sleep 0.3
        trace_save burst
        kill $sp
        wait $sp
        if [ "$loader" = modcoalesced ]; then
                cpu=$(( $(cg_usec) - cpu0 ))
                rss=$(awk '$1 == "VmHWM:" { print $2 }' /proc/$pid/status)
                varlinkctl call $SOCK io.modcoalesced.Manager.GetStats '{}' >$OUT/stats1.json
        else
                cpu=$(python3 -c "import json; print(int(json.load(open('$OUT/burst.json'))['cpu_s'] * 1e6))")
        fi
        label=-
        [ "$rep" = 1 ] && [ "$n" = "${NS##* }" ] && label="$path/$loader/$set/$n"
        : >$OUT/vm.eval
        vmalloc_eval $OUT/vm.samples "$(jget $OUT/burst.json start)" "$(jget $OUT/burst.json end)" "$label"
        say "row path=$path loader=$loader set=$set n=$n rep=$rep unique=$unique" \
                "$(python3 $L/bench-trace.py $OUT/trace.burst $OUT/sizes | head -n 1)" \
                "$(cat $OUT/vm.eval)" \
                "wall_s=$(jget $OUT/burst.json wall_s) sent_s=$(jget $OUT/burst.json sent_s)" \
                "first_s=$(jget $OUT/burst.json first_s) p50_ms=$(jget $OUT/burst.json p50_ms)" \
                "p99_ms=$(jget $OUT/burst.json p99_ms) ok=$(jget $OUT/burst.json ok)" \
                "failed=$(jget $OUT/burst.json failed) cpu_us=$cpu rss_kb=${rss:-0}" \
                "oom_kills=$(( $(oom_kills) - oom0 ))" \
                "$([ -n "$pid" ] && python3 -c "import json; a, b = (json.load(open('$OUT/stats%d.json' % i)) for i in (0, 1)); print('d_bytes_read=%d d_bytes_decomp=%d d_loads=%d' % tuple(b[k] - a[k] for k in ('bytesRead', 'bytesDecompressed', 'loads')))")"
        flush
}

bursts() {
        local set n rep loader
        for set in $SETS; do
                say "plan $set $(plan $(set_modules $set) | awk '{print $1}' | tr '\n' ' ')"
        done
        while read -r line; do say "size $line"; done <$OUT/sizes
        for set in $SETS; do
                for n in $NS; do
                        for rep in $(seq "$REPS"); do
                                for loader in modprobe modcoalesced; do
                                        run_burst $loader "$set" "$n" "$rep"
                                done
                        done
                done
        done
}

# A module that fails (kvm_intel: no VMX under emulation), asked for once every half second for
# FAIL_SECS: stock retries it every time; the daemon once per failure-memory window.
failing() {
        local loader t_end requests
        for loader in modprobe modcoalesced; do
                unload kvm_intel kvm
                if [ "$loader" = modcoalesced ]; then daemon_up >/dev/null; else daemon_down; fi
                trace_clear
                requests=0
                t_end=$(( $(date +%s) + FAIL_SECS ))
                while [ "$(date +%s)" -lt "$t_end" ]; do
                        if [ "$loader" = modcoalesced ]; then
                                load '{"modules":["kvm_intel"]}' >/dev/null 2>&1
                        else
                                modprobe kvm_intel >/dev/null 2>&1
                        fi
                        requests=$((requests + 1))
                        sleep 0.5
                done
                trace_save fail
                say "failrow path=$path loader=$loader secs=$FAIL_SECS requests=$requests" \
                        "attempts=$(python3 $L/bench-trace.py $OUT/trace.fail /dev/null | sed -n 's/^mod kvm_intel attempts=\([0-9]*\).*/\1/p')"
                flush
        done
}

# The kernel's own request_module() storm: concurrent mounts of a filesystem whose module is not
# loaded, with kernel.modprobe set to the shim and to modprobe itself.
mounts() {
        local fs via prog t0 i
        mkdir -p /mnt/t
        echo 1 >$T/events/sched/sched_process_exec/enable
        for fs in xfs btrfs; do
                for via in shim modprobe; do
                        unload $(plan $fs | awk '{print $1}' | tac)
                        if [ "$via" = shim ]; then
                                prog=/usr/libexec/modcoalesced-modprobe
                                daemon_up >/dev/null
                        else
                                prog=/usr/sbin/modprobe
                                daemon_down
                        fi
                        # (no sysctl(8) in the image: procps is not installed)
                        echo $prog >/proc/sys/kernel/modprobe
                        trace_clear
                        t0=$(date +%s.%N)
                        for i in $(seq "$MOUNTS"); do
                                mount -t $fs /dev/null /mnt/t >/dev/null 2>&1 &
                                pids+=($!)
                        done
                        bg_wait
                        trace_save mount
                        say "mountrow path=$path fs=$fs via=$via mounts=$MOUNTS" \
                                "wall_s=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')" \
                                "exec_modprobe=$(grep -c 'sched_process_exec:.*filename=/usr/s\?bin/modprobe' $OUT/trace.mount)" \
                                "exec_shim=$(grep -c 'sched_process_exec:.*filename=/usr/libexec/modcoalesced-modprobe' $OUT/trace.mount)" \
                                "$(python3 $L/bench-trace.py $OUT/trace.mount $OUT/sizes | head -n 1)" \
                                "fs_attempts=$(python3 $L/bench-trace.py $OUT/trace.mount $OUT/sizes | sed -n "s/^mod $fs attempts=\([0-9]*\).*/\1/p")"
                        flush
                done
        done
        echo /usr/libexec/modcoalesced-modprobe >/proc/sys/kernel/modprobe
        echo 0 >$T/events/sched/sched_process_exec/enable
}

# A coldplug boot: what udev's storm cost, from systemd-udevd's start; the time from the start of
# systemd-udev-trigger until `udevadm settle` returned (mc-bench-settle.service).
# What udevd said of its workers this boot: programs (the helper) that exited non-zero, workers
# slow enough to be warned about, workers killed at the event timeout; the failed and killed
# lines themselves in $OUT/udev.lines, so that a count can be read back.
udev_complaints() {
        local j
        journal_boot $OUT/udevd.journal -u systemd-udevd.service -q -o cat ||
                echo "udevd journal incomplete: the counts may be low" >&2
        j=$(<$OUT/udevd.journal)
        grep -i "modcoalesced-udev.* failed with exit code\|killed\|timed out" <<<"$j" >$OUT/udev.lines || true
        echo "udev_failed=$(grep -c "modcoalesced-udev.* failed with exit code" <<<"$j")" \
                "udev_slow=$(grep -c "is taking a long time" <<<"$j")" \
                "udev_killed=$(grep -ci "killed\|timed out" <<<"$j")"
}

coldplug() {
        local loader=daemon since t_trig t_settle t_done
        case $mode in *stock*) loader=stock ;; esac
        udevadm settle --timeout=300
        # udev settles when its helpers have exited; a helper whose deadline came exits while the
        # daemon carries its load on. Count once those loads have ended too (at most 20 min,
        # seen within 2 s), so that a row has every load of the storm: loads_done_s, from the
        # trigger.
        if [ "$loader" = daemon ]; then
                local n
                for _ in $(seq 600); do
                        n=$(modcoalescectl stats | awk '$1 == "inFlight" { print $2 }') || break
                        [ "${n:-0}" = 0 ] && break
                        sleep 2
                done
                t_done=$(python3 -c 'import time; print(int(time.monotonic() * 1e6))')
        fi
        trace_save boot
        since=$(systemctl show -P ExecMainStartTimestampMonotonic systemd-udevd.service)
        t_trig=$(systemctl show -P InactiveExitTimestampMonotonic systemd-udev-trigger.service)
        t_settle=$(systemctl show -P ExecMainExitTimestampMonotonic mc-bench-settle.service)
        t_done=${t_done:-$t_settle}
        python3 $L/bench-trace.py $OUT/trace.boot /dev/null "$since" >$OUT/boot.eval
        # VmallocUsed from before udev started (mc-bench-vmalloc.service): the baseline before
        # the trigger, the peak above it until the last load (for stock: until settled).
        systemctl stop mc-bench-vmalloc.service
        : >$OUT/vm.eval
        [ -s /run/mc-bench-vmalloc.samples ] &&
                vmalloc_eval /run/mc-bench-vmalloc.samples "$(awk -v a="$t_trig" 'BEGIN { print a / 1e6 }')" \
                        "$(awk -v b="$t_done" 'BEGIN { print b / 1e6 }')" -
        say "cprow path=$path loader=$loader cpus=$(nproc) modules=$(lsmod | tail -n +2 | wc -l)" \
                "settle_s=$(awk -v a="$t_trig" -v b="$t_settle" 'BEGIN { printf "%.2f", (b - a) / 1e6 }')" \
                "loads_done_s=$(awk -v a="$t_trig" -v b="$t_done" 'BEGIN { printf "%.2f", (b - a) / 1e6 }')" \
                "$(head -n 1 $OUT/boot.eval)" "$(cat $OUT/vm.eval)" \
                "modules_attempted=$(grep -c '^mod ' $OUT/boot.eval)" \
                "modules_failing=$(grep -c '^mod .* failed=[1-9]' $OUT/boot.eval)" \
                "$(udev_complaints)"
        sed -n "s/^mod /cpmod path=$path loader=$loader name=/p" $OUT/boot.eval
        lsmod | awk 'NR > 1 { print "cplsmod " $1 }' | sort
        head -n 20 $OUT/udev.lines | sed 's/^/cpudev /'
        if [ "$loader" = daemon ]; then
                # What the daemon made of the storm, and what it complained about.
                modcoalescectl stats | sed 's/^/cpstats /'
                journalctl --no-pager -b -u modcoalesced.service -p warning | tail -n 30 | sed 's/^/cpjournal /'
                timeline "gen=none path=$path"
        fi
        flush
}

# Coldplug again with every module loaded: what running a helper per MODALIAS event costs.
retrigger() {
        local rep variant t0
        for rep in $(seq "$RETRIGGER_REPS"); do
                for variant in stock stock-true modcoalesced; do
                        rm -f /run/udev/rules.d/81-mc-bench-true.rules
                        case $variant in
                        stock) daemon_down ;;
                        stock-true)
                                mkdir -p /run/udev/rules.d
                                echo 'ENV{MODALIAS}=="?*", RUN+="/bin/true"' \
                                        >/run/udev/rules.d/81-mc-bench-true.rules ;;
                        modcoalesced) daemon_up >/dev/null ;;
                        esac
                        udevadm control --reload
                        udevadm settle --timeout=300
                        t0=$(date +%s.%N)
                        udevadm trigger --action=add
                        udevadm settle --timeout=300
                        say "rtrow variant=$variant cpus=$(nproc) rep=$rep" \
                                "settle_s=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')"
                        flush
                done
        done
        rm -f /run/udev/rules.d/81-mc-bench-true.rules
        udevadm control --reload
}

# The daemons' record of this boot's loads (the initrd's included): the table, and the drawing,
# one "timelinesvg KEYS line" per line, which tools/vm-bench-report writes out as an SVG file.
timeline() {
        modcoalescectl timeline | sed "s/^/timeline $1 cpus=$(nproc) | /"
        modcoalescectl timeline --svg - | sed "s/^/timelinesvg $1 cpus=$(nproc) | /"
}

# A boot through an initrd: per phase (the initrd, up to the root's PID 1 start, the last
# "running in system mode" of the journal; the root after it) and per process, what the kernel
# saw; the initrd's duration, the root's trigger → settle; the modules attempted more than once
# over the whole boot; the test's request_module() inside the initrd.
initrd_boot() {
        local loader gen split t_trig t_settle ph from to
        loader=$(echo "$mode" | cut -d- -f2)
        gen=$(echo "$mode" | sed 's/^benchir-[a-z]*-\(.*\)-[a-z]*$/\1/')
        udevadm settle --timeout=300
        trace_save boot
        journal_boot $OUT/journal -o short-monotonic
        split=$(grep 'running in system mode' $OUT/journal | tail -n 1 | sed 's/^\[ *\([0-9.]*\)\].*/\1/')
        split=$(awk -v s="$split" 'BEGIN { printf "%d", s * 1e6 }')
        t_trig=$(systemctl show -P InactiveExitTimestampMonotonic systemd-udev-trigger.service)
        t_settle=$(systemctl show -P ExecMainExitTimestampMonotonic mc-bench-settle.service)
        for ph in initrd root boot; do
                case $ph in
                initrd) from=0 to=$split ;;
                root) from=$split to=99999999999999 ;;
                boot) from=0 to=99999999999999 ;;
                esac
                python3 $L/bench-trace.py $OUT/trace.boot /dev/null "$from" "$to" >$OUT/ir.$ph
                say "irrow gen=$gen path=$path loader=$loader cpus=$(nproc) phase=$ph" \
                        "modules=$(lsmod | tail -n +2 | wc -l)" \
                        "initrd_s=$(awk -v s="$split" 'BEGIN { printf "%.2f", s / 1e6 }')" \
                        "settle_s=$(awk -v a="$t_trig" -v b="$t_settle" 'BEGIN { printf "%.2f", (b - a) / 1e6 }')" \
                        "$(head -n 1 $OUT/ir.$ph)" \
                        "modules_attempted=$(grep -c '^mod ' $OUT/ir.$ph)" \
                        "modules_failing=$(grep -c '^mod .* failed=[1-9]' $OUT/ir.$ph)"
        done
        awk '$3 !~ /attempts=1$/' $OUT/ir.boot | grep '^mod ' |
                sed "s/^mod /irmod gen=$gen path=$path loader=$loader name=/" | head -n 40
        say "irrequest gen=$gen path=$path loader=$loader $(cat /run/mc-vm/initrd-request 2>/dev/null || echo none=1)"
        if [ "$loader" = daemon ]; then
                journalctl --no-pager -b -u modcoalesced.service -p warning | tail -n 30 |
                        sed 's/^/irjournal /'
                timeline "gen=$gen path=$path"
        fi
        flush
}

say "bench mode=$mode path=$path cpus=$(nproc) mem_kb=$(sed -n 's/^MemTotal: *\([0-9]*\).*/\1/p' /proc/meminfo) ns=${NS// /,} reps=$REPS sets=${SETS// /,} date=$(date -u +%FT%TZ)"
probes
case $mode in
benchir-*) initrd_boot ;;
benchcp*)
        coldplug
        case $mode in benchcpdaemonxz) retrigger ;; esac ;;
bench*)
        udevadm settle --timeout=300
        sizes
        # The kernel's request storm first: it is short, and the biggest zst bursts may not end.
        [ "$path" = zst ] && mounts
        bursts
        [ "$path" = xz ] && failing ;;
esac
say "done"
flush
