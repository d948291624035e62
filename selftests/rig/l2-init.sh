#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the guest that QEMU boots inside the test VM (qemu-payload.sh).
# Prints "MKVM-L2 up nproc=N kernel=KVER clocksource=NAME", runs the
# command that mkvm.l2cmd= gives on the kernel command line (commas for
# spaces), prints "MKVM-L2 done rc=N" and powers off (QEMU exits 0 then).
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
cs=/sys/devices/system/clocksource/clocksource0/current_clocksource
echo "MKVM-L2 up nproc=$(nproc) kernel=$(uname -r) clocksource=$(cat $cs)"
cmd=$(sed -n 's/.*mkvm\.l2cmd=\([^ ]*\).*/\1/p' /proc/cmdline | tr , ' ')
rc=0
if [ -n "$cmd" ]; then
	sh -c "$cmd"
	rc=$?
fi
echo "MKVM-L2 done rc=$rc"
poweroff -f
