#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mkinitrd.sh OUT [KVER]: the small Linux guest's initramfs, gzipped cpio,
# from Debian's static busybox (busybox-static) and examples/linux/init,
# with KVER's virtio modules (/lib/modules/KVER) for vmrun's disk and
# entropy device.
set -eu -o pipefail
out=$1
kver=${2:-}
busybox=$(command -v busybox) ||
	{ echo "$0: no busybox: apt-get install busybox-static" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/dev" "$tmp/proc" "$tmp/sys" "$tmp/tmp"
cp "$busybox" "$tmp/bin/busybox"
for a in $("$busybox" --list); do
	[ "$a" = busybox ] || ln -s busybox "$tmp/bin/$a"
done
install -m 0755 "$(dirname "$0")/init" "$tmp/init"
# virtio-mmio, virtio-blk and virtio-rng, where the kernel has them as modules.
mkdir -p "$tmp/lib/modules"
if [ -n "$kver" ] && [ -d "/lib/modules/$kver/kernel" ]; then
	for m in virtio_ring virtio virtio_mmio virtio_blk virtio-rng; do
		f=$(find "/lib/modules/$kver/kernel/drivers" -name "$m.ko" | head -n 1)
		[ -n "$f" ] && cp "$f" "$tmp/lib/modules/"
	done
fi
(cd "$tmp" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
	gzip -9 >"$out.tmp"
mv "$out.tmp" "$out"
