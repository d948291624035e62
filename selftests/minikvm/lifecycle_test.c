// SPDX-License-Identifier: GPL-2.0
/*
 * The life of VMs and vCPUs around KVM_RUN: ownership by the creating
 * process, signals and immediate_exit, fds closed while a vCPU runs,
 * processes killed inside KVM_RUN, many VMs in sequence, a vCPU migrating
 * between host CPUs and many vCPUs of one VM running in parallel.
 *
 * Every guest is a few bytes of 16-bit real-mode code at GUEST_CODE, in
 * one memslot at guest-physical 0.  The helpers are local (and static) so
 * that this file needs nothing but the device and <linux/kvm.h>.
 */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

#include "kselftest_harness.h"
#include "mkvm_util.h"

#define MEM_SIZE	0x10000UL	/* the memslot: gpa 0 - 64 KiB */
#define GUEST_CODE	0x1000		/* where every guest starts (cs.base 0) */
#define GUEST_DATA	0x2000		/* a word some guests write */
#define IO_PORT		0x10
#define REG_MAGIC	0x0123456789abcdefULL

/*
 * The guests, assembled with "as --32" (.code16) and checked with
 * "objdump -d -mi8086".
 */
/* 1: jmp 1b */
static const uint8_t code_spin[] = { 0xeb, 0xfe };
/* hlt */
static const uint8_t code_hlt[] = { 0xf4 };
/* out %ax,(%dx); hlt */
static const uint8_t code_out_hlt[] = { 0xef, 0xf4 };
/* 1: out %ax,(%dx); inc %ax; jmp 1b */
static const uint8_t code_out_loop[] = { 0xef, 0x40, 0xeb, 0xfc };
/* 1: incw GUEST_DATA; jmp 1b */
static const uint8_t code_count[] = { 0xff, 0x06, 0x00, 0x20, 0xeb, 0xfa };
/* movb $1,GUEST_DATA; out %al,$IO_PORT; hlt */
static const uint8_t code_store_out_hlt[] = {
	0xc6, 0x06, 0x00, 0x20, 0x01, 0xe6, IO_PORT, 0xf4
};
#define STORE_OUT_HLT_AFTER_OUT	7	/* offset of the hlt */

struct lc_vm {
	int sys;		/* the device fd */
	int fd;			/* the VM fd */
	uint8_t *mem;		/* MEM_SIZE bytes at gpa 0 */
	long run_size;
	bool own_sys, own_mem;
};

struct lc_vcpu {
	int fd;
	struct kvm_run *run;
	long run_size;
};

#define lc_put_code(mem, code) memcpy((mem) + GUEST_CODE, code, sizeof(code))

static long lc_ioctl(int fd, unsigned long req, void *arg)
{
	return __mkvm_ioctl(fd, req, (unsigned long)arg);
}

/*
 * A VM with MEM_SIZE bytes of @mem (fresh anonymous memory if NULL) in
 * slot 0 at gpa 0, on the device fd @sys (a new one if < 0).  Returns 0
 * or -errno; lc_vm_destroy() undoes even a half-built VM.
 */
static int lc_vm_create(struct lc_vm *vm, int sys, uint8_t *mem)
{
	struct kvm_userspace_memory_region region = {
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = MEM_SIZE,
	};

	memset(vm, 0, sizeof(*vm));
	vm->fd = -1;
	vm->sys = sys;
	if (sys < 0) {
		vm->sys = open(mkvm_dev(), O_RDWR | O_CLOEXEC);
		if (vm->sys < 0)
			return -errno;
		vm->own_sys = true;
	}
	vm->run_size = __mkvm_ioctl(vm->sys, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->run_size < 0)
		return vm->run_size;
	vm->fd = __mkvm_ioctl(vm->sys, KVM_CREATE_VM, 0);
	if (vm->fd < 0)
		return vm->fd;
	vm->mem = mem;
	if (!mem) {
		vm->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (vm->mem == MAP_FAILED) {
			vm->mem = NULL;
			return -ENOMEM;
		}
		vm->own_mem = true;
	}
	region.userspace_addr = (uintptr_t)vm->mem;
	return lc_ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &region);
}

static void lc_vm_destroy(struct lc_vm *vm)
{
	if (vm->fd >= 0)
		close(vm->fd);
	if (vm->own_sys && vm->sys >= 0)
		close(vm->sys);
	if (vm->own_mem && vm->mem)
		munmap(vm->mem, MEM_SIZE);
	vm->fd = vm->sys = -1;
	vm->mem = NULL;
}

/*
 * Real mode with cs.base 0 and rip GUEST_CODE; the general registers from
 * @init (zero if NULL).
 */
static int lc_vcpu_setup(struct lc_vcpu *v, const struct kvm_regs *init)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	long r;

	r = lc_ioctl(v->fd, KVM_GET_SREGS, &sregs);
	if (r)
		return r;
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	r = lc_ioctl(v->fd, KVM_SET_SREGS, &sregs);
	if (r)
		return r;
	if (init)
		regs = *init;
	else
		memset(&regs, 0, sizeof(regs));
	regs.rip = GUEST_CODE;
	/* IF set: Bochs stops its host while a nested guest spins with IF clear. */
	regs.rflags = 0x202;
	return lc_ioctl(v->fd, KVM_SET_REGS, &regs);
}

static int lc_vcpu_create(struct lc_vm *vm, int id, struct lc_vcpu *v,
			  const struct kvm_regs *init)
{
	v->run = NULL;
	v->run_size = vm->run_size;
	v->fd = __mkvm_ioctl(vm->fd, KVM_CREATE_VCPU, id);
	if (v->fd < 0)
		return v->fd;
	v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		return -errno;
	}
	return lc_vcpu_setup(v, init);
}

static void lc_vcpu_destroy(struct lc_vcpu *v)
{
	if (v->run)
		munmap(v->run, v->run_size);
	if (v->fd >= 0)
		close(v->fd);
	v->run = NULL;
	v->fd = -1;
}

static long lc_run(struct lc_vcpu *v)
{
	return __mkvm_ioctl(v->fd, KVM_RUN, 0);
}

static uint64_t lc_io_data(struct lc_vcpu *v)
{
	uint8_t *p = (uint8_t *)v->run + v->run->io.data_offset;
	uint64_t data = 0;

	memcpy(&data, p, v->run->io.size);
	return data;
}

static uint64_t lc_rip(struct lc_vcpu *v)
{
	struct kvm_regs regs;

	if (lc_ioctl(v->fd, KVM_GET_REGS, &regs))
		return ~0ULL;
	return regs.rip;
}

static uint64_t lc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

/* waitpid() with a deadline: 0 and *status, or -ETIMEDOUT (child left). */
static int lc_wait(pid_t pid, int *status, unsigned int ms)
{
	uint64_t end = lc_now_ms() + ms;
	pid_t r;

	for (;;) {
		r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (lc_now_ms() > end)
			return -ETIMEDOUT;
		usleep(1000);
	}
}

/*
 * /proc/meminfo's fields in KiB, in the file's order, and one more:
 * PcpFree, the free pages held on the per-CPU lists (/proc/zoneinfo's
 * "count:" lines).  MemFree leaves those out, and a CPU can hold tens of
 * MiB of them, so a loop that frees all it allocated can still appear to
 * lose MemFree until the lists are drained.
 */
#define LC_MEM_FIELDS	64

struct lc_mem {
	int n;
	char name[LC_MEM_FIELDS][24];
	long kb[LC_MEM_FIELDS];
};

static void lc_mem_read(struct lc_mem *m)
{
	char line[128];
	long pages;
	FILE *f;

	m->n = 0;
	f = fopen("/proc/meminfo", "r");
	if (!f)
		return;
	while (m->n < LC_MEM_FIELDS - 1 && fgets(line, sizeof(line), f))
		if (sscanf(line, "%23[^:]: %ld", m->name[m->n], &m->kb[m->n]) == 2)
			m->n++;
	fclose(f);

	f = fopen("/proc/zoneinfo", "r");
	if (!f)
		return;
	strcpy(m->name[m->n], "PcpFree");
	m->kb[m->n] = 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, " count: %ld", &pages) == 1)
			m->kb[m->n] += pages * (getpagesize() / 1024);
	fclose(f);
	m->n++;
}

/* A field of a snapshot in KiB, or -1. */
static long lc_mem_field(const struct lc_mem *m, const char *name)
{
	int i;

	for (i = 0; i < m->n; i++)
		if (!strcmp(m->name[i], name))
			return m->kb[i];
	return -1;
}

/*
 * /proc/meminfo after the kernel had a moment to finish deferred frees (of
 * the previous test process too): taken after a few warm-up iterations and
 * again at the end of a loop of VMs, it tells what the loop leaked.
 */
static void lc_mem_settled(struct lc_mem *m)
{
	usleep(300000);
	lc_mem_read(m);
}

/* MemAvailable with the per-CPU lists' free pages, in KiB. */
static long lc_mem_free_kb(const struct lc_mem *m)
{
	return lc_mem_field(m, "MemAvailable") + lc_mem_field(m, "PcpFree");
}

/*
 * Memory lost since @before, in KiB (MemAvailable and PcpFree); the fields
 * that moved by a MiB or more are logged beside it, so that a failure says
 * where it went.
 */
static long lc_mem_lost(struct __test_metadata *_metadata, const struct lc_mem *before)
{
	struct lc_mem after;
	int i;

	lc_mem_settled(&after);
	if (lc_mem_field(before, "MemAvailable") < 0 ||
	    lc_mem_field(before, "PcpFree") < 0 ||
	    lc_mem_field(&after, "MemAvailable") < 0 ||
	    lc_mem_field(&after, "PcpFree") < 0) {
		TH_LOG("/proc/meminfo or /proc/zoneinfo could not be read");
		return LONG_MAX;
	}
	for (i = 0; i < after.n && i < before->n; i++) {
		long d = after.kb[i] - before->kb[i];

		if (!strcmp(after.name[i], before->name[i]) && (d >= 1024 || d <= -1024))
			TH_LOG("meminfo %s %+ld KiB", after.name[i], d);
	}
	return lc_mem_free_kb(before) - lc_mem_free_kb(&after);
}

/*
 * More than this lost over a loop of VMs is a leak: four pages per VM over
 * 1000 VMs, 160 KiB per process over 100.  KVM moves by under 128 KiB
 * once the per-CPU lists are counted (by up to 28 MiB without them).
 */
#define LEAK_LIMIT_KB	(16 << 10)
#define LEAK_WARMUP	5

/* A loop count scaled by $MKVM_STRESS_PCT, past the leak check's warmup. */
static int lc_stress(int n)
{
	n = mkvm_stress(n);
	return n > 2 * LEAK_WARMUP ? n : 2 * LEAK_WARMUP;
}

static volatile sig_atomic_t lc_nr_signals;

static void lc_on_signal(int sig)
{
	lc_nr_signals++;
}

/* A handler without SA_RESTART: the signal interrupts what it hits. */
static void lc_catch(int sig)
{
	struct sigaction sa = { .sa_handler = lc_on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

/* A fresh VM runs an OUT and a HLT: the device works. */
static void lc_assert_device_works(struct __test_metadata *_metadata)
{
	struct kvm_regs regs = { .rax = 0x1234, .rdx = IO_PORT };
	struct lc_vcpu v = { .fd = -1 };
	struct lc_vm vm;

	ASSERT_EQ(0, lc_vm_create(&vm, -1, NULL));
	lc_put_code(vm.mem, code_out_hlt);
	ASSERT_EQ(0, lc_vcpu_create(&vm, 0, &v, &regs));
	ASSERT_EQ(0, lc_run(&v));
	ASSERT_EQ(KVM_EXIT_IO, v.run->exit_reason);
	EXPECT_EQ(KVM_EXIT_IO_OUT, v.run->io.direction);
	EXPECT_EQ(IO_PORT, v.run->io.port);
	EXPECT_EQ(2, v.run->io.size);
	EXPECT_EQ(1, v.run->io.count);
	EXPECT_EQ(0x1234, lc_io_data(&v));
	ASSERT_EQ(0, lc_run(&v));
	EXPECT_EQ(KVM_EXIT_HLT, v.run->exit_reason);
	lc_vcpu_destroy(&v);
	lc_vm_destroy(&vm);
}

FIXTURE(lifecycle) {
	struct lc_vm vm;
	struct lc_vcpu vcpu;
};

FIXTURE_SETUP(lifecycle)
{
	self->vcpu.fd = -1;
	ASSERT_EQ(0, lc_vm_create(&self->vm, -1, NULL));
	ASSERT_EQ(0, lc_vcpu_create(&self->vm, 0, &self->vcpu, NULL));
}

FIXTURE_TEARDOWN(lifecycle)
{
	lc_vcpu_destroy(&self->vcpu);
	lc_vm_destroy(&self->vm);
}

/* ---- ownership: a VM belongs to the mm that created it ---------------- */

TEST_F(lifecycle, vm_ioctls_from_child_eio)
{
	struct kvm_userspace_memory_region slot1 = {
		.slot = 1,
		.guest_phys_addr = 0x100000,
		.memory_size = 0x2000,
		.userspace_addr = (uintptr_t)self->vm.mem,
	};
	int status, fd;
	pid_t pid;

	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int bad = 0, vm;

		if (__mkvm_ioctl(self->vm.fd, KVM_CREATE_VCPU, 1) != -EIO)
			bad |= 1;
		if (lc_ioctl(self->vm.fd, KVM_SET_USER_MEMORY_REGION, &slot1) != -EIO)
			bad |= 2;
		if (__mkvm_ioctl(self->vm.fd, KVM_CHECK_EXTENSION,
				 KVM_CAP_CHECK_EXTENSION_VM) != -EIO)
			bad |= 4;
		/* The system fd is not tied to an mm: the child makes its own VM. */
		if (__mkvm_ioctl(self->vm.sys, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
			bad |= 8;
		vm = __mkvm_ioctl(self->vm.sys, KVM_CREATE_VM, 0);
		if (vm < 0 || __mkvm_ioctl(vm, KVM_CHECK_EXTENSION,
					   KVM_CAP_CHECK_EXTENSION_VM) != 1)
			bad |= 16;
		_exit(bad);
	}
	ASSERT_EQ(0, lc_wait(pid, &status, 20000));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) {
		TH_LOG("child: 1 CREATE_VCPU, 2 SET_USER_MEMORY_REGION, 4 CHECK_EXTENSION"
		       " not EIO; 8 system fd, 16 own VM broken: got %#x",
		       WEXITSTATUS(status));
	}

	/* Nothing the child asked for happened. */
	fd = __mkvm_ioctl(self->vm.fd, KVM_CREATE_VCPU, 1);
	EXPECT_GE(fd, 0) TH_LOG("vCPU 1 after the child: %s", strerror(-fd));
	if (fd >= 0)
		close(fd);
	/* Slot 1 does not exist: creating it with another size is allowed. */
	slot1.memory_size = 0x1000;
	EXPECT_EQ(0, lc_ioctl(self->vm.fd, KVM_SET_USER_MEMORY_REGION, &slot1));
}

TEST_F(lifecycle, vcpu_ioctls_from_child_eio)
{
	struct kvm_regs regs;
	int status;
	pid_t pid;

	lc_put_code(self->vm.mem, code_hlt);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct kvm_regs r = { .rip = 0xdead, .rflags = 2 };
		struct kvm_sregs sr;
		struct kvm_mp_state mp;
		int bad = 0;

		if (lc_ioctl(self->vcpu.fd, KVM_SET_REGS, &r) != -EIO)
			bad |= 1;
		if (lc_ioctl(self->vcpu.fd, KVM_GET_REGS, &r) != -EIO)
			bad |= 2;
		if (lc_ioctl(self->vcpu.fd, KVM_GET_SREGS, &sr) != -EIO)
			bad |= 4;
		if (lc_ioctl(self->vcpu.fd, KVM_GET_MP_STATE, &mp) != -EIO)
			bad |= 8;
		if (lc_run(&self->vcpu) != -EIO)
			bad |= 16;
		self->vcpu.run->immediate_exit = 1;
		if (lc_run(&self->vcpu) != -EIO)
			bad |= 32;
		_exit(bad);
	}
	ASSERT_EQ(0, lc_wait(pid, &status, 20000));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) {
		TH_LOG("child: 1 SET_REGS, 2 GET_REGS, 4 GET_SREGS, 8 GET_MP_STATE,"
		       " 16 RUN, 32 RUN+immediate_exit not EIO: got %#x",
		       WEXITSTATUS(status));
	}

	/*
	 * The parent's vCPU is untouched and still runs.  kvm_run is a
	 * MAP_SHARED mapping, shared with the child: undo its immediate_exit.
	 */
	self->vcpu.run->immediate_exit = 0;
	ASSERT_EQ(0, lc_ioctl(self->vcpu.fd, KVM_GET_REGS, &regs));
	EXPECT_EQ(GUEST_CODE, regs.rip);
	ASSERT_EQ(0, lc_run(&self->vcpu));
	EXPECT_EQ(KVM_EXIT_HLT, self->vcpu.run->exit_reason);
}

/* VM and vCPU fds passed to another process over a socket answer EIO there. */
TEST_F(lifecycle, fds_passed_to_other_process_eio)
{
	char cbuf[CMSG_SPACE(2 * sizeof(int))];
	struct msghdr msg = { 0 };
	struct iovec iov;
	struct cmsghdr *cmsg;
	int sv[2], fds[2], status;
	struct kvm_regs regs;
	char c = 0;
	pid_t pid;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct lc_vcpu v = { .fd = -1 };
		struct lc_vm vm;

		close(sv[0]);
		if (lc_vm_create(&vm, self->vm.sys, NULL) ||
		    lc_vcpu_create(&vm, 0, &v, NULL))
			_exit(1);
		fds[0] = vm.fd;
		fds[1] = v.fd;
		iov.iov_base = &c;
		iov.iov_len = 1;
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = cbuf;
		msg.msg_controllen = sizeof(cbuf);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(fds));
		memcpy(CMSG_DATA(cmsg), fds, sizeof(fds));
		if (sendmsg(sv[1], &msg, 0) != 1)
			_exit(2);
		/* Stay alive until the parent is done. */
		if (read(sv[1], &c, 1) != 1)
			_exit(3);
		_exit(0);
	}
	close(sv[1]);
	iov.iov_base = &c;
	iov.iov_len = 1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf;
	msg.msg_controllen = sizeof(cbuf);
	ASSERT_EQ(1, recvmsg(sv[0], &msg, 0));
	cmsg = CMSG_FIRSTHDR(&msg);
	ASSERT_NE(NULL, cmsg);
	ASSERT_EQ(SCM_RIGHTS, cmsg->cmsg_type);
	memcpy(fds, CMSG_DATA(cmsg), sizeof(fds));

	EXPECT_EQ(-EIO, __mkvm_ioctl(fds[0], KVM_CHECK_EXTENSION,
				     KVM_CAP_CHECK_EXTENSION_VM));
	EXPECT_EQ(-EIO, __mkvm_ioctl(fds[0], KVM_CREATE_VCPU, 1));
	EXPECT_EQ(-EIO, lc_ioctl(fds[1], KVM_GET_REGS, &regs));
	EXPECT_EQ(-EIO, __mkvm_ioctl(fds[1], KVM_RUN, 0));
	ASSERT_EQ(1, write(sv[0], &c, 1));
	ASSERT_EQ(0, lc_wait(pid, &status, 20000));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* The owner is gone; the last references go with these closes. */
	close(fds[0]);
	close(fds[1]);
	close(sv[0]);
}

/* ---- signals and immediate_exit ---------------------------------------- */

/* A timer signal (SA_RESTART off) interrupts a guest spinning in jmp $. */
TEST_F(lifecycle, signal_interrupts_run)
{
	struct itimerval on = {
		.it_interval = { .tv_usec = 20000 },
		.it_value = { .tv_usec = 50000 },
	};
	struct itimerval off = { 0 };
	struct kvm_run *run = self->vcpu.run;
	int i, n;
	long r;

	lc_put_code(self->vm.mem, code_spin);
	lc_catch(SIGALRM);
	for (i = 0; i < 5; i++) {
		n = lc_nr_signals;
		run->exit_reason = KVM_EXIT_UNKNOWN;
		ASSERT_EQ(0, setitimer(ITIMER_REAL, &on, NULL));
		r = lc_run(&self->vcpu);
		setitimer(ITIMER_REAL, &off, NULL);
		ASSERT_EQ(-EINTR, r) TH_LOG("run %d: KVM_RUN returned %ld", i, r);
		EXPECT_EQ(KVM_EXIT_INTR, run->exit_reason);
		EXPECT_GT(lc_nr_signals, n);
	}
	EXPECT_EQ(GUEST_CODE, lc_rip(&self->vcpu));

	/* The vCPU goes on from where it was. */
	lc_put_code(self->vm.mem, code_hlt);
	ASSERT_EQ(0, lc_run(&self->vcpu));
	EXPECT_EQ(KVM_EXIT_HLT, run->exit_reason);
}

/*
 * The same with interrupts disabled in the guest: a guest cannot keep the
 * host's timer, and with it the signal, from ending its run.
 */
TEST_F(lifecycle, signal_interrupts_run_with_if_clear)
{
	struct itimerval on = {
		.it_interval = { .tv_usec = 20000 },
		.it_value = { .tv_usec = 50000 },
	};
	struct itimerval off = { 0 };
	struct kvm_run *run = self->vcpu.run;
	struct kvm_regs regs;
	int i, n;
	long r;

	if (mkvm_on_bochs())
		SKIP(return, "Bochs never exits a guest spinning with IF clear");
	ASSERT_EQ(0, lc_ioctl(self->vcpu.fd, KVM_GET_REGS, &regs));
	regs.rflags = 2;
	ASSERT_EQ(0, lc_ioctl(self->vcpu.fd, KVM_SET_REGS, &regs));
	lc_put_code(self->vm.mem, code_spin);
	lc_catch(SIGALRM);
	for (i = 0; i < 3; i++) {
		n = lc_nr_signals;
		ASSERT_EQ(0, setitimer(ITIMER_REAL, &on, NULL));
		r = lc_run(&self->vcpu);
		setitimer(ITIMER_REAL, &off, NULL);
		ASSERT_EQ(-EINTR, r) TH_LOG("run %d: KVM_RUN returned %ld", i, r);
		EXPECT_EQ(KVM_EXIT_INTR, run->exit_reason);
		EXPECT_GT(lc_nr_signals, n);
	}
	ASSERT_EQ(0, lc_ioctl(self->vcpu.fd, KVM_GET_REGS, &regs));
	EXPECT_EQ(GUEST_CODE, regs.rip);
	EXPECT_EQ(2, regs.rflags);
}

struct lc_kicker {
	pthread_t target;
	int sig;
	volatile bool stop;
};

static void *lc_kick(void *arg)
{
	struct lc_kicker *k = arg;

	while (!__atomic_load_n(&k->stop, __ATOMIC_ACQUIRE)) {
		usleep(10000);
		pthread_kill(k->target, k->sig);
	}
	return NULL;
}

/* Another thread's pthread_kill() interrupts the vCPU thread's KVM_RUN. */
TEST_F(lifecycle, signal_from_other_thread_interrupts_run)
{
	struct lc_kicker k = { .target = pthread_self(), .sig = SIGUSR1 };
	struct kvm_run *run = self->vcpu.run;
	pthread_t t;
	int i, n;
	long r;

	lc_put_code(self->vm.mem, code_spin);
	lc_catch(SIGUSR1);
	ASSERT_EQ(0, pthread_create(&t, NULL, lc_kick, &k));
	for (i = 0; i < 10; i++) {
		n = lc_nr_signals;
		run->exit_reason = KVM_EXIT_UNKNOWN;
		r = lc_run(&self->vcpu);
		if (r != -EINTR)
			break;
		EXPECT_EQ(KVM_EXIT_INTR, run->exit_reason);
		EXPECT_GT(lc_nr_signals, n);
	}
	__atomic_store_n(&k.stop, true, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	ASSERT_EQ(-EINTR, r) TH_LOG("run %d: KVM_RUN returned %ld", i, r);
	EXPECT_EQ(GUEST_CODE, lc_rip(&self->vcpu));
}

/*
 * KVM_SET_SIGNAL_MASK: the mask the thread has inside KVM_RUN.  With
 * SIGUSR1 blocked in the thread and pending, KVM_RUN under an empty
 * mask returns -EINTR at once and the signal stays pending (the thread's
 * own mask is back on return); with the mask removed (NULL) the pending
 * signal no longer interrupts: the guest runs to its HLT.
 */
TEST_F(lifecycle, signal_mask)
{
	struct {
		struct kvm_signal_mask m;
		uint8_t set[8];
	} empty = { .m.len = 8 }, bad = { .m.len = 7 };
	struct kvm_run *run = self->vcpu.run;
	sigset_t usr1, pending;
	int n;

	EXPECT_EQ(-EINVAL, __mkvm_ioctl(self->vcpu.fd, KVM_SET_SIGNAL_MASK,
					(unsigned long)&bad));
	EXPECT_EQ(-EFAULT, __mkvm_ioctl(self->vcpu.fd, KVM_SET_SIGNAL_MASK, 8));
	lc_catch(SIGUSR1);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	ASSERT_EQ(0, pthread_sigmask(SIG_BLOCK, &usr1, NULL));
	ASSERT_EQ(0, pthread_kill(pthread_self(), SIGUSR1));
	n = lc_nr_signals;

	lc_put_code(self->vm.mem, code_hlt);
	ASSERT_EQ(0, __mkvm_ioctl(self->vcpu.fd, KVM_SET_SIGNAL_MASK,
				  (unsigned long)&empty));
	run->exit_reason = KVM_EXIT_UNKNOWN;
	EXPECT_EQ(-EINTR, lc_run(&self->vcpu));
	EXPECT_EQ(KVM_EXIT_INTR, run->exit_reason);
	EXPECT_EQ(n, lc_nr_signals);
	sigpending(&pending);
	EXPECT_TRUE(sigismember(&pending, SIGUSR1));

	ASSERT_EQ(0, __mkvm_ioctl(self->vcpu.fd, KVM_SET_SIGNAL_MASK, 0));
	EXPECT_EQ(0, lc_run(&self->vcpu));
	EXPECT_EQ(KVM_EXIT_HLT, run->exit_reason);
	EXPECT_EQ(n, lc_nr_signals);

	/* Unblocked in the thread: the handler runs once. */
	ASSERT_EQ(0, pthread_sigmask(SIG_UNBLOCK, &usr1, NULL));
	EXPECT_EQ(n + 1, lc_nr_signals);
}

/*
 * immediate_exit: KVM_RUN returns -EINTR at once without running the
 * guest, and after an IO exit it completes the pending OUT and stops
 * before the next instruction (api.rst, KVM_EXIT_IO/KVM_EXIT_MMIO note).
 * api.rst says nothing of exit_reason here, and KVM (6.1, 6.12) leaves it
 * as it was, so it is not checked.
 */
TEST_F(lifecycle, immediate_exit)
{
	struct kvm_regs regs = { .rax = 0x5a };
	struct kvm_run *run = self->vcpu.run;
	volatile uint8_t *data = self->vm.mem + GUEST_DATA;
	int i;

	lc_put_code(self->vm.mem, code_store_out_hlt);
	ASSERT_EQ(0, lc_vcpu_setup(&self->vcpu, &regs));

	run->immediate_exit = 1;
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(-EINTR, lc_run(&self->vcpu));
		EXPECT_EQ(GUEST_CODE, lc_rip(&self->vcpu));
		EXPECT_EQ(0, *data) TH_LOG("the guest ran under immediate_exit");
	}

	run->immediate_exit = 0;
	ASSERT_EQ(0, lc_run(&self->vcpu));
	ASSERT_EQ(KVM_EXIT_IO, run->exit_reason);
	EXPECT_EQ(KVM_EXIT_IO_OUT, run->io.direction);
	EXPECT_EQ(IO_PORT, run->io.port);
	EXPECT_EQ(1, run->io.size);
	EXPECT_EQ(0x5a, lc_io_data(&self->vcpu));
	EXPECT_EQ(1, *data);

	/* Completes the OUT, does not execute the HLT. */
	run->immediate_exit = 1;
	EXPECT_EQ(-EINTR, lc_run(&self->vcpu));
	EXPECT_EQ(GUEST_CODE + STORE_OUT_HLT_AFTER_OUT, lc_rip(&self->vcpu));
	EXPECT_EQ(-EINTR, lc_run(&self->vcpu));
	EXPECT_EQ(GUEST_CODE + STORE_OUT_HLT_AFTER_OUT, lc_rip(&self->vcpu));

	run->immediate_exit = 0;
	ASSERT_EQ(0, lc_run(&self->vcpu));
	EXPECT_EQ(KVM_EXIT_HLT, run->exit_reason);
}

/* ---- fds closed while a vCPU runs --------------------------------------- */

/* Runs the vCPU until KVM_RUN fails with something else than EINTR. */
struct lc_runner {
	int fd;
	struct kvm_run *run;
	unsigned long exits;	/* KVM_EXIT_IO seen */
	long result;		/* the KVM_RUN result that ended the loop */
	bool done;
};

static void *lc_run_until_error(void *arg)
{
	struct lc_runner *rn = arg;
	long r;

	for (;;) {
		r = __mkvm_ioctl(rn->fd, KVM_RUN, 0);
		if (r == -EINTR)
			continue;
		if (r == 0 && rn->run->exit_reason == KVM_EXIT_IO) {
			__atomic_add_fetch(&rn->exits, 1, __ATOMIC_RELEASE);
			continue;
		}
		break;
	}
	rn->result = r;
	__atomic_store_n(&rn->done, true, __ATOMIC_RELEASE);
	return NULL;
}

static unsigned long lc_exits(struct lc_runner *rn)
{
	return __atomic_load_n(&rn->exits, __ATOMIC_ACQUIRE);
}

/* Wait until the runner has made @more exits (or ended); false on timeout. */
static bool lc_wait_exits(struct lc_runner *rn, unsigned long more)
{
	unsigned long want = lc_exits(rn) + more;
	uint64_t end = lc_now_ms() + 10000;

	while (lc_exits(rn) < want) {
		if (__atomic_load_n(&rn->done, __ATOMIC_ACQUIRE) || lc_now_ms() > end)
			return false;
		usleep(1000);
	}
	return true;
}

static bool lc_join(pthread_t t, unsigned int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return pthread_timedjoin_np(t, NULL, &ts) == 0;
}

enum lc_fd { FD_SYS, FD_VM, FD_VCPU };

/*
 * A thread runs a guest making OUT exits in a loop while this one closes
 * the three fds in @order.  The vCPU keeps running until its own fd is
 * closed; then its next KVM_RUN fails with EBADF and the thread ends.
 */
static void lc_close_while_running(struct __test_metadata *_metadata,
				   FIXTURE_DATA(lifecycle) *self,
				   const enum lc_fd order[3])
{
	struct kvm_regs regs = { .rdx = IO_PORT };
	struct lc_runner rn = { 0 };
	const char *name[] = { "system", "VM", "vCPU" };
	pthread_t t;
	int i, *fd;

	lc_put_code(self->vm.mem, code_out_loop);
	ASSERT_EQ(0, lc_vcpu_setup(&self->vcpu, &regs));
	rn.fd = self->vcpu.fd;
	rn.run = self->vcpu.run;
	ASSERT_EQ(0, pthread_create(&t, NULL, lc_run_until_error, &rn));
	ASSERT_TRUE(lc_wait_exits(&rn, 10)) TH_LOG("the vCPU does not run: %ld", rn.result);

	for (i = 0; i < 3; i++) {
		fd = order[i] == FD_SYS ? &self->vm.sys :
		     order[i] == FD_VM ? &self->vm.fd : &self->vcpu.fd;
		ASSERT_EQ(0, close(*fd));
		*fd = -1;
		if (self->vcpu.fd >= 0) {
			EXPECT_TRUE(lc_wait_exits(&rn, 10)) {
				TH_LOG("the vCPU stopped after the %s fd was closed (KVM_RUN %ld)",
				       name[order[i]], rn.result);
			}
		}
	}
	ASSERT_TRUE(lc_join(t, 10000)) TH_LOG("the vCPU thread hangs");
	EXPECT_EQ(-EBADF, rn.result);
	/* The mapping of kvm_run holds the last reference: drop it. */
	lc_vcpu_destroy(&self->vcpu);
}

TEST_F(lifecycle, close_vm_then_vcpu_while_running)
{
	const enum lc_fd order[] = { FD_VM, FD_VCPU, FD_SYS };

	lc_close_while_running(_metadata, self, order);
}

TEST_F(lifecycle, close_vcpu_then_vm_while_running)
{
	const enum lc_fd order[] = { FD_VCPU, FD_VM, FD_SYS };

	lc_close_while_running(_metadata, self, order);
}

TEST_F(lifecycle, close_sys_first_while_running)
{
	const enum lc_fd order[] = { FD_SYS, FD_VM, FD_VCPU };

	lc_close_while_running(_metadata, self, order);
}

/*
 * All fds closed and the run area unmapped while the thread is inside
 * KVM_RUN (a guest spinning in jmp $): KVM_RUN goes on undisturbed until
 * a signal ends it, then the thread's next KVM_RUN fails with EBADF.
 */
TEST_F(lifecycle, close_all_while_inside_run)
{
	struct lc_runner rn = { 0 };
	pthread_t t;
	int i;

	lc_put_code(self->vm.mem, code_spin);
	lc_catch(SIGUSR1);
	rn.fd = self->vcpu.fd;
	rn.run = self->vcpu.run;
	ASSERT_EQ(0, pthread_create(&t, NULL, lc_run_until_error, &rn));
	usleep(50000);
	EXPECT_FALSE(__atomic_load_n(&rn.done, __ATOMIC_ACQUIRE));
	close(self->vcpu.fd);
	self->vcpu.fd = -1;
	close(self->vm.fd);
	self->vm.fd = -1;
	close(self->vm.sys);
	self->vm.sys = -1;
	usleep(50000);
	EXPECT_FALSE(__atomic_load_n(&rn.done, __ATOMIC_ACQUIRE)) {
		TH_LOG("KVM_RUN returned %ld without a reason", rn.result);
	}
	/* The thread no longer reads run: the kernel's mapping ref is the last user. */
	lc_vcpu_destroy(&self->vcpu);
	for (i = 0; i < 1000 && !__atomic_load_n(&rn.done, __ATOMIC_ACQUIRE); i++) {
		pthread_kill(t, SIGUSR1);
		usleep(10000);
	}
	ASSERT_TRUE(lc_join(t, 10000)) TH_LOG("the vCPU thread hangs");
	EXPECT_EQ(-EBADF, rn.result);
}

/* The process exits (exit_group) while another of its threads is in KVM_RUN. */
TEST_F(lifecycle, exit_while_inside_run)
{
	int status;
	pid_t pid;

	lc_put_code(self->vm.mem, code_spin);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct lc_runner rn = { 0 };
		struct lc_vcpu v = { .fd = -1 };
		struct lc_vm vm;
		pthread_t t;

		if (lc_vm_create(&vm, -1, self->vm.mem) ||
		    lc_vcpu_create(&vm, 0, &v, NULL))
			_exit(1);
		rn.fd = v.fd;
		rn.run = v.run;
		if (pthread_create(&t, NULL, lc_run_until_error, &rn))
			_exit(2);
		usleep(50000);
		/* exit_group() with the vCPU thread inside KVM_RUN */
		_exit(__atomic_load_n(&rn.done, __ATOMIC_ACQUIRE) ? 3 : 0);
	}
	ASSERT_EQ(0, lc_wait(pid, &status, 20000)) TH_LOG("the process does not exit");
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	lc_assert_device_works(_metadata);
}

/* ---- processes killed inside KVM_RUN ------------------------------------ */

/* 100 by default (see mkvm_stress()); enough to measure a leak. */
#define NR_KILLED	lc_stress(100)

static void *lc_spin_forever(void *arg)
{
	struct lc_vcpu *v = arg;

	for (;;)
		lc_run(v);
	return NULL;
}

/* The child: one or two vCPUs counting in the shared @mem until killed. */
static int lc_counting_child(uint8_t *mem, int nr_vcpus)
{
	struct lc_vcpu v[2] = { { .fd = -1 }, { .fd = -1 } };
	struct lc_vm vm;
	pthread_t t;
	long r;
	int i;

	if (lc_vm_create(&vm, -1, mem))
		return 10;
	for (i = 0; i < nr_vcpus; i++)
		if (lc_vcpu_create(&vm, i, &v[i], NULL))
			return 11;
	if (nr_vcpus > 1 && pthread_create(&t, NULL, lc_spin_forever, &v[1]))
		return 12;
	for (;;) {
		r = lc_run(&v[0]);
		if (r == 0)
			return 20 + v[0].run->exit_reason;	/* no exit expected */
		if (r != -EINTR)
			return 13;
	}
}

/*
 * 100 processes, each SIGKILLed while its guest runs: the guest counts in
 * memory shared with us, so we kill only once it has started.  One or two
 * vCPUs per process, killed after a random delay of up to 2 ms.
 */
TEST_F_TIMEOUT(lifecycle, sigkill_inside_run, 180)
{
	uint8_t *mem;
	volatile uint16_t *count;
	unsigned int seed = 1;
	uint64_t t0 = lc_now_ms(), end;
	struct lc_mem before = { 0 };
	long lost;
	int i, status = 0;
	pid_t pid, w;

	mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	lc_put_code(mem, code_count);
	count = (volatile uint16_t *)(mem + GUEST_DATA);

	for (i = 0; i < NR_KILLED; i++) {
		if (i == LEAK_WARMUP)
			lc_mem_settled(&before);
		*count = 0;
		pid = fork();
		ASSERT_GE(pid, 0);
		if (pid == 0)
			_exit(lc_counting_child(mem, 1 + i % 2));

		end = lc_now_ms() + 10000;
		w = 0;
		while (*count == 0 && lc_now_ms() < end) {
			w = waitpid(pid, &status, WNOHANG);
			if (w)
				break;
			usleep(200);
		}
		ASSERT_EQ(0, w) TH_LOG("child %d ended before the kill: status %#x", i, status);
		ASSERT_NE(0, *count) TH_LOG("child %d: the guest never ran", i);
		usleep(rand_r(&seed) % 2000);
		ASSERT_EQ(0, kill(pid, SIGKILL));
		ASSERT_EQ(0, lc_wait(pid, &status, 20000)) TH_LOG("child %d survives SIGKILL", i);
		ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
			TH_LOG("child %d: status %#x", i, status);
		}
	}
	munmap(mem, MEM_SIZE);
	lost = lc_mem_lost(_metadata, &before);
	TH_LOG("%d processes killed inside KVM_RUN in %llu ms, memory %+ld KiB",
	       NR_KILLED, (unsigned long long)(lc_now_ms() - t0), -lost);
	EXPECT_LT(lost, LEAK_LIMIT_KB);
	lc_assert_device_works(_metadata);
}

/* ---- many VMs in sequence ----------------------------------------------- */

#define NR_SEQ_VMS	lc_stress(1000)
#define SEQ_RUN_EVERY	10

/*
 * 1000 VMs, each with a memslot and a vCPU, created and destroyed in turn;
 * every tenth runs its guest (an OUT of its number, then HLT).
 */
TEST_F_TIMEOUT(lifecycle, create_destroy_1000_vms, 300)
{
	struct lc_vcpu v = { .fd = -1 };
	struct kvm_regs regs = { .rdx = IO_PORT };
	uint64_t t0 = lc_now_ms();
	struct lc_mem before = { 0 };
	long lost;
	struct lc_vm vm;
	int i;

	lc_put_code(self->vm.mem, code_out_hlt);
	for (i = 0; i < NR_SEQ_VMS; i++) {
		if (i == LEAK_WARMUP)
			lc_mem_settled(&before);
		regs.rax = i;
		ASSERT_EQ(0, lc_vm_create(&vm, self->vm.sys, self->vm.mem)) TH_LOG("VM %d", i);
		ASSERT_EQ(0, lc_vcpu_create(&vm, 0, &v, &regs)) TH_LOG("VM %d", i);
		if (i % SEQ_RUN_EVERY == 0) {
			ASSERT_EQ(0, lc_run(&v));
			ASSERT_EQ(KVM_EXIT_IO, v.run->exit_reason) TH_LOG("VM %d", i);
			ASSERT_EQ(i, lc_io_data(&v));
			ASSERT_EQ(0, lc_run(&v));
			ASSERT_EQ(KVM_EXIT_HLT, v.run->exit_reason) TH_LOG("VM %d", i);
		}
		lc_vcpu_destroy(&v);
		lc_vm_destroy(&vm);
	}
	lost = lc_mem_lost(_metadata, &before);
	TH_LOG("%d VMs in %llu ms, memory %+ld KiB", NR_SEQ_VMS,
	       (unsigned long long)(lc_now_ms() - t0), -lost);
	EXPECT_LT(lost, LEAK_LIMIT_KB);
}

/* ---- a vCPU moving between host CPUs ------------------------------------ */

struct lc_mover {
	struct lc_vcpu *v;
	pid_t tid;
	bool stop;
	unsigned long exits;
	unsigned int cpus_seen;	/* bit n: an exit was handled on CPU n */
	int error;		/* the first bad KVM_RUN or exit */
};

static int lc_pin(pid_t tid, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(tid, sizeof(set), &set);
}

/*
 * Runs code_out_loop: every exit carries the next value of AX.  Every 50
 * exits the thread also moves itself to the other CPU between two runs.
 */
static void *lc_move_and_run(void *arg)
{
	struct lc_mover *m = arg;
	struct kvm_run *run = m->v->run;
	int cpu;
	long r;

	m->tid = syscall(SYS_gettid);
	while (!__atomic_load_n(&m->stop, __ATOMIC_ACQUIRE)) {
		r = lc_run(m->v);
		if (r == -EINTR)
			continue;
		if (r || run->exit_reason != KVM_EXIT_IO) {
			m->error = r ? (int)r : (int)run->exit_reason;
			break;
		}
		if (lc_io_data(m->v) != (uint16_t)m->exits) {
			m->error = 1000;
			break;
		}
		m->exits++;
		cpu = sched_getcpu();
		if (cpu >= 0 && cpu < 32)
			m->cpus_seen |= 1U << cpu;
		if (m->exits % 50 == 0)
			lc_pin(0, (m->exits / 50) % 2);
	}
	return NULL;
}

TEST_F_TIMEOUT(lifecycle, vcpu_migrates_between_cpus, 60)
{
	struct kvm_regs regs = {
		.rdx = IO_PORT,
		.rbx = REG_MAGIC,
		.r8 = REG_MAGIC ^ 8, .r9 = REG_MAGIC ^ 9,
		.r10 = REG_MAGIC ^ 10, .r11 = REG_MAGIC ^ 11,
		.r12 = REG_MAGIC ^ 12, .r13 = REG_MAGIC ^ 13,
		.r14 = REG_MAGIC ^ 14, .r15 = REG_MAGIC ^ 15,
	};
	struct lc_mover m = { .v = &self->vcpu };
	uint64_t end;
	cpu_set_t set;
	pthread_t t;
	int i;

	ASSERT_EQ(0, sched_getaffinity(0, sizeof(set), &set));
	if (!CPU_ISSET(0, &set) || !CPU_ISSET(1, &set))
		SKIP(return, "needs host CPUs 0 and 1");

	lc_put_code(self->vm.mem, code_out_loop);
	ASSERT_EQ(0, lc_vcpu_setup(&self->vcpu, &regs));
	ASSERT_EQ(0, pthread_create(&t, NULL, lc_move_and_run, &m));
	while (!__atomic_load_n(&m.tid, __ATOMIC_ACQUIRE))
		usleep(100);

	/* Move the thread back and forth, mostly while it is in the guest. */
	end = lc_now_ms() + 3000;
	for (i = 0; lc_now_ms() < end && !m.error; i++) {
		EXPECT_EQ(0, lc_pin(m.tid, i % 2));
		usleep(2000);
	}
	__atomic_store_n(&m.stop, true, __ATOMIC_RELEASE);
	ASSERT_TRUE(lc_join(t, 10000)) TH_LOG("the vCPU thread hangs");
	EXPECT_EQ(0, m.error) TH_LOG("after %lu exits", m.exits);
	EXPECT_GE(m.exits, 100);
	EXPECT_EQ(3, m.cpus_seen & 3) TH_LOG("CPUs seen: %#x", m.cpus_seen);
	TH_LOG("%d moves, %lu exits", i, m.exits);

	/* Complete the last OUT; the registers went along with the vCPU. */
	self->vcpu.run->immediate_exit = 1;
	EXPECT_EQ(-EINTR, lc_run(&self->vcpu));
	ASSERT_EQ(0, lc_ioctl(self->vcpu.fd, KVM_GET_REGS, &regs));
	EXPECT_EQ((uint16_t)(m.exits - 1), (uint16_t)regs.rax);
	EXPECT_EQ(REG_MAGIC, regs.rbx);
	EXPECT_EQ(REG_MAGIC ^ 8, regs.r8);
	EXPECT_EQ(REG_MAGIC ^ 11, regs.r11);
	EXPECT_EQ(REG_MAGIC ^ 15, regs.r15);
}

/*
 * mov $0x1234,%ax; mov %ax,%ds; out %ax,(%dx); mov %es,%ax; out %ax,(%dx);
 * hlt
 */
static const uint8_t code_ds_out_es_out[] = {
	0xb8, 0x34, 0x12, 0x8e, 0xd8, 0xef, 0x8c, 0xc0, 0xef, 0xf4
};

/*
 * Segment registers read and written between two runs from a thread on
 * another host CPU than the one the vCPU ran on: a backend that keeps
 * them in the CPU's own state (a VMCS active there) must fetch them from
 * there, and put them back, in whichever order the CPUs come.  With one
 * host CPU both are the same, which still checks the round trip.
 */
/* The first and last CPU this thread may run on (@all: its affinity). */
static int lc_first_last_cpu(cpu_set_t *all, int *first, int *last)
{
	int c;

	if (sched_getaffinity(0, sizeof(*all), all))
		return -1;
	*first = -1;
	for (c = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, all))
			continue;
		if (*first < 0)
			*first = c;
		*last = c;
	}
	return *first < 0 ? -1 : 0;
}

TEST_F(lifecycle, sregs_from_another_cpu)
{
	struct kvm_regs regs = { .rdx = IO_PORT };
	struct kvm_sregs sregs;
	int first, last;
	cpu_set_t all;

	ASSERT_EQ(0, lc_first_last_cpu(&all, &first, &last));
	TH_LOG("runs on CPU %d, ioctls on CPU %d", first, last);

	lc_put_code(self->vm.mem, code_ds_out_es_out);
	ASSERT_EQ(0, lc_vcpu_setup(&self->vcpu, &regs));
	ASSERT_EQ(0, lc_pin(0, first));
	ASSERT_EQ(0, lc_run(&self->vcpu));
	ASSERT_EQ(KVM_EXIT_IO, self->vcpu.run->exit_reason);
	EXPECT_EQ(0x1234, lc_io_data(&self->vcpu));

	/* DS as the guest loaded it; ES changed from here. */
	ASSERT_EQ(0, lc_pin(0, last));
	ASSERT_EQ(0, lc_ioctl(self->vcpu.fd, KVM_GET_SREGS, &sregs));
	EXPECT_EQ(0x1234, sregs.ds.selector);
	EXPECT_EQ(0x12340, sregs.ds.base);
	EXPECT_EQ(0xffff, sregs.ds.limit);
	sregs.es.selector = 0x5678;
	sregs.es.base = 0x56780;
	ASSERT_EQ(0, lc_ioctl(self->vcpu.fd, KVM_SET_SREGS, &sregs));

	ASSERT_EQ(0, lc_pin(0, first));
	ASSERT_EQ(0, lc_run(&self->vcpu));
	ASSERT_EQ(KVM_EXIT_IO, self->vcpu.run->exit_reason);
	EXPECT_EQ(0x5678, lc_io_data(&self->vcpu));
	ASSERT_EQ(0, lc_run(&self->vcpu));
	EXPECT_EQ(KVM_EXIT_HLT, self->vcpu.run->exit_reason);

	ASSERT_EQ(0, lc_pin(0, last));
	ASSERT_EQ(0, lc_ioctl(self->vcpu.fd, KVM_GET_SREGS, &sregs));
	EXPECT_EQ(0x1234, sregs.ds.selector);
	EXPECT_EQ(0x12340, sregs.ds.base);
	EXPECT_EQ(0x5678, sregs.es.selector);
	EXPECT_EQ(0x56780, sregs.es.base);
	EXPECT_EQ(0, sched_setaffinity(0, sizeof(all), &all));
}

/*
 * The same, with the ioctls from another thread on the other CPU: on VMX
 * they make the VMCS current there with that thread's FS base as the
 * host's, and the next KVM_RUN, on the vCPU's own thread, must put its
 * own back at the exit (a thread-local variable and ARCH_GET_FS check).
 */
static __thread unsigned long lc_tls = 0x7e57;

struct lc_sregs_job {
	int fd;
	int cpu;
	bool set;
	long r;
	struct kvm_sregs sregs;
};

static void *lc_sregs_thread(void *arg)
{
	struct lc_sregs_job *j = arg;

	/* Seen by the vCPU's thread only through a wrong FS base. */
	lc_tls = 0xbad;
	j->r = lc_pin(0, j->cpu);
	if (!j->r)
		j->r = lc_ioctl(j->fd, KVM_GET_SREGS, &j->sregs);
	if (!j->r && j->set) {
		j->sregs.es.selector = 0x5678;
		j->sregs.es.base = 0x56780;
		j->r = lc_ioctl(j->fd, KVM_SET_SREGS, &j->sregs);
	}
	return NULL;
}

TEST_F(lifecycle, sregs_from_another_thread)
{
	struct kvm_regs regs = { .rdx = IO_PORT };
	struct lc_sregs_job job = { .fd = -1 };
	unsigned long fs_before, fs_after;
	int first, last;
	pthread_t t;
	cpu_set_t all;

	ASSERT_EQ(0, lc_first_last_cpu(&all, &first, &last));
	ASSERT_EQ(0, syscall(SYS_arch_prctl, ARCH_GET_FS, &fs_before));
	TH_LOG("runs on CPU %d, ioctls from a thread on CPU %d", first, last);

	lc_put_code(self->vm.mem, code_ds_out_es_out);
	ASSERT_EQ(0, lc_vcpu_setup(&self->vcpu, &regs));
	ASSERT_EQ(0, lc_pin(0, first));
	ASSERT_EQ(0, lc_run(&self->vcpu));
	ASSERT_EQ(KVM_EXIT_IO, self->vcpu.run->exit_reason);
	EXPECT_EQ(0x1234, lc_io_data(&self->vcpu));

	job.fd = self->vcpu.fd;
	job.cpu = last;
	job.set = true;
	ASSERT_EQ(0, pthread_create(&t, NULL, lc_sregs_thread, &job));
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(0, job.r);
	EXPECT_EQ(0x1234, job.sregs.ds.selector);
	EXPECT_EQ(0x12340, job.sregs.ds.base);

	ASSERT_EQ(0, lc_run(&self->vcpu));
	ASSERT_EQ(KVM_EXIT_IO, self->vcpu.run->exit_reason);
	EXPECT_EQ(0x5678, lc_io_data(&self->vcpu));
	/* This thread's own FS base, not the other thread's. */
	ASSERT_EQ(0, syscall(SYS_arch_prctl, ARCH_GET_FS, &fs_after));
	EXPECT_EQ(fs_before, fs_after);
	EXPECT_EQ(0x7e57, lc_tls);
	ASSERT_EQ(0, lc_run(&self->vcpu));
	EXPECT_EQ(KVM_EXIT_HLT, self->vcpu.run->exit_reason);

	job.set = false;
	ASSERT_EQ(0, pthread_create(&t, NULL, lc_sregs_thread, &job));
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(0, job.r);
	EXPECT_EQ(0x1234, job.sregs.ds.selector);
	EXPECT_EQ(0x5678, job.sregs.es.selector);
	EXPECT_EQ(0x56780, job.sregs.es.base);
	EXPECT_EQ(0, sched_setaffinity(0, sizeof(all), &all));
}

/* ---- many vCPUs of one VM in parallel ----------------------------------- */

#define NR_PAR_VCPUS	32
#define PAR_EXITS	100
#define PAR_PORT	0x100	/* vCPU n writes to port PAR_PORT + n */

struct lc_par {
	struct lc_vcpu v;
	int id;
	pthread_barrier_t *start;
	char error[160];
};

static uint16_t lc_par_value(int id, int k)
{
	return id * 0x400 + k;
}

/*
 * vCPU n starts with AX = n * 0x400 and DX = PAR_PORT + n and makes
 * PAR_EXITS OUT exits, each with the next value; its RBX holds a value of
 * its own that the guest never touches.
 */
static void *lc_par_run(void *arg)
{
	struct lc_par *p = arg;
	struct kvm_run *run = p->v.run;
	struct kvm_regs regs;
	long r;
	int k;

	pthread_barrier_wait(p->start);
	for (k = 0; k < PAR_EXITS; k++) {
		r = lc_run(&p->v);
		if (r == -EINTR) {
			k--;
			continue;
		}
		if (r || run->exit_reason != KVM_EXIT_IO) {
			snprintf(p->error, sizeof(p->error), "exit %d: KVM_RUN %ld, exit_reason %u",
				 k, r, run->exit_reason);
			return NULL;
		}
		if (run->io.direction != KVM_EXIT_IO_OUT || run->io.size != 2 ||
		    run->io.count != 1 || run->io.port != PAR_PORT + p->id ||
		    lc_io_data(&p->v) != lc_par_value(p->id, k)) {
			snprintf(p->error, sizeof(p->error),
				 "exit %d: dir %u size %u count %u port %#x data %#llx, want port %#x data %#x",
				 k, run->io.direction, run->io.size, run->io.count,
				 run->io.port, (unsigned long long)lc_io_data(&p->v),
				 PAR_PORT + p->id, lc_par_value(p->id, k));
			return NULL;
		}
	}
	run->immediate_exit = 1;
	r = lc_run(&p->v);
	if (r != -EINTR) {
		snprintf(p->error, sizeof(p->error), "immediate_exit: KVM_RUN %ld", r);
		return NULL;
	}
	if (lc_ioctl(p->v.fd, KVM_GET_REGS, &regs)) {
		snprintf(p->error, sizeof(p->error), "KVM_GET_REGS failed");
		return NULL;
	}
	/* The last OUT is complete; the inc after it has not run. */
	if ((uint16_t)regs.rax != lc_par_value(p->id, PAR_EXITS - 1) ||
	    regs.rbx != (REG_MAGIC ^ p->id) || (uint16_t)regs.rdx != PAR_PORT + p->id)
		snprintf(p->error, sizeof(p->error), "rax %#llx rbx %#llx rdx %#llx",
			 (unsigned long long)regs.rax, (unsigned long long)regs.rbx,
			 (unsigned long long)regs.rdx);
	return NULL;
}

TEST_F_TIMEOUT(lifecycle, parallel_vcpus_port_io, 120)
{
	struct lc_par *p;
	pthread_barrier_t start;
	pthread_t *t;
	long max;
	int i, n = NR_PAR_VCPUS;

	max = __mkvm_ioctl(self->vm.sys, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (max > 0 && max < n)
		n = max;
	p = calloc(n, sizeof(*p));
	t = calloc(n, sizeof(*t));
	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, t);
	ASSERT_EQ(0, pthread_barrier_init(&start, NULL, n));

	lc_put_code(self->vm.mem, code_out_loop);
	/* vCPU 0 is the fixture's; the others are created here. */
	p[0].v = self->vcpu;
	for (i = 0; i < n; i++) {
		struct kvm_regs regs = {
			.rax = lc_par_value(i, 0),
			.rdx = PAR_PORT + i,
			.rbx = REG_MAGIC ^ i,
		};

		p[i].id = i;
		p[i].start = &start;
		if (i == 0) {
			ASSERT_EQ(0, lc_vcpu_setup(&p[0].v, &regs));
		} else {
			ASSERT_EQ(0, lc_vcpu_create(&self->vm, i, &p[i].v, &regs)) {
				TH_LOG("vCPU %d", i);
			}
		}
	}
	for (i = 0; i < n; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, lc_par_run, &p[i]));
	for (i = 0; i < n; i++) {
		ASSERT_TRUE(lc_join(t[i], 60000)) TH_LOG("vCPU %d hangs", i);
		EXPECT_EQ(0, p[i].error[0]) TH_LOG("vCPU %d: %s", i, p[i].error);
	}
	for (i = 1; i < n; i++)
		lc_vcpu_destroy(&p[i].v);
	pthread_barrier_destroy(&start);
	free(p);
	free(t);
}

TEST_HARNESS_MAIN
