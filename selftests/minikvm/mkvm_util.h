/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the minikvm selftests.
 *
 * Every test runs against the device named by $MKVM_DEV (default
 * /dev/minikvm), so the same binary checks minikvm and, with
 * MKVM_DEV=/dev/kvm, the KVM reference.  $MKVM_MODULE names the module
 * that an open device fd pins (minikvm, kvm_amd or kvm_intel).
 */
#ifndef MKVM_UTIL_H
#define MKVM_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <linux/kvm.h>

static inline const char *mkvm_dev(void)
{
	const char *dev = getenv("MKVM_DEV");

	return dev && *dev ? dev : "/dev/minikvm";
}

/* True when the device under test is KVM itself. */
static inline bool mkvm_is_kvm(void)
{
	return strcmp(mkvm_dev(), "/dev/kvm") == 0;
}

/*
 * True in the rig's Bochs test VM (guest-run.sh sets $MKVM_RIG_VMM).
 * Bochs 2.7 never turns the host's timer interrupt into the VM exit that
 * external-interrupt exiting asks for while a nested guest runs with
 * RFLAGS.IF clear: the test VM stops for good, on kvm_intel as on
 * minikvm.  Tests that spin such a guest skip there (testing.rst).
 */
static inline bool mkvm_on_bochs(void)
{
	const char *vmm = getenv("MKVM_RIG_VMM");

	return vmm && strcmp(vmm, "bochs") == 0;
}

/*
 * True where the test VM's host is too slow for a 200 us periodic timer
 * (KVM's shortest PIT and LAPIC period): under Bochs, and on the debug
 * kernel (guest-run.sh sets $MKVM_RIG_DEBUG), where KASAN and lockdep
 * under QEMU's TCG make one timer interrupt plus the work it queues
 * cost about that much.  The emulated host then spends all its time in
 * the timer and the vCPU makes no progress, on kvm_amd as on minikvm.
 */
/* True in the rig's debug-kernel test VM (KASAN, lockdep, kmemleak). */
static inline bool mkvm_debug_host(void)
{
	const char *dbg = getenv("MKVM_RIG_DEBUG");

	return dbg && strcmp(dbg, "1") == 0;
}

static inline bool mkvm_slow_host(void)
{
	return mkvm_on_bochs() || mkvm_debug_host();
}

/*
 * How much of its stress loops (VMs in turn, processes killed, seconds of
 * churn or fuzzing) a test runs: @n scaled by $MKVM_STRESS_PCT percent
 * (default 100), at least 1.  The rig lowers it under Bochs, where one
 * second of guest time takes about half a minute (testing.rst).
 */
static inline unsigned long mkvm_stress(unsigned long n)
{
	const char *s = getenv("MKVM_STRESS_PCT");
	unsigned long pct = s && *s ? strtoul(s, NULL, 0) : 100;

	n = n * pct / 100;
	return n ? n : 1;
}

/* The raw result of an ioctl: the return value, or -errno. */
static inline long __mkvm_ioctl(int fd, unsigned long req, unsigned long arg)
{
	long r = ioctl(fd, req, arg);

	return r < 0 ? -errno : r;
}

/*
 * Load kvm.ko from $MKVM_KVM_KO (the rig loads its dependencies first)
 * or unload it: 0 or -errno.  minikvm refuses to create VMs while it is
 * loaded (api.rst, "Exclusion with KVM").
 */
static inline int mkvm_load_kvm_ko(void)
{
	const char *ko = getenv("MKVM_KVM_KO");
	int fd, r;

	if (!ko)
		return -ENOENT;
	fd = open(ko, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = syscall(SYS_finit_module, fd, "", 0);
	r = r ? -errno : 0;
	close(fd);
	return r;
}

static inline int mkvm_unload_kvm_ko(void)
{
	return syscall(SYS_delete_module, "kvm", O_NONBLOCK) ? -errno : 0;
}

#endif /* MKVM_UTIL_H */
