// SPDX-License-Identifier: GPL-2.0
/*
 * MSR exits to userspace and the MSR filter: KVM_CAP_X86_USER_SPACE_MSR
 * (a guest RDMSR/WRMSR that would #GP exits as KVM_EXIT_X86_RDMSR/WRMSR
 * with the reasons userspace asked for, and the next KVM_RUN completes
 * it: data, or #GP with msr.error), KVM_X86_SET_MSR_FILTER (what it
 * denies exits with reason FILTER, or #GP; the MSRs a guest otherwise
 * accesses without an exit too, until a later filter allows them), and
 * IA32_POWER_CTL, which the kernel keeps.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

#include "kselftest_harness.h"
#include "lib/stats.h"
#include "lib/ucall.h"
#include "lib/x86.h"

#define BAD_MSR			0xdeadbeef
#define MSR_PLATFORM_INFO	0xce
#define MSR_IA32_POWER_CTL	0x1fc
#define X2APIC_ID_MSR		0x802
#define PAT_BAD			0x0007040600070402ULL	/* PA0 = 2 */

#define REASON_INVAL		KVM_MSR_EXIT_REASON_INVAL
#define REASON_UNKNOWN		KVM_MSR_EXIT_REASON_UNKNOWN
#define REASON_FILTER		KVM_MSR_EXIT_REASON_FILTER
#define REASONS_ALL		(REASON_INVAL | REASON_UNKNOWN | REASON_FILTER)

static int enable_cap(struct vm *vm, uint32_t cap, uint64_t arg)
{
	struct kvm_enable_cap c = { .cap = cap, .args = { arg } };

	return __mkvm_ioctl(vm->fd, KVM_ENABLE_CAP, (unsigned long)&c);
}

static int set_filter(struct vm *vm, struct kvm_msr_filter *f)
{
	return __mkvm_ioctl(vm->fd, KVM_X86_SET_MSR_FILTER, (unsigned long)f);
}

/* A filter with one range of one MSR, allowed (1) or not (0). */
static uint8_t bit_allow = 1, bit_deny;

static struct kvm_msr_filter one_msr_filter(uint32_t flags, uint32_t msr,
					    uint32_t type, bool allow)
{
	struct kvm_msr_filter f = { .flags = flags };

	f.ranges[0] = (struct kvm_msr_filter_range){
		.flags = type, .nmsrs = 1, .base = msr,
		.bitmap = allow ? &bit_allow : &bit_deny,
	};
	return f;
}

/* The guest counts its #GPs and skips the RDMSR/WRMSR (2 bytes). */
static volatile uint64_t gp_count;

static void gp_handler(struct ex_regs *regs)
{
	gp_count++;
	regs->rax = 0;
	regs->rdx = 0;
	regs->rip += 2;
}

/*
 * Run to the next exit, which must be an MSR exit of this kind, MSR and
 * reason; returns its kvm_run for the reply.
 */
static struct kvm_run *expect_msr_exit(struct vcpu *vcpu, uint32_t exit,
				       uint32_t index, uint32_t reason)
{
	struct kvm_run *run = vcpu->run;

	vcpu_run(vcpu);
	vcpu_assert_exit(vcpu, exit);
	TEST_ASSERT(run->msr.index == index, "MSR %#x, expected %#x",
		    run->msr.index, index);
	TEST_ASSERT(run->msr.reason == reason, "reason %u, expected %u",
		    run->msr.reason, reason);
	TEST_ASSERT(run->msr.error == 0, "error %u on exit", run->msr.error);
	return run;
}

TEST(caps_and_enable)
{
	struct vm *vm = vm_create_bare();

	EXPECT_NE(0, kvm_check_cap(KVM_CAP_X86_USER_SPACE_MSR));
	EXPECT_NE(0, kvm_check_cap(KVM_CAP_X86_MSR_FILTER));
	EXPECT_EQ(0, enable_cap(vm, KVM_CAP_X86_USER_SPACE_MSR, REASONS_ALL));
	EXPECT_EQ(0, enable_cap(vm, KVM_CAP_X86_USER_SPACE_MSR, 0));
	EXPECT_EQ(-EINVAL, enable_cap(vm, KVM_CAP_X86_USER_SPACE_MSR, 8));
	EXPECT_EQ(-EINVAL, enable_cap(vm, KVM_CAP_X86_USER_SPACE_MSR,
				      REASONS_ALL | (1ULL << 32)));
	vm_free(vm);
}

/*
 * An unknown MSR: its read exits with reason UNKNOWN and returns what
 * userspace put in msr.data, its write exits with the value; with
 * msr.error set, each is a #GP instead.  RIP stays on the instruction
 * during the exit.
 */
static void guest_unknown(void)
{
	uint64_t v;

	guest_set_handler(GP_VECTOR, gp_handler);
	v = guest_rdmsr(BAD_MSR);
	GUEST_SYNC(v, gp_count);
	guest_wrmsr(BAD_MSR, 0x1122334455667788ULL);
	GUEST_SYNC(gp_count, 0);
	guest_rdmsr(BAD_MSR);
	GUEST_SYNC(gp_count, 0);
	guest_wrmsr(BAD_MSR, 1);
	GUEST_SYNC(gp_count, 0);
}

TEST(unknown_msr_exit)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	struct kvm_run *run;
	struct ucall uc;
	uint64_t rip;

	ASSERT_EQ(0, enable_cap(vm, KVM_CAP_X86_USER_SPACE_MSR, REASON_UNKNOWN));
	vcpu_start_guest(vcpu, guest_unknown, 0);
	run = expect_msr_exit(vcpu, KVM_EXIT_X86_RDMSR, BAD_MSR, REASON_UNKNOWN);
	rip = vcpu_get_rip(vcpu);
	EXPECT_EQ(0x320f, *(uint16_t *)gpa2hva(vm, rip)) TH_LOG("RIP %#lx", rip);
	run->msr.data = 0xabcdef0123456789ULL;
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(0xabcdef0123456789ULL, uc.args[0]);
	EXPECT_EQ(0, uc.args[1]);

	run = expect_msr_exit(vcpu, KVM_EXIT_X86_WRMSR, BAD_MSR, REASON_UNKNOWN);
	EXPECT_EQ(0x1122334455667788ULL, run->msr.data);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(0, uc.args[0]);

	run = expect_msr_exit(vcpu, KVM_EXIT_X86_RDMSR, BAD_MSR, REASON_UNKNOWN);
	run->msr.error = 1;
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(1, uc.args[0]);

	run = expect_msr_exit(vcpu, KVM_EXIT_X86_WRMSR, BAD_MSR, REASON_UNKNOWN);
	EXPECT_EQ(1, run->msr.data);
	run->msr.error = 1;
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(2, uc.args[0]);
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	vm_free(vm);
}

/*
 * Refused accesses to known MSRs (a bad PAT, PLATFORM_INFO's read turned
 * off) exit with reason INVAL, only if asked: with UNKNOWN alone they are
 * a #GP, and an unknown MSR is a #GP with INVAL alone.
 */
static void guest_inval(void)
{
	guest_set_handler(GP_VECTOR, gp_handler);
	guest_wrmsr(MSR_IA32_CR_PAT, PAT_BAD);
	guest_rdmsr(MSR_PLATFORM_INFO);
	GUEST_SYNC(gp_count, 0);
	guest_rdmsr(BAD_MSR);
	guest_wrmsr(MSR_IA32_CR_PAT, PAT_BAD);
	GUEST_SYNC(gp_count, 0);
}

TEST(inval_reason)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	struct kvm_run *run;
	struct ucall uc;

	ASSERT_EQ(0, enable_cap(vm, KVM_CAP_MSR_PLATFORM_INFO, 0));
	ASSERT_EQ(0, enable_cap(vm, KVM_CAP_X86_USER_SPACE_MSR, REASON_INVAL));
	vcpu_start_guest(vcpu, guest_inval, 0);
	run = expect_msr_exit(vcpu, KVM_EXIT_X86_WRMSR, MSR_IA32_CR_PAT,
			      REASON_INVAL);
	EXPECT_EQ(PAT_BAD, run->msr.data);
	expect_msr_exit(vcpu, KVM_EXIT_X86_RDMSR, MSR_PLATFORM_INFO,
			REASON_INVAL);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(0, uc.args[0]);
	/* The PAT kept its value: userspace's "done" does not write it. */
	EXPECT_EQ(0x0007040600070406ULL, vcpu_get_msr(vcpu, MSR_IA32_CR_PAT));

	/* Now only UNKNOWN: the unknown MSR exits, the bad PAT is a #GP. */
	ASSERT_EQ(0, enable_cap(vm, KVM_CAP_X86_USER_SPACE_MSR, REASON_UNKNOWN));
	expect_msr_exit(vcpu, KVM_EXIT_X86_RDMSR, BAD_MSR, REASON_UNKNOWN);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(1, uc.args[0]);
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	vm_free(vm);
}

/*
 * A filter denying reads of SYSENTER_CS: the read exits with reason
 * FILTER, the write (allowed) is the kernel's; KVM_GET/SET_MSRS are
 * never filtered.  Without FILTER in the mask the read is a #GP.
 */
static void guest_filter_deny(void)
{
	uint64_t v;

	guest_set_handler(GP_VECTOR, gp_handler);
	guest_wrmsr(MSR_IA32_SYSENTER_CS, 0x10);
	v = guest_rdmsr(MSR_IA32_SYSENTER_CS);
	GUEST_SYNC(v, gp_count);
	v = guest_rdmsr(MSR_IA32_SYSENTER_CS);
	GUEST_SYNC(v, gp_count);
}

TEST(filter_deny)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	struct kvm_msr_filter f;
	struct kvm_run *run;
	struct ucall uc;

	ASSERT_EQ(0, enable_cap(vm, KVM_CAP_X86_USER_SPACE_MSR, REASONS_ALL));
	f = one_msr_filter(KVM_MSR_FILTER_DEFAULT_ALLOW, MSR_IA32_SYSENTER_CS,
			   KVM_MSR_FILTER_READ, false);
	ASSERT_EQ(0, set_filter(vm, &f));
	vcpu_start_guest(vcpu, guest_filter_deny, 0);
	run = expect_msr_exit(vcpu, KVM_EXIT_X86_RDMSR, MSR_IA32_SYSENTER_CS,
			      REASON_FILTER);
	run->msr.data = 0x42;
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(0x42, uc.args[0]);
	EXPECT_EQ(0, uc.args[1]);
	/* Userspace's own accesses are not filtered. */
	EXPECT_EQ(0x10, vcpu_get_msr(vcpu, MSR_IA32_SYSENTER_CS));
	vcpu_set_msr(vcpu, MSR_IA32_SYSENTER_CS, 0x18);

	ASSERT_EQ(0, enable_cap(vm, KVM_CAP_X86_USER_SPACE_MSR, REASON_UNKNOWN));
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(1, uc.args[1]);
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	EXPECT_EQ(0x18, vcpu_get_msr(vcpu, MSR_IA32_SYSENTER_CS));
	vm_free(vm);
}

/*
 * Deny by default, allowing only STAR: STAR is the kernel's, LSTAR
 * exits both ways, and the x2APIC MSRs are never filtered (no x2APIC
 * here: a #GP, not an exit, with FILTER alone in the mask).
 */
static void guest_default_deny(void)
{
	uint64_t v;

	guest_set_handler(GP_VECTOR, gp_handler);
	guest_wrmsr(MSR_STAR, 0x0023001000000000ULL);
	v = guest_rdmsr(MSR_STAR);
	GUEST_SYNC(v, gp_count);
	v = guest_rdmsr(MSR_LSTAR);
	GUEST_SYNC(v, gp_count);
	guest_wrmsr(MSR_LSTAR, 0xffffffff81000000ULL);
	guest_rdmsr(X2APIC_ID_MSR);
	GUEST_SYNC(gp_count, 0);
}

TEST(default_deny)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	struct kvm_msr_filter f;
	struct kvm_run *run;
	struct ucall uc;

	ASSERT_EQ(0, enable_cap(vm, KVM_CAP_X86_USER_SPACE_MSR, REASON_FILTER));
	f = one_msr_filter(KVM_MSR_FILTER_DEFAULT_DENY, MSR_STAR,
			   KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE, true);
	ASSERT_EQ(0, set_filter(vm, &f));
	vcpu_start_guest(vcpu, guest_default_deny, 0);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(0x0023001000000000ULL, uc.args[0]);
	EXPECT_EQ(0, uc.args[1]);
	run = expect_msr_exit(vcpu, KVM_EXIT_X86_RDMSR, MSR_LSTAR, REASON_FILTER);
	run->msr.data = 7;
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(7, uc.args[0]);
	run = expect_msr_exit(vcpu, KVM_EXIT_X86_WRMSR, MSR_LSTAR, REASON_FILTER);
	EXPECT_EQ(0xffffffff81000000ULL, run->msr.data);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(1, uc.args[0]);
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	EXPECT_EQ(0, vcpu_get_msr(vcpu, MSR_LSTAR));
	vm_free(vm);
}

/*
 * FS_BASE and KERNEL_GS_BASE, which the guest otherwise accesses without
 * an exit: a filter denying FS_BASE reads and KERNEL_GS_BASE writes
 * makes those exit (and nothing else); an empty filter (allow all)
 * replacing it lets them through again.
 */
#define FS_VAL	0x0000123456789000ULL
#define KGS_VAL	0x00007f0011223000ULL

static void guest_passthrough(void)
{
	guest_wrmsr(MSR_FS_BASE, FS_VAL);
	guest_wrmsr(MSR_KERNEL_GS_BASE, KGS_VAL);
	GUEST_SYNC(guest_rdmsr(MSR_FS_BASE), guest_rdmsr(MSR_KERNEL_GS_BASE));
	/* The filter is in place now. */
	guest_wrmsr(MSR_FS_BASE, FS_VAL + 0x1000);
	guest_wrmsr(MSR_KERNEL_GS_BASE, 0);
	GUEST_SYNC(guest_rdmsr(MSR_FS_BASE), guest_rdmsr(MSR_KERNEL_GS_BASE));
	/* And gone. */
	guest_wrmsr(MSR_KERNEL_GS_BASE, 0);
	GUEST_SYNC(guest_rdmsr(MSR_FS_BASE), guest_rdmsr(MSR_KERNEL_GS_BASE));
}

TEST(passthrough_msrs_filtered)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	struct kvm_msr_filter f = { .flags = KVM_MSR_FILTER_DEFAULT_ALLOW };
	struct kvm_run *run;
	struct ucall uc;

	ASSERT_EQ(0, enable_cap(vm, KVM_CAP_X86_USER_SPACE_MSR, REASON_FILTER));
	vcpu_start_guest(vcpu, guest_passthrough, 0);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(FS_VAL, uc.args[0]);
	EXPECT_EQ(KGS_VAL, uc.args[1]);

	f.ranges[0] = (struct kvm_msr_filter_range){
		.flags = KVM_MSR_FILTER_READ, .nmsrs = 1,
		.base = MSR_FS_BASE, .bitmap = &bit_deny,
	};
	f.ranges[1] = (struct kvm_msr_filter_range){
		.flags = KVM_MSR_FILTER_WRITE, .nmsrs = 1,
		.base = MSR_KERNEL_GS_BASE, .bitmap = &bit_deny,
	};
	ASSERT_EQ(0, set_filter(vm, &f));
	run = expect_msr_exit(vcpu, KVM_EXIT_X86_WRMSR, MSR_KERNEL_GS_BASE,
			      REASON_FILTER);
	EXPECT_EQ(0, run->msr.data);
	run = expect_msr_exit(vcpu, KVM_EXIT_X86_RDMSR, MSR_FS_BASE,
			      REASON_FILTER);
	run->msr.data = 0x5555;
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(0x5555, uc.args[0]);
	EXPECT_EQ(KGS_VAL, uc.args[1]);
	/* The FS_BASE write, allowed, went through. */
	EXPECT_EQ(FS_VAL + 0x1000, vcpu_get_msr(vcpu, MSR_FS_BASE));

	memset(&f, 0, sizeof(f));
	ASSERT_EQ(0, set_filter(vm, &f));
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(FS_VAL + 0x1000, uc.args[0]);
	EXPECT_EQ(0, uc.args[1]);
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	vm_free(vm);
}

/*
 * The pass-through MSRs' permission map is shared until a filter denies
 * one of them: a filter set before the vCPU exists still makes FS_BASE
 * reads exit on it, while in another VM, with no filter, the same reads
 * still pass without an exit (the vCPU's exit count, between two ucalls,
 * stays far below the number of reads).
 */
#define PASS_READS	1000

static void guest_fs_base_reads(void)
{
	uint64_t v = 0;
	int i;

	GUEST_SYNC(0, 0);
	for (i = 0; i < PASS_READS; i++)
		v += guest_rdmsr(MSR_FS_BASE);
	GUEST_SYNC(v, 0);
}

TEST(filter_before_the_vcpu)
{
	struct kvm_msr_filter f = one_msr_filter(KVM_MSR_FILTER_DEFAULT_ALLOW,
						 MSR_FS_BASE, KVM_MSR_FILTER_READ,
						 false);
	struct vm *vm = vm_create(), *other = vm_create();
	struct vcpu *vcpu, *ov;
	struct kvm_run *run;
	struct ucall uc;
	int64_t exits;
	int fd;

	ASSERT_EQ(0, enable_cap(vm, KVM_CAP_X86_USER_SPACE_MSR, REASON_FILTER));
	ASSERT_EQ(0, set_filter(vm, &f));
	vcpu = vm_vcpu_add(vm, 0);
	ov = vm_vcpu_add(other, 0);
	vcpu_start_guest(vcpu, guest_fs_base_reads, 0);
	vcpu_start_guest(ov, guest_fs_base_reads, 0);
	vcpu_set_msr(vcpu, MSR_FS_BASE, 0);
	vcpu_set_msr(ov, MSR_FS_BASE, 3);

	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	run = expect_msr_exit(vcpu, KVM_EXIT_X86_RDMSR, MSR_FS_BASE,
			      REASON_FILTER);
	run->msr.data = 7;
	/* Every read exits: answer the other 999 the same way. */
	for (;;) {
		vcpu_run(vcpu);
		if (run->exit_reason != KVM_EXIT_X86_RDMSR)
			break;
		ASSERT_EQ(MSR_FS_BASE, run->msr.index);
		run->msr.data = 7;
	}
	ASSERT_EQ(KVM_EXIT_IO, run->exit_reason)
		TH_LOG("exit %s", exit_reason_str(run->exit_reason));
	EXPECT_EQ(UCALL_SYNC, get_ucall(vcpu, &uc));
	EXPECT_EQ(7 * PASS_READS, uc.args[0]);

	fd = __mkvm_ioctl(ov->fd, KVM_GET_STATS_FD, 0);
	ASSERT_LE(0, fd);
	vcpu_run_expect(ov, UCALL_SYNC, &uc);
	exits = stat_get(fd, "exits");
	ASSERT_LE(0, exits);
	vcpu_run_expect(ov, UCALL_SYNC, &uc);
	EXPECT_EQ(3 * PASS_READS, uc.args[0]);
	EXPECT_LT(stat_get(fd, "exits") - exits, PASS_READS / 10);
	close(fd);
	vm_free(other);
	vm_free(vm);
}

/* What KVM 6.1 refuses in a filter, and what it takes. */
TEST(bad_filters)
{
	struct vm *vm = vm_create_bare();
	uint8_t big[KVM_MSR_FILTER_MAX_BITMAP_SIZE + 8] = { 0 };
	struct kvm_msr_filter f;

	memset(&f, 0, sizeof(f));
	EXPECT_EQ(0, set_filter(vm, &f));
	f.flags = 2;
	EXPECT_EQ(-EINVAL, set_filter(vm, &f));
	/* Deny everything, no range: refused. */
	f.flags = KVM_MSR_FILTER_DEFAULT_DENY;
	EXPECT_EQ(-EINVAL, set_filter(vm, &f));

	f = one_msr_filter(0, MSR_STAR, 0, true);
	EXPECT_EQ(-EINVAL, set_filter(vm, &f));
	f = one_msr_filter(0, MSR_STAR, 4, true);
	EXPECT_EQ(-EINVAL, set_filter(vm, &f));
	f = one_msr_filter(0, MSR_STAR, KVM_MSR_FILTER_READ | 4, true);
	EXPECT_EQ(-EINVAL, set_filter(vm, &f));
	/* A range without MSRs is skipped, whatever its flags. */
	f = one_msr_filter(0, MSR_STAR, KVM_MSR_FILTER_READ, true);
	f.ranges[0].nmsrs = 0;
	EXPECT_EQ(0, set_filter(vm, &f));
	f.flags = KVM_MSR_FILTER_DEFAULT_DENY;
	EXPECT_EQ(-EINVAL, set_filter(vm, &f));

	/* The bitmap: at most KVM_MSR_FILTER_MAX_BITMAP_SIZE bytes, readable. */
	f = one_msr_filter(0, 0, KVM_MSR_FILTER_READ, true);
	f.ranges[0].bitmap = big;
	f.ranges[0].nmsrs = KVM_MSR_FILTER_MAX_BITMAP_SIZE * 8;
	EXPECT_EQ(0, set_filter(vm, &f));
	f.ranges[0].nmsrs++;
	EXPECT_EQ(-EINVAL, set_filter(vm, &f));
	f.ranges[0].nmsrs = 1;
	f.ranges[0].bitmap = NULL;
	EXPECT_EQ(-EFAULT, set_filter(vm, &f));
	/* All 16 ranges. */
	f = one_msr_filter(KVM_MSR_FILTER_DEFAULT_DENY, 0, KVM_MSR_FILTER_WRITE, true);
	for (int i = 1; i < KVM_MSR_FILTER_MAX_RANGES; i++)
		f.ranges[i] = f.ranges[0];
	EXPECT_EQ(0, set_filter(vm, &f));
	EXPECT_EQ(-EFAULT, __mkvm_ioctl(vm->fd, KVM_X86_SET_MSR_FILTER, 0));
	vm_free(vm);
}

/* IA32_POWER_CTL: listed, kept per vCPU, read back by the guest. */
static void guest_power_ctl(void)
{
	guest_wrmsr(MSR_IA32_POWER_CTL, 0x1234);
	GUEST_SYNC(guest_rdmsr(MSR_IA32_POWER_CTL), 0);
}

TEST(power_ctl)
{
	struct kvm_msr_list *list = calloc(1, sizeof(*list) + 4096 * 4);
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	struct ucall uc;
	unsigned int i;

	list->nmsrs = 4096;
	ASSERT_EQ(0, __mkvm_ioctl(vm->sys_fd, KVM_GET_MSR_INDEX_LIST,
				  (unsigned long)list));
	for (i = 0; i < list->nmsrs; i++)
		if (list->indices[i] == MSR_IA32_POWER_CTL)
			break;
	EXPECT_LT(i, list->nmsrs) TH_LOG("POWER_CTL not in the index list");

	vcpu_start_guest(vcpu, guest_power_ctl, 0);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(0x1234, uc.args[0]);
	EXPECT_EQ(0x1234, vcpu_get_msr(vcpu, MSR_IA32_POWER_CTL));
	vcpu_set_msr(vcpu, MSR_IA32_POWER_CTL, 0);
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	vm_free(vm);
	free(list);
}

TEST_HARNESS_MAIN
