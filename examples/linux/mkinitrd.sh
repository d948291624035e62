#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mkinitrd.sh OUT: the small Linux guest's initramfs, gzipped cpio, from
# Debian's static busybox (busybox-static) and examples/linux/init.
set -eu -o pipefail
out=$1
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
(cd "$tmp" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
	gzip -9 >"$out.tmp"
mv "$out.tmp" "$out"
