// SPDX-License-Identifier: GPL-2.0
/*
 * Control registers: guest writes to CR0 and CR4 (MOV, CLTS, LMSW)
 * with the architecture's checks, and XCR0 through XSETBV.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kvm.h>
#include <asm/fpu/xcr.h>
#include <asm/processor-flags.h>
#include <asm/trapnr.h>

#include "minikvm.h"

static u64 mkvm_host_xcr0;

/* The XCR0 bits a guest may set: x87, SSE and AVX, if the host has them. */
u64 mkvm_supported_xcr0(void)
{
	return mkvm_host_xcr0 & (XFEATURE_MASK_FP | XFEATURE_MASK_SSE |
				 XFEATURE_MASK_YMM);
}

/*
 * Set XCR0, for XSETBV and KVM_SET_XCRS: x87 always on, AVX needs SSE,
 * nothing outside mkvm_supported_xcr0().  0, or -EINVAL (#GP for XSETBV).
 */
int mkvm_set_xcr0(struct mkvm_vcpu *vcpu, u64 xcr0)
{
	if (!(xcr0 & XFEATURE_MASK_FP) || (xcr0 & ~mkvm_supported_xcr0()) ||
	    ((xcr0 & XFEATURE_MASK_YMM) && !(xcr0 & XFEATURE_MASK_SSE)))
		return -EINVAL;
	vcpu->xcr0 = xcr0;
	mkvm_update_xcr0_switch(vcpu);
	return 0;
}

/*
 * The guest's XCR0 is loaded around an entry (the backends' XSETBVs)
 * only where it matters: the host has XSAVE, the guest's CR4.OSXSAVE is
 * set (without it XGETBV, XSAVE and every VEX instruction raise #UD, so
 * the host's XCR0 gives it nothing) and the two differ.
 */
void mkvm_update_xcr0_switch(struct mkvm_vcpu *vcpu)
{
	vcpu->xcr0_switch = mkvm_host_xcr0 && vcpu->osxsave &&
			    vcpu->xcr0 != mkvm_host_xcr0;
}

/* The backend's set_sregs(), and what the core keeps of CR4. */
void mkvm_write_sregs(struct mkvm_vcpu *vcpu, const struct kvm_sregs *s)
{
	mkvm_ops->set_sregs(vcpu, s);
	vcpu->osxsave = !!(s->cr4 & X86_CR4_OSXSAVE);
	mkvm_update_xcr0_switch(vcpu);
}

int mkvm_handle_xsetbv(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit)
{
	u64 v = (u32)vcpu->regs[0] | (vcpu->regs[2] << 32);

	/* XCR0 only, from CPL 0. */
	if ((u32)vcpu->regs[1] != 0 || mkvm_vcpu_cpl(vcpu) ||
	    mkvm_set_xcr0(vcpu, v)) {
		mkvm_queue_exception(vcpu, X86_TRAP_GP, true, 0);
		return 1;
	}
	mkvm_skip_insn(vcpu, exit);
	return 1;
}

/*
 * The CR4 bits a guest may set: what the host can give it and, for the
 * feature bits, what the vCPU's CPUID offers once it has one (as KVM: a
 * guest without SMEP in its CPUID gets #GP for CR4.SMEP, KVM_SET_SREGS
 * EINVAL).
 */
u64 mkvm_cr4_allowed(struct mkvm_vcpu *vcpu)
{
	static const struct {
		u64 cr4;
		int feature;
		u32 fn;
		enum cpuid_regs_idx reg;
		int bit;
		bool offered;	/* in KVM_GET_SUPPORTED_CPUID */
	} gated[] = {
		{ X86_CR4_OSXSAVE, X86_FEATURE_XSAVE, 1, CPUID_ECX, 26, true },
		{ X86_CR4_PCIDE, X86_FEATURE_PCID, 1, CPUID_ECX, 17, false },
		{ X86_CR4_FSGSBASE, X86_FEATURE_FSGSBASE, 7, CPUID_EBX, 0, true },
		{ X86_CR4_SMEP, X86_FEATURE_SMEP, 7, CPUID_EBX, 7, true },
		{ X86_CR4_SMAP, X86_FEATURE_SMAP, 7, CPUID_EBX, 20, true },
	};
	u64 ok = X86_CR4_VME | X86_CR4_PVI | X86_CR4_TSD | X86_CR4_DE |
		 X86_CR4_PSE | X86_CR4_PAE | X86_CR4_MCE | X86_CR4_PGE |
		 X86_CR4_PCE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;
	int i;

	/*
	 * Before KVM_SET_CPUID2 KVM lets in all it offers: so here (PCID
	 * is not offered, so PCIDE only comes with a CPUID that has it).
	 */
	for (i = 0; i < ARRAY_SIZE(gated); i++)
		if (boot_cpu_has(gated[i].feature) &&
		    (!vcpu->cpuid_set ? gated[i].offered :
		     mkvm_cpuid_bit(vcpu, gated[i].fn, gated[i].reg, gated[i].bit)))
			ok |= gated[i].cr4;
	return ok;
}

/*
 * A guest write to CR0 or CR4 (MOV to CR, CLTS, LMSW), intercepted so
 * that it gets the checks of the architecture (and of KVM): a #GP for a
 * reserved bit, paging without protection, long mode without PAE, and
 * so on.  Emulators of SVM that skip some of them (QEMU) otherwise end up
 * in states that wedge or crash them.  VMX reports the instruction;
 * without decode assists, SVM does not and it is decoded at CS:RIP.
 */
int mkvm_handle_cr_write(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit)
{
	struct mkvm_sysreg_insn si;
	enum mkvm_cpu_mode mode;
	struct kvm_sregs s;
	u64 val, old;
	int cr;

	mkvm_call(get_sregs)(vcpu, &s);
	mode = mkvm_cpu_mode(&s);
	if (mkvm_fetch_sysreg_insn(vcpu, &s, &exit->cr, &si))
		goto cannot;
	switch (si.op) {
	case MKVM_SYSREG_CLTS:
		cr = 0;
		val = s.cr0 & ~X86_CR0_TS;
		break;
	case MKVM_SYSREG_CR_WRITE:
		cr = si.reg;
		val = *mkvm_gpr(vcpu, si.gpr);
		if (mode != MKVM_MODE_LONG64)
			val = (u32)val;
		break;
	case MKVM_SYSREG_LMSW:
		/* PE (set only), MP, EM, TS; from memory only if the CPU read it. */
		if (si.mem && !si.has_msw)
			goto cannot;
		cr = 0;
		val = (s.cr0 & ~0xeULL) |
		      ((si.has_msw ? si.msw : *mkvm_gpr(vcpu, si.gpr)) & 0xf);
		break;
	default:
		goto cannot;
	}

	if (cr == 0) {
		old = s.cr0;
		val |= X86_CR0_ET;
		if ((val >> 32) || ((val & X86_CR0_NW) && !(val & X86_CR0_CD)) ||
		    ((val & X86_CR0_PG) && !(val & X86_CR0_PE)))
			goto gp;
		if (!(old & X86_CR0_PG) && (val & X86_CR0_PG) &&
		    (s.efer & EFER_LME)) {
			if (!(s.cr4 & X86_CR4_PAE) || s.cs.l)
				goto gp;
			s.efer |= EFER_LMA;
		}
		if ((old & X86_CR0_PG) && !(val & X86_CR0_PG) &&
		    (s.efer & EFER_LMA)) {
			if (s.cs.l)
				goto gp;
			s.efer &= ~EFER_LMA;
		}
		s.cr0 = val;
	} else if (cr == 4) {
		if ((val & ~mkvm_cr4_allowed(vcpu)) ||
		    ((s.efer & EFER_LMA) && !(val & X86_CR4_PAE)) ||
		    ((val & X86_CR4_PCIDE) && !(s.efer & EFER_LMA)))
			goto gp;
		s.cr4 = val;
	} else {
		goto gp;	/* not the CR the exit was for: #GP, as MOV to CR9 */
	}
	mkvm_write_sregs(vcpu, &s);
	mkvm_make_request(vcpu, MKVM_REQ_TLB_FLUSH);
	vcpu->rip += si.len;
	return 1;

gp:
	mkvm_queue_exception(vcpu, X86_TRAP_GP, true, 0);
	return 1;
cannot:
	return mkvm_internal_error(vcpu, KVM_INTERNAL_ERROR_EMULATION,
				   exit->hw_reason, vcpu->rip);
}

void mkvm_cr_init(void)
{
	if (boot_cpu_has(X86_FEATURE_OSXSAVE))
		mkvm_host_xcr0 = xgetbv(XCR_XFEATURE_ENABLED_MASK);
}

u64 mkvm_get_host_xcr0(void)
{
	return mkvm_host_xcr0;
}
