// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_GET_CLOCK and KVM_SET_CLOCK: the VM's clock, in nanoseconds.
 *
 * minikvm has no kvmclock yet (no MSR_KVM_SYSTEM_TIME_NEW, no pvclock
 * page), so no guest reads this clock; it is KVM's kvmclock base as
 * userspace sees it without a stable TSC (api.rst, KVM_CLOCK_TSC_STABLE
 * clear): the host's CLOCK_BOOTTIME since the VM was created plus an
 * offset that KVM_SET_CLOCK sets.  KVM_CLOCK_TSC_STABLE is never
 * reported, as nothing derives the clock from the TSC.
 *
 * KVM_GET_CLOCK also reports the host's real time and TSC of the same
 * instant (KVM_CLOCK_REALTIME, KVM_CLOCK_HOST_TSC), and KVM_SET_CLOCK
 * with KVM_CLOCK_REALTIME advances the clock by the real time elapsed
 * since @realtime (never backwards), as KVM 6.1 does for migration.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/irqflags.h>
#include <linux/kvm.h>
#include <linux/ktime.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <asm/msr.h>

#include "minikvm.h"

/* What KVM_SET_CLOCK accepts: any flag KVM's KVM_GET_CLOCK returns. */
#define MKVM_CLOCK_VALID_FLAGS	(KVM_CLOCK_TSC_STABLE | KVM_CLOCK_REALTIME | \
				 KVM_CLOCK_HOST_TSC)

/*
 * The boot time and the real time of one instant, and the TSC then: one
 * timekeeper read between two TSC reads, with interrupts off, and the
 * TSC taken half-way.
 */
static void mkvm_clock_sample(u64 *boot_ns, u64 *real_ns, u64 *tsc)
{
	unsigned long flags;
	ktime_t mono;
	u64 t0, t1;

	local_irq_save(flags);
	t0 = rdtsc_ordered();
	mono = ktime_get();
	t1 = rdtsc_ordered();
	local_irq_restore(flags);
	*boot_ns = ktime_to_ns(ktime_mono_to_any(mono, TK_OFFS_BOOT));
	*real_ns = ktime_to_ns(ktime_mono_to_real(mono));
	*tsc = t0 + (t1 - t0) / 2;
}

/* The VM's clock at host boot time @boot_ns. */
static u64 mkvm_clock_at(struct mkvm_vm *vm, u64 boot_ns)
{
	return boot_ns - vm->created_ns + READ_ONCE(vm->clock_offset);
}

int mkvm_get_clock(struct mkvm_vm *vm, void __user *argp)
{
	struct kvm_clock_data data = {};
	u64 boot_ns;

	mkvm_clock_sample(&boot_ns, &data.realtime, &data.host_tsc);
	data.clock = mkvm_clock_at(vm, boot_ns);
	data.flags = MKVM_CLOCK_FLAGS;
	return copy_to_user(argp, &data, sizeof(data)) ? -EFAULT : 0;
}

int mkvm_set_clock(struct mkvm_vm *vm, void __user *argp)
{
	struct kvm_clock_data data;
	u64 boot_ns, real_ns, tsc;

	if (copy_from_user(&data, argp, sizeof(data)))
		return -EFAULT;
	if (data.flags & ~MKVM_CLOCK_VALID_FLAGS)
		return -EINVAL;
	mkvm_clock_sample(&boot_ns, &real_ns, &tsc);
	if ((data.flags & KVM_CLOCK_REALTIME) && real_ns > data.realtime)
		data.clock += real_ns - data.realtime;
	WRITE_ONCE(vm->clock_offset, data.clock - (boot_ns - vm->created_ns));
	return 0;
}
