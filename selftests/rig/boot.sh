#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# boot.sh --vmm qemu-svm|qemu-nosvm|bochs-vmx --kernel VMLINUZ --initrd FILE
#         --log FILE --timeout SECONDS [--append "ARGS"] [--smp N] [--mem MiB]
#
# Boot the rig's initramfs in an emulated machine and write what the guest
# prints on COM1 to --log.
#   qemu-svm    QEMU TCG, -cpu max: SVM with NPT (kvm_amd works)
#   qemu-nosvm  QEMU TCG, a CPU with neither SVM nor VMX
#   bochs-vmx   Bochs corei7_skylake_x: VMX with EPT, VPID, unrestricted guest
#               (booted from an isolinux ISO; one CPU unless --smp says)
# Exit status: 0 the guest powered off by itself, 124 timeout (emulator
# killed), 3 the guest kernel panicked or rebooted, 2 usage error,
# anything else: the emulator failed.  --mem: the QEMU machine's memory
# (default 1024 MiB).
set -eu

usage() {
	echo "usage: $0 --vmm qemu-svm|qemu-nosvm|bochs-vmx --kernel VMLINUZ" \
		"--initrd FILE --log FILE --timeout SECONDS [--append ARGS] [--smp N] [--mem MiB]" >&2
	exit 2
}

vmm='' kernel='' initrd='' log='' timeout='' append='' smp= mem=1024
while [ $# -gt 0 ]; do
	[ $# -ge 2 ] || usage
	case $1 in
	--vmm)     vmm=$2 ;;
	--kernel)  kernel=$2 ;;
	--initrd)  initrd=$2 ;;
	--log)     log=$2 ;;
	--timeout) timeout=$2 ;;
	--append)  append=$2 ;;
	--smp)     smp=$2 ;;
	--mem)     mem=$2 ;;
	*) usage ;;
	esac
	shift 2
done
for v in "$vmm" "$kernel" "$initrd" "$log"; do [ -n "$v" ] || usage; done
case $timeout in '' | *[!0-9]*) usage ;; esac
case $mem in '' | *[!0-9]*) usage ;; esac
for f in "$kernel" "$initrd"; do
	[ -r "$f" ] || { echo "$0: cannot read $f" >&2; exit 2; }
done

# 115200 baud: Bochs emulates the line speed, and at the default 9600 the
# last few KiB written to the console before a panic were lost.
cmdline="console=ttyS0,115200 panic=-1 oops=panic quiet${append:+ $append}"
log=$(realpath -m "$log")
: >"$log"

tmp=$(mktemp -d)
pid=
cleanup() {
	[ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Start QEMU in the background; sets $pid. Not -nographic: with it,
# SeaBIOS mirrors video mode switches to COM1 as escape sequences that
# end up in front of the guest's first line.
start_qemu() {
	qemu-system-x86_64 -M q35 -cpu "$1" -accel tcg,thread=single \
		-m "${mem}M" -smp "${smp:-2}" -display none -no-reboot \
		-monitor none -serial "file:$log" -net none \
		-kernel "$kernel" -initrd "$initrd" -append "$cmdline" \
		</dev/null >"$tmp/qemu.out" 2>&1 &
	pid=$!
}

# Build an isolinux ISO holding the kernel and initramfs, then start Bochs
# in the background on it; sets $pid.
start_bochs() {
	local iso=$tmp/iso
	mkdir -p "$iso/isolinux"
	cp /usr/lib/ISOLINUX/isolinux.bin \
		/usr/lib/syslinux/modules/bios/ldlinux.c32 "$iso/isolinux/"
	cp "$kernel" "$iso/vmlinuz"
	cp "$initrd" "$iso/initrd"
	# Boot at once. cryptomgr.notests saves ~15 s of crypto self-tests.
	cat >"$iso/isolinux/isolinux.cfg" <<-EOF
	DEFAULT mkvm
	PROMPT 0
	TIMEOUT 0
	LABEL mkvm
	  KERNEL /vmlinuz
	  INITRD /initrd
	  APPEND $cmdline cryptomgr.notests
	EOF
	genisoimage -quiet -o "$tmp/boot.iso" -b isolinux/isolinux.bin \
		-c isolinux/boot.cat -no-emul-boot -boot-load-size 4 \
		-boot-info-table -R "$iso"

	# sync=none: emulated time follows the instruction count, so the
	# guest sees the same timing whatever the host load. The ips value
	# hardly matters for boot time (4M..1G measured the same); a low one
	# keeps busy-waits (printk on the UART at 9600 baud) cheap.
	cat >"$tmp/bochsrc" <<-EOF
	plugin_ctrl: speaker=0, parallel=0, gameport=0
	display_library: rfb, options="timeout=0"
	cpu: model=corei7_skylake_x, count=${smp:-1}, ips=50000000, reset_on_triple_fault=1
	memory: guest=1024, host=1024
	romimage: file=/usr/share/bochs/BIOS-bochs-latest, options=fastboot
	vgaromimage: file=/usr/share/vgabios/vgabios.bin
	pci: enabled=1, chipset=i440fx
	ata0-master: type=cdrom, path="$tmp/boot.iso", status=inserted
	boot: cdrom
	com1: enabled=1, mode=file, dev="$log"
	sound: driver=dummy
	mouse: enabled=0
	clock: sync=none, time0=local
	log: $tmp/bochs.log
	panic: action=fatal
	error: action=report
	info: action=report
	debug: action=ignore
	EOF
	# Bochs starts in its debugger: continue, and quit when it stops.
	printf 'c\nquit\n' | bochs -q -f "$tmp/bochsrc" >"$tmp/bochs.out" 2>&1 &
	pid=$!
}

case $vmm in
qemu-svm)   start_qemu max ;;
# "max,-svm" alone also drops CPUID leaves 0x80000002-0x8000000a in QEMU 7.2
# (no brand string, no address sizes) and, with la57, user space breaks.
qemu-nosvm) start_qemu max,-svm,-vmx,xlevel=0x8000000a ;;
bochs-vmx)  start_bochs ;;
*) usage ;;
esac

# Wait for the emulator to exit, the deadline to pass, or a guest panic
# (under Bochs a panicking guest reboots forever, under QEMU it exits).
# The test VM's own messages only, at the start of a line: a nested
# guest's panic quoted by guest-run.sh ("#kst [...] Kernel panic") is a
# test result, not the end of the test VM.
panic='^(\[[ 0-9.]*\] )?(Kernel panic - not syncing|reboot: Restarting system)'
start=$SECONDS
while kill -0 "$pid" 2>/dev/null; do
	if [ $((SECONDS - start)) -ge "$timeout" ]; then
		kill -TERM "$pid" 2>/dev/null || true
		sleep 2
		echo "boot.sh: timeout after ${timeout}s, $vmm killed" >&2
		exit 124
	fi
	if grep -aqE "$panic" "$log"; then
		sleep 2	# let the rest of the panic message arrive
		break
	fi
	sleep 1
done
rc=0
if kill -0 "$pid" 2>/dev/null; then
	kill -TERM "$pid" 2>/dev/null || true
else
	wait "$pid" || rc=$?
fi
pid=
elapsed=$((SECONDS - start))

if grep -aqE "$panic" "$log"; then
	echo "boot.sh: guest kernel panicked or rebooted after ${elapsed}s" >&2
	exit 3
fi
# Bochs treats the guest's ACPI power-off as a "panic" and exits with 1.
if [ "$vmm" = bochs-vmx ] && [ "$rc" -eq 1 ] &&
	grep -q 'ACPI control: soft power off' "$tmp/bochs.out"; then
	rc=0
fi
if [ "$rc" -ne 0 ]; then
	echo "boot.sh: $vmm failed (status $rc) after ${elapsed}s:" >&2
	tail -n 20 "$tmp"/*.out "$tmp"/*.log 2>/dev/null >&2 || true
	exit "$rc"
fi
echo "boot.sh: $vmm powered off after ${elapsed}s" >&2
