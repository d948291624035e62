// SPDX-License-Identifier: GPL-2.0
/*
 * Nested page faults: mapping a slot's page, or emulating the access
 * as MMIO (KVM_EXIT_MMIO) with the decoder of emulate.c, including the
 * string forms and faults on the guest's own page tables.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kvm.h>
#include <linux/mm.h>
#include <asm/processor-flags.h>

#include "minikvm.h"

/*
 * MOVS, STOS and LODS touching MMIO (memcpy_toio, memset_io): one MMIO
 * exit per element, as KVM; a REP form runs again until RCX is 0.  The
 * operands are accessed in the CPU's order, with its checks and the
 * rights of the guest's CPL: the source (DS:RSI, or the prefix's segment)
 * is read first, then the destination (ES:RDI) is written.  A fault is
 * raised in the guest with no element moved and the registers as they
 * were.  After a read from MMIO, the destination is checked on the next
 * KVM_RUN, when the data is there (as KVM does).
 * Returns like an exit handler, or -EINVAL if @str is not one of them.
 */
static int mkvm_string_mmio(struct mkvm_vcpu *vcpu, struct kvm_sregs *s,
			    u64 gpa, const struct mkvm_string_insn *str)
{
	struct kvm_run *run = vcpu->run;
	bool down = mkvm_call(get_rflags)(vcpu) & X86_EFLAGS_DF;
	bool movs = str->op == MKVM_STRING_MOVS;
	bool stos = str->op == MKVM_STRING_STOS;
	bool lods = str->op == MKVM_STRING_LODS;
	unsigned int size = str->size, asize = str->asize;
	u64 si, di, la, op_gpa, v = 0, step;
	struct mkvm_fault fault;
	int r;

	if (!movs && !stos && !lods)
		return -EINVAL;		/* INS, OUTS: port IO exits first */
	si = mkvm_reg_get(vcpu, 6, asize);
	di = mkvm_reg_get(vcpu, 7, asize);

	/* A REP form with RCX = 0 does not fault: RCX is at least 1 here. */
	memset(run->mmio.data, 0, sizeof(run->mmio.data));
	run->mmio.len = size;
	run->mmio.phys_addr = gpa;
	if (stos) {
		v = vcpu->regs[0];
	} else {
		r = mkvm_data_linear(s, str->seg, si, size, false, &la, &fault);
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
			vcpu->str.rep = str->rep;
			vcpu->str.len = str->len;
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
	if (str->rep)
		mkvm_reg_set(vcpu, 1, asize, mkvm_reg_get(vcpu, 1, asize) - 1);
	if (!str->rep || !mkvm_reg_get(vcpu, 1, asize))
		vcpu->rip += str->len;
	return 0;
}

/*
 * KVM_RUN after a MOVS/LODS read from MMIO: store the element, step.  A
 * fault on the destination of MOVS discards the element.
 */
int mkvm_complete_string_mmio(struct mkvm_vcpu *vcpu)
{
	unsigned int size = vcpu->str.size, asize = vcpu->str.asize;
	u64 step = vcpu->str.down ? -(u64)size : size;
	struct mkvm_fault fault;
	struct kvm_sregs s;
	u64 v = 0, di;
	int r;

	memcpy(&v, vcpu->run->mmio.data, size);
	if (vcpu->str.movs) {
		mkvm_call(get_sregs)(vcpu, &s);
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
			     mkvm_insn_ea(insn, mkvm_gprs(vcpu), vcpu->rip),
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
		v = mkvm_insn_store_value(insn, mkvm_gprs(vcpu));
	for (i = 0; i < parts; i++) {
		void *p = (u8 *)&v + (i ? len[0] : 0);

		r = store ? mkvm_write_guest(vm, gpa[i], p, len[i]) :
			    mkvm_read_guest(vm, gpa[i], p, len[i]);
		if (r)
			return r;
	}
	if (!store)
		mkvm_insn_complete_load(insn, mkvm_gprs(vcpu), v);
	vcpu->rip += insn->len;
	return 1;
}

/*
 * A nested page fault: map the slot's page, or emulate the access as
 * MMIO (no slot, or a write to a read-only slot).  A fault on the
 * guest's page tables themselves (npf.walk) is emulated instead, through
 * the operand's own address (mkvm_emulate_walk_fault()).
 */
int mkvm_handle_npf(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit)
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
		/*
		 * Every entry we map is readable and executable: a fault on
		 * a present one is a write, whatever the CPU reported.
		 */
		r = mkvm_mmu_map(vm, slot, gpa,
				 exit->npf.write || exit->npf.present);
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

	/*
	 * MMIO: fetch and decode the instruction at CS:RIP.  A MOV to or
	 * from the faulting address needs no more of the segment state; the
	 * walk fault and a string instruction read their data segment.
	 */
	mkvm_get_code_sregs(vcpu, &s);
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
	if (!r && exit->npf.walk) {
		mkvm_call(get_sregs)(vcpu, &s);
		r = mkvm_emulate_walk_fault(vcpu, &s, insn, &gpa);
	}
	srcu_read_unlock(&vm->srcu, idx);
	if (r == 1)
		return 1;
	if (r == -EINVAL && !exit->npf.walk) {
		/* Not a MOV: perhaps a string instruction. */
		struct mkvm_string_insn str;

		if (!mkvm_insn_decode_string(code, n, mkvm_cpu_mode(&s),
					     &str)) {
			mkvm_call(get_sregs)(vcpu, &s);
			r = mkvm_string_mmio(vcpu, &s, gpa, &str);
			if (r != -EINVAL)
				return r;
		}
	}
	if (r)
		return mkvm_internal_error(vcpu, KVM_INTERNAL_ERROR_EMULATION,
					   exit->npf.gpa, vcpu->rip);

	/* A write to an ioeventfd's address signals it, and is done. */
	if (insn->kind == MKVM_INSN_STORE &&
	    mkvm_ioeventfd_write(vm, false, gpa, insn->size,
				 mkvm_insn_store_value(insn, mkvm_gprs(vcpu)))) {
		vcpu->rip += insn->len;
		return 1;
	}

	/* The in-kernel irqchip's pages (LAPIC, IOAPIC) do not exit. */
	if (vcpu->apic) {
		bool store = insn->kind == MKVM_INSN_STORE;
		u64 v = store ? mkvm_insn_store_value(insn, mkvm_gprs(vcpu)) : 0;

		if (!mkvm_irqchip_mmio(vcpu, gpa, &v, insn->size, store)) {
			if (!store)
				mkvm_insn_complete_load(insn, mkvm_gprs(vcpu), v);
			vcpu->rip += insn->len;
			return 1;
		}
	}

	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.phys_addr = gpa;
	run->mmio.len = insn->size;
	memset(run->mmio.data, 0, sizeof(run->mmio.data));
	if (insn->kind == MKVM_INSN_STORE) {
		u64 v = mkvm_insn_store_value(insn, mkvm_gprs(vcpu));

		run->mmio.is_write = 1;
		memcpy(run->mmio.data, &v, insn->size);
		vcpu->rip += insn->len;
	} else {
		run->mmio.is_write = 0;
		vcpu->pending = MKVM_PENDING_MMIO_LOAD;
	}
	return 0;
}

void mkvm_complete_mmio_load(struct mkvm_vcpu *vcpu)
{
	u64 v = 0;

	memcpy(&v, vcpu->run->mmio.data, vcpu->mmio_insn.size);
	mkvm_insn_complete_load(&vcpu->mmio_insn, mkvm_gprs(vcpu), v);
	vcpu->rip += vcpu->mmio_insn.len;
}
