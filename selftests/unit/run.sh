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
${CC:-gcc} -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter -Wno-sign-compare \
	-fsanitize=address,undefined -fno-sanitize-recover=all \
	-Iselftests/unit/include -Ikmod -I"$ksft" \
	-o "$out/emulate_test" selftests/unit/emulate_test.c kmod/emulate.c
"$out/emulate_test"

# vmrun's config parser (user/config.c) with libinih (libinih-dev).
${CC:-gcc} -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter -Wno-sign-compare \
	-fsanitize=address,undefined -fno-sanitize-recover=all \
	-Iuser -I"$ksft" \
	-o "$out/vmrun_config_test" selftests/unit/vmrun_config_test.c user/config.c -linih
"$out/vmrun_config_test"

# vmrun's port and MMIO buses (user/bus.c).
${CC:-gcc} -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter -Wno-sign-compare \
	-fsanitize=address,undefined -fno-sanitize-recover=all \
	-Iuser -I"$ksft" \
	-o "$out/bus_test" selftests/unit/bus_test.c user/bus.c
"$out/bus_test"

# vmrun's bzImage boot and ACPI tables (user/linux.c, user/acpi.c).
${CC:-gcc} -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter -Wno-sign-compare \
	-fsanitize=address,undefined -fno-sanitize-recover=all \
	-Iuser -I"$ksft" \
	-o "$out/linux_test" selftests/unit/linux_test.c user/linux.c user/acpi.c \
	user/config.c -linih
"$out/linux_test"

# vmrun's CMOS clock (user/dev_rtc.c) through its bus (device.c, bus.c).
${CC:-gcc} -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter -Wno-sign-compare \
	-fsanitize=address,undefined -fno-sanitize-recover=all \
	-Iuser -I"$ksft" \
	-o "$out/rtc_test" selftests/unit/rtc_test.c user/dev_rtc.c user/device.c \
	user/bus.c -lpthread
"$out/rtc_test"
