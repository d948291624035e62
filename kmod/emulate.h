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
 * The one decoder.  Each mkvm_insn_decode*() below takes the bytes at
 * CS:RIP (@code, @avail of them valid: access.c fetches up to 15) and
 * the code size of the guest, and returns 0, or -EINVAL for bytes that
 * are not an instruction it handles (or longer than 15 bytes), -EAGAIN
 * if @avail is too short to hold it.  They share the scan of the
 * prefixes and the opcode, which mkvm_insn_decode_head() returns alone.
 */

/*
 * The legacy prefixes in front of an instruction (any number, in any
 * order, the last of a group counting), its REX prefix (64-bit mode, right
 * before the opcode) and its opcode.
 */
struct mkvm_insn_head {
	u8 len;			/* prefixes and opcode bytes */
	u8 nr_prefixes;		/* legacy and REX prefix bytes */
	u16 opcode;		/* one byte, or 0x0fxx for 0F xx */
	u8 osize;		/* operand size, unless 8-bit: 2, 4 or 8 */
	u8 asize;		/* address size: 2, 4 or 8 */
	s8 seg;			/* MKVM_SEG_* of the override, -1 if none */
	u8 rep;			/* the F2 or F3 prefix, 0 if none */
	bool lock;		/* F0 */
	u8 rex;			/* the REX prefix, 0 if none */
};

int mkvm_insn_decode_head(const u8 *code, unsigned int avail,
			  enum mkvm_cpu_mode mode, struct mkvm_insn_head *h);

/*
 * The MOV family that accesses memory (MOV, MOVZX, MOVSX, MOVSXD): what
 * an MMIO access needs.  F2 and F3 prefixes are refused.
 */
int mkvm_insn_decode(const u8 *code, unsigned int avail,
		     enum mkvm_cpu_mode mode, struct mkvm_insn *insn);

/* String instructions: MOVS, STOS, LODS (MMIO) and INS, OUTS (port IO). */
enum mkvm_string_op {
	MKVM_STRING_MOVS,
	MKVM_STRING_STOS,
	MKVM_STRING_LODS,
	MKVM_STRING_INS,
	MKVM_STRING_OUTS,
};

struct mkvm_string_insn {
	u8 len;			/* bytes, prefixes included */
	u8 op;			/* enum mkvm_string_op */
	u8 size;		/* element: 1, 2, 4 or 8 (INS/OUTS: up to 4) */
	u8 asize;		/* address size: 2, 4 or 8 (rSI, rDI, rCX) */
	u8 seg;			/* of the source (rSI): the override, or DS */
	bool rep;		/* F2 or F3: repeated rCX times */
};

int mkvm_insn_decode_string(const u8 *code, unsigned int avail,
			    enum mkvm_cpu_mode mode,
			    struct mkvm_string_insn *si);

/*
 * MOV to or from a control or debug register, CLTS and LMSW: the
 * instructions behind the CR and DR intercepts (cr.c, dr.c).  The
 * decoder fills it from the bytes at CS:RIP; a backend whose CPU decoded
 * the instruction (VMX's exit qualification) fills it instead.
 */
enum mkvm_sysreg_op {
	MKVM_SYSREG_NONE,	/* not decoded (yet) */
	MKVM_SYSREG_CR_WRITE,	/* MOV CRn, reg (0F 22) */
	MKVM_SYSREG_CR_READ,	/* MOV reg, CRn (0F 20) */
	MKVM_SYSREG_DR_WRITE,	/* MOV DRn, reg (0F 23) */
	MKVM_SYSREG_DR_READ,	/* MOV reg, DRn (0F 21) */
	MKVM_SYSREG_CLTS,	/* 0F 06 */
	MKVM_SYSREG_LMSW,	/* 0F 01 /6: CR0 bits 3:0 from reg or m16 */
};

struct mkvm_sysreg_insn {
	u8 op;			/* enum mkvm_sysreg_op */
	u8 len;			/* bytes, prefixes included */
	/*
	 * MOV CR/DR: the CR or DR (ModRM.reg with REX.R, 0-15) and the GPR
	 * (ModRM.rm with REX.B; ModRM.mod is ignored, as by the CPU).  The
	 * GPR is moved whole in 64-bit mode, its low 32 bits otherwise.
	 */
	u8 reg;
	u8 gpr;
	/*
	 * LMSW: the source is @gpr, or memory if @mem; @msw holds it if
	 * the CPU gave it (@has_msw), which the decoder never does.
	 */
	bool mem;
	bool has_msw;
	u16 msw;
};

int mkvm_insn_decode_sysreg(const u8 *code, unsigned int avail,
			    enum mkvm_cpu_mode mode,
			    struct mkvm_sysreg_insn *si);

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
