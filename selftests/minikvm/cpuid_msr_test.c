// SPDX-License-Identifier: GPL-2.0
/*
 * CPUID and MSRs: KVM_GET_SUPPORTED_CPUID, KVM_SET_CPUID2/KVM_GET_CPUID2
 * and the guest's CPUID answers coming from that table;
 * KVM_GET_MSR_INDEX_LIST, KVM_GET/SET_MSRS round trips through the guest,
 * and both stopping at the first MSR they cannot handle, returning how
 * many they did; the machine-check banks of KVM_X86_SETUP_MCE; the
 * kvmclock MSRs in their reset state; the guest's SYSCALL through its
 * own LSTAR across returns to userspace.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <asm/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "lib/ucall.h"
#include "lib/x86.h"

#define BAD_MSR 0xdeadbeef

static struct kvm_cpuid2 *cpuid_buf(unsigned int nent)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));

	c->nent = nent;
	return c;
}

TEST(supported_cpuid)
{
	struct kvm_cpuid2 *c = cpuid_buf(256);
	struct kvm_cpuid_entry2 *e;
	int fd = kvm_open();

	c->nent = 0;
	EXPECT_EQ(-E2BIG, __mkvm_ioctl(fd, KVM_GET_SUPPORTED_CPUID, (unsigned long)c));
	c->nent = 1;
	EXPECT_EQ(-E2BIG, __mkvm_ioctl(fd, KVM_GET_SUPPORTED_CPUID, (unsigned long)c));
	EXPECT_EQ(-EFAULT, __mkvm_ioctl(fd, KVM_GET_SUPPORTED_CPUID, 0));

	c->nent = 256;
	ASSERT_EQ(0, __mkvm_ioctl(fd, KVM_GET_SUPPORTED_CPUID, (unsigned long)c));
	EXPECT_GT(c->nent, 1);
	EXPECT_LE(c->nent, 256);
	/* The basic and extended ranges are there, with long mode. */
	e = cpuid_find(c, 0, 0);
	ASSERT_NE(NULL, e);
	EXPECT_GE(e->eax, 1);
	ASSERT_NE(NULL, cpuid_find(c, 1, 0));
	e = cpuid_find(c, 0x80000000, 0);
	ASSERT_NE(NULL, e);
	EXPECT_GE(e->eax, 0x80000001);
	e = cpuid_find(c, 0x80000001, 0);
	ASSERT_NE(NULL, e);
	EXPECT_TRUE(e->edx & CPUID_8000_0001_EDX_LM);
	/* The answer does not depend on the buffer size. */
	EXPECT_EQ(c->nent, kvm_supported_cpuid()->nent);
	EXPECT_EQ(0, memcmp(c->entries, kvm_supported_cpuid()->entries,
			    c->nent * sizeof(c->entries[0])));
	close(fd);
	free(c);
}

TEST(set_get_cpuid2)
{
	struct vm *vm = vm_create_bare();
	struct vcpu *vcpu = vm_vcpu_add_raw(vm, 0);
	struct kvm_cpuid2 *set = default_cpuid(), *got = cpuid_buf(256);
	unsigned int i;

	kvm_ioctl(vcpu->fd, KVM_SET_CPUID2, set);
	got->nent = set->nent - 1;
	EXPECT_EQ(-E2BIG, __mkvm_ioctl(vcpu->fd, KVM_GET_CPUID2, (unsigned long)got));
	got->nent = 256;
	ASSERT_EQ(0, __mkvm_ioctl(vcpu->fd, KVM_GET_CPUID2, (unsigned long)got));
	/*
	 * The entries come first in the buffer.  (KVM on 6.1 leaves nent as
	 * it was on success, later kernels set it to the count: either.)
	 */
	ASSERT_TRUE(got->nent == set->nent || got->nent == 256);
	got->nent = set->nent;
	for (i = 0; i < set->nent; i++) {
		struct kvm_cpuid_entry2 *s = &set->entries[i];
		struct kvm_cpuid_entry2 *g = cpuid_find(got, s->function, s->index);

		ASSERT_NE(NULL, g) TH_LOG("leaf %#x.%u missing", s->function, s->index);
		/*
		 * KVM keeps a few fields up to date with the vCPU's state:
		 * leaf 1 (OSXSAVE, APIC), leaf 7 ECX (OSPKE) and leaf 0xd
		 * EBX (XSAVE area size for the current XCR0).
		 */
		if (s->function == 1)
			continue;
		EXPECT_EQ(s->eax, g->eax) TH_LOG("leaf %#x.%u", s->function, s->index);
		if (s->function != 0xd)
			EXPECT_EQ(s->ebx, g->ebx) TH_LOG("leaf %#x.%u", s->function, s->index);
		if (s->function != 7)
			EXPECT_EQ(s->ecx, g->ecx) TH_LOG("leaf %#x.%u", s->function, s->index);
		EXPECT_EQ(s->edx, g->edx) TH_LOG("leaf %#x.%u", s->function, s->index);
	}
	EXPECT_EQ(-EFAULT, __mkvm_ioctl(vcpu->fd, KVM_SET_CPUID2, 0));
	free(set);
	free(got);
	vm_free(vm);
}

/* The guest's CPUID answers, four registers per SYNC. */
static void guest_cpuid_leaves(uint64_t nr, uint64_t leaves)
{
	const uint32_t *l = (const uint32_t *)leaves;
	uint64_t i;

	for (i = 0; i < nr; i++) {
		uint32_t a, b, c, d;

		guest_cpuid(l[2 * i], l[2 * i + 1], &a, &b, &c, &d);
		GUEST_SYNC4(a, b, c, d);
	}
}

static const uint32_t leaves[][2] = {
	{ 0, 0 }, { 0x80000000, 0 }, { 0x80000001, 0 },
	{ 0x80000002, 0 }, { 0x80000003, 0 }, { 0x80000004, 0 },
	{ 7, 0 },
};

TEST(guest_cpuid_from_table)
{
	static const char brand[49] = "minikvm selftest: this CPU is what the table says";
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	struct kvm_cpuid2 *c = default_cpuid();
	struct kvm_cpuid_entry2 *e;
	struct ucall uc;
	unsigned int i;

	/* Our own brand string in leaves 0x80000002-4. */
	e = cpuid_find(c, 0x80000000, 0);
	ASSERT_NE(NULL, e);
	if (e->eax < 0x80000004)
		SKIP(goto out, "no brand string leaves");
	for (i = 0; i < 3; i++) {
		e = cpuid_find(c, 0x80000002 + i, 0);
		ASSERT_NE(NULL, e);
		memcpy(&e->eax, brand + 16 * i, 4);
		memcpy(&e->ebx, brand + 16 * i + 4, 4);
		memcpy(&e->ecx, brand + 16 * i + 8, 4);
		memcpy(&e->edx, brand + 16 * i + 12, 4);
	}
	/* And one feature bit less than supported: no NX. */
	e = cpuid_find(c, 0x80000001, 0);
	ASSERT_NE(NULL, e);
	e->edx &= ~(1U << 20);
	vcpu_set_cpuid(vcpu, c);

	vcpu_start_guest(vcpu, guest_cpuid_leaves, 2, (uint64_t)ARRAY_SIZE(leaves),
			 (uint64_t)leaves);
	for (i = 0; i < ARRAY_SIZE(leaves); i++) {
		struct kvm_cpuid_entry2 *t = cpuid_find(c, leaves[i][0], leaves[i][1]);

		vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
		if (!t)
			continue;
		EXPECT_EQ(t->eax, uc.args[0]) TH_LOG("leaf %#x", leaves[i][0]);
		EXPECT_EQ(t->ebx, uc.args[1]) TH_LOG("leaf %#x", leaves[i][0]);
		/* Leaf 7 ECX has OSPKE, which follows CR4.PKE. */
		if (leaves[i][0] != 7)
			EXPECT_EQ(t->ecx, uc.args[2]) TH_LOG("leaf %#x", leaves[i][0]);
		EXPECT_EQ(t->edx, uc.args[3]) TH_LOG("leaf %#x", leaves[i][0]);
	}
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
out:
	free(c);
	vm_free(vm);
}

/*
 * CPUID.1:ECX.OSXSAVE (bit 27) follows the guest's own CR4.OSXSAVE, as on
 * hardware: clear, set by a MOV to CR4, clear again.
 */
static void guest_osxsave_mirror(void)
{
	uint32_t a, b, c, d;
	uint64_t cr4;

	asm volatile("mov %%cr4, %0" : "=r"(cr4));
	cr4 &= ~(1UL << 18);
	asm volatile("mov %0, %%cr4" : : "r"(cr4));
	guest_cpuid(1, 0, &a, &b, &c, &d);
	GUEST_SYNC(c >> 27 & 1, 0);
	asm volatile("mov %0, %%cr4" : : "r"(cr4 | (1UL << 18)));
	guest_cpuid(1, 0, &a, &b, &c, &d);
	GUEST_SYNC(c >> 27 & 1, 1);
	asm volatile("mov %0, %%cr4" : : "r"(cr4));
	guest_cpuid(1, 0, &a, &b, &c, &d);
	GUEST_SYNC(c >> 27 & 1, 0);
}

TEST(guest_cpuid_osxsave_follows_cr4)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	struct kvm_cpuid2 *c = default_cpuid();
	struct kvm_cpuid_entry2 *e = cpuid_find(c, 1, 0);
	struct ucall uc;
	int i;

	ASSERT_NE(NULL, e);
	if (!(e->ecx & (1U << 26)))
		SKIP(goto out, "no XSAVE offered");
	vcpu_set_cpuid(vcpu, c);
	vcpu_start_guest(vcpu, guest_osxsave_mirror, 0);
	for (i = 0; i < 3; i++) {
		vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
		EXPECT_EQ(i == 1, uc.args[0]) TH_LOG("CPUID %d", i);
	}
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
out:
	free(c);
	vm_free(vm);
}

/* The MSRs every 64-bit guest needs saved and restored. */
static const uint32_t syscall_msrs[] = {
	MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
	MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK, MSR_KERNEL_GS_BASE,
};

static uint64_t msr_value(uint32_t index, int round)
{
	switch (index) {
	case MSR_IA32_SYSENTER_CS:
		return 0x10 + 8 * round;
	case MSR_STAR:
		return 0x0023001000000000ULL + round;
	case MSR_SYSCALL_MASK:
		return 0x47700 + round;
	case MSR_IA32_SYSENTER_ESP:
	case MSR_IA32_SYSENTER_EIP:
		/* 32 bits: AMD CPUs keep only those (SYSENTER is 32-bit there). */
		return 0x81000000 + 0x1000 * round + (index & 0xff);
	default:	/* addresses: canonical */
		return 0xffffffff81000000ULL + 0x1000 * round + (index & 0xff);
	}
}

TEST(msr_index_list)
{
	struct kvm_msr_list *list = calloc(1, sizeof(*list) + 4096 * 4);
	int fd = kvm_open();
	unsigned int i, j, n;

	list->nmsrs = 0;
	EXPECT_EQ(-E2BIG, __mkvm_ioctl(fd, KVM_GET_MSR_INDEX_LIST, (unsigned long)list));
	n = list->nmsrs;
	ASSERT_GT(n, 0) TH_LOG("E2BIG did not report the number of MSRs");
	ASSERT_LE(n, 4096);
	list->nmsrs = n - 1;
	EXPECT_EQ(-E2BIG, __mkvm_ioctl(fd, KVM_GET_MSR_INDEX_LIST, (unsigned long)list));
	EXPECT_EQ(n, list->nmsrs);
	list->nmsrs = 4096;
	ASSERT_EQ(0, __mkvm_ioctl(fd, KVM_GET_MSR_INDEX_LIST, (unsigned long)list));
	EXPECT_EQ(n, list->nmsrs);
	for (i = 0; i < ARRAY_SIZE(syscall_msrs); i++) {
		for (j = 0; j < n; j++)
			if (list->indices[j] == syscall_msrs[i])
				break;
		EXPECT_LT(j, n) TH_LOG("MSR %#x not in KVM_GET_MSR_INDEX_LIST", syscall_msrs[i]);
	}
	EXPECT_EQ(-EFAULT, __mkvm_ioctl(fd, KVM_GET_MSR_INDEX_LIST, 0));
	close(fd);
	free(list);
}

/*
 * The host sets the MSRs, the guest reads them (RDMSR) and writes new
 * values (WRMSR), the host reads those.
 */
static void guest_msrs(uint64_t nr, uint64_t indices)
{
	const uint32_t *idx = (const uint32_t *)indices;
	uint64_t i;

	for (i = 0; i < nr; i++)
		GUEST_SYNC(idx[i], guest_rdmsr(idx[i]));
	for (i = 0; i < nr; i++)
		guest_wrmsr(idx[i], msr_value(idx[i], 2));
}

TEST(msr_round_trip)
{
	unsigned int n = ARRAY_SIZE(syscall_msrs), i;
	struct kvm_msr_entry e[ARRAY_SIZE(syscall_msrs)];
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	struct ucall uc;

	for (i = 0; i < n; i++)
		e[i] = (struct kvm_msr_entry){ syscall_msrs[i], 0, msr_value(syscall_msrs[i], 1) };
	ASSERT_EQ(n, __vcpu_msrs(vcpu, KVM_SET_MSRS, e, n));
	for (i = 0; i < n; i++)
		e[i].data = 0;
	ASSERT_EQ(n, __vcpu_msrs(vcpu, KVM_GET_MSRS, e, n));
	for (i = 0; i < n; i++)
		EXPECT_EQ(msr_value(syscall_msrs[i], 1), e[i].data)
			TH_LOG("MSR %#x", syscall_msrs[i]);

	vcpu_start_guest(vcpu, guest_msrs, 2, (uint64_t)n, (uint64_t)syscall_msrs);
	for (i = 0; i < n; i++) {
		vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
		EXPECT_EQ(syscall_msrs[i], uc.args[0]);
		EXPECT_EQ(msr_value(syscall_msrs[i], 1), uc.args[1])
			TH_LOG("guest RDMSR %#x", syscall_msrs[i]);
	}
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	for (i = 0; i < n; i++)
		EXPECT_EQ(msr_value(syscall_msrs[i], 2), vcpu_get_msr(vcpu, syscall_msrs[i]))
			TH_LOG("after guest WRMSR %#x", syscall_msrs[i]);
	vm_free(vm);
}

/*
 * The segment bases and KERNEL_GS_BASE, which both backends let the guest
 * access without an exit (the world switch carries them): written by the
 * guest, swapped by SWAPGS, seen by the host, and kept across runs while
 * the host thread has a GS selector loaded (reloading it after an exit
 * changes the CPU's KERNEL_GS_BASE).
 */
#define FS_VAL	0x0000123456789000ULL
#define GS_VAL	0xffff888012345000ULL
#define KGS_VAL	0x00007f0011223000ULL
#define HOST_VAL 0xffff888077777000ULL
#define HOST_GS_VAL 0x00007f00aaaa0000UL	/* the test thread's own */

static void guest_bases(void)
{
	guest_wrmsr(MSR_FS_BASE, FS_VAL);
	guest_wrmsr(MSR_GS_BASE, GS_VAL);
	guest_wrmsr(MSR_KERNEL_GS_BASE, KGS_VAL);
	GUEST_SYNC(guest_rdmsr(MSR_FS_BASE), guest_rdmsr(MSR_KERNEL_GS_BASE));
	/* After an exit and a new entry: still the guest's values. */
	GUEST_SYNC(guest_rdmsr(MSR_GS_BASE), guest_rdmsr(MSR_KERNEL_GS_BASE));
	asm volatile("swapgs" ::: "memory");
	GUEST_SYNC(guest_rdmsr(MSR_GS_BASE), guest_rdmsr(MSR_KERNEL_GS_BASE));
	/* The host has set FS_BASE and KERNEL_GS_BASE meanwhile. */
	asm volatile("swapgs" ::: "memory");
	GUEST_SYNC(guest_rdmsr(MSR_FS_BASE), guest_rdmsr(MSR_GS_BASE));
}

static void set_gs_selector(uint16_t sel)
{
	asm volatile("mov %0, %%gs" : : "r" (sel));
}

/*
 * The guest's bases through a run of guest_bases() with @sel in the host
 * thread's GS (a selector makes the backend reload GS after every exit,
 * which rewrites KERNEL_GS_BASE; with none, the guest's KERNEL_GS_BASE
 * may stay in the CPU until the vCPU is put).  With none, the thread's
 * own GS base is set first and must be its own again after the runs.
 */
static void bases_case(struct __test_metadata *_metadata, uint16_t sel)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	unsigned long host_gs = 0;
	struct kvm_sregs sregs;
	struct ucall uc;

	if (sel)
		set_gs_selector(sel);
	else
		ASSERT_EQ(0, syscall(SYS_arch_prctl, ARCH_SET_GS, HOST_GS_VAL));
	vcpu_start_guest(vcpu, guest_bases, 0);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(FS_VAL, uc.args[0]);
	EXPECT_EQ(KGS_VAL, uc.args[1]);
	EXPECT_EQ(KGS_VAL, vcpu_get_msr(vcpu, MSR_KERNEL_GS_BASE));
	EXPECT_EQ(GS_VAL, vcpu_get_msr(vcpu, MSR_GS_BASE));
	vcpu_get_sregs(vcpu, &sregs);
	EXPECT_EQ(FS_VAL, sregs.fs.base);
	EXPECT_EQ(GS_VAL, sregs.gs.base);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(GS_VAL, uc.args[0]);
	EXPECT_EQ(KGS_VAL, uc.args[1]);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(KGS_VAL, uc.args[0]);
	EXPECT_EQ(GS_VAL, uc.args[1]);
	vcpu_set_msr(vcpu, MSR_KERNEL_GS_BASE, HOST_VAL);
	vcpu_set_msr(vcpu, MSR_FS_BASE, KGS_VAL);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(KGS_VAL, uc.args[0]);
	EXPECT_EQ(HOST_VAL, uc.args[1]);
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	if (sel) {
		set_gs_selector(0);
	} else {
		ASSERT_EQ(0, syscall(SYS_arch_prctl, ARCH_GET_GS, &host_gs));
		EXPECT_EQ(HOST_GS_VAL, host_gs);
		EXPECT_EQ(0, syscall(SYS_arch_prctl, ARCH_SET_GS, 0UL));
	}
	EXPECT_EQ(KGS_VAL, vcpu_get_msr(vcpu, MSR_KERNEL_GS_BASE));
	vm_free(vm);
}

/* The user data selector of x86-64 Linux (GDT entry 5, RPL 3). */
TEST(segment_bases_and_kernel_gs_base)
{
	bases_case(_metadata, 0x2b);
}

TEST(segment_bases_and_kernel_gs_base_null_gs)
{
	bases_case(_metadata, 0);
}

/*
 * With a null GS selector in the vCPU's thread, the guest's
 * KERNEL_GS_BASE may stay in the CPU from one entry to the next; while
 * the thread is in the kernel that MSR holds the thread's own GS base,
 * which a switch to another thread saves.  So when the vCPU's thread is
 * switched out inside KVM_RUN, the host's value must be back first, and
 * the guest's again at the next entry.  The guest spins until another
 * thread on the same CPU has run 100 times around its loop while the
 * guest was spinning, so the switch happens inside KVM_RUN; the two
 * threads' GS bases differ.  It spins with IF set: Bochs never turns
 * the host's timer into an exit of a guest that spins with IF clear
 * (testing.rst), and nothing is injected.
 */
#define OTHER_GS_VAL	0x00007f00bbbb0000UL

static volatile uint64_t kgs_spinning, kgs_other_ran;	/* guest's copies */

static void guest_kgs_spin(void)
{
	uint64_t i;

	guest_wrmsr(MSR_KERNEL_GS_BASE, KGS_VAL);
	asm volatile("sti" ::: "memory");
	kgs_spinning = 1;
	for (i = 0; kgs_other_ran < 100 && i < (1ULL << 32); i++)
		asm volatile("pause" ::: "memory");
	kgs_spinning = 0;
	GUEST_SYNC(guest_rdmsr(MSR_KERNEL_GS_BASE), i);
}

struct kgs_other {
	volatile uint64_t *spinning, *ran;	/* in guest memory */
	volatile bool done;
	int cpu, err;
	uint64_t checks, wrong, last;
};

static void *kgs_other_thread(void *arg)
{
	struct kgs_other *o = arg;
	unsigned long gs;
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(o->cpu, &one);
	if (sched_setaffinity(0, sizeof(one), &one) ||
	    syscall(SYS_arch_prctl, ARCH_SET_GS, OTHER_GS_VAL)) {
		o->err = errno;
		*o->ran = 100;		/* let the guest go */
		return NULL;
	}
	while (!o->done) {
		gs = 0;
		syscall(SYS_arch_prctl, ARCH_GET_GS, &gs);
		o->checks++;
		if (gs != OTHER_GS_VAL) {
			o->wrong++;
			o->last = gs;
		}
		if (*o->spinning)
			(*o->ran)++;
	}
	return NULL;
}

TEST(kernel_gs_base_across_a_switch_to_another_thread)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	struct kgs_other o = { .spinning = gpa2hva(vm, (uint64_t)&kgs_spinning),
			       .ran = gpa2hva(vm, (uint64_t)&kgs_other_ran) };
	unsigned long host_gs = 0;
	cpu_set_t all, one;
	struct ucall uc;
	pthread_t t;

	ASSERT_EQ(0, sched_getaffinity(0, sizeof(all), &all));
	for (o.cpu = 0; !CPU_ISSET(o.cpu, &all); o.cpu++)
		;
	CPU_ZERO(&one);
	CPU_SET(o.cpu, &one);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(one), &one));
	ASSERT_EQ(0, syscall(SYS_arch_prctl, ARCH_SET_GS, HOST_GS_VAL));
	vcpu_start_guest(vcpu, guest_kgs_spin, 0);
	ASSERT_EQ(0, pthread_create(&t, NULL, kgs_other_thread, &o));
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	o.done = true;
	pthread_join(t, NULL);
	ASSERT_EQ(0, syscall(SYS_arch_prctl, ARCH_GET_GS, &host_gs));
	EXPECT_EQ(0, syscall(SYS_arch_prctl, ARCH_SET_GS, 0UL));
	sched_setaffinity(0, sizeof(all), &all);

	ASSERT_EQ(0, o.err) TH_LOG("other thread: %s", strerror(o.err));
	TH_LOG("guest spun %llu times, other thread checked %llu times",
	       (unsigned long long)uc.args[1], (unsigned long long)o.checks);
	EXPECT_GE(*o.ran, 100) TH_LOG("the other thread never ran inside KVM_RUN");
	EXPECT_EQ(KGS_VAL, uc.args[0]) TH_LOG("the guest's, after the switches");
	EXPECT_EQ(HOST_GS_VAL, host_gs) TH_LOG("the vCPU thread's own");
	EXPECT_EQ(0, o.wrong) TH_LOG("the other thread saw %#llx in %llu of %llu",
				     (unsigned long long)o.last,
				     (unsigned long long)o.wrong,
				     (unsigned long long)o.checks);
	EXPECT_EQ(KGS_VAL, vcpu_get_msr(vcpu, MSR_KERNEL_GS_BASE));
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	vm_free(vm);
}

/*
 * KVM_SET_MSRS and KVM_GET_MSRS process the entries in order and stop at
 * the first one they cannot handle, returning the number done.
 */
/*
 * SYSCALL through the guest's own LSTAR, before and after a return to
 * userspace: the SYSCALL MSRs stay the guest's while it runs (on VMX,
 * user-return MSRs that the host gets back at each return to userspace,
 * and the guest's again at the next entry), and the host's own system
 * calls in between find the host's.
 */
volatile uint64_t syscall_hits;
extern char syscall_target[];

asm(".pushsection .text\n"
    "syscall_target:\n\t"
    "incq syscall_hits(%rip)\n\t"
    "jmp *%rcx\n"
    ".popsection");

static void guest_syscall(void)
{
	int i;

	for (i = 0; i < 3; i++) {
		/* SYSCALL loads SS from STAR: the guest's own back after it. */
		asm volatile("mov %%ss, %%edx\n\t"
			     "syscall\n\t"
			     "mov %%edx, %%ss"
			     : : : "rcx", "rdx", "r11", "memory");
		GUEST_SYNC(i, syscall_hits);
	}
}

TEST(guest_syscall_uses_its_lstar)
{
	struct kvm_sregs sregs;
	struct vcpu *vcpu;
	struct ucall uc;
	struct vm *vm;
	int i;

	vm = vm_create();
	vcpu = vm_vcpu_add(vm, 0);
	vcpu_start_guest(vcpu, guest_syscall, 0);
	vcpu_get_sregs(vcpu, &sregs);
	sregs.efer |= 1;			/* EFER.SCE */
	vcpu_set_sregs(vcpu, &sregs);
	vcpu_set_msr(vcpu, MSR_STAR, (uint64_t)sregs.cs.selector << 32);
	vcpu_set_msr(vcpu, MSR_LSTAR, (uint64_t)syscall_target);
	vcpu_set_msr(vcpu, MSR_SYSCALL_MASK, 0);
	for (i = 0; i < 3; i++) {
		vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
		EXPECT_EQ(i, uc.args[0]);
		EXPECT_EQ(i + 1, uc.args[1]);
		/* A host system call between two entries. */
		EXPECT_EQ(getpid(), syscall(SYS_getpid));
	}
	EXPECT_EQ((uint64_t)syscall_target, vcpu_get_msr(vcpu, MSR_LSTAR));
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	vm_free(vm);
}

TEST(msrs_stop_at_first_bad)
{
	struct vm *vm = vm_create_bare();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	struct kvm_msr_entry e[3];

	vcpu_set_msr(vcpu, MSR_STAR, 1);
	vcpu_set_msr(vcpu, MSR_LSTAR, 2);
	vcpu_set_msr(vcpu, MSR_CSTAR, 3);

	/* An unknown MSR. */
	e[0] = (struct kvm_msr_entry){ MSR_STAR, 0, 0x0023001000000000ULL };
	e[1] = (struct kvm_msr_entry){ BAD_MSR, 0, 0 };
	e[2] = (struct kvm_msr_entry){ MSR_LSTAR, 0, 0xffffffff81234000ULL };
	EXPECT_EQ(1, __vcpu_msrs(vcpu, KVM_SET_MSRS, e, 3));
	EXPECT_EQ(0x0023001000000000ULL, vcpu_get_msr(vcpu, MSR_STAR));
	EXPECT_EQ(2, vcpu_get_msr(vcpu, MSR_LSTAR));

	/* A value the MSR cannot hold: LSTAR must be canonical. */
	e[0] = (struct kvm_msr_entry){ MSR_CSTAR, 0, 0xffffffff81000000ULL };
	e[1] = (struct kvm_msr_entry){ MSR_LSTAR, 0, 0x8000000000000000ULL };
	e[2] = (struct kvm_msr_entry){ MSR_STAR, 0, 5 };
	EXPECT_EQ(1, __vcpu_msrs(vcpu, KVM_SET_MSRS, e, 3));
	EXPECT_EQ(0xffffffff81000000ULL, vcpu_get_msr(vcpu, MSR_CSTAR));
	EXPECT_EQ(2, vcpu_get_msr(vcpu, MSR_LSTAR));
	EXPECT_EQ(0x0023001000000000ULL, vcpu_get_msr(vcpu, MSR_STAR));

	/*
	 * SFMASK's bits 63:32 are reserved: refused as Intel CPUs (and so
	 * kvm_intel) refuse them.  kvm_amd stores them, QEMU's and Bochs'
	 * CPUs drop them: checked on minikvm only.
	 */
	e[0] = (struct kvm_msr_entry){ MSR_SYSCALL_MASK, 0, 0x47700 };
	e[1] = (struct kvm_msr_entry){ MSR_SYSCALL_MASK, 0, 0x100047700ULL };
	if (!mkvm_is_kvm()) {
		EXPECT_EQ(1, __vcpu_msrs(vcpu, KVM_SET_MSRS, e, 2));
		EXPECT_EQ(0x47700, vcpu_get_msr(vcpu, MSR_SYSCALL_MASK));
	}

	/* The first one bad: nothing done. */
	e[0] = (struct kvm_msr_entry){ BAD_MSR, 0, 0 };
	e[1] = (struct kvm_msr_entry){ MSR_STAR, 0, 7 };
	EXPECT_EQ(0, __vcpu_msrs(vcpu, KVM_SET_MSRS, e, 2));
	EXPECT_EQ(0x0023001000000000ULL, vcpu_get_msr(vcpu, MSR_STAR));

	/* Reads stop the same way. */
	e[0] = (struct kvm_msr_entry){ MSR_CSTAR, 0, 0 };
	e[1] = (struct kvm_msr_entry){ BAD_MSR, 0, 0 };
	e[2] = (struct kvm_msr_entry){ MSR_STAR, 0, 0 };
	EXPECT_EQ(1, __vcpu_msrs(vcpu, KVM_GET_MSRS, e, 3));
	EXPECT_EQ(0xffffffff81000000ULL, e[0].data);

	/* Nothing asked, nothing done. */
	EXPECT_EQ(0, __vcpu_msrs(vcpu, KVM_SET_MSRS, e, 0));
	EXPECT_EQ(0, __vcpu_msrs(vcpu, KVM_GET_MSRS, e, 0));
	EXPECT_EQ(-EFAULT, __mkvm_ioctl(vcpu->fd, KVM_GET_MSRS, 0));
	EXPECT_EQ(-EFAULT, __mkvm_ioctl(vcpu->fd, KVM_SET_MSRS, 0));
	vm_free(vm);
}

/*
 * A guest RDMSR/WRMSR of an MSR that does not exist gets #GP.  (Not a
 * bad value for LSTAR & co.: KVM passes those MSRs through to the CPU,
 * and QEMU's emulated CPU does not check them.)
 */
static volatile int gp_count;

static void gp_handler(struct ex_regs *regs)
{
	gp_count++;
	regs->rip += 2;		/* RDMSR and WRMSR are 2 bytes */
}

static void guest_bad_msr(void)
{
	guest_set_handler(GP_VECTOR, gp_handler);
	guest_rdmsr(BAD_MSR);
	GUEST_ASSERT_EQ(gp_count, 1);
	guest_wrmsr(BAD_MSR, 1);
	GUEST_ASSERT_EQ(gp_count, 2);
}

TEST(guest_rdmsr_wrmsr_gp)
{
	run_guest_to_done(guest_bad_msr);
}

/*
 * PAT: the reset value, a round trip, and the bad memory types (2, 3 and
 * above 7 in any byte) refused from userspace (KVM_SET_MSRS stops there)
 * and from the guest (#GP), with the old value kept.
 */
#define PAT_RESET	0x0007040600070406ULL
#define PAT_GOOD	0x0006040600070406ULL	/* PA7: WB */

static const uint64_t bad_pats[] = {
	0x0007040600070402ULL,	/* PA0 = 2 */
	0x0307040600070406ULL,	/* PA7 = 3 */
	0x0007040600080406ULL,	/* PA2 = 8 */
	0x0007040600070406ULL | (1ULL << 63),
};

static void guest_pat(void)
{
	unsigned int i;

	guest_set_handler(GP_VECTOR, gp_handler);
	GUEST_SYNC(guest_rdmsr(MSR_IA32_CR_PAT), 0);
	for (i = 0; i < ARRAY_SIZE(bad_pats); i++) {
		guest_wrmsr(MSR_IA32_CR_PAT, bad_pats[i]);
		GUEST_ASSERT_EQ(gp_count, i + 1);
	}
	GUEST_SYNC(guest_rdmsr(MSR_IA32_CR_PAT), 0);
	guest_wrmsr(MSR_IA32_CR_PAT, PAT_RESET);
	GUEST_ASSERT_EQ(gp_count, ARRAY_SIZE(bad_pats));
}

TEST(pat)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	struct kvm_msr_entry e[2];
	struct ucall uc;
	unsigned int i;

	EXPECT_EQ(PAT_RESET, vcpu_get_msr(vcpu, MSR_IA32_CR_PAT));
	vcpu_set_msr(vcpu, MSR_IA32_CR_PAT, PAT_GOOD);
	EXPECT_EQ(PAT_GOOD, vcpu_get_msr(vcpu, MSR_IA32_CR_PAT));
	for (i = 0; i < ARRAY_SIZE(bad_pats); i++) {
		e[0] = (struct kvm_msr_entry){ MSR_IA32_CR_PAT, 0, bad_pats[i] };
		e[1] = (struct kvm_msr_entry){ MSR_STAR, 0, 7 };
		EXPECT_EQ(0, __vcpu_msrs(vcpu, KVM_SET_MSRS, e, 2))
			TH_LOG("PAT %#llx", (unsigned long long)bad_pats[i]);
		EXPECT_EQ(PAT_GOOD, vcpu_get_msr(vcpu, MSR_IA32_CR_PAT));
	}
	EXPECT_NE(7, vcpu_get_msr(vcpu, MSR_STAR));

	vcpu_start_guest(vcpu, guest_pat, 0);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(PAT_GOOD, uc.args[0]);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(PAT_GOOD, uc.args[0]);
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	EXPECT_EQ(PAT_RESET, vcpu_get_msr(vcpu, MSR_IA32_CR_PAT));
	vm_free(vm);
}

/*
 * Machine checks: KVM_CAP_MCE's bank count, the capabilities offered,
 * KVM_X86_SETUP_MCE's checks, then the banks as the host and the guest
 * see them: MCi_CTL all or nothing, MCi_STATUS only cleared by the guest
 * (no HWCR.McStatusWrEn), banks past the count and MCG_CAP refused.
 */
#define MCG_CTL_P_BIT		(1ULL << 8)
#define MCG_SER_P_BIT		(1ULL << 24)
#define MSR_MCG_CAP		0x179
#define MSR_MCG_STATUS		0x17a
#define MSR_MCG_CTL		0x17b
#define MSR_MC_CTL(i)		(0x400 + 4 * (i))
#define MSR_MC_STATUS(i)	(0x401 + 4 * (i))
#define MCE_BANKS		10

/* Refused from userspace: a partial MCi_CTL, no such bank, MCG_CTL 3. */
static const struct kvm_msr_entry bad_mce_msrs[] = {
	{ .index = MSR_MC_CTL(1), .data = 0x5555 },
	{ .index = MSR_MC_CTL(MCE_BANKS) },
	{ .index = MSR_MCG_CTL, .data = 3 },
};

static void guest_mce(void)
{
	guest_set_handler(GP_VECTOR, gp_handler);
	GUEST_SYNC(guest_rdmsr(MSR_MCG_CAP), guest_rdmsr(MSR_MC_CTL(3)));
	guest_wrmsr(MSR_MC_CTL(3), 0);			/* all off: fine */
	guest_wrmsr(MSR_MC_STATUS(3), 0);		/* clearing: fine */
	GUEST_ASSERT_EQ(gp_count, 0);
	guest_wrmsr(MSR_MC_CTL(4), 0x1234);		/* neither: #GP */
	GUEST_ASSERT_EQ(gp_count, 1);
	guest_wrmsr(MSR_MC_STATUS(4), 1);		/* setting: #GP */
	GUEST_ASSERT_EQ(gp_count, 2);
	guest_rdmsr(MSR_MC_CTL(MCE_BANKS));		/* no such bank */
	GUEST_ASSERT_EQ(gp_count, 3);
	guest_wrmsr(MSR_MCG_CAP, 0);			/* read-only */
	GUEST_ASSERT_EQ(gp_count, 4);
	guest_wrmsr(MSR_MCG_CTL, 0);
	GUEST_SYNC(guest_rdmsr(MSR_MCG_CTL), guest_rdmsr(MSR_MC_STATUS(5)));
}

TEST(mce_banks)
{
	uint64_t cap, bad;
	struct vcpu *vcpu;
	struct ucall uc;
	unsigned int i;
	struct vm *vm;
	int fd, banks;

	fd = kvm_open();
	banks = __mkvm_ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_MCE);
	if (banks <= 0)
		SKIP(close(fd); return, "no KVM_CAP_MCE");
	EXPECT_EQ(32, banks);
	ASSERT_EQ(0, __mkvm_ioctl(fd, KVM_X86_GET_MCE_CAP_SUPPORTED, (unsigned long)&cap));
	EXPECT_EQ(MCG_CTL_P_BIT | MCG_SER_P_BIT, cap & (MCG_CTL_P_BIT | MCG_SER_P_BIT));
	EXPECT_EQ(-EFAULT, __mkvm_ioctl(fd, KVM_X86_GET_MCE_CAP_SUPPORTED, 0));
	close(fd);

	vm = vm_create();
	vcpu = vm_vcpu_add(vm, 0);
	/* Before the setup: every bank, all off, no MCG_CTL. */
	EXPECT_EQ(32, vcpu_get_msr(vcpu, MSR_MCG_CAP));
	EXPECT_EQ(0, vcpu_get_msr(vcpu, MSR_MC_CTL(31)));
	bad = 0;
	EXPECT_EQ(-EINVAL, __mkvm_ioctl(vcpu->fd, KVM_X86_SETUP_MCE, (unsigned long)&bad));
	bad = 33;
	EXPECT_EQ(-EINVAL, __mkvm_ioctl(vcpu->fd, KVM_X86_SETUP_MCE, (unsigned long)&bad));
	bad = MCE_BANKS | (1ULL << 40);
	EXPECT_EQ(-EINVAL, __mkvm_ioctl(vcpu->fd, KVM_X86_SETUP_MCE, (unsigned long)&bad));
	EXPECT_EQ(-EFAULT, __mkvm_ioctl(vcpu->fd, KVM_X86_SETUP_MCE, 0));
	cap = MCE_BANKS | MCG_CTL_P_BIT;
	ASSERT_EQ(0, __mkvm_ioctl(vcpu->fd, KVM_X86_SETUP_MCE, (unsigned long)&cap));
	EXPECT_EQ(cap, vcpu_get_msr(vcpu, MSR_MCG_CAP));
	EXPECT_EQ(~0ULL, vcpu_get_msr(vcpu, MSR_MCG_CTL));
	EXPECT_EQ(~0ULL, vcpu_get_msr(vcpu, MSR_MC_CTL(0)));
	EXPECT_EQ(0, vcpu_get_msr(vcpu, MSR_MC_STATUS(0)));
	/* The host restores what a bank logged; the guest may only clear it. */
	vcpu_set_msr(vcpu, MSR_MC_STATUS(5), 0xbe00000000800400ULL);
	EXPECT_EQ(0xbe00000000800400ULL, vcpu_get_msr(vcpu, MSR_MC_STATUS(5)));
	vcpu_set_msr(vcpu, MSR_MCG_STATUS, 0);
	for (i = 0; i < ARRAY_SIZE(bad_mce_msrs); i++) {
		struct kvm_msr_entry e = bad_mce_msrs[i];

		EXPECT_EQ(0, __vcpu_msrs(vcpu, KVM_SET_MSRS, &e, 1))
			TH_LOG("bad MCE MSR write %u", i);
	}

	vcpu_start_guest(vcpu, guest_mce, 0);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(cap, uc.args[0]);
	EXPECT_EQ(~0ULL, uc.args[1]);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(0, uc.args[0]);
	EXPECT_EQ(0xbe00000000800400ULL, uc.args[1]);
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	EXPECT_EQ(0, vcpu_get_msr(vcpu, MSR_MC_CTL(3)));
	EXPECT_EQ(~0ULL, vcpu_get_msr(vcpu, MSR_MC_CTL(4)));
	vm_free(vm);
}

/*
 * The kvmclock MSRs in the state a VMM writes at reset (QEMU 7.2 writes
 * and reads them whatever the CPUID says): off, read back as 0.
 */
TEST(kvmclock_msrs_off)
{
	static const uint32_t msrs[] = { 0x11, 0x12, 0x4b564d00, 0x4b564d01 };
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(msrs); i++) {
		vcpu_set_msr(vcpu, msrs[i], 0);
		EXPECT_EQ(0, vcpu_get_msr(vcpu, msrs[i])) TH_LOG("MSR %#x", msrs[i]);
	}
	vm_free(vm);
}

TEST_HARNESS_MAIN
