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

/* The raw result of an ioctl: the return value, or -errno. */
static inline long __mkvm_ioctl(int fd, unsigned long req, unsigned long arg)
{
	long r = ioctl(fd, req, arg);

	return r < 0 ? -errno : r;
}

#endif /* MKVM_UTIL_H */
