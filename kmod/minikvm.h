/* SPDX-License-Identifier: GPL-2.0 */
/*
 * minikvm internal header: the vendor-neutral core and the backend ops table.
 *
 * Lock legend for the structures below:
 *   [I]  immutable after creation
 *   [a]  atomic or refcount
 *   [g]  protected by mkvm_vms_lock (global VM list)
 *   [s]  written under vm->slots_lock, read under vm->srcu
 *   [m]  protected by vm->mmu_lock
 *   [v]  protected by vcpu->mutex (the vCPU's ioctls, its run loop)
 *   [l]  protected by vm->lock
 *   [i]  protected by vm->irq_lock (the irqchip's creation and routing)
 *
 * Lock order (a lock may be taken while holding those above it only):
 *   1. vcpu->mutex          a vCPU's ioctls and its KVM_RUN
 *   2. vm->slots_lock       memslot changes (synchronize_srcu() under it)
 *   3. vm->srcu (read)      the slots array while it is used
 *   4. vm->mmu_lock         nested page tables, pinned pages
 * and for the in-kernel irqchip (irqchip.h has its own legend):
 *   vcpu->mutex -> vm->lock -> vm->irq_lock -> ioapic.lock -> pic.lock
 * (KVM_CREATE_IRQCHIP takes vm->lock then vm->irq_lock, so that no vCPU
 * is created meanwhile; the ioapic and pic spinlocks are innermost and
 * never taken in hard interrupt context; an EOI calls the resamplers,
 * which take vm->irq_lock, only after dropping ioapic.lock).
 *   vm->irqfds_lock         spinlock, interrupts off: taken by an
 *                           eventfd's wake-up inside that eventfd's
 *                           wait-queue lock, and holding nothing else
 * and, apart from these:
 *   mkvm_vms_lock -> vm->lock   netlink walks the VMs, then one VM's
 *                               vCPUs and name (vm->lock nests in no
 *                               other lock)
 *   cpu_hotplug_lock (read) -> mkvm_hwvirt_lock   VM creation and
 *                           destruction take both, holding nothing
 *                           else; the hotplug callbacks run under the
 *                           hotplug lock and take neither
 *   vmx_vpid_lock           spinlock, innermost, VPID allocation only
 * No lock is held while a vCPU runs guest code.  mkvm_vcpu_kick() takes
 * none (it may run in an hrtimer); mkvm_kick_all() takes none either
 * but waits for IPIs, so it is called in process context, outside
 * vm->mmu_lock.
 */
#ifndef MINIKVM_H
#define MINIKVM_H

#include <linux/types.h>
#include <linux/kvm.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/preempt.h>
#include <linux/refcount.h>
#include <linux/signal_types.h>
#include <linux/srcu.h>
#include <linux/static_call.h>
#include <linux/uidgid.h>
#include <linux/wait.h>
#include <linux/mm_types.h>
#include <asm/fpu/api.h>
#include <asm/fpu/types.h>
#include <asm/processor.h>

#include <linux/minikvm.h>

#include "compat.h"
#include "cost.h"
#include "emulate.h"
#include "irqchip.h"

#define MKVM_MAX_VCPUS		64	/* KVM_CAP_NR_VCPUS, KVM_CAP_MAX_VCPUS */
#define MKVM_MCE_BANKS		32	/* KVM_CAP_MCE, as KVM */
#define MKVM_MAX_VCPU_ID	1024	/* KVM_CAP_MAX_VCPU_ID: ids are < this */
#define MKVM_MAX_SLOTS		32	/* KVM_CAP_NR_MEMSLOTS */
#define MKVM_MAX_CPUID		256	/* entries in KVM_SET_CPUID2 */
#define MKVM_PAT_DEFAULT	0x0007040600070406ULL	/* PAT at reset */
#define MKVM_DR7_FIXED_1	0x400ULL		/* DR7 bit 10 reads as 1 */
#define MKVM_DR7_GD		BIT(13)			/* general detect */

/*
 * The MSRs a guest reads and writes without an exit, on both backends
 * (as KVM): the world switch carries their guest values and the CPU
 * checks what the guest writes.  Each backend clears their bits in its
 * MSR permission map at setup.
 */
#define MKVM_PASSTHROUGH_MSRS	{ MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE }

struct mkvm_vm;
struct mkvm_vcpu;
struct mkvm_msr_filter;

/* A guest segment register, as KVM's struct kvm_segment. */
#define mkvm_segment kvm_segment

/*
 * An event the guest takes through its IDT.  The backends translate
 * their vectoring information into it after an exit and inject one at
 * entry; events.c owns the queue and its rules.
 */
enum mkvm_event_type {
	MKVM_EVENT_NONE,
	MKVM_EVENT_INTR,	/* an external interrupt */
	MKVM_EVENT_NMI,
	MKVM_EVENT_EXCEPTION,	/* a fault or trap the CPU raised */
	MKVM_EVENT_SOFT,	/* INTn, INT3, INTO, INT1: raised by its instruction */
};

struct mkvm_event {
	u8 type;		/* enum mkvm_event_type */
	u8 vector;
	bool has_error;
	u32 error;
};

/*
 * What the backend tells the core about one exit.  The core owns the
 * policy: whether to re-enter, go to userspace or fail.
 */
enum mkvm_exit_reason {
	MKVM_EXIT_NONE,		/* handled (or spurious): re-enter */
	MKVM_EXIT_INTR,		/* host interrupt, NMI, SMI: re-enter */
	MKVM_EXIT_IO,		/* IN/OUT/INS/OUTS */
	MKVM_EXIT_NPF,		/* nested page fault at gpa */
	MKVM_EXIT_HLT,
	MKVM_EXIT_CPUID,
	MKVM_EXIT_RDMSR,
	MKVM_EXIT_WRMSR,
	MKVM_EXIT_XSETBV,
	MKVM_EXIT_CR_WRITE,	/* MOV to CR0/CR4, CLTS, LMSW */
	MKVM_EXIT_DR_ACCESS,	/* MOV to or from a debug register */
	MKVM_EXIT_INVD,		/* INVD: a no-op for a guest */
	MKVM_EXIT_WBINVD,	/* WBINVD, WBNOINVD: skipped, counted */
	MKVM_EXIT_RDPMC,	/* RDPMC: no host counter ever reaches a guest */
	MKVM_EXIT_HYPERCALL,	/* VMMCALL/VMCALL */
	MKVM_EXIT_RDTSCP,
	MKVM_EXIT_IRQ_WINDOW,	/* the guest can take an interrupt */
	MKVM_EXIT_NMI_WINDOW,	/* ... an NMI, or its NMI blocking ends */
	MKVM_EXIT_SHUTDOWN,	/* triple fault */
	MKVM_EXIT_FAIL_ENTRY,	/* VMRUN refused the state */
	MKVM_EXIT_UD,		/* inject #UD (SVM/VMX instructions, ...) */
	MKVM_EXIT_MWAIT,	/* MONITOR, MWAIT: a NOP or #UD (the quirk) */
	MKVM_EXIT_EXCEPTION,	/* an intercepted exception, for the guest */
	MKVM_EXIT_UNKNOWN,	/* an exit we do not handle */
};

struct mkvm_exit {
	enum mkvm_exit_reason reason;
	u64 hw_reason;		/* the VMCB/VMCS code, for error reports */
	u64 next_rip;		/* RIP after the instruction, 0 if unknown */
	u8 insn_len;		/* if unknown: its opcode bytes, no prefixes */
	/* RIP at the exit, and whether the guest's RFLAGS.TF was set. */
	u64 rip;
	bool tf;
	/* The event the exit interrupted the delivery of, if any. */
	struct mkvm_event vectoring;
	union {
		struct {
			u16 port;
			u8 size;	/* 1, 2, 4 */
			bool in;
			bool string;
			bool rep;
		} io;
		struct {
			u64 gpa;
			bool write;
			bool fetch;
			bool present;	/* a translation existed */
			/*
			 * On an entry of the guest's own page tables, which
			 * the CPU was reading (or setting A/D bits in) while
			 * translating a linear address: gpa is not that of
			 * the access the instruction makes.
			 */
			bool walk;
		} npf;
		struct {
			u8 dr;		/* 0-7, as the intercept reported it */
			bool write;
			/* The instruction, if the CPU decoded it (else op 0). */
			struct mkvm_sysreg_insn insn;
		} dr;
		/* MOV to CR, CLTS, LMSW, if the CPU decoded it (else op 0). */
		struct mkvm_sysreg_insn cr;
		struct {
			/* The CPU left no usable state: the vCPU gets INIT's. */
			bool state_lost;
		} shutdown;
		struct mkvm_event exception;	/* type MKVM_EVENT_EXCEPTION */
	};
};

/* Bit 7 of a level-2 entry: a 2 MiB leaf (NPT's PS, EPT's "page"). */
#define MKVM_PT_HUGE		BIT_ULL(7)

/*
 * One const table per backend (svm.c, vmx.c).  At module load the core
 * asks each ->probe() in turn and keeps the first that answers.
 */
struct mkvm_backend_ops {
	const char *name;
	/*
	 * Returns 1 if this backend can run guests on this host, 0 if the CPU
	 * does not have its extension at all, or a negative errno with *why
	 * set to a one-line explanation if it has it but cannot use it.
	 */
	int (*probe)(const char **why);
	/* Global setup/teardown at module load/unload (e.g. per-CPU pages). */
	int (*hardware_setup)(void);
	void (*hardware_unsetup)(void);
	/*
	 * Switch virtualization on/off on the calling CPU.  Called with
	 * interrupts disabled.  enable returns -EBUSY if another hypervisor
	 * already owns the CPU.
	 */
	int (*cpu_enable)(void);
	void (*cpu_disable)(void);

	/* vCPUs: the backend struct embeds struct mkvm_vcpu. */
	size_t vcpu_size;
	int (*vcpu_create)(struct mkvm_vcpu *vcpu);
	/*
	 * RESET (@init false) or INIT: write the backend's part of the
	 * state (segment registers, descriptor tables) and clear its
	 * pending event and interrupt shadow; mkvm_vcpu_reset() (regs.c)
	 * writes the rest after it.
	 */
	void (*vcpu_reset)(struct mkvm_vcpu *vcpu, bool init);
	void (*vcpu_free)(struct mkvm_vcpu *vcpu);
	void (*vcpu_load)(struct mkvm_vcpu *vcpu, int cpu);
	void (*vcpu_put)(struct mkvm_vcpu *vcpu);
	/*
	 * Enter the guest once.  Called with interrupts disabled and the
	 * vCPU loaded; fills @exit.  GPRs are in vcpu->regs.
	 */
	void (*vcpu_run)(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit);

	/* Architectural state kept in the VMCB/VMCS. */
	void (*get_sregs)(struct mkvm_vcpu *vcpu, struct kvm_sregs *sregs);
	void (*set_sregs)(struct mkvm_vcpu *vcpu, const struct kvm_sregs *sregs);
	u64 (*get_rflags)(struct mkvm_vcpu *vcpu);
	void (*set_rflags)(struct mkvm_vcpu *vcpu, u64 rflags);
	/* DR6 and DR7 (n = 6 or 7), which the VMCB/VMCS switches. */
	u64 (*get_dr)(struct mkvm_vcpu *vcpu, int n);
	void (*set_dr)(struct mkvm_vcpu *vcpu, int n, u64 val);
	/* Guest MSRs held in the VMCB/VMCS; -ENOENT if not one of them. */
	int (*get_msr)(struct mkvm_vcpu *vcpu, u32 index, u64 *data);
	int (*set_msr)(struct mkvm_vcpu *vcpu, u32 index, u64 data);
	/*
	 * Whether a guest RDMSR (@read) and WRMSR (@write) of one of the
	 * MKVM_PASSTHROUGH_MSRS exit: msr.c decides (the MSR filter), the
	 * backend writes its permission map.  Interrupts off, before entry.
	 */
	void (*set_msr_intercept)(struct mkvm_vcpu *vcpu, u32 msr, bool read,
				  bool write);
	/*
	 * Until this, set_msr_intercept() is only ever asked to pass an MSR
	 * through, which the backend's shared permission map does: give the
	 * vCPU a map of its own, to use from its next set_msr_intercept()
	 * on.  May sleep; 0 or -ENOMEM.
	 */
	int (*own_msr_map)(struct mkvm_vcpu *vcpu);
	/* The guest's TSC is the host's plus this (KVM_VCPU_TSC_OFFSET). */
	u64 (*get_tsc_offset)(struct mkvm_vcpu *vcpu);
	void (*set_tsc_offset)(struct mkvm_vcpu *vcpu, u64 offset);
	/*
	 * CR0 and CR4 alone, without get_sregs(): on VMX that would first
	 * read every lazy field (segments, descriptor tables, CR3) back.
	 */
	u64 (*get_cr0)(struct mkvm_vcpu *vcpu);
	u64 (*get_cr4)(struct mkvm_vcpu *vcpu);
	/* The same for CR3, EFER and one of MKVM_SEG_ES..MKVM_SEG_GS. */
	u64 (*get_cr3)(struct mkvm_vcpu *vcpu);
	u64 (*get_efer)(struct mkvm_vcpu *vcpu);
	/*
	 * Read the guest's RSP into vcpu->regs[4] while vcpu->rsp_lazy says
	 * it is still only in the VMCS (VMX; NULL where it never is).
	 */
	void (*fetch_rsp)(struct mkvm_vcpu *vcpu);
	void (*get_segment)(struct mkvm_vcpu *vcpu, int seg,
			    struct kvm_segment *k);
	/*
	 * Less still: a segment of which only the attributes (type to
	 * unusable) are sure to be current, for the CPU mode and the CPL.
	 */
	void (*get_seg_attr)(struct mkvm_vcpu *vcpu, int seg,
			     struct kvm_segment *k);
	/* Events: RFLAGS.IF set and no interrupt shadow. */
	bool (*interrupt_allowed)(struct mkvm_vcpu *vcpu);
	/* An NMI can go in now: not blocked by NMI, MOV SS or STI. */
	bool (*nmi_allowed)(struct mkvm_vcpu *vcpu);
	/*
	 * NMI blocking: set by the injection of an NMI, cleared when the
	 * guest's IRET completes; KVM_GET/SET_VCPU_EVENTS read and write it.
	 */
	bool (*get_nmi_mask)(struct mkvm_vcpu *vcpu);
	void (*set_nmi_mask)(struct mkvm_vcpu *vcpu, bool masked);
	/* Deliver @ev at the next entry (events.c chose it, the only one). */
	void (*inject_event)(struct mkvm_vcpu *vcpu, const struct mkvm_event *ev);
	/* CR2 for a #PF the core injects (its faulting address). */
	void (*set_cr2)(struct mkvm_vcpu *vcpu, u64 cr2);
	void (*enable_irq_window)(struct mkvm_vcpu *vcpu, bool enable);
	/* Ask for an exit as soon as an NMI that waits can go in. */
	void (*enable_nmi_window)(struct mkvm_vcpu *vcpu, bool enable);
	/* The interrupt shadow (STI/MOV SS), for KVM_GET/SET_VCPU_EVENTS. */
	bool (*in_interrupt_shadow)(struct mkvm_vcpu *vcpu);
	void (*set_interrupt_shadow)(struct mkvm_vcpu *vcpu, bool on);

	/*
	 * Nested page tables: depth (4 or 5), whether 2 MiB leaves exist,
	 * and the format of an entry: a table, a 4 KiB leaf, a 2 MiB leaf
	 * at level 2, which both formats mark with MKVM_PT_HUGE.
	 */
	int (*npt_levels)(void);
	bool (*npt_has_huge)(void);
	u64 (*npt_table_entry)(u64 pa);
	u64 (*npt_leaf_entry)(u64 pa, bool writable);
	u64 (*npt_huge_entry)(u64 pa, bool writable);
	bool (*npt_present)(u64 entry);
	/* The vCPU must flush its guest-physical TLB entries. */
	void (*flush_tlb)(struct mkvm_vcpu *vcpu);
};

extern const struct mkvm_backend_ops mkvm_svm_ops;
extern const struct mkvm_backend_ops mkvm_vmx_ops;
extern const struct mkvm_backend_ops *mkvm_ops;

/*
 * The ops of the run path (each exit makes several of these calls) are
 * static calls, as KVM's kvm_x86_ops: direct calls, which main.c points
 * at the backend it picks at load (mkvm_install_ops()), where a call
 * through mkvm_ops is indirect and takes a retpoline on the hosts that
 * use them.  mkvm_call(op)(...) calls one; fetch_rsp, which SVM leaves
 * NULL, through mkvm_call_cond().  The rest (setup, vCPU creation, rare
 * ioctls) go through mkvm_ops.  Each static call has the type of its op
 * (taken from one backend's table: they are all alike).
 */
DECLARE_STATIC_CALL(mkvm_vcpu_load, *mkvm_svm_ops.vcpu_load);
DECLARE_STATIC_CALL(mkvm_vcpu_put, *mkvm_svm_ops.vcpu_put);
DECLARE_STATIC_CALL(mkvm_vcpu_run, *mkvm_svm_ops.vcpu_run);
DECLARE_STATIC_CALL(mkvm_get_sregs, *mkvm_svm_ops.get_sregs);
DECLARE_STATIC_CALL(mkvm_get_rflags, *mkvm_svm_ops.get_rflags);
DECLARE_STATIC_CALL(mkvm_set_rflags, *mkvm_svm_ops.set_rflags);
DECLARE_STATIC_CALL(mkvm_get_dr, *mkvm_svm_ops.get_dr);
DECLARE_STATIC_CALL(mkvm_set_dr, *mkvm_svm_ops.set_dr);
DECLARE_STATIC_CALL(mkvm_get_msr, *mkvm_svm_ops.get_msr);
DECLARE_STATIC_CALL(mkvm_set_msr, *mkvm_svm_ops.set_msr);
DECLARE_STATIC_CALL(mkvm_get_cr0, *mkvm_svm_ops.get_cr0);
DECLARE_STATIC_CALL(mkvm_get_cr4, *mkvm_svm_ops.get_cr4);
DECLARE_STATIC_CALL(mkvm_get_cr3, *mkvm_svm_ops.get_cr3);
DECLARE_STATIC_CALL(mkvm_get_efer, *mkvm_svm_ops.get_efer);
DECLARE_STATIC_CALL(mkvm_get_segment, *mkvm_svm_ops.get_segment);
DECLARE_STATIC_CALL(mkvm_get_seg_attr, *mkvm_svm_ops.get_seg_attr);
DECLARE_STATIC_CALL(mkvm_interrupt_allowed, *mkvm_svm_ops.interrupt_allowed);
DECLARE_STATIC_CALL(mkvm_nmi_allowed, *mkvm_svm_ops.nmi_allowed);
DECLARE_STATIC_CALL(mkvm_get_nmi_mask, *mkvm_svm_ops.get_nmi_mask);
DECLARE_STATIC_CALL(mkvm_inject_event, *mkvm_svm_ops.inject_event);
DECLARE_STATIC_CALL(mkvm_set_cr2, *mkvm_svm_ops.set_cr2);
DECLARE_STATIC_CALL(mkvm_enable_irq_window, *mkvm_svm_ops.enable_irq_window);
DECLARE_STATIC_CALL(mkvm_enable_nmi_window, *mkvm_svm_ops.enable_nmi_window);
DECLARE_STATIC_CALL(mkvm_in_interrupt_shadow, *mkvm_svm_ops.in_interrupt_shadow);
DECLARE_STATIC_CALL(mkvm_npt_levels, *mkvm_svm_ops.npt_levels);
DECLARE_STATIC_CALL(mkvm_npt_has_huge, *mkvm_svm_ops.npt_has_huge);
DECLARE_STATIC_CALL(mkvm_npt_table_entry, *mkvm_svm_ops.npt_table_entry);
DECLARE_STATIC_CALL(mkvm_npt_leaf_entry, *mkvm_svm_ops.npt_leaf_entry);
DECLARE_STATIC_CALL(mkvm_npt_huge_entry, *mkvm_svm_ops.npt_huge_entry);
DECLARE_STATIC_CALL(mkvm_npt_present, *mkvm_svm_ops.npt_present);
DECLARE_STATIC_CALL(mkvm_flush_tlb, *mkvm_svm_ops.flush_tlb);
DECLARE_STATIC_CALL(mkvm_fetch_rsp, *mkvm_svm_ops.fetch_rsp);

#define mkvm_call(op)		static_call(mkvm_##op)
#define mkvm_call_cond(op)	static_call_cond(mkvm_##op)

/* Entries of a chunk of a slot's pages[]: one 4 KiB page of pointers. */
#define MKVM_SLOT_CHUNK		(PAGE_SIZE / sizeof(struct page *))

/* A memory slot: guest-physical pages backed by user memory. */
struct mkvm_memslot {
	u16 id;				/* [I] */
	u32 flags;			/* [I] KVM_MEM_* */
	u64 base_gfn;			/* [I] */
	u64 npages;			/* [I] */
	u64 uaddr;			/* [I] */
	/*
	 * The pinned pages the NPT maps, by page index: a directory of
	 * MKVM_SLOT_CHUNK-entry chunks, each allocated at the first fault
	 * in its range (mmu.c), so that a slot costs its size / 2 MiB
	 * pointers until touched.
	 */
	struct page ***pages;		/* [m] */
	u64 resident;			/* [m] entries of pages[] in use */
	bool invalid;			/* [m] going away: map nothing; READ_ONCE outside */
	/*
	 * KVM_MEM_LOG_DIRTY_PAGES: a bit per page written since the last
	 * KVM_GET_DIRTY_LOG, then as many bytes again for its copy out.
	 * The pointer is [I] (NULL without the flag), the bits [a]: set
	 * by faults and host writes, taken (xchg) under mmu_lock.
	 */
	unsigned long *dirty_bitmap;
};

struct mkvm_memslots {
	unsigned int nr;
	struct mkvm_memslot *slots[MKVM_MAX_SLOTS];	/* by id, NULL if free */
};

/* A virtual machine, one per KVM_CREATE_VM. */
struct mkvm_vm {
	refcount_t users;		/* [a] the VM fd and each vCPU */
	struct mm_struct *mm;		/* [I] creator's mm (mmgrab'ed) */
	u32 id;				/* [I] unique, for vmctl */
	pid_t pid;			/* [I] creator's tgid */
	kuid_t uid;			/* [I] creator's euid */
	u64 created_ns;			/* [I] ktime_get_boottime_ns() */
	struct list_head node;		/* [g] on mkvm_vms */

	struct mutex lock;		/* vCPU creation, vcpus[]: [l] */
	/* [l] written; entries below nr_vcpus are readable lock-free */
	struct mkvm_vcpu *vcpus[MKVM_MAX_VCPUS];
	atomic_t nr_vcpus;		/* [a] set with release under lock */
	/* vCPU ids are below it: 0 until KVM_ENABLE_CAP or the first vCPU. */
	u32 max_vcpu_ids;		/* [l] */
	u32 bsp_id;			/* [l] KVM_SET_BOOT_CPU_ID, 0 */
	/* The host TSC at creation: the guest's TSC counts from it. */
	u64 tsc_base;			/* [I] */
	/* KVM_CAP_MSR_PLATFORM_INFO: the guest may read the MSR (default). */
	bool platform_info_read;	/* [a] (WRITE_ONCE) */
	u64 clock_offset;		/* [a] KVM_SET_CLOCK's (clock.c) */
	/* MSR_KVM_WALL_CLOCK(_NEW): where the guest last asked for it. */
	u64 wall_clock_msr;		/* [a] (WRITE_ONCE) */
	/* KVM_CAP_DISABLE_QUIRKS(2): KVM_X86_QUIRK_* bits turned off. */
	u64 disabled_quirks;		/* [a] (WRITE_ONCE) */
	/* KVM_CAP_X86_USER_SPACE_MSR: KVM_MSR_EXIT_REASON_* sent to userspace. */
	u32 user_space_msr;		/* [a] (WRITE_ONCE) */
	/* KVM_X86_SET_MSR_FILTER's (msr.c), NULL if none: allow all. */
	struct mkvm_msr_filter __rcu *msr_filter;	/* [l] written, RCU read */

	/* irqfds (eventfd.c), under irqfds_lock; resamplers under irq_lock */
	spinlock_t irqfds_lock;
	struct list_head irqfds;
	struct list_head resamplers;
	/* ioeventfds: written under irq_lock, read under RCU */
	struct list_head ioeventfds;

	/* The in-kernel irqchip: NULL until KVM_CREATE_IRQCHIP. */
	struct mutex irq_lock;
	/* [l]+[i] written once before any vCPU; read lock-free after */
	struct mkvm_irqchip *irqchip;

	struct mutex slots_lock;	/* serializes memslot updates */
	struct srcu_struct srcu;
	struct mkvm_memslots __rcu *slots;	/* [s] */

	/* Accounting (netlink.c): names, state. */
	char name[MINIKVM_VM_NAME_MAX];	/* [l] */
	atomic_t running;		/* [a] vCPUs inside KVM_RUN */
	bool has_run;			/* [a] (WRITE_ONCE) */
	bool shut_down;			/* [a] (WRITE_ONCE) */

	struct mutex mmu_lock;		/* the NPT and slots' pages[] */
	struct page *npt_root;		/* [m] top-level table */
	u64 npt_pages;			/* [m] table pages in use */
	u64 npt_huge;			/* [m] 2 MiB leaves in them */
	int npt_levels;			/* [I] 4 or 5 */
	int gpa_bits;			/* [I] slots end at 2^gpa_bits at most */
};

/* vcpu->mode, as KVM: whether a kick must IPI the vCPU's CPU. */
enum {
	MKVM_OUTSIDE_GUEST_MODE,
	MKVM_IN_GUEST_MODE,
};

/*
 * vcpu->requests bits: work for the vCPU before its next entry, set by
 * any thread with mkvm_make_request() and seen after mkvm_vcpu_kick();
 * run.c handles each (mkvm_handle_requests()).
 */
#define MKVM_REQ_TLB_FLUSH	0	/* flush guest-physical translations */
#define MKVM_REQ_EVENT		1	/* an interrupt or LAPIC event arrived */
#define MKVM_REQ_MSR_FILTER	2	/* recompute the MSR intercepts */
#define MKVM_REQ_CLOCK_UPDATE	3	/* rewrite the kvmclock page */
#define MKVM_REQ_IOAPIC_EOI	4	/* split irqchip: KVM_EXIT_IOAPIC_EOI */

/*
 * Per-vCPU counters: written only by the vCPU's own thread (WRITE_ONCE),
 * read at any time by netlink.c and summed per VM there.
 */
struct mkvm_vcpu_stats {
	u64 exits[__MINIKVM_STAT_MAX];
	u64 exits_total;
	u64 user_exits;
	u64 guest_ns;
	u64 exit_ns;
	u64 injections;
	/* With an in-kernel irqchip: HLT, NMIs. */
	u64 halts;		/* HLTs handled in the kernel */
	u64 halt_ns;		/* asleep in HLT or waiting for SIPI */
	u64 nmi_injections;	/* NMIs injected (KVM_NMI, LAPIC, events) */
	/* Interrupts received, by source: vcpu->irqs, summed by netlink.c. */
	u64 irqs[MKVM_IRQ_SRC_NR];
#ifdef MKVM_COSTS
	u64 costs[MKVM_COST_NR];	/* cost.h, while loaded */
#endif
};

/* The counters mkvm_cost_attach() takes: none when not built in. */
#ifdef MKVM_COSTS
#define mkvm_stats_costs(stats)	((stats)->costs)
#else
#define mkvm_stats_costs(stats)	NULL
#endif

/* A virtual CPU, embedded in the backend's struct. */
struct mkvm_vcpu {
	struct mkvm_vm *vm;		/* [I] holds a VM reference */
	u32 id;				/* [I] */
	struct kvm_run *run;		/* [I] the mmap'ed page */
	void *pio_data;			/* [I] page after it */
	struct mutex mutex;		/* the vCPU's ioctls: [v] */
	struct preempt_notifier pn;	/* [v] registered while in KVM_RUN */
	u64 exit_t;			/* [v] local_clock() at the open exit, or 0 */
	bool exit_paused;		/* [v] scheduled out with one open */
	int cpu;			/* [v] written, [a] read: loaded on, or -1 */
	int mode;			/* [a] MKVM_*_GUEST_MODE */
	unsigned long requests;		/* [a] MKVM_REQ_* bits, any thread */
	struct fpu_guest fpu;		/* [v] */
	/* The in-kernel LAPIC (irqchip.h), NULL without KVM_CREATE_IRQCHIP. */
	struct mkvm_lapic *apic;	/* [I] */
	wait_queue_head_t wq;		/* HLT and wait-for-SIPI sleep on it */
	u64 xcr0;			/* [v] */
	/*
	 * [v] The guest's CR4.OSXSAVE, and whether its XCR0 must be loaded
	 * around each entry (mkvm_write_sregs(), mkvm_set_xcr0()): not
	 * without OSXSAVE, where the guest can neither see XCR0 nor use
	 * what it enables, as KVM.
	 */
	bool osxsave;
	bool xcr0_switch;

	/*
	 * [v] RAX..R15 in x86 order.  RSP (regs[4]) may be stale: after an
	 * exit, VMX leaves it in the VMCS (rsp_lazy) until someone asks.
	 * Take regs[] through mkvm_gprs() wherever the index may be 4;
	 * the fixed RAX, RCX, RDX and RBX may be used directly.
	 */
	u64 regs[MKVM_NR_GPRS];
	bool rsp_lazy;			/* [v] */
	u64 rip;			/* [v] */
	/* DR0-3: in the CPU only while the guest's DR7 enables one. */
	u64 db[4];			/* [v] */

	/* Guest CPUID from KVM_SET_CPUID2. */
	struct kvm_cpuid_entry2 *cpuid;	/* [v] */
	u32 cpuid_nent;			/* [v] */
	bool cpuid_set;			/* [v] KVM_SET_CPUID2 was called */
	/* KVM_CAP_ENFORCE_PV_FEATURE_CPUID: only 0x40000001's features. */
	bool pv_enforce;		/* [v] */

	/* Emulated MSRs not held in the VMCB/VMCS: all [v]. */
	u64 apic_base, misc_enable, spec_ctrl, platform_info, power_ctl;
	s64 tsc_adjust;			/* IA32_TSC_ADJUST */
	u32 tsc_aux;			/* [v] in the CPU while the guest runs */
	u64 mtrr_def_type, mtrr_fixed[11], mtrr_var[16];
	/* kvmclock (clock.c): MSR_KVM_SYSTEM_TIME(_NEW), its page's version. */
	u64 kvmclock_msr;
	u32 kvmclock_version;
	/* Machine checks (mce.c): MCi_CTL, _STATUS, _ADDR, _MISC per bank. */
	struct {
		u64 cap, status, ctl;
		u64 banks[MKVM_MCE_BANKS * 4];
	} mce;				/* [v] */

	/* The event queue (events.c). */
	struct {
		/*
		 * In delivery: an event an exit interrupted, or (no in-kernel
		 * irqchip) KVM_INTERRUPT's vector, which KVM also calls
		 * injected from the ioctl on: one slot, as KVM_GET_SREGS's
		 * interrupt_bitmap and KVM_GET_VCPU_EVENTS report it.
		 */
		struct mkvm_event injected;	/* [v] re-delivered first */
		struct mkvm_event exception;	/* [v] raised, not yet delivered */
		bool triple_fault;		/* [v] an exception during #DF */
		/* NMIs to inject: KVM_NMI, the LAPIC's, KVM_SET_VCPU_EVENTS. */
		u8 nmi_pending;			/* [v] 0-2 (mkvm_queue_nmi()) */
	} ev;
	/* Split irqchip: the vector of the EOI that MKVM_REQ_IOAPIC_EOI reports. */
	u8 eoi_exit_vector;		/* [v] */
	u32 mp_state;			/* [v] KVM_MP_STATE_* */

	/* An exit to userspace that needs completing on the next KVM_RUN. */
	enum {
		MKVM_PENDING_NONE,
		MKVM_PENDING_PIO_IN,	/* copy data into RAX / memory */
		MKVM_PENDING_PIO_OUT,	/* continue a rep outs */
		MKVM_PENDING_MMIO_LOAD,	/* write run->mmio.data to a register */
		MKVM_PENDING_MMIO_STRING, /* ... to memory or RAX, for MOVS/LODS */
		MKVM_PENDING_RDMSR,	/* run->msr: #GP, or data into EDX:EAX */
		MKVM_PENDING_WRMSR,	/* run->msr: #GP, or done */
	} pending;			/* [v] */
	u64 msr_next_rip;		/* [v] past the RDMSR/WRMSR pending */
	struct {
		u8 size, asize, len;
		bool movs, down, rep;
	} str;				/* [v] */
	struct mkvm_insn mmio_insn;	/* [v] */
	struct {
		u16 port;
		u8 size;
		bool string, rep, in;
		u8 addr_size;
		u8 seg;			/* string: segment of the memory operand */
		u32 count;		/* iterations in this exit */
		u64 next_rip;
	} pio;				/* [v] */
	bool ran;			/* [v] KVM_RUN was called */
	/* KVM_SET_SIGNAL_MASK's: the thread's signal mask in KVM_RUN. */
	bool sigset_active;		/* [v] */
	sigset_t sigset;		/* [v] */
	/*
	 * Host code ran for this vCPU since its last entry (KVM_RUN, being
	 * scheduled in, emulation touching memory): data it pulled into the
	 * L1D may be worth stealing through L1TF.  The VMX backend flushes
	 * the L1D before entry when the host's mitigation asks for it.
	 */
	bool flush_l1d;			/* [v] */
	struct mkvm_vcpu_stats stats;	/* [v] written, [a] read */
	/* Interrupts its LAPIC took, by source: any thread adds. */
	atomic64_t irqs[MKVM_IRQ_SRC_NR];	/* [a] */
};

static inline void mkvm_make_request(struct mkvm_vcpu *vcpu, int req)
{
	set_bit(req, &vcpu->requests);
}

/*
 * The guest's GPRs, RSP current: an exit handled without RSP (most of
 * them) never reads it back from the VMCS.
 */
static inline u64 *mkvm_gprs(struct mkvm_vcpu *vcpu)
{
	if (unlikely(vcpu->rsp_lazy))
		mkvm_call_cond(fetch_rsp)(vcpu);
	return vcpu->regs;
}

/* One GPR by its x86 number: RSP made current only if asked for. */
static inline u64 *mkvm_gpr(struct mkvm_vcpu *vcpu, int reg)
{
	return reg == 4 ? &mkvm_gprs(vcpu)[4] : &vcpu->regs[reg];
}

/* Only the vCPU's thread writes its counters; readers use READ_ONCE. */
static inline void mkvm_stat_add(u64 *counter, u64 n)
{
	WRITE_ONCE(*counter, *counter + n);
}

/*
 * The KVM_X86_QUIRK_* minikvm honours, which KVM_CAP_DISABLE_QUIRKS2
 * reports and may turn off; the others' behaviour is fixed.
 */
#define MKVM_QUIRKS	(KVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT |		\
			 KVM_X86_QUIRK_FIX_HYPERCALL_INSN |		\
			 KVM_X86_QUIRK_MWAIT_NEVER_UD_FAULTS)

/* The reasons KVM_CAP_X86_USER_SPACE_MSR may send to userspace. */
#define MKVM_MSR_EXIT_REASONS	(KVM_MSR_EXIT_REASON_INVAL |		\
				 KVM_MSR_EXIT_REASON_UNKNOWN |		\
				 KVM_MSR_EXIT_REASON_FILTER)

/* Whether KVM's old behaviour @quirk is still on for @vm (the default). */
static inline bool mkvm_has_quirk(struct mkvm_vm *vm, u64 quirk)
{
	return !(READ_ONCE(vm->disabled_quirks) & quirk);
}

/*
 * Whether @vm's irqchip is split (KVM_CAP_SPLIT_IRQCHIP: LAPICs only).
 * From a vCPU: the chip was set before any vCPU existed.
 */
static inline bool mkvm_irqchip_split(struct mkvm_vm *vm)
{
	return vm->irqchip && vm->irqchip->split;
}

/* hwvirt.c: virtualization is on for every online CPU while VMs exist. */
int mkvm_hwvirt_init(void);
void mkvm_hwvirt_exit(void);
int mkvm_hwvirt_get(void);
void mkvm_hwvirt_put(void);

/* vm.c */
int mkvm_create_vm(unsigned long type);
long mkvm_check_extension(struct mkvm_vm *vm, long cap);
void mkvm_vm_get(struct mkvm_vm *vm);
void mkvm_vm_put(struct mkvm_vm *vm);

/* memslot.c */
int mkvm_set_memory_region(struct mkvm_vm *vm,
			   const struct kvm_userspace_memory_region *mem);
void mkvm_free_memslots(struct mkvm_vm *vm);
struct mkvm_memslot *mkvm_gfn_to_slot(struct mkvm_memslots *slots, u64 gfn);
int mkvm_read_guest(struct mkvm_vm *vm, u64 gpa, void *data, unsigned long len);
int mkvm_write_guest(struct mkvm_vm *vm, u64 gpa, const void *data,
		     unsigned long len);
int mkvm_get_dirty_log(struct mkvm_vm *vm, void __user *argp);

/* mmu.c: the nested page tables (NPT or EPT), filled lazily. */
int mkvm_mmu_init(struct mkvm_vm *vm);
void mkvm_mmu_destroy(struct mkvm_vm *vm);
u64 mkvm_mmu_root_pa(struct mkvm_vm *vm);
/* Guest-physical address bits the tables and the host can map. */
int mkvm_mmu_gpa_bits(void);
/* Whether @gpa is below 2^vm->gpa_bits (a slot can hold it). */
bool mkvm_mmu_gpa_valid(struct mkvm_vm *vm, u64 gpa);
/*
 * Map the page at @gpa of @slot; 0, or -errno (-EFAULT: no backing,
 * -EAGAIN: @slot is invalid, going away, and the fault must be retried).
 */
int mkvm_mmu_map(struct mkvm_vm *vm, struct mkvm_memslot *slot, u64 gpa,
		 bool write);
/*
 * Write-protect the pages of @slot whose bits are set in @mask, bit 0
 * being page @first; mmu_lock held.  Returns whether an entry changed
 * (then every vCPU must flush its TLB).
 */
bool mkvm_mmu_write_protect(struct mkvm_vm *vm, struct mkvm_memslot *slot,
			    u64 first, unsigned long mask);
/*
 * Make @slot invalid (no fault maps its pages any more), then unmap and
 * unpin every page of it; flushes all vCPUs' TLBs before unpinning.
 */
void mkvm_mmu_zap_slot(struct mkvm_vm *vm, struct mkvm_memslot *slot);

/*
 * The vCPU core, one file per concern.  Exit handlers (mkvm_handle_*)
 * return 1 to re-enter the guest, 0 to return to userspace with
 * run->exit_reason set, or a negative errno for KVM_RUN.
 */

/* vcpu.c: the vCPU fd, its ioctl dispatch and lifetime. */
void mkvm_vcpu_module_init(void);
void mkvm_vcpu_module_exit(void);
int mkvm_create_vcpu(struct mkvm_vm *vm, unsigned long id);
void mkvm_vcpu_free(struct mkvm_vcpu *vcpu);

/* run.c: the KVM_RUN loop, requests and kicks. */
extern struct preempt_ops mkvm_preempt_ops;
int mkvm_vcpu_run(struct mkvm_vcpu *vcpu);
void mkvm_vcpu_kick(struct mkvm_vcpu *vcpu);
void mkvm_kick_all(struct mkvm_vm *vm, int req);

/*
 * events.c: the one event queue: exceptions raised by emulation and
 * intercepts, events to re-deliver after an exit interrupted them, and
 * KVM_INTERRUPT's vector.
 */
void mkvm_single_step_done(struct mkvm_vcpu *vcpu, u64 rip);
void mkvm_queue_exception(struct mkvm_vcpu *vcpu, u8 vector, bool has_error,
			  u32 error);
void mkvm_events_after_exit(struct mkvm_vcpu *vcpu,
			    const struct mkvm_exit *exit);
bool mkvm_inject_events(struct mkvm_vcpu *vcpu);
void mkvm_queue_nmi(struct mkvm_vcpu *vcpu);
bool mkvm_event_pending(struct mkvm_vcpu *vcpu);
bool mkvm_user_interrupt_fits(struct mkvm_vcpu *vcpu);
bool mkvm_set_user_interrupt(struct mkvm_vcpu *vcpu, u8 vector);

/* exits.c: the exit table. */
int mkvm_handle_exit(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit);
int mkvm_exit_shutdown(struct mkvm_vcpu *vcpu);
void mkvm_account_exit(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit,
		       int r, u64 guest_ns);

/* regs.c: register ioctls, the RESET and INIT states. */
void mkvm_vcpu_reset(struct mkvm_vcpu *vcpu, bool init);
void mkvm_get_regs(struct mkvm_vcpu *vcpu, struct kvm_regs *r);
void mkvm_set_regs(struct mkvm_vcpu *vcpu, const struct kvm_regs *r);
void mkvm_get_sregs(struct mkvm_vcpu *vcpu, struct kvm_sregs *s);
int mkvm_set_sregs(struct mkvm_vcpu *vcpu, const struct kvm_sregs *s);
void mkvm_get_fpu(struct mkvm_vcpu *vcpu, struct kvm_fpu *f);
int mkvm_set_fpu(struct mkvm_vcpu *vcpu, const struct kvm_fpu *f);

/*
 * access.c: guest memory, registers and instruction bytes as emulation
 * sees them.  The copies return 0; -EFAULT with *fault set, for the
 * guest (mkvm_access_failed() raises it); -ENXIO for guest-physical
 * memory without a slot; or another -errno.
 */
/* What a fetch at CS:RIP needs of the SREGS, the rest zero. */
void mkvm_get_code_sregs(struct mkvm_vcpu *vcpu, struct kvm_sregs *s);
enum mkvm_cpu_mode mkvm_cpu_mode(const struct kvm_sregs *s);
enum mkvm_cpu_mode mkvm_vcpu_mode_cpl(struct mkvm_vcpu *vcpu,
				      unsigned int *cpl);
unsigned int mkvm_vcpu_cpl(struct mkvm_vcpu *vcpu);
int mkvm_guest_copy(struct mkvm_vcpu *vcpu, const struct kvm_sregs *s,
		    u64 la, void *buf, unsigned int len, u32 access,
		    struct mkvm_fault *fault);
int mkvm_guest_gpa(struct mkvm_vcpu *vcpu, const struct kvm_sregs *s,
		   u64 la, u32 access, u64 *gpa, struct mkvm_fault *fault);
int mkvm_data_linear(const struct kvm_sregs *s, int seg, u64 ea,
		     unsigned int len, bool write, u64 *la,
		     struct mkvm_fault *fault);
int mkvm_guest_data(struct mkvm_vcpu *vcpu, const struct kvm_sregs *s,
		    int seg, u64 ea, void *buf, unsigned int len,
		    bool write, struct mkvm_fault *fault);
int mkvm_access_failed(struct mkvm_vcpu *vcpu, int r,
		       const struct mkvm_fault *fault, u64 addr);
int mkvm_internal_error(struct mkvm_vcpu *vcpu, u32 suberror,
			u64 data0, u64 data1);
u64 mkvm_reg_get(struct mkvm_vcpu *vcpu, int reg, unsigned int asize);
void mkvm_reg_set(struct mkvm_vcpu *vcpu, int reg, unsigned int asize,
		  u64 val);
u64 mkvm_seg_base(const struct kvm_sregs *s, int seg);

/*
 * The instruction at CS:RIP, fetched for the decoders of emulate.c.  SVM
 * reports the address size and segment of INS/OUTS, the operands of
 * MOV CR/DR and instruction lengths only with decode assists and NRIP
 * save, which our test CPUs lack, so the decoders work them out.
 */
void mkvm_skip_insn(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit);
int mkvm_fetch_insn(struct mkvm_vcpu *vcpu, const struct kvm_sregs *s,
		    u8 *code, unsigned int *n, struct mkvm_fault *fault,
		    struct mkvm_fault *next);
int mkvm_fetch_code(struct mkvm_vcpu *vcpu, const struct kvm_sregs *s,
		    u8 *code, unsigned int *n);
int mkvm_fetch_sysreg_insn(struct mkvm_vcpu *vcpu, const struct kvm_sregs *s,
			   const struct mkvm_sysreg_insn *hw,
			   struct mkvm_sysreg_insn *si);

/* pio.c: port IO. */
int mkvm_handle_io(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit);
int mkvm_complete_pio_in(struct mkvm_vcpu *vcpu);

/* mmio.c: nested page faults and MMIO emulation. */
int mkvm_handle_npf(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit);
void mkvm_complete_mmio_load(struct mkvm_vcpu *vcpu);
int mkvm_complete_string_mmio(struct mkvm_vcpu *vcpu);

/* msr.c: MSRs, RDTSCP, RDPMC; TSC_AUX around runs. */
long mkvm_get_msr_index_list(void __user *argp);
long mkvm_get_msr_feature_index_list(void __user *argp);
long mkvm_get_feature_msrs(void __user *argp);
int mkvm_msrs_ioctl(struct mkvm_vcpu *vcpu, void __user *argp, bool set);

/* mce.c */
long mkvm_mce_cap_supported(void __user *argp);
int mkvm_mce_setup(struct mkvm_vcpu *vcpu, void __user *argp);
int mkvm_mce_get_msr(struct mkvm_vcpu *vcpu, u32 index, u64 *data, bool host);
int mkvm_mce_set_msr(struct mkvm_vcpu *vcpu, u32 index, u64 data, bool host);
int mkvm_handle_rdmsr(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit);
int mkvm_handle_wrmsr(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit);
void mkvm_complete_msr(struct mkvm_vcpu *vcpu, bool read);
bool mkvm_msr_allowed(struct mkvm_vcpu *vcpu, u32 index, u32 type);
void mkvm_update_msr_intercepts(struct mkvm_vcpu *vcpu);
int mkvm_msr_map_for_filter(struct mkvm_vcpu *vcpu,
			    const struct mkvm_msr_filter *f);
long mkvm_set_msr_filter(struct mkvm_vm *vm, void __user *argp);
void mkvm_free_msr_filter(struct mkvm_vm *vm);
int mkvm_handle_rdtscp(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit);
int mkvm_handle_rdpmc(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit);
int mkvm_tsc_attr_ioctl(struct mkvm_vcpu *vcpu, unsigned int ioctl,
			void __user *argp);
void mkvm_load_guest_tsc_aux(struct mkvm_vcpu *vcpu);

/* uret.c: MSRs the host needs back only in userspace. */
enum mkvm_uret_msr {
	MKVM_URET_TSC_AUX,
	MKVM_URET_STAR,			/* VMX: the SYSCALL MSRs */
	MKVM_URET_LSTAR,
	MKVM_URET_CSTAR,
	MKVM_URET_SFMASK,
	MKVM_URET_NR
};

void mkvm_uret_set(enum mkvm_uret_msr m, u64 val);
void mkvm_uret_drop(void);

/* cr.c: CR0/CR4 writes, XCR0. */
void mkvm_cr_init(void);
u64 mkvm_get_host_xcr0(void);
u64 mkvm_cr4_allowed(struct mkvm_vcpu *vcpu);
int mkvm_handle_cr_write(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit);
int mkvm_handle_xsetbv(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit);
u64 mkvm_supported_xcr0(void);
int mkvm_set_xcr0(struct mkvm_vcpu *vcpu, u64 xcr0);
void mkvm_update_xcr0_switch(struct mkvm_vcpu *vcpu);
void mkvm_write_sregs(struct mkvm_vcpu *vcpu, const struct kvm_sregs *s);

/*
 * state.c: KVM_GET/SET_VCPU_EVENTS, KVM_GET/SET_XSAVE, KVM_GET_XSAVE2,
 * KVM_GET/SET_XCRS.
 */
int mkvm_vcpu_events_ioctl(struct mkvm_vcpu *vcpu, void __user *argp,
			   bool set);
int mkvm_xsave_uabi_size(void);
int mkvm_get_xsave(struct mkvm_vcpu *vcpu, void __user *argp, bool xsave2);
int mkvm_set_xsave(struct mkvm_vcpu *vcpu, void __user *argp);
int mkvm_xcrs_ioctl(struct mkvm_vcpu *vcpu, void __user *argp, bool set);
int mkvm_sync_regs_in(struct mkvm_vcpu *vcpu);
void mkvm_sync_regs_out(struct mkvm_vcpu *vcpu);

/* dr.c: debug registers. */
/* The host's DR0-3 and DR7 while the guest's DR0-3 are loaded. */
struct mkvm_host_db {
	unsigned long db[4], dr7;
};

int mkvm_handle_dr_access(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit);
bool mkvm_load_guest_db(struct mkvm_vcpu *vcpu, struct mkvm_host_db *h);
void mkvm_put_guest_db(struct mkvm_host_db *h);
void mkvm_get_debugregs(struct mkvm_vcpu *vcpu, struct kvm_debugregs *d);
int mkvm_set_debugregs(struct mkvm_vcpu *vcpu, const struct kvm_debugregs *d);

/* cpuid.c: KVM_GET_SUPPORTED_CPUID, the vCPU's CPUID and its exit. */
long mkvm_get_supported_cpuid(void __user *argp);
int mkvm_set_cpuid2(struct mkvm_vcpu *vcpu, void __user *argp);
int mkvm_get_cpuid2(struct mkvm_vcpu *vcpu, void __user *argp);
bool mkvm_cpuid_bit(struct mkvm_vcpu *vcpu, u32 fn,
		    enum cpuid_regs_idx reg, int bit);
struct kvm_cpuid_entry2 *mkvm_find_cpuid(struct mkvm_vcpu *vcpu, u32 function,
					 u32 index);
bool mkvm_cpuid_has_long_mode(struct mkvm_vcpu *vcpu);
bool mkvm_cpuid_has_nx(struct mkvm_vcpu *vcpu);
bool mkvm_cpuid_has_rdtscp(struct mkvm_vcpu *vcpu);
bool mkvm_cpuid_has_tsc_aux(struct mkvm_vcpu *vcpu);
bool mkvm_cpuid_has_x2apic(struct mkvm_vcpu *vcpu);
bool mkvm_pv_has(struct mkvm_vcpu *vcpu, int feature);
void mkvm_cpuid_update_mwait(struct mkvm_vcpu *vcpu);
int mkvm_handle_cpuid(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit);

/* stats.c: KVM_GET_STATS_FD. clock.c: KVM_GET/SET_CLOCK. */
int mkvm_vm_stats_fd(struct mkvm_vm *vm);
int mkvm_vcpu_stats_fd(struct mkvm_vcpu *vcpu);
#define MKVM_CLOCK_FLAGS	(KVM_CLOCK_REALTIME | KVM_CLOCK_HOST_TSC)
int mkvm_get_clock(struct mkvm_vm *vm, void __user *argp);
int mkvm_set_clock(struct mkvm_vm *vm, void __user *argp);
void mkvm_kvmclock_update(struct mkvm_vcpu *vcpu);
void mkvm_kvmclock_write_wall(struct mkvm_vcpu *vcpu, u64 gpa);

/* netlink.c: the "minikvm" generic netlink family. */
int mkvm_netlink_init(void);
void mkvm_netlink_exit(void);
void mkvm_netlink_event(struct mkvm_vm *vm, u32 event, int vcpu_id);
void mkvm_vm_list_lock(void);
void mkvm_vm_list_unlock(void);
struct list_head *mkvm_vm_list(void);
void mkvm_vm_mem_usage(struct mkvm_vm *vm, u64 *pages, u64 *resident);

/* svm_entry.S: the world switch (see there). */
void mkvm_svm_enter(u64 vmcb_pa, u64 *regs, u64 host_save_pa);

/* vmx_entry.S: the world switch, and where VM exits land (HOST_RIP). */
int mkvm_vmx_enter(u64 *regs, bool launched);
void mkvm_vmx_exit(void);

#endif /* MINIKVM_H */
