// SPDX-License-Identifier: GPL-2.0
/*
 * AMD SVM backend.
 *
 * So far: detection and switching SVM on and off per CPU.  The guest
 * state (VMCB), VMRUN and the exit handlers arrive with the SVM issue.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cc_platform.h>
#include <linux/mm.h>
#include <linux/io.h>
#include <linux/percpu.h>
#include <asm/cpufeature.h>
#include <asm/msr.h>
#include <asm/msr-index.h>
#include <asm/processor.h>
#include <asm/svm.h>

#include "minikvm.h"

/* The host save area VMRUN writes to, one per possible CPU. */
static DEFINE_PER_CPU(struct page *, svm_hsave_page);

static int svm_probe(const char **why)
{
	u64 vm_cr;

	if (!boot_cpu_has(X86_FEATURE_SVM))
		return 0;
	if (cc_platform_has(CC_ATTR_GUEST_MEM_ENCRYPT)) {
		*why = "SVM cannot be used inside a memory-encrypted (SEV) guest";
		return -ENODEV;
	}
	if (rdmsrl_safe(MSR_VM_CR, &vm_cr) || (vm_cr & SVM_VM_CR_SVM_DIS_MASK)) {
		*why = "SVM disabled by firmware (VM_CR.SVMDIS is set)";
		return -ENODEV;
	}
	if (!boot_cpu_has(X86_FEATURE_NPT)) {
		*why = "SVM without nested paging (NPT) is not supported";
		return -ENODEV;
	}
	return 1;
}

static void svm_hardware_unsetup(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		if (per_cpu(svm_hsave_page, cpu))
			__free_page(per_cpu(svm_hsave_page, cpu));
		per_cpu(svm_hsave_page, cpu) = NULL;
	}
}

static int svm_hardware_setup(void)
{
	struct page *page;
	int cpu;

	for_each_possible_cpu(cpu) {
		page = alloc_pages_node(cpu_to_node(cpu),
					GFP_KERNEL | __GFP_ZERO, 0);
		if (!page) {
			svm_hardware_unsetup();
			return -ENOMEM;
		}
		per_cpu(svm_hsave_page, cpu) = page;
	}
	return 0;
}

static int svm_cpu_enable(void)
{
	u64 efer;

	rdmsrl(MSR_EFER, efer);
	if (efer & EFER_SVME)
		return -EBUSY;

	wrmsrl(MSR_EFER, efer | EFER_SVME);
	wrmsrl(MSR_VM_HSAVE_PA, page_to_phys(__this_cpu_read(svm_hsave_page)));
	return 0;
}

static void svm_cpu_disable(void)
{
	u64 efer;

	wrmsrl(MSR_VM_HSAVE_PA, 0);
	rdmsrl(MSR_EFER, efer);
	if (efer & EFER_SVME) {
		/* GIF must be 1 when SVM goes away, or INIT stays blocked. */
		asm volatile("stgi" ::: "memory");
		wrmsrl(MSR_EFER, efer & ~EFER_SVME);
	}
}

const struct mkvm_backend_ops mkvm_svm_ops = {
	.name			= "AMD SVM",
	.probe			= svm_probe,
	.hardware_setup		= svm_hardware_setup,
	.hardware_unsetup	= svm_hardware_unsetup,
	.cpu_enable		= svm_cpu_enable,
	.cpu_disable		= svm_cpu_disable,
};
