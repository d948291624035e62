#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mkinitramfs.sh --kver KVER --payload DIR --out FILE [--moddir DIR]
#
# Build the test rig's initramfs (gzip-compressed newc cpio):
#   /bin/busybox + one symlink per applet, /init (init.sh),
#   /dev /proc /sys /tmp, the payload DIR copied to /mkvm/,
#   kvm_amd, kvm_intel and their dependencies for KVER, decompressed, under
#   /lib/modules/KVER/ (same relative paths as on the host, ending in .ko),
#   taken from /lib/modules/KVER or, with --moddir, from DIR/KVER (e.g. the
#   lib/modules of a kernel installed with INSTALL_MOD_PATH),
#   /mkvm/kvm_amd.order, /mkvm/kvm_intel.order: in-guest .ko paths in insmod
#   order (dependencies first), /mkvm/kvm.path: in-guest path of kvm.ko.
# The output is reproducible: fixed owners and mtimes, sorted entries.
set -eu -o pipefail

usage() {
	echo "usage: $0 --kver KVER --payload DIR --out FILE [--moddir DIR]" >&2
	exit 2
}

kver='' payload='' out='' moddir=/lib/modules
while [ $# -gt 0 ]; do
	case $1 in
	--kver)    [ $# -ge 2 ] || usage; kver=$2; shift 2 ;;
	--payload) [ $# -ge 2 ] || usage; payload=$2; shift 2 ;;
	--out)     [ $# -ge 2 ] || usage; out=$2; shift 2 ;;
	--moddir)  [ $# -ge 2 ] || usage; moddir=$2; shift 2 ;;
	*) usage ;;
	esac
done
for v in "$kver" "$payload" "$out"; do [ -n "$v" ] || usage; done
[ -d "$payload" ] || { echo "$0: payload $payload is not a directory" >&2; exit 1; }
[ -d "$moddir/$kver" ] || { echo "$0: no $moddir/$kver" >&2; exit 1; }
moddir=$(realpath "$moddir")

rig=$(cd "$(dirname "$0")" && pwd)
busybox=$(command -v busybox)
out=$(realpath -m "$out")

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# modinfo -b wants the root above lib/modules.
modroot=/
if [ "$moddir" != /lib/modules ]; then
	modroot=$tmp/modroot
	mkdir -p "$modroot/lib"
	ln -s "$moddir" "$modroot/lib/modules"
fi
root=$tmp/root
mkdir -p "$root/bin" "$root/dev" "$root/proc" "$root/sys" "$root/tmp" \
	"$root/mkvm" "$root/lib/modules/$kver"

# busybox and its applets (bin/sh, sbin/insmod, usr/bin/env, ...).
cp "$busybox" "$root/bin/busybox"
"$busybox" --list-full | while read -r applet; do
	[ "$applet" = bin/busybox ] && continue
	mkdir -p "$root/$(dirname "$applet")"
	ln -sf /bin/busybox "$root/$applet"
done
install -m 0755 "$rig/init.sh" "$root/init"
cp -R "$payload/." "$root/mkvm/"

# Print the in-guest .ko path of module $1 and of all its dependencies,
# dependencies first; copy each module (decompressed) into the image.
# Duplicates are removed by the caller, keeping the first occurrence.
add_module() {
	local dep src dst
	for dep in $(modinfo -b "$modroot" -k "$kver" -F depends "$1" | tr ',' ' '); do
		add_module "$dep"
	done
	src=$(modinfo -b "$modroot" -k "$kver" -n "$1")
	dst=/lib/modules/$kver/${src#*/modules/"$kver"/}
	dst=${dst%.xz}
	dst=${dst%.zst}
	dst=${dst%.gz}
	if [ ! -e "$root$dst" ]; then
		mkdir -p "$root$(dirname "$dst")"
		case $src in
		*.xz)  xz -dc "$src" >"$root$dst" ;;
		*.zst) zstd -qdc "$src" >"$root$dst" ;;
		*.gz)  gzip -dc "$src" >"$root$dst" ;;
		*)     cp "$src" "$root$dst" ;;
		esac
	fi
	echo "$dst"
}

for mod in kvm_amd kvm_intel; do
	add_module "$mod" >"$tmp/$mod.all"
	awk '!seen[$0]++' "$tmp/$mod.all" >"$root/mkvm/$mod.order"
done
add_module kvm >"$tmp/kvm.all"
tail -n 1 "$tmp/kvm.all" >"$root/mkvm/kvm.path"

# Reproducible archive: fixed mtimes and owners, sorted names, no gzip name/time.
find "$root" -exec touch -h -d "@${SOURCE_DATE_EPOCH:-0}" {} +
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
	cpio --quiet -o -H newc -R 0:0 --reproducible) | gzip -n -9 >"$out.tmp"
mv "$out.tmp" "$out"
