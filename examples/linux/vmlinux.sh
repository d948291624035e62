#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# vmlinux.sh BZIMAGE: write to standard output the vmlinux ELF file that
# a bzImage carries, for vmrun's format = vmlinux.  The setup header says
# where the compressed kernel is (payload_offset at 0x248 and
# payload_length at 0x24c, from the end of the setup sectors, whose count
# less one is at 0x1f1); its magic says how it is compressed: gzip, xz,
# zstd, lzma, bzip2 or lz4, each decompressed by its usual tool.  Exits
# non-zero, with a message, when the tool or the image fails.
set -eu -o pipefail
img=$1
u8() { od -An -tu1 -j "$1" -N 1 "$img" | tr -d ' '; }
u32() { od -An -tu4 -j "$1" -N 4 "$img" | tr -d ' '; }
[ "$(od -An -c -j 0x202 -N 4 "$img" | tr -d ' ')" = HdrS ] ||
	{ echo "$0: $img: not a bzImage (no HdrS)" >&2; exit 1; }
sects=$(u8 $((0x1f1)))
[ "$sects" = 0 ] && sects=4
start=$(( (sects + 1) * 512 + $(u32 $((0x248))) ))
len=$(u32 $((0x24c)))
magic=$(od -An -tx1 -j "$start" -N 6 "$img" | tr -d ' ')
case $magic in
1f8b*)		cmd="gzip -dc" ;;
fd377a585a00)	cmd="xz -dc" ;;
28b52ffd*)	cmd="zstd -qdc" ;;
5d00*)		cmd="xz -dc --format=lzma" ;;
425a68*)	cmd="bzip2 -dc" ;;
02214c18*)	cmd="lz4 -dc" ;;
*)	echo "$0: $img: payload with unknown magic $magic" >&2; exit 1 ;;
esac
# But for gzip's, the kernel build appends the decompressed size (4
# bytes) to the stream, which the tools would take for trailing garbage.
[ "$cmd" = "gzip -dc" ] || len=$((len - 4))
dd if="$img" bs=64K iflag=skip_bytes,count_bytes skip="$start" count="$len" \
	status=none | $cmd
