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

# build_modules DIR: kbuild of the test modules in DIR.
build_modules() {
        cp "$src"/Kbuild "$src"/*.c "$1/"
        make -s -C "/lib/modules/$kver/build" M="$1" modules -j"$(nproc)" >"$1/build.log" 2>&1 ||
                { cat "$1/build.log" >&2; return 1; }
}

# Kbuild is most of a tree's cost and every test program makes its own tree: with
# $MC_FIXTURE_CACHE (tests/meson.build sets it in the build directory) the modules are built once
# per sources, kernel release and headers, under a lock, and copied from there.
cache=${MC_FIXTURE_CACHE:-}
if [ -n "$cache" ]; then
        hdr=/lib/modules/$kver/build
        key=$({
                echo "$kver"
                cat "$src"/*
                cat "$hdr/Makefile" "$hdr/Module.symvers" 2>/dev/null || true
        } | sha256sum | cut -c1-16)
        mkdir -p "$cache"
        (
                flock 9
                if [ ! -d "$cache/$key" ]; then
                        rm -rf "$cache/$key.tmp"
                        mkdir "$cache/$key.tmp"
                        build_modules "$cache/$key.tmp"
                        mv "$cache/$key.tmp" "$cache/$key"
                fi
        ) 9>"$cache/lock"
        cp "$cache/$key"/mc_*.ko "$out/build/"
else
        build_modules "$out/build"
fi

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
