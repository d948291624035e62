// SPDX-License-Identifier: GPL-2.0
/*
 * TSC_AUX, which RDTSCP and RDPID read: the guest only ever sees its own
 * (set by the host with KVM_SET_MSRS, 0 at reset), never the host's CPU
 * and node number, and the host has its own back afterwards.  Without
 * RDTSCP in the guest's CPUID, RDTSCP raises #UD or reads the guest's
 * TSC_AUX: minikvm (and KVM before 6.6) intercept it for the #UD, but
 * QEMU's SVM model ignores that intercept, and later KVM lets the CPU run
 * it.  The guest's RDMSR/WRMSR of TSC_AUX need RDTSCP or RDPID in its
 * CPUID.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "lib/ucall.h"
#include "lib/x86.h"

#define MSR_TSC_AUX	0xc0000103
#define GUEST_AUX	0x5a5
#define NO_VECTOR	0xff
#define RDTSCP_EDX	(1U << 27)	/* CPUID 0x80000001 EDX */

static volatile uint64_t fault_vector;

/* RDTSCP is 3 bytes, RDPID (f3 0f c7 f8) 4, RDMSR/WRMSR 2: in RDI. */
static void skip_handler(struct ex_regs *regs)
{
	fault_vector = regs->vector;
	regs->rip += regs->rdi;
}

static void guest_read_aux(void)
{
	uint64_t a, c, d;

	guest_set_handler(UD_VECTOR, skip_handler);
	fault_vector = NO_VECTOR;
	c = ~0ULL;
	asm volatile("rdtscp" : "=a"(a), "+c"(c), "=d"(d) : "D"(3UL) : "memory");
	GUEST_SYNC(fault_vector, c);
	fault_vector = NO_VECTOR;
	a = ~0ULL;
	asm volatile(".byte 0xf3, 0x0f, 0xc7, 0xf8"	/* rdpid %rax */
		     : "+a"(a) : "D"(4UL) : "memory");
	GUEST_SYNC(fault_vector, a);
}

static bool host_has_rdpid(void)
{
	unsigned int a, b, c, d;

	return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (c & (1U << 22));
}

/* The last online CPU: its TSC_AUX (its number) is not 0. */
static int pin_to_last_cpu(void)
{
	int cpu = sysconf(_SC_NPROCESSORS_ONLN) - 1;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (cpu < 1 || sched_setaffinity(0, sizeof(set), &set))
		return -1;
	return cpu;
}

TEST(guest_sees_its_own_tsc_aux)
{
	struct kvm_cpuid2 *cpuid;
	struct vm *vm;
	struct vcpu *vcpu;
	struct ucall uc;
	int cpu = pin_to_last_cpu();

	if (cpu < 0)
		SKIP(return, "needs a second CPU (CPU 0's TSC_AUX is 0 like the guest's)");
	ASSERT_EQ(cpu, sched_getcpu());

	/* Without RDTSCP in its CPUID: #UD, or the guest's TSC_AUX. */
	vm = vm_create();
	vcpu = vm_vcpu_add(vm, 0);
	vcpu_set_msr(vcpu, MSR_TSC_AUX, GUEST_AUX);
	vcpu_start_guest(vcpu, guest_read_aux, 0);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	if (uc.args[0] != UD_VECTOR) {
		EXPECT_EQ(NO_VECTOR, uc.args[0]);
		EXPECT_EQ(GUEST_AUX, uc.args[1]) TH_LOG("RDTSCP: host CPU %d", cpu);
	}
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	if (host_has_rdpid()) {
		EXPECT_EQ(NO_VECTOR, uc.args[0]);
		EXPECT_EQ(GUEST_AUX, uc.args[1]) TH_LOG("RDPID: host CPU %d", cpu);
	} else {
		EXPECT_EQ(UD_VECTOR, uc.args[0]);
	}
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	EXPECT_EQ(cpu, sched_getcpu()) TH_LOG("the host's TSC_AUX was not restored");
	vm_free(vm);

	/* With it: the guest's TSC_AUX in ECX. */
	vm = vm_create();
	vcpu = vm_vcpu_add(vm, 0);
	cpuid = cpuid_dup(default_cpuid());
	cpuid_find(cpuid, 0x80000001, 0)->edx |= RDTSCP_EDX;
	vcpu_set_cpuid(vcpu, cpuid);
	free(cpuid);
	vcpu_set_msr(vcpu, MSR_TSC_AUX, GUEST_AUX);
	vcpu_start_guest(vcpu, guest_read_aux, 0);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(NO_VECTOR, uc.args[0]);
	EXPECT_EQ(GUEST_AUX, uc.args[1]);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	EXPECT_EQ(cpu, sched_getcpu()) TH_LOG("the host's TSC_AUX was not restored");
	vm_free(vm);
}

/* The guest's RDMSR/WRMSR of TSC_AUX: #GP without RDTSCP/RDPID in CPUID. */
static void guest_msr_aux(uint64_t has)
{
	uint32_t lo, hi;

	guest_set_handler(GP_VECTOR, skip_handler);
	fault_vector = NO_VECTOR;
	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(MSR_TSC_AUX), "D"(2UL));
	GUEST_ASSERT_EQ(fault_vector, has ? NO_VECTOR : GP_VECTOR);
	fault_vector = NO_VECTOR;
	asm volatile("wrmsr" : : "c"(MSR_TSC_AUX), "a"(0x77), "d"(0), "D"(2UL)
		     : "memory");
	GUEST_ASSERT_EQ(fault_vector, has ? NO_VECTOR : GP_VECTOR);
	if (has) {
		asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(MSR_TSC_AUX));
		GUEST_ASSERT_EQ(lo, 0x77);
	}
}

TEST(guest_msr_needs_cpuid)
{
	struct kvm_cpuid2 *cpuid;
	struct vm *vm = vm_create();
	struct vcpu *none = vm_vcpu_add(vm, 0), *with = vm_vcpu_add(vm, 1);
	struct kvm_cpuid_entry2 *e;

	/* Neither RDTSCP nor RDPID (KVM's supported CPUID has RDPID). */
	cpuid = cpuid_dup(default_cpuid());
	cpuid_find(cpuid, 0x80000001, 0)->edx &= ~RDTSCP_EDX;
	e = cpuid_find(cpuid, 7, 0);
	if (e)
		e->ecx &= ~(1U << 22);
	vcpu_set_cpuid(none, cpuid);
	free(cpuid);
	vcpu_start_guest(none, guest_msr_aux, 1, 0UL);
	vcpu_run_expect(none, UCALL_DONE, NULL);

	cpuid = cpuid_dup(default_cpuid());
	cpuid_find(cpuid, 0x80000001, 0)->edx |= RDTSCP_EDX;
	vcpu_set_cpuid(with, cpuid);
	free(cpuid);
	vcpu_start_guest(with, guest_msr_aux, 1, 1UL);
	vcpu_run_expect(with, UCALL_DONE, NULL);
	EXPECT_EQ(0x77, vcpu_get_msr(with, MSR_TSC_AUX));
	vm_free(vm);
}

TEST_HARNESS_MAIN
