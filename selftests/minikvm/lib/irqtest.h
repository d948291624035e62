/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers of the tests of the in-kernel irqchip (irqchip_test, pit_test,
 * nmi_test, split_irqchip_test): guest code that enables its APIC with
 * one counting handler for every external vector, masks the 8259As and
 * waits for interrupts in bounded loops; host code that measures time,
 * sleeps, drives eventfds and irqfds and keeps a hung KVM_RUN from hanging
 * the test.  Each test binary gets its own copy (static).
 */
#ifndef MKVM_LIB_IRQTEST_H
#define MKVM_LIB_IRQTEST_H

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "apic.h"
#include "guest.h"
#include "vm.h"

#define SPURIOUS_VEC	0xff
#define MS		1000000ULL	/* ns */

/* ---- guest side ------------------------------------------------------- */

static volatile uint64_t nirq, last_vector, irq_tsc, nspurious;
static volatile int guest_x2apic;	/* EOI through the MSR */
static volatile int guest_no_eoi;	/* the handler leaves EOI to the code */

static inline void guest_eoi(void)
{
	if (guest_x2apic)
		x2apic_write(APIC_EOI, 0);
	else
		xapic_write(APIC_EOI, 0);
}

static inline void irq_handler(struct ex_regs *regs)
{
	irq_tsc = guest_rdtsc();
	last_vector = regs->vector;
	nirq++;
	if (!guest_no_eoi)
		guest_eoi();
}

static inline void spurious_handler(struct ex_regs *regs)
{
	nspurious++;
}

/* Handlers for every external vector; APIC software-enabled, LINT0 masked. */
static inline void guest_apic_enable(void)
{
	int v;

	for (v = 0x20; v < SPURIOUS_VEC; v++)
		guest_set_handler(v, irq_handler);
	guest_set_handler(SPURIOUS_VEC, spurious_handler);
	xapic_write(APIC_SPIV, APIC_SPIV_ENABLE | SPURIOUS_VEC);
	xapic_write(APIC_LVT0, APIC_LVT_MASKED);
	xapic_write(APIC_TASKPRI, 0);
}

static inline void outb(uint16_t port, uint8_t v)
{
	asm volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/* Mask every pin of both 8259As (IMR), as a guest using the I/O APIC does. */
static inline void guest_mask_pic(void)
{
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
}

/*
 * Wait until the handler has run @n times in all: first take what is
 * pending already ("sti; nop; cli"), then "sti; hlt; cli", at most 1000
 * times (a HLT that wakes without an interrupt is counted, and a caller's
 * assertion on nirq catches too many of them); returns how many HLTs it
 * took.  HLT itself can sleep forever: the host's watchdog ends that.
 *
 * Taking a pending interrupt before HLT keeps "sti; hlt" for interrupts
 * that come while halted: with one already pending when STI executes,
 * kvm_amd in the rig hung in HLT once in about a hundred runs (the
 * interrupt taken in the STI shadow, before the HLT, by the emulated
 * CPU or by KVM, which then slept in HLT with nothing more to come).
 */
static inline uint64_t guest_wait_irqs(uint64_t n)
{
	uint64_t i;

	asm volatile("sti; nop; cli" : : : "memory");
	for (i = 0; i < 1000 && nirq < n; i++)
		asm volatile("sti; hlt; cli" : : : "memory");
	return i;
}

/* Run with interrupts enabled for a while: whatever is pending arrives. */
static inline void guest_spin_sti(void)
{
	int i;

	asm volatile("sti" : : : "memory");
	for (i = 0; i < 20000; i++)
		asm volatile("pause" : : : "memory");
	asm volatile("cli" : : : "memory");
}

/* ---- host side -------------------------------------------------------- */

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static inline void sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000ULL,
			       .tv_nsec = ns % 1000000000ULL };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

struct watchdog {
	unsigned int secs;
	const char *what;
};

static inline void *watchdog_thread(void *arg)
{
	struct watchdog *w = arg;
	char msg[256];
	int n;

	sleep_ns(w->secs * 1000000000ULL);
	n = snprintf(msg, sizeof(msg),
		     "# watchdog: %s did not happen within %u s (hang in KVM_RUN?)\n",
		     w->what, w->secs);
	if (write(2, msg, n) < 0)
		_exit(1);
	_exit(1);	/* KSFT_FAIL */
}

/*
 * Fail the test (not hang it) if it is not over within @secs seconds: a
 * thread of its own, not alarm(), since a thread blocked on a vCPU's
 * mutex (another thread is in its KVM_RUN) sleeps through SIGALRM.
 */
static inline void watchdog(unsigned int secs, const char *what)
{
	static struct watchdog w;
	pthread_t t;

	w.secs = secs;
	w.what = what;
	TEST_ASSERT(!pthread_create(&t, NULL, watchdog_thread, &w),
		    "pthread_create");
	pthread_detach(t);
}

/* Signal an eventfd once. */
static inline void efd_write(int fd)
{
	uint64_t one = 1;

	TEST_ASSERT(write(fd, &one, 8) == 8, "eventfd write");
}

/* The eventfd's count (0 if nothing was signalled: EFD_NONBLOCK). */
static inline uint64_t efd_read(int fd)
{
	uint64_t n = 0;

	if (read(fd, &n, 8) != 8)
		return 0;
	return n;
}

/* KVM_IRQFD: 0 or -errno. */
static inline int __vm_irqfd(struct vm *vm, int fd, uint32_t gsi,
			     uint32_t flags, int resamplefd)
{
	struct kvm_irqfd a = { .fd = fd, .gsi = gsi, .flags = flags,
			       .resamplefd = resamplefd };

	return __mkvm_ioctl(vm->fd, KVM_IRQFD, (unsigned long)&a);
}

/* KVM_SET_GSI_ROUTING to one entry, @gsi an MSI of @vector to APIC 0. */
static inline int __vm_route_msi(struct vm *vm, uint32_t gsi, uint8_t vector)
{
	struct {
		struct kvm_irq_routing r;
		struct kvm_irq_routing_entry e[1];
	} routing = {
		.r.nr = 1,
		.e[0] = {
			.gsi = gsi,
			.type = KVM_IRQ_ROUTING_MSI,
			.u.msi = { .address_lo = APIC_DEFAULT_GPA, .data = vector },
		},
	};

	return __mkvm_ioctl(vm->fd, KVM_SET_GSI_ROUTING, (unsigned long)&routing);
}

#define REQUIRE_CAP(cap) do {						\
	if (kvm_check_cap(cap) <= 0)					\
		SKIP(return, "KVM_CHECK_EXTENSION(" #cap ") is 0");	\
} while (0)

#endif /* MKVM_LIB_IRQTEST_H */
