// SPDX-License-Identifier: GPL-2.0
/*
 * The event queue: what the guest takes through its IDT at the next
 * entry.  Three sources feed it: exceptions raised by emulation and by
 * intercepts (mkvm_queue_exception()), events whose delivery an exit
 * interrupted (mkvm_events_after_exit()), and KVM_INTERRUPT's vector.
 * Before each entry mkvm_inject_events() hands the backend the one the
 * CPU would deliver first.  The rules live here once for both backends:
 *
 * - An interrupted interrupt, NMI or exception is delivered again; a
 *   software one (INTn, INT3, INTO) is not, its instruction runs again
 *   (RIP is still at it), as KVM does.
 * - An exception raised while one is pending or being re-delivered
 *   merges with it by the double-fault rule (mkvm_exception_merge()).
 * - An exception goes first; an interrupted NMI or interrupt waits for
 *   it; a new NMI waits for all three, and a new interrupt for the NMI.
 *   Real mode pushes no error code.
 * - NMIs (KVM_NMI, the LAPIC's, KVM_SET_VCPU_EVENTS) wait in a counter
 *   as the CPU latches them: while one is masked or in delivery, one
 *   more waits; otherwise two can.  Blocking by NMI is the backend's
 *   (set when one is injected, cleared by the guest's IRET).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kvm.h>
#include <linux/mm.h>
#include <asm/debugreg.h>
#include <asm/processor-flags.h>
#include <asm/trapnr.h>

#include "minikvm.h"

void mkvm_queue_exception(struct mkvm_vcpu *vcpu, u8 vector, bool has_error,
			  u32 error)
{
	struct mkvm_event *prev = NULL;

	if (vcpu->ev.injected.type == MKVM_EVENT_EXCEPTION)
		prev = &vcpu->ev.injected;
	else if (vcpu->ev.exception.type)
		prev = &vcpu->ev.exception;
	if (prev) {
		switch (mkvm_exception_merge(prev->vector, vector)) {
		case MKVM_EXC_TRIPLE_FAULT:
			prev->type = MKVM_EVENT_NONE;
			vcpu->ev.triple_fault = true;
			return;
		case MKVM_EXC_DOUBLE_FAULT:
			vector = X86_TRAP_DF;
			has_error = true;
			error = 0;
			break;
		case MKVM_EXC_NEXT:
			break;
		}
		prev->type = MKVM_EVENT_NONE;
	}
	vcpu->ev.exception = (struct mkvm_event){
		.type = MKVM_EVENT_EXCEPTION, .vector = vector,
		.has_error = has_error, .error = error,
	};
}

/*
 * The kernel completed an instruction for the guest (skipped or
 * emulated it: RIP is no longer @rip, where it exited) that ran with
 * RFLAGS.TF set.  The CPU would have raised the single-step trap after
 * it: queue it, with DR6.BS set and B0-B3 clear, as KVM does.  Not when
 * TF is gone meanwhile (a RESET).
 */
void mkvm_single_step_done(struct mkvm_vcpu *vcpu, u64 rip)
{
	if (vcpu->rip == rip || !(mkvm_call(get_rflags)(vcpu) & X86_EFLAGS_TF))
		return;
	mkvm_call(set_dr)(vcpu, 6, (mkvm_call(get_dr)(vcpu, 6) & ~DR_TRAP_BITS) |
			 DR6_RESERVED | DR_STEP);
	mkvm_queue_exception(vcpu, X86_TRAP_DB, false, 0);
}

/*
 * What the CPU does as it delivers an exception, which injection leaves
 * to software (KVM does both, for a new exception, not for one whose
 * delivery an exit interrupted): a #DB clears DR7.GD, so that the
 * handler can use the debug registers; a fault sets RF in the RFLAGS
 * image it pushes, so that an instruction breakpoint on the faulting
 * instruction does not fire again when the handler returns there.
 */
static void mkvm_exception_delivery(struct mkvm_vcpu *vcpu, u8 vector)
{
	u64 dr7;

	switch (vector) {
	case X86_TRAP_DB:
		dr7 = mkvm_call(get_dr)(vcpu, 7);
		if (dr7 & MKVM_DR7_GD)
			mkvm_call(set_dr)(vcpu, 7, dr7 & ~MKVM_DR7_GD);
		break;
	case X86_TRAP_BP:	/* traps and aborts */
	case X86_TRAP_OF:
	case X86_TRAP_DF:
	case X86_TRAP_MC:
		break;
	default:
		mkvm_call(set_rflags)(vcpu, mkvm_call(get_rflags)(vcpu) |
				     X86_EFLAGS_RF);
		break;
	}
}

/* An NMI arrives for @vcpu (its own thread). */
void mkvm_queue_nmi(struct mkvm_vcpu *vcpu)
{
	u8 limit = 2;

	if (vcpu->ev.injected.type == MKVM_EVENT_NMI ||
	    mkvm_call(get_nmi_mask)(vcpu))
		limit = 1;
	if (vcpu->ev.nmi_pending < limit)
		vcpu->ev.nmi_pending++;
}

/* After an exit: an event the exit interrupted is delivered again. */
void mkvm_events_after_exit(struct mkvm_vcpu *vcpu,
			    const struct mkvm_exit *exit)
{
	switch (exit->vectoring.type) {
	case MKVM_EVENT_INTR:
	case MKVM_EVENT_NMI:
	case MKVM_EVENT_EXCEPTION:
		vcpu->ev.injected = exit->vectoring;
		break;
	default:
		break;
	}
}

/*
 * Userspace's interrupt (KVM_INTERRUPT, KVM_SET_SREGS' interrupt_bitmap)
 * is in delivery from now on, as in KVM's one interrupt slot: it replaces
 * an interrupt there, and an exception there goes first.  It cannot
 * while an NMI is in delivery, or two exceptions wait.
 */
bool mkvm_user_interrupt_fits(struct mkvm_vcpu *vcpu)
{
	const struct mkvm_event *inj = &vcpu->ev.injected;

	return inj->type != MKVM_EVENT_NMI &&
	       !(inj->type == MKVM_EVENT_EXCEPTION && vcpu->ev.exception.type);
}

bool mkvm_set_user_interrupt(struct mkvm_vcpu *vcpu, u8 vector)
{
	struct mkvm_event *inj = &vcpu->ev.injected;

	if (!mkvm_user_interrupt_fits(vcpu))
		return false;
	if (inj->type == MKVM_EVENT_EXCEPTION)
		vcpu->ev.exception = *inj;
	*inj = (struct mkvm_event){ .type = MKVM_EVENT_INTR, .vector = vector };
	return true;
}

/* Whether an event waits for delivery (KVM_INTERRUPT's included). */
bool mkvm_event_pending(struct mkvm_vcpu *vcpu)
{
	return vcpu->ev.injected.type || vcpu->ev.exception.type;
}

/* Before an entry: inject the first event; returns whether there was one. */
bool mkvm_inject_events(struct mkvm_vcpu *vcpu)
{
	struct mkvm_event *src = NULL, ev;

	if (vcpu->ev.injected.type == MKVM_EVENT_EXCEPTION)
		src = &vcpu->ev.injected;
	else if (vcpu->ev.exception.type)
		src = &vcpu->ev.exception;
	else if (vcpu->ev.injected.type)
		src = &vcpu->ev.injected;

	if (src) {
		ev = *src;
		src->type = MKVM_EVENT_NONE;
		if (src == &vcpu->ev.exception)
			mkvm_exception_delivery(vcpu, ev.vector);
	} else if (vcpu->ev.nmi_pending && mkvm_call(nmi_allowed)(vcpu)) {
		ev = (struct mkvm_event){ .type = MKVM_EVENT_NMI,
					  .vector = X86_TRAP_NMI };
		vcpu->ev.nmi_pending--;
		mkvm_stat_add(&vcpu->stats.nmi_injections, 1);
	} else if (vcpu->apic) {
		/* The LAPIC's (or the PIC's) highest, if the guest takes it. */
		int vec = -1;

		if (mkvm_call(interrupt_allowed)(vcpu))
			vec = mkvm_lapic_ack_interrupt(vcpu);
		if (vec < 0)
			return false;
		ev = (struct mkvm_event){ .type = MKVM_EVENT_INTR, .vector = vec };
		mkvm_stat_add(&vcpu->stats.injections, 1);
	} else {
		return false;
	}
	if (!(mkvm_call(get_cr0)(vcpu) & X86_CR0_PE))
		ev.has_error = false;
	mkvm_call(inject_event)(vcpu, &ev);
	return true;
}
