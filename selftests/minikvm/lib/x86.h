/* SPDX-License-Identifier: GPL-2.0 */
/*
 * x86 guest state: the standard guest-physical layout, CPU modes,
 * CPUID and MSRs.
 *
 * Guest-physical map of a vm_create() VM (slot numbers in brackets):
 *
 *   0x00000000  [0] low memory, 640 KiB
 *     0x00000      real-mode IVT
 *     0x01000      GDT (GDT_* selectors below)
 *     0x02000      IDT for 64-bit mode: 256 gates to guest_exc_stubs
 *     0x03000      TSS (the one the GDT describes)
 *     0x04000      long mode: PML4, PDPT, four PDs of 2 MiB pages
 *     0x0a000      PAE PDPT (shares the four PDs)
 *     0x0b000      32-bit page directory: 4 MiB pages, but 0-4 MiB
 *     0x0c000      through this page table of 4 KiB pages
 *     0x10000      raw guest code (CODE_GPA, 64 KiB)
 *     0x20000      free for tests (DATA_GPA)
 *     0x9f000      top of the raw-mode stack (STACK_GPA)
 *   0x000a0000  hole: no slot below 1 MiB (MMIO_REAL_GPA)
 *   0x00100000  [1] high memory up to 32 MiB
 *     0x400000     the test binary's PT_LOAD segments, at their addresses
 *     ...          vm_alloc_pages(): vCPU stacks, TSSs, test pages
 *   0x02000000  nothing (tests add slots here: FREE_GPA)
 *   0xd0000000  MMIO_GPA: never a slot
 *
 * Every paging mode identity-maps the first 4 GiB, so virtual and
 * physical addresses are the same in every mode.
 */
#ifndef MKVM_LIB_X86_H
#define MKVM_LIB_X86_H

#include <stdint.h>
#include <linux/kvm.h>

#include "vm.h"

#define CR0_PE	(1UL << 0)
#define CR0_MP	(1UL << 1)
#define CR0_EM	(1UL << 2)
#define CR0_TS	(1UL << 3)
#define CR0_ET	(1UL << 4)
#define CR0_NE	(1UL << 5)
#define CR0_WP	(1UL << 16)
#define CR0_NW	(1UL << 29)
#define CR0_CD	(1UL << 30)
#define CR0_PG	(1UL << 31)

#define CR4_PSE		(1UL << 4)
#define CR4_PAE		(1UL << 5)
#define CR4_OSFXSR	(1UL << 9)
#define CR4_OSXMMEXCPT	(1UL << 10)

#define EFER_SCE	(1UL << 0)
#define EFER_LME	(1UL << 8)
#define EFER_LMA	(1UL << 10)
#define EFER_NX		(1UL << 11)
#define EFER_SVME	(1UL << 12)

#define RFLAGS_FIXED	(1UL << 1)
#define RFLAGS_TF	(1UL << 8)
#define RFLAGS_IF	(1UL << 9)

#define MSR_IA32_SYSENTER_CS	0x174
#define MSR_IA32_SYSENTER_ESP	0x175
#define MSR_IA32_SYSENTER_EIP	0x176
#define MSR_IA32_CR_PAT		0x277
#define MSR_EFER		0xc0000080
#define MSR_STAR		0xc0000081
#define MSR_LSTAR		0xc0000082
#define MSR_CSTAR		0xc0000083
#define MSR_SYSCALL_MASK	0xc0000084
#define MSR_FS_BASE		0xc0000100
#define MSR_GS_BASE		0xc0000101
#define MSR_KERNEL_GS_BASE	0xc0000102

/* CPUID bits the tests care about. */
#define CPUID_8000_0001_ECX_SVM	(1U << 2)
#define CPUID_1_ECX_X2APIC	(1U << 21)
#define CPUID_8000_0001_EDX_LM	(1U << 29)

/* Exception vectors. */
#define DE_VECTOR	0
#define UD_VECTOR	6
#define DF_VECTOR	8
#define GP_VECTOR	13
#define PF_VECTOR	14

/* The standard layout (see above). */
#define GDT_GPA		0x1000UL
#define IDT_GPA		0x2000UL
#define TSS_GPA		0x3000UL
#define PML4_GPA	0x4000UL
#define PDPT_GPA	0x5000UL
#define PD_GPA		0x6000UL	/* four pages */
#define PAE_PDPT_GPA	0xa000UL
#define PD32_GPA	0xb000UL
#define PT32_GPA	0xc000UL
#define CODE_GPA	0x10000UL
#define CODE_SIZE	0x10000UL
#define DATA_GPA	0x20000UL
#define STACK_GPA	0x9f000UL
#define LOW_MEM_SIZE	0xa0000UL
#define MMIO_REAL_GPA	0xb8000UL
#define HIGH_MEM_GPA	0x100000UL
#define HIGH_MEM_END	0x2000000UL
#define FREE_GPA	0x2000000UL
#define MMIO_GPA	0xd0000000UL

#define SLOT_LOW	0
#define SLOT_HIGH	1

/* GDT selectors. */
#define GDT_CODE32	0x08
#define GDT_DATA	0x10
#define GDT_CODE64	0x18
#define GDT_CODE16	0x20
#define GDT_DATA16	0x28
#define GDT_TSS		0x30	/* 16 bytes */
#define GDT_UDATA	0x40	/* DPL 3 (selector 0x43) */
#define GDT_UCODE64	0x48	/* DPL 3 (selector 0x4b) */
#define GDT_LIMIT	0x4f

/* Page-table entry bits. */
#define PTE_P		(1ULL << 0)
#define PTE_RW		(1ULL << 1)
#define PTE_US		(1ULL << 2)
#define PTE_PS		(1ULL << 7)
#define PTE_ADDR	0x000ffffffffff000ULL

/* The same values for asm strings. */
#define CODE_GPA_S	"0x10000"
#define DATA_GPA_S	"0x20000"
#define MMIO_GPA_S	"0xd0000000"
#define PML4_GPA_S	"0x4000"

enum cpu_mode {
	MODE_REAL,	/* 16-bit real mode */
	MODE_PROT32,	/* 32-bit protected mode, flat, no paging */
	MODE_PAGING32,	/* 32-bit paging (4 KiB and 4 MiB pages) */
	MODE_PAE,	/* 32-bit PAE paging (2 MiB pages) */
	MODE_LONG,	/* 64-bit long mode, 4-level paging */
	NR_CPU_MODES
};

extern const char *const cpu_mode_name[NR_CPU_MODES];

/*
 * Put the vCPU in @mode through KVM_SET_SREGS: flat segments from the
 * GDT above, control registers and EFER, paging through the tables
 * above.  Sets RFLAGS to its fixed bit; leaves RIP and GPRs alone.
 * In real mode all segments but SS are based at CODE_GPA.
 */
void vcpu_set_mode(struct vcpu *vcpu, enum cpu_mode mode);

/*
 * Raw guest code: a labelled asm snippet (GUEST_ASM) copied to CODE_GPA.
 * vcpu_load_snippet() copies it, puts the vCPU in @mode and points RIP
 * (IP in real mode, with CS based at CODE_GPA) at its start and the stack
 * at STACK_GPA.  Addresses inside a snippet: SNIP(name, label).
 */
#define GUEST_ASM(name, code)						\
	extern const char name##_start[], name##_end[];			\
	asm(".pushsection .text\n"					\
	    ".globl " #name "_start\n"					\
	    #name "_start:\n"						\
	    code "\n"							\
	    ".globl " #name "_end\n"					\
	    #name "_end:\n"						\
	    ".code64\n"							\
	    ".popsection\n")

/* In asm: the guest address of @label of snippet @name, and its offset. */
#define SNIP(name, label) "(" #label " - " #name "_start + " CODE_GPA_S ")"
#define SNIP_OFF(name, label) "(" #label " - " #name "_start)"

#define vcpu_load_snippet(vcpu, mode, name) \
	__vcpu_load_snippet(vcpu, mode, name##_start, name##_end)
void __vcpu_load_snippet(struct vcpu *vcpu, enum cpu_mode mode,
			 const char *start, const char *end);

/*
 * Run the C function @fn in 64-bit mode on this vCPU's stack, with up to
 * four arguments (rdi, rsi, rdx, rcx).  Returning from @fn is
 * GUEST_DONE().  @fn must not call libc: see guest.h.
 */
void vcpu_start_guest(struct vcpu *vcpu, void *fn, int nargs, ...);

/*
 * A VM with one vCPU that runs @fn (no arguments) until GUEST_DONE();
 * a failed GUEST_ASSERT or any other exit fails the test.
 */
void run_guest_to_done(void *fn);

/*
 * CPL 3 for 64-bit C guests (guest_run_user() in guest.h runs the code).
 * vm_user_tables() builds a copy of the 4-level identity map in which
 * every page is a user page and returns its CR3; vm_user_pte() returns
 * the 4 KiB entry of @gva in such tables (splitting its 2 MiB page), so
 * that a test can make one page supervisor-only or read-only; and
 * vcpu_set_cr3() puts a vCPU on them (after vcpu_start_guest()).
 */
uint64_t vm_user_tables(struct vm *vm);
uint64_t *vm_user_pte(struct vm *vm, uint64_t cr3, uint64_t gva);
void vcpu_set_cr3(struct vcpu *vcpu, uint64_t cr3);

/* CPUID. */
/* KVM_GET_SUPPORTED_CPUID, fetched once (do not modify). */
/* Whether the host is AMD (or Hygon): SVM, kvm_amd's conventions. */
bool host_is_amd(void);
const struct kvm_cpuid2 *kvm_supported_cpuid(void);
/* A copy to modify and free(). */
struct kvm_cpuid2 *cpuid_dup(const struct kvm_cpuid2 *cpuid);
/* The entry for @function/@index (index ignored for non-indexed leaves). */
struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *cpuid,
				    uint32_t function, uint32_t index);
void vcpu_set_cpuid(struct vcpu *vcpu, const struct kvm_cpuid2 *cpuid);
/* The CPUID the library gives every vCPU: supported, without SVM. */
struct kvm_cpuid2 *default_cpuid(void);

/* MSRs through KVM_GET/SET_MSRS. */
uint64_t vcpu_get_msr(struct vcpu *vcpu, uint32_t index);
void vcpu_set_msr(struct vcpu *vcpu, uint32_t index, uint64_t value);
/* The raw ioctl on @n entries: the count done, or -errno. */
int __vcpu_msrs(struct vcpu *vcpu, unsigned long req,
		struct kvm_msr_entry *entries, unsigned int n);

#endif /* MKVM_LIB_X86_H */
