#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host-side unit tests of code shared with the module: kmod/emulate.c is
# compiled with host gcc against the stand-in kernel headers in
# selftests/unit/include and linked with selftests/unit/emulate_test.c.
# Prints the kselftest TAP output; exits non-zero if a test fails.
#
# Usage: bash selftests/unit/run.sh	(from anywhere; output in build/unit/)
set -eu
cd "$(dirname "$0")/../.."
B=$PWD/build
out=$B/unit
ksft=$B/ksft

# The kselftest harness comes from Debian's linux-source-6.1 tarball, as
# for the other selftests (see the Makefile).
if [ ! -f "$ksft/kselftest_harness.h" ]; then
	mkdir -p "$ksft"
	tar -xf "$(ls /usr/src/linux-source-6.1.tar.* | head -n 1)" -C "$ksft" \
		--strip-components=4 --wildcards \
		'linux-source-6.1/tools/testing/selftests/kselftest.h' \
		'linux-source-6.1/tools/testing/selftests/kselftest_harness.h'
fi

mkdir -p "$out"
# unit NAME ARGS...: build $out/NAME from ARGS (sources, -I, libraries)
# with AddressSanitizer and UBSan, and run it.
unit() {
	local name=$1
	shift
	${CC:-gcc} -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter -Wno-sign-compare \
		-fsanitize=address,undefined -fno-sanitize-recover=all \
		-I"$ksft" -o "$out/$name" "$@"
	"$out/$name"
}

unit emulate_test -Iselftests/unit/include -Ikmod \
	selftests/unit/emulate_test.c kmod/emulate.c

# vmrun's config parser (user/config.c) with libinih (libinih-dev).
unit vmrun_config_test -Iuser selftests/unit/vmrun_config_test.c user/config.c -linih

# vmrun's port and MMIO buses (user/bus.c).
unit bus_test -Iuser selftests/unit/bus_test.c user/bus.c

# vmrun's bzImage boot and ACPI tables (user/linux.c, user/acpi.c).
unit linux_test -Iuser selftests/unit/linux_test.c user/linux.c user/acpi.c \
	user/platform.c user/elf.c \
	user/config.c -linih

# vmrun's CMOS clock (user/dev_rtc.c) through its bus (device.c, bus.c).
unit rtc_test -Iuser selftests/unit/rtc_test.c user/dev_rtc.c user/device.c \
	user/bus.c -lpthread

# The guest side of every device model, fuzzed (user/dev_*.c, virtio.c
# through device.c's bus dispatch).
unit device_fuzz_test -Iuser selftests/unit/device_fuzz_test.c \
	user/dev_uart.c user/dev_pm.c user/dev_rtc.c user/dev_exit.c \
	user/dev_pvpanic.c \
	user/virtio.c user/dev_virtio_blk.c user/dev_virtio_rng.c \
	user/platform.c user/device.c user/bus.c user/config.c -linih -lpthread
