/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * minikvm's additions to the KVM userspace ABI.
 *
 * /dev/minikvm speaks the ioctls and structures of <linux/kvm.h> (API
 * version 12); this header holds only what KVM does not have.  See
 * Documentation/api.rst.
 */
#ifndef _UAPI_LINUX_MINIKVM_H
#define _UAPI_LINUX_MINIKVM_H

/* The device node; KVM programs open it instead of /dev/kvm. */
#define MINIKVM_DEVICE_PATH	"/dev/minikvm"

#endif /* _UAPI_LINUX_MINIKVM_H */
