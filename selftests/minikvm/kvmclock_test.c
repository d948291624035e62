// SPDX-License-Identifier: GPL-2.0
/*
 * kvmclock, as a Linux guest uses it: CPUID 0x40000001 offers it, the
 * guest names a page in MSR_KVM_SYSTEM_TIME_NEW (or the old
 * MSR_KVM_SYSTEM_TIME) and computes the VM's clock from the structure
 * the hypervisor writes there and its own TSC; MSR_KVM_WALL_CLOCK_NEW
 * asks for the real time at which that clock read 0.  What the guest
 * computes is checked against KVM_GET_CLOCK and CLOCK_REALTIME read by
 * the host around the run, with a tolerance proportional to the time
 * elapsed (the host's TSC rate is a calibration), and KVM_SET_CLOCK
 * must move it.  Addresses that are not memory, or a structure that
 * crosses a page, are accepted and not written, as in KVM.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "lib/ucall.h"
#include "lib/x86.h"

#define MSR_KVM_WALL_CLOCK	0x11
#define MSR_KVM_SYSTEM_TIME	0x12
#define MSR_KVM_WALL_CLOCK_NEW	0x4b564d00
#define MSR_KVM_SYSTEM_TIME_NEW	0x4b564d01
#define FEATURE_CLOCKSOURCE	(1U << 0)
#define FEATURE_CLOCKSOURCE2	(1U << 3)
#define NSEC_PER_SEC		1000000000ULL
#define MSEC			1000000ULL
#define NOT_MEMORY		0x7f000000ULL	/* no slot there */

/* struct pvclock_vcpu_time_info and pvclock_wall_clock. */
struct pvti {
	uint32_t version, pad0;
	uint64_t tsc_timestamp, system_time;
	uint32_t mul;
	int8_t shift;
	uint8_t flags, pad[2];
} __attribute__((packed));

struct pvwall {
	uint32_t version, sec, nsec;
} __attribute__((packed));

static struct pvti pvti __attribute__((aligned(4096)));
static struct pvwall wall __attribute__((aligned(64)));
static uint8_t two_pages[8192] __attribute__((aligned(4096)));

static inline uint64_t rdtsc_ordered(void)
{
	uint32_t lo, hi;

	asm volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return ((uint64_t)hi << 32) | lo;
}

/* The guest's reading of the clock, as Linux's pvclock code does it. */
static uint64_t pvti_read(volatile struct pvti *p)
{
	uint64_t ns, delta;
	uint32_t v;

	do {
		v = p->version;
		asm volatile("" : : : "memory");
		delta = rdtsc_ordered() - p->tsc_timestamp;
		if (p->shift < 0)
			delta >>= -p->shift;
		else
			delta <<= p->shift;
		ns = p->system_time +
		     (uint64_t)(((unsigned __int128)delta * p->mul) >> 32);
		asm volatile("" : : : "memory");
	} while ((v & 1) || v != p->version);
	return ns;
}

static void guest_system_time(uint64_t msr)
{
	uint64_t frozen;

	guest_wrmsr(msr, (uint64_t)&pvti | 1);
	GUEST_SYNC(pvti.version, pvti_read(&pvti));	/* at once */
	GUEST_SYNC(pvti.version, pvti_read(&pvti));	/* after a sleep */
	GUEST_SYNC(pvti.version, pvti_read(&pvti));	/* after SET_CLOCK */
	/* Off: KVM_SET_CLOCK no longer writes the page. */
	guest_wrmsr(msr, (uint64_t)&pvti);
	frozen = pvti.system_time;
	GUEST_SYNC(0, 0);
	GUEST_SYNC(pvti.system_time == frozen, 0);
	GUEST_DONE();
}

static uint64_t get_clock(struct vcpu *vcpu)
{
	struct kvm_clock_data data = {};

	kvm_ioctl(vcpu->vm->fd, KVM_GET_CLOCK, &data);
	return data.clock;
}

static void set_clock(struct vcpu *vcpu, uint64_t clock)
{
	struct kvm_clock_data data = { .clock = clock };

	kvm_ioctl(vcpu->vm->fd, KVM_SET_CLOCK, &data);
}

/*
 * Run to the next sync; the guest's reading must lie between the clock
 * before and after, give or take what a 10% error in the TSC's rate
 * makes of the time since the page was written (@since).
 */
static uint64_t run_and_check(struct __test_metadata *_metadata,
			      struct vcpu *vcpu, uint64_t since)
{
	uint64_t c0 = get_clock(vcpu), c1, t, tol;
	struct ucall uc;

	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	c1 = get_clock(vcpu);
	t = uc.args[1];
	tol = 2 * MSEC + (c1 - since) / 10;
	EXPECT_EQ(0, uc.args[0] & 1);
	EXPECT_NE(0, uc.args[0]);
	EXPECT_LE(c0 - tol, t) TH_LOG("guest %lu, clock %lu", t, c0);
	EXPECT_GE(c1 + tol, t) TH_LOG("guest %lu, clock %lu", t, c1);
	return t;
}

static void check_system_time(struct __test_metadata *_metadata, uint32_t msr)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	uint64_t start, t1, t2, t3, now;
	struct ucall uc;

	vcpu_start_guest(vcpu, guest_system_time, 1, (uint64_t)msr);
	start = get_clock(vcpu);
	t1 = run_and_check(_metadata, vcpu, start);
	EXPECT_EQ((uint64_t)&pvti | 1, vcpu_get_msr(vcpu, msr));

	usleep(100 * 1000);
	t2 = run_and_check(_metadata, vcpu, start);
	EXPECT_LT(t1, t2);

	/* The clock moved forward by 1000 s: so does the guest's. */
	now = get_clock(vcpu) + 1000 * NSEC_PER_SEC;
	set_clock(vcpu, now);
	t3 = run_and_check(_metadata, vcpu, now);
	EXPECT_LE(t2 + 1000 * NSEC_PER_SEC, t3);

	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ((uint64_t)&pvti, vcpu_get_msr(vcpu, msr));
	set_clock(vcpu, get_clock(vcpu) + 1000 * NSEC_PER_SEC);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(1, uc.args[0]);		/* not written while off */
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	vm_free(vm);
}

TEST(supported_cpuid_offers_kvmclock)
{
	struct kvm_cpuid2 *cpuid = cpuid_dup(kvm_supported_cpuid());
	struct kvm_cpuid_entry2 *e = cpuid_find(cpuid, 0x40000001, 0);

	ASSERT_NE(NULL, e);
	EXPECT_EQ(FEATURE_CLOCKSOURCE | FEATURE_CLOCKSOURCE2,
		  e->eax & (FEATURE_CLOCKSOURCE | FEATURE_CLOCKSOURCE2));
	free(cpuid);
}

TEST(system_time_new)
{
	check_system_time(_metadata, MSR_KVM_SYSTEM_TIME_NEW);
}

TEST(system_time_old)
{
	check_system_time(_metadata, MSR_KVM_SYSTEM_TIME);
}

static void guest_wall_clock(uint64_t msr)
{
	guest_wrmsr(msr, (uint64_t)&wall);
	GUEST_SYNC(wall.version, wall.sec * NSEC_PER_SEC + wall.nsec);
	GUEST_DONE();
}

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

static void check_wall_clock(struct __test_metadata *_metadata, uint32_t msr)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	uint64_t r0, r1, c, boot;
	struct ucall uc;

	/* The real time when the VM's clock read 0: made 1000 s earlier. */
	set_clock(vcpu, get_clock(vcpu) + 1000 * NSEC_PER_SEC);
	vcpu_start_guest(vcpu, guest_wall_clock, 1, (uint64_t)msr);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	r0 = realtime_ns();
	c = get_clock(vcpu);
	r1 = realtime_ns();
	boot = uc.args[1];
	EXPECT_EQ(0, uc.args[0] & 1);
	EXPECT_NE(0, uc.args[0]);
	EXPECT_LE(r0 - c - 20 * MSEC, boot);
	EXPECT_GE(r1 - c + 20 * MSEC, boot);
	EXPECT_EQ((uint64_t)&wall, vcpu_get_msr(vcpu, msr));
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	vm_free(vm);
}

TEST(wall_clock_new)
{
	check_wall_clock(_metadata, MSR_KVM_WALL_CLOCK_NEW);
}

TEST(wall_clock_old)
{
	check_wall_clock(_metadata, MSR_KVM_WALL_CLOCK);
}

/*
 * Addresses that are not guest memory, and a structure that would cross
 * a page: the guest's WRMSR succeeds (no #GP), nothing is written, and
 * the MSR reads back what was written.
 */
static void guest_bad_addresses(void)
{
	uint64_t i, dirty = 0;

	for (i = 0; i < sizeof(two_pages); i++)
		two_pages[i] = 0xaa;
	guest_wrmsr(MSR_KVM_SYSTEM_TIME_NEW, NOT_MEMORY | 1);
	guest_wrmsr(MSR_KVM_WALL_CLOCK_NEW, NOT_MEMORY);
	GUEST_SYNC(1, 0);
	guest_wrmsr(MSR_KVM_SYSTEM_TIME_NEW,
		    (uint64_t)&two_pages[4096 - 16] | 1);
	GUEST_SYNC(2, 0);
	for (i = 0; i < sizeof(two_pages); i++)
		dirty += two_pages[i] != 0xaa;
	GUEST_SYNC(3, dirty);
	GUEST_DONE();
}

TEST(bad_addresses)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	struct ucall uc;

	vcpu_start_guest(vcpu, guest_bad_addresses, 0);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(1, uc.args[0]);
	EXPECT_EQ(NOT_MEMORY | 1, vcpu_get_msr(vcpu, MSR_KVM_SYSTEM_TIME_NEW));
	EXPECT_EQ(NOT_MEMORY, vcpu_get_msr(vcpu, MSR_KVM_WALL_CLOCK_NEW));
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(2, uc.args[0]);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(3, uc.args[0]);
	EXPECT_EQ(0, uc.args[1]);		/* not a byte written */
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	vm_free(vm);
}

TEST_HARNESS_MAIN
