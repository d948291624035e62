// SPDX-License-Identifier: GPL-2.0
/*
 * Dirty page logging: KVM_MEM_LOG_DIRTY_PAGES and KVM_GET_DIRTY_LOG.
 * A guest writes a known set of pages of a logged slot and the log shows
 * exactly those, once; a write after the ioctl is in the next log; reads
 * dirty nothing; logging starts and stops on an existing slot; and a
 * vCPU writing all the time while the host takes the log many times
 * never has a write lost (each ioctl write-protects and flushes before
 * it returns).  Bad input gets KVM's errnos.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "lib/ucall.h"
#include "lib/x86.h"

#define PAGE		0x1000UL
#define SLOT		2
#define SLOT_GPA	FREE_GPA
#define NPAGES		72		/* more than a long's bits, not a multiple */
#define NWORDS		2

/* What the guest does each round; in a page of the standard slots. */
struct ctl {
	uint64_t write;			/* 1: write the pages, 0: read them */
	uint64_t pages[NWORDS];		/* which pages */
	uint64_t value;			/* written to the pages' first word */
	uint64_t stop;			/* the writer: stop and GUEST_DONE() */
};

static void guest_rounds(struct ctl *ctl, uint64_t base)
{
	for (;;) {
		uint64_t sum = 0;
		int i;

		for (i = 0; i < NPAGES; i++) {
			volatile uint64_t *p = (uint64_t *)(base + i * PAGE);

			if (!(ctl->pages[i / 64] & (1ULL << (i % 64))))
				continue;
			if (ctl->write)
				*p = ctl->value + i;
			else
				sum += *p;
		}
		GUEST_SYNC(sum, 0);
	}
}

FIXTURE(log) {
	struct vm *vm;
	struct vcpu *vcpu;
	uint64_t ctl_gpa;
	struct ctl *ctl;	/* host view of the guest's */
	uint64_t *mem;		/* the slot's memory */
};

FIXTURE_SETUP(log)
{
	self->vm = vm_create();
	self->vcpu = vm_vcpu_add(self->vm, 0);
	self->ctl_gpa = vm_alloc_pages(self->vm, 1);
	self->ctl = gpa2hva(self->vm, self->ctl_gpa);
	self->mem = host_mem_alloc(NPAGES * PAGE);
	vcpu_start_guest(self->vcpu, guest_rounds, 2, self->ctl_gpa, SLOT_GPA);
}

FIXTURE_TEARDOWN(log)
{
	vm_free(self->vm);
	munmap(self->mem, NPAGES * PAGE);
}

static int get_log(struct vm *vm, uint32_t slot, void *bitmap)
{
	struct kvm_dirty_log log = { .slot = slot, .dirty_bitmap = bitmap };

	return __mkvm_ioctl(vm->fd, KVM_GET_DIRTY_LOG, (unsigned long)&log);
}

/* One round of the guest over @pages (a list ending with -1). */
static void round_on(struct vcpu *vcpu, struct ctl *ctl, bool write,
		     uint64_t value, const int *pages)
{
	struct ucall uc;

	memset(ctl->pages, 0, sizeof(ctl->pages));
	for (; *pages >= 0; pages++)
		ctl->pages[*pages / 64] |= 1ULL << (*pages % 64);
	ctl->write = write;
	ctl->value = value;
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
}

static const int none[] = { -1 };
static const int all[] = {
	 0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14, 15, 16, 17,
	18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35,
	36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53,
	54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71,
	-1 };

/* The slot's log is exactly @pages. */
static void __expect_log(struct __test_metadata *_metadata, struct vm *vm,
			 const int *pages)
{
	uint64_t want[NWORDS] = { 0 }, got[NWORDS];
	int i;

	memset(got, 0xa5, sizeof(got));
	for (; *pages >= 0; pages++)
		want[*pages / 64] |= 1ULL << (*pages % 64);
	ASSERT_EQ(0, get_log(vm, SLOT, got));
	for (i = 0; i < NWORDS; i++) {
		if (got[i] != want[i])
			TH_LOG("word %d: %#018lx, expected %#018lx",
			       i, (unsigned long)got[i], (unsigned long)want[i]);
		EXPECT_EQ(want[i], got[i]);
	}
}
#define expect_log(vm, pages) __expect_log(_metadata, vm, pages)

TEST_F(log, writes_are_logged_once)
{
	static const int some[] = { 0, 3, 63, 64, 71, -1 };
	static const int more[] = { 0, 5, -1 };
	int i;

	vm_set_region(self->vm, SLOT, KVM_MEM_LOG_DIRTY_PAGES, SLOT_GPA,
		      NPAGES * PAGE, self->mem);
	expect_log(self->vm, none);
	round_on(self->vcpu, self->ctl, true, 0x1000, some);
	expect_log(self->vm, some);
	for (i = 0; some[i] >= 0; i++)
		EXPECT_EQ(0x1000 + some[i], self->mem[some[i] * PAGE / 8]);
	/* Taken: the next log is empty. */
	expect_log(self->vm, none);
	/* A write after the ioctl, to a page that was dirty and one not. */
	round_on(self->vcpu, self->ctl, true, 0x2000, more);
	expect_log(self->vm, more);
	expect_log(self->vm, none);
	/* Every page, twice between logs: each is logged once. */
	round_on(self->vcpu, self->ctl, true, 0x3000, all);
	round_on(self->vcpu, self->ctl, true, 0x4000, all);
	expect_log(self->vm, all);
	expect_log(self->vm, none);
	for (i = 0; i < NPAGES; i++)
		EXPECT_EQ(0x4000 + i, self->mem[i * PAGE / 8]);
}

/*
 * Reads dirty nothing.  (The host does not touch the slot's memory before
 * the first reads: KVM maps a page writable on a read fault, and logs it,
 * when the host's own page table has it writable already.)
 */
TEST_F(log, reads_do_not_dirty)
{
	static const int one[] = { 7, -1 };

	vm_set_region(self->vm, SLOT, KVM_MEM_LOG_DIRTY_PAGES, SLOT_GPA,
		      NPAGES * PAGE, self->mem);
	round_on(self->vcpu, self->ctl, false, 0, all);
	expect_log(self->vm, none);
	round_on(self->vcpu, self->ctl, true, 0x100, one);
	expect_log(self->vm, one);
	round_on(self->vcpu, self->ctl, false, 0, all);
	expect_log(self->vm, none);
	EXPECT_EQ(0x107, self->mem[7 * PAGE / 8]);
}

/* Logging starts and stops on an existing slot (a change of flags). */
TEST_F(log, toggle_on_existing_slot)
{
	static const int two[] = { 2, 9, -1 };
	static const int three[] = { 1, 65, 70, -1 };
	uint64_t bitmap[NWORDS];

	vm_set_region(self->vm, SLOT, 0, SLOT_GPA, NPAGES * PAGE, self->mem);
	round_on(self->vcpu, self->ctl, true, 0x10, all);
	EXPECT_EQ(-ENOENT, get_log(self->vm, SLOT, bitmap));

	/* On: nothing dirty yet, though every page was written before. */
	vm_set_region(self->vm, SLOT, KVM_MEM_LOG_DIRTY_PAGES, SLOT_GPA,
		      NPAGES * PAGE, self->mem);
	expect_log(self->vm, none);
	round_on(self->vcpu, self->ctl, true, 0x20, two);
	expect_log(self->vm, two);
	EXPECT_EQ(0x22, self->mem[2 * PAGE / 8]);
	EXPECT_EQ(0x10 + 3, self->mem[3 * PAGE / 8]);

	/* Off: no log, and the guest's writes still land. */
	vm_set_region(self->vm, SLOT, 0, SLOT_GPA, NPAGES * PAGE, self->mem);
	EXPECT_EQ(-ENOENT, get_log(self->vm, SLOT, bitmap));
	round_on(self->vcpu, self->ctl, true, 0x30, all);
	EXPECT_EQ(0x30 + 9, self->mem[9 * PAGE / 8]);
	EXPECT_EQ(-ENOENT, get_log(self->vm, SLOT, bitmap));

	/* On again: a fresh log. */
	vm_set_region(self->vm, SLOT, KVM_MEM_LOG_DIRTY_PAGES, SLOT_GPA,
		      NPAGES * PAGE, self->mem);
	expect_log(self->vm, none);
	round_on(self->vcpu, self->ctl, true, 0x40, three);
	expect_log(self->vm, three);
	expect_log(self->vm, none);
}

/* A slot moved while logging keeps its log. */
TEST_F(log, move_keeps_log)
{
	static const int two[] = { 4, 66, -1 };

	vm_set_region(self->vm, SLOT, KVM_MEM_LOG_DIRTY_PAGES, SLOT_GPA,
		      NPAGES * PAGE, self->mem);
	round_on(self->vcpu, self->ctl, true, 0x50, two);
	vm_set_region(self->vm, SLOT, KVM_MEM_LOG_DIRTY_PAGES,
		      SLOT_GPA + 0x400000, NPAGES * PAGE, self->mem);
	expect_log(self->vm, two);
	expect_log(self->vm, none);
}

TEST_F(log, bad_input)
{
	uint64_t bitmap[NWORDS];
	uint32_t ro = kvm_check_cap(KVM_CAP_READONLY_MEM) ? KVM_MEM_READONLY : 0;

	vm_set_region(self->vm, SLOT, KVM_MEM_LOG_DIRTY_PAGES, SLOT_GPA,
		      NPAGES * PAGE, self->mem);
	/* A free id, a slot without logging: no log. */
	EXPECT_EQ(-ENOENT, get_log(self->vm, 5, bitmap));
	EXPECT_EQ(-ENOENT, get_log(self->vm, 0, bitmap));
	/* No such id, no such address space. */
	EXPECT_EQ(-EINVAL, get_log(self->vm, 0xffff, bitmap));
	EXPECT_EQ(-EINVAL, get_log(self->vm, (2 << 16) | SLOT, bitmap));
	EXPECT_EQ(-EINVAL, get_log(self->vm, ~0U, bitmap));
	/* The bitmap and the struct must be user memory. */
	EXPECT_EQ(-EFAULT, get_log(self->vm, SLOT, NULL));
	EXPECT_EQ(-EFAULT, get_log(self->vm, SLOT, (void *)(1UL << 63)));
	EXPECT_EQ(-EFAULT, __mkvm_ioctl(self->vm->fd, KVM_GET_DIRTY_LOG, 8));
	/* Still working. */
	expect_log(self->vm, none);

	/* Read-only slots may log (nothing ever dirties them); the read-only
	 * flag itself cannot change, with or without logging. */
	if (ro) {
		EXPECT_EQ(0, __vm_set_region(self->vm, 3, ro | KVM_MEM_LOG_DIRTY_PAGES,
					     SLOT_GPA + 0x400000, PAGE, self->mem));
		EXPECT_EQ(0, get_log(self->vm, 3, bitmap));
		EXPECT_EQ(-EINVAL, __vm_set_region(self->vm, 3, KVM_MEM_LOG_DIRTY_PAGES,
						   SLOT_GPA + 0x400000, PAGE, self->mem));
		EXPECT_EQ(-EINVAL, __vm_set_region(self->vm, SLOT, ro | KVM_MEM_LOG_DIRTY_PAGES,
						   SLOT_GPA, NPAGES * PAGE, self->mem));
	}
	/* The log's flag is known; the next bit is not. */
	EXPECT_EQ(-EINVAL, __vm_set_region(self->vm, 4, 1U << 2,
					   SLOT_GPA + 0x800000, PAGE, self->mem));
}

/*
 * A vCPU writes every page without pause while the host takes the log
 * again and again, copying each page the log names after the ioctl
 * returns.  When the vCPU has stopped and the last log is taken, the
 * copy must equal the memory: a write that no log reported (one that
 * went through a writable translation left behind) would differ.
 */
static void guest_writer(struct ctl *ctl, uint64_t base)
{
	uint64_t n = 0;
	int i;

	/*
	 * Spin with IF set: Bochs stops for good while a nested guest spins
	 * with it clear (testing.rst).  Nothing is ever injected here.
	 */
	asm volatile("sti");
	while (!*(volatile uint64_t *)&ctl->stop)
		for (i = 0; i < NPAGES; i++)
			*(volatile uint64_t *)(base + i * PAGE) = ++n;
	GUEST_SYNC(n, 0);
}

struct writer {
	struct vcpu *vcpu;
	atomic_int done;
};

static void *writer_thread(void *arg)
{
	struct writer *w = arg;
	struct ucall uc;

	vcpu_run_expect(w->vcpu, UCALL_SYNC, &uc);
	atomic_store(&w->done, 1);
	return NULL;
}

static void harvest(struct __test_metadata *_metadata, struct vm *vm,
		    const uint64_t *mem, uint64_t *copy, int *nr_dirty)
{
	uint64_t bitmap[NWORDS];
	int i;

	ASSERT_EQ(0, get_log(vm, SLOT, bitmap));
	for (i = 0; i < NPAGES; i++) {
		if (!(bitmap[i / 64] & (1ULL << (i % 64))))
			continue;
		copy[i] = __atomic_load_n(&mem[i * PAGE / 8], __ATOMIC_RELAXED);
		++*nr_dirty;
	}
}

TEST_F(log, no_write_lost)
{
	uint64_t copy[NPAGES] = { 0 };
	struct writer w = { .vcpu = self->vcpu };
	int i, nr_dirty = 0;
	pthread_t thread;

	vm_set_region(self->vm, SLOT, KVM_MEM_LOG_DIRTY_PAGES, SLOT_GPA,
		      NPAGES * PAGE, self->mem);
	vcpu_start_guest(self->vcpu, guest_writer, 2, self->ctl_gpa, SLOT_GPA);
	ASSERT_EQ(0, pthread_create(&thread, NULL, writer_thread, &w));
	for (i = 0; i < 300; i++) {
		harvest(_metadata, self->vm, self->mem, copy, &nr_dirty);
		usleep(i % 3 ? 0 : 1000);
	}
	self->ctl->stop = 1;
	pthread_join(thread, NULL);
	ASSERT_TRUE(atomic_load(&w.done));
	harvest(_metadata, self->vm, self->mem, copy, &nr_dirty);
	TH_LOG("%d pages logged in 301 logs", nr_dirty);
	EXPECT_LT(NPAGES, nr_dirty);
	for (i = 0; i < NPAGES; i++) {
		if (copy[i] != self->mem[i * PAGE / 8])
			TH_LOG("page %d: copy %lu, memory %lu", i,
			       (unsigned long)copy[i],
			       (unsigned long)self->mem[i * PAGE / 8]);
		EXPECT_EQ(self->mem[i * PAGE / 8], copy[i]);
	}
	/* Nothing written since the last log. */
	expect_log(self->vm, none);
}

TEST_HARNESS_MAIN
