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
 * Usage: bench [METRIC...] (default: all), bench --list.  The same
 * guest code runs on both devices, built with the selftests' library.
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
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/apic.h"
#include "lib/irqtest.h"
#include "lib/run.h"
#include "lib/ucall.h"
#include "lib/x86.h"
#include "mkvm_util.h"

#define BENCH_PORT	0x3f0
#define BENCH_MMIO_GPA	0xc0000000UL
#define TOUCH_GPA	0x40000000UL	/* 1 GiB: in the guest's identity map */
#define TOUCH_SIZE	(128UL << 20)
#define TOUCH_SLOT	10

static const char *dev_label;

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

/*
 * A guest loop of @n iterations between two GUEST_SYNCs: ns per
 * iteration, less @wait_ns (what each one waits on purpose), and the
 * cost counts per iteration.  Returns the second sync's first argument.
 */
static uint64_t measure_between_syncs(struct vcpu *vcpu, const char *metric,
				      unsigned int n, const char *unit,
				      double wait_ns)
{
	struct ucall uc;
	struct costs c;
	uint64_t t0;

	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	costs_start(&c, vcpu);
	t0 = now_ns();
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	report(metric, (double)(now_ns() - t0) / n - wait_ns, unit);
	costs_report(&c, metric, n);
	return uc.args[0];
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

	vcpu_start_guest(vcpu, guest_cpuid_loop, 1, (uint64_t)n);
	measure_between_syncs(vcpu, "cpuid_exit", n, "ns/exit", 0);
	vm_free(vm);
}

/* A hypercall number neither KVM nor minikvm has: -KVM_ENOSYS (-1000). */
#define BENCH_HC_NONE	0xbe00

static void guest_hypercall_loop(uint64_t n, uint64_t amd)
{
	uint64_t i, ret = 0;

	GUEST_SYNC(0, 0);
	for (i = 0; i < n; i++) {
		ret = BENCH_HC_NONE;
		if (amd)
			asm volatile("vmmcall" : "+a"(ret) : : "memory");
		else
			asm volatile("vmcall" : "+a"(ret) : : "memory");
	}
	GUEST_SYNC(ret, 0);
}

/*
 * The other in-kernel exit: @n hypercalls (VMMCALL or VMCALL, the
 * host's own) between two ucalls, each answered -KVM_ENOSYS.
 */
static void bench_hypercall(unsigned int n)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	uint64_t ret;

	vcpu_start_guest(vcpu, guest_hypercall_loop, 2, (uint64_t)n,
			 (uint64_t)host_is_amd());
	ret = measure_between_syncs(vcpu, "hypercall_exit", n, "ns/exit", 0);
	TEST_ASSERT(ret == (uint64_t)-1000,
		    "hypercall %#x returned %#llx, not -KVM_ENOSYS",
		    BENCH_HC_NONE, (unsigned long long)ret);
	vm_free(vm);
}

/* ---- VM lifecycle --------------------------------------------------- */

/* Real mode at 0: OUT to the bench port, then HLT. */
static const uint8_t lifecycle_code[] = {
	0xba, BENCH_PORT & 0xff, BENCH_PORT >> 8,	/* mov $port, %dx */
	0xee,						/* out %al, %dx */
	0xf4,						/* hlt */
};

/* The steps of one lifecycle, timed apart to see where the time goes. */
enum { LC_CREATE_VM, LC_SLOT, LC_VCPU, LC_RUN, LC_CLOSE, LC_NR };
static const char *const lc_names[LC_NR] = {
	"create_vm", "slot", "vcpu", "run", "close",
};

/*
 * KVM_CREATE_VM, a 2 MiB slot, one vCPU in real mode, KVM_RUN to its
 * first exit, and every fd closed: raw ioctls, no library set-up.
 * Each step's ns go to @step[LC_*]; returns the whole.
 */
static uint64_t one_lifecycle(int sys, void *mem, uint64_t *step)
{
	struct kvm_userspace_memory_region r = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = 2 << 20,
		.userspace_addr = (uint64_t)mem,
	};
	struct kvm_regs regs = { .rip = 0, .rflags = 2 };
	uint64_t t0 = now_ns(), t = t0, t1;
	struct kvm_sregs sregs;
	struct kvm_run *run;
	int vm, vcpu, size;

#define LC_STEP(i) do { t1 = now_ns(); step[i] = t1 - t; t = t1; } while (0)
	vm = ioctl(sys, KVM_CREATE_VM, 0);
	TEST_ASSERT(vm >= 0, "KVM_CREATE_VM");
	LC_STEP(LC_CREATE_VM);
	TEST_ASSERT(!ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r), "slot");
	LC_STEP(LC_SLOT);
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
	LC_STEP(LC_VCPU);
	TEST_ASSERT(!ioctl(vcpu, KVM_RUN, 0), "KVM_RUN");
	TEST_ASSERT(run->exit_reason == KVM_EXIT_IO &&
		    run->io.port == BENCH_PORT, "lifecycle: exit %u",
		    run->exit_reason);
	LC_STEP(LC_RUN);
	munmap(run, size);
	close(vcpu);
	close(vm);
	LC_STEP(LC_CLOSE);
#undef LC_STEP
	return t - t0;
}

static void bench_lifecycle(unsigned int n)
{
	uint64_t *t = calloc(n * (LC_NR + 1), sizeof(*t)), sum = 0;
	uint64_t *steps = t + n, warm[LC_NR], *col;
	void *mem = host_mem_alloc(2 << 20);
	int sys = kvm_open();
	char name[64];
	unsigned int i, j;

	TEST_ASSERT(t, "out of memory");
	memcpy(mem, lifecycle_code, sizeof(lifecycle_code));
	one_lifecycle(sys, mem, warm);		/* warm-up */
	for (i = 0; i < n; i++) {
		t[i] = one_lifecycle(sys, mem, steps + i * LC_NR);
		sum += t[i];
	}
	qsort(t, n, sizeof(*t), cmp_u64);
	report("vm_lifecycle_rate", n * 1e9 / sum, "VMs/s");
	report("vm_lifecycle_p50", t[n / 2] / 1e3, "us");
	report("vm_lifecycle_p99", t[n * 99 / 100] / 1e3, "us");
	/* Each step's median, over the same lifecycles (t is reused). */
	col = t;
	for (j = 0; j < LC_NR; j++) {
		for (i = 0; i < n; i++)
			col[i] = steps[i * LC_NR + j];
		qsort(col, n, sizeof(*col), cmp_u64);
		snprintf(name, sizeof(name), "vm_lifecycle_%s_p50", lc_names[j]);
		report(name, col[n / 2] / 1e3, "us");
	}
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

/* ---- interrupts (the in-kernel irqchip) ------------------------------- */

#define IPI_VECTOR	0x40
#define IOEVENT_PORT	0x3f4

/*
 * The APIC enabled and switched to x2APIC mode, as a Linux guest on KVM
 * runs it: ICR, EOI and timer writes are WRMSRs, which KVM handles without
 * its instruction emulator.  Through the xAPIC's MMIO page every one was
 * an emulated instruction, and kvm_amd in the test VM lost interrupts
 * there (self_ipi, irqfd_rtt and ipi_rtt failed in 4 to 5 of 10 rounds)
 * and twice spun in x86_emulate_instruction() for minutes.
 */
static void guest_x2apic_enable(void)
{
	guest_apic_enable();
	guest_wrmsr(MSR_IA32_APICBASE,
		    guest_rdmsr(MSR_IA32_APICBASE) | MSR_IA32_APICBASE_EXTD);
	guest_x2apic = 1;
}

static void guest_self_ipi(uint64_t n)
{
	uint64_t i;

	guest_x2apic_enable();
	asm volatile("sti" : : : "memory");
	GUEST_SYNC(0, 0);
	for (i = 0; i < n; i++) {
		x2apic_write(APIC_ICR, APIC_DEST_SELF | IPI_VECTOR);
		while (nirq <= i)
			asm volatile("pause" : : : "memory");
	}
	GUEST_SYNC(nirq, 0);
}

/*
 * A self-IPI through the x2APIC's ICR, taken and EOIed: ns per IPI, in a
 * loop between two exits to userspace (ICR and EOI writes exit).
 */
static void bench_self_ipi(void)
{
	const unsigned int n = 5000;
	struct vm *vm = vm_create_irqchip();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	uint64_t got;

	vcpu_start_guest(vcpu, guest_self_ipi, 1, (uint64_t)n);
	got = measure_between_syncs(vcpu, "self_ipi", n, "ns/ipi", 0);
	TEST_ASSERT(got == n, "self_ipi: %lu of %u", (unsigned long)got, n);
	vm_free(vm);
}

static void guest_ioeventfd(uint64_t n)
{
	uint64_t i;

	GUEST_SYNC(0, 0);
	for (i = 0; i < n; i++)
		outb(IOEVENT_PORT, 1);
	GUEST_SYNC(1, 0);
}

/* An OUT to a port with an ioeventfd: signalled in the kernel, no exit out. */
static void bench_ioeventfd(void)
{
	const unsigned int n = 20000;
	struct vm *vm = vm_create_irqchip();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	struct kvm_ioeventfd io = {
		.addr = IOEVENT_PORT, .len = 1, .fd = efd,
		.flags = KVM_IOEVENTFD_FLAG_PIO,
	};

	TEST_ASSERT(efd >= 0, "eventfd");
	TEST_ASSERT(!ioctl(vm->fd, KVM_IOEVENTFD, &io), "KVM_IOEVENTFD");
	vcpu_start_guest(vcpu, guest_ioeventfd, 1, (uint64_t)n);
	measure_between_syncs(vcpu, "ioeventfd", n, "ns/exit", 0);
	TEST_ASSERT(efd_read(efd) == n, "ioeventfd: not %u signals", n);
	close(efd);
	vm_free(vm);
}

/*
 * The next three wait for their interrupt in two ways.  timer_hlt halts:
 * its timer fires 1 ms after the guest armed it, long after the guest is
 * in HLT.  irqfd_rtt and ipi_rtt spin with interrupts enabled instead:
 * their interrupt can come at any moment, and one that is already
 * pending when the guest's STI executes hung kvm_amd in HLT in the test
 * VM (guest_wait_irqs() in lib/irqtest.h; so did a 1 µs timer_hlt, on
 * its second interrupt).  So they measure delivery to a running vCPU: a
 * kick of its CPU, an exit and an injection.
 */
static void guest_spin_until(uint64_t n)
{
	while (nirq < n)
		asm volatile("pause" : : : "memory");
}

#define PING_VECTOR	0x43

/*
 * vCPU @id of two: vCPU 0 sends an IPI to vCPU 1, whose handler's count
 * makes the shared nirq odd; vCPU 1 answers with one to vCPU 0, which
 * makes it even, and so on: strictly one at a time, so the counter needs
 * no atomics.
 */
static void guest_ping_pong(uint64_t id, uint64_t n)
{
	uint64_t i;

	guest_x2apic_enable();
	GUEST_SYNC(0, 0);
	asm volatile("sti" : : : "memory");
	for (i = 0; i < n; i++) {
		/* The destination's x2APIC ID (its vCPU id) in bits 63:32. */
		if (id == 0) {
			x2apic_write(APIC_ICR, (1ULL << 32) | APIC_DM_FIXED | PING_VECTOR);
			guest_spin_until(2 * i + 2);
		} else {
			guest_spin_until(2 * i + 1);
			x2apic_write(APIC_ICR, APIC_DM_FIXED | PING_VECTOR);
		}
	}
	asm volatile("cli" : : : "memory");
	GUEST_SYNC(nirq, 0);
}

static void *ping_pong_vcpu(void *arg)
{
	struct ucall uc;

	vcpu_run_expect(arg, UCALL_SYNC, &uc);
	return NULL;
}

/*
 * A fixed IPI from one running vCPU to another and one back, through the
 * x2APIC's ICR: ns per round trip over 1,000, each vCPU in a thread of
 * its own (the test VM has two CPUs).
 */
static void bench_ipi_rtt(void)
{
	struct kvm_mp_state runnable = { .mp_state = KVM_MP_STATE_RUNNABLE };
	const unsigned int n = 1000;
	struct vm *vm = vm_create_irqchip();
	struct vcpu *v[2];
	pthread_t thread;
	struct ucall uc;
	uint64_t t0;
	int i;

	for (i = 0; i < 2; i++) {
		v[i] = vm_vcpu_add(vm, i);
		/* An AP would wait for INIT and SIPI. */
		TEST_ASSERT(!ioctl(v[i]->fd, KVM_SET_MP_STATE, &runnable),
			    "KVM_SET_MP_STATE");
		vcpu_start_guest(v[i], guest_ping_pong, 2, (uint64_t)i,
				 (uint64_t)n);
		vcpu_run_expect(v[i], UCALL_SYNC, &uc);
	}
	t0 = now_ns();
	TEST_ASSERT(!pthread_create(&thread, NULL, ping_pong_vcpu, v[1]),
		    "pthread_create");
	vcpu_run_expect(v[0], UCALL_SYNC, &uc);
	pthread_join(thread, NULL);
	report("ipi_rtt", (double)(now_ns() - t0) / n, "ns/rtt");
	TEST_ASSERT(uc.args[0] == 2 * n, "ipi_rtt: %lu of %u interrupts",
		    (unsigned long)uc.args[0], 2 * n);
	vm_free(vm);
}

#define TIMER_VECTOR	0x41
#define TIMER_NS	1000000ULL	/* the LAPIC timer counts ns at divide 1 */

static void guest_timer_hlt(uint64_t n)
{
	uint64_t i;

	guest_x2apic_enable();
	x2apic_write(APIC_TDCR, APIC_TDCR_DIV1);
	GUEST_SYNC(0, 0);
	for (i = 0; i < n; i++) {
		x2apic_write(APIC_LVTT, APIC_LVT_TIMER_ONESHOT | TIMER_VECTOR);
		x2apic_write(APIC_TMICT, TIMER_NS);
		guest_wait_irqs(i + 1);
	}
	GUEST_SYNC(nirq, 0);
}

/*
 * The LAPIC timer armed one-shot for 1 ms, then HLT until its interrupt,
 * taken and EOIed, 200 times: ns per round beyond the millisecond.  That
 * is the arming (LVTT and TMICT writes), the HLT exit, the host timer's
 * expiry, the wake-up and the injection: what every idle tick of a guest
 * pays.
 */
static void bench_timer_hlt(void)
{
	const unsigned int n = 200;
	struct vm *vm = vm_create_irqchip();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	uint64_t got;

	vcpu_start_guest(vcpu, guest_timer_hlt, 1, (uint64_t)n);
	got = measure_between_syncs(vcpu, "timer_hlt", n, "ns/irq", TIMER_NS);
	TEST_ASSERT(got == n, "timer_hlt: %lu of %u interrupts",
		    (unsigned long)got, n);
	vm_free(vm);
}

#define IRQFD_GSI	24
#define IRQFD_VECTOR	0x42

static void guest_irqfd_rtt(uint64_t n)
{
	uint64_t i;

	guest_x2apic_enable();
	GUEST_SYNC(0, 0);
	asm volatile("sti" : : : "memory");
	for (i = 0; i < n; i++) {
		outb(IOEVENT_PORT, 1);
		guest_spin_until(i + 1);
	}
	asm volatile("cli" : : : "memory");
	GUEST_SYNC(nirq, 0);
}

struct irqfd_echo {
	int kick, irq;
	unsigned int n;
};

/* The host's side: each ioeventfd signal answered by an irqfd write. */
static void *irqfd_echo(void *arg)
{
	struct irqfd_echo *e = arg;
	unsigned int done = 0;
	uint64_t v;

	while (done < e->n && read(e->kick, &v, 8) == 8) {
		done += v;
		efd_write(e->irq);
	}
	return NULL;
}

/*
 * A round trip through eventfds: the guest's OUT signals an ioeventfd,
 * a host thread reads it and writes an irqfd routed as an MSI, and the
 * guest takes the interrupt: ns per round trip over 2,000, the way a
 * device model in a thread of its own answers (vmrun's virtio devices).
 */
static void bench_irqfd_rtt(void)
{
	const unsigned int n = 2000;
	struct vm *vm = vm_create_irqchip();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	struct irqfd_echo e = {
		.kick = eventfd(0, EFD_CLOEXEC), .irq = eventfd(0, EFD_CLOEXEC),
		.n = n,
	};
	struct kvm_ioeventfd io = {
		.addr = IOEVENT_PORT, .len = 1, .fd = e.kick,
		.flags = KVM_IOEVENTFD_FLAG_PIO,
	};
	pthread_t thread;
	uint64_t got;

	TEST_ASSERT(e.kick >= 0 && e.irq >= 0, "eventfd");
	TEST_ASSERT(!ioctl(vm->fd, KVM_IOEVENTFD, &io), "KVM_IOEVENTFD");
	TEST_ASSERT(!__vm_route_msi(vm, IRQFD_GSI, IRQFD_VECTOR),
		    "KVM_SET_GSI_ROUTING");
	TEST_ASSERT(!__vm_irqfd(vm, e.irq, IRQFD_GSI, 0, -1), "KVM_IRQFD");
	TEST_ASSERT(!pthread_create(&thread, NULL, irqfd_echo, &e),
		    "pthread_create");
	vcpu_start_guest(vcpu, guest_irqfd_rtt, 1, (uint64_t)n);
	got = measure_between_syncs(vcpu, "irqfd_rtt", n, "ns/rtt", 0);
	TEST_ASSERT(got == n, "irqfd_rtt: %lu of %u interrupts",
		    (unsigned long)got, n);
	pthread_join(thread, NULL);
	close(e.kick);
	close(e.irq);
	vm_free(vm);
}

/* ---- memslots: registration against size ---------------------------- */

/*
 * KVM_SET_USER_MEMORY_REGION of one slot of @size (host memory reserved,
 * never touched) into an empty VM, and its deletion: µs each, the median
 * of 5.  A slot's cost should not grow with its size.
 */
static void bench_memslot_size(unsigned int mib)
{
	uint64_t size = (uint64_t)mib << 20, add[5], del[5], t0;
	struct kvm_userspace_memory_region r = {
		.slot = 0, .guest_phys_addr = 1ULL << 32, .memory_size = size,
	};
	char name[40];
	void *mem;
	int sys = kvm_open(), vm, i;

	mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	TEST_ASSERT(mem != MAP_FAILED, "mmap %u MiB", mib);
	r.userspace_addr = (uint64_t)mem;
	vm = ioctl(sys, KVM_CREATE_VM, 0);
	TEST_ASSERT(vm >= 0, "KVM_CREATE_VM");
	for (i = 0; i < 5; i++) {
		r.memory_size = size;
		t0 = now_ns();
		TEST_ASSERT(!ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r),
			    "add a %u MiB slot", mib);
		add[i] = now_ns() - t0;
		r.memory_size = 0;
		t0 = now_ns();
		TEST_ASSERT(!ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r),
			    "delete a %u MiB slot", mib);
		del[i] = now_ns() - t0;
	}
	qsort(add, 5, sizeof(add[0]), cmp_u64);
	qsort(del, 5, sizeof(del[0]), cmp_u64);
	snprintf(name, sizeof(name), "memslot_add_%um", mib);
	report(name, add[2] / 1e3, "us");
	snprintf(name, sizeof(name), "memslot_del_%um", mib);
	report(name, del[2] / 1e3, "us");
	close(vm);
	close(sys);
	munmap(mem, size);
}

/* ---- kernel memory per VM and per vCPU -------------------------------- */

/*
 * The kernel memory charged to this process's memory cgroup, in KiB:
 * both modules allocate what a VM and a vCPU hold with
 * GFP_KERNEL_ACCOUNT.  bench moves itself into a cgroup of its own
 * (cgroup2 mounted at /sys/fs/cgroup if it is not yet); -1 without.
 */
#define CG	"/sys/fs/cgroup"

static int write_str(const char *path, const char *v)
{
	FILE *f = fopen(path, "w");
	int r;

	if (!f)
		return -1;
	r = fputs(v, f) < 0 ? -1 : 0;
	return fclose(f) ? -1 : r;
}

static bool kmem_cgroup(void)
{
	char pid[32];

	if (access(CG "/cgroup.controllers", R_OK))
		mount("none", CG, "cgroup2", 0, NULL);
	write_str(CG "/cgroup.subtree_control", "+memory");
	mkdir(CG "/bench", 0755);
	snprintf(pid, sizeof(pid), "%d", getpid());
	return !write_str(CG "/bench/cgroup.procs", pid) &&
	       !access(CG "/bench/memory.current", R_OK);
}

static long kmem_used(void)
{
	FILE *f = fopen(CG "/bench/memory.stat", "r");
	char line[128];
	long kernel = -1;

	TEST_ASSERT(f, CG "/bench/memory.stat");
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "kernel ", 7))
			kernel = strtol(line + 7, NULL, 10) / 1024;
	fclose(f);
	TEST_ASSERT(kernel >= 0, "no 'kernel' in memory.stat");
	return kernel;
}

static long slab_used(void)
{
	FILE *f = fopen(CG "/bench/memory.stat", "r");
	char line[128];
	long slab = 0;

	TEST_ASSERT(f, CG "/bench/memory.stat");
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "slab ", 5))
			slab = strtol(line + 5, NULL, 10) / 1024;
	fclose(f);
	return slab;
}

#define KMEM_VMS	100
#define KMEM_VCPUS	64

/*
 * The kernel memory (memory.stat's "kernel", of it "slab") that 100 VMs
 * with one vCPU each (KVM_CREATE_VM, KVM_CREATE_VCPU, no memslot) are
 * charged, per VM; and 64 vCPUs of one VM, per vCPU.  KiB.
 */
static void bench_kmem(void)
{
	int sys = kvm_open(), vm[KMEM_VMS], vcpu[KMEM_VMS], v64[KMEM_VCPUS];
	long m0, s0, m1, s1;
	int one, i;

	if (!kmem_cgroup()) {
		fprintf(stderr, "bench: kmem: no memory cgroup here, skipped\n");
		close(sys);
		return;
	}
	m0 = kmem_used();
	s0 = slab_used();
	for (i = 0; i < KMEM_VMS; i++) {
		vm[i] = ioctl(sys, KVM_CREATE_VM, 0);
		TEST_ASSERT(vm[i] >= 0, "KVM_CREATE_VM %d", i);
		vcpu[i] = ioctl(vm[i], KVM_CREATE_VCPU, 0);
		TEST_ASSERT(vcpu[i] >= 0, "KVM_CREATE_VCPU in VM %d", i);
	}
	m1 = kmem_used();
	s1 = slab_used();
	report("kmem_per_vm", (double)(m1 - m0) / KMEM_VMS, "KiB");
	report("slab_per_vm", (double)(s1 - s0) / KMEM_VMS, "KiB");
	for (i = 0; i < KMEM_VMS; i++) {
		close(vcpu[i]);
		close(vm[i]);
	}

	one = ioctl(sys, KVM_CREATE_VM, 0);
	TEST_ASSERT(one >= 0, "KVM_CREATE_VM");
	m0 = kmem_used();
	s0 = slab_used();
	for (i = 0; i < KMEM_VCPUS; i++) {
		v64[i] = ioctl(one, KVM_CREATE_VCPU, i);
		TEST_ASSERT(v64[i] >= 0, "KVM_CREATE_VCPU %d", i);
	}
	m1 = kmem_used();
	s1 = slab_used();
	report("kmem_per_vcpu", (double)(m1 - m0) / KMEM_VCPUS, "KiB");
	report("slab_per_vcpu", (double)(s1 - s0) / KMEM_VCPUS, "KiB");
	for (i = 0; i < KMEM_VCPUS; i++)
		close(v64[i]);
	close(one);
	close(sys);
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

static void bench_hypercall_exit(void)
{
	bench_hypercall(20000);
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

static void bench_memslot(void)
{
	static const unsigned int mib[] = { 128, 512, 1024, 4096 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(mib); i++)
		bench_memslot_size(mib[i]);
}

/*
 * Linux boot to init: vmrun boots the example guest (examples/linux.cfg,
 * make's bzImage and busybox initramfs) with vcpus vCPUs; its init
 * writes vmrun's boot timer first thing, and vmrun --stats says when.
 */
static void bench_linux_boot_n(unsigned int vcpus)
{
	char n[16], metric[32];
	const char *argv[] = { mkvm_tool("VMRUN", "/mkvm/bin/vmrun"),
			       mkvm_example("linux.cfg"), "--device", mkvm_dev(),
			       "--vcpus", n, "--stats", "--cmdline",
			       "console=ttyS0 quiet panic=-1 vmrun.cmd=true", NULL };
	struct mkvm_proc r;
	const char *l;
	double s;

	snprintf(n, sizeof(n), "%u", vcpus);
	snprintf(metric, sizeof(metric), "linux_boot_%u", vcpus);
	/* 8 to 12 s in the test VM: 60 s is a boot that hangs. */
	mkvm_run(&r, 0, NULL, 60, argv);
	l = strstr(r.err, "boot: init started ");
	if (r.timed_out || r.status || !l ||
	    sscanf(l, "boot: init started %lf", &s) != 1) {
		fprintf(stderr, "bench: %s: vmrun failed (status %d): %s\n",
			metric, r.status, r.err);
		return;
	}
	report(metric, s * 1000, "ms");
}

static void bench_linux_boot(void)
{
	bench_linux_boot_n(1);
	bench_linux_boot_n(4);
}

/*
 * A metric that does not finish in time (a vCPU that never wakes) ends
 * bench with a message rather than hanging make bench until boot.sh's
 * hour.  The watching thread sleeps until the running metric's
 * deadline, woken only when a metric starts or ends: no periodic
 * wake-up to disturb the measurement (a host interrupt while a vCPU
 * runs is an exit).
 */
static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t watch_cond;
static const char *watch_name;
static struct timespec watch_deadline;	/* CLOCK_MONOTONIC; 0: none */

static void *watch_thread(void *arg)
{
	pthread_mutex_lock(&watch_lock);
	for (;;) {
		if (!watch_deadline.tv_sec) {
			pthread_cond_wait(&watch_cond, &watch_lock);
			continue;
		}
		if (pthread_cond_timedwait(&watch_cond, &watch_lock,
					   &watch_deadline) == ETIMEDOUT) {
			fprintf(stderr, "bench: %s on %s did not finish in time\n",
				watch_name, dev_label);
			_exit(1);
		}
	}
	return NULL;
}

static void watch(const char *name, unsigned int secs)
{
	static pthread_t thread;
	pthread_condattr_t attr;

	if (!thread) {
		pthread_condattr_init(&attr);
		pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
		pthread_cond_init(&watch_cond, &attr);
		TEST_ASSERT(!pthread_create(&thread, NULL, watch_thread, NULL),
			    "pthread_create");
	}
	pthread_mutex_lock(&watch_lock);
	watch_name = name;
	watch_deadline.tv_sec = 0;
	if (secs) {
		clock_gettime(CLOCK_MONOTONIC, &watch_deadline);
		watch_deadline.tv_sec += secs;
	}
	pthread_cond_signal(&watch_cond);
	pthread_mutex_unlock(&watch_lock);
}

static const struct {
	const char *name;
	void (*fn)(void);
	unsigned int secs;	/* at most, in the test VM (tens of times it) */
} benches[] = {
	{ "pio_exit", bench_pio, 120 },
	{ "cpuid_exit", bench_cpuid_exit, 120 },
	{ "hypercall_exit", bench_hypercall_exit, 120 },
	{ "mmio_exit", bench_mmio, 120 },
	{ "vm_lifecycle", bench_vm_lifecycle, 120 },
	{ "touch_4k", bench_touch_4k, 120 },
	{ "touch_thp", bench_touch_thp, 120 },
	{ "self_ipi", bench_self_ipi, 30 },
	{ "ioeventfd", bench_ioeventfd, 120 },
	{ "timer_hlt", bench_timer_hlt, 30 },
	{ "irqfd_rtt", bench_irqfd_rtt, 30 },
	{ "ipi_rtt", bench_ipi_rtt, 30 },
	{ "memslot", bench_memslot, 120 },
	{ "kmem", bench_kmem, 120 },
	{ "linux_boot", bench_linux_boot, 130 },	/* two vmruns of 60 s */
};

int main(int argc, char **argv)
{
	unsigned int i;
	int a;

	if (argc == 2 && !strcmp(argv[1], "--list")) {
		for (i = 0; i < ARRAY_SIZE(benches); i++)
			printf("%s\n", benches[i].name);
		return 0;
	}
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
		if (!run)
			continue;
		/* bench.sh's stall guard: a metric that outlives this + 60 s. */
		printf("BENCH-START %s %s %u\n", benches[i].name, dev_label,
		       benches[i].secs);
		fflush(stdout);
		watch(benches[i].name, benches[i].secs);
		benches[i].fn();
		watch(NULL, 0);
	}
	return 0;
}
