#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The module's style and static checks: checkpatch.pl --strict (from
# Debian's linux-source-6.1 tarball) on every source file, and a W=1,
# sparse (C=1) build against each kernel given.  Any message fails.
#
# The first kernel also gets a W=1 C=1 build with MKVM_COSTS=1, the cost
# counting of `make bench` (kmod/cost.h), which no test otherwise builds,
# and MKVM_CHECKS=1, the rig's self-checks (kmod/svm_clean.h).
#
# Usage: selftests/lint.sh KVER...
set -u
cd "$(dirname "$0")/.."
B=$PWD/build
rc=0

if [ ! -f "$B/checkpatch/scripts/checkpatch.pl" ]; then
	mkdir -p "$B/checkpatch"
	tar -xf "$(ls /usr/src/linux-source-6.1.tar.* | head -n 1)" -C "$B/checkpatch" \
		--strip-components=1 --wildcards \
		'linux-source-6.1/scripts/checkpatch.pl' \
		'linux-source-6.1/scripts/spelling.txt' \
		'linux-source-6.1/scripts/const_structs.checkpatch' || exit 1
fi

# LINUX_VERSION_CODE: compat.h needs it (out of tree); CAMELCASE: the
# kernel's own MTRR names.
files=$(ls kmod/*.[ch] include/uapi/linux/*.h 2>/dev/null | grep -v "\.mod\.c$")
if ! perl "$B/checkpatch/scripts/checkpatch.pl" --strict --no-tree --quiet \
	--ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG,LINUX_VERSION_CODE,CAMELCASE \
	-f $files; then
	rc=1
fi

# build KVER LABEL [MAKE ARGS]: a W=1 C=1 build in its own directory.
build() {
	local k=$1 label=$2 d=$B/lint-$1$2 out
	shift 2
	rm -rf "$d"; mkdir -p "$d"
	cp -a Kbuild kmod include "$d/"
	out=$(make -s -C "/usr/src/linux-headers-$k" M="$d" W=1 C=1 "$@" modules 2>&1 |
		grep -v "Skipping BTF generation")
	if [ -n "$out" ] || [ ! -f "$d/kmod/minikvm.ko" ]; then
		echo "$k$label: W=1 C=1 build is not clean:"
		echo "$out"
		rc=1
	fi
}

for k in "$@"; do
	build "$k" ""
done
[ $# -gt 0 ] && build "$1" -costs MKVM_COSTS=1 MKVM_CHECKS=1
exit $rc
