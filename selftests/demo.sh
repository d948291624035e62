#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make demo: boot the SVM test VM (QEMU TCG, Debian's 6.1 kernel), load
# minikvm and show it working: a raw guest, then Linux with vmctl list
# beside it.  Takes about a minute.
set -u
cd "$(dirname "$0")/.."
B=$PWD/build
. selftests/lib.sh

mkvm_install_deps || exit 1
kver=$(mkvm_kernel 6.1)
[ -n "$kver" ] || { echo "demo: Debian's 6.1 kernel is not installed" >&2; exit 1; }
make -s tools examples selftests GUEST_KERNEL=/boot/vmlinuz-$kver && mkvm_build_module "$kver" && mkvm_make_initramfs demo "$kver" ||
	{ echo "demo: build failed" >&2; exit 1; }

echo "Booting the SVM test VM (QEMU, kernel $kver)..."
: >"$B/demo.log"
bash selftests/rig/boot.sh --vmm qemu-svm --kernel "/boot/vmlinuz-$kver" \
	--initrd "$B/demo.cpio.gz" --log "$B/demo.log" --timeout 300 \
	--append "mkvm.mode=demo" &
boot=$!
tail -n +1 -f --pid=$boot "$B/demo.log" | tr -d '\r' |
	sed -n '/^MKVM-MODE/,/^MKVM-RIG-DONE/{/^MKVM-/d;p}'
wait $boot || { echo "demo: the test VM failed (log: $B/demo.log)" >&2; exit 1; }
grep -q '^MKVM-RIG-DONE failed=0' "$B/demo.log"
