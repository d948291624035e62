// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_SET_USER_MEMORY_REGION: every validation with KVM's errno, what
 * may and may not change in an existing slot, and slots deleted or moved
 * while vCPUs run (guests then see MMIO exits where the slot was, never
 * its old memory).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
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

TEST_HARNESS_MAIN
