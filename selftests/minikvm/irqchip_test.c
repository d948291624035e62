// SPDX-License-Identifier: GPL-2.0
/*
 * The in-kernel irqchip, KVM's model (KVM_CREATE_IRQCHIP): local APIC
 * state through KVM_GET/SET_LAPIC and through the guest's xAPIC MMIO and
 * x2APIC MSRs; the APIC timer in one-shot, periodic and TSC-deadline
 * mode; HLT sleeping in the kernel until an interrupt; self-IPIs; the I/O
 * APIC driven by KVM_IRQ_LINE(_STATUS), edge and level; MSIs through
 * KVM_SIGNAL_MSI and GSI routing; INIT/SIPI bringing up a second vCPU;
 * and the errors of each ioctl, as KVM gives them.
 *
 * The guests are plain C: they enable their APIC, install one handler
 * for every external vector (it counts, records the vector and the TSC
 * and writes EOI) and wait with "sti; hlt" in bounded loops.  Times are
 * measured on the host around KVM_RUN, with wide margins: the rig's CPUs
 * are emulated.  Every test that runs a guest arms a watchdog so that an interrupt
 * that never comes fails the test instead of hanging it.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <stdio.h>
#include <time.h>

#include "kselftest_harness.h"
#include "lib/apic.h"
#include "lib/irqtest.h"
#include "lib/ucall.h"
#include "lib/x86.h"

#define TIMER_VEC	0x40
#define IPI_VEC		0x50
#define IOAPIC_VEC	0x60
#define MSI_VEC		0x70

#define IOAPIC_PIN	5
#define MSI_GSI		30


/* KVM's LAPIC reset version: 0x14, max LVT entry 5 (no CMCI on kvm_amd). */
#define KVM_APIC_VERSION	0x00050014
/* KVM's I/O APIC: version 0x11, 24 pins. */
#define KVM_IOAPIC_VERSION	0x00170011

static bool supported_cpuid_has(uint32_t leaf, uint32_t ecx_bit)
{
	struct kvm_cpuid2 *c = cpuid_dup(kvm_supported_cpuid());
	struct kvm_cpuid_entry2 *e = cpuid_find(c, leaf, 0);
	bool has = e && (e->ecx & ecx_bit);

	free(c);
	return has;
}

static void get_lapic(struct vcpu *vcpu, struct kvm_lapic_state *s)
{
	kvm_ioctl(vcpu->fd, KVM_GET_LAPIC, s);
}

static int get_mp_state(struct vcpu *vcpu)
{
	struct kvm_mp_state mp;

	kvm_ioctl(vcpu->fd, KVM_GET_MP_STATE, &mp);
	return mp.mp_state;
}

/* ---- 1. create -------------------------------------------------------- */

TEST(create)
{
	struct kvm_irqchip chip;
	struct vm *vm;
	int i;

	ASSERT_EQ(1, kvm_check_cap(KVM_CAP_IRQCHIP));

	vm = vm_create_bare();
	ASSERT_EQ(1, __mkvm_ioctl(vm->fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQCHIP));
	ASSERT_EQ(0, __mkvm_ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0));
	EXPECT_EQ(-EEXIST, __mkvm_ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0));

	/* All three chips read back; the I/O APIC at its default base, masked. */
	for (i = KVM_IRQCHIP_PIC_MASTER; i <= KVM_IRQCHIP_IOAPIC; i++) {
		memset(&chip, 0, sizeof(chip));
		chip.chip_id = i;
		EXPECT_EQ(0, __mkvm_ioctl(vm->fd, KVM_GET_IRQCHIP, (unsigned long)&chip));
	}
	EXPECT_EQ(IOAPIC_DEFAULT_GPA, chip.chip.ioapic.base_address);
	for (i = 0; i < IOAPIC_NUM_PINS; i++)
		EXPECT_EQ(IOAPIC_RTE_MASKED, chip.chip.ioapic.redirtbl[i].bits & IOAPIC_RTE_MASKED);

	/* A vCPU can be created after it, and has an APIC. */
	vm_vcpu_add_raw(vm, 0);
	EXPECT_EQ(-EEXIST, __mkvm_ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0));
	vm_free(vm);

	/* Too late once a vCPU exists. */
	vm = vm_create_bare();
	vm_vcpu_add_raw(vm, 0);
	EXPECT_EQ(-EINVAL, __mkvm_ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0));
	vm_free(vm);
}

/* ---- 2. lapic_state --------------------------------------------------- */

/* The guest reads its APIC through MMIO, then writes TPR and LDR. */
static void guest_lapic_regs(void)
{
	GUEST_SYNC4(xapic_read(APIC_ID), xapic_read(APIC_LVR),
		    xapic_read(APIC_TASKPRI), xapic_read(APIC_SPIV));
	GUEST_SYNC4(xapic_read(APIC_LDR), xapic_read(APIC_DFR),
		    xapic_read(APIC_LVTT), xapic_read(APIC_TMICT));
	GUEST_SYNC(xapic_read(APIC_TDCR), xapic_read(APIC_LVT1));
	xapic_write(APIC_TASKPRI, 0x30);
	xapic_write(APIC_LDR, 0x04000000);
	GUEST_SYNC(xapic_read(APIC_TASKPRI), xapic_read(APIC_LDR));
}

TEST(lapic_state)
{
	struct kvm_lapic_state s, s2;
	struct vcpu *vcpu[2];
	struct ucall uc;
	struct vm *vm;
	int i;

	REQUIRE_CAP(KVM_CAP_IRQCHIP);
	watchdog(20, "lapic_state");
	vm = vm_create_irqchip();
	vcpu[0] = vm_vcpu_add(vm, 0);
	vcpu[1] = vm_vcpu_add(vm, 1);

	/* Reset state, as kvm_lapic_reset() leaves it. */
	for (i = 0; i < 2; i++) {
		memset(&s, 0xcc, sizeof(s));
		get_lapic(vcpu[i], &s);
		EXPECT_EQ((uint32_t)i << 24, lapic_reg(&s, APIC_ID));
		EXPECT_EQ(KVM_APIC_VERSION, lapic_reg(&s, APIC_LVR));
		EXPECT_EQ(0xff, lapic_reg(&s, APIC_SPIV));
		EXPECT_EQ(0, lapic_reg(&s, APIC_TASKPRI));
		EXPECT_EQ(0, lapic_reg(&s, APIC_LDR));
		EXPECT_EQ(0xffffffff, lapic_reg(&s, APIC_DFR));
		EXPECT_EQ(APIC_LVT_MASKED, lapic_reg(&s, APIC_LVTT));
		EXPECT_EQ(APIC_LVT_MASKED, lapic_reg(&s, APIC_LVTTHMR));
		EXPECT_EQ(APIC_LVT_MASKED, lapic_reg(&s, APIC_LVTPC));
		EXPECT_EQ(APIC_LVT_MASKED, lapic_reg(&s, APIC_LVT1));
		EXPECT_EQ(APIC_LVT_MASKED, lapic_reg(&s, APIC_LVTERR));
		/*
		 * LINT0: masked, but the BSP's is ExtINT and unmasked
		 * (KVM_X86_QUIRK_LINT0_REENABLED, on by default).
		 */
		EXPECT_EQ(i == 0 ? APIC_DM_EXTINT : APIC_LVT_MASKED,
			  lapic_reg(&s, APIC_LVT0));
		EXPECT_EQ(0, lapic_reg(&s, APIC_TMICT));
		EXPECT_EQ(0, lapic_reg(&s, APIC_TDCR));
		EXPECT_EQ(0, lapic_reg(&s, APIC_ICR));
		EXPECT_EQ(0, lapic_reg(&s, APIC_IRR + 0x70));
		EXPECT_EQ(0, lapic_reg(&s, APIC_ISR + 0x70));
		EXPECT_EQ(APIC_DEFAULT_GPA | MSR_IA32_APICBASE_ENABLE |
			  (i == 0 ? MSR_IA32_APICBASE_BSP : 0),
			  vcpu_get_msr(vcpu[i], MSR_IA32_APICBASE));
	}

	/* KVM_SET_LAPIC round-trips the registers it is given. */
	get_lapic(vcpu[0], &s);
	lapic_set_reg(&s, APIC_TASKPRI, 0x20);
	lapic_set_reg(&s, APIC_LDR, 0x02000000);
	lapic_set_reg(&s, APIC_DFR, 0x0fffffff);
	lapic_set_reg(&s, APIC_SPIV, APIC_SPIV_ENABLE | 0xef);
	lapic_set_reg(&s, APIC_LVTT, APIC_LVT_MASKED | APIC_LVT_TIMER_PERIODIC | 0xec);
	lapic_set_reg(&s, APIC_LVT1, APIC_DM_NMI);
	lapic_set_reg(&s, APIC_TMICT, 0x12345678);
	lapic_set_reg(&s, APIC_TDCR, APIC_TDCR_DIV1);
	kvm_ioctl(vcpu[0]->fd, KVM_SET_LAPIC, &s);
	get_lapic(vcpu[0], &s2);
	EXPECT_EQ(0, lapic_reg(&s2, APIC_ID));
	EXPECT_EQ(KVM_APIC_VERSION, lapic_reg(&s2, APIC_LVR));
	EXPECT_EQ(0x20, lapic_reg(&s2, APIC_TASKPRI));
	EXPECT_EQ(0x02000000, lapic_reg(&s2, APIC_LDR));
	EXPECT_EQ(0x0fffffff, lapic_reg(&s2, APIC_DFR));
	EXPECT_EQ(APIC_SPIV_ENABLE | 0xef, lapic_reg(&s2, APIC_SPIV));
	EXPECT_EQ(APIC_LVT_MASKED | APIC_LVT_TIMER_PERIODIC | 0xec, lapic_reg(&s2, APIC_LVTT));
	EXPECT_EQ(APIC_DM_NMI, lapic_reg(&s2, APIC_LVT1));
	EXPECT_EQ(0x12345678, lapic_reg(&s2, APIC_TMICT));
	EXPECT_EQ(APIC_TDCR_DIV1, lapic_reg(&s2, APIC_TDCR));
	/* vCPU 1's APIC is its own. */
	get_lapic(vcpu[1], &s2);
	EXPECT_EQ(0, lapic_reg(&s2, APIC_TASKPRI));
	EXPECT_EQ(0xff, lapic_reg(&s2, APIC_SPIV));

	/* The guest sees the same through xAPIC MMIO at 0xfee00000. */
	vcpu_start_guest(vcpu[0], guest_lapic_regs, 0);
	vcpu_run_expect(vcpu[0], UCALL_SYNC, &uc);
	EXPECT_EQ(0, uc.args[0]);
	EXPECT_EQ(KVM_APIC_VERSION, uc.args[1]);
	EXPECT_EQ(0x20, uc.args[2]);
	EXPECT_EQ(APIC_SPIV_ENABLE | 0xef, uc.args[3]);
	vcpu_run_expect(vcpu[0], UCALL_SYNC, &uc);
	EXPECT_EQ(0x02000000, uc.args[0]);
	EXPECT_EQ(0x0fffffff, uc.args[1]);
	EXPECT_EQ(APIC_LVT_MASKED | APIC_LVT_TIMER_PERIODIC | 0xec, uc.args[2]);
	EXPECT_EQ(0x12345678, uc.args[3]);
	vcpu_run_expect(vcpu[0], UCALL_SYNC, &uc);
	EXPECT_EQ(APIC_TDCR_DIV1, uc.args[0]);
	EXPECT_EQ(APIC_DM_NMI, uc.args[1]);
	vcpu_run_expect(vcpu[0], UCALL_SYNC, &uc);
	EXPECT_EQ(0x30, uc.args[0]);
	EXPECT_EQ(0x04000000, uc.args[1]);

	/* ... and what the guest wrote is in KVM_GET_LAPIC. */
	get_lapic(vcpu[0], &s2);
	EXPECT_EQ(0x30, lapic_reg(&s2, APIC_TASKPRI));
	EXPECT_EQ(0x04000000, lapic_reg(&s2, APIC_LDR));
	vcpu_run_expect(vcpu[0], UCALL_DONE, NULL);
	vm_free(vm);
}

/* ---- 3. timers -------------------------------------------------------- */

/*
 * One-shot: arm, read the current count, wait for the interrupt, read it
 * again (0 once expired); then (after the host has slept 5 periods) run
 * with interrupts enabled: nothing more comes.
 */
static void guest_timer_oneshot(uint64_t count)
{
	uint32_t cur0, cur1;

	guest_apic_enable();
	GUEST_SYNC(0, 0);
	xapic_write(APIC_TDCR, APIC_TDCR_DIV1);
	xapic_write(APIC_LVTT, APIC_LVT_TIMER_ONESHOT | TIMER_VEC);
	xapic_write(APIC_TMICT, count);
	cur0 = xapic_read(APIC_TMCCT);
	guest_wait_irqs(1);
	cur1 = xapic_read(APIC_TMCCT);
	GUEST_SYNC4(nirq, last_vector, cur0, cur1);
	guest_spin_sti();
	GUEST_SYNC(nirq, xapic_read(APIC_TMICT));
}

TEST(timer_oneshot)
{
	const uint64_t period = 10 * MS;	/* 1 count = 1 ns at divide 1 */
	struct vcpu *vcpu;
	struct ucall uc;
	uint64_t t0, dt;
	struct vm *vm;

	REQUIRE_CAP(KVM_CAP_IRQCHIP);
	watchdog(20, "the one-shot timer interrupt");
	vm = vm_create_irqchip();
	vcpu = vm_vcpu_add(vm, 0);
	vcpu_start_guest(vcpu, guest_timer_oneshot, 1, period);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);

	t0 = now_ns();
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	dt = now_ns() - t0;
	EXPECT_EQ(1, uc.args[0]);
	EXPECT_EQ(TIMER_VEC, uc.args[1]);
	EXPECT_GT(uc.args[2], 0);		/* counting down */
	EXPECT_LE(uc.args[2], period);
	EXPECT_EQ(0, uc.args[3]);		/* and stopped at 0 */
	TH_LOG("one-shot of %llu ms fired after %.3f ms", (unsigned long long)(period / MS), dt / 1e6);
	EXPECT_GE(dt, period / 2);
	EXPECT_LE(dt, period * 20);

	sleep_ns(5 * period);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(1, uc.args[0]);		/* fired exactly once */
	EXPECT_EQ(period, uc.args[1]);		/* TMICT unchanged */
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	vm_free(vm);
}

/*
 * Periodic: @n interrupts, then mask the timer.  After the first one the
 * current count has been reloaded (it is not 0 as in one-shot mode).
 */
static void guest_timer_periodic(uint64_t count, uint64_t n)
{
	uint64_t hlts;
	uint32_t cur;

	guest_apic_enable();
	GUEST_SYNC(0, 0);
	xapic_write(APIC_TDCR, APIC_TDCR_DIV1);
	xapic_write(APIC_LVTT, APIC_LVT_TIMER_PERIODIC | TIMER_VEC);
	xapic_write(APIC_TMICT, count);
	hlts = guest_wait_irqs(1);
	cur = xapic_read(APIC_TMCCT);
	hlts += guest_wait_irqs(n);
	xapic_write(APIC_LVTT, APIC_LVT_MASKED | APIC_LVT_TIMER_PERIODIC | TIMER_VEC);
	xapic_write(APIC_TMICT, 0);
	GUEST_SYNC4(nirq, last_vector, cur, hlts);
	guest_spin_sti();
	GUEST_SYNC(nirq, xapic_read(APIC_TMCCT));
}

TEST(timer_periodic)
{
	const uint64_t period = 5 * MS, n = 10;
	struct vcpu *vcpu;
	struct ucall uc;
	uint64_t t0, dt;
	struct vm *vm;

	REQUIRE_CAP(KVM_CAP_IRQCHIP);
	watchdog(20, "the periodic timer interrupts");
	vm = vm_create_irqchip();
	vcpu = vm_vcpu_add(vm, 0);
	vcpu_start_guest(vcpu, guest_timer_periodic, 2, period, n);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);

	t0 = now_ns();
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	dt = now_ns() - t0;
	EXPECT_EQ(n, uc.args[0]);
	EXPECT_EQ(TIMER_VEC, uc.args[1]);
	EXPECT_GT(uc.args[2], 0);		/* reloaded */
	EXPECT_LE(uc.args[2], period);
	TH_LOG("%llu periods of %llu ms took %.3f ms, %llu HLTs",
	       (unsigned long long)n, (unsigned long long)(period / MS), dt / 1e6,
	       (unsigned long long)uc.args[3]);
	EXPECT_GE(dt, n * period / 2);
	EXPECT_LE(dt, n * period * 20);

	/* Stopped: nothing more, and the current count reads 0. */
	sleep_ns(4 * period);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(n, uc.args[0]);
	EXPECT_EQ(0, uc.args[1]);
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	vm_free(vm);
}

/*
 * TSC deadline: the MSR reads back the deadline until it fires, then 0;
 * the interrupt comes once, at a TSC at or after the deadline.
 */
static void guest_tsc_deadline(uint64_t delta)
{
	uint64_t deadline, msr0, msr1;

	guest_apic_enable();
	GUEST_SYNC(0, 0);
	xapic_write(APIC_LVTT, APIC_LVT_TIMER_TSCDEADLINE | TIMER_VEC);
	deadline = guest_rdtsc() + delta;
	guest_wrmsr(MSR_IA32_TSC_DEADLINE, deadline);
	msr0 = guest_rdmsr(MSR_IA32_TSC_DEADLINE);
	guest_wait_irqs(1);
	msr1 = guest_rdmsr(MSR_IA32_TSC_DEADLINE);
	GUEST_ASSERT_EQ(msr0, deadline);
	GUEST_SYNC4(nirq, last_vector, irq_tsc - deadline, msr1);
	guest_spin_sti();
	GUEST_SYNC(nirq, 0);
}

TEST(tsc_deadline)
{
	const uint64_t period = 10 * MS;
	struct kvm_cpuid_entry2 *e;
	struct kvm_cpuid2 *cpuid;
	uint64_t t0, dt, delta;
	struct vcpu *vcpu;
	struct ucall uc;
	struct vm *vm;
	long khz;

	REQUIRE_CAP(KVM_CAP_IRQCHIP);
	if (!supported_cpuid_has(1, CPUID_1_ECX_TSC_DEADLINE) &&
	    kvm_check_cap(KVM_CAP_TSC_DEADLINE_TIMER) <= 0)
		SKIP(return, "no TSC-deadline timer (CPUID and KVM_CAP_TSC_DEADLINE_TIMER)");
	watchdog(20, "the TSC-deadline timer interrupt");
	vm = vm_create_irqchip();
	vcpu = vm_vcpu_add(vm, 0);
	cpuid = default_cpuid();
	e = cpuid_find(cpuid, 1, 0);
	ASSERT_TRUE(e != NULL);
	e->ecx |= CPUID_1_ECX_TSC_DEADLINE;
	vcpu_set_cpuid(vcpu, cpuid);
	free(cpuid);

	khz = kvm_ioctl(vcpu->fd, KVM_GET_TSC_KHZ, 0);
	ASSERT_GT(khz, 0);
	delta = khz * (period / MS);
	vcpu_start_guest(vcpu, guest_tsc_deadline, 1, delta);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);

	t0 = now_ns();
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	dt = now_ns() - t0;
	EXPECT_EQ(1, uc.args[0]);
	EXPECT_EQ(TIMER_VEC, uc.args[1]);
	/* Delivered at or after the deadline (1% slack for the clock conversions). */
	TH_LOG("TSC %ld kHz; deadline %llu ms: interrupt at deadline %+lld TSC, after %.3f ms",
	       khz, (unsigned long long)(period / MS), (long long)uc.args[2], dt / 1e6);
	EXPECT_GE((int64_t)uc.args[2], -(int64_t)(delta / 100));
	EXPECT_EQ(0, uc.args[3]);		/* the MSR is 0 once it fired */
	EXPECT_GE(dt, period / 2);
	EXPECT_LE(dt, period * 20);

	sleep_ns(5 * period);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(1, uc.args[0]);
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	vm_free(vm);
}

/* ---- 4. hlt_wakes_on_timer -------------------------------------------- */

/* One HLT with the timer armed: when it ends, the handler has run. */
static void guest_hlt_timer(uint64_t count)
{
	uint64_t n;

	guest_apic_enable();
	GUEST_SYNC(0, 0);
	xapic_write(APIC_TDCR, APIC_TDCR_DIV1);
	xapic_write(APIC_LVTT, APIC_LVT_TIMER_ONESHOT | TIMER_VEC);
	xapic_write(APIC_TMICT, count);
	asm volatile("sti; hlt; cli" : : : "memory");
	n = nirq;
	GUEST_SYNC(n, last_vector);
}

TEST(hlt_wakes_on_timer)
{
	const uint64_t period = 20 * MS;
	struct vcpu *vcpu;
	struct ucall uc;
	uint64_t t0, dt;
	struct vm *vm;

	REQUIRE_CAP(KVM_CAP_IRQCHIP);
	watchdog(20, "the wakeup from HLT");
	vm = vm_create_irqchip();
	vcpu = vm_vcpu_add(vm, 0);
	vcpu_start_guest(vcpu, guest_hlt_timer, 1, period);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);

	/* No KVM_EXIT_HLT: the next exit is the guest's ucall after HLT. */
	t0 = now_ns();
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	dt = now_ns() - t0;
	EXPECT_EQ(1, uc.args[0]);
	EXPECT_EQ(TIMER_VEC, uc.args[1]);
	TH_LOG("HLT with a %llu ms timer: KVM_RUN took %.3f ms", (unsigned long long)(period / MS), dt / 1e6);
	EXPECT_GE(dt, period * 9 / 10);
	EXPECT_LE(dt, period * 20);
	EXPECT_EQ(KVM_MP_STATE_RUNNABLE, get_mp_state(vcpu));
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	vm_free(vm);
}

/* ---- 5. self_ipi ------------------------------------------------------ */

/* Deliver what is pending: exactly one instruction with IF set. */
#define STI_NOP_CLI() asm volatile("sti; nop; cli" : : : "memory")

static void guest_self_ipi_xapic(void)
{
	uint32_t id;

	guest_apic_enable();
	id = xapic_read(APIC_ID) >> 24;
	asm volatile("cli");

	/* Shorthand "self": pending in IRR while IF = 0, then delivered. */
	xapic_write(APIC_ICR, APIC_DEST_SELF | APIC_DM_FIXED | IPI_VEC);
	GUEST_ASSERT_EQ(0, xapic_read(APIC_ICR) & APIC_ICR_BUSY);
	GUEST_ASSERT_EQ(1, xapic_vector_bit(APIC_IRR, IPI_VEC));
	GUEST_ASSERT_EQ(0, nirq);
	STI_NOP_CLI();
	GUEST_ASSERT_EQ(1, nirq);
	GUEST_ASSERT_EQ(IPI_VEC, last_vector);
	GUEST_ASSERT_EQ(0, xapic_vector_bit(APIC_IRR, IPI_VEC));
	GUEST_ASSERT_EQ(0, xapic_vector_bit(APIC_ISR, IPI_VEC));

	/* No shorthand, physical destination: our own APIC id. */
	xapic_write(APIC_ICR2, id << 24);
	xapic_write(APIC_ICR, APIC_DM_FIXED | (IPI_VEC + 1));
	STI_NOP_CLI();
	GUEST_ASSERT_EQ(2, nirq);
	GUEST_ASSERT_EQ(IPI_VEC + 1, last_vector);

	/* "All including self". */
	xapic_write(APIC_ICR, APIC_DEST_ALLINC | APIC_DM_FIXED | (IPI_VEC + 2));
	STI_NOP_CLI();
	GUEST_ASSERT_EQ(3, nirq);
	GUEST_ASSERT_EQ(IPI_VEC + 2, last_vector);

	/* Nobody has id + 1; "all but self" is nobody here: nothing comes. */
	xapic_write(APIC_ICR2, (id + 1) << 24);
	xapic_write(APIC_ICR, APIC_DM_FIXED | (IPI_VEC + 3));
	xapic_write(APIC_ICR, APIC_DEST_ALLBUT | APIC_DM_FIXED | (IPI_VEC + 4));
	guest_spin_sti();
	GUEST_SYNC(nirq, id);
}

TEST(self_ipi)
{
	struct vcpu *vcpu;
	struct ucall uc;
	struct vm *vm;

	REQUIRE_CAP(KVM_CAP_IRQCHIP);
	watchdog(20, "self_ipi");
	vm = vm_create_irqchip();
	vcpu = vm_vcpu_add(vm, 0);
	vcpu_start_guest(vcpu, guest_self_ipi_xapic, 0);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(3, uc.args[0]);
	EXPECT_EQ(0, uc.args[1]);
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	vm_free(vm);
}

static void guest_self_ipi_x2apic(void)
{
	uint64_t base, id;

	guest_apic_enable();
	base = guest_rdmsr(MSR_IA32_APICBASE);
	guest_wrmsr(MSR_IA32_APICBASE, base | MSR_IA32_APICBASE_EXTD);
	guest_x2apic = 1;
	GUEST_ASSERT_EQ(base | MSR_IA32_APICBASE_EXTD, guest_rdmsr(MSR_IA32_APICBASE));
	id = x2apic_read(APIC_ID);
	/* The state carries over; the LDR is derived from the id. */
	GUEST_ASSERT_EQ(APIC_SPIV_ENABLE | SPURIOUS_VEC, x2apic_read(APIC_SPIV));
	GUEST_ASSERT_EQ(KVM_APIC_VERSION, x2apic_read(APIC_LVR));
	GUEST_ASSERT_EQ(((id >> 4) << 16) | (1U << (id & 0xf)), x2apic_read(APIC_LDR));
	asm volatile("cli");

	x2apic_write(APIC_SELF_IPI, IPI_VEC);
	GUEST_ASSERT_EQ(0, nirq);
	STI_NOP_CLI();
	GUEST_ASSERT_EQ(1, nirq);
	GUEST_ASSERT_EQ(IPI_VEC, last_vector);

	/* ICR is one 64-bit MSR, the destination in the high half. */
	x2apic_write(APIC_ICR, (id << 32) | APIC_DM_FIXED | (IPI_VEC + 1));
	STI_NOP_CLI();
	GUEST_ASSERT_EQ(2, nirq);
	GUEST_ASSERT_EQ(IPI_VEC + 1, last_vector);

	x2apic_write(APIC_ICR, APIC_DEST_SELF | APIC_DM_FIXED | (IPI_VEC + 2));
	STI_NOP_CLI();
	GUEST_ASSERT_EQ(3, nirq);
	GUEST_ASSERT_EQ(IPI_VEC + 2, last_vector);
	GUEST_SYNC(nirq, id);
}

TEST(self_ipi_x2apic)
{
	struct vcpu *vcpu;
	struct ucall uc;
	struct vm *vm;

	REQUIRE_CAP(KVM_CAP_IRQCHIP);
	if (!supported_cpuid_has(1, CPUID_1_ECX_X2APIC))
		SKIP(return, "no x2APIC in KVM_GET_SUPPORTED_CPUID");
	watchdog(20, "self_ipi_x2apic");
	vm = vm_create_irqchip();
	vcpu = vm_vcpu_add(vm, 0);	/* the default CPUID has x2APIC */
	vcpu_start_guest(vcpu, guest_self_ipi_x2apic, 0);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(3, uc.args[0]);
	EXPECT_EQ(0, uc.args[1]);
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	EXPECT_EQ(APIC_DEFAULT_GPA | MSR_IA32_APICBASE_ENABLE |
		  MSR_IA32_APICBASE_BSP | MSR_IA32_APICBASE_EXTD,
		  vcpu_get_msr(vcpu, MSR_IA32_APICBASE));
	vm_free(vm);
}

/* ---- 6. ioapic_line --------------------------------------------------- */

/* A host thread that raises (and lowers) a line after a delay. */
struct line_op {
	struct vm *vm;
	uint32_t irq;
	uint64_t delay_ns;
	bool lower;		/* then lower it again (an edge) */
	int r1, r0;		/* the ioctls' results */
	int32_t st1, st0;	/* their status */
};

static void *line_thread(void *arg)
{
	struct line_op *op = arg;

	sleep_ns(op->delay_ns);
	op->r1 = __vm_irq_line_status(op->vm, op->irq, 1, &op->st1);
	if (op->lower)
		op->r0 = __vm_irq_line_status(op->vm, op->irq, 0, &op->st0);
	return NULL;
}

/* Program pin @pin: @vector, fixed, physical destination APIC 0, unmasked. */
static void guest_ioapic_route(int pin, uint32_t vector, uint32_t flags)
{
	ioapic_write(IOAPIC_REDTBL(pin) + 1, 0 << 24);
	ioapic_write(IOAPIC_REDTBL(pin), flags | vector);
}

static void guest_ioapic_edge(int pin)
{
	guest_apic_enable();
	guest_mask_pic();
	GUEST_ASSERT_EQ(KVM_IOAPIC_VERSION, ioapic_read(IOAPIC_REG_VERSION));
	GUEST_ASSERT_EQ(IOAPIC_RTE_MASKED, ioapic_read(IOAPIC_REDTBL(pin)) & IOAPIC_RTE_MASKED);
	guest_ioapic_route(pin, IOAPIC_VEC, 0);
	GUEST_ASSERT_EQ(IOAPIC_VEC, ioapic_read(IOAPIC_REDTBL(pin)));
	GUEST_ASSERT_EQ(0, ioapic_read(IOAPIC_REDTBL(pin) + 1));
	GUEST_SYNC(1, 0);
	/* The host thread raises the line while this vCPU is halted. */
	guest_wait_irqs(1);
	GUEST_SYNC(nirq, last_vector);
	/* The host pulsed it before this run. */
	guest_wait_irqs(2);
	GUEST_SYNC(nirq, last_vector);
	/* Masked, a pulse does nothing. */
	guest_ioapic_route(pin, IOAPIC_VEC, IOAPIC_RTE_MASKED);
	GUEST_SYNC(4, 0);
	guest_spin_sti();
	GUEST_SYNC(nirq, 0);
}

TEST(ioapic_line_edge)
{
	struct line_op op = { .irq = IOAPIC_PIN, .delay_ns = 20 * MS, .lower = true };
	struct kvm_irq_level l = { .irq = IOAPIC_PIN, .level = 1 };
	struct vcpu *vcpu;
	struct ucall uc;
	struct vm *vm;
	pthread_t t;
	int32_t st;

	REQUIRE_CAP(KVM_CAP_IRQCHIP);
	REQUIRE_CAP(KVM_CAP_IRQ_INJECT_STATUS);
	watchdog(20, "the I/O APIC edge interrupt");
	vm = vm_create_irqchip();
	vcpu = vm_vcpu_add(vm, 0);
	vcpu_start_guest(vcpu, guest_ioapic_edge, 1, IOAPIC_PIN);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	ASSERT_EQ(1, uc.args[0]);

	/* An edge from another thread while the vCPU sleeps in HLT. */
	op.vm = vm;
	ASSERT_EQ(0, pthread_create(&t, NULL, line_thread, &op));
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	pthread_join(t, NULL);
	EXPECT_EQ(1, uc.args[0]);
	EXPECT_EQ(IOAPIC_VEC, uc.args[1]);
	EXPECT_EQ(0, op.r1);
	EXPECT_EQ(0, op.r0);
	TH_LOG("edge: KVM_IRQ_LINE_STATUS status %d raising, %d lowering", op.st1, op.st0);
	EXPECT_GT(op.st1, 0);

	/* An edge while the vCPU is out of KVM_RUN; KVM_IRQ_LINE too. */
	EXPECT_EQ(0, __mkvm_ioctl(vm->fd, KVM_IRQ_LINE, (unsigned long)&l));
	l.level = 0;
	EXPECT_EQ(0, __mkvm_ioctl(vm->fd, KVM_IRQ_LINE, (unsigned long)&l));
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(2, uc.args[0]);
	EXPECT_EQ(IOAPIC_VEC, uc.args[1]);

	/* Masked pin: the status says ignored (< 0), nothing is delivered. */
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(4, uc.args[0]);
	EXPECT_EQ(0, __vm_irq_line_status(vm, IOAPIC_PIN, 1, &st));
	TH_LOG("edge, masked pin: status %d", st);
	EXPECT_LT(st, 0);
	EXPECT_EQ(0, __vm_irq_line_status(vm, IOAPIC_PIN, 0, &st));
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(2, uc.args[0]);
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	vm_free(vm);
}

/*
 * Level: one delivery per assertion and EOI.  The handler does not EOI
 * here; the guest does it itself, once with the line still high (the
 * interrupt comes again), once after the host lowered it (nothing more).
 */
static void guest_ioapic_level(int pin)
{
	guest_apic_enable();
	guest_mask_pic();
	guest_no_eoi = 1;
	guest_ioapic_route(pin, IOAPIC_VEC, IOAPIC_RTE_LEVEL);
	GUEST_SYNC(1, 0);
	guest_wait_irqs(1);
	/* In service, remote IRR set, level-triggered in the TMR. */
	GUEST_ASSERT_EQ(1, xapic_vector_bit(APIC_ISR, IOAPIC_VEC));
	GUEST_ASSERT_EQ(1, xapic_vector_bit(APIC_TMR, IOAPIC_VEC));
	GUEST_ASSERT_EQ(IOAPIC_RTE_REMOTE_IRR,
			ioapic_read(IOAPIC_REDTBL(pin)) & IOAPIC_RTE_REMOTE_IRR);
	guest_spin_sti();
	GUEST_SYNC(nirq, last_vector);

	/* EOI with the line still high: delivered again. */
	guest_eoi();
	guest_wait_irqs(2);
	GUEST_ASSERT_EQ(1, xapic_vector_bit(APIC_ISR, IOAPIC_VEC));
	GUEST_SYNC(nirq, last_vector);

	/* The host lowered it: EOI, and that is the end. */
	guest_eoi();
	guest_spin_sti();
	GUEST_ASSERT_EQ(0, xapic_vector_bit(APIC_ISR, IOAPIC_VEC));
	GUEST_ASSERT_EQ(0, ioapic_read(IOAPIC_REDTBL(pin)) & IOAPIC_RTE_REMOTE_IRR);
	GUEST_SYNC(nirq, 0);
}

TEST(ioapic_line_level)
{
	struct vcpu *vcpu;
	struct ucall uc;
	struct vm *vm;
	int32_t st;

	REQUIRE_CAP(KVM_CAP_IRQCHIP);
	REQUIRE_CAP(KVM_CAP_IRQ_INJECT_STATUS);
	watchdog(20, "the I/O APIC level interrupt");
	vm = vm_create_irqchip();
	vcpu = vm_vcpu_add(vm, 0);
	vcpu_start_guest(vcpu, guest_ioapic_level, 1, IOAPIC_PIN);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	ASSERT_EQ(1, uc.args[0]);

	EXPECT_EQ(0, __vm_irq_line_status(vm, IOAPIC_PIN, 1, &st));
	TH_LOG("level: status %d raising", st);
	EXPECT_GT(st, 0);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(1, uc.args[0]);		/* once, although still high */
	EXPECT_EQ(IOAPIC_VEC, uc.args[1]);

	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(2, uc.args[0]);		/* again after EOI */
	EXPECT_EQ(IOAPIC_VEC, uc.args[1]);

	EXPECT_EQ(0, __vm_irq_line_status(vm, IOAPIC_PIN, 0, &st));
	TH_LOG("level: status %d lowering", st);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(2, uc.args[0]);		/* lowered: no more */
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	vm_free(vm);
}

/* ---- 7. msi ----------------------------------------------------------- */

static void guest_msi(void)
{
	guest_apic_enable();
	GUEST_SYNC(1, 0);
	guest_wait_irqs(1);
	GUEST_SYNC(nirq, last_vector);
	guest_wait_irqs(2);
	GUEST_SYNC(nirq, last_vector);
	guest_spin_sti();
	GUEST_SYNC(nirq, last_vector);
}

TEST(msi)
{
	struct kvm_msi msi = { .address_lo = APIC_DEFAULT_GPA, .data = MSI_VEC };
	struct vcpu *vcpu;
	struct ucall uc;
	struct vm *vm;
	int32_t st;
	long r;

	REQUIRE_CAP(KVM_CAP_IRQCHIP);
	REQUIRE_CAP(KVM_CAP_SIGNAL_MSI);
	REQUIRE_CAP(KVM_CAP_IRQ_ROUTING);
	REQUIRE_CAP(KVM_CAP_IRQ_INJECT_STATUS);
	watchdog(20, "the MSI");
	vm = vm_create_irqchip();
	vcpu = vm_vcpu_add(vm, 0);
	vcpu_start_guest(vcpu, guest_msi, 0);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);

	/* KVM_SIGNAL_MSI to APIC 0: delivered to one vCPU. */
	EXPECT_EQ(1, __mkvm_ioctl(vm->fd, KVM_SIGNAL_MSI, (unsigned long)&msi));
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(1, uc.args[0]);
	EXPECT_EQ(MSI_VEC, uc.args[1]);

	/* An MSI route on GSI 30, raised by KVM_IRQ_LINE. */
	EXPECT_EQ(0, __vm_route_msi(vm, MSI_GSI, MSI_VEC + 1));
	EXPECT_EQ(0, __vm_irq_line_status(vm, MSI_GSI, 1, &st));
	EXPECT_EQ(1, st);
	EXPECT_EQ(0, __vm_irq_line_status(vm, MSI_GSI, 0, &st));
	TH_LOG("MSI route: status %d lowering", st);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(2, uc.args[0]);
	EXPECT_EQ(MSI_VEC + 1, uc.args[1]);

	/* To an APIC id nobody has: not delivered. */
	msi.address_lo = APIC_DEFAULT_GPA | (7 << 12);
	r = __mkvm_ioctl(vm->fd, KVM_SIGNAL_MSI, (unsigned long)&msi);
	EXPECT_EQ(0, r);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(2, uc.args[0]);
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	vm_free(vm);
}

/* ---- 8. bad input ----------------------------------------------------- */

static int set_routing(struct vm *vm, uint32_t nr, uint32_t flags,
		       const struct kvm_irq_routing_entry *e)
{
	struct kvm_irq_routing *r;
	size_t n = nr < 8 ? 8 : nr;
	int ret;

	r = calloc(1, sizeof(*r) + n * sizeof(r->entries[0]));
	TEST_ASSERT(r, "out of memory");
	r->nr = nr;
	r->flags = flags;
	if (e)
		r->entries[0] = *e;
	ret = __mkvm_ioctl(vm->fd, KVM_SET_GSI_ROUTING, (unsigned long)r);
	free(r);
	return ret;
}

TEST(bad_input)
{
	struct kvm_irq_routing_entry e;
	struct kvm_irqchip chip = { .chip_id = 3 };
	struct kvm_irq_level l = { .irq = 5000, .level = 1 };
	struct kvm_msi msi = { .address_lo = APIC_DEFAULT_GPA, .data = MSI_VEC };
	struct kvm_lapic_state s;
	long max_routes;
	struct vcpu *vcpu;
	struct vm *vm;
	int32_t st;

	REQUIRE_CAP(KVM_CAP_IRQCHIP);

	/* Without an irqchip. */
	vm = vm_create_bare();
	vcpu = vm_vcpu_add_raw(vm, 0);
	EXPECT_EQ(-EINVAL, __mkvm_ioctl(vcpu->fd, KVM_GET_LAPIC, (unsigned long)&s));
	memset(&s, 0, sizeof(s));
	EXPECT_EQ(-EINVAL, __mkvm_ioctl(vcpu->fd, KVM_SET_LAPIC, (unsigned long)&s));
	l.irq = 5;
	EXPECT_EQ(-ENXIO, __mkvm_ioctl(vm->fd, KVM_IRQ_LINE, (unsigned long)&l));
	EXPECT_EQ(-ENXIO, __mkvm_ioctl(vm->fd, KVM_IRQ_LINE_STATUS, (unsigned long)&l));
	chip.chip_id = KVM_IRQCHIP_IOAPIC;
	EXPECT_EQ(-ENXIO, __mkvm_ioctl(vm->fd, KVM_GET_IRQCHIP, (unsigned long)&chip));
	EXPECT_EQ(-EINVAL, __mkvm_ioctl(vm->fd, KVM_SIGNAL_MSI, (unsigned long)&msi));
	EXPECT_EQ(-EINVAL, set_routing(vm, 0, 0, NULL));
	vm_free(vm);

	/* With one. */
	vm = vm_create_bare();
	ASSERT_EQ(0, __mkvm_ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0));
	vcpu = vm_vcpu_add_raw(vm, 0);

	/* A line no route has: not an error, the status says ignored. */
	l.irq = 5000;
	l.level = 1;
	EXPECT_EQ(0, __mkvm_ioctl(vm->fd, KVM_IRQ_LINE, (unsigned long)&l));
	EXPECT_EQ(0, __vm_irq_line_status(vm, 5000, 1, &st));
	EXPECT_EQ(-1, st);

	chip.chip_id = 3;
	EXPECT_EQ(-EINVAL, __mkvm_ioctl(vm->fd, KVM_GET_IRQCHIP, (unsigned long)&chip));
	EXPECT_EQ(-EINVAL, __mkvm_ioctl(vm->fd, KVM_SET_IRQCHIP, (unsigned long)&chip));
	EXPECT_EQ(-EFAULT, __mkvm_ioctl(vm->fd, KVM_GET_IRQCHIP, 0));
	EXPECT_EQ(-EFAULT, __mkvm_ioctl(vcpu->fd, KVM_GET_LAPIC, 0));
	EXPECT_EQ(-EFAULT, __mkvm_ioctl(vm->fd, KVM_IRQ_LINE, 0));

	msi.flags = 2;
	EXPECT_EQ(-EINVAL, __mkvm_ioctl(vm->fd, KVM_SIGNAL_MSI, (unsigned long)&msi));
	msi.flags = 0x80000000;
	EXPECT_EQ(-EINVAL, __mkvm_ioctl(vm->fd, KVM_SIGNAL_MSI, (unsigned long)&msi));

	/* GSI routing: the table's size and flags, and each kind of bad entry. */
	max_routes = kvm_check_cap(KVM_CAP_IRQ_ROUTING);
	TH_LOG("KVM_CAP_IRQ_ROUTING: %ld", max_routes);
	ASSERT_EQ(4096, max_routes);
	EXPECT_EQ(-EINVAL, set_routing(vm, max_routes + 1, 0, NULL));
	EXPECT_EQ(-EINVAL, set_routing(vm, 0, 1, NULL));

	memset(&e, 0, sizeof(e));
	e.type = KVM_IRQ_ROUTING_IRQCHIP;
	e.u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
	e.u.irqchip.pin = 23;
	EXPECT_EQ(0, set_routing(vm, 1, 0, &e));
	e.u.irqchip.pin = 24;
	EXPECT_EQ(-EINVAL, set_routing(vm, 1, 0, &e));
	e.u.irqchip.irqchip = KVM_IRQCHIP_PIC_MASTER;
	e.u.irqchip.pin = 7;
	EXPECT_EQ(0, set_routing(vm, 1, 0, &e));
	e.u.irqchip.pin = 8;
	EXPECT_EQ(-EINVAL, set_routing(vm, 1, 0, &e));
	e.u.irqchip.irqchip = KVM_IRQCHIP_PIC_SLAVE;
	EXPECT_EQ(-EINVAL, set_routing(vm, 1, 0, &e));
	e.u.irqchip.irqchip = 3;
	e.u.irqchip.pin = 0;
	EXPECT_EQ(-EINVAL, set_routing(vm, 1, 0, &e));
	e.u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
	e.flags = 1;
	EXPECT_EQ(-EINVAL, set_routing(vm, 1, 0, &e));
	e.flags = 0;
	e.gsi = max_routes;
	EXPECT_EQ(-EINVAL, set_routing(vm, 1, 0, &e));
	e.gsi = 0;
	e.type = 99;
	EXPECT_EQ(-EINVAL, set_routing(vm, 1, 0, &e));
	/* An empty table is fine. */
	EXPECT_EQ(0, set_routing(vm, 0, 0, NULL));
	vm_free(vm);
}

#define MSR_LSTAR_IDX		0xc0000082
#define MSR_SYSENTER_CS_IDX	0x174

/* ---- 9. init_sipi ----------------------------------------------------- */

#define SIPI_VECTOR	(DATA_GPA >> 12)	/* the AP starts at DATA_GPA */
#define SIPI_PORT	0x99

/* The AP's real-mode trampoline, copied to DATA_GPA. */
GUEST_ASM(sipi_tramp,
	".code16\n"
	"mov $0x5a5a, %ax\n"
	".globl sipi_tramp_out\n"
	"sipi_tramp_out:\n"
	"out %ax, $" STR(SIPI_PORT) "\n"
	"1: hlt\n"
	"jmp 1b\n");
extern const char sipi_tramp_out[];

/* The BSP: INIT (assert, then the de-assert KVM ignores), then SIPI. */
static void guest_init_sipi(uint64_t ap_id, uint64_t vector)
{
	guest_apic_enable();
	GUEST_SYNC(1, 0);
	xapic_write(APIC_ICR2, ap_id << 24);
	xapic_write(APIC_ICR, APIC_INT_ASSERT | APIC_DM_INIT);
	xapic_write(APIC_ICR, APIC_INT_LEVELTRIG | APIC_DM_INIT);
	xapic_write(APIC_ICR, APIC_INT_ASSERT | APIC_DM_STARTUP | vector);
	GUEST_SYNC(2, xapic_read(APIC_ICR) & APIC_ICR_BUSY);
}

struct ap_run {
	struct vcpu *vcpu;
	volatile int in_run;	/* in KVM_RUN */
	volatile int returns;	/* KVM_RUNs that returned */
	volatile int sent;	/* the BSP is past SYNC 1 (set by the main thread) */
	int early;		/* returns before the BSP sent anything */
	int eagain;		/* -EAGAIN returns (KVM, after INIT) */
	int r;			/* the last KVM_RUN's result */
};

static void *ap_thread(void *arg)
{
	struct ap_run *ap = arg;
	int i;

	for (i = 0; i < 4; i++) {
		ap->in_run = 1;
		ap->r = __vcpu_run(ap->vcpu);
		ap->in_run = 0;
		ap->returns++;
		if (!ap->sent)
			ap->early++;
		if (ap->r != -EAGAIN)
			break;
		ap->eagain++;
	}
	return NULL;
}

TEST(init_sipi)
{
	struct ap_run ap = { 0 };
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct vcpu *bsp;
	struct ucall uc;
	struct vm *vm;
	pthread_t t;
	uint8_t *data;

	REQUIRE_CAP(KVM_CAP_IRQCHIP);
	REQUIRE_CAP(KVM_CAP_MP_STATE);
	watchdog(20, "the AP's start by INIT/SIPI");
	vm = vm_create_irqchip();
	bsp = vm_vcpu_add(vm, 0);
	ap.vcpu = vm_vcpu_add(vm, 1);
	/* With an in-kernel APIC, an AP waits for INIT/SIPI. */
	EXPECT_EQ(KVM_MP_STATE_RUNNABLE, get_mp_state(bsp));
	EXPECT_EQ(KVM_MP_STATE_UNINITIALIZED, get_mp_state(ap.vcpu));

	/* MSRs an INIT keeps (the CPU's and KVM's rule). */
	vcpu_set_msr(ap.vcpu, MSR_LSTAR_IDX, 0xffffffff81000000ULL);
	vcpu_set_msr(ap.vcpu, MSR_SYSENTER_CS_IDX, 0x10);
	memcpy(gpa2hva(vm, DATA_GPA), sipi_tramp_start, sipi_tramp_end - sipi_tramp_start);
	vcpu_start_guest(bsp, guest_init_sipi, 2, 1, SIPI_VECTOR);
	vcpu_run_expect(bsp, UCALL_SYNC, &uc);
	ASSERT_EQ(1, uc.args[0]);

	/* The AP stays in KVM_RUN until the BSP's INIT/SIPI. */
	ASSERT_EQ(0, pthread_create(&t, NULL, ap_thread, &ap));
	sleep_ns(100 * MS);
	EXPECT_EQ(0, ap.returns);
	EXPECT_EQ(1, ap.in_run);

	ap.sent = 1;
	vcpu_run_expect(bsp, UCALL_SYNC, &uc);
	EXPECT_EQ(2, uc.args[0]);
	EXPECT_EQ(0, uc.args[1]);	/* delivery status idle */
	pthread_join(t, NULL);
	TH_LOG("AP: %d KVM_RUNs, %d returned -EAGAIN", ap.returns, ap.eagain);
	EXPECT_EQ(0, ap.early);
	ASSERT_EQ(0, ap.r);

	/* It ran the trampoline in real mode at CS = vector << 8. */
	data = vcpu_assert_io(ap.vcpu, KVM_EXIT_IO_OUT, SIPI_PORT, 2, 1);
	EXPECT_EQ(0x5a5a, get_le(data, 2));
	vcpu_get_sregs(ap.vcpu, &sregs);
	vcpu_get_regs(ap.vcpu, &regs);
	EXPECT_EQ(SIPI_VECTOR << 8, sregs.cs.selector);
	EXPECT_EQ(SIPI_VECTOR << 12, sregs.cs.base);
	EXPECT_EQ(0, sregs.cr0 & CR0_PE);
	/*
	 * KVM exits with RIP at the OUT (it moves on at the next KVM_RUN),
	 * minikvm past it: a documented difference (api.rst).
	 */
	EXPECT_EQ(sipi_tramp_out - sipi_tramp_start + (mkvm_is_kvm() ? 0 : 2),
		  regs.rip);
	EXPECT_EQ(KVM_MP_STATE_RUNNABLE, get_mp_state(ap.vcpu));
	EXPECT_EQ(0xffffffff81000000ULL, vcpu_get_msr(ap.vcpu, MSR_LSTAR_IDX));
	EXPECT_EQ(0x10, vcpu_get_msr(ap.vcpu, MSR_SYSENTER_CS_IDX));
	vcpu_run_expect(bsp, UCALL_DONE, NULL);
	vm_free(vm);
}

/* ---- 10. irqfd and ioeventfd ------------------------------------------- */

#define IRQFD_GSI	31
#define RESAMPLE_PIN	10
#define IOEVENT_PORT	0x300
#define IOEVENT_GPA	MMIO_GPA	/* no slot there */

static void guest_irqfd(void)
{
	guest_apic_enable();
	GUEST_SYNC(1, 0);
	guest_wait_irqs(1);
	GUEST_SYNC(nirq, last_vector);
	guest_wait_irqs(2);
	GUEST_SYNC(nirq, last_vector);
	guest_spin_sti();
	GUEST_SYNC(nirq, last_vector);
}

/*
 * An irqfd on an MSI route: each write to the eventfd is one interrupt,
 * also one written before KVM_IRQFD; none after the deassign.
 */
TEST(irqfd_msi)
{
	struct vcpu *vcpu;
	struct ucall uc;
	struct vm *vm;
	int efd;

	REQUIRE_CAP(KVM_CAP_IRQCHIP);
	REQUIRE_CAP(KVM_CAP_IRQFD);
	watchdog(20, "an irqfd's interrupt");
	vm = vm_create_irqchip();
	vcpu = vm_vcpu_add(vm, 0);
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ASSERT_LE(0, efd);
	ASSERT_EQ(0, __vm_route_msi(vm, IRQFD_GSI, MSI_VEC + 2));
	vcpu_start_guest(vcpu, guest_irqfd, 0);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);

	/* Signalled before the irqfd exists: delivered when it does. */
	efd_write(efd);
	ASSERT_EQ(0, __vm_irqfd(vm, efd, IRQFD_GSI, 0, 0));
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(1, uc.args[0]);
	EXPECT_EQ(MSI_VEC + 2, uc.args[1]);
	/* Signalled while the vCPU sleeps in HLT. */
	efd_write(efd);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(2, uc.args[0]);

	/* The same eventfd twice: EBUSY; deassigned: nothing more comes. */
	EXPECT_EQ(-EBUSY, __vm_irqfd(vm, efd, IRQFD_GSI, 0, 0));
	EXPECT_EQ(0, __vm_irqfd(vm, efd, IRQFD_GSI, KVM_IRQFD_FLAG_DEASSIGN, 0));
	/* As KVM: deassigning what is not there is no error. */
	EXPECT_EQ(0, __vm_irqfd(vm, efd, IRQFD_GSI, KVM_IRQFD_FLAG_DEASSIGN, 0));
	EXPECT_EQ(-EINVAL, __vm_irqfd(vm, efd, IRQFD_GSI, 0x80, 0));
	EXPECT_EQ(-EBADF, __vm_irqfd(vm, -1, IRQFD_GSI, 0, 0));
	efd_write(efd);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(2, uc.args[0]);
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	close(efd);
	vm_free(vm);
}

static void guest_irqfd_resample(int pin)
{
	guest_apic_enable();
	guest_mask_pic();
	guest_no_eoi = 1;
	guest_ioapic_route(pin, IOAPIC_VEC + 2, IOAPIC_RTE_LEVEL);
	GUEST_SYNC(1, 0);
	guest_wait_irqs(1);
	GUEST_SYNC(nirq, ioapic_read(IOAPIC_REDTBL(pin)) & IOAPIC_RTE_REMOTE_IRR);
	/* EOI: the irqfd lowers the line, so nothing comes again. */
	guest_eoi();
	guest_spin_sti();
	GUEST_SYNC(nirq, ioapic_read(IOAPIC_REDTBL(pin)) & IOAPIC_RTE_REMOTE_IRR);
	/* The host wrote the irqfd again. */
	guest_wait_irqs(2);
	guest_eoi();
	GUEST_SYNC(nirq, last_vector);
}

/*
 * A level-triggered irqfd with a resample eventfd: the line stays high
 * until the guest's EOI, which lowers it and signals the resample fd.
 */
TEST(irqfd_resample)
{
	struct vcpu *vcpu;
	struct ucall uc;
	struct vm *vm;
	int efd, rfd;

	REQUIRE_CAP(KVM_CAP_IRQCHIP);
	REQUIRE_CAP(KVM_CAP_IRQFD_RESAMPLE);
	watchdog(20, "a resample irqfd");
	vm = vm_create_irqchip();
	vcpu = vm_vcpu_add(vm, 0);
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	rfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ASSERT_LE(0, efd);
	ASSERT_LE(0, rfd);
	ASSERT_EQ(0, __vm_irqfd(vm, efd, RESAMPLE_PIN, KVM_IRQFD_FLAG_RESAMPLE, rfd));
	vcpu_start_guest(vcpu, guest_irqfd_resample, 1, RESAMPLE_PIN);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);

	efd_write(efd);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(1, uc.args[0]);
	EXPECT_EQ(IOAPIC_RTE_REMOTE_IRR, uc.args[1]);
	EXPECT_EQ(0, efd_read(rfd));		/* not yet EOI'd */
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(1, uc.args[0]);		/* no second delivery */
	EXPECT_EQ(0, uc.args[1]);		/* remote IRR clear */
	EXPECT_EQ(1, efd_read(rfd));		/* resampled */
	efd_write(efd);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(2, uc.args[0]);
	EXPECT_EQ(IOAPIC_VEC + 2, uc.args[1]);
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	/* Closing an armed irqfd's eventfd tears it down, quietly. */
	close(efd);
	close(rfd);
	vm_free(vm);
}

static void guest_ioeventfd(void)
{
	volatile uint32_t *mmio = (volatile uint32_t *)IOEVENT_GPA;

	asm volatile("outw %0, %1" : : "a"((uint16_t)0x1234), "Nd"(IOEVENT_PORT));
	asm volatile("outw %0, %1" : : "a"((uint16_t)0x1234), "Nd"(IOEVENT_PORT));
	GUEST_SYNC(1, 0);
	/* Not the value: an ordinary exit. */
	asm volatile("outw %0, %1" : : "a"((uint16_t)0x1111), "Nd"(IOEVENT_PORT));
	*mmio = 0xabcdef01;
	GUEST_SYNC(2, 0);
}

/*
 * ioeventfds: a write that matches signals the eventfd and does not exit;
 * one that does not match exits as usual.
 */
TEST(ioeventfd)
{
	struct kvm_ioeventfd pio = {
		.datamatch = 0x1234, .addr = IOEVENT_PORT, .len = 2,
		.flags = KVM_IOEVENTFD_FLAG_PIO | KVM_IOEVENTFD_FLAG_DATAMATCH,
	};
	struct kvm_ioeventfd mmio = { .addr = IOEVENT_GPA, .len = 4 };
	struct kvm_ioeventfd bad;
	struct vcpu *vcpu;
	struct ucall uc;
	struct vm *vm;
	uint8_t *data;
	int pfd, mfd;

	REQUIRE_CAP(KVM_CAP_IOEVENTFD);
	vm = vm_create();
	vcpu = vm_vcpu_add(vm, 0);
	pfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	mfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	pio.fd = pfd;
	mmio.fd = mfd;
	ASSERT_EQ(0, __mkvm_ioctl(vm->fd, KVM_IOEVENTFD, (unsigned long)&pio));
	ASSERT_EQ(0, __mkvm_ioctl(vm->fd, KVM_IOEVENTFD, (unsigned long)&mmio));
	EXPECT_EQ(-EEXIST, __mkvm_ioctl(vm->fd, KVM_IOEVENTFD, (unsigned long)&pio));

	/* Bad input. */
	bad = mmio;
	bad.len = 3;
	EXPECT_EQ(-EINVAL, __mkvm_ioctl(vm->fd, KVM_IOEVENTFD, (unsigned long)&bad));
	bad = pio;
	bad.len = 0;
	EXPECT_EQ(-EINVAL, __mkvm_ioctl(vm->fd, KVM_IOEVENTFD, (unsigned long)&bad));
	bad = mmio;
	bad.flags = 0x80;
	EXPECT_EQ(-EINVAL, __mkvm_ioctl(vm->fd, KVM_IOEVENTFD, (unsigned long)&bad));
	bad = mmio;
	bad.addr = IOEVENT_GPA + 0x100;
	bad.flags = KVM_IOEVENTFD_FLAG_DEASSIGN;
	EXPECT_EQ(-ENOENT, __mkvm_ioctl(vm->fd, KVM_IOEVENTFD, (unsigned long)&bad));
	bad = mmio;
	bad.fd = -1;
	EXPECT_EQ(-EBADF, __mkvm_ioctl(vm->fd, KVM_IOEVENTFD, (unsigned long)&bad));

	vcpu_start_guest(vcpu, guest_ioeventfd, 0);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(1, uc.args[0]);
	EXPECT_EQ(2, efd_read(pfd));
	vcpu_run(vcpu);
	data = vcpu_assert_io(vcpu, KVM_EXIT_IO_OUT, IOEVENT_PORT, 2, 1);
	EXPECT_EQ(0x1111, get_le(data, 2));
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(2, uc.args[0]);
	EXPECT_EQ(1, efd_read(mfd));

	pio.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
	EXPECT_EQ(0, __mkvm_ioctl(vm->fd, KVM_IOEVENTFD, (unsigned long)&pio));
	close(pfd);
	close(mfd);
	vm_free(vm);
}

/* ---- 10b. the TPR mirror of KVM_SET_VAPIC_ADDR -------------------------- */

static volatile uint32_t vapic_word __attribute__((aligned(64)));

static void guest_vapic(void)
{
	guest_apic_enable();
	GUEST_SYNC(0, 0);
	/* The host set the TPR: the LAPIC put it in the word before entry. */
	GUEST_SYNC(vapic_word & 0xff, 0);
	/* The guest sets its TPR through the word: taken at the next exit. */
	vapic_word = 0x50;
	GUEST_SYNC(xapic_read(APIC_TASKPRI), 0);
}

TEST(vapic)
{
	struct kvm_vapic_addr va = { .vapic_addr = 0 };
	struct kvm_lapic_state st;
	struct vcpu *vcpu;
	struct ucall uc;
	struct vm *vm;

	REQUIRE_CAP(KVM_CAP_IRQCHIP);
	if (kvm_check_cap(KVM_CAP_VAPIC) <= 0)
		SKIP(return, "no KVM_CAP_VAPIC");
	watchdog(20, "vapic");
	/* Without an in-kernel LAPIC there is nothing to mirror. */
	vm = vm_create();
	vcpu = vm_vcpu_add(vm, 0);
	EXPECT_EQ(-EINVAL, __mkvm_ioctl(vcpu->fd, KVM_SET_VAPIC_ADDR, (unsigned long)&va));
	vm_free(vm);

	vm = vm_create_irqchip();
	vcpu = vm_vcpu_add(vm, 0);
	va.vapic_addr = 1ULL << 40;	/* no memory there */
	EXPECT_EQ(-EINVAL, __mkvm_ioctl(vcpu->fd, KVM_SET_VAPIC_ADDR, (unsigned long)&va));
	EXPECT_EQ(-EFAULT, __mkvm_ioctl(vcpu->fd, KVM_SET_VAPIC_ADDR, 0));
	vcpu_start_guest(vcpu, guest_vapic, 0);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);

	va.vapic_addr = (uint64_t)&vapic_word;
	ASSERT_EQ(0, __mkvm_ioctl(vcpu->fd, KVM_SET_VAPIC_ADDR, (unsigned long)&va));
	get_lapic(vcpu, &st);
	*(uint32_t *)&st.regs[APIC_TASKPRI] = 0x30;
	kvm_ioctl(vcpu->fd, KVM_SET_LAPIC, &st);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(0x30, uc.args[0]);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(0x50, uc.args[0]);
	get_lapic(vcpu, &st);
	EXPECT_EQ(0x50, *(uint32_t *)&st.regs[APIC_TASKPRI]);

	/* Off again: the word is left alone. */
	va.vapic_addr = 0;
	ASSERT_EQ(0, __mkvm_ioctl(vcpu->fd, KVM_SET_VAPIC_ADDR, (unsigned long)&va));
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	vm_free(vm);
}

/* ---- 11. garbage in the register page ------------------------------- */

/*
 * The guest writes all-ones, then zero, to every register of its xAPIC
 * page but the ICR (whose INIT to itself would reset it), at reserved
 * offsets too, with 1-, 2- and 4-byte accesses at odd places, and reads
 * everything back: the host and the vCPU live on, the version register
 * never changes.
 */
static void guest_lapic_garbage(void)
{
	uint32_t ver = xapic_read(APIC_LVR), sum = 0;
	unsigned int off;

	for (off = 0; off < 0x1000; off += 0x10) {
		if (off == APIC_ICR)
			continue;
		xapic_write(off, 0xffffffff);
		sum += xapic_read(off);
		*(volatile uint8_t *)(APIC_DEFAULT_GPA + off + 1) = 0xff;
		*(volatile uint16_t *)(APIC_DEFAULT_GPA + off + 2) = 0xffff;
		sum += *(volatile uint8_t *)(APIC_DEFAULT_GPA + off + 3);
		sum += *(volatile uint16_t *)(APIC_DEFAULT_GPA + off + 6);
		xapic_write(off, 0);
	}
	GUEST_SYNC(xapic_read(APIC_LVR) == ver, sum);
}

TEST(lapic_garbage)
{
	struct kvm_lapic_state lapic;
	struct vcpu *vcpu;
	struct ucall uc;
	struct vm *vm;

	REQUIRE_CAP(KVM_CAP_IRQCHIP);
	watchdog(60, "the guest writing garbage to its LAPIC");
	vm = vm_create_irqchip();
	vcpu = vm_vcpu_add(vm, 0);
	vcpu_start_guest(vcpu, guest_lapic_garbage, 0);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(1, uc.args[0]);
	ASSERT_EQ(0, __mkvm_ioctl(vcpu->fd, KVM_GET_LAPIC, (unsigned long)&lapic));
	EXPECT_EQ(KVM_APIC_VERSION, lapic_reg(&lapic, APIC_LVR));

	/* All-ones state from userspace: taken, and the guest still runs. */
	memset(&lapic, 0xff, sizeof(lapic));
	EXPECT_EQ(0, __mkvm_ioctl(vcpu->fd, KVM_SET_LAPIC, (unsigned long)&lapic));
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	ASSERT_EQ(0, __mkvm_ioctl(vcpu->fd, KVM_GET_LAPIC, (unsigned long)&lapic));
	vm_free(vm);
}

/* ---- 12. an IPI to a halted vCPU ---------------------------------------- */

static void guest_ipi_target(void)
{
	guest_apic_enable();
	GUEST_SYNC(1, 0);
	guest_wait_irqs(1);
	GUEST_SYNC(nirq, last_vector);
}

static void guest_ipi_sender(uint64_t dest)
{
	guest_apic_enable();
	xapic_write(APIC_ICR2, dest << 24);
	xapic_write(APIC_ICR, APIC_DM_FIXED | (IPI_VEC + 1));
	GUEST_SYNC(1, xapic_read(APIC_ICR) & APIC_ICR_BUSY);
}

struct halted_run {
	struct vcpu *vcpu;
	int r;
	uint64_t wall_ns, cpu_ns;	/* of its KVM_RUN */
};

static void *halted_thread(void *arg)
{
	struct halted_run *h = arg;
	struct timespec c0, c1;
	uint64_t t0 = now_ns();

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
	h->r = __vcpu_run(h->vcpu);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
	h->wall_ns = now_ns() - t0;
	h->cpu_ns = (c1.tv_sec - c0.tv_sec) * 1000000000ULL +
		    c1.tv_nsec - c0.tv_nsec;
	return NULL;
}

/*
 * vCPU 1 halts; 300 ms later vCPU 0 sends it a fixed IPI, which wakes it.
 * While halted its thread sleeps: its CPU time is a small part of the
 * time KVM_RUN took (KVM polls for a short while before it sleeps).
 */
TEST(ipi_wakes_halted_vcpu)
{
	struct kvm_mp_state runnable = { .mp_state = KVM_MP_STATE_RUNNABLE };
	struct halted_run h = { 0 };
	struct vcpu *bsp, *ap;
	struct ucall uc;
	struct vm *vm;
	pthread_t t;

	REQUIRE_CAP(KVM_CAP_IRQCHIP);
	watchdog(20, "the IPI to a halted vCPU");
	vm = vm_create_irqchip();
	bsp = vm_vcpu_add(vm, 0);
	ap = vm_vcpu_add(vm, 1);
	ASSERT_EQ(0, __mkvm_ioctl(ap->fd, KVM_SET_MP_STATE, (unsigned long)&runnable));
	vcpu_start_guest(ap, guest_ipi_target, 0);
	vcpu_run_expect(ap, UCALL_SYNC, &uc);
	vcpu_start_guest(bsp, guest_ipi_sender, 1, 1);

	h.vcpu = ap;
	ASSERT_EQ(0, pthread_create(&t, NULL, halted_thread, &h));
	sleep_ns(300 * MS);
	vcpu_run_expect(bsp, UCALL_SYNC, &uc);
	EXPECT_EQ(0, uc.args[1]);		/* delivery status idle */
	pthread_join(t, NULL);
	ASSERT_EQ(0, h.r);
	TH_LOG("halted vCPU: KVM_RUN %.1f ms, thread CPU %.1f ms",
	       h.wall_ns / 1e6, h.cpu_ns / 1e6);
	EXPECT_LE(250 * MS, h.wall_ns);
	EXPECT_GT(h.wall_ns / 4, h.cpu_ns);
	vcpu_assert_exit(ap, KVM_EXIT_IO);
	ASSERT_EQ(UCALL_SYNC, get_ucall(ap, &uc));
	EXPECT_EQ(1, uc.args[0]);
	EXPECT_EQ(IPI_VEC + 1, uc.args[1]);
	vm_free(vm);
}

TEST_HARNESS_MAIN
