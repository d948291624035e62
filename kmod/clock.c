// SPDX-License-Identifier: GPL-2.0
/*
 * The VM's clock, in nanoseconds, and kvmclock, through which the guest
 * reads it.
 *
 * KVM_GET_CLOCK and KVM_SET_CLOCK: KVM's kvmclock base as userspace sees
 * it without a stable TSC (api.rst, KVM_CLOCK_TSC_STABLE clear): the
 * host's CLOCK_BOOTTIME since the VM was created plus an offset that
 * KVM_SET_CLOCK sets.  KVM_CLOCK_TSC_STABLE is never reported.
 *
 * KVM_GET_CLOCK also reports the host's real time and TSC of the same
 * instant (KVM_CLOCK_REALTIME, KVM_CLOCK_HOST_TSC), and KVM_SET_CLOCK
 * with KVM_CLOCK_REALTIME advances the clock by the real time elapsed
 * since @realtime (never backwards), as KVM 6.1 does for migration.
 *
 * kvmclock (Documentation/virt/kvm/x86/msr.rst): the guest names a
 * guest-physical address in MSR_KVM_SYSTEM_TIME(_NEW), bit 0 set, and
 * minikvm writes there a pvclock_vcpu_time_info: the clock and the
 * guest's TSC at one instant, and the TSC's rate, from which the guest
 * computes the clock at any later TSC.  It is rewritten before the next
 * entry (MKVM_REQ_CLOCK_UPDATE) when the guest enables it and when the
 * guest's TSC or KVM_SET_CLOCK moves; the host's TSC is taken to be the
 * same on every CPU (the kernel's TSC clocksource needs that too).
 * PVCLOCK_TSC_STABLE_BIT is never set: each vCPU's page is sampled at
 * its own instant, so the guest keeps its readings monotonic across
 * vCPUs itself.  MSR_KVM_WALL_CLOCK(_NEW) names where to write the real
 * time at which the clock was 0.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/irqflags.h>
#include <linux/kvm.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <asm/msr.h>
#include <asm/pvclock-abi.h>
#include <asm/tsc.h>

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
	mkvm_kick_all(vm, MKVM_REQ_CLOCK_UPDATE);
	return 0;
}

/*
 * The rate of the guest's TSC (the host's, unscaled) as kvmclock wants
 * it: nanoseconds = ((ticks << shift, or >> -shift) * mul) >> 32, with
 * mul / 2^32 in [1/2, 1).
 */
static void mkvm_kvmclock_scale(u32 khz, s8 *shift, u32 *mul)
{
	u64 num = NSEC_PER_SEC, den = (u64)khz * 1000;
	int s = 0;

	/* NSEC_PER_SEC / Hz = num / den * 2^s, num / den to [1/2, 1). */
	while (den <= num) {
		den <<= 1;
		s++;
	}
	while (num * 2 < den) {
		num <<= 1;
		s--;
	}
	*shift = s;
	*mul = mul_u64_u64_div_u64(num, 1ULL << 32, den);
}

/* Write the version word of a kvmclock structure alone. */
static int mkvm_kvmclock_version(struct mkvm_vm *vm, u64 gpa, u32 version)
{
	return mkvm_write_guest(vm, gpa, &version, sizeof(version));
}

/*
 * MKVM_REQ_CLOCK_UPDATE, before an entry (the vCPU's thread, may
 * fault): the guest reads a structure whose version is odd as "being
 * written" and retries, so the version goes odd, then the data, then
 * even.  A page that is gone or read-only, or a structure that crosses
 * a page, is not written, as in KVM.
 */
void mkvm_kvmclock_update(struct mkvm_vcpu *vcpu)
{
	struct pvclock_vcpu_time_info t = {};
	struct mkvm_vm *vm = vcpu->vm;
	u64 gpa = vcpu->kvmclock_msr & ~1ULL, boot_ns, real_ns, tsc;
	u32 version = vcpu->kvmclock_version | 1;
	int idx;

	if (!(vcpu->kvmclock_msr & 1) || !tsc_khz ||
	    offset_in_page(gpa) + sizeof(t) > PAGE_SIZE)
		return;
	mkvm_clock_sample(&boot_ns, &real_ns, &tsc);
	t.tsc_timestamp = tsc + mkvm_ops->get_tsc_offset(vcpu);
	t.system_time = mkvm_clock_at(vm, boot_ns);
	mkvm_kvmclock_scale(tsc_khz, &t.tsc_shift, &t.tsc_to_system_mul);

	idx = srcu_read_lock(&vm->srcu);
	if (!mkvm_kvmclock_version(vm, gpa, version)) {
		/* The odd version is seen before the data ... */
		smp_wmb();
		t.version = version;
		mkvm_write_guest(vm, gpa, &t, sizeof(t));
		/* ... and the data before the even one. */
		smp_wmb();
		mkvm_kvmclock_version(vm, gpa, ++version);
		vcpu->kvmclock_version = version;
	}
	srcu_read_unlock(&vm->srcu, idx);
}

/*
 * MSR_KVM_WALL_CLOCK(_NEW): the real time when the VM's clock read 0, at
 * @gpa, as a pvclock_wall_clock (version odd while it is written).  Its
 * version starts from what the guest left there.
 */
void mkvm_kvmclock_write_wall(struct mkvm_vcpu *vcpu, u64 gpa)
{
	struct pvclock_wall_clock w;
	struct mkvm_vm *vm = vcpu->vm;
	u64 boot_ns, real_ns, tsc, wall;
	u32 rem;
	int idx;

	mkvm_clock_sample(&boot_ns, &real_ns, &tsc);
	wall = real_ns - mkvm_clock_at(vm, boot_ns);
	idx = srcu_read_lock(&vm->srcu);
	if (!mkvm_read_guest(vm, gpa, &w.version, sizeof(w.version))) {
		w.version = (w.version + 1) | 1;
		mkvm_kvmclock_version(vm, gpa, w.version);
		/* Odd version, then the data, then even: as above. */
		smp_wmb();
		w.sec = div_u64_rem(wall, NSEC_PER_SEC, &rem);
		w.nsec = rem;
		mkvm_write_guest(vm, gpa, &w, sizeof(w));
		/* The data before the even version. */
		smp_wmb();
		mkvm_kvmclock_version(vm, gpa, ++w.version);
	}
	srcu_read_unlock(&vm->srcu, idx);
}
