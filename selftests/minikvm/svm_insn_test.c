// SPDX-License-Identifier: GPL-2.0
/*
 * A guest without SVM in its CPUID cannot use the SVM instructions:
 * VMRUN, VMLOAD, VMSAVE, SKINIT, INVLPGA and RDPRU raise #UD in the guest
 * (never reach the host's SVM), and EFER.SVME cannot be set (#GP).
 *
 * The library gives every vCPU the supported CPUID minus SVM, so this
 * holds on KVM with nested=1 too (which would otherwise run VMRUN).
 * VMMCALL is not here: on KVM it is the hypercall instruction.
 */
#define _GNU_SOURCE
#include <stdio.h>

#include "kselftest_harness.h"
#include "lib/ucall.h"
#include "lib/x86.h"

#define NO_VECTOR 0xff

static volatile uint64_t fault_vector, fault_rip;

/* Every instruction tried here is 3 bytes long. */
static void skip_handler(struct ex_regs *regs)
{
	fault_vector = regs->vector;
	fault_rip = regs->rip;
	regs->rip += 3;
}

/*
 * Run one instruction with RAX pointing at a scratch page (VMRUN, VMLOAD
 * and VMSAVE take a VMCB address there) and report: its index, the
 * vector it raised (NO_VECTOR if none), where, and its own address.
 */
#define TRY(idx, insn) do {						\
	uint64_t __rip, __rax = scratch, __rcx = 0;			\
	fault_vector = NO_VECTOR;					\
	fault_rip = 0;							\
	asm volatile("lea 1f(%%rip), %0\n\t"				\
		     "1: " insn "\n\t"					\
		     : "=&r"(__rip), "+a"(__rax), "+c"(__rcx)		\
		     : : "memory", "rdx");				\
	GUEST_SYNC4(idx, fault_vector, fault_rip, __rip);		\
} while (0)

static const char *const insn_name[] = {
	"VMRUN", "VMLOAD", "VMSAVE", "SKINIT", "INVLPGA", "RDPRU", "CLGI", "STGI",
};
#define NR_ALWAYS_UD 6	/* CLGI and STGI: see the test */

static void guest_svm_insns(uint64_t scratch)
{
	guest_set_handler(UD_VECTOR, skip_handler);
	guest_set_handler(GP_VECTOR, skip_handler);

	TRY(0, "vmrun");
	TRY(1, "vmload");
	TRY(2, "vmsave");
	TRY(3, "skinit");
	TRY(4, "invlpga");
	TRY(5, "rdpru");
	TRY(6, "clgi");
	TRY(7, "stgi");
}

TEST(svm_instructions_ud)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	uint64_t scratch = vm_alloc_pages(vm, 1);
	struct ucall uc;
	unsigned int i;

	vcpu_start_guest(vcpu, guest_svm_insns, 1, scratch);
	for (i = 0; i < ARRAY_SIZE(insn_name); i++) {
		vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
		ASSERT_EQ(i, uc.args[0]);
		if (i >= NR_ALWAYS_UD && mkvm_is_kvm() && uc.args[1] == NO_VECTOR) {
			/*
			 * KVM with virtual GIF lets the guest run CLGI/STGI on
			 * its virtual GIF, SVM in CPUID or not; minikvm
			 * intercepts them (Documentation/api.rst).
			 */
			TH_LOG("%s: no #UD on KVM (vGIF)", insn_name[i]);
			continue;
		}
		EXPECT_EQ(UD_VECTOR, uc.args[1]) TH_LOG("%s", insn_name[i]);
		EXPECT_EQ(uc.args[3], uc.args[2]) TH_LOG("%s: fault at the wrong place", insn_name[i]);
	}
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	vm_free(vm);
}

/* EFER.SVME: #GP for the guest, and VMRUN still #UD after. */
static void guest_svme(uint64_t scratch)
{
	uint64_t efer;

	guest_set_handler(UD_VECTOR, skip_handler);
	guest_set_handler(GP_VECTOR, skip_handler);
	efer = guest_rdmsr(MSR_EFER);
	fault_vector = NO_VECTOR;
	/* WRMSR is 2 bytes; pad it to the handler's 3 with a NOP. */
	asm volatile("wrmsr\n\tnop" : : "c"(MSR_EFER), "a"((uint32_t)(efer | EFER_SVME)),
		     "d"((uint32_t)(efer >> 32)) : "memory");
	GUEST_ASSERT_EQ(fault_vector, GP_VECTOR);
	GUEST_ASSERT_EQ(guest_rdmsr(MSR_EFER) & EFER_SVME, 0);
	TRY(0, "vmrun");
}

TEST(efer_svme_gp)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	struct kvm_sregs sregs;
	struct ucall uc;

	vcpu_start_guest(vcpu, guest_svme, 1, vm_alloc_pages(vm, 1));
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(UD_VECTOR, uc.args[1]);
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	/* The host sees EFER without SVME too. */
	vcpu_get_sregs(vcpu, &sregs);
	EXPECT_EQ(0, sregs.efer & EFER_SVME);
	vm_free(vm);
}

TEST_HARNESS_MAIN
