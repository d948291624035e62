// SPDX-License-Identifier: GPL-2.0
/*
 * NMIs: KVM_NMI (KVM_CAP_USER_NMI) with and without the in-kernel
 * irqchip; NMI IPIs, to the sender itself and to another vCPU that waits
 * in HLT with interrupts disabled; NMI blocking from the delivery of an
 * NMI to the IRET that ends its handler (a second NMI waits, nothing
 * nests, and it comes right after the IRET); nmi.pending and nmi.masked
 * in KVM_GET/SET_VCPU_EVENTS, where a mask set by userspace holds until
 * the guest executes an IRET; an NMI that waits behind an interrupt
 * (KVM_INTERRUPT) comes right after its delivery, with nothing of the
 * NMI window's in the interrupt's frame.
 *
 * The guests keep RFLAGS.IF clear throughout: an NMI is not masked by
 * it, and nothing else may reach the handler.  Every test arms a
 * watchdog, so that an NMI that never comes fails instead of hanging.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "lib/apic.h"
#include "lib/irqtest.h"
#include "lib/ucall.h"
#include "lib/x86.h"

#define NMI_VECTOR	2

/* ---- guest side ------------------------------------------------------- */

static volatile uint64_t nnmi, nmi_depth, nmi_max_depth, nmi_vector;
static volatile int nmi_sync_in_handler;	/* once, from the handler */

static void nmi_handler(struct ex_regs *regs)
{
	nmi_depth++;
	if (nmi_depth > nmi_max_depth)
		nmi_max_depth = nmi_depth;
	nmi_vector = regs->vector;
	if (nmi_sync_in_handler) {
		nmi_sync_in_handler = 0;
		/* Still in the handler: NMIs are blocked now. */
		GUEST_SYNC(100 + nnmi, regs->vector);
	}
	nnmi++;
	nmi_depth--;
}

/*
 * Spin with IF clear until @n NMIs came in all, a bounded while: an
 * NMI that is due comes at the next instruction, or after the exit the
 * guest's own action (an ICR write) caused.
 */
static uint64_t guest_wait_nmis(uint64_t n)
{
	int i;

	for (i = 0; i < 100000 && nnmi < n; i++)
		asm volatile("pause" : : : "memory");
	return nnmi;
}

/* An IRET to the next instruction (no NMI handler is running). */
static inline void guest_iret_to_self(void)
{
	asm volatile("sub $128, %%rsp\n\t"	/* spare the red zone */
		     "mov %%rsp, %%rcx\n\t"
		     "mov %%ss, %%eax\n\t"
		     "push %%rax\n\t"
		     "push %%rcx\n\t"
		     "pushfq\n\t"
		     "mov %%cs, %%eax\n\t"
		     "push %%rax\n\t"
		     "lea 1f(%%rip), %%rax\n\t"
		     "push %%rax\n\t"
		     "iretq\n"
		     "1:\n\t"
		     "add $128, %%rsp"
		     : : : "rax", "rcx", "memory");
}

static void guest_nmi_setup(void)
{
	asm volatile("cli" : : : "memory");
	guest_set_handler(NMI_VECTOR, nmi_handler);
}

/* ---- host side -------------------------------------------------------- */

static void get_events(struct vcpu *vcpu, struct kvm_vcpu_events *e)
{
	memset(e, 0, sizeof(*e));
	kvm_ioctl(vcpu->fd, KVM_GET_VCPU_EVENTS, e);
}

static void set_events(struct vcpu *vcpu, struct kvm_vcpu_events *e)
{
	kvm_ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS, e);
}

/* ---- 1. KVM_NMI ------------------------------------------------------- */

static void guest_kvm_nmi(void)
{
	guest_nmi_setup();
	GUEST_SYNC(0, 0);
	guest_wait_nmis(1);
	GUEST_SYNC(nnmi, nmi_vector);
	GUEST_SYNC(nnmi, nmi_max_depth);
}

static void kvm_nmi_once(struct __test_metadata *_metadata, bool irqchip)
{
	struct kvm_vcpu_events e;
	struct vcpu *vcpu;
	struct ucall uc;
	struct vm *vm;

	vm = irqchip ? vm_create_irqchip() : vm_create();
	vcpu = vm_vcpu_add(vm, 0);
	vcpu_start_guest(vcpu, guest_kvm_nmi, 0);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	get_events(vcpu, &e);
	EXPECT_EQ(0, e.nmi.pending);
	EXPECT_EQ(0, e.nmi.masked);

	ASSERT_EQ(0, __mkvm_ioctl(vcpu->fd, KVM_NMI, 0));
	get_events(vcpu, &e);
	EXPECT_EQ(1, e.nmi.pending);
	EXPECT_EQ(0, e.nmi.injected);
	EXPECT_TRUE(e.flags & KVM_VCPUEVENT_VALID_NMI_PENDING);

	/* Taken with IF clear, at once. */
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(1, uc.args[0]);
	EXPECT_EQ(NMI_VECTOR, uc.args[1]);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(1, uc.args[1]);
	get_events(vcpu, &e);
	EXPECT_EQ(0, e.nmi.pending);
	EXPECT_EQ(0, e.nmi.masked);	/* the handler's IRET ran */
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	vm_free(vm);
}

TEST(kvm_nmi)
{
	if (kvm_check_cap(KVM_CAP_USER_NMI) <= 0)
		SKIP(return, "KVM_CHECK_EXTENSION(KVM_CAP_USER_NMI) is 0");
	watchdog(30, "KVM_NMI");
	kvm_nmi_once(_metadata, false);
	if (kvm_check_cap(KVM_CAP_IRQCHIP) > 0)
		kvm_nmi_once(_metadata, true);
}

/* ---- 2. blocked until the IRET ------------------------------------------ */

static void guest_nmi_blocking(void)
{
	guest_nmi_setup();
	nmi_sync_in_handler = 1;
	GUEST_SYNC(0, 0);
	/* The host's second NMI came while the first was being handled. */
	guest_wait_nmis(2);
	GUEST_SYNC(nnmi, nmi_max_depth);
}

TEST(blocked_until_iret)
{
	struct kvm_vcpu_events e;
	struct vcpu *vcpu;
	struct ucall uc;
	struct vm *vm;

	REQUIRE_CAP(KVM_CAP_USER_NMI);
	watchdog(30, "the NMI after the IRET");
	vm = vm_create();
	vcpu = vm_vcpu_add(vm, 0);
	vcpu_start_guest(vcpu, guest_nmi_blocking, 0);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	ASSERT_EQ(0, __mkvm_ioctl(vcpu->fd, KVM_NMI, 0));

	/* In the handler, out to userspace: NMIs are blocked. */
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(100, uc.args[0]);
	EXPECT_EQ(NMI_VECTOR, uc.args[1]);
	get_events(vcpu, &e);
	EXPECT_EQ(1, e.nmi.masked);
	EXPECT_EQ(0, e.nmi.pending);
	EXPECT_EQ(0, e.nmi.injected);

	ASSERT_EQ(0, __mkvm_ioctl(vcpu->fd, KVM_NMI, 0));
	get_events(vcpu, &e);
	EXPECT_EQ(1, e.nmi.masked);
	EXPECT_EQ(1, e.nmi.pending);

	/* The second one waits for the IRET, then comes: no nesting. */
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(2, uc.args[0]);
	EXPECT_EQ(1, uc.args[1]);
	get_events(vcpu, &e);
	EXPECT_EQ(0, e.nmi.masked);
	EXPECT_EQ(0, e.nmi.pending);
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	vm_free(vm);
}

/* ---- 3. KVM_SET_VCPU_EVENTS ------------------------------------------- */

static void guest_events_nmi(void)
{
	uint64_t before;

	guest_nmi_setup();
	GUEST_SYNC(0, 0);
	/* Pending but masked by the host: nothing until an IRET. */
	before = guest_wait_nmis(1);
	guest_iret_to_self();
	GUEST_SYNC(before, guest_wait_nmis(1));
	GUEST_SYNC(nnmi, nmi_max_depth);
}

TEST(vcpu_events)
{
	struct kvm_vcpu_events e;
	struct vcpu *vcpu;
	struct ucall uc;
	struct vm *vm;

	REQUIRE_CAP(KVM_CAP_VCPU_EVENTS);
	watchdog(30, "the NMI set pending");
	vm = vm_create();
	vcpu = vm_vcpu_add(vm, 0);
	vcpu_start_guest(vcpu, guest_events_nmi, 0);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);

	/* Without KVM_VCPUEVENT_VALID_NMI_PENDING, nmi.pending is ignored. */
	get_events(vcpu, &e);
	e.flags = 0;
	e.nmi.pending = 1;
	set_events(vcpu, &e);
	get_events(vcpu, &e);
	EXPECT_EQ(0, e.nmi.pending);
	EXPECT_EQ(0, e.nmi.masked);

	/* The mask is always taken. */
	e.flags = KVM_VCPUEVENT_VALID_NMI_PENDING;
	e.nmi.pending = 1;
	e.nmi.masked = 1;
	set_events(vcpu, &e);
	get_events(vcpu, &e);
	EXPECT_EQ(1, e.nmi.pending);
	EXPECT_EQ(1, e.nmi.masked);
	EXPECT_EQ(0, e.nmi.injected);

	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(0, uc.args[0]);	/* masked: did not come */
	EXPECT_EQ(1, uc.args[1]);	/* came after the IRET */
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(1, uc.args[0]);
	EXPECT_EQ(1, uc.args[1]);
	get_events(vcpu, &e);
	EXPECT_EQ(0, e.nmi.pending);
	EXPECT_EQ(0, e.nmi.masked);
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	vm_free(vm);
}

/* ---- 4. NMI IPIs ------------------------------------------------------ */

/* The vCPUs share the guest's globals: NMIs counted by APIC id. */
static volatile uint64_t nnmi_of[2];

static void nmi_handler_by_id(struct ex_regs *regs)
{
	nnmi_of[(xapic_read(APIC_ID) >> 24) & 1]++;
}

static uint64_t guest_wait_nmis_of(int id, uint64_t n)
{
	int i;

	for (i = 0; i < 100000 && nnmi_of[id] < n; i++)
		asm volatile("pause" : : : "memory");
	return nnmi_of[id];
}

static void guest_nmi_target(void)
{
	int i;

	asm volatile("cli" : : : "memory");
	guest_apic_enable();
	guest_set_handler(NMI_VECTOR, nmi_handler_by_id);
	GUEST_SYNC(1, 0);
	/* HLT with IF clear: only an NMI (or INIT) ends it. */
	for (i = 0; i < 10 && !nnmi_of[1]; i++)
		asm volatile("hlt" : : : "memory");
	GUEST_SYNC(nnmi_of[1], i);
}

static void guest_nmi_sender(uint64_t dest)
{
	asm volatile("cli" : : : "memory");
	guest_apic_enable();
	guest_set_handler(NMI_VECTOR, nmi_handler_by_id);
	xapic_write(APIC_ICR, APIC_DEST_SELF | APIC_DM_NMI);
	GUEST_SYNC(guest_wait_nmis_of(0, 1), nnmi_of[1]);
	xapic_write(APIC_ICR2, dest << 24);
	xapic_write(APIC_ICR, APIC_DM_NMI);
	GUEST_SYNC(nnmi_of[0], xapic_read(APIC_ICR) & APIC_ICR_BUSY);
	GUEST_SYNC(nirq, 0);
}

struct halted_run {
	struct vcpu *vcpu;
	int r;
};

static void *halted_thread(void *arg)
{
	struct halted_run *h = arg;

	h->r = __vcpu_run(h->vcpu);
	return NULL;
}

TEST(ipi)
{
	struct kvm_mp_state runnable = { .mp_state = KVM_MP_STATE_RUNNABLE };
	struct halted_run h = { 0 };
	struct vcpu *bsp, *ap;
	struct ucall uc;
	struct vm *vm;
	pthread_t t;

	REQUIRE_CAP(KVM_CAP_IRQCHIP);
	watchdog(30, "the NMI IPIs");
	vm = vm_create_irqchip();
	bsp = vm_vcpu_add(vm, 0);
	ap = vm_vcpu_add(vm, 1);
	ASSERT_EQ(0, __mkvm_ioctl(ap->fd, KVM_SET_MP_STATE, (unsigned long)&runnable));
	vcpu_start_guest(ap, guest_nmi_target, 0);
	vcpu_run_expect(ap, UCALL_SYNC, &uc);
	vcpu_start_guest(bsp, guest_nmi_sender, 1, 1);

	h.vcpu = ap;
	ASSERT_EQ(0, pthread_create(&t, NULL, halted_thread, &h));
	sleep_ns(200 * MS);
	/* To itself: the other vCPU gets none. */
	vcpu_run_expect(bsp, UCALL_SYNC, &uc);
	EXPECT_EQ(1, uc.args[0]);
	EXPECT_EQ(0, uc.args[1]);
	/* To the halted vCPU: it wakes, with IF clear. */
	vcpu_run_expect(bsp, UCALL_SYNC, &uc);
	EXPECT_EQ(1, uc.args[0]);
	EXPECT_EQ(0, uc.args[1]);		/* delivery status idle */
	vcpu_run_expect(bsp, UCALL_SYNC, &uc);
	EXPECT_EQ(0, uc.args[0]);		/* no interrupt came */
	pthread_join(t, NULL);
	ASSERT_EQ(0, h.r);
	vcpu_assert_exit(ap, KVM_EXIT_IO);
	ASSERT_EQ(UCALL_SYNC, get_ucall(ap, &uc));
	EXPECT_EQ(1, uc.args[0]);
	EXPECT_EQ(1, uc.args[1]);		/* the first HLT woke */
	vm_free(vm);
}

/* ---- 5. an interrupt and an NMI at the same entry ---------------------- */

#define USER_VECTOR	0x40

static volatile uint64_t user_irq_rflags;

static void user_irq_handler(struct ex_regs *regs)
{
	user_irq_rflags = regs->rflags;
	nirq++;
}

/*
 * The interrupt's frames go to a stack of their own (IST2): the NMI may
 * come inside its handler (KVM injects it right after the interrupt's
 * delivery), and its frame on the library's IST1 stack would overwrite
 * the interrupt's.
 */
static void user_vector_on_ist2(struct vm *vm, struct vcpu *vcpu)
{
	uint64_t top = vm_alloc_pages(vm, 2) + 2 * 4096;
	uint64_t *idt = gpa2hva(vm, IDT_GPA);

	memcpy(gpa2hva(vm, vcpu->tss + 0x2c), &top, 8);	/* IST2 */
	idt[2 * USER_VECTOR] = (idt[2 * USER_VECTOR] & ~(7ULL << 32)) |
			       (2ULL << 32);
}

static void guest_irq_and_nmi(uint64_t sti)
{
	long i;

	guest_nmi_setup();
	guest_set_handler(USER_VECTOR, user_irq_handler);
	if (sti)
		asm volatile("sti" : : : "memory");
	GUEST_SYNC(0, 0);
	for (i = 0; i < 10000000 && (nirq < 1 || nnmi < 1); i++)
		asm volatile("pause" : : : "memory");
	asm volatile("cli" : : : "memory");
	GUEST_SYNC(nirq, nnmi);
	GUEST_SYNC(user_irq_rflags, nmi_max_depth);
}

/*
 * KVM_INTERRUPT and KVM_NMI before one KVM_RUN: the interrupt, already
 * in delivery, goes first and the NMI waits for its window.  On SVM that
 * window can be a single step (RFLAGS.TF) of the guest, which must not
 * reach the interrupt's frame: its handler's IRET would bring TF back
 * and the guest would take a #DB of ours.  The NMI comes after the
 * delivery (KVM: at once, inside the interrupt handler; minikvm on SVM:
 * at the guest's next exit, design.rst).  With IF set (SVM:
 * a virtual interrupt) and clear (SVM: EVENTINJ; KVM_INTERRUPT does
 * not look at IF).
 */
static void irq_and_nmi_once(struct __test_metadata *_metadata, bool sti)
{
	struct kvm_interrupt irq = { .irq = USER_VECTOR };
	struct vcpu *vcpu;
	struct ucall uc;
	struct vm *vm;

	vm = vm_create();
	vcpu = vm_vcpu_add(vm, 0);
	vcpu_start_guest(vcpu, guest_irq_and_nmi, 1, sti);
	user_vector_on_ist2(vm, vcpu);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	ASSERT_EQ(0, __mkvm_ioctl(vcpu->fd, KVM_INTERRUPT, (unsigned long)&irq));
	ASSERT_EQ(0, __mkvm_ioctl(vcpu->fd, KVM_NMI, 0));

	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(1, uc.args[0]);		/* one interrupt */
	EXPECT_EQ(1, uc.args[1]);		/* one NMI */
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(0, uc.args[0] & RFLAGS_TF);
	EXPECT_EQ(sti ? RFLAGS_IF : 0, uc.args[0] & RFLAGS_IF);
	EXPECT_EQ(1, uc.args[1]);		/* no NMI nested in an NMI */
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	vm_free(vm);
}

TEST(interrupt_and_nmi_at_one_entry_if_set)
{
	REQUIRE_CAP(KVM_CAP_USER_NMI);
	watchdog(30, "the interrupt and the NMI");
	irq_and_nmi_once(_metadata, true);
}

TEST(interrupt_and_nmi_at_one_entry_if_clear)
{
	REQUIRE_CAP(KVM_CAP_USER_NMI);
	/* A VM entry that injects an external interrupt needs RFLAGS.IF. */
	if (!host_is_amd())
		SKIP(return, "VMX: KVM_INTERRUPT with IF clear fails the VM entry (kvm_intel too)");
	watchdog(30, "the interrupt and the NMI");
	irq_and_nmi_once(_metadata, false);
}

TEST_HARNESS_MAIN
