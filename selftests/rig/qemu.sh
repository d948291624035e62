#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# qemu.sh [QEMU OPTIONS...]  (in the test VM: /mkvm/qemu/qemu.sh)
#
# Debian's qemu-system-x86_64 from the payload (qemu-payload.sh) on
# /dev/kvm, booting the payload's kernel and initramfs with the console
# on the serial port (stdout) and no display, network or VGA, so that
# nothing needs dirty logging.  Extra options (-machine, -smp, -append
# additions through MKVM_L2_APPEND) follow the defaults.
d=$(cd "$(dirname "$0")" && pwd)
exec "$d/lib/ld-linux-x86-64.so.2" --library-path "$d/lib" \
	"$d/bin/qemu-system-x86_64" -L "$d/share" \
	-accel kvm -m 256 -nodefaults -no-user-config -display none \
	-vga none -nic none -serial stdio -no-reboot \
	-kernel "$d/vmlinuz" -initrd "$d/initrd.gz" \
	-append "console=ttyS0 panic=-1 ${MKVM_L2_APPEND:-}" "$@"
