// SPDX-License-Identifier: GPL-2.0
/*
 * User-return MSRs: MSRs whose host value only userspace needs (TSC_AUX
 * for RDTSCP/RDPID, and on VMX the SYSCALL MSRs, which VM entry and exit
 * do not switch).  A guest's value is written when it enters on a CPU
 * whose MSR holds something else, and stays there while the vCPU thread
 * runs in the kernel, exit after exit; the host's comes back when the
 * CPU next returns to userspace (a user-return notifier, which the
 * kernel fires for whichever task returns first), or when minikvm
 * switches the CPU off (CPU offline, last VM gone, module unload).  So
 * an exit handled in the kernel costs no MSR write at all, and a round
 * trip through userspace two per MSR whose values differ.
 *
 * The host's values are the CPU's own (its number and node in TSC_AUX,
 * the kernel's entry points in LSTAR...): read once per CPU at the first
 * guest value, kept until the CPU is switched off.  The kernel never
 * reads these MSRs while in kernel mode (since 5.10 its paranoid entry
 * finds the per-CPU base with LSL, not RDPID; KVM relies on the same).
 *
 * Everything here runs on the CPU whose state it changes: mkvm_uret_set()
 * with preemption off, the notifier with interrupts off, mkvm_uret_drop()
 * from the CPU's hotplug teardown or the IPI that switches it off (last
 * VM gone, module unload, reboot).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/percpu.h>
#include <linux/user-return-notifier.h>
#include <asm/msr.h>

#include "minikvm.h"

static const u32 mkvm_uret_index[MKVM_URET_NR] = {
	[MKVM_URET_TSC_AUX]	= MSR_TSC_AUX,
	[MKVM_URET_STAR]	= MSR_STAR,
	[MKVM_URET_LSTAR]	= MSR_LSTAR,
	[MKVM_URET_CSTAR]	= MSR_CSTAR,
	[MKVM_URET_SFMASK]	= MSR_SYSCALL_MASK,
};

struct mkvm_uret_cpu {
	struct user_return_notifier urn;
	bool registered;		/* urn is on this CPU's list */
	unsigned long known;		/* bits: host[] read */
	unsigned long guest;		/* bits: curr[] is not host[] */
	u64 host[MKVM_URET_NR];
	u64 curr[MKVM_URET_NR];		/* what the MSR holds, if known */
};

static DEFINE_PER_CPU(struct mkvm_uret_cpu, mkvm_uret_cpu);

/* Put the host's values back; interrupts off or on the CPU's own. */
static void mkvm_uret_restore(struct mkvm_uret_cpu *u)
{
	unsigned int m;

	for_each_set_bit(m, &u->guest, MKVM_URET_NR) {
		mkvm_wrmsrl(mkvm_uret_index[m], u->host[m]);
		u->curr[m] = u->host[m];
	}
	u->guest = 0;
	if (u->registered) {
		user_return_notifier_unregister(&u->urn);
		u->registered = false;
	}
}

static void mkvm_uret_on_user_return(struct user_return_notifier *urn)
{
	struct mkvm_uret_cpu *u = container_of(urn, struct mkvm_uret_cpu, urn);
	unsigned long flags;

	local_irq_save(flags);
	mkvm_uret_restore(u);
	local_irq_restore(flags);
}

/* Preemption off: the MSR holds @val until this CPU returns to userspace. */
void mkvm_uret_set(enum mkvm_uret_msr m, u64 val)
{
	struct mkvm_uret_cpu *u = this_cpu_ptr(&mkvm_uret_cpu);

	if (!(u->known & BIT(m))) {
		mkvm_rdmsrl(mkvm_uret_index[m], u->host[m]);
		u->curr[m] = u->host[m];
		u->known |= BIT(m);
	}
	if (u->curr[m] == val)
		return;
	/* msr.c checked the value; if the CPU refuses it anyway, keep. */
	mkvm_cost(MKVM_COST_WRMSR);
	if (wrmsrl_safe(mkvm_uret_index[m], val))
		return;
	u->curr[m] = val;
	if (val == u->host[m])
		u->guest &= ~BIT(m);
	else
		u->guest |= BIT(m);
	if (!u->registered) {
		u->urn.on_user_return = mkvm_uret_on_user_return;
		user_return_notifier_register(&u->urn);
		u->registered = true;
	}
}

/*
 * The calling CPU is switched off: the host's values back, no notifier
 * left pointing into the module, the host's values read again next time.
 */
void mkvm_uret_drop(void)
{
	struct mkvm_uret_cpu *u;
	unsigned long flags;

	local_irq_save(flags);
	u = this_cpu_ptr(&mkvm_uret_cpu);
	mkvm_uret_restore(u);
	u->known = 0;
	local_irq_restore(flags);
}
