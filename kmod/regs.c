// SPDX-License-Identifier: GPL-2.0
/*
 * Register state: KVM_GET/SET_REGS, SREGS and FPU, and the state after
 * RESET.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kvm.h>
#include <asm/mtrr.h>
#include <asm/processor-flags.h>

#include "minikvm.h"

void mkvm_get_regs(struct mkvm_vcpu *vcpu, struct kvm_regs *r)
{
	u64 *g = vcpu->regs;

	r->rax = g[0]; r->rcx = g[1]; r->rdx = g[2]; r->rbx = g[3];
	r->rsp = g[4]; r->rbp = g[5]; r->rsi = g[6]; r->rdi = g[7];
	r->r8 = g[8]; r->r9 = g[9]; r->r10 = g[10]; r->r11 = g[11];
	r->r12 = g[12]; r->r13 = g[13]; r->r14 = g[14]; r->r15 = g[15];
	r->rip = vcpu->rip;
	r->rflags = mkvm_ops->get_rflags(vcpu);
}

void mkvm_set_regs(struct mkvm_vcpu *vcpu, const struct kvm_regs *r)
{
	u64 *g = vcpu->regs;

	g[0] = r->rax; g[1] = r->rcx; g[2] = r->rdx; g[3] = r->rbx;
	g[4] = r->rsp; g[5] = r->rbp; g[6] = r->rsi; g[7] = r->rdi;
	g[8] = r->r8; g[9] = r->r9; g[10] = r->r10; g[11] = r->r11;
	g[12] = r->r12; g[13] = r->r13; g[14] = r->r14; g[15] = r->r15;
	vcpu->rip = r->rip;
	/* Bit 1 is always set; as KVM, take the rest as given. */
	mkvm_ops->set_rflags(vcpu, r->rflags | X86_EFLAGS_FIXED);
}

/* KVM's CR0/CR4/EFER consistency rules for KVM_SET_SREGS. */
static bool mkvm_valid_sregs(struct mkvm_vcpu *vcpu, const struct kvm_sregs *s)
{
	if (s->cr0 >> 32 || s->cr4 & ~mkvm_cr4_allowed(vcpu))
		return false;
	if ((s->cr0 & X86_CR0_NW) && !(s->cr0 & X86_CR0_CD))
		return false;
	if ((s->cr0 & X86_CR0_PG) && !(s->cr0 & X86_CR0_PE))
		return false;
	if (s->efer & ~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NX))
		return false;
	if ((s->efer & EFER_LME) && !mkvm_cpuid_has_long_mode(vcpu))
		return false;
	if ((s->efer & EFER_NX) && !mkvm_cpuid_has_nx(vcpu))
		return false;
	if ((s->efer & EFER_LME) && (s->cr0 & X86_CR0_PG)) {
		if (!(s->cr4 & X86_CR4_PAE) || !(s->efer & EFER_LMA))
			return false;
		if (s->cr3 >> boot_cpu_data.x86_phys_bits)
			return false;
	} else if ((s->efer & EFER_LMA) || s->cs.l) {
		return false;
	}
	return true;
}

int mkvm_set_sregs(struct mkvm_vcpu *vcpu, const struct kvm_sregs *s)
{
	unsigned int i;

	if (!mkvm_valid_sregs(vcpu, s))
		return -EINVAL;
	mkvm_ops->set_sregs(vcpu, s);
	vcpu->apic_base = s->apic_base;
	/* A pending interrupt in the bitmap is queued, as KVM does. */
	for (i = 0; i < KVM_NR_INTERRUPTS; i++) {
		if (test_bit(i, (const unsigned long *)s->interrupt_bitmap)) {
			vcpu->irq_pending = true;
			vcpu->irq_vector = i;
			break;
		}
	}
	/* The guest's translations changed under it. */
	set_bit(MKVM_REQ_TLB_FLUSH, &vcpu->requests);
	return 0;
}

void mkvm_get_sregs(struct mkvm_vcpu *vcpu, struct kvm_sregs *s)
{
	memset(s, 0, sizeof(*s));
	mkvm_ops->get_sregs(vcpu, s);
	s->apic_base = vcpu->apic_base;
	if (vcpu->irq_pending)
		__set_bit(vcpu->irq_vector, (unsigned long *)s->interrupt_bitmap);
}

void mkvm_get_fpu(struct mkvm_vcpu *vcpu, struct kvm_fpu *f)
{
	struct fxregs_state *fx = &vcpu->fpu.fpstate->regs.fxsave;

	memset(f, 0, sizeof(*f));
	memcpy(f->fpr, fx->st_space, sizeof(f->fpr));
	f->fcw = fx->cwd;
	f->fsw = fx->swd;
	f->ftwx = fx->twd;
	f->last_opcode = fx->fop;
	f->last_ip = fx->rip;
	f->last_dp = fx->rdp;
	memcpy(f->xmm, fx->xmm_space, sizeof(f->xmm));
	f->mxcsr = fx->mxcsr;
}

int mkvm_set_fpu(struct mkvm_vcpu *vcpu, const struct kvm_fpu *f)
{
	struct fxregs_state *fx = &vcpu->fpu.fpstate->regs.fxsave;

	/* A reserved MXCSR bit would make the host's FXRSTOR fault. */
	if (f->mxcsr >> 16)
		return -EINVAL;
	memcpy(fx->st_space, f->fpr, sizeof(f->fpr));
	fx->cwd = f->fcw;
	fx->swd = f->fsw;
	fx->twd = f->ftwx;
	fx->fop = f->last_opcode;
	fx->rip = f->last_ip;
	fx->rdp = f->last_dp;
	memcpy(fx->xmm_space, f->xmm, sizeof(f->xmm));
	fx->mxcsr = f->mxcsr;
	return 0;
}

void mkvm_vcpu_reset(struct mkvm_vcpu *vcpu)
{
	vcpu->xcr0 = XFEATURE_MASK_FP;
	vcpu->apic_base = APIC_DEFAULT_PHYS_BASE | MSR_IA32_APICBASE_ENABLE |
			  (vcpu->id == 0 ? MSR_IA32_APICBASE_BSP : 0);
	vcpu->mp_state = KVM_MP_STATE_RUNNABLE;
	vcpu->regs[2] = 0x600;		/* RDX: family 6, as KVM */
	vcpu->rip = 0xfff0;
}
