#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kvm-selftests-build.sh BUILD_DIR EXPECT_FILE
#
# Build KVM's own selftests (tools/testing/selftests/kvm, x86_64) from
# Debian's linux-source-6.1 tarball, static, unmodified, into
# BUILD_DIR/kvm-selftests/ and put the stripped binaries that EXPECT_FILE
# names (all but those expected not to build) in BUILD_DIR/kvm-selftests/bin/.
#   src/   the extracted part of the tarball: tools/ (the tests, their
#          libraries and tools/include), and what "make headers" needs to
#          generate usr/include, the uapi headers the tests build against
#   out/   the objects and binaries of the tests' own Makefile
#   bin/   what goes into the test VM
# The build is cached: with a stamp naming the tarball's version in
# place only bin/ is filled again (delete the directory to rebuild).
# Building takes about 50 s on 2 cores.
# Binaries that do not build are the expectation file's "build" lines;
# any other binary missing fails.
set -eu -o pipefail

[ $# = 2 ] || { echo "usage: $0 BUILD_DIR EXPECT_FILE" >&2; exit 2; }
dir=$(realpath -m "$1/kvm-selftests")
expect=$(realpath "$2")
tarball=/usr/src/linux-source-6.1.tar.xz
[ -r "$tarball" ] || { echo "$0: $tarball missing (apt-get install linux-source-6.1)" >&2; exit 1; }
ver=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || stat -c %Y "$tarball")

build() {
	local p=linux-source-6.1 t0=$SECONDS
	rm -rf "$dir"
	mkdir -p "$dir/src" "$dir/out"

	# The kernel's top Makefile and scripts/ for "make headers", its
	# uapi headers, and the tools tree the selftests build in.
	tar -xJf "$tarball" -C "$dir/src" --strip-components=1 --wildcards \
		"$p/Makefile" "$p/scripts/*" "$p/include/uapi/*" \
		"$p/include/asm-generic/Kbuild" "$p/arch/x86/Makefile*" \
		"$p/arch/x86/Kconfig*" "$p/arch/x86/include/uapi/*" \
		"$p/arch/x86/include/asm/*" "$p/arch/x86/entry/syscalls/*" \
		"$p/arch/x86/tools/*" "$p/arch/x86/um/*" \
		"$p/tools/include/*" "$p/tools/arch/x86/*" "$p/tools/lib/*" \
		"$p/tools/build/*" "$p/tools/scripts/*" \
		"$p/tools/testing/selftests/lib.mk" \
		"$p/tools/testing/selftests/kselftest*" \
		"$p/tools/testing/selftests/rseq/*" \
		"$p/tools/testing/selftests/kvm/*"

	# usr/include, where the selftests' Makefile looks for the uapi headers.
	make -s -C "$dir/src" ARCH=x86_64 headers
	# -k: two binaries of this tarball do not build (see EXPECT_FILE).
	make -k -s -j"$(nproc)" -C "$dir/src/tools/testing/selftests/kvm" \
		OUTPUT="$dir/out" EXTRA_CFLAGS=-static >"$dir/build.log" 2>&1 || true
	echo "$ver" >"$dir/stamp"
	echo "kvm-selftests: built in $((SECONDS - t0)) s" >&2
}

[ -f "$dir/stamp" ] && [ "$(cat "$dir/stamp")" = "$ver" ] || build
rm -rf "$dir/bin"
mkdir -p "$dir/bin"

bad=0
while read -r name amd mkvm _; do
	case $name in ''|'#'*) continue ;; esac
	f=$(find "$dir/out" -type f -name "$name" | head -n 1)
	if [ "$amd" = build ]; then
		[ -z "$f" ] || echo "$0: $name built, but $expect says it does not" >&2
		continue
	fi
	[ -n "$f" ] || { echo "$0: $name did not build (see $dir/build.log)" >&2; bad=1; continue; }
	strip -o "$dir/bin/$name" "$f"
done <"$expect"
exit $bad
