// SPDX-License-Identifier: GPL-2.0
/*
 * Instructions the hypervisor completes for the guest (CPUID, RDMSR,
 * WRMSR, INVD, VMMCALL, HLT) continue right after themselves, also with
 * redundant prefixes in front (on CPUs without NRIP save the hypervisor
 * must find their length itself); the hypercall instruction of the CPU
 * (VMMCALL on AMD, VMCALL on Intel) answers -KVM_ENOSYS (-1000) for an
 * unknown hypercall.
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
