/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The small instruction decoder behind KVM_EXIT_MMIO, and the checks of
 * an emulated access: segment limits and the software walk of the
 * guest's page tables, with the faults the CPU would raise.
 *
 * Vendor-neutral and free of VM state: callers pass bytes, registers and
 * a callback that reads guest-physical memory.  The same file is built
 * into the module and into the host-side unit tests (selftests/unit/).
 *
 * GPR numbers follow the x86 encoding (and KVM's struct kvm_regs order):
 * 0 RAX, 1 RCX, 2 RDX, 3 RBX, 4 RSP, 5 RBP, 6 RSI, 7 RDI, 8-15 R8-R15.
 */
#ifndef MINIKVM_EMULATE_H
#define MINIKVM_EMULATE_H

#include <linux/bits.h>
#include <linux/types.h>

#define MKVM_NR_GPRS	16
#define MKVM_MAX_INSN_LEN	15	/* bytes in an x86 instruction */

/* Code size of the guest at the faulting instruction. */
enum mkvm_cpu_mode {
	MKVM_MODE_REAL,		/* real or virtual-8086: 16-bit, no paging */
	MKVM_MODE_PROT16,	/* protected, CS.D = 0 */
	MKVM_MODE_PROT32,	/* protected, CS.D = 1 (also compat mode) */
	MKVM_MODE_LONG64,	/* 64-bit mode (EFER.LMA and CS.L) */
};

enum mkvm_insn_kind {
	MKVM_INSN_LOAD,		/* memory -> register (mov, movzx, movsx) */
	MKVM_INSN_STORE,	/* register or immediate -> memory */
};

struct mkvm_insn {
	u8 len;			/* bytes, prefixes included */
	u8 kind;		/* enum mkvm_insn_kind */
	u8 size;		/* memory access size: 1, 2, 4 or 8 */
	u8 reg;			/* GPR read (store) or written (load) */
	bool high8;		/* reg is AH, CH, DH or BH (no REX, size 1) */
	bool has_imm;		/* store of imm instead of reg */
	u64 imm;		/* the immediate, already sized to @size */
	u8 dst_size;		/* load: register width written (1, 2, 4, 8) */
	bool sign_extend;	/* load: movsx (else zero-extend if widened) */
	/*
	 * The memory operand, for mkvm_insn_ea(): seg:[base + index *
	 * scale + disp] with @asize-byte address arithmetic.
	 */
	u8 seg;			/* MKVM_SEG_*: the override, else the default */
	s8 base;		/* a GPR, MKVM_EA_NONE or MKVM_EA_RIP */
	s8 index;		/* a GPR or MKVM_EA_NONE */
	u8 scale;		/* 1, 2, 4 or 8 */
	u8 asize;		/* address size: 2, 4 or 8 */
	u64 disp;		/* sign-extended displacement, or the moffs */
};

/* Segment registers, in the x86 encoding (and struct kvm_sregs order). */
enum {
	MKVM_SEG_ES,
	MKVM_SEG_CS,
	MKVM_SEG_SS,
	MKVM_SEG_DS,
	MKVM_SEG_FS,
	MKVM_SEG_GS,
};

#define MKVM_EA_NONE	(-1)
#define MKVM_EA_RIP	(-2)	/* RIP-relative: from the next instruction */

/*
 * Decode the instruction at @code (@avail bytes valid).  Returns 0, or
 * -EINVAL for an instruction the decoder does not handle, -EAGAIN if
 * @avail is too short to hold it.
 */
int mkvm_insn_decode(const u8 *code, unsigned int avail,
		     enum mkvm_cpu_mode mode, struct mkvm_insn *insn);

/*
 * The effective address (the offset in the segment, before the segment
 * base is added) of the memory operand of @insn, decoded at @rip, with
 * the registers @gprs: wrapped to the address size as the CPU does.
 */
u64 mkvm_insn_ea(const struct mkvm_insn *insn, const u64 *gprs, u64 rip);

/* The value a STORE writes (@size bytes, in the low bits). */
u64 mkvm_insn_store_value(const struct mkvm_insn *insn, const u64 *gprs);

/*
 * Complete a LOAD with @data (@size bytes, in the low bits) read from
 * the device, updating @gprs with x86 semantics: 32-bit destinations
 * zero the upper half, 8/16-bit ones keep the other bits.
 */
void mkvm_insn_complete_load(const struct mkvm_insn *insn, u64 *gprs,
			     u64 data);

/*
 * The guest's paging state, for walking its page tables; RFLAGS only for
 * its AC bit, which lifts SMAP for supervisor data accesses.
 */
struct mkvm_paging {
	u64 cr0, cr3, cr4, efer, rflags;
};

/*
 * The exception a guest access raises, as the CPU would deliver it:
 * X86_TRAP_PF (error code of X86_PF_* bits, @address the linear address
 * for CR2), or X86_TRAP_GP / X86_TRAP_SS with error code 0.
 */
struct mkvm_fault {
	u8 vector;
	u32 error;
	u64 address;
};

/*
 * Reads @size (4 or 8) bytes of guest-physical memory; 0 or -errno, and
 * -ENXIO where no memory is (no slot: page tables in MMIO), which the
 * walk takes as a not-present entry, as KVM's walker does.
 */
typedef int (*mkvm_read_gpa_t)(void *ctx, u64 gpa, void *buf,
			       unsigned int size);

#define MKVM_WALK_WRITE		BIT(0)
#define MKVM_WALK_USER		BIT(1)	/* a CPL 3 access: U/S pages only */
#define MKVM_WALK_FETCH		BIT(2)

/*
 * Translate the linear address @gva through the guest's page tables
 * (none, 32-bit, PAE or 4-level; 4M/2M/1G pages).  Returns 0 with *@gpa
 * set; -EFAULT with *@fault set if the access faults: #PF for a page not
 * present, a reserved bit, or rights denied for @access (U/S, R/W with
 * CR0.WP, NX, SMEP, SMAP unless RFLAGS.AC), #GP for a non-canonical
 * address; -EINVAL for a paging mode not handled; or the read callback's
 * error.
 */
int mkvm_gva_to_gpa(const struct mkvm_paging *pg, u64 gva, u32 access,
		    mkvm_read_gpa_t read_gpa, void *ctx, u64 *gpa,
		    struct mkvm_fault *fault);

/*
 * A segment register as a data access sees it (struct kvm_segment, with
 * the base the mode gives it: 0 for ES, CS, SS and DS in 64-bit mode).
 */
struct mkvm_seg {
	u64 base;
	u32 limit;		/* in bytes: granularity already applied */
	u8 type;		/* descriptor type, bits 3:0 */
	bool db;		/* expand-down: the upper bound is 4G, else 64K */
	bool usable;		/* holds a descriptor (not null, not unusable) */
	bool ss;		/* the stack segment: a violation is #SS */
};

/*
 * The linear address of a data access of @len bytes at offset @ea (already
 * truncated to the address size) of @seg, checked as the CPU does: in
 * 64-bit mode both ends canonical; in protected mode a usable segment, a
 * writable data segment for a write, a readable one for a read, and the
 * limit (expand-up or expand-down); in real and virtual-8086 mode the
 * limit.  Returns 0 with *@la set, or -EFAULT with *@fault set (#GP, or
 * #SS for the stack segment).
 */
int mkvm_linearize(enum mkvm_cpu_mode mode, const struct mkvm_seg *seg,
		   u64 ea, unsigned int len, bool write, u64 *la,
		   struct mkvm_fault *fault);

/*
 * A second exception @next raised while the CPU delivers exception
 * @first (SDM vol. 3, 6.15, table 6-5): a contributory one (#DE, #TS,
 * #NP, #SS, #GP) after a contributory one, or a #PF or contributory one
 * after a #PF, is a double fault; any after a #DF is a triple fault (a
 * shutdown); otherwise @next is delivered (and @first comes back when
 * its instruction runs again).
 */
enum mkvm_exc_merge {
	MKVM_EXC_NEXT,
	MKVM_EXC_DOUBLE_FAULT,
	MKVM_EXC_TRIPLE_FAULT,
};

enum mkvm_exc_merge mkvm_exception_merge(u8 first, u8 next);

#endif /* MINIKVM_EMULATE_H */
