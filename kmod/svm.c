// SPDX-License-Identifier: GPL-2.0
/*
 * AMD SVM backend: one VMCB per vCPU, nested paging (NPT), ASIDs per CPU
 * with a generation counter, and the translation of #VMEXIT codes into
 * the core's generic exits.  The world switch is svm_entry.S.
 *
 * Intercepted: every port, every MSR but the FS/GS bases and
 * KERNEL_GS_BASE, CR0 and CR4 writes, every debug-register access,
 * RDTSCP, RDPMC, the SVM instructions, HLT, CPUID, INVD, WBINVD, XSETBV,
 * MONITOR/MWAIT, RDPRU, shutdown, physical interrupts, NMI, SMI, and
 * #AC, #DB, #MC, #UD; IRET while the guest handles an NMI.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cc_platform.h>
#include <linux/kvm_host.h>
#include <linux/mm.h>
#include <linux/io.h>
#include <linux/percpu.h>
#include <asm/cpufeature.h>
#include <asm/msr.h>
#include <asm/msr-index.h>
#include <asm/processor.h>
#include <asm/svm.h>

#include <linux/slab.h>
#include <asm/fpu/xcr.h>
#include <asm/nospec-branch.h>
#include <asm/debugreg.h>
#include <asm/trap_pf.h>
#include <asm/traps.h>
#include <asm/irq_vectors.h>

#include "minikvm.h"
#include "svm_clean.h"

struct svm_vcpu {
	struct mkvm_vcpu vcpu;
	struct vmcb *vmcb;
	u64 vmcb_pa;
	u32 asid;
	u64 asid_generation;
	int asid_cpu;
	u64 efer;		/* the guest's EFER; the VMCB's may lack LME */
	/*
	 * Its MSR permission map: svm_msrpm, shared, until the filter denies
	 * one of the pass-through MSRs; then own_msrpm, a copy less what the
	 * filter denies (allocated by svm_own_msr_map(), which may run
	 * while the vCPU does: it takes it at its next intercept change).
	 */
	unsigned long *msrpm;
	unsigned long *own_msrpm;
	/*
	 * NMI blocking, which SVM leaves to the hypervisor: set when an NMI
	 * is injected, with IRET intercepted; the IRET's exit comes before
	 * it runs, so blocking ends at the first exit at another RIP.  To
	 * get that exit when another NMI waits, the guest single-steps the
	 * IRET (TF, and RF so that no breakpoint fires twice) as in KVM.
	 */
	bool nmi_masked;
	bool nmi_iret;		/* IRET seen, at nmi_iret_rip: not done yet */
	u64 nmi_iret_rip;
	bool nmi_singlestep;	/* TF and RF set by us: the guest's in ... */
	u64 nmi_guest_rflags;	/* ... the TF and RF bits of this */
	/*
	 * An external interrupt injected as a virtual interrupt (V_IRQ, not
	 * EVENTINJ) for this entry: svm_inject_event() explains why.
	 */
	bool virq;
	/*
	 * The host's VMSAVE state (FS/GS bases, KERNEL_GS_BASE, TR, LDTR,
	 * the SYSCALL and SYSENTER MSRs) is in this CPU's host_save since
	 * this vCPU was loaded: the task's, which do not change while it
	 * runs in the kernel.  As KVM, once per load, not per entry.
	 */
	bool host_saved;
	/*
	 * Where the VMCB last ran: its clean bits (svm_clean_*) hold only
	 * for the CPU that cached its state, and only while SVM stayed on
	 * there (svm_cpu.on_generation).
	 */
	int clean_cpu;
	u64 clean_on_generation;
#ifdef MKVM_CHECKS
	struct vmcb *clean_shadow;	/* the VMCB as the last #VMEXIT left it */
#endif
};

static struct svm_vcpu *to_svm(struct mkvm_vcpu *vcpu)
{
	return container_of(vcpu, struct svm_vcpu, vcpu);
}

/* A field of @group was written: the next VMRUN must reload the group. */
static void svm_dirty(struct vmcb_control_area *c, enum svm_clean group)
{
	c->clean &= ~BIT(group);
}

/* int_ctl and int_vector, which the TPR group covers: dirty on change. */
static void svm_set_int_ctl(struct vmcb_control_area *c, u32 int_ctl)
{
	if (c->int_ctl != int_ctl) {
		c->int_ctl = int_ctl;
		svm_dirty(c, SVM_CLEAN_TPR);
	}
}

/* Per CPU: VM_HSAVE_PA, the host's VMSAVE area, ASIDs, last VMCB run. */
struct svm_cpu {
	struct page *hsave;
	struct page *host_save;
	u32 max_asid;
	u32 next_asid;
	u64 asid_generation;
	u64 on_generation;	/* counts svm_cpu_enable()s */
	struct vmcb *last_vmcb;
};

static DEFINE_PER_CPU(struct svm_cpu, svm_cpu);

/*
 * Permission maps: every port intercepted (shared by every VMCB); every
 * MSR but those VMRUN and VMLOAD/VMSAVE switch (see svm_pass_msr()),
 * shared by every vCPU until its VM's MSR filter denies one of those:
 * the vCPU then has a copy that intercepts what the filter denies.
 */
static struct page *svm_iopm, *svm_msrpm;
#define SVM_IOPM_ORDER	2	/* 12 KiB used */
#define SVM_MSRPM_ORDER	1	/* 8 KiB */

/*
 * Let the guest read and write @msr without an exit
 * (MKVM_PASSTHROUGH_MSRS: their guest values live in the VMCB, loaded
 * and saved by VMRUN and VMLOAD/VMSAVE).  The map has two bits per MSR
 * (read, write) in three 2 KiB ranges: 0-0x1fff, 0xc0000000-,
 * 0xc0010000-.
 */
static void svm_msr_intercept(unsigned long *map, u32 msr, bool read,
			      bool write)
{
	u32 range = msr >= 0xc0010000 ? 2 : msr >= 0xc0000000 ? 1 : 0;
	u32 bit = range * 2048 * 8 + (msr & 0x1fff) * 2;

	__assign_bit(bit, map, read);
	__assign_bit(bit + 1, map, write);
}

static void svm_pass_msr(u32 msr)
{
	svm_msr_intercept(page_address(svm_msrpm), msr, false, false);
}

static void svm_set_msr_intercept(struct mkvm_vcpu *vcpu, u32 msr, bool read,
				  bool write)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	/* Pairs with svm_own_msr_map(): the copy is there before the pointer. */
	unsigned long *own = smp_load_acquire(&svm->own_msrpm);

	if (!own)
		return;		/* the shared map passes every one of them */
	if (svm->msrpm != own) {
		svm->msrpm = own;
		svm->vmcb->control.msrpm_base_pa = virt_to_phys(own);
		svm_dirty(&svm->vmcb->control, SVM_CLEAN_IOPM);
	}
	svm_msr_intercept(own, msr, read, write);
}

static int svm_own_msr_map(struct mkvm_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct page *page;

	if (svm->own_msrpm)
		return 0;
	page = alloc_pages(GFP_KERNEL_ACCOUNT, SVM_MSRPM_ORDER);
	if (!page)
		return -ENOMEM;
	memcpy(page_address(page), page_address(svm_msrpm),
	       PAGE_SIZE << SVM_MSRPM_ORDER);
	/* The copy before the pointer: see svm_set_msr_intercept(). */
	smp_store_release(&svm->own_msrpm, page_address(page));
	return 0;
}

static bool svm_nrips __read_mostly;

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
	svm_nrips = boot_cpu_has(X86_FEATURE_NRIPS);
	return 1;
}

static void svm_hardware_unsetup(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct svm_cpu *sc = per_cpu_ptr(&svm_cpu, cpu);

		if (sc->hsave)
			__free_page(sc->hsave);
		if (sc->host_save)
			__free_page(sc->host_save);
		sc->hsave = NULL;
		sc->host_save = NULL;
	}
	if (svm_iopm)
		__free_pages(svm_iopm, SVM_IOPM_ORDER);
	if (svm_msrpm)
		__free_pages(svm_msrpm, SVM_MSRPM_ORDER);
	svm_iopm = NULL;
	svm_msrpm = NULL;
}

static int svm_hardware_setup(void)
{
	static const u32 pass[] = MKVM_PASSTHROUGH_MSRS;
	u32 nasid = cpuid_ebx(SVM_CPUID_FUNC);
	int cpu, i;

	svm_iopm = alloc_pages(GFP_KERNEL, SVM_IOPM_ORDER);
	svm_msrpm = alloc_pages(GFP_KERNEL, SVM_MSRPM_ORDER);
	if (!svm_iopm || !svm_msrpm)
		goto nomem;
	memset(page_address(svm_iopm), 0xff, PAGE_SIZE << SVM_IOPM_ORDER);
	memset(page_address(svm_msrpm), 0xff, PAGE_SIZE << SVM_MSRPM_ORDER);
	for (i = 0; i < ARRAY_SIZE(pass); i++)
		svm_pass_msr(pass[i]);

	for_each_possible_cpu(cpu) {
		struct svm_cpu *sc = per_cpu_ptr(&svm_cpu, cpu);

		sc->hsave = alloc_pages_node(cpu_to_node(cpu),
					     GFP_KERNEL | __GFP_ZERO, 0);
		sc->host_save = alloc_pages_node(cpu_to_node(cpu),
						 GFP_KERNEL | __GFP_ZERO, 0);
		if (!sc->hsave || !sc->host_save)
			goto nomem;
		/* ASID 0 is the host's. */
		sc->max_asid = nasid ? nasid - 1 : 0;
		sc->next_asid = sc->max_asid + 1;
	}
	if (!nasid || nasid < 2) {
		pr_err("SVM reports no ASIDs for guests\n");
		svm_hardware_unsetup();
		return -ENODEV;
	}
#ifdef MKVM_CHECKS
	i = svm_clean_selftest();
	if (i) {
		svm_hardware_unsetup();
		return i;
	}
#endif
	return 0;

nomem:
	svm_hardware_unsetup();
	return -ENOMEM;
}

static int svm_cpu_enable(void)
{
	struct svm_cpu *sc = this_cpu_ptr(&svm_cpu);
	u64 efer;

	rdmsrl(MSR_EFER, efer);
	if (efer & EFER_SVME)
		return -EBUSY;

	wrmsrl(MSR_EFER, efer | EFER_SVME);
	wrmsrl(MSR_VM_HSAVE_PA, page_to_phys(sc->hsave));
	/* Fresh ASIDs: whatever this CPU cached is stale; VMCB state too. */
	sc->asid_generation++;
	sc->on_generation++;
	sc->next_asid = sc->max_asid + 1;
	sc->last_vmcb = NULL;
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

/* ---- VMCB --------------------------------------------------------------- */

/*
 * The VMCB's EFER carries LME only together with LMA (KVM does the same
 * with shadow paging only): the guest's LME alone (long mode armed,
 * paging still off) stays in svm->efer and reaches the VMCB when the
 * intercepted CR0 write that turns paging on sets LMA.  A VMCB with LME
 * set and paging off is legal, but it buys nothing (the guest runs in
 * legacy mode either way) and QEMU's SVM model mishandles it: on #VMEXIT
 * it restores the host's CR0 while the guest's EFER is still loaded, and
 * with LME set and PAE clear it drops the host's CR0 -- the host then
 * runs with paging off, GIF clear, and that CPU is lost.
 */
static void svm_write_efer(struct svm_vcpu *svm, u64 efer)
{
	svm->efer = efer;
	if (!(efer & EFER_LMA))
		efer &= ~EFER_LME;
	svm->vmcb->save.efer = efer | EFER_SVME;
	svm_dirty(&svm->vmcb->control, SVM_CLEAN_CRX);
}

static void svm_set_intercept(struct vmcb_control_area *c, int bit)
{
	if (!(c->intercepts[bit / 32] & BIT(bit % 32))) {
		c->intercepts[bit / 32] |= BIT(bit % 32);
		svm_dirty(c, SVM_CLEAN_I);
	}
}

static void svm_clr_intercept(struct vmcb_control_area *c, int bit)
{
	if (c->intercepts[bit / 32] & BIT(bit % 32)) {
		c->intercepts[bit / 32] &= ~BIT(bit % 32);
		svm_dirty(c, SVM_CLEAN_I);
	}
}

static void svm_seg_init(struct vmcb_seg *seg, u16 type)
{
	seg->selector = 0;
	seg->attrib = SVM_SELECTOR_P_MASK | SVM_SELECTOR_S_MASK | type;
	seg->limit = 0xffff;
	seg->base = 0;
}

/*
 * The VMCB for RESET and INIT: the intercepts and, of the architectural
 * state, the part that is SVM's (segments as kvm_amd sets them: no
 * accessed bits, a 16-bit busy TSS); regs.c writes the rest.  The whole
 * VMCB is cleared first, as kvm_amd does after a shutdown (it is
 * undefined then), so the MSRs it holds (STAR, SYSENTER, ...) start at
 * 0 on both.  Keeping them across an INIT IPI, as KVM does, is for the
 * in-kernel irqchip that sends them.
 */
static void svm_vcpu_reset(struct mkvm_vcpu *vcpu, bool init)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_control_area *c = &svm->vmcb->control;
	struct vmcb_save_area *s = &svm->vmcb->save;
	u64 tsc_offset = init ? c->tsc_offset : 0;	/* INIT keeps the TSC */
	static const int intercepts[] = {
		INTERCEPT_INTR, INTERCEPT_NMI, INTERCEPT_SMI, INTERCEPT_CPUID,
		INTERCEPT_INVD, INTERCEPT_HLT, INTERCEPT_INVLPGA,
		INTERCEPT_IOIO_PROT, INTERCEPT_MSR_PROT, INTERCEPT_SHUTDOWN,
		INTERCEPT_VMRUN, INTERCEPT_VMMCALL, INTERCEPT_VMLOAD,
		INTERCEPT_VMSAVE, INTERCEPT_STGI, INTERCEPT_CLGI,
		INTERCEPT_SKINIT, INTERCEPT_MONITOR, INTERCEPT_MWAIT,
		INTERCEPT_MWAIT_COND, INTERCEPT_XSETBV, INTERCEPT_RDPRU,
		INTERCEPT_RDTSCP, INTERCEPT_RDPMC, INTERCEPT_WBINVD,
		INTERCEPT_CR0_WRITE, INTERCEPT_CR4_WRITE,
	};
	/*
	 * INIT keeps the MSRs the VMCB holds (SYSCALL, SYSENTER,
	 * KERNEL_GS_BASE), as the CPU and KVM do; RESET clears them.
	 */
	u64 msrs[] = { s->star, s->lstar, s->cstar, s->sfmask,
		       s->kernel_gs_base, s->sysenter_cs, s->sysenter_esp,
		       s->sysenter_eip };
	unsigned int i;

	memset(svm->vmcb, 0, PAGE_SIZE);	/* every clean bit too */
	svm->nmi_masked = false;
	svm->nmi_iret = false;
	svm->nmi_singlestep = false;
	if (init) {
		s->star = msrs[0];
		s->lstar = msrs[1];
		s->cstar = msrs[2];
		s->sfmask = msrs[3];
		s->kernel_gs_base = msrs[4];
		s->sysenter_cs = msrs[5];
		s->sysenter_esp = msrs[6];
		s->sysenter_eip = msrs[7];
	}
	for (i = 0; i < ARRAY_SIZE(intercepts); i++)
		svm_set_intercept(c, intercepts[i]);
	/* DR0-7 reads (bits 0-7) and writes (bits 16-23): see dr.c. */
	c->intercepts[INTERCEPT_DR] = 0x00ff00ff;
	/* #UD for the core's hypercall patching (exits.c). */
	c->intercepts[INTERCEPT_EXCEPTION] = BIT(X86_TRAP_AC) |
					     BIT(X86_TRAP_DB) | BIT(X86_TRAP_MC) |
					     BIT(X86_TRAP_UD);
	c->iopm_base_pa = page_to_phys(svm_iopm);
	c->msrpm_base_pa = virt_to_phys(svm->msrpm);
	/* The guest's IF masks only virtual interrupts, never the host's. */
	c->int_ctl = V_INTR_MASKING_MASK;
	c->nested_ctl = SVM_NESTED_CTL_NP_ENABLE;
	c->nested_cr3 = mkvm_mmu_root_pa(svm->vcpu.vm);
	c->tsc_offset = tsc_offset;

	svm_seg_init(&s->cs, SVM_SELECTOR_CODE_MASK | SVM_SELECTOR_READ_MASK);
	s->cs.selector = 0xf000;
	s->cs.base = 0xffff0000;
	svm_seg_init(&s->ds, SVM_SELECTOR_WRITE_MASK);
	s->es = s->ds;
	s->ss = s->ds;
	s->fs = s->ds;
	s->gs = s->ds;
	s->ldtr.attrib = SVM_SELECTOR_P_MASK | 2;
	s->ldtr.limit = 0xffff;
	s->tr.attrib = SVM_SELECTOR_P_MASK | 3;
	s->tr.limit = 0xffff;
	s->gdtr.limit = 0xffff;
	s->idtr.limit = 0xffff;
	svm_write_efer(svm, 0);

	svm->asid_generation = 0;	/* a new ASID at the next entry */
}

static int svm_vcpu_create(struct mkvm_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct page *page = alloc_page(GFP_KERNEL_ACCOUNT);

	if (!page)
		return -ENOMEM;
	svm->vmcb = page_address(page);
	svm->vmcb_pa = page_to_phys(page);
	svm->msrpm = page_address(svm_msrpm);
	svm->asid_cpu = -1;
	svm->clean_cpu = -1;
#ifdef MKVM_CHECKS
	svm->clean_shadow = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!svm->clean_shadow) {
		__free_page(page);
		return -ENOMEM;
	}
#endif
	return 0;
}

static void svm_vcpu_free(struct mkvm_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	int cpu;

	/* No CPU may think this VMCB is still the one it last ran. */
	for_each_possible_cpu(cpu)
		cmpxchg(&per_cpu_ptr(&svm_cpu, cpu)->last_vmcb, svm->vmcb, NULL);
	free_page((unsigned long)svm->vmcb);
#ifdef MKVM_CHECKS
	free_page((unsigned long)svm->clean_shadow);
#endif
	if (svm->own_msrpm)
		free_pages((unsigned long)svm->own_msrpm, SVM_MSRPM_ORDER);
}

static void svm_vcpu_load(struct mkvm_vcpu *vcpu, int cpu)
{
	WRITE_ONCE(vcpu->cpu, cpu);
}

static void svm_vcpu_put(struct mkvm_vcpu *vcpu)
{
	to_svm(vcpu)->host_saved = false;
}

/*
 * Whether the VMM has an LDT (modify_ldt()): another of its threads may
 * install a new one by IPI while this vCPU runs, and free the old one,
 * so its host state is saved at every entry, not once per load.
 */
static bool svm_task_has_ldt(void)
{
#ifdef CONFIG_MODIFY_LDT_SYSCALL
	return current->mm && READ_ONCE(current->mm->context.ldt);
#else
	return false;
#endif
}

/* VMSAVE of the host's state; a fault: SVM was switched off under us. */
static void svm_vmsave(u64 pa)
{
	asm volatile("1: vmsave %%rax\n\t"
		     "2:\n\t"
		     _ASM_EXTABLE(1b, 2b)
		     : : "a" (pa) : "memory");
}

/* A fresh ASID when the vCPU changed CPU or its generation is stale. */
static void svm_pick_asid(struct svm_vcpu *svm, struct svm_cpu *sc, int cpu)
{
	struct vmcb_control_area *c = &svm->vmcb->control;

	c->tlb_ctl = TLB_CONTROL_DO_NOTHING;
	if (svm->asid_cpu == cpu && svm->asid_generation == sc->asid_generation)
		return;
	if (sc->next_asid > sc->max_asid) {
		sc->asid_generation++;
		sc->next_asid = 1;
		c->tlb_ctl = TLB_CONTROL_FLUSH_ALL_ASID;
		mkvm_cost(MKVM_COST_TLB_FLUSH);
	}
	svm->asid = sc->next_asid++;
	svm->asid_generation = sc->asid_generation;
	svm->asid_cpu = cpu;
	c->asid = svm->asid;
	svm_dirty(c, SVM_CLEAN_ASID);
}

static void svm_flush_tlb(struct mkvm_vcpu *vcpu)
{
	to_svm(vcpu)->asid_generation = 0;
}

/* ---- exits -------------------------------------------------------------- */

/*
 * RIP after the intercepted instruction.  Without NRIP save: 0, and the
 * length of its opcode, for the core to add the prefixes it reads.
 */
static u64 svm_next_rip(struct svm_vcpu *svm, struct mkvm_exit *exit,
			unsigned int len)
{
	if (svm_nrips)
		return svm->vmcb->control.next_rip;
	exit->insn_len = len;
	return 0;
}

static bool svm_interrupt_allowed(struct mkvm_vcpu *vcpu);

/*
 * Make @vector the guest's virtual interrupt: taken at the first
 * instruction boundary where RFLAGS.IF = 1 and no interrupt shadow
 * holds it (V_INTR_MASKING), whatever V_TPR says (the LAPIC or
 * userspace already chose it).  The CPU clears V_IRQ when the guest
 * takes it; svm_virq_done() reads that back after the exit.
 */
static void svm_set_virq(struct vmcb_control_area *c, u8 vector)
{
	svm_set_int_ctl(c, (c->int_ctl & ~V_INTR_PRIO_MASK) | V_IRQ_MASK |
			   V_IGN_TPR_MASK | 0xf << V_INTR_PRIO_SHIFT);
	if (c->int_vector != vector) {
		c->int_vector = vector;
		svm_dirty(c, SVM_CLEAN_TPR);
	}
}

/*
 * Whether the entry's virtual interrupt was taken; if not, it goes back
 * to the core's queue as an interrupt the exit kept from delivery,
 * exactly as an EVENTINJ interrupt would through EXITINTINFO.
 */
static void svm_virq_done(struct svm_vcpu *svm, struct mkvm_event *vectoring)
{
	struct vmcb_control_area *c = &svm->vmcb->control;

	if (!svm->virq)
		return;
	svm->virq = false;
	if (!(c->int_ctl & V_IRQ_MASK))
		return;
	svm_set_int_ctl(c, c->int_ctl &
			   ~(V_IRQ_MASK | V_IGN_TPR_MASK | V_INTR_PRIO_MASK));
	/*
	 * Nothing else can have been in delivery: no instruction ran and
	 * no event was delivered while V_IRQ stayed pending with IF = 1.
	 * QEMU's TCG leaves V_IRQ set when the delivery itself exits, with
	 * EXITINTINFO naming the same interrupt.
	 */
	if (vectoring->type != MKVM_EVENT_NONE &&
	    vectoring->vector != c->int_vector) {
		pr_warn_once("virtual interrupt and EXITINTINFO both pending\n");
		return;
	}
	/*
	 * TCG's EXITINTINFO says "exception" for it: below vector 32 (a
	 * real-mode PIC's vectors) svm_vectoring() could not tell it from
	 * one.  It is the interrupt, and never has an error code.
	 */
	*vectoring = (struct mkvm_event){ .type = MKVM_EVENT_INTR,
					  .vector = c->int_vector };
}

static void svm_inject_event(struct mkvm_vcpu *vcpu, const struct mkvm_event *ev)
{
	struct vmcb_control_area *c = &to_svm(vcpu)->vmcb->control;
	u32 type = ev->type == MKVM_EVENT_INTR ? SVM_EVTINJ_TYPE_INTR :
		   ev->type == MKVM_EVENT_NMI ? SVM_EVTINJ_TYPE_NMI :
		   SVM_EVTINJ_TYPE_EXEPT;

	/*
	 * An external interrupt the guest can take now goes in as a virtual
	 * interrupt: it is delivered at the same point as through EVENTINJ
	 * (before the first instruction), but leaves the CPU in a state an
	 * exit cannot deliver twice.  Under QEMU's TCG (the test rig's SVM),
	 * an EVENTINJ interrupt is delivered at VMRUN and again, whatever
	 * RFLAGS.IF says, if QEMU's vCPU thread is kicked before the next
	 * exit (Documentation/qemu.rst, "Found so far").  Any vector: a
	 * real-mode guest's PIC uses 8-15 (SeaBIOS's timer is vector 8).
	 * When an interrupt window is wanted as well,
	 * svm_enable_irq_window() moves it back to EVENTINJ, since the
	 * window needs V_IRQ.
	 */
	if (ev->type == MKVM_EVENT_INTR && svm_interrupt_allowed(vcpu)) {
		svm_set_virq(c, ev->vector);
		svm_clr_intercept(c, INTERCEPT_VINTR);
		to_svm(vcpu)->virq = true;
		return;
	}
	c->event_inj = ev->vector | type | SVM_EVTINJ_VALID |
		       (ev->has_error ? SVM_EVTINJ_VALID_ERR : 0);
	c->event_inj_err = ev->error;
	if (ev->type == MKVM_EVENT_NMI) {
		to_svm(vcpu)->nmi_masked = true;
		to_svm(vcpu)->nmi_iret = false;
		svm_set_intercept(c, INTERCEPT_IRET);
	}
}

/* The #DB of a single step begun by svm_enable_nmi_window(): over. */
static void svm_nmi_singlestep_done(struct svm_vcpu *svm)
{
	u64 ours = (X86_EFLAGS_TF | X86_EFLAGS_RF) & ~svm->nmi_guest_rflags;

	svm->vmcb->save.rflags &= ~ours;
	svm->nmi_singlestep = false;
}

/*
 * EXITINTINFO: the event whose delivery the exit interrupted.  INT3 and
 * INTO are exceptions to SVM, software events to the core.
 */
static void svm_vectoring(const struct vmcb_control_area *c,
			  struct mkvm_event *ev)
{
	u32 info = c->exit_int_info;
	u8 vector = info & SVM_EXITINTINFO_VEC_MASK;

	if (!(info & SVM_EXITINTINFO_VALID))
		return;
	switch (info & SVM_EXITINTINFO_TYPE_MASK) {
	case SVM_EXITINTINFO_TYPE_INTR:
		ev->type = MKVM_EVENT_INTR;
		break;
	case SVM_EXITINTINFO_TYPE_NMI:
		ev->type = MKVM_EVENT_NMI;
		break;
	case SVM_EXITINTINFO_TYPE_EXEPT:
		/*
		 * Exceptions are vectors 0-31.  QEMU's TCG reports a virtual
		 * interrupt (svm_set_virq()) whose delivery exited as an
		 * exception of its vector; hardware says INTR.
		 */
		if (vector >= FIRST_EXTERNAL_VECTOR)
			ev->type = MKVM_EVENT_INTR;
		else if (vector == X86_TRAP_BP || vector == X86_TRAP_OF)
			ev->type = MKVM_EVENT_SOFT;
		else
			ev->type = MKVM_EVENT_EXCEPTION;
		break;
	default:
		ev->type = MKVM_EVENT_SOFT;
		break;
	}
	ev->vector = vector;
	ev->has_error = info & SVM_EXITINTINFO_VALID_ERR;
	ev->error = c->exit_int_info_err;
}

static void svm_set_cr2(struct mkvm_vcpu *vcpu, u64 cr2)
{
	struct vmcb *vmcb = to_svm(vcpu)->vmcb;

	vmcb->save.cr2 = cr2;
	svm_dirty(&vmcb->control, SVM_CLEAN_CR2);
}

static void svm_handle_io(struct svm_vcpu *svm, struct mkvm_exit *exit)
{
	u32 info = svm->vmcb->control.exit_info_1;

	exit->reason = MKVM_EXIT_IO;
	exit->io.port = info >> 16;
	exit->io.in = info & SVM_IOIO_TYPE_MASK;
	exit->io.string = info & SVM_IOIO_STR_MASK;
	exit->io.rep = info & SVM_IOIO_REP_MASK;
	exit->io.size = (info & SVM_IOIO_SIZE_MASK) >> SVM_IOIO_SIZE_SHIFT;
	/* IOIO always saves the next RIP in EXITINFO2. */
	exit->next_rip = svm->vmcb->control.exit_info_2;
}

/* Translate the #VMEXIT into a generic exit (see struct mkvm_exit). */
/* The MSRs in the VMCB's save area that an INIT keeps. */
static void svm_clear_init_msrs(struct vmcb_save_area *s)
{
	s->star = 0;
	s->lstar = 0;
	s->cstar = 0;
	s->sfmask = 0;
	s->kernel_gs_base = 0;
	s->sysenter_cs = 0;
	s->sysenter_esp = 0;
	s->sysenter_eip = 0;
}

static void svm_handle_exit(struct svm_vcpu *svm, struct mkvm_exit *exit)
{
	struct vmcb_control_area *c = &svm->vmcb->control;
	u64 code = c->exit_code;

	exit->hw_reason = code;
	exit->reason = MKVM_EXIT_NONE;

	switch (code) {
	case SVM_EXIT_INTR:
	case SVM_EXIT_NMI:
	case SVM_EXIT_SMI:
		exit->reason = MKVM_EXIT_INTR;
		break;
	case SVM_EXIT_VINTR:
		svm_clr_intercept(c, INTERCEPT_VINTR);
		svm_set_int_ctl(c, c->int_ctl & ~V_IRQ_MASK);
		exit->reason = MKVM_EXIT_IRQ_WINDOW;
		break;
	case SVM_EXIT_IRET:
		/* It has not run yet: blocking ends once RIP moves on. */
		svm_clr_intercept(c, INTERCEPT_IRET);
		svm->nmi_iret = true;
		svm->nmi_iret_rip = svm->vmcb->save.rip;
		exit->reason = MKVM_EXIT_NMI_WINDOW;
		break;
	case SVM_EXIT_IOIO:
		svm_handle_io(svm, exit);
		break;
	case SVM_EXIT_NPF:
		exit->reason = MKVM_EXIT_NPF;
		exit->npf.gpa = c->exit_info_2;
		exit->npf.present = c->exit_info_1 & X86_PF_PROT;
		exit->npf.write = c->exit_info_1 & X86_PF_WRITE;
		exit->npf.fetch = c->exit_info_1 & X86_PF_INSTR;
		/* Bit 33: on a guest page-table access during the walk. */
		exit->npf.walk = c->exit_info_1 & PFERR_GUEST_PAGE_MASK;
		break;
	case SVM_EXIT_HLT:
		exit->reason = MKVM_EXIT_HLT;
		exit->next_rip = svm_next_rip(svm, exit, 1);
		break;
	case SVM_EXIT_CPUID:
		exit->reason = MKVM_EXIT_CPUID;
		exit->next_rip = svm_next_rip(svm, exit, 2);
		break;
	case SVM_EXIT_MSR:
		exit->reason = c->exit_info_1 ? MKVM_EXIT_WRMSR : MKVM_EXIT_RDMSR;
		exit->next_rip = svm_next_rip(svm, exit, 2);
		break;
	case SVM_EXIT_WRITE_CR0:
	case SVM_EXIT_WRITE_CR4:
		exit->reason = MKVM_EXIT_CR_WRITE;
		break;
	case SVM_EXIT_READ_DR0 ... SVM_EXIT_READ_DR7:
	case SVM_EXIT_WRITE_DR0 ... SVM_EXIT_WRITE_DR7:
		exit->reason = MKVM_EXIT_DR_ACCESS;
		exit->dr.dr = code & 7;
		exit->dr.write = code >= SVM_EXIT_WRITE_DR0;
		break;
	case SVM_EXIT_XSETBV:
		exit->reason = MKVM_EXIT_XSETBV;
		exit->next_rip = svm_next_rip(svm, exit, 3);
		break;
	case SVM_EXIT_RDTSCP:
		exit->reason = MKVM_EXIT_RDTSCP;
		exit->next_rip = svm_next_rip(svm, exit, 3);
		break;
	case SVM_EXIT_INVD:
		exit->reason = MKVM_EXIT_INVD;
		exit->next_rip = svm_next_rip(svm, exit, 2);
		break;
	case SVM_EXIT_WBINVD:
		/* Also WBNOINVD (F3 0F 09): the core counts the prefix. */
		exit->reason = MKVM_EXIT_WBINVD;
		exit->next_rip = svm_next_rip(svm, exit, 2);
		break;
	case SVM_EXIT_RDPMC:
		exit->reason = MKVM_EXIT_RDPMC;
		exit->next_rip = svm_next_rip(svm, exit, 2);
		break;
	case SVM_EXIT_VMMCALL:
		exit->reason = MKVM_EXIT_HYPERCALL;
		exit->next_rip = svm_next_rip(svm, exit, 3);
		break;
	case SVM_EXIT_VMRUN:
	case SVM_EXIT_VMLOAD:
	case SVM_EXIT_VMSAVE:
	case SVM_EXIT_STGI:
	case SVM_EXIT_CLGI:
	case SVM_EXIT_SKINIT:
	case SVM_EXIT_INVLPGA:
	case SVM_EXIT_RDPRU:
		/* The guest's CPUID has no SVM or RDPRU. */
		exit->reason = MKVM_EXIT_UD;
		break;
	case SVM_EXIT_MONITOR:
	case SVM_EXIT_MWAIT:
	case SVM_EXIT_MWAIT_COND:
		exit->reason = MKVM_EXIT_MWAIT;
		exit->next_rip = svm_next_rip(svm, exit, 3);
		break;
	case SVM_EXIT_EXCP_BASE + X86_TRAP_UD:
		exit->reason = MKVM_EXIT_EXCEPTION;
		exit->exception = (struct mkvm_event){
			.type = MKVM_EVENT_EXCEPTION, .vector = X86_TRAP_UD,
		};
		break;
	case SVM_EXIT_EXCP_BASE + X86_TRAP_AC:
		/* Reflect it; intercepted so a guest cannot loop on it forever. */
		exit->reason = MKVM_EXIT_EXCEPTION;
		exit->exception = (struct mkvm_event){
			.type = MKVM_EVENT_EXCEPTION, .vector = X86_TRAP_AC,
			.has_error = true, .error = c->exit_info_1,
		};
		break;
	case SVM_EXIT_EXCP_BASE + X86_TRAP_DB:
		/* Our own single step (as KVM, it swallows the guest's). */
		if (svm->nmi_singlestep) {
			svm_nmi_singlestep_done(svm);
			exit->reason = MKVM_EXIT_NMI_WINDOW;
			break;
		}
		exit->reason = MKVM_EXIT_EXCEPTION;
		exit->exception = (struct mkvm_event){
			.type = MKVM_EVENT_EXCEPTION, .vector = X86_TRAP_DB,
		};
		break;
	case SVM_EXIT_EXCP_BASE + X86_TRAP_MC:
		/* The host's machine check, raised in the host. */
		asm volatile("int $0x12");
		break;
	case SVM_EXIT_SHUTDOWN:
		/*
		 * The VMCB is undefined after a shutdown: as with kvm_amd,
		 * which clears it, the MSRs an INIT keeps do not survive
		 * the INIT that follows (CR0's caching bits and PAT do:
		 * KVM keeps them outside the VMCB).
		 */
		svm_clear_init_msrs(&svm->vmcb->save);
		exit->reason = MKVM_EXIT_SHUTDOWN;
		exit->shutdown.state_lost = true;
		break;
	default:
		/* VMEXIT_INVALID is -1, which QEMU stores as 32 bits. */
		if ((u32)code == (u32)SVM_EXIT_ERR) {
			exit->reason = MKVM_EXIT_FAIL_ENTRY;
			break;
		}
		exit->reason = MKVM_EXIT_UNKNOWN;
		break;
	}
}

#ifdef MKVM_CHECKS
/* After the exit: the VMCB as the CPU left it, for svm_clean_check(). */
static void svm_clean_snapshot(struct svm_vcpu *svm)
{
	memcpy(svm->clean_shadow, svm->vmcb, sizeof(*svm->vmcb));
}

/*
 * Before VMRUN: a group marked clean must be as the last exit left it.
 * If not, a write missed its svm_dirty(): say so (the test rig's log
 * check fails on it) and reload the group, so the guest runs right.
 */
static void svm_clean_check(struct svm_vcpu *svm)
{
	struct vmcb_control_area *c = &svm->vmcb->control;
	u32 bad = svm_clean_violations(svm->vmcb, svm->clean_shadow,
				       c->clean & SVM_CLEAN_ALL);

	if (bad) {
		pr_err_ratelimited("VMCB clean-bit violation: groups %#x written while marked clean (vCPU %u, exit %#x)\n",
				   bad, svm->vcpu.id,
				   svm->clean_shadow->control.exit_code);
		c->clean &= ~bad;
	}
}
#else
static void svm_clean_snapshot(struct svm_vcpu *svm)
{
}

static void svm_clean_check(struct svm_vcpu *svm)
{
}
#endif

static u64 svm_get_rflags(struct mkvm_vcpu *vcpu);

static void svm_vcpu_run(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct svm_cpu *sc = this_cpu_ptr(&svm_cpu);
	struct vmcb_control_area *c = &svm->vmcb->control;
	struct vmcb_save_area *s = &svm->vmcb->save;
	int cpu = smp_processor_id();
	u64 ncr3;

	s->rax = vcpu->regs[0];
	s->rsp = vcpu->regs[4];
	/* The core completed the instruction: its interrupt shadow is over. */
	if (s->rip != vcpu->rip)
		c->int_state &= ~SVM_INTERRUPT_SHADOW_MASK;
	s->rip = vcpu->rip;
	ncr3 = mkvm_mmu_root_pa(vcpu->vm);
	if (c->nested_cr3 != ncr3) {
		c->nested_cr3 = ncr3;
		svm_dirty(c, SVM_CLEAN_NP);
	}
	/* CR8 is V_TPR while the guest runs, the LAPIC's TPR outside. */
	if (vcpu->apic)
		svm_set_int_ctl(c, (c->int_ctl & ~V_TPR_MASK) |
				   mkvm_lapic_get_cr8(vcpu));
	/*
	 * An event goes in while the guest single-steps for an NMI window:
	 * its delivery would push our TF onto the guest's stack, for its
	 * handler's IRET to bring back.  Drop the step: the NMI waits for
	 * the guest's next exit (within a tick where the host CPU's tick
	 * runs; not on a nohz_full CPU), where the window is looked at
	 * again.  KVM forces an exit right after the delivery with a
	 * self-IPI instead; minikvm sends no host interrupt into an
	 * EVENTINJ delivery, the moment at which the test rig's SVM has
	 * delivered an interrupt twice
	 * (Documentation/qemu.rst).
	 */
	if (svm->nmi_singlestep &&
	    (svm->virq || (c->event_inj & SVM_EVTINJ_VALID)))
		svm_nmi_singlestep_done(svm);
	svm_pick_asid(svm, sc, cpu);
	/*
	 * What this CPU cached of the VMCB is only good for the CPU that ran
	 * it last, and only while SVM stayed on there.
	 */
	if (svm->clean_cpu != cpu ||
	    svm->clean_on_generation != sc->on_generation) {
		c->clean = 0;
		svm->clean_cpu = cpu;
		svm->clean_on_generation = sc->on_generation;
	}

	/* Another vCPU ran here: keep it from steering this one's branches. */
	if (sc->last_vmcb != svm->vmcb) {
		indirect_branch_prediction_barrier();
		sc->last_vmcb = svm->vmcb;
	}

	/*
	 * With V_SPEC_CTRL, VMRUN loads SPEC_CTRL from the VMCB and #VMEXIT
	 * puts the host's back: the guest must run with the host's value
	 * (SSBD, STIBP, IBRS as the kernel has them for this task now), or
	 * it would run without them.  Without it SPEC_CTRL is never switched.
	 */
	if (boot_cpu_has(X86_FEATURE_V_SPEC_CTRL))
		s->spec_ctrl = spec_ctrl_current();
	svm_clean_check(svm);
	mkvm_cost_n(MKVM_COST_VMCB_DIRTY, hweight32(SVM_CLEAN_ALL & ~c->clean));

	/* If VMRUN faults (SVM switched off by a reboot), this stays. */
	c->exit_code = SVM_EXIT_ERR;

	asm volatile("clgi" ::: "memory");
	if (vcpu->xcr0_switch)
		mkvm_xsetbv(XCR_XFEATURE_ENABLED_MASK, vcpu->xcr0);

	/*
	 * With V_INTR_MASKING the host's IF at VMRUN decides whether physical
	 * interrupts end the guest's run: set it.  GIF = 0 keeps them pending
	 * until VMRUN; after #VMEXIT (GIF = 0 again) they wait for STGI.
	 */
	if (!svm->host_saved || svm_task_has_ldt()) {
		svm_vmsave(page_to_phys(sc->host_save));
		svm->host_saved = true;
		mkvm_cost(MKVM_COST_VMLOAD_VMSAVE);
	}
	/* VMLOAD and VMSAVE of the guest's state, VMLOAD of the host's. */
	mkvm_cost_n(MKVM_COST_VMLOAD_VMSAVE, 3);
	/* RCU: guest mode is a quiescent state, as user mode (run.c). */
	guest_context_enter_irqoff();
	raw_local_irq_enable();
	mkvm_svm_enter(svm->vmcb_pa, vcpu->regs, page_to_phys(sc->host_save));
	raw_local_irq_disable();
	guest_context_exit_irqoff();

	if (vcpu->xcr0_switch)
		mkvm_xsetbv(XCR_XFEATURE_ENABLED_MASK, mkvm_get_host_xcr0());
	asm volatile("stgi" ::: "memory");
	/*
	 * The CPU holds what it loaded and stored: clean until we write.
	 * Not after a VMRUN that failed its checks or faulted, which may
	 * have cached nothing.  Nothing may write the VMCB between the
	 * VMRUN and here: the checker's snapshot would take it in.
	 */
	c->clean = (u32)c->exit_code == (u32)SVM_EXIT_ERR ? 0 : SVM_CLEAN_ALL;
	svm_clean_snapshot(svm);

	vcpu->regs[0] = s->rax;
	vcpu->regs[4] = s->rsp;
	vcpu->rip = s->rip;
	exit->rip = s->rip;
	exit->tf = svm_get_rflags(vcpu) & X86_EFLAGS_TF;
	if (svm->nmi_iret && s->rip != svm->nmi_iret_rip) {
		svm->nmi_iret = false;
		svm->nmi_masked = false;
	}
	if (vcpu->apic && (c->int_ctl & V_TPR_MASK) != mkvm_lapic_get_cr8(vcpu))
		mkvm_lapic_set_cr8(vcpu, c->int_ctl & V_TPR_MASK);

	/* What the exit interrupted goes to the core's queue (events.c). */
	c->event_inj = 0;
	svm_vectoring(c, &exit->vectoring);
	svm_virq_done(svm, &exit->vectoring);
	svm_handle_exit(svm, exit);
}

/* ---- state -------------------------------------------------------------- */

static void svm_seg_get(const struct vmcb_seg *v, struct kvm_segment *k)
{
	k->base = v->base;
	k->limit = v->limit;
	k->selector = v->selector;
	k->type = v->attrib & SVM_SELECTOR_TYPE_MASK;
	k->s = !!(v->attrib & SVM_SELECTOR_S_MASK);
	k->dpl = (v->attrib & SVM_SELECTOR_DPL_MASK) >> SVM_SELECTOR_DPL_SHIFT;
	k->present = !!(v->attrib & SVM_SELECTOR_P_MASK);
	k->avl = !!(v->attrib & SVM_SELECTOR_AVL_MASK);
	k->l = !!(v->attrib & SVM_SELECTOR_L_MASK);
	k->db = !!(v->attrib & SVM_SELECTOR_DB_MASK);
	k->g = !!(v->attrib & SVM_SELECTOR_G_MASK);
	k->unusable = !k->present;
	k->padding = 0;
}

static void svm_seg_set(struct vmcb_seg *v, const struct kvm_segment *k)
{
	v->base = k->base;
	v->limit = k->limit;
	v->selector = k->selector;
	v->attrib = 0;
	if (k->unusable)
		return;
	v->attrib = (k->type & SVM_SELECTOR_TYPE_MASK) |
		    (k->s ? SVM_SELECTOR_S_MASK : 0) |
		    ((k->dpl & 3) << SVM_SELECTOR_DPL_SHIFT) |
		    (k->present ? SVM_SELECTOR_P_MASK : 0) |
		    (k->avl ? SVM_SELECTOR_AVL_MASK : 0) |
		    (k->l ? SVM_SELECTOR_L_MASK : 0) |
		    (k->db ? SVM_SELECTOR_DB_MASK : 0) |
		    (k->g ? SVM_SELECTOR_G_MASK : 0);
}

/*
 * MKVM_SEG_ES..MKVM_SEG_GS as kvm_amd reports them: a usable data
 * segment as accessed (the CPU's descriptor cache keeps the bit set, and
 * VMX requires it).
 */
static void svm_get_segment(struct mkvm_vcpu *vcpu, int seg,
			    struct kvm_segment *k)
{
	struct vmcb_save_area *s = &to_svm(vcpu)->vmcb->save;

	/* The save area holds ES to GS in x86 order, as MKVM_SEG_* counts. */
	BUILD_BUG_ON(MKVM_SEG_ES != 0 || MKVM_SEG_GS != 5);
	BUILD_BUG_ON(offsetof(struct vmcb_save_area, cs) !=
		     offsetof(struct vmcb_save_area, es) + sizeof(struct vmcb_seg));
	BUILD_BUG_ON(offsetof(struct vmcb_save_area, gs) !=
		     offsetof(struct vmcb_save_area, es) + 5 * sizeof(struct vmcb_seg));
	svm_seg_get((struct vmcb_seg *)((u8 *)&s->es +
					seg * sizeof(struct vmcb_seg)), k);
	if (seg != MKVM_SEG_CS && seg != MKVM_SEG_SS)
		k->type |= k->unusable ? 0 : 1;
}

static void svm_get_sregs(struct mkvm_vcpu *vcpu, struct kvm_sregs *r)
{
	struct vmcb_save_area *s = &to_svm(vcpu)->vmcb->save;

	svm_get_segment(vcpu, MKVM_SEG_ES, &r->es);
	svm_get_segment(vcpu, MKVM_SEG_CS, &r->cs);
	svm_get_segment(vcpu, MKVM_SEG_SS, &r->ss);
	svm_get_segment(vcpu, MKVM_SEG_DS, &r->ds);
	svm_get_segment(vcpu, MKVM_SEG_FS, &r->fs);
	svm_get_segment(vcpu, MKVM_SEG_GS, &r->gs);
	svm_seg_get(&s->tr, &r->tr);
	svm_seg_get(&s->ldtr, &r->ldt);
	/* TR as busy; TR and LDTR are never "unusable". */
	r->tr.type |= 2;
	r->tr.unusable = 0;
	r->gdt.base = s->gdtr.base;
	r->gdt.limit = s->gdtr.limit;
	r->idt.base = s->idtr.base;
	r->idt.limit = s->idtr.limit;
	r->cr0 = s->cr0;
	r->cr2 = s->cr2;
	r->cr3 = s->cr3;
	r->cr4 = s->cr4;
	r->cr8 = to_svm(vcpu)->vmcb->control.int_ctl & V_TPR_MASK;
	r->efer = to_svm(vcpu)->efer;
}

static void svm_set_sregs(struct mkvm_vcpu *vcpu, const struct kvm_sregs *r)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_control_area *c = &svm->vmcb->control;
	struct vmcb_save_area *s = &svm->vmcb->save;

	svm_seg_set(&s->cs, &r->cs);
	svm_seg_set(&s->ds, &r->ds);
	svm_seg_set(&s->es, &r->es);
	svm_seg_set(&s->fs, &r->fs);
	svm_seg_set(&s->gs, &r->gs);
	svm_seg_set(&s->ss, &r->ss);
	svm_seg_set(&s->tr, &r->tr);
	svm_seg_set(&s->ldtr, &r->ldt);
	s->cpl = r->cs.dpl;
	if (!(r->cr0 & X86_CR0_PE))
		s->cpl = 0;
	s->gdtr.base = r->gdt.base;
	s->gdtr.limit = r->gdt.limit;
	s->idtr.base = r->idt.base;
	s->idtr.limit = r->idt.limit;
	s->cr0 = r->cr0;
	s->cr2 = r->cr2;
	s->cr3 = r->cr3;
	s->cr4 = r->cr4;
	svm_set_int_ctl(c, (c->int_ctl & ~V_TPR_MASK) | (r->cr8 & V_TPR_MASK));
	svm_write_efer(svm, r->efer);
	svm_dirty(c, SVM_CLEAN_SEG);
	svm_dirty(c, SVM_CLEAN_DT);
	svm_dirty(c, SVM_CLEAN_CRX);
	svm_dirty(c, SVM_CLEAN_CR2);
}

/* The guest's RFLAGS: not TF and RF while we single-step it. */
static u64 svm_get_rflags(struct mkvm_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	u64 rflags = svm->vmcb->save.rflags;

	if (svm->nmi_singlestep)
		rflags &= ~((X86_EFLAGS_TF | X86_EFLAGS_RF) &
			    ~svm->nmi_guest_rflags);
	return rflags;
}

static void svm_set_rflags(struct mkvm_vcpu *vcpu, u64 rflags)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	if (svm->nmi_singlestep) {
		svm->nmi_guest_rflags = rflags;
		rflags |= X86_EFLAGS_TF | X86_EFLAGS_RF;
	}
	svm->vmcb->save.rflags = rflags;
}

static u64 svm_get_dr(struct mkvm_vcpu *vcpu, int n)
{
	struct vmcb_save_area *s = &to_svm(vcpu)->vmcb->save;

	return n == 6 ? s->dr6 : s->dr7;
}

static void svm_set_dr(struct mkvm_vcpu *vcpu, int n, u64 val)
{
	struct vmcb *vmcb = to_svm(vcpu)->vmcb;

	if (n == 6)
		vmcb->save.dr6 = val;
	else
		vmcb->save.dr7 = val;
	svm_dirty(&vmcb->control, SVM_CLEAN_DRX);
}

/* The guest MSRs that live in the VMCB's save area as they are. */
static u64 *svm_msr_field(struct vmcb_save_area *s, u32 index)
{
	switch (index) {
	case MSR_STAR:
		return &s->star;
	case MSR_LSTAR:
		return &s->lstar;
	case MSR_CSTAR:
		return &s->cstar;
	case MSR_SYSCALL_MASK:
		return &s->sfmask;
	case MSR_KERNEL_GS_BASE:
		return &s->kernel_gs_base;
	case MSR_FS_BASE:
		return &s->fs.base;
	case MSR_GS_BASE:
		return &s->gs.base;
	case MSR_IA32_SYSENTER_CS:
		return &s->sysenter_cs;
	case MSR_IA32_SYSENTER_ESP:
		return &s->sysenter_esp;
	case MSR_IA32_SYSENTER_EIP:
		return &s->sysenter_eip;
	default:
		return NULL;
	}
}

static int svm_get_msr(struct mkvm_vcpu *vcpu, u32 index, u64 *data)
{
	struct vmcb *vmcb = to_svm(vcpu)->vmcb;
	u64 *field = svm_msr_field(&vmcb->save, index);

	if (field) {
		*data = *field;
		return 0;
	}
	switch (index) {
	case MSR_EFER:
		*data = to_svm(vcpu)->efer;
		return 0;
	case MSR_IA32_CR_PAT:
		*data = vmcb->save.g_pat;
		return 0;
	case MSR_IA32_TSC:
		*data = rdtsc() + vmcb->control.tsc_offset;
		return 0;
	default:
		return -ENOENT;
	}
}

static int svm_set_msr(struct mkvm_vcpu *vcpu, u32 index, u64 data)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb *vmcb = svm->vmcb;
	struct vmcb_save_area *s = &vmcb->save;
	u64 *field = svm_msr_field(s, index);

	if (field) {
		*field = data;
		return 0;
	}
	switch (index) {
	case MSR_EFER:
		/* LMA is the CPU's to set; keep it as it is. */
		svm_write_efer(svm, (data & ~EFER_LMA) | (svm->efer & EFER_LMA));
		return 0;
	case MSR_IA32_CR_PAT:
		s->g_pat = data;
		svm_dirty(&vmcb->control, SVM_CLEAN_NP);
		return 0;
	case MSR_IA32_TSC:
		vmcb->control.tsc_offset = data - rdtsc();
		svm_dirty(&vmcb->control, SVM_CLEAN_I);
		return 0;
	default:
		return -ENOENT;
	}
}

static u64 svm_get_tsc_offset(struct mkvm_vcpu *vcpu)
{
	return to_svm(vcpu)->vmcb->control.tsc_offset;
}

static void svm_set_tsc_offset(struct mkvm_vcpu *vcpu, u64 offset)
{
	struct vmcb_control_area *c = &to_svm(vcpu)->vmcb->control;

	c->tsc_offset = offset;
	svm_dirty(c, SVM_CLEAN_I);
}

static bool svm_in_interrupt_shadow(struct mkvm_vcpu *vcpu)
{
	struct vmcb *vmcb = to_svm(vcpu)->vmcb;

	/* STI/MOV SS shadow the next instruction only: not once it is done. */
	return (vmcb->control.int_state & SVM_INTERRUPT_SHADOW_MASK) &&
	       vmcb->save.rip == vcpu->rip;
}

/*
 * KVM_SET_VCPU_EVENTS: a shadow over the instruction at RIP, which is
 * where svm_in_interrupt_shadow() and the next entry look for it.
 */
static void svm_set_interrupt_shadow(struct mkvm_vcpu *vcpu, bool on)
{
	struct vmcb *vmcb = to_svm(vcpu)->vmcb;

	if (on) {
		vmcb->control.int_state |= SVM_INTERRUPT_SHADOW_MASK;
		vmcb->save.rip = vcpu->rip;
	} else {
		vmcb->control.int_state &= ~SVM_INTERRUPT_SHADOW_MASK;
	}
}

static bool svm_interrupt_allowed(struct mkvm_vcpu *vcpu)
{
	struct vmcb *vmcb = to_svm(vcpu)->vmcb;

	return (vmcb->save.rflags & X86_EFLAGS_IF) &&
	       !svm_in_interrupt_shadow(vcpu);
}

static bool svm_nmi_allowed(struct mkvm_vcpu *vcpu)
{
	return !to_svm(vcpu)->nmi_masked && !svm_in_interrupt_shadow(vcpu);
}

static bool svm_get_nmi_mask(struct mkvm_vcpu *vcpu)
{
	return to_svm(vcpu)->nmi_masked;
}

static void svm_set_nmi_mask(struct mkvm_vcpu *vcpu, bool masked)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	svm->nmi_masked = masked;
	svm->nmi_iret = false;
	if (masked)
		svm_set_intercept(&svm->vmcb->control, INTERCEPT_IRET);
	else
		svm_clr_intercept(&svm->vmcb->control, INTERCEPT_IRET);
}

/*
 * An NMI waits.  While blocked by an NMI whose IRET has not come yet,
 * the IRET intercept will exit; otherwise (the IRET is under way, or
 * an interrupt shadow or an injected event is in the way) the guest
 * single-steps one instruction.  A step under way is never cancelled.
 */
static void svm_enable_nmi_window(struct mkvm_vcpu *vcpu, bool enable)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_save_area *s = &svm->vmcb->save;

	if (!enable || svm->nmi_singlestep ||
	    (svm->nmi_masked && !svm->nmi_iret))
		return;
	svm->nmi_guest_rflags = s->rflags;
	svm->nmi_singlestep = true;
	s->rflags |= X86_EFLAGS_TF | X86_EFLAGS_RF;
}

static u64 svm_get_cr0(struct mkvm_vcpu *vcpu)
{
	return to_svm(vcpu)->vmcb->save.cr0;
}

static u64 svm_get_cr4(struct mkvm_vcpu *vcpu)
{
	return to_svm(vcpu)->vmcb->save.cr4;
}

static u64 svm_get_cr3(struct mkvm_vcpu *vcpu)
{
	return to_svm(vcpu)->vmcb->save.cr3;
}

/* The guest's, not the VMCB's (which has SVME set). */
static u64 svm_get_efer(struct mkvm_vcpu *vcpu)
{
	return to_svm(vcpu)->efer;
}

/* Ask for an exit as soon as the guest can take an interrupt. */
static void svm_enable_irq_window(struct mkvm_vcpu *vcpu, bool enable)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_control_area *c = &svm->vmcb->control;

	if (svm->virq) {
		if (!enable)
			return;
		/* The window needs V_IRQ: the interrupt goes by EVENTINJ. */
		svm->virq = false;
		c->event_inj = c->int_vector | SVM_EVTINJ_TYPE_INTR |
			       SVM_EVTINJ_VALID;
	}
	if (enable) {
		/* A virtual interrupt the guest takes only with IF = 1. */
		svm_set_virq(c, 0);
		svm_set_intercept(c, INTERCEPT_VINTR);
	} else {
		svm_set_int_ctl(c, c->int_ctl & ~(V_IRQ_MASK | V_IGN_TPR_MASK |
						  V_INTR_PRIO_MASK));
		svm_clr_intercept(c, INTERCEPT_VINTR);
	}
}

/* NPT walks in the host's paging mode at VMRUN: 5 levels under LA57. */
static int svm_npt_levels(void)
{
	return pgtable_l5_enabled() ? 5 : 4;
}

/* NPT entries are ordinary x86-64 page-table entries, always "user". */
static u64 svm_npt_table_entry(u64 pa)
{
	return pa | _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED;
}

static u64 svm_npt_leaf_entry(u64 pa, bool writable)
{
	return pa | _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED |
	       (writable ? _PAGE_RW | _PAGE_DIRTY : 0);
}

/* NPT always has 2 MiB leaves. */
static bool svm_npt_has_huge(void)
{
	return true;
}

/* A 2 MiB leaf: a PDE with PS (bit 7). */
static u64 svm_npt_huge_entry(u64 pa, bool writable)
{
	return svm_npt_leaf_entry(pa, writable) | MKVM_PT_HUGE;
}

static bool svm_npt_present(u64 entry)
{
	return entry & _PAGE_PRESENT;
}

const struct mkvm_backend_ops mkvm_svm_ops = {
	.name			= "AMD SVM",
	.probe			= svm_probe,
	.hardware_setup		= svm_hardware_setup,
	.hardware_unsetup	= svm_hardware_unsetup,
	.cpu_enable		= svm_cpu_enable,
	.cpu_disable		= svm_cpu_disable,
	.vcpu_size		= sizeof(struct svm_vcpu),
	.vcpu_create		= svm_vcpu_create,
	.vcpu_reset		= svm_vcpu_reset,
	.vcpu_free		= svm_vcpu_free,
	.vcpu_load		= svm_vcpu_load,
	.vcpu_put		= svm_vcpu_put,
	.vcpu_run		= svm_vcpu_run,
	.get_sregs		= svm_get_sregs,
	.set_sregs		= svm_set_sregs,
	.get_rflags		= svm_get_rflags,
	.set_rflags		= svm_set_rflags,
	.get_dr			= svm_get_dr,
	.set_dr			= svm_set_dr,
	.get_msr		= svm_get_msr,
	.set_msr		= svm_set_msr,
	.set_msr_intercept	= svm_set_msr_intercept,
	.own_msr_map		= svm_own_msr_map,
	.get_tsc_offset		= svm_get_tsc_offset,
	.set_tsc_offset		= svm_set_tsc_offset,
	.get_cr0		= svm_get_cr0,
	.get_cr4		= svm_get_cr4,
	.get_cr3		= svm_get_cr3,
	.get_efer		= svm_get_efer,
	.get_segment		= svm_get_segment,
	.get_seg_attr		= svm_get_segment,	/* as cheap */
	.interrupt_allowed	= svm_interrupt_allowed,
	.nmi_allowed		= svm_nmi_allowed,
	.get_nmi_mask		= svm_get_nmi_mask,
	.set_nmi_mask		= svm_set_nmi_mask,
	.enable_nmi_window	= svm_enable_nmi_window,
	.inject_event		= svm_inject_event,
	.set_cr2		= svm_set_cr2,
	.enable_irq_window	= svm_enable_irq_window,
	.in_interrupt_shadow	= svm_in_interrupt_shadow,
	.set_interrupt_shadow	= svm_set_interrupt_shadow,
	.npt_levels		= svm_npt_levels,
	.npt_table_entry	= svm_npt_table_entry,
	.npt_leaf_entry		= svm_npt_leaf_entry,
	.npt_has_huge		= svm_npt_has_huge,
	.npt_huge_entry		= svm_npt_huge_entry,
	.npt_present		= svm_npt_present,
	.flush_tlb		= svm_flush_tlb,
};
