// SPDX-License-Identifier: GPL-2.0
/*
 * The in-kernel i8254 PIT (KVM_CREATE_PIT2), KVM's model: creation rules
 * and errors; channel 0 in mode 2 raising GSI 0 through IOAPIC pin 0 at
 * about 1 kHz, and in mode 0 once; the counter latch and read-back
 * commands and channel 2's output on port 0x61; KVM_GET/SET_PIT(2); and
 * state no 8254 could hold.
 *
 * The guests enable their APIC, mask the 8259As, route IOAPIC pin 0 (GSI
 * 0 by the default routing) to PIT_VEC and count interrupts in a handler;
 * times are measured on the host around KVM_RUN with wide margins, since
 * the rig's CPUs are emulated.  Where KVM 6.1 and minikvm differ on
 * purpose (a PIT without an irqchip, unknown creation flags), the test
 * says what each does.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "lib/apic.h"
#include "lib/irqtest.h"
#include "lib/ucall.h"
#include "lib/x86.h"

#define PIT_VEC		0x60

#define PIT_HZ		1193182
#define PIT_CH(i)	(0x40 + (i))
#define PIT_CONTROL	0x43
#define PIT_SPEAKER	0x61
/* Control words: channel, access LSB then MSB (or LSB only), mode. */
#define PIT_CW(ch, rw, mode)	((ch) << 6 | (rw) << 4 | (mode) << 1)
#define PIT_RW_LSB	1
#define PIT_RW_WORD	3
#define PIT_READBACK(ch, what)	(0xc0 | (what) | 2 << (ch))
#define PIT_RB_COUNT_ONLY	0x10	/* don't latch status */
#define PIT_RB_STATUS_ONLY	0x20	/* don't latch count */

/* ---- guest side ------------------------------------------------------- */

static volatile uint64_t stop;		/* set by the host */

/* APIC on, 8259As masked, IOAPIC pin 0 (the PIT) to PIT_VEC, unmasked. */
static void guest_setup(bool route)
{
	guest_apic_enable();
	guest_mask_pic();
	if (route) {
		ioapic_write(IOAPIC_REDTBL(0) + 1, 0);
		ioapic_write(IOAPIC_REDTBL(0), PIT_VEC);
	}
}

static void guest_unroute(void)
{
	ioapic_write(IOAPIC_REDTBL(0), IOAPIC_RTE_MASKED | PIT_VEC);
}

/* Program channel @ch in @mode with a 16-bit @count, LSB then MSB. */
static void pit_program(int ch, int mode, uint16_t count)
{
	outb(PIT_CONTROL, PIT_CW(ch, PIT_RW_WORD, mode));
	outb(PIT_CH(ch), count & 0xff);
	outb(PIT_CH(ch), count >> 8);
}

/* Latch channel @ch's count (counter latch command) and read it. */
static uint16_t pit_latch_read(int ch)
{
	uint16_t v;

	outb(PIT_CONTROL, PIT_CW(ch, 0, 0));
	v = inb(PIT_CH(ch));
	return v | inb(PIT_CH(ch)) << 8;
}

/* ---- host side -------------------------------------------------------- */

#define REQUIRE_PIT() do {						\
	if (kvm_check_cap(KVM_CAP_PIT2) <= 0 ||				\
	    kvm_check_cap(KVM_CAP_PIT_STATE2) <= 0)			\
		SKIP(return, "no KVM_CAP_PIT2 / KVM_CAP_PIT_STATE2");	\
} while (0)

static long create_pit2(struct vm *vm, uint32_t flags)
{
	struct kvm_pit_config cfg = { .flags = flags };

	return __mkvm_ioctl(vm->fd, KVM_CREATE_PIT2, (unsigned long)&cfg);
}

/* A VM with an irqchip and a PIT whose port 0x61 the kernel answers. */
static struct vm *vm_create_pit(void)
{
	struct vm *vm = vm_create_irqchip();

	TEST_ASSERT(!create_pit2(vm, KVM_PIT_SPEAKER_DUMMY), "KVM_CREATE_PIT2");
	return vm;
}

static void get_pit2(struct vm *vm, struct kvm_pit_state2 *s)
{
	memset(s, 0xaa, sizeof(*s));
	kvm_ioctl(vm->fd, KVM_GET_PIT2, s);
}

/* ---- 1. create -------------------------------------------------------- */

TEST(create)
{
	struct kvm_pit_state2 s;
	struct kvm_pit_state old;
	struct vm *vm;
	int i, r;

	REQUIRE_PIT();
	EXPECT_EQ(1, kvm_check_cap(KVM_CAP_PIT));

	/* No PIT yet: its state ioctls say so. */
	vm = vm_create_bare();
	EXPECT_EQ(1, __mkvm_ioctl(vm->fd, KVM_CHECK_EXTENSION, KVM_CAP_PIT2));
	EXPECT_EQ(-ENXIO, __mkvm_ioctl(vm->fd, KVM_GET_PIT2, (unsigned long)&s));
	EXPECT_EQ(-ENXIO, __mkvm_ioctl(vm->fd, KVM_SET_PIT2, (unsigned long)&s));
	EXPECT_EQ(-ENXIO, __mkvm_ioctl(vm->fd, KVM_GET_PIT, (unsigned long)&old));
	EXPECT_EQ(-ENXIO, __mkvm_ioctl(vm->fd, KVM_SET_PIT, (unsigned long)&old));
	/*
	 * Before KVM_CREATE_IRQCHIP: api.rst says the PIT needs it; KVM 6.1
	 * does not check (its PIT then raises nothing), KVM 6.12 refuses
	 * with ENOENT as minikvm does.
	 */
	r = create_pit2(vm, 0);
	if (mkvm_is_kvm()) {
		EXPECT_TRUE(r == 0 || r == -ENOENT);
	} else {
		EXPECT_EQ(-ENOENT, r);
	}
	vm_free(vm);

	/* Flags other than KVM_PIT_SPEAKER_DUMMY: KVM 6.1 ignores them. */
	vm = vm_create_irqchip();
	EXPECT_EQ(mkvm_is_kvm() ? 0 : -EINVAL, create_pit2(vm, 2));
	vm_free(vm);
	vm = vm_create_irqchip();
	EXPECT_EQ(mkvm_is_kvm() ? 0 : -EINVAL, create_pit2(vm, 1U << 31));
	vm_free(vm);

	/* Once only, whichever ioctl. */
	vm = vm_create_irqchip();
	EXPECT_EQ(0, create_pit2(vm, KVM_PIT_SPEAKER_DUMMY));
	EXPECT_EQ(-EEXIST, create_pit2(vm, KVM_PIT_SPEAKER_DUMMY));
	EXPECT_EQ(-EEXIST, create_pit2(vm, 0));
	EXPECT_EQ(-EEXIST, __mkvm_ioctl(vm->fd, KVM_CREATE_PIT, 0));

	/* KVM's reset state: nothing programmed, count 65536, gate 2 low. */
	get_pit2(vm, &s);
	EXPECT_EQ(0, s.flags);
	for (i = 0; i < 9; i++)
		EXPECT_EQ(0, s.reserved[i]);
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(0x10000, s.channels[i].count);
		EXPECT_EQ(0xff, s.channels[i].mode);
		EXPECT_EQ(i != 2, s.channels[i].gate);
		EXPECT_EQ(0, s.channels[i].rw_mode);
		EXPECT_EQ(0, s.channels[i].count_latched);
		EXPECT_EQ(0, s.channels[i].status_latched);
	}
	/* The old ioctl reads the same channels. */
	kvm_ioctl(vm->fd, KVM_GET_PIT, &old);
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(s.channels[i].count, old.channels[i].count);
		EXPECT_EQ(s.channels[i].mode, old.channels[i].mode);
	}
	vm_vcpu_add(vm, 0);
	vm_free(vm);

	/* The old ioctl, after a vCPU exists. */
	vm = vm_create_irqchip();
	vm_vcpu_add(vm, 0);
	EXPECT_EQ(0, __mkvm_ioctl(vm->fd, KVM_CREATE_PIT, 0));
	EXPECT_EQ(-EEXIST, create_pit2(vm, 0));
	vm_free(vm);
}

/* ---- 2. periodic: mode 2 at about 1 kHz -------------------------------- */

static void guest_periodic(uint64_t count)
{
	guest_setup(true);
	GUEST_SYNC(0, 0);
	pit_program(0, 2, count);
	while (!stop) {
		guest_wait_irqs(nirq + 1);
		GUEST_SYNC(1, nirq);
	}
	guest_unroute();
	GUEST_SYNC4(2, nirq, last_vector, 0);
}

TEST(periodic)
{
	const uint64_t count = 1193, window = 50 * MS;
	uint64_t t0, dt, n, nominal, exits = 0;
	struct vcpu *vcpu;
	struct ucall uc;
	struct vm *vm;

	REQUIRE_PIT();
	/*
	 * kvm_amd on the debug kernel: in one CI run of six (2026-12-06)
	 * its guest took no PIT interrupt for 30 s, until the watchdog.
	 * Not understood; the test VM's SVM, which at times delivers an
	 * EVENTINJ interrupt twice, is the suspect (Documentation/qemu.rst).
	 * minikvm runs it there, and kvm_amd on the other kernels.
	 */
	if (mkvm_is_kvm() && mkvm_debug_host())
		SKIP(return, "kvm_amd's PIT stalled once on the debug kernel");
	watchdog(30, "the PIT test");
	vm = vm_create_pit();
	vcpu = vm_vcpu_add(vm, 0);
	vcpu_start_guest(vcpu, guest_periodic, 1, count);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	ASSERT_EQ(0, uc.args[0]);

	t0 = now_ns();
	do {
		vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
		ASSERT_EQ(1, uc.args[0]);
		dt = now_ns() - t0;
	} while (dt < window && ++exits < 100000);
	*(volatile uint64_t *)gpa2hva(vm, (uint64_t)&stop) = 1;
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	dt = now_ns() - t0;
	ASSERT_EQ(2, uc.args[0]);
	n = uc.args[1];
	nominal = dt * PIT_HZ / count / 1000000000ULL;
	TH_LOG("%llu interrupts in %.3f ms (nominal %llu)",
	       (unsigned long long)n, dt / 1e6, (unsigned long long)nominal);
	EXPECT_EQ(PIT_VEC, uc.args[2]);
	EXPECT_GE(n, 10);
	EXPECT_LE(n, 3 * nominal + 5);
	vm_free(vm);
}

/* ---- 3. oneshot: mode 0 fires once ------------------------------------ */

static void guest_oneshot(uint64_t count)
{
	uint8_t status;

	guest_setup(true);
	pit_program(0, 0, count);
	guest_wait_irqs(1);
	GUEST_SYNC(nirq, last_vector);
	/* The host waited several counts: nothing more came. */
	guest_spin_sti();
	outb(PIT_CONTROL, PIT_READBACK(0, PIT_RB_STATUS_ONLY));
	status = inb(PIT_CH(0));
	GUEST_SYNC(nirq, status);
}

TEST(oneshot)
{
	const uint64_t count = 11932;	/* 10 ms */
	struct vcpu *vcpu;
	struct ucall uc;
	struct vm *vm;

	REQUIRE_PIT();
	watchdog(30, "the PIT test");
	vm = vm_create_pit();
	vcpu = vm_vcpu_add(vm, 0);
	vcpu_start_guest(vcpu, guest_oneshot, 1, count);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(1, uc.args[0]);
	EXPECT_EQ(PIT_VEC, uc.args[1]);
	sleep_ns(50 * MS);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(1, uc.args[0]);
	/* OUT high after the terminal count, LSB then MSB, mode 0, binary. */
	EXPECT_EQ(0x80 | PIT_RW_WORD << 4, uc.args[1]);
	vm_free(vm);
}

/* ---- 4. latch and read-back: the count goes down ---------------------- */

static void guest_latch(void)
{
	uint16_t a, b, c;
	uint8_t status;
	int i;

	guest_setup(false);
	/* Mode 0 from 0xffff: 55 ms before it wraps. */
	pit_program(0, 0, 0xffff);
	a = pit_latch_read(0);
	for (i = 0; i < 2000; i++)
		asm volatile("pause");
	b = pit_latch_read(0);
	/* Read-back of status and count: status first, then the count. */
	for (i = 0; i < 2000; i++)
		asm volatile("pause");
	outb(PIT_CONTROL, PIT_READBACK(0, 0));
	status = inb(PIT_CH(0));
	c = inb(PIT_CH(0));
	c |= inb(PIT_CH(0)) << 8;
	GUEST_SYNC4(a, b, c, status);

	/* A latch holds its value however long the guest waits to read. */
	outb(PIT_CONTROL, PIT_CW(0, 0, 0));
	a = inb(PIT_CH(0));
	for (i = 0; i < 2000; i++)
		asm volatile("pause");
	a |= inb(PIT_CH(0)) << 8;
	b = pit_latch_read(0);
	GUEST_SYNC(a, b);

	/*
	 * Channel 2, LSB only, mode 0, gate high (port 0x61 bit 0): an LSB
	 * of 0 is a count of 65536, 55 ms, then OUT (bit 5) rises.
	 */
	outb(PIT_SPEAKER, (inb(PIT_SPEAKER) & ~2) | 1);
	outb(PIT_CONTROL, PIT_CW(2, PIT_RW_LSB, 0));
	outb(PIT_CH(2), 0);
	a = inb(PIT_SPEAKER) & 0x20;
	for (i = 0; i < 1000000 && !(inb(PIT_SPEAKER) & 0x20); i++)
		asm volatile("pause");
	GUEST_SYNC(a, inb(PIT_SPEAKER) & 0x21);
}

TEST(latch_readback)
{
	struct vcpu *vcpu;
	struct ucall uc;
	struct vm *vm;

	REQUIRE_PIT();
	watchdog(30, "the PIT test");
	vm = vm_create_pit();
	vcpu = vm_vcpu_add(vm, 0);
	vcpu_start_guest(vcpu, guest_latch, 0);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	TH_LOG("counts %llu %llu %llu, status %#llx",
	       (unsigned long long)uc.args[0], (unsigned long long)uc.args[1],
	       (unsigned long long)uc.args[2], (unsigned long long)uc.args[3]);
	EXPECT_LE(uc.args[0], 0xffff);
	EXPECT_LT(uc.args[1], uc.args[0]);
	EXPECT_LT(uc.args[2], uc.args[1]);
	/* OUT low before the terminal count, LSB then MSB, mode 0. */
	EXPECT_EQ(PIT_RW_WORD << 4, uc.args[3]);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_GT(uc.args[0], uc.args[1]);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(0, uc.args[0]);		/* just loaded: OUT low */
	EXPECT_EQ(0x21, uc.args[1]);		/* gate high, OUT high */
	vm_free(vm);
}

/* ---- 5. state: KVM_GET/SET_PIT2 and KVM_GET/SET_PIT ------------------- */

TEST(state)
{
	struct kvm_pit_state2 s, g;
	struct kvm_pit_state old;
	struct vm *vm;
	int i;

	REQUIRE_PIT();
	vm = vm_create_pit();
	memset(&s, 0, sizeof(s));
	s.channels[0] = (struct kvm_pit_channel_state) {
		.count = 1000, .rw_mode = 3, .read_state = 3,
		.write_state = 4, .write_latch = 0x12, .mode = 2, .gate = 1,
	};
	s.channels[1] = (struct kvm_pit_channel_state) {
		.count = 0, .rw_mode = 1, .read_state = 1, .write_state = 1,
		.mode = 3, .gate = 1, .count_latched = 1, .latched_count = 77,
	};
	s.channels[2] = (struct kvm_pit_channel_state) {
		.count = 500, .rw_mode = 2, .read_state = 2, .write_state = 2,
		.mode = 0, .bcd = 1, .gate = 0, .status_latched = 1,
		.status = 0x25,
	};
	s.flags = KVM_PIT_FLAGS_HPET_LEGACY | KVM_PIT_FLAGS_SPEAKER_DATA_ON;
	kvm_ioctl(vm->fd, KVM_SET_PIT2, &s);
	get_pit2(vm, &g);
	s.channels[1].count = 0x10000;		/* 0 is 65536 */
	for (i = 0; i < 3; i++) {
		struct kvm_pit_channel_state *a = &s.channels[i];
		struct kvm_pit_channel_state *b = &g.channels[i];

		EXPECT_EQ(a->count, b->count);
		EXPECT_EQ(a->latched_count, b->latched_count);
		EXPECT_EQ(a->count_latched, b->count_latched);
		EXPECT_EQ(a->status_latched, b->status_latched);
		EXPECT_EQ(a->status, b->status);
		EXPECT_EQ(a->read_state, b->read_state);
		EXPECT_EQ(a->write_state, b->write_state);
		EXPECT_EQ(a->write_latch, b->write_latch);
		EXPECT_EQ(a->rw_mode, b->rw_mode);
		EXPECT_EQ(a->mode, b->mode);
		EXPECT_EQ(a->bcd, b->bcd);
		EXPECT_EQ(a->gate, b->gate);
	}
	EXPECT_EQ(s.flags, g.flags);
	for (i = 0; i < 9; i++)
		EXPECT_EQ(0, g.reserved[i]);

	/* KVM_SET_PIT changes the channels, not the flags. */
	memcpy(old.channels, g.channels, sizeof(old.channels));
	old.channels[0].count = 1193;
	old.channels[0].mode = 0;
	kvm_ioctl(vm->fd, KVM_SET_PIT, &old);
	memset(&old, 0, sizeof(old));
	kvm_ioctl(vm->fd, KVM_GET_PIT, &old);
	EXPECT_EQ(1193, old.channels[0].count);
	EXPECT_EQ(0, old.channels[0].mode);
	get_pit2(vm, &g);
	EXPECT_EQ(s.flags, g.flags);
	EXPECT_EQ(500, g.channels[2].count);

	/* Back out of HPET legacy mode. */
	g.flags = 0;
	kvm_ioctl(vm->fd, KVM_SET_PIT2, &g);
	get_pit2(vm, &g);
	EXPECT_EQ(0, g.flags);
	vm_free(vm);
}

/* ---- 6. bad input ----------------------------------------------------- */

/* Reads every port of a PIT in any state; a periodic rate of 1 tick. */
static void guest_bad(void)
{
	uint64_t sum = 0;
	int i, ch;

	guest_setup(true);
	for (ch = 0; ch < 3; ch++) {
		for (i = 0; i < 4; i++)
			sum += inb(PIT_CH(ch));
		outb(PIT_CONTROL, PIT_READBACK(ch, 0));
		for (i = 0; i < 4; i++)
			sum += inb(PIT_CH(ch));
	}
	sum += inb(PIT_CONTROL);
	GUEST_SYNC(0, sum);
	/* Count 0 in mode 2 is 65536; count 2 must not flood the host. */
	pit_program(0, 2, 0);
	pit_program(0, 2, 2);
	guest_wait_irqs(20);
	guest_unroute();
	pit_program(0, 0, 0xffff);
	GUEST_SYNC(1, nirq);
}

TEST(bad_input)
{
	struct kvm_pit_state2 s, g;
	struct vcpu *vcpu;
	struct ucall uc;
	struct vm *vm;
	uint64_t t0, dt;
	int i;

	REQUIRE_PIT();
	watchdog(30, "the PIT test");
	vm = vm_create_pit();

	/* Count 0 through SET_PIT2: 65536, as a count of 0 written. */
	get_pit2(vm, &s);
	s.channels[0].count = 0;
	s.channels[0].mode = 2;
	s.channels[0].rw_mode = 3;
	kvm_ioctl(vm->fd, KVM_SET_PIT2, &s);
	get_pit2(vm, &g);
	EXPECT_EQ(0x10000, g.channels[0].count);

	/* Fields out of any range: accepted (as KVM), and harmless. */
	memset(&s, 0, sizeof(s));
	for (i = 0; i < 3; i++) {
		s.channels[i].count = 0xffffffff - i;
		s.channels[i].mode = 0xee - i;
		s.channels[i].rw_mode = 9;
		s.channels[i].read_state = 200;
		s.channels[i].write_state = 201;
		s.channels[i].count_latched = 9;
		s.channels[i].status_latched = 7;
		s.channels[i].bcd = 5;
		s.channels[i].gate = 3;
		s.channels[i].count_load_time = -1;
	}
	s.flags = 0xfffffffc;
	s.reserved[3] = 0xdead;
	EXPECT_EQ(0, __mkvm_ioctl(vm->fd, KVM_SET_PIT2, (unsigned long)&s));
	get_pit2(vm, &g);
	if (!mkvm_is_kvm()) {
		/* minikvm brings each field into range; KVM stores them. */
		EXPECT_EQ(0, g.flags);
		for (i = 0; i < 3; i++) {
			EXPECT_GE(0x10000, g.channels[i].count);
			EXPECT_LT(0, g.channels[i].count);
			EXPECT_EQ(0xff, g.channels[i].mode);
			EXPECT_GE(3, g.channels[i].rw_mode);
			EXPECT_GE(4, g.channels[i].read_state);
			EXPECT_GE(4, g.channels[i].write_state);
			EXPECT_GE(3, g.channels[i].count_latched);
			EXPECT_GE(1, g.channels[i].status_latched);
			EXPECT_GE(1, g.channels[i].bcd);
			EXPECT_GE(1, g.channels[i].gate);
		}
	}
	/* Modes 6 and 7 are 2 and 3, as a control word makes them. */
	s.channels[0].mode = 6;
	s.channels[0].count = 5000;
	s.channels[1].mode = 7;
	s.channels[1].count = 5000;
	EXPECT_EQ(0, __mkvm_ioctl(vm->fd, KVM_SET_PIT2, (unsigned long)&s));
	get_pit2(vm, &g);
	if (!mkvm_is_kvm()) {
		EXPECT_EQ(2, g.channels[0].mode);
		EXPECT_EQ(3, g.channels[1].mode);
	}

	/*
	 * A guest reads that PIT, then asks for a 1.7 us period (clamped to
	 * 200 us).  Not under Bochs nor on the debug kernel: there 200 us
	 * of the test VM's clock are fewer instructions than taking one
	 * interrupt needs, and the emulated host makes no progress
	 * (measured with minikvm under Bochs; on the debug kernel the test
	 * VM made no progress for 30 s in one CI run).
	 */
	if (mkvm_slow_host()) {
		vm_free(vm);
		SKIP(return, "a 200 us PIT outpaces this emulated host");
	}
	vcpu = vm_vcpu_add(vm, 0);
	vcpu_start_guest(vcpu, guest_bad, 0);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(0, uc.args[0]);
	t0 = now_ns();
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	dt = now_ns() - t0;
	EXPECT_EQ(1, uc.args[0]);
	TH_LOG("%llu interrupts at count 2 in %.3f ms",
	       (unsigned long long)uc.args[1], dt / 1e6);
	EXPECT_GE(uc.args[1], 20);
	/* At least 19 periods of 200 us (KVM's min_timer_period_us). */
	EXPECT_GE(dt, 19 * 200000ULL);
	vm_free(vm);
}

TEST_HARNESS_MAIN
