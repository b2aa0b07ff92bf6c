#!/usr/bin/env bash
# test-units.sh BUILDDIR — the installed packaging: `meson install --destdir` into a temporary
# tree, then `systemd-analyze verify` on the socket and the service (no warning at all), the
# service's exposure score from `systemd-analyze security --offline=yes` (at most
# MAX_EXPOSURE), `udevadm verify` on our udev rules, which program udev runs for a real device
# with and without the daemon's socket beside the stock 80-drivers.rules (`udevadm test`), and
# the man pages (groff).
set -euo pipefail

# The score this service reaches (2.5 with systemd 257), plus a little: a change that loosens the
# sandbox fails here and has to raise this number in the same commit.
MAX_EXPOSURE=2.6
SOCKET_PATH=/run/modcoalesced/io.modcoalesced.Manager

build=$(cd "$1" && pwd)
tmp=$(mktemp -d /tmp/mc-units-XXXXXX)
trap 'rm -rf --one-file-system "$tmp"' EXIT
dest=$tmp/dest

fail() { echo "FAIL: $*" >&2; exit 1; }
n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
export SYSTEMD_COLORS=0 SYSTEMD_PAGER=cat

# Install what `meson install` installs (already built: meson test built it; no second ninja
# running beside the test runner's).
meson install -C "$build" --no-rebuild --quiet --destdir "$dest" >"$tmp/install.log" 2>&1 ||
        fail "meson install: $(cat "$tmp/install.log")"
find_one() {
        local f
        f=$(find "$dest" -path "*/$1" -type f)
        [ -n "$f" ] && [ "$(printf '%s\n' "$f" | wc -l)" -eq 1 ] || fail "installed $1: '$f'"
        printf '%s\n' "$f"
}
socket=$(find_one systemd/system/modcoalesced.socket)
service=$(find_one systemd/system/modcoalesced.service)
# Both or neither (-Dudev-rules=false). No file of udev's name: the package udev owns those.
rules=$(find "$dest" -path '*/udev/rules.d/*.rules' -type f | sort)
rule=$(find "$dest" -path '*/udev/rules.d/79-modcoalesced.rules' -type f)
restore=$(find "$dest" -path '*/udev/rules.d/81-modcoalesced.rules' -type f)
case "$(echo $rules)" in
"" | "$rule $restore") ;;
*) fail "udev rules installed: $(echo $rules)" ;;
esac
daemon=$(find_one libexec/modcoalesced)
helper=$(find_one libexec/modcoalesced-udev)
find_one bin/modcoalescectl >/dev/null
for f in "$socket" "$service" $rules $(find "$dest" -name 'modcoalesced-kernel-modprobe.service'); do
        ! grep -n '@[a-z_]*@' "$f" || fail "unsubstituted variable in $f"
done
ok "meson install: units, udev rules, programs"

# ExecStart= and RUN+= name the installed programs (as paths inside the destdir's root).
grep -qx "ExecStart=${daemon#"$dest"}" "$service" || fail "ExecStart= of $(grep ExecStart "$service")"
grep -qx "ListenStream=$SOCKET_PATH" "$socket" || fail "ListenStream= $(grep ListenStream "$socket")"
# Only root may connect (the daemon checks the peer too, tests/test-service.sh); the VM suite
# checks the socket as systemd creates it.
grep -qx "SocketMode=0600" "$socket" || fail "SocketMode= $(grep SocketMode "$socket")"
[ -z "$rule" ] || grep -qF "RUN+=\"${helper#"$dest"}\"" "$rule" ||
        fail "the rule does not run ${helper#"$dest"}"
ok "the units and the rule name the installed daemon, helper and socket"

# verify, with the destdir as root: ExecStart= must resolve there, and units that only the real
# system has (sysinit.target, systemd-udev-trigger.service) are ordering targets, not errors.
# verify exits 0 after most warnings (unknown keys, bad values), so any output fails too.
# Documentation=man: is checked below against the installed pages, not against man(1)'s database.
if ! systemd-analyze verify --man=no --root="$dest" "$socket" "$service" >"$tmp/verify.log" 2>&1 ||
        [ -s "$tmp/verify.log" ]; then
        fail "systemd-analyze verify: $(cat "$tmp/verify.log")"
fi
ok "systemd-analyze verify: no warning"

# A broken unit must fail the check above: it proves that verify reads these files.
broken=$(dirname "$service")/modcoalesced-broken.service
sed 's/^KillMode=.*/KillMode=bogus/' "$service" >"$broken"
systemd-analyze verify --man=no --root="$dest" "$socket" "$broken" >"$tmp/verify.log" 2>&1 || true
rm -f "$broken"
grep -q "kill mode" "$tmp/verify.log" || fail "verify did not notice KillMode=bogus: $(cat "$tmp/verify.log")"
ok "systemd-analyze verify notices a bad value"

# The exposure score: printed, and held under MAX_EXPOSURE (--threshold counts tenths).
threshold=$(awk -v m="$MAX_EXPOSURE" 'BEGIN { printf "%d", m * 10 + 0.5 }')
if ! systemd-analyze security --offline=yes --root="$dest" --threshold="$threshold" "$service" \
        >"$tmp/security.log" 2>&1; then
        cat "$tmp/security.log" >&2
        fail "systemd-analyze security: exposure above $MAX_EXPOSURE"
fi
score=$(sed -n 's/.*Overall exposure level for modcoalesced.service: \([0-9.]*\).*/\1/p' \
        "$tmp/security.log")
[ -n "$score" ] || fail "no exposure score: $(tail -3 "$tmp/security.log")"
awk -v s="$score" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(s <= m) }' || fail "exposure $score > $MAX_EXPOSURE"
grep -q 'ProtectKernelModules=.*may load' "$tmp/security.log" || fail "ProtectKernelModules= is set"
echo "# exposure level of modcoalesced.service: $score (at most $MAX_EXPOSURE)"
ok "systemd-analyze security: exposure $score"

# Our rules: valid, in a directory that udev reads (never /etc, which is the admin's), and named
# to sort around udev's 80-drivers.rules, which they leave in place.
check_rule_file() {
        udevadm verify $rules >"$tmp/udev-verify.log" 2>&1 && grep -q 'Fail: *0' "$tmp/udev-verify.log" ||
                fail "udevadm verify: $(cat "$tmp/udev-verify.log")"
        case "$(dirname "${rule#"$dest"}")" in
        /usr/lib/udev/rules.d | /usr/local/lib/udev/rules.d) ;;
        *) fail "the rules are installed in $(dirname "${rule#"$dest"}"): udev does not read them there" ;;
        esac
        ok "udevadm verify: 79-modcoalesced.rules and 81-modcoalesced.rules, in $(dirname "${rule#"$dest"}")"
}

# Which program udev runs for a real device's MODALIAS: the builtin without the daemon's socket,
# the helper with it, never both. `udevadm test` runs nothing and writes no attribute; the rule
# and the socket path go to a /run of our own, in a mount namespace whose mounts reach nobody.
# Returns 2 when no such namespace can be had.
udev_test() {
        local prop=slave
        if ! mountpoint -q /; then
                # A chroot (tools/dev): its mounts must be private already.
                [ "$(findmnt -no PROPAGATION /run 2>/dev/null)" = private ] || return 2
                prop=unchanged
        fi
        unshare --mount --propagation "$prop" bash -c '
                set -e
                mount -t tmpfs -o mode=755 tmpfs /run
                mkdir -p /run/udev/rules.d "$(dirname "$3")"
                cp "$1" "$5" /run/udev/rules.d/
                udevadm test --action=add "$2" >"$4.without" 2>&1
                touch "$3"
                udevadm test --action=add "$2" >"$4.with" 2>&1' \
                bash "$rule" "$1" "$SOCKET_PATH" "$tmp/udev-test" "$restore"
}

check_rule_choice() {
        local device=$1 k
        if [ "$(id -u)" != 0 ] || [ -z "$device" ] || ! command -v unshare >/dev/null; then
                echo "# not checked: which RUN program udev picks (needs root, unshare and a device)"
                return
        fi
        k=0
        udev_test "$device" || k=$?
        if [ $k -eq 2 ]; then
                echo "# not checked: which RUN program udev picks (no private mount namespace)"
                return
        fi
        [ $k -eq 0 ] || fail "udevadm test: $(cat "$tmp"/udev-test.* 2>/dev/null)"

        local builtin='RUN{builtin} : kmod load$' program="RUN{program} : ${helper#"$dest"}\$"
        # udev's own 80-drivers.rules is read, between ours; the event keeps its MODALIAS and
        # nothing of our stash.
        grep -q 'Reading rules file: .*/79-modcoalesced.rules' "$tmp/udev-test.with" &&
                grep -q 'Reading rules file: /usr/lib/udev/rules.d/80-drivers.rules' "$tmp/udev-test.with" &&
                grep -q 'Reading rules file: .*/81-modcoalesced.rules' "$tmp/udev-test.with" ||
                fail "rules read: $(grep 'Reading rules file' "$tmp/udev-test.with")"
        [ "$(sed -n 's/^Reading rules file: .*\/\([0-9]*-[a-z]*\)\.rules$/\1/p' "$tmp/udev-test.with" |
                grep -E '^(79-modcoalesced|80-drivers|81-modcoalesced)$' | tr '\n' ' ')" = \
                "79-modcoalesced 80-drivers 81-modcoalesced " ] || fail "rules order: $(grep 'Reading rules' "$tmp/udev-test.with")"
        for k in with without; do
                grep -qxF "  MODALIAS=$(sed -n 's/^MODALIAS=//p' "$device/uevent")" "$tmp/udev-test.$k" ||
                        fail "$k the socket, ${device#/sys}'s properties: $(sed -n '/^Properties:/,$p' "$tmp/udev-test.$k")"
                ! grep -q '^  MODCOALESCED=' "$tmp/udev-test.$k" || fail "the marker is stored: $(grep MODCOALESCED "$tmp/udev-test.$k")"
        done
        grep -q "$builtin" "$tmp/udev-test.without" && ! grep -q "$program" "$tmp/udev-test.without" ||
                fail "without the socket: $(grep RUN "$tmp/udev-test.without")"
        grep -q "$program" "$tmp/udev-test.with" && ! grep -q "$builtin" "$tmp/udev-test.with" ||
                fail "with the socket: $(grep RUN "$tmp/udev-test.with")"
        ok "udevadm test ${device#/sys} (MODALIAS of $(sed -n 's/^MODALIAS=//p' "$device/uevent" | wc -c) bytes): kmod builtin without the socket, the helper with it; udev's 80-drivers.rules in place, MODALIAS kept whole"
}

# A device with a MODALIAS, and a CPU: its MODALIAS (every feature bit) is longer than the
# 512 bytes that udev's substitutions take.
rule_devices() {
        local u
        for u in /sys/bus/*/devices/*/uevent; do
                if grep -q '^MODALIAS=' "$u" && ! grep -q '^DEVNAME=' "$u"; then
                        dirname "$(readlink -f "$u")"
                        break
                fi
        done
        ! grep -qs '^MODALIAS=' /sys/devices/system/cpu/cpu0/uevent || echo /sys/devices/system/cpu/cpu0
}

if [ -n "$rule" ]; then
        check_rule_file
        devices=$(rule_devices)
        [ -n "$devices" ] || echo "# not checked: which RUN program udev picks (no device with a MODALIAS)"
        for d in $devices; do
                check_rule_choice "$d"
        done
else
        echo "# no udev rules installed (-Dudev-rules=false): not checked"
fi

# The kernel's modprobe: set by a unit that runs the installed shim, never by a sysctl.d drop-in
# (initrd generators copy drop-ins without the programs they name), absent with
# -Dkernel-modprobe=false.
! grep -rqs '^[[:space:]]*kernel[./]modprobe' "$dest" --include='*.conf' ||
        fail "a drop-in sets kernel.modprobe: $(grep -rl 'kernel[./]modprobe' "$dest" --include='*.conf')"
kmod_unit=$(find "$dest" -path '*/systemd/system/modcoalesced-kernel-modprobe.service' -type f)
if [ -n "$kmod_unit" ]; then
        shim_path=$(find_one libexec/modcoalesced-modprobe)
        shim_path=${shim_path#"$dest"}
        grep -qx "ExecStart=$shim_path --claim" "$kmod_unit" &&
                grep -qx "ExecStop=$shim_path --release" "$kmod_unit" &&
                grep -qx "ConditionFileIsExecutable=$shim_path" "$kmod_unit" ||
                fail "the unit does not run the installed shim: $(grep -E '^(Exec|Condition)' "$kmod_unit")"
        grep -qx "BindsTo=modcoalesced.socket" "$kmod_unit" || fail "not bound to the socket"
        grep -qx "Also=modcoalesced-kernel-modprobe.service" "$socket" ||
                fail "enabling the socket does not enable the kernel's modprobe"
        if ! systemd-analyze verify --man=no --root="$dest" "$kmod_unit" >"$tmp/verify.log" 2>&1 ||
                [ -s "$tmp/verify.log" ]; then
                fail "systemd-analyze verify: $(cat "$tmp/verify.log")"
        fi
        ok "modcoalesced-kernel-modprobe.service: runs $shim_path --claim/--release where it exists, bound to the socket; no drop-in sets kernel.modprobe"
else
        grep -q '^Also=' "$socket" && fail "the socket names a unit that is not installed"
        ok "no kernel.modprobe unit (-Dkernel-modprobe=false), and no drop-in sets kernel.modprobe"
fi

# modprobe@.service's drop-in (-Dmodprobe-units=false leaves it out): the unit's ExecStart=
# replaced by the installed shim's -abq %i, failures still ignored, after our socket.
dropin=$(find "$dest" -path '*/systemd/system/modprobe@.service.d/modcoalesced.conf' -type f)
if [ -n "$dropin" ]; then
        shim_path=$(find_one libexec/modcoalesced-modprobe)
        [ "$(grep -c '^ExecStart=' "$dropin")" = 2 ] && grep -qx 'ExecStart=' "$dropin" &&
                grep -qx "ExecStart=-${shim_path#"$dest"} -abq %i" "$dropin" &&
                grep -qx 'After=modcoalesced.socket' "$dropin" ||
                fail "modprobe@ drop-in: $(grep -v '^#' "$dropin")"
        ok "modprobe@.service drop-in: ExecStart=-${shim_path#"$dest"} -abq %i, after the socket"
        mlconf=$(find "$dest" -path '*/systemd/system/systemd-modules-load.service.d/modcoalesced.conf' -type f)
        ctl_path=$(find_one bin/modcoalescectl)
        [ -n "$mlconf" ] && [ "$(grep -c '^ExecStart=' "$mlconf")" = 2 ] && grep -qx 'ExecStart=' "$mlconf" &&
                grep -qx "ExecStart=${ctl_path#"$dest"} modules-load" "$mlconf" &&
                grep -qx 'After=modcoalesced.socket' "$mlconf" ||
                fail "systemd-modules-load drop-in: $(grep -v '^#' "$mlconf" 2>/dev/null)"
        ok "systemd-modules-load.service drop-in: ExecStart=${ctl_path#"$dest"} modules-load, after the socket"
fi

# The initrd: dracut's module and initramfs-tools' hook and scripts (-Dinitramfs=), valid shell,
# naming the installed programs, with the prerequisites that order them (init-top and
# init-bottom: none, so they run before udev's by name; the hook: after udev's, whose rule copy
# it overrides).
initrd_files=$(find "$dest" -path '*/dracut/modules.d/90modcoalesced/module-setup.sh' \
        -o -path '*/initramfs-tools/*/modcoalesced' | sort)
for f in $initrd_files; do
        [ -x "$f" ] || fail "$f is not executable"
        ! grep -n '@[a-z_]*@' "$f" || fail "unsubstituted variable in $f"
        case "$f" in
        *module-setup.sh) bash -n "$f" || fail "bash -n $f" ;;
        *) sh -n "$f" || fail "sh -n $f" ;;
        esac
        grep -q "${daemon#"$dest"}" "$f" || fail "$f does not name ${daemon#"$dest"}"
done
for f in $(printf '%s\n' $initrd_files | grep initramfs-tools); do
        want=
        case "$f" in */hooks/*) want=udev ;; esac
        [ "$("$f" prereqs)" = "$want" ] || fail "$f prereqs: '$("$f" prereqs)', not '$want'"
done
echo "# initrd files: $(printf '%s\n' $initrd_files | sed "s|^$dest||" | tr '\n' ' ')"
ok "initrd: $(printf '%s\n' $initrd_files | grep -c .) files (dracut module, initramfs-tools hook and scripts), valid, naming the installed daemon"

# Man pages: installed, named by the units' Documentation=, and clean for groff -ww.
for doc in $(sed -n 's/^Documentation=//p' "$socket" "$service"); do
        case "$doc" in
        man:*)
                page=${doc#man:}
                name=${page%(*} section=${page#*(}
                section=${section%)}
                find_one "man/man$section/$name.$section" >/dev/null
                ;;
        esac
done
pages=$(find "$dest" -path '*/man/man*/*' -type f | sort)
[ "$(printf '%s\n' "$pages" | wc -l)" -eq 4 ] || fail "man pages installed: $pages"
if command -v groff >/dev/null; then
        for p in $pages; do
                out=$(groff -ww -man -z "$p" 2>&1) && [ -z "$out" ] || fail "groff $p: $out"
        done
        ok "man pages: installed, Documentation= resolves, groff -ww is silent"
else
        ok "man pages: installed, Documentation= resolves (groff not installed: not linted)"
fi
