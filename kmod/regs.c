// SPDX-License-Identifier: GPL-2.0
/*
 * Register state: KVM_GET/SET_REGS, SREGS and FPU, and the state after
 * RESET.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kvm.h>
#include <linux/mm.h>
#include <asm/apicdef.h>
#include <asm/debugreg.h>
#include <asm/msr.h>
#include <asm/msr-index.h>
#include <asm/processor-flags.h>

#include "minikvm.h"

void mkvm_get_regs(struct mkvm_vcpu *vcpu, struct kvm_regs *r)
{
	u64 *g = mkvm_gprs(vcpu);

	r->rax = g[0]; r->rcx = g[1]; r->rdx = g[2]; r->rbx = g[3];
	r->rsp = g[4]; r->rbp = g[5]; r->rsi = g[6]; r->rdi = g[7];
	r->r8 = g[8]; r->r9 = g[9]; r->r10 = g[10]; r->r11 = g[11];
	r->r12 = g[12]; r->r13 = g[13]; r->r14 = g[14]; r->r15 = g[15];
	r->rip = vcpu->rip;
	r->rflags = mkvm_call(get_rflags)(vcpu);
}

void mkvm_set_regs(struct mkvm_vcpu *vcpu, const struct kvm_regs *r)
{
	u64 *g = mkvm_gprs(vcpu);

	g[0] = r->rax; g[1] = r->rcx; g[2] = r->rdx; g[3] = r->rbx;
	g[4] = r->rsp; g[5] = r->rbp; g[6] = r->rsi; g[7] = r->rdi;
	g[8] = r->r8; g[9] = r->r9; g[10] = r->r10; g[11] = r->r11;
	g[12] = r->r12; g[13] = r->r13; g[14] = r->r14; g[15] = r->r15;
	vcpu->rip = r->rip;
	/* Bit 1 is always set; as KVM, take the rest as given. */
	mkvm_call(set_rflags)(vcpu, r->rflags | X86_EFLAGS_FIXED);
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
	i = find_first_bit((const unsigned long *)s->interrupt_bitmap,
			   KVM_NR_INTERRUPTS);
	/* Nothing lost: an interrupt that has no room is refused. */
	if (!vcpu->apic && i < KVM_NR_INTERRUPTS &&
	    !mkvm_user_interrupt_fits(vcpu))
		return -EINVAL;
	if (vcpu->apic && mkvm_lapic_set_base(vcpu, s->apic_base, true))
		return -EINVAL;
	mkvm_write_sregs(vcpu, s);
	if (vcpu->apic) {
		/* CR8 is the LAPIC's TPR; the bitmap is KVM_INTERRUPT's. */
		mkvm_lapic_set_cr8(vcpu, s->cr8);
		goto out;
	}
	vcpu->apic_base = s->apic_base;
	/*
	 * The interrupt in the bitmap is in delivery, as with KVM_INTERRUPT
	 * (KVM_GET_SREGS reported it): it takes the one slot, never a
	 * second.  No bit leaves the slot as it was, as in KVM.
	 */
	if (i < KVM_NR_INTERRUPTS)
		mkvm_set_user_interrupt(vcpu, i);
out:
	/* The guest's translations changed under it. */
	mkvm_make_request(vcpu, MKVM_REQ_TLB_FLUSH);
	return 0;
}

void mkvm_get_sregs(struct mkvm_vcpu *vcpu, struct kvm_sregs *s)
{
	memset(s, 0, sizeof(*s));
	mkvm_call(get_sregs)(vcpu, s);
	s->apic_base = vcpu->apic_base;
	if (vcpu->apic)
		s->cr8 = mkvm_lapic_get_cr8(vcpu);
	if (vcpu->ev.injected.type == MKVM_EVENT_INTR)
		__set_bit(vcpu->ev.injected.vector,
			  (unsigned long *)s->interrupt_bitmap);
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

/*
 * RESET (a new vCPU) and INIT (after a shutdown that lost the state, on
 * SVM; INIT IPIs later), as KVM's kvm_vcpu_reset(): the backend writes
 * its segments and clears its events, this the rest.  On both: the
 * GPRs 0 but RDX, the CPU signature (CPUID.1:EAX, family 6 without a
 * CPUID table); CS:IP f000:fff0, RFLAGS 2; CR0 ET (on INIT keeping CD
 * and NW, on RESET setting them), CR2-4, CR8 and EFER 0; DR0-3 0, DR6
 * and DR7 at their fixed bits.  XCR0, PAT, the MTRRs and the APIC base
 * are RESET's alone; INIT keeps them.
 */
void mkvm_vcpu_reset(struct mkvm_vcpu *vcpu, bool init)
{
	struct kvm_cpuid_entry2 *leaf1 = mkvm_find_cpuid(vcpu, 1, 0);
	u64 cr0 = X86_CR0_CD | X86_CR0_NW, pat = MKVM_PAT_DEFAULT;
	struct kvm_sregs s;

	if (init) {
		mkvm_call(get_sregs)(vcpu, &s);
		cr0 &= s.cr0;
		mkvm_call(get_msr)(vcpu, MSR_IA32_CR_PAT, &pat);
	}
	mkvm_ops->vcpu_reset(vcpu, init);
	mkvm_call(set_msr)(vcpu, MSR_IA32_CR_PAT, pat);

	mkvm_call(get_sregs)(vcpu, &s);
	s.cr0 = cr0 | X86_CR0_ET;
	s.cr2 = 0;
	s.cr3 = 0;
	s.cr4 = 0;
	s.cr8 = 0;
	s.efer = 0;
	mkvm_write_sregs(vcpu, &s);
	mkvm_call(set_rflags)(vcpu, X86_EFLAGS_FIXED);
	memset(vcpu->db, 0, sizeof(vcpu->db));
	mkvm_call(set_dr)(vcpu, 6, DR6_RESERVED);
	mkvm_call(set_dr)(vcpu, 7, MKVM_DR7_FIXED_1);

	memset(mkvm_gprs(vcpu), 0, sizeof(vcpu->regs));
	vcpu->regs[2] = leaf1 ? leaf1->eax : 0x600;
	vcpu->rip = 0xfff0;
	vcpu->spec_ctrl = 0;
	vcpu->kvmclock_msr = 0;		/* as KVM: INIT turns kvmclock off */
	memset(&vcpu->ev, 0, sizeof(vcpu->ev));
	vcpu->pending = MKVM_PENDING_NONE;
	vcpu->mp_state = KVM_MP_STATE_RUNNABLE;

	if (!init) {
		vcpu->xcr0 = XFEATURE_MASK_FP;
		mkvm_update_xcr0_switch(vcpu);
		vcpu->mtrr_def_type = 0;
		memset(vcpu->mtrr_fixed, 0, sizeof(vcpu->mtrr_fixed));
		memset(vcpu->mtrr_var, 0, sizeof(vcpu->mtrr_var));
		vcpu->apic_base = APIC_DEFAULT_PHYS_BASE |
				  MSR_IA32_APICBASE_ENABLE |
				  (vcpu->id == vcpu->vm->bsp_id ?
				   MSR_IA32_APICBASE_BSP : 0);
		/*
		 * As KVM: the TSC starts at 0, and every vCPU of the VM
		 * counts from the VM's creation, so that they agree.
		 */
		mkvm_call(set_msr)(vcpu, MSR_IA32_TSC,
				   rdtsc() - vcpu->vm->tsc_base);
		vcpu->tsc_adjust = 0;
	}
	mkvm_lapic_reset(vcpu, init);
	/* The guest's translations are gone with its CR3. */
	mkvm_make_request(vcpu, MKVM_REQ_TLB_FLUSH);
}
