// SPDX-License-Identifier: GPL-2.0
/*
 * make bench: one round of minikvm's benchmarks on the device $MKVM_DEV
 * (/dev/minikvm or /dev/kvm), as selftests/bench.sh runs it in the test
 * VM, alternating the two devices round by round.  Each metric prints
 *
 *	BENCH-RAW <metric> <device> <value> <unit>
 *
 * with its value for this round (a mean over the round's iterations, or
 * a percentile where the unit says so); bench.sh takes the medians and
 * the 90th percentiles over the rounds and the ratio minikvm/KVM.
 * Usage: bench [METRIC...] (default: all).  The same guest code runs on
 * both devices, built with the selftests' library.
 *
 * Where the vCPU's statistics have cost_* counters (minikvm built with
 * MKVM_COSTS=1, kmod/cost.h), the exit metrics also print
 *
 *	BENCH-COST <metric> <device> <counter>=<per exit> ...
 *
 * the privileged operations the module executed per exit.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "lib/ucall.h"
#include "lib/x86.h"
#include "mkvm_util.h"

#define BENCH_PORT	0x3f0
#define BENCH_MMIO_GPA	0xc0000000UL
#define TOUCH_GPA	0x40000000UL	/* 1 GiB: in the guest's identity map */
#define TOUCH_SIZE	(128UL << 20)
#define TOUCH_SLOT	10

static const char *dev_label;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void report(const char *metric, double value, const char *unit)
{
	printf("BENCH-RAW %s %s %.1f %s\n", metric, dev_label, value, unit);
	fflush(stdout);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* ---- cost counts ------------------------------------------------------ */

#define MAX_COSTS	16

/* A vCPU's cost_* statistics (KVM_GET_STATS_FD), if it has any. */
struct costs {
	int fd;
	unsigned int n;
	char name[MAX_COSTS][48];	/* KVM_STATS_NAME_SIZE */
	off_t offset[MAX_COSTS];	/* of the u64 in the file */
	uint64_t start[MAX_COSTS];
};

static void costs_open(struct costs *c, struct vcpu *vcpu)
{
	struct kvm_stats_header h;
	struct kvm_stats_desc *d;
	size_t dsize;
	unsigned int i;

	c->n = 0;
	c->fd = ioctl(vcpu->fd, KVM_GET_STATS_FD, NULL);
	if (c->fd < 0)
		return;
	TEST_ASSERT(pread(c->fd, &h, sizeof(h), 0) == sizeof(h), "stats header");
	dsize = sizeof(*d) + h.name_size;
	d = malloc(dsize);
	TEST_ASSERT(d, "malloc");
	for (i = 0; i < h.num_desc && c->n < MAX_COSTS; i++) {
		TEST_ASSERT(pread(c->fd, d, dsize, h.desc_offset + i * dsize) ==
			    (ssize_t)dsize, "stats descriptor");
		if (strncmp(d->name, "cost_", 5))
			continue;
		snprintf(c->name[c->n], sizeof(c->name[0]), "%s", d->name + 5);
		c->offset[c->n++] = h.data_offset + d->offset;
	}
	free(d);
}

static void costs_read(struct costs *c, uint64_t *v)
{
	unsigned int i;

	for (i = 0; i < c->n; i++)
		TEST_ASSERT(pread(c->fd, &v[i], 8, c->offset[i]) == 8, "stats");
}

/* Open the counters of @vcpu and take their values now. */
static void costs_start(struct costs *c, struct vcpu *vcpu)
{
	costs_open(c, vcpu);
	costs_read(c, c->start);
}

/* The counters' growth since costs_start(), per exit. */
static void costs_report(struct costs *c, const char *metric, unsigned int n)
{
	uint64_t now[MAX_COSTS];
	unsigned int i;

	if (c->fd < 0)
		return;
	costs_read(c, now);
	if (c->n) {
		printf("BENCH-COST %s %s", metric, dev_label);
		for (i = 0; i < c->n; i++)
			printf(" %s=%.2f", c->name[i],
			       (double)(now[i] - c->start[i]) / n);
		printf("\n");
		fflush(stdout);
	}
	close(c->fd);
}

/* ---- exits to userspace and in-kernel exits ---------------------------- */

static void guest_pio(void)
{
	for (;;)
		asm volatile("out %%al, %%dx" : : "a"(0), "d"(BENCH_PORT));
}

static void guest_mmio(void)
{
	for (;;)
		*(volatile uint32_t *)BENCH_MMIO_GPA = 1;
}

/* A userspace exit: @n KVM_RUNs that each return @reason. */
static void bench_user_exit(const char *metric, void *guest, uint32_t reason,
			    unsigned int n)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	struct costs c;
	uint64_t t0 = 0;
	unsigned int i;

	vcpu_start_guest(vcpu, guest, 0);
	for (i = 0; i < n / 10 + n; i++) {
		if (i == n / 10) {
			costs_start(&c, vcpu);
			t0 = now_ns();	/* after a warm-up tenth */
		}
		vcpu_run(vcpu);
		TEST_ASSERT(vcpu->run->exit_reason == reason,
			    "%s: exit %s", metric,
			    exit_reason_str(vcpu->run->exit_reason));
	}
	report(metric, (double)(now_ns() - t0) / n, "ns/exit");
	costs_report(&c, metric, n);
	vm_free(vm);
}

static void guest_cpuid_loop(uint64_t n)
{
	uint32_t a, b, c, d;
	uint64_t i;

	GUEST_SYNC(0, 0);
	for (i = 0; i < n; i++)
		guest_cpuid(0, 0, &a, &b, &c, &d);
	GUEST_SYNC(1, 0);
}

/* An exit handled in the kernel: @n CPUIDs between two ucalls. */
static void bench_cpuid(unsigned int n)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	struct ucall uc;
	struct costs c;
	uint64_t t0;

	vcpu_start_guest(vcpu, guest_cpuid_loop, 1, (uint64_t)n);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	costs_start(&c, vcpu);
	t0 = now_ns();
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	report("cpuid_exit", (double)(now_ns() - t0) / n, "ns/exit");
	costs_report(&c, "cpuid_exit", n);
	vm_free(vm);
}

/* ---- VM lifecycle --------------------------------------------------- */

/* Real mode at 0: OUT to the bench port, then HLT. */
static const uint8_t lifecycle_code[] = {
	0xba, BENCH_PORT & 0xff, BENCH_PORT >> 8,	/* mov $port, %dx */
	0xee,						/* out %al, %dx */
	0xf4,						/* hlt */
};

/*
 * KVM_CREATE_VM, a 2 MiB slot, one vCPU in real mode, KVM_RUN to its
 * first exit, and every fd closed: raw ioctls, no library set-up.
 */
static uint64_t one_lifecycle(int sys, void *mem)
{
	struct kvm_userspace_memory_region r = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = 2 << 20,
		.userspace_addr = (uint64_t)mem,
	};
	struct kvm_regs regs = { .rip = 0, .rflags = 2 };
	uint64_t t0 = now_ns();
	struct kvm_sregs sregs;
	struct kvm_run *run;
	int vm, vcpu, size;

	vm = ioctl(sys, KVM_CREATE_VM, 0);
	TEST_ASSERT(vm >= 0, "KVM_CREATE_VM");
	TEST_ASSERT(!ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r), "slot");
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	TEST_ASSERT(vcpu >= 0, "KVM_CREATE_VCPU");
	size = ioctl(sys, KVM_GET_VCPU_MMAP_SIZE, 0);
	run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	TEST_ASSERT(run != MAP_FAILED, "mmap kvm_run");
	TEST_ASSERT(!ioctl(vcpu, KVM_GET_SREGS, &sregs), "KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	TEST_ASSERT(!ioctl(vcpu, KVM_SET_SREGS, &sregs), "KVM_SET_SREGS");
	TEST_ASSERT(!ioctl(vcpu, KVM_SET_REGS, &regs), "KVM_SET_REGS");
	TEST_ASSERT(!ioctl(vcpu, KVM_RUN, 0), "KVM_RUN");
	TEST_ASSERT(run->exit_reason == KVM_EXIT_IO &&
		    run->io.port == BENCH_PORT, "lifecycle: exit %u",
		    run->exit_reason);
	munmap(run, size);
	close(vcpu);
	close(vm);
	return now_ns() - t0;
}

static void bench_lifecycle(unsigned int n)
{
	uint64_t *t = calloc(n, sizeof(*t)), sum = 0;
	void *mem = host_mem_alloc(2 << 20);
	int sys = kvm_open();
	unsigned int i;

	TEST_ASSERT(t, "out of memory");
	memcpy(mem, lifecycle_code, sizeof(lifecycle_code));
	one_lifecycle(sys, mem);		/* warm-up */
	for (i = 0; i < n; i++) {
		t[i] = one_lifecycle(sys, mem);
		sum += t[i];
	}
	qsort(t, n, sizeof(*t), cmp_u64);
	report("vm_lifecycle_rate", n * 1e9 / sum, "VMs/s");
	report("vm_lifecycle_p50", t[n / 2] / 1e3, "us");
	report("vm_lifecycle_p99", t[n * 99 / 100] / 1e3, "us");
	close(sys);
	munmap(mem, 2 << 20);
	free(t);
}

/* ---- populating guest memory ---------------------------------------- */

static void guest_touch(uint64_t gpa, uint64_t size)
{
	uint64_t a;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		GUEST_SYNC(pass, 0);
		for (a = gpa; a < gpa + size; a += 4096)
			*(volatile uint8_t *)a = 1;
	}
	GUEST_SYNC(2, 0);
}

/*
 * Write one byte per 4 KiB page of a 128 MiB slot, twice: the first pass
 * maps each page (nested page faults), the second runs on the mappings.
 * @huge: the host memory is 2 MiB-aligned and madvise(MADV_HUGEPAGE).
 */
static void bench_touch(bool huge)
{
	size_t len = TOUCH_SIZE + (huge ? 2UL << 20 : 0);
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	uint64_t t[3], pages = TOUCH_SIZE / 4096;
	char name[64];
	struct ucall uc;
	uint8_t *base, *mem;
	int i;

	base = mmap(NULL, len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	TEST_ASSERT(base != MAP_FAILED, "mmap %zu", len);
	mem = base;
	if (huge) {
		mem = (uint8_t *)(((uintptr_t)mem + (2UL << 20) - 1) &
				  ~((2UL << 20) - 1));
		madvise(mem, TOUCH_SIZE, MADV_HUGEPAGE);
	}
	vm_set_region(vm, TOUCH_SLOT, 0, TOUCH_GPA, TOUCH_SIZE, mem);
	vcpu_start_guest(vcpu, guest_touch, 2, TOUCH_GPA, TOUCH_SIZE);
	for (i = 0; i < 3; i++) {
		vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
		t[i] = now_ns();
	}
	snprintf(name, sizeof(name), "touch_%s_first", huge ? "thp" : "4k");
	report(name, (double)(t[1] - t[0]) / pages, "ns/page");
	snprintf(name, sizeof(name), "touch_%s_second", huge ? "thp" : "4k");
	report(name, (double)(t[2] - t[1]) / pages, "ns/page");
	vm_free(vm);
	munmap(base, len);
}

/* ---- the list ------------------------------------------------------- */

static void bench_pio(void)
{
	bench_user_exit("pio_exit", guest_pio, KVM_EXIT_IO, 5000);
}

static void bench_mmio(void)
{
	bench_user_exit("mmio_exit", guest_mmio, KVM_EXIT_MMIO, 5000);
}

static void bench_cpuid_exit(void)
{
	bench_cpuid(20000);
}

static void bench_vm_lifecycle(void)
{
	bench_lifecycle(100);
}

static void bench_touch_4k(void)
{
	bench_touch(false);
}

static void bench_touch_thp(void)
{
	bench_touch(true);
}

static const struct {
	const char *name;
	void (*fn)(void);
} benches[] = {
	{ "pio_exit", bench_pio },
	{ "cpuid_exit", bench_cpuid_exit },
	{ "mmio_exit", bench_mmio },
	{ "vm_lifecycle", bench_vm_lifecycle },
	{ "touch_4k", bench_touch_4k },
	{ "touch_thp", bench_touch_thp },
};

int main(int argc, char **argv)
{
	unsigned int i;
	int a;

	for (a = 1; a < argc; a++) {
		for (i = 0; i < ARRAY_SIZE(benches); i++)
			if (!strcmp(argv[a], benches[i].name))
				break;
		if (i == ARRAY_SIZE(benches)) {
			fprintf(stderr, "bench: unknown metric '%s'\n", argv[a]);
			return 2;
		}
	}
	dev_label = mkvm_is_kvm() ? "kvm" : "minikvm";
	for (i = 0; i < ARRAY_SIZE(benches); i++) {
		bool run = argc < 2;

		for (a = 1; a < argc; a++)
			run |= !strcmp(argv[a], benches[i].name);
		if (run)
			benches[i].fn();
	}
	return 0;
}
