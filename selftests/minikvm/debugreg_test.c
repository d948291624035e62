// SPDX-License-Identifier: GPL-2.0
/*
 * Debug registers: KVM_GET/SET_DEBUGREGS and the guest's MOV to and from
 * DR0-DR7.  What the host sets is what the guest reads and the other way
 * round; DR6/DR7 keep their fixed bits; DR4/DR5 are DR6/DR7 unless
 * CR4.DE is set (then #UD); bits 63:32 of DR6/DR7 are #GP for the guest
 * and EINVAL for the host.  The host's own hardware breakpoints stay the
 * host's: the guest never reads their addresses, and they still fire
 * after a guest that armed breakpoints of its own.  Instructions the
 * hypervisor completes for the guest raise the single-step trap under
 * RFLAGS.TF; a #DB it delivers clears DR7.GD, a fault sets RF.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/hw_breakpoint.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "lib/ucall.h"
#include "lib/x86.h"

#define DB_VECTOR	1
#define CR4_DE		(1UL << 3)
#define DR6_INIT	0xffff0ff0ULL
#define DR7_INIT	0x400ULL
#define DR7_GD		(1ULL << 13)
#define DR6_BD		(1ULL << 13)
#define DR6_BS		(1ULL << 14)
#define RFLAGS_RF	(1ULL << 16)
#define NO_VECTOR	0xff

static volatile uint64_t fault_vector;

/* Every MOV to or from a DR here is 3 bytes: 0f 21/23 modrm, on RAX. */
static void skip_handler(struct ex_regs *regs)
{
	fault_vector = regs->vector;
	regs->rip += 3;
}

#define GET_DR(n) ({ uint64_t __v; asm volatile("mov %%dr" #n ", %0" : "=a"(__v)); __v; })
#define SET_DR(n, v) asm volatile("mov %0, %%dr" #n : : "a"((uint64_t)(v)) : "memory")

/* The four values of a GUEST_SYNC4 (or of DR0-3) are @a, @b, @c, @d. */
#define EXPECT_FOUR(v, a, b, c, d) do {					\
	EXPECT_EQ(a, (v)[0]);						\
	EXPECT_EQ(b, (v)[1]);						\
	EXPECT_EQ(c, (v)[2]);						\
	EXPECT_EQ(d, (v)[3]);						\
} while (0)

static void get_dbg(struct vcpu *vcpu, struct kvm_debugregs *d)
{
	memset(d, 0xcc, sizeof(*d));
	TEST_ASSERT(!ioctl(vcpu->fd, KVM_GET_DEBUGREGS, d),
		    "KVM_GET_DEBUGREGS: %s", strerror(errno));
}

static void set_dbg(struct vcpu *vcpu, const struct kvm_debugregs *d)
{
	TEST_ASSERT(!ioctl(vcpu->fd, KVM_SET_DEBUGREGS, d),
		    "KVM_SET_DEBUGREGS: %s", strerror(errno));
}

TEST(capability)
{
	EXPECT_EQ(1, kvm_check_cap(KVM_CAP_DEBUGREGS));
}

/* A new vCPU: DR0-3 zero, DR6 and DR7 at their reset values. */
TEST(reset_and_roundtrip)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	struct kvm_debugregs d, back;
	int i;

	get_dbg(vcpu, &d);
	for (i = 0; i < 4; i++)
		EXPECT_EQ(0, d.db[i]);
	EXPECT_EQ(DR6_INIT, d.dr6);
	EXPECT_EQ(DR7_INIT, d.dr7);
	EXPECT_EQ(0, d.flags);

	memset(&d, 0, sizeof(d));
	d.db[0] = 0x1000;
	d.db[1] = 0xffffffff80000000ULL;
	d.db[2] = 0x7fffffffe000ULL;
	d.db[3] = 3;
	d.dr6 = DR6_INIT | 0x4003;	/* B0, B1, BS */
	d.dr7 = DR7_INIT | 0x00f30000;	/* breakpoint 0: RW/LEN, not enabled */
	set_dbg(vcpu, &d);
	get_dbg(vcpu, &back);
	for (i = 0; i < 4; i++)
		EXPECT_EQ(d.db[i], back.db[i]) TH_LOG("DR%d", i);
	EXPECT_EQ(d.dr6, back.dr6);
	EXPECT_EQ(d.dr7, back.dr7);
	vm_free(vm);
}

/* Flags, bits 63:32 of DR6 or DR7, a bad pointer: refused, nothing changed. */
TEST(bad_values)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	struct kvm_debugregs good, d, back;

	memset(&good, 0, sizeof(good));
	good.db[0] = 0x1234;
	good.dr6 = DR6_INIT;
	good.dr7 = DR7_INIT;
	set_dbg(vcpu, &good);

	d = good;
	d.flags = 1;
	d.db[0] = 0x5678;
	EXPECT_EQ(-1, ioctl(vcpu->fd, KVM_SET_DEBUGREGS, &d));
	EXPECT_EQ(EINVAL, errno);
	d = good;
	d.dr6 |= 1ULL << 32;
	EXPECT_EQ(-1, ioctl(vcpu->fd, KVM_SET_DEBUGREGS, &d));
	EXPECT_EQ(EINVAL, errno);
	d = good;
	d.dr7 |= 1ULL << 63;
	EXPECT_EQ(-1, ioctl(vcpu->fd, KVM_SET_DEBUGREGS, &d));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(vcpu->fd, KVM_SET_DEBUGREGS, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(vcpu->fd, KVM_GET_DEBUGREGS, (void *)8));
	EXPECT_EQ(EFAULT, errno);

	get_dbg(vcpu, &back);
	EXPECT_EQ(0x1234, back.db[0]);
	EXPECT_EQ(DR6_INIT, back.dr6);
	EXPECT_EQ(DR7_INIT, back.dr7);
	vm_free(vm);
}

/*
 * The guest reads what the host set, writes its own, and the host reads
 * those back; DR6's fixed bits; DR4/DR5 as DR6/DR7; bits 63:32 #GP.
 */
static void guest_dr_roundtrip(void)
{
	guest_set_handler(GP_VECTOR, skip_handler);

	GUEST_SYNC4(GET_DR(0), GET_DR(1), GET_DR(2), GET_DR(3));
	GUEST_SYNC(GET_DR(6), GET_DR(7));

	SET_DR(0, 0x11111000);
	SET_DR(1, 0x22222000);
	SET_DR(2, 0x33333000);
	SET_DR(3, 0x44444000);
	/* Breakpoint 0 armed (execute, at an address never run). */
	SET_DR(7, DR7_INIT | 1);
	GUEST_SYNC4(GET_DR(0), GET_DR(1), GET_DR(2), GET_DR(3));
	GUEST_SYNC(GET_DR(6), GET_DR(7));

	SET_DR(6, 0);
	GUEST_ASSERT_EQ(GET_DR(6), DR6_INIT);
	SET_DR(6, 0xf);
	GUEST_ASSERT_EQ(GET_DR(6), DR6_INIT | 0xf);
	/* DR4/DR5 are DR6/DR7 with CR4.DE clear. */
	GUEST_ASSERT_EQ(GET_DR(4), DR6_INIT | 0xf);
	SET_DR(5, DR7_INIT);
	GUEST_ASSERT_EQ(GET_DR(7), DR7_INIT);
	GUEST_ASSERT_EQ(GET_DR(5), DR7_INIT);

	fault_vector = NO_VECTOR;
	SET_DR(7, (1ULL << 32) | DR7_INIT | 2);
	GUEST_ASSERT_EQ(fault_vector, GP_VECTOR);
	fault_vector = NO_VECTOR;
	SET_DR(6, 1ULL << 40);
	GUEST_ASSERT_EQ(fault_vector, GP_VECTOR);
	GUEST_ASSERT_EQ(GET_DR(7), DR7_INIT);
	GUEST_ASSERT_EQ(GET_DR(6), DR6_INIT | 0xf);
	SET_DR(7, DR7_INIT | 0x00010002);	/* breakpoint 0: write, global */
	GUEST_SYNC(GET_DR(6), GET_DR(7));
	/*
	 * Disarmed before the end: on KVM these MOVs reach the rig's CPU,
	 * QEMU's SVM model, where armed breakpoints outlive the guest.
	 */
	SET_DR(7, DR7_INIT);
}

TEST(guest_mov_dr)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	struct kvm_debugregs d;
	struct ucall uc;

	memset(&d, 0, sizeof(d));
	d.db[0] = 0xa000;
	d.db[1] = 0xb000;
	d.db[2] = 0xc000;
	d.db[3] = 0xd000;
	d.dr6 = DR6_INIT | 1;
	d.dr7 = DR7_INIT;
	set_dbg(vcpu, &d);

	vcpu_start_guest(vcpu, guest_dr_roundtrip, 0);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_FOUR(uc.args, 0xa000, 0xb000, 0xc000, 0xd000);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(DR6_INIT | 1, uc.args[0]);
	EXPECT_EQ(DR7_INIT, uc.args[1]);

	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_FOUR(uc.args, 0x11111000, 0x22222000, 0x33333000, 0x44444000);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(DR7_INIT | 1, uc.args[1]);
	get_dbg(vcpu, &d);
	EXPECT_FOUR(d.db, 0x11111000, 0x22222000, 0x33333000, 0x44444000);
	EXPECT_EQ(DR7_INIT | 1, d.dr7);

	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(DR6_INIT | 0xf, uc.args[0]);
	EXPECT_EQ(DR7_INIT | 0x00010002, uc.args[1]);
	get_dbg(vcpu, &d);
	EXPECT_EQ(DR6_INIT | 0xf, d.dr6);
	EXPECT_EQ(DR7_INIT | 0x00010002, d.dr7);
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	vm_free(vm);
}

/* With CR4.DE, DR4 and DR5 do not exist: #UD, for reads and writes. */
static void guest_cr4_de(void)
{
	uint64_t cr4;

	guest_set_handler(UD_VECTOR, skip_handler);
	asm volatile("mov %%cr4, %0" : "=r"(cr4));
	asm volatile("mov %0, %%cr4" : : "r"(cr4 | CR4_DE) : "memory");
	fault_vector = NO_VECTOR;
	(void)GET_DR(4);
	GUEST_ASSERT_EQ(fault_vector, UD_VECTOR);
	fault_vector = NO_VECTOR;
	SET_DR(5, DR7_INIT);
	GUEST_ASSERT_EQ(fault_vector, UD_VECTOR);
	fault_vector = NO_VECTOR;
	GUEST_ASSERT_EQ(GET_DR(7), DR7_INIT);
	GUEST_ASSERT_EQ(fault_vector, NO_VECTOR);
}

TEST(cr4_de_dr4_dr5_ud)
{
	run_guest_to_done(guest_cr4_de);
}

/*
 * DR7.GD: the next MOV DR raises #DB before it executes, with DR6.BD set
 * and GD cleared for the handler.
 */
static volatile uint64_t db_dr6, db_dr7, db_rip;

static void db_handler(struct ex_regs *regs)
{
	fault_vector = regs->vector;
	db_rip = regs->rip;
	db_dr6 = GET_DR(6);
	db_dr7 = GET_DR(7);
	regs->rip += 3;
}

static void guest_gd(void)
{
	uint64_t rip;

	guest_set_handler(DB_VECTOR, db_handler);
	SET_DR(6, 0);
	SET_DR(7, DR7_INIT | DR7_GD);
	fault_vector = NO_VECTOR;
	asm volatile("lea 1f(%%rip), %0\n\t"
		     "1: mov %%dr0, %%rax" : "=&r"(rip) : : "rax", "memory");
	GUEST_SYNC4(fault_vector, db_rip == rip, db_dr6, db_dr7);
}

TEST(dr7_general_detect)
{
	struct vm *vm;
	struct vcpu *vcpu;
	struct ucall uc;

	/*
	 * KVM lets the guest reach the CPU's debug registers after its
	 * first access, and the rig's CPU (QEMU's model) has no DR7.GD.
	 */
	if (mkvm_is_kvm())
		SKIP(return, "DR7.GD is the CPU's on KVM (QEMU does not model it)");
	vm = vm_create();
	vcpu = vm_vcpu_add(vm, 0);
	vcpu_start_guest(vcpu, guest_gd, 0);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(DB_VECTOR, uc.args[0]);
	EXPECT_EQ(1, uc.args[1]) TH_LOG("#DB not at the MOV");
	EXPECT_EQ(DR6_BD, uc.args[2] & DR6_BD);
	EXPECT_EQ(0, uc.args[3] & DR7_GD);
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	vm_free(vm);
}

/*
 * RFLAGS.TF over instructions the hypervisor completes for the guest:
 * the single-step #DB comes right after each, with DR6.BS, as after one
 * the CPU ran (KVM: kvm_skip_emulated_instruction() and its emulator).
 * A CPUID (skipped in the kernel), a NOP (the CPU's own trap, which the
 * hypervisor reflects), an OUT that exits to userspace, an MMIO load
 * (the trap once KVM_RUN completes it with what userspace gave), and
 * the POPF that clears TF; an IN through userspace on its own.
 *
 * The MMIO load runs once before TF is set, so that the one under TF
 * takes no EPT violation on its page walk: under Bochs, an instruction
 * under TF that faults into the hypervisor and is retried gets a #DB
 * at its own address on the retry, with kvm_intel as with minikvm
 * (testing.rst, "Bochs").
 */
#define STEP_PORT	0x99
#define STEP_TRAPS	7

static volatile uint64_t step_rip[STEP_TRAPS + 1], step_dr6[STEP_TRAPS + 1];
static volatile uint64_t steps;

static void step_handler(struct ex_regs *regs)
{
	if (steps <= STEP_TRAPS) {
		step_rip[steps] = regs->rip;
		step_dr6[steps] = GET_DR(6);
	}
	steps++;
	SET_DR(6, DR6_INIT);	/* BS is sticky: each trap must set it */
}

#define TF_ON	"pushf\n\t orq $0x100, (%%rsp)\n\t popf\n\t"
/* Three instructions and three traps: after each, the last as TF goes. */
#define TF_OFF	"pushf\n" "5: andq $~0x100, (%%rsp)\n" "6: popf\n" "7:"

/* The traps' count, then each: its number, at[] hit, DR6.BS, its RIP. */
static void guest_report_steps(const uint64_t *at, unsigned int n)
{
	unsigned int i;

	GUEST_SYNC(steps, 0);
	for (i = 0; i < n; i++)
		GUEST_SYNC4(i, step_rip[i] == at[i], step_dr6[i] & DR6_BS,
			    step_rip[i]);
}

static void guest_single_step(void)
{
	uint64_t at[STEP_TRAPS];

	guest_set_handler(DB_VECTOR, step_handler);
	SET_DR(6, DR6_INIT);
	steps = 0;
	asm volatile("lea 1f(%%rip), %%rax\n\t mov %%rax, 0(%[at])\n\t"
		     "lea 2f(%%rip), %%rax\n\t mov %%rax, 8(%[at])\n\t"
		     "lea 3f(%%rip), %%rax\n\t mov %%rax, 16(%[at])\n\t"
		     "lea 4f(%%rip), %%rax\n\t mov %%rax, 24(%[at])\n\t"
		     "lea 5f(%%rip), %%rax\n\t mov %%rax, 32(%[at])\n\t"
		     "lea 6f(%%rip), %%rax\n\t mov %%rax, 40(%[at])\n\t"
		     "lea 7f(%%rip), %%rax\n\t mov %%rax, 48(%[at])\n\t"
		     "mov (%[mmio]), %%ecx\n\t"
		     "xor %%eax, %%eax\n\t"
		     TF_ON
		     "cpuid\n"
		     "1: nop\n"
		     "2: out %%al, $" STR(STEP_PORT) "\n"
		     "3: mov (%[mmio]), %%ecx\n"
		     "4: " TF_OFF
		     : : [at] "r"(at), [mmio] "D"(MMIO_GPA)
		     : "rax", "rbx", "rcx", "rdx", "memory", "cc");
	guest_report_steps(at, STEP_TRAPS);
}

static void expect_steps(struct __test_metadata *_metadata, struct vcpu *vcpu,
			 unsigned int n)
{
	struct ucall uc;
	unsigned int i;

	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(n, uc.args[0]) TH_LOG("single-step traps");
	for (i = 0; i < n; i++) {
		vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
		ASSERT_EQ(i, uc.args[0]);
		EXPECT_EQ(1, uc.args[1])
			TH_LOG("trap %u at %#llx, not after the instruction", i,
			       (unsigned long long)uc.args[3]);
		EXPECT_EQ(DR6_BS, uc.args[2]) TH_LOG("trap %u without DR6.BS", i);
	}
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
}

TEST(single_step_over_completed_instructions)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	struct kvm_run *run = vcpu->run;

	vcpu_start_guest(vcpu, guest_single_step, 0);
	vcpu_run(vcpu);
	vcpu_assert_exit(vcpu, KVM_EXIT_MMIO);
	ASSERT_EQ(MMIO_GPA, run->mmio.phys_addr);
	vcpu_run(vcpu);
	vcpu_assert_exit(vcpu, KVM_EXIT_IO);
	ASSERT_EQ(STEP_PORT, run->io.port);
	ASSERT_EQ(KVM_EXIT_IO_OUT, run->io.direction);
	vcpu_run(vcpu);
	vcpu_assert_exit(vcpu, KVM_EXIT_MMIO);
	ASSERT_EQ(MMIO_GPA, run->mmio.phys_addr);
	ASSERT_EQ(0, run->mmio.is_write);
	memset(run->mmio.data, 0xa5, sizeof(run->mmio.data));
	expect_steps(_metadata, vcpu, STEP_TRAPS);
	vm_free(vm);
}

static void guest_single_step_in(void)
{
	uint64_t at[4];

	guest_set_handler(DB_VECTOR, step_handler);
	SET_DR(6, DR6_INIT);
	steps = 0;
	asm volatile("lea 4f(%%rip), %%rax\n\t mov %%rax, 0(%[at])\n\t"
		     "lea 5f(%%rip), %%rax\n\t mov %%rax, 8(%[at])\n\t"
		     "lea 6f(%%rip), %%rax\n\t mov %%rax, 16(%[at])\n\t"
		     "lea 7f(%%rip), %%rax\n\t mov %%rax, 24(%[at])\n\t"
		     TF_ON
		     "in $" STR(STEP_PORT) ", %%al\n"
		     "4: " TF_OFF
		     : : [at] "r"(at) : "rax", "memory", "cc");
	guest_report_steps(at, 4);
}

TEST(single_step_over_an_in_through_userspace)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	struct kvm_run *run = vcpu->run;

	vcpu_start_guest(vcpu, guest_single_step_in, 0);
	vcpu_run(vcpu);
	vcpu_assert_exit(vcpu, KVM_EXIT_IO);
	ASSERT_EQ(STEP_PORT, run->io.port);
	ASSERT_EQ(KVM_EXIT_IO_IN, run->io.direction);
	*((uint8_t *)run + run->io.data_offset) = 0x5a;
	expect_steps(_metadata, vcpu, 4);
	vm_free(vm);
}

/*
 * A #DB the hypervisor delivers (the single step over a CPUID) clears
 * DR7.GD, as the CPU does, so that the handler can read DR6 and DR7.
 * minikvm only: on KVM the rig's CPU (QEMU's model) has no DR7.GD.
 */
static void step_gd_handler(struct ex_regs *regs)
{
	fault_vector = regs->vector;
	db_dr6 = GET_DR(6);
	db_dr7 = GET_DR(7);
	regs->rflags &= ~0x100ULL;	/* one step */
}

static void guest_step_gd(void)
{
	guest_set_handler(DB_VECTOR, step_gd_handler);
	SET_DR(6, 0);
	SET_DR(7, DR7_INIT | DR7_GD);
	fault_vector = NO_VECTOR;
	asm volatile("xor %%eax, %%eax\n\t"
		     "pushf\n\t orq $0x100, (%%rsp)\n\t popf\n\t"
		     "cpuid\n\t"
		     "nop"
		     : : : "rax", "rbx", "rcx", "rdx", "memory", "cc");
	GUEST_SYNC4(fault_vector, db_dr6, db_dr7, 0);
}

TEST(single_step_trap_clears_dr7_gd)
{
	struct vm *vm;
	struct vcpu *vcpu;
	struct ucall uc;

	if (mkvm_is_kvm())
		SKIP(return, "DR7.GD is the CPU's on KVM (QEMU does not model it)");
	vm = vm_create();
	vcpu = vm_vcpu_add(vm, 0);
	vcpu_start_guest(vcpu, guest_step_gd, 0);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(DB_VECTOR, uc.args[0]);
	EXPECT_EQ(DR6_BS, uc.args[1] & (DR6_BS | DR6_BD))
		TH_LOG("DR6 %#llx: not the step's", (unsigned long long)uc.args[1]);
	EXPECT_EQ(0, uc.args[2] & DR7_GD) TH_LOG("DR7.GD left set");
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	vm_free(vm);
}

/*
 * A fault the hypervisor delivers (#UD, which both intercept) pushes
 * RFLAGS with RF set, as the CPU does for faults, so that an instruction
 * breakpoint on the faulting instruction does not fire again when the
 * handler returns to it.
 */
static volatile uint64_t ud_rflags;

static void ud_rf_handler(struct ex_regs *regs)
{
	ud_rflags = regs->rflags;
	regs->rip += 2;
}

static void guest_ud_rf(void)
{
	guest_set_handler(UD_VECTOR, ud_rf_handler);
	asm volatile("ud2" ::: "memory");
	GUEST_SYNC(ud_rflags, 0);
}

TEST(fault_pushes_rf)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	struct ucall uc;

	vcpu_start_guest(vcpu, guest_ud_rf, 0);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(RFLAGS_RF, uc.args[0] & RFLAGS_RF);
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	vm_free(vm);
}

/*
 * The host's hardware breakpoints: a perf watchpoint on a variable of this
 * thread (far from every guest address: the guest maps low memory only).
 * -1 if the host has none to give.
 */
static int host_watchpoint(volatile uint64_t **watched)
{
	struct perf_event_attr attr;
	uint64_t count = 0;
	int pfd;

	*watched = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(*watched != MAP_FAILED, "mmap: %s", strerror(errno));
	memset(&attr, 0, sizeof(attr));
	attr.type = PERF_TYPE_BREAKPOINT;
	attr.size = sizeof(attr);
	attr.bp_type = HW_BREAKPOINT_W;
	attr.bp_addr = (uintptr_t)*watched;
	attr.bp_len = HW_BREAKPOINT_LEN_8;
	attr.exclude_kernel = 1;
	attr.exclude_hv = 1;
	pfd = syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
	if (pfd < 0)
		return -1;
	**watched = 1;
	TEST_ASSERT(read(pfd, &count, sizeof(count)) == sizeof(count) && count == 1,
		    "the watchpoint does not work before any guest");
	return pfd;
}

static uint64_t watch_count(int pfd)
{
	uint64_t count = 0;

	TEST_ASSERT(read(pfd, &count, sizeof(count)) == sizeof(count),
		    "read of the perf counter: %s", strerror(errno));
	return count;
}

/* The guest sees its own DR0-3 and DR7, never the host's. */
static void guest_read_drs(void)
{
	GUEST_SYNC4(GET_DR(0), GET_DR(1), GET_DR(2), GET_DR(3));
	GUEST_SYNC(GET_DR(7), 0);
}

TEST(host_breakpoints_invisible)
{
	volatile uint64_t *watched;
	struct vcpu *vcpu;
	struct ucall uc;
	struct vm *vm;
	int pfd;

	pfd = host_watchpoint(&watched);
	if (pfd < 0)
		SKIP(return, "no hardware breakpoints here: %s", strerror(errno));
	vm = vm_create();
	vcpu = vm_vcpu_add(vm, 0);
	vcpu_start_guest(vcpu, guest_read_drs, 0);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_FOUR(uc.args, 0, 0, 0, 0);	/* not the host's DR0 */
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(DR7_INIT, uc.args[0]) TH_LOG("the guest reads the host's DR7");
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	*watched = 2;
	EXPECT_EQ(2, watch_count(pfd)) TH_LOG("the host's watchpoint is lost");
	vm_free(vm);
	close(pfd);
	munmap((void *)watched, 4096);
}

/* A guest that arms all four breakpoints of its own, then exits. */
static void guest_arm_drs(void)
{
	SET_DR(0, 0x5000);
	SET_DR(1, 0x6000);
	SET_DR(2, 0x7000);
	SET_DR(3, 0x8000);
	SET_DR(7, DR7_INIT | 0xff);	/* execute, never reached */
	GUEST_SYNC(GET_DR(7), GET_DR(0));
}

TEST(host_breakpoints_survive_guest_breakpoints)
{
	volatile uint64_t *watched;
	struct vcpu *vcpu;
	struct ucall uc;
	struct vm *vm;
	int pfd, i;

	/*
	 * On KVM the guest's MOV to DR7 reaches the CPU, and in the rig's
	 * CPU (QEMU's model of SVM) breakpoints a nested guest arms outlive
	 * its #VMEXIT: with a host watchpoint as well, QEMU crashes.  minikvm
	 * emulates the guest's MOV DR, so QEMU never sees them.
	 */
	if (mkvm_is_kvm())
		SKIP(return, "crashes the rig's QEMU on KVM (guest DR7 reaches QEMU's CPU)");
	pfd = host_watchpoint(&watched);
	if (pfd < 0)
		SKIP(return, "no hardware breakpoints here: %s", strerror(errno));
	vm = vm_create();
	vcpu = vm_vcpu_add(vm, 0);
	for (i = 0; i < 10; i++) {
		vcpu_start_guest(vcpu, guest_arm_drs, 0);
		vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
		EXPECT_EQ(DR7_INIT | 0xff, uc.args[0]);
		EXPECT_EQ(0x5000, uc.args[1]);
		vcpu_run_expect(vcpu, UCALL_DONE, NULL);
		*watched = 2 + i;
		EXPECT_EQ(2 + i, watch_count(pfd))
			TH_LOG("the host's watchpoint is lost after guest run %d", i);
	}
	vm_free(vm);
	close(pfd);
	munmap((void *)watched, 4096);
}

TEST_HARNESS_MAIN
