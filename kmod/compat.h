/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Differences between the kernels we support (Debian's 6.1 and 6.12).
 * Everything version-dependent lives here and nowhere else.
 */
#ifndef MINIKVM_COMPAT_H
#define MINIKVM_COMPAT_H

#include <linux/version.h>

/*
 * kvm_run.immediate_exit: since 6.10 the kernel sees it as
 * immediate_exit__unsafe (userspace may change it at any time: read it
 * once).
 */
#if KERNEL_VERSION(6, 10, 0) <= LINUX_VERSION_CODE
#define mkvm_immediate_exit(run)	READ_ONCE((run)->immediate_exit__unsafe)
#else
#define mkvm_immediate_exit(run)	READ_ONCE((run)->immediate_exit)
#endif

/* The parsed attributes of a generic netlink dump request (6.2 moved them). */
#if KERNEL_VERSION(6, 2, 0) <= LINUX_VERSION_CODE
#define mkvm_genl_dump_attrs(cb)	(genl_dumpit_info(cb)->info.attrs)
#else
#define mkvm_genl_dump_attrs(cb)	(genl_dumpit_info(cb)->attrs)
#endif

/*
 * The per-CPU "an interrupt ran since the last VM entry" flag that the
 * kernel keeps for the L1TF flush exists only when it is built with
 * KVM_INTEL (Debian's are); without it, assume host code always ran.
 */
#include <asm/hardirq.h>
#if !IS_ENABLED(CONFIG_KVM_INTEL)
static __always_inline bool kvm_get_cpu_l1tf_flush_l1d(void)
{
	return true;
}

static __always_inline void kvm_clear_cpu_l1tf_flush_l1d(void)
{
}
#endif

/* eventfd_signal() lost its count argument in 6.8. */
#if KERNEL_VERSION(6, 8, 0) <= LINUX_VERSION_CODE
#define mkvm_eventfd_signal(ctx)	eventfd_signal(ctx)
#else
#define mkvm_eventfd_signal(ctx)	eventfd_signal((ctx), 1)
#endif

#endif /* MINIKVM_COMPAT_H */
