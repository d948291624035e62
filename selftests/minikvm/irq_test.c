// SPDX-License-Identifier: GPL-2.0
/*
 * Interrupt injection without an in-kernel irqchip, as QEMU's
 * kernel_irqchip=off, NVMM and vmd do it: userspace watches if_flag and
 * ready_for_interrupt_injection in kvm_run, asks for an exit when the
 * guest can take an interrupt (request_interrupt_window ->
 * KVM_EXIT_IRQ_WINDOW_OPEN) and injects with KVM_INTERRUPT; the guest's
 * IDT (64-bit) or IVT (real mode) handler reports the vector.
 */
#define _GNU_SOURCE
#include <stdio.h>

#include "kselftest_harness.h"
#include "lib/ucall.h"
#include "lib/x86.h"

FIXTURE(irq) {
	struct vm *vm;
	struct vcpu *vcpu;
};

FIXTURE_SETUP(irq)
{
	self->vm = vm_create();
	self->vcpu = vm_vcpu_add(self->vm, 0);
}

FIXTURE_TEARDOWN(irq)
{
	vm_free(self->vm);
}

static void inject(struct __test_metadata *_metadata, struct vcpu *vcpu,
		   uint32_t vector)
{
	struct kvm_interrupt irq = { .irq = vector };

	ASSERT_EQ(0, __mkvm_ioctl(vcpu->fd, KVM_INTERRUPT, (unsigned long)&irq));
}

static volatile uint64_t irq_vector, irq_count, irq_rflags;

static void irq_handler(struct ex_regs *regs)
{
	irq_vector = regs->vector;
	irq_rflags = regs->rflags;
	irq_count++;
}

/* Wait (boundedly) for the handler to have run @n times. */
static void wait_irqs(uint64_t n)
{
	long i;

	for (i = 0; i < 10000000 && irq_count < n; i++)
		asm volatile("pause");
}

static void guest_irq(void)
{
	long i;

	guest_set_handler(0x40, irq_handler);
	guest_set_handler(0x41, irq_handler);
	guest_set_handler(0x80, irq_handler);

	/* 1, 2: interrupts disabled, the host asks for the window. */
	asm volatile("cli");
	GUEST_SYNC(1, 0);
	for (i = 0; i < 1000; i++)
		asm volatile("pause");
	GUEST_SYNC(2, 0);

	/* The window opens here: the host injects 0x40. */
	asm volatile("sti; nop");
	wait_irqs(1);
	GUEST_SYNC(3, irq_vector);

	/* 4: window requested while already open: 0x41 right away. */
	wait_irqs(2);
	GUEST_SYNC(4, irq_vector);

	/* 5: HLT with interrupts enabled; 0x80 wakes it up. */
	asm volatile("hlt");
	GUEST_SYNC(5, irq_vector);
	GUEST_SYNC(irq_count, irq_rflags);
}

TEST_F(irq, window_protocol)
{
	struct vcpu *vcpu = self->vcpu;
	struct kvm_run *run = vcpu->run;
	struct ucall uc;

	vcpu_start_guest(vcpu, guest_irq, 0);

	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	ASSERT_EQ(1, uc.args[0]);
	EXPECT_EQ(0, run->if_flag);
	EXPECT_EQ(0, run->ready_for_interrupt_injection);

	/* Requested while IF = 0: no window exit until the guest's STI. */
	run->request_interrupt_window = 1;
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	ASSERT_EQ(2, uc.args[0]);
	EXPECT_EQ(0, run->if_flag);
	EXPECT_EQ(0, run->ready_for_interrupt_injection);

	vcpu_run(vcpu);
	vcpu_assert_exit(vcpu, KVM_EXIT_IRQ_WINDOW_OPEN);
	EXPECT_EQ(1, run->if_flag);
	EXPECT_EQ(1, run->ready_for_interrupt_injection);
	inject(_metadata, vcpu, 0x40);
	run->request_interrupt_window = 0;
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	ASSERT_EQ(3, uc.args[0]);
	EXPECT_EQ(0x40, uc.args[1]);
	EXPECT_EQ(1, run->if_flag);
	EXPECT_EQ(1, run->ready_for_interrupt_injection);

	/* The window is open already: the request exits at once. */
	run->request_interrupt_window = 1;
	vcpu_run(vcpu);
	vcpu_assert_exit(vcpu, KVM_EXIT_IRQ_WINDOW_OPEN);
	EXPECT_EQ(1, run->ready_for_interrupt_injection);
	inject(_metadata, vcpu, 0x41);
	run->request_interrupt_window = 0;
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	ASSERT_EQ(4, uc.args[0]);
	EXPECT_EQ(0x41, uc.args[1]);

	/* HLT exits; an interrupt injected then wakes the guest. */
	vcpu_run(vcpu);
	vcpu_assert_exit(vcpu, KVM_EXIT_HLT);
	EXPECT_EQ(1, run->if_flag);
	EXPECT_EQ(1, run->ready_for_interrupt_injection);
	inject(_metadata, vcpu, 0x80);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	ASSERT_EQ(5, uc.args[0]);
	EXPECT_EQ(0x80, uc.args[1]);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(3, uc.args[0]);			/* each delivered once */
	EXPECT_EQ(RFLAGS_IF, uc.args[1] & RFLAGS_IF);	/* from IF = 1 code */
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
}

TEST_F(irq, bad_vector)
{
	struct kvm_interrupt irq = { .irq = 256 };

	EXPECT_EQ(-EINVAL, __mkvm_ioctl(self->vcpu->fd, KVM_INTERRUPT, (unsigned long)&irq));
	irq.irq = ~0U;
	EXPECT_EQ(-EINVAL, __mkvm_ioctl(self->vcpu->fd, KVM_INTERRUPT, (unsigned long)&irq));
	EXPECT_EQ(-EFAULT, __mkvm_ioctl(self->vcpu->fd, KVM_INTERRUPT, 0));
}

/*
 * Real mode: the interrupt goes through the IVT.  The guest installs a
 * handler for vector 0x30, enables interrupts and halts; the handler
 * reports the vector, the return IP and FLAGS it finds on the stack.
 */
GUEST_ASM(real_irq_guest,
	".code16\n"
	"xor %ax, %ax\n"
	"mov %ax, %es\n"
	"movw $" SNIP_OFF(real_irq_guest, real_irq_handler) ", %es:0x30 * 4\n"
	"movw %cs, %es:0x30 * 4 + 2\n"
	"sti\n"
	"hlt\n"
	".globl real_irq_after_hlt\n"
	"real_irq_after_hlt:\n"
	ASM_UCALL(UCALL_DONE)
	"real_irq_handler:\n"
	"mov %sp, %bp\n"
	"mov $0x30, %edi\n"
	"movzwl (%bp), %esi\n"		/* return IP */
	"movzwl 4(%bp), %edx\n"		/* FLAGS */
	ASM_UCALL(UCALL_SYNC)
	"iret\n");
extern const char real_irq_after_hlt[];

TEST_F(irq, real_mode_ivt)
{
	struct vcpu *vcpu = self->vcpu;
	struct ucall uc;

	vcpu_load_snippet(vcpu, MODE_REAL, real_irq_guest);
	vcpu_run(vcpu);
	vcpu_assert_exit(vcpu, KVM_EXIT_HLT);
	EXPECT_EQ(1, vcpu->run->if_flag);
	EXPECT_EQ(1, vcpu->run->ready_for_interrupt_injection);
	inject(_metadata, vcpu, 0x30);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(0x30, uc.args[0] & 0xffff);
	EXPECT_EQ(real_irq_after_hlt - real_irq_guest_start, uc.args[1] & 0xffff);
	EXPECT_EQ(RFLAGS_IF, uc.args[2] & RFLAGS_IF);
	/* In the handler, IF is clear. */
	EXPECT_EQ(0, vcpu->run->if_flag);
	EXPECT_EQ(0, vcpu->run->ready_for_interrupt_injection);
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	EXPECT_EQ(1, vcpu->run->if_flag);
}

/*
 * The window asked for while it is open already, with a guest that spins
 * without exits until an interrupt comes (a kernel waiting for its timer,
 * as SeaBIOS and Linux do): KVM_RUN returns KVM_EXIT_IRQ_WINDOW_OPEN
 * before the guest runs one instruction of its loop, as on KVM, not when
 * something else makes it exit (a host interrupt, milliseconds later).
 */
GUEST_ASM(spin_irq_guest,
	".code16\n"
	"xor %ax, %ax\n"
	"mov %ax, %es\n"
	"movw $" SNIP_OFF(spin_irq_guest, spin_irq_handler) ", %es:0x32 * 4\n"
	"movw %cs, %es:0x32 * 4 + 2\n"
	"xor %ebx, %ebx\n"
	"xor %cx, %cx\n"
	"sti\n"
	"mov $0x3f0, %dx\n"
	"out %al, %dx\n"
	"1: inc %ebx\n"
	"test %cx, %cx\n"
	"jz 1b\n"
	ASM_UCALL(UCALL_DONE)
	"spin_irq_handler:\n"
	"inc %cx\n"
	"iret\n");

/* spin_irq_guest, run to its OUT just before the loop: IF set, ready. */
static void run_to_spin_loop(struct __test_metadata *_metadata,
			     struct vcpu *vcpu)
{
	vcpu_load_snippet(vcpu, MODE_REAL, spin_irq_guest);
	vcpu_run(vcpu);
	vcpu_assert_exit(vcpu, KVM_EXIT_IO);
	EXPECT_EQ(0x3f0, vcpu->run->io.port);
	EXPECT_EQ(1, vcpu->run->if_flag);
	EXPECT_EQ(1, vcpu->run->ready_for_interrupt_injection);
}

TEST_F(irq, window_open_exits_before_guest_runs)
{
	struct vcpu *vcpu = self->vcpu;
	struct kvm_run *run = vcpu->run;
	struct kvm_regs regs;

	run_to_spin_loop(_metadata, vcpu);
	run->request_interrupt_window = 1;
	vcpu_run(vcpu);
	vcpu_assert_exit(vcpu, KVM_EXIT_IRQ_WINDOW_OPEN);
	EXPECT_EQ(1, run->ready_for_interrupt_injection);
	vcpu_get_regs(vcpu, &regs);
	EXPECT_EQ(0, regs.rbx & 0xffffffff);	/* no turn of the loop */

	inject(_metadata, vcpu, 0x32);
	run->request_interrupt_window = 0;
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	vcpu_get_regs(vcpu, &regs);
	EXPECT_EQ(1, regs.rcx & 0xffff);		/* the handler, once */
	EXPECT_LE(1, regs.rbx & 0xffffffff);
}

/*
 * KVM_INTERRUPT and request_interrupt_window in the same KVM_RUN (QEMU
 * asks for the window when a second interrupt waits behind the one it
 * injects): the first is delivered, its handler runs with IF clear, and
 * the window exit comes once the handler's IRET sets IF again.  On SVM
 * minikvm injects an interrupt as a virtual interrupt (V_IRQ) when no
 * window is wanted, and the window needs V_IRQ too: this is the case
 * where the two meet, and the interrupt must be neither lost nor doubled.
 */
TEST_F(irq, injection_and_window_in_one_run)
{
	struct vcpu *vcpu = self->vcpu;
	struct kvm_run *run = vcpu->run;
	struct kvm_regs regs;

	run_to_spin_loop(_metadata, vcpu);
	inject(_metadata, vcpu, 0x32);
	run->request_interrupt_window = 1;
	vcpu_run(vcpu);
	vcpu_assert_exit(vcpu, KVM_EXIT_IRQ_WINDOW_OPEN);
	EXPECT_EQ(1, run->if_flag);
	EXPECT_EQ(1, run->ready_for_interrupt_injection);
	vcpu_get_regs(vcpu, &regs);
	EXPECT_EQ(1, regs.rcx & 0xffff);	/* the handler ran, once */

	run->request_interrupt_window = 0;
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	vcpu_get_regs(vcpu, &regs);
	EXPECT_EQ(1, regs.rcx & 0xffff);
}

/*
 * An interrupt whose delivery exits: the guest's stack is on a page it
 * never touched, so pushing the interrupt frame takes a nested page
 * fault in the middle of the delivery.  The exit reports the event it
 * interrupted, and the hypervisor must deliver it again once the page is
 * mapped: the handler runs exactly once, with the frame on that stack.
 * Also for vectors below 32, which real-mode guests use for the PIC
 * (SeaBIOS's timer is IRQ 0 at vector 8): an interrupt there is not an
 * exception, so no error code is pushed, whatever the vector's number.
 */
GUEST_ASM(fresh_stack_irq_guest,
	".code16\n"
	"xor %ax, %ax\n"
	"mov %ax, %es\n"
	"movw $" SNIP_OFF(fresh_stack_irq_guest, fresh_stack_handler) ", %es:0x31 * 4\n"
	"movw %cs, %es:0x31 * 4 + 2\n"
	"movw $" SNIP_OFF(fresh_stack_irq_guest, fresh_stack_handler) ", %es:0x08 * 4\n"
	"movw %cs, %es:0x08 * 4 + 2\n"
	"movw $" SNIP_OFF(fresh_stack_irq_guest, fresh_stack_handler) ", %es:0x0e * 4\n"
	"movw %cs, %es:0x0e * 4 + 2\n"
	"mov $0x5000, %ax\n"		/* SS:SP 5000:1000, linear 0x51000 */
	"mov %ax, %ss\n"
	"mov $0x1000, %sp\n"
	"xor %bx, %bx\n"
	"sti\n"
	"hlt\n"
	"mov %sp, %si\n"
	ASM_UCALL(UCALL_DONE)
	"fresh_stack_handler:\n"
	"inc %bx\n"
	"mov %sp, %cx\n"
	"iret\n");

static void fresh_stack_irq(struct __test_metadata *_metadata,
			    uint32_t vector)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	struct kvm_regs regs;

	TH_LOG("vector %#x", vector);
	vcpu_load_snippet(vcpu, MODE_REAL, fresh_stack_irq_guest);
	vcpu_run(vcpu);
	vcpu_assert_exit(vcpu, KVM_EXIT_HLT);
	EXPECT_EQ(1, vcpu->run->ready_for_interrupt_injection);
	inject(_metadata, vcpu, vector);
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	vcpu_get_regs(vcpu, &regs);
	EXPECT_EQ(1, regs.rbx & 0xffff);		/* delivered once */
	EXPECT_EQ(0x1000 - 6, regs.rcx & 0xffff);	/* IP, CS, FLAGS pushed */
	EXPECT_EQ(0x1000, regs.rsi & 0xffff);		/* and popped */
	vm_free(vm);
}

TEST(delivery_interrupted_by_page_fault)
{
	fresh_stack_irq(_metadata, 0x31);
}

/* Vector 8: #DF's number; 14: #PF's, which has an error code. */
TEST(low_vector_delivery_interrupted_by_page_fault)
{
	fresh_stack_irq(_metadata, 0x08);
	fresh_stack_irq(_metadata, 0x0e);
}

/*
 * KVM_INTERRUPT's vector is in delivery from the ioctl on: KVM_GET_SREGS
 * and KVM_GET_VCPU_EVENTS report it, and putting that state back (as
 * QEMU does around a state sync: the vector it finds in interrupt_bitmap
 * goes back in both) leaves one interrupt, delivered once.  QEMU 7.2
 * syncs between KVM_INTERRUPT and the entry when the guest touches the
 * TPR; a second delivery there, inside the first handler with IF clear,
 * deadlocked a Linux guest in its timer interrupt.  As KVM has one slot
 * for it, a second KVM_INTERRUPT replaces the first.
 */
TEST_F(irq, queued_vector_survives_state_round_trip)
{
	struct vcpu *vcpu = self->vcpu;
	struct kvm_vcpu_events ev;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	int i, vec = -1;

	vcpu_load_snippet(vcpu, MODE_REAL, fresh_stack_irq_guest);
	vcpu_run(vcpu);
	vcpu_assert_exit(vcpu, KVM_EXIT_HLT);
	/* A second KVM_INTERRUPT replaces the first (no IVT entry 0x30). */
	inject(_metadata, vcpu, 0x30);
	inject(_metadata, vcpu, 0x31);

	/* KVM_RUN with immediate_exit: back at once, nothing delivered. */
	vcpu->run->immediate_exit = 1;
	EXPECT_EQ(-EINTR, __mkvm_ioctl(vcpu->fd, KVM_RUN, 0));
	vcpu->run->immediate_exit = 0;

	kvm_ioctl(vcpu->fd, KVM_GET_VCPU_EVENTS, &ev);
	EXPECT_EQ(1, ev.interrupt.injected);
	EXPECT_EQ(0x31, ev.interrupt.nr);
	kvm_ioctl(vcpu->fd, KVM_GET_SREGS, &sregs);
	for (i = 0; i < 256; i++) {
		if (sregs.interrupt_bitmap[i / 64] & (1ULL << (i % 64))) {
			EXPECT_EQ(-1, vec);	/* one bit at most */
			vec = i;
		}
	}
	EXPECT_EQ(0x31, vec);

	/* Put back as QEMU does: SREGS, then the events. */
	ev.interrupt.injected = vec >= 0;
	ev.interrupt.nr = vec;
	kvm_ioctl(vcpu->fd, KVM_SET_SREGS, &sregs);
	kvm_ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS, &ev);

	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	vcpu_get_regs(vcpu, &regs);
	EXPECT_EQ(1, regs.rbx & 0xffff);		/* delivered once */
	kvm_ioctl(vcpu->fd, KVM_GET_VCPU_EVENTS, &ev);
	EXPECT_EQ(0, ev.interrupt.injected);
}

TEST_HARNESS_MAIN
