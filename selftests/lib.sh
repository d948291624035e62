# SPDX-License-Identifier: GPL-2.0
# Sourced by check.sh and demo.sh: what the build and the rig need from
# Debian, where the test kernels are, and how a rig payload is built.
# Expects $B (the build directory) and the repository as the cwd.

# Debian packages (the 6.12 kernel is added by mkvm_install_deps); the
# last line builds the debug kernel (selftests/rig/debug-kernel.sh).
MKVM_PACKAGES="build-essential linux-image-amd64 linux-headers-amd64
	linux-source-6.1 qemu-system-x86 bochs bochsbios vgabios bochs-x
	isolinux syslinux-common genisoimage busybox-static cpio xz-utils e2fsprogs
	kmod sparse perl libinih-dev libnl-3-dev libnl-genl-3-dev pkg-config
	flex bison bc libelf-dev libssl-dev"

# The newest installed Debian kernel of a series (6.1 or 6.12) that has
# both its image and its headers: prints e.g. 6.1.0-56-amd64.
mkvm_kernel() { # series
	local v
	for v in $(ls /boot | sed -n "s/^vmlinuz-\($1[.-].*-amd64\)$/\1/p" | sort -rV); do
		[ -d "/usr/src/linux-headers-$v" ] && [ -d "/lib/modules/$v/kernel" ] &&
			{ echo "$v"; return; }
	done
}

# The newest 6.12 kernel packages Debian offers (bookworm-backports or
# the security/proposed updates carry them as versioned names).
mkvm_612_packages() {
	local v
	v=$(apt-cache search --names-only '^linux-image-6\.12\.[0-9]+\+deb12-amd64-unsigned$' 2>/dev/null |
		sed -n 's/^linux-image-\(6\.12\.[0-9]*+deb12-amd64\)-unsigned .*/\1/p' | sort -V | tail -n 1)
	[ -n "$v" ] && echo "linux-image-$v-unsigned linux-headers-$v"
}

mkvm_missing_packages() {
	local p
	for p in $MKVM_PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
			echo "$p"
	done
	[ -n "$(mkvm_kernel 6.12)" ] || echo "6.12-kernel"
}

# Install what is missing when root on Debian/Ubuntu; else say exactly what
# to run.  Returns non-zero if something is still missing.
mkvm_install_deps() {
	local missing
	missing=$(mkvm_missing_packages)
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "# installing: $(echo $missing)"
		apt-get update -qq >/dev/null || return 1
		missing=$(echo $missing | sed "s/6.12-kernel/$(mkvm_612_packages)/")
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends $missing >/dev/null || return 1
		missing=$(mkvm_missing_packages)
		[ -z "$missing" ] && return 0
	fi
	echo "missing packages; run as root:" >&2
	echo "  apt-get update && apt-get install --no-install-recommends" \
		"$(echo $missing | sed 's/6.12-kernel/linux-image-6.12.*+deb12-amd64-unsigned linux-headers-6.12.*+deb12-amd64/')" >&2
	return 1
}

# Build minikvm.ko for one kernel in its own copy of the sources, against
# its Debian headers or the given kernel tree; $MKVM_KMOD is the module.
# Each build variant (MKVM_COSTS, MKVM_CHECKS) has its own directory, so
# that the modules of `make bench` and `make check` are never mixed up
# (the tools and selftests in build/ are still shared).
mkvm_build_module() { # kver [kdir]
	local d=$B/kmod-$1${MKVM_COSTS:+-costs}${MKVM_CHECKS:+-checks}
	MKVM_KMOD=$d/kmod/minikvm.ko
	mkdir -p "$d/kmod"
	# Sources only: objects of an in-tree `make module` are another
	# kernel's, and would be linked into this one's module.
	cp -a Kbuild include "$d/"
	find kmod -maxdepth 1 -type f ! -name '*.mod.c' \( -name '*.[chS]' \
		-o -name '*.inc' -o -name Kbuild -o -name '*.rules' \) \
		-exec cp -a {} "$d/kmod/" \;
	make -s -C "${2:-/usr/src/linux-headers-$1}" M="$d" W=1 \
		${MKVM_COSTS:+MKVM_COSTS=$MKVM_COSTS} \
		${MKVM_CHECKS:+MKVM_CHECKS=$MKVM_CHECKS} modules 2>&1 |
		grep -v "Skipping BTF generation" >&2
	[ -f "$d/kmod/minikvm.ko" ]
}

# The initramfs for one rig run: the module mkvm_build_module() built last
# ($MKVM_KMOD), selftests and guest script; KVM's
# modules from /lib/modules or the given directory (see mkinitramfs.sh).
# With $MKVM_KST_BIN set, KVM's selftests from there go to
# /mkvm/kvm-selftests/, and the list $MKVM_KST_OFF of those not to run
# ("<device> <binary>" lines) to /mkvm/kvm-selftests.off; with
# $MKVM_BENCH, that benchmark binary to /mkvm/bench (make bench).
mkvm_make_initramfs() { # name kver [moddir]
	local p=$B/payload-$1
	rm -rf "$p"; mkdir -p "$p"
	cp "$MKVM_KMOD" "$B"/selftests/*_test "$p/" &&
	cp selftests/guest-run.sh "$p/run.sh" &&
	# The tools (build/bin) and example guests (build/examples), for the
	# tests that run them: /mkvm/bin, /mkvm/examples in the guest.
	{ [ ! -d "$B/bin" ] || cp -a "$B/bin" "$p/bin"; } &&
	{ [ ! -d "$B/examples" ] || cp -a "$B/examples" "$p/examples"; } &&
	{ [ -z "${MKVM_KST_BIN:-}" ] || cp -a "$MKVM_KST_BIN" "$p/kvm-selftests"; } &&
	{ [ -z "${MKVM_KST_OFF:-}" ] || cp "$MKVM_KST_OFF" "$p/kvm-selftests.off"; } &&
	{ [ -z "${MKVM_QEMU:-}" ] || cp -a "$MKVM_QEMU" "$p/qemu"; } &&
	{ [ -z "${MKVM_BENCH:-}" ] || cp "$MKVM_BENCH" "$p/bench"; } &&
	bash selftests/rig/mkinitramfs.sh --kver "$2" --payload "$p" \
		--out "$B/$1.cpio.gz" ${3:+--moddir "$3"} >"$B/$1.mkinitramfs.log" 2>&1
}
