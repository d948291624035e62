// SPDX-License-Identifier: GPL-2.0
/*
 * Guest memory, registers and instruction bytes as the emulation sees
 * them: the CPU mode and CPL, copies through the guest's page tables with
 * the rights of its CPL, segment checks, the fetch of the bytes at CS:RIP
 * for the decoder of emulate.c, and the fault an emulated access raises
 * in the guest.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kvm.h>
#include <linux/mm.h>
#include <asm/processor-flags.h>
#include <asm/trapnr.h>

#include "minikvm.h"

/* The CPU mode from CR0, EFER and CS's L and D bits. */
static enum mkvm_cpu_mode mkvm_mode_of(u64 cr0, u64 efer,
				       const struct kvm_segment *cs)
{
	if (!(cr0 & X86_CR0_PE))
		return MKVM_MODE_REAL;
	if ((efer & EFER_LMA) && cs->l)
		return MKVM_MODE_LONG64;
	return cs->db ? MKVM_MODE_PROT32 : MKVM_MODE_PROT16;
}

enum mkvm_cpu_mode mkvm_cpu_mode(const struct kvm_sregs *s)
{
	return mkvm_mode_of(s->cr0, s->efer, &s->cs);
}

/*
 * The guest's CPL: 0 in real mode, 3 in virtual-8086 mode, else SS.DPL,
 * which is how VMX defines it and what KVM reports as SS.DPL on SVM (on
 * VMX one VMREAD, SS's attributes).  @cr0 and @rflags are the guest's.
 */
static unsigned int mkvm_cpl_of(struct mkvm_vcpu *vcpu, u64 cr0, u64 rflags)
{
	struct kvm_segment ss;

	if (!(cr0 & X86_CR0_PE))
		return 0;
	if (rflags & X86_EFLAGS_VM)
		return 3;
	mkvm_call(get_seg_attr)(vcpu, MKVM_SEG_SS, &ss);
	return ss.dpl;
}

unsigned int mkvm_vcpu_cpl(struct mkvm_vcpu *vcpu)
{
	return mkvm_cpl_of(vcpu, mkvm_call(get_cr0)(vcpu),
			   mkvm_call(get_rflags)(vcpu));
}

/*
 * The mode and the CPL from the vCPU itself, for an exit that needs
 * nothing more of its segments (a hypercall): CR0, EFER, CS's and SS's
 * attributes, which on VMX is two VMREADs where get_sregs() takes 37
 * (41 under PAE paging).
 */
enum mkvm_cpu_mode mkvm_vcpu_mode_cpl(struct mkvm_vcpu *vcpu,
				      unsigned int *cpl)
{
	u64 cr0 = mkvm_call(get_cr0)(vcpu);
	struct kvm_segment cs;

	*cpl = 0;
	if (!(cr0 & X86_CR0_PE))
		return MKVM_MODE_REAL;
	*cpl = mkvm_cpl_of(vcpu, cr0, mkvm_call(get_rflags)(vcpu));
	mkvm_call(get_seg_attr)(vcpu, MKVM_SEG_CS, &cs);
	return mkvm_mode_of(cr0, mkvm_call(get_efer)(vcpu), &cs);
}

/*
 * Of the segment and control registers, what mkvm_cpu_mode(), the page
 * walk and the fetch at CS:RIP read: CR0, CR4, EFER, CS's attributes
 * and, outside 64-bit mode (where the CPU takes its base as 0), the rest
 * of CS, and CR3 with paging on.  On VMX that is 2 VMREADs in 64-bit
 * mode (KVM's emulator reads the same, and SS's for the CPL, as the
 * walk does here through mkvm_cpl_of()) and at most 5.  The rest of
 * @s is zero: a handler that goes on to a data segment, the descriptor
 * tables, CR2 or CR8, or writes @s back, takes get_sregs() instead.
 */
void mkvm_get_code_sregs(struct mkvm_vcpu *vcpu, struct kvm_sregs *s)
{
	memset(s, 0, sizeof(*s));
	s->cr0 = mkvm_call(get_cr0)(vcpu);
	s->cr4 = mkvm_call(get_cr4)(vcpu);
	s->efer = mkvm_call(get_efer)(vcpu);
	mkvm_call(get_seg_attr)(vcpu, MKVM_SEG_CS, &s->cs);
	if (mkvm_cpu_mode(s) == MKVM_MODE_LONG64) {
		s->cs.selector = 0;
		s->cs.base = 0;
		s->cs.limit = 0;
	} else {
		mkvm_call(get_segment)(vcpu, MKVM_SEG_CS, &s->cs);
	}
	if (s->cr0 & X86_CR0_PG)
		s->cr3 = mkvm_call(get_cr3)(vcpu);
}

/* A page table outside guest memory: no fault the guest could be given. */
static int mkvm_read_gpa_cb(void *ctx, u64 gpa, void *buf, unsigned int size)
{
	return mkvm_read_guest(ctx, gpa, buf, size) ? -ENXIO : 0;
}

/* The guest's paging state, and @access with the rights of its CPL. */
static u32 mkvm_paging(struct mkvm_vcpu *vcpu, const struct kvm_sregs *s,
		       u32 access, struct mkvm_paging *pg)
{
	pg->cr0 = s->cr0;
	pg->cr3 = s->cr3;
	pg->cr4 = s->cr4;
	pg->efer = s->efer;
	pg->rflags = mkvm_call(get_rflags)(vcpu);
	return access |
	       (mkvm_cpl_of(vcpu, s->cr0, pg->rflags) == 3 ? MKVM_WALK_USER : 0);
}

/*
 * Copy @len bytes between @buf and the guest's linear address @la with
 * the rights of its CPL (@access, plus MKVM_WALK_USER at CPL 3; SMAP as
 * RFLAGS.AC says).  Every page is translated before a byte moves, so a
 * fault leaves guest memory as it was.  Returns 0; -EFAULT with *@fault
 * set, for the guest; -ENXIO for guest-physical memory without a slot
 * (or a read-only one, for a write); or another -errno.
 */
int mkvm_guest_copy(struct mkvm_vcpu *vcpu, const struct kvm_sregs *s,
		    u64 la, void *buf, unsigned int len, u32 access,
		    struct mkvm_fault *fault)
{
	bool la32 = mkvm_cpu_mode(s) != MKVM_MODE_LONG64;
	struct mkvm_vm *vm = vcpu->vm;
	unsigned int done, n, pass;
	struct mkvm_paging pg;
	int idx, r = 0;
	u64 gpa, a;

	vcpu->flush_l1d = true;
	access = mkvm_paging(vcpu, s, access, &pg);
	idx = srcu_read_lock(&vm->srcu);
	/* Pass 0 only translates; pass 1 translates again and copies. */
	for (pass = 0; pass < 2 && !r; pass++) {
		for (done = 0; done < len && !r; done += n) {
			a = la32 ? (u32)(la + done) : la + done;
			n = min_t(unsigned int, len - done,
				  PAGE_SIZE - offset_in_page(a));
			r = mkvm_gva_to_gpa(&pg, a, access, mkvm_read_gpa_cb, vm,
					    &gpa, fault);
			if (r || !pass)
				continue;
			if (access & MKVM_WALK_WRITE)
				r = mkvm_write_guest(vm, gpa, buf + done, n);
			else
				r = mkvm_read_guest(vm, gpa, buf + done, n);
			if (r)
				r = -ENXIO;
		}
	}
	srcu_read_unlock(&vm->srcu, idx);
	return r;
}

/* The translation of @la alone, with the rights mkvm_guest_copy() uses. */
int mkvm_guest_gpa(struct mkvm_vcpu *vcpu, const struct kvm_sregs *s,
		   u64 la, u32 access, u64 *gpa, struct mkvm_fault *fault)
{
	struct mkvm_vm *vm = vcpu->vm;
	struct mkvm_paging pg;
	int idx, r;

	access = mkvm_paging(vcpu, s, access, &pg);
	idx = srcu_read_lock(&vm->srcu);
	r = mkvm_gva_to_gpa(&pg, la, access, mkvm_read_gpa_cb, vm, gpa, fault);
	srcu_read_unlock(&vm->srcu, idx);
	return r;
}

int mkvm_internal_error(struct mkvm_vcpu *vcpu, u32 suberror,
			u64 data0, u64 data1)
{
	struct kvm_run *run = vcpu->run;

	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->internal.suberror = suberror;
	run->internal.ndata = 2;
	run->internal.data[0] = data0;
	run->internal.data[1] = data1;
	return 0;
}

static u64 mkvm_mask(unsigned int bytes)
{
	return bytes >= 8 ? ~0ULL : (1ULL << (bytes * 8)) - 1;
}

/* Address-size register access for string IO (SI, DI, CX). */
u64 mkvm_reg_get(struct mkvm_vcpu *vcpu, int reg, unsigned int asize)
{
	return *mkvm_gpr(vcpu, reg) & mkvm_mask(asize);
}

void mkvm_reg_set(struct mkvm_vcpu *vcpu, int reg, unsigned int asize,
		  u64 val)
{
	u64 *g = mkvm_gpr(vcpu, reg);
	u64 m = mkvm_mask(asize);

	if (asize == 4)
		*g = val & m;	/* 32-bit writes zero-extend */
	else
		*g = (*g & ~m) | (val & m);
}

/* Segment registers by their x86 number: ES CS SS DS FS GS. */
static const struct kvm_segment *mkvm_sreg(const struct kvm_sregs *s, int seg)
{
	const struct kvm_segment *segs[] = {
		&s->es, &s->cs, &s->ss, &s->ds, &s->fs, &s->gs,
	};

	return seg >= 0 && seg < ARRAY_SIZE(segs) ? segs[seg] : &s->ds;
}

u64 mkvm_seg_base(const struct kvm_sregs *s, int seg)
{
	/* In 64-bit mode only FS and GS have a base. */
	if (mkvm_cpu_mode(s) == MKVM_MODE_LONG64 && seg < 4)
		return 0;
	return mkvm_sreg(s, seg)->base;
}

/*
 * A data access of the emulator at @seg:@ea (@ea already cut to the
 * address size), as the CPU makes it: the segment checks (#GP/#SS) give
 * the linear address, then the page walk with the rights of the guest's
 * CPL (#PF), then the copy.  Both return like mkvm_guest_copy().
 */
int mkvm_data_linear(const struct kvm_sregs *s, int seg, u64 ea,
		     unsigned int len, bool write, u64 *la,
		     struct mkvm_fault *fault)
{
	const struct kvm_segment *k = mkvm_sreg(s, seg);
	struct mkvm_seg sg = {
		.base = mkvm_seg_base(s, seg), .limit = k->limit,
		.type = k->type, .db = k->db, .usable = !k->unusable,
		.ss = seg == 2,
	};

	return mkvm_linearize(mkvm_cpu_mode(s), &sg, ea, len, write, la, fault);
}

int mkvm_guest_data(struct mkvm_vcpu *vcpu, const struct kvm_sregs *s,
		    int seg, u64 ea, void *buf, unsigned int len,
		    bool write, struct mkvm_fault *fault)
{
	u64 la;
	int r;

	r = mkvm_data_linear(s, seg, ea, len, write, &la, fault);
	if (!r)
		r = mkvm_guest_copy(vcpu, s, la, buf, len,
				    write ? MKVM_WALK_WRITE : 0, fault);
	return r;
}

/*
 * After an emulated access failed with @r: -EFAULT raises @fault in the
 * guest (CR2 first, for a #PF), which then re-enters at the instruction;
 * anything else is KVM_EXIT_INTERNAL_ERROR for address @addr.  Returns
 * like an exit handler.
 */
int mkvm_access_failed(struct mkvm_vcpu *vcpu, int r,
		       const struct mkvm_fault *fault, u64 addr)
{
	if (r != -EFAULT)
		return mkvm_internal_error(vcpu, KVM_INTERNAL_ERROR_EMULATION,
					   addr, vcpu->rip);
	if (fault->vector == X86_TRAP_PF)
		mkvm_call(set_cr2)(vcpu, fault->address);
	/* #PF, #GP and #SS: all push an error code (not in real mode). */
	mkvm_queue_exception(vcpu, fault->vector, true, fault->error);
	return 1;
}

/*
 * Fetch the instruction at CS:RIP through a software walk with the
 * rights of the CPL: up to 15 bytes, fewer if the next page cannot be
 * read (*@n says how many).  Returns 0; -EFAULT with *@fault if the walk
 * for RIP's page faults (the guest gets it, as from KVM's emulator); or
 * -EIO if the code cannot be read (it is in MMIO).  *@next is the fault
 * of the next page's walk, for an instruction that turns out to need
 * bytes from there (@next->vector is 0 if there is none: a walk raises
 * only #PF and #GP).
 */
int mkvm_fetch_insn(struct mkvm_vcpu *vcpu, const struct kvm_sregs *s,
		    u8 *code, unsigned int *n, struct mkvm_fault *fault,
		    struct mkvm_fault *next)
{
	bool la32 = mkvm_cpu_mode(s) != MKVM_MODE_LONG64;
	u64 la = la32 ? (u32)(s->cs.base + vcpu->rip) : vcpu->rip;
	unsigned int first = min_t(unsigned int, MKVM_MAX_INSN_LEN,
				   PAGE_SIZE - offset_in_page(la));
	u64 gpa;
	int r;

	next->vector = 0;
	r = mkvm_guest_gpa(vcpu, s, la, MKVM_WALK_FETCH, &gpa, fault);
	if (r)
		return r == -EFAULT ? r : -EIO;
	if (mkvm_read_guest(vcpu->vm, gpa, code, first))
		return -EIO;
	*n = first;
	if (first == MKVM_MAX_INSN_LEN)
		return 0;
	la = la32 ? (u32)(la + first) : la + first;
	if (mkvm_guest_gpa(vcpu, s, la, MKVM_WALK_FETCH, &gpa, next))
		return 0;
	if (!mkvm_read_guest(vcpu->vm, gpa, code + first,
			     MKVM_MAX_INSN_LEN - first))
		*n = MKVM_MAX_INSN_LEN;
	return 0;
}

/*
 * The same for the intercepts of an instruction the CPU has just run,
 * whose bytes are there to read: any failure is -EFAULT, which the
 * callers report as an internal error.  Takes vm->srcu for the reads.
 */
int mkvm_fetch_code(struct mkvm_vcpu *vcpu, const struct kvm_sregs *s,
		    u8 *code, unsigned int *n)
{
	struct mkvm_fault fault, next;
	int idx, r;

	vcpu->flush_l1d = true;
	idx = srcu_read_lock(&vcpu->vm->srcu);
	r = mkvm_fetch_insn(vcpu, s, code, n, &fault, &next);
	srcu_read_unlock(&vcpu->vm->srcu, idx);
	return r ? -EFAULT : 0;
}

/*
 * The MOV CR/DR, CLTS or LMSW behind a CR or DR intercept, for cr.c and
 * dr.c: @hw if the CPU decoded it (VMX's exit qualification), else the
 * one decoded at CS:RIP (SVM without decode assists).
 */
int mkvm_fetch_sysreg_insn(struct mkvm_vcpu *vcpu, const struct kvm_sregs *s,
			   const struct mkvm_sysreg_insn *hw,
			   struct mkvm_sysreg_insn *si)
{
	u8 code[MKVM_MAX_INSN_LEN];
	unsigned int n;
	int r;

	if (hw->op != MKVM_SYSREG_NONE) {
		*si = *hw;
		return 0;
	}
	r = mkvm_fetch_code(vcpu, s, code, &n);
	if (!r)
		r = mkvm_insn_decode_sysreg(code, n, mkvm_cpu_mode(s), si);
	return r;
}

/*
 * Past the instruction that exited.  Without NRIP save the backend knows
 * only its opcode's length (exit->insn_len): the decoder counts the
 * prefixes in front of it, so that a redundant prefix (66 0f a2) does
 * not leave the guest in the middle of its instruction.
 */
void mkvm_skip_insn(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit)
{
	u8 code[MKVM_MAX_INSN_LEN];
	struct mkvm_insn_head h;
	enum mkvm_cpu_mode mode;
	struct kvm_sregs s;
	unsigned int n;

	if (exit->next_rip) {
		vcpu->rip = exit->next_rip;
		return;
	}
	mkvm_get_code_sregs(vcpu, &s);
	mode = mkvm_cpu_mode(&s);
	if (mkvm_fetch_code(vcpu, &s, code, &n) ||
	    mkvm_insn_decode_head(code, n, mode, &h))
		h.nr_prefixes = 0;	/* unreadable: as if without prefixes */
	vcpu->rip += h.nr_prefixes + exit->insn_len;
	if (mode != MKVM_MODE_LONG64)
		vcpu->rip = (u32)vcpu->rip;
}
