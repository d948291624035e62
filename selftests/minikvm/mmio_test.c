// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_EXIT_MMIO: guest accesses to guest-physical addresses with no slot,
 * and writes to read-only slots, exit to userspace with the address, the
 * length and the direction.  Stores carry the data; loads complete with
 * the data userspace leaves in run->mmio.data, which must reach the
 * instruction's destination register with the instruction's semantics
 * (partial registers, zero and sign extension).
 *
 * Each access in the guest code is followed by HLT, so the host sees the
 * MMIO exit, then a HLT exit at which it checks the registers.
 *
 * String moves between MMIO and memory are emulated, and their memory
 * operand must be checked as the CPU would: a CPL 3 guest cannot move
 * device data into a supervisor page, nor a supervisor page to a device,
 * and SMAP holds at CPL 0 (string_fault.h).
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdio.h>

#include "kselftest_harness.h"
#include "lib/ucall.h"
#include "lib/x86.h"
#include "string_fault.h"

FIXTURE(mmio) {
	struct vm *vm;
	struct vcpu *vcpu;
};

FIXTURE_SETUP(mmio)
{
	self->vm = vm_create();
	self->vcpu = vm_vcpu_add(self->vm, 0);
}

FIXTURE_TEARDOWN(mmio)
{
	vm_free(self->vm);
}

#define REG(r) offsetof(struct kvm_regs, r)

/* One MMIO access and the register it leaves behind. */
struct mmio_step {
	const char *insn;
	uint64_t off;		/* from MMIO_GPA */
	uint32_t len;
	bool write;
	uint64_t data;		/* supplied for a load, expected for a store */
	size_t reg;		/* the register to check at the next HLT */
	uint64_t value;		/* its expected value */
};

/*
 * Each step runs to its MMIO exit, completes it, runs to the HLT after
 * the instruction and checks one register.
 */
static void run_steps(struct vcpu *vcpu, uint64_t base,
		      const struct mmio_step *steps, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		const struct mmio_step *s = &steps[i];
		struct kvm_regs regs;
		uint8_t *data;
		uint64_t got;

		vcpu_run(vcpu);
		if (vcpu->run->exit_reason != KVM_EXIT_MMIO)
			test_log("step %u: %s", i, s->insn);
		data = vcpu_assert_mmio(vcpu, base + s->off, s->len, s->write);
		if (s->write)
			TEST_ASSERT(get_le(data, s->len) == s->data,
				    "%s: stored %#llx, expected %#llx", s->insn,
				    (unsigned long long)get_le(data, s->len),
				    (unsigned long long)s->data);
		else
			put_le(data, s->data, s->len);

		vcpu_run(vcpu);
		if (vcpu->run->exit_reason != KVM_EXIT_HLT)
			test_log("step %u: %s", i, s->insn);
		vcpu_assert_exit(vcpu, KVM_EXIT_HLT);
		vcpu_get_regs(vcpu, &regs);
		memcpy(&got, (char *)&regs + s->reg, 8);
		TEST_ASSERT(got == s->value, "%s: register is %#llx, expected %#llx",
			    s->insn, (unsigned long long)got,
			    (unsigned long long)s->value);
	}
}

/* 64-bit: RBX = MMIO_GPA, R8 = a store pattern, R14 = 5 (an index). */
GUEST_ASM(mmio64_guest,
	".code64\n"
	"movb (%rbx), %al\n hlt\n"
	"movw 2(%rbx), %cx\n hlt\n"
	"movl 4(%rbx), %edx\n hlt\n"
	"movq 8(%rbx), %rsi\n hlt\n"
	"movb 1(%rbx), %ah\n hlt\n"
	"movb 0x10(%rbx), %r9b\n hlt\n"
	"movzbl 0x11(%rbx), %edi\n hlt\n"
	"movzwq 0x12(%rbx), %r10\n hlt\n"
	"movsbq 0x14(%rbx), %r11\n hlt\n"
	"movswl 0x16(%rbx), %r12d\n hlt\n"
	"movslq 0x18(%rbx), %r13\n hlt\n"
	"movabs " MMIO_GPA_S " + 0x20, %eax\n hlt\n"
	"mov (%rbx,%r14,8), %r15\n hlt\n"
	"movb %r8b, 0x30(%rbx)\n hlt\n"
	"movw %r8w, 0x32(%rbx)\n hlt\n"
	"movl %r8d, 0x34(%rbx)\n hlt\n"
	"movq %r8, 0x38(%rbx)\n hlt\n"
	"movb $0x7f, 0x40(%rbx)\n hlt\n"
	"movw $0x1234, 0x42(%rbx)\n hlt\n"
	"movl $0xcafebabe, 0x44(%rbx)\n hlt\n"
	"movq $-2, 0x48(%rbx)\n hlt\n"
	"movb %ch, 0x50(%rbx)\n hlt\n"
	"movabs %rax, " MMIO_GPA_S " + 0x58\n hlt\n"
	"movl %r8d, 0x60(%rbx,%r14,8)\n hlt\n"
	"movq 0x100(%rbx), %rbx\n hlt\n");

static const struct mmio_step mmio64_steps[] = {
	{ "movb (%rbx), %al", 0, 1, false, 0x5a, REG(rax), 0xaaaaaaaaaaaaaa5aULL },
	{ "movw 2(%rbx), %cx", 2, 2, false, 0xbeef, REG(rcx), 0xccccccccccccbeefULL },
	{ "movl 4(%rbx), %edx", 4, 4, false, 0xdeadbeef, REG(rdx), 0xdeadbeefULL },
	{ "movq 8(%rbx), %rsi", 8, 8, false, 0x0123456789abcdefULL, REG(rsi), 0x0123456789abcdefULL },
	{ "movb 1(%rbx), %ah", 1, 1, false, 0x66, REG(rax), 0xaaaaaaaaaaaa665aULL },
	{ "movb 0x10(%rbx), %r9b", 0x10, 1, false, 0x99, REG(r9), 0x9999999999999999ULL },
	{ "movzbl 0x11(%rbx), %edi", 0x11, 1, false, 0x80, REG(rdi), 0x80 },
	{ "movzwq 0x12(%rbx), %r10", 0x12, 2, false, 0x8001, REG(r10), 0x8001 },
	{ "movsbq 0x14(%rbx), %r11", 0x14, 1, false, 0x80, REG(r11), 0xffffffffffffff80ULL },
	{ "movswl 0x16(%rbx), %r12d", 0x16, 2, false, 0x8000, REG(r12), 0xffff8000ULL },
	{ "movslq 0x18(%rbx), %r13", 0x18, 4, false, 0x80000000, REG(r13), 0xffffffff80000000ULL },
	{ "movabs moffs, %eax", 0x20, 4, false, 0x76543210, REG(rax), 0x76543210 },
	{ "mov (%rbx,%r14,8), %r15", 0x28, 8, false, 0xfedcba9876543210ULL, REG(r15), 0xfedcba9876543210ULL },
	{ "movb %r8b, 0x30(%rbx)", 0x30, 1, true, 0x11, REG(r8), 0x8877665544332211ULL },
	{ "movw %r8w, 0x32(%rbx)", 0x32, 2, true, 0x2211, REG(r8), 0x8877665544332211ULL },
	{ "movl %r8d, 0x34(%rbx)", 0x34, 4, true, 0x44332211, REG(r8), 0x8877665544332211ULL },
	{ "movq %r8, 0x38(%rbx)", 0x38, 8, true, 0x8877665544332211ULL, REG(r8), 0x8877665544332211ULL },
	{ "movb $0x7f, 0x40(%rbx)", 0x40, 1, true, 0x7f, REG(rbx), MMIO_GPA },
	{ "movw $0x1234, 0x42(%rbx)", 0x42, 2, true, 0x1234, REG(rbx), MMIO_GPA },
	{ "movl $0xcafebabe, 0x44(%rbx)", 0x44, 4, true, 0xcafebabe, REG(rbx), MMIO_GPA },
	{ "movq $-2, 0x48(%rbx)", 0x48, 8, true, 0xfffffffffffffffeULL, REG(rbx), MMIO_GPA },
	{ "movb %ch, 0x50(%rbx)", 0x50, 1, true, 0xbe, REG(rcx), 0xccccccccccccbeefULL },
	{ "movabs %rax, moffs", 0x58, 8, true, 0x76543210, REG(rax), 0x76543210 },
	{ "movl %r8d, 0x60(%rbx,%r14,8)", 0x88, 4, true, 0x44332211, REG(r14), 5 },
	/* The base register itself as the destination. */
	{ "movq 0x100(%rbx), %rbx", 0x100, 8, false, 0x1122334455667788ULL, REG(rbx), 0x1122334455667788ULL },
};

TEST_F(mmio, long_mode_mov_forms)
{
	struct kvm_regs regs;

	vcpu_load_snippet(self->vcpu, MODE_LONG, mmio64_guest);
	vcpu_get_regs(self->vcpu, &regs);
	regs.rax = 0xaaaaaaaaaaaaaaaaULL;
	regs.rcx = 0xccccccccccccccccULL;
	regs.rdx = 0xddddddddddddddddULL;
	regs.rdi = 0x7777777777777777ULL;
	regs.r9 = 0x9999999999999999ULL;
	regs.r10 = regs.r11 = regs.r12 = regs.r13 = regs.r15 = ~0ULL;
	regs.rbx = MMIO_GPA;
	regs.r8 = 0x8877665544332211ULL;
	regs.r14 = 5;
	vcpu_set_regs(self->vcpu, &regs);
	run_steps(self->vcpu, MMIO_GPA, mmio64_steps, ARRAY_SIZE(mmio64_steps));
}

/*
 * The same store-then-load in every mode, including real mode, where the
 * MMIO is the legacy VGA hole at 0xb8000 (ES = 0xb800).
 */
GUEST_ASM(mmio_real_guest,
	".code16\n"
	"mov $0xb800, %ax\n"
	"mov %ax, %es\n"
	"movw $0x1234, %es:0x10\n hlt\n"
	"mov %es:0x20, %bx\n hlt\n"
	"movl %es:0x24, %ecx\n hlt\n"
	"movzbw %es:0x28, %dx\n hlt\n");

static const struct mmio_step mmio_real_steps[] = {
	{ "movw $0x1234, %es:0x10", 0x10, 2, true, 0x1234, REG(rax), 0xb800 },
	{ "mov %es:0x20, %bx", 0x20, 2, false, 0xabcd, REG(rbx), 0xabcd },
	{ "movl %es:0x24, %ecx", 0x24, 4, false, 0x87654321, REG(rcx), 0x87654321 },
	{ "movzbw %es:0x28, %dx", 0x28, 1, false, 0xf0, REG(rdx), 0xf0 },
};

/*
 * A far jump between two MMIO exits moves CS (base 0x10000 to 0x10010)
 * with no exit of its own: the second instruction must be fetched at the
 * new CS base.  minikvm reads CS back from the VMCS only when an exit
 * needs it, so this checks that every exit reads it anew.
 */
GUEST_ASM(mmio_cs_guest,
	".code16\n"
	"mov $0xb800, %ax\n"
	"mov %ax, %es\n"
	"movw $0x1111, %es:0x10\n hlt\n"
	"ljmp $0x1001, $(" SNIP_OFF(mmio_cs_guest, 1f) " - 0x10)\n"
	"1: movw $0x2222, %es:0x12\n hlt\n"
	"movl $0x33333333, %es:0x14\n hlt\n");

static const struct mmio_step mmio_cs_steps[] = {
	{ "movw $0x1111, %es:0x10", 0x10, 2, true, 0x1111, REG(rax), 0xb800 },
	{ "movw $0x2222, %es:0x12 at CS 0x1001", 0x12, 2, true, 0x2222, REG(rax), 0xb800 },
	{ "movl $0x33333333, %es:0x14", 0x14, 4, true, 0x33333333, REG(rax), 0xb800 },
};

TEST_F(mmio, real_mode_cs_moves_between_exits)
{
	struct kvm_sregs sregs;

	vcpu_load_snippet(self->vcpu, MODE_REAL, mmio_cs_guest);
	run_steps(self->vcpu, MMIO_REAL_GPA, mmio_cs_steps,
		  ARRAY_SIZE(mmio_cs_steps));
	vcpu_get_sregs(self->vcpu, &sregs);
	ASSERT_EQ(0x1001, sregs.cs.selector);
	ASSERT_EQ(0x10010, sregs.cs.base);
}

/* 32-bit modes: EBX = MMIO_GPA. */
GUEST_ASM(mmio32_guest,
	".code32\n"
	"movl $0x600df00d, 0x10(%ebx)\n hlt\n"
	"movw 0x20(%ebx), %cx\n hlt\n"
	"movl 0x24(%ebx), %edx\n hlt\n"
	"movsbl 0x28(%ebx), %esi\n hlt\n"
	"movb %dl, 0x2c(%ebx)\n hlt\n");

static const struct mmio_step mmio32_steps[] = {
	{ "movl $0x600df00d, 0x10(%ebx)", 0x10, 4, true, 0x600df00d, REG(rbx), MMIO_GPA },
	{ "movw 0x20(%ebx), %cx", 0x20, 2, false, 0x4321, REG(rcx), 0x4321 },
	{ "movl 0x24(%ebx), %edx", 0x24, 4, false, 0x89abcdef, REG(rdx), 0x89abcdef },
	{ "movsbl 0x28(%ebx), %esi", 0x28, 1, false, 0xfe, REG(rsi), 0xfffffffe },
	{ "movb %dl, 0x2c(%ebx)", 0x2c, 1, true, 0xef, REG(rdx), 0x89abcdef },
};

FIXTURE(mmio_mode) {
	struct vm *vm;
	struct vcpu *vcpu;
};

FIXTURE_VARIANT(mmio_mode) {
	enum cpu_mode mode;
};

FIXTURE_VARIANT_ADD(mmio_mode, real) { .mode = MODE_REAL };
FIXTURE_VARIANT_ADD(mmio_mode, prot32) { .mode = MODE_PROT32 };
FIXTURE_VARIANT_ADD(mmio_mode, paging32) { .mode = MODE_PAGING32 };
FIXTURE_VARIANT_ADD(mmio_mode, pae) { .mode = MODE_PAE };
FIXTURE_VARIANT_ADD(mmio_mode, long) { .mode = MODE_LONG };

FIXTURE_SETUP(mmio_mode)
{
	self->vm = vm_create();
	self->vcpu = vm_vcpu_add(self->vm, 0);
}

FIXTURE_TEARDOWN(mmio_mode)
{
	vm_free(self->vm);
}

TEST_F(mmio_mode, store_load)
{
	struct kvm_regs regs;

	switch (variant->mode) {
	case MODE_REAL:
		vcpu_load_snippet(self->vcpu, MODE_REAL, mmio_real_guest);
		run_steps(self->vcpu, MMIO_REAL_GPA, mmio_real_steps,
			  ARRAY_SIZE(mmio_real_steps));
		break;
	case MODE_LONG:
		/* The 32-bit code means the same in 64-bit mode. */
	default:
		vcpu_load_snippet(self->vcpu, variant->mode, mmio32_guest);
		vcpu_get_regs(self->vcpu, &regs);
		regs.rbx = MMIO_GPA;
		vcpu_set_regs(self->vcpu, &regs);
		run_steps(self->vcpu, MMIO_GPA, mmio32_steps, ARRAY_SIZE(mmio32_steps));
		break;
	}
}

/*
 * String moves to and from MMIO (memcpy_toio and memset_io use them): one
 * MMIO exit per element, at consecutive addresses.
 */
GUEST_ASM(mmio_string_guest,
	".code64\n"
	"cld\n"
	"mov $" DATA_GPA_S ", %esi\n"
	"mov $" MMIO_GPA_S ", %edi\n"
	"mov $3, %ecx\n"
	"rep movsl\n"
	ASM_UCALL(UCALL_SYNC)
	"mov $" MMIO_GPA_S " + 0x100, %esi\n"
	"mov $" DATA_GPA_S " + 0x100, %edi\n"
	"mov $2, %ecx\n"
	"rep movsw\n"
	ASM_UCALL(UCALL_SYNC)
	"mov $" MMIO_GPA_S " + 0x200, %edi\n"
	"mov $0x5a5a5a5a, %eax\n"
	"mov $2, %ecx\n"
	"rep stosl\n"
	ASM_UCALL(UCALL_SYNC)
	"hlt\n");

TEST_F(mmio, string)
{
	struct vcpu *vcpu = self->vcpu;
	uint32_t *data = gpa2hva(self->vm, DATA_GPA);
	struct ucall uc;
	uint8_t *d;
	int i;

	data[0] = 0x11111111;
	data[1] = 0x22222222;
	data[2] = 0x33333333;
	vcpu_load_snippet(vcpu, MODE_LONG, mmio_string_guest);
	for (i = 0; i < 3; i++) {
		vcpu_run(vcpu);
		d = vcpu_assert_mmio(vcpu, MMIO_GPA + 4 * i, 4, true);
		EXPECT_EQ(data[i], get_le(d, 4));
	}
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(MMIO_GPA + 12, uc.args[0]);
	EXPECT_EQ(0, uc.args[3]);

	for (i = 0; i < 2; i++) {
		vcpu_run(vcpu);
		d = vcpu_assert_mmio(vcpu, MMIO_GPA + 0x100 + 2 * i, 2, false);
		put_le(d, 0xa1b2 + i, 2);
	}
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(0xa1b2, ((uint16_t *)(data + 0x40))[0]);
	EXPECT_EQ(0xa1b3, ((uint16_t *)(data + 0x40))[1]);
	EXPECT_EQ(MMIO_GPA + 0x104, uc.args[1]);

	for (i = 0; i < 2; i++) {
		vcpu_run(vcpu);
		d = vcpu_assert_mmio(vcpu, MMIO_GPA + 0x200 + 4 * i, 4, true);
		EXPECT_EQ(0x5a5a5a5a, get_le(d, 4));
	}
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	vcpu_run(vcpu);
	vcpu_assert_exit(vcpu, KVM_EXIT_HLT);
}

/*
 * A read-only slot: reads see its memory without exiting, writes exit as
 * MMIO writes and leave the memory unchanged.
 */
GUEST_ASM(readonly_guest,
	".code64\n"
	"mov $" STR(FREE_GPA) ", %ebx\n"
	"mov (%rbx), %rdi\n"
	"movl $0x12345678, 0x10(%rbx)\n"
	"movb %bl, 0x1001(%rbx)\n"
	"mov 0x10(%rbx), %rsi\n"
	"mov 0x1000(%rbx), %rdx\n"
	ASM_UCALL(UCALL_SYNC)
	"hlt\n");

TEST_F(mmio, readonly_slot)
{
	struct vcpu *vcpu = self->vcpu;
	uint64_t *mem;
	struct ucall uc;
	uint8_t *d;

	ASSERT_GT(kvm_check_cap(KVM_CAP_READONLY_MEM), 0)
		TH_LOG("KVM_CAP_READONLY_MEM not reported");
	mem = host_mem_alloc(0x2000);
	mem[0] = 0x0102030405060708ULL;
	mem[2] = 0xaaaaaaaabbbbbbbbULL;
	mem[0x200] = 0xfedcba9876543210ULL;
	vm_set_region(self->vm, 2, KVM_MEM_READONLY, FREE_GPA, 0x2000, mem);

	vcpu_load_snippet(vcpu, MODE_LONG, readonly_guest);
	vcpu_run(vcpu);
	d = vcpu_assert_mmio(vcpu, FREE_GPA + 0x10, 4, true);
	EXPECT_EQ(0x12345678, get_le(d, 4));
	vcpu_run(vcpu);
	d = vcpu_assert_mmio(vcpu, FREE_GPA + 0x1001, 1, true);
	EXPECT_EQ(FREE_GPA & 0xff, d[0]);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(0x0102030405060708ULL, uc.args[0]);
	EXPECT_EQ(0xaaaaaaaabbbbbbbbULL, uc.args[1]);
	EXPECT_EQ(0xfedcba9876543210ULL, uc.args[2]);
	EXPECT_EQ(0xaaaaaaaabbbbbbbbULL, mem[2]);
	EXPECT_EQ(0xfedcba9876543210ULL, mem[0x200]);
	vcpu_run(vcpu);
	vcpu_assert_exit(vcpu, KVM_EXIT_HLT);
}

/*
 * Accesses that cannot be emulated end in KVM_EXIT_INTERNAL_ERROR with
 * suberror KVM_INTERNAL_ERROR_EMULATION: an SSE arithmetic instruction
 * and an x87 load with an MMIO operand, and fetching instructions from
 * MMIO.
 */
GUEST_ASM(addps_guest,
	".code64\n"
	"mov $" MMIO_GPA_S ", %ebx\n"
	"addps (%rbx), %xmm0\n"
	"hlt\n");

GUEST_ASM(fld_guest,
	".code64\n"
	"mov $" MMIO_GPA_S ", %ebx\n"
	"fldl (%rbx)\n"
	"hlt\n");

GUEST_ASM(fetch_guest,
	".code64\n"
	"mov $" MMIO_GPA_S ", %ebx\n"
	"jmp *%rbx\n");

TEST_F(mmio, cannot_emulate)
{
	static const struct {
		const char *what;
		const char *start, *end;
	} cases[] = {
		{ "addps from MMIO", addps_guest_start, addps_guest_end },
		{ "fldl from MMIO", fld_guest_start, fld_guest_end },
		{ "instruction fetch from MMIO", fetch_guest_start, fetch_guest_end },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct vcpu *vcpu = vm_vcpu_add(self->vm, i + 1);

		__vcpu_load_snippet(vcpu, MODE_LONG, cases[i].start, cases[i].end);
		vcpu_run(vcpu);
		if (vcpu->run->exit_reason != KVM_EXIT_INTERNAL_ERROR)
			TH_LOG("%s", cases[i].what);
		vcpu_assert_exit(vcpu, KVM_EXIT_INTERNAL_ERROR);
		EXPECT_EQ(KVM_INTERNAL_ERROR_EMULATION, vcpu->run->internal.suberror)
			TH_LOG("%s", cases[i].what);
	}
}

/* Run one MOVSB of @n bytes from MMIO_GPA, answering each read with @data. */
static void movs_from_mmio(struct vcpu *vcpu, unsigned int n, const uint8_t *data)
{
	unsigned int i;
	uint8_t *d;

	for (i = 0; i < n; i++) {
		vcpu_run(vcpu);
		d = vcpu_assert_mmio(vcpu, MMIO_GPA + i, 1, false);
		d[0] = data[i];
	}
}

/* The same to MMIO_GPA, gathering the bytes written into @data. */
static void movs_to_mmio(struct vcpu *vcpu, unsigned int n, uint8_t *data)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		vcpu_run(vcpu);
		data[i] = vcpu_assert_mmio(vcpu, MMIO_GPA + i, 1, true)[0];
	}
}

/*
 * CPL 3 with a user mapping of MMIO: REP MOVSB from it into a supervisor
 * page reads the device (the CPU faults on the MMIO source before it
 * looks at the destination; KVM and minikvm read the element as the CPU
 * would), then takes #PF on the write, user|write|present, CR2 the
 * destination, with the page unchanged and RSI/RDI/RCX as they were;
 * the same into a read-only user page.  From a supervisor page to MMIO,
 * the CPU itself faults on the source: no MMIO exit.  Between user
 * pages and MMIO, both directions work.
 */
TEST(cpl3_movs_privilege)
{
	static const uint8_t dev[4] = { 0xd0, 0xd1, 0xd2, 0xd3 };
	uint64_t cr3, pg[3];	/* supervisor, user, user read-only */
	uint8_t *kmem, *umem, *romem, out[4];
	struct vcpu *vcpu;
	struct vm *vm;

	vcpu = str_vm(&vm, &cr3, pg, 3);
	*vm_user_pte(vm, cr3, pg[0]) &= ~PTE_US;
	*vm_user_pte(vm, cr3, pg[2]) &= ~PTE_RW;
	kmem = gpa2hva(vm, pg[0]);
	umem = gpa2hva(vm, pg[1]);
	romem = gpa2hva(vm, pg[2]);
	memset(kmem, 0x5a, STR_PAGE_SIZE);
	memset(umem, 0x33, STR_PAGE_SIZE);
	memset(romem, 0x44, STR_PAGE_SIZE);

	/* MMIO -> supervisor page: one MMIO read, then #PF on the write. */
	str_start(vcpu, &(struct string_op){ .insn = STR_MOVSB, .user = 1,
		  .rsi = MMIO_GPA, .rdi = pg[0] + 0x10, .rcx = 4 });
	movs_from_mmio(vcpu, 1, dev);
	str_end(vcpu);
	EXPECT_EQ(1, str_seen.count);
	EXPECT_EQ(PF_VECTOR, str_seen.vector);
	EXPECT_EQ(PF_U | PF_W | PF_P, str_seen.error);
	EXPECT_EQ(pg[0] + 0x10, str_seen.cr2);
	EXPECT_EQ(MMIO_GPA, str_after.rsi);
	EXPECT_EQ(pg[0] + 0x10, str_after.rdi);
	EXPECT_EQ(4, str_after.rcx);
	EXPECT_EQ(0x5a, kmem[0x10]);
	EXPECT_EQ(0x5a, kmem[0x11]);

	/* MMIO -> read-only user page: the same, on R/W. */
	str_start(vcpu, &(struct string_op){ .insn = STR_MOVSB, .user = 1,
		  .rsi = MMIO_GPA, .rdi = pg[2] + 0x20, .rcx = 2 });
	movs_from_mmio(vcpu, 1, dev);
	str_end(vcpu);
	EXPECT_EQ(1, str_seen.count);
	EXPECT_EQ(PF_U | PF_W | PF_P, str_seen.error);
	EXPECT_EQ(pg[2] + 0x20, str_seen.cr2);
	EXPECT_EQ(2, str_after.rcx);
	EXPECT_EQ(0x44, romem[0x20]);

	/* supervisor page -> MMIO: #PF on the read, nothing reaches MMIO. */
	str_start(vcpu, &(struct string_op){ .insn = STR_MOVSB, .user = 1,
		  .rsi = pg[0] + 0x40, .rdi = MMIO_GPA, .rcx = 4 });
	str_end(vcpu);
	EXPECT_EQ(1, str_seen.count);
	EXPECT_EQ(PF_VECTOR, str_seen.vector);
	EXPECT_EQ(PF_U | PF_P, str_seen.error);
	EXPECT_EQ(pg[0] + 0x40, str_seen.cr2);
	EXPECT_EQ(4, str_after.rcx);

	/* MMIO -> user page and user page -> MMIO work. */
	str_start(vcpu, &(struct string_op){ .insn = STR_MOVSB, .user = 1,
		  .rsi = MMIO_GPA, .rdi = pg[1] + 0x80, .rcx = 4 });
	movs_from_mmio(vcpu, 4, dev);
	str_end(vcpu);
	EXPECT_EQ(0, str_seen.count);
	EXPECT_EQ(0, memcmp(umem + 0x80, dev, 4));
	EXPECT_EQ(0x33, umem[0x84]);
	EXPECT_EQ(MMIO_GPA + 4, str_after.rsi);
	EXPECT_EQ(pg[1] + 0x84, str_after.rdi);
	EXPECT_EQ(0, str_after.rcx);

	umem[0x100] = 0xa1;
	umem[0x101] = 0xa2;
	umem[0x102] = 0xa3;
	str_start(vcpu, &(struct string_op){ .insn = STR_MOVSB, .user = 1,
		  .rsi = pg[1] + 0x100, .rdi = MMIO_GPA, .rcx = 3 });
	movs_to_mmio(vcpu, 3, out);
	str_end(vcpu);
	EXPECT_EQ(0, str_seen.count);
	EXPECT_EQ(0, memcmp(out, umem + 0x100, 3));
	EXPECT_EQ(pg[1] + 0x103, str_after.rsi);
	EXPECT_EQ(0, str_after.rcx);

	str_finish(vcpu);
	vm_free(vm);
}

/*
 * CPL 0 with CR4.SMAP: REP MOVSB from MMIO into a user page faults on
 * the write (write|present, CR2 the destination) unless RFLAGS.AC is set;
 * from a user page to MMIO the CPU faults on the read itself.  With AC
 * set both directions work.
 */
TEST(smap_movs)
{
	static const uint8_t dev[4] = { 0xe0, 0xe1, 0xe2, 0xe3 };
	uint8_t *umem, out[4];
	struct vcpu *vcpu;
	uint64_t cr3, pg;
	struct vm *vm;

	if (!str_have_smap())
		SKIP(return, "no SMAP in KVM_GET_SUPPORTED_CPUID (7.0 EBX bit 20)");
	vcpu = str_vm(&vm, &cr3, &pg, 1);
	str_only_user_page(vm, cr3, pg);
	str_set_smap(vcpu);
	umem = gpa2hva(vm, pg);
	memset(umem, 0x66, STR_PAGE_SIZE);
	umem[0x200] = 0xb1;
	umem[0x201] = 0xb2;

	str_start(vcpu, &(struct string_op){ .insn = STR_MOVSB,
		  .rsi = MMIO_GPA, .rdi = pg + 0x10, .rcx = 4 });
	movs_from_mmio(vcpu, 1, dev);
	str_end(vcpu);
	EXPECT_EQ(1, str_seen.count);
	EXPECT_EQ(PF_VECTOR, str_seen.vector);
	EXPECT_EQ(PF_W | PF_P, str_seen.error);
	EXPECT_EQ(pg + 0x10, str_seen.cr2);
	EXPECT_EQ(4, str_after.rcx);
	EXPECT_EQ(0x66, umem[0x10]);

	str_start(vcpu, &(struct string_op){ .insn = STR_MOVSB,
		  .rsi = pg + 0x200, .rdi = MMIO_GPA, .rcx = 2 });
	str_end(vcpu);
	EXPECT_EQ(1, str_seen.count);
	EXPECT_EQ(PF_P, str_seen.error);
	EXPECT_EQ(pg + 0x200, str_seen.cr2);

	str_start(vcpu, &(struct string_op){ .insn = STR_MOVSB, .ac = 1,
		  .rsi = MMIO_GPA, .rdi = pg + 0x10, .rcx = 4 });
	movs_from_mmio(vcpu, 4, dev);
	str_end(vcpu);
	EXPECT_EQ(0, str_seen.count);
	EXPECT_EQ(0, memcmp(umem + 0x10, dev, 4));
	EXPECT_EQ(0, str_after.rcx);

	str_start(vcpu, &(struct string_op){ .insn = STR_MOVSB, .ac = 1,
		  .rsi = pg + 0x200, .rdi = MMIO_GPA, .rcx = 2 });
	movs_to_mmio(vcpu, 2, out);
	str_end(vcpu);
	EXPECT_EQ(0, str_seen.count);
	EXPECT_EQ(0, memcmp(out, umem + 0x200, 2));

	str_finish(vcpu);
	vm_free(vm);
}

/*
 * 64-bit mode, CPL 0: REP MOVSB from MMIO to a non-canonical destination
 * reads one element, then takes #GP(0) on the write.
 */
TEST(movs_noncanonical)
{
	static const uint8_t dev[1] = { 0x77 };
	struct vcpu *vcpu;
	uint64_t cr3, pg;
	struct vm *vm;

	vcpu = str_vm(&vm, &cr3, &pg, 1);
	str_start(vcpu, &(struct string_op){ .insn = STR_MOVSB,
		  .rsi = MMIO_GPA, .rdi = 0x0000800000000000ULL, .rcx = 2 });
	movs_from_mmio(vcpu, 1, dev);
	str_end(vcpu);
	EXPECT_EQ(1, str_seen.count);
	EXPECT_EQ(GP_VECTOR, str_seen.vector);
	EXPECT_EQ(0, str_seen.error);
	EXPECT_EQ(MMIO_GPA, str_after.rsi);
	EXPECT_EQ(2, str_after.rcx);

	str_finish(vcpu);
	vm_free(vm);
}

TEST_HARNESS_MAIN
