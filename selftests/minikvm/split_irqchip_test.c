// SPDX-License-Identifier: GPL-2.0
/*
 * The split irqchip (KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP), QEMU's
 * kernel_irqchip=split): the local APICs are the kernel's, the PIC, the
 * I/O APIC and the PIT userspace's.  Userspace's I/O APIC raises its pins
 * as MSI routes on the first GSIs and hears of the EOI of a
 * level-triggered one as KVM_EXIT_IOAPIC_EOI; its PIC hands its vector
 * to the vCPU with KVM_INTERRUPT, which LINT0 takes as ExtINT, with the
 * ready_for_interrupt_injection / request_interrupt_window protocol of
 * the userspace irqchip.  Each test runs on minikvm and on KVM alike.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/eventfd.h>

#include "kselftest_harness.h"
#include "lib/apic.h"
#include "lib/irqtest.h"
#include "lib/ucall.h"
#include "lib/x86.h"

#define PIC_VEC		0x30
#define LEVEL_VEC	0x40
#define EDGE_VEC	0x41
#define FAR_VEC		0x42
#define LEVEL_GSI	5
#define EDGE_GSI	6
#define FAR_GSI		30	/* beyond the I/O APIC's pins */

static int enable_split(int fd, uint64_t pins, uint32_t flags)
{
	struct kvm_enable_cap c = {
		.cap = KVM_CAP_SPLIT_IRQCHIP, .flags = flags, .args = { pins },
	};

	return __mkvm_ioctl(fd, KVM_ENABLE_CAP, (unsigned long)&c);
}

/* A vm_create() VM with a split irqchip of 24 pins (before any vCPU). */
static struct vm *vm_create_split(void)
{
	struct vm *vm = vm_create();

	TEST_ASSERT(!enable_split(vm->fd, IOAPIC_NUM_PINS, 0),
		    "KVM_CAP_SPLIT_IRQCHIP");
	return vm;
}

static int set_msi_routes(struct vm *vm, const struct kvm_irq_routing_entry *e,
			  uint32_t nr)
{
	struct {
		struct kvm_irq_routing r;
		struct kvm_irq_routing_entry e[4];
	} rt = { .r.nr = nr };

	memcpy(rt.e, e, nr * sizeof(*e));
	return __mkvm_ioctl(vm->fd, KVM_SET_GSI_ROUTING, (unsigned long)&rt);
}

static struct kvm_irq_routing_entry msi_route(uint32_t gsi, uint32_t dest,
					      uint32_t data)
{
	return (struct kvm_irq_routing_entry){
		.gsi = gsi, .type = KVM_IRQ_ROUTING_MSI,
		.u.msi = { .address_lo = APIC_DEFAULT_GPA | dest << 12,
			   .data = data },
	};
}

/* ---- enabling it --------------------------------------------------- */

TEST(enable)
{
	struct vm *vm;

	REQUIRE_CAP(KVM_CAP_SPLIT_IRQCHIP);
	vm = vm_create_bare();
	EXPECT_EQ(1, __mkvm_ioctl(vm->fd, KVM_CHECK_EXTENSION, KVM_CAP_SPLIT_IRQCHIP));
	/* At most KVM_MAX_IRQ_ROUTES pins, no flags. */
	EXPECT_EQ(-EINVAL, enable_split(vm->fd, 4097, 0));
	EXPECT_EQ(-EINVAL, enable_split(vm->fd, ~0ULL, 0));
	EXPECT_EQ(-EINVAL, enable_split(vm->fd, 24, 1));
	EXPECT_EQ(0, enable_split(vm->fd, 4096, 0));
	/* Once, and then no full irqchip either. */
	EXPECT_EQ(-EEXIST, enable_split(vm->fd, 24, 0));
	EXPECT_EQ(-EEXIST, __mkvm_ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0));
	vm_vcpu_add_raw(vm, 0);
	vm_free(vm);

	/* Not over a full irqchip, nor after a vCPU. */
	vm = vm_create_bare();
	ASSERT_EQ(0, __mkvm_ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0));
	EXPECT_EQ(-EEXIST, enable_split(vm->fd, 24, 0));
	vm_free(vm);
	vm = vm_create_bare();
	vm_vcpu_add_raw(vm, 0);
	EXPECT_EQ(-EINVAL, enable_split(vm->fd, 4097, 0));
	EXPECT_EQ(-EEXIST, enable_split(vm->fd, 24, 0));
	vm_free(vm);

	/* No pins at all is a split irqchip too. */
	vm = vm_create_bare();
	EXPECT_EQ(0, enable_split(vm->fd, 0, 0));
	vm_free(vm);
}

/* ---- what stays userspace's ------------------------------------------ */

static void guest_devices(void)
{
	GUEST_SYNC(xapic_read(APIC_ID), xapic_read(APIC_LVR) & 0xff);
	inb(0x21);				/* the PIC's IMR */
	GUEST_SYNC(ioapic_read(IOAPIC_REG_VERSION), 0);
}

TEST(chips_in_userspace)
{
	struct kvm_irq_routing_entry e = {
		.gsi = 1, .type = KVM_IRQ_ROUTING_IRQCHIP,
		.u.irqchip = { .irqchip = KVM_IRQCHIP_IOAPIC, .pin = 1 },
	};
	struct kvm_lapic_state lapic;
	struct kvm_irqchip chip;
	struct vcpu *vcpu;
	int i, efd, rfd;
	struct ucall uc;
	struct vm *vm;
	int32_t st;
	uint8_t *d;

	REQUIRE_CAP(KVM_CAP_SPLIT_IRQCHIP);
	watchdog(20, "the split irqchip's devices");
	vm = vm_create_split();
	vcpu = vm_vcpu_add(vm, 0);

	/* No PIC or I/O APIC state, no irqchip routes. */
	for (i = KVM_IRQCHIP_PIC_MASTER; i <= KVM_IRQCHIP_IOAPIC; i++) {
		memset(&chip, 0, sizeof(chip));
		chip.chip_id = i;
		EXPECT_EQ(-ENXIO, __mkvm_ioctl(vm->fd, KVM_GET_IRQCHIP, (unsigned long)&chip));
		EXPECT_EQ(-ENXIO, __mkvm_ioctl(vm->fd, KVM_SET_IRQCHIP, (unsigned long)&chip));
	}
	EXPECT_EQ(-EINVAL, set_msi_routes(vm, &e, 1));
	/* No route yet: a line goes nowhere (status -1, as KVM). */
	EXPECT_EQ(0, __vm_irq_line_status(vm, 1, 1, &st));
	EXPECT_EQ(-1, st);
	/* The LAPIC is the kernel's. */
	EXPECT_EQ(0, __mkvm_ioctl(vcpu->fd, KVM_GET_LAPIC, (unsigned long)&lapic));
	/* No resampling irqfd: the IOAPIC's EOIs are userspace's. */
	efd = eventfd(0, EFD_CLOEXEC);
	rfd = eventfd(0, EFD_CLOEXEC);
	ASSERT_LE(0, efd);
	ASSERT_LE(0, rfd);
	EXPECT_EQ(-EINVAL, __vm_irqfd(vm, efd, 1, KVM_IRQFD_FLAG_RESAMPLE, rfd));
	close(efd);
	close(rfd);

	vcpu_start_guest(vcpu, guest_devices, 0);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(0, uc.args[0]);		/* APIC id 0, in the kernel */
	EXPECT_EQ(0x14, uc.args[1]);
	/* The PIC's port and the I/O APIC's page exit to userspace. */
	vcpu_run(vcpu);
	d = vcpu_assert_io(vcpu, KVM_EXIT_IO_IN, 0x21, 1, 1);
	*d = 0xff;
	vcpu_run(vcpu);
	d = vcpu_assert_mmio(vcpu, IOAPIC_DEFAULT_GPA + IOAPIC_IOREGSEL, 4, true);
	EXPECT_EQ(IOAPIC_REG_VERSION, get_le(d, 4));
	vcpu_run(vcpu);
	d = vcpu_assert_mmio(vcpu, IOAPIC_DEFAULT_GPA + IOAPIC_IOWIN, 4, false);
	put_le(d, 0x170020, 4);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(0x170020, uc.args[0]);
	vm_free(vm);
}

/* ---- directed EOI -------------------------------------------------- */

static void guest_spiv(void)
{
	xapic_write(APIC_SPIV, 0x11ff);
	GUEST_SYNC(xapic_read(APIC_LVR), xapic_read(APIC_SPIV));
}

/*
 * The LAPIC's version offers directed EOI (LVR bit 24, SPIV bit 12
 * writable) with the split irqchip and x2APIC in the guest's CPUID, as
 * KVM: userspace's I/O APIC (QEMU's version 0x20) has the EOI register
 * that a guest suppressing the broadcast needs.  Never with the full
 * irqchip, whose I/O APIC has none.  Set at KVM_SET_CPUID2.
 */
static void check_directed_eoi(struct __test_metadata *_metadata,
			       bool split, bool x2apic)
{
	struct vm *vm = split ? vm_create_split() : vm_create_irqchip();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	struct kvm_cpuid2 *c = default_cpuid();
	struct kvm_cpuid_entry2 *e = cpuid_find(c, 1, 0);
	bool offered = split && x2apic;
	struct kvm_lapic_state s;
	struct ucall uc;

	TH_LOG("%s irqchip, x2APIC %s", split ? "split" : "full",
	       x2apic ? "in CPUID" : "not in CPUID");
	ASSERT_NE(NULL, e);
	e->ecx = x2apic ? e->ecx | CPUID_1_ECX_X2APIC :
			  e->ecx & ~CPUID_1_ECX_X2APIC;
	vcpu_start_guest(vcpu, guest_spiv, 0);
	vcpu_set_cpuid(vcpu, c);
	free(c);
	ASSERT_EQ(0, __mkvm_ioctl(vcpu->fd, KVM_GET_LAPIC, (unsigned long)&s));
	EXPECT_EQ(offered, !!(lapic_reg(&s, APIC_LVR) & APIC_LVR_DIRECTED_EOI));
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(0x14, uc.args[0] & 0xff);
	EXPECT_EQ(offered, !!(uc.args[0] & APIC_LVR_DIRECTED_EOI));
	EXPECT_EQ(offered ? 0x11ff : 0x1ff, uc.args[1]);
	vm_free(vm);
}

TEST(directed_eoi)
{
	REQUIRE_CAP(KVM_CAP_SPLIT_IRQCHIP);
	check_directed_eoi(_metadata, true, true);
	check_directed_eoi(_metadata, true, false);
	check_directed_eoi(_metadata, false, true);
}

/* ---- the PIC's vector through KVM_INTERRUPT ------------------------- */

static void guest_spin_for(uint64_t n)
{
	long i;

	asm volatile("sti" : : : "memory");
	for (i = 0; i < 5000000 && nirq < n; i++)
		asm volatile("pause" : : : "memory");
	asm volatile("cli" : : : "memory");
}

/* Run for a while with interrupts disabled. */
static void guest_spin_sti_off(void)
{
	int i;

	for (i = 0; i < 20000; i++)
		asm volatile("pause" : : : "memory");
}

static void guest_extint(void)
{
	guest_no_eoi = 1;		/* an ExtINT is not in service */
	guest_set_handler(PIC_VEC, irq_handler);
	guest_set_handler(PIC_VEC + 1, irq_handler);
	guest_set_handler(PIC_VEC + 2, irq_handler);

	/* 1: IF clear; the host asks for the window, which STI opens. */
	asm volatile("cli" : : : "memory");
	GUEST_SYNC(1, 0);
	guest_spin_for(1);
	GUEST_SYNC(nirq, last_vector);

	/*
	 * 2: LINT0 masked: not ready, even with IF set.  (Software
	 * disabled, as from RESET, the APIC keeps its LVT entries masked.)
	 */
	xapic_write(APIC_SPIV, APIC_SPIV_ENABLE | SPURIOUS_VEC);
	xapic_write(APIC_LVT0, APIC_LVT_MASKED | APIC_DM_EXTINT);
	asm volatile("sti; nop" : : : "memory");
	GUEST_SYNC(2, 0);
	xapic_write(APIC_LVT0, APIC_DM_EXTINT);

	/* 3: a vector handed over with IF clear waits for STI. */
	asm volatile("cli" : : : "memory");
	GUEST_SYNC(3, 0);
	guest_spin_sti_off();
	GUEST_SYNC(nirq, 0);
	guest_spin_for(2);
	GUEST_SYNC(nirq, last_vector);

	/* 4: halted; the host's signal, KVM_INTERRUPT, KVM_RUN wakes it. */
	asm volatile("sti; hlt; cli" : : : "memory");
	GUEST_SYNC(nirq, last_vector);
}

static void sigusr1(int sig)
{
}

struct kicker {
	pthread_t target;
	uint64_t delay_ns;
};

static void *kick_thread(void *arg)
{
	struct kicker *k = arg;

	sleep_ns(k->delay_ns);
	pthread_kill(k->target, SIGUSR1);
	return NULL;
}

static int vcpu_interrupt(struct vcpu *vcpu, uint32_t vector)
{
	struct kvm_interrupt irq = { .irq = vector };

	return __mkvm_ioctl(vcpu->fd, KVM_INTERRUPT, (unsigned long)&irq);
}

TEST(extint)
{
	struct sigaction sa = { .sa_handler = sigusr1 };
	struct kvm_mp_state mp;
	struct kvm_lapic_state lapic;
	struct kicker k;
	struct vcpu *vcpu;
	struct kvm_run *run;
	struct ucall uc;
	struct vm *vm;
	pthread_t t;

	REQUIRE_CAP(KVM_CAP_SPLIT_IRQCHIP);
	watchdog(30, "the PIC's vectors");
	vm = vm_create_split();
	vcpu = vm_vcpu_add(vm, 0);
	run = vcpu->run;

	/* The BSP's LINT0 takes ExtINT from reset (KVM's LINT0 quirk). */
	ASSERT_EQ(0, __mkvm_ioctl(vcpu->fd, KVM_GET_LAPIC, (unsigned long)&lapic));
	EXPECT_EQ(APIC_DM_EXTINT, lapic_reg(&lapic, APIC_LVT0));
	EXPECT_EQ(-EINVAL, vcpu_interrupt(vcpu, 256));

	vcpu_start_guest(vcpu, guest_extint, 0);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(0, run->if_flag);
	EXPECT_EQ(0, run->ready_for_interrupt_injection);
	run->request_interrupt_window = 1;
	vcpu_run(vcpu);
	vcpu_assert_exit(vcpu, KVM_EXIT_IRQ_WINDOW_OPEN);
	EXPECT_EQ(1, run->if_flag);
	EXPECT_EQ(1, run->ready_for_interrupt_injection);
	run->request_interrupt_window = 0;
	EXPECT_EQ(0, vcpu_interrupt(vcpu, PIC_VEC));
	/* One vector at a time. */
	EXPECT_EQ(-EEXIST, vcpu_interrupt(vcpu, PIC_VEC + 2));
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(1, uc.args[0]);
	EXPECT_EQ(PIC_VEC, uc.args[1]);

	/* LINT0 masked: not ready with IF set. */
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(2, uc.args[0]);
	EXPECT_EQ(1, run->if_flag);
	EXPECT_EQ(0, run->ready_for_interrupt_injection);

	/* Handed over with IF clear: it waits, one at a time, for STI. */
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(3, uc.args[0]);
	EXPECT_EQ(0, run->if_flag);
	EXPECT_EQ(0, run->ready_for_interrupt_injection);
	EXPECT_EQ(0, vcpu_interrupt(vcpu, PIC_VEC + 1));
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(1, uc.args[0]);
	EXPECT_EQ(-EEXIST, vcpu_interrupt(vcpu, PIC_VEC + 2));
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(2, uc.args[0]);
	EXPECT_EQ(PIC_VEC + 1, uc.args[1]);

	/* HLT sleeps in the kernel until a signal ends KVM_RUN. */
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	k.target = pthread_self();
	k.delay_ns = 200 * MS;
	ASSERT_EQ(0, pthread_create(&t, NULL, kick_thread, &k));
	EXPECT_EQ(-EINTR, __vcpu_run(vcpu));
	pthread_join(t, NULL);
	EXPECT_EQ(KVM_EXIT_INTR, run->exit_reason);
	ASSERT_EQ(0, __mkvm_ioctl(vcpu->fd, KVM_GET_MP_STATE, (unsigned long)&mp));
	EXPECT_EQ(KVM_MP_STATE_HALTED, mp.mp_state);
	EXPECT_EQ(1, run->ready_for_interrupt_injection);
	EXPECT_EQ(0, vcpu_interrupt(vcpu, PIC_VEC + 2));
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(3, uc.args[0]);
	EXPECT_EQ(PIC_VEC + 2, uc.args[1]);
	vm_free(vm);
}

/* ---- the I/O APIC's pins as MSI routes, and their EOIs ------------------ */

static void guest_msi_pins(void)
{
	guest_apic_enable();
	GUEST_SYNC(0, 0);
	guest_spin_for(1);
	GUEST_SYNC(nirq, last_vector);
	guest_spin_for(2);
	GUEST_SYNC(nirq, last_vector);
	guest_spin_for(3);
	GUEST_SYNC(nirq, last_vector);
	guest_spin_sti();
	GUEST_SYNC(nirq, last_vector);
}

TEST(level_pin_eoi_exits)
{
	struct kvm_irq_routing_entry e[4] = {
		msi_route(LEVEL_GSI, 0, LEVEL_VEC | IOAPIC_RTE_LEVEL),
		msi_route(EDGE_GSI, 0, EDGE_VEC),
		msi_route(FAR_GSI, 0, FAR_VEC | IOAPIC_RTE_LEVEL),
		/* A level pin of an APIC id nobody has. */
		msi_route(7, 5, (LEVEL_VEC + 8) | IOAPIC_RTE_LEVEL),
	};
	struct vcpu *vcpu;
	struct ucall uc;
	struct vm *vm;
	int32_t st;
	int efd;

	REQUIRE_CAP(KVM_CAP_SPLIT_IRQCHIP);
	watchdog(30, "the split irqchip's MSI pins");
	vm = vm_create_split();
	vcpu = vm_vcpu_add(vm, 0);
	ASSERT_EQ(0, set_msi_routes(vm, e, 4));
	vcpu_start_guest(vcpu, guest_msi_pins, 0);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);

	/* A level pin: its handler's EOI exits first, with its vector. */
	EXPECT_EQ(0, __vm_irq_line_status(vm, LEVEL_GSI, 1, &st));
	EXPECT_EQ(1, st);
	vcpu_run(vcpu);
	vcpu_assert_exit(vcpu, KVM_EXIT_IOAPIC_EOI);
	EXPECT_EQ(LEVEL_VEC, vcpu->run->eoi.vector);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(1, uc.args[0]);
	EXPECT_EQ(LEVEL_VEC, uc.args[1]);
	/* Lowering an MSI route's line does nothing. */
	EXPECT_EQ(0, __vm_irq_line_status(vm, LEVEL_GSI, 0, &st));
	EXPECT_EQ(-1, st);

	/*
	 * An edge pin, raised through an irqfd as a device model would, and
	 * a level route beyond the pins: no EOI exit.
	 */
	efd = eventfd(0, EFD_CLOEXEC);
	ASSERT_LE(0, efd);
	ASSERT_EQ(0, __vm_irqfd(vm, efd, EDGE_GSI, 0, 0));
	efd_write(efd);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(2, uc.args[0]);
	EXPECT_EQ(EDGE_VEC, uc.args[1]);
	EXPECT_EQ(0, __vm_irq_line_status(vm, FAR_GSI, 1, &st));
	EXPECT_EQ(1, st);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(3, uc.args[0]);
	EXPECT_EQ(FAR_VEC, uc.args[1]);

	/* To an APIC id nobody has: delivered nowhere. */
	EXPECT_EQ(0, __vm_irq_line_status(vm, 7, 1, &st));
	EXPECT_EQ(0, st);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(3, uc.args[0]);
	vm_free(vm);
	close(efd);
}

/* With fewer pins, a level route past them is not the I/O APIC's. */
TEST(pins_bound_the_eoi_exits)
{
	struct kvm_irq_routing_entry e = msi_route(LEVEL_GSI, 0,
						   LEVEL_VEC | IOAPIC_RTE_LEVEL);
	struct vcpu *vcpu;
	struct ucall uc;
	struct vm *vm;
	int32_t st;

	REQUIRE_CAP(KVM_CAP_SPLIT_IRQCHIP);
	watchdog(20, "the split irqchip with 4 pins");
	vm = vm_create();
	ASSERT_EQ(0, enable_split(vm->fd, 4, 0));
	vcpu = vm_vcpu_add(vm, 0);
	ASSERT_EQ(0, set_msi_routes(vm, &e, 1));
	vcpu_start_guest(vcpu, guest_msi_pins, 0);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(0, __vm_irq_line_status(vm, LEVEL_GSI, 1, &st));
	EXPECT_EQ(1, st);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(1, uc.args[0]);
	EXPECT_EQ(LEVEL_VEC, uc.args[1]);
	vm_free(vm);
}

TEST_HARNESS_MAIN
