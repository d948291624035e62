// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_SET_USER_MEMORY_REGION: every validation with KVM's errno, what
 * may and may not change in an existing slot, and slots deleted or moved
 * while vCPUs run (guests then see MMIO exits where the slot was, never
 * its old memory), also by a few pages onto their own old range while
 * vCPUs read and write every page (every access completes, and sees the
 * slot's memory at its new place).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "lib/ucall.h"
#include "lib/x86.h"

#define PAGE	0x1000UL
#define GPA	0x100000UL

FIXTURE(slots) {
	struct vm *vm;
	uint8_t *mem;		/* 16 pages of host memory */
};

FIXTURE_SETUP(slots)
{
	self->vm = vm_create_bare();
	self->mem = host_mem_alloc(16 * PAGE);
}

FIXTURE_TEARDOWN(slots)
{
	munmap(self->mem, 16 * PAGE);
	vm_free(self->vm);
}

static int set(struct vm *vm, uint32_t slot, uint32_t flags, uint64_t gpa,
	       uint64_t size, const void *host)
{
	return __vm_set_region(vm, slot, flags, gpa, size, (void *)host);
}

TEST_F(slots, alignment)
{
	EXPECT_EQ(-EINVAL, set(self->vm, 0, 0, GPA + 0x800, PAGE, self->mem));
	EXPECT_EQ(-EINVAL, set(self->vm, 0, 0, GPA + 1, PAGE, self->mem));
	EXPECT_EQ(-EINVAL, set(self->vm, 0, 0, GPA, PAGE + 0x800, self->mem));
	EXPECT_EQ(-EINVAL, set(self->vm, 0, 0, GPA, 0x10, self->mem));
	EXPECT_EQ(-EINVAL, set(self->vm, 0, 0, GPA, PAGE, self->mem + 0x800));
	EXPECT_EQ(-EINVAL, set(self->vm, 0, 0, GPA, PAGE, self->mem + 8));
	/* Nothing was created by the refused calls. */
	EXPECT_EQ(0, set(self->vm, 0, 0, GPA, PAGE, self->mem));
}

/* userspace_addr must be user memory for the whole size (access_ok). */
TEST_F(slots, user_address)
{
	EXPECT_EQ(-EINVAL, set(self->vm, 0, 0, GPA, PAGE, (void *)(1UL << 63)));
	EXPECT_EQ(-EINVAL, set(self->vm, 0, 0, GPA, PAGE, (void *)0xffff800000000000UL));
	EXPECT_EQ(-EINVAL, set(self->vm, 0, 0, GPA, PAGE, (void *)-PAGE));
	/* A range that wraps around the top of the address space. */
	EXPECT_EQ(-EINVAL, set(self->vm, 0, 0, GPA, 2 * PAGE, (void *)-PAGE));
	EXPECT_EQ(-EINVAL, set(self->vm, 0, 0, GPA, 1UL << 62, self->mem));
}

TEST_F(slots, gpa_wrap)
{
	EXPECT_EQ(-EINVAL, set(self->vm, 0, 0, -PAGE, 2 * PAGE, self->mem));
	EXPECT_EQ(-EINVAL, set(self->vm, 0, 0, -4 * PAGE, 8 * PAGE, self->mem));
}

TEST_F(slots, slot_id)
{
	long nr = kvm_check_cap(KVM_CAP_NR_MEMSLOTS);

	ASSERT_GT(nr, 0);
	EXPECT_EQ(-EINVAL, set(self->vm, nr, 0, GPA, PAGE, self->mem));
	EXPECT_EQ(-EINVAL, set(self->vm, 0x7fff, 0, GPA, PAGE, self->mem));
	EXPECT_EQ(-EINVAL, set(self->vm, 0xffff, 0, GPA, PAGE, self->mem));
	/* Bits 16-31 name an address space; this one exists nowhere. */
	EXPECT_EQ(-EINVAL, set(self->vm, 0x12340000, 0, GPA, PAGE, self->mem));
	EXPECT_EQ(-EINVAL, set(self->vm, ~0U, 0, GPA, PAGE, self->mem));
	/* The last valid id works. */
	EXPECT_EQ(0, set(self->vm, nr - 1, 0, GPA, PAGE, self->mem));
	EXPECT_EQ(0, set(self->vm, nr - 1, 0, GPA, 0, self->mem));
}

TEST_F(slots, unknown_flags)
{
	EXPECT_EQ(-EINVAL, set(self->vm, 0, 1U << 7, GPA, PAGE, self->mem));
	EXPECT_EQ(-EINVAL, set(self->vm, 0, 1U << 31, GPA, PAGE, self->mem));
	EXPECT_EQ(-EINVAL, set(self->vm, 0, 0xfffffffc, GPA, PAGE, self->mem));
}

/* Size 0 deletes; deleting what does not exist is refused. */
TEST_F(slots, delete)
{
	EXPECT_EQ(-EINVAL, set(self->vm, 3, 0, GPA, 0, self->mem));
	ASSERT_EQ(0, set(self->vm, 3, 0, GPA, 4 * PAGE, self->mem));
	EXPECT_EQ(0, set(self->vm, 3, 0, GPA, 0, self->mem));
	EXPECT_EQ(-EINVAL, set(self->vm, 3, 0, GPA, 0, self->mem));
	/* The id and the range are free again, with a new size. */
	EXPECT_EQ(0, set(self->vm, 3, 0, GPA, 2 * PAGE, self->mem));
	EXPECT_EQ(0, set(self->vm, 4, 0, GPA + 2 * PAGE, 2 * PAGE, self->mem));
}

TEST_F(slots, overlap)
{
	ASSERT_EQ(0, set(self->vm, 0, 0, GPA, 4 * PAGE, self->mem));
	/* Same range, straddling either end, inside, around. */
	EXPECT_EQ(-EEXIST, set(self->vm, 1, 0, GPA, 4 * PAGE, self->mem));
	EXPECT_EQ(-EEXIST, set(self->vm, 1, 0, GPA + 3 * PAGE, 2 * PAGE, self->mem));
	EXPECT_EQ(-EEXIST, set(self->vm, 1, 0, GPA - PAGE, 2 * PAGE, self->mem));
	EXPECT_EQ(-EEXIST, set(self->vm, 1, 0, GPA + PAGE, PAGE, self->mem));
	EXPECT_EQ(-EEXIST, set(self->vm, 1, 0, GPA - PAGE, 8 * PAGE, self->mem));
	/* Adjacent on both sides is fine. */
	EXPECT_EQ(0, set(self->vm, 1, 0, GPA + 4 * PAGE, PAGE, self->mem));
	EXPECT_EQ(0, set(self->vm, 2, 0, GPA - PAGE, PAGE, self->mem));
	/* Overlap with a slot that is not the first one checked. */
	EXPECT_EQ(-EEXIST, set(self->vm, 5, 0, GPA + 4 * PAGE, PAGE, self->mem + PAGE));
}

/*
 * An existing slot may move and change no other property: its size,
 * userspace address and read-only flag are fixed until it is deleted.
 */
TEST_F(slots, modify)
{
	uint32_t ro = kvm_check_cap(KVM_CAP_READONLY_MEM) ? KVM_MEM_READONLY : 0;

	ASSERT_EQ(0, set(self->vm, 0, 0, GPA, 4 * PAGE, self->mem));
	ASSERT_EQ(0, set(self->vm, 1, ro, GPA + 8 * PAGE, 2 * PAGE, self->mem));
	/* The same again: nothing to do. */
	EXPECT_EQ(0, set(self->vm, 0, 0, GPA, 4 * PAGE, self->mem));
	EXPECT_EQ(-EINVAL, set(self->vm, 0, 0, GPA, 2 * PAGE, self->mem));
	EXPECT_EQ(-EINVAL, set(self->vm, 0, 0, GPA, 8 * PAGE, self->mem));
	EXPECT_EQ(-EINVAL, set(self->vm, 0, 0, GPA, 4 * PAGE, self->mem + PAGE));
	if (ro) {
		EXPECT_EQ(-EINVAL, set(self->vm, 0, KVM_MEM_READONLY, GPA, 4 * PAGE, self->mem));
		EXPECT_EQ(-EINVAL, set(self->vm, 1, 0, GPA + 8 * PAGE, 2 * PAGE, self->mem));
	}
	/* Moving is allowed, onto free space only. */
	EXPECT_EQ(0, set(self->vm, 0, 0, GPA + 0x100000, 4 * PAGE, self->mem));
	EXPECT_EQ(-EEXIST, set(self->vm, 0, 0, GPA + 7 * PAGE, 4 * PAGE, self->mem));
	EXPECT_EQ(-EINVAL, set(self->vm, 0, 0, GPA + 0x100800, 4 * PAGE, self->mem));
	/* Its old place is free now, its new one is not. */
	EXPECT_EQ(0, set(self->vm, 2, 0, GPA, 4 * PAGE, self->mem));
	EXPECT_EQ(-EEXIST, set(self->vm, 3, 0, GPA + 0x100000, PAGE, self->mem));
	/* Moving back onto the slot that took its place is refused. */
	EXPECT_EQ(-EEXIST, set(self->vm, 0, 0, GPA, 4 * PAGE, self->mem));
}

/* The host's physical address width, CPUID 0x80000008 EAX[7:0]. */
static int host_phys_bits(void)
{
	uint32_t a, b, c, d;

	asm volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000000), "c"(0));
	if (a < 0x80000008)
		return 36;
	asm volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000008), "c"(0));
	return a & 0xff;
}

/*
 * No slot beyond the host's physical address width, which is what the
 * nested tables can map (as KVM: kvm_mmu_max_gfn()); moving there is
 * refused too, and the refused calls change nothing.  What
 * KVM_GET_SUPPORTED_CPUID offers a guest is no wider.
 */
TEST_F(slots, phys_addr_width)
{
	int bits = host_phys_bits();
	uint64_t top = 1ULL << bits;
	struct kvm_cpuid_entry2 *e;
	struct kvm_cpuid2 *cpuid;

	TH_LOG("host physical address width: %d bits", bits);
	ASSERT_LE(36, bits);
	ASSERT_GE(52, bits);
	/* Crossing the top, at the top, far above. */
	EXPECT_EQ(-EINVAL, set(self->vm, 0, 0, top - PAGE, 2 * PAGE, self->mem));
	EXPECT_EQ(-EINVAL, set(self->vm, 0, 0, top - PAGE, 16 * PAGE, self->mem));
	EXPECT_EQ(-EINVAL, set(self->vm, 0, 0, top, PAGE, self->mem));
	EXPECT_EQ(-EINVAL, set(self->vm, 0, 0, top + GPA, PAGE, self->mem));
	EXPECT_EQ(-EINVAL, set(self->vm, 0, 0, 1ULL << 52, PAGE, self->mem));
	EXPECT_EQ(-EINVAL, set(self->vm, 0, 0, 1ULL << 57, PAGE, self->mem));
	EXPECT_EQ(-EINVAL, set(self->vm, 0, 0, 1ULL << 63, PAGE, self->mem));
	EXPECT_EQ(-EINVAL, set(self->vm, 0, 0, -16 * PAGE, 16 * PAGE, self->mem));
	/* Ending exactly at the top is fine. */
	EXPECT_EQ(0, set(self->vm, 0, 0, top - 2 * PAGE, 2 * PAGE, self->mem));
	EXPECT_EQ(0, set(self->vm, 1, 0, top - 4 * PAGE, PAGE, self->mem + 2 * PAGE));
	/* Moving across the top or above it: refused, the slot stays. */
	EXPECT_EQ(-EINVAL, set(self->vm, 1, 0, top, PAGE, self->mem + 2 * PAGE));
	EXPECT_EQ(-EINVAL, set(self->vm, 1, 0, top + GPA, PAGE, self->mem + 2 * PAGE));
	EXPECT_EQ(-EEXIST, set(self->vm, 2, 0, top - 4 * PAGE, PAGE, self->mem + 3 * PAGE));
	EXPECT_EQ(0, set(self->vm, 1, 0, top - 3 * PAGE, PAGE, self->mem + 2 * PAGE));
	/* Overlap is checked first (KVM checks the width last). */
	EXPECT_EQ(-EEXIST, set(self->vm, 2, 0, top - PAGE, 2 * PAGE, self->mem + 3 * PAGE));
	EXPECT_EQ(0, set(self->vm, 0, 0, top - 2 * PAGE, 0, self->mem));

	cpuid = cpuid_dup(kvm_supported_cpuid());
	e = cpuid_find(cpuid, 0x80000008, 0);
	ASSERT_NE(NULL, e);
	EXPECT_GE(bits, e->eax & 0xff);
	EXPECT_LE(36, e->eax & 0xff);
	/* What the guest is told it has is a place for a slot. */
	EXPECT_EQ(0, set(self->vm, 3, 0, (1ULL << (e->eax & 0xff)) - 16 * PAGE,
			 PAGE, self->mem + 4 * PAGE));
	free(cpuid);
}

/*
 * What a guest sees when a slot moves and goes away (the vCPU is stopped
 * at a ucall during each change).
 */
#define SLOT_A		FREE_GPA
#define SLOT_B		(FREE_GPA + 0x400000)
#define MEM_VALUE	0x5151515151515151ULL
#define MMIO_VALUE(gpa)	(0xaaaa000000000000ULL | (gpa))

static void guest_read_two(uint64_t a, uint64_t b)
{
	for (;;)
		GUEST_SYNC(*(volatile uint64_t *)a, *(volatile uint64_t *)b);
}

/* Run until the ucall, completing MMIO reads with MMIO_VALUE(gpa). */
static void run_to_sync(struct vcpu *vcpu, struct ucall *uc, int *nr_mmio)
{
	*nr_mmio = 0;
	for (;;) {
		vcpu_run(vcpu);
		if (vcpu->run->exit_reason != KVM_EXIT_MMIO)
			break;
		TEST_ASSERT(!vcpu->run->mmio.is_write && vcpu->run->mmio.len == 8,
			    "unexpected MMIO access");
		put_le(vcpu->run->mmio.data, MMIO_VALUE(vcpu->run->mmio.phys_addr), 8);
		++*nr_mmio;
	}
	TEST_ASSERT(get_ucall(vcpu, uc) == UCALL_SYNC, "expected a ucall");
}

TEST(guest_sees_move_and_delete)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	uint64_t *mem = host_mem_alloc(2 * PAGE), *mem2;
	struct ucall uc;
	int nr_mmio;

	mem[0] = MEM_VALUE;
	vm_set_region(vm, 2, 0, SLOT_A, 2 * PAGE, mem);
	vcpu_start_guest(vcpu, guest_read_two, 2, SLOT_A, SLOT_B);

	run_to_sync(vcpu, &uc, &nr_mmio);
	EXPECT_EQ(MEM_VALUE, uc.args[0]);
	EXPECT_EQ(MMIO_VALUE(SLOT_B), uc.args[1]);
	EXPECT_EQ(1, nr_mmio);

	/* Moved: A is MMIO now, B is the same memory. */
	vm_set_region(vm, 2, 0, SLOT_B, 2 * PAGE, mem);
	run_to_sync(vcpu, &uc, &nr_mmio);
	EXPECT_EQ(MMIO_VALUE(SLOT_A), uc.args[0]);
	EXPECT_EQ(MEM_VALUE, uc.args[1]);
	EXPECT_EQ(1, nr_mmio);

	/* A failed change leaves the slot as it was. */
	EXPECT_EQ(-EINVAL, __vm_set_region(vm, 2, 0, SLOT_B, 4 * PAGE, mem));
	EXPECT_EQ(-EEXIST, __vm_set_region(vm, 2, 0, HIGH_MEM_GPA, 2 * PAGE, mem));
	run_to_sync(vcpu, &uc, &nr_mmio);
	EXPECT_EQ(MEM_VALUE, uc.args[1]);

	/* Deleted: both are MMIO. */
	vm_set_region(vm, 2, 0, SLOT_B, 0, mem);
	run_to_sync(vcpu, &uc, &nr_mmio);
	EXPECT_EQ(MMIO_VALUE(SLOT_A), uc.args[0]);
	EXPECT_EQ(MMIO_VALUE(SLOT_B), uc.args[1]);
	EXPECT_EQ(2, nr_mmio);

	/* The id again, at A, with other memory behind it. */
	mem2 = host_mem_alloc(PAGE);
	mem2[0] = 0x600df00d;
	vm_set_region(vm, 2, 0, SLOT_A, PAGE, mem2);
	run_to_sync(vcpu, &uc, &nr_mmio);
	EXPECT_EQ(0x600df00d, uc.args[0]);
	EXPECT_EQ(MMIO_VALUE(SLOT_B), uc.args[1]);
	vm_free(vm);
}

/*
 * Host memory behind a slot that is not mapped: the slot is accepted
 * (only the address range is checked), and the guest touching it makes
 * KVM_RUN fail with EFAULT.
 */
TEST(unmapped_host_memory)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	uint8_t *mem = host_mem_alloc(4 * PAGE);

	ASSERT_EQ(0, munmap(mem, 4 * PAGE));
	ASSERT_EQ(0, __vm_set_region(vm, 2, 0, SLOT_A, 4 * PAGE, mem));
	vcpu_start_guest(vcpu, guest_read_two, 2, SLOT_A, SLOT_A);
	EXPECT_EQ(-EFAULT, __vcpu_run(vcpu));
	vm_free(vm);
}

/*
 * Slots deleted and moved under running vCPUs.  Each vCPU loops reading A
 * and B and reports both; the host changes the slot from another thread.
 * A KVM_RUN that began after the change completed must see the new
 * layout, one that ended before it began the old one: never the slot's
 * memory where it no longer is.
 */
#define NR_RACE_VCPUS	2

enum race_change { RACE_MOVE, RACE_DELETE };

struct race {
	struct vm *vm;
	struct vcpu *vcpu[NR_RACE_VCPUS];
	enum race_change change;
	atomic_int started;	/* the change ioctl was entered */
	atomic_int done;	/* ... and returned */
	atomic_int stop;
	atomic_int iters_before[NR_RACE_VCPUS];
	atomic_int iters_after[NR_RACE_VCPUS];
};

static void guest_race(uint64_t a, uint64_t b)
{
	int i;

	for (;;) {
		/* Stay in the guest a while, where the change can hit. */
		for (i = 0; i < 500; i++)
			asm volatile("pause");
		GUEST_SYNC(*(volatile uint64_t *)a, *(volatile uint64_t *)b);
	}
}

/* Which of A and B hold memory: before and after the change. */
static bool in_memory(enum race_change change, bool after, uint64_t gpa)
{
	if (!after)
		return gpa == SLOT_A;
	return change == RACE_MOVE && gpa == SLOT_B;
}

struct race_arg {
	struct race *r;
	int idx;
};

static void *race_thread(void *p)
{
	struct race_arg *ra = p;
	struct race *r = ra->r;
	struct vcpu *vcpu = r->vcpu[ra->idx];
	struct kvm_run *run = vcpu->run;

	/*
	 * An iteration of the guest's loop (reads of A and B, then the
	 * ucall) may span several KVM_RUNs, one per MMIO exit: its values
	 * follow the new layout if its first KVM_RUN began after the change
	 * completed, the old one if its last KVM_RUN ended before the change
	 * began.
	 */
	bool new_iter = true, iter_after = false;

	while (!atomic_load(&r->stop)) {
		bool after = atomic_load(&r->done);	/* before KVM_RUN */
		bool before;
		struct ucall uc;

		if (new_iter)
			iter_after = after;
		new_iter = false;
		vcpu_run(vcpu);
		before = !atomic_load(&r->started);	/* after KVM_RUN */

		if (run->exit_reason == KVM_EXIT_MMIO) {
			uint64_t gpa = run->mmio.phys_addr;

			TEST_ASSERT(gpa == SLOT_A || gpa == SLOT_B,
				    "MMIO exit at %#lx", (unsigned long)gpa);
			TEST_ASSERT(!(after && in_memory(r->change, true, gpa)),
				    "MMIO exit at %#lx after the change made it memory",
				    (unsigned long)gpa);
			TEST_ASSERT(!(before && in_memory(r->change, false, gpa)),
				    "MMIO exit at %#lx before the change", (unsigned long)gpa);
			put_le(run->mmio.data, MMIO_VALUE(gpa), 8);
			continue;
		}
		TEST_ASSERT(get_ucall(vcpu, &uc) == UCALL_SYNC,
			    "vCPU %d: exit %s", vcpu->id, exit_reason_str(run->exit_reason));
		new_iter = true;
		/* The values read tell where they came from. */
		if (iter_after) {
			TEST_ASSERT(uc.args[0] == MMIO_VALUE(SLOT_A),
				    "vCPU %d read %#llx at A after the change",
				    vcpu->id, (unsigned long long)uc.args[0]);
			TEST_ASSERT(uc.args[1] == (r->change == RACE_MOVE ?
						   MEM_VALUE : MMIO_VALUE(SLOT_B)),
				    "vCPU %d read %#llx at B after the change",
				    vcpu->id, (unsigned long long)uc.args[1]);
			atomic_fetch_add(&r->iters_after[ra->idx], 1);
		} else if (before) {
			TEST_ASSERT(uc.args[0] == MEM_VALUE && uc.args[1] == MMIO_VALUE(SLOT_B),
				    "vCPU %d read %#llx, %#llx before the change",
				    vcpu->id, (unsigned long long)uc.args[0],
				    (unsigned long long)uc.args[1]);
			atomic_fetch_add(&r->iters_before[ra->idx], 1);
		}
	}
	return NULL;
}

static void wait_all(struct __test_metadata *_metadata, atomic_int *counters, int min)
{
	int i, spins;

	for (i = 0; i < NR_RACE_VCPUS; i++) {
		for (spins = 0; atomic_load(&counters[i]) < min; spins++) {
			ASSERT_LT(spins, 20000) TH_LOG("vCPU %d made no progress", i);
			usleep(1000);
		}
	}
}

static void race(struct __test_metadata *_metadata, enum race_change change)
{
	struct race r = { .change = change };
	struct race_arg args[NR_RACE_VCPUS];
	pthread_t threads[NR_RACE_VCPUS];
	uint64_t *mem = host_mem_alloc(2 * PAGE);
	int i;

	mem[0] = MEM_VALUE;
	r.vm = vm_create();
	vm_set_region(r.vm, 2, 0, SLOT_A, 2 * PAGE, mem);
	for (i = 0; i < NR_RACE_VCPUS; i++) {
		r.vcpu[i] = vm_vcpu_add(r.vm, i);
		vcpu_start_guest(r.vcpu[i], guest_race, 2, SLOT_A, SLOT_B);
		args[i] = (struct race_arg){ &r, i };
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, race_thread, &args[i]));
	}

	wait_all(_metadata, r.iters_before, 20);
	atomic_store(&r.started, 1);
	if (change == RACE_MOVE)
		vm_set_region(r.vm, 2, 0, SLOT_B, 2 * PAGE, mem);
	else
		vm_set_region(r.vm, 2, 0, SLOT_A, 0, mem);
	atomic_store(&r.done, 1);
	wait_all(_metadata, r.iters_after, 20);

	atomic_store(&r.stop, 1);
	for (i = 0; i < NR_RACE_VCPUS; i++)
		pthread_join(threads[i], NULL);
	vm_free(r.vm);
	munmap(mem, 2 * PAGE);
}

TEST(delete_while_running)
{
	race(_metadata, RACE_DELETE);
}

TEST(move_while_running)
{
	race(_metadata, RACE_MOVE);
}

/*
 * A slot moved back and forth by one to three pages, so that its old and
 * new ranges overlap, while vCPUs read and write every page of it.  Each
 * page starts with a tag naming it; each vCPU writes its own word of each
 * page and reads it back.  The host bumps a sequence count in guest memory
 * around every move (odd while it is under way) and publishes the slot's
 * base there, and a guest checks what it read only when the count was
 * even and the same before and after: then the slot was at that base for
 * the whole access, and the guest must see the slot's memory there, never
 * MMIO and never another page.  Every access must complete: a vCPU that
 * stops making progress (a fault that is never resolved) fails the test
 * within a time limit instead of hanging it.
 */
#define NR_SHIFT_VCPUS	4
#define SHIFT_PAGES	8
#define SHIFT_BASE	(FREE_GPA + 0x100000)
#define SHIFT_TAG(i)	(0x7a67000000000000ULL | (i))
#define SHIFT_VAL(v, i, pass) \
	(0x3c00000000000000ULL | ((uint64_t)(v) << 48) | \
	 ((uint64_t)(i) << 32) | (uint32_t)(pass))
#define SHIFT_SECONDS	60	/* at most, for the moves */
#define SHIFT_STUCK_SECONDS 10	/* a vCPU without progress this long is stuck */

struct shift_ctl {
	uint64_t seq;			/* odd while the slot moves */
	uint64_t base;			/* the slot's gpa while seq is even */
	uint64_t stop;			/* the guests finish their pass */
	uint64_t passes[NR_SHIFT_VCPUS];	/* completed by each vCPU */
	uint64_t checked[NR_SHIFT_VCPUS];	/* accesses checked */
};

static struct shift_ctl shift_ctl;	/* the guest's copy is the one used */

static void guest_shift(struct shift_ctl *ctl, uint64_t v)
{
	volatile struct shift_ctl *c = ctl;
	uint64_t pass, i;

	for (pass = 0; !c->stop; pass++) {
		for (i = 0; i < SHIFT_PAGES; i++) {
			uint64_t s1, s2, base, tag, val;
			volatile uint64_t *p;

			s1 = c->seq;
			base = c->base;
			p = (volatile uint64_t *)(base + i * PAGE);
			tag = p[0];
			p[1 + v] = SHIFT_VAL(v, i, pass);
			val = p[1 + v];
			s2 = c->seq;
			if (s1 != s2 || (s1 & 1))
				continue;	/* moved meanwhile: no check */
			GUEST_ASSERT_EQ(tag, SHIFT_TAG(i));
			GUEST_ASSERT_EQ(val, SHIFT_VAL(v, i, pass));
			c->checked[v]++;
		}
		c->passes[v] = pass + 1;
	}
	GUEST_DONE();
}

struct shift_vcpu {
	struct vcpu *vcpu;
	pthread_t thread;
	atomic_int finished;
	atomic_int interrupted;	/* KVM_RUN ended by the watchdog's signal */
	atomic_long mmio;	/* exits where the slot had just moved away */
};

static void *shift_thread(void *p)
{
	struct shift_vcpu *sv = p;
	struct kvm_run *run = sv->vcpu->run;
	struct ucall uc;
	int r;

	for (;;) {
		r = __vcpu_run(sv->vcpu);
		if (r == -EINTR) {
			atomic_store(&sv->interrupted, 1);
			break;
		}
		TEST_ASSERT(!r, "KVM_RUN: %s", strerror(-r));
		if (run->exit_reason == KVM_EXIT_MMIO) {
			uint64_t gpa = run->mmio.phys_addr;

			/* Only where the slot is at one of its places. */
			TEST_ASSERT(gpa >= SHIFT_BASE &&
				    gpa < SHIFT_BASE + (SHIFT_PAGES + 3) * PAGE,
				    "MMIO exit at %#llx", (unsigned long long)gpa);
			if (!run->mmio.is_write)
				memset(run->mmio.data, 0xee, run->mmio.len);
			atomic_fetch_add(&sv->mmio, 1);
			continue;
		}
		if (get_ucall(sv->vcpu, &uc) == UCALL_DONE)
			break;
		ucall_check(sv->vcpu, &uc, __FILE__, __LINE__);
		TEST_ASSERT(false, "vCPU %d: exit %s", sv->vcpu->id,
			    exit_reason_str(run->exit_reason));
	}
	atomic_store(&sv->finished, 1);
	return NULL;
}

static void shift_nop(int sig)
{
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Wait until every vCPU has completed two more passes of the slot (the
 * slot stays put meanwhile), at most SHIFT_STUCK_SECONDS: false if one
 * did not, which means one of its accesses never completed.
 */
static bool shift_progress(volatile struct shift_ctl *ctl, struct shift_vcpu *sv)
{
	uint64_t passes[NR_SHIFT_VCPUS];
	double limit = now_s() + SHIFT_STUCK_SECONDS;
	int v;

	for (v = 0; v < NR_SHIFT_VCPUS; v++)
		passes[v] = __atomic_load_n(&ctl->passes[v], __ATOMIC_SEQ_CST);
	for (v = 0; v < NR_SHIFT_VCPUS; v++) {
		while (__atomic_load_n(&ctl->passes[v], __ATOMIC_SEQ_CST) < passes[v] + 2) {
			if (atomic_load(&sv[v].finished) || now_s() > limit) {
				test_log("vCPU %d stuck at pass %llu", v,
					 (unsigned long long)passes[v]);
				return false;
			}
			usleep(100);
		}
	}
	return true;
}

/* A fixture only for TEST_F_TIMEOUT: the harness's 30 s are too few. */
FIXTURE(shift) {
	int unused;
};

FIXTURE_SETUP(shift)
{
}

FIXTURE_TEARDOWN(shift)
{
}

TEST_F_TIMEOUT(shift, move_overlapping_while_running,
	       SHIFT_SECONDS + 2 * SHIFT_STUCK_SECONDS + 30)
{
	struct shift_vcpu sv[NR_SHIFT_VCPUS] = { };
	unsigned long moves = mkvm_stress(1000), m;
	uint64_t *mem = host_mem_alloc(SHIFT_PAGES * PAGE);
	struct sigaction sa = { .sa_handler = shift_nop };
	double t0 = now_s(), deadline = t0 + SHIFT_SECONDS;
	volatile struct shift_ctl *ctl;
	long mmio = 0, checked = 0;
	struct kvm_regs regs;
	bool progress = true;
	struct vm *vm;
	int i, v;

	/*
	 * Not under Bochs, where a guest second takes about half a minute:
	 * four vCPUs taking turns on one CPU get through the passes this
	 * needs too slowly for the rig's time limit (testing.rst).
	 */
	if (mkvm_on_bochs())
		SKIP(return, "too slow under Bochs' clock for the rig (testing.rst)");
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	for (i = 0; i < SHIFT_PAGES; i++)
		mem[i * PAGE / 8] = SHIFT_TAG(i);
	vm = vm_create();
	vm_set_region(vm, 2, 0, SHIFT_BASE, SHIFT_PAGES * PAGE, mem);
	ctl = gpa2hva(vm, (uint64_t)&shift_ctl);
	ctl->base = SHIFT_BASE;
	for (v = 0; v < NR_SHIFT_VCPUS; v++) {
		sv[v].vcpu = vm_vcpu_add(vm, v);
		vcpu_start_guest(sv[v].vcpu, guest_shift, 2, &shift_ctl, v);
		/*
		 * The guests spin without exits once the slot is mapped:
		 * with IF set, as Bochs exits such a guest for host
		 * interrupts only then (mkvm_on_bochs()).  Nothing is
		 * injected, so the guest takes no interrupt.
		 */
		vcpu_get_regs(sv[v].vcpu, &regs);
		regs.rflags |= RFLAGS_IF;
		vcpu_set_regs(sv[v].vcpu, &regs);
		ASSERT_EQ(0, pthread_create(&sv[v].thread, NULL, shift_thread, &sv[v]));
	}

	/*
	 * Back and forth: +1, back, +2, back, +3, back, ...  Mostly one move
	 * right after the other, so that the vCPUs fault on a slot that is
	 * about to move; every eighth move, the vCPUs must get through.
	 */
	for (m = 0; m < moves && now_s() < deadline; m++) {
		uint64_t to = m & 1 ? SHIFT_BASE : SHIFT_BASE + (1 + m / 2 % 3) * PAGE;

		__atomic_store_n(&ctl->seq, ctl->seq + 1, __ATOMIC_SEQ_CST);
		vm_set_region(vm, 2, 0, to, SHIFT_PAGES * PAGE, mem);
		ctl->base = to;
		__atomic_store_n(&ctl->seq, ctl->seq + 1, __ATOMIC_SEQ_CST);
		if (m % 8 == 7 && !(progress = shift_progress(ctl, sv)))
			break;
	}
	/* Where the slot stays now, too (this is where the guests end). */
	if (progress)
		progress = shift_progress(ctl, sv);
	EXPECT_TRUE(progress) TH_LOG("a vCPU made no progress after move %lu", m);
	if (progress && m < moves)
		TH_LOG("%lu of %lu moves in %d s", m, moves, SHIFT_SECONDS);
	/* Under Bochs the time may end first: enough for two checks. */
	if (progress)
		EXPECT_LE(16 < moves ? 16 : moves, m);

	ctl->stop = 1;
	for (v = 0; v < NR_SHIFT_VCPUS; v++) {
		/* A vCPU still inside KVM_RUN now is stuck: interrupt it. */
		while (!atomic_load(&sv[v].finished)) {
			if (progress && now_s() < deadline + 2 * SHIFT_STUCK_SECONDS) {
				usleep(1000);
				continue;
			}
			pthread_kill(sv[v].thread, SIGUSR1);
			usleep(10000);
		}
		pthread_join(sv[v].thread, NULL);
		EXPECT_FALSE(progress && atomic_load(&sv[v].interrupted))
			TH_LOG("vCPU %d did not finish", v);
		mmio += atomic_load(&sv[v].mmio);
		checked += ctl->checked[v];
	}
	TH_LOG("%lu moves in %.1f s, %ld accesses checked, %ld MMIO exits", m,
	       now_s() - t0, checked, mmio);
	if (!progress)
		goto out;

	/* The memory holds the last pass's writes, each in its own page. */
	for (v = 0; v < NR_SHIFT_VCPUS; v++) {
		ASSERT_LT(0, ctl->passes[v]);
		for (i = 0; i < SHIFT_PAGES; i++) {
			EXPECT_EQ(SHIFT_TAG(i), mem[i * PAGE / 8]);
			EXPECT_EQ(SHIFT_VAL(v, i, ctl->passes[v] - 1),
				  mem[i * PAGE / 8 + 1 + v]);
		}
	}
out:
	vm_free(vm);
	munmap(mem, SHIFT_PAGES * PAGE);
}

TEST_HARNESS_MAIN
