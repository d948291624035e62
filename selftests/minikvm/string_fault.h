/* SPDX-License-Identifier: GPL-2.0 */
/*
 * String instructions that the hypervisor emulates (MOVS to or from
 * MMIO, INS, OUTS), run by a 64-bit C guest at CPL 3 or at CPL 0, and
 * the faults they take: shared by mmio_test and io_test.
 *
 * The guest loops: a ucall SYNC(0) says it is ready, the host puts the
 * next operation in the guest's copy of @str_op and resumes it; the guest
 * runs it (at CPL 3 through guest_run_user() if asked), its #PF and #GP
 * handler records what it saw in @str_seen and skips the instruction;
 * SYNC(1) says it is done, with the registers after it in @str_after.
 * An operation with insn 0 ends the guest.
 */
#ifndef MKVM_STRING_FAULT_H
#define MKVM_STRING_FAULT_H

#include "lib/guest.h"
#include "lib/ucall.h"
#include "lib/x86.h"

#define CR4_SMAP	(1UL << 21)
#define STR_PAGE_SIZE	4096UL

/* #PF error code bits. */
#define PF_P		0x1
#define PF_W		0x2
#define PF_U		0x4

enum { STR_END, STR_MOVSB, STR_INSB, STR_OUTSB };

struct string_op {
	uint64_t insn;		/* STR_* */
	uint64_t user;		/* run at CPL 3 */
	uint64_t ac;		/* with RFLAGS.AC set (STAC/CLAC, CPL 0) */
	uint64_t rsi, rdi, rcx, port;
};

struct string_seen {
	uint64_t count;		/* faults taken */
	uint64_t vector, error, cr2;
};

struct string_regs {
	uint64_t rsi, rdi, rcx;
};

static struct string_op str_op;
static struct string_seen str_seen;
static struct string_regs str_after;

static void str_fault_handler(struct ex_regs *regs)
{
	uint64_t cr2;

	asm volatile("mov %%cr2, %0" : "=r"(cr2));
	str_seen.count++;
	str_seen.vector = regs->vector;
	str_seen.error = regs->error_code;
	str_seen.cr2 = cr2;
	regs->rip += 2;		/* rep movsb, rep insb, rep outsb: f3 xx */
}

static uint64_t str_do(uint64_t unused)
{
	uint64_t si = str_op.rsi, di = str_op.rdi, cx = str_op.rcx;
	uint16_t port = str_op.port;

	if (str_op.ac)
		asm volatile("stac" ::: "cc");
	switch (str_op.insn) {
	case STR_MOVSB:
		asm volatile("rep movsb"
			     : "+S"(si), "+D"(di), "+c"(cx) : : "memory");
		break;
	case STR_INSB:
		asm volatile("rep insb"
			     : "+D"(di), "+c"(cx) : "d"(port) : "memory");
		break;
	case STR_OUTSB:
		asm volatile("rep outsb"
			     : "+S"(si), "+c"(cx) : "d"(port) : "memory");
		break;
	}
	if (str_op.ac)
		asm volatile("clac" ::: "cc");
	str_after.rsi = si;
	str_after.rdi = di;
	str_after.rcx = cx;
	return 0;
}

static void guest_string_ops(void)
{
	guest_set_handler(PF_VECTOR, str_fault_handler);
	guest_set_handler(GP_VECTOR, str_fault_handler);
	for (;;) {
		GUEST_SYNC(0, 0);
		if (str_op.insn == STR_END)
			return;
		if (str_op.user)
			guest_run_user(str_do, 0);
		else
			str_do(0);
		GUEST_SYNC(1, 0);
	}
}

/* Host: run the guest to its next SYNC(0) and give it @op. */
static void str_start(struct vcpu *vcpu, const struct string_op *op)
{
	struct ucall uc;

	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	TEST_ASSERT(uc.args[0] == 0, "the guest is not ready for an operation");
	str_op = *op;
	sync_global_to_guest(vcpu->vm, str_op);
	memset(&str_seen, 0, sizeof(str_seen));
	sync_global_to_guest(vcpu->vm, str_seen);
}

/*
 * Host: the next exit must be the guest's SYNC(1) (no IO or MMIO exit
 * first); read what it saw.
 */
static void str_end(struct vcpu *vcpu)
{
	struct ucall uc;

	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	TEST_ASSERT(uc.args[0] == 1, "the operation did not end");
	sync_global_from_guest(vcpu->vm, str_seen);
	sync_global_from_guest(vcpu->vm, str_after);
}

/* Host: end the guest. */
static void str_finish(struct vcpu *vcpu)
{
	static const struct string_op end = { .insn = STR_END };
	struct ucall uc;

	str_start(vcpu, &end);
	vcpu_run_expect(vcpu, UCALL_DONE, &uc);
}

/*
 * Host: a VM whose vCPU runs guest_string_ops() on the library's user
 * tables (every page a user page), and @npages fresh pages at *@pages.
 */
static struct vcpu *str_vm(struct vm **vm, uint64_t *cr3, uint64_t *pages,
			   unsigned int npages)
{
	struct vcpu *vcpu;
	unsigned int i;

	*vm = vm_create();
	vcpu = vm_vcpu_add(*vm, 0);
	vcpu_start_guest(vcpu, guest_string_ops, 0);
	*cr3 = vm_user_tables(*vm);
	vcpu_set_cr3(vcpu, *cr3);
	for (i = 0; i < npages; i++)
		pages[i] = vm_alloc_pages(*vm, 1);
	return vcpu;
}

/*
 * Host: make @cr3's tables supervisor-only but for @page, for SMAP at
 * CPL 0 (code, stacks, IDT and GDT must be supervisor pages there).
 */
static void str_only_user_page(struct vm *vm, uint64_t cr3, uint64_t page)
{
	uint64_t *pml4 = gpa2hva(vm, cr3), *pdpt, *pd;
	unsigned int i, j;

	pdpt = gpa2hva(vm, pml4[0] & PTE_ADDR);
	for (i = 0; i < 4; i++) {
		pd = gpa2hva(vm, pdpt[i] & PTE_ADDR);
		for (j = 0; j < 512; j++)
			pd[j] &= ~PTE_US;
	}
	/* Splits the 2 MiB page: its 4 KiB pages inherit the PDE's bits. */
	*vm_user_pte(vm, cr3, page) |= PTE_US;
}

/* Whether the vCPU can have CR4.SMAP: CPUID 7.0 EBX bit 20. */
static bool str_have_smap(void)
{
	struct kvm_cpuid2 *c = cpuid_dup(kvm_supported_cpuid());
	struct kvm_cpuid_entry2 *e = cpuid_find(c, 7, 0);
	bool smap = e && (e->ebx & (1U << 20));

	free(c);
	return smap;
}

static void str_set_smap(struct vcpu *vcpu)
{
	struct kvm_sregs sregs;

	vcpu_get_sregs(vcpu, &sregs);
	sregs.cr4 |= CR4_SMAP;
	vcpu_set_sregs(vcpu, &sregs);
}

#endif /* MKVM_STRING_FAULT_H */
