// SPDX-License-Identifier: GPL-2.0
/*
 * Intel VMX backend.
 *
 * So far: detection (EPT and unrestricted guest are required) and
 * VMXON/VMXOFF per CPU.  VMCSs, VM entry and the exit handlers arrive
 * with the VMX issue.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/io.h>
#include <linux/percpu.h>
#include <asm/asm.h>
#include <asm/cpufeature.h>
#include <asm/msr.h>
#include <asm/msr-index.h>
#include <asm/perf_event.h>
#include <asm/processor.h>
#include <asm/special_insns.h>
#include <asm/tlbflush.h>
#include <asm/vmx.h>

#include "minikvm.h"

/* IA32_VMX_BASIC: VMCS region size (bits 44:32), memory type (53:50). */
#define VMX_BASIC_SIZE(basic)	(((basic) >> 32) & 0x1fff)
#define VMX_BASIC_MEMTYPE(basic) (((basic) >> 50) & 0xf)
#define VMX_MEMTYPE_WB		6

static u32 vmx_revision_id __read_mostly;

/* The VMXON region, one per possible CPU. */
static DEFINE_PER_CPU(struct page *, vmx_vmxon_page);

static int vmx_probe(const char **why)
{
	u64 feat_ctl, basic, ept_cap, ctls;

	/* Ask CPUID itself: the kernel clears the flag if firmware locked VMX off. */
	if (!(cpuid_ecx(1) & BIT(X86_FEATURE_VMX & 31)))
		return 0;
	if (rdmsrl_safe(MSR_IA32_FEAT_CTL, &feat_ctl) ||
	    !(feat_ctl & FEAT_CTL_LOCKED) ||
	    !(feat_ctl & FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX)) {
		*why = "VMX disabled by firmware (IA32_FEATURE_CONTROL)";
		return -ENODEV;
	}
	if (!boot_cpu_has(X86_FEATURE_VMX)) {
		*why = "VMX disabled by the kernel (see the boot log for IA32_FEATURE_CONTROL)";
		return -ENODEV;
	}

	rdmsrl(MSR_IA32_VMX_BASIC, basic);
	if (VMX_BASIC_SIZE(basic) > PAGE_SIZE ||
	    VMX_BASIC_MEMTYPE(basic) != VMX_MEMTYPE_WB) {
		*why = "VMX with an unsupported VMCS layout (size or memory type)";
		return -ENODEV;
	}

	/* The allowed-1 settings of a control are the MSR's high half. */
	rdmsrl(MSR_IA32_VMX_PROCBASED_CTLS, ctls);
	if (!((ctls >> 32) & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS)) {
		*why = "VMX without secondary controls (EPT and unrestricted guest are required)";
		return -ENODEV;
	}
	rdmsrl(MSR_IA32_VMX_PROCBASED_CTLS2, ctls);
	if (!((ctls >> 32) & SECONDARY_EXEC_ENABLE_EPT)) {
		*why = "VMX without EPT is not supported";
		return -ENODEV;
	}
	if (!((ctls >> 32) & SECONDARY_EXEC_UNRESTRICTED_GUEST)) {
		*why = "VMX without unrestricted guest is not supported";
		return -ENODEV;
	}
	rdmsrl(MSR_IA32_VMX_EPT_VPID_CAP, ept_cap);
	if (!(ept_cap & VMX_EPT_PAGE_WALK_4_BIT) || !(ept_cap & VMX_EPTP_WB_BIT)) {
		*why = "EPT without 4-level walks or write-back memory is not supported";
		return -ENODEV;
	}

	vmx_revision_id = vmx_basic_vmcs_revision_id(basic);
	return 1;
}

static void vmx_hardware_unsetup(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		if (per_cpu(vmx_vmxon_page, cpu))
			__free_page(per_cpu(vmx_vmxon_page, cpu));
		per_cpu(vmx_vmxon_page, cpu) = NULL;
	}
}

static int vmx_hardware_setup(void)
{
	struct page *page;
	int cpu;

	for_each_possible_cpu(cpu) {
		page = alloc_pages_node(cpu_to_node(cpu),
					GFP_KERNEL | __GFP_ZERO, 0);
		if (!page) {
			vmx_hardware_unsetup();
			return -ENOMEM;
		}
		*(u32 *)page_address(page) = vmx_revision_id;
		per_cpu(vmx_vmxon_page, cpu) = page;
	}
	return 0;
}

/* CR0 and CR4 (with VMXE) must respect the VMX fixed bits. */
static bool vmx_fixed_bits_ok(void)
{
	u64 fixed0, fixed1;
	unsigned long cr0 = read_cr0();
	unsigned long cr4 = cr4_read_shadow() | X86_CR4_VMXE;

	rdmsrl(MSR_IA32_VMX_CR0_FIXED0, fixed0);
	rdmsrl(MSR_IA32_VMX_CR0_FIXED1, fixed1);
	if ((cr0 & fixed0) != fixed0 || (cr0 & ~fixed1))
		return false;
	rdmsrl(MSR_IA32_VMX_CR4_FIXED0, fixed0);
	rdmsrl(MSR_IA32_VMX_CR4_FIXED1, fixed1);
	return (cr4 & fixed0) == fixed0 && !(cr4 & ~fixed1);
}

static int vmx_cpu_enable(void)
{
	u64 pa = page_to_phys(__this_cpu_read(vmx_vmxon_page));
	u8 failed = 1;

	if (cr4_read_shadow() & X86_CR4_VMXE)
		return -EBUSY;
	if (!vmx_fixed_bits_ok())
		return -EIO;

	intel_pt_handle_vmx(1);
	cr4_set_bits(X86_CR4_VMXE);
	/*
	 * VMfailInvalid sets CF, VMfailValid ZF: "setna" records either.
	 * A #GP or #UD skips it and leaves failed set.
	 */
	asm volatile("1: vmxon %[pa]\n\t"
		     "setna %[failed]\n\t"
		     "2:\n\t"
		     _ASM_EXTABLE(1b, 2b)
		     : [failed] "+q" (failed) : [pa] "m" (pa) : "cc", "memory");
	if (!failed)
		return 0;

	cr4_clear_bits(X86_CR4_VMXE);
	intel_pt_handle_vmx(0);
	return -EIO;
}

static void vmx_cpu_disable(void)
{
	if (!(cr4_read_shadow() & X86_CR4_VMXE))
		return;
	/* A fault means we were not in VMX operation: just clear VMXE. */
	asm volatile("1: vmxoff\n\t"
		     "2:\n\t"
		     _ASM_EXTABLE(1b, 2b)
		     : : : "cc", "memory");
	cr4_clear_bits(X86_CR4_VMXE);
	intel_pt_handle_vmx(0);
}

const struct mkvm_backend_ops mkvm_vmx_ops = {
	.name			= "Intel VMX",
	.probe			= vmx_probe,
	.hardware_setup		= vmx_hardware_setup,
	.hardware_unsetup	= vmx_hardware_unsetup,
	.cpu_enable		= vmx_cpu_enable,
	.cpu_disable		= vmx_cpu_disable,
};
