#!/bin/bash
# deb.sh — inside the VM (mc-deb.service), on an image that starts stock (tools/vm-deb boots one
# disk twice). Boot "deb": the Debian package installed with dpkg while kernel threads storm
# request_module(), upgraded to a rebuild in the middle of a burst for a slow module, then
# udev's own package reinstalled, upgraded and downgraded over ours. Boot "deb2", the reboot:
# coldplug through the daemon, then removal and purge. Counts are the kernel's own (ftrace, as
# in run.sh); results go to the second disk.
set -u
mode=$(sed -n 's/.*mc_vm.mode=\([a-z0-9-]*\).*/\1/p' /proc/cmdline)
. /usr/local/lib/mc-vm/lib.sh
exec > >(tee $OUT/results /dev/ttyS0) 2>&1

DEBS=/var/tmp/mc-deb
SHIM=/usr/libexec/modcoalesced-modprobe
RULES=/usr/lib/udev/rules.d
kmp() { cat /proc/sys/kernel/modprobe; }
state() { cat "/sys/module/$1/initstate" 2>/dev/null || echo absent; }
status() { dpkg-query -W -f='${db:Status-Abbrev}${Version}' modcoalesced 2>/dev/null || true; }
# Load syscalls in a saved trace: by process name (the first field, less its pid), or all.
n_by() {
        awk -v want="$2" '/ sys_(f)?init_module\(/ { c = $1; sub(/-[0-9]+$/, "", c); if (c == want) n++ }
                END { print n + 0 }' "$OUT/trace.$1"
}
by_comm() {
        awk '/ sys_(f)?init_module\(/ { c = $1; sub(/-[0-9]+$/, "", c); n[c]++ }
                END { for (c in n) printf "%s=%d ", c, n[c] }' "$OUT/trace.$1"
}
# Which RUN udev would give this device's "add" event (udevadm test runs nothing).
udev_runs() {
        udevadm test --action=add "$1" 2>/dev/null | sed -n 's/^  RUN{\([a-z]*\)} : /\1:/p' |
                grep -E 'modcoalesced-udev|kmod load$' | tr '\n' ' '
}
# The device's module unloaded, its "add" event again: who loads the module now?
udev_reload() { # label module device
        modprobe -r "$2" 2>/dev/null
        trace_clear
        udevadm trigger --action=add --settle "$3" >/dev/null 2>&1
        udevadm settle --timeout=60
        trace_save "$1"
}

udevadm settle --timeout=120
lsmod | awk 'NR > 1 && $1 !~ /^mc_/ { print $1 }' | sort >$OUT/lsmod
trace_save boot
say "boot mode=$mode modules=$(wc -l <$OUT/lsmod) kernel.modprobe=$(kmp) modcoalesced=$(status)"

if [ "$mode" = deb ]; then
        # -- deb0: the image is stock. A device whose driver can go and come back, for the udev
        # checks: the driver of the first such device among qemu's NIC, the PC speaker, the SMBus.
        cp $OUT/lsmod $DEBS/lsmod.stock
        M= DEV=
        for m in e1000 pcspkr i2c_piix4 serio_raw; do
                [ "$(state $m)" = live ] || continue
                for d in /sys/module/$m/drivers/*/*; do
                        [ -f "$d/uevent" ] && grep -q '^MODALIAS=' "$d/uevent" || continue
                        M=$m DEV=$(readlink -f "$d")
                        break 2
                done
        done
        echo "$M $DEV" >$DEBS/device
        owner80=$(dpkg -S $RULES/80-drivers.rules 2>/dev/null | cut -d: -f1)
        check deb0 "the image starts stock: modcoalesced '$(status)', kernel.modprobe $(kmp), 80-drivers.rules from $owner80, no /run/modcoalesced; udev checks on $M (${DEV#/sys})" \
                test -z "$(status)" -a "$(kmp)" = /sbin/modprobe -a ! -e /run/modcoalesced \
                -a "$owner80" = udev -a -n "$M"

        # -- deb1: dpkg -i during a storm of the kernel's own requests. Ten waves of 30
        # request_module() calls from kernel threads (mc_storm), 300 in all, for five targets,
        # two waves each: waves 1-2 before dpkg starts, 3-8 while it runs (as many as it lasts),
        # 9-10 once it is done and the daemon serves (the shim never waits for an activation, so
        # the first requests after the install may still go to the real modprobe).
        say "scenario deb1"
        first=$DEBS/modcoalesced.deb
        upgrade=$DEBS/modcoalesced-upgrade.deb
        targets=(- mctest:c mctest:c mctest:late mctest:late mctest:soft mctest:soft mctest:inst mctest:inst mctest:user1 mctest:user1)
        wave() { # n
                local when=before s f e
                [ -e $OUT/dpkg.started ] && when=during
                [ -e $OUT/dpkg.done ] && when=after
                trace_clear
                modprobe mc_storm threads=30 target="${targets[$1]}"
                s=$(cat /sys/module/mc_storm/parameters/succeeded 2>/dev/null || echo 0)
                f=$(cat /sys/module/mc_storm/parameters/failed 2>/dev/null || echo 30)
                e=$(cat /sys/module/mc_storm/parameters/first_error 2>/dev/null || echo '?')
                rmmod mc_storm
                trace_save "w$1"
                echo "$1 ${targets[$1]} $s $f $when first_error=$e"
        }
        rm -f $OUT/dpkg.* $OUT/storm.go
        (
                wave 1; wave 2
                touch $OUT/storm.go
                while [ ! -e $OUT/dpkg.started ]; do sleep 0.05; done
                for i in 3 4 5 6 7 8; do wave $i; done
                while [ ! -e $OUT/dpkg.done ]; do sleep 0.1; done
                getstat requests >$OUT/req0
                wave 9; wave 10
                getstat requests >$OUT/req1
        ) >$OUT/waves 2>&1 &
        storm=$!
        while [ ! -e $OUT/storm.go ] && kill -0 $storm 2>/dev/null; do sleep 0.1; done
        touch $OUT/dpkg.started
        t0=$(date +%s.%N)
        dpkg -i "$first" >$OUT/dpkg.install 2>&1
        rc=$?
        t1=$(date +%s.%N)
        touch $OUT/dpkg.done
        wait $storm
        sed 's/^/deb1 dpkg /' $OUT/dpkg.install
        sed 's/^/deb1 wave /' $OUT/waves
        for i in $(seq 10); do counts "w$i" mc_storm mc_c mc_late mc_soft mc_inst mc_user1 mc_shared; done
        ok=$(awk '{ s += $3 } END { print s + 0 }' $OUT/waves)
        bad=$(awk '{ s += $4 } END { print s + 0 }' $OUT/waves)
        during=$(awk '$5 == "during"' $OUT/waves | wc -l)
        requests=$(cat $OUT/trace.w* | grep -c 'module_request: mctest:')
        once=1
        for m in mc_c mc_late mc_soft mc_inst mc_user1 mc_shared; do
                n=$(cat $OUT/trace.w* | grep -c "module_load: $m\b")
                [ "$n" = 1 ] || { once=0; say "deb1 $m created $n times"; }
        done
        check deb1 "dpkg -i (exit $rc, $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s) during 10 waves of 30 request_module() calls, $during of them while dpkg ran: $requests requests, $ok answered 0, $bad failed; mc_c, mc_late, mc_soft, mc_inst, mc_user1, mc_shared each created once ($once)" \
                test "$rc" = 0 -a "$requests" = 300 -a "$ok" = 300 -a "$bad" = 0 -a "$once" = 1 -a "$during" -ge 1
        if [ "$bad" != 0 ] || [ "$once" != 1 ]; then
                dmesg | grep -E ' mc_' | tail -n 20 | sed 's/^/deb1 kernel /'
                journalctl -b -o short-monotonic -u modcoalesced.service | tail -n 20 | sed 's/^/deb1 daemon /'
        fi
        req=$(( $(cat $OUT/req1) - $(cat $OUT/req0) ))
        check deb1b "after the install, waves 9-10 through the shim and the daemon: $req daemon requests; full loads $(n_load w9) (mc_storm, mc_user1, mc_shared) and $(n_load w10) (mc_storm); load syscalls by the daemon $(n_by w9 modcoalesced)+$(n_by w10 modcoalesced)" \
                test "$req" = 60 -a "$(n_load w9)" = 3 -a "$(n_load w10)" = 1 \
                -a "$(n_by w9 modcoalesced)" = 2 -a "$(n_by w10 modcoalesced)" = 0
        check deb1c "installed '$(status)': socket $(systemctl is-enabled modcoalesced.socket)/$(systemctl is-active modcoalesced.socket), kernel.modprobe $(kmp) ($(systemctl is-active modcoalesced-kernel-modprobe.service)), the update-initramfs trigger ran" \
                test "$(status)" = "ii $(dpkg-deb -f "$first" Version)" \
                -a "$(systemctl is-enabled modcoalesced.socket)" = enabled \
                -a "$(systemctl is-active modcoalesced.socket)" = active -a "$(kmp)" = $SHIM \
                -a "$(grep -c 'Processing triggers for initramfs-tools' $OUT/dpkg.install)" = 1

        # -- deb2: the upgrade in the middle of a burst for a slow module. dpkg --unpack, then 150
        # Loads of mc_slow whose init the kernel holds (hold=1) until the test lets it go; with
        # all 150 waiting, dpkg --configure, which restarts the daemon; once it has had SIGTERM,
        # 150 more, which queue in the socket (the draining daemon accepts no connection); then
        # the init goes on. The socket and kernel.modprobe's unit stay as they are.
        say "scenario deb2"
        getstat requests >/dev/null
        pid0=$(systemctl show -P MainPID modcoalesced.service)
        sock0=$(systemctl show -P InvocationID modcoalesced.socket)
        kmu0=$(systemctl show -P InvocationID modcoalesced-kernel-modprobe.service)
        dpkg --unpack "$upgrade" >$OUT/dpkg.upgrade 2>&1
        rc=$?
        rmmod mc_slow 2>/dev/null
        trace_clear
        burst 150 '{"modules":["mc_slow"],"parameters":"hold=1"}' >$OUT/up.a &
        pa=$!
        waiters() {
                varlinkctl call $SOCK io.modcoalesced.Manager.ListInFlight '{}' 2>/dev/null |
                        python3 -c "import json,sys; print({m['name']: m for m in json.load(sys.stdin)['modules']}.get('mc_slow', {}).get('waiters', 0))" 2>/dev/null
        }
        for _ in $(seq 300); do [ "$(waiters)" = 150 ] && break; sleep 0.1; done
        at_dpkg="$(state mc_slow), $(waiters) waiters"
        dpkg --configure modcoalesced >>$OUT/dpkg.upgrade 2>&1 &
        pd=$!
        at_stop=none
        for _ in $(seq 600); do
                if [ "$(systemctl show -P ActiveState modcoalesced.service)" != active ] ||
                        [ "$(systemctl show -P MainPID modcoalesced.service)" != "$pid0" ]; then
                        at_stop=$(state mc_slow)
                        break
                fi
                sleep 0.05
        done
        # systemd reports the stop as it sends SIGTERM; the daemon stops accepting when it
        # handles it, and removes its ready file in the same step.
        for _ in $(seq 300); do [ -e /run/modcoalesced/ready ] || break; sleep 0.1; done
        burst 150 '{"modules":["mc_slow"]}' >$OUT/up.b &
        pb=$!
        # The socket's connections, as /proc/net/unix lists them: the listener, the 150 the old
        # daemon accepted, and those waiting to be accepted.
        conns() { grep -c " $SOCK\$" /proc/net/unix; }
        for _ in $(seq 600); do [ "$(conns)" -ge 301 ] && break; sleep 0.1; done
        queued=$(( $(conns) - 151 ))
        echo 0 >/sys/module/mc_slow/parameters/hold
        wait $pd
        rc=$((rc + $?))
        wait $pa $pb
        trace_save up
        sed 's/^/deb2 dpkg /' $OUT/dpkg.upgrade
        say "deb2 a $(cat $OUT/up.a)"
        say "deb2 b $(cat $OUT/up.b)"
        counts up mc_slow
        pid1=$(systemctl show -P MainPID modcoalesced.service)
        new_requests=$(getstat requests)
        ok_a=$(field ok <$OUT/up.a)
        ok_b=$(field ok <$OUT/up.b)
        check deb2 "upgrade to '$(status)' (dpkg --unpack, --configure: exit $rc) mid-burst: mc_slow $at_dpkg at --configure, $at_stop at the daemon's SIGTERM; $ok_a/150 answered by the old daemon, $ok_b/150 made while it drained ($queued seen queued in the socket) answered by the new one ($new_requests requests); mc_slow created $(n_created up mc_slow), $(n_load up) full load(s), read $(n_read up mc_slow) time(s)" \
                test "$rc" = 0 -a "$(status)" = "ii $(dpkg-deb -f "$upgrade" Version)" \
                -a "$at_dpkg" = "coming, 150 waiters" -a "$at_stop" = coming -a "$queued" = 150 \
                -a "$ok_a" = 150 -a "$ok_b" = 150 -a "$new_requests" = 150 \
                -a "$(n_created up mc_slow)" = 1 -a "$(n_load up)" = 1 -a "$(n_read up mc_slow)" = 1
        check deb2b "the daemon restarted (pid $pid0 -> $pid1); the socket and kernel.modprobe's unit untouched; kernel.modprobe $(kmp)" \
                test "$pid1" != "$pid0" -a "$pid1" != 0 \
                -a "$(systemctl show -P InvocationID modcoalesced.socket)" = "$sock0" \
                -a "$(systemctl show -P InvocationID modcoalesced-kernel-modprobe.service)" = "$kmu0" \
                -a "$(kmp)" = $SHIM

        # -- deb3-5: udev's own package over ours: reinstalled, upgraded, downgraded back. Each
        # time our rules are still ours and in force, udev's 80-drivers.rules is udev's as
        # shipped, and the device's module comes back through the daemon.
        read -r M DEV <$DEBS/device
        udev_over() { # id what deb
                local rc runs
                dpkg -i "$3" >$OUT/udev.$1 2>&1
                rc=$?
                udevadm settle --timeout=60
                runs=$(udev_runs "$DEV")
                udev_reload "$1" "$M" "$DEV"
                check "$1" "udev $2 ($(dpkg-query -W -f='${Version}' udev), exit $rc): rules owned by $(dpkg -S $RULES/79-modcoalesced.rules $RULES/81-modcoalesced.rules | cut -d: -f1 | sort -u | tr '\n' ' ')and unchanged ($(dpkg --verify modcoalesced | wc -l) changes), 80-drivers.rules by $(dpkg -S $RULES/80-drivers.rules | cut -d: -f1) ($(dpkg --verify udev | grep -c 80-drivers) changes); udev runs: $runs; $M back: $(state $M), load syscalls: $(by_comm "$1")" \
                        test "$rc" = 0 -a "$(dpkg -S $RULES/79-modcoalesced.rules $RULES/81-modcoalesced.rules | cut -d: -f1 | sort -u)" = modcoalesced \
                        -a -z "$(dpkg --verify modcoalesced)" \
                        -a "$(dpkg -S $RULES/80-drivers.rules | cut -d: -f1)" = udev \
                        -a "$(dpkg --verify udev | grep -c 80-drivers)" = 0 \
                        -a "$runs" = "program:/usr/libexec/modcoalesced-udev " -a "$(state $M)" = live \
                        -a "$(n_by "$1" modcoalesced)" -ge 1 -a "$(n_by "$1" '(udev-worker)')" = 0
        }
        udev_over deb3 reinstalled $DEBS/udev.deb
        udev_over deb4 upgraded $DEBS/udev-upgrade.deb
        udev_over deb5 "downgraded back" $DEBS/udev.deb
fi

if [ "$mode" = deb2 ]; then
        # -- deb6: the reboot after the install: coldplug through the daemon. Only the real
        # root counts (the initrd, from outside the image, is stock and loads with udev's builtin).
        since=$(systemctl show -P ExecMainStartTimestampMonotonic systemd-udevd.service)
        root_calls() { # comm
                awk -v since="$since" -v want="$1" '/ sys_(f)?init_module\(/ {
                        for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9]+:$/) { t = substr($i, 1, length($i) - 1) * 1e6; break }
                        c = $1; sub(/-[0-9]+$/, "", c)
                        if (t >= since && c == want) n++ } END { print n + 0 }' $OUT/trace.boot
        }
        # udev's builtin keeps the lines of 80-drivers.rules and 80-debian-compat.rules that name
        # fixed modules (ppdev once parport_pc is loaded, sg, ...): only those may be udev's.
        udev_reads=$(awk -v since="$since" '/kinit:/ && $1 ~ /^\(udev-worker\)-/ {
                for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9]+:$/) { t = substr($i, 1, length($i) - 1) * 1e6; break }
                n = $NF; sub(/^name="/, "", n); sub(/\.ko.*/, "", n)
                if (t >= since) print n }' $OUT/trace.boot | sort -u | tr '\n' ' ')
        others=$(for n in $udev_reads; do
                case $n in ppdev | sg | tifm_sd | tifm_ms | ms_block | mspro_block | i2o_block | sm_ftl) ;; *) echo "$n" ;; esac
        done)
        same=0
        cmp -s $OUT/lsmod $DEBS/lsmod.stock && same=1
        diff $DEBS/lsmod.stock $OUT/lsmod | sed 's/^/deb6 lsmod /'
        check deb6 "reboot with the package: coldplug in the root through the daemon ($(getstat requests) requests, $(root_calls modcoalesced) load syscalls; udev workers $(root_calls '(udev-worker)'): ${udev_reads:-none}, all named by 80-drivers.rules' fixed lines), the same $(wc -l <$OUT/lsmod) modules as the stock boot ($same), kernel.modprobe $(kmp)" \
                test -z "$others" -a "$(root_calls modcoalesced)" -gt 0 \
                -a "$same" = 1 -a "$(kmp)" = $SHIM

        # -- deb7: dpkg -r. kernel.modprobe and the shim sampled meanwhile (every 10 ms, or as
        # fast as emulation goes): it must never name a shim that is gone.
        say "scenario deb7"
        read -r M DEV <$DEBS/device
        # No sleep(1) process per sample: a read from a FIFO that nobody writes times out.
        mkfifo $OUT/never
        (
                exec 9<>$OUT/never
                while :; do
                        read -r v </proc/sys/kernel/modprobe
                        s=gone
                        [ -e $SHIM ] && s=present
                        echo "$EPOCHREALTIME $v $s"
                        read -r -t 0.01 -u 9 _
                done
        ) >$OUT/poll &
        poller=$!
        sleep 0.2
        t0=$EPOCHREALTIME
        dpkg -r modcoalesced >$OUT/dpkg.remove 2>&1
        rc=$?
        t1=$EPOCHREALTIME
        sleep 0.2
        kill $poller
        wait $poller 2>/dev/null
        sed 's/^/deb7 dpkg /' $OUT/dpkg.remove
        stock_at=$(awk '$2 == "/sbin/modprobe" { print $1; exit }' $OUT/poll)
        gone_at=$(awk '$3 == "gone" { print $1; exit }' $OUT/poll)
        dangling=$(awk -v s=$SHIM '$2 == s && $3 == "gone"' $OUT/poll | wc -l)
        check deb7 "dpkg -r (exit $rc, $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s): kernel.modprobe stock $(awk -v a="$t0" -v b="${stock_at:-0}" 'BEGIN { printf "%.2f", b - a }') s after dpkg started, the shim gone $(awk -v a="$t0" -v b="${gone_at:-0}" 'BEGIN { printf "%.2f", b - a }') s after; $dangling of $(wc -l <$OUT/poll) samples named a missing shim; now $(kmp), '$(status)'" \
                test "$rc" = 0 -a -n "$stock_at" -a -n "$gone_at" -a "$dangling" = 0 -a "$(kmp)" = /sbin/modprobe \
                -a "$(status)" = "rc $(dpkg-query -W -f='${Version}' modcoalesced)" -a ! -e /run/modcoalesced \
                -a ! -e $RULES/79-modcoalesced.rules
        runs=$(udev_runs "$DEV")
        udev_reload deb8 "$M" "$DEV"
        check deb8 "removed: udev runs '$runs' for ${DEV#/sys}; $M back: $(state $M), load syscalls: $(by_comm deb8)" \
                test "$runs" = "builtin:kmod load " -a "$(state $M)" = live \
                -a "$(n_by deb8 '(udev-worker)')" -ge 1 -a "$(n_by deb8 modcoalesced)" = 0
        modprobe -r xfs libcrc32c 2>/dev/null
        mkdir -p /mnt/t
        trace_clear
        mount -t xfs /dev/null /mnt/t >/dev/null 2>&1
        trace_save deb9
        check deb9 "removed: request_module(fs-xfs) ($(grep -c 'module_request: fs-xfs' $OUT/trace.deb9) requests) loads xfs: $(state xfs), load syscalls: $(by_comm deb9)" \
                test "$(state xfs)" = live -a "$(grep -c 'module_request: fs-xfs' $OUT/trace.deb9)" -ge 1 \
                -a "$(n_by deb9 modprobe)" -ge 1

        # -- deb10: purge. Nothing of ours is left.
        dpkg -P modcoalesced >$OUT/dpkg.purge 2>&1
        rc=$?
        sed 's/^/deb10 dpkg /' $OUT/dpkg.purge
        left=$(find / /run -xdev -name '*modcoalesced*' -not -path "$DEBS/*" 2>/dev/null | sort -u)
        owned=$(dpkg -S modcoalesced 2>/dev/null)
        say "deb10 left: $(echo $left)"
        check deb10 "dpkg -P (exit $rc): '$(status)', dpkg -S finds '$owned', files named *modcoalesced* left: $(echo $left | wc -w), kernel.modprobe $(kmp)" \
                test "$rc" = 0 -a -z "$(status)" -a -z "$owned" -a -z "$left" -a ! -e /run/modcoalesced \
                -a "$(kmp)" = /sbin/modprobe
fi
say "done"
sync
cat $OUT/results >/dev/vdb
sync
