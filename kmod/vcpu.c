// SPDX-License-Identifier: GPL-2.0
/*
 * vCPUs: the vCPU fd, its ioctls and the run loop.
 *
 * The run loop owns the policy: it enters the guest through the
 * backend, which reports each exit as a struct mkvm_exit, and decides
 * here whether to re-enter, to complete the exit in the kernel or to
 * return to userspace.  Exit handlers return 1 to re-enter, 0 to return
 * to userspace (run->exit_reason set), or a negative errno.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kvm.h>
#include <linux/mm.h>
#include <linux/sched/clock.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/debugreg.h>
#include <asm/fpu/xcr.h>
#include <asm/mtrr.h>
#include <asm/nospec-branch.h>
#include <asm/processor-flags.h>
#include <asm/trapnr.h>
#include <asm/msr-index.h>

#include "minikvm.h"

/* ---- CPU mode and guest memory through the guest's page tables ------- */

static enum mkvm_cpu_mode mkvm_cpu_mode(const struct kvm_sregs *s)
{
	if (!(s->cr0 & X86_CR0_PE))
		return MKVM_MODE_REAL;
	if ((s->efer & EFER_LMA) && s->cs.l)
		return MKVM_MODE_LONG64;
	return s->cs.db ? MKVM_MODE_PROT32 : MKVM_MODE_PROT16;
}

/* A page table outside guest memory: no fault the guest could be given. */
static int mkvm_read_gpa_cb(void *ctx, u64 gpa, void *buf, unsigned int size)
{
	return mkvm_read_guest(ctx, gpa, buf, size) ? -ENXIO : 0;
}

/*
 * The guest's CPL: 0 in real mode, 3 in virtual-8086 mode, else SS.DPL,
 * which is how VMX defines it and what KVM reports as SS.DPL on SVM.
 */
static unsigned int mkvm_cpl(struct mkvm_vcpu *vcpu, const struct kvm_sregs *s)
{
	if (!(s->cr0 & X86_CR0_PE))
		return 0;
	if (mkvm_ops->get_rflags(vcpu) & X86_EFLAGS_VM)
		return 3;
	return s->ss.dpl;
}

/* The guest's paging state, and @access with the rights of its CPL. */
static u32 mkvm_paging(struct mkvm_vcpu *vcpu, const struct kvm_sregs *s,
		       u32 access, struct mkvm_paging *pg)
{
	pg->cr0 = s->cr0;
	pg->cr3 = s->cr3;
	pg->cr4 = s->cr4;
	pg->efer = s->efer;
	pg->rflags = mkvm_ops->get_rflags(vcpu);
	return access | (mkvm_cpl(vcpu, s) == 3 ? MKVM_WALK_USER : 0);
}

/*
 * Copy @len bytes between @buf and the guest's linear address @la with
 * the rights of its CPL (@access, plus MKVM_WALK_USER at CPL 3; SMAP as
 * RFLAGS.AC says).  Every page is translated before a byte moves, so a
 * fault leaves guest memory as it was.  Returns 0; -EFAULT with *@fault
 * set, for the guest; -ENXIO for guest-physical memory without a slot
 * (or a read-only one, for a write); or another -errno.
 */
static int mkvm_guest_copy(struct mkvm_vcpu *vcpu, const struct kvm_sregs *s,
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
static int mkvm_guest_gpa(struct mkvm_vcpu *vcpu, const struct kvm_sregs *s,
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

/* The same for instruction bytes and such, where the fault is not needed. */
static int mkvm_linear_access(struct mkvm_vcpu *vcpu, const struct kvm_sregs *s,
			      u64 la, void *buf, unsigned int len, u32 access)
{
	struct mkvm_fault fault;

	return mkvm_guest_copy(vcpu, s, la, buf, len, access, &fault);
}

/* ---- userspace exits ---------------------------------------------------- */

static int mkvm_internal_error(struct mkvm_vcpu *vcpu, u32 suberror,
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
static u64 mkvm_reg_get(struct mkvm_vcpu *vcpu, int reg, unsigned int asize)
{
	return vcpu->regs[reg] & mkvm_mask(asize);
}

static void mkvm_reg_set(struct mkvm_vcpu *vcpu, int reg, unsigned int asize,
			 u64 val)
{
	u64 m = mkvm_mask(asize);

	if (asize == 4)
		vcpu->regs[reg] = val & m;	/* 32-bit writes zero-extend */
	else
		vcpu->regs[reg] = (vcpu->regs[reg] & ~m) | (val & m);
}

/* Segment registers by their x86 number: ES CS SS DS FS GS. */
static const struct kvm_segment *mkvm_sreg(const struct kvm_sregs *s, int seg)
{
	const struct kvm_segment *segs[] = {
		&s->es, &s->cs, &s->ss, &s->ds, &s->fs, &s->gs,
	};

	return seg >= 0 && seg < ARRAY_SIZE(segs) ? segs[seg] : &s->ds;
}

static u64 mkvm_seg_base(const struct kvm_sregs *s, int seg)
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
static int mkvm_data_linear(const struct kvm_sregs *s, int seg, u64 ea,
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

static int mkvm_guest_data(struct mkvm_vcpu *vcpu, const struct kvm_sregs *s,
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
static int mkvm_access_failed(struct mkvm_vcpu *vcpu, int r,
			      const struct mkvm_fault *fault, u64 addr)
{
	struct kvm_sregs s;

	if (r != -EFAULT)
		return mkvm_internal_error(vcpu, KVM_INTERNAL_ERROR_EMULATION,
					   addr, vcpu->rip);
	mkvm_ops->get_sregs(vcpu, &s);
	if (fault->vector == X86_TRAP_PF)
		mkvm_ops->set_cr2(vcpu, fault->address);
	/* Real mode pushes no error code. */
	mkvm_ops->inject_exception(vcpu, fault->vector, s.cr0 & X86_CR0_PE,
				   fault->error);
	return 1;
}

/*
 * The prefixes of the instruction at CS:RIP: address size, segment,
 * operand size, REX and REP; returns the (first) opcode byte or -errno.
 * SVM reports the address size and segment of INS/OUTS, and the operands
 * of MOV CR/DR, only with decode assists, which our test CPUs lack, so
 * they are read here.
 */
struct mkvm_prefixes {
	unsigned int asize;
	int seg;
	bool opsize16, rexw, rep;
	u8 rex;				/* the REX byte, 0 if none */
	unsigned int len;		/* prefixes and the opcode byte */
};

static int mkvm_insn_prefixes(struct mkvm_vcpu *vcpu, const struct kvm_sregs *s,
			      struct mkvm_prefixes *p)
{
	static const u8 segs[] = { 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65 };
	enum mkvm_cpu_mode mode = mkvm_cpu_mode(s);
	u64 la = mode == MKVM_MODE_LONG64 ? vcpu->rip :
		 (u32)(s->cs.base + vcpu->rip);
	bool def16 = mode == MKVM_MODE_REAL || mode == MKVM_MODE_PROT16;
	u8 b;
	int i, j;

	p->asize = mode == MKVM_MODE_LONG64 ? 8 : def16 ? 2 : 4;
	p->seg = 3;					/* DS */
	p->opsize16 = def16;
	p->rexw = false;
	p->rex = 0;
	p->rep = false;
	for (i = 0; i < 15; i++) {
		if (mkvm_linear_access(vcpu, s, la + i, &b, 1, MKVM_WALK_FETCH))
			return -EFAULT;
		for (j = 0; j < ARRAY_SIZE(segs); j++)
			if (b == segs[j])
				break;
		if (j < ARRAY_SIZE(segs)) {
			p->seg = j;			/* ES CS SS DS FS GS */
		} else if (b == 0x67) {
			p->asize = mode == MKVM_MODE_LONG64 ? 4 : 6 - p->asize;
		} else if (b == 0x66) {
			p->opsize16 = !def16;
		} else if (mode == MKVM_MODE_LONG64 && (b & 0xf0) == 0x40) {
			p->rexw = b & 8;
			p->rex = b;
			continue;			/* REX must come last */
		} else if (b == 0xf2 || b == 0xf3) {
			p->rep = true;
		} else if (b != 0xf0) {
			p->len = i + 1;
			return b;			/* the opcode */
		}
		p->rexw = false;
		p->rex = 0;
	}
	return -EINVAL;
}

/*
 * Past the instruction that exited.  Without NRIP save the backend knows
 * only its opcode's length (exit->insn_len): the prefixes in front of it
 * are counted here, so that a redundant prefix (66 0f a2) does not leave
 * the guest in the middle of its instruction.
 */
static void mkvm_skip_insn(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit)
{
	struct mkvm_prefixes p;
	struct kvm_sregs s;

	if (exit->next_rip) {
		vcpu->rip = exit->next_rip;
		return;
	}
	mkvm_ops->get_sregs(vcpu, &s);
	if (mkvm_insn_prefixes(vcpu, &s, &p) < 0)
		p.len = 1;		/* unreadable: as if without prefixes */
	vcpu->rip += p.len - 1 + exit->insn_len;
	if (mkvm_cpu_mode(&s) != MKVM_MODE_LONG64)
		vcpu->rip = (u32)vcpu->rip;
}

/*
 * String port IO: up to a page of data per exit, never crossing a page
 * of guest memory; the instruction restarts until RCX reaches 0.  A block
 * that would pass the segment limit shrinks to one element, so that the
 * elements before the limit are done and the one across it faults, as
 * on the CPU.  Returns 1 with vcpu->pio set up, 0 if there is nothing to
 * do (REP with RCX = 0), or -errno.
 */
static int mkvm_string_io_setup(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit,
				struct kvm_sregs *s)
{
	unsigned int asize, size = exit->io.size;
	int reg = exit->io.in ? 7 : 6;		/* RDI : RSI */
	bool down = mkvm_ops->get_rflags(vcpu) & X86_EFLAGS_DF;
	struct mkvm_prefixes p;
	struct mkvm_fault fault;
	u64 count = 1, room, ea, la;
	int r;

	mkvm_ops->get_sregs(vcpu, s);
	r = mkvm_insn_prefixes(vcpu, s, &p);
	if (r < 0)
		return r;
	asize = p.asize;
	vcpu->pio.addr_size = asize;
	vcpu->pio.seg = exit->io.in ? 0 : p.seg;	/* INS: always ES */
	ea = mkvm_reg_get(vcpu, reg, asize);
	la = mkvm_seg_base(s, vcpu->pio.seg) + ea;
	if (mkvm_cpu_mode(s) != MKVM_MODE_LONG64)
		la &= 0xffffffff;
	if (exit->io.rep) {
		count = mkvm_reg_get(vcpu, 1, asize);
		if (!count) {			/* rep with RCX = 0: a no-op */
			vcpu->rip = exit->next_rip;
			return 0;
		}
	}
	if (down) {
		count = 1;
	} else {
		room = (PAGE_SIZE - offset_in_page(la)) / size;
		count = clamp_t(u64, count, 1, max_t(u64, room, 1));
	}
	if (count > 1 && mkvm_data_linear(s, vcpu->pio.seg, ea, count * size,
					  exit->io.in, &la, &fault))
		count = 1;
	vcpu->pio.count = count;
	return 1;
}

/* Advance RSI/RDI/RCX after @count iterations; RIP when done. */
static void mkvm_string_io_advance(struct mkvm_vcpu *vcpu, u64 next_rip)
{
	unsigned int asize = vcpu->pio.addr_size;
	int reg = vcpu->pio.in ? 7 : 6;
	bool down = mkvm_ops->get_rflags(vcpu) & X86_EFLAGS_DF;
	u64 delta = (u64)vcpu->pio.count * vcpu->pio.size;
	u64 v = mkvm_reg_get(vcpu, reg, asize);
	bool done = true;

	mkvm_reg_set(vcpu, reg, asize, down ? v - delta : v + delta);
	if (vcpu->pio.rep) {
		u64 cx = mkvm_reg_get(vcpu, 1, asize) - vcpu->pio.count;

		mkvm_reg_set(vcpu, 1, asize, cx);
		done = !cx;
	}
	if (done)
		vcpu->rip = next_rip;
}

static int mkvm_handle_io(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit)
{
	struct kvm_run *run = vcpu->run;
	struct mkvm_fault fault;
	struct kvm_sregs s;
	u64 ea;
	int r;

	vcpu->pio.port = exit->io.port;
	vcpu->pio.size = exit->io.size;
	vcpu->pio.in = exit->io.in;
	vcpu->pio.string = exit->io.string;
	vcpu->pio.rep = exit->io.rep;
	vcpu->pio.next_rip = exit->next_rip;
	vcpu->pio.count = 1;

	if (exit->io.string) {
		r = mkvm_string_io_setup(vcpu, exit, &s);
		if (r < 0)
			return mkvm_internal_error(vcpu,
					KVM_INTERNAL_ERROR_EMULATION, vcpu->rip, r);
		if (!r)
			return 1;		/* nothing to do: re-enter */
		/*
		 * OUTS reads memory before the port sees a byte, so a fault
		 * leaves no exit.  INS writes memory on the next KVM_RUN,
		 * after the port read: a fault comes then (as with KVM).
		 */
		if (!exit->io.in) {
			ea = mkvm_reg_get(vcpu, 6, vcpu->pio.addr_size);
			r = mkvm_guest_data(vcpu, &s, vcpu->pio.seg, ea,
					    vcpu->pio_data,
					    vcpu->pio.count * exit->io.size,
					    false, &fault);
			if (r)
				return mkvm_access_failed(vcpu, r, &fault, ea);
		}
	} else if (!exit->io.in) {
		memcpy(vcpu->pio_data, &vcpu->regs[0], exit->io.size);
	}

	run->exit_reason = KVM_EXIT_IO;
	run->io.direction = exit->io.in ? KVM_EXIT_IO_IN : KVM_EXIT_IO_OUT;
	run->io.size = exit->io.size;
	run->io.port = exit->io.port;
	run->io.count = vcpu->pio.count;
	run->io.data_offset = KVM_PIO_PAGE_OFFSET * PAGE_SIZE;

	if (exit->io.in)
		vcpu->pending = MKVM_PENDING_PIO_IN;
	else if (exit->io.string)
		mkvm_string_io_advance(vcpu, exit->next_rip);
	else
		vcpu->rip = exit->next_rip;
	return 0;
}

/*
 * KVM_RUN after an IN exit: the data userspace left in the PIO page.  For
 * INS, a fault on the memory operand discards it: the instruction has not
 * advanced, and RDI and RCX are as they were.
 */
static int mkvm_complete_pio_in(struct mkvm_vcpu *vcpu)
{
	struct mkvm_fault fault;
	struct kvm_sregs s;
	u64 v, ea;
	int r;

	if (!vcpu->pio.string) {
		v = 0;
		memcpy(&v, vcpu->pio_data, vcpu->pio.size);
		mkvm_reg_set(vcpu, 0, vcpu->pio.size, v);
		vcpu->rip = vcpu->pio.next_rip;
		return 1;
	}
	mkvm_ops->get_sregs(vcpu, &s);
	ea = mkvm_reg_get(vcpu, 7, vcpu->pio.addr_size);
	r = mkvm_guest_data(vcpu, &s, vcpu->pio.seg, ea, vcpu->pio_data,
			    vcpu->pio.count * vcpu->pio.size, true, &fault);
	if (r)
		return mkvm_access_failed(vcpu, r, &fault, ea);
	mkvm_string_io_advance(vcpu, vcpu->pio.next_rip);
	return 1;
}

/*
 * MOVS, STOS and LODS touching MMIO (memcpy_toio, memset_io): one MMIO
 * exit per element, as KVM; a REP form runs again until RCX is 0.  The
 * operands are accessed in the CPU's order, with its checks and the
 * rights of the guest's CPL: the source (DS:RSI, or the prefix's segment)
 * is read first, then the destination (ES:RDI) is written.  A fault is
 * raised in the guest with no element moved and the registers as they
 * were.  After a read from MMIO, the destination is checked on the next
 * KVM_RUN, when the data is there (as KVM does).
 * Returns like an exit handler, or -EINVAL if @op is not one of them.
 */
static int mkvm_string_mmio(struct mkvm_vcpu *vcpu, struct kvm_sregs *s,
			    u64 gpa, int op, const struct mkvm_prefixes *p)
{
	struct kvm_run *run = vcpu->run;
	bool down = mkvm_ops->get_rflags(vcpu) & X86_EFLAGS_DF;
	bool movs = op == 0xa4 || op == 0xa5;
	bool stos = op == 0xaa || op == 0xab;
	bool lods = op == 0xac || op == 0xad;
	unsigned int size, asize = p->asize;
	u64 si, di, la, op_gpa, v = 0, step;
	struct mkvm_fault fault;
	int r;

	if (!movs && !stos && !lods)
		return -EINVAL;
	size = (op & 1) ? (p->rexw ? 8 : p->opsize16 ? 2 : 4) : 1;
	si = mkvm_reg_get(vcpu, 6, asize);
	di = mkvm_reg_get(vcpu, 7, asize);

	/* A REP form with RCX = 0 does not fault: RCX is at least 1 here. */
	memset(run->mmio.data, 0, sizeof(run->mmio.data));
	run->mmio.len = size;
	run->mmio.phys_addr = gpa;
	if (stos) {
		v = vcpu->regs[0];
	} else {
		r = mkvm_data_linear(s, p->seg, si, size, false, &la, &fault);
		if (!r)
			r = mkvm_guest_gpa(vcpu, s, la, 0, &op_gpa, &fault);
		if (r)
			return mkvm_access_failed(vcpu, r, &fault, si);
		if (op_gpa == gpa) {
			/* A read from MMIO, completed by the next KVM_RUN. */
			run->exit_reason = KVM_EXIT_MMIO;
			run->mmio.is_write = 0;
			vcpu->str.size = size;
			vcpu->str.asize = asize;
			vcpu->str.movs = movs;
			vcpu->str.down = down;
			vcpu->str.rep = p->rep;
			vcpu->str.len = p->len;
			vcpu->pending = MKVM_PENDING_MMIO_STRING;
			return 0;
		}
		if (lods)
			return mkvm_internal_error(vcpu,
					KVM_INTERNAL_ERROR_EMULATION, gpa, vcpu->rip);
		r = mkvm_guest_copy(vcpu, s, la, &v, size, 0, &fault);
		if (r)
			return mkvm_access_failed(vcpu, r, &fault, si);
	}

	/* A store to MMIO: the data is RAX or the source in memory. */
	r = mkvm_data_linear(s, 0, di, size, true, &la, &fault);
	if (!r)
		r = mkvm_guest_gpa(vcpu, s, la, MKVM_WALK_WRITE, &op_gpa, &fault);
	if (r)
		return mkvm_access_failed(vcpu, r, &fault, di);
	if (op_gpa != gpa)
		return mkvm_internal_error(vcpu, KVM_INTERNAL_ERROR_EMULATION,
					   gpa, vcpu->rip);
	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.is_write = 1;
	memcpy(run->mmio.data, &v, size);

	/* The store is done: step the registers now. */
	step = down ? -(u64)size : size;
	if (movs)
		mkvm_reg_set(vcpu, 6, asize, si + step);
	mkvm_reg_set(vcpu, 7, asize, di + step);
	if (p->rep)
		mkvm_reg_set(vcpu, 1, asize, mkvm_reg_get(vcpu, 1, asize) - 1);
	if (!p->rep || !mkvm_reg_get(vcpu, 1, asize))
		vcpu->rip += p->len;
	return 0;
}

/*
 * KVM_RUN after a MOVS/LODS read from MMIO: store the element, step.  A
 * fault on the destination of MOVS discards the element.
 */
static int mkvm_complete_string_mmio(struct mkvm_vcpu *vcpu)
{
	unsigned int size = vcpu->str.size, asize = vcpu->str.asize;
	u64 step = vcpu->str.down ? -(u64)size : size;
	struct mkvm_fault fault;
	struct kvm_sregs s;
	u64 v = 0, di;
	int r;

	memcpy(&v, vcpu->run->mmio.data, size);
	if (vcpu->str.movs) {
		mkvm_ops->get_sregs(vcpu, &s);
		di = mkvm_reg_get(vcpu, 7, asize);
		r = mkvm_guest_data(vcpu, &s, 0, di, &v, size, true, &fault);
		if (r)
			return mkvm_access_failed(vcpu, r, &fault, di);
		mkvm_reg_set(vcpu, 7, asize, di + step);
	} else {
		mkvm_reg_set(vcpu, 0, size, v);
	}
	mkvm_reg_set(vcpu, 6, asize, mkvm_reg_get(vcpu, 6, asize) + step);
	if (vcpu->str.rep)
		mkvm_reg_set(vcpu, 1, asize, mkvm_reg_get(vcpu, 1, asize) - 1);
	if (!vcpu->str.rep || !mkvm_reg_get(vcpu, 1, asize))
		vcpu->rip += vcpu->str.len;
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
static int mkvm_fetch_insn(struct mkvm_vcpu *vcpu, const struct kvm_sregs *s,
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
 * The CPU faulted on one of the guest's own page-table entries while
 * translating the address of this MOV (npf.walk), and could not read it
 * (no slot: the tables are in MMIO) or update its accessed/dirty bits
 * (a read-only slot; under NPT every guest page-table access counts as
 * a write).  As KVM, emulate the instruction with a software walk that
 * reads the entries where it can and sets no A/D bits: the operand is
 * read or written here if it is guest memory, exits as MMIO at its own
 * address if it is not (returns 0 with *@mmio_gpa), and the segment
 * checks or a walk that fail raise the fault in the guest (returns 1).
 * Other errors are -errno, an internal error for the caller.
 */
static int mkvm_emulate_walk_fault(struct mkvm_vcpu *vcpu,
				   const struct kvm_sregs *s,
				   const struct mkvm_insn *insn, u64 *mmio_gpa)
{
	bool la32 = mkvm_cpu_mode(s) != MKVM_MODE_LONG64;
	bool store = insn->kind == MKVM_INSN_STORE;
	u32 access = store ? MKVM_WALK_WRITE : 0;
	struct mkvm_vm *vm = vcpu->vm;
	unsigned int len[2], i, parts;
	struct mkvm_memslot *slot;
	struct mkvm_fault fault;
	bool mmio = false;
	u64 la, gpa[2];
	u64 v = 0;
	int r;

	r = mkvm_data_linear(s, insn->seg,
			     mkvm_insn_ea(insn, vcpu->regs, vcpu->rip),
			     insn->size, store, &la, &fault);
	if (r)
		return mkvm_access_failed(vcpu, r, &fault, 0);
	len[0] = min_t(unsigned int, insn->size,
		       PAGE_SIZE - offset_in_page(la));
	len[1] = insn->size - len[0];
	parts = len[1] ? 2 : 1;

	for (i = 0; i < parts; i++) {
		u64 at = i ? la + len[0] : la;

		if (la32)
			at = (u32)at;
		r = mkvm_guest_gpa(vcpu, s, at, access, &gpa[i], &fault);
		if (r == -EFAULT)
			return mkvm_access_failed(vcpu, r, &fault, 0);
		if (r)
			return r;
		slot = mkvm_gfn_to_slot(srcu_dereference(vm->slots, &vm->srcu),
					gpa[i] >> PAGE_SHIFT);
		if (!slot || (store && (slot->flags & KVM_MEM_READONLY)))
			mmio = true;
	}
	if (mmio) {
		if (parts > 1)
			return -EINVAL;	/* MMIO split over two pages */
		*mmio_gpa = gpa[0];
		return 0;
	}

	if (store)
		v = mkvm_insn_store_value(insn, vcpu->regs);
	for (i = 0; i < parts; i++) {
		void *p = (u8 *)&v + (i ? len[0] : 0);

		r = store ? mkvm_write_guest(vm, gpa[i], p, len[i]) :
			    mkvm_read_guest(vm, gpa[i], p, len[i]);
		if (r)
			return r;
	}
	if (!store)
		mkvm_insn_complete_load(insn, vcpu->regs, v);
	vcpu->rip += insn->len;
	return 1;
}

/*
 * A nested page fault: map the slot's page, or emulate the access as
 * MMIO (no slot, or a write to a read-only slot).  A fault on the
 * guest's page tables themselves (npf.walk) is emulated instead, through
 * the operand's own address (mkvm_emulate_walk_fault()).
 */
static int mkvm_handle_npf(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit)
{
	struct mkvm_vm *vm = vcpu->vm;
	struct kvm_run *run = vcpu->run;
	u64 gpa = exit->npf.gpa;
	struct mkvm_memslot *slot;
	struct mkvm_insn *insn = &vcpu->mmio_insn;
	struct mkvm_fault fault, next_fault;
	struct kvm_sregs s;
	u8 code[MKVM_MAX_INSN_LEN];
	unsigned int n;
	int idx, r;

	vcpu->flush_l1d = true;		/* pinning or emulating runs host code */
	idx = srcu_read_lock(&vm->srcu);
	/* Beyond the VM's guest-physical width there is no slot. */
	slot = NULL;
	if (mkvm_mmu_gpa_valid(vm, gpa))
		slot = mkvm_gfn_to_slot(srcu_dereference(vm->slots, &vm->srcu),
					gpa >> PAGE_SHIFT);
	/*
	 * A slot going away (moved or deleted, memslot.c) is neither mapped
	 * nor MMIO: the guest faults again until the change is complete.
	 * mkvm_mmu_map() checks again under mmu_lock.
	 */
	if (slot && READ_ONCE(slot->invalid)) {
		srcu_read_unlock(&vm->srcu, idx);
		return 1;
	}
	if (slot && !(exit->npf.write && (slot->flags & KVM_MEM_READONLY))) {
		r = mkvm_mmu_map(vm, slot, gpa);
		srcu_read_unlock(&vm->srcu, idx);
		if (r == -EAGAIN)
			return 1;
		/* A slot whose user memory is gone: as KVM, KVM_RUN fails. */
		return r ? r : 1;
	}

	/* Code fetched from MMIO (not a page-table entry for the fetch). */
	if (exit->npf.fetch && !exit->npf.walk) {
		srcu_read_unlock(&vm->srcu, idx);
		return mkvm_internal_error(vcpu, KVM_INTERNAL_ERROR_EMULATION,
					   gpa, vcpu->rip);
	}

	/* MMIO: fetch and decode the instruction at CS:RIP. */
	mkvm_ops->get_sregs(vcpu, &s);
	r = mkvm_fetch_insn(vcpu, &s, code, &n, &fault, &next_fault);
	if (!r)
		r = mkvm_insn_decode(code, n, mkvm_cpu_mode(&s), insn);
	if (r == -EAGAIN && next_fault.vector) {
		r = -EFAULT;		/* it goes on in the next page */
		fault = next_fault;
	}
	if (r == -EFAULT) {
		srcu_read_unlock(&vm->srcu, idx);
		return mkvm_access_failed(vcpu, r, &fault, 0);
	}
	if (!r && exit->npf.walk)
		r = mkvm_emulate_walk_fault(vcpu, &s, insn, &gpa);
	srcu_read_unlock(&vm->srcu, idx);
	if (r == 1)
		return 1;
	if (r == -EINVAL && !exit->npf.walk) {
		/* Not a MOV: perhaps a string instruction. */
		struct mkvm_prefixes p;
		int op = mkvm_insn_prefixes(vcpu, &s, &p);

		if (op >= 0) {
			r = mkvm_string_mmio(vcpu, &s, gpa, op, &p);
			if (r != -EINVAL)
				return r;
		}
	}
	if (r)
		return mkvm_internal_error(vcpu, KVM_INTERNAL_ERROR_EMULATION,
					   exit->npf.gpa, vcpu->rip);

	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.phys_addr = gpa;
	run->mmio.len = insn->size;
	memset(run->mmio.data, 0, sizeof(run->mmio.data));
	if (insn->kind == MKVM_INSN_STORE) {
		u64 v = mkvm_insn_store_value(insn, vcpu->regs);

		run->mmio.is_write = 1;
		memcpy(run->mmio.data, &v, insn->size);
		vcpu->rip += insn->len;
	} else {
		run->mmio.is_write = 0;
		vcpu->pending = MKVM_PENDING_MMIO_LOAD;
	}
	return 0;
}

static void mkvm_complete_mmio_load(struct mkvm_vcpu *vcpu)
{
	u64 v = 0;

	memcpy(&v, vcpu->run->mmio.data, vcpu->mmio_insn.size);
	mkvm_insn_complete_load(&vcpu->mmio_insn, vcpu->regs, v);
	vcpu->rip += vcpu->mmio_insn.len;
}

/* ---- CPUID -------------------------------------------------------------- */

static struct kvm_cpuid_entry2 *mkvm_find_cpuid(struct mkvm_vcpu *vcpu,
						u32 function, u32 index)
{
	u32 i;

	for (i = 0; i < vcpu->cpuid_nent; i++) {
		struct kvm_cpuid_entry2 *e = &vcpu->cpuid[i];

		if (e->function != function)
			continue;
		if ((e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) && e->index != index)
			continue;
		return e;
	}
	return NULL;
}

/* Whether the vCPU's CPUID has bit @bit of register @reg of leaf @fn.0. */
static bool mkvm_cpuid_bit(struct mkvm_vcpu *vcpu, u32 fn,
			   enum cpuid_regs_idx reg, int bit)
{
	struct kvm_cpuid_entry2 *e = mkvm_find_cpuid(vcpu, fn, 0);
	u32 r[4];

	if (!e)
		return false;
	r[CPUID_EAX] = e->eax;
	r[CPUID_EBX] = e->ebx;
	r[CPUID_ECX] = e->ecx;
	r[CPUID_EDX] = e->edx;
	return r[reg] & BIT(bit);
}

bool mkvm_cpuid_has_long_mode(struct mkvm_vcpu *vcpu)
{
	return mkvm_cpuid_bit(vcpu, 0x80000001, CPUID_EDX, 29);
}

static bool mkvm_cpuid_has_nx(struct mkvm_vcpu *vcpu)
{
	return mkvm_cpuid_bit(vcpu, 0x80000001, CPUID_EDX, 20);
}

static bool mkvm_cpuid_has_rdtscp(struct mkvm_vcpu *vcpu)
{
	return mkvm_cpuid_bit(vcpu, 0x80000001, CPUID_EDX, 27);
}

/* TSC_AUX exists for the guest with RDTSCP or RDPID in its CPUID. */
static bool mkvm_cpuid_has_tsc_aux(struct mkvm_vcpu *vcpu)
{
	return mkvm_cpuid_has_rdtscp(vcpu) ||
	       mkvm_cpuid_bit(vcpu, 7, CPUID_ECX, 22);
}

/*
 * RDTSCP, intercepted: #UD unless the guest's CPUID has it (ours never
 * offers it), else the guest's TSC and its TSC_AUX.
 */
static int mkvm_handle_rdtscp(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit)
{
	u64 tsc;

	if (!mkvm_cpuid_has_rdtscp(vcpu) ||
	    mkvm_ops->get_msr(vcpu, MSR_IA32_TSC, &tsc)) {
		mkvm_ops->inject_exception(vcpu, X86_TRAP_UD, false, 0);
		return 1;
	}
	vcpu->regs[0] = (u32)tsc;
	vcpu->regs[2] = tsc >> 32;
	vcpu->regs[1] = vcpu->tsc_aux;
	mkvm_skip_insn(vcpu, exit);
	return 1;
}

static int mkvm_handle_cpuid(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit)
{
	u32 fn = vcpu->regs[0], idx = vcpu->regs[1];
	struct kvm_cpuid_entry2 *e = mkvm_find_cpuid(vcpu, fn, idx);
	u32 eax = 0, ebx = 0, ecx = 0, edx = 0;

	if (e) {
		eax = e->eax;
		ebx = e->ebx;
		ecx = e->ecx;
		edx = e->edx;
	}
	/* OSXSAVE mirrors the guest's CR4, as on hardware. */
	if (fn == 1) {
		struct kvm_sregs s;

		mkvm_ops->get_sregs(vcpu, &s);
		ecx &= ~BIT(27);
		if (s.cr4 & X86_CR4_OSXSAVE)
			ecx |= BIT(27);
	}
	vcpu->regs[0] = eax;
	vcpu->regs[3] = ebx;
	vcpu->regs[1] = ecx;
	vcpu->regs[2] = edx;
	mkvm_skip_insn(vcpu, exit);
	return 1;
}

/* ---- MSRs --------------------------------------------------------------- */

/* The MSRs KVM_GET_MSR_INDEX_LIST reports: all we emulate. */
static const u32 mkvm_msrs[] = {
	MSR_EFER, MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK,
	MSR_KERNEL_GS_BASE, MSR_FS_BASE, MSR_GS_BASE,
	MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
	MSR_IA32_TSC, MSR_IA32_CR_PAT, MSR_IA32_APICBASE, MSR_IA32_MISC_ENABLE,
	MSR_IA32_SPEC_CTRL, MSR_MTRRdefType, MSR_TSC_AUX,
};

static bool mkvm_is_mtrr_var(u32 index)
{
	return index >= MTRRphysBase_MSR(0) && index <= MTRRphysMask_MSR(7);
}

static int mkvm_mtrr_fixed_index(u32 index)
{
	switch (index) {
	case MSR_MTRRfix64K_00000:	return 0;
	case MSR_MTRRfix16K_80000:	return 1;
	case MSR_MTRRfix16K_A0000:	return 2;
	case MSR_MTRRfix4K_C0000 ... MSR_MTRRfix4K_F8000:
		return 3 + index - MSR_MTRRfix4K_C0000;
	default:
		return -1;
	}
}

/* 0, or -EINVAL for an MSR we do not have (the guest then gets #GP). */
static int mkvm_get_msr(struct mkvm_vcpu *vcpu, u32 index, u64 *data,
			bool host)
{
	int r = mkvm_ops->get_msr(vcpu, index, data);
	int fixed;

	if (r != -ENOENT)
		return r;
	fixed = mkvm_mtrr_fixed_index(index);
	if (fixed >= 0) {
		*data = vcpu->mtrr_fixed[fixed];
		return 0;
	}
	if (mkvm_is_mtrr_var(index)) {
		*data = vcpu->mtrr_var[index - MTRRphysBase_MSR(0)];
		return 0;
	}
	switch (index) {
	case MSR_IA32_APICBASE:
		*data = vcpu->apic_base;
		return 0;
	case MSR_IA32_MISC_ENABLE:
		*data = vcpu->misc_enable;
		return 0;
	case MSR_IA32_SPEC_CTRL:
		*data = vcpu->spec_ctrl;
		return 0;
	case MSR_TSC_AUX:
		if (!host && !mkvm_cpuid_has_tsc_aux(vcpu))
			return -EINVAL;
		*data = vcpu->tsc_aux;
		return 0;
	case MSR_MTRRcap:
		*data = 0x500 | 8;	/* fixed ranges, WC, 8 variable */
		return 0;
	case MSR_MTRRdefType:
		*data = vcpu->mtrr_def_type;
		return 0;
	case MSR_IA32_UCODE_REV:
	case MSR_IA32_MCG_CAP:
	case MSR_IA32_MCG_STATUS:
	case MSR_K7_HWCR:
		*data = 0;
		return 0;
	default:
		return -EINVAL;
	}
}

/* Each byte of the PAT is a memory type: 0, 1, 4, 5, 6 or 7. */
static bool mkvm_valid_pat(u64 pat)
{
	int i;

	for (i = 0; i < 8; i++) {
		u8 t = pat >> (i * 8);

		if (t > 7 || t == 2 || t == 3)
			return false;
	}
	return true;
}

/* Sign-extended from bit 47 (no LA57 for guests). */
static bool mkvm_canonical(u64 a)
{
	return ((s64)a << 16 >> 16) == (s64)a;
}

static int mkvm_set_msr(struct mkvm_vcpu *vcpu, u32 index, u64 data,
			bool host)
{
	struct kvm_sregs s;
	int fixed;

	switch (index) {
	case MSR_EFER:
		/* Long mode and NX only as far as the guest's CPUID has them. */
		if (data & ~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NX))
			return -EINVAL;
		if ((data & EFER_LME) && !mkvm_cpuid_has_long_mode(vcpu))
			return -EINVAL;
		if ((data & EFER_NX) && !mkvm_cpuid_has_nx(vcpu))
			return -EINVAL;
		/* The guest cannot toggle LME with paging on. */
		mkvm_ops->get_sregs(vcpu, &s);
		if (!host && (s.cr0 & X86_CR0_PG) &&
		    ((data ^ s.efer) & EFER_LME))
			return -EINVAL;
		break;
	case MSR_IA32_CR_PAT:
		if (!mkvm_valid_pat(data))
			return -EINVAL;
		break;
	case MSR_SYSCALL_MASK:
		/*
		 * Bits 63:32 are reserved: Intel CPUs refuse them, and VMX
		 * writes this MSR into the CPU around every run.
		 */
		if (data >> 32)
			return -EINVAL;
		break;
	case MSR_FS_BASE:
	case MSR_GS_BASE:
	case MSR_KERNEL_GS_BASE:
	case MSR_LSTAR:
	case MSR_CSTAR:
	case MSR_IA32_SYSENTER_ESP:
	case MSR_IA32_SYSENTER_EIP:
		if (!mkvm_canonical(data))
			return -EINVAL;
		break;
	case MSR_IA32_APICBASE:
		vcpu->apic_base = data;
		return 0;
	case MSR_IA32_MISC_ENABLE:
		vcpu->misc_enable = data;
		return 0;
	case MSR_IA32_SPEC_CTRL:
		/* Kept, not applied: the host's mitigations stay in force. */
		vcpu->spec_ctrl = data;
		return 0;
	case MSR_TSC_AUX:
		if (!host && !mkvm_cpuid_has_tsc_aux(vcpu))
			return -EINVAL;
		vcpu->tsc_aux = (u32)data;	/* AMD ignores bits 63:32 */
		return 0;
	case MSR_IA32_PRED_CMD:
		if (data & ~PRED_CMD_IBPB)
			return -EINVAL;
		if (data && boot_cpu_has(X86_FEATURE_IBPB))
			wrmsrl(MSR_IA32_PRED_CMD, PRED_CMD_IBPB);
		return 0;
	case MSR_MTRRdefType:
		vcpu->mtrr_def_type = data;
		return 0;
	case MSR_IA32_UCODE_REV:
	case MSR_IA32_MCG_STATUS:
		if (host || !data)
			return 0;
		return -EINVAL;
	}
	fixed = mkvm_mtrr_fixed_index(index);
	if (fixed >= 0) {
		vcpu->mtrr_fixed[fixed] = data;
		return 0;
	}
	if (mkvm_is_mtrr_var(index)) {
		vcpu->mtrr_var[index - MTRRphysBase_MSR(0)] = data;
		return 0;
	}
	return mkvm_ops->set_msr(vcpu, index, data) == -ENOENT ?
	       -EINVAL : 0;
}

static int mkvm_handle_rdmsr(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit)
{
	u64 data;

	if (mkvm_get_msr(vcpu, vcpu->regs[1], &data, false)) {
		mkvm_ops->inject_exception(vcpu, X86_TRAP_GP, true, 0);
		return 1;
	}
	vcpu->regs[0] = (u32)data;
	vcpu->regs[2] = data >> 32;
	mkvm_skip_insn(vcpu, exit);
	return 1;
}

static int mkvm_handle_wrmsr(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit)
{
	u64 data = (u32)vcpu->regs[0] | (vcpu->regs[2] << 32);

	if (mkvm_set_msr(vcpu, vcpu->regs[1], data, false)) {
		mkvm_ops->inject_exception(vcpu, X86_TRAP_GP, true, 0);
		return 1;
	}
	mkvm_skip_insn(vcpu, exit);
	return 1;
}

/* ---- XSETBV ------------------------------------------------------------- */

static u64 mkvm_host_xcr0;

static int mkvm_handle_xsetbv(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit)
{
	u64 v = (u32)vcpu->regs[0] | (vcpu->regs[2] << 32);
	u64 allowed = mkvm_host_xcr0 & (XFEATURE_MASK_FP | XFEATURE_MASK_SSE |
					XFEATURE_MASK_YMM);
	struct kvm_sregs s;

	mkvm_ops->get_sregs(vcpu, &s);
	/* XCR0 only, from CPL 0, x87 always on, AVX needs SSE. */
	if ((u32)vcpu->regs[1] != 0 || (s.ss.dpl && (s.cr0 & X86_CR0_PE)) ||
	    !(v & XFEATURE_MASK_FP) || (v & ~allowed) ||
	    ((v & XFEATURE_MASK_YMM) && !(v & XFEATURE_MASK_SSE))) {
		mkvm_ops->inject_exception(vcpu, X86_TRAP_GP, true, 0);
		return 1;
	}
	vcpu->xcr0 = v;
	mkvm_skip_insn(vcpu, exit);
	return 1;
}

/* ---- control registers --------------------------------------------------- */

/*
 * The CR4 bits a guest may set: what the host can give it and, for the
 * feature bits, what the vCPU's CPUID offers (as KVM: a guest without
 * SMEP in its CPUID gets #GP for CR4.SMEP, KVM_SET_SREGS EINVAL).
 */
static u64 mkvm_cr4_allowed(struct mkvm_vcpu *vcpu)
{
	static const struct {
		u64 cr4;
		int feature;
		u32 fn;
		enum cpuid_regs_idx reg;
		int bit;
	} gated[] = {
		{ X86_CR4_OSXSAVE, X86_FEATURE_XSAVE, 1, CPUID_ECX, 26 },
		{ X86_CR4_PCIDE, X86_FEATURE_PCID, 1, CPUID_ECX, 17 },
		{ X86_CR4_FSGSBASE, X86_FEATURE_FSGSBASE, 7, CPUID_EBX, 0 },
		{ X86_CR4_SMEP, X86_FEATURE_SMEP, 7, CPUID_EBX, 7 },
		{ X86_CR4_SMAP, X86_FEATURE_SMAP, 7, CPUID_EBX, 20 },
	};
	u64 ok = X86_CR4_VME | X86_CR4_PVI | X86_CR4_TSD | X86_CR4_DE |
		 X86_CR4_PSE | X86_CR4_PAE | X86_CR4_MCE | X86_CR4_PGE |
		 X86_CR4_PCE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;
	int i;

	for (i = 0; i < ARRAY_SIZE(gated); i++)
		if (boot_cpu_has(gated[i].feature) &&
		    mkvm_cpuid_bit(vcpu, gated[i].fn, gated[i].reg, gated[i].bit))
			ok |= gated[i].cr4;
	return ok;
}

/*
 * Fetch, at CS:RIP, a two-byte-opcode instruction (0F op ModRM) behind
 * its legacy and REX prefixes, for the intercepts that report neither
 * operands nor length without decode assists: MOV to/from CR and DR,
 * CLTS, LMSW.  On success code[*at] is 0x0f, code[*at + 1] the opcode,
 * and code[*at + 2] the ModRM byte if *modrm is true (CLTS has none and
 * may end the readable code).
 */
static int mkvm_fetch_0f_insn(struct mkvm_vcpu *vcpu, const struct kvm_sregs *s,
			      enum mkvm_cpu_mode mode, u8 code[15], int *at,
			      u8 *rex, bool *modrm)
{
	u64 la = mode == MKVM_MODE_LONG64 ? vcpu->rip : (u32)(s->cs.base + vcpu->rip);
	struct mkvm_prefixes p;

	/* Room for the opcode and ModRM within the 15 bytes. */
	if (mkvm_insn_prefixes(vcpu, s, &p) != 0x0f || p.len > 13)
		return -EFAULT;
	*at = p.len - 1;
	code[*at] = 0x0f;
	if (mkvm_linear_access(vcpu, s, la + p.len, &code[*at + 1], 1,
			       MKVM_WALK_FETCH))
		return -EFAULT;
	*modrm = !mkvm_linear_access(vcpu, s, la + p.len + 1, &code[*at + 2],
				     1, MKVM_WALK_FETCH);
	*rex = p.rex;
	return 0;
}

/*
 * A guest write to CR0 or CR4 (MOV to CR, CLTS, LMSW), intercepted so
 * that it gets the checks of the architecture (and of KVM): a #GP for a
 * reserved bit, paging without protection, long mode without PAE, and
 * so on.  Emulators of SVM that skip some of them (QEMU) otherwise end up
 * in states that wedge or crash them.  Without decode assists, the
 * instruction is read at CS:RIP.
 */
static int mkvm_handle_cr_write(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit)
{
	enum mkvm_cpu_mode mode;
	struct kvm_sregs s;
	u64 val, old;
	u8 code[15], rex;
	bool modrm;
	int i, cr;

	mkvm_ops->get_sregs(vcpu, &s);
	mode = mkvm_cpu_mode(&s);
	if (mkvm_fetch_0f_insn(vcpu, &s, mode, code, &i, &rex, &modrm))
		goto cannot;
	if (code[i + 1] == 0x06) {			/* CLTS */
		cr = 0;
		val = s.cr0 & ~X86_CR0_TS;
		i += 2;
	} else if (modrm && code[i + 1] == 0x22 && (code[i + 2] >> 6) == 3) {
		/* MOV CRn, reg: ModRM.reg (+REX.R) is n, ModRM.rm (+REX.B) reg. */
		cr = ((code[i + 2] >> 3) & 7) | (rex & 4 ? 8 : 0);
		val = vcpu->regs[(code[i + 2] & 7) | (rex & 1 ? 8 : 0)];
		if (mode != MKVM_MODE_LONG64)
			val = (u32)val;
		i += 3;
	} else if (modrm && code[i + 1] == 0x01 && (code[i + 2] >> 6) == 3 &&
		   ((code[i + 2] >> 3) & 7) == 6) {
		/* LMSW reg: PE (set only), MP, EM, TS. */
		cr = 0;
		val = (s.cr0 & ~0xeULL) |
		      (vcpu->regs[(code[i + 2] & 7) | (rex & 1 ? 8 : 0)] & 0xf);
		i += 3;
	} else {
		goto cannot;
	}

	if (cr == 0) {
		old = s.cr0;
		val |= X86_CR0_ET;
		if ((val >> 32) || ((val & X86_CR0_NW) && !(val & X86_CR0_CD)) ||
		    ((val & X86_CR0_PG) && !(val & X86_CR0_PE)))
			goto gp;
		if (!(old & X86_CR0_PG) && (val & X86_CR0_PG) &&
		    (s.efer & EFER_LME)) {
			if (!(s.cr4 & X86_CR4_PAE) || s.cs.l)
				goto gp;
			s.efer |= EFER_LMA;
		}
		if ((old & X86_CR0_PG) && !(val & X86_CR0_PG) &&
		    (s.efer & EFER_LMA)) {
			if (s.cs.l)
				goto gp;
			s.efer &= ~EFER_LMA;
		}
		s.cr0 = val;
	} else if (cr == 4) {
		if ((val & ~mkvm_cr4_allowed(vcpu)) ||
		    ((s.efer & EFER_LMA) && !(val & X86_CR4_PAE)) ||
		    ((val & X86_CR4_PCIDE) && !(s.efer & EFER_LMA)))
			goto gp;
		s.cr4 = val;
	} else {
		goto gp;	/* not the CR the exit was for: #GP, as MOV to CR9 */
	}
	mkvm_ops->set_sregs(vcpu, &s);
	set_bit(MKVM_REQ_TLB_FLUSH, &vcpu->requests);
	vcpu->rip += i;
	return 1;

gp:
	mkvm_ops->inject_exception(vcpu, X86_TRAP_GP, true, 0);
	return 1;
cannot:
	return mkvm_internal_error(vcpu, KVM_INTERNAL_ERROR_EMULATION,
				   exit->hw_reason, vcpu->rip);
}

/* ---- debug registers ------------------------------------------------------ */

#define MKVM_DR6_BD		BIT(13)
#define MKVM_DR6_VOLATILE	(DR_TRAP_BITS | MKVM_DR6_BD | DR_STEP | DR_SWITCH)
#define MKVM_DR7_FIXED_1	0x400ULL
#define MKVM_DR7_GD		BIT(13)
#define MKVM_DR7_VOLATILE	0xffff2bffULL

/*
 * MOV to or from DR0-DR7, always intercepted, as KVM does until a guest
 * uses them: DR0-3 are not part of the VMCB, so a guest that could
 * write them would overwrite the host's breakpoints, and a guest DR7
 * would arm them.  The guest's DR0-3 live in vcpu->db[] and reach the
 * CPU only for runs where its DR7 enables a breakpoint (mkvm_enter()).
 * CPL and the operand forms are checked by the CPU before the intercept;
 * DR4/DR5 (#UD with CR4.DE, else DR6/DR7), DR7.GD and reserved bits are
 * checked here.
 */
static int mkvm_handle_dr_access(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit)
{
	enum mkvm_cpu_mode mode;
	struct kvm_sregs s;
	int i, dr, gpr;
	u8 code[15], rex;
	bool modrm;
	u64 val;

	mkvm_ops->get_sregs(vcpu, &s);
	mode = mkvm_cpu_mode(&s);
	if (mkvm_fetch_0f_insn(vcpu, &s, mode, code, &i, &rex, &modrm) ||
	    !modrm || code[i + 1] != (exit->dr.write ? 0x23 : 0x21))
		return mkvm_internal_error(vcpu, KVM_INTERNAL_ERROR_EMULATION,
					   exit->hw_reason, vcpu->rip);
	/* The operand is always a register, whatever ModRM.mod says. */
	dr = (code[i + 2] >> 3) & 7;
	gpr = (code[i + 2] & 7) | (rex & 1 ? 8 : 0);
	if ((rex & 4) || dr != exit->dr.dr)
		goto ud;			/* DR8-15 do not exist */
	if (dr == 4 || dr == 5) {
		if (s.cr4 & X86_CR4_DE)
			goto ud;
		dr += 2;
	}
	val = mkvm_ops->get_dr(vcpu, 7);
	if (val & MKVM_DR7_GD) {
		/* General detect: #DB before the access, with DR6.BD. */
		mkvm_ops->set_dr(vcpu, 7, val & ~MKVM_DR7_GD);
		mkvm_ops->set_dr(vcpu, 6, (mkvm_ops->get_dr(vcpu, 6) &
					   ~MKVM_DR6_VOLATILE) | MKVM_DR6_BD);
		mkvm_ops->inject_exception(vcpu, X86_TRAP_DB, false, 0);
		return 1;
	}

	if (!exit->dr.write) {
		val = dr < 4 ? vcpu->db[dr] : mkvm_ops->get_dr(vcpu, dr);
		vcpu->regs[gpr] = mode == MKVM_MODE_LONG64 ? val : (u32)val;
	} else {
		val = vcpu->regs[gpr];
		if (mode != MKVM_MODE_LONG64)
			val = (u32)val;
		if (dr < 4) {
			vcpu->db[dr] = val;
		} else {
			if (val >> 32)
				goto gp;
			if (dr == 6)
				val = (val & MKVM_DR6_VOLATILE) | DR6_RESERVED;
			else
				val = (val & MKVM_DR7_VOLATILE) | MKVM_DR7_FIXED_1;
			mkvm_ops->set_dr(vcpu, dr, val);
		}
	}
	vcpu->rip += i + 3;
	return 1;

ud:
	mkvm_ops->inject_exception(vcpu, X86_TRAP_UD, false, 0);
	return 1;
gp:
	mkvm_ops->inject_exception(vcpu, X86_TRAP_GP, true, 0);
	return 1;
}

/*
 * TSC_AUX, which RDPID reads without any intercept (RDTSCP is
 * intercepted): the guest's while it runs, so that it never sees the
 * host's CPU and node number.  The host's value (set per CPU at boot) is
 * cached per CPU; bit 32 marks the cache valid.
 */
static DEFINE_PER_CPU(u64, mkvm_host_tsc_aux);

static u64 mkvm_load_guest_tsc_aux(struct mkvm_vcpu *vcpu)
{
	u64 host = this_cpu_read(mkvm_host_tsc_aux);

	if (!boot_cpu_has(X86_FEATURE_RDTSCP) && !boot_cpu_has(X86_FEATURE_RDPID))
		return vcpu->tsc_aux;
	if (!(host >> 32)) {
		rdmsrl(MSR_TSC_AUX, host);
		host = (u32)host | BIT_ULL(32);
		this_cpu_write(mkvm_host_tsc_aux, host);
	}
	if ((u32)host != vcpu->tsc_aux)
		wrmsrl(MSR_TSC_AUX, vcpu->tsc_aux);
	return (u32)host;
}

static void mkvm_put_guest_tsc_aux(struct mkvm_vcpu *vcpu, u64 host)
{
	if (host != vcpu->tsc_aux)
		wrmsrl(MSR_TSC_AUX, host);
}

/* The host's DR0-3 and DR7 while the guest's DR0-3 are loaded. */
struct mkvm_host_db {
	unsigned long db[4], dr7;
};

/*
 * Whether the guest's DR7 arms a breakpoint; then its DR0-3 are loaded
 * around the run.  Called with interrupts disabled.  The host's DR7 is
 * cleared first, so that none of its breakpoints fires on a guest
 * address in between; VMRUN saves and #VMEXIT restores that (zero) DR7,
 * and the host's registers come back afterwards.
 */
static bool mkvm_load_guest_db(struct mkvm_vcpu *vcpu, struct mkvm_host_db *h)
{
	if (!(mkvm_ops->get_dr(vcpu, 7) & (DR_LOCAL_ENABLE_MASK |
					   DR_GLOBAL_ENABLE_MASK)))
		return false;
	get_debugreg(h->dr7, 7);
	if (h->dr7 & (DR_LOCAL_ENABLE_MASK | DR_GLOBAL_ENABLE_MASK))
		set_debugreg(0UL, 7);
	get_debugreg(h->db[0], 0);
	get_debugreg(h->db[1], 1);
	get_debugreg(h->db[2], 2);
	get_debugreg(h->db[3], 3);
	set_debugreg(vcpu->db[0], 0);
	set_debugreg(vcpu->db[1], 1);
	set_debugreg(vcpu->db[2], 2);
	set_debugreg(vcpu->db[3], 3);
	return true;
}

static void mkvm_put_guest_db(struct mkvm_host_db *h)
{
	set_debugreg(h->db[0], 0);
	set_debugreg(h->db[1], 1);
	set_debugreg(h->db[2], 2);
	set_debugreg(h->db[3], 3);
	set_debugreg(h->dr7, 7);
}

/* ---- performance counters ------------------------------------------------ */

/*
 * RDPMC, always intercepted: the counters of the CPU are the host's (its
 * NMI watchdog, perf events of every task), so no guest may read them.
 * minikvm has no virtual PMU, and answers as KVM does without one.  An
 * AMD CPU has four legacy counters that no CPUID bit announces (six with
 * PERFCTR_CORE); KVM emulates them, never programmed, so they read 0.
 * Intel counters exist only through CPUID leaf 0xA, which minikvm does
 * not offer: #GP, as KVM with its PMU version 0.  Bits 31:30 of ECX (the
 * "fast" read, Intel's fixed counters) are ignored on AMD, as KVM does.
 * Outside CPL 0 in protected mode RDPMC needs CR4.PCE: #GP without it
 * (the CPU checks that before the intercept; the check here keeps the
 * rule whatever the hardware does).
 */
static int mkvm_handle_rdpmc(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit)
{
	u32 idx = (u32)vcpu->regs[1] & ~(3U << 30);
	u32 counters = 0;
	struct kvm_sregs s;

	if (boot_cpu_data.x86_vendor == X86_VENDOR_AMD ||
	    boot_cpu_data.x86_vendor == X86_VENDOR_HYGON)
		counters = mkvm_cpuid_bit(vcpu, 0x80000001, CPUID_ECX, 23) ? 6 : 4;
	mkvm_ops->get_sregs(vcpu, &s);
	if (idx >= counters ||
	    (mkvm_cpl(vcpu, &s) && !(s.cr4 & X86_CR4_PCE))) {
		mkvm_ops->inject_exception(vcpu, X86_TRAP_GP, true, 0);
		return 1;
	}
	vcpu->regs[0] = 0;
	vcpu->regs[2] = 0;
	mkvm_skip_insn(vcpu, exit);
	return 1;
}

/* ---- the run loop ------------------------------------------------------- */

/* VMMCALL: no hypercalls, "not implemented" as KVM answers (-KVM_ENOSYS). */
static int mkvm_handle_hypercall(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit)
{
	struct kvm_sregs s;

	mkvm_ops->get_sregs(vcpu, &s);
	vcpu->regs[0] = (u64)-1000;
	if (mkvm_cpu_mode(&s) != MKVM_MODE_LONG64)
		vcpu->regs[0] = (u32)vcpu->regs[0];
	mkvm_skip_insn(vcpu, exit);
	return 1;
}

static int mkvm_handle_exit(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit)
{
	struct kvm_run *run = vcpu->run;

	switch (exit->reason) {
	case MKVM_EXIT_NONE:
	case MKVM_EXIT_INTR:
	case MKVM_EXIT_IRQ_WINDOW:
		return 1;
	case MKVM_EXIT_IO:
		return mkvm_handle_io(vcpu, exit);
	case MKVM_EXIT_NPF:
		return mkvm_handle_npf(vcpu, exit);
	case MKVM_EXIT_HLT:
		mkvm_skip_insn(vcpu, exit);
		run->exit_reason = KVM_EXIT_HLT;
		return 0;
	case MKVM_EXIT_CPUID:
		return mkvm_handle_cpuid(vcpu, exit);
	case MKVM_EXIT_RDMSR:
		return mkvm_handle_rdmsr(vcpu, exit);
	case MKVM_EXIT_WRMSR:
		return mkvm_handle_wrmsr(vcpu, exit);
	case MKVM_EXIT_XSETBV:
		return mkvm_handle_xsetbv(vcpu, exit);
	case MKVM_EXIT_CR_WRITE:
		return mkvm_handle_cr_write(vcpu, exit);
	case MKVM_EXIT_DR_ACCESS:
		return mkvm_handle_dr_access(vcpu, exit);
	case MKVM_EXIT_RDTSCP:
		return mkvm_handle_rdtscp(vcpu, exit);
	case MKVM_EXIT_INVD:
		/* A no-op, as in KVM: the guest's caches are the host's. */
		mkvm_skip_insn(vcpu, exit);
		return 1;
	case MKVM_EXIT_WBINVD:
		/*
		 * Intercepted so that a guest cannot stall every core of the
		 * socket with a loop of cache flushes.  No device does DMA
		 * into guest memory behind the caches' back (nothing is
		 * assigned), so, as KVM then does, nothing is flushed.
		 */
		mkvm_skip_insn(vcpu, exit);
		return 1;
	case MKVM_EXIT_RDPMC:
		return mkvm_handle_rdpmc(vcpu, exit);
	case MKVM_EXIT_HYPERCALL:
		return mkvm_handle_hypercall(vcpu, exit);
	case MKVM_EXIT_UD:
		mkvm_ops->inject_exception(vcpu, X86_TRAP_UD, false, 0);
		return 1;
	case MKVM_EXIT_SHUTDOWN:
		run->exit_reason = KVM_EXIT_SHUTDOWN;
		WRITE_ONCE(vcpu->vm->shut_down, true);
		mkvm_netlink_event(vcpu->vm, MINIKVM_EVENT_VCPU_SHUTDOWN, vcpu->id);
		return 0;
	case MKVM_EXIT_FAIL_ENTRY:
		WRITE_ONCE(vcpu->vm->shut_down, true);
		mkvm_netlink_event(vcpu->vm, MINIKVM_EVENT_VCPU_FAIL_ENTRY,
				   vcpu->id);
		run->exit_reason = KVM_EXIT_FAIL_ENTRY;
		run->fail_entry.hardware_entry_failure_reason = exit->hw_reason;
		run->fail_entry.cpu = vcpu->cpu;
		return 0;
	default:
		return mkvm_internal_error(vcpu,
				KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON,
				exit->hw_reason, vcpu->cpu);
	}
}

/* Count one exit by reason, and the time in the guest and after it. */
static void mkvm_account_exit(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit,
			      int r, u64 guest_ns, u64 exit_ns)
{
	static const u8 stat[] = {
		[MKVM_EXIT_NONE]	= MINIKVM_STAT_EXCEPTION,
		[MKVM_EXIT_INTR]	= MINIKVM_STAT_INTR,
		[MKVM_EXIT_IO]		= MINIKVM_STAT_IO,
		[MKVM_EXIT_NPF]		= MINIKVM_STAT_NPF,
		[MKVM_EXIT_HLT]		= MINIKVM_STAT_HLT,
		[MKVM_EXIT_CPUID]	= MINIKVM_STAT_CPUID,
		[MKVM_EXIT_RDMSR]	= MINIKVM_STAT_MSR,
		[MKVM_EXIT_WRMSR]	= MINIKVM_STAT_MSR,
		[MKVM_EXIT_XSETBV]	= MINIKVM_STAT_XSETBV,
		[MKVM_EXIT_CR_WRITE]	= MINIKVM_STAT_OTHER,
		[MKVM_EXIT_DR_ACCESS]	= MINIKVM_STAT_OTHER,
		[MKVM_EXIT_INVD]	= MINIKVM_STAT_OTHER,
		[MKVM_EXIT_WBINVD]	= MINIKVM_STAT_WBINVD,
		[MKVM_EXIT_RDPMC]	= MINIKVM_STAT_OTHER,
		[MKVM_EXIT_RDTSCP]	= MINIKVM_STAT_OTHER,
		[MKVM_EXIT_HYPERCALL]	= MINIKVM_STAT_OTHER,
		[MKVM_EXIT_IRQ_WINDOW]	= MINIKVM_STAT_IRQ_WINDOW,
		[MKVM_EXIT_SHUTDOWN]	= MINIKVM_STAT_SHUTDOWN,
		[MKVM_EXIT_FAIL_ENTRY]	= MINIKVM_STAT_FAIL_ENTRY,
		[MKVM_EXIT_UD]		= MINIKVM_STAT_EXCEPTION,
		[MKVM_EXIT_UNKNOWN]	= MINIKVM_STAT_OTHER,
	};
	unsigned int i = MINIKVM_STAT_OTHER;

	if (exit->reason < ARRAY_SIZE(stat))
		i = stat[exit->reason];
	/* A fault that did not map a page was MMIO. */
	if (exit->reason == MKVM_EXIT_NPF && r == 0 &&
	    vcpu->run->exit_reason == KVM_EXIT_MMIO)
		i = MINIKVM_STAT_MMIO;
	mkvm_stat_add(&vcpu->stats.exits[i], 1);
	mkvm_stat_add(&vcpu->stats.exits_total, 1);
	mkvm_stat_add(&vcpu->stats.guest_ns, guest_ns);
	mkvm_stat_add(&vcpu->stats.exit_ns, exit_ns);
}

static bool mkvm_ready_for_injection(struct mkvm_vcpu *vcpu)
{
	return mkvm_ops->interrupt_allowed(vcpu) && !vcpu->irq_pending;
}

static void mkvm_sched_in(struct preempt_notifier *pn, int cpu)
{
	struct mkvm_vcpu *vcpu = container_of(pn, struct mkvm_vcpu, pn);

	vcpu->flush_l1d = true;
	mkvm_ops->vcpu_load(vcpu, cpu);
}

static void mkvm_sched_out(struct preempt_notifier *pn,
			   struct task_struct *next)
{
	struct mkvm_vcpu *vcpu = container_of(pn, struct mkvm_vcpu, pn);

	mkvm_ops->vcpu_put(vcpu);
}

static struct preempt_ops mkvm_preempt_ops = {
	.sched_in = mkvm_sched_in,
	.sched_out = mkvm_sched_out,
};

/* Enter the guest once; returns like an exit handler. */
static int mkvm_enter_guest(struct mkvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct mkvm_exit exit = { .reason = MKVM_EXIT_NONE };
	struct mkvm_host_db host_db;
	u64 t0, t1, host_tsc_aux;
	bool guest_db;
	int r;

	/* KVM_INTERRUPT's vector goes in at the next entry, as in KVM. */
	if (vcpu->irq_pending) {
		mkvm_ops->inject_irq(vcpu, vcpu->irq_vector);
		vcpu->irq_pending = false;
		mkvm_stat_add(&vcpu->stats.injections, 1);
	}
	mkvm_ops->enable_irq_window(vcpu, run->request_interrupt_window &&
				    !mkvm_ops->interrupt_allowed(vcpu));

	preempt_disable();
	local_irq_disable();
	WRITE_ONCE(vcpu->mode, MKVM_IN_GUEST_MODE);
	/* Pairs with mkvm_kick_all(): mode is visible before requests are read. */
	smp_mb();
	if (test_and_clear_bit(MKVM_REQ_TLB_FLUSH, &vcpu->requests))
		mkvm_ops->flush_tlb(vcpu);
	if (need_resched() || signal_pending(current) || vcpu->requests) {
		WRITE_ONCE(vcpu->mode, MKVM_OUTSIDE_GUEST_MODE);
		local_irq_enable();
		preempt_enable();
		return 1;
	}
	if (test_thread_flag(TIF_NEED_FPU_LOAD))
		switch_fpu_return();

	guest_db = mkvm_load_guest_db(vcpu, &host_db);
	host_tsc_aux = mkvm_load_guest_tsc_aux(vcpu);
	t0 = local_clock();
	mkvm_ops->vcpu_run(vcpu, &exit);
	t1 = local_clock();
	mkvm_put_guest_tsc_aux(vcpu, host_tsc_aux);
	if (guest_db)
		mkvm_put_guest_db(&host_db);
	/*
	 * VMSCAPE: the guest may have trained the branch predictors that the
	 * VMM's userspace uses.  Where the kernel mitigates it, it issues an
	 * IBPB before this CPU next returns to userspace; mark the CPU that
	 * ran the guest (preemption is still off), as KVM does.
	 */
	if (cpu_feature_enabled(X86_FEATURE_IBPB_EXIT_TO_USER))
		this_cpu_write(x86_ibpb_exit_to_user, true);

	WRITE_ONCE(vcpu->mode, MKVM_OUTSIDE_GUEST_MODE);
	local_irq_enable();
	preempt_enable();

	r = mkvm_handle_exit(vcpu, &exit);
	mkvm_account_exit(vcpu, &exit, r, t1 - t0, local_clock() - t1);
	return r;
}

static int mkvm_vcpu_run(struct mkvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	int r = 1;

	vcpu->ran = true;
	vcpu->flush_l1d = true;
	run->flags = 0;

	switch (vcpu->pending) {
	case MKVM_PENDING_PIO_IN:
		r = mkvm_complete_pio_in(vcpu);
		break;
	case MKVM_PENDING_MMIO_LOAD:
		mkvm_complete_mmio_load(vcpu);
		break;
	case MKVM_PENDING_MMIO_STRING:
		r = mkvm_complete_string_mmio(vcpu);
		break;
	default:
		break;
	}
	vcpu->pending = MKVM_PENDING_NONE;
	if (r <= 0)
		goto out_noload;

	/* As KVM, exit_reason is left as it was. */
	if (mkvm_immediate_exit(run)) {
		r = -EINTR;
		goto out_noload;
	}

	atomic_inc(&vcpu->vm->running);
	WRITE_ONCE(vcpu->vm->has_run, true);
	preempt_notifier_register(&vcpu->pn);
	preempt_disable();
	mkvm_ops->vcpu_load(vcpu, smp_processor_id());
	preempt_enable();
	fpu_swap_kvm_fpstate(&vcpu->fpu, true);

	for (;;) {
		if (signal_pending(current)) {
			run->exit_reason = KVM_EXIT_INTR;
			r = -EINTR;
			break;
		}
		r = mkvm_enter_guest(vcpu);
		if (r <= 0)
			break;
		if (run->request_interrupt_window &&
		    mkvm_ready_for_injection(vcpu)) {
			run->exit_reason = KVM_EXIT_IRQ_WINDOW_OPEN;
			r = 0;
			break;
		}
		cond_resched();
	}

	fpu_swap_kvm_fpstate(&vcpu->fpu, false);
	preempt_disable();
	mkvm_ops->vcpu_put(vcpu);
	preempt_notifier_unregister(&vcpu->pn);
	preempt_enable();
	atomic_dec(&vcpu->vm->running);

out_noload:
	mkvm_stat_add(&vcpu->stats.user_exits, 1);
	run->if_flag = !!(mkvm_ops->get_rflags(vcpu) & X86_EFLAGS_IF);
	run->ready_for_interrupt_injection = mkvm_ready_for_injection(vcpu);
	run->apic_base = vcpu->apic_base;
	return r;
}

/* ---- register ioctls ---------------------------------------------------- */

static void mkvm_get_regs(struct mkvm_vcpu *vcpu, struct kvm_regs *r)
{
	u64 *g = vcpu->regs;

	r->rax = g[0]; r->rcx = g[1]; r->rdx = g[2]; r->rbx = g[3];
	r->rsp = g[4]; r->rbp = g[5]; r->rsi = g[6]; r->rdi = g[7];
	r->r8 = g[8]; r->r9 = g[9]; r->r10 = g[10]; r->r11 = g[11];
	r->r12 = g[12]; r->r13 = g[13]; r->r14 = g[14]; r->r15 = g[15];
	r->rip = vcpu->rip;
	r->rflags = mkvm_ops->get_rflags(vcpu);
}

static void mkvm_set_regs(struct mkvm_vcpu *vcpu, const struct kvm_regs *r)
{
	u64 *g = vcpu->regs;

	g[0] = r->rax; g[1] = r->rcx; g[2] = r->rdx; g[3] = r->rbx;
	g[4] = r->rsp; g[5] = r->rbp; g[6] = r->rsi; g[7] = r->rdi;
	g[8] = r->r8; g[9] = r->r9; g[10] = r->r10; g[11] = r->r11;
	g[12] = r->r12; g[13] = r->r13; g[14] = r->r14; g[15] = r->r15;
	vcpu->rip = r->rip;
	/* Bit 1 is always set; as KVM, take the rest as given. */
	mkvm_ops->set_rflags(vcpu, r->rflags | X86_EFLAGS_FIXED);
}

/* KVM's CR0/CR4/EFER consistency rules for KVM_SET_SREGS. */
static bool mkvm_valid_sregs(struct mkvm_vcpu *vcpu, const struct kvm_sregs *s)
{
	if (s->cr0 >> 32 || s->cr4 & ~mkvm_cr4_allowed(vcpu))
		return false;
	if ((s->cr0 & X86_CR0_NW) && !(s->cr0 & X86_CR0_CD))
		return false;
	if ((s->cr0 & X86_CR0_PG) && !(s->cr0 & X86_CR0_PE))
		return false;
	if (s->efer & ~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NX))
		return false;
	if ((s->efer & EFER_LME) && !mkvm_cpuid_has_long_mode(vcpu))
		return false;
	if ((s->efer & EFER_NX) && !mkvm_cpuid_has_nx(vcpu))
		return false;
	if ((s->efer & EFER_LME) && (s->cr0 & X86_CR0_PG)) {
		if (!(s->cr4 & X86_CR4_PAE) || !(s->efer & EFER_LMA))
			return false;
		if (s->cr3 >> boot_cpu_data.x86_phys_bits)
			return false;
	} else if ((s->efer & EFER_LMA) || s->cs.l) {
		return false;
	}
	return true;
}

static int mkvm_set_sregs(struct mkvm_vcpu *vcpu, const struct kvm_sregs *s)
{
	unsigned int i;

	if (!mkvm_valid_sregs(vcpu, s))
		return -EINVAL;
	mkvm_ops->set_sregs(vcpu, s);
	vcpu->apic_base = s->apic_base;
	/* A pending interrupt in the bitmap is queued, as KVM does. */
	for (i = 0; i < KVM_NR_INTERRUPTS; i++) {
		if (test_bit(i, (const unsigned long *)s->interrupt_bitmap)) {
			vcpu->irq_pending = true;
			vcpu->irq_vector = i;
			break;
		}
	}
	/* The guest's translations changed under it. */
	set_bit(MKVM_REQ_TLB_FLUSH, &vcpu->requests);
	return 0;
}

static void mkvm_get_sregs(struct mkvm_vcpu *vcpu, struct kvm_sregs *s)
{
	memset(s, 0, sizeof(*s));
	mkvm_ops->get_sregs(vcpu, s);
	s->apic_base = vcpu->apic_base;
	if (vcpu->irq_pending)
		__set_bit(vcpu->irq_vector, (unsigned long *)s->interrupt_bitmap);
}

static void mkvm_get_fpu(struct mkvm_vcpu *vcpu, struct kvm_fpu *f)
{
	struct fxregs_state *fx = &vcpu->fpu.fpstate->regs.fxsave;

	memset(f, 0, sizeof(*f));
	memcpy(f->fpr, fx->st_space, sizeof(f->fpr));
	f->fcw = fx->cwd;
	f->fsw = fx->swd;
	f->ftwx = fx->twd;
	f->last_opcode = fx->fop;
	f->last_ip = fx->rip;
	f->last_dp = fx->rdp;
	memcpy(f->xmm, fx->xmm_space, sizeof(f->xmm));
	f->mxcsr = fx->mxcsr;
}

static int mkvm_set_fpu(struct mkvm_vcpu *vcpu, const struct kvm_fpu *f)
{
	struct fxregs_state *fx = &vcpu->fpu.fpstate->regs.fxsave;

	/* A reserved MXCSR bit would make the host's FXRSTOR fault. */
	if (f->mxcsr >> 16)
		return -EINVAL;
	memcpy(fx->st_space, f->fpr, sizeof(f->fpr));
	fx->cwd = f->fcw;
	fx->swd = f->fsw;
	fx->twd = f->ftwx;
	fx->fop = f->last_opcode;
	fx->rip = f->last_ip;
	fx->rdp = f->last_dp;
	memcpy(fx->xmm_space, f->xmm, sizeof(f->xmm));
	fx->mxcsr = f->mxcsr;
	return 0;
}

#define MKVM_MAX_IO_MSRS	256

/* KVM_GET_MSRS / KVM_SET_MSRS: stop at the first failure, return count. */
static int mkvm_msrs_ioctl(struct mkvm_vcpu *vcpu, void __user *argp, bool set)
{
	struct kvm_msrs __user *um = argp;
	struct kvm_msr_entry e;
	struct kvm_msrs m;
	u32 i;

	if (copy_from_user(&m, um, sizeof(m)))
		return -EFAULT;
	if (m.nmsrs >= MKVM_MAX_IO_MSRS)
		return -E2BIG;
	for (i = 0; i < m.nmsrs; i++) {
		if (copy_from_user(&e, &um->entries[i], sizeof(e)))
			return -EFAULT;
		if (set) {
			if (mkvm_set_msr(vcpu, e.index, e.data, true))
				break;
		} else {
			if (mkvm_get_msr(vcpu, e.index, &e.data, true))
				break;
			if (copy_to_user(&um->entries[i].data, &e.data, sizeof(e.data)))
				return -EFAULT;
		}
	}
	return i;
}

long mkvm_get_msr_index_list(void __user *argp)
{
	struct kvm_msr_list __user *ul = argp;
	struct kvm_msr_list l;
	u32 n = ARRAY_SIZE(mkvm_msrs);

	if (copy_from_user(&l, ul, sizeof(l)))
		return -EFAULT;
	if (put_user(n, &ul->nmsrs))
		return -EFAULT;
	if (l.nmsrs < n)
		return -E2BIG;
	if (copy_to_user(ul->indices, mkvm_msrs, sizeof(mkvm_msrs)))
		return -EFAULT;
	return 0;
}

static int mkvm_set_cpuid2(struct mkvm_vcpu *vcpu, void __user *argp)
{
	struct kvm_cpuid2 __user *uc = argp;
	struct kvm_cpuid_entry2 *e;
	struct kvm_cpuid2 c;

	if (copy_from_user(&c, uc, sizeof(c)))
		return -EFAULT;
	if (c.nent > MKVM_MAX_CPUID)
		return -E2BIG;
	e = vmemdup_user(uc->entries, array_size(c.nent, sizeof(*e)));
	if (IS_ERR(e))
		return PTR_ERR(e);
	/* As KVM: the CPUID cannot change once the vCPU has run. */
	if (vcpu->ran && (c.nent != vcpu->cpuid_nent ||
			  memcmp(e, vcpu->cpuid, c.nent * sizeof(*e)))) {
		kvfree(e);
		return -EINVAL;
	}
	kvfree(vcpu->cpuid);
	vcpu->cpuid = e;
	vcpu->cpuid_nent = c.nent;
	return 0;
}

static int mkvm_get_cpuid2(struct mkvm_vcpu *vcpu, void __user *argp)
{
	struct kvm_cpuid2 __user *uc = argp;
	struct kvm_cpuid2 c;

	if (copy_from_user(&c, uc, sizeof(c)))
		return -EFAULT;
	if (c.nent < vcpu->cpuid_nent)
		return -E2BIG;
	if (copy_to_user(uc->entries, vcpu->cpuid,
			 vcpu->cpuid_nent * sizeof(*vcpu->cpuid)))
		return -EFAULT;
	return put_user(vcpu->cpuid_nent, &uc->nent);
}

/* KVM_GET/SET_DEBUGREGS: DR0-3, DR6, DR7; bits 63:32 of DR6/7 are zero. */
static void mkvm_get_debugregs(struct mkvm_vcpu *vcpu, struct kvm_debugregs *d)
{
	memcpy(d->db, vcpu->db, sizeof(d->db));
	d->dr6 = mkvm_ops->get_dr(vcpu, 6);
	d->dr7 = mkvm_ops->get_dr(vcpu, 7);
}

static int mkvm_set_debugregs(struct mkvm_vcpu *vcpu,
			      const struct kvm_debugregs *d)
{
	if (d->flags || (d->dr6 >> 32) || (d->dr7 >> 32))
		return -EINVAL;
	memcpy(vcpu->db, d->db, sizeof(vcpu->db));
	mkvm_ops->set_dr(vcpu, 6, d->dr6);
	mkvm_ops->set_dr(vcpu, 7, d->dr7);
	return 0;
}

/* ---- the vCPU fd -------------------------------------------------------- */

static long mkvm_vcpu_ioctl(struct file *filp, unsigned int ioctl,
			    unsigned long arg)
{
	struct mkvm_vcpu *vcpu = filp->private_data;
	void __user *argp = (void __user *)arg;
	union {
		struct kvm_regs regs;
		struct kvm_sregs sregs;
		struct kvm_fpu fpu;
		struct kvm_interrupt irq;
		struct kvm_mp_state mp;
		struct kvm_debugregs dbg;
	} *u;
	long r;

	if (vcpu->vm->mm != current->mm)
		return -EIO;
	if (mutex_lock_killable(&vcpu->mutex))
		return -EINTR;

	u = kzalloc(sizeof(*u), GFP_KERNEL_ACCOUNT);
	r = -ENOMEM;
	if (!u)
		goto out;

	switch (ioctl) {
	case KVM_RUN:
		r = arg ? -EINVAL : mkvm_vcpu_run(vcpu);
		break;
	case KVM_GET_REGS:
		mkvm_get_regs(vcpu, &u->regs);
		r = copy_to_user(argp, &u->regs, sizeof(u->regs)) ? -EFAULT : 0;
		break;
	case KVM_SET_REGS:
		r = -EFAULT;
		if (copy_from_user(&u->regs, argp, sizeof(u->regs)))
			break;
		mkvm_set_regs(vcpu, &u->regs);
		r = 0;
		break;
	case KVM_GET_SREGS:
		mkvm_get_sregs(vcpu, &u->sregs);
		r = copy_to_user(argp, &u->sregs, sizeof(u->sregs)) ? -EFAULT : 0;
		break;
	case KVM_SET_SREGS:
		r = -EFAULT;
		if (copy_from_user(&u->sregs, argp, sizeof(u->sregs)))
			break;
		r = mkvm_set_sregs(vcpu, &u->sregs);
		break;
	case KVM_GET_FPU:
		mkvm_get_fpu(vcpu, &u->fpu);
		r = copy_to_user(argp, &u->fpu, sizeof(u->fpu)) ? -EFAULT : 0;
		break;
	case KVM_SET_FPU:
		r = -EFAULT;
		if (copy_from_user(&u->fpu, argp, sizeof(u->fpu)))
			break;
		r = mkvm_set_fpu(vcpu, &u->fpu);
		break;
	case KVM_GET_MSRS:
		r = mkvm_msrs_ioctl(vcpu, argp, false);
		break;
	case KVM_SET_MSRS:
		r = mkvm_msrs_ioctl(vcpu, argp, true);
		break;
	case KVM_SET_CPUID2:
		r = mkvm_set_cpuid2(vcpu, argp);
		break;
	case KVM_GET_CPUID2:
		r = mkvm_get_cpuid2(vcpu, argp);
		break;
	case KVM_INTERRUPT:
		r = -EFAULT;
		if (copy_from_user(&u->irq, argp, sizeof(u->irq)))
			break;
		r = -EINVAL;
		if (u->irq.irq >= KVM_NR_INTERRUPTS)
			break;
		r = -ENXIO;
		if (vcpu->irq_pending)
			break;
		vcpu->irq_pending = true;
		vcpu->irq_vector = u->irq.irq;
		r = 0;
		break;
	case KVM_GET_DEBUGREGS:
		mkvm_get_debugregs(vcpu, &u->dbg);
		r = copy_to_user(argp, &u->dbg, sizeof(u->dbg)) ? -EFAULT : 0;
		break;
	case KVM_SET_DEBUGREGS:
		r = -EFAULT;
		if (copy_from_user(&u->dbg, argp, sizeof(u->dbg)))
			break;
		r = mkvm_set_debugregs(vcpu, &u->dbg);
		break;
	case KVM_GET_MP_STATE:
		u->mp.mp_state = vcpu->mp_state;
		r = copy_to_user(argp, &u->mp, sizeof(u->mp)) ? -EFAULT : 0;
		break;
	case KVM_SET_MP_STATE:
		r = -EFAULT;
		if (copy_from_user(&u->mp, argp, sizeof(u->mp)))
			break;
		/* Without an in-kernel LAPIC only RUNNABLE exists, as in KVM. */
		r = u->mp.mp_state == KVM_MP_STATE_RUNNABLE ? 0 : -EINVAL;
		break;
	default:
		r = -ENOTTY;
		break;
	}
	kfree(u);
out:
	mutex_unlock(&vcpu->mutex);
	return r;
}

static vm_fault_t mkvm_vcpu_fault(struct vm_fault *vmf)
{
	struct mkvm_vcpu *vcpu = vmf->vma->vm_file->private_data;
	struct page *page;

	if (vmf->pgoff == 0)
		page = virt_to_page(vcpu->run);
	else if (vmf->pgoff == KVM_PIO_PAGE_OFFSET)
		page = virt_to_page(vcpu->pio_data);
	else
		return VM_FAULT_SIGBUS;
	get_page(page);
	vmf->page = page;
	return 0;
}

static const struct vm_operations_struct mkvm_vcpu_vm_ops = {
	.fault = mkvm_vcpu_fault,
};

static int mkvm_vcpu_mmap(struct file *filp, struct vm_area_struct *vma)
{
	vma->vm_ops = &mkvm_vcpu_vm_ops;
	return 0;
}

static int mkvm_vcpu_release(struct inode *inode, struct file *filp)
{
	struct mkvm_vcpu *vcpu = filp->private_data;

	mkvm_vm_put(vcpu->vm);
	return 0;
}

static const struct file_operations mkvm_vcpu_fops = {
	.owner		= THIS_MODULE,
	.release	= mkvm_vcpu_release,
	.unlocked_ioctl	= mkvm_vcpu_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.mmap		= mkvm_vcpu_mmap,
	.llseek		= noop_llseek,
};

/* Called when the VM is freed: no fd refers to the vCPU any more. */
void mkvm_vcpu_free(struct mkvm_vcpu *vcpu)
{
	mkvm_ops->vcpu_free(vcpu);
	fpu_free_guest_fpstate(&vcpu->fpu);
	kvfree(vcpu->cpuid);
	free_page((unsigned long)vcpu->pio_data);
	free_page((unsigned long)vcpu->run);
	kfree(vcpu);
}

static void mkvm_vcpu_reset(struct mkvm_vcpu *vcpu)
{
	vcpu->xcr0 = XFEATURE_MASK_FP;
	vcpu->apic_base = APIC_DEFAULT_PHYS_BASE | MSR_IA32_APICBASE_ENABLE |
			  (vcpu->id == 0 ? MSR_IA32_APICBASE_BSP : 0);
	vcpu->mp_state = KVM_MP_STATE_RUNNABLE;
	vcpu->regs[2] = 0x600;		/* RDX: family 6, as KVM */
	vcpu->rip = 0xfff0;
}

int mkvm_create_vcpu(struct mkvm_vm *vm, unsigned long id)
{
	struct mkvm_vcpu *vcpu;
	int i, r, fd;

	if (id >= MKVM_MAX_VCPU_ID)
		return -EINVAL;

	vcpu = kzalloc(mkvm_ops->vcpu_size, GFP_KERNEL_ACCOUNT);
	if (!vcpu)
		return -ENOMEM;
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->cpu = -1;
	mutex_init(&vcpu->mutex);
	preempt_notifier_init(&vcpu->pn, &mkvm_preempt_ops);
	mkvm_vcpu_reset(vcpu);

	r = -ENOMEM;
	vcpu->run = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	vcpu->pio_data = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!vcpu->run || !vcpu->pio_data)
		goto free_pages;
	if (!fpu_alloc_guest_fpstate(&vcpu->fpu))
		goto free_pages;
	r = mkvm_ops->vcpu_create(vcpu);
	if (r)
		goto free_fpu;

	mutex_lock(&vm->lock);
	r = -EINVAL;
	if (atomic_read(&vm->nr_vcpus) >= MKVM_MAX_VCPUS)
		goto unlock;
	r = -EEXIST;
	for (i = 0; i < atomic_read(&vm->nr_vcpus); i++)
		if (vm->vcpus[i]->id == id)
			goto unlock;

	/* In the array before the fd exists: closing it frees with the VM. */
	i = atomic_read(&vm->nr_vcpus);
	vm->vcpus[i] = vcpu;
	atomic_inc(&vm->nr_vcpus);
	mkvm_vm_get(vm);
	fd = anon_inode_getfd("minikvm-vcpu", &mkvm_vcpu_fops, vcpu,
			      O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		r = fd;
		atomic_dec(&vm->nr_vcpus);
		vm->vcpus[i] = NULL;
		mutex_unlock(&vm->lock);
		mkvm_vm_put(vm);
		goto free_backend;
	}
	mutex_unlock(&vm->lock);
	return fd;

unlock:
	mutex_unlock(&vm->lock);
free_backend:
	mkvm_ops->vcpu_free(vcpu);
free_fpu:
	fpu_free_guest_fpstate(&vcpu->fpu);
free_pages:
	free_page((unsigned long)vcpu->pio_data);
	free_page((unsigned long)vcpu->run);
	kfree(vcpu);
	return r;
}

static void mkvm_kick_nop(void *unused)
{
}

/*
 * Make every vCPU handle @req before it next runs guest code; those in
 * guest mode are forced out by an IPI, and we wait until they are out.
 */
void mkvm_kick_all(struct mkvm_vm *vm, int req)
{
	int i;

	mutex_lock(&vm->lock);
	for (i = 0; i < atomic_read(&vm->nr_vcpus); i++) {
		struct mkvm_vcpu *vcpu = vm->vcpus[i];

		set_bit(req, &vcpu->requests);
		/* Pairs with the barrier after mode is set on entry. */
		smp_mb__after_atomic();
		if (READ_ONCE(vcpu->mode) == MKVM_IN_GUEST_MODE)
			smp_call_function_single(READ_ONCE(vcpu->cpu),
						 mkvm_kick_nop, NULL, 1);
	}
	mutex_unlock(&vm->lock);
}

void mkvm_vcpu_module_exit(void)
{
	preempt_notifier_dec();
}

void mkvm_vcpu_module_init(void)
{
	preempt_notifier_inc();
	if (boot_cpu_has(X86_FEATURE_OSXSAVE))
		mkvm_host_xcr0 = xgetbv(XCR_XFEATURE_ENABLED_MASK);
}

u64 mkvm_get_host_xcr0(void)
{
	return mkvm_host_xcr0;
}
