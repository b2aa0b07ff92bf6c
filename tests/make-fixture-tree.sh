#!/usr/bin/env bash
# make-fixture-tree.sh OUT [KVER] — builds the test modules in tests/modules against KVER's
# headers (default: $MODCOALESCED_KVER, which tools/dev sets, else the newest
# /lib/modules/*/build) and lays out a module tree under OUT:
#
#   OUT/root/lib/modules/KVER/   the tree, indexed by depmod (pass it as the module dir)
#   OUT/modprobe.d/              blacklist, options, softdep and install fixtures
#   OUT/extra/mc_late.ko         a module kept out of the tree, for index-change tests
#   OUT/kver                     the kernel release used
#
# Compression mirrors what distributions ship: xz (Debian, Fedora), zstd (Arch, openSUSE) and
# plain, with the kernel's own xz settings (CRC32, 1 MiB dictionary).
set -euo pipefail

out=$1
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/modules" && pwd)
kver=${2:-${MODCOALESCED_KVER:-}}
if [ -z "$kver" ]; then
        for d in /lib/modules/*/build; do
                [ -e "$d/Makefile" ] && kver=$(basename "$(dirname "$d")")
        done
fi
[ -n "$kver" ] || { echo "make-fixture-tree: no kernel headers in /lib/modules/*/build" >&2; exit 1; }

mkdir -p "$out/build" "$out/modprobe.d" "$out/extra"
cp "$src"/Kbuild "$src"/*.c "$out/build/"
make -s -C "/lib/modules/$kver/build" M="$out/build" modules -j"$(nproc)" >"$out/build.log" 2>&1 ||
        { cat "$out/build.log" >&2; exit 1; }

tree="$out/root/lib/modules/$kver"
mkdir -p "$tree/kernel/mctest"
: >"$tree/modules.builtin"
: >"$tree/modules.builtin.modinfo"
: >"$tree/modules.order"

for m in "$out"/build/mc_*.ko; do
        name=$(basename "$m" .ko)
        case "$name" in
        mc_late) cp "$m" "$out/extra/" ;;
        mc_a | mc_user1 | mc_slow | mc_soft)
                xz --check=crc32 --lzma2=dict=1MiB -c "$m" >"$tree/kernel/mctest/$name.ko.xz" ;;
        mc_b | mc_user2 | mc_fail)
                zstd -q -c "$m" >"$tree/kernel/mctest/$name.ko.zst" ;;
        *) cp "$m" "$tree/kernel/mctest/" ;;
        esac
done

cat >"$out/modprobe.d/mctest.conf" <<'CONF'
# Fixtures for the resolver tests: each line is one modprobe.d feature.
blacklist mc_black
options mc_c level=3
softdep mc_a pre: mc_soft post: mc_post
install mc_inst /bin/echo installing mc_inst $CMDLINE_OPTS
# A CPU's MODALIAS with two matches: features of the CPU, loaded side by side.
alias cpu:type:mctest* mc_user1
alias cpu:type:mctest* mc_user2
CONF

depmod -b "$out/root" "$kver"
echo "$kver" >"$out/kver"
