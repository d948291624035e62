// SPDX-License-Identifier: GPL-2.0
/*
 * Instructions the hypervisor completes for the guest (CPUID, RDMSR,
 * WRMSR, INVD, VMMCALL, HLT) continue right after themselves, also with
 * redundant prefixes in front (on CPUs without NRIP save the hypervisor
 * must find their length itself), and so do the MOV CR/DR, CLTS and
 * LMSW it emulates, in every register and prefix form; the hypercall
 * instruction of the CPU (VMMCALL on AMD, VMCALL on Intel) answers
 * -KVM_ENOSYS (-1000) for an unknown hypercall.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <stdio.h>

#include "kselftest_harness.h"
#include "lib/ucall.h"
#include "lib/x86.h"

#define KVM_ENOSYS_RET	((uint64_t)-1000)
#define MARK		0x5a5a1234

/*
 * Run @insn with RAX/RCX/RDX set, then a MOV that must execute: a wrong
 * length would land inside the instruction or skip the MOV.
 */
#define RUN(insn, rax, rcx, rdx) ({					\
	uint64_t __a = (rax), __c = (rcx), __d = (rdx), __m = 0;	\
	asm volatile(insn "\n\tmov $" STR(MARK) ", %%esi"		\
		     : "+a"(__a), "+c"(__c), "+d"(__d), "+S"(__m)	\
		     : : "rbx", "memory");				\
	GUEST_ASSERT_EQ(__m, MARK);					\
	__a;								\
})

static void guest_prefixed(void)
{
	uint64_t efer = guest_rdmsr(MSR_EFER), lo;

	RUN("cpuid", 0, 0, 0);
	RUN(".byte 0x66\n\tcpuid", 0, 0, 0);
	RUN(".byte 0x2e, 0x3e\n\tcpuid", 1, 0, 0);
	lo = RUN(".byte 0x66\n\trdmsr", 0, MSR_EFER, 0);
	GUEST_ASSERT_EQ(lo, (uint32_t)efer);
	RUN(".byte 0x66\n\twrmsr", (uint32_t)efer, MSR_EFER, efer >> 32);
	GUEST_ASSERT_EQ(guest_rdmsr(MSR_EFER), efer);
	RUN("invd", 0, 0, 0);
	RUN(".byte 0x3e\n\tinvd", 0, 0, 0);
	GUEST_SYNC(0, 0);
	/* HLT exits to the host, which runs the guest on. */
	RUN(".byte 0x2e\n\thlt", 0, 0, 0);
	RUN("hlt", 0, 0, 0);
	GUEST_SYNC(1, 0);
}

TEST(redundant_prefixes)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	struct ucall uc;

	vcpu_start_guest(vcpu, guest_prefixed, 0);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(0, uc.args[0]);
	vcpu_run(vcpu);
	vcpu_assert_exit(vcpu, KVM_EXIT_HLT);
	vcpu_run(vcpu);
	vcpu_assert_exit(vcpu, KVM_EXIT_HLT);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(1, uc.args[0]);
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	vm_free(vm);
}

/* RUN() for instructions on R8-R11, which it leaves to the insn. */
#define RUNX(insn, rax) ({						\
	uint64_t __a = (rax), __m = 0;					\
	asm volatile(insn "\n\tmov $" STR(MARK) ", %%esi"		\
		     : "+a"(__a), "+S"(__m)				\
		     : : "r8", "r9", "r10", "r11", "rbx", "memory");	\
	GUEST_ASSERT_EQ(__m, MARK);					\
	__a;								\
})

/*
 * MOV to/from CR and DR, CLTS and LMSW in the forms a decoder can get
 * wrong: registers named with REX.R/REX.B, redundant prefixes, and a
 * ModRM.mod other than 3, which the CPU still reads as a register.  A
 * wrong length, register or operand shows in the values or the MARK.
 */
static void guest_sysreg(void)
{
	uint64_t cr0, v;

	asm volatile("mov %%cr0, %0" : "=r"(cr0));
	cr0 &= ~CR0_TS;
	asm volatile("mov %0, %%cr0" : : "r"(cr0) : "memory");

	/* mov %rax,%cr0 with mod 0; behind cs ds; from %r9 (REX.B) */
	RUN(".byte 0x0f, 0x22, 0x00", cr0, 0, 0);
	RUN(".byte 0x2e, 0x3e\n\tmov %%rax, %%cr0", cr0, 0, 0);
	RUNX("mov %%rax, %%r9\n\tmov %%r9, %%cr0", cr0);
	RUNX("mov %%cr4, %%r9\n\t.byte 0x66\n\tmov %%r9, %%cr4", 0);

	/* lmsw %r8w sets TS (PE stays), data16 clts clears it */
	v = RUNX("mov %%rax, %%r8\n\t.byte 0x2e\n\tlmsw %%r8w\n\t"
		 "mov %%cr0, %%rax\n\t.byte 0x66\n\tclts",
		 (cr0 & 0xfffe) | CR0_TS);
	GUEST_ASSERT_EQ(v, cr0 | CR0_TS);
	asm volatile("mov %%cr0, %0" : "=r"(v));
	GUEST_ASSERT_EQ(v, cr0);
	RUN(".byte 0x3e\n\tlmsw %%ax", cr0 & 0xffff, 0, 0);
	asm volatile("mov %%cr0, %0" : "=r"(v));
	GUEST_ASSERT_EQ(v, cr0);

	/* DR1 through %r10 and %r11, DR0 through mod 0 */
	v = RUNX("mov %%rax, %%r10\n\tmov %%r10, %%db1\n\t"
		 ".byte 0x3e\n\tmov %%db1, %%r11\n\tmov %%r11, %%rax",
		 0x12345678);
	GUEST_ASSERT_EQ(v, 0x12345678);
	v = RUN(".byte 0x0f, 0x23, 0x00\n\t.byte 0x2e\n\tmov %%db0, %%rax",
		0xabcd, 0, 0);
	GUEST_ASSERT_EQ(v, 0xabcd);
	RUN("mov %%rax, %%db0\n\tmov %%rax, %%db1", 0, 0, 0);
	GUEST_SYNC(2, 0);
}

TEST(sysreg_forms)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	struct ucall uc;

	vcpu_start_guest(vcpu, guest_sysreg, 0);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(2, uc.args[0]);
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	vm_free(vm);
}

static void guest_hypercall(uint64_t intel)
{
	if (intel) {
		/* VMX always reports the instruction's length: no prefix case. */
		GUEST_SYNC(RUN("vmcall", 0xdead, 0, 0), 0);
		GUEST_SYNC(RUN("vmcall", 0xbeef, 0, 0), 0);
	} else {
		GUEST_SYNC(RUN("vmmcall", 0xdead, 0, 0), 0);
		GUEST_SYNC(RUN(".byte 0x66\n\tvmmcall", 0xbeef, 0, 0), 0);
	}
}

static bool host_is_intel(void)
{
	unsigned int a, b, c, d;

	return __get_cpuid(0, &a, &b, &c, &d) && b == 0x756e6547; /* "Genu" */
}

TEST(hypercall_unknown)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	struct ucall uc;

	vcpu_start_guest(vcpu, guest_hypercall, 1, (uint64_t)host_is_intel());
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(KVM_ENOSYS_RET, uc.args[0]);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(KVM_ENOSYS_RET, uc.args[0]);
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	vm_free(vm);
}

TEST_HARNESS_MAIN
