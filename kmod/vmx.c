// SPDX-License-Identifier: GPL-2.0
/*
 * Intel VMX backend: one VMCS per vCPU, EPT (4 levels, write-back),
 * VPIDs when the CPU has them, unrestricted guest (real mode and
 * unpaged protected mode run natively), and the translation of VM exits
 * into the core's generic exits.  The world switch is vmx_entry.S.
 *
 * Exits: every port (unconditional IO exiting) and MSR but the few the
 * world switch carries (vmx_pass_msr()), any change of CR0 or CR4 (the
 * host owns all their bits), CR8, every MOV DR, HLT, CPUID, INVD,
 * WBINVD, RDPMC, XSETBV, MONITOR/MWAIT, the VMX instructions, triple fault, external
 * interrupts, NMIs, and #AC, #DB, #MC, #UD.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kvm_host.h>
#include <linux/mm.h>
#include <linux/io.h>
#include <linux/percpu.h>
#include <linux/sched/smt.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <asm/asm.h>
#include <asm/debugreg.h>
#include <asm/desc.h>
#include <asm/fpu/xcr.h>
#include <asm/nospec-branch.h>
#include <asm/trapnr.h>
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

static int vmx_setup_controls(void);
static void vmx_free_shared(void);
static int vmx_alloc_shared(void);
static void vmx_vmcs_clear_all_here(void);

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

/*
 * L1TF: before VM entry the L1D is flushed, so that a guest cannot read
 * through a non-present guest page-table entry data the host left there
 * (EPT does not stop that speculative load).  The policy is kvm_intel's
 * with vmentry_l1d_flush=auto, taken from the host kernel's l1tf=
 * mitigation: none on CPUs without the bug or that tell us to skip it
 * (ARCH_CAPABILITIES.SKIP_VMENTRY_L1DFLUSH), none with l1tf=off, at every
 * entry with l1tf=full or full,force, else ("conditional") only when
 * host code ran since the last entry: an interrupt on this CPU (the
 * kernel's per-CPU flag) or the vCPU's own flush_l1d.  The flush is the
 * FLUSH_CMD MSR where the CPU has it, else a read of a 64 KiB buffer,
 * twice the L1D: every page first (TLB), then every line.
 */
enum vmx_l1d_mode { VMX_L1D_NEVER, VMX_L1D_COND, VMX_L1D_ALWAYS };
static enum vmx_l1d_mode vmx_l1d_mode __read_mostly;
#define VMX_L1D_FLUSH_ORDER	4
static void *vmx_l1d_pages;

static int vmx_setup_l1d_flush(void)
{
	static const char *const mode[] = { "never", "conditional", "always" };
	u64 cap = 0;
	int i;

	vmx_l1d_mode = VMX_L1D_NEVER;
	if (!boot_cpu_has_bug(X86_BUG_L1TF))
		return 0;
	if (boot_cpu_has(X86_FEATURE_ARCH_CAPABILITIES))
		rdmsrl_safe(MSR_IA32_ARCH_CAPABILITIES, &cap);
	if (cap & ARCH_CAP_SKIP_VMENTRY_L1DFLUSH)
		return 0;
	switch (l1tf_mitigation) {
	case L1TF_MITIGATION_OFF:
		vmx_l1d_mode = VMX_L1D_NEVER;
		break;
	case L1TF_MITIGATION_FULL:
	case L1TF_MITIGATION_FULL_FORCE:
		vmx_l1d_mode = VMX_L1D_ALWAYS;
		break;
	default:
		vmx_l1d_mode = VMX_L1D_COND;
		break;
	}
	if (vmx_l1d_mode != VMX_L1D_NEVER && !boot_cpu_has(X86_FEATURE_FLUSH_L1D)) {
		struct page *page = alloc_pages(GFP_KERNEL, VMX_L1D_FLUSH_ORDER);

		if (!page)
			return -ENOMEM;
		vmx_l1d_pages = page_address(page);
		/* Distinct contents: no page may be merged with another. */
		for (i = 0; i < 1 << VMX_L1D_FLUSH_ORDER; i++)
			memset(vmx_l1d_pages + i * PAGE_SIZE, i + 1, PAGE_SIZE);
	}
	pr_info("L1TF: L1D flush before VM entry: %s (%s)\n", mode[vmx_l1d_mode],
		vmx_l1d_mode == VMX_L1D_NEVER ? "l1tf=off" :
		vmx_l1d_pages ? "software" : "FLUSH_CMD");
	return 0;
}

/* Interrupts disabled, just before VM entry. */
static void vmx_l1d_flush(struct mkvm_vcpu *vcpu)
{
	unsigned int i, size = PAGE_SIZE << VMX_L1D_FLUSH_ORDER;
	const u8 *p = vmx_l1d_pages;

	if (vmx_l1d_mode == VMX_L1D_COND) {
		bool flush = vcpu->flush_l1d || kvm_get_cpu_l1tf_flush_l1d();

		vcpu->flush_l1d = false;
		kvm_clear_cpu_l1tf_flush_l1d();
		if (!flush)
			return;
	}
	if (!p) {
		mkvm_native_wrmsrl(MSR_IA32_FLUSH_CMD, L1D_FLUSH);
		return;
	}
	for (i = 0; i < size; i += PAGE_SIZE)
		(void)READ_ONCE(p[i]);
	/* Serialize: the TLB fill must not overlap the cache fill. */
	native_cpuid_eax(0);
	for (i = 0; i < size; i += L1_CACHE_BYTES)
		(void)READ_ONCE(p[i]);
	asm volatile("lfence" ::: "memory");
}

static void vmx_hardware_unsetup(void)
{
	int cpu;

	if (vmx_l1d_pages)
		free_pages((unsigned long)vmx_l1d_pages, VMX_L1D_FLUSH_ORDER);
	vmx_l1d_pages = NULL;
	vmx_free_shared();
	for_each_possible_cpu(cpu) {
		if (per_cpu(vmx_vmxon_page, cpu))
			__free_page(per_cpu(vmx_vmxon_page, cpu));
		per_cpu(vmx_vmxon_page, cpu) = NULL;
	}
}

static int vmx_hardware_setup(void)
{
	struct page *page;
	int cpu, r;

	/* vmx_entry.S writes HOST_RSP by its encoding. */
	BUILD_BUG_ON(HOST_RSP != 0x6c14);
	r = vmx_setup_controls();
	if (r)
		return r;
	r = vmx_setup_l1d_flush();
	if (r)
		return r;
	r = vmx_alloc_shared();
	if (r) {
		vmx_hardware_unsetup();
		return r;
	}
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

/* Interrupts off, or in NMI for an emergency restart. */
static void vmx_cpu_disable(void)
{
	if (!(cr4_read_shadow() & X86_CR4_VMXE))
		return;
	vmx_vmcs_clear_all_here();
	/* A fault means we were not in VMX operation: just clear VMXE. */
	asm volatile("1: vmxoff\n\t"
		     "2:\n\t"
		     _ASM_EXTABLE(1b, 2b)
		     : : : "cc", "memory");
	cr4_clear_bits(X86_CR4_VMXE);
	intel_pt_handle_vmx(0);
}

/* ---- VMCS access ------------------------------------------------------- */

/*
 * VMREAD/VMWRITE of the current VMCS.  Only called with the vCPU's VMCS
 * loaded on this CPU (vmx_vcpu_load() to vmx_vcpu_put()); a failure is a
 * bug in this file, reported once, never a crash: the exception-table
 * entry covers VMX having been switched off under us (emergency reboot).
 */
static u64 vmcs_read(unsigned long field)
{
	u64 value = 0;

	mkvm_cost(MKVM_COST_VMREAD);
	asm volatile("1: vmread %[field], %[value]\n\t"
		     "2:\n\t"
		     _ASM_EXTABLE(1b, 2b)
		     : [value] "+r" (value) : [field] "r" (field) : "cc");
	return value;
}

static void vmcs_write(unsigned long field, u64 value)
{
	u8 failed = 1;

	mkvm_cost(MKVM_COST_VMWRITE);
	asm volatile("1: vmwrite %[value], %[field]\n\t"
		     "setna %[failed]\n\t"
		     "2:\n\t"
		     _ASM_EXTABLE(1b, 2b)
		     : [failed] "+q" (failed)
		     : [field] "r" (field), [value] "rm" (value) : "cc");
	if (unlikely(failed))
		pr_err_once("VMWRITE of field %#lx failed (error %llu)\n",
			    field, vmcs_read(VM_INSTRUCTION_ERROR));
}

/*
 * Not counted here: it also runs from IPIs and VMXOFF, where the vCPU
 * attached to the CPU is not the one cleared.  Callers count it.
 */
static int vmcs_clear(u64 pa)
{
	u8 failed = 1;

	asm volatile("1: vmclear %[pa]\n\t"
		     "setna %[failed]\n\t"
		     "2:\n\t"
		     _ASM_EXTABLE(1b, 2b)
		     : [failed] "+q" (failed) : [pa] "m" (pa) : "cc", "memory");
	return failed ? -EIO : 0;
}

static int vmcs_load(u64 pa)
{
	u8 failed = 1;

	mkvm_cost(MKVM_COST_VMCS_SWITCH);
	asm volatile("1: vmptrld %[pa]\n\t"
		     "setna %[failed]\n\t"
		     "2:\n\t"
		     _ASM_EXTABLE(1b, 2b)
		     : [failed] "+q" (failed) : [pa] "m" (pa) : "cc", "memory");
	return failed ? -EIO : 0;
}

/* INVEPT/INVVPID take a 128-bit descriptor in memory. */
static void vmx_invept(unsigned long type, u64 eptp)
{
	struct { u64 eptp, zero; } desc = { eptp, 0 };

	mkvm_cost(MKVM_COST_TLB_FLUSH);
	asm volatile("1: invept %[desc], %[type]\n\t"
		     "2:\n\t"
		     _ASM_EXTABLE(1b, 2b)
		     : : [desc] "m" (desc), [type] "r" (type) : "cc", "memory");
}

static void vmx_invvpid(unsigned long type, u16 vpid)
{
	struct { u64 vpid, gva; } desc = { vpid, 0 };

	mkvm_cost(MKVM_COST_TLB_FLUSH);
	asm volatile("1: invvpid %[desc], %[type]\n\t"
		     "2:\n\t"
		     _ASM_EXTABLE(1b, 2b)
		     : : [desc] "m" (desc), [type] "r" (type) : "cc", "memory");
}

/* ---- controls ------------------------------------------------------------ */

/* What every VMCS uses, computed once at setup from the capability MSRs. */
static struct {
	u32 pin, cpu, cpu2, entry, exit;
	u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
	bool vpid, invept_single, invvpid_single;
} vmx_cfg __read_mostly;

/*
 * EPT accessed/dirty flags, used when the CPU has them (as kvm_intel
 * does).  With them the CPU's accesses to the guest's own page tables
 * count as writes for EPT, as they do under NPT: tables in a read-only
 * slot fault on every walk and the core emulates (mkvm_handle_npf()).
 * Without them only setting an A/D bit would fault, which Bochs 2.7
 * skips: it then sets A/D bits in read-only memory.
 */
static bool vmx_ept_ad __read_mostly;
/* EPT maps 2 MiB pages (a PDE with bit 7 set). */
static bool vmx_ept_2m __read_mostly;

static u64 vmx_eptp(struct mkvm_vm *vm)
{
	return mkvm_mmu_root_pa(vm) | VMX_EPTP_PWL_4 | VMX_EPTP_MT_WB |
	       (vmx_ept_ad ? VMX_EPTP_AD_ENABLE_BIT : 0);
}

/* VPIDs: 0 is the host's; without the feature every vCPU uses 0. */
static unsigned long *vmx_vpid_bitmap;
static DEFINE_SPINLOCK(vmx_vpid_lock);

/*
 * Which RDMSR/WRMSR exit: see vmx_pass_msr().  Shared by every vCPU
 * until its VM's MSR filter denies one of the pass-through MSRs: the
 * vCPU then has a copy that intercepts what the filter denies.
 */
static struct page *vmx_msr_bitmap;

/*
 * Let the guest read and write @msr without an exit
 * (MKVM_PASSTHROUGH_MSRS: the FS/GS bases are VMCS guest-state fields
 * read back after every exit, KERNEL_GS_BASE is switched by hand around
 * every run and read back).  The bitmap holds four 1 KiB maps: reads of
 * 0-0x1fff, reads of 0xc0000000-0xc0001fff, then the writes of both.
 */
static void vmx_msr_intercept(unsigned long *map, u32 msr, bool read,
			      bool write)
{
	u32 bit = (msr & 0x1fff) + (msr >= 0xc0000000 ? 1024 * 8 : 0);

	__assign_bit(bit, map, read);
	__assign_bit(bit + 2048 * 8, map, write);
}

static void vmx_pass_msr(u32 msr)
{
	vmx_msr_intercept(page_address(vmx_msr_bitmap), msr, false, false);
}

/*
 * Per CPU: the VMCS made current here last (VMPTRLD), and every VMCS
 * active here (loaded once and not VMCLEARed since), which VMXOFF must
 * VMCLEAR first.  The list changes with interrupts off on its CPU.
 */
static DEFINE_PER_CPU(void *, vmx_current_vmcs);
static DEFINE_PER_CPU(struct list_head, vmx_active);

static void vmx_free_shared(void)
{
	if (vmx_msr_bitmap)
		__free_page(vmx_msr_bitmap);
	vmx_msr_bitmap = NULL;
	bitmap_free(vmx_vpid_bitmap);
	vmx_vpid_bitmap = NULL;
}

static int vmx_alloc_shared(void)
{
	static const u32 pass[] = MKVM_PASSTHROUGH_MSRS;
	int i;

	for_each_possible_cpu(i)
		INIT_LIST_HEAD(per_cpu_ptr(&vmx_active, i));

	vmx_msr_bitmap = alloc_page(GFP_KERNEL);
	vmx_vpid_bitmap = bitmap_zalloc(VMX_NR_VPIDS, GFP_KERNEL);
	if (!vmx_msr_bitmap || !vmx_vpid_bitmap) {
		vmx_free_shared();
		return -ENOMEM;
	}
	memset(page_address(vmx_msr_bitmap), 0xff, PAGE_SIZE);
	for (i = 0; i < ARRAY_SIZE(pass); i++)
		vmx_pass_msr(pass[i]);
	return 0;
}

/* Per CPU: the VMCS run last, for IBPB between different vCPUs. */
static DEFINE_PER_CPU(void *, vmx_last_vmcs);

/*
 * A control's value: @min must be allowed to be 1, @opt is set where
 * allowed.  The capability MSR holds the allowed-0 settings (bits that
 * must be 1) in its low half and the allowed-1 settings in its high one.
 */
static int vmx_adjust_ctl(u32 min, u32 opt, u32 msr, u32 *result)
{
	u64 cap;
	u32 ctl;

	rdmsrl(msr, cap);
	ctl = (min | opt) & (u32)(cap >> 32);
	ctl |= (u32)cap;
	if ((ctl & min) != min)
		return -EIO;
	*result = ctl;
	return 0;
}

static int vmx_setup_controls(void)
{
	bool tru;
	u64 basic, ept_cap;
	u32 opt2 = SECONDARY_EXEC_ENABLE_VPID | SECONDARY_EXEC_ENABLE_RDTSCP |
		   SECONDARY_EXEC_ENABLE_INVPCID;
	int r;

	rdmsrl(MSR_IA32_VMX_BASIC, basic);
	tru = basic & VMX_BASIC_TRUE_CTLS;

	r = vmx_adjust_ctl(PIN_BASED_EXT_INTR_MASK | PIN_BASED_NMI_EXITING |
			   PIN_BASED_VIRTUAL_NMIS, 0,
			   tru ? MSR_IA32_VMX_TRUE_PINBASED_CTLS :
				 MSR_IA32_VMX_PINBASED_CTLS, &vmx_cfg.pin);
	r = r ?: vmx_adjust_ctl(CPU_BASED_HLT_EXITING |
				CPU_BASED_UNCOND_IO_EXITING |
				CPU_BASED_MOV_DR_EXITING |
				CPU_BASED_USE_MSR_BITMAPS |
				CPU_BASED_USE_TSC_OFFSETTING |
				CPU_BASED_CR8_LOAD_EXITING |
				CPU_BASED_CR8_STORE_EXITING |
				CPU_BASED_MWAIT_EXITING |
				CPU_BASED_MONITOR_EXITING |
				CPU_BASED_RDPMC_EXITING |
				CPU_BASED_NMI_WINDOW_EXITING |
				CPU_BASED_ACTIVATE_SECONDARY_CONTROLS, 0,
				tru ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS :
				      MSR_IA32_VMX_PROCBASED_CTLS, &vmx_cfg.cpu);
	r = r ?: vmx_adjust_ctl(SECONDARY_EXEC_ENABLE_EPT |
				SECONDARY_EXEC_UNRESTRICTED_GUEST |
				SECONDARY_EXEC_WBINVD_EXITING, opt2,
				MSR_IA32_VMX_PROCBASED_CTLS2, &vmx_cfg.cpu2);
	r = r ?: vmx_adjust_ctl(VM_ENTRY_LOAD_DEBUG_CONTROLS |
				VM_ENTRY_LOAD_IA32_EFER |
				VM_ENTRY_LOAD_IA32_PAT, 0,
				tru ? MSR_IA32_VMX_TRUE_ENTRY_CTLS :
				      MSR_IA32_VMX_ENTRY_CTLS, &vmx_cfg.entry);
	r = r ?: vmx_adjust_ctl(VM_EXIT_HOST_ADDR_SPACE_SIZE |
				VM_EXIT_SAVE_DEBUG_CONTROLS |
				VM_EXIT_LOAD_IA32_EFER | VM_EXIT_SAVE_IA32_EFER |
				VM_EXIT_LOAD_IA32_PAT | VM_EXIT_SAVE_IA32_PAT, 0,
				tru ? MSR_IA32_VMX_TRUE_EXIT_CTLS :
				      MSR_IA32_VMX_EXIT_CTLS, &vmx_cfg.exit);
	if (r) {
		pr_err("VMX lacks a control minikvm needs (EFER/PAT switching, HLT/IO/DR/RDPMC/WBINVD exiting, virtual NMIs)\n");
		return r;
	}
	/* With TRUE controls these can be 0: with EPT, CR3 is the guest's. */
	vmx_cfg.cpu &= ~(CPU_BASED_CR3_LOAD_EXITING | CPU_BASED_CR3_STORE_EXITING |
			 CPU_BASED_INVLPG_EXITING);
	/* Required above, but set only while an NMI waits (vmx_vcpu_run()). */
	vmx_cfg.cpu &= ~CPU_BASED_NMI_WINDOW_EXITING;
	/* Entry in IA-32e mode follows the guest's EFER.LMA, per vCPU. */
	vmx_cfg.entry &= ~VM_ENTRY_IA32E_MODE;

	rdmsrl(MSR_IA32_VMX_EPT_VPID_CAP, ept_cap);
	vmx_cfg.vpid = (vmx_cfg.cpu2 & SECONDARY_EXEC_ENABLE_VPID) &&
		       ((ept_cap >> 32) & VMX_VPID_INVVPID_BIT);
	if (!vmx_cfg.vpid)
		vmx_cfg.cpu2 &= ~SECONDARY_EXEC_ENABLE_VPID;
	vmx_cfg.invvpid_single = (ept_cap >> 32) & VMX_VPID_EXTENT_SINGLE_CONTEXT_BIT;
	vmx_cfg.invept_single = ept_cap & VMX_EPT_EXTENT_CONTEXT_BIT;
	vmx_ept_ad = ept_cap & VMX_EPT_AD_BIT;
	vmx_ept_2m = ept_cap & VMX_EPT_2MB_PAGE_BIT;
	if (!(ept_cap & VMX_EPT_INVEPT_BIT)) {
		pr_err("EPT without INVEPT is not supported\n");
		return -EIO;
	}

	rdmsrl(MSR_IA32_VMX_CR0_FIXED0, vmx_cfg.cr0_fixed0);
	rdmsrl(MSR_IA32_VMX_CR0_FIXED1, vmx_cfg.cr0_fixed1);
	rdmsrl(MSR_IA32_VMX_CR4_FIXED0, vmx_cfg.cr4_fixed0);
	rdmsrl(MSR_IA32_VMX_CR4_FIXED1, vmx_cfg.cr4_fixed1);
	/* Unrestricted guest: PE and PG are the guest's business. */
	vmx_cfg.cr0_fixed0 &= ~(u64)(X86_CR0_PE | X86_CR0_PG);
	return 0;
}

/* ---- the vCPU ------------------------------------------------------------ */

/* At most this many perf MSRs switched (perf lists two at most now). */
#define VMX_PERF_MSRS	8

/* Guest MSRs that VMX does not switch: loaded by hand around each run. */
enum { VMX_STAR, VMX_LSTAR, VMX_CSTAR, VMX_SFMASK, VMX_KGSBASE, VMX_NR_MSRS };
static const u32 vmx_switched_msrs[VMX_NR_MSRS] = {
	MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK, MSR_KERNEL_GS_BASE,
};

enum {
	VMX_ES, VMX_CS, VMX_SS, VMX_DS, VMX_FS, VMX_GS, VMX_LDTR, VMX_TR,
	VMX_NR_SEGS
};

/*
 * The lazy state (vmx_read_lazy_state()) in the parts vmx_sync() reads
 * one at a time, so that an exit handler that needs the CPL (SS's
 * attributes) or the instruction at CS:RIP does not pay for the other
 * segments and the descriptor tables.
 */
#define VMX_LAZY_AR(i)		BIT(i)			/* attributes: 1 VMREAD */
#define VMX_LAZY_SBL(i)		BIT(VMX_NR_SEGS + (i))	/* selector, base, limit: 3 */
#define VMX_LAZY_SEG(i)		((BIT(VMX_NR_SEGS) | BIT(0)) << (i))	/* both */
#define VMX_LAZY_DT		BIT(2 * VMX_NR_SEGS)	/* GDTR, IDTR: 4 */
#define VMX_LAZY_CR3		BIT(2 * VMX_NR_SEGS + 1)	/* 1 */
#define VMX_LAZY_PDPTR		BIT(2 * VMX_NR_SEGS + 2)	/* 4 under PAE paging */
#define VMX_LAZY_ALL		GENMASK(2 * VMX_NR_SEGS + 2, 0)
/* RSP: 1.  Not in VMX_LAZY_ALL: the core's vcpu->rsp_lazy says it. */
#define VMX_LAZY_RSP		BIT(2 * VMX_NR_SEGS + 3)

/*
 * The guest state lives here, not in the VMCS: the core reads and
 * writes it at any time (ioctls, exit handlers) while the VMCS is only
 * accessible on the CPU it is loaded on.  vmx_vcpu_run() writes it into
 * the VMCS before entry (all of it only when @dirty) and reads back
 * what the guest can change without an exit.
 */
struct vmx_vcpu {
	struct mkvm_vcpu vcpu;
	void *vmcs;
	u64 vmcs_pa;
	/*
	 * Its MSR bitmap: vmx_msr_bitmap, shared, until the filter denies
	 * one of the pass-through MSRs; then own_msr_bitmap, a copy less
	 * what the filter denies (allocated by vmx_own_msr_map(), which may
	 * run while the vCPU does: it takes it at its next intercept
	 * change).
	 */
	unsigned long *msr_bitmap;
	unsigned long *own_msr_bitmap;
	int loaded_cpu;		/* vmx_vcpu_load() to _put(): there, or -1 */
	int active_cpu;		/* where the VMCS is active, or -1 */
	struct list_head active_link;	/* in that CPU's vmx_active */
	bool initialized;	/* VMCLEARed once */
	bool launched;		/* VMLAUNCH done since the last VMCLEAR */
	bool need_flush;	/* INVEPT/INVVPID before the next entry */
	u16 vpid;
	u64 host_cr3, host_cr4;	/* as last written into the VMCS */
	u64 host_fs_base;	/* HOST_FS_BASE: the task's, at vmx_vcpu_load() */
	u64 host_kgsbase;	/* the host's, while kgs_loaded */
	bool kgs_loaded;	/* the guest's KERNEL_GS_BASE is in the MSR */
	/* What the VMCS holds of the fields written before every entry. */
	bool fresh;		/* nothing yet: write them all */
	u64 vmcs_rip, vmcs_rsp, vmcs_rflags;
	u32 vmcs_intr_state, vmcs_cpu_ctl;
	bool vmcs_event;	/* VM_ENTRY_INTR_INFO_FIELD is valid */
	/* VM-entry and VM-exit MSR-load lists, in one page: vmx_perf_msrs() */
	struct vmx_msr_entry *perf_guest, *perf_host;
	int perf_nr;		/* entries in both */

	bool dirty;		/* guest state changed outside the guest */
	bool reset;		/* INIT or RESET: debug state cleared */
	bool bitmap_stale;	/* msr_bitmap not in the VMCS yet */
	u32 stale;		/* VMX_LAZY_*: vmx_sync() reads them first */
	struct kvm_segment seg[VMX_NR_SEGS];
	struct kvm_dtable gdt, idt;
	u64 cr0, cr2, cr3, cr4, cr8, efer;
	u64 pdptr[4];		/* PAE paging: the CPU takes them from here */
	u64 rflags, dr6, dr7, pat;
	u64 sysenter_cs, sysenter_esp, sysenter_eip;
	u64 tsc_offset;
	u64 msr[VMX_NR_MSRS];
	u32 intr_state;		/* GUEST_INTERRUPTIBILITY_INFO */
	u64 exit_rip;		/* RIP at the last exit, for the STI shadow */
	u32 event;		/* VM_ENTRY_INTR_INFO_FIELD to inject */
	u32 event_err;
	bool irq_window;
	bool nmi_window;
};

static struct vmx_vcpu *to_vmx(struct mkvm_vcpu *vcpu)
{
	return container_of(vcpu, struct vmx_vcpu, vcpu);
}

static void vmx_seg_reset(struct kvm_segment *s, u8 type, bool sys)
{
	memset(s, 0, sizeof(*s));
	s->limit = 0xffff;
	s->type = type;
	s->s = !sys;
	s->present = 1;
}

static void vmx_sync(struct vmx_vcpu *vmx, u32 parts);
static void vmx_vcpu_load(struct mkvm_vcpu *vcpu, int cpu);
static void vmx_vmcs_clear_active(struct vmx_vcpu *vmx);

/*
 * RESET and INIT: of the architectural state, the part that is VMX's
 * (segments as kvm_intel sets them: accessed bits set, a 32-bit busy
 * TSS; no event, no interrupt shadow); regs.c writes the rest.  The
 * SYSENTER and syscall MSRs start at 0 on RESET and keep their values
 * across INIT.
 */
static void vmx_vcpu_reset(struct mkvm_vcpu *vcpu, bool init)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	int i;

	vmx_sync(vmx, VMX_LAZY_ALL);	/* CR3 is kept: regs.c sets it */
	for (i = 0; i < VMX_NR_SEGS; i++)
		vmx_seg_reset(&vmx->seg[i], 3, false);	/* data, RW, accessed */
	vmx_seg_reset(&vmx->seg[VMX_CS], 0xb, false);	/* code, RX, accessed */
	vmx->seg[VMX_CS].selector = 0xf000;
	vmx->seg[VMX_CS].base = 0xffff0000;
	vmx_seg_reset(&vmx->seg[VMX_LDTR], 2, true);
	vmx_seg_reset(&vmx->seg[VMX_TR], 0xb, true);	/* busy TSS */
	vmx->gdt = (struct kvm_dtable){ .limit = 0xffff };
	vmx->idt = (struct kvm_dtable){ .limit = 0xffff };
	memset(vmx->pdptr, 0, sizeof(vmx->pdptr));
	if (!init) {
		vmx->sysenter_cs = 0;
		vmx->sysenter_esp = 0;
		vmx->sysenter_eip = 0;
		memset(vmx->msr, 0, sizeof(vmx->msr));
	}
	vmx->intr_state = 0;
	vmx->event = 0;
	vmx->irq_window = false;
	vmx->nmi_window = false;
	vmx->exit_rip = ~0ULL;		/* no shadow survives at any RIP */
	vmx->reset = true;
	vmx->dirty = true;
}

static int vmx_vcpu_create(struct mkvm_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	struct page *page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	struct page *lists = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	unsigned long vpid = 0;

	if (!page || !lists) {
		if (page)
			__free_page(page);
		if (lists)
			__free_page(lists);
		return -ENOMEM;
	}
	vmx->msr_bitmap = page_address(vmx_msr_bitmap);
	vmx->perf_guest = page_address(lists);
	vmx->perf_host = vmx->perf_guest + PAGE_SIZE / 2 / sizeof(*vmx->perf_guest);
	vmx->vmcs = page_address(page);
	vmx->vmcs_pa = page_to_phys(page);
	*(u32 *)vmx->vmcs = vmx_revision_id;
	vmx->loaded_cpu = -1;
	vmx->active_cpu = -1;
	vmx->fresh = true;
	INIT_LIST_HEAD(&vmx->active_link);
	vmx->need_flush = true;

	/* As kvm_intel: the flush cannot help against the other thread. */
	if (boot_cpu_has_bug(X86_BUG_L1TF) && sched_smt_active() &&
	    (l1tf_mitigation == L1TF_MITIGATION_FLUSH ||
	     l1tf_mitigation == L1TF_MITIGATION_FLUSH_NOSMT ||
	     l1tf_mitigation == L1TF_MITIGATION_FULL))
		pr_warn_once("L1TF: SMT is on: a guest may read the L1D of host code on its sibling thread (l1tf=flush,nowarn silences this)\n");

	if (vmx_cfg.vpid) {
		spin_lock(&vmx_vpid_lock);
		vpid = find_next_zero_bit(vmx_vpid_bitmap, VMX_NR_VPIDS, 1);
		if (vpid < VMX_NR_VPIDS)
			__set_bit(vpid, vmx_vpid_bitmap);
		else
			vpid = 0;	/* none left: flush at every entry */
		spin_unlock(&vmx_vpid_lock);
	}
	vmx->vpid = vpid;
	return 0;
}

static void vmx_vcpu_free(struct mkvm_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	int cpu;

	vmx_vmcs_clear_active(vmx);
	/* No CPU may take it for its last VMCS. */
	for_each_possible_cpu(cpu)
		cmpxchg(per_cpu_ptr(&vmx_last_vmcs, cpu), vmx->vmcs, NULL);
	if (vmx->vpid) {
		spin_lock(&vmx_vpid_lock);
		__clear_bit(vmx->vpid, vmx_vpid_bitmap);
		spin_unlock(&vmx_vpid_lock);
	}
	free_page((unsigned long)vmx->vmcs);
	free_page((unsigned long)vmx->perf_guest);
	free_page((unsigned long)vmx->own_msr_bitmap);
}

/* The base of the TSS that TR selects, from its GDT descriptor. */
static unsigned long vmx_host_tr_base(void)
{
	struct desc_ptr gdt;
	struct ldttss_desc *d;
	u16 tr;

	native_store_gdt(&gdt);
	asm volatile("str %0" : "=r" (tr));
	d = (struct ldttss_desc *)(gdt.address + (tr & ~7));
	return get_desc_base((struct desc_struct *)d) |
	       ((unsigned long)d->base3 << 32);
}

/*
 * The host state that VM exit loads and that depends on the CPU or the
 * task: written whenever the VMCS is loaded.  The constant part (code
 * selectors, EFER, PAT, the exit RIP) goes in here too: it is cheap.
 */
static void vmx_write_host_state(struct vmx_vcpu *vmx)
{
	struct desc_ptr dt;
	u64 v;

	vmx->host_cr3 = __read_cr3();
	vmx->host_cr4 = cr4_read_shadow();
	vmcs_write(HOST_CR0, read_cr0());
	vmcs_write(HOST_CR3, vmx->host_cr3);
	vmcs_write(HOST_CR4, vmx->host_cr4);
	vmcs_write(HOST_CS_SELECTOR, __KERNEL_CS);
	vmcs_write(HOST_SS_SELECTOR, __KERNEL_DS);
	/* DS, ES, FS, GS: null at exit; vmx_vcpu_run() restores the task's. */
	vmcs_write(HOST_DS_SELECTOR, 0);
	vmcs_write(HOST_ES_SELECTOR, 0);
	vmcs_write(HOST_FS_SELECTOR, 0);
	vmcs_write(HOST_GS_SELECTOR, 0);
	vmcs_write(HOST_TR_SELECTOR, GDT_ENTRY_TSS * 8);
	/* The field as its cache says: vmx_vcpu_load() checks the task's. */
	vmcs_write(HOST_FS_BASE, vmx->host_fs_base);
	mkvm_rdmsrl(MSR_GS_BASE, v);
	vmcs_write(HOST_GS_BASE, v);
	vmcs_write(HOST_TR_BASE, vmx_host_tr_base());
	native_store_gdt(&dt);
	vmcs_write(HOST_GDTR_BASE, dt.address);
	store_idt(&dt);
	vmcs_write(HOST_IDTR_BASE, dt.address);
	mkvm_rdmsrl(MSR_IA32_SYSENTER_CS, v);
	vmcs_write(HOST_IA32_SYSENTER_CS, v);
	mkvm_rdmsrl(MSR_IA32_SYSENTER_ESP, v);
	vmcs_write(HOST_IA32_SYSENTER_ESP, v);
	mkvm_rdmsrl(MSR_IA32_SYSENTER_EIP, v);
	vmcs_write(HOST_IA32_SYSENTER_EIP, v);
	mkvm_rdmsrl(MSR_EFER, v);
	vmcs_write(HOST_IA32_EFER, v);
	mkvm_rdmsrl(MSR_IA32_CR_PAT, v);
	vmcs_write(HOST_IA32_PAT, v);
	vmcs_write(HOST_RIP, (unsigned long)mkvm_vmx_exit);
	/* HOST_RSP: written by mkvm_vmx_enter() itself. */
}

/* The execution controls and the fields that never change. */
static void vmx_write_controls(struct vmx_vcpu *vmx)
{
	u32 cpu2 = vmx_cfg.cpu2;

	/* VPID 0 is refused by VM entry: out of VPIDs, run without one. */
	if (!vmx->vpid)
		cpu2 &= ~SECONDARY_EXEC_ENABLE_VPID;
	vmcs_write(PIN_BASED_VM_EXEC_CONTROL, vmx_cfg.pin);
	vmcs_write(SECONDARY_VM_EXEC_CONTROL, cpu2);
	vmcs_write(VM_EXIT_CONTROLS, vmx_cfg.exit);
	/* #UD for the core's hypercall patching (exits.c). */
	vmcs_write(EXCEPTION_BITMAP, BIT(X86_TRAP_AC) | BIT(X86_TRAP_DB) |
				     BIT(X86_TRAP_MC) | BIT(X86_TRAP_UD));
	vmcs_write(PAGE_FAULT_ERROR_CODE_MASK, 0);
	vmcs_write(PAGE_FAULT_ERROR_CODE_MATCH, 0);
	vmcs_write(CR3_TARGET_COUNT, 0);
	vmcs_write(VM_EXIT_MSR_STORE_COUNT, 0);
	vmcs_write(VM_EXIT_MSR_LOAD_ADDR, virt_to_phys(vmx->perf_host));
	vmcs_write(VM_ENTRY_MSR_LOAD_ADDR, virt_to_phys(vmx->perf_guest));
	vmcs_write(VM_EXIT_MSR_LOAD_COUNT, 0);
	vmcs_write(VM_ENTRY_MSR_LOAD_COUNT, 0);
	vmx->perf_nr = 0;
	vmcs_write(MSR_BITMAP, virt_to_phys(vmx->msr_bitmap));
	/* The host owns every bit of CR0 and CR4: each change exits. */
	vmcs_write(CR0_GUEST_HOST_MASK, ~0UL);
	vmcs_write(CR4_GUEST_HOST_MASK, ~0UL);
	vmcs_write(VMCS_LINK_POINTER, ~0ULL);
	/* The guest's debug and activity state: at RESET (vmx->reset). */
	if (vmx->vpid)
		vmcs_write(VIRTUAL_PROCESSOR_ID, vmx->vpid);
}

static u32 vmx_seg_ar(const struct kvm_segment *s)
{
	if (s->unusable || !s->present)
		return VMX_AR_UNUSABLE_MASK;
	return (s->type & 15) | (s->s << 4) | ((s->dpl & 3) << 5) |
	       (s->present << 7) | (s->avl << 12) | (s->l << 13) |
	       (s->db << 14) | (s->g << 15);
}

static void vmx_seg_from_ar(struct kvm_segment *s, u32 ar)
{
	s->unusable = !!(ar & VMX_AR_UNUSABLE_MASK);
	s->type = ar & 15;
	s->s = !!(ar & BIT(4));
	s->dpl = (ar >> 5) & 3;
	s->present = !!(ar & BIT(7));
	s->avl = !!(ar & BIT(12));
	s->l = !!(ar & BIT(13));
	s->db = !!(ar & BIT(14));
	s->g = !!(ar & BIT(15));
	s->padding = 0;
}

/* The VMCS fields of one segment register, ES..TR in the SDM's order. */
#define VMX_SEG_FIELD(f, i)	((f) + (i) * 2)

static void vmx_write_guest_state(struct vmx_vcpu *vmx)
{
	u64 cr0, cr4;
	u32 entry;
	int i;

	for (i = 0; i < VMX_NR_SEGS; i++) {
		const struct kvm_segment *s = &vmx->seg[i];

		vmcs_write(VMX_SEG_FIELD(GUEST_ES_SELECTOR, i), s->selector);
		vmcs_write(VMX_SEG_FIELD(GUEST_ES_BASE, i), s->base);
		vmcs_write(VMX_SEG_FIELD(GUEST_ES_LIMIT, i), s->limit);
		vmcs_write(VMX_SEG_FIELD(GUEST_ES_AR_BYTES, i), vmx_seg_ar(s));
	}
	vmcs_write(GUEST_GDTR_BASE, vmx->gdt.base);
	vmcs_write(GUEST_GDTR_LIMIT, vmx->gdt.limit);
	vmcs_write(GUEST_IDTR_BASE, vmx->idt.base);
	vmcs_write(GUEST_IDTR_LIMIT, vmx->idt.limit);

	/* The guest sees its own values; the CPU runs with the fixed bits. */
	cr0 = (vmx->cr0 | vmx_cfg.cr0_fixed0) & vmx_cfg.cr0_fixed1;
	cr0 &= ~(u64)(X86_CR0_CD | X86_CR0_NW);	/* caches are the host's */
	cr4 = (vmx->cr4 | vmx_cfg.cr4_fixed0) & vmx_cfg.cr4_fixed1;
	vmcs_write(GUEST_CR0, cr0);
	vmcs_write(CR0_READ_SHADOW, vmx->cr0);
	vmcs_write(GUEST_CR4, cr4);
	vmcs_write(CR4_READ_SHADOW, vmx->cr4);
	vmcs_write(GUEST_CR3, vmx->cr3);
	vmcs_write(GUEST_IA32_EFER, vmx->efer);
	entry = vmx_cfg.entry;
	if (vmx->efer & EFER_LMA)
		entry |= VM_ENTRY_IA32E_MODE;
	vmcs_write(VM_ENTRY_CONTROLS, entry);
	for (i = 0; i < 4; i++)
		vmcs_write(GUEST_PDPTR0 + i * 2, vmx->pdptr[i]);
	vmcs_write(GUEST_IA32_PAT, vmx->pat);
	vmcs_write(GUEST_DR7, vmx->dr7);
	vmcs_write(GUEST_SYSENTER_CS, vmx->sysenter_cs);
	vmcs_write(GUEST_SYSENTER_ESP, vmx->sysenter_esp);
	vmcs_write(GUEST_SYSENTER_EIP, vmx->sysenter_eip);
	vmcs_write(TSC_OFFSET, vmx->tsc_offset);
	vmcs_write(EPT_POINTER, vmx_eptp(vmx->vcpu.vm));
}

/* Whether the guest uses PAE paging, whose PDPTEs the VMCS holds. */
static bool vmx_pae_paging(u64 cr0, u64 cr4, u64 efer)
{
	return (cr0 & X86_CR0_PG) && (cr4 & X86_CR4_PAE) && !(efer & EFER_LMA);
}

/*
 * What the guest may have changed without an exit, but an exit handler
 * seldom needs: segments, descriptor tables, CR3, PDPTRs (37 VMREADs in
 * all, 41 under PAE paging).  They stay in the VMCS after an exit until
 * vmx_sync() asks for @parts of them (VMX_LAZY_*).
 */
static void vmx_read_lazy_state(struct vmx_vcpu *vmx, u32 parts)
{
	unsigned long segs = (parts | parts >> VMX_NR_SEGS) &
			     GENMASK(VMX_NR_SEGS - 1, 0);
	int i;

	for_each_set_bit(i, &segs, VMX_NR_SEGS) {
		struct kvm_segment *s = &vmx->seg[i];

		if (parts & VMX_LAZY_SBL(i)) {
			s->selector = vmcs_read(VMX_SEG_FIELD(GUEST_ES_SELECTOR, i));
			s->base = vmcs_read(VMX_SEG_FIELD(GUEST_ES_BASE, i));
			s->limit = vmcs_read(VMX_SEG_FIELD(GUEST_ES_LIMIT, i));
		}
		if (parts & VMX_LAZY_AR(i))
			vmx_seg_from_ar(s, vmcs_read(VMX_SEG_FIELD(GUEST_ES_AR_BYTES, i)));
	}
	if (parts & VMX_LAZY_DT) {
		vmx->gdt.base = vmcs_read(GUEST_GDTR_BASE);
		vmx->gdt.limit = vmcs_read(GUEST_GDTR_LIMIT);
		vmx->idt.base = vmcs_read(GUEST_IDTR_BASE);
		vmx->idt.limit = vmcs_read(GUEST_IDTR_LIMIT);
	}
	if (parts & VMX_LAZY_CR3)
		vmx->cr3 = vmcs_read(GUEST_CR3);
	if ((parts & VMX_LAZY_PDPTR) &&
	    vmx_pae_paging(vmx->cr0, vmx->cr4, vmx->efer))
		for (i = 0; i < 4; i++)
			vmx->pdptr[i] = vmcs_read(GUEST_PDPTR0 + i * 2);
	if (parts & VMX_LAZY_RSP) {
		vmx->vcpu.regs[4] = vmcs_read(GUEST_RSP);
		vmx->vmcs_rsp = vmx->vcpu.regs[4];
	}
}

/*
 * @parts (VMX_LAZY_*) of the lazy state into vmx_vcpu, before anything
 * reads or writes them there.  It stays in the VMCS from an exit on,
 * across returns to userspace and moves (a VMCLEAR writes it into the
 * region): inside KVM_RUN the VMCS is loaded here; from an ioctl it is
 * first made current here, as KVM's vcpu_load() does, which may VMCLEAR
 * it by IPI on the CPU it last ran on (interrupts must be on then).
 */
static void vmx_sync(struct vmx_vcpu *vmx, u32 parts)
{
	bool here;
	int cpu;

	parts &= vmx->stale | (vmx->vcpu.rsp_lazy ? VMX_LAZY_RSP : 0);
	if (!parts)
		return;
	cpu = get_cpu();
	here = vmx->loaded_cpu == cpu;
	if (!here)
		vmx_vcpu_load(&vmx->vcpu, cpu);
	/* Unless its VMPTRLD failed (reported): then it stays stale. */
	if (vmx->loaded_cpu == cpu) {
		vmx_read_lazy_state(vmx, parts);
		vmx->stale &= ~parts;
		if (parts & VMX_LAZY_RSP)
			vmx->vcpu.rsp_lazy = false;
	}
	if (!here)
		vmx->loaded_cpu = -1;
	put_cpu();
}

/*
 * What every exit needs of the guest's state: the rest is lazy, RSP
 * too (mkvm_gprs()), which only a few exits use, as KVM.
 */
static void vmx_read_guest_state(struct vmx_vcpu *vmx)
{
	vmx->rflags = vmcs_read(GUEST_RFLAGS);
	vmx->intr_state = vmcs_read(GUEST_INTERRUPTIBILITY_INFO);
	vmx->vcpu.rip = vmcs_read(GUEST_RIP);
	vmx->exit_rip = vmx->vcpu.rip;
	vmx->vmcs_rflags = vmx->rflags;
	vmx->vmcs_intr_state = vmx->intr_state;
	vmx->vmcs_rip = vmx->vcpu.rip;
	vmx->stale = VMX_LAZY_ALL;
	vmx->vcpu.rsp_lazy = true;
}

/*
 * RSP for mkvm_gprs().  Whatever vmx_sync() managed (it cannot read a
 * VMCS it failed to load, which it reported), regs[4] is the truth
 * from here on, so that a write to it is not lost.
 */
static void vmx_fetch_rsp(struct mkvm_vcpu *vcpu)
{
	vmx_sync(to_vmx(vcpu), VMX_LAZY_RSP);
	vcpu->rsp_lazy = false;
}

/*
 * On the CPU where @arg's VMCS is active, from an IPI, or from VMXOFF
 * (interrupts off): VMCLEAR it, which writes back what the CPU cached
 * and leaves it free to be made active on another CPU.
 */
static void vmx_vmcs_clear_here(void *arg)
{
	struct vmx_vcpu *vmx = arg;

	if (READ_ONCE(vmx->active_cpu) != smp_processor_id())
		return;		/* cleared meanwhile, by VMXOFF */
	vmcs_clear(vmx->vmcs_pa);
	if (__this_cpu_read(vmx_current_vmcs) == vmx->vmcs)
		__this_cpu_write(vmx_current_vmcs, NULL);
	list_del_init(&vmx->active_link);
	vmx->launched = false;
	/* Everything above before the CPU it was active on lets go. */
	smp_store_release(&vmx->active_cpu, -1);
}

/*
 * Before VMXOFF (interrupts off, or in NMI for an emergency restart):
 * every VMCS active here, so that its data is in memory and another
 * CPU may make it active.  In NMI the list is only walked.
 */
static void vmx_vmcs_clear_all_here(void)
{
	struct vmx_vcpu *vmx, *next;

	list_for_each_entry_safe(vmx, next, this_cpu_ptr(&vmx_active),
				 active_link) {
		if (in_nmi())
			vmcs_clear(vmx->vmcs_pa);
		else
			vmx_vmcs_clear_here(vmx);
	}
	__this_cpu_write(vmx_current_vmcs, NULL);
}

/* Make sure the VMCS is active nowhere: on its CPU, by IPI if need be. */
static void vmx_vmcs_clear_active(struct vmx_vcpu *vmx)
{
	/* Pairs with vmx_vmcs_clear_here(): what it did before the -1. */
	int cpu = smp_load_acquire(&vmx->active_cpu);

	/*
	 * If the CPU is going offline its VMXOFF clears the VMCS, before
	 * the IPI can fail (the hotplug callback runs on it while online).
	 */
	if (cpu >= 0) {
		mkvm_cost(MKVM_COST_VMCS_SWITCH);
		smp_call_function_single(cpu, vmx_vmcs_clear_here, vmx, 1);
	}
}

/*
 * The VMCS stays active on the CPU where it last ran, across returns to
 * userspace and preemptions, so that the next entry there is a
 * VMRESUME with nothing rewritten: at most a VMPTRLD if another VMCS
 * was made current there meanwhile.  Only when the vCPU comes to
 * another CPU is the VMCS VMCLEARed on the old one (by IPI, as KVM
 * does), made current here, and the per-CPU host state written
 * again.  Called with preemption off and, where an IPI may be needed,
 * interrupts on (KVM_RUN, or the preempt notifier's sched_in).
 */
static void vmx_vcpu_load(struct mkvm_vcpu *vcpu, int cpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	unsigned long flags;
	u64 fs_base;

	WRITE_ONCE(vcpu->cpu, cpu);
	if (vmx->loaded_cpu == cpu)
		return;
	if (READ_ONCE(vmx->active_cpu) != cpu) {
		vmx_vmcs_clear_active(vmx);
		/* A new VMCS region is VMCLEARed once before its first VMPTRLD. */
		if (!vmx->initialized) {
			mkvm_cost(MKVM_COST_VMCS_SWITCH);
			vmcs_clear(vmx->vmcs_pa);
		}
		if (vmcs_load(vmx->vmcs_pa)) {
			pr_err_once("VMPTRLD failed\n");
			return;
		}
		/*
		 * The controls and the constant fields once: VMCLEAR keeps
		 * them in the region, and a guest's pending debug exceptions,
		 * DEBUGCTL and activity state must survive a move.
		 */
		if (!vmx->initialized) {
			vmx_write_controls(vmx);
			vmx->initialized = true;
		}
		local_irq_save(flags);
		list_add(&vmx->active_link, this_cpu_ptr(&vmx_active));
		WRITE_ONCE(vmx->active_cpu, cpu);
		local_irq_restore(flags);
		this_cpu_write(vmx_current_vmcs, vmx->vmcs);
		vmx->launched = false;
		/* Stale guest translations of an earlier visit may be cached here. */
		vmx->need_flush = true;
		vmx->loaded_cpu = cpu;
		vmx_write_host_state(vmx);
	} else {
		if (this_cpu_read(vmx_current_vmcs) != vmx->vmcs) {
			if (vmcs_load(vmx->vmcs_pa)) {
				pr_err_once("VMPTRLD failed\n");
				return;
			}
			this_cpu_write(vmx_current_vmcs, vmx->vmcs);
		}
		vmx->loaded_cpu = cpu;
	}
	/*
	 * The task's FS base, which the exit loads (a non-null FS is
	 * restored with it): it changes only by the task itself, never
	 * inside KVM_RUN, which loads the vCPU at its start.  host_fs_base
	 * is what HOST_FS_BASE holds (a VMCLEAR keeps it in the region).
	 */
	mkvm_rdmsrl(MSR_FS_BASE, fs_base);
	if (fs_base != vmx->host_fs_base) {
		vmx->host_fs_base = fs_base;
		vmcs_write(HOST_FS_BASE, fs_base);
	}
	if (unlikely(vmx->bitmap_stale)) {
		vmcs_write(MSR_BITMAP, virt_to_phys(vmx->msr_bitmap));
		vmx->bitmap_stale = false;
	}
	/* Another vCPU ran here: keep it from steering this one's branches. */
	if (this_cpu_read(vmx_last_vmcs) != vmx->vmcs) {
		indirect_branch_prediction_barrier();
		this_cpu_write(vmx_last_vmcs, vmx->vmcs);
	}
}

/*
 * KERNEL_GS_BASE, which the guest writes without an exit (SWAPGS, WRMSR
 * passed through), is the guest's from the first entry after a load to
 * the put, as in KVM: the kernel uses it only on the way to userspace
 * and in a task switch, and the put comes before both (the preempt
 * notifier's sched_out runs before the switch).  An exit handled in the
 * kernel neither reads nor writes it.
 */
static void vmx_put_guest_kgsbase(struct vmx_vcpu *vmx)
{
	if (!vmx->kgs_loaded)
		return;
	mkvm_rdmsrl(MSR_KERNEL_GS_BASE, vmx->msr[VMX_KGSBASE]);
	mkvm_wrmsrl(MSR_KERNEL_GS_BASE, vmx->host_kgsbase);
	vmx->kgs_loaded = false;
}

static void vmx_vcpu_put(struct mkvm_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	/* The lazy state stays in the VMCS: vmx_sync() fetches it. */
	vmx_put_guest_kgsbase(vmx);
	vmx->loaded_cpu = -1;
}

static void vmx_flush_tlb(struct mkvm_vcpu *vcpu)
{
	to_vmx(vcpu)->need_flush = true;
}

/* Guest-physical (EPT) and linear (VPID) translations of this vCPU. */
static void vmx_do_flush(struct vmx_vcpu *vmx)
{
	u64 eptp = vmx_eptp(vmx->vcpu.vm);

	if (vmx_cfg.invept_single)
		vmx_invept(VMX_EPT_EXTENT_CONTEXT, eptp);
	else
		vmx_invept(VMX_EPT_EXTENT_GLOBAL, 0);
	if (vmx->vpid) {
		if (vmx_cfg.invvpid_single)
			vmx_invvpid(VMX_VPID_EXTENT_SINGLE_CONTEXT, vmx->vpid);
		else
			vmx_invvpid(VMX_VPID_EXTENT_ALL_CONTEXT, 0);
	}
	vmx->need_flush = false;
}

/* ---- exits --------------------------------------------------------------- */

static u64 vmx_next_rip(struct vmx_vcpu *vmx)
{
	return vmx->vcpu.rip + vmcs_read(VM_EXIT_INSTRUCTION_LEN);
}

static void vmx_inject_event(struct mkvm_vcpu *vcpu, const struct mkvm_event *ev)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	u32 type = ev->type == MKVM_EVENT_INTR ? INTR_TYPE_EXT_INTR :
		   ev->type == MKVM_EVENT_NMI ? INTR_TYPE_NMI_INTR :
		   INTR_TYPE_HARD_EXCEPTION;

	/*
	 * Delivering an NMI blocks NMIs (virtual NMIs): entry refuses one
	 * with blocking already set, which KVM_SET_VCPU_EVENTS can ask for.
	 */
	if (ev->type == MKVM_EVENT_NMI)
		vmx->intr_state &= ~GUEST_INTR_STATE_NMI;
	/* events.c gives no error code in real mode: entry would refuse it. */
	vmx->event = ev->vector | type | INTR_INFO_VALID_MASK |
		     (ev->has_error ? INTR_INFO_DELIVER_CODE_MASK : 0);
	vmx->event_err = ev->error;
}

/* IDT-vectoring information: the event whose delivery the exit interrupted. */
static void vmx_vectoring(struct mkvm_event *ev)
{
	u32 info = vmcs_read(IDT_VECTORING_INFO_FIELD);

	if (!(info & VECTORING_INFO_VALID_MASK))
		return;
	switch (info & VECTORING_INFO_TYPE_MASK) {
	case INTR_TYPE_EXT_INTR:
		ev->type = MKVM_EVENT_INTR;
		break;
	case INTR_TYPE_NMI_INTR:
		/* Not delivered: no blocking yet (vmx_inject_event()). */
		ev->type = MKVM_EVENT_NMI;
		break;
	case INTR_TYPE_HARD_EXCEPTION:
		ev->type = MKVM_EVENT_EXCEPTION;
		break;
	default:		/* INTn, INT3/INTO, INT1 */
		ev->type = MKVM_EVENT_SOFT;
		break;
	}
	ev->vector = info & VECTORING_INFO_VECTOR_MASK;
	ev->has_error = info & VECTORING_INFO_DELIVER_CODE_MASK;
	if (ev->has_error)
		ev->error = vmcs_read(IDT_VECTORING_ERROR_CODE);
}

static void vmx_set_cr2(struct mkvm_vcpu *vcpu, u64 cr2)
{
	to_vmx(vcpu)->cr2 = cr2;	/* loaded into CR2 before VM entry */
}

static void vmx_handle_io(struct vmx_vcpu *vmx, u64 qual, struct mkvm_exit *exit)
{
	exit->reason = MKVM_EXIT_IO;
	exit->io.size = (qual & 7) + 1;
	exit->io.in = qual & BIT(3);
	exit->io.string = qual & BIT(4);
	exit->io.rep = qual & BIT(5);
	exit->io.port = qual >> 16;
	exit->next_rip = vmx_next_rip(vmx);
}

/*
 * A CR access as the exit qualification describes it, for cr.c: the
 * instruction's type, CR, GPR and length, and for LMSW its operand
 * itself (from a register or memory), which the CPU has read.
 */
static void vmx_cr_insn(u64 qual, struct mkvm_sysreg_insn *si)
{
	static const u8 op[] = {
		MKVM_SYSREG_CR_WRITE, MKVM_SYSREG_CR_READ,
		MKVM_SYSREG_CLTS, MKVM_SYSREG_LMSW,
	};

	si->op = op[(qual >> 4) & 3];
	si->reg = qual & 15;
	si->gpr = (qual >> 8) & 15;
	si->mem = qual & BIT(6);
	si->has_msw = si->op == MKVM_SYSREG_LMSW;
	si->msw = (u16)(qual >> LMSW_SOURCE_DATA_SHIFT);
	si->len = vmcs_read(VM_EXIT_INSTRUCTION_LEN);
}

/*
 * MOV to/from CR8: the TPR, the in-kernel LAPIC's if there is one, else
 * kept here (there is no virtual APIC page).
 */
static void vmx_handle_cr(struct vmx_vcpu *vmx, u64 qual, struct mkvm_exit *exit)
{
	int cr = qual & 15, type = (qual >> 4) & 3, gpr = (qual >> 8) & 15;
	struct mkvm_vcpu *vcpu = &vmx->vcpu;

	if (cr != 8 || type > 1) {
		exit->reason = MKVM_EXIT_CR_WRITE;	/* CR0/CR4, CLTS, LMSW */
		vmx_cr_insn(qual, &exit->cr);
		return;
	}
	if (type == 0 && vcpu->apic)
		mkvm_lapic_set_cr8(vcpu, *mkvm_gpr(vcpu, gpr) & 15);
	else if (type == 0)
		vmx->cr8 = *mkvm_gpr(vcpu, gpr) & 15;
	else if (vcpu->apic)
		*mkvm_gpr(vcpu, gpr) = mkvm_lapic_get_cr8(vcpu);
	else
		*mkvm_gpr(vcpu, gpr) = vmx->cr8;
	vcpu->rip = vmx_next_rip(vmx);
}

/*
 * An exit in the middle of an IRET that unblocked NMIs (a fault on its
 * stack pops, an EPT violation there) reports "NMI unblocking due to
 * IRET" (@unblocked: a bit of the exit's interruption information or
 * qualification, which its handler reads anyway): the IRET runs again,
 * so NMIs are blocked again until it completes (SDM 27.2.3).  Not when
 * the exit interrupted an event.
 */
#define VMX_EPT_QUAL_NMI_UNBLOCK	BIT(12)

static void vmx_nmi_reblock(struct vmx_vcpu *vmx, const struct mkvm_exit *exit,
			    bool unblocked)
{
	if (unblocked && !exit->vectoring.type)
		vmx->intr_state |= GUEST_INTR_STATE_NMI;
}

static void vmx_handle_exception(struct vmx_vcpu *vmx, struct mkvm_exit *exit)
{
	u32 info = vmcs_read(VM_EXIT_INTR_INFO);
	u8 vector = info & INTR_INFO_VECTOR_MASK;

	vmx_nmi_reblock(vmx, exit, info & INTR_INFO_UNBLOCK_NMI);
	if ((info & INTR_INFO_INTR_TYPE_MASK) == INTR_TYPE_NMI_INTR) {
		/* The host's NMI, taken by the exit: deliver it to the host. */
		asm volatile("int $2");
		exit->reason = MKVM_EXIT_INTR;
		return;
	}
	switch (vector) {
	case X86_TRAP_MC:
		/* The host's machine check, raised in the host. */
		asm volatile("int $0x12");
		break;
	case X86_TRAP_DB:
		/* The exit qualification holds what DR6 would get. */
		vmx->dr6 = (vmx->dr6 & ~(u64)(DR_TRAP_BITS | DR_STEP | BIT(13))) |
			   (vmcs_read(EXIT_QUALIFICATION) &
			    (DR_TRAP_BITS | DR_STEP | BIT(13)));
		exit->reason = MKVM_EXIT_EXCEPTION;
		exit->exception = (struct mkvm_event){
			.type = MKVM_EVENT_EXCEPTION, .vector = X86_TRAP_DB,
		};
		break;
	case X86_TRAP_AC:
		/* Reflect it; intercepted so a guest cannot loop on it forever. */
		exit->reason = MKVM_EXIT_EXCEPTION;
		exit->exception = (struct mkvm_event){
			.type = MKVM_EVENT_EXCEPTION, .vector = X86_TRAP_AC,
			.has_error = true,
			.error = vmcs_read(VM_EXIT_INTR_ERROR_CODE),
		};
		break;
	case X86_TRAP_UD:
		exit->reason = MKVM_EXIT_EXCEPTION;
		exit->exception = (struct mkvm_event){
			.type = MKVM_EVENT_EXCEPTION, .vector = X86_TRAP_UD,
		};
		break;
	default:
		exit->reason = MKVM_EXIT_UNKNOWN;
		break;
	}
}

/* Translate the VM exit into a generic exit (see struct mkvm_exit). */
static void vmx_handle_exit(struct vmx_vcpu *vmx, u32 reason,
			    struct mkvm_exit *exit)
{
	u64 qual;

	exit->hw_reason = reason;
	exit->reason = MKVM_EXIT_NONE;

	if (reason & VMX_EXIT_REASONS_FAILED_VMENTRY) {
		exit->reason = MKVM_EXIT_FAIL_ENTRY;
		return;
	}
	switch ((u16)reason) {
	case EXIT_REASON_EXCEPTION_NMI:
		vmx_handle_exception(vmx, exit);
		break;
	case EXIT_REASON_EXTERNAL_INTERRUPT:
	case EXIT_REASON_INIT_SIGNAL:
	case EXIT_REASON_SIPI_SIGNAL:
		exit->reason = MKVM_EXIT_INTR;
		break;
	case EXIT_REASON_INTERRUPT_WINDOW:
		vmx->irq_window = false;
		exit->reason = MKVM_EXIT_IRQ_WINDOW;
		break;
	case EXIT_REASON_NMI_WINDOW:
		vmx->nmi_window = false;
		exit->reason = MKVM_EXIT_NMI_WINDOW;
		break;
	case EXIT_REASON_IO_INSTRUCTION:
		vmx_handle_io(vmx, vmcs_read(EXIT_QUALIFICATION), exit);
		break;
	case EXIT_REASON_EPT_VIOLATION:
		exit->reason = MKVM_EXIT_NPF;
		qual = vmcs_read(EXIT_QUALIFICATION);
		exit->npf.gpa = vmcs_read(GUEST_PHYSICAL_ADDRESS);
		exit->npf.write = qual & EPT_VIOLATION_ACC_WRITE;
		exit->npf.fetch = qual & EPT_VIOLATION_ACC_INSTR;
		exit->npf.present = qual & EPT_VIOLATION_RWX_MASK;
		/*
		 * Bit 8 clear: an access to a paging-structure entry (with
		 * bit 7, "linear address valid", set) or one that did not
		 * come from a linear address at all (PAE PDPTE loads); KVM
		 * counts both as PFERR_GUEST_PAGE.
		 */
		exit->npf.walk = !(qual & EPT_VIOLATION_GVA_TRANSLATED);
		vmx_nmi_reblock(vmx, exit, qual & VMX_EPT_QUAL_NMI_UNBLOCK);
		break;
	case EXIT_REASON_HLT:
		exit->reason = MKVM_EXIT_HLT;
		exit->next_rip = vmx_next_rip(vmx);
		break;
	case EXIT_REASON_CPUID:
		exit->reason = MKVM_EXIT_CPUID;
		exit->next_rip = vmx_next_rip(vmx);
		break;
	case EXIT_REASON_MSR_READ:
		exit->reason = MKVM_EXIT_RDMSR;
		exit->next_rip = vmx_next_rip(vmx);
		break;
	case EXIT_REASON_MSR_WRITE:
		exit->reason = MKVM_EXIT_WRMSR;
		exit->next_rip = vmx_next_rip(vmx);
		break;
	case EXIT_REASON_XSETBV:
		exit->reason = MKVM_EXIT_XSETBV;
		exit->next_rip = vmx_next_rip(vmx);
		break;
	case EXIT_REASON_CR_ACCESS:
		vmx_handle_cr(vmx, vmcs_read(EXIT_QUALIFICATION), exit);
		break;
	case EXIT_REASON_DR_ACCESS:
		exit->reason = MKVM_EXIT_DR_ACCESS;
		qual = vmcs_read(EXIT_QUALIFICATION);
		exit->dr.dr = qual & 7;
		exit->dr.write = !(qual & BIT(4));
		exit->dr.insn = (struct mkvm_sysreg_insn){
			.op = exit->dr.write ? MKVM_SYSREG_DR_WRITE :
					       MKVM_SYSREG_DR_READ,
			.reg = exit->dr.dr,
			.gpr = DEBUG_REG_ACCESS_REG(qual),
			.len = vmcs_read(VM_EXIT_INSTRUCTION_LEN),
		};
		break;
	case EXIT_REASON_INVD:
		exit->reason = MKVM_EXIT_INVD;
		exit->next_rip = vmx_next_rip(vmx);
		break;
	case EXIT_REASON_WBINVD:	/* also WBNOINVD */
		exit->reason = MKVM_EXIT_WBINVD;
		exit->next_rip = vmx_next_rip(vmx);
		break;
	case EXIT_REASON_RDPMC:
		exit->reason = MKVM_EXIT_RDPMC;
		exit->next_rip = vmx_next_rip(vmx);
		break;
	case EXIT_REASON_VMCALL:
		exit->reason = MKVM_EXIT_HYPERCALL;
		exit->next_rip = vmx_next_rip(vmx);
		break;
	case EXIT_REASON_VMCLEAR:
	case EXIT_REASON_VMLAUNCH:
	case EXIT_REASON_VMPTRLD:
	case EXIT_REASON_VMPTRST:
	case EXIT_REASON_VMREAD:
	case EXIT_REASON_VMRESUME:
	case EXIT_REASON_VMWRITE:
	case EXIT_REASON_VMOFF:
	case EXIT_REASON_VMON:
	case EXIT_REASON_INVEPT:
	case EXIT_REASON_INVVPID:
	case EXIT_REASON_VMFUNC:
		/* The guest's CPUID has no VMX. */
		exit->reason = MKVM_EXIT_UD;
		break;
	case EXIT_REASON_MWAIT_INSTRUCTION:
	case EXIT_REASON_MONITOR_INSTRUCTION:
		exit->reason = MKVM_EXIT_MWAIT;
		exit->next_rip = vmx_next_rip(vmx);
		break;
	case EXIT_REASON_TRIPLE_FAULT:
		/* The guest's state stays as it was, as with kvm_intel. */
		exit->reason = MKVM_EXIT_SHUTDOWN;
		break;
	default:
		/* EPT misconfiguration included: a bug, reported to userspace. */
		exit->reason = MKVM_EXIT_UNKNOWN;
		break;
	}
}

/*
 * The guest's MSRs that VMX does not switch.  The SYSCALL MSRs change
 * only by an intercepted WRMSR and matter to the host only in userspace:
 * user-return MSRs (uret.c), written only where they differ.
 * KERNEL_GS_BASE goes in at the first entry after a load and stays
 * until the put (vmx_put_guest_kgsbase()).
 */
static_assert(VMX_SFMASK - VMX_STAR == MKVM_URET_SFMASK - MKVM_URET_STAR);

static void vmx_load_guest_msrs(struct vmx_vcpu *vmx)
{
	int i;

	for (i = VMX_STAR; i <= VMX_SFMASK; i++)
		mkvm_uret_set(MKVM_URET_STAR + i - VMX_STAR, vmx->msr[i]);
	if (!vmx->kgs_loaded) {
		mkvm_rdmsrl(MSR_KERNEL_GS_BASE, vmx->host_kgsbase);
		mkvm_wrmsrl(MSR_KERNEL_GS_BASE, vmx->msr[VMX_KGSBASE]);
		vmx->kgs_loaded = true;
	}
}

/*
 * The host's PMU may want some MSRs different while a guest runs: its
 * counters of events that exclude the guest stopped in
 * PERF_GLOBAL_CTRL, and PEBS off, since PEBS writes its records through
 * linear addresses, which in the guest are the guest's.  perf lists
 * them (none without an Intel PMU); those that differ go into the VM
 * entry and VM exit MSR-load lists, so that the switch is atomic with
 * the world switch (a PMI in between cannot undo it).
 */
static void vmx_perf_msrs(struct vmx_vcpu *vmx)
{
	struct perf_guest_switch_msr *msrs;
	int i, nr = 0, n = 0;

	msrs = perf_guest_get_msrs(&nr, NULL);
	for (i = 0; msrs && i < nr && n < VMX_PERF_MSRS; i++) {
		if (msrs[i].host == msrs[i].guest)
			continue;
		vmx->perf_guest[n] = (struct vmx_msr_entry){
			.index = msrs[i].msr, .value = msrs[i].guest };
		vmx->perf_host[n] = (struct vmx_msr_entry){
			.index = msrs[i].msr, .value = msrs[i].host };
		n++;
	}
	if (n != vmx->perf_nr) {
		vmcs_write(VM_ENTRY_MSR_LOAD_COUNT, n);
		vmcs_write(VM_EXIT_MSR_LOAD_COUNT, n);
		vmx->perf_nr = n;
	}
}

/*
 * The guest-state and control fields that can change between two runs,
 * each written only when it differs from what the VMCS holds (an exit
 * handled in the kernel mostly moves RIP alone).  The VM-entry
 * interruption information is written only for an event: every VM exit
 * clears its valid bit, and vmx_clear_entry_event() clears it after an
 * entry that failed.
 */
static void vmx_write_entry_fields(struct vmx_vcpu *vmx, u32 cpu_ctl)
{
	struct mkvm_vcpu *vcpu = &vmx->vcpu;
	bool all = vmx->fresh;

	if (all || vcpu->rip != vmx->vmcs_rip) {
		vmcs_write(GUEST_RIP, vcpu->rip);
		vmx->vmcs_rip = vcpu->rip;
	}
	/* Still only in the VMCS (rsp_lazy): unchanged. */
	if (!vcpu->rsp_lazy && (all || vcpu->regs[4] != vmx->vmcs_rsp)) {
		vmcs_write(GUEST_RSP, vcpu->regs[4]);
		vmx->vmcs_rsp = vcpu->regs[4];
	}
	if (all || vmx->rflags != vmx->vmcs_rflags) {
		vmcs_write(GUEST_RFLAGS, vmx->rflags);
		vmx->vmcs_rflags = vmx->rflags;
	}
	if (all || vmx->intr_state != vmx->vmcs_intr_state) {
		vmcs_write(GUEST_INTERRUPTIBILITY_INFO, vmx->intr_state);
		vmx->vmcs_intr_state = vmx->intr_state;
	}
	if (all || vmx->event) {
		vmcs_write(VM_ENTRY_INTR_INFO_FIELD, vmx->event);
		if (vmx->event & INTR_INFO_DELIVER_CODE_MASK)
			vmcs_write(VM_ENTRY_EXCEPTION_ERROR_CODE, vmx->event_err);
	}
	vmx->vmcs_event = vmx->event || all;
	if (all || cpu_ctl != vmx->vmcs_cpu_ctl) {
		vmcs_write(CPU_BASED_VM_EXEC_CONTROL, cpu_ctl);
		vmx->vmcs_cpu_ctl = cpu_ctl;
	}
	vmx->fresh = false;
}

/* After a failed entry: no event waits in the VMCS for the next one. */
static void vmx_clear_entry_event(struct vmx_vcpu *vmx)
{
	if (vmx->vmcs_event)
		vmcs_write(VM_ENTRY_INTR_INFO_FIELD, 0);
	vmx->vmcs_event = false;
}

static void vmx_vcpu_run(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	u64 debugctl, host_dr7;
	u16 ds, es, fs, gs, ldt;
	struct desc_ptr gdt, idt;
	u32 cpu_ctl, reason;
	int failed;

	if (vmx->loaded_cpu != smp_processor_id()) {
		exit->reason = MKVM_EXIT_FAIL_ENTRY;
		exit->hw_reason = 0;
		return;
	}
	if (vmx->need_flush || !vmx->vpid)
		vmx_do_flush(vmx);
	if (vmx->dirty) {
		/* Writes all of it: the lazy part must be current too. */
		vmx_sync(vmx, VMX_LAZY_ALL);
		vmx_write_guest_state(vmx);
		vmx->dirty = false;
		if (vmx->reset) {	/* dirty too */
			vmcs_write(GUEST_PENDING_DBG_EXCEPTIONS, 0);
			vmcs_write(GUEST_IA32_DEBUGCTL, 0);
			vmcs_write(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_ACTIVE);
			vmx->reset = false;
		}
	}
	if (__read_cr3() != vmx->host_cr3) {
		vmx->host_cr3 = __read_cr3();
		vmcs_write(HOST_CR3, vmx->host_cr3);
	}
	if (cr4_read_shadow() != vmx->host_cr4) {
		vmx->host_cr4 = cr4_read_shadow();
		vmcs_write(HOST_CR4, vmx->host_cr4);
	}
	/* The core completed the instruction: its interrupt shadow is over. */
	if (vcpu->rip != vmx->exit_rip)
		vmx->intr_state &= ~(GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS);
	cpu_ctl = vmx_cfg.cpu;
	if (vmx->irq_window)
		cpu_ctl |= CPU_BASED_INTR_WINDOW_EXITING;
	if (vmx->nmi_window)
		cpu_ctl |= CPU_BASED_NMI_WINDOW_EXITING;
	vmx_write_entry_fields(vmx, cpu_ctl);

	/* What VM exit loads with fixed values, and the kernel needs back. */
	savesegment(ds, ds);
	savesegment(es, es);
	savesegment(fs, fs);
	savesegment(gs, gs);
	asm volatile("sldt %0" : "=r" (ldt));
	native_store_gdt(&gdt);
	store_idt(&idt);
	mkvm_rdmsrl(MSR_IA32_DEBUGCTLMSR, debugctl);
	get_debugreg(host_dr7, 7);

	vmx_load_guest_msrs(vmx);
	if (vcpu->xcr0_switch)
		mkvm_xsetbv(XCR_XFEATURE_ENABLED_MASK, vcpu->xcr0);
	if (vmx->cr2 != native_read_cr2())
		native_write_cr2(vmx->cr2);

	vmx_perf_msrs(vmx);
	if (vmx_l1d_mode != VMX_L1D_NEVER)
		vmx_l1d_flush(vcpu);

	/* RCU: guest mode is a quiescent state, as user mode (run.c). */
	guest_context_enter_irqoff();
	failed = mkvm_vmx_enter(vcpu->regs, vmx->launched);
	/*
	 * Legacy IBRS (the kernel sets it on entry, spectre_v2=ibrs) protects
	 * only once written after a switch from a less privileged predictor
	 * mode: write it again before any indirect branch, as kvm_intel does.
	 * SPEC_CTRL is never the guest's, so the value is the host's.
	 */
	if (cpu_feature_enabled(X86_FEATURE_KERNEL_IBRS))
		mkvm_native_wrmsrl(MSR_IA32_SPEC_CTRL, spec_ctrl_current());
	guest_context_exit_irqoff();

	vmx->cr2 = native_read_cr2();
	if (vcpu->xcr0_switch)
		mkvm_xsetbv(XCR_XFEATURE_ENABLED_MASK, mkvm_get_host_xcr0());
	/* Exit left GDTR/IDTR limits at 0xffff, TR's limit at 0x67, DR7 0. */
	native_load_gdt(&gdt);
	native_load_idt(&idt);
	invalidate_tss_limit();
	if (ldt)
		asm volatile("lldt %0" : : "r" (ldt));
	if (ds)
		loadsegment(ds, ds);
	if (es)
		loadsegment(es, es);
	if (fs) {
		loadsegment(fs, fs);
		mkvm_wrmsrl(MSR_FS_BASE, vmx->host_fs_base);
	}
	if (gs) {
		/* It sets KERNEL_GS_BASE: the guest's out, the host's after. */
		mkvm_rdmsrl(MSR_KERNEL_GS_BASE, vmx->msr[VMX_KGSBASE]);
		vmx->kgs_loaded = false;
		load_gs_index(gs);
		mkvm_wrmsrl(MSR_KERNEL_GS_BASE, vmx->host_kgsbase);
	}
	if (debugctl)
		update_debugctlmsr(debugctl);
	if (host_dr7 & (DR_LOCAL_ENABLE_MASK | DR_GLOBAL_ENABLE_MASK))
		set_debugreg(host_dr7, 7);

	vmx->event = 0;
	if (failed) {
		/* VMfailValid/VMfailInvalid: nothing of the guest ran. */
		vmx_clear_entry_event(vmx);
		exit->reason = MKVM_EXIT_FAIL_ENTRY;
		exit->hw_reason = vmcs_read(VM_INSTRUCTION_ERROR);
		return;
	}
	reason = vmcs_read(VM_EXIT_REASON);
	if (reason & VMX_EXIT_REASONS_FAILED_VMENTRY) {
		vmx_clear_entry_event(vmx);
		/*
		 * The guest state was refused: nothing of it changed, and the
		 * VMCS is not launched (the next try is a VMLAUNCH again).
		 */
		vmx_handle_exit(vmx, reason, exit);
		return;
	}
	vmx->launched = true;
	/* A VM exit clears the event's valid bit. */
	vmx->vmcs_event = false;
	vmx_read_guest_state(vmx);
	exit->rip = vmx->vcpu.rip;
	exit->tf = vmx->rflags & X86_EFLAGS_TF;
	/*
	 * MOV DR always exits (before DR7.GD's #DB: dr.c emulates GD) and
	 * #DB is intercepted, so DR7 changes in the guest at most where a
	 * #DB is delivered into it, which clears GD: read back only while
	 * GD is set.
	 */
	if (vmx->dr7 & MKVM_DR7_GD)
		vmx->dr7 = vmcs_read(GUEST_DR7);

	/* What the exit interrupted goes to the core's queue (events.c). */
	vmx_vectoring(&exit->vectoring);
	vmx_handle_exit(vmx, reason, exit);
}

/* ---- state --------------------------------------------------------------- */

static void vmx_get_sregs(struct mkvm_vcpu *vcpu, struct kvm_sregs *r)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	vmx_sync(vmx, VMX_LAZY_ALL);
	r->es = vmx->seg[VMX_ES];
	r->cs = vmx->seg[VMX_CS];
	r->ss = vmx->seg[VMX_SS];
	r->ds = vmx->seg[VMX_DS];
	r->fs = vmx->seg[VMX_FS];
	r->gs = vmx->seg[VMX_GS];
	r->ldt = vmx->seg[VMX_LDTR];
	r->tr = vmx->seg[VMX_TR];
	r->gdt = vmx->gdt;
	r->idt = vmx->idt;
	r->cr0 = vmx->cr0;
	r->cr2 = vmx->cr2;
	r->cr3 = vmx->cr3;
	r->cr4 = vmx->cr4;
	r->cr8 = vmx->cr8;
	r->efer = vmx->efer;
}

/* PAE paging: VM entry takes the PDPTEs from the VMCS, not from memory. */
static void vmx_load_pdptrs(struct vmx_vcpu *vmx)
{
	struct mkvm_vm *vm = vmx->vcpu.vm;
	int idx;

	idx = srcu_read_lock(&vm->srcu);
	if (mkvm_read_guest(vm, vmx->cr3 & ~0x1fULL, vmx->pdptr,
			    sizeof(vmx->pdptr)))
		memset(vmx->pdptr, 0, sizeof(vmx->pdptr));
	srcu_read_unlock(&vm->srcu, idx);
}

static void vmx_set_seg(struct kvm_segment *d, const struct kvm_segment *s,
			bool accessed)
{
	*d = *s;
	/* Unrestricted guest wants the accessed bit (as KVM sets it). */
	if (accessed && d->present && !d->unusable)
		d->type |= 1;
}

static void vmx_set_sregs(struct mkvm_vcpu *vcpu, const struct kvm_sregs *r)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	/* The PDPTRs are kept outside PAE paging. */
	vmx_sync(vmx, VMX_LAZY_ALL);
	vmx_set_seg(&vmx->seg[VMX_ES], &r->es, true);
	vmx_set_seg(&vmx->seg[VMX_CS], &r->cs, true);
	vmx_set_seg(&vmx->seg[VMX_SS], &r->ss, true);
	vmx_set_seg(&vmx->seg[VMX_DS], &r->ds, true);
	vmx_set_seg(&vmx->seg[VMX_FS], &r->fs, true);
	vmx_set_seg(&vmx->seg[VMX_GS], &r->gs, true);
	vmx_set_seg(&vmx->seg[VMX_LDTR], &r->ldt, false);
	vmx_set_seg(&vmx->seg[VMX_TR], &r->tr, true);
	vmx->gdt = r->gdt;
	vmx->idt = r->idt;
	vmx->cr0 = r->cr0;
	vmx->cr2 = r->cr2;
	vmx->cr3 = r->cr3;
	vmx->cr4 = r->cr4;
	vmx->cr8 = r->cr8 & 15;
	vmx->efer = r->efer;
	if (vmx_pae_paging(vmx->cr0, vmx->cr4, vmx->efer))
		vmx_load_pdptrs(vmx);
	/*
	 * Every lazy field is the caller's now, even where vmx_sync() could
	 * not make the VMCS current (its VMPTRLD failed): the next entry's
	 * sync must not read the VMCS's older ones over them.
	 */
	vmx->stale = 0;
	vmx->dirty = true;
}

static u64 vmx_get_rflags(struct mkvm_vcpu *vcpu)
{
	return to_vmx(vcpu)->rflags;
}

static void vmx_set_rflags(struct mkvm_vcpu *vcpu, u64 rflags)
{
	to_vmx(vcpu)->rflags = rflags;
}

static u64 vmx_get_dr(struct mkvm_vcpu *vcpu, int n)
{
	return n == 6 ? to_vmx(vcpu)->dr6 : to_vmx(vcpu)->dr7;
}

/* DR6 has no VMCS field: the guest only sees it through MOV DR exits. */
static void vmx_set_dr(struct mkvm_vcpu *vcpu, int n, u64 val)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	if (n == 6) {
		vmx->dr6 = val;
	} else {
		vmx->dr7 = val;
		vmx->dirty = true;
	}
}

static u64 *vmx_msr_field(struct vmx_vcpu *vmx, u32 index)
{
	int i;

	/* An intercepted access inside KVM_RUN: the guest's value is out. */
	if (index == MSR_KERNEL_GS_BASE && vmx->kgs_loaded) {
		preempt_disable();
		vmx_put_guest_kgsbase(vmx);	/* unless sched_out did */
		preempt_enable();
	}

	for (i = 0; i < VMX_NR_MSRS; i++)
		if (vmx_switched_msrs[i] == index)
			return &vmx->msr[i];
	switch (index) {
	case MSR_FS_BASE:
		vmx_sync(vmx, VMX_LAZY_SEG(VMX_FS));
		return &vmx->seg[VMX_FS].base;
	case MSR_GS_BASE:
		vmx_sync(vmx, VMX_LAZY_SEG(VMX_GS));
		return &vmx->seg[VMX_GS].base;
	case MSR_IA32_SYSENTER_CS:
		return &vmx->sysenter_cs;
	case MSR_IA32_SYSENTER_ESP:
		return &vmx->sysenter_esp;
	case MSR_IA32_SYSENTER_EIP:
		return &vmx->sysenter_eip;
	default:
		return NULL;
	}
}

static void vmx_set_msr_intercept(struct mkvm_vcpu *vcpu, u32 msr, bool read,
				  bool write)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	/* Pairs with vmx_own_msr_map(): the copy is there before the pointer. */
	unsigned long *own = smp_load_acquire(&vmx->own_msr_bitmap);

	if (!own)
		return;		/* the shared bitmap passes every one of them */
	/*
	 * Called before an entry, so the VMCS is loaded here (minikvm.h),
	 * unless its VMPTRLD failed: then the next good load writes it.
	 */
	if (vmx->msr_bitmap != own) {
		vmx->msr_bitmap = own;
		if (vmx->loaded_cpu == smp_processor_id())
			vmcs_write(MSR_BITMAP, virt_to_phys(own));
		else
			vmx->bitmap_stale = true;
	}
	vmx_msr_intercept(own, msr, read, write);
}

static int vmx_own_msr_map(struct mkvm_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	void *bitmap;

	if (vmx->own_msr_bitmap)
		return 0;
	bitmap = (void *)__get_free_page(GFP_KERNEL_ACCOUNT);
	if (!bitmap)
		return -ENOMEM;
	copy_page(bitmap, page_address(vmx_msr_bitmap));
	/* The copy before the pointer: see vmx_set_msr_intercept(). */
	smp_store_release(&vmx->own_msr_bitmap, bitmap);
	return 0;
}

static int vmx_get_msr(struct mkvm_vcpu *vcpu, u32 index, u64 *data)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	u64 *field = vmx_msr_field(vmx, index);

	if (field) {
		*data = *field;
		return 0;
	}
	switch (index) {
	case MSR_EFER:
		*data = vmx->efer;
		return 0;
	case MSR_IA32_CR_PAT:
		*data = vmx->pat;
		return 0;
	case MSR_IA32_TSC:
		*data = rdtsc() + vmx->tsc_offset;
		return 0;
	default:
		return -ENOENT;
	}
}

static int vmx_set_msr(struct mkvm_vcpu *vcpu, u32 index, u64 data)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	u64 *field = vmx_msr_field(vmx, index);

	if (field) {
		*field = data;
		vmx->dirty = true;
		return 0;
	}
	switch (index) {
	case MSR_EFER:
		/* LMA is the CPU's to set; keep it as it is. */
		vmx->efer = (data & ~EFER_LMA) | (vmx->efer & EFER_LMA);
		break;
	case MSR_IA32_CR_PAT:
		vmx->pat = data;
		break;
	case MSR_IA32_TSC:
		vmx->tsc_offset = data - rdtsc();
		break;
	default:
		return -ENOENT;
	}
	vmx->dirty = true;
	return 0;
}

static u64 vmx_get_tsc_offset(struct mkvm_vcpu *vcpu)
{
	return to_vmx(vcpu)->tsc_offset;
}

static void vmx_set_tsc_offset(struct mkvm_vcpu *vcpu, u64 offset)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	vmx->tsc_offset = offset;
	vmx->dirty = true;
}

static bool vmx_in_interrupt_shadow(struct mkvm_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	/* STI/MOV SS shadow the next instruction only: not once it is done. */
	return (vmx->intr_state & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS)) &&
	       vmx->exit_rip == vcpu->rip;
}

/*
 * KVM_SET_VCPU_EVENTS: a shadow over the instruction at RIP.  Blocking
 * by STI needs RFLAGS.IF set at entry; without it, blocking by MOV SS.
 */
static void vmx_set_interrupt_shadow(struct mkvm_vcpu *vcpu, bool on)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	vmx->intr_state &= ~(GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS);
	if (!on)
		return;
	vmx->intr_state |= vmx->rflags & X86_EFLAGS_IF ? GUEST_INTR_STATE_STI :
			   GUEST_INTR_STATE_MOV_SS;
	vmx->exit_rip = vcpu->rip;
}

static bool vmx_interrupt_allowed(struct mkvm_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	return (vmx->rflags & X86_EFLAGS_IF) && !vmx_in_interrupt_shadow(vcpu);
}

/* Virtual NMIs: the CPU tracks blocking by NMI in the interruptibility. */
static bool vmx_nmi_allowed(struct mkvm_vcpu *vcpu)
{
	return !(to_vmx(vcpu)->intr_state & GUEST_INTR_STATE_NMI) &&
	       !vmx_in_interrupt_shadow(vcpu);
}

static bool vmx_get_nmi_mask(struct mkvm_vcpu *vcpu)
{
	return to_vmx(vcpu)->intr_state & GUEST_INTR_STATE_NMI;
}

static void vmx_set_nmi_mask(struct mkvm_vcpu *vcpu, bool masked)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	if (masked)
		vmx->intr_state |= GUEST_INTR_STATE_NMI;
	else
		vmx->intr_state &= ~GUEST_INTR_STATE_NMI;
}

/* NMI-window exiting: an exit once neither NMI nor MOV SS blocks one. */
static void vmx_enable_nmi_window(struct mkvm_vcpu *vcpu, bool enable)
{
	to_vmx(vcpu)->nmi_window = enable;
}

static u64 vmx_get_cr0(struct mkvm_vcpu *vcpu)
{
	return to_vmx(vcpu)->cr0;
}

/* Every CR4 write exits (CR4_GUEST_HOST_MASK is all ones): never stale. */
static u64 vmx_get_cr4(struct mkvm_vcpu *vcpu)
{
	return to_vmx(vcpu)->cr4;
}

static u64 vmx_get_cr3(struct mkvm_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	vmx_sync(vmx, VMX_LAZY_CR3);
	return vmx->cr3;
}

/* Every EFER write exits (WRMSR, or LMA through a CR0 write). */
static u64 vmx_get_efer(struct mkvm_vcpu *vcpu)
{
	return to_vmx(vcpu)->efer;
}

/* MKVM_SEG_ES..MKVM_SEG_GS are VMX_ES..VMX_GS. */
static void vmx_get_segment(struct mkvm_vcpu *vcpu, int seg,
			    struct kvm_segment *k)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	BUILD_BUG_ON((int)MKVM_SEG_ES != VMX_ES || (int)MKVM_SEG_GS != VMX_GS);
	vmx_sync(vmx, VMX_LAZY_SEG(seg));
	*k = vmx->seg[seg];
}

/* The attributes read anew; selector, base and limit perhaps old. */
static void vmx_get_seg_attr(struct mkvm_vcpu *vcpu, int seg,
			     struct kvm_segment *k)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	vmx_sync(vmx, VMX_LAZY_AR(seg));
	*k = vmx->seg[seg];
}

/* Ask for an exit as soon as the guest can take an interrupt. */
static void vmx_enable_irq_window(struct mkvm_vcpu *vcpu, bool enable)
{
	to_vmx(vcpu)->irq_window = enable;
}

/* EPT: 4 levels (48-bit guest-physical addresses), whatever the host uses. */
static int vmx_npt_levels(void)
{
	return 4;
}

static u64 vmx_npt_table_entry(u64 pa)
{
	return pa | VMX_EPT_RWX_MASK;
}

/* Leaves are write-back; the guest's PAT still applies (no IPAT). */
static u64 vmx_npt_leaf_entry(u64 pa, bool writable)
{
	return pa | VMX_EPT_READABLE_MASK | VMX_EPT_EXECUTABLE_MASK |
	       (writable ? VMX_EPT_WRITABLE_MASK : 0) |
	       (VMX_EPTP_MT_WB << VMX_EPT_MT_EPTE_SHIFT);
}

/* EPT's 2 MiB pages are a capability (IA32_VMX_EPT_VPID_CAP bit 16). */
static bool vmx_npt_has_huge(void)
{
	return vmx_ept_2m;
}

/* A 2 MiB leaf (level 2, bit 7). */
static u64 vmx_npt_huge_entry(u64 pa, bool writable)
{
	return vmx_npt_leaf_entry(pa, writable) | MKVM_PT_HUGE;
}

static bool vmx_npt_present(u64 entry)
{
	return entry & VMX_EPT_RWX_MASK;
}

const struct mkvm_backend_ops mkvm_vmx_ops = {
	.name			= "Intel VMX",
	.probe			= vmx_probe,
	.hardware_setup		= vmx_hardware_setup,
	.hardware_unsetup	= vmx_hardware_unsetup,
	.cpu_enable		= vmx_cpu_enable,
	.cpu_disable		= vmx_cpu_disable,
	.vcpu_size		= sizeof(struct vmx_vcpu),
	.vcpu_create		= vmx_vcpu_create,
	.vcpu_reset		= vmx_vcpu_reset,
	.vcpu_free		= vmx_vcpu_free,
	.vcpu_load		= vmx_vcpu_load,
	.vcpu_put		= vmx_vcpu_put,
	.vcpu_run		= vmx_vcpu_run,
	.get_sregs		= vmx_get_sregs,
	.set_sregs		= vmx_set_sregs,
	.get_rflags		= vmx_get_rflags,
	.set_rflags		= vmx_set_rflags,
	.get_dr			= vmx_get_dr,
	.set_dr			= vmx_set_dr,
	.get_msr		= vmx_get_msr,
	.set_msr		= vmx_set_msr,
	.set_msr_intercept	= vmx_set_msr_intercept,
	.own_msr_map		= vmx_own_msr_map,
	.get_tsc_offset		= vmx_get_tsc_offset,
	.set_tsc_offset		= vmx_set_tsc_offset,
	.get_cr0		= vmx_get_cr0,
	.get_cr4		= vmx_get_cr4,
	.get_cr3		= vmx_get_cr3,
	.get_efer		= vmx_get_efer,
	.fetch_rsp		= vmx_fetch_rsp,
	.get_segment		= vmx_get_segment,
	.get_seg_attr		= vmx_get_seg_attr,
	.interrupt_allowed	= vmx_interrupt_allowed,
	.nmi_allowed		= vmx_nmi_allowed,
	.get_nmi_mask		= vmx_get_nmi_mask,
	.set_nmi_mask		= vmx_set_nmi_mask,
	.enable_nmi_window	= vmx_enable_nmi_window,
	.inject_event		= vmx_inject_event,
	.set_cr2		= vmx_set_cr2,
	.enable_irq_window	= vmx_enable_irq_window,
	.in_interrupt_shadow	= vmx_in_interrupt_shadow,
	.set_interrupt_shadow	= vmx_set_interrupt_shadow,
	.npt_levels		= vmx_npt_levels,
	.npt_table_entry	= vmx_npt_table_entry,
	.npt_leaf_entry		= vmx_npt_leaf_entry,
	.npt_has_huge		= vmx_npt_has_huge,
	.npt_huge_entry		= vmx_npt_huge_entry,
	.npt_present		= vmx_npt_present,
	.flush_tlb		= vmx_flush_tlb,
};
