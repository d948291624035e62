// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_GET_STATS_FD and KVM_GET/SET_CLOCK.
 *
 * Stats: the layout of the VM's and the vCPU's files (header, id right
 * after it, descriptors within KVM's rules, data block), read() and
 * pread() at any offset, the end of the file, the fd's mode and
 * lifetime (it outlives the VM and vCPU fds), and counters that follow
 * what a guest provably did.  Statistic names of minikvm's own are only
 * checked on minikvm; KVM's names (io_exits, halt_exits, pages_4k) on
 * both.
 *
 * Clock: KVM_CAP_ADJUST_CLOCK, a clock that runs forward between
 * KVM_GET_CLOCKs, KVM_SET_CLOCK with and without KVM_CLOCK_REALTIME,
 * the host real time and TSC that come with it, and bad flags.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <time.h>
#include <x86intrin.h>

#include "kselftest_harness.h"
#include "lib/stats.h"
#include "lib/ucall.h"
#include "lib/x86.h"
#include "mkvm_util.h"

#define NSEC_PER_SEC	1000000000ULL

/*
 * The rules kvm_binary_stats_test checks, and a few more: blocks in
 * order and apart, names NUL-terminated and unique, each statistic's
 * values inside the data block.
 */
static void check_layout(struct __test_metadata *_metadata, int fd,
			 const char *id)
{
	struct stats st;
	uint32_t i, j;

	ASSERT_EQ(0, stats_read(fd, &st)) TH_LOG("reading the stats: %m");
	EXPECT_EQ(0, st.h.flags);
	EXPECT_EQ(sizeof(st.h), st.h.id_offset);
	EXPECT_STREQ(id, st.id);
	ASSERT_LT(0, st.h.num_desc);
	EXPECT_LE(st.h.id_offset + STATS_NAME_SIZE, st.h.desc_offset);
	EXPECT_LE(st.h.desc_offset + st.h.num_desc * st.desc_size,
		  st.h.data_offset);
	for (i = 0; i < st.h.num_desc; i++) {
		struct kvm_stats_desc *d = stat_desc(&st, i);
		uint32_t type = d->flags & KVM_STATS_TYPE_MASK;
		uint32_t unit = d->flags & KVM_STATS_UNIT_MASK;
		uint32_t base = d->flags & KVM_STATS_BASE_MASK;

		ASSERT_GT(STATS_NAME_SIZE, strnlen(d->name, STATS_NAME_SIZE));
		EXPECT_LT(0, strlen(d->name));
		EXPECT_LE(type, KVM_STATS_TYPE_MAX) TH_LOG("%s", d->name);
		EXPECT_LE(unit, KVM_STATS_UNIT_MAX) TH_LOG("%s", d->name);
		EXPECT_LE(base, KVM_STATS_BASE_MAX) TH_LOG("%s", d->name);
		if (unit == KVM_STATS_UNIT_SECONDS) {
			EXPECT_GE(0, d->exponent) TH_LOG("%s", d->name);
		} else if (unit == KVM_STATS_UNIT_BOOLEAN) {
			EXPECT_EQ(0, d->exponent) TH_LOG("%s", d->name);
		} else {
			EXPECT_LE(0, d->exponent) TH_LOG("%s", d->name);
		}
		EXPECT_NE(0, d->size) TH_LOG("%s", d->name);
		if (type == KVM_STATS_TYPE_LINEAR_HIST) {
			EXPECT_NE(0, d->bucket_size) TH_LOG("%s", d->name);
		} else {
			EXPECT_EQ(0, d->bucket_size) TH_LOG("%s", d->name);
		}
		EXPECT_EQ(0, d->offset % sizeof(uint64_t));
		EXPECT_LE(d->offset + d->size * sizeof(uint64_t), st.data_size)
			TH_LOG("%s", d->name);
		for (j = 0; j < i; j++)
			EXPECT_STRNE(d->name, stat_desc(&st, j)->name);
	}
	stats_free(&st);
}

/*
 * The whole file in one pread() and in pieces of every size up to 97
 * bytes from every offset class: the same bytes (the guest is not
 * running, so the values hold still).  read() follows the position.
 */
static void check_reads(struct __test_metadata *_metadata, int fd)
{
	struct stats st;
	char *all, *part;
	size_t n, off;
	ssize_t r;

	ASSERT_EQ(0, stats_read(fd, &st));
	all = calloc(1, st.size + 4096);
	part = calloc(1, st.size + 4096);
	/* A larger buffer gets the file, no more. */
	ASSERT_EQ(st.size, pread(fd, all, st.size + 4096, 0));
	for (n = 1; n < 98; n += 8) {
		memset(part, 0, st.size);
		for (off = 0; off < st.size; off += r) {
			r = pread(fd, part + off, n, off);
			ASSERT_LT(0, r) TH_LOG("pread(%zu) at %zu", n, off);
			ASSERT_GE(n, r);
		}
		ASSERT_EQ(0, memcmp(all, part, st.size)) TH_LOG("pieces of %zu", n);
	}
	/* At and past the end: nothing. */
	EXPECT_EQ(0, pread(fd, part, 8, st.size));
	EXPECT_EQ(0, pread(fd, part, 8, st.size + 1));
	EXPECT_EQ(0, pread(fd, part, 8, 1ULL << 40));
	/* read() from the file position, as kvm_binary_stats_test reads. */
	EXPECT_EQ(sizeof(st.h), read(fd, part, sizeof(st.h)));
	EXPECT_EQ(STATS_NAME_SIZE, read(fd, part, STATS_NAME_SIZE));
	EXPECT_STREQ(st.id, part);
	EXPECT_EQ(st.size - sizeof(st.h) - STATS_NAME_SIZE,
		  read(fd, part, st.size + 4096));
	EXPECT_EQ(0, read(fd, part, 8));
	free(all);
	free(part);
	stats_free(&st);
}

FIXTURE(stats) {
	struct vm *vm;
	struct vcpu *vcpu;
};

FIXTURE_SETUP(stats)
{
	if (!kvm_check_cap(KVM_CAP_BINARY_STATS_FD))
		SKIP(return, "no KVM_CAP_BINARY_STATS_FD");
	self->vm = vm_create();
	self->vcpu = vm_vcpu_add(self->vm, 0);
}

FIXTURE_TEARDOWN(stats)
{
	if (self->vm)
		vm_free(self->vm);
}

static int vm_stats_fd(struct vm *vm)
{
	return __mkvm_ioctl(vm->fd, KVM_GET_STATS_FD, 0);
}

static int vcpu_stats_fd(struct vcpu *vcpu)
{
	return __mkvm_ioctl(vcpu->fd, KVM_GET_STATS_FD, 0);
}

TEST_F(stats, cap_on_vm_fd)
{
	EXPECT_EQ(1, __mkvm_ioctl(self->vm->fd, KVM_CHECK_EXTENSION,
				  KVM_CAP_BINARY_STATS_FD));
}

/* The VM's file: id "kvm-<pid>", KVM's rules, reads at any offset. */
TEST_F(stats, vm_layout_and_reads)
{
	char id[STATS_NAME_SIZE];
	int fd = vm_stats_fd(self->vm);

	ASSERT_LE(0, fd) TH_LOG("KVM_GET_STATS_FD: %s", strerror(-fd));
	snprintf(id, sizeof(id), "kvm-%d", getpid());
	check_layout(_metadata, fd, id);
	check_reads(_metadata, fd);
	close(fd);
}

/* A vCPU's file: id "kvm-<pid>/vcpu-<id>". */
TEST_F(stats, vcpu_layout_and_reads)
{
	struct vcpu *v7 = vm_vcpu_add(self->vm, 7);
	char id[STATS_NAME_SIZE];
	int fd = vcpu_stats_fd(self->vcpu);

	ASSERT_LE(0, fd) TH_LOG("KVM_GET_STATS_FD: %s", strerror(-fd));
	snprintf(id, sizeof(id), "kvm-%d/vcpu-0", getpid());
	check_layout(_metadata, fd, id);
	check_reads(_metadata, fd);
	close(fd);
	fd = vcpu_stats_fd(v7);
	ASSERT_LE(0, fd);
	snprintf(id, sizeof(id), "kvm-%d/vcpu-7", getpid());
	check_layout(_metadata, fd, id);
	close(fd);
}

/*
 * The fd is read-only, close-on-exec, and lseek() does not move it (KVM
 * has noop_llseek: the position only moves by read()).  KVM ignores the
 * ioctl's argument.
 */
TEST_F(stats, fd_mode)
{
	char buf[64];
	int fd = vm_stats_fd(self->vm), vfd;

	ASSERT_LE(0, fd);
	EXPECT_EQ(O_RDONLY, fcntl(fd, F_GETFL) & O_ACCMODE);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD));
	EXPECT_EQ(-1, write(fd, buf, 8));
	EXPECT_EQ(EBADF, errno);
	EXPECT_EQ(24, read(fd, buf, 24));
	EXPECT_EQ(24, lseek(fd, 0, SEEK_SET));
	EXPECT_EQ(24, lseek(fd, 0, SEEK_CUR));
	EXPECT_EQ(8, read(fd, buf, 8));
	close(fd);

	/* A nonzero argument: as KVM, ignored. */
	fd = __mkvm_ioctl(self->vm->fd, KVM_GET_STATS_FD, 1);
	EXPECT_LE(0, fd);
	vfd = __mkvm_ioctl(self->vcpu->fd, KVM_GET_STATS_FD, 0x1234);
	EXPECT_LE(0, vfd);
	close(fd);
	close(vfd);
	/* Not on the system fd. */
	EXPECT_GT(0, __mkvm_ioctl(self->vm->sys_fd, KVM_GET_STATS_FD, 0));
}

/* Stats fds keep working after the VM and vCPU fds are closed. */
TEST_F(stats, outlives_vm_fd)
{
	int fd = vm_stats_fd(self->vm), vfd = vcpu_stats_fd(self->vcpu);
	char id[STATS_NAME_SIZE];

	ASSERT_LE(0, fd);
	ASSERT_LE(0, vfd);
	vm_free(self->vm);
	self->vm = NULL;
	snprintf(id, sizeof(id), "kvm-%d/vcpu-0", getpid());
	check_layout(_metadata, vfd, id);
	EXPECT_EQ(0, stat_get(vfd, "io_exits"));
	close(vfd);
	snprintf(id, sizeof(id), "kvm-%d", getpid());
	check_layout(_metadata, fd, id);
	close(fd);
}

#define NR_OUTS	20

GUEST_ASM(out_loop,
	".code64\n"
	"mov $" STR(NR_OUTS) ", %ecx\n"
	"1: out %al, $0x80\n"
	"loop 1b\n"
	"hlt\n");

/*
 * N port writes are N io_exits and a HLT one halt_exit, read while the
 * fd stays open (live values).  minikvm counts exactly; KVM at least.
 */
TEST_F(stats, counters_follow_the_guest)
{
	int fd = vcpu_stats_fd(self->vcpu), vmfd = vm_stats_fd(self->vm);
	int64_t io, hlt, exits;
	int i, n = 0;

	ASSERT_LE(0, fd);
	ASSERT_LE(0, vmfd);
	EXPECT_EQ(0, stat_get(fd, "io_exits"));
	EXPECT_EQ(0, stat_get(fd, "halt_exits"));
	vcpu_load_snippet(self->vcpu, MODE_LONG, out_loop);
	for (i = 0; i < 2 * NR_OUTS; i++) {
		vcpu_run(self->vcpu);
		if (self->vcpu->run->exit_reason == KVM_EXIT_HLT)
			break;
		vcpu_assert_io(self->vcpu, KVM_EXIT_IO_OUT, 0x80, 1, 1);
		n++;
		if (n == NR_OUTS / 2 && !mkvm_is_kvm())
			EXPECT_EQ(n, stat_get(fd, "io_exits"));
	}
	ASSERT_EQ(NR_OUTS, n);
	vcpu_assert_exit(self->vcpu, KVM_EXIT_HLT);

	io = stat_get(fd, "io_exits");
	hlt = stat_get(fd, "halt_exits");
	exits = stat_get(fd, "exits");
	EXPECT_LE(0, stat_get(vmfd, "pages_4k"));
	if (mkvm_is_kvm()) {
		EXPECT_LE(NR_OUTS, io);
		EXPECT_LE(1, hlt);
		EXPECT_LE(io + hlt, exits);
	} else {
		EXPECT_EQ(NR_OUTS, io);
		EXPECT_EQ(1, hlt);
		EXPECT_LE(NR_OUTS + 1, exits);
		EXPECT_EQ(NR_OUTS + 1, stat_get(fd, "user_exits"));
		EXPECT_LT(0, stat_get(fd, "guest_ns"));
		EXPECT_EQ(0, stat_get(fd, "mmio_exits"));
		EXPECT_EQ(1, stat_get(vmfd, "vcpus"));
		EXPECT_LT(0, stat_get(vmfd, "pages_4k"));
		EXPECT_LT(0, stat_get(vmfd, "pt_pages"));
		EXPECT_LE(stat_get(vmfd, "pages_4k"),
			  stat_get(vmfd, "memslot_pages"));
	}
	close(fd);
	close(vmfd);
}

/* minikvm's VM figures: memory in slots, vCPUs, before any run. */
TEST_F(stats, vm_figures)
{
	int fd = vm_stats_fd(self->vm);
	uint64_t pages = 0;
	int i;

	if (mkvm_is_kvm())
		SKIP(return, "minikvm's own statistics");
	ASSERT_LE(0, fd);
	for (i = 0; i < VM_MAX_REGIONS; i++)
		pages += self->vm->regions[i].size / 4096;
	EXPECT_EQ(pages, stat_get(fd, "memslot_pages"));
	EXPECT_EQ(1, stat_get(fd, "vcpus"));
	vm_vcpu_add(self->vm, 1);
	EXPECT_EQ(2, stat_get(fd, "vcpus"));
	close(fd);
}

/* ---- 2 MiB nested pages ---------------------------------------------- */

#define THP_GPA		(1ULL << 30)	/* in the guest's identity map */
#define THP_SIZE	(8ULL << 20)
#define THP_SLOT	10

/* Each 4 KiB page: word 0 as the host wrote it; word 1 := ~index. */
static void guest_thp(uint64_t gpa, uint64_t size)
{
	uint64_t i;

	for (i = 0; i < size / 4096; i++) {
		volatile uint64_t *p = (uint64_t *)(gpa + i * 4096);

		GUEST_ASSERT(p[0] == i * 3 + 1);
		p[1] = ~i;
	}
	GUEST_DONE();
}

/* AnonHugePages of the mapping at @addr, from /proc/self/smaps, in kB. */
static long anon_huge_kb(void *addr)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	unsigned long lo, hi, a = (unsigned long)addr;
	bool in = false;
	char line[256];
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		/* A mapping's first line: "lo-hi perms ..."; then its fields. */
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
			in = lo <= a && a < hi;
		else if (in && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

static void run_thp_guest(struct __test_metadata *_metadata, struct vm *vm)
{
	struct vcpu *vcpu = vm_vcpu_add(vm, vm->nr_vcpus);

	vcpu_start_guest(vcpu, guest_thp, 2, THP_GPA, THP_SIZE);
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
}

/*
 * A slot on transparent huge pages: each 2 MiB the guest touches is one
 * 2 MiB leaf of the nested tables (pages_2m, as KVM counts them: those
 * of the slot go when it is deleted), and
 * guest and host see the same bytes, also after the slot is deleted
 * and added again (its leaves zapped, its pages unpinned and mapped
 * anew).  On minikvm, also: one nested page fault per 2 MiB.
 */
TEST(pages_2m_for_thp_slot)
{
	size_t len = THP_SIZE + (2 << 20);
	uint8_t *base, *mem;
	int fd, vfd, round;
	long thp, npf, n2m;
	struct vm *vm;
	uint64_t i;

	base = mmap(NULL, len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, base);
	mem = (uint8_t *)(((uintptr_t)base + (2 << 20) - 1) & ~((2UL << 20) - 1));
	if (madvise(mem, THP_SIZE, MADV_HUGEPAGE))
		SKIP(return, "no transparent huge pages in this kernel");
	for (i = 0; i < THP_SIZE / 4096; i++)
		*(uint64_t *)(mem + i * 4096) = i * 3 + 1;
	thp = anon_huge_kb(mem) / 2048;
	TH_LOG("%ld of %llu 2 MiB ranges on transparent huge pages", thp,
	       THP_SIZE >> 21);
	if (thp <= 0)
		SKIP(return, "the host gave no transparent huge page");

	vm = vm_create();
	fd = vm_stats_fd(vm);
	ASSERT_LE(0, fd);
	for (round = 0; round < 2; round++) {
		vm_set_region(vm, THP_SLOT, 0, THP_GPA, THP_SIZE, mem);
		run_thp_guest(_metadata, vm);
		/*
		 * The VM's other memory may be on huge pages too (6.12 aligns
		 * anonymous mappings of 2 MiB or more for THP): at least the
		 * slot's, and exactly those go with it below.
		 */
		n2m = stat_get(fd, "pages_2m");
		EXPECT_LE(thp, n2m);
		for (i = 0; i < THP_SIZE / 4096; i++)
			ASSERT_EQ(~i, ((uint64_t *)(mem + i * 4096))[1]);
		if (!mkvm_is_kvm()) {
			vfd = vcpu_stats_fd(vm->vcpus[round]);
			npf = stat_get(vfd, "npf_exits");
			/* 4 KiB pages not on a THP, and the VM's own (< 200). */
			EXPECT_GE(THP_SIZE / 4096 - thp * 511 + 200, npf);
			close(vfd);
		}
		/*
		 * Deleted: its 2 MiB leaves go.  KVM 6.12 may take the
		 * others too (KVM_X86_QUIRK_SLOT_ZAP_ALL zaps every mapping).
		 */
		ASSERT_EQ(0, __vm_set_region(vm, THP_SLOT, 0, THP_GPA, 0, mem));
		if (mkvm_is_kvm()) {
			EXPECT_GE(n2m - thp, stat_get(fd, "pages_2m"));
		} else {
			EXPECT_EQ(n2m - thp, stat_get(fd, "pages_2m"));
		}
	}
	close(fd);
	vm_free(vm);
	munmap(base, len);
}

/* ---- KVM_GET_CLOCK / KVM_SET_CLOCK ------------------------------------ */

FIXTURE(clock) {
	struct vm *vm;
	long cap;
};

FIXTURE_SETUP(clock)
{
	cpu_set_t cpus;

	self->cap = kvm_check_cap(KVM_CAP_ADJUST_CLOCK);
	if (!self->cap)
		SKIP(return, "no KVM_CAP_ADJUST_CLOCK");
	/* The TSC is compared with the kernel's: stay on one CPU. */
	CPU_ZERO(&cpus);
	CPU_SET(sched_getcpu(), &cpus);
	sched_setaffinity(0, sizeof(cpus), &cpus);
	self->vm = vm_create_bare();
}

FIXTURE_TEARDOWN(clock)
{
	if (self->vm)
		vm_free(self->vm);
}

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

static void get_clock(struct __test_metadata *_metadata, struct vm *vm,
		      struct kvm_clock_data *data)
{
	memset(data, 0xa5, sizeof(*data));
	ASSERT_EQ(0, __mkvm_ioctl(vm->fd, KVM_GET_CLOCK, (unsigned long)data));
}

static int set_clock(struct vm *vm, uint64_t clock, uint32_t flags,
		     uint64_t realtime)
{
	struct kvm_clock_data data = {
		.clock = clock, .flags = flags, .realtime = realtime,
	};

	return __mkvm_ioctl(vm->fd, KVM_SET_CLOCK, (unsigned long)&data);
}

TEST_F(clock, cap)
{
	EXPECT_NE(0, self->cap & KVM_CLOCK_REALTIME);
	EXPECT_EQ(self->cap, __mkvm_ioctl(self->vm->fd, KVM_CHECK_EXTENSION,
					  KVM_CAP_ADJUST_CLOCK));
	/* minikvm has no TSC-based clock: never KVM_CLOCK_TSC_STABLE. */
	if (!mkvm_is_kvm())
		EXPECT_EQ(KVM_CLOCK_REALTIME | KVM_CLOCK_HOST_TSC, self->cap);
}

/*
 * The clock counts from the VM's creation and runs forward; flags are
 * among those the capability lists; realtime and host_tsc, when
 * flagged, are the host's of the moment.
 */
TEST_F(clock, get_runs_forward)
{
	struct kvm_clock_data a, b;
	uint64_t r0, r1, t0, t1;

	r0 = realtime_ns();
	t0 = __rdtsc();
	get_clock(_metadata, self->vm, &a);
	t1 = __rdtsc();
	r1 = realtime_ns();
	EXPECT_GT(60 * NSEC_PER_SEC, a.clock);
	EXPECT_EQ(0, a.flags & ~(self->cap | KVM_CLOCK_TSC_STABLE));
	EXPECT_EQ(0, a.pad0);
	EXPECT_EQ(0, a.pad[0] | a.pad[1] | a.pad[2] | a.pad[3]);
	if (!mkvm_is_kvm())
		EXPECT_EQ(KVM_CLOCK_REALTIME | KVM_CLOCK_HOST_TSC, a.flags);
	if (a.flags & KVM_CLOCK_REALTIME) {
		EXPECT_LE(r0, a.realtime);
		EXPECT_GE(r1, a.realtime);
	}
	if (a.flags & KVM_CLOCK_HOST_TSC) {
		EXPECT_LE(t0, a.host_tsc);
		EXPECT_GE(t1, a.host_tsc);
	}
	usleep(20000);
	get_clock(_metadata, self->vm, &b);
	EXPECT_LE(a.clock + 20000000ULL, b.clock);
	EXPECT_GT(a.clock + 20 * NSEC_PER_SEC, b.clock);
	if ((a.flags & b.flags & KVM_CLOCK_REALTIME)) {
		/* Both clocks ran alike (loosely: the rig is slow). */
		EXPECT_LE(b.realtime - a.realtime, b.clock - a.clock + NSEC_PER_SEC);
		EXPECT_LE(b.clock - a.clock, b.realtime - a.realtime + NSEC_PER_SEC);
	}
}

#define BASE	(1000 * NSEC_PER_SEC)
#define SLACK	(10 * NSEC_PER_SEC)

/* SET_CLOCK sets the value GET_CLOCK then counts from, back or forth. */
TEST_F(clock, set)
{
	struct kvm_clock_data d;

	ASSERT_EQ(0, set_clock(self->vm, BASE, 0, 0));
	get_clock(_metadata, self->vm, &d);
	EXPECT_LE(BASE, d.clock);
	EXPECT_GT(BASE + SLACK, d.clock);
	/* Backwards too: that is userspace's call. */
	ASSERT_EQ(0, set_clock(self->vm, 5, 0, 0));
	get_clock(_metadata, self->vm, &d);
	EXPECT_LE(5, d.clock);
	EXPECT_GT(SLACK, d.clock);
	/* What GET_CLOCK returned goes back in, flags and all. */
	d.clock = BASE;
	ASSERT_EQ(0, __mkvm_ioctl(self->vm->fd, KVM_SET_CLOCK, (unsigned long)&d));
	get_clock(_metadata, self->vm, &d);
	EXPECT_LE(BASE, d.clock);
	EXPECT_GT(BASE + SLACK, d.clock);
}

/*
 * KVM_CLOCK_REALTIME: the real time elapsed since @realtime is added
 * (a migration's downtime); a @realtime in the future adds nothing.
 */
TEST_F(clock, set_realtime)
{
	struct kvm_clock_data d;

	ASSERT_EQ(0, set_clock(self->vm, BASE, KVM_CLOCK_REALTIME,
			       realtime_ns() - 30 * NSEC_PER_SEC));
	get_clock(_metadata, self->vm, &d);
	EXPECT_LE(BASE + 30 * NSEC_PER_SEC, d.clock);
	EXPECT_GT(BASE + 30 * NSEC_PER_SEC + SLACK, d.clock);

	ASSERT_EQ(0, set_clock(self->vm, BASE, KVM_CLOCK_REALTIME,
			       realtime_ns() + 3600 * NSEC_PER_SEC));
	get_clock(_metadata, self->vm, &d);
	EXPECT_LE(BASE, d.clock);
	EXPECT_GT(BASE + SLACK, d.clock);
}

/* Unknown flags: -EINVAL, and the clock is left alone. */
TEST_F(clock, bad_flags)
{
	struct kvm_clock_data d;

	ASSERT_EQ(0, set_clock(self->vm, BASE, 0, 0));
	EXPECT_EQ(-EINVAL, set_clock(self->vm, 7, 1, 0));
	EXPECT_EQ(-EINVAL, set_clock(self->vm, 7, 1 << 4, 0));
	EXPECT_EQ(-EINVAL, set_clock(self->vm, 7, 1U << 31, 0));
	get_clock(_metadata, self->vm, &d);
	EXPECT_LE(BASE, d.clock);
	EXPECT_EQ(-EFAULT, __mkvm_ioctl(self->vm->fd, KVM_SET_CLOCK, 8));
	EXPECT_EQ(-EFAULT, __mkvm_ioctl(self->vm->fd, KVM_GET_CLOCK, 8));
}

/* Each VM has its own clock. */
TEST_F(clock, per_vm)
{
	struct vm *other = vm_create_bare();
	struct kvm_clock_data d;

	ASSERT_EQ(0, set_clock(self->vm, BASE, 0, 0));
	get_clock(_metadata, other, &d);
	EXPECT_GT(BASE, d.clock);
	vm_free(other);
}

TEST_HARNESS_MAIN
