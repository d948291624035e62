// SPDX-License-Identifier: GPL-2.0
/*
 * Port IO: IN/OUT and the string forms INS/OUTS, which exit to
 * userspace as KVM_EXIT_IO and complete on the next KVM_RUN.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kvm.h>
#include <linux/mm.h>
#include <asm/processor-flags.h>

#include "minikvm.h"

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
	unsigned int asize, size = exit->io.size, n;
	int reg = exit->io.in ? 7 : 6;		/* RDI : RSI */
	bool down = mkvm_call(get_rflags)(vcpu) & X86_EFLAGS_DF;
	u8 code[MKVM_MAX_INSN_LEN];
	struct mkvm_string_insn si;
	struct mkvm_fault fault;
	u64 count = 1, room, ea, la;
	int r;

	/*
	 * The CPU gave direction, element size and REP; the address size
	 * and OUTS's segment come from the decoder.
	 */
	mkvm_call(get_sregs)(vcpu, s);
	r = mkvm_fetch_code(vcpu, s, code, &n);
	if (!r)
		r = mkvm_insn_decode_string(code, n, mkvm_cpu_mode(s), &si);
	if (r)
		return r;
	if (si.op != (exit->io.in ? MKVM_STRING_INS : MKVM_STRING_OUTS))
		return -EINVAL;
	asize = si.asize;
	vcpu->pio.addr_size = asize;
	/* INS writes ES:rDI, which no prefix overrides. */
	vcpu->pio.seg = exit->io.in ? MKVM_SEG_ES : si.seg;
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
	bool down = mkvm_call(get_rflags)(vcpu) & X86_EFLAGS_DF;
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

int mkvm_handle_io(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit)
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

	/* A write to an ioeventfd's port signals it, and is done. */
	if (!exit->io.string && !exit->io.in &&
	    mkvm_ioeventfd_write(vcpu->vm, true, exit->io.port, exit->io.size,
				 vcpu->regs[0])) {
		vcpu->rip = exit->next_rip;
		return 1;
	}

	/* The in-kernel PIC's ports do not exit. */
	if (!exit->io.string && vcpu->apic) {
		u64 v = vcpu->regs[0];

		if (!mkvm_irqchip_pio(vcpu, exit->io.port, exit->io.in,
				      exit->io.size, &v)) {
			if (exit->io.in)
				mkvm_reg_set(vcpu, 0, exit->io.size, v);
			vcpu->rip = exit->next_rip;
			return 1;
		}
	}

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
int mkvm_complete_pio_in(struct mkvm_vcpu *vcpu)
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
	/*
	 * REP INS: userspace may have changed RCX meanwhile; as KVM, the
	 * instruction goes on with what RCX says, taking at most as many
	 * elements as it asks for (none: the instruction is done).
	 */
	if (vcpu->pio.rep) {
		u64 cx = mkvm_reg_get(vcpu, 1, vcpu->pio.addr_size);

		if (!cx) {
			vcpu->rip = vcpu->pio.next_rip;
			return 1;
		}
		vcpu->pio.count = min_t(u64, vcpu->pio.count, cx);
	}
	mkvm_call(get_sregs)(vcpu, &s);
	ea = mkvm_reg_get(vcpu, 7, vcpu->pio.addr_size);
	r = mkvm_guest_data(vcpu, &s, vcpu->pio.seg, ea, vcpu->pio_data,
			    vcpu->pio.count * vcpu->pio.size, true, &fault);
	if (r)
		return mkvm_access_failed(vcpu, r, &fault, ea);
	mkvm_string_io_advance(vcpu, vcpu->pio.next_rip);
	return 1;
}
