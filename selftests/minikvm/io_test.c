// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_EXIT_IO: every port access of a guest exits to userspace with its
 * direction, port, size, count and data (at run->io.data_offset inside
 * the vCPU's mapping); IN data left there by userspace reaches the guest
 * register; string INS/OUTS and their REP forms move count elements
 * between guest memory and the data area, in either direction (DF).
 *
 * Registers are only read, never written, at an I/O exit: the operation
 * completes on the next KVM_RUN (api.rst, KVM_RUN).
 *
 * INS and OUTS are emulated, and their memory operand must be checked as
 * the CPU would: a CPL 3 guest cannot read a port into a supervisor page
 * nor write one out, and SMAP holds at CPL 0 (string_fault.h).
 */
#define _GNU_SOURCE
#include <stdio.h>

#include "kselftest_harness.h"
#include "lib/ucall.h"
#include "lib/x86.h"
#include "string_fault.h"

#define IN  KVM_EXIT_IO_IN
#define OUT KVM_EXIT_IO_OUT

FIXTURE(io) {
	struct vm *vm;
	struct vcpu *vcpu;
};

FIXTURE_SETUP(io)
{
	self->vm = vm_create();
	self->vcpu = vm_vcpu_add(self->vm, 0);
}

FIXTURE_TEARDOWN(io)
{
	vm_free(self->vm);
}

/* Run to the next exit and check it is this port I/O; returns the data. */
static void *run_io(struct vcpu *vcpu, uint8_t dir, uint16_t port, uint8_t size)
{
	vcpu_run(vcpu);
	return vcpu_assert_io(vcpu, dir, port, size, 1);
}

/* OUT of each size, to an immediate port and through DX. */
GUEST_ASM(out_guest,
	".code64\n"
	"mov $0xab, %al\n"
	"out %al, $0x70\n"
	"mov $0xffff, %dx\n"
	"mov $0x12, %al\n"
	"out %al, %dx\n"
	"mov $0x3f8, %dx\n"
	"mov $0x1234, %ax\n"
	"out %ax, %dx\n"
	"mov $0x89abcdef, %eax\n"
	"out %eax, %dx\n"
	"mov $0x5678, %ax\n"
	"out %ax, $0x42\n"
	"hlt\n");

TEST_F(io, out_sizes)
{
	struct vcpu *vcpu = self->vcpu;

	vcpu_load_snippet(vcpu, MODE_LONG, out_guest);
	EXPECT_EQ(0xab, get_le(run_io(vcpu, OUT, 0x70, 1), 1));
	EXPECT_EQ(0x12, get_le(run_io(vcpu, OUT, 0xffff, 1), 1));
	EXPECT_EQ(0x1234, get_le(run_io(vcpu, OUT, 0x3f8, 2), 2));
	EXPECT_EQ(0x89abcdef, get_le(run_io(vcpu, OUT, 0x3f8, 4), 4));
	EXPECT_EQ(0x5678, get_le(run_io(vcpu, OUT, 0x42, 2), 2));
	vcpu_run(vcpu);
	vcpu_assert_exit(vcpu, KVM_EXIT_HLT);
}

/*
 * IN of each size: the data userspace leaves in the data area lands in
 * AL/AX/EAX; 8- and 16-bit INs keep the rest of RAX, a 32-bit IN
 * zero-extends into RAX as any 32-bit write does.
 */
GUEST_ASM(in_guest,
	".code64\n"
	"movabs $0x1111111111111111, %rax\n"
	"in $0x60, %al\n"
	"mov %rax, %rdi\n"
	"movabs $0x2222222222222222, %rax\n"
	"mov $0x1234, %dx\n"
	"in %dx, %ax\n"
	"mov %rax, %rsi\n"
	"movabs $0x3333333333333333, %rax\n"
	"in %dx, %eax\n"
	"mov %rax, %rcx\n"
	ASM_UCALL(UCALL_SYNC)
	"hlt\n");

TEST_F(io, in_sizes)
{
	struct vcpu *vcpu = self->vcpu;
	struct ucall uc;

	vcpu_load_snippet(vcpu, MODE_LONG, in_guest);
	put_le(run_io(vcpu, IN, 0x60, 1), 0x5a, 1);
	put_le(run_io(vcpu, IN, 0x1234, 2), 0xbeef, 2);
	put_le(run_io(vcpu, IN, 0x1234, 4), 0xdeadbeef, 4);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(0x111111111111115aULL, uc.args[0]);
	EXPECT_EQ(0x222222222222beefULL, uc.args[1]);
	EXPECT_EQ(0x00000000deadbeefULL, uc.args[3]);
	vcpu_run(vcpu);
	vcpu_assert_exit(vcpu, KVM_EXIT_HLT);
}

/*
 * Run a string instruction to its end: it may exit once per element or
 * batch several elements per exit (KVM batches REP INS, not REP OUTS);
 * all exits name the same port and size and their counts add up to @n.
 * OUT data is gathered into @buf, IN data is taken from it.
 */
static void run_string_io(struct vcpu *vcpu, uint8_t dir, uint16_t port,
			  uint8_t size, unsigned int n, uint8_t *buf)
{
	struct kvm_run *run = vcpu->run;
	unsigned int done = 0;

	while (done < n) {
		uint8_t *data;

		vcpu_run(vcpu);
		vcpu_assert_exit(vcpu, KVM_EXIT_IO);
		TEST_ASSERT(run->io.direction == dir && run->io.port == port &&
			    run->io.size == size,
			    "element %u of %u: %s port %#x size %u, expected %s port %#x size %u",
			    done, n, run->io.direction == OUT ? "out" : "in",
			    run->io.port, run->io.size, dir == OUT ? "out" : "in",
			    port, size);
		TEST_ASSERT(run->io.count >= 1 && run->io.count <= n - done,
			    "count %u with %u elements left", run->io.count, n - done);
		TEST_ASSERT(run->io.data_offset + (uint64_t)size * run->io.count <=
			    (uint64_t)vcpu->vm->run_size,
			    "data_offset %#llx outside the mapping",
			    (unsigned long long)run->io.data_offset);
		data = (uint8_t *)run + run->io.data_offset;
		if (dir == OUT)
			memcpy(buf + done * size, data, size * run->io.count);
		else
			memcpy(data, buf + done * size, size * run->io.count);
		done += run->io.count;
	}
}

/*
 * OUTS: the guest sets RSI, RDX and RCX itself, then reports RDI, RSI,
 * RDX and RCX by a ucall right after the instruction.
 */
GUEST_ASM(outs_guest,
	".code64\n"
	"mov $0x3f8, %edx\n"
	/* rep outsb, 5 bytes */
	"mov $" DATA_GPA_S ", %esi\n"
	"mov $5, %ecx\n"
	"rep outsb\n"
	ASM_UCALL(UCALL_SYNC)
	/* rep outsw, 3 words */
	"mov $" DATA_GPA_S " + 0x100, %esi\n"
	"mov $3, %ecx\n"
	"rep outsw\n"
	ASM_UCALL(UCALL_SYNC)
	/* rep outsl, 2 dwords */
	"mov $" DATA_GPA_S " + 0x200, %esi\n"
	"mov $2, %ecx\n"
	"rep outsl\n"
	ASM_UCALL(UCALL_SYNC)
	/* outsw without rep: one word, RCX untouched */
	"mov $" DATA_GPA_S " + 0x300, %esi\n"
	"mov $77, %ecx\n"
	"outsw\n"
	ASM_UCALL(UCALL_SYNC)
	/* rep outsb with RCX = 0: nothing at all */
	"xor %ecx, %ecx\n"
	"rep outsb\n"
	ASM_UCALL(UCALL_SYNC)
	/* std; rep outsb: 4 bytes walking down from 0x403 */
	"mov $" DATA_GPA_S " + 0x403, %esi\n"
	"mov $4, %ecx\n"
	"std\n"
	"rep outsb\n"
	"cld\n"
	ASM_UCALL(UCALL_SYNC)
	"hlt\n");

TEST_F(io, string_out)
{
	struct vcpu *vcpu = self->vcpu;
	uint8_t *data = gpa2hva(self->vm, DATA_GPA);
	uint8_t buf[64];
	struct ucall uc;
	int i;

	for (i = 0; i < 0x500; i++)
		data[i] = i * 7 + 1;
	vcpu_load_snippet(vcpu, MODE_LONG, outs_guest);

	run_string_io(vcpu, OUT, 0x3f8, 1, 5, buf);
	EXPECT_EQ(0, memcmp(buf, data, 5));
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(DATA_GPA + 5, uc.args[1]);
	EXPECT_EQ(0, uc.args[3]);

	run_string_io(vcpu, OUT, 0x3f8, 2, 3, buf);
	EXPECT_EQ(0, memcmp(buf, data + 0x100, 6));
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(DATA_GPA + 0x106, uc.args[1]);
	EXPECT_EQ(0, uc.args[3]);

	run_string_io(vcpu, OUT, 0x3f8, 4, 2, buf);
	EXPECT_EQ(0, memcmp(buf, data + 0x200, 8));
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(DATA_GPA + 0x208, uc.args[1]);
	EXPECT_EQ(0, uc.args[3]);

	run_string_io(vcpu, OUT, 0x3f8, 2, 1, buf);
	EXPECT_EQ(0, memcmp(buf, data + 0x300, 2));
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(DATA_GPA + 0x302, uc.args[1]);
	EXPECT_EQ(77, uc.args[3]);

	/* RCX = 0: the next exit is the ucall. */
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(DATA_GPA + 0x302, uc.args[1]);

	run_string_io(vcpu, OUT, 0x3f8, 1, 4, buf);
	for (i = 0; i < 4; i++)
		EXPECT_EQ(data[0x403 - i], buf[i]);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(DATA_GPA + 0x3ff, uc.args[1]);
	EXPECT_EQ(0, uc.args[3]);

	vcpu_run(vcpu);
	vcpu_assert_exit(vcpu, KVM_EXIT_HLT);
}

/* INS, reported like OUTS (RDI is the destination). */
GUEST_ASM(ins_guest,
	".code64\n"
	"mov $0x1f0, %edx\n"
	"mov $" DATA_GPA_S " + 0x800, %edi\n"
	"mov $7, %ecx\n"
	"rep insb\n"
	ASM_UCALL(UCALL_SYNC)
	"mov $" DATA_GPA_S " + 0x900, %edi\n"
	"mov $3, %ecx\n"
	"rep insl\n"
	ASM_UCALL(UCALL_SYNC)
	"mov $" DATA_GPA_S " + 0xa00, %edi\n"
	"insw\n"
	ASM_UCALL(UCALL_SYNC)
	"mov $" DATA_GPA_S " + 0xb07, %edi\n"
	"mov $4, %ecx\n"
	"std\n"
	"rep insb\n"
	"cld\n"
	ASM_UCALL(UCALL_SYNC)
	"hlt\n");

TEST_F(io, string_in)
{
	struct vcpu *vcpu = self->vcpu;
	uint8_t *data = gpa2hva(self->vm, DATA_GPA);
	uint8_t buf[64];
	struct ucall uc;
	int i;

	for (i = 0; i < (int)sizeof(buf); i++)
		buf[i] = 0xa0 + i;
	vcpu_load_snippet(vcpu, MODE_LONG, ins_guest);

	run_string_io(vcpu, IN, 0x1f0, 1, 7, buf);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(0, memcmp(data + 0x800, buf, 7));
	EXPECT_EQ(0, data[0x807]);
	EXPECT_EQ(DATA_GPA + 0x807, uc.args[0]);
	EXPECT_EQ(0, uc.args[3]);

	run_string_io(vcpu, IN, 0x1f0, 4, 3, buf);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(0, memcmp(data + 0x900, buf, 12));
	EXPECT_EQ(DATA_GPA + 0x90c, uc.args[0]);

	run_string_io(vcpu, IN, 0x1f0, 2, 1, buf);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(0, memcmp(data + 0xa00, buf, 2));
	EXPECT_EQ(0, data[0xa02]);
	EXPECT_EQ(DATA_GPA + 0xa02, uc.args[0]);

	run_string_io(vcpu, IN, 0x1f0, 1, 4, buf);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	for (i = 0; i < 4; i++)
		EXPECT_EQ(buf[i], data[0xb07 - i]);
	EXPECT_EQ(0, data[0xb03]);
	EXPECT_EQ(DATA_GPA + 0xb03, uc.args[0]);

	vcpu_run(vcpu);
	vcpu_assert_exit(vcpu, KVM_EXIT_HLT);
}

/*
 * Real mode: operand-size prefixes for 32-bit I/O, and REP OUTSW with
 * 16-bit SI/CX through DS = 0x2000.
 */
GUEST_ASM(real_io_guest,
	".code16\n"
	"mov $0x42, %al\n"
	"out %al, $0x80\n"
	"mov $0x3f8, %dx\n"
	"mov $0x1234, %ax\n"
	"out %ax, %dx\n"
	"mov $0x89abcdef, %eax\n"
	"out %eax, %dx\n"
	"in %dx, %eax\n"
	"mov %eax, %edi\n"
	"mov $0x2000, %ax\n"
	"mov %ax, %ds\n"
	"mov $0x10, %si\n"
	"mov $3, %cx\n"
	"rep outsw\n"
	ASM_UCALL(UCALL_SYNC)
	"hlt\n");

TEST_F(io, real_mode)
{
	struct vcpu *vcpu = self->vcpu;
	uint8_t *data = gpa2hva(self->vm, DATA_GPA);
	uint8_t buf[8];
	struct ucall uc;

	memcpy(data + 0x10, "\x01\x02\x03\x04\x05\x06", 6);
	vcpu_load_snippet(vcpu, MODE_REAL, real_io_guest);
	EXPECT_EQ(0x42, get_le(run_io(vcpu, OUT, 0x80, 1), 1));
	EXPECT_EQ(0x1234, get_le(run_io(vcpu, OUT, 0x3f8, 2), 2));
	EXPECT_EQ(0x89abcdef, get_le(run_io(vcpu, OUT, 0x3f8, 4), 4));
	put_le(run_io(vcpu, IN, 0x3f8, 4), 0xfeedf00d, 4);
	run_string_io(vcpu, OUT, 0x3f8, 2, 3, buf);
	EXPECT_EQ(0, memcmp(buf, data + 0x10, 6));
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(0xfeedf00d, uc.args[0] & 0xffffffff);
	EXPECT_EQ(0x16, uc.args[1] & 0xffff);
	EXPECT_EQ(0, uc.args[3] & 0xffff);
	vcpu_run(vcpu);
	vcpu_assert_exit(vcpu, KVM_EXIT_HLT);
}

/* 32-bit protected mode with paging: REP INSW into a paged buffer. */
GUEST_ASM(io32_guest,
	".code32\n"
	"mov $0x60, %dx\n"
	"mov $0x30000, %edi\n"
	"mov $2, %ecx\n"
	"rep insw\n"
	"mov $0x99, %al\n"
	"out %al, %dx\n"
	ASM_UCALL(UCALL_SYNC)
	"hlt\n");

TEST_F(io, paging32)
{
	struct vcpu *vcpu = self->vcpu;
	uint8_t buf[4] = { 0x11, 0x22, 0x33, 0x44 };
	uint32_t *pt = gpa2hva(self->vm, PT32_GPA);
	struct ucall uc;

	/* Virtual 0x30000 is physical 0x32000: INS writes through paging. */
	pt[0x30] = 0x32000 | 3;
	vcpu_load_snippet(vcpu, MODE_PAGING32, io32_guest);
	run_string_io(vcpu, IN, 0x60, 2, 2, buf);
	EXPECT_EQ(0x99, get_le(run_io(vcpu, OUT, 0x60, 1), 1));
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(0, memcmp(gpa2hva(self->vm, 0x32000), buf, 4));
	EXPECT_EQ(0x30004, uc.args[0]);
}

#define STR_PORT	0x1f0

/*
 * The port read of a faulting REP INSB: one IN exit of 1 to @n bytes
 * (KVM reads ahead as much as it may), answered with @data.
 */
static void ins_read(struct vcpu *vcpu, unsigned int n, const uint8_t *data)
{
	struct kvm_run *run = vcpu->run;

	vcpu_run(vcpu);
	vcpu_assert_exit(vcpu, KVM_EXIT_IO);
	TEST_ASSERT(run->io.direction == IN && run->io.port == STR_PORT &&
		    run->io.size == 1 && run->io.count >= 1 && run->io.count <= n,
		    "not the IN of 1 to %u bytes expected", n);
	memcpy((uint8_t *)run + run->io.data_offset, data, run->io.count);
}

/*
 * CPL 3 with IOPL 3: REP INSB into a supervisor page exits for the port
 * read first (as KVM does: the CPU reads the port before it writes
 * memory), then takes #PF user|write|present with CR2 the destination;
 * the page is unchanged, RDI and RCX are as they were.  REP OUTSB from a
 * supervisor page takes #PF user|present before any port write: no IO
 * exit.  Between user pages and the port, both directions work.
 */
TEST(cpl3_string_io_privilege)
{
	static const uint8_t dev[4] = { 0xc0, 0xc1, 0xc2, 0xc3 };
	uint8_t *kmem, *umem, buf[4];
	struct vcpu *vcpu;
	uint64_t cr3, pg[2];	/* supervisor, user */
	struct vm *vm;

	vcpu = str_vm(&vm, &cr3, pg, 2);
	*vm_user_pte(vm, cr3, pg[0]) &= ~PTE_US;
	kmem = gpa2hva(vm, pg[0]);
	umem = gpa2hva(vm, pg[1]);
	memset(kmem, 0x5a, STR_PAGE_SIZE);
	memset(umem, 0x33, STR_PAGE_SIZE);
	memcpy(kmem + 0x40, "\x11\x22\x33\x44", 4);

	str_start(vcpu, &(struct string_op){ .insn = STR_INSB, .user = 1,
		  .rdi = pg[0] + 0x10, .rcx = 4, .port = STR_PORT });
	ins_read(vcpu, 4, dev);
	str_end(vcpu);
	EXPECT_EQ(1, str_seen.count);
	EXPECT_EQ(PF_VECTOR, str_seen.vector);
	EXPECT_EQ(PF_U | PF_W | PF_P, str_seen.error);
	EXPECT_EQ(pg[0] + 0x10, str_seen.cr2);
	EXPECT_EQ(pg[0] + 0x10, str_after.rdi);
	EXPECT_EQ(4, str_after.rcx);
	EXPECT_EQ(0x5a, kmem[0x10]);
	EXPECT_EQ(0x5a, kmem[0x13]);

	str_start(vcpu, &(struct string_op){ .insn = STR_OUTSB, .user = 1,
		  .rsi = pg[0] + 0x40, .rcx = 4, .port = STR_PORT });
	str_end(vcpu);
	EXPECT_EQ(1, str_seen.count);
	EXPECT_EQ(PF_VECTOR, str_seen.vector);
	EXPECT_EQ(PF_U | PF_P, str_seen.error);
	EXPECT_EQ(pg[0] + 0x40, str_seen.cr2);
	EXPECT_EQ(pg[0] + 0x40, str_after.rsi);
	EXPECT_EQ(4, str_after.rcx);

	str_start(vcpu, &(struct string_op){ .insn = STR_INSB, .user = 1,
		  .rdi = pg[1] + 0x10, .rcx = 4, .port = STR_PORT });
	run_string_io(vcpu, IN, STR_PORT, 1, 4, (uint8_t *)dev);
	str_end(vcpu);
	EXPECT_EQ(0, str_seen.count);
	EXPECT_EQ(0, memcmp(umem + 0x10, dev, 4));
	EXPECT_EQ(0x33, umem[0x14]);
	EXPECT_EQ(pg[1] + 0x14, str_after.rdi);
	EXPECT_EQ(0, str_after.rcx);

	memcpy(umem + 0x40, "\x55\x66\x77\x88", 4);
	str_start(vcpu, &(struct string_op){ .insn = STR_OUTSB, .user = 1,
		  .rsi = pg[1] + 0x40, .rcx = 4, .port = STR_PORT });
	run_string_io(vcpu, OUT, STR_PORT, 1, 4, buf);
	str_end(vcpu);
	EXPECT_EQ(0, str_seen.count);
	EXPECT_EQ(0, memcmp(buf, umem + 0x40, 4));
	EXPECT_EQ(pg[1] + 0x44, str_after.rsi);
	EXPECT_EQ(0, str_after.rcx);

	str_finish(vcpu);
	vm_free(vm);
}

/*
 * CPL 0 with CR4.SMAP: REP INSB into a user page reads the port, then
 * faults (write|present); REP OUTSB from one faults (present) with no
 * port write; with RFLAGS.AC set both work.
 */
TEST(smap_string_io)
{
	static const uint8_t dev[4] = { 0xf0, 0xf1, 0xf2, 0xf3 };
	uint8_t *umem, buf[4];
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
	memcpy(umem + 0x40, "\x99\xaa\xbb\xcc", 4);

	str_start(vcpu, &(struct string_op){ .insn = STR_INSB,
		  .rdi = pg + 0x10, .rcx = 4, .port = STR_PORT });
	ins_read(vcpu, 4, dev);
	str_end(vcpu);
	EXPECT_EQ(1, str_seen.count);
	EXPECT_EQ(PF_VECTOR, str_seen.vector);
	EXPECT_EQ(PF_W | PF_P, str_seen.error);
	EXPECT_EQ(pg + 0x10, str_seen.cr2);
	EXPECT_EQ(4, str_after.rcx);
	EXPECT_EQ(0x66, umem[0x10]);

	str_start(vcpu, &(struct string_op){ .insn = STR_OUTSB,
		  .rsi = pg + 0x40, .rcx = 4, .port = STR_PORT });
	str_end(vcpu);
	EXPECT_EQ(1, str_seen.count);
	EXPECT_EQ(PF_P, str_seen.error);
	EXPECT_EQ(pg + 0x40, str_seen.cr2);
	EXPECT_EQ(4, str_after.rcx);

	str_start(vcpu, &(struct string_op){ .insn = STR_INSB, .ac = 1,
		  .rdi = pg + 0x10, .rcx = 4, .port = STR_PORT });
	run_string_io(vcpu, IN, STR_PORT, 1, 4, (uint8_t *)dev);
	str_end(vcpu);
	EXPECT_EQ(0, str_seen.count);
	EXPECT_EQ(0, memcmp(umem + 0x10, dev, 4));

	str_start(vcpu, &(struct string_op){ .insn = STR_OUTSB, .ac = 1,
		  .rsi = pg + 0x40, .rcx = 4, .port = STR_PORT });
	run_string_io(vcpu, OUT, STR_PORT, 1, 4, buf);
	str_end(vcpu);
	EXPECT_EQ(0, str_seen.count);
	EXPECT_EQ(0, memcmp(buf, umem + 0x40, 4));

	str_finish(vcpu);
	vm_free(vm);
}

/*
 * 64-bit mode, CPL 0: a non-canonical memory operand is #GP(0).  REP
 * INSB reads the port first (the I/O intercept comes before the memory
 * access), then faults; REP OUTSB faults with no IO exit.
 */
TEST(string_io_noncanonical)
{
	static const uint8_t dev[2] = { 0x12, 0x34 };
	struct vcpu *vcpu;
	uint64_t cr3, pg;
	struct vm *vm;

	vcpu = str_vm(&vm, &cr3, &pg, 1);
	str_start(vcpu, &(struct string_op){ .insn = STR_INSB,
		  .rdi = 0x0000800000000000ULL, .rcx = 2, .port = STR_PORT });
	ins_read(vcpu, 2, dev);
	str_end(vcpu);
	EXPECT_EQ(1, str_seen.count);
	EXPECT_EQ(GP_VECTOR, str_seen.vector);
	EXPECT_EQ(0, str_seen.error);
	EXPECT_EQ(0x0000800000000000ULL, str_after.rdi);
	EXPECT_EQ(2, str_after.rcx);

	str_start(vcpu, &(struct string_op){ .insn = STR_OUTSB,
		  .rsi = 0xffff7ffffffff000ULL, .rcx = 2, .port = STR_PORT });
	str_end(vcpu);
	EXPECT_EQ(1, str_seen.count);
	EXPECT_EQ(GP_VECTOR, str_seen.vector);
	EXPECT_EQ(0, str_seen.error);
	EXPECT_EQ(0xffff7ffffffff000ULL, str_after.rsi);
	EXPECT_EQ(2, str_after.rcx);

	str_finish(vcpu);
	vm_free(vm);
}

/*
 * 32-bit protected mode: ES and DS end at 0x20ffd, and REP INSB / REP
 * OUTSB of 8 bytes start at 0x20ff8.  The guest's #GP handler (its own
 * IDT) reports EDI, the error code, ESI and ECX, and skips the
 * instruction.  OUTSB sends the 6 bytes below the limit and faults on
 * the 7th, on both.  For INSB, minikvm does the same (as the CPU: 6
 * bytes written, the 7th read from the port, then #GP); KVM reads the 8
 * bytes ahead in one exit and faults on the whole block, writing none
 * (api.rst, "Differences from KVM").
 */
#define LIM_BASE	0x20ff8
#define LIM_LIMIT	0x20ffd

GUEST_ASM(limit32_guest,
	".code32\n"
	"lidt " SNIP(limit32_guest, l32_idtr) "\n"
	"mov $" STR(STR_PORT) ", %edx\n"
	"mov $" STR(LIM_BASE) ", %edi\n"
	"mov $8, %ecx\n"
	"rep insb\n"
	"mov $" STR(STR_PORT) ", %edx\n"
	"mov $" STR(LIM_BASE) ", %esi\n"
	"mov $8, %ecx\n"
	"rep outsb\n"
	"hlt\n"
	"l32_gp:\n"
	"mov %esi, %edx\n"
	"pop %esi\n"			/* the error code */
	ASM_UCALL(UCALL_SYNC)
	"mov %edx, %esi\n"
	"addl $2, (%esp)\n"		/* past rep insb / rep outsb */
	"iret\n"
	".balign 8\n"
	"l32_idt:\n"
	".fill 13, 8, 0\n"
	".word " SNIP(limit32_guest, l32_gp) " & 0xffff\n"
	".word " STR(GDT_CODE32) ", 0x8e00\n"
	".word " SNIP(limit32_guest, l32_gp) " >> 16\n"
	"l32_idtr:\n"
	".word 14 * 8 - 1\n"
	".long " SNIP(limit32_guest, l32_idt) "\n");

/* Run to the ucall, answering IN or gathering OUT exits on STR_PORT. */
static unsigned int run_port_to_ucall(struct vcpu *vcpu, uint8_t dir,
				      uint8_t *buf, unsigned int max,
				      struct ucall *uc)
{
	struct kvm_run *run = vcpu->run;
	unsigned int n = 0;
	uint8_t *data;

	for (;;) {
		vcpu_run(vcpu);
		if (get_ucall(vcpu, uc) != UCALL_NONE)
			return n;
		vcpu_assert_exit(vcpu, KVM_EXIT_IO);
		TEST_ASSERT(run->io.direction == dir && run->io.port == STR_PORT &&
			    run->io.size == 1 && n + run->io.count <= max,
			    "unexpected port IO after %u bytes", n);
		data = (uint8_t *)run + run->io.data_offset;
		if (dir == IN)
			memcpy(data, buf + n, run->io.count);
		else
			memcpy(buf + n, data, run->io.count);
		n += run->io.count;
	}
}

TEST(prot32_string_io_limit)
{
	static const uint8_t dev[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	uint8_t *mem = gpa2hva(vm, LIM_BASE), out[8];
	struct kvm_sregs sregs;
	struct ucall uc;
	unsigned int n;

	memset(mem, 0xee, 8);
	vcpu_load_snippet(vcpu, MODE_PROT32, limit32_guest);
	vcpu_get_sregs(vcpu, &sregs);
	sregs.es.limit = LIM_LIMIT;
	sregs.ds.limit = LIM_LIMIT;
	sregs.es.g = sregs.ds.g = 0;
	vcpu_set_sregs(vcpu, &sregs);

	n = run_port_to_ucall(vcpu, IN, (uint8_t *)dev, 8, &uc);
	ASSERT_EQ(UCALL_SYNC, uc.cmd);
	EXPECT_EQ(0, uc.args[1]);		/* #GP(0) */
	if (mkvm_is_kvm()) {
		EXPECT_EQ(8, n);
		EXPECT_EQ(LIM_BASE, uc.args[0]);
		EXPECT_EQ(8, uc.args[3]);
		EXPECT_EQ(0xee, mem[0]);
	} else {
		EXPECT_EQ(7, n);
		EXPECT_EQ(LIM_LIMIT + 1, uc.args[0]);
		EXPECT_EQ(2, uc.args[3]);
		EXPECT_EQ(0, memcmp(mem, dev, 6));
	}
	EXPECT_EQ(0xee, mem[6]);
	EXPECT_EQ(0xee, mem[7]);

	n = run_port_to_ucall(vcpu, OUT, out, 8, &uc);
	ASSERT_EQ(UCALL_SYNC, uc.cmd);
	EXPECT_EQ(6, n);
	EXPECT_EQ(0, memcmp(out, mem, 6));
	EXPECT_EQ(0, uc.args[1]);
	EXPECT_EQ(LIM_LIMIT + 1, uc.args[2]);	/* ESI */
	EXPECT_EQ(2, uc.args[3]);

	vcpu_run(vcpu);
	vcpu_assert_exit(vcpu, KVM_EXIT_HLT);
	vm_free(vm);
}

TEST_HARNESS_MAIN
