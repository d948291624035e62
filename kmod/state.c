// SPDX-License-Identifier: GPL-2.0
/*
 * vCPU state that a VMM saves and restores beside the registers:
 * KVM_GET/SET_VCPU_EVENTS (the event queue of events.c and the interrupt
 * shadow), KVM_GET/SET_XSAVE and KVM_GET_XSAVE2 (the guest's FPU, SSE
 * and AVX state, through the kernel's own uabi copy helpers) and
 * KVM_GET/SET_XCRS (XCR0, checked as a guest XSETBV is).  All of them
 * run under vcpu->mutex, outside KVM_RUN, when the guest's FPU state is
 * in vcpu->fpu and not in the CPU.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kvm.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <asm/fpu/api.h>
#include <asm/fpu/types.h>
#include <asm/fpu/xcr.h>
#include <asm/fpu/xstate.h>
#include <asm/trapnr.h>

#include "minikvm.h"

/* KVM's values for kvm_vcpu_events.interrupt.shadow (kvm_host.h). */
#define MKVM_SHADOW_MOV_SS	0x1
#define MKVM_SHADOW_STI		0x2

/* The flags KVM_SET_VCPU_EVENTS knows; the others are -EINVAL. */
#define MKVM_VCPUEVENT_KNOWN	(KVM_VCPUEVENT_VALID_NMI_PENDING |	\
				 KVM_VCPUEVENT_VALID_SIPI_VECTOR |	\
				 KVM_VCPUEVENT_VALID_SHADOW |		\
				 KVM_VCPUEVENT_VALID_SMM |		\
				 KVM_VCPUEVENT_VALID_PAYLOAD |		\
				 KVM_VCPUEVENT_VALID_TRIPLE_FAULT)

/* #BP and #OF are raised by their instruction, which runs again. */
static bool mkvm_exception_is_soft(u8 vector)
{
	return vector == X86_TRAP_BP || vector == X86_TRAP_OF;
}

/*
 * As KVM 6.1 without KVM_CAP_EXCEPTION_PAYLOAD: an exception raised but
 * not yet delivered is reported as injected, a soft one not at all.
 * nmi.pending is whether an NMI waits (KVM 6.1 reports 0 or 1 too),
 * nmi.masked whether NMIs are blocked.  The SIPI vector is never
 * reported (0, as KVM), nor SMM or a triple fault.
 */
static void mkvm_get_vcpu_events(struct mkvm_vcpu *vcpu,
				 struct kvm_vcpu_events *e)
{
	const struct mkvm_event *inj = &vcpu->ev.injected;
	const struct mkvm_event *ex = NULL;

	memset(e, 0, sizeof(*e));
	if (inj->type == MKVM_EVENT_EXCEPTION)
		ex = inj;
	else if (vcpu->ev.exception.type)
		ex = &vcpu->ev.exception;
	if (ex) {
		e->exception.injected = !mkvm_exception_is_soft(ex->vector);
		e->exception.nr = ex->vector;
		e->exception.has_error_code = ex->has_error;
		e->exception.error_code = ex->error;
	}
	if (inj->type == MKVM_EVENT_INTR) {
		e->interrupt.injected = 1;
		e->interrupt.nr = inj->vector;
	}
	if (mkvm_call(in_interrupt_shadow)(vcpu))
		e->interrupt.shadow = MKVM_SHADOW_MOV_SS | MKVM_SHADOW_STI;
	e->nmi.injected = inj->type == MKVM_EVENT_NMI;
	e->nmi.pending = vcpu->ev.nmi_pending != 0;
	e->nmi.masked = mkvm_call(get_nmi_mask)(vcpu);
	e->flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW;
}

static int mkvm_set_vcpu_events(struct mkvm_vcpu *vcpu,
				struct kvm_vcpu_events *e)
{
	struct mkvm_event ex = { .type = MKVM_EVENT_NONE };
	struct mkvm_event inj = { .type = MKVM_EVENT_NONE };

	if (e->flags & ~MKVM_VCPUEVENT_KNOWN)
		return -EINVAL;
	/* Neither KVM_CAP_EXCEPTION_PAYLOAD nor ..._TRIPLE_FAULT_EVENT. */
	if (e->flags & (KVM_VCPUEVENT_VALID_PAYLOAD |
			KVM_VCPUEVENT_VALID_TRIPLE_FAULT))
		return -EINVAL;
	/* Without the payload capability only "injected" counts, as KVM. */
	if (e->exception.injected &&
	    (e->exception.nr > 31 || e->exception.nr == X86_TRAP_NMI))
		return -EINVAL;
	/* No SMM: leaving it is all there is to ask for. */
	if ((e->flags & KVM_VCPUEVENT_VALID_SMM) &&
	    (e->smi.smm || e->smi.pending || e->smi.smm_inside_nmi))
		return -EINVAL;
	/* One event can be in delivery, not two. */
	if (e->nmi.injected && e->interrupt.injected && !e->interrupt.soft)
		return -EINVAL;

	if (e->nmi.injected)
		inj = (struct mkvm_event){ .type = MKVM_EVENT_NMI,
					   .vector = X86_TRAP_NMI };
	else if (e->interrupt.injected && !e->interrupt.soft)
		inj = (struct mkvm_event){ .type = MKVM_EVENT_INTR,
					   .vector = e->interrupt.nr };
	/* A soft interrupt's INTn runs again: nothing to queue (events.c). */
	if (e->exception.injected) {
		ex = (struct mkvm_event){
			.type = MKVM_EVENT_EXCEPTION,
			.vector = e->exception.nr,
			.has_error = e->exception.has_error_code,
			.error = e->exception.error_code,
		};
		/* Delivered first either way: before an injected NMI or IRQ. */
		if (!inj.type) {
			inj = ex;
			ex.type = MKVM_EVENT_NONE;
		}
	}
	vcpu->ev.injected = inj;
	vcpu->ev.exception = ex;

	if (e->flags & KVM_VCPUEVENT_VALID_SHADOW)
		mkvm_ops->set_interrupt_shadow(vcpu, e->interrupt.shadow);
	/* As KVM: as many as the CPU can latch (mkvm_queue_nmi()). */
	mkvm_ops->set_nmi_mask(vcpu, e->nmi.masked);
	if (e->flags & KVM_VCPUEVENT_VALID_NMI_PENDING)
		vcpu->ev.nmi_pending = min_t(u8, e->nmi.pending,
					     e->nmi.masked || e->nmi.injected ?
					     1 : 2);
	if ((e->flags & KVM_VCPUEVENT_VALID_SIPI_VECTOR) && vcpu->apic)
		WRITE_ONCE(vcpu->apic->sipi_vector, e->sipi_vector);
	if (vcpu->apic)
		mkvm_make_request(vcpu, MKVM_REQ_EVENT);
	return 0;
}

/*
 * KVM_CAP_SYNC_REGS: the registers, special registers and events that
 * KVM_RUN takes from kvm_run->s.regs (for each kvm_dirty_regs bit, with
 * the checks of the SET ioctl, before anything else it does) and leaves
 * there when it returns (for each kvm_valid_regs bit), so that a VMM
 * saves two ioctls per exit.
 */
#define MKVM_SYNC_REGS (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS | \
			KVM_SYNC_X86_EVENTS)

int mkvm_sync_regs_in(struct mkvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct kvm_sync_regs *s = &run->s.regs;
	u64 dirty = READ_ONCE(run->kvm_dirty_regs);
	int r;

	if ((READ_ONCE(run->kvm_valid_regs) | dirty) & ~(u64)MKVM_SYNC_REGS)
		return -EINVAL;
	if (dirty & KVM_SYNC_X86_REGS) {
		mkvm_set_regs(vcpu, &s->regs);
		run->kvm_dirty_regs &= ~(u64)KVM_SYNC_X86_REGS;
	}
	if (dirty & KVM_SYNC_X86_SREGS) {
		r = mkvm_set_sregs(vcpu, &s->sregs);
		if (r)
			return -EINVAL;
		run->kvm_dirty_regs &= ~(u64)KVM_SYNC_X86_SREGS;
	}
	if (dirty & KVM_SYNC_X86_EVENTS) {
		r = mkvm_set_vcpu_events(vcpu, &s->events);
		if (r)
			return -EINVAL;
		run->kvm_dirty_regs &= ~(u64)KVM_SYNC_X86_EVENTS;
	}
	return 0;
}

void mkvm_sync_regs_out(struct mkvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct kvm_sync_regs *s = &run->s.regs;
	u64 valid = READ_ONCE(run->kvm_valid_regs);

	if (valid & KVM_SYNC_X86_REGS)
		mkvm_get_regs(vcpu, &s->regs);
	if (valid & KVM_SYNC_X86_SREGS)
		mkvm_get_sregs(vcpu, &s->sregs);
	if (valid & KVM_SYNC_X86_EVENTS)
		mkvm_get_vcpu_events(vcpu, &s->events);
}

int mkvm_vcpu_events_ioctl(struct mkvm_vcpu *vcpu, void __user *argp,
			   bool set)
{
	struct kvm_vcpu_events e;

	if (!set) {
		mkvm_get_vcpu_events(vcpu, &e);
		return copy_to_user(argp, &e, sizeof(e)) ? -EFAULT : 0;
	}
	if (copy_from_user(&e, argp, sizeof(e)))
		return -EFAULT;
	return mkvm_set_vcpu_events(vcpu, &e);
}

/* A copy of @size bytes from userspace, charged to the caller's memcg. */
static void *mkvm_dup_user(const void __user *argp, size_t size)
{
	void *p = kvmalloc(size, GFP_KERNEL_ACCOUNT);

	if (!p)
		return ERR_PTR(-ENOMEM);
	if (copy_from_user(p, argp, size)) {
		kvfree(p);
		return ERR_PTR(-EFAULT);
	}
	return p;
}

/*
 * KVM_CAP_XSAVE2: the bytes KVM_GET_XSAVE2 writes, as KVM computes them:
 * the standard (non-compacted) XSAVE layout of the features a guest may
 * enable, at least sizeof(struct kvm_xsave).
 */
int mkvm_xsave_uabi_size(void)
{
	u64 xcr0 = mkvm_supported_xcr0();
	u32 size = XSAVE_HDR_OFFSET + XSAVE_HDR_SIZE;
	u32 eax, ebx, ecx, edx;
	int i;

	for (i = FIRST_EXTENDED_XFEATURE; i < 64; i++) {
		if (!(xcr0 & BIT_ULL(i)))
			continue;
		cpuid_count(XSTATE_CPUID, i, &eax, &ebx, &ecx, &edx);
		size = max(size, eax + ebx);	/* size + offset */
	}
	return max_t(u32, size, sizeof(struct kvm_xsave));
}

/*
 * KVM_GET_XSAVE (4 KiB; -EINVAL if the guest's state is larger, as KVM)
 * and KVM_GET_XSAVE2 (mkvm_xsave_uabi_size() bytes): the features a
 * guest may have, x87 and SSE always.  PKRU is not offered: 0.
 */
int mkvm_get_xsave(struct mkvm_vcpu *vcpu, void __user *argp, bool xsave2)
{
	unsigned int size = xsave2 ? mkvm_xsave_uabi_size() :
			    sizeof(struct kvm_xsave);
	void *buf;
	int r;

	if (!xsave2 && vcpu->fpu.uabi_size > sizeof(struct kvm_xsave))
		return -EINVAL;
	buf = kvzalloc(size, GFP_KERNEL_ACCOUNT);
	if (!buf)
		return -ENOMEM;
	fpu_copy_guest_fpstate_to_uabi(&vcpu->fpu, buf, size,
				       mkvm_supported_xcr0() | XFEATURE_MASK_FPSSE,
				       0);
	r = copy_to_user(argp, buf, size) ? -EFAULT : 0;
	kvfree(buf);
	return r;
}

/*
 * KVM_SET_XSAVE: the helper refuses (-EINVAL) features outside those a
 * guest may enable, reserved header or MXCSR bits.  Features the guest
 * has disabled through XFD (none here) are dropped first, as KVM does.
 */
int mkvm_set_xsave(struct mkvm_vcpu *vcpu, void __user *argp)
{
	union fpregs_state *state;
	u32 pkru = 0;	/* no PKU: the helper's PKRU goes nowhere */
	int r;

	state = mkvm_dup_user(argp, mkvm_xsave_uabi_size());
	if (IS_ERR(state))
		return PTR_ERR(state);
	state->xsave.header.xfeatures &= ~vcpu->fpu.fpstate->xfd;
	r = fpu_copy_uabi_to_guest_fpstate(&vcpu->fpu, state,
					   mkvm_supported_xcr0(), &pkru);
	kvfree(state);
	return r;
}

/*
 * KVM_GET/SET_XCRS, as KVM: without XSAVE on the host, GET reports no
 * XCR and SET fails; SET takes the first XCR0 entry, ignores other XCRs
 * and refuses (-EINVAL) what a guest XSETBV would get #GP for.
 */
int mkvm_xcrs_ioctl(struct mkvm_vcpu *vcpu, void __user *argp, bool set)
{
	struct kvm_xcrs *x;
	int i, r = 0;

	if (set && !boot_cpu_has(X86_FEATURE_XSAVE))
		return -EINVAL;
	if (set) {
		x = mkvm_dup_user(argp, sizeof(*x));
		if (IS_ERR(x))
			return PTR_ERR(x);
		if (x->nr_xcrs > KVM_MAX_XCRS || x->flags) {
			r = -EINVAL;
			goto out;
		}
		for (i = 0; i < x->nr_xcrs; i++) {
			if (x->xcrs[i].xcr == XCR_XFEATURE_ENABLED_MASK) {
				r = mkvm_set_xcr0(vcpu, x->xcrs[i].value);
				break;
			}
		}
		goto out;
	}

	x = kvzalloc(sizeof(*x), GFP_KERNEL_ACCOUNT);
	if (!x)
		return -ENOMEM;
	if (boot_cpu_has(X86_FEATURE_XSAVE)) {
		x->nr_xcrs = 1;
		x->xcrs[0].xcr = XCR_XFEATURE_ENABLED_MASK;
		x->xcrs[0].value = vcpu->xcr0;
	}
	r = copy_to_user(argp, x, sizeof(*x)) ? -EFAULT : 0;
out:
	kvfree(x);
	return r;
}
