#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mkinitrd.sh OUT [KVER]: the small Linux guest's initramfs, gzipped cpio,
# from Debian's static busybox (busybox-static) and examples/linux/init,
# with KVER's modules (/lib/modules/KVER) for vmrun's disk, entropy
# device, pvpanic and an ext4 root.
# mkinitrd.sh --ext4 OUT: the same tree without modules as a 16M ext4
# image (mke2fs -d, no root privileges needed), a root file system for
# vmrun.root=/dev/vda; /etc/vmrun-root tells the init it is there.
set -eu -o pipefail
ext4=false
if [ "${1:-}" = --ext4 ]; then
	ext4=true
	shift
fi
out=$1
kver=${2:-}
busybox=$(command -v busybox) ||
	{ echo "$0: no busybox: apt-get install busybox-static" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/dev" "$tmp/proc" "$tmp/sys" "$tmp/tmp" "$tmp/etc"
cp "$busybox" "$tmp/bin/busybox"
for a in $("$busybox" --list); do
	[ "$a" = busybox ] || ln -s busybox "$tmp/bin/$a"
done
install -m 0755 "$(dirname "$0")/init" "$tmp/init"
if $ext4; then
	echo "the example guest's root file system (mkinitrd.sh --ext4)" \
		>"$tmp/etc/vmrun-root"
	rm -f "$out.tmp"
	truncate -s 16M "$out.tmp"
	mke2fs -q -F -t ext4 -L vmrun-root -d "$tmp" "$out.tmp"
	mv "$out.tmp" "$out"
	exit 0
fi
# The modules, where the kernel has them as modules, dependencies first.
mkdir -p "$tmp/lib/modules"
if [ -n "$kver" ] && [ -d "/lib/modules/$kver/kernel" ]; then
	for m in virtio_ring virtio virtio_mmio virtio_blk virtio-rng pvpanic \
		 pvpanic-mmio crc16 crc32c_generic mbcache jbd2 ext4; do
		f=$(find "/lib/modules/$kver/kernel" -name "$m.ko" | head -n 1)
		[ -n "$f" ] && cp "$f" "$tmp/lib/modules/"
	done
fi
(cd "$tmp" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
	gzip -9 >"$out.tmp"
mv "$out.tmp" "$out"
