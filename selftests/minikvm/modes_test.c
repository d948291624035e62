// SPDX-License-Identifier: GPL-2.0
/*
 * Guests in every CPU mode: 16-bit real mode, 32-bit protected mode
 * without paging, with 32-bit paging and with PAE paging, 64-bit long
 * mode (raw asm and C), and a guest that switches from real mode to
 * protected mode to long mode by itself, like a boot loader.
 *
 * Each guest proves it runs in the mode it was given: operand sizes wrap
 * where that mode wraps them, segment bases or page tables decide where
 * its memory accesses land, and it reads back the control registers.
 */
#define _GNU_SOURCE
#include <stdio.h>

#include "kselftest_harness.h"
#include "lib/ucall.h"
#include "lib/x86.h"

/*
 * Real mode.  All segments but SS are based at CODE_GPA (0x10000), SS at
 * 0x90000 with SP 0xf000.  Reports:
 *   EDI  0x5678ffff after a 16-bit "inc %ax": 0x56780000
 *   ESI  CR0 as the guest reads it (smsw)
 *   EDX  a word read through DS from the snippet's own data
 *   ECX  a word pushed and popped through SS:SP
 * and writes 0xbeef at ES:0x10 with ES = 0x2000, i.e. at 0x20010.
 */
GUEST_ASM(real_guest,
	".code16\n"
	"mov $0x5678ffff, %eax\n"
	"inc %ax\n"
	"mov %eax, %edi\n"
	"smsw %si\n"
	"mov $0x2000, %bx\n"
	"mov %bx, %es\n"
	"movw $0xbeef, %es:0x10\n"
	"mov " SNIP_OFF(real_guest, real_word) ", %dx\n"
	"push $0x4242\n"
	"pop %cx\n"
	ASM_UCALL(UCALL_SYNC)
	"hlt\n"
	".globl real_after_hlt\n"
	"real_after_hlt:\n"
	"jmp real_after_hlt\n"
	"real_word: .word 0xcafe\n");
extern const char real_after_hlt[];

TEST(real_mode)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct ucall uc;

	vcpu_load_snippet(vcpu, MODE_REAL, real_guest);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);

	EXPECT_EQ(0x56780000, uc.args[0] & 0xffffffff);
	EXPECT_EQ(0, uc.args[1] & CR0_PE);
	EXPECT_EQ(0xcafe, uc.args[2] & 0xffff);
	EXPECT_EQ(0x4242, uc.args[3] & 0xffff);
	/* ES:0x10 with ES = 0x2000, and the push went to SS:SP - 2. */
	EXPECT_EQ(0xbeef, *(uint16_t *)gpa2hva(vm, 0x20010));
	EXPECT_EQ(0x4242, *(uint16_t *)gpa2hva(vm, STACK_GPA - 2));

	vcpu_get_sregs(vcpu, &sregs);
	EXPECT_EQ(0, sregs.cr0 & CR0_PE);
	EXPECT_EQ(0x2000, sregs.es.selector);
	EXPECT_EQ(0x20000, sregs.es.base);

	/* HLT exits with IP past it: real mode IP is the offset in CS. */
	vcpu_run(vcpu);
	vcpu_assert_exit(vcpu, KVM_EXIT_HLT);
	vcpu_get_regs(vcpu, &regs);
	EXPECT_EQ(real_after_hlt - real_guest_start, regs.rip);
	EXPECT_EQ(CODE_GPA, sregs.cs.base);
	vm_free(vm);
}

/*
 * 32-bit code for the three 32-bit modes.  EBX holds a virtual address
 * (set by the host); the guest writes 0x600df00d there, and reports:
 *   EDI  0xffffffff after a 32-bit "inc": 0
 *   ESI  CR0, EDX  CR4 as the guest reads them
 *   ECX  the value read back through EBX
 * and stores 0xdeadbeef at the absolute address DATA_GPA + 0x10.
 */
GUEST_ASM(guest32,
	".code32\n"
	"mov $0xffffffff, %edi\n"
	"inc %edi\n"
	"mov %cr0, %esi\n"
	"mov %cr4, %edx\n"
	"movl $0x600df00d, (%ebx)\n"
	"movl $0xdeadbeef, " DATA_GPA_S " + 0x10\n"
	"mov (%ebx), %ecx\n"
	ASM_UCALL(UCALL_SYNC)
	"hlt\n");

FIXTURE(mode32) {
	struct vm *vm;
	struct vcpu *vcpu;
};

FIXTURE_VARIANT(mode32) {
	enum cpu_mode mode;
	uint64_t cr0, cr4;	/* bits that must be set */
	uint64_t virt;		/* where EBX points */
	uint64_t phys;		/* where that lands */
};

/* No paging: the virtual address is the physical one. */
FIXTURE_VARIANT_ADD(mode32, prot32) {
	.mode = MODE_PROT32,
	.cr0 = CR0_PE,
	.virt = 0x30000,
	.phys = 0x30000,
};

/* 32-bit paging: a 4 KiB page at 0x30000 remapped to 0x31000. */
FIXTURE_VARIANT_ADD(mode32, paging32) {
	.mode = MODE_PAGING32,
	.cr0 = CR0_PE | CR0_PG,
	.cr4 = CR4_PSE,
	.virt = 0x30000,
	.phys = 0x31000,
};

/* PAE: the 2 MiB page at 1 GiB remapped to 24 MiB. */
FIXTURE_VARIANT_ADD(mode32, pae) {
	.mode = MODE_PAE,
	.cr0 = CR0_PE | CR0_PG,
	.cr4 = CR4_PAE,
	.virt = 0x40001230,
	.phys = 0x1801230,
};

FIXTURE_SETUP(mode32)
{
	self->vm = vm_create();
	self->vcpu = vm_vcpu_add(self->vm, 0);
}

FIXTURE_TEARDOWN(mode32)
{
	vm_free(self->vm);
}

/* Point the page tables' translation of @virt at @phys. */
static void remap(struct vm *vm, enum cpu_mode mode, uint64_t virt, uint64_t phys)
{
	if (mode == MODE_PAGING32) {
		uint32_t *pt = gpa2hva(vm, PT32_GPA);

		pt[virt >> 12] = (phys & ~0xfffUL) | 3;
	} else if (mode == MODE_PAE || mode == MODE_LONG) {
		/* The four PDs of 2 MiB pages are shared by PAE and long mode. */
		uint64_t *pd = gpa2hva(vm, PD_GPA);

		pd[virt >> 21] = (phys & ~0x1fffffUL) | 0x83;
	}
}

TEST_F(mode32, run)
{
	struct kvm_sregs sregs;
	struct ucall uc;
	struct kvm_regs regs;

	remap(self->vm, variant->mode, variant->virt, variant->phys);
	vcpu_load_snippet(self->vcpu, variant->mode, guest32);
	vcpu_get_regs(self->vcpu, &regs);
	regs.rbx = variant->virt;
	vcpu_set_regs(self->vcpu, &regs);

	vcpu_run_expect(self->vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(0, uc.args[0]);
	EXPECT_EQ(variant->cr0, uc.args[1] & (CR0_PE | CR0_PG));
	EXPECT_EQ(variant->cr4, uc.args[2] & (CR4_PSE | CR4_PAE));
	EXPECT_EQ(0x600df00d, uc.args[3]);
	EXPECT_EQ(0xdeadbeef, *(uint32_t *)gpa2hva(self->vm, DATA_GPA + 0x10));
	EXPECT_EQ(0x600df00d, *(uint32_t *)gpa2hva(self->vm, variant->phys));
	/* Remapped: the page the virtual address names is untouched. */
	if (variant->phys != variant->virt && variant->virt < LOW_MEM_SIZE)
		EXPECT_EQ(0, *(uint32_t *)gpa2hva(self->vm, variant->virt));

	vcpu_get_sregs(self->vcpu, &sregs);
	EXPECT_EQ(1, sregs.cs.db);
	EXPECT_EQ(0, sregs.efer & EFER_LMA);
	vcpu_run(self->vcpu);
	vcpu_assert_exit(self->vcpu, KVM_EXIT_HLT);
}

/*
 * 64-bit raw code: a 64-bit "inc" carries into bit 32, EFER is read with
 * RDMSR, and a store through the remapped 2 MiB page at 1 GiB lands at
 * 24 MiB.  Reports EDI = 0x100000000, ESI = CR0, EDX = EFER, ECX = value
 * read back.
 */
GUEST_ASM(guest64,
	".code64\n"
	"mov $0xffffffff, %edi\n"
	"inc %rdi\n"
	"mov %cr0, %rsi\n"
	"mov $0xc0000080, %ecx\n"
	"rdmsr\n"
	"mov %eax, %r8d\n"
	"mov $0x40001238, %rbx\n"
	"movabs $0x1122334455667788, %rax\n"
	"mov %rax, (%rbx)\n"
	"mov (%rbx), %rcx\n"
	"mov %r8, %rdx\n"
	ASM_UCALL(UCALL_SYNC)
	"hlt\n");

TEST(long_mode)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	struct kvm_sregs sregs;
	struct ucall uc;

	remap(vm, MODE_LONG, 0x40000000, 0x1800000);
	vcpu_load_snippet(vcpu, MODE_LONG, guest64);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(0x100000000ULL, uc.args[0]);
	EXPECT_EQ(CR0_PE | CR0_PG, uc.args[1] & (CR0_PE | CR0_PG));
	EXPECT_EQ(EFER_LME | EFER_LMA, uc.args[2] & (EFER_LME | EFER_LMA));
	EXPECT_EQ(0x1122334455667788ULL, uc.args[3]);
	EXPECT_EQ(0x1122334455667788ULL, *(uint64_t *)gpa2hva(vm, 0x1801238));

	vcpu_get_sregs(vcpu, &sregs);
	EXPECT_EQ(1, sregs.cs.l);
	EXPECT_EQ(EFER_LME | EFER_LMA, sregs.efer & (EFER_LME | EFER_LMA));
	vcpu_run(vcpu);
	vcpu_assert_exit(vcpu, KVM_EXIT_HLT);
	vm_free(vm);
}

/*
 * C in the guest: arguments, calls, loops, globals (the guest's own
 * copy), the stack and SSE-using compiler output all work.
 */
static uint64_t host_set_before_create = 1;
static uint64_t host_synced_later = 1;
static uint64_t guest_counter;

static uint64_t __attribute__((noinline)) fib(uint64_t n)
{
	return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

static void guest_c(uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
	volatile double x = 1.5;
	int i;

	GUEST_ASSERT_EQ(a, 1);
	GUEST_ASSERT_EQ(b, 2);
	GUEST_ASSERT_EQ(c, 3);
	GUEST_ASSERT_EQ(d, 0xffffffff00000004ULL);
	for (i = 0; i < 10; i++)
		guest_counter++;
	x *= 4;
	GUEST_SYNC(fib(15), guest_counter);
	GUEST_SYNC(host_set_before_create, host_synced_later);
	GUEST_SYNC((uint64_t)(x * 10), 0);
	/* Returning is GUEST_DONE(). */
}

TEST(long_mode_c_guest)
{
	struct vm *vm;
	struct vcpu *vcpu;
	struct ucall uc;

	host_set_before_create = 0x1234;
	vm = vm_create();
	vcpu = vm_vcpu_add(vm, 0);
	host_synced_later = 0x5678;
	sync_global_to_guest(vm, host_synced_later);

	vcpu_start_guest(vcpu, guest_c, 4, 1UL, 2UL, 3UL, 0xffffffff00000004ULL);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(610, uc.args[0]);
	EXPECT_EQ(10, uc.args[1]);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(0x1234, uc.args[0]);
	EXPECT_EQ(0x5678, uc.args[1]);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(60, uc.args[0]);
	vcpu_run_expect(vcpu, UCALL_DONE, &uc);

	/* The guest changed its copy of the global, not the host's. */
	EXPECT_EQ(0, guest_counter);
	sync_global_from_guest(vm, guest_counter);
	EXPECT_EQ(10, guest_counter);
	vm_free(vm);
}

/*
 * A boot loader: starts in real mode at CODE_GPA, loads its own GDT,
 * enters 32-bit protected mode, enables PAE, loads CR3 with the standard
 * 4-level tables, sets EFER.LME, enables paging and jumps to 64-bit code.
 * It reports once in each mode (EDI = 16, 32, then a 64-bit value).
 */
GUEST_ASM(boot_guest,
	".code16\n"
	"cli\n"
	"mov $16, %edi\n"
	ASM_UCALL(UCALL_SYNC)
	"lgdtl " SNIP_OFF(boot_guest, boot_gdtr) "\n"
	"mov %cr0, %eax\n"
	"or $1, %eax\n"
	"mov %eax, %cr0\n"
	"ljmpl $0x08, $" SNIP(boot_guest, boot_pm32) "\n"
	".code32\n"
	"boot_pm32:\n"
	"mov $0x10, %ax\n"
	"mov %ax, %ds\n"
	"mov %ax, %es\n"
	"mov %ax, %ss\n"
	"mov $0x9f000, %esp\n"
	"mov $32, %edi\n"
	ASM_UCALL(UCALL_SYNC)
	"mov %cr4, %eax\n"
	"or $0x20, %eax\n"		/* PAE */
	"mov %eax, %cr4\n"
	"mov $" PML4_GPA_S ", %eax\n"
	"mov %eax, %cr3\n"
	"mov $0xc0000080, %ecx\n"
	"rdmsr\n"
	"or $0x100, %eax\n"		/* EFER.LME */
	"wrmsr\n"
	"mov %cr0, %eax\n"
	"or $0x80000000, %eax\n"	/* PG: now in compatibility mode */
	"mov %eax, %cr0\n"
	"ljmp $0x18, $" SNIP(boot_guest, boot_lm64) "\n"
	".code64\n"
	"boot_lm64:\n"
	"movabs $0x123456789abcdef0, %rdi\n"
	ASM_UCALL(UCALL_SYNC)
	"hlt\n"
	".balign 8\n"
	"boot_gdt:\n"
	".quad 0\n"
	".quad 0x00cf9b000000ffff\n"	/* 0x08: 32-bit code, flat */
	".quad 0x00cf93000000ffff\n"	/* 0x10: data, flat */
	".quad 0x00af9b000000ffff\n"	/* 0x18: 64-bit code */
	"boot_gdtr:\n"
	".word 31\n"
	".long " SNIP(boot_guest, boot_gdt) "\n");

/* CPL 3 through the library's user tables, and back. */
static uint64_t user_fn(uint64_t arg)
{
	uint16_t cs, ss;
	uint64_t rflags;

	asm volatile("mov %%cs, %0; mov %%ss, %1; pushfq; pop %2"
		     : "=r"(cs), "=r"(ss), "=r"(rflags));
	/* A ucall from CPL 3: IOPL 3 lets it through. */
	GUEST_SYNC(cs, ss);
	GUEST_SYNC(rflags & 0x3000, 0);
	return arg + 1;
}

static void guest_user(void)
{
	uint16_t cs;

	GUEST_ASSERT_EQ(guest_run_user(user_fn, 41), 42);
	asm volatile("mov %%cs, %0" : "=r"(cs));
	GUEST_ASSERT_EQ(cs, GDT_CODE64);
	GUEST_ASSERT_EQ(guest_run_user(user_fn, 1), 2);
}

TEST(long_mode_cpl3_round_trip)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	struct ucall uc;
	int i;

	vcpu_start_guest(vcpu, guest_user, 0);
	vcpu_set_cr3(vcpu, vm_user_tables(vm));
	for (i = 0; i < 2; i++) {
		vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
		EXPECT_EQ(GDT_UCODE64 | 3, uc.args[0]);
		EXPECT_EQ(GDT_UDATA | 3, uc.args[1]);
		vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
		EXPECT_EQ(0x3000, uc.args[0]);
	}
	vcpu_run_expect(vcpu, UCALL_DONE, &uc);
	vm_free(vm);
}

TEST(boot_real_to_long)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	struct kvm_sregs sregs;
	struct ucall uc;

	vcpu_load_snippet(vcpu, MODE_REAL, boot_guest);

	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(16, uc.args[0] & 0xffffffff);
	vcpu_get_sregs(vcpu, &sregs);
	EXPECT_EQ(0, sregs.cr0 & CR0_PE);

	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(32, uc.args[0] & 0xffffffff);
	vcpu_get_sregs(vcpu, &sregs);
	EXPECT_EQ(CR0_PE, sregs.cr0 & (CR0_PE | CR0_PG));
	EXPECT_EQ(0x08, sregs.cs.selector);
	EXPECT_EQ(0, sregs.cs.base);
	EXPECT_EQ(1, sregs.cs.db);
	EXPECT_EQ(0x10, sregs.ss.selector);
	EXPECT_EQ(0, sregs.efer & (EFER_LME | EFER_LMA));

	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(0x123456789abcdef0ULL, uc.args[0]);
	vcpu_get_sregs(vcpu, &sregs);
	EXPECT_EQ(CR0_PE | CR0_PG, sregs.cr0 & (CR0_PE | CR0_PG));
	EXPECT_EQ(CR4_PAE, sregs.cr4 & CR4_PAE);
	EXPECT_EQ(PML4_GPA, sregs.cr3);
	EXPECT_EQ(EFER_LME | EFER_LMA, sregs.efer & (EFER_LME | EFER_LMA));
	EXPECT_EQ(0x18, sregs.cs.selector);
	EXPECT_EQ(1, sregs.cs.l);

	vcpu_run(vcpu);
	vcpu_assert_exit(vcpu, KVM_EXIT_HLT);
	vm_free(vm);
}

TEST_HARNESS_MAIN
