// SPDX-License-Identifier: GPL-2.0
/*
 * Guest page tables where the CPU cannot walk them: in MMIO (a GPA with
 * no slot) or in a read-only slot.  The nested page fault then reports
 * the GPA of a page-table entry, not of the access (EXITINFO1 bit 33 on
 * SVM, exit qualification bit 8 clear on VMX), and the access must not
 * be emulated as MMIO at that address.
 *
 * What KVM does, and so what is checked: it emulates the instruction
 * with a software walk of the guest's tables.  An entry at a GPA with no
 * slot cannot be read, which is a not-present #PF for the guest (CR2 the
 * operand's or the fetch's linear address, RIP the instruction's).  An
 * entry in a read-only slot is read but never given its accessed or
 * dirty bit, and the access itself completes: in guest memory, or as a
 * KVM_EXIT_MMIO at the operand's own address.  Under NPT (SVM), and
 * under EPT with its accessed/dirty flags on (as minikvm and kvm_intel
 * set it up when the CPU has them), every access to a guest page-table
 * entry counts as a write, so tables in a read-only slot fault whatever
 * their A/D bits; under EPT without them only setting an A/D bit would.
 * Differences from KVM (Documentation/api.rst): minikvm emulates only
 * the MOV forms of its MMIO decoder this way, and KVM's emulator takes
 * the fault's GPA for the operand's when their offsets in the page
 * agree (the other tests keep them apart).
 *
 * The 64-bit tests use the standard tables (x86.h) with one entry moved:
 * PML4[1] (512 GiB), PDPT[3] (3 GiB) or PD0[16] (32 MiB) points to a
 * table in MMIO or in a read-only slot.  Unhandled guest exceptions end
 * in a UCALL_UNHANDLED with the vector, error code and RIP.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/time.h>

#include "kselftest_harness.h"
#include "lib/guest.h"
#include "lib/ucall.h"
#include "lib/x86.h"
#include "mkvm_util.h"

#define PAGE		0x1000UL
#define PDPT_VA		0x8000000000UL	/* through PML4[1] */
#define PD_VA		0xc0000000UL	/* through PDPT[3] */
#define PT_VA		0x2000000UL	/* through PD0[16] */
#define RO_PT_GPA	0x2200000UL	/* a read-only slot of one page */
#define PF_ERR_P	0x1
#define PF_ERR_W	0x2
#define PF_ERR_U	0x4

/*
 * KVM_RUN with a time limit: a device that re-entered the guest forever
 * would hang the whole test VM.  Under Bochs a guest second is about
 * half a minute, so the limit is in guest time and kept short there.
 */
static void on_alarm(int sig)
{
}

static void run(struct vcpu *vcpu)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct itimerval it = { .it_value.tv_sec = mkvm_on_bochs() ? 5 : 20 };
	struct itimerval off = { 0 };
	int r;

	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	r = __vcpu_run(vcpu);
	setitimer(ITIMER_REAL, &off, NULL);
	TEST_ASSERT(r != -EINTR, "KVM_RUN did not return within %ld s",
		    (long)it.it_value.tv_sec);
	TEST_ASSERT(!r, "KVM_RUN: %s", strerror(-r));
}

/* The guest took #PF (error, CR2) at @rip, and nothing exited before. */
static void __expect_pf(struct vcpu *vcpu, uint32_t error, uint64_t cr2,
			uint64_t rip, const char *what)
{
	struct kvm_sregs s;
	struct ucall uc;

	if (get_ucall(vcpu, &uc) != UCALL_UNHANDLED) {
		vcpu_dump(vcpu);
		TEST_ASSERT(0, "%s: exit %s, expected the guest's #PF", what,
			    exit_reason_str(vcpu->run->exit_reason));
	}
	TEST_ASSERT(uc.args[0] == PF_VECTOR, "%s: vector %lu, expected #PF",
		    what, (unsigned long)uc.args[0]);
	TEST_ASSERT(uc.args[1] == error, "%s: error code %#lx, expected %#x",
		    what, (unsigned long)uc.args[1], error);
	TEST_ASSERT(uc.args[2] == rip, "%s: #PF at RIP %#lx, expected %#lx",
		    what, (unsigned long)uc.args[2], (unsigned long)rip);
	vcpu_get_sregs(vcpu, &s);
	TEST_ASSERT(s.cr2 == cr2, "%s: CR2 %#llx, expected %#lx", what,
		    (unsigned long long)s.cr2, (unsigned long)cr2);
}
#define expect_pf(vcpu, error, cr2, rip) \
	__expect_pf(vcpu, error, cr2, rip, __func__)

GUEST_ASM(load_guest, ".code64\n mov (%rbx), %eax\n hlt\n");
GUEST_ASM(store_guest, ".code64\n movl $0x1234, (%rbx)\n hlt\n");
GUEST_ASM(jump_guest, ".code64\n jmp *%rbx\n");
GUEST_ASM(add_guest, ".code64\n add (%rbx), %eax\n hlt\n");
GUEST_ASM(load8_guest, ".code64\n mov (%rbx), %rax\n hlt\n");

/* A new vCPU of @vm running @snippet in long mode with RBX = @rbx. */
static struct vcpu *__start(struct vm *vm, const char *start,
			    const char *end, uint64_t rbx)
{
	struct vcpu *vcpu = vm_vcpu_add(vm, vm->nr_vcpus);
	struct kvm_regs regs;

	__vcpu_load_snippet(vcpu, MODE_LONG, start, end);
	vcpu_get_regs(vcpu, &regs);
	regs.rax = 0xaaaa;
	regs.rbx = rbx;
	vcpu_set_regs(vcpu, &regs);
	return vcpu;
}
#define start(vm, name, rbx) __start(vm, name##_start, name##_end, rbx)

static uint64_t reg_rax(struct vcpu *vcpu)
{
	struct kvm_regs regs;

	vcpu_get_regs(vcpu, &regs);
	return regs.rax;
}

/* ---- tables in MMIO ------------------------------------------------- */

FIXTURE(mmio_table) {
	struct vm *vm;
	uint64_t va;		/* the start of what the table maps */
};

FIXTURE_VARIANT(mmio_table) {
	int level;		/* of the table in MMIO: 3 PDPT, 2 PD, 1 PT */
};

FIXTURE_VARIANT_ADD(mmio_table, pdpt) { .level = 3 };
FIXTURE_VARIANT_ADD(mmio_table, pd) { .level = 2 };
FIXTURE_VARIANT_ADD(mmio_table, pt) { .level = 1 };

FIXTURE_SETUP(mmio_table)
{
	self->vm = vm_create();
	switch (variant->level) {
	case 3:
		((uint64_t *)gpa2hva(self->vm, PML4_GPA))[1] =
			(MMIO_GPA + 0x3000) | PTE_P | PTE_RW;
		self->va = PDPT_VA;
		break;
	case 2:
		((uint64_t *)gpa2hva(self->vm, PDPT_GPA))[3] =
			(MMIO_GPA + 0x1000) | PTE_P | PTE_RW;
		self->va = PD_VA;
		break;
	default:
		((uint64_t *)gpa2hva(self->vm, PD_GPA))[16] =
			(MMIO_GPA + 0x2000) | PTE_P | PTE_RW;
		self->va = PT_VA;
		break;
	}
}

FIXTURE_TEARDOWN(mmio_table)
{
	vm_free(self->vm);
}

/*
 * The entry read is the table's first (offset 0); the operands are at
 * other offsets in their pages, where KVM's emulator walks (see
 * same_page_offset below).
 */
TEST_F(mmio_table, load_is_a_not_present_pf)
{
	struct vcpu *vcpu = start(self->vm, load_guest, self->va + 0x10);

	run(vcpu);
	expect_pf(vcpu, 0, self->va + 0x10, CODE_GPA);
}

TEST_F(mmio_table, store_is_a_not_present_pf)
{
	struct vcpu *vcpu = start(self->vm, store_guest, self->va + 0x18);

	run(vcpu);
	expect_pf(vcpu, PF_ERR_W, self->va + 0x18, CODE_GPA);
}

/* Code behind the table: the #PF is the fetch's (no NX, no SMEP here). */
TEST_F(mmio_table, fetch_is_a_not_present_pf)
{
	struct vcpu *vcpu = start(self->vm, jump_guest, self->va + 0x100);

	run(vcpu);
	expect_pf(vcpu, 0, self->va + 0x100, self->va + 0x100);
}

/*
 * The operand at the same offset in its page as the entry the CPU could
 * not read: minikvm walks as for any other offset.  KVM's emulator
 * takes the GPA of the fault for the operand's in that case
 * (emulator_read_write_onepage()) and exits as MMIO at the entry.
 */
TEST_F(mmio_table, same_page_offset)
{
	struct vcpu *vcpu = start(self->vm, load_guest, self->va);
	uint64_t table = variant->level == 3 ? MMIO_GPA + 0x3000 :
			 variant->level == 2 ? MMIO_GPA + 0x1000 :
			 MMIO_GPA + 0x2000;
	uint8_t *d;

	run(vcpu);
	if (!mkvm_is_kvm()) {
		expect_pf(vcpu, 0, self->va, CODE_GPA);
		return;
	}
	d = vcpu_assert_mmio(vcpu, table, 4, false);
	put_le(d, 0x600d, 4);
	run(vcpu);
	vcpu_assert_exit(vcpu, KVM_EXIT_HLT);
	EXPECT_EQ(0x600d, reg_rax(vcpu));
}

/*
 * 32-bit paging and PAE: the same through a PT (32-bit) or a PD (PAE)
 * in MMIO, with a 32-bit IDT whose #PF handler reports the error code
 * (ECX), CR2 (EDX) and the faulting EIP (ESI).
 */
GUEST_ASM(pf32_guest,
	".code32\n"
	"lidt " SNIP(pf32_guest, pf32_idtr) "\n"
	"cmp $0, %ecx\n"
	"jne 1f\n"
	"mov (%ebx), %eax\n"
	"hlt\n"
	"1: movl $0x1234, (%ebx)\n"
	"hlt\n"
	"pf32_handler:\n"
	"pop %ecx\n"
	"mov %cr2, %edx\n"
	"pop %esi\n"
	ASM_UCALL(UCALL_SYNC)
	"hlt\n"
	".balign 8\n"
	"pf32_idt:\n"
	".fill 14, 8, 0\n"
	".word " SNIP(pf32_guest, pf32_handler) " & 0xffff\n"
	".word " STR(GDT_CODE32) "\n"
	".byte 0, 0x8e\n"
	".word " SNIP(pf32_guest, pf32_handler) " >> 16\n"
	"pf32_idtr:\n"
	".word 15 * 8 - 1\n"
	".long " SNIP(pf32_guest, pf32_idt) "\n");

FIXTURE(mmio_table32) {
	struct vm *vm;
};

FIXTURE_VARIANT(mmio_table32) {
	enum cpu_mode mode;
};

FIXTURE_VARIANT_ADD(mmio_table32, paging32) { .mode = MODE_PAGING32 };
FIXTURE_VARIANT_ADD(mmio_table32, pae) { .mode = MODE_PAE };

FIXTURE_SETUP(mmio_table32)
{
	self->vm = vm_create();
	if (variant->mode == MODE_PAGING32)
		/* 0xc0000000-0xc03fffff through a PT in MMIO */
		((uint32_t *)gpa2hva(self->vm, PD32_GPA))[0x300] =
			(MMIO_GPA + 0x2000) | PTE_P | PTE_RW;
	else
		/* 0xc0000000-0xffffffff through a PD in MMIO */
		((uint64_t *)gpa2hva(self->vm, PAE_PDPT_GPA))[3] =
			(MMIO_GPA + 0x1000) | PTE_P;
}

FIXTURE_TEARDOWN(mmio_table32)
{
	vm_free(self->vm);
}

static void run_pf32(struct __test_metadata *_metadata, struct vm *vm,
		     enum cpu_mode mode, bool store)
{
	struct vcpu *vcpu = vm_vcpu_add(vm, vm->nr_vcpus);
	struct kvm_regs regs;
	struct kvm_sregs s;
	struct ucall uc;

	vcpu_load_snippet(vcpu, mode, pf32_guest);
	vcpu_get_regs(vcpu, &regs);
	regs.rbx = PD_VA + 0x24;
	regs.rcx = store;
	vcpu_set_regs(vcpu, &regs);
	run(vcpu);
	if (get_ucall(vcpu, &uc) != UCALL_SYNC)
		vcpu_dump(vcpu);
	ASSERT_EQ(UCALL_SYNC, uc.cmd);
	EXPECT_EQ(store ? PF_ERR_W : 0, uc.args[3]);
	EXPECT_EQ(PD_VA + 0x24, uc.args[2]);
	/* At the load (after lidt, cmp, jne) or at the store. */
	EXPECT_EQ(CODE_GPA + (store ? 0x0f : 0x0c), uc.args[1]);
	vcpu_get_sregs(vcpu, &s);
	EXPECT_EQ(PD_VA + 0x24, s.cr2);
}

TEST_F(mmio_table32, load)
{
	run_pf32(_metadata, self->vm, variant->mode, false);
}

TEST_F(mmio_table32, store)
{
	run_pf32(_metadata, self->vm, variant->mode, true);
}

/*
 * CPL 3: the #PF has the U bit.  The handler reports the error code and
 * CR2 and steps over the 2-byte load or the 6-byte store.
 */
static uint64_t pf_skip;

static void user_pf_handler(struct ex_regs *regs)
{
	uint64_t cr2;

	asm volatile("mov %%cr2, %0" : "=r"(cr2));
	GUEST_SYNC4(regs->error_code, cr2, regs->cs & 3, 0);
	regs->rip += pf_skip;
}

static uint64_t user_load(uint64_t va)
{
	uint32_t v = 0x5a5a;

	asm volatile("mov (%%rbx), %%eax" : "+a"(v) : "b"(va) : "memory");
	return v;
}

static uint64_t user_store(uint64_t va)
{
	asm volatile("movl $0x1234, (%%rbx)" : : "b"(va) : "memory");
	return 1;
}

static void guest_user_pf(uint64_t va)
{
	guest_set_handler(PF_VECTOR, user_pf_handler);
	pf_skip = 2;
	GUEST_ASSERT_EQ(guest_run_user(user_load, va), 0x5a5a);
	pf_skip = 6;
	GUEST_ASSERT_EQ(guest_run_user(user_store, va + 8), 1);
}

TEST(user_mode_pf_through_mmio_table)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);
	uint64_t cr3 = vm_user_tables(vm);
	uint64_t *pml4 = gpa2hva(vm, cr3);
	uint64_t *pdpt = gpa2hva(vm, pml4[0] & PTE_ADDR);
	struct ucall uc;

	pdpt[3] = (MMIO_GPA + 0x1000) | PTE_P | PTE_RW | PTE_US;
	vcpu_start_guest(vcpu, guest_user_pf, 1, PD_VA + 0x30);
	vcpu_set_cr3(vcpu, cr3);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(PF_ERR_U, uc.args[0]);
	EXPECT_EQ(PD_VA + 0x30, uc.args[1]);
	EXPECT_EQ(3, uc.args[2]);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(PF_ERR_U | PF_ERR_W, uc.args[0]);
	EXPECT_EQ(PD_VA + 0x38, uc.args[1]);
	vcpu_run_expect(vcpu, UCALL_DONE, &uc);
	vm_free(vm);
}

/* ---- tables in a read-only slot ------------------------------------- */


#define PTE_A	(1ULL << 5)
#define PTE_D	(1ULL << 6)

FIXTURE(ro_table) {
	struct vm *vm;
	uint64_t *pt;		/* the PT page, in a read-only slot */
	uint32_t *data;		/* what pt[0] maps: DATA_GPA */
};

FIXTURE_VARIANT(ro_table) {
	uint64_t ad;		/* A/D bits already set in the entries */
};

FIXTURE_VARIANT_ADD(ro_table, ad_clear) { .ad = 0 };
FIXTURE_VARIANT_ADD(ro_table, ad_set) { .ad = PTE_A | PTE_D };

/* PD0[16] to a PT in a read-only slot, whose entries map DATA_GPA on. */
static struct vm *vm_with_ro_table(uint64_t ad, uint64_t **pt)
{
	struct vm *vm = vm_create();
	int i;

	*pt = host_mem_alloc(PAGE);
	for (i = 0; i < 8; i++)
		(*pt)[i] = (DATA_GPA + i * PAGE) | PTE_P | PTE_RW | ad;
	vm_set_region(vm, 2, KVM_MEM_READONLY, RO_PT_GPA, PAGE, *pt);
	((uint64_t *)gpa2hva(vm, PD_GPA))[16] =
		RO_PT_GPA | PTE_P | PTE_RW | PTE_A;
	((uint32_t *)gpa2hva(vm, DATA_GPA))[4] = 0xfeedf00d;
	return vm;
}

FIXTURE_SETUP(ro_table)
{
	self->vm = vm_with_ro_table(variant->ad, &self->pt);
	self->data = gpa2hva(self->vm, DATA_GPA);
}

FIXTURE_TEARDOWN(ro_table)
{
	vm_free(self->vm);
}

/* Nobody writes the read-only entries: not the CPU, not the device. */
static void __expect_entries(struct __test_metadata *_metadata,
			     const uint64_t *pt, uint64_t ad)
{
	int i;

	for (i = 0; i < 8; i++)
		EXPECT_EQ((DATA_GPA + i * PAGE) | PTE_P | PTE_RW | ad, pt[i])
			TH_LOG("entry %d", i);
}
#define expect_entries(self, variant) \
	__expect_entries(_metadata, (self)->pt, (variant)->ad)

TEST_F(ro_table, load)
{
	struct vcpu *vcpu = start(self->vm, load_guest, PT_VA + 0x10);

	run(vcpu);
	vcpu_assert_exit(vcpu, KVM_EXIT_HLT);
	EXPECT_EQ(0xfeedf00d, reg_rax(vcpu));
	EXPECT_EQ(CODE_GPA + 3, vcpu_get_rip(vcpu));
	expect_entries(self, variant);
}

TEST_F(ro_table, store)
{
	struct vcpu *vcpu = start(self->vm, store_guest, PT_VA + 0x10);

	run(vcpu);
	vcpu_assert_exit(vcpu, KVM_EXIT_HLT);
	EXPECT_EQ(0x1234, self->data[4]);
	EXPECT_EQ(CODE_GPA + 7, vcpu_get_rip(vcpu));
	expect_entries(self, variant);
}

/* 8 bytes over two pages: the end of pt[5]'s, the start of pt[6]'s. */
TEST_F(ro_table, load_across_pages)
{
	struct vcpu *vcpu = start(self->vm, load8_guest,
				  PT_VA + 5 * PAGE + 0xffc);

	self->data[(5 * PAGE + 0xffc) / 4] = 0x11223344;
	self->data[6 * PAGE / 4] = 0x55667788;
	run(vcpu);
	vcpu_assert_exit(vcpu, KVM_EXIT_HLT);
	EXPECT_EQ(0x5566778811223344ULL, reg_rax(vcpu));
	expect_entries(self, variant);
}

/* A read-only page behind the read-only table: #PF, present and write. */
TEST_F(ro_table, store_to_read_only_page)
{
	struct vcpu *vcpu;

	self->pt[2] &= ~PTE_RW;
	vcpu = start(self->vm, store_guest, PT_VA + 2 * PAGE + 0x40);
	run(vcpu);
	expect_pf(vcpu, PF_ERR_P | PF_ERR_W, PT_VA + 2 * PAGE + 0x40,
		  CODE_GPA);
	EXPECT_EQ(0, self->data[(2 * PAGE + 0x40) / 4]);
}

/* MMIO behind the read-only table: exits at the operand's own GPA. */
TEST_F(ro_table, mmio_behind_it)
{
	struct vcpu *vcpu;
	uint8_t *d;

	self->pt[3] = MMIO_GPA | PTE_P | PTE_RW | variant->ad;
	vcpu = start(self->vm, load_guest, PT_VA + 3 * PAGE + 0x20);
	run(vcpu);
	d = vcpu_assert_mmio(vcpu, MMIO_GPA + 0x20, 4, false);
	put_le(d, 0xcafe, 4);
	run(vcpu);
	vcpu_assert_exit(vcpu, KVM_EXIT_HLT);
	EXPECT_EQ(0xcafe, reg_rax(vcpu));

	vcpu = start(self->vm, store_guest, PT_VA + 3 * PAGE + 0x28);
	run(vcpu);
	d = vcpu_assert_mmio(vcpu, MMIO_GPA + 0x28, 4, true);
	EXPECT_EQ(0x1234, get_le(d, 4));
	run(vcpu);
	vcpu_assert_exit(vcpu, KVM_EXIT_HLT);
}

/*
 * KVM's emulator runs any instruction through such tables; minikvm's
 * only the MOV forms it decodes for MMIO, and ends in
 * KVM_EXIT_INTERNAL_ERROR for the others (Documentation/api.rst).  With
 * the A/D bits clear every CPU faults on the walk (with them set, EPT
 * without its own A/D flags would not).
 */
TEST(ro_table_other_instruction)
{
	uint64_t *pt;
	struct vm *vm = vm_with_ro_table(0, &pt);
	struct vcpu *vcpu = start(vm, add_guest, PT_VA + 0x10);

	run(vcpu);
	if (mkvm_is_kvm()) {
		vcpu_assert_exit(vcpu, KVM_EXIT_HLT);
		EXPECT_EQ((uint32_t)(0xaaaa + 0xfeedf00d), reg_rax(vcpu));
	} else {
		vcpu_assert_exit(vcpu, KVM_EXIT_INTERNAL_ERROR);
		EXPECT_EQ(KVM_INTERNAL_ERROR_EMULATION,
			  vcpu->run->internal.suberror);
		EXPECT_EQ(RO_PT_GPA, vcpu->run->internal.data[0]);
		EXPECT_EQ(CODE_GPA, vcpu_get_rip(vcpu));
		EXPECT_EQ(0xaaaa, reg_rax(vcpu));
	}
	EXPECT_EQ(DATA_GPA | PTE_P | PTE_RW, pt[0]);
	vm_free(vm);
}

TEST_HARNESS_MAIN
