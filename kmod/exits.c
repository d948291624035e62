// SPDX-License-Identifier: GPL-2.0
/*
 * The exit table: for each reason a backend reports in struct mkvm_exit,
 * the core's handler and the accounting counter the exit feeds.  A
 * handler returns 1 to re-enter the guest, 0 to return to userspace
 * with run->exit_reason set, or a negative errno for KVM_RUN.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kvm.h>
#include <linux/kvm_para.h>
#include <asm/trapnr.h>

#include "minikvm.h"

/* Handled by the backend, or a host event: re-enter. */
static int mkvm_handle_nothing(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit)
{
	return 1;
}

/*
 * Without an in-kernel irqchip, HLT is KVM_EXIT_HLT, past the HLT; with
 * one the vCPU sleeps in the kernel until it can take an interrupt
 * (run.c).
 */
static int mkvm_handle_hlt(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit)
{
	mkvm_skip_insn(vcpu, exit);
	if (vcpu->apic) {
		vcpu->mp_state = KVM_MP_STATE_HALTED;
		mkvm_stat_add(&vcpu->stats.halts, 1);
		return 1;
	}
	vcpu->run->exit_reason = KVM_EXIT_HLT;
	return 0;
}

/*
 * INVD and WBINVD/WBNOINVD: skipped, as KVM does.  The guest's caches
 * are the host's, and no device does DMA into guest memory behind their
 * back (nothing is assigned), so nothing needs flushing.  WBINVD is
 * intercepted all the same, so that a guest cannot stall every core of
 * the socket with a loop of cache flushes.
 */
static int mkvm_handle_skip(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit)
{
	mkvm_skip_insn(vcpu, exit);
	return 1;
}

/*
 * VMMCALL/VMCALL, KVM's hypercall ABI: the number in RAX, arguments from
 * RBX, the result in RAX (32 bits of each outside 64-bit mode).  As KVM:
 * -KVM_EPERM above CPL 0; KVM_HC_SCHED_YIELD returns 0 unless
 * KVM_CAP_ENFORCE_PV_FEATURE_CPUID is on and the guest's CPUID lacks
 * its feature; every other is -KVM_ENOSYS (not implemented).
 *
 * KVM_HC_SCHED_YIELD (RBX: the APIC id the caller waits for) is a hint:
 * KVM yields to the target vCPU's thread when it can, and returns 0
 * whether it did or not.  minikvm has no directed yield (it does not
 * track vCPU threads) and does not advertise KVM_FEATURE_PV_SCHED_YIELD,
 * so the hint is accepted and ignored; the vCPU's thread is preemptible
 * in its exit handlers anyway.
 */
static int mkvm_handle_hypercall(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit)
{
	unsigned int cpl;
	bool op64 = mkvm_vcpu_mode_cpl(vcpu, &cpl) == MKVM_MODE_LONG64;
	u64 nr, ret;

	nr = op64 ? vcpu->regs[0] : (u32)vcpu->regs[0];
	if (cpl) {
		ret = -KVM_EPERM;
	} else if (nr == KVM_HC_SCHED_YIELD &&
		   mkvm_pv_has(vcpu, KVM_FEATURE_PV_SCHED_YIELD)) {
		ret = 0;
	} else {
		ret = -KVM_ENOSYS;
	}
	vcpu->regs[0] = op64 ? ret : (u32)ret;
	mkvm_skip_insn(vcpu, exit);
	return 1;
}

/* SVM and VMX instructions: the guest's CPUID has none. */
static int mkvm_handle_ud(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit)
{
	mkvm_queue_exception(vcpu, X86_TRAP_UD, false, 0);
	return 1;
}

/*
 * MONITOR and MWAIT, as KVM: a NOP (an MWAIT that wakes at once), or #UD
 * if KVM_X86_QUIRK_MWAIT_NEVER_UD_FAULTS is off and the guest's CPUID
 * has no MWAIT (CPUID.1:ECX[3]).
 */
static int mkvm_handle_mwait(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit)
{
	if (!mkvm_has_quirk(vcpu->vm, KVM_X86_QUIRK_MWAIT_NEVER_UD_FAULTS) &&
	    !mkvm_cpuid_bit(vcpu, 1, CPUID_ECX, 3))
		return mkvm_handle_ud(vcpu, exit);
	mkvm_skip_insn(vcpu, exit);
	return 1;
}

/*
 * A #UD of the guest's, intercepted for KVM_X86_QUIRK_FIX_HYPERCALL_INSN
 * (on by default): if the instruction at CS:RIP is the other vendor's
 * hypercall (VMCALL on AMD, VMMCALL on Intel, without prefixes), the
 * native one is written over it through the guest's page tables with
 * the rights of its CPL, and the guest executes that.  As in KVM, a
 * write the guest's tables refuse raises #PF.  Every other #UD, and one
 * whose bytes are not in guest memory (MMIO, a read-only slot), reaches
 * the guest as the CPU raised it.
 */
static int mkvm_handle_ud_fault(struct mkvm_vcpu *vcpu)
{
	static const u8 vmcall[3] = { 0x0f, 0x01, 0xc1 };
	static const u8 vmmcall[3] = { 0x0f, 0x01, 0xd9 };
	bool amd = mkvm_ops == &mkvm_svm_ops;
	struct mkvm_fault fault;
	struct kvm_sregs s;
	u8 code[3];
	u64 la;
	int r;

	if (!mkvm_has_quirk(vcpu->vm, KVM_X86_QUIRK_FIX_HYPERCALL_INSN))
		goto inject;
	mkvm_get_code_sregs(vcpu, &s);
	la = mkvm_cpu_mode(&s) == MKVM_MODE_LONG64 ? vcpu->rip :
	     (u32)(s.cs.base + vcpu->rip);
	if (mkvm_guest_copy(vcpu, &s, la, code, sizeof(code), MKVM_WALK_FETCH,
			    &fault) ||
	    memcmp(code, amd ? vmcall : vmmcall, sizeof(code)))
		goto inject;
	memcpy(code, amd ? vmmcall : vmcall, sizeof(code));
	r = mkvm_guest_copy(vcpu, &s, la, code, sizeof(code), MKVM_WALK_WRITE,
			    &fault);
	if (r == -EFAULT)
		return mkvm_access_failed(vcpu, r, &fault, la);
	if (!r)
		return 1;
inject:
	mkvm_queue_exception(vcpu, X86_TRAP_UD, false, 0);
	return 1;
}

/*
 * #AC and #DB, intercepted so that a guest cannot loop on them forever,
 * and #UD (above).
 */
static int mkvm_handle_exception(struct mkvm_vcpu *vcpu,
				 struct mkvm_exit *exit)
{
	if (exit->exception.vector == X86_TRAP_UD)
		return mkvm_handle_ud_fault(vcpu);
	mkvm_queue_exception(vcpu, exit->exception.vector,
			     exit->exception.has_error, exit->exception.error);
	return 1;
}

/* KVM_EXIT_SHUTDOWN, for a triple fault of the CPU's or of events.c. */
int mkvm_exit_shutdown(struct mkvm_vcpu *vcpu)
{
	vcpu->run->exit_reason = KVM_EXIT_SHUTDOWN;
	WRITE_ONCE(vcpu->vm->shut_down, true);
	mkvm_netlink_event(vcpu->vm, MINIKVM_EVENT_VCPU_SHUTDOWN, vcpu->id);
	return 0;
}

/*
 * A triple fault.  On SVM the VMCB is undefined after it: as kvm_amd,
 * the vCPU is in the INIT state when KVM_RUN returns.  On VMX the state
 * at the fault stays, as with kvm_intel.
 */
static int mkvm_handle_shutdown(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit)
{
	if (exit->shutdown.state_lost)
		mkvm_vcpu_reset(vcpu, true);
	return mkvm_exit_shutdown(vcpu);
}

static int mkvm_handle_fail_entry(struct mkvm_vcpu *vcpu,
				  struct mkvm_exit *exit)
{
	struct kvm_run *run = vcpu->run;

	WRITE_ONCE(vcpu->vm->shut_down, true);
	mkvm_netlink_event(vcpu->vm, MINIKVM_EVENT_VCPU_FAIL_ENTRY, vcpu->id);
	run->exit_reason = KVM_EXIT_FAIL_ENTRY;
	run->fail_entry.hardware_entry_failure_reason = exit->hw_reason;
	run->fail_entry.cpu = vcpu->cpu;
	return 0;
}

static int mkvm_handle_unknown(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit)
{
	return mkvm_internal_error(vcpu, KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON,
				   exit->hw_reason, vcpu->cpu);
}

static const struct {
	int (*handle)(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit);
	u8 stat;			/* MINIKVM_STAT_* */
} mkvm_exits[] = {
	[MKVM_EXIT_NONE]	= { mkvm_handle_nothing, MINIKVM_STAT_EXCEPTION },
	[MKVM_EXIT_INTR]	= { mkvm_handle_nothing, MINIKVM_STAT_INTR },
	[MKVM_EXIT_IO]		= { mkvm_handle_io, MINIKVM_STAT_IO },
	[MKVM_EXIT_NPF]		= { mkvm_handle_npf, MINIKVM_STAT_NPF },
	[MKVM_EXIT_HLT]		= { mkvm_handle_hlt, MINIKVM_STAT_HLT },
	[MKVM_EXIT_CPUID]	= { mkvm_handle_cpuid, MINIKVM_STAT_CPUID },
	[MKVM_EXIT_RDMSR]	= { mkvm_handle_rdmsr, MINIKVM_STAT_MSR },
	[MKVM_EXIT_WRMSR]	= { mkvm_handle_wrmsr, MINIKVM_STAT_MSR },
	[MKVM_EXIT_XSETBV]	= { mkvm_handle_xsetbv, MINIKVM_STAT_XSETBV },
	[MKVM_EXIT_CR_WRITE]	= { mkvm_handle_cr_write, MINIKVM_STAT_OTHER },
	[MKVM_EXIT_DR_ACCESS]	= { mkvm_handle_dr_access, MINIKVM_STAT_OTHER },
	[MKVM_EXIT_INVD]	= { mkvm_handle_skip, MINIKVM_STAT_OTHER },
	[MKVM_EXIT_WBINVD]	= { mkvm_handle_skip, MINIKVM_STAT_WBINVD },
	[MKVM_EXIT_RDPMC]	= { mkvm_handle_rdpmc, MINIKVM_STAT_OTHER },
	[MKVM_EXIT_HYPERCALL]	= { mkvm_handle_hypercall, MINIKVM_STAT_OTHER },
	[MKVM_EXIT_RDTSCP]	= { mkvm_handle_rdtscp, MINIKVM_STAT_OTHER },
	[MKVM_EXIT_IRQ_WINDOW]	= { mkvm_handle_nothing, MINIKVM_STAT_IRQ_WINDOW },
	[MKVM_EXIT_NMI_WINDOW]	= { mkvm_handle_nothing, MINIKVM_STAT_IRQ_WINDOW },
	[MKVM_EXIT_SHUTDOWN]	= { mkvm_handle_shutdown, MINIKVM_STAT_SHUTDOWN },
	[MKVM_EXIT_FAIL_ENTRY]	= { mkvm_handle_fail_entry, MINIKVM_STAT_FAIL_ENTRY },
	[MKVM_EXIT_UD]		= { mkvm_handle_ud, MINIKVM_STAT_EXCEPTION },
	[MKVM_EXIT_MWAIT]	= { mkvm_handle_mwait, MINIKVM_STAT_OTHER },
	[MKVM_EXIT_EXCEPTION]	= { mkvm_handle_exception, MINIKVM_STAT_EXCEPTION },
	[MKVM_EXIT_UNKNOWN]	= { mkvm_handle_unknown, MINIKVM_STAT_OTHER },
};

static_assert(ARRAY_SIZE(mkvm_exits) == MKVM_EXIT_UNKNOWN + 1);

/*
 * The frequent exits by direct call, the rest through the table: on a
 * host with retpolines an indirect call costs one (KVM's
 * svm_invoke_exit_handler() and __vmx_handle_exit() do the same).
 */
int mkvm_handle_exit(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit)
{
	switch (exit->reason) {
	case MKVM_EXIT_INTR:
		return 1;
	case MKVM_EXIT_IO:
		return mkvm_handle_io(vcpu, exit);
	case MKVM_EXIT_NPF:
		return mkvm_handle_npf(vcpu, exit);
	case MKVM_EXIT_HLT:
		return mkvm_handle_hlt(vcpu, exit);
	case MKVM_EXIT_CPUID:
		return mkvm_handle_cpuid(vcpu, exit);
	case MKVM_EXIT_RDMSR:
		return mkvm_handle_rdmsr(vcpu, exit);
	case MKVM_EXIT_WRMSR:
		return mkvm_handle_wrmsr(vcpu, exit);
	case MKVM_EXIT_HYPERCALL:
		return mkvm_handle_hypercall(vcpu, exit);
	default:
		break;
	}
	if (exit->reason > MKVM_EXIT_UNKNOWN)
		exit->reason = MKVM_EXIT_UNKNOWN;
	return mkvm_exits[exit->reason].handle(vcpu, exit);
}

/* Count one exit by reason, and the time in the guest before it. */
void mkvm_account_exit(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit,
		       int r, u64 guest_ns)
{
	unsigned int i = mkvm_exits[exit->reason].stat;

	/* A fault that did not map a page was MMIO. */
	if (exit->reason == MKVM_EXIT_NPF && r == 0 &&
	    vcpu->run->exit_reason == KVM_EXIT_MMIO)
		i = MINIKVM_STAT_MMIO;
	mkvm_stat_add(&vcpu->stats.exits[i], 1);
	mkvm_stat_add(&vcpu->stats.exits_total, 1);
	mkvm_stat_add(&vcpu->stats.guest_ns, guest_ns);
}
