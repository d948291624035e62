// SPDX-License-Identifier: GPL-2.0
/*
 * The machine-check architecture a vCPU shows: MCG_CAP, MCG_STATUS,
 * MCG_CTL and up to MKVM_MCE_BANKS banks of MCi_CTL/STATUS/ADDR/MISC,
 * set up by KVM_X86_SETUP_MCE (KVM_CAP_MCE).  Nothing reports errors
 * into the banks (no KVM_X86_SET_MCE): they hold what the guest and the
 * VMM write, with the checks of the architecture (SDM vol. 3, 16.3), so
 * that a VMM that saves and restores them (QEMU writes every bank) and a
 * guest that probes them (Linux clears and enables every bank) work as
 * they do on KVM.  Before KVM_X86_SETUP_MCE a vCPU has, as on KVM,
 * MKVM_MCE_BANKS banks with every register 0 and no MCG_CTL.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kvm.h>
#include <linux/nospec.h>
#include <linux/uaccess.h>
#include <asm/mce.h>
#include <asm/msr-index.h>

#include "minikvm.h"

/* What KVM_X86_GET_MCE_CAP_SUPPORTED offers besides the bank count. */
#define MKVM_MCG_CAP_SUPPORTED	(MCG_CTL_P | MCG_SER_P)

long mkvm_mce_cap_supported(void __user *argp)
{
	u64 cap = MKVM_MCG_CAP_SUPPORTED;

	return copy_to_user(argp, &cap, sizeof(cap)) ? -EFAULT : 0;
}

/*
 * KVM_X86_SETUP_MCE: the bank count (1 to MKVM_MCE_BANKS) in bits 7:0
 * and capabilities among the supported ones; bits 23:16 (the extended
 * register count) are accepted and ignored, as by KVM.  Every bank and
 * MCG_CTL start with all errors enabled.
 */
int mkvm_mce_setup(struct mkvm_vcpu *vcpu, void __user *argp)
{
	unsigned int banks, i;
	u64 cap;

	if (copy_from_user(&cap, argp, sizeof(cap)))
		return -EFAULT;
	banks = cap & MCG_BANKCNT_MASK;
	if (!banks || banks > MKVM_MCE_BANKS ||
	    (cap & ~(MKVM_MCG_CAP_SUPPORTED | MCG_BANKCNT_MASK | 0xff0000)))
		return -EINVAL;
	vcpu->mce.cap = cap;
	vcpu->mce.status = 0;
	vcpu->mce.ctl = cap & MCG_CTL_P ? ~0ULL : 0;
	for (i = 0; i < banks; i++) {
		vcpu->mce.banks[i * 4] = ~0ULL;		/* MCi_CTL */
		vcpu->mce.banks[i * 4 + 1] = 0;
		vcpu->mce.banks[i * 4 + 2] = 0;
		vcpu->mce.banks[i * 4 + 3] = 0;
	}
	return 0;
}

/*
 * Whether @index is a bank register of the vCPU: its offset; -EINVAL
 * for one of a bank past its count (refused), -ENOENT for no bank MSR.
 */
static int mkvm_mce_bank_reg(struct mkvm_vcpu *vcpu, u32 index)
{
	u32 n = (vcpu->mce.cap & MCG_BANKCNT_MASK) * 4;

	if (index < MSR_IA32_MC0_CTL ||
	    index >= MSR_IA32_MC0_CTL + MKVM_MCE_BANKS * 4)
		return -ENOENT;
	if (index >= MSR_IA32_MC0_CTL + n)
		return -EINVAL;
	return array_index_nospec(index - MSR_IA32_MC0_CTL, n);
}

/* The MCE MSRs: 0, -ENOENT (not one of them), -EINVAL (refused). */
int mkvm_mce_get_msr(struct mkvm_vcpu *vcpu, u32 index, u64 *data, bool host)
{
	int reg;

	switch (index) {
	case MSR_IA32_MCG_CAP:
		*data = vcpu->mce.cap;
		return 0;
	case MSR_IA32_MCG_STATUS:
		*data = vcpu->mce.status;
		return 0;
	case MSR_IA32_MCG_CTL:
		if (!(vcpu->mce.cap & MCG_CTL_P) && !host)
			return -EINVAL;
		*data = vcpu->mce.ctl;
		return 0;
	}
	reg = mkvm_mce_bank_reg(vcpu, index);
	if (reg < 0)
		return reg;
	*data = vcpu->mce.banks[reg];
	return 0;
}

int mkvm_mce_set_msr(struct mkvm_vcpu *vcpu, u32 index, u64 data, bool host)
{
	int reg;

	switch (index) {
	case MSR_IA32_MCG_CAP:
		/* Read-only: KVM_X86_SETUP_MCE sets it. */
		return -EINVAL;
	case MSR_IA32_MCG_STATUS:
		vcpu->mce.status = data;
		return 0;
	case MSR_IA32_MCG_CTL:
		if (!(vcpu->mce.cap & MCG_CTL_P) && (data || !host))
			return -EINVAL;
		if (data && data != ~0ULL)
			return -EINVAL;
		vcpu->mce.ctl = data;
		return 0;
	}
	reg = mkvm_mce_bank_reg(vcpu, index);
	if (reg < 0)
		return reg;
	switch (reg & 3) {
	case 0:
		/*
		 * MCi_CTL: all errors or none.  As KVM, bit 10 (which Linux
		 * clears in bank 4 for a K8 GART erratum) and bit 0 (which
		 * some systems clear) may be clear in an otherwise full mask.
		 */
		if (data && (data | BIT_ULL(10) | BIT_ULL(0)) != ~0ULL)
			return -EINVAL;
		break;
	case 1:
		/* MCi_STATUS: the guest may only clear it (no McStatusWrEn). */
		if (data && !host)
			return -EINVAL;
		break;
	}
	vcpu->mce.banks[reg] = data;
	return 0;
}
