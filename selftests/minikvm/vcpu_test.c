// SPDX-License-Identifier: GPL-2.0
/*
 * vCPUs: creation (ids, limits, the kvm_run mapping), 64 of them running
 * at once in their own threads, the exits of the run loop that are not
 * about I/O (HLT, triple fault -> SHUTDOWN, state the CPU refuses ->
 * FAIL_ENTRY), KVM_GET/SET_MP_STATE without in-kernel irqchip, the VM
 * ioctls a VMM makes before creating vCPUs, and guest time counted as
 * the task's guest time.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "lib/ucall.h"
#include "lib/x86.h"

#define NR_VCPUS_AT_ONCE 64

TEST(vcpu_limits)
{
	long nr = kvm_check_cap(KVM_CAP_NR_VCPUS);
	long max = kvm_check_cap(KVM_CAP_MAX_VCPUS);
	long max_id = kvm_check_cap(KVM_CAP_MAX_VCPU_ID);
	struct vm *vm = vm_create_bare();

	/* NR_VCPUS is a recommendation (on KVM: the online host CPUs). */
	EXPECT_GE(nr, 1);
	EXPECT_LE(nr, max);
	EXPECT_GE(max, NR_VCPUS_AT_ONCE);
	EXPECT_GE(max_id, max);
	/* The VM fd answers the same. */
	EXPECT_EQ(nr, __mkvm_ioctl(vm->fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS));
	EXPECT_EQ(max, __mkvm_ioctl(vm->fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS));
	EXPECT_EQ(max_id, __mkvm_ioctl(vm->fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPU_ID));
	vm_free(vm);
}

TEST(vcpu_ids)
{
	long max_id = kvm_check_cap(KVM_CAP_MAX_VCPU_ID);
	struct vm *vm = vm_create_bare();
	int fd0, fd1, fd_last;

	fd0 = __mkvm_ioctl(vm->fd, KVM_CREATE_VCPU, 0);
	ASSERT_GE(fd0, 0);
	/* vCPU fds are close-on-exec, like VM fds. */
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd0, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(-EEXIST, __mkvm_ioctl(vm->fd, KVM_CREATE_VCPU, 0));
	fd1 = __mkvm_ioctl(vm->fd, KVM_CREATE_VCPU, 1);
	ASSERT_GE(fd1, 0);
	EXPECT_EQ(-EEXIST, __mkvm_ioctl(vm->fd, KVM_CREATE_VCPU, 1));
	/* Ids are [0, KVM_CAP_MAX_VCPU_ID), not dense. */
	EXPECT_EQ(-EINVAL, __mkvm_ioctl(vm->fd, KVM_CREATE_VCPU, max_id));
	EXPECT_EQ(-EINVAL, __mkvm_ioctl(vm->fd, KVM_CREATE_VCPU, max_id + 1));
	EXPECT_EQ(-EINVAL, __mkvm_ioctl(vm->fd, KVM_CREATE_VCPU, 0x80000000UL));
	EXPECT_EQ(-EINVAL, __mkvm_ioctl(vm->fd, KVM_CREATE_VCPU, 0xffffffffUL));
	fd_last = __mkvm_ioctl(vm->fd, KVM_CREATE_VCPU, max_id - 1);
	ASSERT_GE(fd_last, 0);
	EXPECT_EQ(-EEXIST, __mkvm_ioctl(vm->fd, KVM_CREATE_VCPU, max_id - 1));
	/* Closing a vCPU fd does not free its id while the VM lives. */
	close(fd1);
	EXPECT_EQ(-EEXIST, __mkvm_ioctl(vm->fd, KVM_CREATE_VCPU, 1));
	close(fd0);
	close(fd_last);
	vm_free(vm);
}

/* The kvm_run mapping: KVM_GET_VCPU_MMAP_SIZE bytes, shared. */
TEST(run_mapping)
{
	struct vm *vm = vm_create_bare();
	int fd = __mkvm_ioctl(vm->fd, KVM_CREATE_VCPU, 0);
	struct kvm_run *a, *b;

	ASSERT_GE(fd, 0);
	a = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, a);
	b = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, b);
	/* Two mappings are the same memory. */
	a->request_interrupt_window = 1;
	EXPECT_EQ(1, b->request_interrupt_window);
	a->request_interrupt_window = 0;
	EXPECT_EQ(0, b->request_interrupt_window);
	munmap(a, vm->run_size);
	munmap(b, vm->run_size);
	close(fd);
	vm_free(vm);
}

/*
 * 64 vCPUs, one thread each, released together.  Each guest runs the same
 * C function on its own stack: it reports its id a number of times and
 * leaves a mark in a shared array; every thread checks its own exits.
 */
#define RUNS_PER_VCPU 20

static uint64_t marks[NR_VCPUS_AT_ONCE];

static void guest_many(uint64_t id)
{
	uint64_t i, sum = 0;

	for (i = 0; i < RUNS_PER_VCPU; i++) {
		sum += i;
		GUEST_SYNC(id, i);
	}
	marks[id] = id * 1000 + sum;
}

struct many {
	struct vcpu *vcpu;
	pthread_barrier_t *barrier;
	atomic_int *running;
	int max_running;
};

static void *many_thread(void *p)
{
	struct many *m = p;
	struct vcpu *vcpu = m->vcpu;
	struct ucall uc;
	int i, now;

	pthread_barrier_wait(m->barrier);
	for (i = 0; i < RUNS_PER_VCPU; i++) {
		now = atomic_fetch_add(m->running, 1) + 1;
		if (now > m->max_running)
			m->max_running = now;
		vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
		atomic_fetch_sub(m->running, 1);
		TEST_ASSERT(uc.args[0] == (uint64_t)vcpu->id && uc.args[1] == (uint64_t)i,
			    "vCPU %d reported %llu, %llu at run %d", vcpu->id,
			    (unsigned long long)uc.args[0],
			    (unsigned long long)uc.args[1], i);
	}
	vcpu_run_expect(vcpu, UCALL_DONE, &uc);
	return NULL;
}

FIXTURE(many_vcpus) {
	int unused;
};

FIXTURE_SETUP(many_vcpus)
{
}

FIXTURE_TEARDOWN(many_vcpus)
{
}

TEST_F_TIMEOUT(many_vcpus, run_64_at_once, 120)
{
	struct many m[NR_VCPUS_AT_ONCE];
	pthread_t threads[NR_VCPUS_AT_ONCE];
	pthread_barrier_t barrier;
	atomic_int running = 0;
	struct vm *vm = vm_create();
	int i, most = 0;

	ASSERT_EQ(0, pthread_barrier_init(&barrier, NULL, NR_VCPUS_AT_ONCE + 1));
	for (i = 0; i < NR_VCPUS_AT_ONCE; i++) {
		m[i] = (struct many){
			.vcpu = vm_vcpu_add(vm, i),
			.barrier = &barrier,
			.running = &running,
		};
		vcpu_start_guest(m[i].vcpu, guest_many, 1, (uint64_t)i);
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, many_thread, &m[i]));
	}
	pthread_barrier_wait(&barrier);
	for (i = 0; i < NR_VCPUS_AT_ONCE; i++) {
		pthread_join(threads[i], NULL);
		if (m[i].max_running > most)
			most = m[i].max_running;
	}
	sync_global_from_guest(vm, marks);
	for (i = 0; i < NR_VCPUS_AT_ONCE; i++)
		EXPECT_EQ(i * 1000 + RUNS_PER_VCPU * (RUNS_PER_VCPU - 1) / 2, marks[i]);
	/*
	 * They were in KVM_RUN together, not one after the other: with more
	 * than one host CPU.  On one (the Bochs VMX machine) a nested guest
	 * is not preempted while its IF is clear, so they take turns.
	 */
	if (sysconf(_SC_NPROCESSORS_ONLN) > 1)
		EXPECT_GT(most, 1);
	TH_LOG("at most %d vCPUs were in KVM_RUN at the same time (%ld host CPUs)",
	       most, sysconf(_SC_NPROCESSORS_ONLN));
	vm_free(vm);
}

/*
 * HLT without an in-kernel irqchip exits to userspace with RIP past the
 * HLT; the vCPU stays runnable and continues where it stopped.
 */
GUEST_ASM(hlt_guest,
	".code64\n"
	"mov $1, %edi\n"
	"hlt\n"
	".globl hlt_guest_after\n"
	"hlt_guest_after:\n"
	"mov $2, %edi\n"
	"hlt\n"
	ASM_UCALL(UCALL_DONE));
extern const char hlt_guest_after[];

TEST(hlt)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	struct kvm_mp_state mp;
	struct kvm_regs regs;

	vcpu_load_snippet(vcpu, MODE_LONG, hlt_guest);
	vcpu_run(vcpu);
	vcpu_assert_exit(vcpu, KVM_EXIT_HLT);
	vcpu_get_regs(vcpu, &regs);
	EXPECT_EQ(CODE_GPA + (hlt_guest_after - hlt_guest_start), regs.rip);
	EXPECT_EQ(1, regs.rdi);
	kvm_ioctl(vcpu->fd, KVM_GET_MP_STATE, &mp);
	EXPECT_EQ(KVM_MP_STATE_RUNNABLE, mp.mp_state);

	vcpu_run(vcpu);
	vcpu_assert_exit(vcpu, KVM_EXIT_HLT);
	vcpu_get_regs(vcpu, &regs);
	EXPECT_EQ(2, regs.rdi);
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	vm_free(vm);
}

/*
 * Time in the guest is the task's guest time (/proc/<pid>/stat field 43,
 * what top and ps show as guest time): the guest spins, with interrupts
 * enabled so that the host's tick ends its runs, until another thread
 * tells it to stop 400 ms later.
 */
static volatile int spin_stop;

static void guest_spin_until_stopped(void)
{
	asm volatile("sti" : : : "memory");
	while (!spin_stop)
		asm volatile("pause" : : : "memory");
	GUEST_SYNC(0, 0);
}

struct stopper {
	struct vm *vm;
};

static void *stopper_thread(void *arg)
{
	struct stopper *st = arg;

	usleep(400000);
	*(volatile int *)gpa2hva(st->vm, (uint64_t)&spin_stop) = 1;
	return NULL;
}

/* This thread's user, system and guest time, in clock ticks. */
static void thread_times(unsigned long *utime, unsigned long *stime,
			 unsigned long *gtime)
{
	char path[64], buf[1024], *p;
	unsigned long v[64] = { 0 };
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", gettid());
	f = fopen(path, "r");
	if (!f || !fgets(buf, sizeof(buf), f))
		abort();
	fclose(f);
	/* Fields after the command name, which may hold spaces: state is 3. */
	p = strrchr(buf, ')') + 2;
	for (i = 3; i < 64 && *p; i++) {
		v[i] = strtoul(p, &p, 10);
		if (i == 3)		/* the state is a letter */
			p++;
		while (*p == ' ')
			p++;
	}
	*utime = v[14];
	*stime = v[15];
	*gtime = v[43];
}

TEST(guest_time_is_the_tasks_guest_time)
{
	unsigned long u0, s0, g0, u1, s1, g1;
	long hz = sysconf(_SC_CLK_TCK);
	struct stopper st;
	struct vcpu *vcpu;
	struct ucall uc;
	struct vm *vm;
	pthread_t t;

	vm = vm_create();
	vcpu = vm_vcpu_add(vm, 0);
	vcpu_start_guest(vcpu, guest_spin_until_stopped, 0);
	st.vm = vm;
	thread_times(&u0, &s0, &g0);
	ASSERT_EQ(0, pthread_create(&t, NULL, stopper_thread, &st));
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	pthread_join(t, NULL);
	thread_times(&u1, &s1, &g1);
	TH_LOG("in 400 ms: guest %lu, user %lu, system %lu ticks (%ld Hz)",
	       g1 - g0, u1 - u0, s1 - s0, hz);
	/*
	 * At least a quarter of the spin: the rest is the world switch and
	 * the host's own work on the emulated CPU.  Guest time is part of
	 * user time, as the kernel counts it; but /proc's utime is scaled
	 * to the task's runtime (cputime_adjust()) where gtime is raw
	 * ticks, so utime can fall a tick or two short (a CI run on 6.12:
	 * guest 40, user 39).
	 */
	EXPECT_GE((g1 - g0) * 1000 / hz, 100);
	EXPECT_GE(u1 - u0 + 2, g1 - g0);
	vm_free(vm);
}

/*
 * A triple fault is KVM_EXIT_SHUTDOWN: an exception with no usable IDT
 * becomes #GP, then #DF, then shutdown.
 */
GUEST_ASM(triple_fault32,
	".code32\n"
	"ud2\n");

GUEST_ASM(triple_fault64,
	".code64\n"
	"lidt " SNIP(triple_fault64, tf64_idtr) "\n"
	"int3\n"
	"tf64_idtr: .word 0\n .quad 0\n");

GUEST_ASM(triple_fault16,
	".code16\n"
	"lidt " SNIP_OFF(triple_fault16, tf16_idtr) "\n"
	"int $0x21\n"
	"tf16_idtr: .word 0\n .long 0\n");

TEST(triple_fault)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);

	/* The 32-bit modes start with an empty IDT (limit 0). */
	vcpu_load_snippet(vcpu, MODE_PROT32, triple_fault32);
	vcpu_run(vcpu);
	vcpu_assert_exit(vcpu, KVM_EXIT_SHUTDOWN);

	vcpu = vm_vcpu_add(vm, 1);
	vcpu_load_snippet(vcpu, MODE_LONG, triple_fault64);
	vcpu_run(vcpu);
	vcpu_assert_exit(vcpu, KVM_EXIT_SHUTDOWN);

	/* Real mode: an IVT with limit 0. */
	vcpu = vm_vcpu_add(vm, 2);
	vcpu_load_snippet(vcpu, MODE_REAL, triple_fault16);
	vcpu_run(vcpu);
	vcpu_assert_exit(vcpu, KVM_EXIT_SHUTDOWN);
	vm_free(vm);
}

/*
 * The RESET (new vCPU) and INIT states, as KVM's kvm_vcpu_reset() leaves
 * them.  The segment descriptors follow each vendor's KVM: kvm_amd
 * leaves the accessed bits of CS and SS clear (and reports DS-GS as
 * accessed) and has a 16-bit busy TSS; kvm_intel sets them all and has a
 * 32-bit one.
 */
static void expect_reset_segs(struct __test_metadata *_metadata,
			      const struct kvm_sregs *s)
{
	bool amd = host_is_amd();
	const struct kvm_segment *data[] = { &s->ss, &s->ds, &s->es, &s->fs, &s->gs };
	unsigned int i;

	EXPECT_EQ(0xf000, s->cs.selector);
	EXPECT_EQ(0xffff0000, s->cs.base);
	EXPECT_EQ(0xffff, s->cs.limit);
	EXPECT_EQ(amd ? 0xa : 0xb, s->cs.type);
	EXPECT_EQ(1, s->cs.present);
	EXPECT_EQ(1, s->cs.s);
	EXPECT_EQ(0, s->cs.dpl);
	for (i = 0; i < 5; i++) {
		EXPECT_EQ(0, data[i]->selector) TH_LOG("segment %u", i);
		EXPECT_EQ(0, data[i]->base) TH_LOG("segment %u", i);
		EXPECT_EQ(0xffff, data[i]->limit) TH_LOG("segment %u", i);
		EXPECT_EQ(amd && i == 0 ? 2 : 3, data[i]->type) TH_LOG("segment %u", i);
		EXPECT_EQ(1, data[i]->present) TH_LOG("segment %u", i);
		EXPECT_EQ(1, data[i]->s) TH_LOG("segment %u", i);
	}
	EXPECT_EQ(amd ? 3 : 0xb, s->tr.type);
	EXPECT_EQ(0xffff, s->tr.limit);
	EXPECT_EQ(2, s->ldt.type);
	EXPECT_EQ(0xffff, s->ldt.limit);
	EXPECT_EQ(0, s->gdt.base);
	EXPECT_EQ(0xffff, s->gdt.limit);
	EXPECT_EQ(0, s->idt.base);
	EXPECT_EQ(0xffff, s->idt.limit);
	EXPECT_EQ(0, s->cr2);
	EXPECT_EQ(0, s->cr3);
	EXPECT_EQ(0, s->cr4);
	EXPECT_EQ(0, s->efer);
}

/* Every GPR but RDX is 0; RDX is the CPU signature @rdx. */
static void expect_reset_regs(struct __test_metadata *_metadata,
			      const struct kvm_regs *r, uint64_t rdx)
{
	const uint64_t *g = (const uint64_t *)r;
	unsigned int i;

	/* rax rbx rcx rdx rsi rdi rsp rbp r8..r15, then rip, rflags. */
	for (i = 0; i < 16; i++)
		EXPECT_EQ(i == 3 ? rdx : 0, g[i]) TH_LOG("register %u", i);
	EXPECT_EQ(0xfff0, r->rip);
	EXPECT_EQ(RFLAGS_FIXED, r->rflags);
}

TEST(reset_state)
{
	struct vm *vm = vm_create_bare();
	struct vcpu *vcpu = vm_vcpu_add_raw(vm, 0);
	struct kvm_debugregs dbg;
	struct kvm_sregs s;
	struct kvm_regs r;

	vcpu_get_regs(vcpu, &r);
	expect_reset_regs(_metadata, &r, 0x600);	/* no CPUID table yet */
	vcpu_get_sregs(vcpu, &s);
	expect_reset_segs(_metadata, &s);
	EXPECT_EQ(CR0_ET | CR0_CD | CR0_NW, s.cr0);
	ASSERT_EQ(0, __mkvm_ioctl(vcpu->fd, KVM_GET_DEBUGREGS, (unsigned long)&dbg));
	EXPECT_EQ(0xffff0ff0, dbg.dr6);
	EXPECT_EQ(0x400, dbg.dr7);
	vm_free(vm);
}

/*
 * After a triple fault: kvm_amd hands back the vCPU in the INIT state
 * (the VMCB is undefined after a shutdown intercept), keeping CR0.CD and
 * NW; kvm_intel leaves the state of the fault.  minikvm does the same on
 * each, so that a VMM prints the same registers on both devices.
 */
TEST(shutdown_state)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	struct kvm_cpuid_entry2 *leaf1;
	struct kvm_cpuid2 *cpuid;
	struct kvm_sregs s, before;
	struct kvm_regs r;

	vcpu_load_snippet(vcpu, MODE_LONG, triple_fault64);
	vcpu_get_regs(vcpu, &r);
	r.rax = 0xdeadbeef;
	r.rsi = 0x5151;
	r.r15 = 0xf15;
	vcpu_set_regs(vcpu, &r);
	vcpu_get_sregs(vcpu, &before);
	before.cr0 |= CR0_CD;			/* caches off: INIT keeps it */
	vcpu_set_sregs(vcpu, &before);
	vcpu_run(vcpu);
	vcpu_assert_exit(vcpu, KVM_EXIT_SHUTDOWN);

	vcpu_get_regs(vcpu, &r);
	vcpu_get_sregs(vcpu, &s);
	if (!host_is_amd()) {
		EXPECT_EQ(0xdeadbeef, r.rax);
		EXPECT_EQ(0x5151, r.rsi);
		EXPECT_EQ(0xf15, r.r15);
		EXPECT_EQ(before.cr0, s.cr0);
		EXPECT_EQ(before.cr3, s.cr3);
		EXPECT_EQ(before.efer, s.efer);
		EXPECT_EQ(before.cs.selector, s.cs.selector);
		vm_free(vm);
		return;
	}
	cpuid = cpuid_dup(kvm_supported_cpuid());
	leaf1 = cpuid_find(cpuid, 1, 0);
	ASSERT_NE(NULL, leaf1);
	expect_reset_regs(_metadata, &r, leaf1->eax);
	expect_reset_segs(_metadata, &s);
	EXPECT_EQ(CR0_ET | CR0_CD, s.cr0);
	free(cpuid);
	vm_free(vm);
}

/*
 * State KVM_SET_SREGS accepts but the CPU refuses to enter: a 64-bit code
 * segment with D set (CS.L = CS.D = 1 is reserved in long mode).
 */
TEST(fail_entry)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	struct kvm_sregs sregs;

	vcpu_load_snippet(vcpu, MODE_LONG, hlt_guest);
	vcpu_get_sregs(vcpu, &sregs);
	sregs.cs.db = 1;
	vcpu_set_sregs(vcpu, &sregs);
	vcpu_run(vcpu);
	vcpu_assert_exit(vcpu, KVM_EXIT_FAIL_ENTRY);
	vm_free(vm);
}

/*
 * Without an in-kernel irqchip userspace keeps the MP state: the vCPU is
 * RUNNABLE and only RUNNABLE can be set.
 */
TEST(mp_state)
{
	static const uint32_t refused[] = {
		KVM_MP_STATE_UNINITIALIZED, KVM_MP_STATE_INIT_RECEIVED,
		KVM_MP_STATE_HALTED, KVM_MP_STATE_SIPI_RECEIVED, 100, ~0U,
	};
	struct vm *vm = vm_create_bare();
	struct vcpu *vcpu0 = vm_vcpu_add_raw(vm, 0);
	struct vcpu *vcpu1 = vm_vcpu_add_raw(vm, 1);
	struct kvm_mp_state mp;
	unsigned int i;

	kvm_ioctl(vcpu0->fd, KVM_GET_MP_STATE, &mp);
	EXPECT_EQ(KVM_MP_STATE_RUNNABLE, mp.mp_state);
	/* Not only the BSP: without irqchip there is no INIT/SIPI protocol. */
	kvm_ioctl(vcpu1->fd, KVM_GET_MP_STATE, &mp);
	EXPECT_EQ(KVM_MP_STATE_RUNNABLE, mp.mp_state);

	mp.mp_state = KVM_MP_STATE_RUNNABLE;
	EXPECT_EQ(0, __mkvm_ioctl(vcpu0->fd, KVM_SET_MP_STATE, (unsigned long)&mp));
	for (i = 0; i < ARRAY_SIZE(refused); i++) {
		mp.mp_state = refused[i];
		EXPECT_EQ(-EINVAL, __mkvm_ioctl(vcpu0->fd, KVM_SET_MP_STATE,
						(unsigned long)&mp))
			TH_LOG("mp_state %u", refused[i]);
	}
	kvm_ioctl(vcpu0->fd, KVM_GET_MP_STATE, &mp);
	EXPECT_EQ(KVM_MP_STATE_RUNNABLE, mp.mp_state);
	EXPECT_EQ(-EFAULT, __mkvm_ioctl(vcpu0->fd, KVM_GET_MP_STATE, 0));
	EXPECT_EQ(-EFAULT, __mkvm_ioctl(vcpu0->fd, KVM_SET_MP_STATE, 0));
	vm_free(vm);
}

/*
 * KVM_SET_TSS_ADDR and KVM_SET_IDENTITY_MAP_ADDR are accepted (VMMs call
 * them unconditionally); the identity map address only before the first
 * vCPU exists.
 */
TEST(vm_setup_ioctls)
{
	struct vm *vm = vm_create_bare();
	uint64_t ident = 0xfffbc000;
	int fd;

	ASSERT_EQ(1, kvm_check_cap(KVM_CAP_SET_TSS_ADDR));
	ASSERT_EQ(1, kvm_check_cap(KVM_CAP_SET_IDENTITY_MAP_ADDR));
	EXPECT_EQ(0, __mkvm_ioctl(vm->fd, KVM_SET_TSS_ADDR, 0xfffbd000));
	EXPECT_EQ(0, __mkvm_ioctl(vm->fd, KVM_SET_IDENTITY_MAP_ADDR,
				  (unsigned long)&ident));
	EXPECT_EQ(-EFAULT, __mkvm_ioctl(vm->fd, KVM_SET_IDENTITY_MAP_ADDR, 0));
	fd = __mkvm_ioctl(vm->fd, KVM_CREATE_VCPU, 0);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(-EINVAL, __mkvm_ioctl(vm->fd, KVM_SET_IDENTITY_MAP_ADDR,
					(unsigned long)&ident));
	EXPECT_EQ(0, __mkvm_ioctl(vm->fd, KVM_SET_TSS_ADDR, 0xfffbd000));
	close(fd);
	vm_free(vm);
}

/* KVM_SET_NR_MMU_PAGES: from KVM's minimum of 64 pages up. */
TEST(set_nr_mmu_pages)
{
	struct vm *vm = vm_create_bare();

	EXPECT_EQ(-EINVAL, __mkvm_ioctl(vm->fd, KVM_SET_NR_MMU_PAGES, 0));
	EXPECT_EQ(-EINVAL, __mkvm_ioctl(vm->fd, KVM_SET_NR_MMU_PAGES, 63));
	EXPECT_EQ(0, __mkvm_ioctl(vm->fd, KVM_SET_NR_MMU_PAGES, 64));
	EXPECT_EQ(0, __mkvm_ioctl(vm->fd, KVM_SET_NR_MMU_PAGES, 1UL << 20));
	vm_free(vm);
}

static int enable_cap(struct vm *vm, uint32_t cap, uint32_t flags, uint64_t arg)
{
	struct kvm_enable_cap c = { .cap = cap, .flags = flags, .args = { arg } };

	return __mkvm_ioctl(vm->fd, KVM_ENABLE_CAP, (unsigned long)&c);
}

/*
 * KVM_ENABLE_CAP(KVM_CAP_MAX_VCPU_ID): at most the reported bound, once
 * (the same value again is fine), never after the first vCPU, which
 * fixes the default; vCPU ids must then be below it.
 */
TEST(max_vcpu_id_cap)
{
	long max = kvm_check_cap(KVM_CAP_MAX_VCPU_ID);
	struct vm *vm = vm_create_bare();
	int fd;

	EXPECT_EQ(1, kvm_check_cap(KVM_CAP_ENABLE_CAP_VM));
	EXPECT_EQ(1, __mkvm_ioctl(vm->fd, KVM_CHECK_EXTENSION, KVM_CAP_ENABLE_CAP_VM));
	EXPECT_EQ(-EFAULT, __mkvm_ioctl(vm->fd, KVM_ENABLE_CAP, 0));
	EXPECT_EQ(-EINVAL, enable_cap(vm, KVM_CAP_MAX_VCPU_ID, 0, max + 1));
	EXPECT_EQ(-EINVAL, enable_cap(vm, KVM_CAP_MAX_VCPU_ID, 1, 2));
	EXPECT_EQ(-EINVAL, enable_cap(vm, KVM_CAP_USER_MEMORY, 0, 0));
	EXPECT_EQ(0, enable_cap(vm, KVM_CAP_MAX_VCPU_ID, 0, 2));
	EXPECT_EQ(0, enable_cap(vm, KVM_CAP_MAX_VCPU_ID, 0, 2));
	EXPECT_EQ(-EINVAL, enable_cap(vm, KVM_CAP_MAX_VCPU_ID, 0, 3));
	EXPECT_EQ(-EINVAL, __mkvm_ioctl(vm->fd, KVM_CREATE_VCPU, 2));
	fd = __mkvm_ioctl(vm->fd, KVM_CREATE_VCPU, 1);
	EXPECT_GE(fd, 0);
	if (fd >= 0)
		close(fd);
	vm_free(vm);

	vm = vm_create_bare();
	fd = __mkvm_ioctl(vm->fd, KVM_CREATE_VCPU, 0);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(-EINVAL, enable_cap(vm, KVM_CAP_MAX_VCPU_ID, 0, 5));
	EXPECT_EQ(0, enable_cap(vm, KVM_CAP_MAX_VCPU_ID, 0, max));
	close(fd);
	vm_free(vm);
}

TEST_HARNESS_MAIN
