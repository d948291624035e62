#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# qemu-payload.sh --kver KVER --out DIR
#
# Put what the test VM needs to run Debian's QEMU on /dev/kvm under DIR
# (the payload's qemu/, /mkvm/qemu in the test VM):
#   bin/qemu-system-x86_64 and lib/ (its shared libraries and the
#   dynamic loader: qemu.sh runs it through lib/ld-linux-x86-64.so.2),
#   share/ (SeaBIOS and the option ROMs -kernel needs: -L share),
#   vmlinuz (the host's /boot/vmlinuz-KVER, which the test VM boots too)
#   and initrd.gz (busybox, and an /init that prints "MKVM-L2 up", the
#   CPU count and the kernel, runs what mkvm.l2cmd= on its command line
#   says, and powers off; /virtio.sh and the kernel's virtio-pci and
#   virtio-blk modules for the virtio boot), qemu.sh (the command line,
#   see there).
set -eu -o pipefail

usage() {
	echo "usage: $0 --kver KVER --out DIR" >&2
	exit 2
}

kver='' out=''
while [ $# -gt 0 ]; do
	case $1 in
	--kver) [ $# -ge 2 ] || usage; kver=$2; shift 2 ;;
	--out)  [ $# -ge 2 ] || usage; out=$2; shift 2 ;;
	*) usage ;;
	esac
done
[ -n "$kver" ] && [ -n "$out" ] || usage
qemu=$(command -v qemu-system-x86_64) ||
	{ echo "$0: qemu-system-x86_64 is not installed" >&2; exit 1; }
[ -r "/boot/vmlinuz-$kver" ] || { echo "$0: no /boot/vmlinuz-$kver" >&2; exit 1; }
rig=$(cd "$(dirname "$0")" && pwd)

rm -rf "$out"
mkdir -p "$out/bin" "$out/lib" "$out/share"
cp "$qemu" "$out/bin/"
ldd "$qemu" | awk '/=> \// { print $3 } /^\t\/.*ld-linux/ { print $1 }' |
	while read -r lib; do cp -L "$lib" "$out/lib/"; done
[ -e "$out/lib/ld-linux-x86-64.so.2" ] ||
	{ echo "$0: no dynamic loader among $qemu's libraries" >&2; exit 1; }
# SeaBIOS (the pc and q35 machines' 256 KiB image), -kernel's option ROM,
# the standard VGA's BIOS (the vga boot).
for f in /usr/share/seabios/bios-256k.bin /usr/share/qemu/linuxboot_dma.bin \
	 /usr/share/qemu/kvmvapic.bin /usr/share/seabios/vgabios-stdvga.bin; do
	cp -L "$f" "$out/share/"
done
cp "/boot/vmlinuz-$kver" "$out/vmlinuz"
install -m 0755 "$rig/qemu.sh" "$out/qemu.sh"

# The nested guest's initramfs: busybox, l2-init.sh, l2-virtio.sh and
# the modules it loads (uncompressed in Debian's kernel packages).
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
busybox=$(command -v busybox)
mkdir -p "$tmp/bin" "$tmp/dev" "$tmp/proc" "$tmp/sys" "$tmp/lib/modules"
cp "$busybox" "$tmp/bin/busybox"
for a in sh cat echo grep nproc poweroff sed uname mount insmod sleep dd \
	 printf; do
	ln -s busybox "$tmp/bin/$a"
done
install -m 0755 "$rig/l2-init.sh" "$tmp/init"
install -m 0755 "$rig/l2-virtio.sh" "$tmp/virtio.sh"
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev \
	 virtio_pci virtio_blk; do
	f=$(find "/lib/modules/$kver/kernel/drivers" -name "$m.ko" | head -n 1)
	[ -n "$f" ] || { echo "$0: no $m.ko for $kver" >&2; exit 1; }
	cp "$f" "$tmp/lib/modules/"
done
(cd "$tmp" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
	gzip -9 >"$out/initrd.gz"
