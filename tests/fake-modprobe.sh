#!/usr/bin/env bash
# fake-modprobe.sh -b -q -- MODALIAS — the helper's fallback in tests: what `modprobe -b` would
# load for MODALIAS (asked of the real modprobe on the fixture tree, dry run), "loaded" into
# the directory-backed fake kernel of $MC_FAKE_KERNEL_DIR, each module atomically, once.
set -euo pipefail
alias=${!#}
dir=$MC_FAKE_KERNEL_DIR
echo "fallback $alias" >>"$dir/calls"
modprobe -d "$MC_FIXTURE_ROOT" -S "$MC_KVER" -C "$MC_FIXTURE_CONF" -b --show-depends "$alias" |
while read -r verb path _; do
        [ "$verb" = insmod ] || continue
        name=$(basename "$path"); name=${name%%.ko*}
        echo "load $name" >>"$dir/calls"
        if (set -o noclobber; : >"$dir/live/$name") 2>/dev/null; then
                echo "loaded $name" >>"$dir/calls"
        else
                echo "eexist $name" >>"$dir/calls"
        fi
done
