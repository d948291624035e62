// SPDX-License-Identifier: GPL-2.0
/*
 * The instruction decoder, the segment checks of an emulated data access
 * and the guest page-table walker.
 *
 * One scan of the prefixes and the opcode (mkvm_decode_head()) serves
 * every decoder: the MOV family for MMIO, the string instructions of
 * MMIO and port IO, the MOV CR/DR, CLTS and LMSW of the CR and DR
 * intercepts, and the prefix count that gives an intercepted
 * instruction's length when the CPU reports only its opcode's.
 *
 * On a nested page fault the guest-physical address is usually known, so
 * the MOV decoder mostly works out what the instruction does with it:
 * length, direction, access size, and the register or immediate
 * involved.  It also keeps the parts of the memory operand's address,
 * for the faults where the guest-physical address is that of a guest
 * page-table entry instead (mkvm_insn_ea()).  No flags.
 *
 * This file is also built on the host by selftests/unit/run.sh, with the
 * stand-in headers of selftests/unit/include: keep the includes to these.
 */
#include <linux/bits.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include <asm/msr-index.h>
#include <asm/pgtable_types.h>
#include <asm/processor-flags.h>
#include <asm/trap_pf.h>
#include <asm/trapnr.h>

#include "emulate.h"

#define REX_W			BIT(3)
#define REX_R			BIT(2)
#define REX_X			BIT(1)
#define REX_B			BIT(0)

/* What an opcode does (struct mkvm_opcode.flags). */
#define OP_BYTE		BIT(0)	/* 8-bit register or immediate operand */
#define OP_STORE	BIT(1)	/* writes memory, else loads a register */
#define OP_IMM		BIT(2)	/* immediate source, ModRM.reg must be 0 */
#define OP_MOFFS	BIT(3)	/* no ModRM: a moffs offset, register rAX */
#define OP_SEXT		BIT(4)	/* sign-extends the loaded value */
#define OP_REXW		BIT(5)	/* only in 64-bit mode with REX.W */

struct mkvm_opcode {
	u16 code;	/* the opcode, 0x0fxx for two-byte ones */
	u8 mem;		/* memory operand bytes, 0: the operand size */
	u8 flags;
};

static const struct mkvm_opcode mkvm_opcodes[] = {
	{ 0x88,   0, OP_BYTE | OP_STORE },		/* mov r/m8, r8 */
	{ 0x89,   0, OP_STORE },			/* mov r/m, r */
	{ 0x8a,   0, OP_BYTE },				/* mov r8, r/m8 */
	{ 0x8b,   0, 0 },				/* mov r, r/m */
	{ 0xc6,   0, OP_BYTE | OP_STORE | OP_IMM },	/* mov r/m8, imm8 */
	{ 0xc7,   0, OP_STORE | OP_IMM },		/* mov r/m, imm */
	{ 0xa0,   0, OP_BYTE | OP_MOFFS },		/* mov al, moffs */
	{ 0xa1,   0, OP_MOFFS },			/* mov rAX, moffs */
	{ 0xa2,   0, OP_BYTE | OP_MOFFS | OP_STORE },	/* mov moffs, al */
	{ 0xa3,   0, OP_MOFFS | OP_STORE },		/* mov moffs, rAX */
	{ 0x63,   4, OP_SEXT | OP_REXW },		/* movsxd r64, r/m32 */
	{ 0x0fb6, 1, 0 },				/* movzx r, r/m8 */
	{ 0x0fb7, 2, 0 },				/* movzx r, r/m16 */
	{ 0x0fbe, 1, OP_SEXT },				/* movsx r, r/m8 */
	{ 0x0fbf, 2, OP_SEXT },				/* movsx r, r/m16 */
};

struct mkvm_decoder {
	const u8 *code;
	unsigned int avail;
	unsigned int pos;
	u8 rex;
};

/* Whether @n more bytes exist: -EINVAL past 15 bytes, -EAGAIN past @avail. */
static int mkvm_need(const struct mkvm_decoder *d, unsigned int n)
{
	if (d->pos + n > MKVM_MAX_INSN_LEN)
		return -EINVAL;
	if (d->pos + n > d->avail)
		return -EAGAIN;
	return 0;
}

static int mkvm_next_byte(struct mkvm_decoder *d, u8 *byte)
{
	int ret = mkvm_need(d, 1);

	if (!ret)
		*byte = d->code[d->pos++];
	return ret;
}

/* Read @n bytes, little-endian (the caller checked that they exist). */
static u64 mkvm_read_le(struct mkvm_decoder *d, unsigned int n)
{
	u64 v = 0;
	unsigned int i;

	for (i = 0; i < n; i++)
		v |= (u64)d->code[d->pos++] << (8 * i);
	return v;
}

/* A displacement of @n bytes, sign-extended. */
static int mkvm_read_disp(struct mkvm_decoder *d, unsigned int n, u64 *disp)
{
	int ret = mkvm_need(d, n);

	if (ret)
		return ret;
	*disp = mkvm_read_le(d, n);
	if (n == 1)
		*disp = (u64)(s64)(s8)*disp;
	else if (n == 2)
		*disp = (u64)(s64)(s16)*disp;
	else if (n == 4)
		*disp = (u64)(s64)(s32)*disp;
	return 0;
}

/* The segment an override prefix names, -1 for other bytes. */
static int mkvm_seg_prefix(u8 byte)
{
	switch (byte) {
	case 0x26: return MKVM_SEG_ES;
	case 0x2e: return MKVM_SEG_CS;
	case 0x36: return MKVM_SEG_SS;
	case 0x3e: return MKVM_SEG_DS;
	case 0x64: return MKVM_SEG_FS;
	case 0x65: return MKVM_SEG_GS;
	default: return -1;
	}
}

static const struct mkvm_opcode *mkvm_find_opcode(u16 code)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(mkvm_opcodes); i++)
		if (mkvm_opcodes[i].code == code)
			return &mkvm_opcodes[i];
	return NULL;
}

/* 16-bit addressing: the base and index of each ModRM.rm. */
static const s8 mkvm_modrm16[8][2] = {
	{ 3, 6 }, { 3, 7 }, { 5, 6 }, { 5, 7 },	/* BX+SI BX+DI BP+SI BP+DI */
	{ 6, MKVM_EA_NONE }, { 7, MKVM_EA_NONE },	/* SI DI */
	{ 5, MKVM_EA_NONE }, { 3, MKVM_EA_NONE },	/* BP (or disp16) BX */
};

/*
 * The memory operand after a ModRM byte: the SIB byte and displacement
 * that follow it, and the default segment (SS when the base is BP or SP,
 * as in the CPU; not R12/R13).  RIP-relative (64-bit, mod 0, r/m 5) has
 * a disp32 like the 32-bit absolute form it replaces.
 */
static int mkvm_decode_modrm(struct mkvm_decoder *d, u8 modrm, bool long64,
			     struct mkvm_insn *insn)
{
	unsigned int mod = modrm >> 6, rm = modrm & 7;
	u8 sib;
	int ret;

	insn->base = MKVM_EA_NONE;
	insn->index = MKVM_EA_NONE;
	insn->scale = 1;
	insn->disp = 0;
	insn->seg = MKVM_SEG_DS;

	if (insn->asize == 2) {
		if (mod == 0 && rm == 6)
			return mkvm_read_disp(d, 2, &insn->disp);
		insn->base = mkvm_modrm16[rm][0];
		insn->index = mkvm_modrm16[rm][1];
		if (insn->base == 5)
			insn->seg = MKVM_SEG_SS;
		return mod ? mkvm_read_disp(d, mod == 1 ? 1 : 2, &insn->disp) : 0;
	}

	if (rm == 4) {
		ret = mkvm_next_byte(d, &sib);
		if (ret)
			return ret;
		insn->scale = 1 << (sib >> 6);
		insn->index = ((sib >> 3) & 7) | (d->rex & REX_X ? 8 : 0);
		if (insn->index == 4)		/* no index (but r12 is one) */
			insn->index = MKVM_EA_NONE;
		rm = sib & 7;		/* base 5 with mod 0: disp32, no base */
		if (mod == 0 && rm == 5)
			return mkvm_read_disp(d, 4, &insn->disp);
	} else if (mod == 0 && rm == 5) {
		if (long64)
			insn->base = MKVM_EA_RIP;
		return mkvm_read_disp(d, 4, &insn->disp);
	}
	insn->base = rm | (d->rex & REX_B ? 8 : 0);
	if (insn->base == 4 || insn->base == 5)
		insn->seg = MKVM_SEG_SS;
	return mod ? mkvm_read_disp(d, mod == 1 ? 1 : 4, &insn->disp) : 0;
}

/*
 * The prefixes and the opcode.  A REX prefix counts only right before
 * the opcode: a legacy prefix after it cancels it, as on the CPU.  40-4F
 * are REX only in 64-bit mode (INC and DEC elsewhere).  0F 38 and 0F 3A
 * come back as 0x0f38 and 0x0f3a, their third byte unread: no decoder
 * takes them.
 */
static int mkvm_decode_head(struct mkvm_decoder *d, enum mkvm_cpu_mode mode,
			    struct mkvm_insn_head *h)
{
	bool long64 = mode == MKVM_MODE_LONG64;
	bool wide = long64 || mode == MKVM_MODE_PROT32;
	bool opsize_prefix = false, adsize_prefix = false;
	u8 byte;
	int ret;

	h->seg = -1;
	h->rep = 0;
	h->lock = false;
	h->rex = 0;
	for (;;) {
		ret = mkvm_next_byte(d, &byte);
		if (ret)
			return ret;
		if (long64 && (byte & 0xf0) == 0x40) {
			h->rex = byte;
			continue;
		}
		if (byte == 0x66)
			opsize_prefix = true;
		else if (byte == 0x67)
			adsize_prefix = true;
		else if (byte == 0xf0)
			h->lock = true;
		else if (byte == 0xf2 || byte == 0xf3)
			h->rep = byte;		/* the last one counts */
		else if (mkvm_seg_prefix(byte) >= 0)
			h->seg = mkvm_seg_prefix(byte);	/* here too */
		else
			break;
		h->rex = 0;
	}
	d->rex = h->rex;
	h->nr_prefixes = d->pos - 1;
	h->opcode = byte;
	if (byte == 0x0f) {
		ret = mkvm_next_byte(d, &byte);
		if (ret)
			return ret;
		h->opcode = 0x0f00 | byte;
	}
	h->len = d->pos;

	if (h->rex & REX_W)
		h->osize = 8;
	else
		h->osize = wide != opsize_prefix ? 4 : 2;
	if (long64)
		h->asize = adsize_prefix ? 4 : 8;
	else
		h->asize = wide != adsize_prefix ? 4 : 2;
	return 0;
}

int mkvm_insn_decode_head(const u8 *code, unsigned int avail,
			  enum mkvm_cpu_mode mode, struct mkvm_insn_head *h)
{
	struct mkvm_decoder d = { .code = code, .avail = avail };

	return mkvm_decode_head(&d, mode, h);
}

int mkvm_insn_decode(const u8 *code, unsigned int avail,
		     enum mkvm_cpu_mode mode, struct mkvm_insn *insn)
{
	struct mkvm_decoder d = { .code = code, .avail = avail };
	bool long64 = mode == MKVM_MODE_LONG64;
	const struct mkvm_opcode *op;
	unsigned int osize, asize, reg = 0, imm_len;
	struct mkvm_insn_head h;
	u8 modrm, rex;
	u64 imm = 0;
	int ret;

	ret = mkvm_decode_head(&d, mode, &h);
	if (ret)
		return ret;
	/* REP, or XACQUIRE/XRELEASE: no MOV a driver would write. */
	if (h.rep)
		return -EINVAL;
	rex = h.rex;
	op = mkvm_find_opcode(h.opcode);
	if (!op)
		return -EINVAL;
	if ((op->flags & OP_REXW) && !(rex & REX_W))
		return -EINVAL;		/* arpl, or a movsxd nobody emits */

	osize = op->flags & OP_BYTE ? 1 : h.osize;
	asize = h.asize;
	insn->asize = asize;

	if (op->flags & OP_MOFFS) {
		ret = mkvm_need(&d, asize);
		if (ret)
			return ret;
		insn->disp = mkvm_read_le(&d, asize);
		insn->base = MKVM_EA_NONE;
		insn->index = MKVM_EA_NONE;
		insn->scale = 1;
		insn->seg = MKVM_SEG_DS;
	} else {
		ret = mkvm_next_byte(&d, &modrm);
		if (ret)
			return ret;
		if (modrm >> 6 == 3)
			return -EINVAL;	/* register operand: not MMIO */
		reg = (modrm >> 3) & 7;
		if ((op->flags & OP_IMM) && reg)
			return -EINVAL;	/* not mov (C6 /0, C7 /0) */
		ret = mkvm_decode_modrm(&d, modrm, long64, insn);
		if (ret)
			return ret;
		if ((rex & REX_R) && !(op->flags & OP_IMM))
			reg += 8;
	}
	if (h.seg >= 0)
		insn->seg = h.seg;

	if (op->flags & OP_IMM) {
		imm_len = osize == 8 ? 4 : osize;
		ret = mkvm_need(&d, imm_len);
		if (ret)
			return ret;
		imm = mkvm_read_le(&d, imm_len);
		if (osize == 8)		/* imm32, sign-extended */
			imm = (u64)(s64)(s32)imm;
	}

	/* Without REX, byte registers 4-7 are AH, CH, DH, BH. */
	insn->high8 = osize == 1 && !rex && reg >= 4;
	if (insn->high8)
		reg -= 4;

	insn->has_imm = op->flags & OP_IMM;
	insn->imm = imm;
	insn->len = d.pos;
	insn->kind = op->flags & OP_STORE ? MKVM_INSN_STORE : MKVM_INSN_LOAD;
	insn->size = op->mem ? op->mem : osize;
	insn->reg = reg;
	insn->dst_size = osize;
	insn->sign_extend = op->flags & OP_SEXT;
	return 0;
}

int mkvm_insn_decode_string(const u8 *code, unsigned int avail,
			    enum mkvm_cpu_mode mode,
			    struct mkvm_string_insn *si)
{
	struct mkvm_decoder d = { .code = code, .avail = avail };
	struct mkvm_insn_head h;
	int ret;

	ret = mkvm_decode_head(&d, mode, &h);
	if (ret)
		return ret;
	switch (h.opcode) {
	case 0x6c:
	case 0x6d:
		si->op = MKVM_STRING_INS;
		break;
	case 0x6e:
	case 0x6f:
		si->op = MKVM_STRING_OUTS;
		break;
	case 0xa4:
	case 0xa5:
		si->op = MKVM_STRING_MOVS;
		break;
	case 0xaa:
	case 0xab:
		si->op = MKVM_STRING_STOS;
		break;
	case 0xac:
	case 0xad:
		si->op = MKVM_STRING_LODS;
		break;
	default:
		return -EINVAL;
	}
	/* Even opcodes move bytes; port IO has no 64-bit form. */
	si->size = h.opcode & 1 ? h.osize : 1;
	if (si->size == 8 && (si->op == MKVM_STRING_INS ||
			      si->op == MKVM_STRING_OUTS))
		si->size = 4;
	si->len = h.len;
	si->asize = h.asize;
	si->seg = h.seg >= 0 ? h.seg : MKVM_SEG_DS;	/* ES:rDI is fixed */
	si->rep = h.rep;
	return 0;
}

int mkvm_insn_decode_sysreg(const u8 *code, unsigned int avail,
			    enum mkvm_cpu_mode mode,
			    struct mkvm_sysreg_insn *si)
{
	struct mkvm_decoder d = { .code = code, .avail = avail };
	struct mkvm_insn_head h;
	struct mkvm_insn mem;
	u8 modrm;
	int ret;

	ret = mkvm_decode_head(&d, mode, &h);
	if (ret)
		return ret;
	si->reg = 0;
	si->gpr = 0;
	si->mem = false;
	si->has_msw = false;
	si->msw = 0;
	switch (h.opcode) {
	case 0x0f06:
		si->op = MKVM_SYSREG_CLTS;
		si->len = d.pos;
		return 0;
	case 0x0f01:
		si->op = MKVM_SYSREG_LMSW;	/* if ModRM.reg is 6 */
		break;
	case 0x0f20:
		si->op = MKVM_SYSREG_CR_READ;
		break;
	case 0x0f21:
		si->op = MKVM_SYSREG_DR_READ;
		break;
	case 0x0f22:
		si->op = MKVM_SYSREG_CR_WRITE;
		break;
	case 0x0f23:
		si->op = MKVM_SYSREG_DR_WRITE;
		break;
	default:
		return -EINVAL;
	}

	ret = mkvm_next_byte(&d, &modrm);
	if (ret)
		return ret;
	si->gpr = (modrm & 7) | (d.rex & REX_B ? 8 : 0);
	if (si->op != MKVM_SYSREG_LMSW) {
		si->reg = ((modrm >> 3) & 7) | (d.rex & REX_R ? 8 : 0);
		si->len = d.pos;
		return 0;
	}

	/* The rest of group 7 (SGDT, INVLPG, SWAPGS, ...) is not ours. */
	if (((modrm >> 3) & 7) != 6)
		return -EINVAL;
	if (modrm >> 6 != 3) {
		/* LMSW m16: walk over the operand, for the length. */
		si->gpr = 0;
		si->mem = true;
		mem.asize = h.asize;
		ret = mkvm_decode_modrm(&d, modrm,
					mode == MKVM_MODE_LONG64, &mem);
		if (ret)
			return ret;
	}
	si->len = d.pos;
	return 0;
}

static u64 mkvm_size_mask(unsigned int size)
{
	return size >= 8 ? ~0ULL : BIT_ULL(8 * size) - 1;
}

u64 mkvm_insn_ea(const struct mkvm_insn *insn, const u64 *gprs, u64 rip)
{
	u64 ea = insn->disp;

	if (insn->base == MKVM_EA_RIP)
		ea += rip + insn->len;
	else if (insn->base >= 0)
		ea += gprs[insn->base];
	if (insn->index >= 0)
		ea += gprs[insn->index] * insn->scale;
	return ea & mkvm_size_mask(insn->asize);
}

u64 mkvm_insn_store_value(const struct mkvm_insn *insn, const u64 *gprs)
{
	u64 val;

	if (insn->has_imm)
		return insn->imm & mkvm_size_mask(insn->size);
	val = gprs[insn->reg];
	if (insn->high8)
		val >>= 8;
	return val & mkvm_size_mask(insn->size);
}

void mkvm_insn_complete_load(const struct mkvm_insn *insn, u64 *gprs,
			     u64 data)
{
	u64 *reg = &gprs[insn->reg];
	unsigned int shift = insn->high8 ? 8 : 0;

	data &= mkvm_size_mask(insn->size);
	if (insn->sign_extend) {
		if (insn->size == 1)
			data = (u64)(s64)(s8)data;
		else if (insn->size == 2)
			data = (u64)(s64)(s16)data;
		else if (insn->size == 4)
			data = (u64)(s64)(s32)data;
	}

	switch (insn->dst_size) {
	case 1:
	case 2:		/* the other bits of the register are kept */
		*reg &= ~(mkvm_size_mask(insn->dst_size) << shift);
		*reg |= (data & mkvm_size_mask(insn->dst_size)) << shift;
		break;
	case 4:		/* a 32-bit write zeroes the upper half */
		*reg = (u32)data;
		break;
	default:
		*reg = data;
		break;
	}
}

/*
 * Guest page tables, read through the caller's callback and never written:
 * accessed and dirty bits are left alone.  The CPU has set them on the
 * way to an MMIO operand; the memory operand of a string instruction
 * (INS, OUTS, MOVS) gets none (design.rst).  Reserved bits that do not
 * depend on MAXPHYADDR are checked; bits MAXPHYADDR-51 are not.  PAE
 * PDPTEs are read from memory at each walk, not from copies taken when
 * CR3 was loaded.
 */
#define PTE_ADDR		GENMASK_ULL(51, 12)
#define PAE_HIGH_RSVD		GENMASK_ULL(62, 52)
/*
 * PAE PDPTE bits 2:1 and 63:52 are reserved everywhere; 8:5 only on
 * Intel (AMD, and QEMU's SVM, set the accessed bit 5 there).
 */
#define PAE_PDPTE_RSVD		(GENMASK_ULL(63, 52) | GENMASK_ULL(2, 1))
#define PSE_4M_RSVD		BIT_ULL(21)		/* PSE-36 uses 20:13 */

enum mkvm_pg_format { MKVM_PG_32, MKVM_PG_PAE, MKVM_PG_4LEVEL };

static int mkvm_read_pte(mkvm_read_gpa_t read_gpa, void *ctx,
			 enum mkvm_pg_format fmt, u64 gpa, u64 *pte)
{
	u32 pte32;
	int ret;

	if (fmt != MKVM_PG_32)
		return read_gpa(ctx, gpa, pte, sizeof(*pte));
	ret = read_gpa(ctx, gpa, &pte32, sizeof(pte32));
	*pte = pte32;
	return ret;
}

/* Whether @pte at @level maps a large page rather than a table. */
static bool mkvm_pte_large(const struct mkvm_paging *pg,
			   enum mkvm_pg_format fmt, int level, u64 pte)
{
	if (!(pte & _PAGE_PSE))
		return false;
	if (fmt == MKVM_PG_32)
		return level == 2 && (pg->cr4 & X86_CR4_PSE);
	return level == 2 || level == 3;
}

static u64 mkvm_pte_rsvd(const struct mkvm_paging *pg,
			 enum mkvm_pg_format fmt, int level, u64 pte,
			 unsigned int shift)
{
	u64 rsvd = pg->efer & EFER_NX ? 0 : _PAGE_NX;

	if (fmt == MKVM_PG_32)
		return mkvm_pte_large(pg, fmt, level, pte) ? PSE_4M_RSVD : 0;
	if (fmt == MKVM_PG_PAE && level == 3)
		return PAE_PDPTE_RSVD;
	if (fmt == MKVM_PG_PAE)
		rsvd |= PAE_HIGH_RSVD;
	if (level == 4)
		rsvd |= _PAGE_PSE;
	else if (level > 1 && mkvm_pte_large(pg, fmt, level, pte))
		rsvd |= GENMASK_ULL(shift - 1, 13);	/* 12 is PAT */
	return rsvd;
}

/*
 * The error code of a #PF for @access: @bits (0 for a page not present,
 * X86_PF_PROT for rights denied, with X86_PF_RSVD for a reserved bit),
 * the kind of access, and the fetch bit where the CPU reports it (NX or
 * SMEP enabled).
 */
static int mkvm_page_fault(const struct mkvm_paging *pg, u64 gva, u32 access,
			   u32 bits, struct mkvm_fault *fault)
{
	fault->vector = X86_TRAP_PF;
	fault->error = bits;
	if (access & MKVM_WALK_WRITE)
		fault->error |= X86_PF_WRITE;
	if (access & MKVM_WALK_USER)
		fault->error |= X86_PF_USER;
	if ((access & MKVM_WALK_FETCH) &&
	    ((pg->efer & EFER_NX) || (pg->cr4 & X86_CR4_SMEP)))
		fault->error |= X86_PF_INSTR;
	fault->address = gva;
	return -EFAULT;
}

/* Whether the rights of the walk (@rights, @nx) deny @access. */
static bool mkvm_access_denied(const struct mkvm_paging *pg, u32 access,
			       u64 rights, u64 nx)
{
	bool user = access & MKVM_WALK_USER;

	if (user && !(rights & _PAGE_USER))
		return true;
	if ((access & MKVM_WALK_WRITE) && !(rights & _PAGE_RW) &&
	    (user || (pg->cr0 & X86_CR0_WP)))
		return true;
	if (access & MKVM_WALK_FETCH)	/* NX only possible with EFER.NXE */
		return nx || (!user && (rights & _PAGE_USER) &&
			      (pg->cr4 & X86_CR4_SMEP));
	/* SMAP: supervisor data accesses to user pages, unless AC is set. */
	return !user && (rights & _PAGE_USER) && (pg->cr4 & X86_CR4_SMAP) &&
	       !(pg->rflags & X86_EFLAGS_AC);
}

int mkvm_gva_to_gpa(const struct mkvm_paging *pg, u64 gva, u32 access,
		    mkvm_read_gpa_t read_gpa, void *ctx, u64 *gpa,
		    struct mkvm_fault *fault)
{
	u64 table, pte, rights = _PAGE_RW | _PAGE_USER, nx = 0;
	enum mkvm_pg_format fmt;
	unsigned int bits, shift;
	int level, ret;

	if (!(pg->cr0 & X86_CR0_PG)) {
		*gpa = (u32)gva;	/* not long mode: linear is 32 bits */
		return 0;
	}
	if (pg->cr4 & X86_CR4_LA57)
		return -EINVAL;

	if (pg->efer & EFER_LMA) {
		if (!(pg->cr4 & X86_CR4_PAE))
			return -EINVAL;
		if (gva >> 47 != 0 && gva >> 47 != 0x1ffff) {
			fault->vector = X86_TRAP_GP;	/* non-canonical */
			fault->error = 0;
			fault->address = gva;
			return -EFAULT;
		}
		fmt = MKVM_PG_4LEVEL;
		level = 4;
		table = pg->cr3 & PTE_ADDR;
	} else if (pg->cr4 & X86_CR4_PAE) {
		fmt = MKVM_PG_PAE;
		level = 3;
		table = pg->cr3 & GENMASK_ULL(31, 5);
		gva = (u32)gva;
	} else {
		fmt = MKVM_PG_32;
		level = 2;
		table = pg->cr3 & GENMASK_ULL(31, 12);
		gva = (u32)gva;
	}
	bits = fmt == MKVM_PG_32 ? 10 : 9;

	for (;; level--) {
		shift = 12 + bits * (level - 1);
		table += ((gva >> shift) & (BIT(bits) - 1)) * (bits == 10 ? 4 : 8);
		ret = mkvm_read_pte(read_gpa, ctx, fmt, table, &pte);
		if (ret == -ENXIO)	/* no memory behind the entry */
			return mkvm_page_fault(pg, gva, access, 0, fault);
		if (ret)
			return ret;
		if (!(pte & _PAGE_PRESENT))
			return mkvm_page_fault(pg, gva, access, 0, fault);
		if (pte & mkvm_pte_rsvd(pg, fmt, level, pte, shift))
			return mkvm_page_fault(pg, gva, access,
					       X86_PF_PROT | X86_PF_RSVD, fault);
		if (fmt != MKVM_PG_PAE || level != 3)	/* PDPTE: no rights */
			rights &= pte;
		nx |= pte & _PAGE_NX;
		if (level == 1 || mkvm_pte_large(pg, fmt, level, pte))
			break;
		table = pte & (fmt == MKVM_PG_32 ? GENMASK_ULL(31, 12) : PTE_ADDR);
	}

	if (mkvm_access_denied(pg, access, rights, nx))
		return mkvm_page_fault(pg, gva, access, X86_PF_PROT, fault);

	if (fmt == MKVM_PG_32 && level == 2)	/* PSE-36: 20:13 are 39:32 */
		pte = (pte & GENMASK_ULL(31, 22)) |
		      (pte & GENMASK_ULL(20, 13)) << 19;
	*gpa = (pte & PTE_ADDR & ~(BIT_ULL(shift) - 1)) |
	       (gva & (BIT_ULL(shift) - 1));
	return 0;
}

/* Sign-extended from bit 47 (no LA57 for guests). */
static bool mkvm_la_canonical(u64 la)
{
	return (u64)((s64)(la << 16) >> 16) == la;
}

int mkvm_linearize(enum mkvm_cpu_mode mode, const struct mkvm_seg *seg,
		   u64 ea, unsigned int len, bool write, u64 *la,
		   struct mkvm_fault *fault)
{
	bool code = seg->type & BIT(3), prot = mode != MKVM_MODE_REAL;
	u64 last = ea + len - 1, lo = 0, hi = seg->limit;

	fault->vector = seg->ss ? X86_TRAP_SS : X86_TRAP_GP;
	fault->error = 0;
	fault->address = 0;

	if (mode == MKVM_MODE_LONG64) {
		*la = seg->base + ea;
		if (!mkvm_la_canonical(*la) || !mkvm_la_canonical(*la + len - 1))
			return -EFAULT;
		return 0;
	}

	/* Types and presence count in protected mode only. */
	if (prot && !seg->usable)
		return -EFAULT;
	if (prot && write && (code || !(seg->type & BIT(1))))
		return -EFAULT;		/* code, or read-only data */
	if (prot && !write && code && !(seg->type & BIT(1)))
		return -EFAULT;		/* execute-only code */
	if (!code && (seg->type & BIT(2))) {
		/* Expand-down: the offsets above the limit. */
		lo = (u64)seg->limit + 1;
		hi = seg->db ? 0xffffffff : 0xffff;
	}
	if (ea < lo || last > hi)
		return -EFAULT;
	*la = (u32)(seg->base + ea);
	return 0;
}

static bool mkvm_exc_contributory(u8 vector)
{
	return vector == X86_TRAP_DE || vector == X86_TRAP_TS ||
	       vector == X86_TRAP_NP || vector == X86_TRAP_SS ||
	       vector == X86_TRAP_GP;
}

enum mkvm_exc_merge mkvm_exception_merge(u8 first, u8 next)
{
	if (first == X86_TRAP_DF)
		return MKVM_EXC_TRIPLE_FAULT;
	if (mkvm_exc_contributory(next) &&
	    (mkvm_exc_contributory(first) || first == X86_TRAP_PF))
		return MKVM_EXC_DOUBLE_FAULT;
	if (first == X86_TRAP_PF && next == X86_TRAP_PF)
		return MKVM_EXC_DOUBLE_FAULT;
	return MKVM_EXC_NEXT;
}
