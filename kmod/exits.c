// SPDX-License-Identifier: GPL-2.0
/*
 * Exit dispatch: what the core does with each struct mkvm_exit reason
 * the backends report, and which accounting counter it feeds.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kvm.h>
#include <asm/trapnr.h>

#include "minikvm.h"

/* VMMCALL: no hypercalls, "not implemented" as KVM answers (-KVM_ENOSYS). */
static int mkvm_handle_hypercall(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit)
{
	struct kvm_sregs s;

	mkvm_ops->get_sregs(vcpu, &s);
	vcpu->regs[0] = (u64)-1000;
	if (mkvm_cpu_mode(&s) != MKVM_MODE_LONG64)
		vcpu->regs[0] = (u32)vcpu->regs[0];
	mkvm_skip_insn(vcpu, exit);
	return 1;
}

int mkvm_handle_exit(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit)
{
	struct kvm_run *run = vcpu->run;

	switch (exit->reason) {
	case MKVM_EXIT_NONE:
	case MKVM_EXIT_INTR:
	case MKVM_EXIT_IRQ_WINDOW:
		return 1;
	case MKVM_EXIT_IO:
		return mkvm_handle_io(vcpu, exit);
	case MKVM_EXIT_NPF:
		return mkvm_handle_npf(vcpu, exit);
	case MKVM_EXIT_HLT:
		mkvm_skip_insn(vcpu, exit);
		run->exit_reason = KVM_EXIT_HLT;
		return 0;
	case MKVM_EXIT_CPUID:
		return mkvm_handle_cpuid(vcpu, exit);
	case MKVM_EXIT_RDMSR:
		return mkvm_handle_rdmsr(vcpu, exit);
	case MKVM_EXIT_WRMSR:
		return mkvm_handle_wrmsr(vcpu, exit);
	case MKVM_EXIT_XSETBV:
		return mkvm_handle_xsetbv(vcpu, exit);
	case MKVM_EXIT_CR_WRITE:
		return mkvm_handle_cr_write(vcpu, exit);
	case MKVM_EXIT_DR_ACCESS:
		return mkvm_handle_dr_access(vcpu, exit);
	case MKVM_EXIT_RDTSCP:
		return mkvm_handle_rdtscp(vcpu, exit);
	case MKVM_EXIT_INVD:
		/* A no-op, as in KVM: the guest's caches are the host's. */
		mkvm_skip_insn(vcpu, exit);
		return 1;
	case MKVM_EXIT_WBINVD:
		/*
		 * Intercepted so that a guest cannot stall every core of the
		 * socket with a loop of cache flushes.  No device does DMA
		 * into guest memory behind the caches' back (nothing is
		 * assigned), so, as KVM then does, nothing is flushed.
		 */
		mkvm_skip_insn(vcpu, exit);
		return 1;
	case MKVM_EXIT_RDPMC:
		return mkvm_handle_rdpmc(vcpu, exit);
	case MKVM_EXIT_HYPERCALL:
		return mkvm_handle_hypercall(vcpu, exit);
	case MKVM_EXIT_UD:
		mkvm_ops->inject_exception(vcpu, X86_TRAP_UD, false, 0);
		return 1;
	case MKVM_EXIT_SHUTDOWN:
		run->exit_reason = KVM_EXIT_SHUTDOWN;
		WRITE_ONCE(vcpu->vm->shut_down, true);
		mkvm_netlink_event(vcpu->vm, MINIKVM_EVENT_VCPU_SHUTDOWN, vcpu->id);
		return 0;
	case MKVM_EXIT_FAIL_ENTRY:
		WRITE_ONCE(vcpu->vm->shut_down, true);
		mkvm_netlink_event(vcpu->vm, MINIKVM_EVENT_VCPU_FAIL_ENTRY,
				   vcpu->id);
		run->exit_reason = KVM_EXIT_FAIL_ENTRY;
		run->fail_entry.hardware_entry_failure_reason = exit->hw_reason;
		run->fail_entry.cpu = vcpu->cpu;
		return 0;
	default:
		return mkvm_internal_error(vcpu,
				KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON,
				exit->hw_reason, vcpu->cpu);
	}
}

/* Count one exit by reason, and the time in the guest and after it. */
void mkvm_account_exit(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit,
		       int r, u64 guest_ns, u64 exit_ns)
{
	static const u8 stat[] = {
		[MKVM_EXIT_NONE]	= MINIKVM_STAT_EXCEPTION,
		[MKVM_EXIT_INTR]	= MINIKVM_STAT_INTR,
		[MKVM_EXIT_IO]		= MINIKVM_STAT_IO,
		[MKVM_EXIT_NPF]		= MINIKVM_STAT_NPF,
		[MKVM_EXIT_HLT]		= MINIKVM_STAT_HLT,
		[MKVM_EXIT_CPUID]	= MINIKVM_STAT_CPUID,
		[MKVM_EXIT_RDMSR]	= MINIKVM_STAT_MSR,
		[MKVM_EXIT_WRMSR]	= MINIKVM_STAT_MSR,
		[MKVM_EXIT_XSETBV]	= MINIKVM_STAT_XSETBV,
		[MKVM_EXIT_CR_WRITE]	= MINIKVM_STAT_OTHER,
		[MKVM_EXIT_DR_ACCESS]	= MINIKVM_STAT_OTHER,
		[MKVM_EXIT_INVD]	= MINIKVM_STAT_OTHER,
		[MKVM_EXIT_WBINVD]	= MINIKVM_STAT_WBINVD,
		[MKVM_EXIT_RDPMC]	= MINIKVM_STAT_OTHER,
		[MKVM_EXIT_RDTSCP]	= MINIKVM_STAT_OTHER,
		[MKVM_EXIT_HYPERCALL]	= MINIKVM_STAT_OTHER,
		[MKVM_EXIT_IRQ_WINDOW]	= MINIKVM_STAT_IRQ_WINDOW,
		[MKVM_EXIT_SHUTDOWN]	= MINIKVM_STAT_SHUTDOWN,
		[MKVM_EXIT_FAIL_ENTRY]	= MINIKVM_STAT_FAIL_ENTRY,
		[MKVM_EXIT_UD]		= MINIKVM_STAT_EXCEPTION,
		[MKVM_EXIT_UNKNOWN]	= MINIKVM_STAT_OTHER,
	};
	unsigned int i = MINIKVM_STAT_OTHER;

	if (exit->reason < ARRAY_SIZE(stat))
		i = stat[exit->reason];
	/* A fault that did not map a page was MMIO. */
	if (exit->reason == MKVM_EXIT_NPF && r == 0 &&
	    vcpu->run->exit_reason == KVM_EXIT_MMIO)
		i = MINIKVM_STAT_MMIO;
	mkvm_stat_add(&vcpu->stats.exits[i], 1);
	mkvm_stat_add(&vcpu->stats.exits_total, 1);
	mkvm_stat_add(&vcpu->stats.guest_ns, guest_ns);
	mkvm_stat_add(&vcpu->stats.exit_ns, exit_ns);
}
