#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# debug-kernel.sh: build, once per machine, the debug kernel of the
# "debug" rig configuration from Debian's linux-source-6.1 tarball and
# print the directory holding it.  x86_64_defconfig + kvm_guest.config +
# KASAN (inline), lockdep (PROVE_LOCKING), DEBUG_ATOMIC_SLEEP, kmemleak,
# DEBUG_LIST and UBSAN (bounds), KVM as modules; DRM, sound, USB and
# wireless off.  The cache directory (default
# /var/cache/minikvm/debug-<linux-source version>, or under ~/.cache when
# /var/cache is not writable; $MKVM_DEBUG_KERNEL_DIR overrides) holds:
#   bzImage         the kernel
#   kernelrelease   its release string (uname -r in the guest)
#   lib/modules/    its modules (INSTALL_MOD_PATH), kvm.ko, kvm_amd.ko, ...
#   src/            the built tree: KDIR for building minikvm (M=)
# The build runs in a temporary directory next to it that is renamed into
# place when complete: an interrupted build leaves no half cache, and a
# complete cache is never rebuilt (delete the directory to rebuild).
set -eu -o pipefail

tarball=/usr/src/linux-source-6.1.tar.xz
[ -r "$tarball" ] || { echo "$0: $tarball missing (apt-get install linux-source-6.1)" >&2; exit 1; }
ver=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || stat -c %Y "$tarball")

if [ -n "${MKVM_DEBUG_KERNEL_DIR:-}" ]; then
	dir=$MKVM_DEBUG_KERNEL_DIR
elif mkdir -p /var/cache/minikvm 2>/dev/null && [ -w /var/cache/minikvm ]; then
	dir=/var/cache/minikvm/debug-$ver
else
	dir=${XDG_CACHE_HOME:-$HOME/.cache}/minikvm/debug-$ver
fi
dir=$(realpath -m "$dir")

if [ -f "$dir/bzImage" ]; then
	echo "$dir"
	exit 0
fi

parent=$(dirname "$dir")
mkdir -p "$parent"
# One build at a time per cache directory; a second caller waits for it.
exec 9>"$dir.lock"
flock 9
if [ -f "$dir/bzImage" ]; then
	echo "$dir"
	exit 0
fi

# Leftovers of an interrupted build.
rm -rf "$dir.tmp."*
tmp=$(mktemp -d "$dir.tmp.XXXXXX")
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT
t0=$SECONDS

echo "debug-kernel: building $tarball ($ver) in $tmp" >&2
tar -xJf "$tarball" -C "$tmp"
mv "$tmp/linux-source-6.1" "$tmp/src"
cd "$tmp/src"

cat >"$tmp/debug.config" <<'EOF'
CONFIG_LOCALVERSION="-mkvm-debug"
# CONFIG_LOCALVERSION_AUTO is not set
# The checkers
CONFIG_KASAN=y
CONFIG_KASAN_GENERIC=y
CONFIG_KASAN_INLINE=y
CONFIG_PROVE_LOCKING=y
CONFIG_DEBUG_ATOMIC_SLEEP=y
CONFIG_DEBUG_LIST=y
CONFIG_UBSAN=y
CONFIG_UBSAN_BOUNDS=y
# CONFIG_UBSAN_TRAP is not set
CONFIG_DEBUG_FS=y
CONFIG_DEBUG_KMEMLEAK=y
CONFIG_DEBUG_KMEMLEAK_MEM_POOL_SIZE=40000
# CONFIG_DEBUG_KMEMLEAK_DEFAULT_OFF is not set
# Scans only when the rig asks (before the tests and after the unload).
# CONFIG_DEBUG_KMEMLEAK_AUTO_SCAN is not set
# CONFIG_DEBUG_KMEMLEAK_TEST is not set
# The reference: KVM as modules
CONFIG_VIRTUALIZATION=y
CONFIG_KVM=m
CONFIG_KVM_AMD=m
CONFIG_KVM_INTEL=m
# CONFIG_KVM_WERROR is not set
# What the rig needs
CONFIG_MODULES=y
CONFIG_MODULE_UNLOAD=y
# CONFIG_MODVERSIONS is not set
# CONFIG_MODULE_SIG is not set
CONFIG_SERIAL_8250=y
CONFIG_SERIAL_8250_CONSOLE=y
CONFIG_BLK_DEV_INITRD=y
CONFIG_RD_GZIP=y
CONFIG_DEVTMPFS=y
CONFIG_TMPFS=y
CONFIG_ACPI=y
CONFIG_HOTPLUG_CPU=y
CONFIG_SMP=y
CONFIG_NET=y
CONFIG_MAGIC_SYSRQ=y
CONFIG_DEBUG_INFO_NONE=y
# CONFIG_DEBUG_INFO_BTF is not set
# Large subsystems the rig does not use
# CONFIG_DRM is not set
# CONFIG_SOUND is not set
# CONFIG_USB_SUPPORT is not set
# CONFIG_WLAN is not set
# CONFIG_WIRELESS is not set
# CONFIG_CFG80211 is not set
# CONFIG_MAC80211 is not set
# CONFIG_BT is not set
# CONFIG_NFS_FS is not set
# CONFIG_AGP is not set
# CONFIG_FB is not set
# CONFIG_MEDIA_SUPPORT is not set
# CONFIG_INPUT_JOYSTICK is not set
# CONFIG_INPUT_TABLET is not set
# CONFIG_INPUT_TOUCHSCREEN is not set
# CONFIG_HAMRADIO is not set
# CONFIG_NETFILTER is not set
# CONFIG_WATCHDOG is not set
# CONFIG_HID is not set
# The rig boots from an initramfs, without disks or network cards, and
# minikvm needs netlink only: no block drivers, disk filesystems or IP.
# CONFIG_NETDEVICES is not set
# CONFIG_ATA is not set
# CONFIG_SCSI is not set
# CONFIG_MD is not set
# CONFIG_EXT4_FS is not set
# CONFIG_ISO9660_FS is not set
# CONFIG_AUTOFS4_FS is not set
# CONFIG_AUTOFS_FS is not set
# CONFIG_QUOTA is not set
# CONFIG_INET is not set
# CONFIG_SECURITY_SELINUX is not set
# CONFIG_AUDIT is not set
# CONFIG_9P_FS is not set
# CONFIG_NET_9P is not set
# CONFIG_VIRTIO_NET is not set
# CONFIG_VIRTIO_BLK is not set
# CONFIG_NETWORK_FILESYSTEMS is not set
EOF

make -s x86_64_defconfig
make -s kvm_guest.config
scripts/kconfig/merge_config.sh -m .config "$tmp/debug.config" >/dev/null
make -s olddefconfig
# Every option we asked for must have survived olddefconfig.
bad=0
while IFS= read -r line; do
	case $line in
	CONFIG_*=*)
		grep -qxF "$line" .config ;;
	"# CONFIG_"*" is not set")
		opt=${line#\# }; opt=${opt%% *}
		! grep -qE "^$opt=[ym]" .config ;;
	*) continue ;;
	esac || { echo "debug-kernel: not applied: $line" >&2; bad=1; }
done <"$tmp/debug.config"
[ $bad = 0 ]

make -j"$(nproc)" -s bzImage modules
make -s INSTALL_MOD_PATH="$tmp" modules_install
krel=$(make -s kernelrelease)
# The build/source links point into $tmp: point them at src/ relatively.
rm -f "$tmp/lib/modules/$krel/build" "$tmp/lib/modules/$krel/source"
ln -s ../../../src "$tmp/lib/modules/$krel/build"
cp arch/x86/boot/bzImage "$tmp/bzImage"
echo "$krel" >"$tmp/kernelrelease"
cd /

mv "$tmp" "$dir"
trap - EXIT
echo "debug-kernel: built $krel in $((SECONDS - t0)) s" >&2
echo "$dir"
