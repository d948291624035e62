#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the test rig's initramfs (busybox sh, PID 1).
#
# Runs /mkvm/run.sh from the payload, then prints the kernel log written
# since boot finished and powers off. The harness reads from the console:
#   MKVM-BOOT dmesg_lines=N kernel=KVER
#   ... output of run.sh ...
#   ===MKVM-DMESG-BEGIN===
#   ... kernel log after line N ...
#   ===MKVM-DMESG-END===
#   MKVM-DONE rc=STATUS
# Kernel command line options (mkvm.suite=...) are left in /proc/cmdline.
#
# No "set -e": PID 1 must never exit (the kernel would panic).
set -u

export PATH=/bin:/sbin:/usr/bin:/usr/sbin
export HOME=/tmp

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# Terminals for the tests that drive vmrun's console over a pty.
mkdir -p /dev/pts
mount -t devpts -o ptmxmode=0666 devpts /dev/pts
mount -t tmpfs tmpfs /tmp
# The kernel may have started us without a console (no /dev/console
# before devtmpfs): reopen it now. A failed "exec" redirection would
# end this shell, hence the test.
[ -c /dev/console ] && exec </dev/console >/dev/console 2>&1

# The kernel log up to here is boot noise (Bochs triggers an xstate WARNING).
n=$(dmesg | wc -l)
n=${n:-0}
echo "MKVM-BOOT dmesg_lines=$n kernel=$(uname -r)"

cd /mkvm 2>/dev/null || cd /
if [ -f /mkvm/run.sh ]; then
	sh /mkvm/run.sh
	rc=$?
else
	echo "MKVM-ERROR: /mkvm/run.sh missing from the payload"
	rc=127
fi
cd /

echo "===MKVM-DMESG-BEGIN==="
dmesg | tail -n +$((n + 1))
echo "===MKVM-DMESG-END==="
echo "MKVM-DONE rc=$rc"

# Let the UART drain (Bochs drops output still queued at power-off):
# stty sets the console with TCSADRAIN, which waits for the output queue.
stty onlcr 2>/dev/null
sleep 2
poweroff -f
# Still here: try the kernel directly (a builtin, no exec), then wait.
echo o >/proc/sysrq-trigger
while :; do sleep 60 || read -r _ </dev/console; done
