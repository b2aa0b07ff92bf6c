#!/bin/sh
# mc-vm-request.sh — inside an initrd built by `tools/vm initrd` (test only, never shipped): makes
# the kernel call request_module() while the initrd runs, by mounting a filesystem whose module is
# not loaded (`mount -t xfs` finds no xfs and asks for "fs-xfs"), and records what came of it in
# /run/mc-vm/initrd-request, which the root's run.sh reads (/run survives switch_root in both
# generators). POSIX sh with klibc's tools: initramfs-tools runs it as scripts/init-premount, dracut
# from mc-vm-request.service.
case "${1:-}" in
prereqs) exit 0 ;;
esac
mkdir -p /run/mc-vm/mnt
read -r before </proc/sys/kernel/modprobe
before_state=absent
[ -e /sys/module/xfs/initstate ] && read -r before_state </sys/module/xfs/initstate
mount -t xfs /dev/null /run/mc-vm/mnt >/dev/null 2>&1
state=absent
[ -e /sys/module/xfs/initstate ] && read -r state </sys/module/xfs/initstate
echo "xfs_before=$before_state xfs=$state kernel_modprobe=$before" >/run/mc-vm/initrd-request
rmdir /run/mc-vm/mnt 2>/dev/null
exit 0
