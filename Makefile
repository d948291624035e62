# SPDX-License-Identifier: GPL-2.0
#
# minikvm: `make` builds the module, the tools and the selftests;
# `make check` runs the selftests in the emulated test VMs (see README.md).

# The kernel to build against: the running kernel's build directory when it
# exists, else the newest Debian linux-headers-*-amd64.
KVER ?= $(shell uname -r)
KDIR ?= $(or $(wildcard /lib/modules/$(KVER)/build), \
	$(shell ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | \
		grep -v -e cloud -e -rt- | sort -V | tail -n 1))

BUILD     := $(CURDIR)/build
KSFT_DIR  := $(BUILD)/ksft
TEST_DIR  := $(BUILD)/selftests
# Every selftests/minikvm/*_test.c is one test binary, linked with the
# shared helpers in selftests/minikvm/lib/.
TESTS     := $(notdir $(basename $(wildcard selftests/minikvm/*_test.c)))
TEST_BINS := $(addprefix $(TEST_DIR)/,$(TESTS))
TEST_LIB  := $(wildcard selftests/minikvm/lib/*.c)
TEST_HDRS := $(wildcard selftests/minikvm/*.h selftests/minikvm/lib/*.h)

CFLAGS    ?= -O2 -g
TEST_CFLAGS := $(CFLAGS) -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare -Werror -static \
	-I$(KSFT_DIR) -Iinclude/uapi

.PHONY: all module selftests tools examples kvm-selftests check bench demo lint modules_install install clean

all: module tools examples selftests

module:
	@test -n "$(KDIR)" || { echo "no kernel headers: apt-get install linux-headers-amd64" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) W=1 modules

# Userspace tools, static (the test VM has no libc): build/bin/vmrun, with
# libinih (Debian libinih-dev), and build/bin/vmctl.  Both read the
# "minikvm" generic netlink family through user/nl.c and libnl-3 (Debian
# libnl-3-dev, libnl-genl-3-dev): vmctl for everything, vmrun for --stats.
USER_CFLAGS := $(CFLAGS) -Wall -Wextra -Wno-unused-parameter -Werror -Iinclude/uapi \
	-I/usr/include/libnl3
USER_DIR  := $(BUILD)/user
VMRUN_SRC := $(filter-out user/vmctl.c,$(wildcard user/*.c))
VMRUN_OBJ := $(addprefix $(USER_DIR)/,$(notdir $(VMRUN_SRC:.c=.o)))
LIBINIH   := $(firstword $(wildcard /usr/lib/x86_64-linux-gnu/libinih.a /usr/lib/libinih.a))
LIBNL     := -lnl-genl-3 -lnl-3 -lpthread -lm

tools: $(BUILD)/bin/vmrun $(BUILD)/bin/vmctl

$(USER_DIR)/%.o: user/%.c user/vmrun.h user/nl.h include/uapi/linux/minikvm.h
	@mkdir -p $(USER_DIR)
	$(CC) $(USER_CFLAGS) -c -o $@ $<

$(BUILD)/bin/vmrun: $(VMRUN_OBJ)
	@test -n "$(LIBINIH)" || { echo "no libinih.a: apt-get install libinih-dev" >&2; exit 1; }
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -static -o $@ $^ $(LIBINIH) $(LIBNL)

$(BUILD)/bin/vmctl: $(USER_DIR)/vmctl.o $(USER_DIR)/nl.o
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -static -o $@ $^ $(LIBNL)

# The example guests (examples/*.S) and their configs, in build/examples/.
# Real-mode images are linked at 0: vmrun starts them at segment 1000.
EX_DIR    := $(BUILD)/examples
EX_CFGS   := $(addprefix $(EX_DIR)/,$(notdir $(wildcard examples/*.cfg)))
EX_IMAGES := $(addprefix $(EX_DIR)/,hello.bin hello.elf hello-real.bin \
	hello-protected.bin smp.bin loop.bin crash.bin status.bin)
EX_OBJ    := $(BUILD)/examples-obj
EX_LIB    := $(EX_OBJ)/lib64.o

# The Linux guest of examples/linux.cfg: a kernel (the running one's, or
# the newest readable /boot/vmlinuz-*; GUEST_KERNEL=FILE to choose) and a
# busybox initramfs (examples/linux/).  Left out when no kernel is readable.
GUEST_KERNEL ?= $(firstword $(wildcard /boot/vmlinuz-$(KVER)) \
	$(shell ls /boot/vmlinuz-* 2>/dev/null | sort -rV))
EX_LINUX  := $(if $(GUEST_KERNEL),$(EX_DIR)/vmlinuz $(EX_DIR)/linux-initrd.gz \
	$(EX_DIR)/vmlinux.xz $(EX_DIR)/linux-root.img)

examples: $(EX_CFGS) $(EX_IMAGES) $(EX_LINUX)

$(EX_DIR)/vmlinuz: $(GUEST_KERNEL)
	@mkdir -p $(@D)
	cp $< $@

# The same guest's files as an ext4 root for the disk (vmrun.root=).
$(EX_DIR)/linux-root.img: examples/linux/init examples/linux/mkinitrd.sh
	@mkdir -p $(@D)
	bash examples/linux/mkinitrd.sh --ext4 $@

# The same kernel as a vmlinux ELF file (format = vmlinux), compressed
# with plain LZMA2 and CRC32, which busybox's xzcat in the test VM reads.
$(EX_DIR)/vmlinux.xz: $(GUEST_KERNEL) examples/linux/vmlinux.sh
	@mkdir -p $(@D)
	bash examples/linux/vmlinux.sh $< >$@.elf
	xz -0 --check=crc32 -c $@.elf >$@.tmp
	rm -f $@.elf
	mv $@.tmp $@

$(EX_DIR)/linux-initrd.gz: examples/linux/init examples/linux/mkinitrd.sh $(GUEST_KERNEL)
	@mkdir -p $(@D)
	bash examples/linux/mkinitrd.sh $@ $(patsubst vmlinuz-%,%,$(notdir $(GUEST_KERNEL)))

$(EX_DIR)/%.cfg: examples/%.cfg
	@mkdir -p $(@D)
	cp $< $@

$(EX_OBJ)/%.o: examples/%.S $(wildcard examples/*.h)
	@mkdir -p $(@D)
	$(CC) -c -Iexamples -o $@ $<

$(EX_DIR)/hello-real.bin: EX_ADDR := 0
$(EX_DIR)/%.bin: $(EX_OBJ)/%.o $(EX_LIB)
	@mkdir -p $(@D)
	$(LD) -N --no-warn-rwx-segments -Ttext=$(or $(EX_ADDR),0x10000) -e start --oformat binary -o $@ $^

$(EX_DIR)/%.elf: $(EX_OBJ)/%.o
	@mkdir -p $(@D)
	$(LD) -N --no-warn-rwx-segments -Ttext=0x10000 -e start -o $@ $^

# The kselftest harness comes from Debian's linux-source-6.1 tarball.
$(KSFT_DIR)/kselftest_harness.h:
	@mkdir -p $(KSFT_DIR)
	tar -xf $$(ls /usr/src/linux-source-6.1.tar.* | head -n 1) -C $(KSFT_DIR) \
		--strip-components=4 --wildcards \
		'linux-source-6.1/tools/testing/selftests/kselftest.h' \
		'linux-source-6.1/tools/testing/selftests/kselftest_harness.h'
	touch $@

$(TEST_DIR)/%: selftests/minikvm/%.c $(TEST_LIB) $(TEST_HDRS) $(KSFT_DIR)/kselftest_harness.h
	@mkdir -p $(TEST_DIR)
	$(CC) $(TEST_CFLAGS) -Iselftests/minikvm -o $@ $< $(TEST_LIB)

# The benchmark builds with them, so that make check sees it compile.
selftests: $(TEST_BINS) $(BUILD)/bench/bench

# KVM's own selftests from linux-source-6.1, static, into
# build/kvm-selftests/bin (cached; make check builds them for svm-6.1).
kvm-selftests:
	bash selftests/peers/kvm-selftests-build.sh $(BUILD) selftests/peers/kvm-selftests.expect

# SUITES selects configurations, MKVM_APPEND narrows a run (see selftests/check.sh).
# Both scripts install the missing Debian packages first (libinih, libnl,
# ...), then build the tools, the examples (vmrun_test and the demo run
# build/bin/vmrun on them in the test VM) and the selftests.
check:
	bash selftests/check.sh $(SUITES)

# minikvm against KVM side by side in the SVM test VM (SUITES=vmx: Bochs);
# not part of make check (see Documentation/performance.rst).
bench:
	bash selftests/bench.sh $(SUITES)

$(BUILD)/bench/bench: selftests/bench/bench.c $(TEST_LIB) $(TEST_HDRS) $(KSFT_DIR)/kselftest_harness.h
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -Iselftests/minikvm -o $@ $< $(TEST_LIB)

demo:
	bash selftests/demo.sh

# checkpatch --strict and sparse on both supported kernels.
lint:
	bash selftests/lint.sh

modules_install: module
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules_install
	install -D -m 0644 kmod/60-minikvm.rules $(DESTDIR)/etc/udev/rules.d/60-minikvm.rules

install: modules_install

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean || true
	rm -rf $(BUILD)
