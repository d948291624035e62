// SPDX-License-Identifier: GPL-2.0
/*
 * Instructions that would reach the host through the CPU if the
 * hypervisor let them: RDPMC (the host's performance counters) and
 * WBINVD/WBNOINVD (a flush of every cache of the socket).
 *
 * RDPMC answers as KVM does without a virtual PMU programmed: on AMD the
 * four legacy counters (six with PERFCTR_CORE in the vCPU's CPUID) exist
 * and read 0, on Intel only the counters CPUID leaf 0xA announces do; any
 * other index, and CPL > 0 without CR4.PCE, is #GP.  Never a value the
 * host's counters hold.  (Newer KVM on a host without a PMU has no
 * counters at all: see kvm_emulates_counters().)  WBINVD and WBNOINVD are skipped: the guest
 * keeps running, and a loop of them costs only exits.
 */
#define _GNU_SOURCE
#include <stdio.h>

#include "kselftest_harness.h"
#include "lib/ucall.h"
#include "lib/x86.h"

#define NO_VECTOR	0xff
#define CR4_PCE		(1UL << 8)

static volatile uint64_t fault_vector, fault_error;

/* RDPMC and WBINVD are 2 bytes long: the handler steps over them. */
static void skip2_handler(struct ex_regs *regs)
{
	fault_vector = regs->vector;
	fault_error = regs->error_code;
	regs->rip += 2;
}

/* The ECX values tried: counters, beyond them, and the high flag bits. */
static const uint32_t pmc_idx[] = {
	0, 1, 2, 3, 4, 5, 6, 31, 32, 0x100, 0x80000000, 0x40000000, 0xc0000001,
};
#define NR_PMC_IDX ARRAY_SIZE(pmc_idx)

/* RDPMC with EAX/EDX preset to a pattern; SYNC(ecx, vector, eax, edx). */
static uint64_t guest_rdpmc(uint64_t ecx)
{
	uint32_t eax = 0x5a5a5a5a, edx = 0xa5a5a5a5;

	fault_vector = NO_VECTOR;
	asm volatile("rdpmc" : "+a"(eax), "+d"(edx) : "c"((uint32_t)ecx));
	GUEST_SYNC4(ecx, fault_vector, eax, edx);
	return 0;
}

static void guest_rdpmc_all(uint64_t user, uint64_t pce)
{
	unsigned int i;
	uint64_t cr4;

	guest_set_handler(GP_VECTOR, skip2_handler);
	guest_set_handler(UD_VECTOR, skip2_handler);
	asm volatile("mov %%cr4, %0" : "=r"(cr4));
	cr4 = pce ? cr4 | CR4_PCE : cr4 & ~CR4_PCE;
	asm volatile("mov %0, %%cr4" : : "r"(cr4));
	for (i = 0; i < NR_PMC_IDX; i++) {
		if (user)
			guest_run_user(guest_rdpmc, pmc_idx[i]);
		else
			guest_rdpmc(pmc_idx[i]);
	}
}

static void guest_rdpmc0(void)
{
	guest_set_handler(GP_VECTOR, skip2_handler);
	guest_rdpmc(0);
}

/*
 * Whether KVM emulates counters for this VM at all: kvm_amd of 6.1 does
 * (its legacy counters read 0), and so does any kvm_amd on a host with a
 * PMU; later kvm_amd on a host without one (the rig's QEMU) gives the
 * VM no PMU, and every RDPMC is #GP.  Probed once with counter 0 at
 * CPL 0; every other answer must then follow the same model.  minikvm
 * always has the model below (api.rst, "RDPMC").
 */
static bool kvm_emulates_counters(void)
{
	static int probed = -1;
	struct vm *vm;
	struct vcpu *vcpu;
	struct ucall uc;

	if (probed >= 0)
		return probed;
	vm = vm_create();
	vcpu = vm_vcpu_add(vm, 0);
	vcpu_start_guest(vcpu, guest_rdpmc0, 0);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	probed = uc.args[1] == NO_VECTOR;
	vm_free(vm);
	return probed;
}

/* Whether the vCPU with @cpuid has the counter @ecx (as KVM sees it). */
static bool pmc_exists(struct kvm_cpuid2 *cpuid, uint32_t ecx)
{
	uint32_t idx = ecx & ~(3U << 30);
	struct kvm_cpuid_entry2 *e;
	uint32_t version;

	if (mkvm_is_kvm() && !kvm_emulates_counters())
		return false;
	if (host_is_amd()) {
		e = cpuid_find(cpuid, 0x80000001, 0);
		return idx < (e && (e->ecx & (1U << 23)) ? 6 : 4);
	}
	e = cpuid_find(cpuid, 0xa, 0);
	version = e ? e->eax & 0xff : 0;
	if (!version)
		return false;
	if (ecx & (1U << 30))
		return version > 1 && idx < (e->edx & 0x1f);
	return idx < ((e->eax >> 8) & 0xff);
}

FIXTURE(rdpmc) {
	struct vm *vm;
	struct vcpu *vcpu;
};

FIXTURE_VARIANT(rdpmc) {
	bool user;
	bool pce;
};

FIXTURE_VARIANT_ADD(rdpmc, cpl0) { .user = false, .pce = false };
FIXTURE_VARIANT_ADD(rdpmc, cpl0_pce) { .user = false, .pce = true };
FIXTURE_VARIANT_ADD(rdpmc, cpl3) { .user = true, .pce = false };
FIXTURE_VARIANT_ADD(rdpmc, cpl3_pce) { .user = true, .pce = true };

FIXTURE_SETUP(rdpmc)
{
	self->vm = vm_create();
	self->vcpu = vm_vcpu_add(self->vm, 0);
}

FIXTURE_TEARDOWN(rdpmc)
{
	vm_free(self->vm);
}

/*
 * Every index gives 0 in EAX and EDX or #GP(0), as its existence and
 * the privilege rule say; nothing else ever comes back.
 */
TEST_F(rdpmc, reads_zero_or_gp)
{
	struct kvm_cpuid2 *cpuid = default_cpuid();
	struct ucall uc;
	unsigned int i;

	vcpu_start_guest(self->vcpu, guest_rdpmc_all, 2, (uint64_t)variant->user,
			 (uint64_t)variant->pce);
	if (variant->user)
		vcpu_set_cr3(self->vcpu, vm_user_tables(self->vm));
	for (i = 0; i < NR_PMC_IDX; i++) {
		bool ok = pmc_exists(cpuid, pmc_idx[i]) &&
			  (!variant->user || variant->pce);

		vcpu_run_expect(self->vcpu, UCALL_SYNC, &uc);
		ASSERT_EQ(pmc_idx[i], uc.args[0]);
		if (ok) {
			EXPECT_EQ(NO_VECTOR, uc.args[1]) TH_LOG("ECX %#x", pmc_idx[i]);
			EXPECT_EQ(0, uc.args[2]) TH_LOG("ECX %#x: EAX", pmc_idx[i]);
			EXPECT_EQ(0, uc.args[3]) TH_LOG("ECX %#x: EDX", pmc_idx[i]);
		} else {
			EXPECT_EQ(GP_VECTOR, uc.args[1]) TH_LOG("ECX %#x", pmc_idx[i]);
			/* A faulting RDPMC leaves EAX and EDX alone. */
			EXPECT_EQ(0x5a5a5a5a, uc.args[2]) TH_LOG("ECX %#x", pmc_idx[i]);
			EXPECT_EQ(0xa5a5a5a5, uc.args[3]) TH_LOG("ECX %#x", pmc_idx[i]);
		}
	}
	vcpu_run_expect(self->vcpu, UCALL_DONE, NULL);
	free(cpuid);
}

/*
 * In real mode there is no privilege rule: counter 0 reads 0 where it
 * exists (AMD), else #GP, which the IVT handler below marks in BX.
 */
GUEST_ASM(rdpmc_real,
	".code16\n"
	"xor %ax, %ax\n"
	"mov %ax, %es\n"
	"movw $" SNIP_OFF(rdpmc_real, 1f) ", %es:0x34\n"	/* #GP vector */
	"mov %cs, %es:0x36\n"
	"xor %bx, %bx\n"
	"mov $0x5a5a, %ax\n"
	"mov $0xa5a5, %dx\n"
	"xor %ecx, %ecx\n"
	"rdpmc\n"
	"mov %eax, %esi\n"
	"mov %edx, %edi\n"
	ASM_UCALL(UCALL_DONE)
	"1: mov $0xdead, %bx\n"		/* #GP: step over RDPMC */
	"mov %sp, %bp\n"
	"addw $2, (%bp)\n"
	"iret\n");

TEST(rdpmc_real_mode)
{
	struct kvm_cpuid2 *cpuid = default_cpuid();
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	struct kvm_regs regs;
	struct ucall uc;

	vcpu_load_snippet(vcpu, MODE_REAL, rdpmc_real);
	vcpu_run(vcpu);
	ASSERT_EQ(UCALL_DONE, get_ucall(vcpu, &uc));
	vcpu_get_regs(vcpu, &regs);
	if (pmc_exists(cpuid, 0)) {
		EXPECT_EQ(0, regs.rbx);
		EXPECT_EQ(0, regs.rsi);
		EXPECT_EQ(0, regs.rdi);
	} else {
		EXPECT_EQ(0xdead, regs.rbx);
		EXPECT_EQ(0x5a5a, regs.rsi & 0xffff);
		EXPECT_EQ(0xa5a5, regs.rdi & 0xffff);
	}
	free(cpuid);
	vm_free(vm);
}

#define WBINVD_LOOPS	1000
#define WBNOINVD_LOOPS	100

/* WBINVD and WBNOINVD in a loop: the guest runs on and counts them. */
static void guest_wbinvd(void)
{
	uint64_t i, n = 0;

	guest_set_handler(GP_VECTOR, skip2_handler);
	fault_vector = NO_VECTOR;
	for (i = 0; i < WBINVD_LOOPS; i++) {
		asm volatile("wbinvd" : : : "memory");
		n++;
	}
	for (i = 0; i < WBNOINVD_LOOPS; i++) {
		/* WBNOINVD (F3 0F 09); WBINVD with an ignored prefix before it. */
		asm volatile(".byte 0xf3, 0x0f, 0x09" : : : "memory");
		n++;
	}
	GUEST_SYNC(n, fault_vector);
}

TEST(wbinvd_loop)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	struct ucall uc;

	vcpu_start_guest(vcpu, guest_wbinvd, 0);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(WBINVD_LOOPS + WBNOINVD_LOOPS, uc.args[0]);
	EXPECT_EQ(NO_VECTOR, uc.args[1]);
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	vm_free(vm);
}

/* From CPL 3, WBINVD is #GP: the CPU checks that before any intercept. */
static uint64_t user_wbinvd(uint64_t unused)
{
	fault_vector = NO_VECTOR;
	asm volatile("wbinvd" : : : "memory");
	return fault_vector;
}

static void guest_wbinvd_user(void)
{
	guest_set_handler(GP_VECTOR, skip2_handler);
	GUEST_SYNC(guest_run_user(user_wbinvd, 0), fault_error);
}

TEST(wbinvd_cpl3_gp)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	struct ucall uc;

	vcpu_start_guest(vcpu, guest_wbinvd_user, 0);
	vcpu_set_cr3(vcpu, vm_user_tables(vm));
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(GP_VECTOR, uc.args[0]);
	EXPECT_EQ(0, uc.args[1]);
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	vm_free(vm);
}

TEST_HARNESS_MAIN
